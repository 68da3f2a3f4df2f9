//! Downloading a relocatable PostgreSQL build, once, when the machine has no server binaries.
//!
//! The archive (a `.tar.gz` holding one folder with `bin/`, `lib/` and `share/`, as the
//! theseus-rs/postgresql-binaries releases are) is streamed to a file in a staging folder of this
//! process, hashed as it arrives and compared with the expected SHA-256
//! (`database.embedded.download_sha256`, or the checksum file published beside the archive at
//! `<download_url>.sha256`). Only a verified archive is unpacked, into the same staging folder; its
//! `postgres --version` is read, and the unpacked folder is renamed to `<data_dir>/pgsql/<version>`,
//! where the binary search ([`super::binaries`]) finds it on this and every later start. A download
//! cut short, an archive refused or an unpacking that failed leaves nothing the search could find:
//!
//! ```text
//! <data_dir>/pgsql.partial/<pid>/archive.tar.gz   the download under way (removed afterwards)
//! <data_dir>/pgsql.partial/<pid>/unpacked/        the archive being unpacked (renamed when complete)
//! <data_dir>/pgsql/<version>/bin                  the build in use
//! ```
//!
//! Staging folders of processes that are gone (a linernotes killed while downloading) are removed by
//! the next download.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::binaries::{Binaries, MIN_MAJOR};
use super::Layout;
use crate::config::EmbeddedSettings;

/// The largest archive accepted (the builds are 30–150 MB).
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may stay silent in the middle of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// This platform's Rust target triple, as the builds' file names use it; `None` on a platform no
/// build is published for.
pub fn target_triple() -> Option<&'static str> {
    let musl = cfg!(target_env = "musl");
    match (std::env::consts::ARCH, std::env::consts::OS, musl) {
        ("x86_64", "linux", false) => Some("x86_64-unknown-linux-gnu"),
        ("x86_64", "linux", true) => Some("x86_64-unknown-linux-musl"),
        ("aarch64", "linux", false) => Some("aarch64-unknown-linux-gnu"),
        ("aarch64", "linux", true) => Some("aarch64-unknown-linux-musl"),
        ("x86_64", "macos", _) => Some("x86_64-apple-darwin"),
        ("aarch64", "macos", _) => Some("aarch64-apple-darwin"),
        _ => None,
    }
}

