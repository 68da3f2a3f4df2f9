//! Realistic MusicBrainz JSON dumps of any size, for linernotes' import tests and benchmarks.
//!
//! A dump is a folder of `<entity>.tar.xz` archives (`artist`, `label`, `release-group`, `release`,
//! `recording`), each holding `mbdump/<entity>` as JSON Lines of WS/2 lookup bodies with the dump's fixed
//! includes, the small files the real archives carry (`TIMESTAMP`, `JSON_DUMPS_SCHEMA_NUMBER`, …), and a
//! `SHA256SUMS` over the archives. The shapes follow genuine dump lines: hyphenated keys, `null` where the
//! data is unknown, `""` for some empty dates, partial dates, aliases, tags, genres, URL relations,
//! ratings and annotations; names come from many scripts (Latin with diacritics, Cyrillic, Greek, Japanese,
//! Chinese, Korean, Arabic) and a few real names that are hard to search (`!!!`, `AC/DC`, `The The`).
//!
//! Everything is derived from a seed, so the same [`DumpSpec`] always writes the same lines. Popularity is
//! skewed the way real catalogues are: low-numbered artists and recordings are credited far more often,
//! and the special names sit at those numbers.
//!
//! Layout: [`DumpSpec`] says how many of each; [`write_dump`] writes the folder; [`Generator`] yields the
//! lines one at a time for callers that want them without archives.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The entity types a dump folder holds, in the order they are written.
pub const ENTITIES: [&str; 5] = ["artist", "label", "release-group", "release", "recording"];

/// The `TIMESTAMP` every generated archive carries.
pub const TIMESTAMP: &str = "2026-09-16 00:10:02.123456+00";

/// Artist names placed at the most popular numbers, so searches for them have a known answer.
pub const SPECIAL_ARTISTS: [&str; 16] = [
    "Prince",
    "The The",
    "!!!",
    "AC/DC",
    "P!nk",
    "Therapy?",
    "+/-",
    "Кино",
    "宇多田ヒカル",
    "Łona",
    "Røyksopp",
    "Mötley Crüe",
    "Sigur Rós",
    "Đorđe Balašević",
    "Die Ärzte",
    "Straßenjungs",
];

/// Recording titles placed at the most popular numbers.
pub const SPECIAL_RECORDINGS: [&str; 4] = ["Yesterday", "Gruppa krovi", "Æon", "Hallelujah"];

/// How many entities of each type to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpSpec {
    /// Artists.
    pub artists: u64,
    /// Labels.
    pub labels: u64,
    /// Release groups.
    pub release_groups: u64,
    /// Releases (each with media and tracks).
    pub releases: u64,
    /// Recordings.
    pub recordings: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// xz preset (0–9); 1 keeps generation fast, 6 is what the real dumps use.
    pub xz_level: u32,
}

impl DumpSpec {
    /// A dump with the proportions of the real one (September 2026: 2.97 M artists, 4.49 M release
    /// groups, 5.75 M releases, 40 M recordings), scaled to `artists` artists.
    pub fn proportional(artists: u64) -> Self {
        let scale = |ratio: f64| ((artists as f64) * ratio).ceil() as u64;
        DumpSpec {
            artists,
            labels: scale(0.09).max(1),
            release_groups: scale(1.51),
            releases: scale(1.94),
            recordings: scale(13.5),
            seed: 1,
            xz_level: 1,
        }
    }

    /// How many lines the entity type's file holds.
    pub fn count(&self, entity: &str) -> u64 {
        match entity {
            "artist" => self.artists,
            "label" => self.labels,
            "release-group" => self.release_groups,
            "release" => self.releases,
            "recording" => self.recordings,
            _ => 0,
        }
    }
}

/// What [`write_dump`] wrote.
#[derive(Debug, Clone)]
pub struct DumpSummary {
    /// The archives, in [`ENTITIES`] order.
    pub archives: Vec<PathBuf>,
    /// Total compressed bytes of the archives.
    pub compressed_bytes: u64,
    /// Total bytes of JSON Lines inside them.
    pub json_bytes: u64,
}

