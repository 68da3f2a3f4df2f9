//! Service layer: policy. Which tier answers, when to refresh, what errors mean to a client.
//!
//! Layout:
//! - this file: [`ErrorCode`] and [`ServiceError`], the one error shape every transport maps, and
//!   [`Services`], the bundle both transports serve;
//! - [`metadata`]: [`MetadataService`], the database-first read path;
//! - [`enrichment`]: when other providers are asked, and how their facts merge into answers;
//! - [`accounts`]: [`AccountService`]: registration, login, sessions, roles, audit, deletion, with
//!   passwords (Argon2id, legacy bcrypt), tokens (JWT access tokens, opaque refresh and mailed tokens)
//!   and mail (the outbox) beside it;
//! - [`library`]: [`LibraryService`]: favourites, playlists, history, playback, search history;
//! - [`import`]: loading the MusicBrainz JSON dumps (streaming, checkpoints, progress, swap).

pub mod accounts;
pub mod enrichment;
pub mod import;
pub mod library;
pub mod metadata;

pub use accounts::AccountService;
pub use library::LibraryService;
pub use metadata::MetadataService;

use crate::providers::ProviderError;

/// Every service of one instance, as both transports receive them. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// Metadata: lookups, album lists, search, status.
    pub metadata: MetadataService,
    /// Accounts: registration, login, sessions, administration.
    pub accounts: AccountService,
    /// The users' libraries.
    pub library: LibraryService,
}
use crate::store::StoreError;

/// What kind of failure a client sees. Each transport maps it once (gRPC code, HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is malformed (400 / INVALID_ARGUMENT).
    InvalidArgument,
    /// No valid credentials (401 / UNAUTHENTICATED).
    Unauthenticated,
    /// Authenticated but not allowed (403 / PERMISSION_DENIED).
    PermissionDenied,
    /// No such entity (404 / NOT_FOUND).
    NotFound,
    /// It exists already (409 / ALREADY_EXISTS).
    AlreadyExists,
    /// A concurrent change won (409 / ABORTED).
    Aborted,
    /// The change would break a rule of the system's state, e.g. remove the last admin (409 /
    /// FAILED_PRECONDITION).
    FailedPrecondition,
    /// Too many requests (429 / RESOURCE_EXHAUSTED).
    ResourceExhausted,
    /// A dependency (database, provider) is down; retry later (503 / UNAVAILABLE).
    Unavailable,
    /// A bug; details are in the log, not in the answer (500 / INTERNAL).
    Internal,
}

impl ErrorCode {
    /// The code's name as clients see it (`NOT_FOUND`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// A failure as a client is told it: a code and a human sentence with no internals in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ServiceError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// What happened, for a person.
    pub message: String,
    /// When to try again, in seconds (`RESOURCE_EXHAUSTED`): HTTP `retry-after`, gRPC metadata.
    pub retry_after_secs: Option<u64>,
}

impl ServiceError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// Too many attempts: try again after `secs` seconds.
    pub fn resource_exhausted(message: impl Into<String>, secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs.max(1)),
            ..Self::new(ErrorCode::ResourceExhausted, message)
        }
    }

    /// A malformed request.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// A missing entity.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// An unexpected failure: logged in full here, answered as a bare "internal error".
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// Maps a failure of `provider` (its name for people, e.g. `MusicBrainz`) about `what` (e.g.
    /// `artist musicbrainz:…`).
    pub fn from_provider(provider: &str, err: ProviderError, what: &str) -> Self {
        match err {
            ProviderError::NotFound => {
                Self::not_found(format!("{what} does not exist at {provider}"))
            }
            ProviderError::Rejected(reason) => {
                Self::invalid(format!("{provider} rejected the request: {reason}"))
            }
            ProviderError::Unavailable(reason) => {
                tracing::warn!(%provider, %what, %reason, "provider unavailable");
                Self::new(
                    ErrorCode::Unavailable,
                    format!("{provider} is unavailable ({reason}); {what} cannot be answered now, try again later"),
                )
            }
            ProviderError::Malformed(reason) => {
                tracing::warn!(%provider, %what, %reason, "provider sent a malformed answer");
                Self::new(
                    ErrorCode::Unavailable,
                    format!("{provider} sent an answer for {what} that could not be read; try again later"),
                )
            }
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) | StoreError::ConnectionLost(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Self::new(
                    ErrorCode::Unavailable,
                    "the database is unavailable; try again shortly",
                )
            }
            other => Self::internal(other),
        }
    }
}
