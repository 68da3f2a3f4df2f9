//! Who runs the server, and preparing directories for that account.
//!
//! PostgreSQL refuses to run as root. When linernotes runs as root, the server runs as
//! `database.embedded.run_as` (default `postgres` when that account exists) and owns the cluster's
//! files; otherwise it runs as linernotes' own account.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::unistd::{Gid, Uid, User};

/// The account the server runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAccount {
    /// Its name.
    pub name: String,
    /// Its user ID.
    pub uid: Uid,
    /// Its primary group.
    pub gid: Gid,
    /// Whether it differs from linernotes' own account (the child then switches to it).
    pub switch: bool,
}

impl ServerAccount {
    /// The account for the running process and `run_as`.
    pub fn resolve(run_as: Option<&str>) -> Result<Self, String> {
        let me = nix::unistd::geteuid();
        if !me.is_root() {
            let own = User::from_uid(me).ok().flatten();
            let own_name = own
                .as_ref()
                .map_or_else(|| me.to_string(), |u| u.name.clone());
            if let Some(name) = run_as.filter(|name| *name != own_name) {
                return Err(format!(
                    "database.embedded.run_as is '{name}', but only root can run the server as another \
                     account; linernotes runs as '{own_name}': unset database.embedded.run_as"
                ));
            }
            return Ok(Self {
                name: own_name,
                uid: me,
                gid: nix::unistd::getegid(),
                switch: false,
            });
        }
        let name = run_as.unwrap_or("postgres");
        let user = User::from_name(name)
            .map_err(|e| format!("cannot look up the account '{name}': {e}"))?;
        match user {
            Some(user) if user.uid.is_root() => Err(format!(
                "database.embedded.run_as names '{name}', which is root; PostgreSQL refuses to run as \
                 root: name an unprivileged account"
            )),
            Some(user) => Ok(Self {
                name: user.name,
                uid: user.uid,
                gid: user.gid,
                switch: true,
            }),
            None if run_as.is_some() => Err(format!(
                "database.embedded.run_as names '{name}', which is no account on this machine: create \
                 it (e.g. `useradd --system --no-create-home {name}`) or name an existing unprivileged \
                 account"
            )),
            None => Err(
                "linernotes runs as root and PostgreSQL refuses to run as root, so the built-in server \
                 runs as another account: there is no 'postgres' account here, so set \
                 database.embedded.run_as to an unprivileged account (or create one: \
                 `useradd --system --no-create-home postgres`)"
                    .to_owned(),
            ),
        }
    }

    /// Makes `dir` (created when missing) belong to this account, readable by it alone.
    pub fn own_private_dir(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        if self.switch {
            nix::unistd::chown(dir, Some(self.uid), Some(self.gid))
                .map_err(|e| format!("cannot give {} to {}: {e}", dir.display(), self.name))?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))
    }

    /// Checks that this account can enter every folder from the root down to `dir`, so the server
    /// can reach its files; the error names the folder in the way.
    pub fn check_reachable(&self, dir: &Path) -> Result<(), String> {
        if !self.switch {
            return Ok(());
        }
        for folder in dir.ancestors().collect::<Vec<_>>().into_iter().rev() {
            let Ok(meta) = std::fs::metadata(folder) else {
                continue;
            };
            let mode = meta.mode();
            let enters = if meta.uid() == self.uid.as_raw() {
                mode & 0o100 != 0
            } else if meta.gid() == self.gid.as_raw() {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            if !enters {
                return Err(format!(
                    "the account '{}' that runs the built-in server cannot enter {}: choose a data_dir it \
                     can reach (e.g. /var/lib/linernotes), or let it in (`chmod o+x {}`)",
                    self.name,
                    folder.display(),
                    folder.display()
                ));
            }
        }
        Ok(())
    }
}
