//! Which rows of the catalogue tables an entity becomes: the one mapping that both the write path
//! (`metadata::write`: one fetched entity, bound into statements inside its transaction) and the dump
//! import (`dump::copy`: many entities encoded for `COPY`) follow.
//!
//! [`entity_rows`] walks an entity and hands every row, column by column in the order its
//! [`CatalogueTable`] lists them, to a [`RowSink`]; each path only decides how a value is written.
//! The rules for duplicates inside one entity live here too: the first tag of a name, external ID,
//! medium position or track position wins (the tables' primary keys allow no second one).

use std::collections::HashSet;

use uuid::Uuid;

use crate::domain::{Alias, CreditedArtist, Entity, LifeSpan, Namespace, TagCount};

/// One catalogue table: its name and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueTable {
    /// Table name (the same in `public` and in a staging schema).
    pub name: &'static str,
    /// The columns [`entity_rows`] gives a row of it, in order.
    pub columns: &'static str,
    /// The column naming the entity a row belongs to. `mbid` marks the tables with one row per
    /// entity (`entity` and the kinds' own tables); the others hold an entity's parts.
    pub entity_column: &'static str,
}

impl CatalogueTable {
    /// Whether the table holds one row per entity, keyed by `mbid`.
    pub fn is_per_entity(&self) -> bool {
        self.entity_column == "mbid"
    }
}

/// Every catalogue table, parents before children; indexed by [`Table`].
pub const CATALOGUE_TABLES: [CatalogueTable; 14] = [
    CatalogueTable {
        name: "entity",
        columns: "mbid, kind, disambiguation, complete, fetched_at",
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

/// A catalogue table by its place in [`CATALOGUE_TABLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Table {
    Entity,
    Artist,
    Album,
    Release,
    Medium,
    ReleaseTrack,
    ReleaseLabel,
    Track,
    Label,
    ArtistCredit,
    Alias,
    EntityTag,
    UrlRelation,
    ExternalId,
}

impl Table {
    /// Its place in [`CATALOGUE_TABLES`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name and columns.
    pub fn def(self) -> &'static CatalogueTable {
        &CATALOGUE_TABLES[self.index()]
    }
}

/// Receives rows: [`RowSink::begin`], then every column of the row in its table's order, then
/// [`RowSink::end`]. The column methods answer the sink, so a row reads as one chain.
pub trait RowSink {
    /// Starts a row of `table`.
    fn begin(&mut self, table: Table) -> &mut Self;
    /// A `uuid` column (`None`: null).
    fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self;
    /// A `text` column (`None`: null).
    fn opt_text(&mut self, value: Option<&str>) -> &mut Self;
    /// An `integer` or `bigint` column (`None`: null).
    fn opt_int(&mut self, value: Option<i64>) -> &mut Self;
    /// A `boolean` column (`None`: null).
    fn opt_bool(&mut self, value: Option<bool>) -> &mut Self;
    /// A `text[]` column.
    fn texts(&mut self, values: &[String]) -> &mut Self;
    /// The `complete` and `fetched_at` columns of the `entity` row: how the entity was written, which
    /// the writer knows and the entity does not.
    fn stamp(&mut self) -> &mut Self;
    /// Ends the row.
    fn end(&mut self);

    /// A `uuid` column.
    fn uuid(&mut self, value: Uuid) -> &mut Self {
        self.opt_uuid(Some(value))
    }
    /// A `text` column.
    fn text(&mut self, value: &str) -> &mut Self {
        self.opt_text(Some(value))
    }
    /// An `integer` or `bigint` column.
    fn int(&mut self, value: i64) -> &mut Self {
        self.opt_int(Some(value))
    }
}

