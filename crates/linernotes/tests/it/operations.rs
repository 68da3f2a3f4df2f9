//! Operations: migrations, the command line, restarts and database outages.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use linernotes::store::{self, MIGRATOR};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpStream;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::bodies::*;
use crate::helpers::*;

/// Tables the migration creates (a sample: the first, the last and one in between).
const TABLES: [&str; 3] = ["entity", "raw_payload", "mbid_redirect"];

/// Whether each of [`TABLES`] exists in the database behind `pool`.
async fn tables_present(pool: &PgPool) -> Vec<bool> {
    let mut present = Vec::new();
    for table in TABLES {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(format!("public.{table}"))
            .fetch_one(pool)
            .await
            .expect("to_regclass");
        present.push(exists);
    }
    present
}

/// The `applied` flag of every embedded migration.
async fn applied_flags(pool: &PgPool) -> Vec<bool> {
    let status = store::migration_status(pool)
        .await
        .expect("migration status");
    assert!(!status.is_empty(), "there is at least one migration");
    status.iter().map(|m| m.applied).collect()
}

/// Mounts the artist lookup of [`ARTIST`] ("Ada Example") on the mock MusicBrainz.
async fn mount_artist(mock: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .mount(mock)
        .await;
}

/// The HTTP path of [`ARTIST`].
fn artist_path() -> String {
    format!("/v1/artists/musicbrainz:{ARTIST}")
}

/// Asserts an answer is `503 {"error": {"code": "UNAVAILABLE", …}}`.
fn assert_unavailable(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 503, "{what}: {body}");
    assert_eq!(body["error"]["code"], "UNAVAILABLE", "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

/// Applying, reverting everything and reapplying the migrations creates, removes and recreates the
/// schema, and the migration status follows each step.
#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::create().await;
    let pool = PgPool::connect(&db.url()).await.expect("connect");

    store::migrate_up(&pool).await.expect("migrate up");
    assert_eq!(tables_present(&pool).await, [true; 3]);
    assert!(applied_flags(&pool).await.iter().all(|a| *a));

    store::migrate_down(&pool, 0).await.expect("migrate down");
    assert_eq!(tables_present(&pool).await, [false; 3]);
    assert!(applied_flags(&pool).await.iter().all(|a| !*a));

    store::migrate_up(&pool).await.expect("migrate up again");
    assert_eq!(tables_present(&pool).await, [true; 3]);
    assert!(applied_flags(&pool).await.iter().all(|a| *a));
    pool.close().await;
}

/// Two instances migrating one fresh database at the same time both succeed (the migrator takes an
/// advisory lock), and the schema ends up applied exactly once.
#[tokio::test]
async fn concurrent_migrations_on_a_fresh_database_both_succeed() {
    let db = TestDatabase::create().await;
    let first = PgPool::connect(&db.url()).await.expect("connect");
    let second = PgPool::connect(&db.url()).await.expect("connect");

    let (a, b) = tokio::join!(store::migrate_up(&first), store::migrate_up(&second));
    a.expect("first instance migrates");
    b.expect("second instance migrates");

    assert_eq!(tables_present(&first).await, [true; 3]);
    assert!(applied_flags(&second).await.iter().all(|a| *a));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&first)
        .await
        .expect("count applied migrations");
    assert_eq!(
        rows,
        MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .count() as i64
    );
    first.close().await;
    second.close().await;
}

/// Several instances starting together on a database that does not exist yet all connect: one creates
/// it, the others find it created.
#[tokio::test]
async fn instances_starting_together_all_create_or_find_the_database() {
    let db = TestDatabase::reserve();
    let mock = MockServer::start().await;
    let settings = test_settings(&db.url(), &mock.uri());
    let connects = (0..4).map(|_| store::connect(&settings.database));
    for pool in futures::future::join_all(connects).await {
        pool.expect("every instance connects").close().await;
    }
}

/// Connecting to a database that does not exist yet creates it (`database.create_if_missing` is on
/// by default).
#[tokio::test]
async fn connecting_creates_a_missing_database() {
    let db = TestDatabase::reserve();
    let mock = MockServer::start().await;
    let settings = test_settings(&db.url(), &mock.uri());
    let exists = |name: String| async move {
        let mut admin = PgConnection::connect(&admin_url()).await.expect("admin");
        let found: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(name)
                .fetch_one(&mut admin)
                .await
                .expect("query pg_database");
        admin.close().await.expect("close admin");
        found
    };
    assert!(!exists(db.name.clone()).await, "reserved, not created yet");

    let pool = store::connect(&settings.database)
        .await
        .expect("connect creates the database");
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .expect("query the new database");
    assert_eq!(name, db.name);
    pool.close().await;

    assert!(exists(db.name.clone()).await, "the database now exists");
    // Dropping `db` drops the created database.
}

