//! What is refused before routing, in the API's error shape: a request target or headers too large
//! to be meant (414, 431), a declared body over `server.max_body_bytes` (413, before any of the body
//! is read), a method a route does not serve (405). And the request metrics, whose labels come from a
//! fixed set only (route templates, known methods, `other`), so no client can grow them.

use axum::extract::{MatchedPath, Request};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::error_response;

/// The longest request target (path and query) accepted, in bytes.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) accepted in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a request whose target or headers are too large, or whose declared body is over
/// `max_body_bytes`, before anything reads its body.
pub async fn refuse_oversized(max_body_bytes: usize, request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_TARGET_BYTES {
        return error_response(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            &format!(
                "the request target is {target} bytes; at most {MAX_TARGET_BYTES} are accepted"
            ),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADERS_TOO_LARGE",
            &format!(
                "the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted"
            ),
        );
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > max_body_bytes as u64) {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!(
                "the declared body is {declared} bytes; at most {max_body_bytes} are accepted"
            ),
        );
    }
    next.run(request).await
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

/// Counts every request by route template, method and status, with its latency.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("linernotes_http_request_duration_seconds", "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("linernotes_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}
