//! The backup file: a magic line, a gzip stream, and the stream's SHA-256 at the end.
//!
//! ```text
//! LINERNOTES-BACKUP 1\n                       magic line (plain)
//! gzip {                                      the snapshot
//!   manifest as one JSON line\n               schema version, tables and their columns, sequences
//!   per table: frames (u32 big-endian length, bytes of COPY text); a 0 length ends the table,
//!              followed by the table's row count (u64 big-endian)
//! }
//! \nSHA-256 <64 hex digits>\n                  checksum of the gzip stream (plain)
//! ```
//!
//! A file is checked whole (magic, checksum, every frame and row count) before a restore touches
//! anything, so a truncated, damaged or foreign file is refused with nothing changed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of every backup.
pub const MAGIC: &[u8] = b"LINERNOTES-BACKUP 1\n";
/// The trailer's prefix; 64 hex digits and a newline follow.
const TRAILER_PREFIX: &[u8] = b"\nSHA-256 ";
const TRAILER_LEN: u64 = 9 + 64 + 1;

/// What a backup holds, written before its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The newest migration applied to the database the snapshot was taken of.
    pub schema_version: i64,
    /// When the snapshot was taken (RFC 3339).
    pub taken_at: String,
    /// The server's version.
    pub server_version: String,
    /// The tables, in the order their data follows.
    pub tables: Vec<TableManifest>,
    /// Sequence positions at the snapshot.
    pub sequences: Vec<SequenceState>,
}

/// One table of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableManifest {
    /// Its name (schema `public`).
    pub name: String,
    /// The columns its COPY data has, in order (generated columns are left out).
    pub columns: Vec<String>,
}

/// A sequence's position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceState {
    /// Its name (schema `public`).
    pub name: String,
    /// Its last value; `None` when it was never used.
    pub last_value: Option<i64>,
}

/// Why a file is not a backup that can be restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupFileError {
    /// It does not start like a backup.
    #[error("{0} is not a linernotes backup (it does not start with the backup header)")]
    Foreign(PathBuf),
    /// It ends before its checksum, or its checksum does not match.
    #[error("{0} is truncated or damaged ({1}); nothing was restored")]
    Damaged(PathBuf, String),
    /// It cannot be read.
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, io::Error),
}

/// Writes a backup to `<path>.partial` and renames it to `path` once complete, so a backup that
/// stopped half-way never carries the final name.
pub struct BackupWriter {
    path: PathBuf,
    partial: PathBuf,
    /// `None` once finished.
    gzip: Option<GzEncoder<HashingWriter<BufWriter<File>>>>,
    rows: u64,
}

impl BackupWriter {
    /// Starts a backup at `path` with its manifest.
    pub fn create(path: &Path, manifest: &Manifest) -> io::Result<Self> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut file = BufWriter::new(File::create(&partial)?);
        file.write_all(MAGIC)?;
        let hashing = HashingWriter {
            inner: file,
            hash: Sha256::new(),
        };
        let mut gzip = GzEncoder::new(hashing, flate2::Compression::new(3));
        serde_json::to_writer(&mut gzip, manifest)?;
        gzip.write_all(b"\n")?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            gzip: Some(gzip),
            rows: 0,
        })
    }

    fn stream(&mut self) -> io::Result<&mut GzEncoder<HashingWriter<BufWriter<File>>>> {
        self.gzip
            .as_mut()
            .ok_or_else(|| io::Error::other("the backup is already finished"))
    }

    /// Appends a chunk of the current table's COPY text.
    pub fn chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.rows += count_rows(bytes);
        let length =
            u32::try_from(bytes.len()).map_err(|_| io::Error::other("a COPY chunk over 4 GiB"))?;
        let stream = self.stream()?;
        stream.write_all(&length.to_be_bytes())?;
        stream.write_all(bytes)
    }

    /// Ends the current table; returns its row count.
    pub fn end_table(&mut self) -> io::Result<u64> {
        let rows = std::mem::take(&mut self.rows);
        let stream = self.stream()?;
        stream.write_all(&0u32.to_be_bytes())?;
        stream.write_all(&rows.to_be_bytes())?;
        Ok(rows)
    }

    /// Finishes the stream, appends the checksum, syncs and gives the file its name.
    pub fn finish(mut self) -> io::Result<u64> {
        let hashing = self
            .gzip
            .take()
            .ok_or_else(|| io::Error::other("the backup is already finished"))?
            .finish()?;
        let digest = hex(&hashing.hash.finalize());
        let mut file = hashing.inner;
        file.write_all(TRAILER_PREFIX)?;
        file.write_all(digest.as_bytes())?;
        file.write_all(b"\n")?;
        let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        std::fs::rename(&self.partial, &self.path)?;
        Ok(size)
    }
}

