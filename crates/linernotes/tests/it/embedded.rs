//! The built-in PostgreSQL: `serve` with no database configured, from an empty data directory through
//! restarts, `kill -9` and a server that dies under linernotes; a build downloaded once when the
//! machine has no server binaries (served from a local mock, made from the machine's own binaries);
//! and the refusals that name their fix.
//!
//! Initialising a cluster costs seconds, so one test walks a single data directory through its whole
//! life; the refusals start no server at all.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use linernotes::store::embedded::{BinarySearch, Claim, EmbeddedServer, Layout};
use linernotes::Settings;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sqlx::{Connection, PgConnection};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

/// A data directory for one test, short enough for the server's socket path; on drop, any server
/// still running on it is stopped at once and the directory removed.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "db-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        Self(dir)
    }

    fn layout(&self) -> Layout {
        Layout::new(&self.0)
    }

    /// The pid in the cluster's `postmaster.pid`, while that file exists.
    fn postmaster_pid(&self) -> Option<Pid> {
        std::fs::read_to_string(self.layout().cluster.join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
            .map(Pid::from_raw)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid() {
            let _ = kill(pid, Signal::SIGQUIT);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether a process is alive (zombies count as gone).
fn alive(pid: Pid) -> bool {
    kill(pid, None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw()))
            .unwrap_or_default()
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// `linernotes serve` running as a child process with no database configured.
struct Serve {
    child: Child,
    http: String,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    /// Starts `serve` on `data_dir` against the mock MusicBrainz; waits until it listens, or returns
    /// its exit status and log when it ends first.
    fn start(data_dir: &Path, mock: &MockServer) -> Result<Self, (Option<i32>, String)> {
        Self::start_with(data_dir, mock, &[])
    }

    /// Like [`Serve::start`], with extra environment variables.
    fn start_with(
        data_dir: &Path,
        mock: &MockServer,
        extra: &[(&str, String)],
    ) -> Result<Self, (Option<i32>, String)> {
        let mut command = binary();
        command.envs(extra.iter().map(|(k, v)| (k, v)));
        command
            .arg("serve")
            .current_dir(data_dir.parent().expect("parent"))
            .env("LINERNOTES__DATA_DIR", data_dir)
            // The working folder is shared by every test: keep each server's search index in memory.
            .env("LINERNOTES__SEARCH__INDEX_DIR", "")
            .env("LINERNOTES__SERVER__GRPC_ADDR", "127.0.0.1:0")
            .env("LINERNOTES__SERVER__HTTP_ADDR", "127.0.0.1:0")
            .env(
                "LINERNOTES__PROVIDERS__MUSICBRAINZ__BASE_URL",
                format!("{}/ws/2", mock.uri()),
            )
            .env(
                "LINERNOTES__PROVIDERS__MUSICBRAINZ__CONTACT",
                "tests@linernotes.invalid",
            )
            .env("LINERNOTES__LOGGING__LEVEL", "info")
            // Only the mock is reached: the enrichers, which would call the internet, stay off.
            .envs(
                [
                    "COVERARTARCHIVE",
                    "WIKIDATA",
                    "WIKIPEDIA",
                    "DEEZER",
                    "ITUNES",
                    "LRCLIB",
                ]
                .map(|provider| {
                    (
                        format!("LINERNOTES__PROVIDERS__{provider}__ENABLED"),
                        "false",
                    )
                }),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("run linernotes serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(http) = line.split("http=").nth(1) {
                    let _ = tx.send(http.trim().to_owned());
                }
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        match rx.recv() {
            Ok(http) => Ok(Self {
                child,
                http: format!("http://{http}"),
                log,
                reader: Some(reader),
            }),
            Err(_) => {
                let status = child.wait().expect("wait").code();
                let _ = reader.join();
                let log = log.lock().expect("log").clone();
                Err((status, log))
            }
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("pid"))
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(format!("{}{path}", self.http))
            .await
            .expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// Waits for the process to end; its exit code and log.
    async fn wait(mut self) -> (Option<i32>, String) {
        let log = self.log.clone();
        let reader = self.reader.take();
        let status = tokio::task::spawn_blocking(move || {
            let status = self.child.wait().expect("wait");
            if let Some(reader) = reader {
                let _ = reader.join();
            }
            status
        })
        .await
        .expect("waiter");
        let log = log.lock().expect("log").clone();
        (status.code(), log)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cluster's system identifier, which a new initialisation would change.
async fn system_identifier(connection: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT system_identifier FROM pg_control_system()")
        .fetch_one(connection)
        .await
        .expect("system identifier")
}

/// A mock MusicBrainz that knows one artist, `ARTIST` ("Ada Example").
async fn mock_knowing_ada() -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/artist/{ARTIST}")))
        .respond_with(json_response(&artist(ARTIST, "Ada Example")))
        .mount(&mock)
        .await;
    mock
}

/// From an empty directory to a running service (backed up by a one-shot command while it serves), and
/// on through a refused second instance, `kill -9`
/// of linernotes and its server (every committed row back, no new initialisation), a server dying
/// under linernotes (linernotes exits non-zero) and a clean stop that leaves no server behind.
#[tokio::test]
async fn embedded_database_lives_through_restarts_crashes_and_a_clean_stop() {
    let dir = DataDir::new();
    let mock = mock_knowing_ada().await;
    let artist_path = format!("/v1/artists/musicbrainz:{ARTIST}");

    // First start: the cluster is initialised, the service answers and stores a lookup.
    let first = Serve::start(&dir.0, &mock).expect("serve starts on an empty data directory");
    assert_eq!(first.get("/readyz").await.0, 200);
    let (status, body) = first.get(&artist_path).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (200, Some("Ada Example")),
        "{body}"
    );
    let (_, status_body) = first.get("/v1/status").await;
    assert_eq!(
        status_body["database_setup"]["mode"], "embedded",
        "{status_body}"
    );
    assert_eq!(
        status_body["database_setup"]["data_dir"],
        dir.0.display().to_string()
    );
    let layout = dir.layout();
    let mut connection = PgConnection::connect(&layout.url())
        .await
        .expect("connect through the private socket");
    let identifier = system_identifier(&mut connection).await;
    sqlx::query("CREATE TABLE committed_rows (n int PRIMARY KEY)")
        .execute(&mut connection)
        .await
        .expect("create table");
    for n in 0..100 {
        sqlx::query("INSERT INTO committed_rows VALUES ($1)")
            .bind(n)
            .execute(&mut connection)
            .await
            .expect("commit one row");
    }
    drop(connection);

    // One-shot commands use the running instance's server: a backup while it serves.
    let backup_file = dir.0.with_extension("lnbackup");
    let out = binary()
        .args(["backup", "--to", backup_file.to_str().expect("path")])
        .env("LINERNOTES__DATA_DIR", &dir.0)
        .output()
        .expect("run linernotes backup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backed up"), "{stdout}");
    let _ = std::fs::remove_file(&backup_file);

    // A second instance on the same directory is refused with the holder's pid.
    let (code, log) = match Serve::start(&dir.0, &mock) {
        Ok(_) => panic!("a second instance on one data directory must be refused"),
        Err(refused) => refused,
    };
    assert_eq!(code, Some(2), "{log}");
    let holder = format!("in use by another linernotes (pid {}", first.child.id());
    assert!(log.contains(&holder), "{log}");

    // kill -9 of linernotes and of its server.
    let postmaster = dir.postmaster_pid().expect("the server runs");
    kill(first.pid(), Signal::SIGKILL).expect("kill linernotes");
    kill(postmaster, Signal::SIGKILL).expect("kill the server");
    drop(first);

    // The next start recovers: every committed row, the stored lookup, the same cluster.
    let second = Serve::start(&dir.0, &mock).expect("serve starts after kill -9");
    assert_eq!(second.get("/readyz").await.0, 200);
    let (status, body) = second.get(&artist_path).await;
    assert_eq!(
        (status, body["name"].as_str()),
        (200, Some("Ada Example")),
        "{body}"
    );
    assert_eq!(
        mock.received_requests().await.map_or(0, |r| r.len()),
        1,
        "the lookup was answered from the stored copy"
    );
    let mut connection = PgConnection::connect(&layout.url()).await.expect("connect");
    assert_eq!(
        system_identifier(&mut connection).await,
        identifier,
        "no new initdb"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM committed_rows")
        .fetch_one(&mut connection)
        .await
        .expect("count");
    assert_eq!(rows, 100, "every committed row survived kill -9");
    drop(connection);

    // The server dies under linernotes: linernotes exits non-zero, saying so.
    let postmaster = dir.postmaster_pid().expect("the server runs");
    kill(postmaster, Signal::SIGKILL).expect("kill the server");
    let (code, log) = second.wait().await;
    assert!(code.is_some_and(|c| c != 0), "exit code {code:?}: {log}");
    assert!(log.contains("stopped unexpectedly"), "{log}");

    // A clean stop leaves no server behind.
    let third = Serve::start(&dir.0, &mock).expect("serve starts again");
    assert_eq!(third.get("/readyz").await.0, 200);
    let postmaster = dir.postmaster_pid().expect("the server runs");
    kill(third.pid(), Signal::SIGTERM).expect("SIGTERM");
    let (code, log) = third.wait().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("initialising"),
        "the cluster was reused: {log}"
    );
    assert!(!alive(postmaster), "the server stopped with linernotes");
    assert!(
        dir.postmaster_pid().is_none(),
        "the server shut down cleanly"
    );
}

/// Settings for the built-in database on `data_dir`, with extra `LINERNOTES__…` variables.
fn embedded_settings(data_dir: &Path, extra: &[(&str, &str)]) -> Settings {
    let mut env: std::collections::BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert(
        "LINERNOTES__DATA_DIR".into(),
        data_dir.display().to_string(),
    );
    Settings::load_from(None, &env).expect("valid settings")
}

async fn refusal(settings: &Settings) -> String {
    match EmbeddedServer::start(settings, Claim::Exclusive).await {
        Ok(server) => {
            server.stop().await;
            panic!("the built-in database should have refused to start")
        }
        Err(err) => err.to_string(),
    }
}

/// A socket path too long, an unknown account, a cluster of another major version and a binaries
/// folder without binaries each stop the start with a message naming the fix, before any server runs.
#[tokio::test]
async fn embedded_database_refusals_name_their_fix() {
    let base = DataDir::new();
    let long = base.0.join("x".repeat(100));
    let message = refusal(&embedded_settings(&long, &[])).await;
    assert!(
        message.contains("set data_dir to a shorter path"),
        "{message}"
    );

    let message = refusal(&embedded_settings(
        &base.0.join("a"),
        &[(
            "LINERNOTES__DATABASE__EMBEDDED__RUN_AS",
            "no-such-account-here",
        )],
    ))
    .await;
    if nix::unistd::geteuid().is_root() {
        assert!(
            message.contains("'no-such-account-here', which is no account"),
            "{message}"
        );
    } else {
        assert!(
            message.contains("only root can run the server as another"),
            "{message}"
        );
    }

    let old = base.0.join("b");
    std::fs::create_dir_all(old.join("postgresql")).expect("create cluster dir");
    std::fs::write(old.join("postgresql/PG_VERSION"), "14\n").expect("write PG_VERSION");
    let message = refusal(&embedded_settings(&old, &[])).await;
    assert!(message.contains("created by PostgreSQL 14"), "{message}");
    assert!(
        message.contains("pg_upgrade") && message.contains("linernotes backup"),
        "{message}"
    );

    let empty = base.0.join("no-binaries");
    std::fs::create_dir_all(&empty).expect("create empty folder");
    let message = refusal(&embedded_settings(
        &base.0.join("c"),
        &[(
            "LINERNOTES__DATABASE__EMBEDDED__BIN_DIR",
            empty.to_str().expect("path"),
        )],
    ))
    .await;
    assert!(message.contains("database.embedded.bin_dir"), "{message}");
    assert!(
        !base.0.join("c/postgresql").exists(),
        "nothing was initialised"
    );
}

/// A relocatable build made of the machine's own server binaries: a `.tar.gz` holding one folder with
/// `bin/` and `lib/` (the loadable modules, without LLVM bitcode) as the published builds are laid
/// out, and its SHA-256. (The machine's build finds its `share/` files at the path it was compiled
/// with, where a published build finds them beside `bin/`.)
fn archive_of_machine_binaries() -> (Vec<u8>, String) {
    use flate2::write::GzEncoder;
    use sha2::Digest;
    let machine = BinarySearch::of_this_machine(None, true, Path::new("/nonexistent"))
        .locate(None)
        .expect("the tests need the machine's PostgreSQL server binaries");
    // The folder postgres really lives in (a PATH folder may only link it).
    let postgres = std::fs::canonicalize(machine.program("postgres")).expect("postgres");
    let bin = postgres.parent().expect("bin folder");
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    tar.follow_symlinks(false);
    tar.append_dir_all("postgresql-test/bin", bin)
        .expect("archive bin/");
    let lib = bin.with_file_name("lib");
    for entry in std::fs::read_dir(&lib).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".so") && entry.path().is_file() {
            tar.append_path_with_name(entry.path(), format!("postgresql-test/lib/{name}"))
                .expect("archive a module");
        }
    }
    let bytes = tar
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip");
    let sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));
    (bytes, sha256)
}

