//! The load generator against a running linernotes: counts, histograms and errors by status code.
//! Assertions are about counts only, never about timing.

use loadgen::Config;

use crate::helpers::TestApp;

/// A configuration of `requests` requests to `method` on `app`, without a time limit.
fn config(app: &TestApp, method: &str, data: &str, requests: u64) -> Config {
    Config {
        connections: 2,
        concurrency: 8,
        duration: None,
        requests: Some(requests),
        ..Config::new(format!("http://{}", app.grpc_addr), method, data)
    }
}

#[tokio::test]
async fn health_checks_are_all_counted_and_measured() {
    let app = TestApp::spawn().await;
    let report = loadgen::run(config(&app, "/grpc.health.v1.Health/Check", "{}", 200))
        .await
        .expect("the run starts");
    assert_eq!(report.requests, 200);
    assert_eq!(report.successes, 200);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        report.latency.len(),
        200,
        "every success is in the histogram"
    );
    assert!(report.send_lag.is_none(), "closed loop has no schedule");
    let summary = report.summary();
    assert_eq!(summary.mode, "closed-loop");
    assert!(summary.latency_ms.is_some());
}

/// A fixed-rate run ends when its last request is answered, not when the next one would have been
/// due (here in 1,000 s).
#[tokio::test]
async fn a_slow_fixed_rate_run_ends_with_its_last_request() {
    let app = TestApp::spawn().await;
    let run = loadgen::run(Config {
        rate: Some(0.001),
        ..config(&app, "/grpc.health.v1.Health/Check", "{}", 1)
    });
    // A guard against hanging, not a timing assertion.
    let report = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("the run ends")
        .expect("the run starts");
    assert_eq!((report.requests, report.successes), (1, 1));
}

#[tokio::test]
async fn a_fixed_rate_run_sends_exactly_the_requests_asked_for() {
    let app = TestApp::spawn().await;
    let report = loadgen::run(Config {
        rate: Some(2000.0),
        ..config(&app, "/grpc.health.v1.Health/Check", "{}", 100)
    })
    .await
    .expect("the run starts");
    assert_eq!((report.requests, report.successes), (100, 100));
    assert_eq!(report.latency.len(), 100);
    let send_lag = report
        .send_lag
        .as_ref()
        .expect("a fixed rate records send lag");
    assert_eq!(send_lag.len(), 100);
    assert_eq!(report.summary().mode, "fixed-rate");
}

#[tokio::test]
async fn server_errors_are_counted_by_status_code() {
    let app = TestApp::spawn().await;
    let report = loadgen::run(config(
        &app,
        "/linernotes.v1.MetadataService/GetArtist",
        r#"{"id": "musicbrainz:not-a-uuid"}"#,
        50,
    ))
    .await
    .expect("the run starts");
    assert_eq!(report.requests, 50);
    assert_eq!(report.successes, 0);
    assert_eq!(report.errors.get("INVALID_ARGUMENT"), Some(&50));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.latency.is_empty(),
        "only successes are in the histogram"
    );
    assert_eq!(
        app.upstream_calls().await,
        0,
        "a malformed ID never goes upstream"
    );
}

#[tokio::test]
async fn streaming_methods_are_refused_before_any_request() {
    let app = TestApp::spawn().await;
    let err = loadgen::run(config(&app, "/grpc.health.v1.Health/Watch", "{}", 1))
        .await
        .expect_err("Watch streams");
    assert!(matches!(err, loadgen::Error::NotUnary(_)), "{err}");
}
