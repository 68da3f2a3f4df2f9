//! The shared Redis connection: used by the hot cache (second tier, invalidation fan-out) and by the
//! provider rate limiter (one upstream budget for every instance).
//!
//! Redis is optional and never allowed to fail a request: every operation has a short timeout, a failed
//! operation is counted and reported as [`RedisTrouble`] so the caller falls through, and after a failure
//! Redis is skipped for a short back-off instead of making every request wait for the timeout. The
//! connection is made lazily and re-made by itself when Redis comes back.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Version of the shapes stored in Redis; part of every key, so a new release never reads old shapes.
pub const SCHEMA_VERSION: u32 = 1;

/// How long Redis is skipped after a failed operation.
const BACKOFF: Duration = Duration::from_secs(1);

/// Why a Redis operation was skipped or failed; the caller falls through to the next tier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisTrouble {
    /// A recent failure put Redis in back-off.
    #[error("redis skipped during back-off")]
    BackingOff,
    /// The operation took longer than the configured timeout.
    #[error("redis timed out")]
    Timeout,
    /// Redis answered with an error or the connection failed.
    #[error("redis error: {0}")]
    Failed(String),
}

/// A cloneable handle on the shared Redis.
#[derive(Clone)]
pub struct RedisHandle {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: ConnectionManager,
    timeout: Duration,
    prefix: String,
    started: Instant,
    /// Milliseconds since `started` before which Redis is skipped (0: not backing off).
    skip_until_ms: AtomicU64,
}

impl std::fmt::Debug for RedisHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHandle")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisHandle {
    /// A handle on `url`; nothing is connected yet, so a Redis that is down at start is no error.
    pub fn new(url: &str, namespace: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("cache.redis_url: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(timeout))
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(250))))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| format!("cache.redis_url: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                connection,
                timeout,
                prefix: format!("{namespace}:v{SCHEMA_VERSION}:"),
                started: Instant::now(),
                skip_until_ms: AtomicU64::new(0),
            }),
        })
    }

    /// The full key (or channel name) for `suffix`: `<namespace>:v<schema>:<suffix>`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.inner.prefix)
    }

    /// The client, for connections that cannot share the multiplexed one (pub/sub).
    pub fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs one operation with the timeout and back-off rules. `what` names it in metrics.
    pub async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, RedisTrouble>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.now_ms() < self.inner.skip_until_ms.load(Ordering::Relaxed) {
            metrics::counter!("linernotes_redis_operations_total", "op" => what, "outcome" => "skipped")
                .increment(1);
            return Err(RedisTrouble::BackingOff);
        }
        let outcome =
            tokio::time::timeout(self.inner.timeout, op(self.inner.connection.clone())).await;
        let result = match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(RedisTrouble::Failed(e.to_string())),
            Err(_) => Err(RedisTrouble::Timeout),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(RedisTrouble::Timeout) => "timeout",
            Err(_) => "error",
        };
        metrics::counter!("linernotes_redis_operations_total", "op" => what, "outcome" => outcome)
            .increment(1);
        if let Err(trouble) = &result {
            let until = self.now_ms().saturating_add(BACKOFF.as_millis() as u64);
            if self.inner.skip_until_ms.swap(until, Ordering::Relaxed) < self.now_ms() {
                tracing::warn!(op = what, error = %trouble, "redis unavailable; falling through for a while");
            }
        }
        result
    }

    /// Whether Redis is in use now: not in the back-off that follows a failed operation.
    pub fn reachable(&self) -> bool {
        self.now_ms() >= self.inner.skip_until_ms.load(Ordering::Relaxed)
    }

    /// Pings Redis (for status and readiness reports).
    pub async fn ping(&self) -> Result<(), RedisTrouble> {
        self.run("ping", |mut c| async move {
            redis::cmd("PING").query_async::<()>(&mut c).await
        })
        .await
    }
}
