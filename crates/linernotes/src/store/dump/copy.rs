//! Entities as rows of the catalogue tables, encoded for `COPY … FROM STDIN` in PostgreSQL's text
//! format.
//!
//! Text rather than binary COPY: every column here is text, a small integer, a boolean, a UUID or a text
//! array, whose text forms are short and which PostgreSQL parses about as fast as the binary ones; the
//! text form needs no per-type wire encoders and shows up readably in a failing row's error. (Measured
//! beside the import in BENCHMARKS.md: the raw COPY rate is far above what parsing the JSON allows.)
//!
//! The rows are what `metadata::write` stores for a fetched entity, with the same rules for duplicates
//! inside one entity: the first tag of a name, external ID, medium position or track position wins.

use std::collections::HashSet;
use std::fmt::Write as _;

use uuid::Uuid;

use crate::domain::{CreditedArtist, Entity, LifeSpan, Namespace, TagCount};

/// One catalogue table the import fills: its name and the columns COPY writes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueTable {
    /// Table name (the same in `public` and in a staging schema).
    pub name: &'static str,
    /// The columns COPY writes.
    pub columns: &'static str,
    /// The column naming the entity a row belongs to (for carrying rows over between schemas).
    pub entity_column: &'static str,
}

/// Every table whose rows come from the dumps, parents before children.
pub const CATALOGUE_TABLES: [CatalogueTable; 14] = [
    CatalogueTable {
        name: "entity",
        columns: "mbid, kind, complete, disambiguation, fetched_at",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "artist",
        columns:
            "mbid, name, sort_name, artist_type, gender, country, area, begin_date, end_date, ended",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "album",
        columns:
            "mbid, title, primary_type, secondary_types, first_release_date, artist_credit_name",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "release",
        columns:
            "mbid, title, status, date, country, barcode, packaging, album_mbid, artist_credit_name",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "medium",
        columns: "release_mbid, position, format, title",
        entity_column: "release_mbid",
    },
    CatalogueTable {
        name: "release_track",
        columns:
            "release_mbid, medium_position, position, number, title, length_ms, recording_mbid, \
                  artist_credit_name, track_mbid, artist_mbid",
        entity_column: "release_mbid",
    },
    CatalogueTable {
        name: "release_label",
        columns: "release_mbid, position, label_mbid, name, catalog_number",
        entity_column: "release_mbid",
    },
    CatalogueTable {
        name: "track",
        columns: "mbid, title, length_ms, first_release_date, artist_credit_name, isrcs",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "label",
        columns:
            "mbid, name, sort_name, label_type, country, label_code, begin_date, end_date, ended",
        entity_column: "mbid",
    },
    CatalogueTable {
        name: "artist_credit",
        columns: "entity_mbid, position, artist_mbid, name, join_phrase",
        entity_column: "entity_mbid",
    },
    CatalogueTable {
        name: "alias",
        columns: "entity_mbid, position, name, sort_name, locale, is_primary, alias_type",
        entity_column: "entity_mbid",
    },
    CatalogueTable {
        name: "entity_tag",
        columns: "entity_mbid, category, position, name, count",
        entity_column: "entity_mbid",
    },
    CatalogueTable {
        name: "url_relation",
        columns: "entity_mbid, position, relation_type, url",
        entity_column: "entity_mbid",
    },
    CatalogueTable {
        name: "external_id",
        columns: "entity_mbid, namespace, value",
        entity_column: "entity_mbid",
    },
];

const ENTITY: usize = 0;
const ARTIST: usize = 1;
const ALBUM: usize = 2;
const RELEASE: usize = 3;
const MEDIUM: usize = 4;
const RELEASE_TRACK: usize = 5;
const RELEASE_LABEL: usize = 6;
const TRACK: usize = 7;
const LABEL: usize = 8;
const ARTIST_CREDIT: usize = 9;
const ALIAS: usize = 10;
const ENTITY_TAG: usize = 11;
const URL_RELATION: usize = 12;
const EXTERNAL_ID: usize = 13;

/// Rows of many entities, one COPY text buffer per catalogue table.
#[derive(Debug)]
pub struct CopyBatch {
    buffers: Vec<Vec<u8>>,
    rows: Vec<u64>,
    /// When the rows' entities count as fetched (`fetched_at`), in PostgreSQL's text form.
    fetched_at: String,
}

