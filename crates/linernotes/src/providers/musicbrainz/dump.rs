//! The MusicBrainz JSON dumps: finding the archives, verifying them against `SHA256SUMS`, and streaming
//! the JSON lines out of each `<entity>.tar.xz` without unpacking anything to disk.
//!
//! An archive holds `mbdump/<entity>` (JSON Lines, one WS/2 lookup body per line) beside small files
//! (`TIMESTAMP`, `JSON_DUMPS_SCHEMA_NUMBER`, …). Only the five entity types linernotes models are read;
//! the others (area, event, work, …) are skipped when a folder is given.
//!
//! Every failure names the file, and where the data stops being readable, the last line read: a
//! truncated download, a flipped byte in the xz stream and a line that is no JSON all say where.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::EntityKind;

/// A dump entity type linernotes imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DumpEntity {
    /// `artist.tar.xz` → artists.
    Artist,
    /// `label.tar.xz` → labels.
    Label,
    /// `release-group.tar.xz` → albums.
    ReleaseGroup,
    /// `release.tar.xz` → releases with media and tracks.
    Release,
    /// `recording.tar.xz` → tracks.
    Recording,
}

impl DumpEntity {
    /// Every type, in import order (what others refer to first).
    pub const ALL: [DumpEntity; 5] = [
        DumpEntity::Artist,
        DumpEntity::Label,
        DumpEntity::ReleaseGroup,
        DumpEntity::Release,
        DumpEntity::Recording,
    ];

    /// The dump's name for it (`release-group`).
    pub fn name(self) -> &'static str {
        match self {
            DumpEntity::Artist => "artist",
            DumpEntity::Label => "label",
            DumpEntity::ReleaseGroup => "release-group",
            DumpEntity::Release => "release",
            DumpEntity::Recording => "recording",
        }
    }

    /// The entity kind its lines become.
    pub fn kind(self) -> EntityKind {
        match self {
            DumpEntity::Artist => EntityKind::Artist,
            DumpEntity::Label => EntityKind::Label,
            DumpEntity::ReleaseGroup => EntityKind::Album,
            DumpEntity::Release => EntityKind::Release,
            DumpEntity::Recording => EntityKind::Track,
        }
    }

    /// Parses a dump name (`artist`, `release-group`, …).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name.trim())
    }
}

impl fmt::Display for DumpEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a dump cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Nothing importable was named.
    #[error("{0}")]
    NothingToImport(String),
    /// A file cannot be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The reason.
        source: io::Error,
    },
    /// The compressed stream or the tar inside it ends early or is damaged.
    #[error(
        "{file}: corrupt or truncated archive after line {line} of mbdump/{entity}: {reason} \
         (download it again; nothing was changed in the served data)"
    )]
    Corrupt {
        /// The archive.
        file: String,
        /// Its entity type.
        entity: DumpEntity,
        /// The last complete line read.
        line: u64,
        /// What the decoder said.
        reason: String,
    },
    /// A line is not the JSON of the archive's entity type.
    #[error("{file}: line {line} of mbdump/{entity}: {reason}")]
    BadLine {
        /// The archive.
        file: String,
        /// Its entity type.
        entity: DumpEntity,
        /// The line number (from 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The archive has no `mbdump/<entity>` member.
    #[error("{file}: no mbdump/{entity} inside; is this a MusicBrainz JSON dump archive?")]
    NoData {
        /// The archive.
        file: String,
        /// Its entity type.
        entity: DumpEntity,
    },
    /// The archive's SHA-256 differs from the one `SHA256SUMS` lists.
    #[error(
        "{file}: SHA-256 is {actual} but SHA256SUMS lists {expected} \
         (download it again; nothing was changed in the served data)"
    )]
    Checksum {
        /// The archive.
        file: String,
        /// What SHA256SUMS lists.
        expected: String,
        /// What the file hashes to.
        actual: String,
    },
}

