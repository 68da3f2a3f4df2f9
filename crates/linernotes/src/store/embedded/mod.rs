//! The built-in PostgreSQL: a cluster under `data_dir` that linernotes initialises on first start, runs
//! as its own child process, watches, and stops after the pool has closed.
//!
//! The server listens on no TCP port, only on a Unix socket in `<data_dir>/run`, a folder only the
//! server's account can enter (so the socket's `trust` authentication trusts only that account and
//! root). `fsync` stays on: a committed row survives a crash here as it does on any other server.
//!
//! Layout:
//! - [`binaries`]: finding `postgres` and `initdb` and their version;
//! - [`download`]: a relocatable build, downloaded once when the machine has none;
//! - [`account`]: which account runs the server, and preparing folders for it;
//! - [`lock`]: one linernotes per data directory;
//! - this file: [`EmbeddedServer`], the supervisor (initialise, recover, start, watch, stop).
//!
//! The data directory:
//! ```text
//! <data_dir>/linernotes.lock     the instance lock (holder's pid)
//! <data_dir>/postgresql/         the cluster (PGDATA)
//! <data_dir>/postgresql.log      the server's log
//! <data_dir>/run/                the server's socket
//! <data_dir>/pgsql/<version>/     a downloaded build (see [`download`])
//! ```

pub mod account;
pub mod binaries;
pub mod download;
pub mod lock;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;

use crate::config::Settings;
use crate::domain::DatabaseSetup;

pub use account::ServerAccount;
pub use binaries::{Binaries, BinarySearch};
pub use lock::{InstanceLock, LockError};

/// The role linernotes connects as, and the database it uses, in the built-in cluster.
pub const ROLE: &str = "linernotes";
/// The database linernotes uses in the built-in cluster.
pub const DATABASE: &str = "linernotes";
/// The port in the socket's name (no TCP port is opened).
const PORT: u16 = 5432;
/// The longest path a Unix socket may have on the platforms linernotes runs on.
const MAX_SOCKET_PATH: usize = 103;
/// How long a start may take (crash recovery of a large cluster included).
const START_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a fast shutdown may take before the server is told to stop at once.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the built-in database could not be used: one message that names the fix.
#[derive(Debug, thiserror::Error)]
#[error("built-in database: {0}")]
pub struct EmbeddedError(pub String);

/// The files of the built-in database under `data_dir`.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `data_dir`.
    pub data_dir: PathBuf,
    /// The cluster (PGDATA).
    pub cluster: PathBuf,
    /// The folder of the server's socket.
    pub socket_dir: PathBuf,
    /// The server's log.
    pub log: PathBuf,
    /// Relocatable builds unpacked by linernotes.
    pub downloads: PathBuf,
}

impl Layout {
    /// The layout under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            cluster: data_dir.join("postgresql"),
            socket_dir: data_dir.join("run"),
            log: data_dir.join("postgresql.log"),
            downloads: data_dir.join("pgsql"),
        }
    }

    /// Where downloads are staged until verified and unpacked (outside [`Layout::downloads`], so
    /// the binary search never finds a partial build).
    pub fn download_staging(&self) -> PathBuf {
        self.data_dir.join("pgsql.partial")
    }

    /// The socket itself.
    pub fn socket(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{PORT}"))
    }

    /// The URL of linernotes' database through the socket.
    pub fn url(&self) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.socket_dir.to_string_lossy().as_bytes())
                .collect();
        format!("postgres://{ROLE}@localhost/{DATABASE}?host={host}")
    }

    /// The major version the cluster was created by, when there is a cluster.
    pub fn cluster_major(&self) -> Option<u32> {
        std::fs::read_to_string(self.cluster.join("PG_VERSION"))
            .ok()
            .and_then(|text| text.trim().parse().ok())
    }

    /// Refuses a socket path the system cannot bind.
    fn check_socket_path(&self) -> Result<(), String> {
        let socket = self.socket();
        let length = socket.as_os_str().len();
        if length > MAX_SOCKET_PATH {
            return Err(format!(
                "the server's socket would be {} ({length} bytes), longer than the {MAX_SOCKET_PATH} bytes \
                 a Unix socket path may have: set data_dir to a shorter path (e.g. /var/lib/linernotes or \
                 ~/.local/share/linernotes)",
                socket.display()
            ));
        }
        Ok(())
    }

    /// `psql` arguments that reach linernotes' database.
    pub fn psql_command(&self) -> String {
        format!(
            "psql \"host={} user={ROLE} dbname={DATABASE}\"",
            self.socket_dir.display()
        )
    }
}

