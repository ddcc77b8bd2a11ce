//! The circuit breaker state machine: plain data, no locking, no clock of
//! its own. Every method is O(1) and never panics.
#![forbid(unsafe_code)]

use crate::{CallError, Clock, Config, Error};

/// The three states of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// Normal operation: every call is allowed.
    Closed = 0,
    /// Tripped: every call is rejected until `reset_timeout_ms` has passed
    /// since the last failure.
    Open = 1,
    /// Testing recovery: up to `half_open_max_calls` probes are admitted.
    HalfOpen = 2,
}

impl State {
    /// The C-side code of this state (`FUSEBOX_STATE_*`).
    pub const fn code(self) -> u32 {
        self as u32
    }
}

/// A snapshot of a breaker's counters. Counters other than `failure_count`
/// wrap around at `u32::MAX`; `failure_count` saturates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// The stored state. Like Snakepit's `stats`, reading stats does not move
    /// an expired open breaker to half-open; `state()` does.
    pub state: State,
    /// Failures since the last close or reset.
    pub failure_count: u32,
    /// Successes recorded, ever (kept across resets, like Snakepit).
    pub success_count: u32,
    /// The configured failure threshold.
    pub failure_threshold: u32,
    /// Probes admitted in the current half-open period.
    pub half_open_calls: u32,
    /// The configured probe limit.
    pub half_open_max_calls: u32,
    /// The configured open duration.
    pub reset_timeout_ms: u32,
    /// Calls rejected by `try_acquire`/`call`.
    pub rejected_count: u32,
    /// Calls admitted by `try_acquire`/`call`.
    pub admitted_count: u32,
    /// Time of the last recorded failure, `None` after a reset or before any.
    pub last_failure_ms: Option<u64>,
}

/// One circuit breaker, owned by its user (`&mut self`, no locking).
///
/// Time comes in as `now_ms`, read by the caller from its [`Clock`].
///
/// ```
/// use fusebox::{Breaker, Config, State};
/// let mut b = Breaker::new(Config::default().with_failure_threshold(2)).unwrap();
/// b.record_failure(0);
/// b.record_failure(1);
/// assert_eq!(b.state(2), State::Open);
/// assert!(b.try_acquire(2).is_err());
/// assert_eq!(b.state(30_001), State::HalfOpen);
/// assert_eq!(b.try_acquire(30_001), Ok(State::HalfOpen));
/// b.record_success(30_002);
/// assert_eq!(b.state(30_002), State::Closed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    config: Config,
    state: State,
    failure_count: u32,
    success_count: u32,
    half_open_calls: u32,
    rejected_count: u32,
    admitted_count: u32,
    /// Meaningful only when `has_failure_time` (an `Option<u64>` would cost
    /// 8 more bytes per breaker).
    last_failure_ms: SplitU64,
    /// Open-window time that passed before `last_failure_ms` could be
    /// expressed on this clock: set by a restore onto a clock that reads
    /// less than the time already elapsed (a clock restarted at boot).
    elapsed_credit_ms: u32,
    has_failure_time: bool,
}

/// A `u64` kept as two `u32` halves, so that a breaker is 4-byte aligned
/// and packs into smaller registry slots on 32-bit microcontrollers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SplitU64([u32; 2]);

impl SplitU64 {
    const fn new(v: u64) -> Self {
        SplitU64([v as u32, (v >> 32) as u32])
    }

    const fn get(self) -> u64 {
        (self.0[1] as u64) << 32 | self.0[0] as u64
    }
}

/// A breaker's state as a snapshot carries it (see [`crate::snapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    pub state: State,
    pub failure_count: u32,
    pub success_count: u32,
    pub half_open_calls: u32,
    pub rejected_count: u32,
    pub admitted_count: u32,
    /// Milliseconds since the last failure, if there was one.
    pub since_failure_ms: Option<u64>,
}

impl Breaker {
    /// An all-zero breaker for empty registry slots (never used as a
    /// breaker: its config is invalid), so that an empty registry is
    /// zero-initialised and lives in `.bss`.
    pub(crate) const VACANT: Breaker = Breaker {
        config: Config::ZERO,
        state: State::Closed,
        failure_count: 0,
        success_count: 0,
        half_open_calls: 0,
        rejected_count: 0,
        admitted_count: 0,
        last_failure_ms: SplitU64::new(0),
        elapsed_credit_ms: 0,
        has_failure_time: false,
    };

    /// A closed breaker with `config`. O(1).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when `config.validate()` fails.
    pub const fn new(config: Config) -> Result<Self, Error> {
        if let Err(e) = config.validate() {
            return Err(e);
        }
        Ok(Self {
            config,
            ..Self::VACANT
        })
    }

