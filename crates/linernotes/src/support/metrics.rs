//! Metrics and their exposition: one Prometheus recorder per process, rendered at `GET /metrics`.
//!
//! Metric names follow `linernotes_<area>_<what>_<unit>`:
//! - `linernotes_http_requests_total{route,method,status}`, `linernotes_http_request_duration_seconds`
//! - `linernotes_grpc_requests_total{method,code}`, `linernotes_grpc_request_duration_seconds`
//! - `linernotes_db_query_duration_seconds{query}`, `linernotes_db_pool_connections{state}`
//! - `linernotes_db_replica_healthy{replica}`, `linernotes_db_replica_lag_bytes{replica}`,
//!   `linernotes_db_replica_reads{replica}` (`replica`: the position in `database.replica_urls`)
//! - `linernotes_cache_requests_total{tier,outcome}`, `linernotes_redis_operations_total{op,outcome}`
//! - `linernotes_provider_requests_total{provider,outcome}`, `…_request_duration_seconds`,
//!   `…_rate_limit_wait_seconds`, `linernotes_provider_circuit_state`, `…_queued_requests`
//! - `linernotes_background_refreshes`
//! - `linernotes_enrichment_runs_total{provider,outcome}` (`found`, `not_found`, `failed`)

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Histogram buckets in seconds: 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle (`None` when another
/// recorder was installed first, e.g. by an embedding program).
fn recorder() -> Option<PrometheusHandle> {
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

/// A gauge refresher run just before each rendering (e.g. the database pool's connection counts,
/// which are read, not recorded).
pub type ScrapeHook = Arc<dyn Fn() + Send + Sync>;

/// The exposition of the process's metrics. Cheap to clone.
#[derive(Clone, Default)]
pub struct MetricsExporter {
    handle: Option<PrometheusHandle>,
    hooks: Vec<ScrapeHook>,
}

impl std::fmt::Debug for MetricsExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsExporter")
            .field("installed", &self.handle.is_some())
            .field("hooks", &self.hooks.len())
            .finish()
    }
}

impl MetricsExporter {
    /// The exporter of the process-wide recorder (installed on first use).
    pub fn install() -> Self {
        Self {
            handle: recorder(),
            hooks: Vec::new(),
        }
    }

    /// Runs `hook` before every rendering.
    pub fn on_scrape(mut self, hook: ScrapeHook) -> Self {
        self.hooks.push(hook);
        self
    }

    /// The metrics in Prometheus' text format; `None` when another recorder owns the process.
    pub fn render(&self) -> Option<String> {
        let handle = self.handle.as_ref()?;
        for hook in &self.hooks {
            hook();
        }
        Some(handle.render())
    }

    /// Folds the recorder's histogram samples into their buckets every few seconds until aborted. The
    /// recorder keeps every sample until then, so without it a server nobody scrapes would grow by
    /// every request's latency sample (and the next scrape would fold them all at once).
    pub fn spawn_upkeep(&self) -> Option<tokio::task::JoinHandle<()>> {
        let handle = self.handle.clone()?;
        Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(UPKEEP_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                handle.run_upkeep();
            }
        }))
    }
}

/// How often recorded histogram samples are folded into their buckets between scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Metric handles kept by their label values, so that a request path registers each series once
/// instead of building its key and looking it up in the recorder on every request (a measurable share
/// of a hot read). Label values must come from a fixed set, as every label here does.
pub struct HandleCache<K, T> {
    handles: RwLock<HashMap<K, T>>,
}

impl<K, T> Default for HandleCache<K, T> {
    fn default() -> Self {
        Self {
            handles: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Copy, T: Clone> HandleCache<K, T> {
    /// The handle of the series `key` names, registered by `register` the first time. Until the
    /// process recorder is installed nothing is kept, so no handle stays bound to no recorder.
    pub fn get(&self, key: K, register: impl FnOnce(K) -> T) -> T {
        if HANDLE.get().is_none() {
            return register(key);
        }
        let known = self
            .handles
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        known.unwrap_or_else(|| {
            self.handles
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_insert_with(|| register(key))
                .clone()
        })
    }
}

/// `label` as a label value that lives as long as the process. For values from a bounded set only
/// (route templates): each distinct value is kept once, for good.
pub fn interned(label: &str) -> &'static str {
    static LABELS: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let labels = LABELS.get_or_init(RwLock::default);
    let known = labels
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(label)
        .copied();
    known.unwrap_or_else(|| {
        let mut labels = labels.write().unwrap_or_else(PoisonError::into_inner);
        match labels.get(label) {
            Some(kept) => kept,
            None => {
                let kept: &'static str = Box::leak(label.to_owned().into_boxed_str());
                labels.insert(kept);
                kept
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_registered_once_per_key_after_the_recorder_is_installed() {
        let _ = MetricsExporter::install();
        let cache = HandleCache::<(&str, u16), usize>::default();
        let mut registrations = 0;
        for _ in 0..3 {
            let value = cache.get(("GET", 200), |_| {
                registrations += 1;
                registrations
            });
            assert_eq!(value, 1);
        }
        assert_eq!(cache.get(("GET", 404), |_| 7), 7);
        assert_eq!(registrations, 1);
    }

    #[test]
    fn an_interned_label_is_the_same_text_every_time() {
        let first = interned("/v1/artists/{id}");
        let again = interned(&String::from("/v1/artists/{id}"));
        assert_eq!(first, "/v1/artists/{id}");
        assert!(std::ptr::eq(first, again));
    }
}