/// What a process opening the database means to do with it: serve, have it to itself, or share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// `serve`: the data directory to itself; its connections are named [`SERVING_APPLICATION`].
    Serve,
    /// A command that must not run beside an instance (restore): the data directory to itself.
    Exclusive,
    /// One-shot commands: use the running instance's server when there is one.
    ShareWithRunning,
}

/// The `application_name` of a serving linernotes' connections (a restore refuses while one is
/// connected to its database).
pub const SERVING_APPLICATION: &str = "linernotes serve";

/// The built-in database, started by this process or run by another linernotes on the same data
/// directory.
pub struct EmbeddedServer {
    layout: Layout,
    setup: DatabaseSetup,
    /// The server this process runs; `None` when another instance runs it.
    child: Option<RunningServer>,
    _lock: Option<InstanceLock>,
}

/// A server process this linernotes started.
struct RunningServer {
    pid: Pid,
    /// Set to how the process ended, once it has.
    exited: watch::Receiver<Option<String>>,
}

impl EmbeddedServer {
    /// What the built-in database of `settings` would use, without starting anything (for
    /// `config check`).
    pub fn describe(settings: &Settings) -> Result<DatabaseSetup, EmbeddedError> {
        let layout = Layout::new(&settings.data_dir());
        match search(settings, &layout).locate(layout.cluster_major()) {
            Ok(binaries) => Ok(setup_of(&layout, &binaries)),
            Err(_) if may_download(settings) => {
                let url =
                    download::archive_url(&settings.database.embedded).map_err(EmbeddedError)?;
                Ok(DatabaseSetup {
                    mode: "embedded",
                    location: layout.socket_dir.display().to_string(),
                    data_dir: Some(layout.data_dir.display().to_string()),
                    binaries: Some(format!(
                        "none on this machine: downloaded on first start from {url} into {}",
                        layout.downloads.display()
                    )),
                    server_version: None,
                })
            }
            Err(reason) => Err(EmbeddedError(reason)),
        }
    }

    /// Takes the data directory, initialises the cluster when there is none, stops a server left
    /// behind by a linernotes that was killed, starts the server and waits until it accepts
    /// connections. With [`Claim::ShareWithRunning`], a data directory held by a running linernotes
    /// is used through that instance's server.
    pub async fn start(settings: &Settings, claim: Claim) -> Result<Self, EmbeddedError> {
        Self::start_from(settings, claim, None).await
    }

    /// Like [`EmbeddedServer::start`] for a streaming standby of the built-in server at `primary`: a
    /// cluster that does not exist yet is made from a base backup of the primary (with standby
    /// settings) instead of `initdb`. The standby then follows the primary over its socket.
    pub async fn start_standby(
        settings: &Settings,
        primary: &Layout,
    ) -> Result<Self, EmbeddedError> {
        Self::start_from(settings, Claim::Exclusive, Some(primary)).await
    }

