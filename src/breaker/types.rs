//! The breaker's public value types: its states, why it changes state,
//! the changes themselves, permits and counters.
#![forbid(unsafe_code)]

#[cfg(doc)]
use crate::Breaker;

/// The states of a breaker: Snakepit's three, and three manual ones that
/// only the manual-control methods (feature `policies`) enter (they can
/// also move a breaker to half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum State {
    /// Normal operation: every call is allowed.
    Closed = 0,
    /// Tripped: every call is rejected until the open duration
    /// (`reset_timeout_ms`, or its backed-off value) has passed since the
    /// last failure.
    Open = 1,
    /// Testing recovery: up to `half_open_max_calls` probes are admitted.
    HalfOpen = 2,
    /// Held open by hand: every call is rejected until [`Breaker::reset`]
    /// ([`Breaker::force_open`]), or for a time
    /// ([`Breaker::force_open_for`], [`Breaker::force_open_until`]), after
    /// which the breaker goes half-open.
    ForcedOpen = 3,
    /// Switched off by hand ([`Breaker::disable`]): every call is allowed;
    /// successes and failures are counted, nothing else.
    Disabled = 4,
    /// Watching only ([`Breaker::metrics_only`]): every call is allowed and
    /// recorded (counters and rate window) as when closed, but nothing
    /// trips.
    MetricsOnly = 5,
}

/// Why a breaker changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Reason {
    /// Failures reached `failure_threshold` (cumulative or consecutive).
    FailureThreshold = 0,
    /// The window's failure rate reached `failure_rate_percent`; from
    /// half-open, with [`ProbeJudge::Rate`](crate::ProbeJudge::Rate), the
    /// probes' failure rate did.
    FailureRate = 1,
    /// The window's slow-call rate reached `slow_call_rate_percent`; from
    /// half-open, with [`ProbeJudge::Rate`](crate::ProbeJudge::Rate), the
    /// probes' slow-call rate did.
    SlowCallRate = 2,
    /// The open duration ran out, or the time of a forced open for a time
    /// did: half-open.
    Timeout = 3,
    /// Enough probes succeeded (with
    /// [`ProbeJudge::Rate`](crate::ProbeJudge::Rate): the probes' rates
    /// stayed below their thresholds): closed.
    ProbeSucceeded = 4,
    /// A probe failed (or, with slow calls on, was slow): open again.
    ProbeFailed = 5,
    /// Probes did not report within `half_open_max_wait_ms` (with
    /// `ReopenAlways`: the breaker was half-open that long): open again.
    ProbeTimeout = 6,
    /// `reset`, `force_open`, `force_open_for`, `force_open_until`,
    /// `force_half_open`, `disable` or `metrics_only`.
    Manual = 7,
}

/// One state change, as events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// The breaker's generation after the change (see [`Permit`]).
    pub generation: u32,
    /// The clock reading of the operation that caused the change (for a
    /// change dated at the end of a wait, such as a reopen at the end of
    /// `half_open_max_wait_ms`, the reading that found it). A
    /// [`Breaker::reset`] takes no reading: its change carries the reading
    /// at which the state it ends began (`Stats::state_since_ms`), so a
    /// breaker's changes never go back in time on a clock that does not.
    pub now_ms: u64,
}

/// Proof of an admission, to be completed with its outcome
/// ([`Breaker::complete`]). It carries the breaker's generation: completing
/// it after the breaker changed state (or was reset, or released its
/// probes) records nothing and counts the result as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Permit {
    pub(crate) generation: u32,
    pub(crate) admitted_in: State,
    pub(crate) start_ms: u64,
}

impl Permit {
    /// The breaker's generation when the permit was handed out.
    pub const fn generation(&self) -> u32 {
        self.generation
    }

    /// The state the call was admitted in (`HalfOpen`: a probe).
    pub const fn admitted_in(&self) -> State {
        self.admitted_in
    }

    /// The clock reading at admission (to measure slow calls).
    pub const fn start_ms(&self) -> u64 {
        self.start_ms
    }
}

impl State {
    /// The C-side code of this state (`FUSEBOX_STATE_*`).
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The state with C-side code `code`, if there is one.
    pub const fn from_code(code: u32) -> Option<State> {
        Some(match code {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            4 => State::Disabled,
            5 => State::MetricsOnly,
            _ => return None,
        })
    }
}

