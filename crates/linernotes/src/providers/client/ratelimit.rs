//! The upstream request budget of one provider: a GCRA limiter (no bursts: requests at least one
//! period apart), shared by every instance through Redis when configured, local otherwise.
//!
//! Interactive requests (a client is waiting) go before background refreshes: a background request
//! waits while any interactive one is queued. A `Retry-After` from the provider pauses the budget for
//! that long — for every instance, as the pause is kept in Redis beside the shared schedule.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::support::redis::RedisHandle;

/// Who is waiting for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A client request is waiting on it.
    Interactive,
    /// A background refresh; yields to interactive requests.
    Background,
}

/// GCRA in Redis: allows a request when the theoretical arrival time has passed (and no pause is in
/// force), then moves it one period on. Returns 0 when allowed, else the milliseconds to wait. Uses the
/// Redis server's clock, so every instance agrees on time.
const GCRA_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local period = tonumber(ARGV[1])
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if pause > now then return pause - now end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now then return tat - now end
redis.call('SET', KEYS[1], now + period, 'PX', period * 2 + 1000)
return 0
";

/// Extends the shared pause to `now + ARGV[1]` ms unless a longer one is in force.
const PAUSE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then redis.call('SET', KEYS[1], until_ms, 'PX', tonumber(ARGV[1]) + 1000) end
return 0
";

#[derive(Debug)]
struct LocalSchedule {
    /// The earliest instant the next request may go.
    next: Instant,
    /// No request before this instant (a provider's Retry-After).
    paused_until: Instant,
}

/// The request budget of one provider.
pub struct RateLimiter {
    name: &'static str,
    period: Duration,
    redis: Option<RedisHandle>,
    gcra: redis::Script,
    pause_script: redis::Script,
    local: Mutex<LocalSchedule>,
    queued: AtomicUsize,
    interactive_waiting: AtomicUsize,
    interactive_done: Notify,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("name", &self.name)
            .field("period", &self.period)
            .field("shared", &self.redis.is_some())
            .finish()
    }
}