    async fn start_from(
        settings: &Settings,
        claim: Claim,
        primary: Option<&Layout>,
    ) -> Result<Self, EmbeddedError> {
        let layout = Layout::new(&settings.data_dir());
        layout.check_socket_path().map_err(EmbeddedError)?;
        let account = ServerAccount::resolve(settings.database.embedded.run_as.as_deref())
            .map_err(EmbeddedError)?;
        let binaries = match search(settings, &layout).locate(layout.cluster_major()) {
            Ok(binaries) => binaries,
            Err(_) if may_download(settings) => {
                // data_dir gets its private permissions before anything is written into it.
                prepare_data_dir(&layout, &account).map_err(EmbeddedError)?;
                download::download(&settings.database.embedded, &layout)
                    .await
                    .map_err(EmbeddedError)?
            }
            Err(reason) => return Err(EmbeddedError(reason)),
        };
        prepare_data_dir(&layout, &account).map_err(EmbeddedError)?;
        let setup = setup_of(&layout, &binaries);
        let lock = match InstanceLock::acquire(&layout.data_dir) {
            Ok(lock) => lock,
            Err(LockError::Held { pid, path }) => {
                let holder = pid.map_or_else(|| "unknown pid".to_owned(), |p| format!("pid {p}"));
                if claim == Claim::ShareWithRunning && layout.socket().exists() {
                    return Ok(Self {
                        layout,
                        setup,
                        child: None,
                        _lock: None,
                    });
                }
                return Err(EmbeddedError(format!(
                    "data directory {} is in use by another linernotes ({holder}, holding {}): stop \
                     it first, or give this instance a data_dir of its own",
                    layout.data_dir.display(),
                    path.display()
                )));
            }
            Err(LockError::Io(reason)) => return Err(EmbeddedError(reason)),
        };
        check_cluster(&layout, &binaries, &account).map_err(EmbeddedError)?;
        stop_leftover_server(&layout).await;
        if layout.cluster_major().is_none() {
            tracing::info!(cluster = %layout.cluster.display(), "initialising the built-in PostgreSQL cluster");
            initialise(&layout, &binaries, &account, primary)
                .await
                .map_err(EmbeddedError)?;
        }
        let child = start_server(&layout, &binaries, &account)
            .await
            .map_err(EmbeddedError)?;
        Ok(Self {
            layout,
            setup,
            child: Some(child),
            _lock: Some(lock),
        })
    }

    /// Its files.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The URL of linernotes' database on this server.
    pub fn url(&self) -> String {
        self.layout.url()
    }

    /// How the server is deployed, for logs and status.
    pub fn setup(&self) -> &DatabaseSetup {
        &self.setup
    }

    /// Completes when the server this process runs stops without being asked to, with how it ended;
    /// never completes while it runs, or when another instance runs it.
    pub async fn unexpected_exit(&self) -> String {
        let Some(child) = &self.child else {
            return std::future::pending().await;
        };
        let mut exited = child.exited.clone();
        let status = match exited.wait_for(Option::is_some).await {
            Ok(status) => status.clone(),
            Err(_) => None,
        };
        match status {
            Some(status) => status,
            None => std::future::pending().await,
        }
    }

    /// Stops the server this process runs: a fast shutdown (clients disconnected, a checkpoint
    /// written), then an immediate one if that takes too long. Call it after the pool has closed.
    pub async fn stop(mut self) {
        let Some(child) = self.child.take() else {
            return;
        };
        let mut exited = child.exited.clone();
        for (signal, patience) in [
            (Signal::SIGINT, STOP_TIMEOUT),
            (Signal::SIGQUIT, Duration::from_secs(10)),
            (Signal::SIGKILL, Duration::from_secs(10)),
        ] {
            if exited.borrow().is_some() {
                break;
            }
            let _ = nix::sys::signal::kill(child.pid, signal);
            if tokio::time::timeout(patience, exited.wait_for(Option::is_some))
                .await
                .is_ok()
            {
                break;
            }
            tracing::warn!(
                pid = child.pid.as_raw(),
                ?signal,
                "the built-in PostgreSQL did not stop in time"
            );
        }
        tracing::info!("the built-in PostgreSQL stopped");
    }
}

impl Drop for EmbeddedServer {
    /// A server not stopped through [`EmbeddedServer::stop`] (an early return on an error) is still
    /// told to stop, so it never outlives linernotes.
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            if child.exited.borrow().is_none() {
                let _ = nix::sys::signal::kill(child.pid, Signal::SIGINT);
            }
        }
    }
}

