//! Finding the PostgreSQL server binaries (`postgres`, `initdb`) and their version.
//!
//! The search order is `database.embedded.bin_dir` (alone, when set), the folders of `PATH`,
//! `pg_config --bindir`, the usual places of distributions and Homebrew (these three unless
//! `database.embedded.system_binaries` is false), then builds unpacked under `data_dir` (see
//! [`super::download`]). Binaries older than [`MIN_MAJOR`] are skipped. When a cluster exists,
//! binaries of its major version are preferred, so installing a newer PostgreSQL beside the old one
//! does not make an existing cluster unreadable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest major version the embedded mode runs.
pub const MIN_MAJOR: u32 = 15;

/// A folder holding usable server binaries, with their version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// The folder.
    pub dir: PathBuf,
    /// The full version, e.g. `15.20`.
    pub version: String,
    /// The major version, e.g. `15`.
    pub major: u32,
}

impl Binaries {
    /// The path of one program of this folder, or of the folder `postgres` really lives in when
    /// this one only links a few programs (as `/usr/local/bin` may).
    pub fn program(&self, name: &str) -> PathBuf {
        let here = self.dir.join(name);
        if here.exists() {
            return here;
        }
        std::fs::canonicalize(self.dir.join("postgres"))
            .ok()
            .and_then(|real| real.parent().map(|dir| dir.join(name)))
            .filter(|there| there.exists())
            .unwrap_or(here)
    }

    /// Reads the version of the binaries in `dir`, when it holds `postgres` and `initdb`.
    pub fn probe(dir: &Path) -> Option<Binaries> {
        Self::probe_explained(dir).ok()
    }

    /// Like [`Binaries::probe`], saying why `dir` is not usable (a program missing, or `postgres`
    /// failing to run, e.g. for want of a shared library).
    pub fn probe_explained(dir: &Path) -> Result<Binaries, String> {
        for program in ["postgres", "initdb"] {
            if !dir.join(program).is_file() {
                return Err(format!("{} holds no {program}", dir.display()));
            }
        }
        let postgres = dir.join("postgres");
        let output = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", postgres.display()))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let (version, major) = parse_version(&text).ok_or_else(|| {
            format!(
                "{} --version did not name a PostgreSQL version ({}): {}",
                postgres.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
        Ok(Binaries {
            dir: dir.to_owned(),
            version,
            major,
        })
    }
}

/// The version of `postgres --version` output, e.g. `postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`
/// → (`15.20`, 15).
pub fn parse_version(text: &str) -> Option<(String, u32)> {
    let version = text
        .split_once("(PostgreSQL)")?
        .1
        .split_whitespace()
        .next()?
        .to_owned();
    let major: String = version.chars().take_while(char::is_ascii_digit).collect();
    Some((version.clone(), major.parse().ok()?))
}

/// Where to look for binaries.
#[derive(Debug, Clone, Default)]
pub struct BinarySearch {
    /// `database.embedded.bin_dir`: when set, the only place looked at.
    pub configured: Option<PathBuf>,
    /// The `PATH` to search (and to find `pg_config` on).
    pub path: Option<OsString>,
    /// The usual places, most preferred first (expanded from their version patterns).
    pub usual: Vec<PathBuf>,
}

impl BinarySearch {
    /// The search of this machine: the setting, the process's `PATH`, the usual places and the builds
    /// unpacked under `downloads` (a folder of `data_dir`). Without `system`, only the setting and the
    /// builds under `downloads` are looked at.
    pub fn of_this_machine(configured: Option<&str>, system: bool, downloads: &Path) -> Self {
        if !system {
            return Self {
                configured: configured.map(PathBuf::from),
                path: None,
                usual: versioned_dirs(downloads, "", "bin"),
            };
        }
        let mut usual = Vec::new();
        for (parent, prefix, suffix) in [
            ("/usr/lib/postgresql", "", "bin"),
            ("/usr", "pgsql-", "bin"),
            ("/opt/homebrew/opt", "postgresql@", "bin"),
            ("/usr/local/opt", "postgresql@", "bin"),
        ] {
            usual.extend(versioned_dirs(Path::new(parent), prefix, suffix));
        }
        usual.extend(
            [
                "/opt/homebrew/opt/postgresql/bin",
                "/usr/local/opt/postgresql/bin",
                "/usr/local/pgsql/bin",
                "/Applications/Postgres.app/Contents/Versions/latest/bin",
            ]
            .map(PathBuf::from),
        );
        usual.extend(versioned_dirs(downloads, "", "bin"));
        Self {
            configured: configured.map(PathBuf::from),
            path: std::env::var_os("PATH"),
            usual,
        }
    }