/// Hands every row of `entity` to `sink`: its `entity` row, its kind's row, then its parts.
pub fn entity_rows(entity: &Entity, sink: &mut impl RowSink) {
    let mbid = entity.mbid().as_uuid();
    sink.begin(Table::Entity)
        .uuid(mbid)
        .text(entity.kind().as_str())
        .opt_text(entity.disambiguation())
        .stamp()
        .end();
    match entity {
        Entity::Artist(a) => {
            sink.begin(Table::Artist)
                .uuid(mbid)
                .text(&a.name)
                .opt_text(a.sort_name.as_deref())
                .opt_text(a.artist_type.as_deref())
                .opt_text(a.gender.as_deref())
                .opt_text(a.country.as_deref())
                .opt_text(a.area.as_deref());
            life_span(sink, &a.life_span).end();
            aliases(sink, mbid, &a.aliases);
        }
        Entity::Album(a) => {
            sink.begin(Table::Album)
                .uuid(mbid)
                .text(&a.title)
                .opt_text(a.primary_type.as_deref())
                .texts(&a.secondary_types)
                .opt_text(a.first_release_date.as_deref())
                .text(a.artist_credit_name.as_deref().unwrap_or_default())
                .end();
            credits(sink, mbid, &a.artist_credit);
        }
        Entity::Release(rel) => {
            sink.begin(Table::Release)
                .uuid(mbid)
                .text(&rel.title)
                .opt_text(rel.status.as_deref())
                .opt_text(rel.date.as_deref())
                .opt_text(rel.country.as_deref())
                .opt_text(rel.barcode.as_deref())
                .opt_text(rel.packaging.as_deref())
                .opt_uuid(rel.album_id.map(|m| m.as_uuid()))
                .text(rel.artist_credit_name.as_deref().unwrap_or_default())
                .end();
            let mut media = HashSet::new();
            let mut tracks = HashSet::new();
            for medium in &rel.media {
                // A second medium of one position (with its tracks) is not stored.
                if !media.insert(medium.position) {
                    continue;
                }
                sink.begin(Table::Medium)
                    .uuid(mbid)
                    .int(i64::from(medium.position))
                    .opt_text(medium.format.as_deref())
                    .opt_text(medium.title.as_deref())
                    .end();
                for track in &medium.tracks {
                    if !tracks.insert((medium.position, track.position)) {
                        continue;
                    }
                    sink.begin(Table::ReleaseTrack)
                        .uuid(mbid)
                        .int(i64::from(medium.position))
                        .int(i64::from(track.position))
                        .opt_text(track.number.as_deref())
                        .text(&track.title)
                        .opt_int(track.length_ms)
                        .opt_uuid(track.track_id.map(|m| m.as_uuid()))
                        .text(track.artist_credit_name.as_deref().unwrap_or_default())
                        .opt_uuid(track.release_track_id.map(|m| m.as_uuid()))
                        .opt_uuid(track.artist_id.map(|m| m.as_uuid()))
                        .end();
                }
            }
            for (position, label) in rel.labels.iter().enumerate() {
                sink.begin(Table::ReleaseLabel)
                    .uuid(mbid)
                    .int(position as i64)
                    .opt_uuid(label.label_id.map(|m| m.as_uuid()))
                    .opt_text(label.name.as_deref())
                    .opt_text(label.catalog_number.as_deref())
                    .end();
            }
            credits(sink, mbid, &rel.artist_credit);
        }
        Entity::Track(t) => {
            sink.begin(Table::Track)
                .uuid(mbid)
                .text(&t.title)
                .opt_int(t.length_ms)
                .opt_text(t.first_release_date.as_deref())
                .text(t.artist_credit_name.as_deref().unwrap_or_default())
                .texts(&t.isrcs)
                .end();
            credits(sink, mbid, &t.artist_credit);
        }
        Entity::Label(l) => {
            sink.begin(Table::Label)
                .uuid(mbid)
                .text(&l.name)
                .opt_text(l.sort_name.as_deref())
                .opt_text(l.label_type.as_deref())
                .opt_text(l.country.as_deref())
                .opt_int(l.label_code.map(i64::from));
            life_span(sink, &l.life_span).end();
            aliases(sink, mbid, &l.aliases);
        }
    }
    let (genres, tags) = match entity {
        Entity::Artist(e) => (&e.genres, &e.tags),
        Entity::Album(e) => (&e.genres, &e.tags),
        Entity::Release(e) => (&e.genres, &e.tags),
        Entity::Track(e) => (&e.genres, &e.tags),
        Entity::Label(e) => (&e.genres, &e.tags),
    };
    tag_rows(sink, mbid, "genre", genres);
    tag_rows(sink, mbid, "tag", tags);
    for (position, url) in entity.urls().iter().enumerate() {
        sink.begin(Table::UrlRelation)
            .uuid(mbid)
            .int(position as i64)
            .text(&url.relation_type)
            .text(&url.url)
            .end();
    }
    let mut seen = HashSet::new();
    for id in entity.external_ids() {
        // The MBID is the entity's key, not one of its other IDs.
        if id.namespace() == Namespace::MusicBrainz || !seen.insert((id.namespace(), id.value())) {
            continue;
        }
        sink.begin(Table::ExternalId)
            .uuid(mbid)
            .text(id.namespace().as_str())
            .text(id.value())
            .end();
    }
}

fn life_span<'s, S: RowSink>(sink: &'s mut S, span: &LifeSpan) -> &'s mut S {
    sink.opt_text(span.begin.as_deref())
        .opt_text(span.end.as_deref())
        .opt_bool(span.ended)
}

fn aliases(sink: &mut impl RowSink, mbid: Uuid, aliases: &[Alias]) {
    for (position, alias) in aliases.iter().enumerate() {
        sink.begin(Table::Alias)
            .uuid(mbid)
            .int(position as i64)
            .text(&alias.name)
            .opt_text(alias.sort_name.as_deref())
            .opt_text(alias.locale.as_deref())
            .opt_bool(alias.primary)
            .opt_text(alias.alias_type.as_deref())
            .end();
    }
}

fn credits(sink: &mut impl RowSink, mbid: Uuid, credits: &[CreditedArtist]) {
    for (position, credit) in credits.iter().enumerate() {
        sink.begin(Table::ArtistCredit)
            .uuid(mbid)
            .int(position as i64)
            .uuid(credit.artist_id.as_uuid())
            .text(&credit.name)
            .text(&credit.join_phrase)
            .end();
    }
}

