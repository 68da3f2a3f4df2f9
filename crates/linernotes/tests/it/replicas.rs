//! Read replicas against a real streaming replica: a built-in primary and a standby made from its base
//! backup, both started by the test in temporary directories with the embedded mode's machinery.
//! Metadata reads spread to the replica; with the replica stopped they still answer from the primary;
//! a user's write is visible to their next read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use linernotes::store::embedded::{Claim, EmbeddedServer};
use linernotes::Settings;
use secrecy::SecretString;
use serde_json::Value;
use sqlx::{Connection, PgConnection};

use crate::bodies::*;
use crate::helpers::*;
use crate::library::{mb, track_id};

/// Settings for a built-in server on `data_dir`.
fn server_settings(data_dir: &Path) -> Settings {
    let env = [(
        "LINERNOTES__DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )]
    .into_iter()
    .collect();
    Settings::load_from(None, &env).expect("valid settings")
}

/// Waits until the standby has replayed everything the primary had written when this was called.
async fn caught_up(primary: &str, standby: &str) {
    let mut primary = PgConnection::connect(primary).await.expect("primary");
    let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(&mut primary)
        .await
        .expect("lsn");
    let mut standby = PgConnection::connect(standby).await.expect("standby");
    loop {
        let done: bool = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn")
            .bind(&lsn)
            .fetch_one(&mut standby)
            .await
            .expect("replay lsn");
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn replica_status(app: &TestApp) -> Value {
    let (status, body) = app.get("/v1/status").await;
    assert_eq!(status, 200, "{body}");
    body["replicas"][0].clone()
}

#[tokio::test]
async fn reads_spread_to_a_streaming_replica_and_fall_back_to_the_primary() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "rp-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    let primary = EmbeddedServer::start(&server_settings(&root.join("p")), Claim::Exclusive)
        .await
        .expect("primary starts");
    let standby =
        EmbeddedServer::start_standby(&server_settings(&root.join("s")), primary.layout())
            .await
            .expect("standby starts from a base backup of the primary");
    // The database linernotes uses exists on the primary before the standby is read.
    let database_url = primary.url();
    let replica_url = standby.url();

    let app = TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(move |s| {
            s.database.url = Some(SecretString::from(database_url));
            s.database.replica_urls = vec![SecretString::from(replica_url)];
            s.database.replica_check_interval_secs = 1;
            s.cache.memory_bytes = 0;
        })),
        ..TestOptions::default()
    })
    .await;
    crate::library::mount_catalogue(&app).await;
    let artist_path = format!("/v1/artists/musicbrainz:{ARTIST}");
    let (status, body) = app.get(&artist_path).await;
    assert_eq!(status, 200, "{body}");
    caught_up(&primary.url(), &standby.url()).await;
    // The replica turns healthy at its next check.
    while replica_status(&app).await["healthy"] != true {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Metadata reads spread to the replica (the hot cache is off, so each read reaches the store).
    for _ in 0..5 {
        let (status, body) = app.get(&artist_path).await;
        assert_eq!(
            (status, body["name"].as_str()),
            (200, Some("Ada Example")),
            "{body}"
        );
    }
    let replica = replica_status(&app).await;
    assert!(replica["reads"].as_u64().unwrap_or(0) >= 5, "{replica}");
    assert!(replica["lag_bytes"].is_number(), "{replica}");
    assert_eq!(
        app.upstream_calls().await,
        1,
        "stored once, read from the replica"
    );

    // A user's write is visible to their next read.
    let (_, token) = user(&app, "ada@example.org").await;
    let track = mb(&track_id(7));
    let (status, _) = app
        .put_auth(
            &format!("/v1/me/favorites/{track}?type=track"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, favorites) = app.get_auth("/v1/me/favorites", &token).await;
    assert_eq!(status, 200, "{favorites}");
    assert_eq!(favorites["items"][0]["id"], track, "{favorites}");

    // The replica stopped: reads still answer, from the primary.
    standby.stop().await;
    for _ in 0..3 {
        let (status, body) = app.get(&artist_path).await;
        assert_eq!(
            (status, body["name"].as_str()),
            (200, Some("Ada Example")),
            "{body}"
        );
    }
    assert_eq!(replica_status(&app).await["healthy"], false);

    drop(app);
    primary.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}
