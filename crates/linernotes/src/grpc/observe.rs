//! One layer around every gRPC service, so that every call is seen the same way, including calls
//! refused before any handler ran:
//! - counted by method and status code, with its latency; the method label comes from the fixed set
//!   of methods served here (anything else is `other`), so no client can grow the metrics;
//! - a request that cannot be decoded (bad protobuf, broken framing, no message) answers
//!   `INVALID_ARGUMENT`, where tonic answers `INTERNAL`, which linernotes reserves for its own bugs; a
//!   request message over `server.max_body_bytes` answers `RESOURCE_EXHAUSTED`.

use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use metrics::{Counter, Histogram};

use tonic::codegen::http::{self, HeaderValue};
use tonic::codegen::BoxFuture;
use tonic::Code;
use tower::{Layer, Service};

use super::pb;
use crate::support::metrics::HandleCache;

/// Observes every call of the service it wraps (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

/// A service whose calls are observed.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
}

/// The standard services served beside linernotes' own.
const STANDARD_METHODS: [&str; 4] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The metric label of a request path: the method's name when it is a method served here.
fn method_label(path: &str) -> &'static str {
    static LABELS: LazyLock<std::collections::HashMap<&'static str, &'static str>> =
        LazyLock::new(|| {
            pb::METHOD_PATHS
                .iter()
                .chain(&STANDARD_METHODS)
                .filter_map(|path| Some((*path, path.rsplit('/').next()?)))
                .collect()
        });
    LABELS.get(path).copied().unwrap_or("other")
}

/// Each method's latency histogram, registered once.
static DURATIONS: LazyLock<HandleCache<&'static str, Histogram>> = LazyLock::new(Default::default);
/// Each method's call counter by status code, registered once.
static CALLS: LazyLock<HandleCache<(&'static str, &'static str), Counter>> =
    LazyLock::new(Default::default);

/// Records one finished call.
fn record(method: &'static str, code: Code, started: Instant) {
    DURATIONS
        .get(method, |method| {
            metrics::histogram!("linernotes_grpc_request_duration_seconds", "method" => method)
        })
        .record(started.elapsed().as_secs_f64());
    CALLS
        .get((method, code_name(code)), |(method, code)| {
            metrics::counter!("linernotes_grpc_requests_total", "method" => method, "code" => code)
        })
        .increment(1);
}

/// What tonic says when it cannot read a request (it answers these `INTERNAL`).
const UNREADABLE_REQUEST: [&str; 5] = [
    "failed to decode Protobuf message",
    "Unexpected EOF decoding stream",
    "protocol error:",
    "Error decompressing",
    "Missing request message",
];

/// What tonic says of a request message over the size limit (it answers it `OUT_OF_RANGE`; gRPC
/// implementations agree on `RESOURCE_EXHAUSTED`).
const TOO_LARGE: &str = "Error, decoded message length too large";

/// The call's status code, read from an error answer's headers (a successful unary answer carries its
/// status in the trailers, after a body: `Ok`). An unreadable request's `INTERNAL` becomes
/// `INVALID_ARGUMENT` on the way out.
fn settle<B>(response: &mut http::Response<B>) -> Code {
    let headers = response.headers_mut();
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32)
    else {
        return Code::Ok;
    };
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decoded)
        .unwrap_or_default();
    let settled = match code {
        Code::Internal if UNREADABLE_REQUEST.iter().any(|p| message.starts_with(p)) => {
            Code::InvalidArgument
        }
        // A request message over the limit (refused from its length prefix, before its body is read).
        Code::OutOfRange if message.starts_with(TOO_LARGE) => Code::ResourceExhausted,
        other => other,
    };
    if settled != code {
        headers.insert("grpc-status", HeaderValue::from(settled as i32));
    }
    settled
}

/// A `grpc-message` header value, percent-decoded.
fn percent_decoded(message: &str) -> String {
    url::form_urlencoded::parse(format!("m={}", message.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// A status code's name, without allocating on the hot path.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "Ok",
        Code::InvalidArgument => "InvalidArgument",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::Unauthenticated => "Unauthenticated",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::Aborted => "Aborted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Unavailable => "Unavailable",
        Code::Internal => "Internal",
        Code::OutOfRange => "OutOfRange",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::Unimplemented => "Unimplemented",
        Code::Cancelled => "Cancelled",
        _ => "Other",
    }
}

impl<S, B, ResBody> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = method_label(request.uri().path());
        let started = Instant::now();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            record(method, settle(&mut response), started);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_methods_are_labelled_by_name_and_others_as_other() {
        assert_eq!(
            method_label("/linernotes.v1.MetadataService/GetArtist"),
            "GetArtist"
        );
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "Check");
        assert_eq!(
            method_label("/linernotes.v1.MetadataService/GetArtistX"),
            "other"
        );
        assert_eq!(method_label("/x/y"), "other");
    }

    #[test]
    fn an_unreadable_request_is_invalid_argument_and_a_bug_stays_internal() {
        let answer = |message: &str| {
            let mut response = http::Response::new(());
            response
                .headers_mut()
                .insert("grpc-status", HeaderValue::from(Code::Internal as i32));
            response.headers_mut().insert(
                "grpc-message",
                HeaderValue::from_str(message).expect("header"),
            );
            response
        };
        let mut unreadable =
            answer("failed%20to%20decode%20Protobuf%20message:%20buffer%20underflow");
        assert_eq!(settle(&mut unreadable), Code::InvalidArgument);
        assert_eq!(unreadable.headers()["grpc-status"], "3");
        let mut bug = answer("internal%20error");
        assert_eq!(settle(&mut bug), Code::Internal);
        assert_eq!(bug.headers()["grpc-status"], "13");
        assert_eq!(settle(&mut http::Response::new(())), Code::Ok);
    }
}
