//! What a hostile client found: oversized requests refused early in the JSON error shape, methods
//! and metric labels from a fixed set, slow clients timed out, connections bounded.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// The HTTP address of `app` (`127.0.0.1:port`).
fn http_addr(app: &TestApp) -> String {
    app.http.trim_start_matches("http://").to_owned()
}

/// Sends `head` (a request head, maybe without its body) over a new connection and reads the whole
/// answer until the server closes the connection; returns (status, JSON body).
async fn raw_exchange(app: &TestApp, head: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(http_addr(app)).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read answer");
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, json)
}

/// A declared body of 10^14 bytes is refused with 413 before any of it is sent.
#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;
    let answer = raw_exchange(
        &app,
        "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 100000000000000\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_error("huge declared body", &answer, 413, "PAYLOAD_TOO_LARGE");
}

/// A method a route does not serve, a request target or headers too large to be meant: each answers
/// the JSON error shape.
#[tokio::test]
async fn method_target_and_header_refusals_answer_the_json_error_shape() {
    let app = TestApp::spawn().await;
    let url = format!(
        "{}/v1/artists/musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da",
        app.http
    );
    let response = app.client.delete(&url).send().await.expect("DELETE");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_error(
        "DELETE on a lookup",
        &(status, body),
        405,
        "METHOD_NOT_ALLOWED",
    );

    let long = format!("{}/v1/search?q={}", app.http, "a".repeat(9000));
    let response = app.client.get(&long).send().await.expect("GET");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_error(
        "a 9 KB request target",
        &(status, body),
        414,
        "URI_TOO_LONG",
    );

    let response = app
        .client
        .get(format!("{}/healthz", app.http))
        .header("x-padding", "p".repeat(20_000))
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_error(
        "20 KB of headers",
        &(status, body),
        431,
        "HEADERS_TOO_LARGE",
    );
}

/// Unknown method names never become metric labels: they are counted as `other`.
#[tokio::test]
async fn unknown_methods_are_counted_as_other() {
    let app = TestApp::spawn().await;
    for name in ["FOOBAR", "XYZZY"] {
        let method = reqwest::Method::from_bytes(name.as_bytes()).expect("method");
        let response = app
            .client
            .request(method, format!("{}/healthz", app.http))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 405);
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(!metrics.contains("FOOBAR") && !metrics.contains("XYZZY"));
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("linernotes_http_requests_total")
                && l.contains("method=\"other\"")
                && l.contains("route=\"/healthz\"")),
        "counted as other"
    );
}

/// An app whose clients get `header_ms` for a request head (and a connection for its first byte) and
/// `body_ms` for a body or a whole gRPC call.
async fn impatient_app(header_ms: u64, body_ms: u64) -> TestApp {
    TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.server.header_read_timeout_ms = header_ms;
            s.server.request_body_timeout_ms = body_ms;
        })),
        ..Default::default()
    })
    .await
}

/// Reads until the server closes the connection; what it sent before.
async fn until_closed(mut stream: TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Clients that connect and stay silent, or send half a request head, are disconnected on both ports;
/// the server keeps answering others.
#[tokio::test]
async fn silent_and_half_open_clients_are_disconnected() {
    let app = impatient_app(200, 30_000).await;
    let silent_http = TcpStream::connect(http_addr(&app)).await.expect("connect");
    let silent_grpc = TcpStream::connect(app.grpc_addr).await.expect("connect");
    let mut half_open = TcpStream::connect(http_addr(&app)).await.expect("connect");
    half_open
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("send half a head");
    within("a silent HTTP client", until_closed(silent_http)).await;
    within("a silent gRPC client", until_closed(silent_grpc)).await;
    within("half a request head", until_closed(half_open)).await;
    assert_eq!(app.get("/healthz").await.0, 200);
}

/// A body that stops arriving is answered 408 in the JSON shape once the body deadline passes.
#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let app = impatient_app(10_000, 300).await;
    let mut stream = TcpStream::connect(http_addr(&app)).await.expect("connect");
    stream
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\nConnection: close\r\n\r\n{\"email\": ",
        )
        .await
        .expect("send part of a body");
    let answer = within("a stalled body", until_closed(stream)).await;
    let status = answer.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(status, "408", "{answer}");
    let body: Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default()).expect("JSON");
    assert_eq!(body["error"]["code"], "REQUEST_TIMEOUT", "{body}");
}

/// A gRPC request message over `server.max_body_bytes` is refused RESOURCE_EXHAUSTED.
#[tokio::test]
async fn a_grpc_message_over_the_limit_is_resource_exhausted() {
    let app = TestApp::spawn().await;
    let err = app
        .grpc()
        .await
        .search(linernotes::grpc::pb::SearchRequest {
            query: "q".repeat(100_000),
            r#type: "artist".into(),
            limit: None,
            offset: 0,
        })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err:?}");
}

/// Gives a test a bound on how long it may wait for the server to act.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing happened within 30 s"))
}

/// Bytes that are not the request message answer INVALID_ARGUMENT (not INTERNAL, which is for bugs),
/// on the pre-encoded lookups and the generated methods alike, and are counted in the gRPC metrics.
#[tokio::test]
async fn malformed_protobuf_is_invalid_argument_and_counted() {
    let app = TestApp::spawn().await;
    let mut grpc = tonic::client::Grpc::new(app.channel().await);
    for path in [
        "/linernotes.v1.MetadataService/GetArtist",
        "/linernotes.v1.MetadataService/Search",
    ] {
        grpc.ready().await.expect("ready");
        let err = grpc
            .unary::<bytes::Bytes, bytes::Bytes, _>(
                tonic::Request::new(bytes::Bytes::from_static(&[0xff, 0xff, 0xff, 0x0f])),
                tonic::codegen::http::uri::PathAndQuery::from_static(path),
                linernotes_proto::codec::BytesCodec,
            )
            .await
            .expect_err("refused");
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{path}: {err:?}");
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for method in ["GetArtist", "Search"] {
        let line = format!(
            "linernotes_grpc_requests_total{{method=\"{method}\",code=\"InvalidArgument\"}}"
        );
        assert!(
            metrics.lines().any(|l| l.starts_with(&line)),
            "{line} missing"
        );
    }
}
