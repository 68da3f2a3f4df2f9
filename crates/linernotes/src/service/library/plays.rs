//! Listening history: recording plays (validated, de-duplicated by the store, ignored when the user
//! keeps no history), reading the history, play counts and top lists.

use chrono::{DateTime, Utc};

use super::{
    check_milliseconds, page, text_field, LibraryService, DEFAULT_HISTORY, DEFAULT_PAGE,
    MAX_DEVICE_CHARS, MAX_HISTORY, MAX_PAGE,
};
use crate::domain::library::{
    HistoryPage, Period, PlayCount, PlayStatus, TopArtist, TopList, TopTrack,
};
use crate::domain::{format_timestamp, EntityKind};
use crate::service::accounts::Principal;
use crate::service::ServiceError;
use crate::store::library::NewPlay;

/// Default and largest top list.
const DEFAULT_TOP: u32 = 25;
const MAX_TOP: u32 = 200;

/// A play as a client reports it (unparsed).
#[derive(Debug, Clone, Default)]
pub struct PlayReport {
    /// The track's ID (any namespace that identifies tracks).
    pub track_id: String,
    /// RFC 3339; now when absent.
    pub played_at: Option<String>,
    /// Milliseconds listened.
    pub duration_ms: Option<i64>,
    /// The client's name.
    pub client: Option<String>,
}

/// The earliest play accepted: no digital listening history goes back further, and a date before it
/// (year 1, the Unix epoch) is a client's placeholder, not a play.
fn earliest_play() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
}

/// Parses an optional RFC 3339 timestamp parameter called `name` (absent or empty: `None`).
fn timestamp_param(name: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ServiceError::invalid(format!(
                    "{name} '{text}' is not an RFC 3339 timestamp such as 2026-11-27T18:30:00Z"
                ))
            }),
    }
}

impl LibraryService {
    /// Records a play. Answers `deduplicated` when the same track was played within
    /// `library.play_dedup_secs`, and `ignored` when the user keeps no listening history.
    #[tracing::instrument(skip(self, principal, report), fields(user = %principal.user_id))]
    pub async fn record_play(
        &self,
        principal: &Principal,
        report: PlayReport,
    ) -> Result<PlayStatus, ServiceError> {
        let now = self.now();
        let played_at = timestamp_param("played_at", report.played_at.as_deref())?.unwrap_or(now);
        let ahead = i64::try_from(self.inner.settings.max_future_play_secs).unwrap_or(i64::MAX);
        if played_at > now + chrono::Duration::seconds(ahead) {
            return Err(ServiceError::invalid(format!(
                "played_at is in the future (more than {ahead} seconds ahead of the server's clock)"
            )));
        }
        if played_at < earliest_play() {
            return Err(ServiceError::invalid(format!(
                "played_at must not be before {}, got {}",
                format_timestamp(earliest_play()),
                format_timestamp(played_at)
            )));
        }
        if let Some(duration) = report.duration_ms {
            check_milliseconds("duration_ms", duration)?;
        }
        let client = report
            .client
            .as_deref()
            .map(|c| text_field("client", c, MAX_DEVICE_CHARS, true, false))
            .transpose()?
            .filter(|c| !c.is_empty());
        let track = self.canonical(EntityKind::Track, &report.track_id).await?;
        let settings = self
            .inner
            .accounts
            .privacy_settings(principal.user_id)
            .await?;
        if !settings.keep_listening_history {
            return Ok(PlayStatus::Ignored);
        }
        Ok(self
            .inner
            .repo
            .record_play(NewPlay {
                user_id: principal.user_id,
                track,
                played_at,
                duration_ms: report.duration_ms,
                client: client.as_deref(),
                recorded_at: now,
                dedup_window: std::time::Duration::from_secs(self.inner.settings.play_dedup_secs),
            })
            .await?)
    }

    /// A page of history before `before` (RFC 3339; newest when absent), newest first.
    pub async fn history(
        &self,
        principal: &Principal,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<HistoryPage, ServiceError> {
        let limit = page(limit, DEFAULT_HISTORY, MAX_HISTORY)?;
        let before = timestamp_param("before", before)?;
        Ok(self
            .inner
            .repo
            .history(principal.user_id, before, limit)
            .await?)
    }

    /// Play counts per track, most played first.
    pub async fn play_counts(
        &self,
        principal: &Principal,
        limit: Option<u32>,
        offset: Option<u32>,
    ) -> Result<Vec<PlayCount>, ServiceError> {
        let limit = page(limit, DEFAULT_PAGE, MAX_PAGE)?;
        Ok(self
            .inner
            .repo
            .play_counts(principal.user_id, limit, i64::from(offset.unwrap_or(0)))
            .await?)
    }

    /// The most played tracks of a period (`7d`, `30d` (default), `365d`, `all`).
    pub async fn top_tracks(
        &self,
        principal: &Principal,
        period: Option<&str>,
        limit: Option<u32>,
    ) -> Result<TopList<TopTrack>, ServiceError> {
        let period = Period::parse(period).map_err(ServiceError::invalid)?;
        let limit = page(limit, DEFAULT_TOP, MAX_TOP)?;
        let items = self
            .inner
            .repo
            .top_tracks(principal.user_id, period.since(self.now()), limit)
            .await?;
        Ok(TopList { period, items })
    }

    /// The most played artists of a period.
    pub async fn top_artists(
        &self,
        principal: &Principal,
        period: Option<&str>,
        limit: Option<u32>,
    ) -> Result<TopList<TopArtist>, ServiceError> {
        let period = Period::parse(period).map_err(ServiceError::invalid)?;
        let limit = page(limit, DEFAULT_TOP, MAX_TOP)?;
        let items = self
            .inner
            .repo
            .top_artists(principal.user_id, period.since(self.now()), limit)
            .await?;
        Ok(TopList { period, items })
    }
}
