//! `logging`: the log filter and format.

use serde::{Deserialize, Serialize};

use super::Issues;

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSettings {
    /// EnvFilter directives.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl LoggingSettings {
    pub(super) fn check(&self, issues: &mut Issues) {
        issues.check(
            matches!(self.format.as_str(), "text" | "json"),
            "format",
            format!("expected text or json, got '{}'", self.format),
        );
        issues.check(
            tracing_subscriber::EnvFilter::try_new(&self.level).is_ok(),
            "level",
            format!("'{}' is not a valid log filter", self.level),
        );
    }
}
