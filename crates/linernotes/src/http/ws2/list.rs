//! `GET /ws/2/{resource}` without an MBID: a search (`query=`) or a browse (`<linked>=<mbid>`), as
//! musicbrainz-server tells them apart, with its `limit`/`offset` rules.

use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;

use super::{json_response, render, Query, Ws2Failure};
use crate::domain::ws2::{IncSet, Ws2Browse, Ws2Resource};
use crate::domain::Mbid;
use crate::http::AppState;

/// Answers a browse or search of `resource`.
pub(super) async fn answer(
    state: &AppState,
    resource: Ws2Resource,
    query: &Query,
) -> Result<Response, Ws2Failure> {
    let (limit, offset) = limit_and_offset(query)?;
    let texts = query.all("query");
    if !texts.is_empty() {
        if texts.len() > 1 {
            return Err(Ws2Failure::bad_request(
                "Must specify at most 1 query argument",
            ));
        }
        return search(state, resource, texts[0], limit, offset).await;
    }
    let linked = Ws2Browse::linked_to(resource)
        .into_iter()
        .find_map(|linked| query.get(linked.name()).map(|mbid| (linked, mbid)));
    let Some((linked, mbid)) = linked else {
        let browsable = Ws2Browse::linked_to(resource)
            .iter()
            .map(|linked| format!("{linked}=<mbid>"))
            .collect::<Vec<_>>();
        let mut message = format!(
            "The given parameters do not match any available query type for the {resource} resource."
        );
        message.push_str(" linernotes answers query=<search>");
        if !browsable.is_empty() {
            message.push_str(&format!(" or {}", browsable.join(" or ")));
        }
        message.push_str(" here.");
        return Err(Ws2Failure::bad_request(message));
    };
    let mbid = Mbid::parse(mbid).map_err(|_| Ws2Failure::bad_request("Invalid mbid."))?;
    let inc = IncSet::parse(resource, &query.all("inc"))?;
    if !inc.personal().is_empty() {
        return Err(Ws2Failure::new(
            StatusCode::UNAUTHORIZED,
            "You are not authorized to access this resource.",
        ));
    }
    let browse = Ws2Browse {
        resource,
        linked,
        mbid,
        inc: inc.upstream(),
        limit,
        offset,
    };
    let page = state.metadata.musicbrainz_browse(&browse).await?;
    let bytes = page.rendered("page", |payload| Bytes::from(payload.to_string()));
    Ok(json_response(StatusCode::OK, bytes))
}

/// `limit` (default 25, at most 100) and `offset` (default 0), refused in MusicBrainz's words when
/// they are not whole numbers.
fn limit_and_offset(query: &Query) -> Result<(u32, u32), Ws2Failure> {
    let number = |name: &str| -> Result<Option<u32>, Ws2Failure> {
        match query.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<u32>().map(Some).map_err(|_| {
                Ws2Failure::bad_request(
                    "The 'limit' and 'offset' parameters must be positive integers",
                )
            }),
        }
    };
    let limit = match number("limit")? {
        None | Some(0) => Ws2Browse::DEFAULT_LIMIT,
        Some(limit) => limit.min(Ws2Browse::MAX_LIMIT),
    };
    let offset = number("offset")?.unwrap_or(0);
    Ok((limit, offset))
}

/// A search, answered from linernotes' search index (MusicBrainz when it has nothing).
async fn search(
    state: &AppState,
    resource: Ws2Resource,
    text: &str,
    limit: u32,
    offset: u32,
) -> Result<Response, Ws2Failure> {
    let words = search_words(resource, text);
    let page = if words.is_empty() {
        crate::domain::SearchPage {
            results: Vec::new(),
            total: 0,
            offset: i64::from(offset),
        }
    } else {
        state
            .metadata
            .search(&words, Some(resource.0.as_str()), Some(limit), Some(offset))
            .await?
    };
    let mut items = Vec::with_capacity(page.results.len());
    for hit in &page.results {
        let stored = state
            .metadata
            .stored_musicbrainz_body(resource, hit.id)
            .await?;
        items.push(render::search_hit(
            resource,
            stored.as_ref().map(|body| &body.payload),
            hit,
        ));
    }
    let body = render::search_page(resource, chrono::Utc::now(), page.total, page.offset, items);
    Ok(json_response(StatusCode::OK, Bytes::from(body.to_string())))
}