/// Serves `archive` at `/builds/pg.tar.gz` on `mock`, with `checksum` at `/builds/pg.tar.gz.sha256`
/// in `sha256sum`'s shape; the archive's URL.
async fn serve_build(mock: &MockServer, archive: Vec<u8>, checksum: &str) -> String {
    Mock::given(method("GET"))
        .and(path("/builds/pg.tar.gz"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/gzip")
                .set_body_bytes(archive),
        )
        .mount(mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/builds/pg.tar.gz.sha256"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("{checksum}  pg.tar.gz\n")),
        )
        .mount(mock)
        .await;
    format!("{}/builds/pg.tar.gz", mock.uri())
}

/// How many times the archive itself was fetched.
async fn archive_downloads(mock: &MockServer) -> usize {
    mock.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == "/builds/pg.tar.gz")
        .count()
}

/// With the machine's binaries out of the search, `serve` downloads the build, verifies it, unpacks
/// it under `data_dir/pgsql`, starts on it and answers a lookup; the next start uses the unpacked
/// build without downloading again.
#[tokio::test]
async fn without_server_binaries_a_build_is_downloaded_once_and_used() {
    let dir = DataDir::new();
    let mock = mock_knowing_ada().await;
    let (archive, sha256) = tokio::task::spawn_blocking(archive_of_machine_binaries)
        .await
        .expect("build the archive");
    let url = serve_build(&mock, archive, &sha256).await;
    let env = [
        (
            "LINERNOTES__DATABASE__EMBEDDED__SYSTEM_BINARIES",
            "false".to_owned(),
        ),
        ("LINERNOTES__DATABASE__EMBEDDED__DOWNLOAD_URL", url),
    ];

    let first = Serve::start_with(&dir.0, &mock, &env).expect("serve downloads a build and starts");
    assert_eq!(first.get("/readyz").await.0, 200);
    let (status, body) = first
        .get(&format!("/v1/artists/musicbrainz:{ARTIST}"))
        .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (200, Some("Ada Example")),
        "{body}"
    );
    let (_, status_body) = first.get("/v1/status").await;
    let binaries = status_body["database_setup"]["binaries"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        Path::new(&binaries).starts_with(dir.layout().downloads),
        "the server runs the downloaded build: {status_body}"
    );
    kill(first.pid(), Signal::SIGTERM).expect("SIGTERM");
    let (code, log) = first.wait().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("matches its checksum"), "{log}");
    assert!(
        !dir.layout().download_staging().exists(),
        "nothing of the download is left but the build"
    );

    let second = Serve::start_with(&dir.0, &mock, &env).expect("serve starts again");
    assert_eq!(second.get("/readyz").await.0, 200);
    assert_eq!(
        archive_downloads(&mock).await,
        1,
        "the second start used the unpacked build"
    );
    kill(second.pid(), Signal::SIGTERM).expect("SIGTERM");
    let (code, log) = second.wait().await;
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("downloading"), "{log}");
}