impl CopyBatch {
    /// An empty batch whose entities count as fetched at `fetched_at` (RFC 3339).
    pub fn new(fetched_at: &str) -> Self {
        CopyBatch {
            buffers: vec![Vec::new(); CATALOGUE_TABLES.len()],
            rows: vec![0; CATALOGUE_TABLES.len()],
            fetched_at: fetched_at.to_owned(),
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
        let mbid = entity.mbid().as_uuid();
        let fetched_at = std::mem::take(&mut self.fetched_at);
        self.row(ENTITY, |r| {
            r.uuid(mbid)
                .text(entity.kind().as_str())
                .raw("t")
                .opt(entity.disambiguation())
                .raw(&fetched_at);
        });
        self.fetched_at = fetched_at;
        match entity {
            Entity::Artist(a) => {
                self.row(ARTIST, |r| {
                    r.uuid(mbid)
                        .text(&a.name)
                        .opt(a.sort_name.as_deref())
                        .opt(a.artist_type.as_deref())
                        .opt(a.gender.as_deref())
                        .opt(a.country.as_deref())
                        .opt(a.area.as_deref());
                    life_span(r, &a.life_span);
                });
                self.aliases(mbid, &a.aliases);
            }
            Entity::Album(a) => {
                self.row(ALBUM, |r| {
                    r.uuid(mbid)
                        .text(&a.title)
                        .opt(a.primary_type.as_deref())
                        .array(&a.secondary_types)
                        .opt(a.first_release_date.as_deref())
                        .text(a.artist_credit_name.as_deref().unwrap_or_default());
                });
                self.credits(mbid, &a.artist_credit);
            }
            Entity::Release(rel) => {
                self.row(RELEASE, |r| {
                    r.uuid(mbid)
                        .text(&rel.title)
                        .opt(rel.status.as_deref())
                        .opt(rel.date.as_deref())
                        .opt(rel.country.as_deref())
                        .opt(rel.barcode.as_deref())
                        .opt(rel.packaging.as_deref())
                        .opt_uuid(rel.album_id.map(|m| m.as_uuid()))
                        .text(rel.artist_credit_name.as_deref().unwrap_or_default());
                });
                for (position, label) in rel.labels.iter().enumerate() {
                    self.row(RELEASE_LABEL, |r| {
                        r.uuid(mbid)
                            .int(position as i64)
                            .opt_uuid(label.label_id.map(|m| m.as_uuid()))
                            .opt(label.name.as_deref())
                            .opt(label.catalog_number.as_deref());
                    });
                }
                let mut media = HashSet::new();
                let mut tracks = HashSet::new();
                for medium in &rel.media {
                    if !media.insert(medium.position) {
                        continue;
                    }
                    self.row(MEDIUM, |r| {
                        r.uuid(mbid)
                            .int(i64::from(medium.position))
                            .opt(medium.format.as_deref())
                            .opt(medium.title.as_deref());
                    });
                    for track in &medium.tracks {
                        if !tracks.insert((medium.position, track.position)) {
                            continue;
                        }
                        self.row(RELEASE_TRACK, |r| {
                            r.uuid(mbid)
                                .int(i64::from(medium.position))
                                .int(i64::from(track.position))
                                .opt(track.number.as_deref())
                                .text(&track.title)
                                .opt_int(track.length_ms)
                                .opt_uuid(track.track_id.map(|m| m.as_uuid()))
                                .text(track.artist_credit_name.as_deref().unwrap_or_default())
                                .opt_uuid(track.release_track_id.map(|m| m.as_uuid()))
                                .opt_uuid(track.artist_id.map(|m| m.as_uuid()));
                        });
                    }
                }
                self.credits(mbid, &rel.artist_credit);
            }
            Entity::Track(t) => {
                self.row(TRACK, |r| {
                    r.uuid(mbid)
                        .text(&t.title)
                        .opt_int(t.length_ms)
                        .opt(t.first_release_date.as_deref())
                        .text(t.artist_credit_name.as_deref().unwrap_or_default())
                        .array(&t.isrcs);
                });
                self.credits(mbid, &t.artist_credit);
            }
            Entity::Label(l) => {
                self.row(LABEL, |r| {
                    r.uuid(mbid)
                        .text(&l.name)
                        .opt(l.sort_name.as_deref())
                        .opt(l.label_type.as_deref())
                        .opt(l.country.as_deref())
                        .opt_int(l.label_code.map(i64::from));
                    life_span(r, &l.life_span);
                });
                self.aliases(mbid, &l.aliases);
            }
        }
        let (genres, tags) = match entity {
            Entity::Artist(e) => (&e.genres, &e.tags),
            Entity::Album(e) => (&e.genres, &e.tags),
            Entity::Release(e) => (&e.genres, &e.tags),
            Entity::Track(e) => (&e.genres, &e.tags),
            Entity::Label(e) => (&e.genres, &e.tags),
        };
        self.tags(mbid, "genre", genres);
        self.tags(mbid, "tag", tags);
        for (position, url) in entity.urls().iter().enumerate() {
            self.row(URL_RELATION, |r| {
                r.uuid(mbid)
                    .int(position as i64)
                    .text(&url.relation_type)
                    .text(&url.url);
            });
        }
        let mut seen = HashSet::new();
        for id in entity.external_ids() {
            if id.namespace() == Namespace::MusicBrainz
                || !seen.insert((id.namespace(), id.value()))
            {
                continue;
            }
            self.row(EXTERNAL_ID, |r| {
                r.uuid(mbid).text(id.namespace().as_str()).text(id.value());
            });
        }
    }

    fn aliases(&mut self, mbid: Uuid, aliases: &[crate::domain::Alias]) {
        for (position, alias) in aliases.iter().enumerate() {
            self.row(ALIAS, |r| {
                r.uuid(mbid)
                    .int(position as i64)
                    .text(&alias.name)
                    .opt(alias.sort_name.as_deref())
                    .opt(alias.locale.as_deref())
                    .opt_bool(alias.primary)
                    .opt(alias.alias_type.as_deref());
            });
        }
    }

    fn credits(&mut self, mbid: Uuid, credits: &[CreditedArtist]) {
        for (position, credit) in credits.iter().enumerate() {
            self.row(ARTIST_CREDIT, |r| {
                r.uuid(mbid)
                    .int(position as i64)
                    .uuid(credit.artist_id.as_uuid())
                    .text(&credit.name)
                    .text(&credit.join_phrase);
            });
        }
    }

    fn tags(&mut self, mbid: Uuid, category: &str, tags: &[TagCount]) {
        let mut seen = HashSet::new();
        for (position, tag) in tags.iter().enumerate() {
            if !seen.insert(tag.name.as_str()) {
                continue;
            }
            self.row(ENTITY_TAG, |r| {
                r.uuid(mbid)
                    .text(category)
                    .int(position as i64)
                    .text(&tag.name)
                    .int(i64::from(tag.count));
            });
        }
    }

    fn row(&mut self, table: usize, fill: impl FnOnce(&mut Row<'_>)) {
        let mut row = Row {
            out: &mut self.buffers[table],
            first: true,
        };
        fill(&mut row);
        row.out.push(b'\n');
        self.rows[table] += 1;
    }
}

fn life_span(r: &mut Row<'_>, span: &LifeSpan) {
    r.opt(span.begin.as_deref())
        .opt(span.end.as_deref())
        .opt_bool(span.ended);
}

/// One row being encoded: fields separated by tabs, `\N` for null, backslash escapes.
struct Row<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Row<'_> {
    fn sep(&mut self) {
        if !self.first {
            self.out.push(b'\t');
        }
        self.first = false;
    }

    fn raw(&mut self, value: &str) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(value.as_bytes());
        self
    }

