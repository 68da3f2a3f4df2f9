//! The pure arithmetic of login throttling: how many failures lock a key, for how long, and how a
//! reservation made before a password check is given back.

use chrono::{DateTime, Duration, Utc};

/// How many failures lock a throttling key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` that lock the key.
    pub max_failures: u32,
    /// The counting window.
    pub window: Duration,
    /// The first lockout; each further one doubles, up to `max_lockout`.
    pub lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
}

/// The stored counters of one throttling key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// When the current counting window began.
    pub window_start: DateTime<Utc>,
    /// Failures in the window.
    pub failures: u32,
    /// Locked until then, when set and in the future.
    pub locked_until: Option<DateTime<Utc>>,
    /// Lockouts so far (the back-off exponent); reset by a successful login.
    pub lockouts: u32,
}

impl ThrottleState {
    /// A key that never failed.
    pub fn fresh(now: DateTime<Utc>) -> Self {
        Self {
            window_start: now,
            failures: 0,
            locked_until: None,
            lockouts: 0,
        }
    }

    /// How long the key stays locked, if it is locked at `now`.
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// The counters after reserving one attempt at `now`: a locked key stays as it is (the attempt is
    /// refused), otherwise the attempt counts as a failure *before* the password is checked, so parallel
    /// guesses cannot all pass a check that none of them has recorded yet. A successful attempt gives its
    /// reservation back with [`ThrottleState::released`] (or clears the key).
    pub fn reserved(self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        if self.locked_for(now).is_some() {
            self
        } else {
            self.after_failure(policy, now)
        }
    }

    /// The counters after giving back a reservation that moved them from `before` to `reserved`: when
    /// nothing happened since, `before`; when only further attempts were counted in the same window, one
    /// failure fewer; otherwise (a new window or lock since) unchanged, erring on the side of counting.
    pub fn released(self, before: &Self, reserved: &Self) -> Self {
        if self == *reserved {
            *before
        } else if self.window_start == reserved.window_start
            && self.lockouts == reserved.lockouts
            && self.failures > 0
        {
            Self {
                failures: self.failures - 1,
                ..self
            }
        } else {
            self
        }
    }

    /// The counters after one more failure at `now`: a window that ran out starts again; reaching the
    /// limit locks the key for `lockout × 2^lockouts` (capped) and starts a new window.
    pub fn after_failure(self, policy: &ThrottlePolicy, now: DateTime<Utc>) -> Self {
        let mut next = self;
        if now - next.window_start >= policy.window {
            next.window_start = now;
            next.failures = 0;
        }
        next.failures = next.failures.saturating_add(1);
        if next.failures >= policy.max_failures {
            let factor = 1i32 << next.lockouts.min(20);
            let lock = (policy.lockout * factor).min(policy.max_lockout);
            next.locked_until = Some(now + lock);
            next.lockouts = next.lockouts.saturating_add(1);
            next.failures = 0;
            next.window_start = now;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_grow_and_are_capped() {
        let policy = ThrottlePolicy {
            max_failures: 3,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
            max_lockout: Duration::minutes(40),
        };
        let t0 = Utc::now();
        let mut s = ThrottleState::fresh(t0);
        for _ in 0..3 {
            s = s.after_failure(&policy, t0);
        }
        assert_eq!(s.locked_for(t0), Some(Duration::minutes(15)));
        let t1 = t0 + Duration::minutes(16);
        assert_eq!(s.locked_for(t1), None);
        for _ in 0..3 {
            s = s.after_failure(&policy, t1);
        }
        assert_eq!(s.locked_for(t1), Some(Duration::minutes(30)));
        let t2 = t1 + Duration::minutes(31);
        for _ in 0..3 {
            s = s.after_failure(&policy, t2);
        }
        assert_eq!(s.locked_for(t2), Some(Duration::minutes(40)));
        // A window that ran out starts counting again.
        let mut s = ThrottleState::fresh(t0);
        s = s.after_failure(&policy, t0);
        s = s.after_failure(&policy, t0);
        s = s.after_failure(&policy, t0 + Duration::minutes(20));
        assert_eq!(s.failures, 1);
        assert_eq!(s.locked_until, None);
    }
}
