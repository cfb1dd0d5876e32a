//! Retry policy (exponential backoff with full jitter, `max_attempts` counting the first
//! try), driven by `backon`, and the circuit breaker that pauses a consumer group after
//! repeated failures and lets one probe through before resuming.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How transient failures are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first try included (1 = no retries).
    pub max_attempts: u32,
    /// Ceiling of the first retry's delay.
    pub initial_delay: Duration,
    /// No delay ceiling grows past this.
    pub max_delay: Duration,
    /// Growth of the ceiling per retry.
    pub factor: f64,
    /// Full jitter: each delay is uniform in `[0, ceiling]`. Off: exactly the ceiling.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            factor: 2.0,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The delay ceiling before retry `n` (0-based): `min(max_delay, initial * factor^n)`.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exp = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = self.initial_delay.as_secs_f64() * self.factor.max(1.0).powi(exp);
        if !secs.is_finite() || secs >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// The delays between attempts, as a `backon` backoff.
    pub fn backoff(&self) -> FullJitterBackoff {
        FullJitterBackoff {
            policy: self.clone(),
            retry: 0,
            rng: fastrand::Rng::new(),
        }
    }

    /// The sum of the ceilings: the longest in-process retry horizon.
    pub fn horizon(&self) -> Duration {
        (0..self.max_attempts.saturating_sub(1))
            .map(|n| self.ceiling(n))
            .sum()
    }
}

/// Exponential backoff with full jitter (AWS's "full jitter"): `backon`'s own jitter only
/// adds up to one delay on top, which does not spread a thundering herd as well.
#[derive(Debug)]
pub struct FullJitterBackoff {
    policy: RetryPolicy,
    retry: u32,
    rng: fastrand::Rng,
}

impl Iterator for FullJitterBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.retry.saturating_add(1) >= self.policy.max_attempts {
            return None;
        }
        let ceiling = self.policy.ceiling(self.retry);
        self.retry += 1;
        Some(if self.policy.jitter {
            ceiling.mul_f64(self.rng.f64())
        } else {
            ceiling
        })
    }
}

/// When a consumer group's circuit opens, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive transient failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the group pauses before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 20,
            open_for: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// A circuit breaker shared by the workers of one group.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: Mutex<State>,
    changed: Notify,
}

/// Whether the breaker is letting work through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
            changed: Notify::new(),
        }
    }

    pub fn state(&self) -> BreakerState {
        match self.state.lock().map(|s| *s) {
            Ok(State::Closed { .. }) | Err(_) => BreakerState::Closed,
            Ok(State::Open { .. }) => BreakerState::Open,
            Ok(State::HalfOpen { .. }) => BreakerState::HalfOpen,
        }
    }

    /// Waits until work may run: at once when closed; after the pause when open, as the
    /// single probe; while a probe runs, until it settles.
    pub async fn admit(&self) {
        loop {
            let notified = self.changed.notified();
            let wait_until = {
                let Ok(mut state) = self.state.lock() else {
                    return;
                };
                match *state {
                    State::Closed { .. } => return,
                    State::HalfOpen { probing: false } => {
                        *state = State::HalfOpen { probing: true };
                        return;
                    }
                    State::Open { until } if until <= Instant::now() => {
                        *state = State::HalfOpen { probing: true };
                        tracing::info!("circuit half-open: probing");
                        return;
                    }
                    State::Open { until } => Some(until),
                    State::HalfOpen { probing: true } => None,
                }
            };
            match wait_until {
                Some(until) => tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = notified => {}
                },
                None => notified.await,
            }
        }
    }

    /// Records the outcome of admitted work (`transient_failure` false means success or a
    /// non-transient outcome, which says nothing about the dependency's health).
    pub fn record(&self, transient_failure: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let next = match (*state, transient_failure) {
            (State::Closed { .. }, false) => State::Closed { failures: 0 },
            (State::Closed { failures }, true) => {
                let failures = failures.saturating_add(1);
                if failures >= self.config.failure_threshold {
                    tracing::warn!(failures, "circuit opened");
                    State::Open {
                        until: Instant::now() + self.config.open_for,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            (State::HalfOpen { .. }, false) => State::Closed { failures: 0 },
            (State::HalfOpen { .. }, true) | (State::Open { .. }, true) => State::Open {
                until: Instant::now() + self.config.open_for,
            },
            (open @ State::Open { .. }, false) => open,
        };
        *state = next;
        drop(state);
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn ceilings_grow_and_cap() {
        let p = RetryPolicy {
            max_attempts: 6,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            factor: 2.0,
            jitter: false,
        };
        let delays: Vec<_> = p.backoff().collect();
        assert_eq!(
            delays,
            [100, 200, 400, 500, 500]
                .map(Duration::from_millis)
                .to_vec()
        );
        assert_eq!(p.horizon(), Duration::from_millis(1700));
        let jittered: Vec<_> = RetryPolicy {
            jitter: true,
            ..p.clone()
        }
        .backoff()
        .collect();
        assert_eq!(jittered.len(), 5);
        for (n, d) in jittered.iter().enumerate() {
            assert!(*d <= p.ceiling(u32::try_from(n).unwrap()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_pauses_and_probes() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_secs(3),
        });
        b.record(true);
        assert_eq!(b.state(), BreakerState::Closed);
        b.record(true);
        assert_eq!(b.state(), BreakerState::Open);
        let start = Instant::now();
        b.admit().await;
        assert!(start.elapsed() >= Duration::from_secs(3));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.record(true);
        assert_eq!(b.state(), BreakerState::Open);
        b.admit().await;
        b.record(false);
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