    /// The breaker's configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Moves an open breaker whose timeout has run out to half-open (lazily:
    /// there is no timer). A reading earlier than the last failure means the
    /// clock went backwards: the open window is re-based on it, so the breaker
    /// never stays open longer than `reset_timeout_ms` of forward time.
    fn refresh(&mut self, now_ms: u64) {
        if self.state != State::Open {
            return;
        }
        let elapsed = if !self.has_failure_time {
            // Open without a failure time cannot come from this state
            // machine; treat the window as over rather than wedge.
            u64::MAX
        } else if now_ms >= self.last_failure_ms.get() {
            (now_ms - self.last_failure_ms.get()).saturating_add(u64::from(self.elapsed_credit_ms))
        } else {
            self.last_failure_ms = SplitU64::new(now_ms);
            self.elapsed_credit_ms = 0;
            0
        };
        if elapsed >= u64::from(self.config.reset_timeout_ms) {
            self.state = State::HalfOpen;
            self.half_open_calls = 0;
        }
    }

    /// The current state, after moving an expired open breaker to half-open
    /// (Snakepit's `state`). O(1).
    pub fn state(&mut self, now_ms: u64) -> State {
        self.refresh(now_ms);
        self.state
    }

    /// Whether a call would be admitted now. A pure check: it reserves no
    /// half-open probe slot (Snakepit's `allow_call?`), though it does move
    /// an expired open breaker to half-open. O(1).
    pub fn allow_call(&mut self, now_ms: u64) -> bool {
        self.refresh(now_ms);
        match self.state {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen => self.half_open_calls < self.config.half_open_max_calls,
        }
    }

