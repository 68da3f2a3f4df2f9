//! The one integration-test binary: linernotes end to end against the real PostgreSQL on the machine
//! and a mock MusicBrainz.
//!
//! - [`helpers`]: fresh database per test, mock provider, app on port 0, the binary, users and admins;
//! - [`backup`]: backup and restore, and the files and states they refuse;
//! - [`bodies`]: WS/2 bodies written for the tests;
//! - [`conformance`]: the MusicBrainz model against real recorded bodies in `../shared/fixtures`;
//! - [`embedded`]: the built-in PostgreSQL (no database configured), its lifetime and refusals;
//! - [`enrichment`]: the Cover Art Archive, Wikidata and Wikipedia merged into answers, with
//!   sources, languages and provider faults;
//! - [`identity`]: Deezer and iTunes links by URL relation, ISRC, barcode and fuzzy match,
//!   conflicts, namespaced IDs resolving alone and in batches, links;
//! - [`keyed`]: fanart.tv, TheAudioDB and Discogs, which run only with their keys;
//! - [`loadgen`]: the load generator against a running app (counts and status codes);
//! - [`import`]: loading generated and genuine MusicBrainz dumps, resuming, damaged archives, swaps;
//! - [`lyrics`]: lyrics from LRCLIB, instrumentals, searches, versions refused by duration;
//! - [`metadata`]: the read path through both transports, upstream politeness, bad input;
//! - [`operations`]: migrations, the command line, restarts, database outages;
//! - [`resilience`]: several instances behind one Redis and database, Redis and provider trouble, the
//!   circuit breaker, status and metrics;
//! - [`accounts`]: accounts, sessions, throttling, roles, audit, deletion, export, import;
//! - [`library`]: favourites, playlists, plays, history, playback, search history;
//! - [`hardening`]: what a hostile client found at the transports (limits, deadlines, labels);
//! - [`search`]: the embedded index: every kind of query with its expected top hit, live updates,
//!   the provider as fallback;
//! - [`openapi`]: the OpenAPI description against the routes served;
//! - [`replicas`]: reads on a real streaming replica, falling back to the primary;
//! - [`readme`]: the README's examples, run as written.
//! - [`ws2`]: the MusicBrainz WS/2 compatibility API: lookups, browse, search, real clients.

mod accounts;
mod backup;
mod bodies;
mod conformance;
mod embedded;
mod enrichment;
mod hardening;
mod helpers;
mod identity;
mod import;
mod keyed;
mod library;
mod loadgen;
mod lyrics;
mod metadata;
mod openapi;
mod operations;
mod readme;
mod replicas;
mod resilience;
mod search;
mod ws2;
