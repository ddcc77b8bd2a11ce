//! The circuit breaker state machine: plain data, no locking, no clock of
//! its own. Every method is O(1) and never panics.
#![forbid(unsafe_code)]

#[cfg(feature = "policies")]
use crate::policy::{rate_reached, Outcome, RateWindow, TripRule, WaitAction};
use crate::{CallError, Clock, Config, Error};

/// The states of a breaker: Snakepit's three, and three manual ones that
/// only the manual-control methods (feature `policies`) enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Held open by hand ([`Breaker::force_open`]): every call is rejected
    /// until [`Breaker::reset`].
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
#[repr(u8)]
pub enum Reason {
    /// Failures reached `failure_threshold` (cumulative or consecutive).
    FailureThreshold = 0,
    /// The window's failure rate reached `failure_rate_percent`.
    FailureRate = 1,
    /// The window's slow-call rate reached `slow_call_rate_percent`.
    SlowCallRate = 2,
    /// The open duration ran out: half-open.
    Timeout = 3,
    /// Enough probes succeeded: closed.
    ProbeSucceeded = 4,
    /// A probe failed (or, with slow calls on, was slow): open again.
    ProbeFailed = 5,
    /// Probes did not report within `half_open_max_wait_ms`: open again.
    ProbeTimeout = 6,
    /// `reset`, `force_open`, `disable` or `metrics_only`.
    Manual = 7,
}

/// One state change, as events report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// The breaker's generation after the change (see [`Permit`]).
    pub generation: u32,
}

/// Proof of an admission, to be completed with its outcome
/// ([`Breaker::complete`]). It carries the breaker's generation: completing
/// it after the breaker changed state (or was reset, or released its
/// probes) records nothing and counts the result as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permit {
    pub(crate) generation: u32,
    pub(crate) admitted_in: State,
    pub(crate) start_ms: u64,
}

impl Transition {
    /// All zero: an empty entry of a breaker's pending list.
    #[cfg(feature = "policies")]
    const ZERO: Transition = Transition {
        from: State::Closed,
        to: State::Closed,
        reason: Reason::FailureThreshold,
        generation: 0,
    };
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

