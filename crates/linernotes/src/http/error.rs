//! The one error body of the HTTP API: `{"error": {"code": "…", "message": "…"}}` with the status
//! that matches the service's [`ErrorCode`], and `Retry-After` when the service gives one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::service::{ErrorCode, ServiceError};

impl From<ErrorCode> for StatusCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists | ErrorCode::Aborted | ErrorCode::FailedPrecondition => {
                StatusCode::CONFLICT
            }
            ErrorCode::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered as `{"error": {"code": "…", "message": "…"}}` with the matching status.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        ApiError(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = error_response(
            StatusCode::from(self.0.code),
            self.0.code.as_str(),
            &self.0.message,
        );
        if let Some(secs) = self.0.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The one error body of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong: a code a program can act on and a sentence for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `INVALID_ARGUMENT`, `UNAUTHENTICATED`, `PERMISSION_DENIED`, `NOT_FOUND`, `ALREADY_EXISTS`,
    /// `ABORTED`, `FAILED_PRECONDITION`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, `INTERNAL`, or one of the
    /// transport's own (`METHOD_NOT_ALLOWED`, `PAYLOAD_TOO_LARGE`, `URI_TOO_LONG`,
    /// `HEADERS_TOO_LARGE`, `REQUEST_TIMEOUT`).
    #[schema(example = "NOT_FOUND")]
    pub code: String,
    /// What was expected or what happened, for people.
    pub message: String,
}

impl ErrorBody {
    /// The body of an error with `code` and `message`.
    pub fn new(code: &str, message: &str) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: message.to_owned(),
            },
        }
    }
}

/// The error body with any status and code, for what the transport refuses before a service is asked
/// (`METHOD_NOT_ALLOWED`, `PAYLOAD_TOO_LARGE`, …).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}