/// Where the binaries are looked for.
fn search(settings: &Settings, layout: &Layout) -> BinarySearch {
    BinarySearch::of_this_machine(
        settings.database.embedded.bin_dir.as_deref(),
        settings.database.embedded.system_binaries,
        &layout.downloads,
    )
}

/// Whether a build is downloaded when the search finds none: allowed, and no `bin_dir` named (a
/// folder named on purpose that holds nothing is a mistake to report, not to paper over).
fn may_download(settings: &Settings) -> bool {
    settings.database.embedded.download && settings.database.embedded.bin_dir.is_none()
}

fn setup_of(layout: &Layout, binaries: &Binaries) -> DatabaseSetup {
    DatabaseSetup {
        mode: "embedded",
        location: layout.socket_dir.display().to_string(),
        data_dir: Some(layout.data_dir.display().to_string()),
        binaries: Some(binaries.dir.display().to_string()),
        server_version: Some(binaries.version.clone()),
    }
}

/// Creates `data_dir` (private to linernotes, enterable by the server's account) and the socket
/// folder (the server's account alone).
fn prepare_data_dir(layout: &Layout, account: &ServerAccount) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if !layout.data_dir.exists() {
        std::fs::create_dir_all(&layout.data_dir)
            .map_err(|e| format!("cannot create data_dir {}: {e}", layout.data_dir.display()))?;
        let mode = if account.switch { 0o711 } else { 0o700 };
        std::fs::set_permissions(&layout.data_dir, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot restrict {}: {e}", layout.data_dir.display()))?;
    }
    account.check_reachable(&layout.data_dir)?;
    account.own_private_dir(&layout.socket_dir)
}

/// Refuses a cluster of another major version, or one the server's account does not own.
fn check_cluster(
    layout: &Layout,
    binaries: &Binaries,
    account: &ServerAccount,
) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Some(major) = layout.cluster_major() else {
        return Ok(());
    };
    if major != binaries.major {
        return Err(format!(
            "the cluster in {} was created by PostgreSQL {major}, but the binaries found ({}) are \
             PostgreSQL {}: point database.embedded.bin_dir at PostgreSQL {major}'s binaries, or upgrade \
             the cluster (`linernotes backup --to FILE` with the old binaries, then `linernotes restore \
             --from FILE` with a new data_dir; or pg_upgrade -b <old bin> -B {} -d {} -D <new cluster>)",
            layout.cluster.display(),
            binaries.dir.display(),
            binaries.major,
            binaries.dir.display(),
            layout.cluster.display(),
        ));
    }
    let owner = std::fs::metadata(&layout.cluster)
        .map_err(|e| format!("cannot read {}: {e}", layout.cluster.display()))?
        .uid();
    if owner != account.uid.as_raw() {
        return Err(format!(
            "the cluster in {} belongs to user id {owner}, but the server runs as '{}': give it to that \
             account (`chown -R {} {}`) or set database.embedded.run_as to its owner",
            layout.cluster.display(),
            account.name,
            account.name,
            layout.cluster.display()
        ));
    }
    Ok(())
}

/// Runs `initdb` (or, for a standby of `primary`, `pg_basebackup`) into a staging folder, then moves
/// it into place, so a cluster is either complete or absent (an interrupted initialisation is started
/// over).
async fn initialise(
    layout: &Layout,
    binaries: &Binaries,
    account: &ServerAccount,
    primary: Option<&Layout>,
) -> Result<(), String> {
    let staging = layout.data_dir.join("postgresql.init");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .map_err(|e| format!("cannot remove the unfinished {}: {e}", staging.display()))?;
    }
    account.own_private_dir(&staging)?;
    let locale = if cfg!(target_os = "macos") {
        "en_US.UTF-8"
    } else {
        "C.UTF-8"
    };
    let (program, mut command) = match primary {
        None => {
            let program = binaries.program("initdb");
            let mut command = server_command(program.clone(), layout, account);
            command
                .arg("-D")
                .arg(&staging)
                .args(["-U", ROLE, "-E", "UTF8", "--locale", locale])
                .args(["--auth-local=trust", "--auth-host=reject"]);
            (program, command)
        }
        Some(primary) => {
            let program = binaries.program("pg_basebackup");
            let mut command = server_command(program.clone(), layout, account);
            command
                .arg("-D")
                .arg(&staging)
                .arg("-h")
                .arg(&primary.socket_dir)
                .arg("-p")
                .arg(PORT.to_string())
                .args(["-U", ROLE, "--write-recovery-conf", "--wal-method=stream"])
                .args(["--checkpoint=fast", "--no-password"]);
            (program, command)
        }
    };
    let output = command
        .output()
        .await
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    std::fs::rename(&staging, &layout.cluster).map_err(|e| {
        format!(
            "cannot move the new cluster to {}: {e}",
            layout.cluster.display()
        )
    })
}

