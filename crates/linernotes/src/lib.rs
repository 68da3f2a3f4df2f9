//! linernotes: a self-hostable music metadata aggregator.
//!
//! It answers one typed API (gRPC, with JSON over HTTP beside it) about artists, albums, releases,
//! tracks and labels. It answers from its own PostgreSQL first and fetches from MusicBrainz (politely:
//! one request per second, a proper User-Agent) when data is missing or stale.
//!
//! # Layout
//! Dependencies run one way: transport → service → store / providers / cache → domain, with config and
//! support beneath them all (see ARCHITECTURE.md at the repository root).
//! - [`cli`], [`grpc`], [`http`]: the command line and the thin transport adapters; they parse, call
//!   one service method, and map back.
//! - [`service`]: policy (database first, refresh, single flight, who may see what) and the one error
//!   shape every transport maps.
//! - [`store`]: PostgreSQL, migrations and repositories; all SQL lives there.
//! - [`providers`]: the polite HTTP client, the catalogue source (MusicBrainz WS/2) and enrichers.
//! - [`cache`]: the hot cache, in-process then Redis.
//! - [`search`]: the embedded full-text index (tantivy), one per entity type.
//! - [`domain`]: the types every layer shares (IDs, entities, accounts, the library).
//! - [`config`]: layered, validated configuration; [`support`]: clock, single flight, background tasks,
//!   Redis, metrics; [`app`]: wiring, serving and shutdown.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod providers;
pub mod search;
pub mod service;
pub mod store;
pub mod support;

pub use app::Application;
pub use config::Settings;
