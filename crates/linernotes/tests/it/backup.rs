//! Backup and restore: a snapshot taken while linernotes serves, restored over later writes and into
//! an empty database, gives back exactly the backed-up users, libraries and metadata; damaged and
//! foreign files, a database being served and a non-empty target without `--replace` are refused
//! with nothing touched.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::*;
use crate::library::{add, mb, playlist, spawn, track_id};

/// Every table's rows (ordered text digest) and every sequence's position: two databases with equal
/// digests hold the same data. The search index's rebuild requests are left out: a restore files one.
async fn digests(pool: &PgPool) -> BTreeMap<String, String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename NOT IN ('_sqlx_migrations', 'search_reindex_request') ORDER BY tablename",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut out = BTreeMap::new();
    for table in tables {
        let digest: String = sqlx::query_scalar(&format!(
            "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
             FROM public.\"{table}\" t"
        ))
        .fetch_one(pool)
        .await
        .expect("digest");
        out.insert(table, digest);
    }
    let sequences: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = 'public' \
         AND sequencename::text NOT LIKE 'search_reindex_request%'",
    )
    .fetch_all(pool)
    .await
    .expect("sequences");
    for (name, value) in sequences {
        out.insert(format!("sequence {name}"), format!("{value:?}"));
    }
    out
}

/// A file under the test's target folder, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        Self(
            PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("{}-{name}", uuid::Uuid::new_v4().simple())),
        )
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the binary against `database` off the runtime's threads.
async fn cli(database: &Arc<TestDatabase>, args: &[&str]) -> (bool, String, String) {
    let target = CliTarget {
        database: database.clone(),
    };
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        target.run(&args, "")
    })
    .await
    .expect("binary runner")
}

#[tokio::test]
async fn a_restore_gives_back_exactly_the_backed_up_state_and_refuses_what_it_cannot_trust() {
    let app = spawn().await;
    let (_, ada) = user(&app, "ada@example.org").await;
    app.put_auth(
        &format!("/v1/me/favorites/{}?type=track", mb(&track_id(1))),
        &ada,
        None,
    )
    .await;
    let list = playlist(&app, &ada, "Road trip", true).await;
    add(&app, &ada, &list, &[track_id(2), track_id(3)], None).await;
    app.post_auth("/v1/me/plays", &ada, &json!({"track_id": mb(&track_id(2))}))
        .await;
    let pool = app.pool().await;
    let backed_up = digests(&pool).await;
    assert!(
        backed_up.values().any(|d| !d.starts_with("0:")),
        "there is data"
    );

    // Backed up while linernotes serves.
    let file = TempFile::new("linernotes.backup");
    let (ok, out, err) = cli(&app.database, &["backup", "--to", file.path()]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("backed up"), "{out}");

    // Later writes: another user, more of ada's library, a playlist gone.
    let (_, bob) = user(&app, "bob@example.org").await;
    app.put_auth(
        &format!("/v1/me/favorites/{}?type=track", mb(&track_id(4))),
        &bob,
        None,
    )
    .await;
    app.delete_auth(&format!("/v1/playlists/{list}"), &ada, None)
        .await;
    let later = digests(&pool).await;
    assert_ne!(later, backed_up);

    // Refused while an instance serves the database.
    let (ok, _, err) = cli(
        &app.database,
        &["restore", "--from", file.path(), "--replace", "--yes"],
    )
    .await;
    assert!(!ok && err.contains("is serving"), "{err}");
    let (database, mock) = app.stop().await;

    // A damaged (truncated) and a foreign file are refused before anything is touched.
    let bytes = std::fs::read(&file.0).expect("read backup");
    let truncated = TempFile::new("truncated.backup");
    std::fs::write(&truncated.0, &bytes[..bytes.len() - 100]).expect("write truncated");
    let (ok, _, err) = cli(
        &database,
        &["restore", "--from", truncated.path(), "--replace", "--yes"],
    )
    .await;
    assert!(!ok && err.contains("truncated or damaged"), "{err}");
    let flipped = TempFile::new("flipped.backup");
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&flipped.0, &damaged).expect("write damaged");
    let (ok, _, err) = cli(
        &database,
        &["restore", "--from", flipped.path(), "--replace", "--yes"],
    )
    .await;
    assert!(!ok && err.contains("checksum does not match"), "{err}");
    let foreign = TempFile::new("foreign.sql");
    std::fs::write(&foreign.0, "CREATE TABLE x (y int);\n").expect("write foreign");
    let (ok, _, err) = cli(
        &database,
        &["restore", "--from", foreign.path(), "--replace", "--yes"],
    )
    .await;
    assert!(!ok && err.contains("is not a linernotes backup"), "{err}");
    // A database with data is replaced only when asked to.
    let (ok, _, err) = cli(&database, &["restore", "--from", file.path()]).await;
    assert!(!ok && err.contains("--replace"), "{err}");
    let (ok, _, err) = cli(&database, &["restore", "--from", file.path(), "--replace"]).await;
    assert!(!ok && err.contains("--yes"), "{err}");
    assert_eq!(digests(&pool).await, later, "the refusals touched nothing");

    // Over the later writes: exactly the backed-up state.
    let (ok, out, err) = cli(
        &database,
        &["restore", "--from", file.path(), "--replace", "--yes"],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert_eq!(digests(&pool).await, backed_up);
    let rebuilds: i64 = sqlx::query_scalar("SELECT count(*) FROM search_reindex_request")
        .fetch_one(&pool)
        .await
        .expect("reindex requests");
    assert_eq!(
        rebuilds, 1,
        "the restore asks for the search index to be rebuilt"
    );
    pool.close().await;

    // Into an empty database (created on the way): the same state.
    let fresh = Arc::new(TestDatabase::reserve());
    let (ok, out, err) = cli(&fresh, &["restore", "--from", file.path()]).await;
    assert!(ok, "{out}{err}");
    let fresh_pool = PgPool::connect(&fresh.url()).await.expect("connect");
    assert_eq!(digests(&fresh_pool).await, backed_up);
    fresh_pool.close().await;

    // The restored service: ada's library is back, bob never existed.
    let app = TestApp::spawn_with(TestOptions {
        database: Some(database),
        mock: Some(mock),
        ..TestOptions::default()
    })
    .await;
    let (access, _) = login(&app, "ada@example.org", PASSWORD).await;
    let (status, favorites) = app.get_auth("/v1/me/favorites", &access).await;
    assert_eq!(status, 200, "{favorites}");
    assert_eq!(favorites["items"][0]["id"], mb(&track_id(1)), "{favorites}");
    let (status, body) = app.get(&format!("/v1/playlists/{list}")).await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(2)), "{body}");
    let (status, _) = app
        .post(
            "/v1/auth/login",
            &json!({"email": "bob@example.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 401);
}
