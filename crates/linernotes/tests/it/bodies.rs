//! WS/2 JSON bodies written for these tests, in the real format (hyphenated keys, nulls, `""`, partial
//! dates, join phrases, search and browse envelopes).

use serde_json::{json, Value};

/// Artist MBIDs used across tests.
pub const ARTIST: &str = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a01";
/// A second artist, credited with the first.
pub const GUEST: &str = "0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a02";
/// An album (release group).
pub const ALBUM: &str = "1b4dac3f-6e52-4a8f-8d2b-3c7e9f5a2b01";
/// A release.
pub const RELEASE: &str = "2c5ebd4a-7f63-4b9a-9e3c-4d8fa06b3c01";
/// A recording.
pub const TRACK: &str = "3d6fce5b-8a74-4cab-af4d-5e9ab17c4d01";
/// A second recording.
pub const TRACK_2: &str = "3d6fce5b-8a74-4cab-af4d-5e9ab17c4d02";
/// A label.
pub const LABEL: &str = "4e7adf6c-9b85-4dbc-b05e-6fabc28d5e01";

fn credit(id: &str, name: &str, credited: &str, join: &str) -> Value {
    json!({"name": credited, "joinphrase": join,
           "artist": {"id": id, "name": name, "sort-name": name, "disambiguation": "", "type": "Person", "type-id": null}})
}

/// The credit "Ada Example feat. Guest" on most test entities.
pub fn credits() -> Value {
    json!([
        credit(ARTIST, "Ada Example", "Ada Example", " feat. "),
        credit(GUEST, "The Guest", "Guest", "")
    ])
}

/// An artist lookup with aliases, genres, tags and URL relations.
pub fn artist(id: &str, name: &str) -> Value {
    json!({
        "id": id, "name": name, "sort-name": "Example, Ada", "type": "Person", "type-id": "b6e035f4-3ce9-331c-97df-83397230b0df",
        "gender": "Female", "gender-id": null, "country": "GB", "disambiguation": "",
        "area": {"id": "8a754a16-0027-3a29-b6d7-2b40ea0481ed", "name": "United Kingdom", "sort-name": "United Kingdom",
                 "iso-3166-1-codes": ["GB"], "type": null, "type-id": null, "disambiguation": ""},
        "begin-area": null, "end-area": null, "ipis": [], "isnis": [],
        "life-span": {"begin": "1969-09", "end": null, "ended": false},
        "aliases": [
            {"name": "A. Example", "sort-name": "Example, A.", "locale": null, "primary": null, "type": "Search hint",
             "type-id": null, "begin": null, "end": null, "ended": false},
            {"name": "エイダ", "sort-name": "エイダ", "locale": "ja", "primary": true, "type": "Artist name",
             "type-id": null, "begin": null, "end": null, "ended": false}
        ],
        "genres": [{"name": "synth-pop", "count": 4, "id": "5f2e1c3b-0000-4000-8000-000000000001", "disambiguation": ""}],
        "tags": [{"name": "british", "count": 2}, {"name": "synth-pop", "count": 5}],
        "relations": [
            {"type": "discogs", "type-id": "04a5b104-a4c2-4bac-99a1-7b837c37d9e4", "target-type": "url", "direction": "forward",
             "attributes": [], "begin": null, "end": null, "ended": false, "source-credit": "", "target-credit": "",
             "url": {"id": "6a0f8f0e-0000-4000-8000-000000000001", "resource": "https://www.discogs.com/artist/123456"}},
            {"type": "official homepage", "type-id": "fe33d22f-c3b0-4d68-bd53-a856badf2b15", "target-type": "url", "direction": "forward",
             "attributes": [], "begin": null, "end": null, "ended": false, "source-credit": "", "target-credit": "",
             "url": {"id": "6a0f8f0e-0000-4000-8000-000000000002", "resource": "https://ada.example.org/"}}
        ]
    })
}

/// A release-group lookup.
pub fn album(id: &str) -> Value {
    json!({
        "id": id, "title": "Partial Dates", "primary-type": "Album", "primary-type-id": null,
        "secondary-types": ["Live"], "secondary-type-ids": [], "first-release-date": "1999-03",
        "disambiguation": "", "artist-credit": credits(),
        "genres": [{"name": "electronic", "count": 3}], "tags": [], "relations": []
    })
}

