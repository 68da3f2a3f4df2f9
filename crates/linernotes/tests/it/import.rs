//! `linernotes import musicbrainz` end to end: generated dumps (tools/dumpgen) loaded by the binary into
//! a test database while an app serves it; resuming after an abrupt stop; damaged archives; user data
//! and live-fetched entities across a swap; the genuine dump lines in `../shared/fixtures/dumps`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dumpgen::{mbid, write_dump, DumpSpec};
use serde_json::Value;
use sqlx::PgPool;
use wiremock::matchers::{method, path};
use wiremock::Mock;

use crate::bodies;
use crate::helpers::*;

/// A scratch folder removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("linernotes-dump-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small dump: `artists` artists and the real dump's proportions of everything else.
pub fn small_dump(artists: u64, seed: u64) -> (Scratch, DumpSpec) {
    let scratch = Scratch::new();
    let mut spec = DumpSpec::proportional(artists);
    spec.seed = seed;
    spec.xz_level = 0;
    write_dump(scratch.path(), &spec, &[]).expect("write a generated dump");
    (scratch, spec)
}

/// Runs `linernotes import musicbrainz <args>` against `database`, logging at `info` (progress and
/// resume notes are log lines); (success, stdout, stderr).
pub async fn import(database: &Arc<TestDatabase>, args: &[&str]) -> (bool, String, String) {
    let mut command = binary();
    command
        .args(["import", "musicbrainz"])
        .args(args)
        .current_dir(std::env::temp_dir())
        .env("LINERNOTES__DATABASE__URL", database.url())
        .env("LINERNOTES__LOGGING__LEVEL", "info");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("binary ran")
        .expect("run the linernotes binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Row counts of the catalogue tables.
async fn counts(pool: &PgPool) -> Vec<(String, i64)> {
    linernotes::store::dump::catalogue_counts(pool)
        .await
        .expect("count rows")
}

/// A digest of every catalogue row, to compare two databases row for row.
async fn digest(pool: &PgPool) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for table in linernotes::store::dump::CATALOGUE_TABLES {
        let sum: Option<String> = sqlx::query_scalar(&format!(
            "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM public.{} t",
            table.name
        ))
        .fetch_one(pool)
        .await
        .expect("digest");
        out.push((table.name.to_owned(), sum));
    }
    out
}

/// An app that counts the generated dumps' rows (made on 2026-09-16) as fresh, so reads of them
/// never refresh from the mock.
pub async fn spawn_app() -> TestApp {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    TestApp::spawn_with(TestOptions {
        configure: Some(Box::new(|settings: &mut linernotes::Settings| {
            let freshness = &mut settings.metadata.freshness_secs;
            freshness.artist = TEN_YEARS;
            freshness.album = TEN_YEARS;
            freshness.release = TEN_YEARS;
            freshness.track = TEN_YEARS;
            freshness.label = TEN_YEARS;
        })),
        ..TestOptions::default()
    })
    .await
}

fn count_of(counts: &[(String, i64)], table: &str) -> i64 {
    counts
        .iter()
        .find(|(t, _)| t == table)
        .map_or(0, |(_, n)| *n)
}

fn expected_entities(spec: &DumpSpec) -> i64 {
    (spec.artists + spec.labels + spec.release_groups + spec.releases + spec.recordings) as i64
}

#[tokio::test]
async fn a_generated_dump_is_imported_swapped_in_and_served_without_upstream_calls() {
    let app = spawn_app().await;
    let (dump, spec) = small_dump(24, 1);
    let folder = dump.path().display().to_string();

    let (ok, stdout, stderr) = import(&app.database, &[&folder, "--batch-lines", "10"]).await;
    assert!(ok, "import failed: {stdout}\n{stderr}");
    assert!(stdout.contains("imported:"), "{stdout}");
    // Without a terminal, progress is reported as log lines.
    assert!(stderr.contains("import progress"), "{stderr}");

    let pool = app.pool().await;
    let after = counts(&pool).await;
    assert_eq!(
        count_of(&after, "entity"),
        expected_entities(&spec),
        "{after:?}"
    );
    assert_eq!(count_of(&after, "artist"), spec.artists as i64);
    assert_eq!(count_of(&after, "track"), spec.recordings as i64);
    assert!(
        count_of(&after, "release_track") > spec.releases as i64,
        "{after:?}"
    );
    assert!(count_of(&after, "artist_credit") > 0, "{after:?}");
    // No staging or retired schema is left behind.
    let leftovers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dump\\_%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(leftovers, 0);

    let prince = mbid(spec.seed, "artist", 0);
    let (status, body) = app.get(&format!("/v1/artists/musicbrainz:{prince}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Prince");
    let kino = mbid(spec.seed, "artist", 7);
    let (_, body) = app.get(&format!("/v1/artists/musicbrainz:{kino}")).await;
    assert_eq!(body["name"], "Кино");
    let release = mbid(spec.seed, "release", 3);
    let (status, body) = app
        .get(&format!("/v1/releases/musicbrainz:{release}"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["media"][0]["tracks"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(
        app.upstream_calls().await,
        0,
        "answered from the imported rows"
    );
}

#[tokio::test]
async fn rerunning_a_finished_import_does_nothing() {
    let database = Arc::new(TestDatabase::create().await);
    let (dump, _) = small_dump(10, 2);
    let folder = dump.path().display().to_string();
    let (ok, stdout, stderr) = import(&database, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let pool = PgPool::connect(&database.url()).await.unwrap();
    let first = digest(&pool).await;
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM dump_import")
        .fetch_one(&pool)
        .await
        .unwrap();

    let (ok, stdout, stderr) = import(&database, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("nothing to do"), "{stdout}");
    assert_eq!(digest(&pool).await, first);
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM dump_import")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again, imports, "no second import was started");
    pool.close().await;
}

#[tokio::test]
async fn an_import_stopped_abruptly_resumes_to_exactly_the_rows_of_a_clean_run() {
    let (dump, _) = small_dump(20, 3);
    let folder = dump.path().display().to_string();

    let clean = Arc::new(TestDatabase::create().await);
    let (ok, stdout, stderr) = import(&clean, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let clean_pool = PgPool::connect(&clean.url()).await.unwrap();
    let want = digest(&clean_pool).await;

    let resumed = Arc::new(TestDatabase::create().await);
    let pool = PgPool::connect(&resumed.url()).await.unwrap();
    // Two abrupt stops at different places (in the first archive, then in a later one), each with
    // a batch sent but not committed.
    for crash_after in ["3", "9"] {
        let (ok, _, stderr) = import(
            &resumed,
            &[
                &folder,
                "--batch-lines",
                "5",
                "--crash-after-batches",
                crash_after,
            ],
        )
        .await;
        assert!(!ok, "the process stopped abruptly: {stderr}");
        assert!(stderr.contains("stopping abruptly"), "{stderr}");
        let served = counts(&pool).await;
        assert_eq!(
            count_of(&served, "entity"),
            0,
            "nothing is served before the swap"
        );
    }
    let (ok, stdout, stderr) = import(&resumed, &[&folder, "--batch-lines", "5"]).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stderr.contains("resuming"), "{stderr}");
    assert_eq!(
        digest(&pool).await,
        want,
        "the resumed import has the rows of a clean run"
    );
    pool.close().await;
    clean_pool.close().await;
}

/// Imports a first dump into a running app; returns the app, the dump and its spec.
async fn app_with_first_dump() -> (TestApp, Scratch, DumpSpec) {
    let app = spawn_app().await;
    let (dump, spec) = small_dump(12, 4);
    let folder = dump.path().display().to_string();
    let (ok, stdout, stderr) = import(&app.database, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    (app, dump, spec)
}

#[tokio::test]
async fn a_truncated_archive_fails_naming_file_and_line_and_the_old_data_is_still_served() {
    let (app, _first, spec) = app_with_first_dump().await;
    let pool = app.pool().await;
    let before = digest(&pool).await;

    let (second, _) = small_dump(40, 5);
    let archive = second.path().join("release.tar.xz");
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(second.path().join("SHA256SUMS")).unwrap();
    let folder = second.path().display().to_string();
    let (ok, stdout, stderr) = import(&app.database, &[&folder]).await;
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("release.tar.xz"),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("corrupt or truncated archive after line"),
        "names the line: {stderr}"
    );
    assert_eq!(digest(&pool).await, before, "served data untouched");
    let prince = mbid(spec.seed, "artist", 0);
    let (status, body) = app.get(&format!("/v1/artists/musicbrainz:{prince}")).await;
    assert_eq!((status, body["name"].clone()), (200, Value::from("Prince")));
    let staging: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dump\\_staging\\_%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(staging, 0, "the failed import's staging schema is dropped");
}

#[tokio::test]
async fn an_archive_that_differs_from_sha256sums_is_refused() {
    let (app, _first, _) = app_with_first_dump().await;
    let pool = app.pool().await;
    let before = digest(&pool).await;

    let (second, _) = small_dump(10, 6);
    let sums = std::fs::read_to_string(second.path().join("SHA256SUMS")).unwrap();
    let wrong: String = sums
        .lines()
        .map(|line| {
            if line.ends_with("label.tar.xz") {
                format!("{}  label.tar.xz\n", "0".repeat(64))
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(second.path().join("SHA256SUMS"), wrong).unwrap();
    let folder = second.path().display().to_string();
    let (ok, _, stderr) = import(&app.database, &[&folder]).await;
    assert!(!ok);
    assert!(
        stderr.contains("label.tar.xz: SHA-256 is") && stderr.contains("SHA256SUMS lists 0000"),
        "{stderr}"
    );
    assert_eq!(digest(&pool).await, before, "served data untouched");
}

#[tokio::test]
async fn a_line_that_is_not_json_fails_with_its_file_and_number() {
    let database = Arc::new(TestDatabase::create().await);
    let scratch = Scratch::new();
    let lines = scratch.path().join("lines.jsonl");
    let spec = DumpSpec::proportional(3);
    let mut generator = dumpgen::Generator::new(spec, "artist");
    let mut text = String::new();
    while let Some(line) = generator.next_line() {
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str("{\"id\": \"not-an-mbid\", \"name\": \"x\"}\n");
    std::fs::write(&lines, text).unwrap();
    let archive = scratch.path().join("artist.tar.xz");
    dumpgen::write_archive(&archive, "artist", &lines, 0).unwrap();
    let (ok, _, stderr) = import(&database, &[&archive.display().to_string()]).await;
    assert!(!ok);
    assert!(
        stderr.contains("artist.tar.xz: line 4 of mbdump/artist"),
        "{stderr}"
    );
}

#[tokio::test]
async fn user_data_and_entities_fetched_after_the_dump_survive_a_swap() {
    let (app, _first, spec) = app_with_first_dump().await;
    let (_, token) = user(&app, "ada@example.org").await;
    let prince = mbid(spec.seed, "artist", 0);
    let (status, body) = app
        .put_auth(
            &format!("/v1/me/favorites/musicbrainz:{prince}?type=artist"),
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // An artist the dump does not have, fetched live (after the dump's TIMESTAMP).
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{}", bodies::ARTIST)))
        .respond_with(json_response(&bodies::artist(
            bodies::ARTIST,
            "Ada Example",
        )))
        .expect(1)
        .mount(&app.mock)
        .await;
    let (status, _) = app
        .get(&format!("/v1/artists/musicbrainz:{}", bodies::ARTIST))
        .await;
    assert_eq!(status, 200);

    // What an enricher recorded about an imported entity.
    let pool = app.pool().await;
    sqlx::query(
        "INSERT INTO enrichment (entity_mbid, provider, outcome, attempted_at) \
         VALUES ($1::uuid, 'wikidata', 'not_found', now())",
    )
    .bind(&prince)
    .execute(&pool)
    .await
    .unwrap();

    // A newer dump of the same catalogue, grown.
    let (second, bigger) = small_dump(30, spec.seed);
    let folder = second.path().display().to_string();
    let (ok, stdout, stderr) = import(&app.database, &[&folder]).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("(1 fetched after the dump kept)"),
        "{stdout}"
    );

    assert_eq!(
        count_of(&counts(&pool).await, "entity"),
        expected_entities(&bigger) + 1
    );
    let enrichment: i64 =
        sqlx::query_scalar("SELECT count(*) FROM enrichment WHERE entity_mbid = $1::uuid")
            .bind(&prince)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(enrichment, 1, "enrichment stays attached across the swap");
    let (_, favourites) = app.get_auth("/v1/me/favorites", &token).await;
    assert_eq!(favourites["total"], 1, "{favourites}");
    assert_eq!(favourites["items"][0]["name"], "Prince", "{favourites}");
    let (status, body) = app
        .get(&format!("/v1/artists/musicbrainz:{}", bodies::ARTIST))
        .await;
    assert_eq!(
        (status, body["name"].clone()),
        (200, Value::from("Ada Example"))
    );
}

#[tokio::test]
async fn only_the_chosen_types_are_replaced() {
    let (app, _first, spec) = app_with_first_dump().await;
    let pool = app.pool().await;
    let before = counts(&pool).await;
    let (second, bigger) = small_dump(30, spec.seed);
    let folder = second.path().display().to_string();
    let (ok, stdout, stderr) = import(&app.database, &[&folder, "--only", "artist,label"]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let after = counts(&pool).await;
    assert_eq!(count_of(&after, "artist"), bigger.artists as i64);
    assert_eq!(count_of(&after, "label"), bigger.labels as i64);
    for table in ["album", "release", "track", "release_track", "medium"] {
        assert_eq!(
            count_of(&after, table),
            count_of(&before, table),
            "{table} kept"
        );
    }
    let (ok, _, stderr) = import(&app.database, &[&folder, "--only", "work"]).await;
    assert!(!ok);
    assert!(stderr.contains("expected one of artist, label"), "{stderr}");
}

/// The genuine dump lines in `../shared/fixtures/dumps`, packed as archives, import.
#[tokio::test]
async fn genuine_dump_lines_import() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/dumps");
    if !fixtures.is_dir() {
        eprintln!("skipped: {} is not here", fixtures.display());
        return;
    }
    let scratch = Scratch::new();
    for (entity, file) in [
        ("label", "label.first5.jsonl"),
        ("recording", "recording.first5.jsonl"),
    ] {
        dumpgen::write_archive(
            &scratch.path().join(format!("{entity}.tar.xz")),
            entity,
            &fixtures.join(file),
            0,
        )
        .unwrap();
    }
    let database = Arc::new(TestDatabase::create().await);
    let (ok, stdout, stderr) = import(&database, &[&scratch.path().display().to_string()]).await;
    assert!(ok, "{stdout}\n{stderr}");
    let pool = PgPool::connect(&database.url()).await.unwrap();
    let after = counts(&pool).await;
    assert_eq!(count_of(&after, "label"), 5, "{after:?}");
    assert_eq!(count_of(&after, "track"), 5, "{after:?}");
    let name: String = sqlx::query_scalar(
        "SELECT name FROM label WHERE mbid = '6c6c3bbb-76aa-4260-b842-f04936573c71'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(name, "Abstract Logix");
    pool.close().await;
}
