//! Playback state: reading it and writing it by compare-and-set on its version.

use super::{check_milliseconds, text_field, LibraryService, MAX_DEVICE_CHARS};
use crate::domain::library::{PlaybackState, PlaybackUpdate};
use crate::domain::EntityKind;
use crate::service::accounts::Principal;
use crate::service::{ErrorCode, ServiceError};
use crate::store::library::PlaybackWrite;

/// A playback update as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct PlaybackReport {
    /// The current track.
    pub track_id: String,
    /// Position in ms.
    pub position_ms: i64,
    /// The device's name.
    pub device: String,
    /// The version the client last read (0 when it read none).
    pub version: i64,
}

impl LibraryService {
    /// The caller's playback state (version 0 and no track before the first update).
    pub async fn playback(&self, principal: &Principal) -> Result<PlaybackState, ServiceError> {
        Ok(self
            .inner
            .repo
            .playback(principal.user_id)
            .await?
            .unwrap_or_default())
    }

    /// Writes the playback state if `version` is the current one; otherwise answers the current state
    /// as [`PlaybackUpdate::Stale`] (transports answer 409 / `ABORTED` with it).
    #[tracing::instrument(skip(self, principal, report), fields(user = %principal.user_id))]
    pub async fn update_playback(
        &self,
        principal: &Principal,
        report: PlaybackReport,
    ) -> Result<PlaybackUpdate, ServiceError> {
        check_milliseconds("position_ms", report.position_ms)?;
        if report.version < 0 {
            return Err(ServiceError::invalid(format!(
                "version must not be negative, got {}",
                report.version
            )));
        }
        let device = text_field("device", &report.device, MAX_DEVICE_CHARS, false, false)?;
        let track = self.canonical(EntityKind::Track, &report.track_id).await?;
        Ok(self
            .inner
            .repo
            .update_playback(PlaybackWrite {
                user_id: principal.user_id,
                track,
                position_ms: report.position_ms,
                device: &device,
                expected_version: report.version,
                at: self.now(),
            })
            .await?)
    }

    /// The message of a stale playback update, naming the current state.
    pub fn stale_playback_error(current: &PlaybackState, sent: i64) -> ServiceError {
        let state = serde_json::to_string(current).unwrap_or_default();
        ServiceError::new(
            ErrorCode::Aborted,
            format!(
                "the playback state changed: version {sent} is not the current version {}; \
                 read it again and retry. Current state: {state}",
                current.version
            ),
        )
    }
}
