//! MusicBrainz WS/2 request vocabulary: the resources linernotes serves and the `inc` parameter, parsed
//! as musicbrainz-server parses it (one parameter, parts split on `+` or space, empty parts skipped,
//! aliases folded: `artists` is `artist-credits`, `mediums` is `media`), and checked per resource.
//!
//! An [`IncSet`] is also what a stored MusicBrainz body was fetched with (`inc=a+b+c`), so the read
//! path can tell whether a stored body covers a request.

use std::collections::BTreeSet;
use std::fmt;

use super::EntityKind;

/// A WS/2 resource linernotes serves: the MusicBrainz name of one of its entity kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ws2Resource(pub EntityKind);

impl Ws2Resource {
    /// The resource named `name` in a `/ws/2/{name}` path, if linernotes serves it.
    pub fn parse(name: &str) -> Option<Self> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.musicbrainz_entity() == name)
            .map(Ws2Resource)
    }

    /// Its name in paths (`release-group`).
    pub fn name(&self) -> &'static str {
        self.0.musicbrainz_entity()
    }

    /// The key of a list of it in browse and search answers (`release-groups`).
    pub fn plural(&self) -> &'static str {
        match self.0 {
            EntityKind::Artist => "artists",
            EntityKind::Album => "release-groups",
            EntityKind::Release => "releases",
            EntityKind::Track => "recordings",
            EntityKind::Label => "labels",
        }
    }

    /// Whether a lookup of this resource accepts `inc` (a canonical name).
    fn accepts(&self, inc: &str) -> bool {
        /// Every resource's incs (`artist-credits` is a dependent inc on artists and labels).
        const COMMON: [&str; 9] = [
            "aliases",
            "annotation",
            "tags",
            "user-tags",
            "genres",
            "user-genres",
            "ratings",
            "user-ratings",
            "artist-credits",
        ];
        let own: &[&str] = match self.0 {
            EntityKind::Artist => &[
                "recordings",
                "releases",
                "release-groups",
                "works",
                "various-artists",
                "media",
                "discids",
                "isrcs",
            ],
            EntityKind::Album => &["releases", "media", "discids"],
            EntityKind::Release => &[
                "labels",
                "recordings",
                "release-groups",
                "media",
                "discids",
                "isrcs",
                "collections",
                "user-collections",
                "recording-level-rels",
                "release-group-level-rels",
                "work-level-rels",
            ],
            EntityKind::Track => &[
                "releases",
                "release-groups",
                "isrcs",
                "puids",
                "media",
                "discids",
                "work-level-rels",
            ],
            EntityKind::Label => &["releases", "media", "discids"],
        };
        COMMON.contains(&inc)
            || own.contains(&inc)
            || RELATION_INCS.iter().any(|(rels, _)| *rels == inc)
    }

    /// The incs that are valid only beside one of the listed others (musicbrainz-server's
    /// dependent incs): what needs what on this resource.
    fn dependencies(&self) -> &'static [(&'static str, &'static [&'static str])] {
        match self.0 {
            EntityKind::Artist => &[
                ("isrcs", &["recordings"]),
                ("media", &["releases"]),
                ("discids", &["releases"]),
                ("various-artists", &["releases"]),
                (
                    "artist-credits",
                    &["recordings", "releases", "release-groups"],
                ),
            ],
            EntityKind::Label => &[
                ("media", &["releases"]),
                ("discids", &["releases"]),
                ("artist-credits", &["releases"]),
            ],
            EntityKind::Album | EntityKind::Track => {
                &[("media", &["releases"]), ("discids", &["releases"])]
            }
            EntityKind::Release => &[("isrcs", &["recordings"])],
        }
    }
}

impl Ws2Resource {
    /// Whether `inc` changes the shape of what else the body holds (the lists an artist, label,
    /// release group or recording lookup embeds, and what those lists carry), so a stored body can
    /// serve a request only when both agree on it; every other inc adds keys a renderer can remove.
    pub fn is_structural(&self, inc: &str) -> bool {
        match self.0 {
            EntityKind::Release => false,
            EntityKind::Artist | EntityKind::Label => matches!(
                inc,
                "recordings"
                    | "releases"
                    | "release-groups"
                    | "works"
                    | "various-artists"
                    | "media"
                    | "discids"
                    | "isrcs"
                    | "artist-credits"
            ),
            EntityKind::Album | EntityKind::Track => {
                matches!(inc, "releases" | "release-groups" | "media" | "discids")
            }
        }
    }
}