    /// Admits a call, or rejects it. In half-open, an admission takes one of
    /// the `half_open_max_calls` probe slots. On success it returns the state
    /// the call was admitted in (`Closed` or `HalfOpen`: a probe). O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`] when open, or half-open with every slot taken.
    pub fn try_acquire(&mut self, now_ms: u64) -> Result<State, Error> {
        self.refresh(now_ms);
        let admitted = match self.state {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen => {
                let free = self.half_open_calls < self.config.half_open_max_calls;
                if free {
                    self.half_open_calls += 1;
                }
                free
            }
        };
        if admitted {
            self.admitted_count = self.admitted_count.wrapping_add(1);
            Ok(self.state)
        } else {
            self.rejected_count = self.rejected_count.wrapping_add(1);
            Err(Error::CircuitOpen)
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a closed breaker, which needs
    /// no time: `None` (and nothing changed) when it is not closed.
    #[inline]
    pub(crate) fn try_acquire_if_closed(&mut self) -> Option<State> {
        (self.state == State::Closed).then(|| {
            self.admitted_count = self.admitted_count.wrapping_add(1);
            State::Closed
        })
    }

    /// [`record_success`](Self::record_success) for a closed breaker, which
    /// needs no time: `false` (and nothing changed) when it is not closed.
    #[inline]
    pub(crate) fn record_success_if_closed(&mut self) -> bool {
        let closed = self.state == State::Closed;
        if closed {
            self.success_count = self.success_count.wrapping_add(1);
        }
        closed
    }

    /// Records a success. Closed or open: counts it. Half-open: closes the
    /// breaker (failure count and probe count back to 0), whichever call the
    /// success came from, as Snakepit does. O(1).
    pub fn record_success(&mut self, now_ms: u64) {
        self.refresh(now_ms);
        self.success_count = self.success_count.wrapping_add(1);
        if self.state == State::HalfOpen {
            self.state = State::Closed;
            self.failure_count = 0;
            self.half_open_calls = 0;
        }
    }

    /// Records a failure, in any state: the failure count grows and the
    /// last-failure time becomes `now_ms`. Closed: opens at the threshold.
    /// Open: the open window restarts from now. Half-open: reopens. O(1).
    pub fn record_failure(&mut self, now_ms: u64) {
        self.refresh(now_ms);
        self.failure_count = self.failure_count.saturating_add(1);
        self.last_failure_ms = SplitU64::new(now_ms);
        self.elapsed_credit_ms = 0;
        self.has_failure_time = true;
        match self.state {
            State::Closed => {
                if self.failure_count >= self.config.failure_threshold {
                    self.state = State::Open;
                }
            }
            State::Open => {}
            State::HalfOpen => {
                self.state = State::Open;
                self.half_open_calls = 0;
            }
        }
    }

    /// Back to closed: failure count and probe count 0, last failure time
    /// cleared; the success count (and the admitted/rejected counters) are
    /// kept, as Snakepit keeps `success_count`. O(1).
    pub fn reset(&mut self) {
        self.state = State::Closed;
        self.failure_count = 0;
        self.half_open_calls = 0;
        self.has_failure_time = false;
        self.last_failure_ms = SplitU64::new(0);
        self.elapsed_credit_ms = 0;
    }

    /// The counters, without moving the state (Snakepit's `stats`). O(1).
    pub const fn stats(&self) -> Stats {
        Stats {
            state: self.state,
            failure_count: self.failure_count,
            success_count: self.success_count,
            failure_threshold: self.config.failure_threshold,
            half_open_calls: self.half_open_calls,
            half_open_max_calls: self.config.half_open_max_calls,
            reset_timeout_ms: self.config.reset_timeout_ms,
            rejected_count: self.rejected_count,
            admitted_count: self.admitted_count,
            last_failure_ms: if self.has_failure_time {
                Some(self.last_failure_ms.get())
            } else {
                None
            },
        }
    }

    /// Writes this breaker's snapshot, taken at `now_ms`, to the start of
    /// `buf` (at least [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes); returns
    /// the length written. See [`crate::snapshot`] for the format. O(1).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn snapshot(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        crate::snapshot::snapshot(self, now_ms, buf)
    }

    /// A breaker restored from a snapshot, on a clock now reading `now_ms`:
    /// an open breaker stays open for exactly the time it had left, even if
    /// this clock restarted from 0. Half-open probes that were in flight
    /// when the snapshot was taken are released (their callers are gone),
    /// so a restored half-open breaker admits new probes. `config` must be
    /// the one the snapshot was taken with. O(1).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`], [`Error::SnapshotVersion`],
    /// [`Error::ConfigMismatch`], [`Error::InvalidConfig`].
    pub fn restore(config: Config, blob: &[u8], now_ms: u64) -> Result<Self, Error> {
        crate::snapshot::restore(config, blob, now_ms)
    }

    /// The state a snapshot carries, with the failure time as an age at
    /// `now_ms` (clock-independent). O(1).
    pub(crate) fn to_parts(&self, now_ms: u64) -> Parts {
        Parts {
            state: self.state,
            failure_count: self.failure_count,
            success_count: self.success_count,
            half_open_calls: self.half_open_calls,
            rejected_count: self.rejected_count,
            admitted_count: self.admitted_count,
            since_failure_ms: self.has_failure_time.then(|| {
                now_ms
                    .saturating_sub(self.last_failure_ms.get())
                    .saturating_add(u64::from(self.elapsed_credit_ms))
            }),
        }
    }

    /// Rebuilds a breaker from snapshot parts on a clock reading `now_ms`,
    /// refusing parts this state machine could not have produced; probes
    /// in flight at snapshot time are released. O(1).
    pub(crate) fn from_parts(config: Config, p: &Parts, now_ms: u64) -> Result<Self, Error> {
        let mut b = Self::new(config)?;
        let consistent = match p.state {
            State::Closed => p.failure_count < config.failure_threshold && p.half_open_calls == 0,
            State::Open => {
                p.failure_count >= 1 && p.half_open_calls == 0 && p.since_failure_ms.is_some()
            }
            State::HalfOpen => {
                p.failure_count >= 1
                    && p.half_open_calls <= config.half_open_max_calls
                    && p.since_failure_ms.is_some()
            }
        };
        if !consistent {
            return Err(Error::BadSnapshot);
        }
        b.state = p.state;
        b.failure_count = p.failure_count;
        b.success_count = p.success_count;
        // Probes admitted before the snapshot belong to a program that is
        // gone (the reboot): they will never report, and would hold their
        // half-open slots for good. They are released.
        b.half_open_calls = 0;
        b.rejected_count = p.rejected_count;
        b.admitted_count = p.admitted_count;
        if let Some(since) = p.since_failure_ms {
            b.has_failure_time = true;
            if let Some(t) = now_ms.checked_sub(since) {
                b.last_failure_ms = SplitU64::new(t);
            } else {
                // The new clock has not yet run as long as the window has:
                // anchor at 0 and carry the rest (only up to the timeout
                // matters, which fits in u32).
                b.last_failure_ms = SplitU64::new(0);
                b.elapsed_credit_ms = u32::try_from(since - now_ms).unwrap_or(u32::MAX);
            }
        }
        Ok(b)
    }

    /// Runs `op` through the breaker: when rejected, `op` does not run;
    /// otherwise its `Ok`/`Err` is recorded as a success/failure and handed
    /// back. `clock` is read when the time matters: to check an open
    /// breaker's timeout before `op`, and after `op` to stamp a failure or
    /// to check the timeout again.
    ///
    /// # Errors
    /// [`CallError::Rejected`]`(`[`Error::CircuitOpen`]`)` without running
    /// `op`, or [`CallError::Failed`] with the op's own error.
    pub fn call<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        // A closed breaker needs no time to admit or to count a success:
        // the clock is read only when it is not closed, or to stamp a
        // failure. The outcome is the same as reading it always.
        if self.try_acquire_if_closed().is_none() {
            self.try_acquire(clock.now_ms())
                .map_err(CallError::Rejected)?;
        }
        let result = op();
        match &result {
            Ok(_) => {
                if !self.record_success_if_closed() {
                    self.record_success(clock.now_ms());
                }
            }
            Err(_) => self.record_failure(clock.now_ms()),
        }
        result.map_err(CallError::Failed)
    }
}