/// A command running one of the server's programs as the server's account, in `data_dir`, with no
/// `PG…` variables of linernotes' environment.
fn server_command(
    program: PathBuf,
    layout: &Layout,
    account: &ServerAccount,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(program);
    command.current_dir(&layout.data_dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(key);
        }
    }
    if account.switch {
        command.uid(account.uid.as_raw()).gid(account.gid.as_raw());
    }
    command
}

/// Starts the server and waits until it accepts connections. A start that fails because the
/// processes of a killed server are still letting go of its shared memory is tried again.
async fn start_server(
    layout: &Layout,
    binaries: &Binaries,
    account: &ServerAccount,
) -> Result<RunningServer, String> {
    let began = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match try_start(layout, binaries, account, began).await {
            Ok(server) => {
                tracing::info!(
                    pid = server.pid.as_raw(),
                    elapsed_ms = began.elapsed().as_millis() as u64,
                    "the built-in PostgreSQL accepts connections"
                );
                return Ok(server);
            }
            Err(StartFailure::Retry(reason)) if attempt < 20 => {
                tracing::info!(%reason, "the built-in PostgreSQL could not start yet; trying again");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
            }
            Err(StartFailure::Retry(reason) | StartFailure::Fatal(reason)) => return Err(reason),
        }
    }
}

enum StartFailure {
    /// Worth another try shortly.
    Retry(String),
    /// Will not get better by itself.
    Fatal(String),
}

