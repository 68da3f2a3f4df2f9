//! The MusicBrainz WS/2 compatibility API under `/ws/2`.
//!
//! - [`lookup`]: lookups over raw HTTP: the stored body re-served for narrower incs, wider incs
//!   fetched once, every request rule (inc forms, format, errors, merges, upstream down), and the
//!   real recorded bodies of `../shared/fixtures` re-served key for key;
//! - [`list`]: browse pages (fetched once, stored, MusicBrainz's limit and offset rules) and searches
//!   answered from the index in MusicBrainz's envelope;
//! - [`client`]: the `musicbrainz_rs` crate as a real client (lookups with includes, browse, search,
//!   not found).

mod client;
mod list;
mod lookup;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::TestApp;

/// GETs a `/ws/2` path with `headers`; returns status, headers and the JSON body (`Null` if none).
pub async fn ws2_get(app: &TestApp, path: &str, accept: Option<&str>) -> (u16, HeaderMap, Value) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let mut request = client.get(format!("{}{path}", app.http));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Asserts MusicBrainz's error body with `message`.
pub fn assert_mb_error(
    what: &str,
    (status, headers, body): &(u16, HeaderMap, Value),
    want: u16,
    message: &str,
) {
    assert_eq!(*status, want, "{what}: {body}");
    assert_eq!(
        headers["content-type"], "application/json; charset=utf-8",
        "{what}"
    );
    assert_eq!(
        body,
        &serde_json::json!({"error": message, "help": "For usage, please see: https://musicbrainz.org/development/mmd"}),
        "{what}"
    );
}
