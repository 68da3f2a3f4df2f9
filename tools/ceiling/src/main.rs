//! `ceiling`: the most a read of a given size can do on linernotes' serving stack.
//!
//! It answers `/linernotes.v1.MetadataService/GetArtist` over gRPC and any `GET` over HTTP with a fixed
//! answer of `--bytes` bytes (a protobuf `Artist`, a JSON object), encoded once at start. The servers
//! are linernotes' own code with linernotes' default settings — the same listener limits and socket
//! options, HTTP/1 and HTTP/2 settings, deadlines and pass-through codec (`linernotes::grpc::server`,
//! `linernotes::grpc::admitted`, `linernotes::http::serve`) — and nothing behind them: no database,
//! cache, metrics, tracing or ID parsing. Compared with linernotes answering the same number of bytes,
//! it shows what linernotes' own work per request costs.
//!
//! `ceiling --bytes 4300 --grpc-addr 127.0.0.1:50161 --http-addr 127.0.0.1:8161`

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use clap::Parser;
use linernotes::grpc::CallLimits;
use linernotes::http::RequestDeadlines;
use linernotes::support::net::{GuardedListener, TrustedProxies};
use linernotes::Settings;
use linernotes_proto::codec::PreEncodedCodec;
use linernotes_proto::pb;
use prost::Message;
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};

/// Command line.
#[derive(Parser)]
#[command(about = "Fixed answers of --bytes bytes over linernotes' gRPC and HTTP stack")]
struct Args {
    /// Size of every answer, in bytes (the gRPC message and the JSON body).
    #[arg(long)]
    bytes: usize,
    /// gRPC address.
    #[arg(long, default_value = "127.0.0.1:50161")]
    grpc_addr: String,
    /// HTTP address.
    #[arg(long, default_value = "127.0.0.1:8161")]
    http_addr: String,
}

/// A protobuf `Artist` of exactly `bytes` bytes when that many can be made (its name padded).
fn artist_message(bytes: usize) -> Bytes {
    let mut artist = pb::Artist {
        id: "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da".into(),
        ..Default::default()
    };
    // The name's length prefix grows with it: settle the padding in a few rounds.
    for _ in 0..4 {
        let missing = bytes.saturating_sub(artist.encoded_len());
        artist.name.push_str(&"x".repeat(missing));
        while artist.encoded_len() > bytes && !artist.name.is_empty() {
            artist.name.pop();
        }
    }
    Bytes::from(artist.encode_to_vec())
}

/// A JSON object of exactly `bytes` bytes when that many can be made.
fn json_body(bytes: usize) -> Bytes {
    let skeleton =
        serde_json::json!({"id": "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da", "name": ""});
    let empty = skeleton.to_string().len();
    let name = "x".repeat(bytes.saturating_sub(empty));
    let body =
        serde_json::json!({"id": "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da", "name": name});
    Bytes::from(body.to_string())
}

/// `linernotes.v1.MetadataService` answering `GetArtist` with the fixed message.
#[derive(Clone)]
struct FixedMetadata {
    answer: Bytes,
    max_message_bytes: usize,
}

impl NamedService for FixedMetadata {
    const NAME: &'static str = "linernotes.v1.MetadataService";
}

/// The unary `GetArtist`: decodes the request as linernotes does, answers the fixed bytes.
struct FixedLookup(Bytes);

impl UnaryService<pb::GetEntityRequest> for FixedLookup {
    type Response = Bytes;
    type Future = BoxFuture<tonic::Response<Bytes>, tonic::Status>;

    fn call(&mut self, _request: tonic::Request<pb::GetEntityRequest>) -> Self::Future {
        let answer = self.0.clone();
        Box::pin(async move { Ok(tonic::Response::new(answer)) })
    }
}

impl<B> Service<http::Request<B>> for FixedMetadata
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != "/linernotes.v1.MetadataService/GetArtist" {
            let status = tonic::Status::unimplemented("the ceiling answers GetArtist only");
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let (answer, max) = (self.answer.clone(), self.max_message_bytes);
        Box::pin(async move {
            let mut grpc = Grpc::new(PreEncodedCodec::<pb::GetEntityRequest>::default())
                .apply_max_message_size_config(Some(max), None);
            Ok(grpc.unary(FixedLookup(answer), request).await)
        })
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let settings = match Settings::load_from(None, &BTreeMap::new()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("ceiling: linernotes' default settings: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ceiling: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args, settings)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ceiling: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args, settings: Settings) -> Result<(), String> {
    let server = &settings.server;
    let grpc_listener = tokio::net::TcpListener::bind(&args.grpc_addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.grpc_addr))?;
    let http_listener = tokio::net::TcpListener::bind(&args.http_addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.http_addr))?;
    let limits = CallLimits {
        deadline: server.request_body_timeout(),
        idle: server.header_read_timeout(),
        max_message_bytes: server.max_body_bytes,
        proxies: TrustedProxies::default(),
    };
    let metadata = FixedMetadata {
        answer: artist_message(args.bytes),
        max_message_bytes: server.max_body_bytes,
    };
    let grpc = linernotes::grpc::server(&limits)
        .add_service(metadata)
        .serve_with_incoming_shutdown(
            linernotes::grpc::admitted(
                GuardedListener::new(grpc_listener, server.connection_limits()),
                limits.idle,
            ),
            stopped(),
        );
    let json = json_body(args.bytes);
    let router = Router::new().fallback(get(move || {
        let json = json.clone();
        async move { ([(CONTENT_TYPE, "application/json")], json) }
    }));
    let http = linernotes::http::serve(
        GuardedListener::new(http_listener, server.connection_limits()),
        router,
        RequestDeadlines {
            header: server.header_read_timeout(),
            body: server.request_body_timeout(),
        },
        TrustedProxies::default(),
        stopped(),
    );
    println!(
        "ceiling: {} bytes on gRPC {} and HTTP {}",
        args.bytes, args.grpc_addr, args.http_addr
    );
    let (grpc, http) = tokio::join!(grpc, http);
    grpc.map_err(|e| format!("gRPC: {e}"))?;
    http.map_err(|e| format!("HTTP: {e}"))
}

/// Completes on Ctrl-C or SIGTERM.
async fn stopped() {
    linernotes::app::shutdown_signal().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_the_asked_size() {
        for bytes in [200, 4300, 40_000] {
            assert_eq!(artist_message(bytes).len(), bytes);
            assert_eq!(json_body(bytes).len(), bytes);
        }
    }
}