impl Drop for BackupWriter {
    fn drop(&mut self) {
        // Finished backups were renamed away; what is left is a backup that stopped half-way.
        let _ = std::fs::remove_file(&self.partial);
    }
}

/// Rows in a piece of COPY text: one line each (line breaks inside values are escaped).
fn count_rows(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hash.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A backup file opened for reading, its checksum verified.
pub struct BackupReader {
    path: PathBuf,
    stream: GzDecoder<io::Take<BufReader<File>>>,
    /// The manifest.
    pub manifest: Manifest,
}

/// One piece of a table's data.
pub enum Piece {
    /// COPY text.
    Chunk(Vec<u8>),
    /// The table ends, with this many rows.
    End(u64),
}

impl BackupReader {
    /// Opens `path`: checks the header and the checksum of the whole stream, then reads the manifest.
    pub fn open(path: &Path) -> Result<Self, BackupFileError> {
        let io_error = |e| BackupFileError::Io(path.to_owned(), e);
        let damaged = |why: &str| BackupFileError::Damaged(path.to_owned(), why.to_owned());
        let mut file = File::open(path).map_err(io_error)?;
        let length = file.metadata().map_err(io_error)?.len();
        let mut header = vec![0u8; MAGIC.len()];
        if file.read_exact(&mut header).is_err() || header != MAGIC {
            return Err(BackupFileError::Foreign(path.to_owned()));
        }
        if length < MAGIC.len() as u64 + TRAILER_LEN {
            return Err(damaged("it ends before its checksum"));
        }
        let body = length - MAGIC.len() as u64 - TRAILER_LEN;
        file.seek(SeekFrom::Start(MAGIC.len() as u64 + body))
            .map_err(io_error)?;
        let mut trailer = Vec::new();
        file.read_to_end(&mut trailer).map_err(io_error)?;
        let expected = trailer
            .strip_prefix(TRAILER_PREFIX)
            .and_then(|rest| rest.strip_suffix(b"\n"))
            .ok_or_else(|| damaged("it does not end with its checksum"))?
            .to_vec();
        file.seek(SeekFrom::Start(MAGIC.len() as u64))
            .map_err(io_error)?;
        let mut sink = HashingWriter {
            inner: io::sink(),
            hash: Sha256::new(),
        };
        io::copy(&mut BufReader::new(&mut file).take(body), &mut sink).map_err(io_error)?;
        if hex(&sink.hash.finalize()).as_bytes() != expected.as_slice() {
            return Err(damaged("its checksum does not match"));
        }
        file.seek(SeekFrom::Start(MAGIC.len() as u64))
            .map_err(io_error)?;
        let mut stream = GzDecoder::new(BufReader::new(file).take(body));
        let mut line = Vec::new();
        loop {
            let mut byte = [0u8; 1];
            stream
                .read_exact(&mut byte)
                .map_err(|_| damaged("its manifest is cut short"))?;
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        let manifest: Manifest =
            serde_json::from_slice(&line).map_err(|_| damaged("its manifest is unreadable"))?;
        Ok(Self {
            path: path.to_owned(),
            stream,
            manifest,
        })
    }

    /// The next piece of the current table's data.
    pub fn next_piece(&mut self) -> Result<Piece, BackupFileError> {
        let damaged =
            || BackupFileError::Damaged(self.path.clone(), "its data is cut short".to_owned());
        let mut length = [0u8; 4];
        self.stream.read_exact(&mut length).map_err(|_| damaged())?;
        let length = u32::from_be_bytes(length) as usize;
        if length == 0 {
            let mut rows = [0u8; 8];
            self.stream.read_exact(&mut rows).map_err(|_| damaged())?;
            return Ok(Piece::End(u64::from_be_bytes(rows)));
        }
        let mut chunk = vec![0u8; length];
        self.stream.read_exact(&mut chunk).map_err(|_| damaged())?;
        Ok(Piece::Chunk(chunk))
    }

    /// Reads every table's data through, checking each row count against the data, and that nothing
    /// follows the last table. Run before anything is restored.
    pub fn verify(path: &Path) -> Result<Manifest, BackupFileError> {
        let mut reader = Self::open(path)?;
        for table in reader.manifest.tables.clone() {
            let mut rows = 0;
            loop {
                match reader.next_piece()? {
                    Piece::Chunk(chunk) => rows += count_rows(&chunk),
                    Piece::End(expected) if expected == rows => break,
                    Piece::End(_) => {
                        return Err(BackupFileError::Damaged(
                            path.to_owned(),
                            format!("the row count of {} does not match its data", table.name),
                        ))
                    }
                }
            }
        }
        let mut rest = [0u8; 1];
        if reader.stream.read(&mut rest).map_or(true, |n| n != 0) {
            return Err(BackupFileError::Damaged(
                path.to_owned(),
                "data follows the last table".to_owned(),
            ));
        }
        Ok(reader.manifest)
    }
}
