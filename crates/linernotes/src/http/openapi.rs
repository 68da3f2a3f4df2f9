//! The OpenAPI 3.1 description of the HTTP API, served at `GET /openapi.json`.
//!
//! It is generated from the code: each handler carries `#[utoipa::path]` (its route, parameters,
//! body and answers) and is registered through `utoipa_axum::routes!`, which serves the handler at
//! the path its description names, so a route and its description cannot drift apart. The JSON types
//! derive `ToSchema` beside `Serialize`. What applies to every operation alike (the bearer scheme,
//! the refusals of [`super::guard`], a bug's 500) is added here once.

use std::sync::{Arc, LazyLock};

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

use super::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "linernotes",
        description = "linernotes' HTTP API: music metadata (database first, refreshed from MusicBrainz), \
                       accounts, each user's library, administration and operations. Every error is \
                       `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}` with the matching status; the \
                       pages mailed links open (`/account/…`) answer HTML.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "metadata", description = "Artists, albums, releases, tracks, labels and search"),
        (name = "accounts", description = "Registration, login, sessions and the caller's own account"),
        (name = "library", description = "Favourites, playlists, plays, history and playback"),
        (name = "admin", description = "Accounts and the audit log, for admins"),
        (name = "operations", description = "Health, readiness, metrics, status and this description"),
        (name = "pages", description = "The HTML pages links in mails open"),
    ),
    components(schemas(ErrorBody)),
)]
struct Base;

/// The description of the operations of `described`, with what every operation shares added.
pub fn complete(described: Document) -> Document {
    let mut document = Base::openapi().merge_from(described);
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_shared_answers(operation);
        }
    }
    document
}

/// The answers any operation may give besides its own: the refusals before routing and a bug's 500;
/// with a body, also a body too large or too slow.
fn add_shared_answers(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let shared = [
        (true, "414", "The request target is longer than 8 KiB"),
        (true, "431", "The request headers are larger than 16 KiB"),
        (true, "500", "A bug; the details are in the server's log"),
        (has_body, "408", "The body did not arrive in time"),
        (
            has_body,
            "413",
            "The declared body is larger than `server.max_body_bytes`",
        ),
    ];
    for (applies, status, description) in shared {
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| error_answer(description));
        }
    }
}

/// An answer with the error body.
pub fn error_answer(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
        .into()
}

/// The whole description.
pub fn description() -> Document {
    let (_, described) = super::described_routes().split_for_parts();
    complete(described)
}

/// The description as served, rendered once (it is a function of the code alone).
static DOCUMENT: LazyLock<Arc<str>> = LazyLock::new(|| {
    let json = description()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the description: {e}\"}}"));
    Arc::from(json)
});

/// This API's OpenAPI 3.1 description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This description",
    responses((status = 200, description = "The OpenAPI 3.1 description of this API", body = Object)),
)]
pub async fn openapi_json() -> Response {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.to_string()).into_response()
}
