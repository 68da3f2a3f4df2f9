//! Test harness: a fresh database per test, a mock MusicBrainz, a running linernotes on port 0, and
//! the `linernotes` binary run against a test's database.
//!
//! Tests talk to the real PostgreSQL on the machine (`LINERNOTES_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, the maintenance database used to create and drop the
//! per-test databases). MusicBrainz is a wiremock server; the real client code runs unchanged.
//!
//! [`auth`] (re-exported here) registers users, logs them in and creates admins.

mod auth;
mod browser;

pub use auth::*;
pub use browser::Browser;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;

use linernotes::grpc::pb::metadata_service_client::MetadataServiceClient;
use linernotes::service::{AccountService, MetadataService};
use linernotes::support::{Clock, ManualClock, SystemClock};
use linernotes::{Application, Settings};
use serde_json::Value;
use sqlx::{Connection, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use wiremock::{MockServer, ResponseTemplate};

/// The maintenance database URL used to create and drop per-test databases.
pub fn admin_url() -> String {
    std::env::var("LINERNOTES_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A URL of the same server naming another database.
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&admin_url()).expect("LINERNOTES_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A database that exists for one test and is dropped (forcibly) when this value is dropped.
pub struct TestDatabase {
    /// Its name.
    pub name: String,
}

impl TestDatabase {
    /// A new, empty, uniquely named database.
    pub async fn create() -> Self {
        let name = format!("linernotes_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url())
            .await
            .expect("PostgreSQL must be running for the tests (see README)");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .expect("create test database");
        Self { name }
    }

    /// A name for a database that does not exist yet (linernotes is expected to create it).
    pub fn reserve() -> Self {
        Self {
            name: format!("linernotes_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        database_url(&self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a separate thread with its own runtime does the async work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url()).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            });
        })
        .join();
    }
}

/// Settings for a test: ports 0, the given database and mock provider, fast retries, a fast limiter.
pub fn test_settings(database_url: &str, provider_url: &str) -> Settings {
    let env: BTreeMap<String, String> = [
        ("LINERNOTES__SERVER__GRPC_ADDR", "127.0.0.1:0"),
        ("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:0"),
        ("LINERNOTES__DATABASE__URL", database_url),
        ("LINERNOTES__DATABASE__MIN_CONNECTIONS", "0"),
        ("LINERNOTES__DATABASE__MAX_CONNECTIONS", "5"),
        ("LINERNOTES__DATABASE__ACQUIRE_TIMEOUT_SECS", "2"),
        (
            "LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL",
            &format!("{provider_url}/ws/2"),
        ),
        (
            "LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT",
            "tests@linernotes.invalid",
        ),
        (
            "LINERNOTES__PROVIDERS__MUSICBRAINZ__REQUESTS_PER_SECOND",
            "1000",
        ),
        (
            "LINERNOTES__PROVIDERS__MUSICBRAINZ__RETRY_BASE_DELAY_MS",
            "1",
        ),
        ("LINERNOTES__PROVIDERS__MUSICBRAINZ__TIMEOUT_MS", "5000"),
        // The enrichers are off unless a test turns them on ([`enable_enricher`]), so the mock
        // MusicBrainz sees only MusicBrainz requests.
        ("LINERNOTES__PROVIDERS__COVERARTARCHIVE__ENABLED", "false"),
        ("LINERNOTES__PROVIDERS__WIKIDATA__ENABLED", "false"),
        ("LINERNOTES__PROVIDERS__WIKIPEDIA__ENABLED", "false"),
        ("LINERNOTES__PROVIDERS__DEEZER__ENABLED", "false"),
        ("LINERNOTES__PROVIDERS__ITUNES__ENABLED", "false"),
        ("LINERNOTES__PROVIDERS__LRCLIB__ENABLED", "false"),
        // Accounts: a cheap Argon2id cost keeps the many hashes of the tests fast.
        ("LINERNOTES__AUTH__ARGON2__MEMORY_KIB", "64"),
        ("LINERNOTES__AUTH__ARGON2__ITERATIONS", "1"),
        // Each test's search index lives in memory (an on-disk one is per instance and folder).
        ("LINERNOTES__SEARCH__INDEX_DIR", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Settings::load_from(None, &env).expect("test settings are valid")
}

/// A running linernotes with its own database and mock MusicBrainz.
pub struct TestApp {
    /// The mock MusicBrainz (base URL `<uri>/ws/2`).
    pub mock: MockServer,
    /// HTTP base URL, e.g. `http://127.0.0.1:41234`.
    pub http: String,
    /// gRPC address.
    pub grpc_addr: SocketAddr,
    /// The service, to wait on background work.
    pub metadata: MetadataService,
    /// The accounts service (its purge job is run directly by tests).
    pub accounts: AccountService,
    /// A client for the HTTP API.
    pub client: reqwest::Client,
    /// The clock the app reads, when the test controls time.
    pub clock: Option<Arc<ManualClock>>,
    /// The database; dropped after the app stops.
    pub database: Arc<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// A change to the settings before the app starts.
pub type Configure = Box<dyn FnOnce(&mut Settings)>;

/// How to start a [`TestApp`].
#[derive(Default)]
pub struct TestOptions {
    /// Use a manual clock starting now.
    pub manual_clock: bool,
    /// Reuse this database (restart scenarios) instead of a new one.
    pub database: Option<Arc<TestDatabase>>,
    /// Reuse this mock server.
    pub mock: Option<MockServer>,
    /// Adjust settings before start.
    pub configure: Option<Configure>,
}

impl TestApp {
    /// Starts with a new database, a new mock and the system clock.
    pub async fn spawn() -> Self {
        Self::spawn_with(TestOptions::default()).await
    }

    /// Starts with a new database, a new mock and a manual clock starting now.
    pub async fn spawn_with_clock() -> Self {
        Self::spawn_with(TestOptions {
            manual_clock: true,
            ..TestOptions::default()
        })
        .await
    }

    /// Starts with options.
    pub async fn spawn_with(options: TestOptions) -> Self {
        let database = match options.database {
            Some(db) => db,
            None => Arc::new(TestDatabase::create().await),
        };
        let mock = match options.mock {
            Some(mock) => mock,
            None => MockServer::start().await,
        };
        let mut settings = test_settings(&database.url(), &mock.uri());
        if let Some(configure) = options.configure {
            configure(&mut settings);
        }
        let manual = options
            .manual_clock
            .then(|| Arc::new(ManualClock::new(chrono::Utc::now())));
        let clock: Arc<dyn Clock> = match &manual {
            Some(clock) => clock.clone(),
            None => Arc::new(SystemClock),
        };
        let app = Application::build_with_clock(settings, clock)
            .await
            .expect("application starts");
        let http = format!("http://{}", app.http_addr());
        let grpc_addr = app.grpc_addr();
        let metadata = app.metadata().clone();
        let accounts = app.accounts().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            mock,
            http,
            grpc_addr,
            metadata,
            accounts,
            client: reqwest::Client::new(),
            clock: manual,
            database,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// GETs a path of the HTTP API; returns status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.http))
            .send()
            .await
            .expect("HTTP request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Sends a request to the HTTP API with an optional JSON body and bearer token; returns status,
    /// headers and JSON body (`Null` when the body is empty or not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.http))
            .header("user-agent", "linernotes-tests/1.0");
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, headers, body)
    }

    /// POSTs a JSON body; returns status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::POST, path, Some(body), None)
            .await;
        (status, body)
    }

    /// POSTs a JSON body with a bearer token.
    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::POST, path, Some(body), Some(token))
            .await;
        (status, body)
    }

    /// GETs with a bearer token.
    pub async fn get_auth(&self, path: &str, token: &str) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::GET, path, None, Some(token))
            .await;
        (status, body)
    }

    /// PATCHes a JSON body with a bearer token.
    pub async fn patch_auth(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::PATCH, path, Some(body), Some(token))
            .await;
        (status, body)
    }

    /// PUTs (with an optional JSON body) with a bearer token.
    pub async fn put_auth(&self, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::PUT, path, body, Some(token))
            .await;
        (status, body)
    }

    /// DELETEs (with an optional JSON body) with a bearer token.
    pub async fn delete_auth(&self, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
        let (status, _, body) = self
            .send(reqwest::Method::DELETE, path, body, Some(token))
            .await;
        (status, body)
    }

    /// A pool on the test's database, for assertions on stored rows.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.database.url())
            .await
            .expect("connect to the test database")
    }

    /// A gRPC client of the metadata service.
    pub async fn grpc(&self) -> MetadataServiceClient<Channel> {
        MetadataServiceClient::connect(format!("http://{}", self.grpc_addr))
            .await
            .expect("gRPC connects")
    }

    /// A raw gRPC channel (for health and reflection clients).
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.grpc_addr))
            .expect("address")
            .connect()
            .await
            .expect("gRPC connects")
    }

    /// Waits until the app's background work (fetches past their deadline, refreshes, enrichments)
    /// has finished: what a read answers afterwards no longer depends on how far that work got. Fails
    /// the test when the work is still running after a minute (something hangs; nothing that slow
    /// is expected of a mock).
    pub async fn settled(&self) {
        let background = self.metadata.background();
        if tokio::time::timeout(std::time::Duration::from_secs(60), background.idle())
            .await
            .is_err()
        {
            panic!(
                "{} background tasks still running after a minute",
                background.running()
            );
        }
    }

    /// Reads `path` (starting its enrichment), waits until the background work has [settled], and
    /// answers the second read, which includes what the enrichers found. Both reads must be 200.
    ///
    /// [settled]: TestApp::settled
    pub async fn read_settled(&self, path: &str) -> Value {
        let (status, first) = self.get(path).await;
        assert_eq!(status, 200, "{first}");
        self.settled().await;
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// How many requests the mock MusicBrainz received.
    pub async fn upstream_calls(&self) -> usize {
        self.mock.received_requests().await.map_or(0, |r| r.len())
    }

    /// Stops the server gracefully and waits for it; returns the database and mock for a restart.
    pub async fn stop(mut self) -> (Arc<TestDatabase>, MockServer) {
        self.shutdown_and_wait().await;
        let mock = std::mem::replace(&mut self.mock, MockServer::start().await);
        (self.database.clone(), mock)
    }

    async fn shutdown_and_wait(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task ends cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Asserts an HTTP error answer's status and code.
pub fn assert_error(what: &str, (status, body): &(u16, Value), want_status: u16, want_code: &str) {
    assert_eq!(*status, want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

/// The `linernotes` binary, with every inherited `LINERNOTES…`, `DATABASE_URL` and `RUST_LOG` variable
/// removed, so a test gives it exactly the configuration it means to.
pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_linernotes"));
    for (key, _) in std::env::vars() {
        if key.starts_with("LINERNOTES") || key == "DATABASE_URL" || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    // Its search index lives in memory unless the test says otherwise: an on-disk one would sit
    // under the account's data_dir, shared by every test (and any real instance).
    command.env("LINERNOTES__SEARCH__INDEX_DIR", "");
    command
}

/// Runs the `linernotes` binary against a test app's database (movable to a blocking thread).
pub struct CliTarget {
    /// The database the binary is pointed at.
    pub database: Arc<TestDatabase>,
}

impl CliTarget {
    /// Runs with `args`, feeding `stdin`; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut command = binary();
        command.args(args).current_dir(std::env::temp_dir());
        command
            .env("LINERNOTES__DATABASE__URL", self.database.url())
            .env("LINERNOTES__AUTH__ARGON2__MEMORY_KIB", "64")
            .env("LINERNOTES__AUTH__ARGON2__ITERATIONS", "1")
            .env("LINERNOTES__LOGGING__LEVEL", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run the linernotes binary");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("binary output");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A JSON response in MusicBrainz's content type.
/// Asserts that `arrivals` (sorted) were paced by a limiter releasing one request per `period`: the
/// k-th arrives at least k-1 periods after the first. A request held up on its way to the mock can
/// make two arrivals look closer than the limiter let them go; one period of slack absorbs that, while
/// unpaced requests, which arrive together, still fail.
pub fn assert_paced(arrivals: &[std::time::Instant], period: std::time::Duration) {
    for (k, at) in arrivals.iter().enumerate().skip(1) {
        let since_first = *at - arrivals[0];
        let least = period * u32::try_from(k - 1).unwrap_or(u32::MAX);
        assert!(
            since_first >= least,
            "request {k} arrived {since_first:?} after the first; a limiter of one per {period:?} \
             lets it go no sooner than {least:?}"
        );
    }
}

pub fn json_response(body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(body.to_string())
}

/// Mounts a MusicBrainz lookup answer for `/ws/2/<entity>/<mbid>` on the app's mock.
pub async fn mount_lookup(app: &TestApp, entity: &str, mbid: &str, body: Value) {
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(format!("/ws/2/{entity}/{mbid}")))
        .respond_with(json_response(&body))
        .mount(&app.mock)
        .await;
}

/// A MusicBrainz error response.
pub fn error_response(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/json; charset=utf-8")
        .set_body_string(
            serde_json::json!({"error": message, "help": "For usage, please see: https://musicbrainz.org/development/mmd"})
                .to_string(),
        )
}

/// A TCP proxy in front of a server (PostgreSQL, Redis) that can be switched off: while down, it cuts every proxied
/// connection and closes new ones at once. Dropping it cuts everything.
pub struct TcpProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    down: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (down, rx) = watch::channel(false);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if *rx.borrow() {
                    drop(client);
                    continue;
                }
                let mut rx = rx.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let mut client = client;
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        // Down, or the proxy is gone: both sockets are dropped here.
                        _ = rx.wait_for(|down| *down) => {}
                    }
                });
            }
        });
        Self { addr, down, accept }
    }

    /// Takes the upstream "down" (drops every connection, refuses new ones) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.send_replace(down);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set_down(true);
    }
}

/// The Redis the tests use (`LINERNOTES_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
pub fn redis_url() -> String {
    std::env::var("LINERNOTES_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key namespace of its own for one test, so tests sharing the Redis never see each other's keys.
pub fn redis_namespace() -> String {
    format!("lntest{}", uuid::Uuid::new_v4().simple())
}
