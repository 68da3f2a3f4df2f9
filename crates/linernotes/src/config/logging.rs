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
            is_log_filter(&self.level),
            "level",
            format!(
                "'{}' is not a log filter; expected a level (error, warn, info, debug, trace, off) or \
                 directives such as info,linernotes=debug",
                self.level
            ),
        );
    }
}

/// Whether `text` is a log filter whose every directive names a level: `info`, or `target=level`
/// (a bare word is taken by the filter library for a target name, which a typo of a level would be).
fn is_log_filter(text: &str) -> bool {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let is_level = |word: &str| LEVELS.contains(&word.trim().to_ascii_lowercase().as_str());
    tracing_subscriber::EnvFilter::try_new(text).is_ok()
        && !text.trim().is_empty()
        && text
            .split(',')
            .all(|directive| match directive.rsplit_once('=') {
                Some((target, level)) => !target.trim().is_empty() && is_level(level),
                None => is_level(directive),
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters_name_levels() {
        for good in ["info", "WARN", "info,linernotes=debug", "sqlx=warn, info"] {
            assert!(is_log_filter(good), "{good}");
        }
        for bad in ["loud", "info,linernotes", "linernotes=loud", ""] {
            assert!(!is_log_filter(bad), "{bad}");
        }
    }
}