/// One archive to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it holds.
    pub entity: DumpEntity,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 listed for it in a `SHA256SUMS` beside it, when there is one.
    pub expected_sha256: Option<String>,
}

impl DumpFile {
    /// Its file name, for messages.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// The archives named by `paths` (files, or folders holding `<entity>.tar.xz`), restricted to `only`
/// when it is not empty, in import order.
pub fn discover(paths: &[PathBuf], only: &[DumpEntity]) -> Result<Vec<DumpFile>, DumpError> {
    let mut found: Vec<(DumpEntity, PathBuf)> = Vec::new();
    for path in paths {
        let io = |source| DumpError::Io {
            file: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            for entity in DumpEntity::ALL {
                let candidate = path.join(format!("{}.tar.xz", entity.name()));
                if candidate.is_file() {
                    found.push((entity, candidate));
                }
            }
        } else {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let entity = name
                .strip_suffix(".tar.xz")
                .and_then(DumpEntity::parse)
                .ok_or_else(|| {
                    DumpError::NothingToImport(format!(
                        "{}: expected a dump archive named <entity>.tar.xz, <entity> one of \
                         artist, label, release-group, release, recording",
                        path.display()
                    ))
                })?;
            found.push((entity, path.clone()));
        }
    }
    found.retain(|(entity, _)| only.is_empty() || only.contains(entity));
    found.sort_by_key(|(entity, _)| *entity);
    if let Some(pair) = found.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DumpError::NothingToImport(format!(
            "two archives of {}: {} and {}",
            pair[0].0,
            pair[0].1.display(),
            pair[1].1.display()
        )));
    }
    if found.is_empty() {
        return Err(DumpError::NothingToImport(format!(
            "no dump archive to import in {} (expected <entity>.tar.xz files{})",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if only.is_empty() {
                String::new()
            } else {
                format!(
                    " for {}",
                    only.iter().map(|e| e.name()).collect::<Vec<_>>().join(",")
                )
            }
        )));
    }
    found
        .into_iter()
        .map(|(entity, path)| {
            let size = std::fs::metadata(&path)
                .map_err(|source| DumpError::Io {
                    file: path.display().to_string(),
                    source,
                })?
                .len();
            let expected_sha256 = listed_sha256(&path)?;
            Ok(DumpFile {
                path,
                entity,
                size,
                expected_sha256,
            })
        })
        .collect()
}

/// The SHA-256 that a `SHA256SUMS` beside `archive` lists for it (`<hex>  <name>` or `<hex> *<name>`).
fn listed_sha256(archive: &Path) -> Result<Option<String>, DumpError> {
    let Some(dir) = archive.parent() else {
        return Ok(None);
    };
    let sums = dir.join("SHA256SUMS");
    let text = match std::fs::read_to_string(&sums) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(DumpError::Io {
                file: sums.display().to_string(),
                source,
            })
        }
    };
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(text.lines().find_map(|line| {
        let (hash, file) = line.split_once(char::is_whitespace)?;
        let file = file.trim_start().trim_start_matches('*').trim();
        (file == name).then(|| hash.trim().to_ascii_lowercase())
    }))
}

/// A dump's `TIMESTAMP` (`2026-09-16 00:10:02.123456+00`), when it reads as one.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What streaming one archive found besides its lines.
#[derive(Debug, Clone, Default)]
pub struct ArchiveEnd {
    /// The dump's `TIMESTAMP`, when the archive has one.
    pub timestamp: Option<String>,
    /// Lines in `mbdump/<entity>`.
    pub lines: u64,
}

