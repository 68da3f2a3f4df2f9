//! MusicBrainz WS/2 JSON: the serde model of response bodies and their conversion into domain types.
//!
//! The `Raw*` types follow the wire format loosely: keys are hyphenated, every field is optional,
//! unknown keys are ignored, and `null`, `""` and a missing key all mean "unknown" (see `text`).
//! Conversion applies the domain's rules: MBIDs are validated, partial dates stay verbatim, unknown
//! values become `None`. A top-level entity needs a valid `id` and a name or title, or the body is
//! rejected; a nested element lacking what it needs (a credit without a valid artist MBID, a
//! nameless alias, a search hit without an ID) is skipped instead.
//!
//! This file holds the entry points (lookup, search, browse, ISRC, error bodies), their envelopes and
//! the small conversions everything uses; `parts` holds what entities share (common keys, tags, URL
//! relations, aliases, credits), `entities` the core entities themselves.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

mod entities;
mod parts;

use crate::domain::{
    Album, CreditedArtist, Entity, EntityId, EntityKind, Mbid, Namespace, Release, SearchHit,
    SearchPage,
};
use entities::*;
use parts::*;

/// Error for a body that is not valid WS/2 JSON of the expected shape.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a lookup body (`/ws/2/<entity>/<mbid>?fmt=json`) of the MusicBrainz entity behind `kind`.
pub fn parse_lookup(kind: EntityKind, body: &[u8]) -> Result<Entity, ParseError> {
    let entity = kind.musicbrainz_entity();
    let what = format!("{entity} lookup");
    Ok(match kind {
        EntityKind::Artist => Entity::Artist(decode::<RawArtist>(body, &what)?.convert()?),
        EntityKind::Album => Entity::Album(decode::<RawReleaseGroup>(body, &what)?.convert()?),
        EntityKind::Release => Entity::Release(decode::<RawRelease>(body, &what)?.convert()?),
        EntityKind::Track => Entity::Track(decode::<RawRecording>(body, &what)?.convert()?),
        EntityKind::Label => Entity::Label(decode::<RawLabel>(body, &what)?.convert()?),
    })
}

/// Parses a search body (`/ws/2/<entity>?query=…&fmt=json`) of the MusicBrainz entity behind `kind`.
///
/// Hits without a valid `id` or without a name/title are left out.
pub fn parse_search(kind: EntityKind, body: &[u8]) -> Result<SearchPage, ParseError> {
    let what = format!("{} search result", kind.musicbrainz_entity());
    let page: RawSearch = decode(body, &what)?;
    let (key, hits) = match kind {
        EntityKind::Artist => ("artists", page.artists),
        EntityKind::Album => ("release-groups", page.release_groups),
        EntityKind::Release => ("releases", page.releases),
        EntityKind::Track => ("recordings", page.recordings),
        EntityKind::Label => ("labels", page.labels),
    };
    let hits = hits.ok_or_else(|| missing_list(&what, key))?;
    let total = page.count.unwrap_or_else(|| len_i64(&hits));
    let results = hits
        .into_iter()
        .filter_map(|hit| hit.convert(kind))
        .collect();
    Ok(SearchPage {
        results,
        total,
        offset: page.offset.unwrap_or(0),
    })
}

/// Browse of release groups (`/ws/2/release-group?artist=<mbid>&inc=artist-credits&limit=100&offset=N`): (albums, total count, offset).
///
/// Release groups without a valid `id` or `title` are left out.
pub fn parse_album_browse(body: &[u8]) -> Result<(Vec<Album>, i64, i64), ParseError> {
    const WHAT: &str = "release-group browse result";
    let page: RawReleaseGroupBrowse = decode(body, WHAT)?;
    let groups = page
        .release_groups
        .ok_or_else(|| missing_list(WHAT, "release-groups"))?;
    let total = page.release_group_count.unwrap_or_else(|| len_i64(&groups));
    let albums = groups
        .into_iter()
        .filter_map(|g| g.convert().ok())
        .collect();
    Ok((albums, total, page.release_group_offset.unwrap_or(0)))
}

