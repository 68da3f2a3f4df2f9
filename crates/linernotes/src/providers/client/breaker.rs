//! A circuit breaker per provider: after repeated failures it opens for a cool-down, during which
//! requests fail fast instead of waiting on timeouts; then it lets one probe through and closes when
//! the probe succeeds.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::support::Clock;

/// The breaker's state as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests fail fast until the cool-down ends.
    Open,
    /// The cool-down ended; one probe request is allowed through.
    HalfOpen,
}

impl BreakerState {
    /// The state as a gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        consecutive_failures: u32,
    },
    Open {
        until: DateTime<Utc>,
    },
    /// One probe is out since `probe_started`; a probe that never reports back (cancelled) is
    /// replaced after another cool-down.
    HalfOpen {
        probe_started: DateTime<Utc>,
    },
}

/// A circuit breaker.
pub struct CircuitBreaker {
    name: &'static str,
    state: Mutex<State>,
    threshold: u32,
    cool_down: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A closed breaker opening after `threshold` consecutive failures for `cool_down`.
    pub fn new(
        name: &'static str,
        threshold: u32,
        cool_down: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            name,
            state: Mutex::new(State::Closed {
                consecutive_failures: 0,
            }),
            threshold,
            cool_down,
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks to send a request. `Err` carries when the breaker may let a probe through.
    pub fn permit(&self) -> Result<(), DateTime<Utc>> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if self.clock.now() >= until => {
                *state = State::HalfOpen {
                    probe_started: self.clock.now(),
                };
                self.publish(BreakerState::HalfOpen);
                tracing::info!(provider = self.name, "circuit half-open: probing");
                Ok(())
            }
            State::Open { until } => Err(until),
            State::HalfOpen { probe_started } => {
                let retry_at = probe_started + self.cool_down_chrono();
                if self.clock.now() >= retry_at {
                    *state = State::HalfOpen {
                        probe_started: self.clock.now(),
                    };
                    Ok(())
                } else {
                    Err(retry_at)
                }
            }
        }
    }

    /// Records a successful request: the breaker closes.
    pub fn record_success(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { .. }) {
            tracing::info!(provider = self.name, "circuit closed");
        }
        *state = State::Closed {
            consecutive_failures: 0,
        };
        self.publish(BreakerState::Closed);
    }

    /// Records a failed request: the breaker opens after `threshold` in a row, or at once when probing.
    pub fn record_failure(&self) {
        let mut state = self.lock();
        let open = match *state {
            State::Closed {
                consecutive_failures,
            } => {
                let failures = consecutive_failures + 1;
                *state = State::Closed {
                    consecutive_failures: failures,
                };
                failures >= self.threshold
            }
            State::HalfOpen { .. } | State::Open { .. } => true,
        };
        if open {
            let until = self.clock.now() + self.cool_down_chrono();
            tracing::warn!(provider = self.name, %until, "circuit open: failing fast");
            *state = State::Open { until };
            self.publish(BreakerState::Open);
        }
    }

    fn cool_down_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.cool_down).unwrap_or(chrono::Duration::seconds(30))
    }

    /// The current state (an open breaker whose cool-down is over reports half-open).
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if self.clock.now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Consecutive failures while closed.
    pub fn consecutive_failures(&self) -> u32 {
        match *self.lock() {
            State::Closed {
                consecutive_failures,
            } => consecutive_failures,
            _ => self.threshold,
        }
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!("linernotes_provider_circuit_state", "provider" => self.name)
            .set(state.gauge());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::ManualClock;

    #[test]
    fn opens_after_the_threshold_probes_after_the_cool_down_and_closes_on_success() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let breaker = CircuitBreaker::new("t", 2, Duration::from_secs(30), clock.clone());
        breaker.record_failure();
        assert!(breaker.permit().is_ok());
        breaker.record_failure();
        assert!(breaker.permit().is_err());
        clock.advance(chrono::Duration::seconds(31));
        assert!(breaker.permit().is_ok(), "one probe");
        assert!(breaker.permit().is_err(), "only one probe at a time");
        breaker.record_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        clock.advance(chrono::Duration::seconds(31));
        assert!(breaker.permit().is_ok());
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.permit().is_ok());
    }
}