/// Writes one `<entity>.tar.xz` per type named in `only` (all of [`ENTITIES`] when empty) and
/// `SHA256SUMS` into `dir`, creating it.
pub fn write_dump(dir: &Path, spec: &DumpSpec, only: &[&str]) -> io::Result<DumpSummary> {
    std::fs::create_dir_all(dir)?;
    let mut summary = DumpSummary {
        archives: Vec::new(),
        compressed_bytes: 0,
        json_bytes: 0,
    };
    let mut sums = String::new();
    for entity in ENTITIES {
        if !only.is_empty() && !only.contains(&entity) {
            continue;
        }
        let scratch = dir.join(format!(".{entity}.jsonl.tmp"));
        {
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&scratch)?);
            let mut generator = Generator::new(*spec, entity);
            while let Some(line) = generator.next_line() {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        summary.json_bytes += std::fs::metadata(&scratch)?.len();
        let archive = dir.join(format!("{entity}.tar.xz"));
        write_archive(&archive, entity, &scratch, spec.xz_level)?;
        std::fs::remove_file(&scratch)?;
        summary.compressed_bytes += std::fs::metadata(&archive)?.len();
        sums.push_str(&format!("{}  {entity}.tar.xz\n", sha256_file(&archive)?));
        summary.archives.push(archive);
    }
    std::fs::write(dir.join("SHA256SUMS"), sums)?;
    Ok(summary)
}

/// Packs `lines` (a JSON Lines file) as `mbdump/<entity>` with the dump's metadata files into an xz
/// compressed tar at `archive`.
pub fn write_archive(archive: &Path, entity: &str, lines: &Path, xz_level: u32) -> io::Result<()> {
    let file = BufWriter::with_capacity(1 << 20, File::create(archive)?);
    let encoder = liblzma::write::XzEncoder::new(file, xz_level.min(9));
    let mut tar = tar::Builder::new(encoder);
    let small: [(&str, String); 6] = [
        ("COPYING", "Public domain (CC0) core data.\n".to_owned()),
        ("README", format!("MusicBrainz JSON dump: {entity}\n")),
        ("JSON_DUMPS_SCHEMA_NUMBER", "1\n".to_owned()),
        ("REPLICATION_SEQUENCE", "180000\n".to_owned()),
        ("SCHEMA_SEQUENCE", "30\n".to_owned()),
        ("TIMESTAMP", format!("{TIMESTAMP}\n")),
    ];
    for (name, body) in small {
        append(&mut tar, name, body.len() as u64, body.as_bytes())?;
    }
    let file = File::open(lines)?;
    let len = file.metadata()?.len();
    append(&mut tar, &format!("mbdump/{entity}"), len, file)?;
    tar.into_inner()?.finish()?.flush()
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    len: u64,
    body: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(len);
    header.set_mode(0o644);
    header.set_mtime(1_789_516_202);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, body)
}

/// The lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The MBID of entity `index` of type `entity` in a dump made with `seed`.
pub fn mbid(seed: u64, entity: &str, index: u64) -> String {
    let salt = entity.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut state = seed ^ salt ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let high = splitmix(&mut state);
    let low = splitmix(&mut state);
    let hex = format!("{high:016x}{low:016x}");
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][(low >> 62) as usize],
        &hex[17..20],
        &hex[20..32]
    )
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A small deterministic random source.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        splitmix(&mut self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index below `n`, low numbers far more likely (popularity).
    fn skewed(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64) * u.powi(3)) as u64 % n.max(1)
    }
}

const LATIN: [&str; 24] = [
    "ka", "ro", "mi", "lan", "tor", "vel", "ste", "bri", "ne", "qua", "zé", "dor", "ø", "łu", "æl",
    "đa", "ßen", "ün", "ña", "ço", "å", "sol", "ri", "mar",
];
const CYRILLIC: [&str; 12] = [
    "ки", "но", "ра", "ла", "ме", "сто", "вы", "ба", "ми", "ру", "жа", "цой",
];
const GREEK: [&str; 8] = ["κα", "λη", "μέ", "ρα", "θε", "ος", "νί", "κη"];
const KANA: [&str; 12] = [
    "ヒ", "カ", "ル", "さ", "く", "ら", "ミ", "ス", "の", "ゆ", "き", "タ",
];
const HAN: [&str; 10] = ["周", "杰", "伦", "王", "菲", "宇", "多", "田", "光", "林"];
const HANGUL: [&str; 8] = ["서", "태", "지", "와", "아", "이", "들", "방"];
const ARABIC: [&str; 6] = ["فير", "وز", "سل", "ام", "نو", "ر"];
const WORDS: [&str; 12] = [
    "Love", "Night", "Blue", "Song", "River", "Fire", "Heart", "Dream", "Road", "Light", "Time",
    "Rain",
];
const JOINS: [&str; 6] = [" & ", " feat. ", ", ", " / ", " with ", "と"];
const TAGS: [&str; 10] = [
    "rock",
    "pop",
    "electronic",
    "jazz",
    "hip hop",
    "folk",
    "classical",
    "metal",
    "punk",
    "ambient",
];
const COUNTRIES: [&str; 8] = ["GB", "US", "DE", "JP", "RU", "FR", "NO", "XW"];

