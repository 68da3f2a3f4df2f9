//! What is refused before routing, in the API's error shape: a request target or headers too large
//! to be meant (414, 431), a declared body over `server.max_body_bytes` (413, before any of the body
//! is read), a method a route does not serve (405). And the request metrics, whose labels come from a
//! fixed set only (route templates, known methods, `other`), so no client can grow them.

use std::sync::LazyLock;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};

use super::error::error_response;
use crate::support::metrics::{interned, HandleCache};

/// The longest request target (path and query) accepted, in bytes.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) accepted in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The refusal of a request whose target or headers are too large, or whose declared body is over
/// `max_body_bytes`, before anything reads its body.
fn refusal(max_body_bytes: usize, request: &Request) -> Option<Response> {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_TARGET_BYTES {
        return Some(error_response(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            &format!(
                "the request target is {target} bytes; at most {MAX_TARGET_BYTES} are accepted"
            ),
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADERS_TOO_LARGE",
            &format!(
                "the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted"
            ),
        ));
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > max_body_bytes as u64) {
        return Some(error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!(
                "the declared body is {declared} bytes; at most {max_body_bytes} are accepted"
            ),
        ));
    }
    None
}

/// The answer to a method a route does not serve.
pub async fn method_not_allowed(method: Method) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!("{method} is not served on this route; see the README for the API"),
    )
}

/// A method as a metric label: the known methods by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Each route's latency histogram by method, registered once.
static DURATIONS: LazyLock<HandleCache<(&'static str, &'static str), Histogram>> =
    LazyLock::new(Default::default);
/// Each route's request counter by method and status, registered once.
static REQUESTS: LazyLock<HandleCache<(&'static str, &'static str, u16), Counter>> =
    LazyLock::new(Default::default);

/// Every request's way in: refused when too large (see [`refusal`]), else routed; either way counted
/// by route template, method and status, with its latency. One middleware rather than two, as each
/// costs a boxed future and a copy of the route's service per request.
pub async fn admit(max_body_bytes: usize, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| interned(path.as_str()));
    let method = method_label(request.method());
    let started = std::time::Instant::now();
    let response = match refusal(max_body_bytes, &request) {
        Some(refused) => refused,
        None => next.run(request).await,
    };
    DURATIONS
        .get((route, method), |(route, method)| {
            metrics::histogram!("linernotes_http_request_duration_seconds", "route" => route, "method" => method)
        })
        .record(started.elapsed().as_secs_f64());
    REQUESTS
        .get((route, method, response.status().as_u16()), |(route, method, status)| {
            metrics::counter!("linernotes_http_requests_total", "route" => route, "method" => method, "status" => status.to_string())
        })
        .increment(1);
    response
}
