//! Metrics and their exposition: one Prometheus recorder per process, rendered at `GET /metrics`.
//!
//! Metric names follow `linernotes_<area>_<what>_<unit>`:
//! - `linernotes_http_requests_total{route,method,status}`, `linernotes_http_request_duration_seconds`
//! - `linernotes_grpc_requests_total{method,code}`, `linernotes_grpc_request_duration_seconds`
//! - `linernotes_db_query_duration_seconds{query}`, `linernotes_db_pool_connections{state}`
//! - `linernotes_cache_requests_total{tier,outcome}`, `linernotes_redis_operations_total{op,outcome}`
//! - `linernotes_provider_requests_total{provider,outcome}`, `…_request_duration_seconds`,
//!   `…_rate_limit_wait_seconds`, `linernotes_provider_circuit_state`, `…_queued_requests`
//! - `linernotes_background_refreshes`

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

/// Histogram buckets in seconds: 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle (`None` when another
/// recorder was installed first, e.g. by an embedding program).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .and_then(|builder| builder.install_recorder())
                .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                .ok()
        })
        .clone()
}

/// How often recorded histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Folds the recorder's histogram samples into their buckets every few seconds until aborted. The
/// recorder keeps every sample until then, so without it a server nobody scrapes would grow by every
/// request's latency sample (and the next scrape would fold them all at once).
pub fn spawn_metrics_upkeep() -> Option<tokio::task::JoinHandle<()>> {
    let handle = metrics_handle()?;
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(UPKEEP_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            handle.run_upkeep();
        }
    }))
}

/// Sets the pool gauges (called at scrape time).
pub fn record_pool(pool: &PgPool, max: u32) {
    let size = pool.size();
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    for (state, value) in [
        ("open", size),
        ("idle", idle),
        ("in_use", size.saturating_sub(idle)),
        ("max", max),
    ] {
        metrics::gauge!("linernotes_db_pool_connections", "state" => state).set(f64::from(value));
    }
}

/// Times one named query (or group of queries), recording its latency and logging it when slower than
/// `slow`.
pub async fn timed_query<T>(
    name: &'static str,
    slow: Duration,
    query: impl Future<Output = T>,
) -> T {
    let started = Instant::now();
    let result = query.await;
    let elapsed = started.elapsed();
    metrics::histogram!("linernotes_db_query_duration_seconds", "query" => name)
        .record(elapsed.as_secs_f64());
    if elapsed >= slow {
        tracing::warn!(
            query = name,
            duration_ms = elapsed.as_millis() as u64,
            "slow query"
        );
    }
    result
}
