//! How upstream providers are doing, as `/v1/status` and the admin API report it, and what instances
//! tell each other of it.

use chrono::{DateTime, Utc};

/// How a provider is doing, for the status endpoint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ProviderStatus {
    /// Provider name.
    pub name: &'static str,
    /// `ok`, `degraded` (recent failures, breaker still closed) or `open` (failing fast).
    pub state: &'static str,
    /// Last successful request.
    pub last_success: Option<DateTime<Utc>>,
    /// Last failed request.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What the last failure was.
    pub last_error: Option<String>,
    /// Configured request rate.
    pub requests_per_second: f64,
    /// Requests waiting for the rate limiter now.
    pub queued_requests: usize,
    /// Whether the rate budget is shared with other instances through Redis.
    pub shared_budget: bool,
}

/// What instances tell each other of a provider's health (`status:{platform}` in Redis): the latest
/// success and the latest failure any of them saw.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportedHealth {
    /// Latest successful request.
    pub last_success: Option<DateTime<Utc>>,
    /// Latest failed request.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What that failure was.
    pub last_error: Option<String>,
}

impl ProviderStatus {
    /// This status's latest success and failure, to report to the other instances.
    pub fn reported(&self) -> ReportedHealth {
        ReportedHealth {
            last_success: self.last_success,
            last_error_at: self.last_error_at,
            last_error: self.last_error.clone(),
        }
    }

    /// Takes the later success and the later failure of this status and of `reported`.
    pub fn merge(&mut self, reported: &ReportedHealth) {
        self.last_success = self.last_success.max(reported.last_success);
        if reported.last_error_at > self.last_error_at {
            self.last_error_at = reported.last_error_at;
            self.last_error = reported.last_error.clone();
        }
    }
}