/// Browse of releases (`/ws/2/release?release-group=<mbid>&inc=…&limit=100&offset=N`): each readable
/// release, the number of elements the page held, the total count and
/// the offset.
///
/// Releases without a valid `id` or `title` are left out (but counted as received).
pub fn parse_release_browse(raw: &Value) -> Result<ReleaseBrowse, ParseError> {
    const WHAT: &str = "release browse result";
    let releases = raw
        .get("releases")
        .and_then(Value::as_array)
        .ok_or_else(|| missing_list(WHAT, "releases"))?;
    let received = len_i64(releases);
    let total = raw
        .get("release-count")
        .and_then(Value::as_i64)
        .unwrap_or(received);
    let offset = raw
        .get("release-offset")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let releases = releases
        .iter()
        .filter_map(|element| RawRelease::deserialize(element).ok()?.convert().ok())
        .collect();
    Ok(ReleaseBrowse {
        releases,
        received,
        total,
        offset,
    })
}

/// One page of a release browse, as [`parse_release_browse`] reads it.
#[derive(Debug)]
pub struct ReleaseBrowse {
    /// The readable releases.
    pub releases: Vec<Release>,
    /// How many elements the page held, readable or not.
    pub received: i64,
    /// The total count.
    pub total: i64,
    /// The offset of the page.
    pub offset: i64,
}

/// `/ws/2/isrc/<isrc>?fmt=json` → `{"isrc": "...", "recordings": [{"id": ...}, ...]}`: the recording MBIDs.
///
/// Recordings without a valid `id` are left out.
pub fn parse_isrc_lookup(body: &[u8]) -> Result<Vec<Mbid>, ParseError> {
    const WHAT: &str = "ISRC lookup";
    let lookup: RawIsrcLookup = decode(body, WHAT)?;
    let recordings = lookup
        .recordings
        .ok_or_else(|| missing_list(WHAT, "recordings"))?;
    Ok(recordings.into_iter().filter_map(|r| mbid(r.id)).collect())
}

/// `/ws/2/url?resource=…&inc=…-rels` → the entities the URL is linked to, with their kinds. A relation's
/// `target-type` is spelled with an underscore (`release_group`), its entity under that same key.
pub fn parse_url_relations(raw: &serde_json::Value) -> Vec<(EntityKind, Mbid)> {
    let relations = raw
        .get("relations")
        .and_then(serde_json::Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    relations
        .iter()
        .filter_map(|relation| {
            let target = relation.get("target-type")?.as_str()?;
            let kind = match target {
                "artist" => EntityKind::Artist,
                "release_group" => EntityKind::Album,
                "release" => EntityKind::Release,
                "recording" => EntityKind::Track,
                "label" => EntityKind::Label,
                _ => return None,
            };
            let id = relation.get(target)?.get("id")?.as_str()?;
            Some((kind, Mbid::parse(id).ok()?))
        })
        .collect()
}

/// The `{"error": "...", "help": "..."}` body MusicBrainz sends with 4xx/5xx, if the body is one.
pub fn parse_error_message(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<RawError>(body)
        .ok()
        .and_then(|e| text(e.error))
}

/// Deserializes `body`, naming `what` was expected when it does not fit.
pub(super) fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ParseError> {
    serde_json::from_slice(body)
        .map_err(|e| ParseError(format!("expected WS/2 JSON of a MusicBrainz {what}: {e}")))
}

/// The error for an envelope without its result list.
pub(super) fn missing_list(what: &str, key: &str) -> ParseError {
    ParseError(format!(
        "expected a MusicBrainz {what} with a \"{key}\" array"
    ))
}

/// A non-blank string, or `None` for `null`, `""`, whitespace only or a missing key.
pub(super) fn text(value: impl Into<Option<String>>) -> Option<String> {
    value.into().filter(|s| !s.trim().is_empty())
}

/// A valid MBID, or `None`.
pub(super) fn mbid(value: Option<String>) -> Option<Mbid> {
    value.and_then(|v| Mbid::parse(&v).ok())
}

/// A required non-blank string of a top-level `entity`.
pub(super) fn required(
    value: Option<String>,
    entity: &str,
    key: &str,
) -> Result<String, ParseError> {
    text(value).ok_or_else(|| {
        ParseError(format!(
            "expected a MusicBrainz {entity} with a non-empty \"{key}\""
        ))
    })
}

/// Converts each element of an optional list, leaving out the ones that convert to `None`.
pub(super) fn convert_all<T, U>(
    raw: Option<Vec<T>>,
    convert: impl FnMut(T) -> Option<U>,
) -> Vec<U> {
    raw.into_iter().flatten().filter_map(convert).collect()
}

/// The canonical ID followed by the valid `namespace` IDs among `values`.
pub(super) fn external_ids<'a>(
    id: Mbid,
    namespace: Namespace,
    values: impl IntoIterator<Item = &'a str>,
) -> Vec<EntityId> {
    std::iter::once(id.to_entity_id())
        .chain(
            values
                .into_iter()
                .filter_map(|v| EntityId::new(namespace, v).ok()),
        )
        .collect()
}