fn tag_rows(sink: &mut impl RowSink, mbid: Uuid, category: &str, tags: &[TagCount]) {
    let mut seen = HashSet::new();
    for (position, tag) in tags.iter().enumerate() {
        if !seen.insert(tag.name.as_str()) {
            continue;
        }
        sink.begin(Table::EntityTag)
            .uuid(mbid)
            .text(category)
            .int(position as i64)
            .text(&tag.name)
            .int(i64::from(tag.count))
            .end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EntityId, Mbid, Medium, Release, ReleaseTrack};

    /// Rows as text, one vector of columns per row.
    #[derive(Default)]
    struct Recorder {
        rows: Vec<(Table, Vec<String>)>,
    }

    impl Recorder {
        fn push(&mut self, value: String) -> &mut Self {
            if let Some((_, columns)) = self.rows.last_mut() {
                columns.push(value);
            }
            self
        }
    }

    impl RowSink for Recorder {
        fn begin(&mut self, table: Table) -> &mut Self {
            self.rows.push((table, Vec::new()));
            self
        }
        fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
            self.push(format!("{value:?}"))
        }
        fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
            self.push(format!("{value:?}"))
        }
        fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
            self.push(format!("{value:?}"))
        }
        fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
            self.push(format!("{value:?}"))
        }
        fn texts(&mut self, values: &[String]) -> &mut Self {
            self.push(format!("{values:?}"))
        }
        fn stamp(&mut self) -> &mut Self {
            self.push("complete".into()).push("fetched_at".into())
        }
        fn end(&mut self) {}
    }

    fn release_with_duplicates() -> Entity {
        let mbid = |n: u8| {
            Mbid::from(Uuid::from_u128(
                0x0a3c_9b2e_5d41_4f7e_9c1a_2b6d_8e4f_1a00 + u128::from(n),
            ))
        };
        let track = |position: i32, title: &str| ReleaseTrack {
            position,
            number: Some(position.to_string()),
            title: title.into(),
            length_ms: Some(1000),
            track_id: Some(mbid(position as u8 + 10)),
            release_track_id: None,
            artist_credit_name: None,
            artist_id: None,
        };
        let medium = |tracks: Vec<ReleaseTrack>| Medium {
            position: 1,
            format: Some("CD".into()),
            title: None,
            tracks,
        };
        let tag = |name: &str, count: i32| TagCount {
            name: name.into(),
            count,
        };
        let id = mbid(1);
        Entity::Release(Release {
            id,
            external_ids: vec![
                id.to_entity_id(),
                EntityId::parse("barcode:0602577684647").unwrap(),
                EntityId::parse("barcode:0602577684647").unwrap(),
            ],
            title: "Doubles".into(),
            status: None,
            date: None,
            country: None,
            barcode: Some("0602577684647".into()),
            packaging: None,
            album_id: None,
            artist_credit: Vec::new(),
            artist_credit_name: None,
            labels: Vec::new(),
            media: vec![
                medium(vec![track(1, "One"), track(1, "One again")]),
                medium(vec![track(2, "Two")]),
            ],
            disambiguation: None,
            genres: vec![tag("rock", 2), tag("rock", 1)],
            tags: vec![tag("rock", 3)],
            urls: Vec::new(),
        })
    }

    #[test]
    fn every_row_has_the_columns_its_table_lists() {
        let mut recorder = Recorder::default();
        entity_rows(&release_with_duplicates(), &mut recorder);
        for (table, columns) in &recorder.rows {
            let listed = table.def().columns.split(',').count();
            assert_eq!(columns.len(), listed, "{}: {columns:?}", table.def().name);
        }
        assert_eq!(recorder.rows[0].0, Table::Entity);
    }

    #[test]
    fn the_first_of_a_duplicate_wins() {
        let mut recorder = Recorder::default();
        entity_rows(&release_with_duplicates(), &mut recorder);
        let count = |table: Table| recorder.rows.iter().filter(|(t, _)| *t == table).count();
        assert_eq!(count(Table::Medium), 1, "one medium per position");
        assert_eq!(
            count(Table::ReleaseTrack),
            1,
            "one track per position, none of the second medium"
        );
        assert_eq!(
            count(Table::EntityTag),
            2,
            "one genre and one tag of the same name"
        );
        let external: Vec<_> = recorder
            .rows
            .iter()
            .filter(|(t, _)| *t == Table::ExternalId)
            .map(|(_, c)| c[1].clone())
            .collect();
        assert_eq!(
            external,
            ["Some(\"barcode\")"],
            "the MBID is no external ID, a repeated one is one"
        );
    }

    #[test]
    fn tables_are_indexed_by_their_place() {
        for (index, table) in [
            Table::Entity,
            Table::Artist,
            Table::Album,
            Table::Release,
            Table::Medium,
            Table::ReleaseTrack,
            Table::ReleaseLabel,
            Table::Track,
            Table::Label,
            Table::ArtistCredit,
            Table::Alias,
            Table::EntityTag,
            Table::UrlRelation,
            Table::ExternalId,
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(table.index(), index);
        }
        assert_eq!(Table::ReleaseTrack.def().name, "release_track");
    }
}
