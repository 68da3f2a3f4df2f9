//! How sure a provider's entity is the catalogue's one, when no ID links them: normalised titles and
//! names compared by character bigrams, durations within a few seconds, equal track counts.
//!
//! Confidence runs from 0 to 1; a link is made only at or above the configured threshold.

use super::Entity;

/// A title or name reduced to what identifies it: lower-case letters and digits of any script, `&` as
/// `and`, every run of other characters as one space.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text
        .replace('&', " and ")
        .chars()
        .flat_map(char::to_lowercase)
    {
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_owned()
}

/// `text` without bracketed parts (`Song (Remastered 2011)` → `Song`), normalised.
fn without_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    normalise(&out)
}

/// Similarity of two texts from 0 to 1: 1 when their normalised forms are equal, else the Dice
/// coefficient of their character bigrams; equal but for bracketed parts counts 0.9.
pub fn similarity(a: &str, b: &str) -> f64 {
    let (na, nb) = (normalise(a), normalise(b));
    if na.is_empty() || nb.is_empty() {
        return 0.0;
    }
    if na == nb {
        return 1.0;
    }
    let bare = without_brackets(a);
    if !bare.is_empty() && bare == without_brackets(b) {
        return 0.9;
    }
    dice(&na, &nb)
}

fn bigrams(text: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = text.chars().collect();
    let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.sort_unstable();
    pairs
}

fn dice(a: &str, b: &str) -> f64 {
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    // Both sorted: count the common bigrams (with multiplicity) in one pass.
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * common as f64 / (x.len() + y.len()) as f64
}

/// How well two durations in milliseconds agree: 1 within 2 seconds, falling to 0 at 10 seconds;
/// 0.5 when either is unknown.
pub fn duration_agreement(a: Option<i64>, b: Option<i64>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => {
            let seconds = (a - b).abs() as f64 / 1000.0;
            (1.0 - (seconds - 2.0).max(0.0) / 8.0).clamp(0.0, 1.0)
        }
        _ => 0.5,
    }
}

/// What a candidate of a provider says of itself, to compare with the catalogue's entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// Its title (or an artist's name).
    pub title: String,
    /// Its artist's name (empty for artists).
    pub artist: String,
    /// Its length in milliseconds (tracks).
    pub length_ms: Option<i64>,
    /// Its number of tracks (albums and releases).
    pub track_count: Option<i64>,
}

impl Candidate {
    /// What a catalogue entity is matched on: an artist's name; an album's title and artist; a
    /// release's title, artist and track count; a track's title, artist and length. `None` for
    /// labels, which no provider matches by name.
    pub fn wanted(entity: &Entity) -> Option<Self> {
        let artist = |name: &Option<String>| name.clone().unwrap_or_default();
        Some(match entity {
            Entity::Artist(a) => Self {
                title: a.name.clone(),
                ..Self::default()
            },
            Entity::Album(a) => Self {
                title: a.title.clone(),
                artist: artist(&a.artist_credit_name),
                ..Self::default()
            },
            Entity::Release(r) => Self {
                title: r.title.clone(),
                artist: artist(&r.artist_credit_name),
                length_ms: None,
                track_count: Some(r.track_count() as i64),
            },
            Entity::Track(t) => Self {
                title: t.title.clone(),
                artist: artist(&t.artist_credit_name),
                length_ms: t.length_ms,
                track_count: None,
            },
            Entity::Label(_) => return None,
        })
    }
}

/// Confidence that `candidate` is `wanted`: title half, artist three tenths, duration or track count
/// the rest (an artist is compared by name alone).
pub fn confidence(wanted: &Candidate, candidate: &Candidate) -> f64 {
    let title = similarity(&wanted.title, &candidate.title);
    if wanted.artist.is_empty() {
        return title;
    }
    let artist = similarity(&wanted.artist, &candidate.artist);
    let shape = match (wanted.track_count, candidate.track_count) {
        (Some(a), Some(b)) => f64::from(u8::from(a == b)),
        _ => duration_agreement(wanted.length_ms, candidate.length_ms),
    };
    0.5 * title + 0.3 * artist + 0.2 * shape
}

/// The best of `candidates` for `wanted` with its confidence, when it reaches `threshold` and no other
/// candidate is as good (two equally good candidates are a coin toss, not a match).
pub fn best_match<T>(
    wanted: &Candidate,
    candidates: impl IntoIterator<Item = (T, Candidate)>,
    threshold: f64,
) -> Option<(T, f64)> {
    let mut scored: Vec<(T, f64)> = candidates
        .into_iter()
        .map(|(item, c)| {
            let score = confidence(wanted, &c);
            (item, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ranked = scored.into_iter();
    let (best, score) = ranked.next()?;
    let tied = ranked.next().is_some_and(|(_, next)| next >= score);
    (score >= threshold && !tied).then_some((best, round(score)))
}

/// A confidence to three decimals, as stored and shown.
pub fn round(confidence: f64) -> f64 {
    (confidence * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(title: &str, artist: &str, length_ms: i64) -> Candidate {
        Candidate {
            title: title.into(),
            artist: artist.into(),
            length_ms: Some(length_ms),
            track_count: None,
        }
    }

    #[test]
    fn normalising_keeps_letters_of_every_script() {
        assert_eq!(normalise("  Die With A Smile!! "), "die with a smile");
        assert_eq!(normalise("Simon & Garfunkel"), "simon and garfunkel");
        assert_eq!(normalise("椎名林檎"), "椎名林檎");
        assert_eq!(similarity("Song (Remastered 2011)", "Song"), 0.9);
    }

    #[test]
    fn a_close_match_passes_and_a_weak_one_is_rejected_below_the_threshold() {
        let wanted = track("Never Gonna Give You Up", "Rick Astley", 213_000);
        let same = track("Never Gonna Give You Up", "Rick Astley", 214_000);
        let cover = track("Never Gonna Give You Up", "Some Cover Band", 190_000);
        let (which, score) =
            best_match(&wanted, [("same", same), ("cover", cover.clone())], 0.85).unwrap();
        assert_eq!(which, "same");
        assert_eq!(score, 1.0);
        assert!(best_match(&wanted, [("cover", cover)], 0.85).is_none());
    }

    #[test]
    fn two_equally_good_candidates_are_no_match() {
        let wanted = Candidate {
            title: "Nirvana".into(),
            ..Candidate::default()
        };
        let same = wanted.clone();
        assert!(best_match(&wanted, [(1, same.clone()), (2, same)], 0.85).is_none());
    }
}