/// A credit's display string, or `None` when no element of it survived conversion.
pub(super) fn credit_name(credit: &[CreditedArtist]) -> Option<String> {
    (!credit.is_empty()).then(|| CreditedArtist::display_name(credit))
}

/// A 1-based position from a 0-based list index, for elements that carry none.
pub(super) fn position_from_index(index: usize) -> i32 {
    i32::try_from(index.saturating_add(1)).unwrap_or(i32::MAX)
}

/// A list length as the envelope's count type.
pub(super) fn len_i64<T>(list: &[T]) -> i64 {
    i64::try_from(list.len()).unwrap_or(i64::MAX)
}

/// A search score: an integer, or a string such as `"100"` in old output; clamped to 0–100.
pub(super) fn score(value: Option<&Value>) -> i32 {
    let score = match value {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    // `as` saturates (NaN → 0); the clamp keeps the value in the documented range.
    score.map_or(0, |s| s.round().clamp(0.0, 100.0) as i32)
}

/// `{"error": "...", "help": "..."}`.
#[derive(Deserialize)]
struct RawError {
    error: Option<String>,
}

/// `{"created", "count", "offset", "<plural>": [...]}`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct RawSearch {
    count: Option<i64>,
    offset: Option<i64>,
    artists: Option<Vec<RawHit>>,
    release_groups: Option<Vec<RawHit>>,
    releases: Option<Vec<RawHit>>,
    recordings: Option<Vec<RawHit>>,
    labels: Option<Vec<RawHit>>,
}

/// One search result of any kind.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawHit {
    id: Option<String>,
    name: Option<String>,
    title: Option<String>,
    score: Option<Value>,
    disambiguation: Option<String>,
}

impl RawHit {
    fn convert(self, kind: EntityKind) -> Option<SearchHit> {
        let name = match kind {
            EntityKind::Artist | EntityKind::Label => self.name,
            EntityKind::Album | EntityKind::Release | EntityKind::Track => self.title,
        };
        Some(SearchHit {
            id: mbid(self.id)?,
            entity_type: kind,
            name: text(name)?,
            score: score(self.score.as_ref()),
            disambiguation: text(self.disambiguation),
        })
    }
}

/// `{"release-group-count", "release-group-offset", "release-groups": [...]}`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct RawReleaseGroupBrowse {
    release_group_count: Option<i64>,
    release_group_offset: Option<i64>,
    release_groups: Option<Vec<RawReleaseGroup>>,
}

