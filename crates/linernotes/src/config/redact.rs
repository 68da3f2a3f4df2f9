//! Keeping secrets out of what linernotes prints: URLs with their password replaced, secrets shown as
//! `***`, and the effective configuration as YAML for `config check`.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

/// Replaces the password of a URL with `***`; leaves anything unparsable as `<unparsable URL>`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "<unparsable URL>".into(),
    }
}

/// Serialises a secret as `***` (or `""` when it is empty, so `config check` shows it is unset).
pub fn serialize_redacted_secret<S: Serializer>(
    secret: &SecretString,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.expose_secret().is_empty() {
        ""
    } else {
        "***"
    })
}

/// Serialises a URL with its password redacted.
pub fn serialize_redacted_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url.expose_secret()))
}

/// Serialises an optional URL with its password redacted.
pub fn serialize_redacted_optional_url<S: Serializer>(
    url: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => serialize_redacted_url(url, s),
        None => s.serialize_none(),
    }
}

/// A serialised configuration as YAML.
pub fn to_yaml(value: &serde_json::Value) -> String {
    let mut out = String::new();
    let mut emitter = yaml_rust2::YamlEmitter::new(&mut out);
    // Emitting into a String cannot fail for the plain values a config holds.
    let _ = emitter.dump(&json_to_yaml(value));
    out
}

fn json_to_yaml(value: &serde_json::Value) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml;
    match value {
        serde_json::Value::Null => Yaml::Null,
        serde_json::Value::Bool(b) => Yaml::Boolean(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        serde_json::Value::String(s) => Yaml::String(s.clone()),
        serde_json::Value::Array(items) => Yaml::Array(items.iter().map(json_to_yaml).collect()),
        serde_json::Value::Object(map) => Yaml::Hash(
            map.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), json_to_yaml(v)))
                .collect(),
        ),
    }
}
