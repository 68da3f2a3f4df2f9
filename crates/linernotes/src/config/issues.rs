//! Collecting configuration problems: every section checks its own values into one [`Issues`], each
//! problem named by its dotted key, so a bad configuration is reported whole, not one key at a time.

use std::fmt;

/// One invalid configuration value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted key, e.g. `database.max_connections`.
    pub key: String,
    /// What is wrong and what was expected.
    pub reason: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// The problems found so far, with the section being checked (its keys are prefixed with it).
#[derive(Debug, Default)]
pub struct Issues {
    section: String,
    found: Vec<ConfigIssue>,
}

impl Issues {
    /// Checks the keys of `section` (e.g. `providers.musicbrainz`) with `check`.
    pub fn section(&mut self, section: &str, check: impl FnOnce(&mut Issues)) {
        let outer = std::mem::replace(&mut self.section, section.to_owned());
        check(self);
        self.section = outer;
    }

    /// Records `reason` against `key` of the current section unless `ok`.
    pub fn check(&mut self, ok: bool, key: &str, reason: impl Into<String>) {
        if !ok {
            let key = if self.section.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.section)
            };
            self.found.push(ConfigIssue {
                key,
                reason: reason.into(),
            });
        }
    }

    /// `key` must lie in `min..=max`.
    pub fn range<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, min: T, max: T) {
        let ok = min <= value && value <= max;
        self.check(
            ok,
            key,
            format!("must be between {min} and {max}, got {value}"),
        );
    }

    /// `key` must be at least `min` (`unit` names what is counted, e.g. ` second`, or is empty).
    pub fn at_least<T: PartialOrd + fmt::Display>(
        &mut self,
        key: &str,
        value: T,
        min: T,
        unit: &str,
    ) {
        let ok = value >= min;
        self.check(
            ok,
            key,
            format!("must be at least {min}{unit}, got {value}"),
        );
    }

    /// `key` must be an `http://` or `https://` URL.
    pub fn http_url(&mut self, key: &str, value: &str) {
        let ok = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        self.check(ok, key, format!("'{value}' is not an http(s) URL"));
    }

    /// Everything found.
    pub fn into_result(self) -> Result<(), Vec<ConfigIssue>> {
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(self.found)
        }
    }
}