/// Decrements a counter when dropped (also when the waiting request is cancelled).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RateLimiter {
    /// A limiter allowing `requests_per_second`, shared through `redis` when given.
    pub fn new(name: &'static str, requests_per_second: f64, redis: Option<RedisHandle>) -> Self {
        let now = Instant::now();
        Self {
            name,
            period: Duration::from_secs_f64(1.0 / requests_per_second),
            redis,
            gcra: redis::Script::new(GCRA_SCRIPT),
            pause_script: redis::Script::new(PAUSE_SCRIPT),
            local: Mutex::new(LocalSchedule {
                next: now,
                paused_until: now,
            }),
            queued: AtomicUsize::new(0),
            interactive_waiting: AtomicUsize::new(0),
            interactive_done: Notify::new(),
        }
    }

    /// Requests waiting for the budget now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Whether the budget is shared through Redis now (configured, and Redis not failing: while it
    /// fails, each instance keeps its own schedule).
    pub fn is_shared(&self) -> bool {
        self.redis.as_ref().is_some_and(RedisHandle::reachable)
    }

    /// The configured rate.
    pub fn requests_per_second(&self) -> f64 {
        1.0 / self.period.as_secs_f64()
    }

    /// Waits until a request may go; returns how long it waited.
    pub async fn acquire(&self, priority: Priority) -> Duration {
        let start = Instant::now();
        self.queued.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.queued);
        let _interactive = (priority == Priority::Interactive).then(|| {
            self.interactive_waiting.fetch_add(1, Ordering::SeqCst);
            InteractiveGuard(self)
        });
        loop {
            if priority == Priority::Background
                && self.interactive_waiting.load(Ordering::SeqCst) > 0
            {
                let notified = self.interactive_done.notified();
                if self.interactive_waiting.load(Ordering::SeqCst) > 0 {
                    notified.await;
                }
                continue;
            }
            let wait = self.try_take().await;
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        let waited = start.elapsed();
        metrics::histogram!("linernotes_provider_rate_limit_wait_seconds", "provider" => self.name)
            .record(waited.as_secs_f64());
        waited
    }

    /// Takes the next slot if it is due; otherwise says how long until it is.
    async fn try_take(&self) -> Duration {
        if let Some(redis) = &self.redis {
            let period_ms = u64::try_from(self.period.as_millis())
                .unwrap_or(u64::MAX)
                .max(1);
            let keys = (
                redis.key(&format!("ratelimit:{}", self.name)),
                redis.key(&format!("pause:{}", self.name)),
            );
            let script = &self.gcra;
            let shared = redis
                .run("ratelimit", |mut c| async move {
                    script
                        .key(&keys.0)
                        .key(&keys.1)
                        .arg(period_ms)
                        .invoke_async::<u64>(&mut c)
                        .await
                })
                .await;
            if let Ok(wait_ms) = shared {
                // Keep the local schedule in step, so a fall-back to it does not start with a burst.
                if wait_ms == 0 {
                    self.take_local_slot_now();
                }
                return Duration::from_millis(wait_ms);
            }
        }
        self.try_take_local()
    }

    fn try_take_local(&self) -> Duration {
        let mut schedule = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = schedule.next.max(schedule.paused_until);
        if due > now {
            return due - now;
        }
        schedule.next = now + self.period;
        Duration::ZERO
    }

    fn take_local_slot_now(&self) {
        let mut schedule = self.local.lock().unwrap_or_else(|p| p.into_inner());
        schedule.next = Instant::now() + self.period;
    }

    /// Pauses the budget (every instance's, with Redis) for `duration`, as a provider's Retry-After asks.
    pub async fn pause(&self, duration: Duration) {
        {
            let mut schedule = self.local.lock().unwrap_or_else(|p| p.into_inner());
            schedule.paused_until = schedule.paused_until.max(Instant::now() + duration);
        }
        if let Some(redis) = &self.redis {
            let key = redis.key(&format!("pause:{}", self.name));
            let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
            let script = &self.pause_script;
            let _ = redis
                .run("pause", |mut c| async move {
                    script
                        .key(&key)
                        .arg(millis)
                        .invoke_async::<u64>(&mut c)
                        .await
                })
                .await;
        }
    }
}

/// Marks an interactive request as no longer waiting and wakes background requests.
struct InteractiveGuard<'a>(&'a RateLimiter);

impl Drop for InteractiveGuard<'_> {
    fn drop(&mut self) {
        if self.0.interactive_waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.interactive_done.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn local_slots_are_one_period_apart() {
        let limiter = RateLimiter::new("test", 1000.0, None);
        assert!(limiter.try_take_local().is_zero());
        let wait = limiter.try_take_local();
        assert!(!wait.is_zero() && wait <= Duration::from_millis(1));
    }

    #[tokio::test]
    async fn interactive_requests_go_before_background_ones() {
        let limiter = Arc::new(RateLimiter::new("test", 20.0, None));
        limiter.acquire(Priority::Interactive).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let background = {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.acquire(Priority::Background).await;
                order.lock().unwrap().push("background");
            })
        };
        // Let the background request queue first.
        tokio::task::yield_now().await;
        let interactive = {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.acquire(Priority::Interactive).await;
                order.lock().unwrap().push("interactive");
            })
        };
        interactive.await.unwrap();
        background.await.unwrap();
        assert_eq!(*order.lock().unwrap(), ["interactive", "background"]);
        assert_eq!(limiter.queued(), 0);
    }

    #[tokio::test]
    async fn a_pause_holds_every_slot_back() {
        let limiter = RateLimiter::new("test", 1000.0, None);
        limiter.pause(Duration::from_secs(30)).await;
        assert!(limiter.try_take_local() > Duration::from_secs(29));
    }
}