/// A private, empty working directory for one run of the binary (no `linernotes.yaml` in it).
struct WorkDir(PathBuf);

impl WorkDir {
    fn new() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("operations-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create work dir");
        Self(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the `linernotes` binary with `args` and exactly the given `LINERNOTES__…` variables (every
/// inherited `LINERNOTES…`, `DATABASE_URL` and `RUST_LOG` variable removed), in an empty directory.
fn linernotes(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = WorkDir::new();
    let mut command = crate::helpers::binary();
    command.args(args).current_dir(&dir.0);
    command.envs(env.iter().copied());
    command.output().expect("run the linernotes binary")
}

/// [`linernotes`] from async tests, off the runtime's threads.
async fn linernotes_async(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        linernotes(&args, &env)
    })
    .await
    .expect("binary runner")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `config check` prints the effective configuration as YAML (defaults included), shows the
/// database URL with its password redacted, and where the search index lives (a relative
/// `search.index_dir`, as the default `search`, under `data_dir`).
#[test]
fn config_check_prints_the_effective_configuration_without_the_password() {
    let out = linernotes(
        &["config", "check"],
        &[
            (
                "LINERNOTES__DATABASE__URL",
                "postgres://user:s3cret@127.0.0.1:5432/x",
            ),
            ("LINERNOTES__DATA_DIR", "/srv/linernotes"),
            ("LINERNOTES__SEARCH__INDEX_DIR", "search"),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("max_connections: 10"), "{stdout}");
    assert!(
        stdout.contains("postgres://user:***@127.0.0.1:5432/x"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("# Search index: /srv/linernotes/search\n"),
        "{stdout}"
    );
}

/// One run reports every problem: an unknown key (with the key it was probably meant to be), a value
/// of the wrong type, an out-of-range value and a log level that is no level.
#[test]
fn config_check_reports_every_problem_in_one_run() {
    let out = linernotes(
        &["config", "check"],
        &[
            ("LINERNOTES__DATABASE__MAX_CONECTIONS", "3"),
            ("LINERNOTES__DATABASE__MIN_CONNECTIONS", "-5"),
            ("LINERNOTES__SERVER__MAX_BODY_BYTES", "12"),
            ("LINERNOTES__LOGGING__LEVEL", "loud"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "database.max_conections: unknown key; did you mean database.max_connections?",
        "database.min_connections",
        "server.max_body_bytes",
        "logging.level",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
}

/// `config check` says where each value came from, and that `DATABASE_URL` lost to the file.
#[test]
fn config_check_names_each_source() {
    let dir = WorkDir::new();
    let file = dir.0.join("linernotes.yaml");
    std::fs::write(
        &file,
        "database:\n  url: \"postgres://localhost/from_file\"\n",
    )
    .expect("write config");
    let out = linernotes(
        &["--config", file.to_str().expect("path"), "config", "check"],
        &[
            ("DATABASE_URL", "postgres://localhost/from_env"),
            ("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:9999"),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("postgres://localhost/from_file"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("#   database.url: {}", file.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("#   server.http_addr: environment variable LINERNOTES__SERVER__HTTP_ADDR"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DATABASE_URL is set but not used"),
        "{stdout}"
    );
}

/// `config check` with invalid values exits 2 and names every invalid key.
#[test]
fn config_check_rejects_invalid_values_naming_each_key() {
    let out = linernotes(
        &["config", "check"],
        &[
            ("LINERNOTES__DATABASE__MIN_CONNECTIONS", "99"),
            ("LINERNOTES__LOGGING__FORMAT", "xml"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("database.min_connections"), "{stderr}");
    assert!(stderr.contains("logging.format"), "{stderr}");
}

/// `serve` with an unreachable database exits 2 with one line naming the server (password redacted),
/// not a panic.
#[tokio::test]
async fn serve_with_an_unreachable_database_exits_2_with_one_redacted_line() {
    let out = linernotes_async(
        &["serve"],
        &[
            (
                "LINERNOTES__DATABASE__URL",
                "postgres://user:s3cret@127.0.0.1:1/x",
            ),
            ("LINERNOTES__DATABASE__CONNECT_TIMEOUT_SECS", "3"),
            // A configured contact keeps the placeholder warning out of the log on standard error.
            (
                "LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT",
                "tests@linernotes.invalid",
            ),
            ("LINERNOTES__SERVER__GRPC_ADDR", "127.0.0.1:0"),
            ("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:0"),
        ],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(
        !stderr.contains("s3cret") && !stdout.contains("s3cret"),
        "{stdout}{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `migrate status` and `migrate down` never create a missing database; status lists every migration as
/// pending.
#[tokio::test]
async fn migrate_status_and_down_do_not_create_the_database() {
    let db = TestDatabase::reserve();
    let env = [("LINERNOTES__DATABASE__URL", db.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let status = linernotes_async(&["migrate", "status"], &env).await;
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let stdout = text(&status.stdout);
    assert!(stdout.contains("does not exist yet"), "{stdout}");
    assert!(stdout.contains("pending"), "{stdout}");
    let down = linernotes_async(&["migrate", "down"], &env).await;
    assert_ne!(down.status.code(), Some(0));
    let mut admin = PgConnection::connect(&admin_url()).await.expect("admin");
    let created: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&db.name)
            .fetch_one(&mut admin)
            .await
            .expect("query pg_database");
    assert!(!created, "neither command created the database");
}

/// `migrate down` refuses what it cannot mean (a version that is no migration, a target above the
/// newest applied one, nothing applied) and reverts only when confirmed with --yes; its output is
/// what it did, without log lines or colour codes.
#[tokio::test]
async fn migrate_down_refuses_nonsense_and_asks_before_dropping_data() {
    let db = TestDatabase::create().await;
    let env = [("LINERNOTES__DATABASE__URL", db.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let up = linernotes_async(&["migrate", "up"], &env).await;
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert_eq!(text(&up.stdout), "migrations applied\n");
    assert!(
        !text(&up.stderr).contains('\u{1b}'),
        "no colour codes when not a terminal"
    );

    for (args, expected) in [
        (
            vec!["migrate", "down", "--to", "7"],
            "is not a migration version",
        ),
        (
            vec!["migrate", "down", "--to", "99999999999999"],
            "is not a migration version",
        ),
        (vec!["migrate", "down", "--to", "0"], "confirm with --yes"),
    ] {
        let out = linernotes_async(&args, &env).await;
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let pool = PgPool::connect(&db.url()).await.expect("connect");
    assert!(
        applied_flags(&pool).await.iter().all(|a| *a),
        "nothing reverted"
    );

    let down = linernotes_async(&["migrate", "down", "--to", "0", "--yes"], &env).await;
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    assert!(
        applied_flags(&pool).await.iter().all(|a| !*a),
        "all reverted"
    );
    let again = linernotes_async(&["migrate", "down", "--yes"], &env).await;
    assert!(
        text(&again.stderr).contains("nothing to revert"),
        "{}",
        text(&again.stderr)
    );
    pool.close().await;
}

/// `serve` with a malformed database URL exits 2 with a message naming `database.url`.
#[test]
fn serve_with_a_malformed_database_url_names_the_key() {
    let out = linernotes(
        &["serve"],
        &[
            ("LINERNOTES__DATABASE__URL", "notaurl"),
            ("LINERNOTES__SERVER__GRPC_ADDR", "127.0.0.1:0"),
            ("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:0"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("database.url"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `migrate status` lists every migration as pending on a fresh database; `migrate up` applies them
/// and `migrate status` then lists them as applied.
#[tokio::test]
async fn migrate_commands_report_and_apply_migrations() {
    let db = TestDatabase::create().await;
    let url = db.url();
    let env = [("LINERNOTES__DATABASE__URL", url.as_str())];
    let versions: Vec<String> = MIGRATOR
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| m.version.to_string())
        .collect();
    assert!(!versions.is_empty());
    let lines_with = |stdout: &str, state: &str| -> usize {
        versions
            .iter()
            .filter(|v| {
                stdout
                    .lines()
                    .any(|l| l.contains(v.as_str()) && l.split_whitespace().any(|w| w == state))
            })
            .count()
    };

    let out = linernotes_async(&["migrate", "status"], &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(lines_with(&stdout, "pending"), versions.len(), "{stdout}");

    let out = linernotes_async(&["migrate", "up"], &env).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let out = linernotes_async(&["migrate", "status"], &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(lines_with(&stdout, "applied"), versions.len(), "{stdout}");
    assert_eq!(lines_with(&stdout, "pending"), 0, "{stdout}");
}

/// After a restart on the same database, a stored artist is answered from the database without
/// asking MusicBrainz again.
#[tokio::test]
async fn a_restart_keeps_stored_metadata() {
    let app = TestApp::spawn().await;
    mount_artist(&app.mock).await;
    let (status, first) = app.get(&artist_path()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["name"], "Ada Example", "{first}");
    assert_eq!(app.upstream_calls().await, 1);

    let (db, mock) = app.stop().await;
    mock.reset().await;
    let app = TestApp::spawn_with(TestOptions {
        database: Some(db),
        mock: Some(mock),
        ..Default::default()
    })
    .await;
    let (status, second) = app.get(&artist_path()).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["name"], "Ada Example", "{second}");
    assert_eq!(second["id"], first["id"], "{second}");
    assert_eq!(app.upstream_calls().await, 0, "answered from the database");
}

/// When the database goes away while serving, hot-cache hits still answer, everything else answers
/// 503 UNAVAILABLE (and `/readyz` too); when it comes back, requests succeed again without a restart.
#[tokio::test]
async fn a_database_outage_answers_503_and_recovers_without_restart() {
    let admin = url::Url::parse(&admin_url()).expect("admin URL");
    let upstream = format!(
        "{}:{}",
        admin.host_str().expect("admin URL has a host"),
        admin.port().unwrap_or(5432)
    );
    let proxy = TcpProxy::start(upstream).await;
    let db = Arc::new(TestDatabase::create().await);
    let mut proxied = url::Url::parse(&db.url()).expect("database URL");
    proxied.set_host(Some("127.0.0.1")).expect("host");
    proxied.set_port(Some(proxy.addr.port())).expect("port");
    let proxied = proxied.to_string();
    let app = TestApp::spawn_with(TestOptions {
        database: Some(db),
        configure: Some(Box::new(move |s| {
            s.database.url = Some(SecretString::from(proxied));
            s.database.acquire_timeout_secs = 1;
        })),
        ..Default::default()
    })
    .await;
    mount_artist(&app.mock).await;

    let (status, body) = app.get(&artist_path()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.get("/readyz").await.0, 200);

    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{GUEST}")))
        .respond_with(json_response(&artist(GUEST, "The Guest")))
        .mount(&app.mock)
        .await;
    let guest_path = format!("/v1/artists/musicbrainz:{GUEST}");

    proxy.set_down(true);
    let (status, body) = app.get(&artist_path()).await;
    assert_eq!(
        status, 200,
        "a hot-cache hit answers without the database: {body}"
    );
    assert_eq!(body["name"], "Ada Example");
    assert_unavailable("uncached artist while down", &app.get(&guest_path).await);
    assert_unavailable("readyz while down", &app.get("/readyz").await);
    assert_unavailable("uncached artist still down", &app.get(&guest_path).await);

    proxy.set_down(false);
    let (status, body) = app.get(&guest_path).await;
    assert_eq!(status, 200, "after recovery: {body}");
    assert_eq!(body["name"], "The Guest", "{body}");
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "readyz after recovery: {body}");
    assert_eq!(
        app.upstream_calls().await,
        2,
        "nothing was fetched while the database was down"
    );
}

/// Stopping the app ends its server task cleanly after serving, and its port then refuses
/// connections.
#[tokio::test]
async fn graceful_shutdown_stops_serving() {
    let app = TestApp::spawn().await;
    mount_artist(&app.mock).await;
    let (status, body) = app.get(&artist_path()).await;
    assert_eq!(status, 200, "{body}");
    let http: SocketAddr = app
        .http
        .trim_start_matches("http://")
        .parse()
        .expect("HTTP address");
    let grpc = app.grpc_addr;

    // `stop` panics if the server task panicked; the timeout only turns a hang into a failure.
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("the server stops");

    assert!(
        TcpStream::connect(http).await.is_err(),
        "HTTP port still accepts connections"
    );
    assert!(
        TcpStream::connect(grpc).await.is_err(),
        "gRPC port still accepts connections"
    );
}