async fn try_start(
    layout: &Layout,
    binaries: &Binaries,
    account: &ServerAccount,
    began: Instant,
) -> Result<RunningServer, StartFailure> {
    let fatal = StartFailure::Fatal;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&layout.log)
        .map_err(|e| fatal(format!("cannot open {}: {e}", layout.log.display())))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let stderr = log
        .try_clone()
        .map_err(|e| fatal(format!("cannot open {}: {e}", layout.log.display())))?;
    let mut command = server_command(binaries.program("postgres"), layout, account);
    command
        .arg("-D")
        .arg(&layout.cluster)
        .arg("-c")
        .arg("listen_addresses=")
        .arg("-c")
        .arg(format!(
            "unix_socket_directories={}",
            layout.socket_dir.display()
        ))
        .arg("-c")
        .arg(format!("port={PORT}"))
        .args(["-c", "unix_socket_permissions=0700"])
        .args([
            "-c",
            "fsync=on",
            "-c",
            "synchronous_commit=on",
            "-c",
            "full_page_writes=on",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(stderr)
        // A terminal's Ctrl-C reaches linernotes alone, which closes its pool before it stops the
        // server.
        .process_group(0);
    let mut child = command.spawn().map_err(|e| {
        fatal(format!(
            "cannot run {}: {e}",
            binaries.program("postgres").display()
        ))
    })?;
    let pid = Pid::from_raw(
        child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| fatal("the server exited at once".into()))?,
    );
    let (tx, mut exited) = watch::channel(None);
    tokio::spawn(async move {
        let status = child.wait().await;
        let _ = tx.send(Some(describe_exit(status)));
    });
    let options = PgConnectOptions::new()
        .socket(&layout.socket_dir)
        .port(PORT)
        .username(ROLE)
        .database("postgres")
        .disable_statement_logging();
    let mut delay = Duration::from_millis(10);
    loop {
        if let Some(status) = exited.borrow().clone() {
            let tail = log_tail(&layout.log, log_start);
            let reason = format!(
                "PostgreSQL stopped while starting ({status}); {} says:\n{tail}",
                layout.log.display()
            );
            return Err(if tail.contains("pre-existing shared memory block") {
                StartFailure::Retry(reason)
            } else {
                fatal(reason)
            });
        }
        if let Ok(connection) = options.connect().await {
            let _ = connection.close().await;
            return Ok(RunningServer { pid, exited });
        }
        if began.elapsed() > START_TIMEOUT {
            let _ = nix::sys::signal::kill(pid, Signal::SIGQUIT);
            return Err(fatal(format!(
                "PostgreSQL did not accept connections within {}s; see {}",
                START_TIMEOUT.as_secs(),
                layout.log.display()
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = exited.changed() => {}
        }
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

fn describe_exit(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => status.to_string(),
        },
        Err(e) => format!("cannot wait for it: {e}"),
    }
}

/// The last lines the server logged since `from`.
fn log_tail(log: &Path, from: u64) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// Stops a server still running on the cluster after the linernotes that started it was killed
/// (its pid in `postmaster.pid`, its command line naming this cluster), so it can be started cleanly.
async fn stop_leftover_server(layout: &Layout) {
    let Some(pid) = std::fs::read_to_string(layout.cluster.join("postmaster.pid"))
        .ok()
        .and_then(|text| text.lines().next()?.trim().parse::<i32>().ok())
        .map(Pid::from_raw)
    else {
        return;
    };
    if !is_server_of(pid, &layout.cluster) {
        // The pid is gone, a zombie nobody reaped, or reused by another program: PostgreSQL would
        // still take the file for a running server's, so it goes (the instance lock is ours, and
        // PostgreSQL itself refuses to start while processes of an old server hold its memory).
        remove_stale_lock_files(layout);
        return;
    }
    tracing::warn!(
        pid = pid.as_raw(),
        "stopping a PostgreSQL server left behind by a linernotes that did not stop cleanly"
    );
    for (signal, patience) in [
        (Signal::SIGINT, STOP_TIMEOUT),
        (Signal::SIGQUIT, Duration::from_secs(10)),
        (Signal::SIGKILL, Duration::from_secs(10)),
    ] {
        let _ = nix::sys::signal::kill(pid, signal);
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if !is_server_of(pid, &layout.cluster) {
                remove_stale_lock_files(layout);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Removes the lock files a server that is gone left behind (`postmaster.pid` and the socket's lock),
/// which would otherwise name a pid that may be a zombie or another program by now.
fn remove_stale_lock_files(layout: &Layout) {
    let socket_lock = layout.socket_dir.join(format!(".s.PGSQL.{PORT}.lock"));
    for file in [
        layout.cluster.join("postmaster.pid"),
        socket_lock,
        layout.socket(),
    ] {
        let _ = std::fs::remove_file(file);
    }
}

/// Whether `pid` is a live (not zombie) postgres process serving `cluster`.
fn is_server_of(pid: Pid, cluster: &Path) -> bool {
    if nix::sys::signal::kill(pid, None).is_err() {
        return false;
    }
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.as_raw()));
    if proc_dir.exists() {
        let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        if state == Some("Z") {
            return false;
        }
        let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        return args
            .first()
            .is_some_and(|program| program.contains("postgres"))
            && args.iter().any(|arg| Path::new(arg) == cluster);
    }
    // Without /proc (macOS): ask ps for the command line.
    std::process::Command::new("ps")
        .args(["-o", "command=", "-p", &pid.as_raw().to_string()])
        .output()
        .map(|out| {
            let text = String::from_utf8_lossy(&out.stdout);
            text.contains("postgres") && text.contains(&*cluster.to_string_lossy())
        })
        .unwrap_or(false)
}