/// The words to look for in a MusicBrainz (Lucene) query: the values of the fields that name the
/// resource (`release:(…)` for releases), else the free text; operators, other fields (`arid:`,
/// `tracks:`, …), quotes, parentheses and escapes are dropped.
pub(super) fn search_words(resource: Ws2Resource, query: &str) -> String {
    let naming: &[&str] = match resource.name() {
        "artist" => &["artist", "artistname", "name"],
        "release-group" => &["releasegroup", "release"],
        "release" => &["release"],
        "recording" => &["recording"],
        _ => &["label", "name"],
    };
    let terms = lucene_terms(query);
    let pick = |wanted: &dyn Fn(Option<&str>) -> bool| {
        let mut words: Vec<String> = Vec::new();
        for (field, value) in &terms {
            if wanted(field.as_deref()) && !words.contains(value) {
                words.push(value.clone());
            }
        }
        words.join(" ")
    };
    let named = pick(&|field| field.is_some_and(|f| naming.contains(&f)));
    if !named.is_empty() {
        return named;
    }
    pick(&|field| field.is_none())
}

/// The terms of a Lucene query as (field, value) pairs, without operators.
fn lucene_terms(query: &str) -> Vec<(Option<String>, String)> {
    let chars: Vec<char> = query.chars().collect();
    let mut terms = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if chars[at].is_whitespace() {
            at += 1;
            continue;
        }
        // An optional `field:` prefix.
        let start = at;
        let mut field = None;
        let mut end = at;
        while end < chars.len()
            && (chars[end].is_alphanumeric() || chars[end] == '_' || chars[end] == '-')
        {
            end += 1;
        }
        if end > start && end < chars.len() && chars[end] == ':' {
            field = Some(chars[start..end].iter().collect::<String>().to_lowercase());
            at = end + 1;
        }
        let (value, next) = lucene_value(&chars, at);
        at = next.max(at + 1);
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let operator =
            field.is_none() && matches!(value.as_str(), "AND" | "OR" | "NOT" | "&&" | "||" | "!");
        if !value.is_empty() && !operator {
            terms.push((field, value));
        }
    }
    terms
}

/// One value starting at `at`: a `(group)`, a `"phrase"` or a word; unescaped. Returns it and where
/// the next term starts.
fn lucene_value(chars: &[char], mut at: usize) -> (String, usize) {
    let mut value = String::new();
    let (open, close) = match chars.get(at) {
        Some('(') => (true, ')'),
        Some('"') => (true, '"'),
        _ => (false, ' '),
    };
    if open {
        at += 1;
    }
    let mut depth = 0;
    while let Some(&c) = chars.get(at) {
        at += 1;
        match c {
            '\\' => {
                if let Some(&escaped) = chars.get(at) {
                    value.push(escaped);
                    at += 1;
                }
            }
            '(' if close == ')' => depth += 1,
            ')' if close == ')' && depth > 0 => depth -= 1,
            c if open && c == close => break,
            c if !open && c.is_whitespace() => break,
            '"' | '(' | ')' => value.push(' '),
            // Required/prohibited prefixes, boosts and fuzziness carry no words.
            '+' | '-' if value.is_empty() => {}
            '^' | '~' => {}
            c => value.push(c),
        }
    }
    (value, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EntityKind;

    #[test]
    fn client_queries_become_the_words_that_name_the_entity() {
        let release = Ws2Resource(EntityKind::Release);
        let recording = Ws2Resource(EntityKind::Track);
        let artist = Ws2Resource(EntityKind::Artist);
        // beets
        assert_eq!(
            search_words(release, "release:(partial dates) artist:(ada example)"),
            "partial dates"
        );
        assert_eq!(
            search_words(
                recording,
                "artist:(ada example) recording:(first) alias:(first)"
            ),
            "first"
        );
        assert_eq!(
            search_words(release, r"release:(ac\/dc live) tracks:(12)"),
            "ac/dc live"
        );
        // Jellyfin and musicbrainz_rs
        assert_eq!(
            search_words(
                release,
                "\"partial dates\" AND arid:0a3c9b2e-5d41-4f7e-9c1a-2b6d8e4f1a01"
            ),
            "partial dates"
        );
        assert_eq!(
            search_words(artist, "artist:fred AND type:group AND country:US"),
            "fred"
        );
        assert_eq!(search_words(artist, "nirvana"), "nirvana");
        assert_eq!(search_words(artist, "arid:0a3c9b2e"), "");
    }
}