impl Random {
    fn word(&mut self) -> String {
        let script = self.below(100);
        let (table, syllables): (&[&str], u64) = match script {
            0..=54 => (&LATIN, 2 + self.below(2)),
            55..=66 => (&CYRILLIC, 2 + self.below(2)),
            67..=72 => (&GREEK, 2 + self.below(2)),
            73..=82 => (&KANA, 3 + self.below(3)),
            83..=88 => (&HAN, 2 + self.below(2)),
            89..=94 => (&HANGUL, 2 + self.below(2)),
            _ => (&ARABIC, 2),
        };
        let word: String = (0..syllables).map(|_| *self.pick(table)).collect();
        capitalise(&word)
    }

    fn name(&mut self) -> String {
        if self.chance(15) {
            return format!("{} {}", self.pick(&WORDS), self.pick(&WORDS));
        }
        let words = 1 + self.below(3);
        let mut name = self.word();
        for _ in 1..words {
            name.push(' ');
            name.push_str(&self.word());
        }
        name
    }

    /// A date as MusicBrainz gives it: null, "", a year, a month or a day.
    fn date(&mut self) -> Value {
        let year = 1950 + self.below(76);
        match self.below(10) {
            0 => Value::Null,
            1 => json!(""),
            2 | 3 => json!(format!("{year}")),
            4 => json!(format!("{year}-{:02}", 1 + self.below(12))),
            _ => json!(format!(
                "{year}-{:02}-{:02}",
                1 + self.below(12),
                1 + self.below(28)
            )),
        }
    }

    fn tags(&mut self) -> Value {
        let n = self.below(4);
        let mut seen = Vec::new();
        let tags: Vec<Value> = (0..n)
            .filter_map(|_| {
                let name = *self.pick(&TAGS);
                if seen.contains(&name) {
                    return None;
                }
                seen.push(name);
                Some(json!({"name": name, "count": 1 + self.below(9)}))
            })
            .collect();
        Value::Array(tags)
    }

    fn genres(&mut self) -> Value {
        let tags = self.tags();
        Value::Array(
            tags.as_array()
                .into_iter()
                .flatten()
                .map(|t| {
                    json!({"name": t["name"], "count": t["count"], "disambiguation": "",
                           "id": mbid(7, "genre", t["name"].as_str().map_or(0, |n| n.len() as u64))})
                })
                .collect(),
        )
    }

    fn url_relations(&mut self, kind: &str, index: u64) -> Value {
        let mut rels = Vec::new();
        if self.chance(40) {
            rels.push(url_relation(
                "discogs",
                &format!("https://www.discogs.com/{kind}/{}", 1000 + index),
            ));
        }
        if self.chance(25) {
            rels.push(url_relation(
                "wikidata",
                &format!("https://www.wikidata.org/wiki/Q{}", 50_000 + index),
            ));
        }
        if self.chance(10) {
            rels.push(url_relation(
                "official homepage",
                &format!("https://example.org/{kind}/{index}"),
            ));
        }
        Value::Array(rels)
    }

    fn life_span(&mut self) -> Value {
        let ended = self.chance(20);
        json!({"begin": self.date(), "end": if ended { self.date() } else { Value::Null }, "ended": ended})
    }

    fn rating(&mut self) -> Value {
        if self.chance(80) {
            json!({"value": null, "votes-count": 0})
        } else {
            json!({"value": 1.0 + self.below(40) as f64 / 10.0, "votes-count": 1 + self.below(20)})
        }
    }