/// An archive whose SHA-256 differs from the published one is refused with a message saying so, and
/// nothing of it is unpacked; a machine without binaries where downloading is off is told which
/// package to install.
#[tokio::test]
async fn a_build_with_a_wrong_checksum_is_refused_and_nothing_unpacked() {
    let dir = DataDir::new();
    let mock = MockServer::start().await;
    let archive = {
        use flate2::write::GzEncoder;
        let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, "postgresql-test/bin/postgres", &b"#!\n"[..])
            .expect("archive");
        tar.into_inner().expect("tar").finish().expect("gzip")
    };
    let url = serve_build(&mock, archive, &"0".repeat(64)).await;
    let settings = embedded_settings(
        &dir.0,
        &[
            ("LINERNOTES__DATABASE__EMBEDDED__SYSTEM_BINARIES", "false"),
            ("LINERNOTES__DATABASE__EMBEDDED__DOWNLOAD_URL", &url),
        ],
    );
    let message = refusal(&settings).await;
    assert!(
        message.contains(&format!("says {}", "0".repeat(64)))
            && message.contains("refused, nothing was unpacked"),
        "{message}"
    );
    assert_eq!(archive_downloads(&mock).await, 1);
    let layout = dir.layout();
    assert!(
        std::fs::read_dir(&layout.downloads).map_or(true, |mut d| d.next().is_none()),
        "no build under {}",
        layout.downloads.display()
    );
    assert!(
        !layout.download_staging().exists(),
        "no download left behind"
    );
    assert!(!layout.cluster.exists(), "nothing was initialised");

    let message = refusal(&embedded_settings(
        &dir.0,
        &[
            ("LINERNOTES__DATABASE__EMBEDDED__SYSTEM_BINARIES", "false"),
            ("LINERNOTES__DATABASE__EMBEDDED__DOWNLOAD", "false"),
        ],
    ))
    .await;
    for expected in [
        "apt install postgresql",
        "dnf install postgresql-server",
        "brew install postgresql@",
        "database.embedded.download: true",
    ] {
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(
        archive_downloads(&mock).await,
        1,
        "no download when it is off"
    );
}