/// Streams `file`: calls `on_line(number, line)` for each JSON line (numbered from 1, without the
/// newline) until it breaks, counts compressed bytes read into `bytes_read`, and verifies the SHA-256
/// when `SHA256SUMS` listed one and the whole file was read. `on_timestamp` sees `TIMESTAMP` when it
/// comes before the data.
pub fn stream_lines<E>(
    file: &DumpFile,
    bytes_read: &AtomicU64,
    mut on_timestamp: impl FnMut(&str),
    mut on_line: impl FnMut(u64, &[u8]) -> Result<ControlFlow<()>, E>,
) -> Result<Result<ArchiveEnd, E>, DumpError> {
    let name = file.name();
    let opened = File::open(&file.path).map_err(|source| DumpError::Io {
        file: name.clone(),
        source,
    })?;
    let mut counted = CountingReader {
        inner: opened,
        bytes_read,
        hasher: file.expected_sha256.as_ref().map(|_| Sha256::new()),
    };
    let mut end = ArchiveEnd::default();
    let data_member = format!("mbdump/{}", file.entity.name());
    let corrupt = |line: u64, e: io::Error| DumpError::Corrupt {
        file: name.clone(),
        entity: file.entity,
        line,
        reason: e.to_string(),
    };
    let mut found_data = false;
    let mut stopped = false;
    {
        let decoder =
            liblzma::read::XzDecoder::new(BufReader::with_capacity(1 << 16, &mut counted));
        let mut archive = tar::Archive::new(decoder);
        {
            let entries = archive.entries().map_err(|e| corrupt(0, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| corrupt(end.lines, e))?;
                let path = entry
                    .path()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let path = path.trim_start_matches("./");
                if path == "TIMESTAMP" {
                    let mut text = String::new();
                    BufReader::new(entry)
                        .take(1024)
                        .read_to_string(&mut text)
                        .map_err(|e| corrupt(end.lines, e))?;
                    let text = text.trim();
                    if !text.is_empty() {
                        on_timestamp(text);
                        end.timestamp = Some(text.to_owned());
                    }
                } else if path == data_member {
                    found_data = true;
                    let mut reader = BufReader::with_capacity(1 << 20, entry);
                    let mut line = Vec::with_capacity(1 << 16);
                    loop {
                        line.clear();
                        let n = reader
                            .read_until(b'\n', &mut line)
                            .map_err(|e| corrupt(end.lines, e))?;
                        if n == 0 {
                            break;
                        }
                        end.lines += 1;
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if line.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        match on_line(end.lines, &line) {
                            Ok(ControlFlow::Continue(())) => {}
                            Ok(ControlFlow::Break(())) => {
                                stopped = true;
                                break;
                            }
                            Err(e) => return Ok(Err(e)),
                        }
                    }
                    if stopped {
                        break;
                    }
                }
            }
        }
        if !stopped {
            // Reading the xz stream to its end checks its index and footer: a file cut short after
            // the tar's last block is still caught.
            let mut decoder = archive.into_inner();
            io::copy(&mut decoder, &mut io::sink()).map_err(|e| corrupt(end.lines, e))?;
        }
    }
    if !found_data {
        return Err(DumpError::NoData {
            file: name,
            entity: file.entity,
        });
    }
    if stopped {
        return Ok(Ok(end));
    }
    // The tar ends before the file does (padding, the xz index): hash the rest too.
    io::copy(&mut counted, &mut io::sink()).map_err(|source| DumpError::Io {
        file: name.clone(),
        source,
    })?;
    if let (Some(expected), Some(hasher)) = (&file.expected_sha256, counted.hasher.take()) {
        let actual: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if &actual != expected {
            return Err(DumpError::Checksum {
                file: name,
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(Ok(end))
}

/// Counts (and, when asked, hashes) the compressed bytes as they are read.
struct CountingReader<'a> {
    inner: File,
    bytes_read: &'a AtomicU64,
    hasher: Option<Sha256>,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_names_round_trip() {
        for entity in DumpEntity::ALL {
            assert_eq!(DumpEntity::parse(entity.name()), Some(entity));
        }
        assert_eq!(DumpEntity::parse("work"), None);
    }

    #[test]
    fn timestamps_read_as_the_dumps_write_them() {
        let t = parse_timestamp("2026-09-16 00:10:02.123456+00\n").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-09-16T00:10:02.123456+00:00");
        assert!(parse_timestamp("yesterday").is_none());
    }
}