    fn annotation(&mut self) -> Value {
        if self.chance(90) {
            Value::Null
        } else {
            json!("Generated annotation.")
        }
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn url_relation(relation_type: &str, resource: &str) -> Value {
    json!({
        "attribute-ids": {}, "attribute-values": {}, "attributes": [], "begin": null, "end": null,
        "ended": false, "direction": "forward", "source-credit": "", "target-credit": "",
        "target-type": "url", "type": relation_type,
        "type-id": "fe108f43-acb9-4ad1-8be3-57e6ec5b17b6",
        "url": {"id": mbid(3, "url", resource.len() as u64), "resource": resource}
    })
}

/// Yields the JSON lines of one entity type of a dump, one at a time.
pub struct Generator {
    spec: DumpSpec,
    entity: &'static str,
    next: u64,
}

impl Generator {
    /// The lines of `entity` (one of [`ENTITIES`]) in a dump made from `spec`.
    pub fn new(spec: DumpSpec, entity: &str) -> Self {
        let entity = ENTITIES
            .iter()
            .find(|e| **e == entity)
            .copied()
            .unwrap_or("artist");
        Generator {
            spec,
            entity,
            next: 0,
        }
    }

    /// The next line (without its newline), or `None` after the last.
    pub fn next_line(&mut self) -> Option<String> {
        if self.next >= self.spec.count(self.entity) {
            return None;
        }
        let index = self.next;
        self.next += 1;
        Some(self.line(index).to_string())
    }

    /// The document of entity `index`.
    pub fn line(&self, index: u64) -> Value {
        match self.entity {
            "artist" => self.artist(index),
            "label" => self.label(index),
            "release-group" => self.release_group(index),
            "release" => self.release(index),
            _ => self.recording(index),
        }
    }

    fn random(&self, index: u64) -> Random {
        let mut r = Random(self.spec.seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93));
        r.next();
        r
    }

    fn id(&self, entity: &str, index: u64) -> String {
        mbid(self.spec.seed, entity, index)
    }

    /// The name of artist `index`: the special names first, then generated ones.
    pub fn artist_name(&self, index: u64) -> String {
        match SPECIAL_ARTISTS.get(index as usize) {
            Some(name) => (*name).to_owned(),
            None => self.random(index ^ 0xa5a5).name(),
        }
    }

    fn recording_title(&self, index: u64) -> String {
        match SPECIAL_RECORDINGS.get(index as usize) {
            Some(title) => (*title).to_owned(),
            None => self.random(index ^ 0x5a5a).name(),
        }
    }

    fn credit(&self, r: &mut Random) -> Value {
        let n = if r.chance(85) { 1 } else { 2 + r.below(2) };
        let credits: Vec<Value> = (0..n)
            .map(|i| {
                let artist = r.skewed(self.spec.artists.max(1));
                let name = self.artist_name(artist);
                let join = if i + 1 == n { "" } else { *r.pick(&JOINS) };
                json!({
                    "name": name,
                    "joinphrase": join,
                    "artist": {
                        "id": self.id("artist", artist), "name": name, "sort-name": name,
                        "disambiguation": "", "type": "Group",
                        "type-id": "e431f5f6-b5d2-343d-8b36-72607fffb74b",
                        "aliases": [], "genres": [], "tags": []
                    }
                })
            })
            .collect();
        Value::Array(credits)
    }

    fn aliases(&self, r: &mut Random, name: &str) -> Value {
        let mut aliases = Vec::new();
        if r.chance(30) {
            aliases.push(json!({
                "name": format!("{name} {}", r.word()), "sort-name": name, "locale": null,
                "primary": null, "type": null, "type-id": null, "begin": null, "end": null, "ended": false
            }));
        }
        if r.chance(10) {
            aliases.push(json!({
                "name": r.name(), "sort-name": r.name(), "locale": "en", "primary": true,
                "type": "Artist name", "type-id": "894afba6-2816-3c24-8072-eadb66bd04bc",
                "begin": null, "end": null, "ended": false
            }));
        }
        Value::Array(aliases)
    }

    fn artist(&self, index: u64) -> Value {
        let mut r = self.random(index);
        let name = self.artist_name(index);
        let person = r.chance(50);
        json!({
            "id": self.id("artist", index),
            "name": name,
            "sort-name": sort_name(&name),
            "type": if person { json!("Person") } else if r.chance(80) { json!("Group") } else { Value::Null },
            "type-id": if person { json!("b6e035f4-3ce9-331c-97df-83397230b0df") } else { Value::Null },
            "gender": if person { json!(*r.pick(&["Male", "Female", "Non-binary"])) } else { Value::Null },
            "gender-id": null,
            "country": if r.chance(70) { json!(*r.pick(&COUNTRIES)) } else { Value::Null },
            "area": if r.chance(60) {
                json!({"id": self.id("area", r.below(200)), "name": r.word(), "sort-name": "x",
                       "disambiguation": "", "type": null, "type-id": null, "iso-3166-1-codes": ["XW"]})
            } else { Value::Null },
            "begin-area": null,
            "end-area": null,
            "begin_area": null,
            "end_area": null,
            "life-span": r.life_span(),
            "disambiguation": if r.chance(15) { json!("generated") } else { json!("") },
            "ipis": [],
            "isnis": [],
            "aliases": self.aliases(&mut r, &name),
            "tags": r.tags(),
            "genres": r.genres(),
            "rating": r.rating(),
            "relations": r.url_relations("artist", index),
            "annotation": r.annotation(),
        })
    }

    fn label(&self, index: u64) -> Value {
        let mut r = self.random(index);
        let name = format!("{} Records", r.name());
        json!({
            "id": self.id("label", index),
            "name": name,
            "sort-name": name,
            "type": if r.chance(70) { json!("Original Production") } else { Value::Null },
            "type-id": null,
            "label-code": if r.chance(30) { json!(r.below(99_999)) } else { Value::Null },
            "country": if r.chance(60) { json!(*r.pick(&COUNTRIES)) } else { Value::Null },
            "area": null,
            "life-span": r.life_span(),
            "disambiguation": "",
            "ipis": [],
            "isnis": [],
            "aliases": self.aliases(&mut r, &name),
            "tags": r.tags(),
            "genres": r.genres(),
            "rating": r.rating(),
            "relations": r.url_relations("label", index),
            "annotation": r.annotation(),
        })
    }

    fn release_group_title(&self, index: u64) -> String {
        self.random(index ^ 0x77).name()
    }

    fn release_group(&self, index: u64) -> Value {
        let mut r = self.random(index);
        let primary = *r.pick(&["Album", "Album", "Single", "EP", "Broadcast"]);
        let secondary: Vec<&str> = if r.chance(15) {
            vec![*r.pick(&["Compilation", "Live", "Soundtrack", "Remix"])]
        } else {
            vec![]
        };
        json!({
            "id": self.id("release-group", index),
            "title": self.release_group_title(index),
            "primary-type": primary,
            "primary-type-id": "f529b476-6e62-324f-b0aa-1f3e33d313fc",
            "secondary-types": secondary,
            "secondary-type-ids": [],
            "first-release-date": r.date(),
            "artist-credit": self.credit(&mut r),
            "disambiguation": "",
            "aliases": [],
            "tags": r.tags(),
            "genres": r.genres(),
            "rating": r.rating(),
            "relations": r.url_relations("master", index),
            "annotation": r.annotation(),
        })
    }

    fn recording_ref(&self, index: u64, r: &mut Random) -> Value {
        json!({
            "id": self.id("recording", index),
            "title": self.recording_title(index),
            "length": if r.chance(90) { json!(60_000 + r.below(400_000)) } else { Value::Null },
            "video": false,
            "disambiguation": "",
            "first-release-date": r.date(),
            "artist-credit": self.credit(r),
            "isrcs": [],
            "aliases": [], "tags": [], "genres": [], "relations": []
        })
    }

    fn release(&self, index: u64) -> Value {
        let mut r = self.random(index);
        let group = index % self.spec.release_groups.max(1);
        let credit = self.credit(&mut r);
        let media_count = if r.chance(90) { 1 } else { 2 };
        let recordings = self.spec.recordings.max(1);
        let mut next_recording = index.wrapping_mul(7) % recordings;
        let media: Vec<Value> = (1..=media_count)
            .map(|position| {
                let tracks: Vec<Value> = (1..=(1 + r.below(16)))
                    .map(|n| {
                        let recording = if r.chance(20) {
                            r.skewed(recordings)
                        } else {
                            next_recording = (next_recording + 1) % recordings;
                            next_recording
                        };
                        let vinyl = media_count == 2;
                        json!({
                            "id": mbid(self.spec.seed, "track", index * 1000 + position * 100 + n),
                            "position": n,
                            "number": if vinyl { format!("{}{n}", ["A", "B"][(position - 1) as usize]) } else { n.to_string() },
                            "title": self.recording_title(recording),
                            "length": if r.chance(90) { json!(60_000 + r.below(400_000)) } else { Value::Null },
                            "artist-credit": credit,
                            "recording": self.recording_ref(recording, &mut r),
                        })
                    })
                    .collect();
                json!({
                    "position": position,
                    "format": if media_count == 2 { json!("12\" Vinyl") } else if r.chance(80) { json!("CD") } else { json!("Digital Media") },
                    "format-id": null,
                    "title": "",
                    "track-count": tracks.len(),
                    "track-offset": 0,
                    "discs": [],
                    "tracks": tracks,
                })
            })
            .collect();
        let date = r.date();
        json!({
            "id": self.id("release", index),
            "title": self.release_group_title(group),
            "status": if r.chance(85) { json!("Official") } else { Value::Null },
            "status-id": null,
            "date": date,
            "country": if r.chance(70) { json!(*r.pick(&COUNTRIES)) } else { Value::Null },
            "release-events": [],
            "barcode": match r.below(3) { 0 => Value::Null, 1 => json!(""), _ => json!(format!("0{:011}", index)) },
            "packaging": if r.chance(50) { json!("Jewel Case") } else { Value::Null },
            "packaging-id": null,
            "asin": null,
            "quality": "normal",
            "text-representation": {"language": "eng", "script": "Latn"},
            "cover-art-archive": {"artwork": false, "count": 0, "front": false, "back": false, "darkened": false},
            "release-group": {
                "id": self.id("release-group", group),
                "title": self.release_group_title(group),
                "primary-type": "Album",
                "secondary-types": [],
                "first-release-date": date,
                "disambiguation": ""
            },
            "artist-credit": credit,
            "label-info": if self.spec.labels > 0 && r.chance(70) {
                let label = r.skewed(self.spec.labels);
                json!([{"catalog-number": format!("CAT-{index}"), "label": {
                    "id": self.id("label", label), "name": "label", "sort-name": "label",
                    "disambiguation": "", "label-code": null, "type": null, "type-id": null,
                    "aliases": [], "genres": [], "tags": []}}])
            } else { json!([]) },
            "media": media,
            "disambiguation": "",
            "aliases": [],
            "tags": r.tags(),
            "genres": r.genres(),
            "relations": r.url_relations("release", index),
            "annotation": r.annotation(),
        })
    }

    fn recording(&self, index: u64) -> Value {
        let mut r = self.random(index);
        let isrcs: Vec<String> = if r.chance(30) {
            vec![format!(
                "GB{}{:07}",
                ["AAA", "XYZ", "UM7"][r.below(3) as usize],
                index % 10_000_000
            )]
        } else {
            vec![]
        };
        json!({
            "id": self.id("recording", index),
            "title": self.recording_title(index),
            "length": if r.chance(90) { json!(60_000 + r.below(400_000)) } else { Value::Null },
            "video": false,
            "disambiguation": "",
            "isrcs": isrcs,
            "artist-credit": self.credit(&mut r),
            "aliases": [],
            "tags": r.tags(),
            "genres": r.genres(),
            "rating": r.rating(),
            "relations": [],
            "annotation": r.annotation(),
        })
    }
}

fn sort_name(name: &str) -> String {
    match name.strip_prefix("The ") {
        Some(rest) if !rest.is_empty() => format!("{rest}, The"),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_spec_yields_the_same_lines() {
        let spec = DumpSpec::proportional(20);
        let a: Vec<String> = {
            let mut g = Generator::new(spec, "release");
            std::iter::from_fn(|| g.next_line()).collect()
        };
        let mut g = Generator::new(spec, "release");
        let b: Vec<String> = std::iter::from_fn(|| g.next_line()).collect();
        assert_eq!(a, b);
        assert_eq!(a.len() as u64, spec.releases);
    }

    #[test]
    fn mbids_are_distinct_valid_uuids() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|i| mbid(1, "artist", i)).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 36 && id.as_bytes()[14] == b'4'));
    }

    #[test]
    fn special_names_come_first() {
        let g = Generator::new(DumpSpec::proportional(100), "artist");
        assert_eq!(g.line(0)["name"], "Prince");
        assert_eq!(g.line(7)["name"], "Кино");
    }
}