impl fmt::Display for Ws2Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One page of a WS/2 browse: the `resource` entities linked to the `linked` entity `mbid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ws2Browse {
    /// What is listed.
    pub resource: Ws2Resource,
    /// The kind of the entity they are linked to.
    pub linked: Ws2Resource,
    /// The entity they are linked to.
    pub mbid: super::Mbid,
    /// The incs of every listed entity.
    pub inc: IncSet,
    /// Page size, 1–100.
    pub limit: u32,
    /// Entities skipped.
    pub offset: u32,
}

impl Ws2Browse {
    /// The browses linernotes serves: releases of a release group, release groups of an artist,
    /// recordings of a release (what beets, Picard and Lidarr-style tools page through).
    pub const LINKS: [(EntityKind, EntityKind); 3] = [
        (EntityKind::Release, EntityKind::Album),
        (EntityKind::Album, EntityKind::Artist),
        (EntityKind::Track, EntityKind::Release),
    ];

    /// Largest page.
    pub const MAX_LIMIT: u32 = 100;
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 25;

    /// The entities `resource` can be browsed by.
    pub fn linked_to(resource: Ws2Resource) -> Vec<Ws2Resource> {
        Self::LINKS
            .iter()
            .filter(|(listed, _)| *listed == resource.0)
            .map(|(_, linked)| Ws2Resource(*linked))
            .collect()
    }

    /// The request shape a page is stored under: `inc=a+b&limit=25&offset=0`.
    pub fn request(&self) -> String {
        format!(
            "inc={}&limit={}&offset={}",
            self.inc, self.limit, self.offset
        )
    }
}

/// The entity types whose relationships an `<type>-rels` inc asks for, with the `target-type` each
/// relationship of that type carries.
pub const RELATION_INCS: [(&str, &str); 13] = [
    ("area-rels", "area"),
    ("artist-rels", "artist"),
    ("event-rels", "event"),
    ("genre-rels", "genre"),
    ("instrument-rels", "instrument"),
    ("label-rels", "label"),
    ("place-rels", "place"),
    ("recording-rels", "recording"),
    ("release-rels", "release"),
    ("release-group-rels", "release_group"),
    ("series-rels", "series"),
    ("url-rels", "url"),
    ("work-rels", "work"),
];

/// Why an `inc` was refused, in musicbrainz-server's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncError {
    /// `inc` was given more than once.
    #[error("Inc arguments must be combined with a space (+ or %20), but you provided multiple parameters")]
    Repeated,
    /// A part is not an inc of the resource.
    #[error("{inc} is not a valid inc parameter for the {resource} resource.")]
    Unknown {
        /// The part as given.
        inc: String,
        /// The resource.
        resource: &'static str,
    },
    /// A part needs another one that is missing.
    #[error("{inc} is not a valid option for the inc parameter for the {resource} resource unless you specify one of the following other inc parameters: {}", needs.join(", "))]
    Dependent {
        /// The part as given.
        inc: String,
        /// The resource.
        resource: &'static str,
        /// What it needs (any one of them).
        needs: &'static [&'static str],
    },
}

/// A set of incs, folded to their canonical names and kept sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct IncSet(BTreeSet<String>);

impl IncSet {
    /// The incs of a request's `inc` values (every occurrence, already URL-decoded) for `resource`.
    pub fn parse(resource: Ws2Resource, values: &[&str]) -> Result<Self, IncError> {
        if values.len() > 1 {
            return Err(IncError::Repeated);
        }
        let mut set = BTreeSet::new();
        let mut given = Vec::new();
        for part in values
            .iter()
            .flat_map(|value| value.split(['+', ' ']))
            .filter(|part| !part.is_empty())
        {
            let canonical = canonical(part);
            if !resource.accepts(canonical) {
                return Err(IncError::Unknown {
                    inc: part.to_owned(),
                    resource: resource.name(),
                });
            }
            given.push((part.to_owned(), canonical));
            set.insert(canonical.to_owned());
        }
        for (part, canonical) in given {
            if let Some((_, needs)) = resource
                .dependencies()
                .iter()
                .find(|(inc, _)| *inc == canonical)
            {
                // `artists` stands on its own where `artist-credits` would need a parent.
                let stands_alone = part == "artists" && canonical == "artist-credits";
                if !stands_alone && !needs.iter().any(|need| set.contains(*need)) {
                    return Err(IncError::Dependent {
                        inc: part,
                        resource: resource.name(),
                        needs,
                    });
                }
            }
        }
        Ok(IncSet(set))
    }

    /// The incs of a stored request shape (`inc=a+b`); empty for anything else.
    pub fn from_request(request: &str) -> Self {
        IncSet(
            request
                .strip_prefix("inc=")
                .unwrap_or("")
                .split(['+', ' '])
                .filter(|part| !part.is_empty())
                .map(|part| canonical(part).to_owned())
                .collect(),
        )
    }

    /// A set of these incs (trusted names, e.g. the store's own lookup set).
    pub fn of<'a>(incs: impl IntoIterator<Item = &'a str>) -> Self {
        IncSet(incs.into_iter().map(|i| canonical(i).to_owned()).collect())
    }

    /// Whether it holds `inc`.
    pub fn has(&self, inc: &str) -> bool {
        self.0.contains(inc)
    }

    /// Whether every inc of `other` is in it.
    pub fn covers(&self, other: &IncSet) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Whether a body fetched with these incs can be rendered as the answer to `requested`: it
    /// holds every requested inc, and agrees with it on every structural one.
    pub fn serves(&self, requested: &IncSet, resource: Ws2Resource) -> bool {
        // A release body with tracks or disc IDs holds its media.
        let implied = resource.0 == EntityKind::Release
            && (self.has("recordings") || self.has("discids"))
            && !self.has("media");
        let held = if implied {
            self.union(&IncSet::of(["media"]))
        } else {
            self.clone()
        };
        held.covers(requested)
            && self
                .0
                .iter()
                .filter(|inc| resource.is_structural(inc))
                .all(|inc| requested.has(inc))
    }

    /// The incs only a signed-in MusicBrainz user may ask for (`user-tags`, `user-collections`, …).
    pub fn personal(&self) -> Vec<&str> {
        self.iter().filter(|inc| inc.starts_with("user-")).collect()
    }

    /// What to ask upstream for this request: without `collections` (answered as an empty list, as
    /// linernotes keeps no collections) and the personal incs.
    pub fn upstream(&self) -> IncSet {
        IncSet(
            self.0
                .iter()
                .filter(|inc| *inc != "collections" && !inc.starts_with("user-"))
                .cloned()
                .collect(),
        )
    }

    /// Both sets in one.
    pub fn union(&self, other: &IncSet) -> IncSet {
        IncSet(self.0.union(&other.0).cloned().collect())
    }

    /// The incs, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `target-type`s of the relationships it asks for.
    pub fn relation_targets(&self) -> Vec<&'static str> {
        RELATION_INCS
            .iter()
            .filter(|(inc, _)| self.has(inc))
            .map(|(_, target)| *target)
            .collect()
    }

    /// The request shape it is stored under: `inc=a+b+c`, sorted.
    pub fn to_request(&self) -> String {
        format!("inc={self}")
    }
}

impl fmt::Display for IncSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for inc in &self.0 {
            if !first {
                f.write_str("+")?;
            }
            f.write_str(inc)?;
            first = false;
        }
        Ok(())
    }
}

/// The canonical name of an inc (`artists` → `artist-credits`, `mediums` → `media`).
fn canonical(inc: &str) -> &str {
    match inc {
        "artists" => "artist-credits",
        "mediums" => "media",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Ws2Resource {
        Ws2Resource(EntityKind::Release)
    }

    #[test]
    fn parts_split_on_plus_and_space_and_fold_aliases() {
        let set = IncSet::parse(release(), &["artists+media recordings++"]).unwrap();
        assert_eq!(set.to_string(), "artist-credits+media+recordings");
        assert!(IncSet::parse(release(), &[""]).unwrap().is_empty());
        assert!(IncSet::parse(release(), &[]).unwrap().is_empty());
    }

    #[test]
    fn unknown_repeated_and_dependent_incs_are_refused_in_musicbrainz_words() {
        assert_eq!(
            IncSet::parse(release(), &["coffee"])
                .unwrap_err()
                .to_string(),
            "coffee is not a valid inc parameter for the release resource."
        );
        assert_eq!(
            IncSet::parse(release(), &["aliases", "tags"]).unwrap_err(),
            IncError::Repeated
        );
        let artist = Ws2Resource(EntityKind::Artist);
        assert!(IncSet::parse(artist, &["isrcs"])
            .unwrap_err()
            .to_string()
            .contains("unless you specify one of the following other inc parameters: recordings"));
        assert!(IncSet::parse(artist, &["recordings+isrcs+url-rels"]).is_ok());
        assert!(IncSet::parse(artist, &["labels"]).is_err());
    }

    #[test]
    fn stored_requests_cover_their_subsets() {
        let stored = IncSet::from_request("inc=aliases+genres+tags+url-rels");
        assert!(stored.covers(&IncSet::of(["aliases", "url-rels"])));
        assert!(!stored.covers(&IncSet::of(["artist-rels"])));
        assert_eq!(stored.relation_targets(), vec!["url"]);
        assert_eq!(IncSet::from_request("browse:x"), IncSet::default());
        let release = release();
        let with_tracks = IncSet::of(["recordings", "labels"]);
        assert!(with_tracks.serves(&IncSet::of(["media", "labels"]), release));
        let artist = Ws2Resource(EntityKind::Artist);
        let with_releases = IncSet::of(["releases", "aliases"]);
        assert!(!with_releases.serves(&IncSet::of(["aliases"]), artist));
        assert!(with_releases.serves(&IncSet::of(["releases"]), artist));
    }
}
