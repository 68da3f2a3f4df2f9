//! linernotes: a self-hostable music metadata aggregator.
//!
//! It answers one typed API (gRPC, with JSON over HTTP beside it) about artists, albums, releases,
//! tracks and labels. It answers from its own PostgreSQL first and fetches from MusicBrainz (politely:
//! one request per second, a proper User-Agent) when data is missing or stale.
//!
//! # Layout
//! Three layers, one direction: transport → service → store / providers.
//! - [`grpc`], [`http`]: thin transport adapters; they parse, call one service method, and map back.
//! - [`service`]: policy (database first, refresh, single flight) and the one error enum.
//! - [`store`]: PostgreSQL, migrations and repositories; all SQL lives there.
//! - [`providers`]: upstream clients behind a trait (MusicBrainz WS/2).
//! - [`domain`]: the types every layer shares (IDs, entities).
//! - [`config`]: layered, validated configuration; [`app`]: wiring, serving and shutdown.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod providers;
pub mod service;
pub mod store;
pub mod support;

pub use app::Application;
pub use config::Settings;
