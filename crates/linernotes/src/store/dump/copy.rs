//! Entities as rows of the catalogue tables, encoded for `COPY … FROM STDIN` in PostgreSQL's text
//! format. Which rows an entity becomes is [`crate::store::rows`]'s, as for the write path; this
//! file only encodes them.
//!
//! Text rather than binary COPY: every column here is text, a small integer, a boolean, a UUID or a text
//! array, whose text forms are short and which PostgreSQL parses about as fast as the binary ones; the
//! text form needs no per-type wire encoders and shows up readably in a failing row's error. (Measured
//! beside the import in BENCHMARKS.md: the raw COPY rate is far above what parsing the JSON allows.)
//! Encoding writes straight into the table's buffer: no allocation per row or value.

use std::io::Write as _;

use uuid::Uuid;

use crate::domain::Entity;
use crate::store::rows::{entity_rows, CatalogueTable, RowSink, Table, CATALOGUE_TABLES};

/// Rows of many entities, one COPY text buffer per catalogue table.
#[derive(Debug)]
pub struct CopyBatch {
    buffers: Vec<Vec<u8>>,
    rows: Vec<u64>,
    /// The `complete` and `fetched_at` columns of every `entity` row, encoded once: the rows'
    /// entities are complete and count as fetched at the batch's time.
    stamp: String,
    /// The table of the row being encoded.
    current: usize,
    /// Whether the next column is the row's first (no tab before it).
    first: bool,
}

impl CopyBatch {
    /// An empty batch whose entities count as fetched at `fetched_at` (RFC 3339).
    pub fn new(fetched_at: &str) -> Self {
        CopyBatch {
            buffers: vec![Vec::new(); CATALOGUE_TABLES.len()],
            rows: vec![0; CATALOGUE_TABLES.len()],
            stamp: format!("t\t{fetched_at}"),
            current: 0,
            first: true,
        }
    }

    /// Bytes buffered so far.
    pub fn bytes(&self) -> usize {
        self.buffers.iter().map(Vec::len).sum()
    }

    /// Rows buffered so far, all tables together.
    pub fn rows(&self) -> u64 {
        self.rows.iter().sum()
    }

    /// Each table with its encoded rows and their count, skipping empty ones.
    pub fn tables(&self) -> impl Iterator<Item = (&CatalogueTable, &[u8], u64)> {
        CATALOGUE_TABLES
            .iter()
            .zip(&self.buffers)
            .zip(&self.rows)
            .filter(|((_, buffer), _)| !buffer.is_empty())
            .map(|((table, buffer), rows)| (table, buffer.as_slice(), *rows))
    }

    /// Adds every row of `entity`.
    pub fn push(&mut self, entity: &Entity) {
        entity_rows(entity, self);
    }

    /// The buffer of the row being encoded, after the separator its next column needs.
    fn column(&mut self) -> &mut Vec<u8> {
        let out = &mut self.buffers[self.current];
        if !self.first {
            out.push(b'\t');
        }
        self.first = false;
        out
    }

    fn null(&mut self) -> &mut Self {
        self.column().extend_from_slice(b"\\N");
        self
    }
}

impl RowSink for CopyBatch {
    fn begin(&mut self, table: Table) -> &mut Self {
        self.current = table.index();
        self.first = true;
        self
    }

    fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
        let Some(value) = value else {
            return self.null();
        };
        let mut buf = Uuid::encode_buffer();
        let text = value.hyphenated().encode_lower(&mut buf);
        self.column().extend_from_slice(text.as_bytes());
        self
    }

    fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        let Some(value) = value else {
            return self.null();
        };
        escape_into(self.column(), value);
        self
    }

    fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        let Some(value) = value else {
            return self.null();
        };
        // Writing into a Vec cannot fail.
        let _ = write!(self.column(), "{value}");
        self
    }

    fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
        let text: &[u8] = match value {
            Some(true) => b"t",
            Some(false) => b"f",
            None => b"\\N",
        };
        self.column().extend_from_slice(text);
        self
    }

    /// A text array: `{"a","b"}` with array quoting, then COPY escaping.
    fn texts(&mut self, values: &[String]) -> &mut Self {
        let out = self.column();
        out.push(b'{');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            for &b in value.as_bytes() {
                // An array element escapes `"` and `\`; COPY then escapes that backslash again.
                match b {
                    b'"' => out.extend_from_slice(b"\\\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
            out.push(b'"');
        }
        out.push(b'}');
        self
    }

    fn stamp(&mut self) -> &mut Self {
        // Taking the string out moves it; nothing is copied or allocated.
        let stamp = std::mem::take(&mut self.stamp);
        self.column().extend_from_slice(stamp.as_bytes());
        self.stamp = stamp;
        self
    }

    fn end(&mut self) {
        self.buffers[self.current].push(b'\n');
        self.rows[self.current] += 1;
    }
}

/// Appends `value` escaped for COPY's text format.
fn escape_into(out: &mut Vec<u8>, value: &str) {
    for &b in value.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_copy() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\tb\\c\nd");
        assert_eq!(out, b"a\\tb\\\\c\\nd");
    }

    #[test]
    fn arrays_quote_their_elements() {
        let mut batch = CopyBatch::new("2026-12-01T00:00:00Z");
        batch
            .begin(Table::Track)
            .texts(&["a\"b".to_owned(), "c,d".to_owned(), "e\\f\tg".to_owned()])
            .opt_int(Some(-12))
            .opt_text(None)
            .end();
        let (_, encoded, rows) = batch.tables().next().unwrap();
        assert_eq!(rows, 1);
        assert_eq!(
            String::from_utf8(encoded.to_vec()).unwrap(),
            r#"{"a\\"b","c,d","e\\\\f\tg"}	-12	\N"#.to_owned() + "\n"
        );
    }
}