/// `{"isrc": "...", "recordings": [...]}`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawIsrcLookup {
    recordings: Option<Vec<RawRef>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TagCount, UrlRelation};

    const ARTIST_ID: &str = "5b11f4ce-a62d-471e-81fc-a69a8278c7da";
    const OTHER_ID: &str = "05cbaf37-6dc2-4f71-a0ce-d633447d90c3";

    fn lookup(kind: EntityKind, body: &str) -> Entity {
        parse_lookup(kind, body.as_bytes()).unwrap()
    }

    fn lookup_err(kind: EntityKind, body: &str) -> String {
        parse_lookup(kind, body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn artist_treats_null_empty_and_missing_alike() {
        let body = format!(
            r#"{{"id":"{ARTIST_ID}","name":"Nirvana","sort-name":"","gender":null,"type":"Group",
            "disambiguation":"","area":{{"name":"United States"}},"begin_area":null,
            "life-span":{{"begin":"1987","end":"1994-04","ended":true}},
            "aliases":[{{"name":"Nirvana US","sort-name":"Nirvana US","primary":null,"type":null,"locale":null}},
                       {{"name":"ニルヴァーナ","locale":"ja","primary":true,"type":"Artist name"}},
                       {{"name":""}}],
            "genres":[{{"name":"grunge","count":7}}],"tags":[{{"name":"rock","count":null}}],
            "relations":[{{"target-type":"url","type":"official homepage","url":{{"resource":"https://nirvana.com/"}}}},
                         {{"target-type":"artist","type":"member of band","artist":{{"id":"{OTHER_ID}"}}}}],
            "unknown-key":[1,2,3]}}"#
        );
        let Entity::Artist(artist) = lookup(EntityKind::Artist, &body) else {
            panic!("not an artist")
        };
        assert_eq!(artist.id.to_string(), ARTIST_ID);
        assert_eq!(artist.external_ids, vec![artist.id.to_entity_id()]);
        assert_eq!(artist.name, "Nirvana");
        assert_eq!(
            (artist.sort_name, artist.gender, artist.country),
            (None, None, None)
        );
        assert_eq!(artist.disambiguation, None);
        assert_eq!(artist.artist_type.as_deref(), Some("Group"));
        assert_eq!(artist.area.as_deref(), Some("United States"));
        assert_eq!(artist.life_span.begin.as_deref(), Some("1987"));
        assert_eq!(artist.life_span.end.as_deref(), Some("1994-04"));
        assert_eq!(artist.life_span.ended, Some(true));
        assert_eq!(artist.aliases.len(), 2, "the nameless alias is left out");
        assert_eq!(artist.aliases[0].primary, None);
        assert_eq!(artist.aliases[0].alias_type, None);
        assert_eq!(artist.aliases[1].primary, Some(true));
        assert_eq!(artist.aliases[1].locale.as_deref(), Some("ja"));
        assert_eq!(
            artist.genres,
            vec![TagCount {
                name: "grunge".into(),
                count: 7
            }]
        );
        assert_eq!(
            artist.tags,
            vec![TagCount {
                name: "rock".into(),
                count: 0
            }]
        );
        assert_eq!(
            artist.urls,
            vec![UrlRelation {
                relation_type: "official homepage".into(),
                url: "https://nirvana.com/".into()
            }]
        );
    }

    #[test]
    fn release_keeps_barcode_digits_track_numbers_and_credit_fallbacks() {
        let body = format!(
            r#"{{"id":"3ac4a81e-8106-4858-bce0-f7a78c6354b0","title":"三毒史","barcode":"0602577684647",
            "date":"2019-05","country":null,"packaging":null,"status":"Official",
            "release-group":{{"id":"397121b6-85c7-4b9a-970c-be7fdc40eb58","title":"三毒史"}},
            "artist-credit":[{{"name":"椎名林檎","joinphrase":"","artist":{{"id":"{ARTIST_ID}","name":"椎名林檎"}}}}],
            "label-info":[{{"catalog-number":"TYCT-60134","label":{{"id":"{OTHER_ID}","name":"EMI","label-code":null}}}},
                          {{"catalog-number":"[none]","label":null}},{{"catalog-number":null,"label":null}}],
            "media":[{{"position":1,"format":"12\" Vinyl","title":"","tracks":[
              {{"position":1,"number":"A1","title":"鶏と蛇と豚","length":null,
                "artist-credit":[{{"name":"A","joinphrase":" feat. ","artist":{{"id":"{ARTIST_ID}"}}}},
                                 {{"name":"B","joinphrase":"","artist":{{"id":"{OTHER_ID}"}}}}],
                "recording":{{"id":"e3363ad3-0cf1-419e-86fa-82aa7809b120","length":182666}}}},
              {{"position":2,"number":"A2","title":"獣ゆく細道",
                "recording":{{"id":"not-an-mbid","artist-credit":[{{"name":"R","joinphrase":"","artist":{{"id":"{OTHER_ID}"}}}}]}}}},
              {{"position":3,"number":"B1","title":"マ・シェリ","artist-credit":[]}}]}}]}}"#
        );
        let Entity::Release(release) = lookup(EntityKind::Release, &body) else {
            panic!("not a release")
        };
        assert_eq!(release.barcode.as_deref(), Some("0602577684647"));
        assert_eq!(release.external_ids.len(), 2);
        assert_eq!(release.external_ids[1].to_string(), "barcode:0602577684647");
        assert_eq!(release.date.as_deref(), Some("2019-05"));
        assert_eq!(
            (release.country.as_deref(), release.packaging.as_deref()),
            (None, None)
        );
        assert_eq!(
            release.album_id.map(|id| id.to_string()).as_deref(),
            Some("397121b6-85c7-4b9a-970c-be7fdc40eb58")
        );
        assert_eq!(
            release.artist_credit_name.as_deref().unwrap_or_default(),
            "椎名林檎"
        );
        assert_eq!(
            release.labels.len(),
            2,
            "the empty label-info element is left out"
        );
        assert_eq!(release.labels[0].name.as_deref(), Some("EMI"));
        assert_eq!(release.labels[1].label_id, None);
        assert_eq!(release.labels[1].catalog_number.as_deref(), Some("[none]"));
        let medium = &release.media[0];
        assert_eq!((medium.position, medium.title.as_deref()), (1, None));
        assert_eq!(medium.format.as_deref(), Some("12\" Vinyl"));
        let [a1, a2, b1] = medium.tracks.as_slice() else {
            panic!("expected three tracks")
        };
        assert_eq!(a1.number.as_deref(), Some("A1"));
        assert_eq!(
            a1.artist_credit_name.as_deref().unwrap_or_default(),
            "A feat. B"
        );
        assert_eq!(
            a1.length_ms,
            Some(182666),
            "falls back to the recording's length"
        );
        assert!(a1.track_id.is_some());
        assert_eq!(
            a2.artist_credit_name.as_deref().unwrap_or_default(),
            "R",
            "falls back to the recording's credit"
        );
        assert_eq!(a2.track_id, None, "an invalid recording MBID is dropped");
        assert_eq!(a2.length_ms, None);
        assert_eq!(
            b1.artist_credit_name.as_deref().unwrap_or_default(),
            "椎名林檎",
            "falls back to the release's credit"
        );
        assert_eq!(b1.position, 3);
    }

    #[test]
    fn barcode_null_empty_or_malformed_gives_no_barcode_id() {
        for (barcode, kept) in [("null", None), (r#""""#, None), (r#""12ab""#, Some("12ab"))] {
            let body = format!(r#"{{"id":"{ARTIST_ID}","title":"T","barcode":{barcode}}}"#);
            let Entity::Release(release) = lookup(EntityKind::Release, &body) else {
                panic!("not a release")
            };
            assert_eq!(release.barcode.as_deref(), kept, "{barcode}");
            assert_eq!(
                release.external_ids,
                vec![release.id.to_entity_id()],
                "{barcode}"
            );
            assert!(release.media.is_empty() && release.artist_credit_name.is_none());
        }
    }

    #[test]
    fn recording_isrcs_become_ids_and_invalid_credits_are_skipped() {
        let body = format!(
            r#"{{"id":"{ARTIST_ID}","title":"LAST ANGEL","length":null,"first-release-date":"",
            "isrcs":["JPB600760301",""],"video":false,
            "artist-credit":[{{"name":"倖田來未","joinphrase":" feat. ","artist":{{"id":"{ARTIST_ID}"}}}},
                             {{"name":"東方神起","joinphrase":"","artist":{{"id":"{OTHER_ID}"}}}},
                             {{"name":"Ghost","joinphrase":"","artist":{{"id":"nope"}}}}]}}"#
        );
        let Entity::Track(track) = lookup(EntityKind::Track, &body) else {
            panic!("not a track")
        };
        assert_eq!(track.isrcs, vec!["JPB600760301"]);
        assert_eq!(track.external_ids[1].namespace(), Namespace::Isrc);
        assert_eq!((track.length_ms, track.first_release_date), (None, None));
        assert_eq!(track.artist_credit.len(), 2);
        assert_eq!(
            track.artist_credit_name.as_deref().unwrap_or_default(),
            "倖田來未 feat. 東方神起"
        );
    }

    #[test]
    fn label_code_and_partial_dates() {
        let body = format!(
            r#"{{"id":"{ARTIST_ID}","name":"Warp","label-code":2070,"type":null,
            "life-span":{{"begin":"1989-07","end":null,"ended":false}}}}"#
        );
        let Entity::Label(label) = lookup(EntityKind::Label, &body) else {
            panic!("not a label")
        };
        assert_eq!(label.label_code, Some(2070));
        assert_eq!(label.label_type, None);
        assert_eq!(label.life_span.begin.as_deref(), Some("1989-07"));
        assert_eq!(label.life_span.ended, Some(false));
        let body = format!(r#"{{"id":"{ARTIST_ID}","name":"X","label-code":null}}"#);
        let Entity::Label(label) = lookup(EntityKind::Label, &body) else {
            panic!("not a label")
        };
        assert_eq!((label.label_code, label.life_span.ended), (None, None));
    }

    #[test]
    fn release_group_requires_id_and_title() {
        let body = format!(
            r#"{{"id":"{ARTIST_ID}","title":"The Lost Tape","primary-type":null,
            "secondary-types":["DJ-mix",""],"first-release-date":"2012"}}"#
        );
        let Entity::Album(album) = lookup(EntityKind::Album, &body) else {
            panic!("not an album")
        };
        assert_eq!(album.secondary_types, vec!["DJ-mix"]);
        assert_eq!(album.primary_type, None);
        assert_eq!(album.first_release_date.as_deref(), Some("2012"));

        let missing_title = format!(r#"{{"id":"{ARTIST_ID}","title":""}}"#);
        assert!(lookup_err(EntityKind::Album, &missing_title).contains("\"title\""));
        assert!(lookup_err(EntityKind::Album, r#"{"title":"X"}"#).contains("\"id\""));
        assert!(lookup_err(EntityKind::Artist, r#"{"id":"123","name":"X"}"#).contains("valid"));
    }

    #[test]
    fn malformed_or_misshapen_bodies_are_errors_naming_what_was_expected() {
        for body in ["", "not json", "{\"id\":", "[]", "null", "42", "{\"id\":5}"] {
            for kind in EntityKind::ALL {
                let err = parse_lookup(kind, body.as_bytes()).unwrap_err().to_string();
                assert!(err.contains(kind.musicbrainz_entity()), "{body}: {err}");
                assert!(parse_search(kind, body.as_bytes()).is_err(), "{body}");
            }
            assert!(parse_album_browse(body.as_bytes()).is_err(), "{body}");
            assert!(parse_isrc_lookup(body.as_bytes()).is_err(), "{body}");
            assert_eq!(parse_error_message(body.as_bytes()), None, "{body}");
        }
        let error_body = br#"{"error":"Not Found","help":"For usage, please see: https://musicbrainz.org/development/mmd"}"#;
        let err = parse_lookup(EntityKind::Artist, error_body)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"id\""), "{err}");
        let err = parse_search(EntityKind::Album, error_body)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"release-groups\" array"), "{err}");
        let wrong_type = format!(r#"{{"id":"{ARTIST_ID}","title":"T","media":{{}}}}"#);
        assert!(parse_lookup(EntityKind::Release, wrong_type.as_bytes()).is_err());
    }

    #[test]
    fn search_takes_int_or_string_scores_and_skips_hits_without_id() {
        let body = format!(
            r#"{{"created":"2024-10-03T17:51:25.234Z","count":16,"offset":5,"artists":[
            {{"id":"{ARTIST_ID}","name":"Fred","score":"100","life-span":{{"ended":null}},"disambiguation":""}},
            {{"id":"{OTHER_ID}","name":"Fred & Co","score":87,"disambiguation":"US band"}},
            {{"name":"no id","score":50}}]}}"#
        );
        let page = parse_search(EntityKind::Artist, body.as_bytes()).unwrap();
        assert_eq!((page.total, page.offset, page.results.len()), (16, 5, 2));
        let first = &page.results[0];
        assert_eq!(
            (
                first.score,
                first.entity_type,
                first.disambiguation.as_deref()
            ),
            (100, EntityKind::Artist, None)
        );
        assert_eq!(page.results[1].score, 87);
        assert_eq!(page.results[1].disambiguation.as_deref(), Some("US band"));

        let body = format!(
            r#"{{"recordings":[{{"id":"{ARTIST_ID}","title":"We Will Rock You","score":101.4}}]}}"#
        );
        let page = parse_search(EntityKind::Track, body.as_bytes()).unwrap();
        assert_eq!(
            (page.total, page.offset),
            (1, 0),
            "count and offset default from the list"
        );
        assert_eq!(
            (page.results[0].name.as_str(), page.results[0].score),
            ("We Will Rock You", 100)
        );
    }

    #[test]
    fn album_browse_reads_count_and_offset() {
        let body = format!(
            r#"{{"release-group-offset":100,"release-group-count":145,"release-groups":[
            {{"id":"{ARTIST_ID}","title":"Glory","primary-type":"Album","secondary-types":[],
              "artist-credit":[{{"name":"Britney Spears","joinphrase":"","artist":{{"id":"{OTHER_ID}"}}}}]}},
            {{"id":"{OTHER_ID}"}}]}}"#
        );
        let (albums, total, offset) = parse_album_browse(body.as_bytes()).unwrap();
        assert_eq!((albums.len(), total, offset), (1, 145, 100));
        assert_eq!(
            albums[0].artist_credit_name.as_deref().unwrap_or_default(),
            "Britney Spears"
        );
    }

    #[test]
    fn isrc_lookup_lists_valid_recording_ids() {
        let body = format!(
            r#"{{"isrc":"JPB600760301","recordings":[{{"id":"{ARTIST_ID}","title":"A"}},{{"id":"bad"}},{{"id":"{OTHER_ID}"}}]}}"#
        );
        let ids = parse_isrc_lookup(body.as_bytes()).unwrap();
        let ids: Vec<String> = ids.iter().map(Mbid::to_string).collect();
        assert_eq!(ids, vec![ARTIST_ID, OTHER_ID]);
        assert!(parse_isrc_lookup(br#"{"isrc":"JPB600760301"}"#).is_err());
    }

    #[test]
    fn error_message_in_either_key_order() {
        for body in [
            r#"{"error":"Not Found","help":"For usage, please see: https://musicbrainz.org/development/mmd"}"#,
            r#"{"help":"For usage, please see: https://musicbrainz.org/development/mmd","error":"Not Found"}"#,
        ] {
            assert_eq!(
                parse_error_message(body.as_bytes()).as_deref(),
                Some("Not Found")
            );
        }
        assert_eq!(parse_error_message(br#"{"error":""}"#), None);
        assert_eq!(
            parse_error_message(format!(r#"{{"id":"{ARTIST_ID}"}}"#).as_bytes()),
            None
        );
    }
}