    fn text(&mut self, value: &str) -> &mut Self {
        self.sep();
        escape_into(self.out, value);
        self
    }

    fn opt(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.raw("\\N"),
        }
    }

    fn uuid(&mut self, value: Uuid) -> &mut Self {
        self.sep();
        let mut buf = Uuid::encode_buffer();
        self.out
            .extend_from_slice(value.hyphenated().encode_lower(&mut buf).as_bytes());
        self
    }

    fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
        match value {
            Some(v) => self.uuid(v),
            None => self.raw("\\N"),
        }
    }

    fn int(&mut self, value: i64) -> &mut Self {
        self.sep();
        let mut text = String::new();
        let _ = write!(text, "{value}");
        self.out.extend_from_slice(text.as_bytes());
        self
    }

    fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.raw("\\N"),
        }
    }

    fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
        self.raw(match value {
            Some(true) => "t",
            Some(false) => "f",
            None => "\\N",
        })
    }

    /// A text array: `{"a","b"}` with array quoting, then COPY escaping.
    fn array(&mut self, values: &[String]) -> &mut Self {
        let mut literal = String::from("{");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push('"');
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        self.text(&literal)
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
        let mut out = Vec::new();
        let mut row = Row {
            out: &mut out,
            first: true,
        };
        row.array(&["a\"b".to_owned(), "c,d".to_owned()]);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a\\"b","c,d"}"#);
    }
}
