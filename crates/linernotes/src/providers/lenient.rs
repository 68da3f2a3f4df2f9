//! Reading values out of provider JSON whose types vary between answers: numbers sent as strings,
//! strings sent as numbers, `null`, `""` and missing keys alike meaning "unknown".

use serde_json::Value;

/// The text at `key`, `None` when missing, null, empty or not text (a number is given as text).
pub fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The number at `key`, whether sent as a number or as text.
pub fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

/// The whole non-negative number at `key` (`"1000"`, `1000`, `1000.0`).
pub fn count(value: &Value, key: &str) -> Option<u64> {
    number(value, key)
        .filter(|n| *n >= 0.0 && n.fract() == 0.0 && *n <= u32::MAX as f64)
        .map(|n| n as u64)
}

/// The boolean at `key` (`true`, `1`, `"true"`).
pub fn flag(value: &Value, key: &str) -> Option<bool> {
    match value.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The array at `key`, empty when it is anything else.
pub fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `url` when it is an http(s) URL; plain `http://` is upgraded for hosts known to serve https.
pub fn web_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    match parsed.scheme() {
        "https" => Some(parsed.to_string()),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let secure = [
                "coverartarchive.org",
                "archive.org",
                "is1-ssl.mzstatic.com",
                "e-cdns-images.dzcdn.net",
                "cdn-images.dzcdn.net",
            ];
            if secure
                .iter()
                .any(|s| host == *s || host.ends_with(&format!(".{s}")))
            {
                let mut upgraded = parsed.clone();
                let _ = upgraded.set_scheme("https");
                Some(upgraded.to_string())
            } else {
                Some(parsed.to_string())
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_text_are_read_in_either_form() {
        let v = json!({"a": "5474", "b": 12, "c": "", "d": null, "e": 1000.0, "f": "x"});
        assert_eq!(text(&v, "a").as_deref(), Some("5474"));
        assert_eq!(text(&v, "b").as_deref(), Some("12"));
        assert_eq!(text(&v, "c"), None);
        assert_eq!(text(&v, "d"), None);
        assert_eq!(count(&v, "a"), Some(5474));
        assert_eq!(count(&v, "e"), Some(1000));
        assert_eq!(count(&v, "f"), None);
        assert_eq!(flag(&json!({"x": 1}), "x"), Some(true));
    }

    #[test]
    fn known_https_hosts_are_upgraded() {
        assert_eq!(
            web_url("http://coverartarchive.org/release/x/1.jpg").as_deref(),
            Some("https://coverartarchive.org/release/x/1.jpg")
        );
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(
            web_url("http://example.org/a.jpg").as_deref(),
            Some("http://example.org/a.jpg")
        );
    }
}
