//! Loading the configuration so that one run reports every problem and says where each value came from.
//!
//! The user's sources (the file, then `LINERNOTES__…` variables, then `DATABASE_URL` when no database
//! URL is set otherwise) are read as a list of keys with their values and origins. Keys the defaults do
//! not have are reported (with the nearest known key); a value of the wrong type is reported with its
//! key and left at its default so the rest can still be read and checked; then every value is checked.
//! So a typo, a negative number and an out-of-range value all show in one run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat, Source as _, Value, ValueKind};

use super::{ConfigError, ConfigIssue, Settings, DEFAULTS_YAML, DEFAULT_CONFIG_FILE};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The configuration file.
    File(PathBuf),
    /// A `LINERNOTES__…` environment variable.
    Environment(String),
    /// `DATABASE_URL`, used because no database URL was set otherwise.
    DatabaseUrl,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Environment(variable) => write!(f, "environment variable {variable}"),
            Source::DatabaseUrl => f.write_str("environment variable DATABASE_URL"),
        }
    }
}

/// The settings, where each value not at its default came from, and notes for the operator (a
/// source that was set but lost to another).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated settings.
    pub settings: Settings,
    /// Dotted key → where its value came from; keys missing here have their compiled-in default.
    pub sources: BTreeMap<String, Source>,
    /// Things the operator may not expect, e.g. `DATABASE_URL` set but not used.
    pub notes: Vec<String>,
}

/// One value the user gave, with its key and source.
struct Given {
    value: Value,
    source: Source,
}

/// The leaves of a configuration table as dotted keys (lists are leaves).
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match &value.kind {
        ValueKind::Table(table) if !table.is_empty() || prefix.is_empty() => {
            for (key, child) in table {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&key, child, out);
            }
        }
        _ => out.push((prefix.to_owned(), value.clone())),
    }
}

/// The environment variable that sets `key`.
fn variable_of(key: &str) -> String {
    format!(
        "LINERNOTES__{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// The known key nearest to `unknown` (by edit distance), when one is near enough to be a typo.
fn nearest<'a>(unknown: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    known
        .map(|k| (edit_distance(unknown, k), k))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(previous + usize::from(ca != *cb));
            previous = above;
        }
    }
    row[b.len()]
}

/// The keys a deserialisation error names, innermost last (`for key `a` for key `b.c`` → `b.c.a`).
fn key_of_error(message: &str) -> Option<String> {
    let parts: Vec<&str> = message
        .split("for key `")
        .skip(1)
        .filter_map(|rest| rest.split('`').next())
        .collect();
    (!parts.is_empty()).then(|| parts.iter().rev().copied().collect::<Vec<_>>().join("."))
}

/// The reason of a deserialisation error without the keys and origin it names.
fn reason_of_error(message: &str) -> String {
    message
        .split(" for key `")
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned()
}

impl Settings {
    /// Loads and checks the configuration like [`Settings::load_from`], and also answers where each
    /// value came from.
    pub fn load_explained(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Loaded, ConfigError> {
        let file = match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::File {
                    path: path.to_owned(),
                    reason: "no such file".into(),
                })
            }
            Some(path) => Some(path.to_owned()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let defaults = Config::builder()
            .add_source(File::from_str(DEFAULTS_YAML, FileFormat::Yaml))
            .build()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        let mut known = Vec::new();
        leaves(
            "",
            &Value::from(defaults.collect().unwrap_or_default()),
            &mut known,
        );
        let known: BTreeMap<String, Value> = known.into_iter().collect();

        let mut given = BTreeMap::new();
        if let Some(path) = &file {
            let from_file = Config::builder()
                .add_source(File::from(path.as_path()).format(FileFormat::Yaml))
                .build()
                .map_err(|e| ConfigError::Parse(e.to_string()))?;
            let mut found = Vec::new();
            leaves(
                "",
                &Value::from(from_file.collect().unwrap_or_default()),
                &mut found,
            );
            for (key, value) in found {
                let source = Source::File(path.clone());
                given.insert(key, Given { value, source });
            }
        }
        let linernotes_env: config::Map<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("LINERNOTES__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let from_env = Config::builder()
            .add_source(
                Environment::with_prefix("LINERNOTES")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(linernotes_env)),
            )
            .build()
            .map_err(|e| ConfigError::Parse(e.to_string()))?;
        let mut found = Vec::new();
        leaves(
            "",
            &Value::from(from_env.collect().unwrap_or_default()),
            &mut found,
        );
        for (key, value) in found {
            let source = Source::Environment(variable_of(&key));
            given.insert(key, Given { value, source });
        }
        let mut notes = Vec::new();
        if let Some(url) = env.get("DATABASE_URL") {
            match given.get("database.url") {
                None => {
                    let value = Value::new(None, url.as_str());
                    let source = Source::DatabaseUrl;
                    given.insert("database.url".into(), Given { value, source });
                }
                Some(winner) => notes.push(format!(
                    "DATABASE_URL is set but not used: database.url comes from {}",
                    winner.source
                )),
            }
        }

        let mut issues = Vec::new();
        given.retain(|key, _| {
            if known.contains_key(key) {
                return true;
            }
            let hint = nearest(key, known.keys())
                .map(|k| format!("; did you mean {k}?"))
                .unwrap_or_default();
            issues.push(ConfigIssue {
                key: key.clone(),
                reason: format!("unknown key{hint}"),
            });
            false
        });
        let settings = loop {
            let mut builder = Config::builder().add_source(defaults.clone());
            for (key, given) in &given {
                builder = builder
                    .set_override(key.as_str(), given.value.clone())
                    .map_err(|e| ConfigError::Parse(e.to_string()))?;
            }
            let attempt = builder
                .build()
                .and_then(|c| c.try_deserialize::<Settings>());
            match attempt {
                Ok(settings) => break settings,
                Err(err) => {
                    let message = err.to_string();
                    // A value that cannot be read is reported and left at its default, so the rest
                    // can still be read and checked.
                    match key_of_error(&message).filter(|k| given.contains_key(k)) {
                        Some(key) => {
                            given.remove(&key);
                            issues.push(ConfigIssue {
                                key,
                                reason: reason_of_error(&message),
                            });
                        }
                        None => return Err(ConfigError::Parse(message)),
                    }
                }
            }
        };
        if let Err(invalid) = settings.validate() {
            let reported: Vec<String> = issues.iter().map(|i| i.key.clone()).collect();
            issues.extend(invalid.into_iter().filter(|i| !reported.contains(&i.key)));
        }
        if !issues.is_empty() {
            issues.sort_by(|a, b| a.key.cmp(&b.key));
            return Err(ConfigError::Invalid(issues));
        }
        let sources = given
            .into_iter()
            .map(|(key, given)| (key, given.source))
            .collect();
        Ok(Loaded {
            settings,
            sources,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_keys_compose_from_the_inside_out() {
        assert_eq!(
            key_of_error("invalid type: string \"abc\", expected an integer for key `timeout_ms` for key `providers.musicbrainz`").as_deref(),
            Some("providers.musicbrainz.timeout_ms")
        );
        assert_eq!(
            reason_of_error("invalid type: string \"abc\", expected an integer for key `x`"),
            "invalid type: string \"abc\", expected an integer"
        );
        assert_eq!(edit_distance("max_conections", "max_connections"), 1);
    }
}
