//! One linernotes per data directory: an exclusive lock on `<data_dir>/linernotes.lock`, which holds
//! the holder's process ID. The lock goes with the process (even after `kill -9`), so a stale file
//! never blocks a start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The held lock; released when dropped or when the process ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: Flock<File>,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Held {
        /// The holder's process ID, as it wrote it.
        pid: Option<u32>,
        /// The lock file.
        path: PathBuf,
    },
    /// The file could not be opened or locked.
    Io(String),
}

impl InstanceLock {
    /// The lock file of `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("linernotes.lock")
    }

    /// Takes the lock of `data_dir` without waiting and writes this process's ID into it.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let path = Self::path(data_dir);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::Io(format!("cannot open {}: {e}", path.display())))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut locked) => {
                let pid = std::process::id().to_string();
                let written = locked
                    .set_len(0)
                    .and_then(|()| locked.rewind())
                    .and_then(|()| locked.write_all(pid.as_bytes()))
                    .and_then(|()| locked.sync_all());
                written
                    .map_err(|e| LockError::Io(format!("cannot write {}: {e}", path.display())))?;
                Ok(Self { _file: locked })
            }
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Err(LockError::Held {
                    pid: text.trim().parse().ok(),
                    path,
                })
            }
            Err((_, errno)) => Err(LockError::Io(format!(
                "cannot lock {}: {errno}",
                path.display()
            ))),
        }
    }
}
