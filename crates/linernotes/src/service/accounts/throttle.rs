//! Throttling in the accounts service: every password check is counted against the address and the
//! client IP *before* the password is verified (a reservation), and given back when it did not fail;
//! requests that hash a password or send mail are counted per client IP.

use chrono::{DateTime, Duration, Utc};

use super::{days, secs, AccountService};
use crate::domain::account::{RequestContext, ThrottlePolicy, ThrottleState};
use crate::service::ServiceError;

/// 429 for a locked throttle key, with the seconds to wait (rounded up: retrying after them must find
/// the lock gone).
pub(super) fn locked(locked_for: Duration) -> ServiceError {
    let millis = locked_for.num_milliseconds();
    let retry = u64::try_from((millis + 999) / 1000).unwrap_or(1).max(1);
    ServiceError::resource_exhausted(
        format!("too many attempts; try again in {retry} seconds"),
        retry,
    )
}

/// One password check counted on a throttle key before the password was verified.
pub(super) struct Reservation {
    key: String,
    before: ThrottleState,
    reserved: ThrottleState,
}

impl AccountService {
    /// The lockout policy of the per-address keys; the per-IP ones differ only in their limit.
    pub(super) fn account_policy(&self) -> ThrottlePolicy {
        let t = &self.inner.settings.throttle;
        ThrottlePolicy {
            max_failures: t.account_max_failures,
            window: secs(t.window_secs),
            lockout: secs(t.lockout_secs),
            max_lockout: secs(t.max_lockout_secs),
        }
    }

    /// Failures per client IP: higher than per address, as people may share an address.
    fn ip_policy(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            max_failures: self.inner.settings.throttle.ip_max_failures,
            ..self.account_policy()
        }
    }

    /// Counts one attempt on a throttle key at `now`, atomically (see [`ThrottleState::reserved`]);
    /// answers the counters before and after.
    pub(super) async fn count_attempt(
        &self,
        key: &str,
        policy: ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<(ThrottleState, ThrottleState), ServiceError> {
        let reserve = move |s: ThrottleState| s.reserved(&policy, now);
        Ok(self.inner.repo.throttle_update(key, now, &reserve).await?)
    }

    /// Counts one request to register, verify an address or confirm a reset (each hashes a password or
    /// sends mail) against the client IP (`auth.throttle.ip_max_account_requests` per window, then the
    /// growing lockout); 429 while the IP is locked for them. Requests without a known IP are not limited.
    pub(super) async fn limit_ip_requests(
        &self,
        context: &RequestContext,
    ) -> Result<(), ServiceError> {
        let Some(ip) = context.ip else {
            return Ok(());
        };
        let now = self.now();
        let policy = ThrottlePolicy {
            max_failures: self.inner.settings.throttle.ip_max_account_requests,
            ..self.account_policy()
        };
        let (before, _) = self
            .count_attempt(&format!("ip-requests:{ip}"), policy, now)
            .await?;
        match before.locked_for(now) {
            Some(left) => Err(locked(left)),
            None => Ok(()),
        }
    }

    /// The throttling keys of a password check: the (normalised) address, and the client IP unless
    /// this account logged in from that IP with its right password recently (then one noisy client
    /// behind the same address cannot lock its user out; the address's own key still counts every
    /// failure).
    async fn throttle_keys(
        &self,
        normalized_email: &str,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, ThrottlePolicy)>, ServiceError> {
        let mut keys = vec![(format!("account:{normalized_email}"), self.account_policy())];
        if let Some(ip) = context.ip {
            if !self
                .is_known_login(&ip.to_string(), normalized_email, now)
                .await?
            {
                keys.push((format!("ip:{ip}"), self.ip_policy()));
            }
        }
        Ok(keys)
    }

    /// Whether the account logged in from `ip` with its right password within
    /// `auth.throttle.known_login_days`.
    async fn is_known_login(
        &self,
        ip: &str,
        normalized_email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let known_days = self.inner.settings.throttle.known_login_days;
        if known_days == 0 {
            return Ok(false);
        }
        let since = now - days(known_days);
        Ok(self
            .inner
            .repo
            .known_login(ip, normalized_email, since)
            .await?)
    }

    /// Reserves one password check on the address's and the client IP's throttle before the password is
    /// verified: each reservation counts as a failure at once (atomically in the store), so parallel
    /// guesses are counted before any of them is checked. `Ok(Err(left))` when a key is locked (the
    /// reservations made so far are given back).
    pub(super) async fn reserve_attempt(
        &self,
        normalized_email: &str,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Reservation>, Duration>, ServiceError> {
        let mut reservations = Vec::new();
        for (key, policy) in self.throttle_keys(normalized_email, context, now).await? {
            let (before, reserved) = self.count_attempt(&key, policy, now).await?;
            if let Some(left) = before.locked_for(now) {
                self.release_attempt(&reservations, now).await?;
                return Ok(Err(left));
            }
            reservations.push(Reservation {
                key,
                before,
                reserved,
            });
        }
        Ok(Ok(reservations))
    }

    /// Gives reservations back (the check did not fail).
    pub(super) async fn release_attempt(
        &self,
        reservations: &[Reservation],
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        for r in reservations {
            let (before, reserved) = (r.before, r.reserved);
            let release = move |s: ThrottleState| s.released(&before, &reserved);
            self.inner
                .repo
                .throttle_update(&r.key, now, &release)
                .await?;
        }
        Ok(())
    }

    /// After a right password: the address's counters are forgotten, the IP's reservation is given back
    /// (other people may share that address), and the pair of client IP and account is remembered.
    pub(super) async fn succeeded_attempt(
        &self,
        reservations: &[Reservation],
        normalized_email: &str,
        context: &RequestContext,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        if let Some(ip) = context.ip {
            self.inner
                .repo
                .remember_login(&ip.to_string(), normalized_email, now)
                .await?;
        }
        let (account, others): (Vec<&Reservation>, Vec<&Reservation>) = reservations
            .iter()
            .partition(|r| r.key.starts_with("account:"));
        for r in account {
            self.inner.repo.throttle_clear(&r.key).await?;
        }
        for r in others {
            self.release_attempt(std::slice::from_ref(r), now).await?;
        }
        Ok(())
    }
}