/// A release lookup with two media (one vinyl side with `A1`-style numbers) and a label.
pub fn release(id: &str) -> Value {
    let track = |n: &str, pos: i64, title: &str, rec: &str, length: Value| {
        json!({
            "id": format!("9f0e0000-0000-4000-8000-0000000000{pos:02}"), "number": n, "position": pos, "title": title,
            "length": length, "artist-credit": credits(),
            "recording": {"id": rec, "title": title, "length": length, "video": false, "disambiguation": "", "artist-credit": credits()}
        })
    };
    json!({
        "id": id, "title": "Partial Dates (Deluxe)", "status": "Official", "status-id": null, "date": "1999",
        "country": "GB", "barcode": "0602577684647", "packaging": null, "packaging-id": null, "disambiguation": "",
        "quality": "normal", "asin": null,
        "text-representation": {"language": "eng", "script": "Latn"},
        "release-group": {"id": ALBUM, "title": "Partial Dates", "primary-type": "Album", "secondary-types": [],
                          "first-release-date": "1999-03", "disambiguation": ""},
        "artist-credit": credits(),
        "label-info": [{"catalog-number": "EX 001", "label": {"id": LABEL, "name": "Example Records", "sort-name": "Example Records",
                         "disambiguation": "", "label-code": null, "type": null, "type-id": null}},
                       {"catalog-number": null, "label": null}],
        "media": [
            {"position": 1, "format": "12\" Vinyl", "format-id": null, "title": "", "track-count": 2, "track-offset": 0,
             "tracks": [track("A1", 1, "First", TRACK, json!(201000)), track("A2", 2, "Second", TRACK_2, Value::Null)]},
            {"position": 2, "format": "CD", "format-id": null, "title": "Bonus Disc", "track-count": 1, "track-offset": 0,
             "tracks": [track("1", 1, "Third", TRACK, json!(199500))]}
        ],
        "genres": [], "tags": [], "relations": [],
        "cover-art-archive": {"artwork": false, "count": 0, "front": false, "back": false, "darkened": false}
    })
}

/// A recording lookup.
pub fn track(id: &str) -> Value {
    json!({
        "id": id, "title": "First", "length": 201000, "video": false, "disambiguation": "radio edit",
        "first-release-date": "1999-03-01", "isrcs": ["GBAAA9900001", "GBAAA9900002"],
        "artist-credit": credits(), "genres": [], "tags": [{"name": "catchy", "count": 1}], "relations": []
    })
}

/// A label lookup.
pub fn label(id: &str) -> Value {
    json!({
        "id": id, "name": "Example Records", "sort-name": "Example Records", "type": "Original Production",
        "type-id": null, "label-code": 2070, "country": "GB", "disambiguation": "UK independent label",
        "area": null, "ipis": [], "isnis": [],
        "life-span": {"begin": "1989-07", "end": null, "ended": false},
        "aliases": [{"name": "Example Recordings", "sort-name": "Example Recordings", "locale": "en_GB", "primary": false,
                     "type": "Label name", "type-id": null, "begin": null, "end": null, "ended": false}],
        "genres": [], "tags": [], "relations": []
    })
}

/// One album summary as browse lists them.
pub fn album_summary(id: &str, title: &str, date: &str) -> Value {
    json!({"id": id, "title": title, "primary-type": "Album", "secondary-types": [], "first-release-date": date,
           "disambiguation": "", "artist-credit": credits()})
}

/// A release-group browse page.
pub fn album_browse(albums: Vec<Value>, total: usize, offset: usize) -> Value {
    json!({"release-group-count": total, "release-group-offset": offset, "release-groups": albums})
}

/// An artist search page.
pub fn artist_search(hits: &[(&str, &str, i64)]) -> Value {
    let artists: Vec<Value> = hits
        .iter()
        .map(|(id, name, score)| json!({"id": id, "name": name, "sort-name": name, "score": score, "type": "Group",
                                        "life-span": {"ended": null}, "disambiguation": "test band"}))
        .collect();
    json!({"created": "2026-11-27T00:00:00.000Z", "count": 42, "offset": 0, "artists": artists})
}

/// An ISRC lookup.
pub fn isrc(code: &str, recordings: &[&str]) -> Value {
    let recordings: Vec<Value> = recordings
        .iter()
        .map(|id| json!({"id": id, "title": "First", "length": 201000, "video": false, "disambiguation": ""}))
        .collect();
    json!({"isrc": code, "recordings": recordings})
}