/// A snapshot of a breaker's counters. The lifetime counters
/// (`success_count`, `failure_total`, `rejected_count`, `admitted_count`,
/// `transitions`, `slow_count`, `stale_count`, `ignored_count`) are 64-bit
/// and wrap only after 2^64 (585 million years at a thousand a
/// millisecond); `failure_count` saturates. The config echoes, the
/// per-period figures (`half_open_*`) and the window figures stay 32-bit:
/// they are bounded by the config (a `u32`) or by the window's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// The stored state. Like Snakepit's `stats`, reading stats does not move
    /// an expired open breaker to half-open; `state()` does.
    pub state: State,
    /// Failures since the last close or reset (restarts at 0 there: not a
    /// monotonic counter; see `failure_total`).
    pub failure_count: u64,
    /// Failures recorded, ever (kept across closes and resets): the
    /// monotonic counterpart of `failure_count`.
    pub failure_total: u64,
    /// Successes recorded, ever (kept across resets, like Snakepit).
    pub success_count: u64,
    /// The configured failure threshold.
    pub failure_threshold: u32,
    /// Probes admitted in the current half-open period.
    pub half_open_calls: u32,
    /// The configured probe limit.
    pub half_open_max_calls: u32,
    /// The configured open duration.
    pub reset_timeout_ms: u32,
    /// Calls rejected by `try_acquire`/`call`, ever.
    pub rejected_count: u64,
    /// Calls admitted by `try_acquire`/`call`, ever.
    pub admitted_count: u64,
    /// Time of the last recorded failure (or of a slow-call trip, which
    /// starts the open window too), `None` after a reset or before any.
    pub last_failure_ms: Option<u64>,
    /// State changes, ever. This field and the ones after it are kept with
    /// the `policies` feature; without it they are 0 (and
    /// `open_duration_ms` is `reset_timeout_ms`).
    pub transitions: u64,
    /// The generation permits are checked against (wraps at 2^32: only
    /// equality matters).
    pub generation: u32,
    /// Slow calls recorded, ever.
    pub slow_count: u64,
    /// Permits completed after their breaker moved on, ever.
    pub stale_count: u64,
    /// Outcomes classified as ignored, ever.
    pub ignored_count: u64,
    /// Successful probes in the current half-open period.
    pub half_open_successes: u32,
    /// The current open duration, with backoff and jitter applied.
    pub open_duration_ms: u32,
    /// Calls, failures and slow calls in the rate window: as of its last
    /// record from [`Breaker::stats`] and [`Registry::stats`], as of the
    /// reading given from [`Breaker::stats_at`] and the registry's
    /// `stats_at`/`stats_with` (a time window's expired buckets left out).
    ///
    /// [`Registry::stats`]: crate::Registry::stats
    pub window_calls: u32,
    /// See `window_calls`.
    pub window_failures: u32,
    /// See `window_calls`.
    pub window_slow: u32,
    /// Milliseconds spent closed (also disabled or metrics-only), open
    /// (also forced open) and half-open, counted up to the last state change
    /// from the first clock reading the breaker saw. Add the time since
    /// `state_since_ms` for the current state.
    pub time_in_state_ms: [u64; 3],
    /// When the current state began (see `time_in_state_ms`).
    pub state_since_ms: u64,
}

impl Stats {
    /// Every counter 0, closed: storage for stats to be written over (a
    /// reader that builds them in place).
    pub(crate) const ZERO: Stats = Stats {
        state: State::Closed,
        failure_count: 0,
        failure_total: 0,
        success_count: 0,
        failure_threshold: 0,
        half_open_calls: 0,
        half_open_max_calls: 0,
        reset_timeout_ms: 0,
        rejected_count: 0,
        admitted_count: 0,
        last_failure_ms: None,
        transitions: 0,
        generation: 0,
        slow_count: 0,
        stale_count: 0,
        ignored_count: 0,
        half_open_successes: 0,
        open_duration_ms: 0,
        window_calls: 0,
        window_failures: 0,
        window_slow: 0,
        time_in_state_ms: [0; 3],
        state_since_ms: 0,
    };
}