    /// Every folder with usable binaries (major version ≥ [`MIN_MAJOR`]), in search order.
    pub fn candidates(&self) -> Vec<Binaries> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = &self.configured {
            dirs.push(dir.clone());
        } else {
            if let Some(path) = &self.path {
                dirs.extend(std::env::split_paths(path));
                if let Some(dir) = self.pg_config_bindir() {
                    dirs.push(dir);
                }
            }
            dirs.extend(self.usual.iter().cloned());
        }
        let mut found: Vec<Binaries> = Vec::new();
        for dir in dirs {
            let Some(binaries) = Binaries::probe(&dir) else {
                continue;
            };
            let seen = found.iter().any(|b| {
                b.dir == binaries.dir
                    || std::fs::canonicalize(&b.dir).ok() == std::fs::canonicalize(&dir).ok()
            });
            if binaries.major >= MIN_MAJOR && !seen {
                found.push(binaries);
            }
        }
        found
    }

    /// `pg_config --bindir`, when a `pg_config` is on the search path.
    fn pg_config_bindir(&self) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        let pg_config = std::env::split_paths(path)
            .map(|dir| dir.join("pg_config"))
            .find(|candidate| candidate.is_file())?;
        let output = Command::new(pg_config).arg("--bindir").output().ok()?;
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        (output.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
    }

    /// The binaries to use: of `cluster_major` when a cluster exists and such binaries are found,
    /// else the first found.
    pub fn locate(&self, cluster_major: Option<u32>) -> Result<Binaries, String> {
        let candidates = self.candidates();
        let matching = cluster_major
            .and_then(|major| candidates.iter().find(|b| b.major == major))
            .or_else(|| candidates.first());
        match (matching, &self.configured) {
            (Some(binaries), _) => Ok(binaries.clone()),
            (None, Some(dir)) => Err(format!(
                "database.embedded.bin_dir ({}) holds no PostgreSQL server binaries of version {MIN_MAJOR} \
                 or newer (it needs postgres and initdb): point it at the folder that has them (e.g. \
                 /usr/lib/postgresql/<version>/bin on Debian and Ubuntu), or unset it to search the usual places",
                dir.display()
            )),
            (None, None) => Err(missing_binaries_message()),
        }
    }
}

/// What to do when no server binaries are found anywhere.
pub fn missing_binaries_message() -> String {
    format!(
        "the built-in database needs PostgreSQL server binaries (postgres and initdb, version {MIN_MAJOR} \
         or newer) and none were found on PATH, through pg_config, in the usual places or under \
         data_dir/pgsql, and database.embedded.download is false. Install the server package (no \
         database cluster needs to be set up, linernotes makes its own): Debian/Ubuntu `sudo apt \
         install postgresql`, Fedora `sudo dnf install postgresql-server`, macOS `brew install \
         postgresql@17`; or set database.embedded.download: true to download a relocatable build \
         once; or set database.embedded.bin_dir to a folder that holds them; or use a PostgreSQL \
         server you run: set database.url (or DATABASE_URL)"
    )
}

/// `<parent>/<prefix><version>/<suffix>` for every version folder, newest version first.
fn versioned_dirs(parent: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?;
            let key: Vec<u32> = version
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|part| part.parse().ok())
                .collect();
            (!key.is_empty()).then(|| (key, entry.path().join(suffix)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_postgres_output() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n"),
            Some(("15.20".to_owned(), 15))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 17beta1"),
            Some(("17beta1".to_owned(), 17))
        );
        assert_eq!(parse_version("bash: postgres: not found"), None);
    }

    #[test]
    fn nothing_found_names_the_packages_and_the_settings() {
        let search = BinarySearch {
            configured: None,
            path: Some(OsString::new()),
            usual: Vec::new(),
        };
        let message = search.locate(None).unwrap_err();
        for expected in [
            "apt install postgresql",
            "dnf install postgresql-server",
            "brew install",
            "database.embedded.bin_dir",
            "database.embedded.download: true",
            "database.url",
        ] {
            assert!(message.contains(expected), "{message}");
        }
        let search = BinarySearch {
            configured: Some(PathBuf::from("/nonexistent/bin")),
            ..search
        };
        let message = search.locate(None).unwrap_err();
        assert!(
            message.contains("database.embedded.bin_dir (/nonexistent/bin)"),
            "{message}"
        );
    }
}