/// The archive's URL for this platform: `download_url` with `{target}` replaced.
pub fn archive_url(settings: &EmbeddedSettings) -> Result<String, String> {
    if !settings.download_url.contains("{target}") {
        return Ok(settings.download_url.clone());
    }
    let target = target_triple().ok_or_else(|| {
        format!(
            "no PostgreSQL build is known for this platform ({} {}): install the server package, \
             set database.embedded.bin_dir, or set database.embedded.download_url to a build for it",
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    })?;
    Ok(settings.download_url.replace("{target}", target))
}

/// The first 64-digit hexadecimal word of a checksum file (`sha256sum`'s `<hex>  <name>` or the hex
/// alone), in lower case.
pub fn parse_checksum(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '*' || c == '=')
        .find(|word| word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// Downloads, verifies and unpacks the build of `settings` under `layout.downloads`, and returns its
/// binaries. Call it only after the binary search found none. The message of an error names the fix.
pub async fn download(settings: &EmbeddedSettings, layout: &Layout) -> Result<Binaries, String> {
    let url = archive_url(settings)?;
    let staging_root = layout.download_staging();
    remove_abandoned_staging(&staging_root);
    let staging = staging_root.join(std::process::id().to_string());
    let result = download_into(settings, layout, &url, &staging).await;
    let _ = std::fs::remove_dir_all(&staging);
    let _ = std::fs::remove_dir(&staging_root);
    result.map_err(|reason| {
        format!(
            "no PostgreSQL server binaries were found, and downloading a build failed: {reason}. \
             Without a download, install the server package (Debian/Ubuntu `sudo apt install \
             postgresql`, Fedora `sudo dnf install postgresql-server`, macOS `brew install \
             postgresql@17`) or set database.embedded.bin_dir; or use a PostgreSQL server you run: set \
             database.url (or DATABASE_URL)"
        )
    })
}

async fn download_into(
    settings: &EmbeddedSettings,
    layout: &Layout,
    url: &str,
    staging: &Path,
) -> Result<Binaries, String> {
    std::fs::create_dir_all(staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let client = reqwest::Client::builder()
        .user_agent(concat!("linernotes/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let (expected, checksum_source) = match &settings.download_sha256 {
        Some(sha256) => (
            sha256.to_ascii_lowercase(),
            "database.embedded.download_sha256".to_owned(),
        ),
        None => {
            let checksum_url = format!("{url}.sha256");
            (fetch_checksum(&client, &checksum_url).await?, checksum_url)
        }
    };
    let archive = staging.join("archive.tar.gz");
    tracing::info!(%url, "downloading a PostgreSQL build (once: it is kept under data_dir)");
    let actual = fetch_archive(&client, url, &archive).await?;
    if actual != expected {
        return Err(format!(
            "the archive from {url} has SHA-256 {actual}, but {checksum_source} says {expected}: \
             refused, nothing was unpacked. Try again (the download may have been damaged); if you set \
             database.embedded.download_url to another build, set database.embedded.download_sha256 to \
             its published SHA-256"
        ));
    }
    tracing::info!(sha256 = %actual, "the PostgreSQL build matches its checksum; unpacking");
    let unpacked = staging.join("unpacked");
    let unpack_from = archive.clone();
    let unpack_to = unpacked.clone();
    tokio::task::spawn_blocking(move || unpack(&unpack_from, &unpack_to))
        .await
        .map_err(|e| format!("unpacking stopped: {e}"))??;
    let _ = std::fs::remove_file(&archive);
    let root = build_root(&unpacked)?;
    let probed = Binaries::probe_explained(&root.join("bin")).map_err(|reason| {
        format!(
            "the build from {url} does not run here: {reason} (a library it needs may be missing)"
        )
    })?;
    if probed.major < MIN_MAJOR {
        return Err(format!(
            "the build from {url} is PostgreSQL {}, older than the {MIN_MAJOR} linernotes needs: set \
             database.embedded.download_url to a newer one",
            probed.version
        ));
    }
    let destination = layout.downloads.join(&probed.version);
    std::fs::create_dir_all(&layout.downloads)
        .map_err(|e| format!("cannot create {}: {e}", layout.downloads.display()))?;
    if destination.exists() {
        if let Ok(existing) = Binaries::probe_explained(&destination.join("bin")) {
            // Another process unpacked the same version meanwhile.
            return Ok(existing);
        }
        std::fs::remove_dir_all(&destination)
            .map_err(|e| format!("cannot replace {}: {e}", destination.display()))?;
    }
    std::fs::rename(&root, &destination)
        .map_err(|e| format!("cannot move the build to {}: {e}", destination.display()))?;
    tracing::info!(
        version = %probed.version,
        dir = %destination.display(),
        "the downloaded PostgreSQL build is in place"
    );
    Binaries::probe_explained(&destination.join("bin"))
}

/// The expected SHA-256 from the checksum file at `checksum_url`.
async fn fetch_checksum(client: &reqwest::Client, checksum_url: &str) -> Result<String, String> {
    let response = client
        .get(checksum_url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch the checksum {checksum_url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "the checksum {checksum_url} answered {}: set database.embedded.download_sha256 to the \
             archive's SHA-256",
            response.status()
        ));
    }
    let text = response
        .text()
        .await
        .map_err(|e| format!("cannot read the checksum {checksum_url}: {e}"))?;
    parse_checksum(&text).ok_or_else(|| {
        format!(
            "{checksum_url} holds no SHA-256: set database.embedded.download_sha256 to the archive's \
             SHA-256"
        )
    })
}

/// Streams the archive at `url` into `file`, reporting progress; its SHA-256 in hex.
async fn fetch_archive(client: &reqwest::Client, url: &str, file: &Path) -> Result<String, String> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot download {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let total = response.content_length();
    if total.is_some_and(|total| total > MAX_ARCHIVE_BYTES) {
        return Err(format!(
            "{url} is {} bytes, more than a PostgreSQL build's {MAX_ARCHIVE_BYTES}",
            total.unwrap_or_default()
        ));
    }
    let mut out = std::fs::File::create(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let mut hasher = Sha256::new();
    let mut progress = Progress::new(total);
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| format!("the download of {url} broke off: {e}"))?;
        let Some(chunk) = chunk else { break };
        hasher.update(&chunk);
        out.write_all(&chunk)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        progress.advance(chunk.len() as u64);
        if progress.done > MAX_ARCHIVE_BYTES {
            return Err(format!(
                "{url} sent more than a PostgreSQL build's {MAX_ARCHIVE_BYTES} bytes"
            ));
        }
    }
    progress.finish();
    if total.is_some_and(|total| total != progress.done) {
        return Err(format!(
            "the download of {url} ended after {} of {} bytes",
            progress.done,
            total.unwrap_or_default()
        ));
    }
    out.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Unpacks the `.tar.gz` at `archive` into `into` (entries that would land outside it are refused by
/// the tar reader).
fn unpack(archive: &Path, into: &Path) -> Result<(), String> {
    let file = std::fs::File::open(archive)
        .map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    tar.set_preserve_permissions(true);
    tar.set_overwrite(false);
    tar.unpack(into)
        .map_err(|e| format!("cannot unpack the archive (is it a .tar.gz?): {e}"))
}

/// The folder of the unpacked build holding `bin/`: `unpacked` itself, or its only folder.
fn build_root(unpacked: &Path) -> Result<PathBuf, String> {
    if unpacked.join("bin").is_dir() {
        return Ok(unpacked.to_owned());
    }
    let folders: Vec<PathBuf> = std::fs::read_dir(unpacked)
        .map_err(|e| format!("cannot read {}: {e}", unpacked.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    match folders.as_slice() {
        [only] if only.join("bin").is_dir() => Ok(only.clone()),
        _ => Err(
            "the archive holds no bin/ folder (expected one folder with bin/, lib/ and share/)"
                .to_owned(),
        ),
    }
}

/// Removes the staging folders of processes that no longer run.
fn remove_abandoned_staging(staging_root: &Path) {
    let Ok(entries) = std::fs::read_dir(staging_root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let owner = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok());
        let alive = owner.is_some_and(|pid| {
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
        });
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Progress of a download: a bar on a terminal, a log line every tenth otherwise.
struct Progress {
    total: Option<u64>,
    done: u64,
    bar: Option<indicatif::ProgressBar>,
    logged_tenths: u64,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(total) => indicatif::ProgressBar::new(total),
                None => indicatif::ProgressBar::new_spinner(),
            };
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "downloading PostgreSQL {bar:30} {bytes} of {total_bytes} ({bytes_per_sec}, {eta})",
            ) {
                bar.set_style(style);
            }
            bar
        });
        if bar.is_none() {
            match total {
                Some(total) => tracing::info!(bytes = total, "downloading PostgreSQL"),
                None => tracing::info!("downloading PostgreSQL (size unknown)"),
            }
        }
        Self {
            total,
            done: 0,
            bar,
            logged_tenths: 0,
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            return;
        }
        if let Some(total) = self.total.filter(|total| *total > 0) {
            let tenths = self.done.saturating_mul(10) / total;
            if tenths > self.logged_tenths && tenths < 10 {
                self.logged_tenths = tenths;
                tracing::info!(
                    done = self.done,
                    total,
                    "downloading PostgreSQL: {}%",
                    tenths * 10
                );
            }
        }
    }

    fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => tracing::info!(bytes = self.done, "downloaded PostgreSQL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_are_read_in_their_usual_shapes() {
        let hex = "a".repeat(64);
        assert_eq!(
            parse_checksum(&format!("{hex}  postgresql-17.5.0.tar.gz\n")),
            Some(hex.clone())
        );
        assert_eq!(
            parse_checksum(&format!("{}\n", hex.to_uppercase())),
            Some(hex.clone())
        );
        assert_eq!(
            parse_checksum(&format!("{hex} *archive.tar.gz")),
            Some(hex.clone())
        );
        assert_eq!(parse_checksum("not found"), None);
        assert_eq!(parse_checksum(&"a".repeat(63)), None);
    }

    #[test]
    fn the_target_is_filled_into_the_url() {
        let mut settings = crate::Settings::load_from(None, &Default::default())
            .expect("default settings")
            .database
            .embedded;
        let url = archive_url(&settings).expect("a build is known for the test machine");
        assert!(!url.contains("{target}"), "{url}");
        assert!(
            url.contains(target_triple().expect("known target")),
            "{url}"
        );
        settings.download_url = "http://127.0.0.1:1/build.tar.gz".into();
        assert_eq!(
            archive_url(&settings).as_deref(),
            Ok("http://127.0.0.1:1/build.tar.gz")
        );
    }

    #[test]
    fn an_archive_is_rooted_at_its_only_folder() {
        let dir = std::env::temp_dir().join(format!("ln-root-{}", std::process::id()));
        let nested = dir.join("postgresql-17.5.0-x/bin");
        std::fs::create_dir_all(&nested).expect("create");
        assert_eq!(
            build_root(&dir).expect("root"),
            dir.join("postgresql-17.5.0-x")
        );
        std::fs::create_dir_all(dir.join("second")).expect("create");
        assert!(build_root(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