    /// A permit from its parts (as the C API carries it).
    #[cfg_attr(not(feature = "policies"), allow(dead_code))]
    pub(crate) const fn from_parts(generation: u32, admitted_in: State, start_ms: u64) -> Self {
        Permit {
            generation,
            admitted_in,
            start_ms,
        }
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
    /// Time of the last recorded failure (or of a slow-call trip, which
    /// starts the open window too), `None` after a reset or before any.
    pub last_failure_ms: Option<u64>,
    /// State changes, ever (wraps). This field and the ones after it are
    /// kept with the `policies` feature; without it they are 0 (and
    /// `open_duration_ms` is `reset_timeout_ms`).
    pub transitions: u32,
    /// The generation permits are checked against (wraps).
    pub generation: u32,
    /// Slow calls recorded (wraps).
    pub slow_count: u32,
    /// Permits completed after their breaker moved on (wraps).
    pub stale_count: u32,
    /// Outcomes classified as ignored (wraps).
    pub ignored_count: u32,
    /// Successful probes in the current half-open period.
    pub half_open_successes: u32,
    /// The current open duration, with backoff and jitter applied.
    pub open_duration_ms: u32,
    /// Calls, failures and slow calls in the rate window, as of its last
    /// record.
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
// repr(C): the fields every operation touches come first, next to the
// slot's lock and id check; the policy state, touched on state changes and
// by rate windows only, comes last (a breaker with policies spans several
// cache lines).
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub struct Breaker {
    state: State,
    has_failure_time: bool,
    /// Time accounting has started (the breaker has seen a clock
    /// reading): a closed breaker then has nothing to refresh.
    #[cfg(feature = "policies")]
    has_since: bool,
    /// From the config: successes in closed only count (no rate window,
    /// no consecutive count to clear, no slow calls). Here, next to the
    /// state, for the closed fast path.
    #[cfg(feature = "policies")]
    plain: bool,
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
    config: Config,
    #[cfg(feature = "policies")]
    ext: Ext,
}

/// A breaker's policy state (feature `policies`).
#[cfg(feature = "policies")]
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
struct Ext {
    /// How many of `pending` hold a change: checked after every registry
    /// operation, hence first.
    pending_len: u8,
    /// Transitions not yet taken by `take_transition` (the registry takes
    /// them after every operation, which makes at most two).
    pending: [Transition; 4],
    generation: u32,
    transitions: u32,
    half_open_successes: u32,
    /// The open duration before jitter, grown by backoff on each reopen.
    open_base_ms: u32,
    /// The open duration in force.
    open_ms: u32,
    rng: u32,
    slow_count: u32,
    stale_count: u32,
    ignored_count: u32,
    dropped_transitions: u32,
    state_since_ms: SplitU64,
    /// When the current round of half-open probes began.
    probes_since_ms: SplitU64,
    time_in_ms: [SplitU64; 3],
    window: RateWindow,
}

#[cfg(feature = "policies")]
impl Ext {
    const fn new(config: &Config) -> Ext {
        Ext {
            open_base_ms: config.reset_timeout_ms,
            open_ms: config.reset_timeout_ms,
            rng: config.policy.rng_seed(),
            ..Ext::ZERO
        }
    }

    /// All zero: the state of an empty registry slot (`.bss`).
    const ZERO: Ext = Ext {
        generation: 0,
        transitions: 0,
        half_open_successes: 0,
        open_base_ms: 0,
        open_ms: 0,
        rng: 0,
        slow_count: 0,
        stale_count: 0,
        ignored_count: 0,
        pending: [Transition::ZERO; 4],
        pending_len: 0,
        dropped_transitions: 0,
        state_since_ms: SplitU64::new(0),
        probes_since_ms: SplitU64::new(0),
        time_in_ms: [SplitU64::new(0); 3],
        window: RateWindow::EMPTY,
    };
}

/// Which `time_in_state_ms` entry a state's time goes to.
#[cfg(feature = "policies")]
const fn time_slot(state: State) -> usize {
    match state {
        State::Closed | State::Disabled | State::MetricsOnly => 0,
        State::Open | State::ForcedOpen => 1,
        State::HalfOpen => 2,
    }
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
        #[cfg(feature = "policies")]
        has_since: false,
        #[cfg(feature = "policies")]
        plain: false,
        #[cfg(feature = "policies")]
        ext: Ext::ZERO,
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
            #[cfg(feature = "policies")]
            plain: matches!(config.policy.trip_rule, TripRule::Cumulative)
                && config.policy.slow_call_ms == 0,
            #[cfg(feature = "policies")]
            ext: Ext::new(&config),
            ..Self::VACANT
        })
    }

    /// The breaker's configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The open duration in force: `reset_timeout_ms`, grown by backoff and
    /// moved by jitter when policies say so.
    #[inline]
    const fn open_duration_ms(&self) -> u32 {
        #[cfg(feature = "policies")]
        return self.ext.open_ms;
        #[cfg(not(feature = "policies"))]
        self.config.reset_timeout_ms
    }

    /// Moves an open breaker whose timeout has run out to half-open (lazily:
    /// there is no timer). A reading earlier than the last failure means the
    /// clock went backwards: the open window is re-based on it, so the breaker
    /// never stays open longer than its open duration of forward time. With
    /// policies, it also handles half-open probes that overstayed
    /// `half_open_max_wait_ms`.
    #[cfg_attr(feature = "policies", inline)]
    fn refresh(&mut self, now_ms: u64) {
        #[cfg(feature = "policies")]
        if !self.has_since {
            self.start_time_accounting(now_ms);
        }
        #[cfg(feature = "policies")]
        if self.state == State::HalfOpen {
            self.check_probe_wait(now_ms);
            return;
        }
        if self.state == State::Open {
            self.refresh_open(now_ms);
        }
    }

    /// `refresh` of an open breaker. Out of line (with policies), so that
    /// the operations of a closed breaker stay small enough to inline.
    #[cfg_attr(feature = "policies", inline(never))]
    fn refresh_open(&mut self, now_ms: u64) {
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
        if elapsed >= u64::from(self.open_duration_ms()) {
            self.half_open_calls = 0;
            #[cfg(feature = "policies")]
            {
                self.ext.half_open_successes = 0;
                self.ext.probes_since_ms = SplitU64::new(now_ms);
            }
            self.transition(State::HalfOpen, Reason::Timeout, Some(now_ms));
        }
    }

    /// The first clock reading: time in state counts from here.
    #[cfg(feature = "policies")]
    #[cold]
    fn start_time_accounting(&mut self, now_ms: u64) {
        self.has_since = true;
        self.ext.state_since_ms = SplitU64::new(now_ms);
    }

    /// Half-open probes that have not all reported after
    /// `half_open_max_wait_ms` are released, or the breaker reopens.
    #[cfg(feature = "policies")]
    #[inline(never)]
    fn check_probe_wait(&mut self, now_ms: u64) {
        let p = &self.config.policy;
        if p.half_open_max_wait_ms == 0 || self.half_open_calls == 0 {
            return;
        }
        let since = self.ext.probes_since_ms.get();
        if now_ms < since {
            // The clock went back: the wait restarts from this reading.
            self.ext.probes_since_ms = SplitU64::new(now_ms);
            return;
        }
        if now_ms - since < u64::from(p.half_open_max_wait_ms) {
            return;
        }
        match p.half_open_wait_action {
            WaitAction::ReleaseProbes => {
                self.half_open_calls = 0;
                self.ext.half_open_successes = 0;
                self.ext.probes_since_ms = SplitU64::new(now_ms);
                // Late results of the written-off probes are now stale.
                self.ext.generation = self.ext.generation.wrapping_add(1);
            }
            WaitAction::Reopen => self.open(now_ms, Reason::ProbeTimeout),
        }
    }

    /// Moves to `to`, recording the change (policies: generation, time in
    /// state, the transition for events). `now_ms` is `None` only for
    /// `reset`, which takes no clock reading.
    #[cfg_attr(feature = "policies", inline(never))]
    fn transition(&mut self, to: State, reason: Reason, now_ms: Option<u64>) {
        #[cfg(feature = "policies")]
        {
            let from = self.state;
            let e = &mut self.ext;
            if let Some(now) = now_ms {
                let spent = now.saturating_sub(e.state_since_ms.get());
                if let Some(t) = e.time_in_ms.get_mut(time_slot(from)) {
                    *t = SplitU64::new(t.get().saturating_add(spent));
                }
                e.state_since_ms = SplitU64::new(now);
                self.has_since = true;
            }
            e.generation = e.generation.wrapping_add(1);
            e.transitions = e.transitions.wrapping_add(1);
            let t = Transition {
                from,
                to,
                reason,
                generation: e.generation,
            };
            match e.pending.get_mut(usize::from(e.pending_len)) {
                Some(free) => {
                    *free = t;
                    e.pending_len += 1;
                }
                None => e.dropped_transitions = e.dropped_transitions.wrapping_add(1),
            }
        }
        #[cfg(not(feature = "policies"))]
        let _ = (reason, now_ms);
        self.state = to;
    }

    /// Opens (or reopens) at `now_ms`: the open window starts now. A reopen
    /// from half-open backs the open duration off; any open draws jitter.
    #[cfg_attr(feature = "policies", inline(never))]
    fn open(&mut self, now_ms: u64, reason: Reason) {
        #[cfg(feature = "policies")]
        {
            let p = self.config.policy;
            let base = if self.state == State::HalfOpen {
                p.backed_off(self.ext.open_base_ms)
            } else {
                self.config.reset_timeout_ms
            };
            self.ext.open_base_ms = base;
            self.ext.open_ms = p.jittered(base, &mut self.ext.rng);
            self.ext.half_open_successes = 0;
        }
        self.last_failure_ms = SplitU64::new(now_ms);
        self.elapsed_credit_ms = 0;
        self.has_failure_time = true;
        self.half_open_calls = 0;
        self.transition(State::Open, reason, Some(now_ms));
    }

    /// Closes: failure count, probe count (and with policies the rate
    /// window and the backoff) start again.
    #[cfg_attr(feature = "policies", inline(never))]
    fn close(&mut self, now_ms: Option<u64>, reason: Reason) {
        self.failure_count = 0;
        self.half_open_calls = 0;
        #[cfg(feature = "policies")]
        {
            self.ext.half_open_successes = 0;
            self.ext.window = RateWindow::EMPTY;
            self.ext.open_base_ms = self.config.reset_timeout_ms;
            self.ext.open_ms = self.config.reset_timeout_ms;
        }
        if self.state == State::Closed {
            // `reset` of a closed breaker: no state change, but late results
            // from before it are stale.
            #[cfg(feature = "policies")]
            {
                self.ext.generation = self.ext.generation.wrapping_add(1);
            }
        } else {
            self.transition(State::Closed, reason, now_ms);
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
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::Open | State::ForcedOpen => false,
            State::HalfOpen => self.half_open_calls < self.config.half_open_max_calls,
        }
    }

    /// Admits a call, or rejects it. In half-open, an admission takes one of
    /// the `half_open_max_calls` probe slots. On success it returns the state
    /// the call was admitted in (`Closed` or `HalfOpen`: a probe). O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`] when open, or half-open with every slot taken.
    #[inline]
    pub fn try_acquire(&mut self, now_ms: u64) -> Result<State, Error> {
        // With policies the full path is out of line; the two common
        // answers that only count are decided here.
        #[cfg(feature = "policies")]
        if self.is_closed_and_timed() {
            self.admitted_count = self.admitted_count.wrapping_add(1);
            return Ok(State::Closed);
        } else if self.open_window_holds(now_ms) {
            self.rejected_count = self.rejected_count.wrapping_add(1);
            return Err(Error::CircuitOpen);
        }
        self.try_acquire_refreshed(now_ms)
    }

    /// Whether an open breaker still rejects at `now_ms` with nothing to
    /// refresh.
    #[cfg(feature = "policies")]
    #[inline(always)]
    fn open_window_holds(&self, now_ms: u64) -> bool {
        self.open_window()
            .is_some_and(|(from, until)| (from..until).contains(&now_ms))
    }

    /// An open breaker's readings that reject with nothing to refresh,
    /// `from..until` (`refresh_open`'s no-change case): from the last
    /// failure (a reading before it is a clock that went back, which
    /// `refresh_open` re-bases on) to the end of the open duration.
    #[cfg(any(feature = "policies", fusebox_fast))]
    #[inline(always)]
    fn open_window(&self) -> Option<(u64, u64)> {
        #[cfg(feature = "policies")]
        let timed = self.has_since;
        #[cfg(not(feature = "policies"))]
        let timed = true;
        if self.state != State::Open || !timed || !self.has_failure_time {
            return None;
        }
        let open = u64::from(self.open_duration_ms());
        let credit = u64::from(self.elapsed_credit_ms);
        let from = self.last_failure_ms.get();
        (credit < open).then(|| (from, from.saturating_add(open - credit)))
    }

    #[cfg_attr(feature = "policies", inline(never))]
    fn try_acquire_refreshed(&mut self, now_ms: u64) -> Result<State, Error> {
        self.refresh(now_ms);
        let admitted = match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::Open | State::ForcedOpen => false,
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
    /// With policies, it also declines breakers that measure slow calls,
    /// whose callers must read the clock before the call.
    #[inline]
    pub(crate) fn try_acquire_if_closed(&mut self) -> Option<State> {
        let closed = self.state == State::Closed;
        #[cfg(feature = "policies")]
        let closed = closed && (self.plain || !self.measures_slow_calls());
        closed.then(|| {
            self.admitted_count = self.admitted_count.wrapping_add(1);
            State::Closed
        })
    }

    /// [`record_success`](Self::record_success) for a closed breaker, which
    /// needs no time: `false` (and nothing changed) when it is not closed,
    /// or when the policy has more to do with a success than count it (a
    /// rate window to feed, a consecutive failure count to clear).
    #[inline]
    pub(crate) fn record_success_if_closed(&mut self) -> bool {
        let closed = self.state == State::Closed;
        #[cfg(feature = "policies")]
        let closed = closed && self.is_plain_policy();
        if closed {
            self.success_count = self.success_count.wrapping_add(1);
        }
        closed
    }

    /// What the registry's fast path may do for this breaker without its
    /// lock: exactly what the locked operations would do by counting only.
    #[cfg(fusebox_fast)]
    pub(crate) fn fast_mode(&self) -> crate::fast::Mode {
        #[cfg(feature = "policies")]
        let (timed, admit, succeed) = (
            self.has_since,
            !self.measures_slow_calls(),
            self.is_plain_policy(),
        );
        #[cfg(not(feature = "policies"))]
        let (timed, admit, succeed) = (true, true, true);
        let closed = self.state == State::Closed;
        let window = match self.state {
            #[cfg(feature = "policies")]
            State::ForcedOpen if timed => Some((0, u64::MAX)),
            _ => self.open_window(),
        };
        crate::fast::Mode {
            admit: closed && admit,
            succeed: closed && succeed,
            timed,
            window,
        }
    }

    /// Adds counts the registry's fast path made outside the breaker.
    #[cfg(fusebox_fast)]
    pub(crate) fn add_counts(&mut self, admitted: u32, succeeded: u32, rejected: u32) {
        self.admitted_count = self.admitted_count.wrapping_add(admitted);
        self.success_count = self.success_count.wrapping_add(succeeded);
        self.rejected_count = self.rejected_count.wrapping_add(rejected);
    }

    /// Whether successes in closed need no bookkeeping beyond the count:
    /// no rate window to feed, no consecutive count to clear.
    #[cfg(feature = "policies")]
    #[inline]
    fn is_plain_policy(&self) -> bool {
        self.plain
    }

    /// Closed, with nothing for a clock reading to refresh: an admission
    /// or (with a plain policy) a success only counts.
    #[cfg(feature = "policies")]
    #[inline(always)]
    fn is_closed_and_timed(&self) -> bool {
        self.state == State::Closed && self.has_since
    }

    /// Records a success. Closed or open: counts it. Half-open: closes the
    /// breaker (failure count and probe count back to 0), whichever call the
    /// success came from, as Snakepit does; with policies, once
    /// `half_open_success_threshold` probes have succeeded. O(1).
    #[inline]
    pub fn record_success(&mut self, now_ms: u64) {
        #[cfg(feature = "policies")]
        if self.is_closed_and_timed() && self.plain {
            self.success_count = self.success_count.wrapping_add(1);
            return;
        }
        self.on_success(false, now_ms);
    }

    /// Records a failure, in any state: the failure count grows and the
    /// last-failure time becomes `now_ms`. Closed: opens at the threshold.
    /// Open: the open window restarts from now. Half-open: reopens. O(1).
    pub fn record_failure(&mut self, now_ms: u64) {
        self.on_failure(false, now_ms);
    }

    #[cfg_attr(feature = "policies", inline(never))]
    fn on_success(&mut self, slow: bool, now_ms: u64) {
        self.refresh(now_ms);
        self.success_count = self.success_count.wrapping_add(1);
        #[cfg(feature = "policies")]
        if self.state != State::Closed || slow || !self.is_plain_policy() {
            // Anything beyond counting: out of line.
            self.on_success_policies(slow, now_ms);
        }
        #[cfg(not(feature = "policies"))]
        {
            let _ = slow;
            if self.state == State::HalfOpen {
                self.close(Some(now_ms), Reason::ProbeSucceeded);
            }
        }
    }

    /// The rest of `on_success` with policies, the count already taken.
    #[cfg(feature = "policies")]
    #[inline(never)]
    fn on_success_policies(&mut self, slow: bool, now_ms: u64) {
        {
            if slow {
                self.ext.slow_count = self.ext.slow_count.wrapping_add(1);
            }
            match self.state {
                State::Closed | State::MetricsOnly => {
                    if self.config.policy.trip_rule == TripRule::Consecutive {
                        self.failure_count = 0;
                    }
                    // A success trips nothing unless a rate window judges it.
                    if self.has_window() {
                        self.feed_window(false, slow, now_ms);
                    }
                }
                State::HalfOpen if slow && self.config.policy.slow_call_ms != 0 => {
                    self.open(now_ms, Reason::ProbeFailed);
                }
                State::HalfOpen => {
                    self.ext.half_open_successes = self.ext.half_open_successes.saturating_add(1);
                    if self.ext.half_open_successes
                        >= self.config.policy.half_open_success_threshold
                    {
                        self.close(Some(now_ms), Reason::ProbeSucceeded);
                    }
                }
                State::Open | State::ForcedOpen | State::Disabled => {}
            }
        }
    }

    fn on_failure(&mut self, slow: bool, now_ms: u64) {
        self.refresh(now_ms);
        self.failure_count = self.failure_count.saturating_add(1);
        self.last_failure_ms = SplitU64::new(now_ms);
        self.elapsed_credit_ms = 0;
        self.has_failure_time = true;
        #[cfg(feature = "policies")]
        if slow {
            self.ext.slow_count = self.ext.slow_count.wrapping_add(1);
        }
        #[cfg(not(feature = "policies"))]
        let _ = slow;
        match self.state {
            #[cfg(feature = "policies")]
            State::Closed => self.feed_window(true, slow, now_ms),
            #[cfg(not(feature = "policies"))]
            State::Closed if self.failure_count >= self.config.failure_threshold => {
                self.open(now_ms, Reason::FailureThreshold);
            }
            #[cfg(feature = "policies")]
            State::MetricsOnly => {
                let _ = self.window_verdict(true, slow, now_ms);
            }
            State::HalfOpen => self.open(now_ms, Reason::ProbeFailed),
            _ => {}
        }
    }

    /// Records a closed (or metrics-only) call into the rate window and
    /// opens a closed breaker when its rule says so.
    #[cfg(feature = "policies")]
    fn feed_window(&mut self, failed: bool, slow: bool, now_ms: u64) {
        let verdict = self.window_verdict(failed, slow, now_ms);
        if self.state != State::Closed {
            return;
        }
        let p = &self.config.policy;
        let by_count = matches!(p.trip_rule, TripRule::Cumulative | TripRule::Consecutive)
            && self.failure_count >= self.config.failure_threshold;
        if by_count {
            self.open(now_ms, Reason::FailureThreshold);
        } else if let Some(reason) = verdict {
            self.open(now_ms, reason);
        }
    }

    /// Records into the rate window; the reason it would trip, if any.
    #[cfg(feature = "policies")]
    fn window_verdict(&mut self, failed: bool, slow: bool, now_ms: u64) -> Option<Reason> {
        if !self.has_window() {
            return None;
        }
        let p = &self.config.policy;
        self.ext.window.record(p, failed, slow, now_ms);
        let t = self.ext.window.totals(p);
        if t.calls < p.minimum_calls {
            return None;
        }
        if p.trip_rule == TripRule::FailureRate
            && rate_reached(t.failures, t.calls, p.failure_rate_percent)
        {
            Some(Reason::FailureRate)
        } else if p.slow_call_ms != 0 && rate_reached(t.slow, t.calls, p.slow_call_rate_percent) {
            Some(Reason::SlowCallRate)
        } else {
            None
        }
    }

    /// Whether a rate window is kept: a failure-rate rule, or slow calls.
    #[cfg(feature = "policies")]
    #[inline]
    fn has_window(&self) -> bool {
        let p = &self.config.policy;
        p.trip_rule == TripRule::FailureRate || p.slow_call_ms != 0
    }

    /// Records an outcome that took `duration_ms` (slow when longer than
    /// `slow_call_ms`, if slow calls are on): success and failure as
    /// [`record_success`](Self::record_success) and
    /// [`record_failure`](Self::record_failure), ignored counted only. O(1),
    /// or O(buckets) with a time window.
    #[cfg(feature = "policies")]
    pub fn record(&mut self, outcome: Outcome, duration_ms: u64, now_ms: u64) {
        let slow = self.is_slow(duration_ms);
        self.record_outcome(outcome, slow, false, now_ms);
    }

    /// Whether slow calls are on (`slow_call_ms` != 0).
    #[cfg(feature = "policies")]
    #[inline]
    pub(crate) fn measures_slow_calls(&self) -> bool {
        self.config.policy.slow_call_ms != 0
    }

    #[cfg(feature = "policies")]
    fn is_slow(&self, duration_ms: u64) -> bool {
        let limit = self.config.policy.slow_call_ms;
        limit != 0 && duration_ms > u64::from(limit)
    }

    #[cfg(feature = "policies")]
    fn record_outcome(&mut self, outcome: Outcome, slow: bool, probe: bool, now_ms: u64) {
        match outcome {
            Outcome::Success => self.on_success(slow, now_ms),
            Outcome::Failure => self.on_failure(slow, now_ms),
            Outcome::Ignored => {
                self.refresh(now_ms);
                self.ext.ignored_count = self.ext.ignored_count.wrapping_add(1);
                if probe && self.state == State::HalfOpen {
                    self.half_open_calls = self.half_open_calls.saturating_sub(1);
                }
            }
        }
    }

    /// [`try_acquire`](Self::try_acquire), handing out a [`Permit`] to
    /// complete with [`complete`](Self::complete). O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`].
    #[cfg(feature = "policies")]
    pub fn try_acquire_permit(&mut self, now_ms: u64) -> Result<Permit, Error> {
        let admitted_in = self.try_acquire(now_ms)?;
        Ok(Permit::from_parts(self.ext.generation, admitted_in, now_ms))
    }

    /// Completes a permit with its outcome at `now_ms`; the call was slow
    /// if it took longer than `slow_call_ms` since the permit was handed
    /// out. A permit from an earlier generation records nothing. O(1).
    ///
    /// # Errors
    /// [`Error::StalePermit`]: the breaker moved on since; the result was
    /// counted in `stale_count` only.
    #[cfg(feature = "policies")]
    pub fn complete(
        &mut self,
        permit: &Permit,
        outcome: Outcome,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.refresh(now_ms);
        if permit.generation != self.ext.generation {
            self.ext.stale_count = self.ext.stale_count.wrapping_add(1);
            return Err(Error::StalePermit);
        }
        let slow = self.is_slow(now_ms.saturating_sub(permit.start_ms));
        let probe = permit.admitted_in == State::HalfOpen;
        self.record_outcome(outcome, slow, probe, now_ms);
        Ok(())
    }

    /// How long until a call may be admitted: `Some(0)` when one would be
    /// now, the time left in an open breaker's window, the time left before
    /// unreported probes are released; `None` when no time alone will do
    /// it (forced open, or every probe slot taken with no wait limit). O(1).
    #[cfg(feature = "policies")]
    pub fn retry_after_ms(&mut self, now_ms: u64) -> Option<u64> {
        self.refresh(now_ms);
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => Some(0),
            State::ForcedOpen => None,
            State::Open => {
                let elapsed = now_ms
                    .saturating_sub(self.last_failure_ms.get())
                    .saturating_add(u64::from(self.elapsed_credit_ms));
                Some(u64::from(self.open_duration_ms()).saturating_sub(elapsed))
            }
            State::HalfOpen if self.half_open_calls < self.config.half_open_max_calls => Some(0),
            State::HalfOpen => {
                let wait = self.config.policy.half_open_max_wait_ms;
                (wait != 0).then(|| {
                    let waited = now_ms.saturating_sub(self.ext.probes_since_ms.get());
                    u64::from(wait).saturating_sub(waited)
                })
            }
        }
    }

    /// Holds the breaker open until [`reset`](Self::reset): every call is
    /// rejected. O(1).
    #[cfg(feature = "policies")]
    pub fn force_open(&mut self, now_ms: u64) {
        self.enter_manual(State::ForcedOpen, now_ms);
    }

    /// Switches the breaker off until [`reset`](Self::reset): every call is
    /// allowed, successes and failures are counted. O(1).
    #[cfg(feature = "policies")]
    pub fn disable(&mut self, now_ms: u64) {
        self.enter_manual(State::Disabled, now_ms);
    }

    /// Watches without acting until [`reset`](Self::reset): every call is
    /// allowed and recorded as when closed (counters, rate window), but
    /// nothing trips. O(1).
    #[cfg(feature = "policies")]
    pub fn metrics_only(&mut self, now_ms: u64) {
        self.enter_manual(State::MetricsOnly, now_ms);
    }

    #[cfg(feature = "policies")]
    fn enter_manual(&mut self, to: State, now_ms: u64) {
        self.refresh(now_ms);
        self.half_open_calls = 0;
        self.ext.half_open_successes = 0;
        if self.state == to {
            return;
        }
        if to == State::MetricsOnly {
            self.ext.window = RateWindow::EMPTY;
        }
        self.transition(to, Reason::Manual, Some(now_ms));
    }

    /// The oldest state change not yet taken, for owners of a `Breaker`
    /// who want events (a [`Registry`](crate::Registry) takes them itself
    /// and calls its listener). Up to 4 are kept; more are counted as
    /// dropped. O(1).
    #[cfg(feature = "policies")]
    pub fn take_transition(&mut self) -> Option<Transition> {
        if self.ext.pending_len == 0 {
            return None;
        }
        let first = self.ext.pending.first().copied();
        self.ext.pending.rotate_left(1);
        self.ext.pending_len -= 1;
        first
    }

    /// Whether state changes wait in [`take_transition`](Self::take_transition).
    #[cfg(feature = "policies")]
    #[inline]
    pub(crate) fn has_transitions(&self) -> bool {
        self.ext.pending_len != 0
    }

    /// Back to closed: failure count and probe count 0, last failure time
    /// cleared; the success count (and the admitted/rejected counters) are
    /// kept, as Snakepit keeps `success_count`. Also leaves the manual
    /// states. Takes no clock reading. O(1).
    pub fn reset(&mut self) {
        self.close(None, Reason::Manual);
        self.has_failure_time = false;
        self.last_failure_ms = SplitU64::new(0);
        self.elapsed_credit_ms = 0;
    }

    /// The counters, without moving the state (Snakepit's `stats`). O(1).
    pub fn stats(&self) -> Stats {
        #[allow(unused_mut)]
        let mut s = Stats {
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
            transitions: 0,
            generation: 0,
            slow_count: 0,
            stale_count: 0,
            ignored_count: 0,
            half_open_successes: 0,
            open_duration_ms: self.open_duration_ms(),
            window_calls: 0,
            window_failures: 0,
            window_slow: 0,
            time_in_state_ms: [0; 3],
            state_since_ms: 0,
        };
        #[cfg(feature = "policies")]
        {
            let e = &self.ext;
            s.transitions = e.transitions;
            s.generation = e.generation;
            s.slow_count = e.slow_count;
            s.stale_count = e.stale_count;
            s.ignored_count = e.ignored_count;
            s.half_open_successes = e.half_open_successes;
            if self.has_window() {
                let t = e.window.totals(&self.config.policy);
                s.window_calls = t.calls;
                s.window_failures = t.failures;
                s.window_slow = t.slow;
            }
            s.time_in_state_ms = [
                e.time_in_ms[0].get(),
                e.time_in_ms[1].get(),
                e.time_in_ms[2].get(),
            ];
            s.state_since_ms = e.state_since_ms.get();
        }
        s
    }

    /// Whether the snapshot format can carry this breaker: Snakepit's
    /// states and policy only (format version 1).
    pub(crate) fn check_snapshottable(&self) -> Result<(), Error> {
        let plain_state = matches!(self.state, State::Closed | State::Open | State::HalfOpen);
        #[cfg(feature = "policies")]
        let plain_state = plain_state && self.config.policy == crate::Policy::SNAKEPIT;
        if plain_state {
            Ok(())
        } else {
            Err(Error::Unsupported)
        }
    }

    /// Writes this breaker's snapshot, taken at `now_ms`, to the start of
    /// `buf` (at least [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes); returns
    /// the length written. See [`crate::snapshot`] for the format. O(1).
    /// The format carries Snakepit's state: a breaker with a non-default
    /// [`Policy`](crate::Policy), or in a manual state, is refused (the
    /// policy counters of `Stats` would start again on restore anyway).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Unsupported`].
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
            State::ForcedOpen | State::Disabled | State::MetricsOnly => false,
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
    #[inline]
    pub fn call<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        // A closed breaker whose successes only count needs no time, and
        // `&mut self` keeps it closed while `op` runs: admit, run, count.
        // The clock is read only to stamp a failure.
        #[cfg(feature = "policies")]
        let plain = self.plain;
        #[cfg(not(feature = "policies"))]
        let plain = true;
        if self.state == State::Closed && plain {
            self.admitted_count = self.admitted_count.wrapping_add(1);
            let result = op();
            match &result {
                Ok(_) => self.success_count = self.success_count.wrapping_add(1),
                Err(_) => self.record_failure(clock.now_ms()),
            }
            return result.map_err(CallError::Failed);
        }
        self.call_unless_plain_closed(clock, op)
    }

    /// [`call`](Self::call) of a breaker that is not closed, or whose
    /// policy does more with a call than count it.
    #[cfg_attr(feature = "policies", inline(never))]
    fn call_unless_plain_closed<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        #[cfg(feature = "policies")]
        if self.measures_slow_calls() {
            // Slow calls are measured: the clock is read around `op`.
            return self.call_classified(clock, op, crate::policy::outcome_of);
        }
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

    /// Runs `op` through the breaker like [`call`](Self::call), but
    /// `classify` decides how its result counts: a success, a failure, or
    /// ignored (neither; a probe's slot is given back). The result is handed
    /// back as `op` returned it, whatever the class. The clock is read
    /// before and after `op` (slow calls are measured). O(1).
    ///
    /// ```
    /// use fusebox::{Breaker, CallError, Config, ManualClock, Outcome};
    /// let mut b = Breaker::new(Config::default().with_failure_threshold(1)).unwrap();
    /// let clock = ManualClock::new(0);
    /// // A 404 is the caller's business, not the service failing.
    /// let classify = |r: &Result<u32, u16>| match r {
    ///     Err(404) => Outcome::Ignored,
    ///     Err(_) => Outcome::Failure,
    ///     Ok(_) => Outcome::Success,
    /// };
    /// let r = b.call_classified(&clock, || Err(404), classify);
    /// assert_eq!(r, Err(CallError::Failed(404)));
    /// assert_eq!(b.stats().ignored_count, 1);
    /// assert_eq!(b.stats().failure_count, 0);
    /// ```
    ///
    /// # Errors
    /// As [`call`](Self::call).
    #[cfg(feature = "policies")]
    pub fn call_classified<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self
            .try_acquire_permit(clock.now_ms())
            .map_err(CallError::Rejected)?;
        let result = op();
        let outcome = classify(&result);
        // `&mut self` is held across `op`: the permit cannot be stale.
        let _ = self.complete(&permit, outcome, clock.now_ms());
        result.map_err(CallError::Failed)
    }
}
