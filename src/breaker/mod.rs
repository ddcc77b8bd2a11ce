//! The circuit breaker state machine: plain data, no locking, no clock of
//! its own. Every method is O(1) and never panics.
//!
//! This file is Snakepit's state machine. What policies add to it (rate
//! windows, backoff, half-open control, manual states, permits, events)
//! comes through one seam, [`Hooks`], implemented once per build: by the
//! zero-sized type of `snakepit.rs` without the `policies` feature (every
//! hook an inline no-op or Snakepit's own rule), by the policy state of
//! `policies.rs` with it. The choice is made once, by the `path` below; no
//! function of this file looks at the feature.
#![forbid(unsafe_code)]

mod blob;
#[cfg_attr(feature = "policies", path = "policies.rs")]
#[cfg_attr(not(feature = "policies"), path = "snakepit.rs")]
mod hooks;
mod parts;
mod readout;
mod recover;
mod split;
mod types;

pub(crate) use blob::{Writer, F_FAILURE, F_FORCED, F_TIMED, F_WINDOW};
pub(crate) use parts::{bit, PartsView, PolicyView, SNAPSHOT_BUCKETS, WINDOW_BITS_BYTES};
#[cfg(test)]
pub(crate) use parts::{Parts, PolicyParts};
pub(crate) use readout::Readout;
use split::SplitU64;
pub use types::{Permit, Reason, State, Stats, Transition};

use crate::{CallError, Clock, Config, Error};
use hooks::{Ext, Flags};

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
    /// What the policy says about a closed breaker's operations (see
    /// [`Breaker::only_counts`]): here, next to the state, for the closed
    /// fast path. Zero-sized without policies.
    flags: Flags,
    failure_count: u32,
    half_open_calls: u32,
    /// Lifetime counters: 64-bit, kept as two `u32` halves (a breaker
    /// stays 4-byte aligned; an increment is an add with carry).
    success_count: SplitU64,
    rejected_count: SplitU64,
    admitted_count: SplitU64,
    /// Failures recorded, ever (`failure_count` restarts at each close).
    failure_total: SplitU64,
    /// Meaningful only when `has_failure_time` (an `Option<u64>` would cost
    /// 8 more bytes per breaker).
    last_failure_ms: SplitU64,
    /// Open-window time that passed before `last_failure_ms` could be
    /// expressed on this clock: set by a restore onto a clock that reads
    /// less than the time already elapsed (a clock restarted at boot).
    elapsed_credit_ms: u32,
    config: Config,
    /// The policy state; zero-sized without policies.
    ext: Ext,
}

/// What policies add to Snakepit's state machine, called at the points
/// where they differ. Implemented once per build (see the module docs);
/// the state machine calls `Ext::hook(self, ..)`.
trait Hooks {
    /// Whether the common answers (a closed breaker that only counts, an
    /// open one inside its window) are worth deciding inline before the
    /// full path: true when the full path is heavy and out of line.
    const INLINE_ANSWERS: bool;

    /// Whether an operation's bookkeeping is long: hundreds of
    /// instructions that grow with the configuration (rate windows,
    /// backoff with jitter). Firmware then runs it with interrupts enabled,
    /// its registry slot lent instead of masked (src/slot/cs_cell.rs).
    const LONG_BOOKKEEPING: bool;

    /// A clock reading reached the breaker, before the open breaker's
    /// timeout is checked. `true` when the reading was fully handled (a
    /// half-open probe round the policy judged).
    fn on_reading(b: &mut Breaker, now_ms: u64) -> bool;

    /// The open duration in force.
    fn open_ms(b: &Breaker) -> u32;

    /// The breaker is about to open (from `b.state`) at `now_ms`.
    fn on_open(b: &mut Breaker, now_ms: u64);

    /// The breaker closes, or is reset while closed (`b.state` is still
    /// the state before).
    fn on_close(b: &mut Breaker);

    /// The breaker moves from `b.state` to `to`.
    fn on_transition(b: &mut Breaker, to: State, reason: Reason, now_ms: Option<u64>);

    /// A success was counted in a state other than half-open: whether the
    /// breaker must open (a slow-call rate).
    fn judge_success(b: &mut Breaker, slow: bool, now_ms: u64) -> Verdict;

    /// A half-open probe succeeded: close, stay, or reopen (a slow probe).
    fn judge_probe_success(b: &mut Breaker, slow: bool) -> Verdict;

    /// A failure was counted (not in half-open): whether a closed breaker
    /// must open.
    fn judge_failure(b: &mut Breaker, slow: bool, now_ms: u64) -> Verdict;

    /// A half-open probe failed: reopen (Snakepit), or stay, reopen or
    /// close as the round of probes says.
    fn judge_probe_failure(b: &mut Breaker, slow: bool) -> Verdict;

    /// The clock readings at which a forced-open breaker rejects with
    /// nothing to refresh (see [`Breaker::rejecting_window`]).
    fn forced_window(b: &Breaker) -> Option<(u64, u64)>;

    /// Whether calls are timed (slow calls are on).
    fn measures_slow_calls(b: &Breaker) -> bool;

    /// `call` of a breaker that times its calls.
    fn call_measured<T, E>(
        b: &mut Breaker,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>>;

    /// Fills the policy fields of `s`: the rate window's figures as of
    /// `now_ms` if given (a time window ages), else as of its last record.
    fn fill_stats(b: &Breaker, s: &mut Stats, now_ms: Option<u64>);

    /// Fills the policy fields of `r` as of `now_ms`, as
    /// [`fill_stats`](Self::fill_stats) fills those of `Stats`.
    fn fill_readout(b: &Breaker, r: &mut Readout, now_ms: u64);

    /// Whether the breaker's stats change with the time alone (a time
    /// window, whose buckets expire): readers need a clock reading.
    fn stats_age(b: &Breaker) -> bool;

    /// Whether this build keeps policy state (the snapshot's consistency
    /// rules depend on it).
    const POLICIES: bool;

    /// Whether failures trip a closed breaker by count (so that a closed
    /// breaker has fewer than `failure_threshold`).
    fn counts_failures(c: &Config) -> bool;

    /// The policy state a snapshot carries, as it stands at `now_ms`,
    /// written to `out` (in place: no other copy on the stack).
    #[cfg(test)]
    fn policy_parts(b: &Breaker, now_ms: u64, out: &mut PolicyParts);

    /// The policy state a snapshot carries, as it stands at `now_ms`,
    /// encoded straight into `w` (blob offsets 136 to the end of the
    /// buckets, as [`policy_parts`](Self::policy_parts)'s parts encode);
    /// returns the blob's flags among `F_TIMED`, `F_WINDOW`, `F_FORCED`.
    fn encode_policy(b: &Breaker, now_ms: u64, w: &mut Writer<'_>) -> u8;

    /// Installs `p` (checked) into `b`, a breaker being restored at
    /// `now_ms` whose Snakepit state is already set; `None` (a version 1
    /// blob): empty policy state. [`Error::BadSnapshot`] for state this
    /// breaker could not have reached.
    fn set_policy_parts<P: PolicyView>(
        b: &mut Breaker,
        p: Option<&P>,
        now_ms: u64,
    ) -> Result<(), Error>;

    /// The checks of [`set_policy_parts`](Self::set_policy_parts), without
    /// a breaker: for a breaker with `config` in `state`.
    fn check_policy_parts<P: PolicyView>(
        config: &Config,
        state: State,
        p: Option<&P>,
        now_ms: u64,
    ) -> Result<(), Error>;
}

/// A judgement of an outcome: what the state machine does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Stay,
    Open(Reason),
    Close,
}

/// An operation a closed breaker may answer by counting alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quick {
    /// `try_acquire`.
    Admit,
    /// `record_success`.
    Succeed,
    /// `call`: an admission and, if the op succeeds, a success.
    Call,
}

impl Breaker {
    /// Whether this build's bookkeeping is long (the policies): registries
    /// without `std` then lend a breaker's slot out of the critical
    /// section for an operation instead of masking interrupts throughout.
    pub(crate) const LONG_BOOKKEEPING: bool = Ext::LONG_BOOKKEEPING;

    /// An all-zero breaker for empty registry slots (never used as a
    /// breaker: its config is invalid), so that an empty registry is
    /// zero-initialised and lives in `.bss`.
    pub(crate) const VACANT: Breaker = Breaker {
        config: Config::ZERO,
        state: State::Closed,
        failure_count: 0,
        half_open_calls: 0,
        success_count: SplitU64::new(0),
        rejected_count: SplitU64::new(0),
        admitted_count: SplitU64::new(0),
        failure_total: SplitU64::new(0),
        last_failure_ms: SplitU64::new(0),
        elapsed_credit_ms: 0,
        has_failure_time: false,
        flags: Flags::ZERO,
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
            flags: Flags::new(&config),
            ext: Ext::new(&config),
            ..Self::VACANT
        })
    }

    /// Makes this breaker a closed one with `config`, already validated,
    /// written in place: a registry slot's breaker, without a temporary
    /// breaker on the stack (hundreds of bytes with policies) and its copy.
    /// Every field is named (a field added later fails to compile here
    /// until it is reset too).
    #[inline]
    pub(crate) fn init_in_place(&mut self, config: Config) {
        let Breaker {
            config: c,
            state,
            failure_count,
            success_count,
            half_open_calls,
            rejected_count,
            admitted_count,
            failure_total,
            last_failure_ms,
            elapsed_credit_ms,
            has_failure_time,
            flags,
            ext,
        } = self;
        *c = config;
        *state = State::Closed;
        *failure_count = 0;
        *success_count = SplitU64::new(0);
        *half_open_calls = 0;
        *rejected_count = SplitU64::new(0);
        *admitted_count = SplitU64::new(0);
        *failure_total = SplitU64::new(0);
        *last_failure_ms = SplitU64::new(0);
        *elapsed_credit_ms = 0;
        *has_failure_time = false;
        *flags = Flags::new(&config);
        // Zeroed, then the few fields a configuration sets: assigning
        // `Ext::new(&config)` built the whole policy state in a temporary
        // on the stack and copied it (create 536 -> 344 B on M0).
        *ext = Ext::ZERO;
        ext.init_fields(&config);
    }

    /// The breaker's configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The one rule of the closed fast answers: whether `op` on this
    /// breaker does nothing but count. `reading`: the caller brings a clock
    /// reading, which a breaker that has not seen one yet must take (its
    /// time accounting starts there). The owned fast answers, the
    /// registry's clock-free paths and the fast path's published mode all
    /// ask this function.
    #[inline(always)]
    pub(crate) fn only_counts(&self, op: Quick, reading: bool) -> bool {
        self.state == State::Closed && self.flags.only_counts(op, reading)
    }

    /// Whether the breaker has seen a clock reading (its time accounting
    /// has started): an operation that brings one has nothing to refresh
    /// in closed. Always true without policies.
    #[inline(always)]
    pub(crate) fn is_timed(&self) -> bool {
        self.flags.timed()
    }

    /// The clock readings at which this breaker rejects with nothing to
    /// refresh, `from..until`: open, from the last failure (a reading
    /// before it is a clock that went back, which `refresh_open` re-bases
    /// on) to the end of the open duration; forced open until a reset,
    /// every reading; forced open for a time, from the reading it was
    /// forced at to the end of that time.
    #[inline(always)]
    pub(crate) fn rejecting_window(&self) -> Option<(u64, u64)> {
        if !self.is_timed() {
            return None;
        }
        match self.state {
            State::ForcedOpen => Ext::forced_window(self),
            State::Open if self.has_failure_time => {
                let open = u64::from(self.open_duration_ms());
                let credit = u64::from(self.elapsed_credit_ms);
                let from = self.last_failure_ms.get();
                (credit < open).then(|| (from, from.saturating_add(open - credit)))
            }
            _ => None,
        }
    }

    /// The open duration in force: `reset_timeout_ms`, grown by backoff and
    /// moved by jitter when policies say so.
    #[inline]
    fn open_duration_ms(&self) -> u32 {
        Ext::open_ms(self)
    }

    /// Moves an open breaker whose timeout has run out to half-open (lazily:
    /// there is no timer). A reading earlier than the last failure means the
    /// clock went backwards: the open window is re-based on it, so the breaker
    /// never stays open longer than its open duration of forward time.
    fn refresh(&mut self, now_ms: u64) {
        if Ext::on_reading(self, now_ms) {
            return;
        }
        if self.state == State::Open {
            self.refresh_open(now_ms);
        }
    }

    /// `refresh` of an open breaker.
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
            self.transition(State::HalfOpen, Reason::Timeout, Some(now_ms));
        }
    }

    /// Moves to `to`. `now_ms` is `None` only for `reset`, which takes no
    /// clock reading.
    fn transition(&mut self, to: State, reason: Reason, now_ms: Option<u64>) {
        Ext::on_transition(self, to, reason, now_ms);
        self.state = to;
    }

    /// Opens (or reopens) at `now_ms`: the open window starts now.
    fn open(&mut self, now_ms: u64, reason: Reason) {
        Ext::on_open(self, now_ms);
        self.last_failure_ms = SplitU64::new(now_ms);
        self.elapsed_credit_ms = 0;
        self.has_failure_time = true;
        self.half_open_calls = 0;
        self.transition(State::Open, reason, Some(now_ms));
    }

    /// Closes: failure count and probe count start again.
    fn close(&mut self, now_ms: Option<u64>, reason: Reason) {
        self.failure_count = 0;
        self.half_open_calls = 0;
        Ext::on_close(self);
        if self.state != State::Closed {
            self.transition(State::Closed, reason, now_ms);
        }
    }

    /// Acts on a verdict reached at `now_ms`.
    fn apply(&mut self, verdict: Verdict, now_ms: u64) {
        match verdict {
            Verdict::Stay => {}
            Verdict::Open(reason) => self.open(now_ms, reason),
            Verdict::Close => self.close(Some(now_ms), Reason::ProbeSucceeded),
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
        if Ext::INLINE_ANSWERS {
            if self.only_counts(Quick::Admit, true) {
                self.admitted_count.add(1);
                return Ok(State::Closed);
            }
            if self
                .rejecting_window()
                .is_some_and(|(from, until)| (from..until).contains(&now_ms))
            {
                self.rejected_count.add(1);
                return Err(Error::CircuitOpen);
            }
            return self.try_acquire_out_of_line(now_ms);
        }
        self.try_acquire_refreshed(now_ms)
    }

    /// The full path of `try_acquire` when the common answers are decided
    /// inline: kept out of line, so that those answers inline small.
    #[inline(never)]
    fn try_acquire_out_of_line(&mut self, now_ms: u64) -> Result<State, Error> {
        self.try_acquire_refreshed(now_ms)
    }

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
            self.admitted_count.add(1);
            Ok(self.state)
        } else {
            self.rejected_count.add(1);
            Err(Error::CircuitOpen)
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a closed breaker, which needs
    /// no time: `None` (and nothing changed) when it does more than count
    /// (see [`only_counts`](Self::only_counts)).
    #[inline]
    pub(crate) fn try_acquire_if_closed(&mut self) -> Option<State> {
        self.only_counts(Quick::Admit, false).then(|| {
            self.admitted_count.add(1);
            State::Closed
        })
    }

    /// [`record_success`](Self::record_success) for a closed breaker, which
    /// needs no time: `false` (and nothing changed) when it does more than
    /// count.
    #[inline]
    pub(crate) fn record_success_if_closed(&mut self) -> bool {
        let counts = self.only_counts(Quick::Succeed, false);
        if counts {
            self.success_count.add(1);
        }
        counts
    }

    /// Adds counts made outside the breaker (the registry's fast path).
    #[cfg(fusebox_fast)]
    pub(crate) fn add_counts(&mut self, admitted: u64, succeeded: u64, rejected: u64) {
        self.admitted_count.add64(admitted);
        self.success_count.add64(succeeded);
        self.rejected_count.add64(rejected);
    }

    /// Adds rejections counted outside the breaker (the firmware fast
    /// path's).
    #[cfg(fusebox_fast_reject)]
    pub(crate) fn add_rejected(&mut self, n: u32) {
        self.rejected_count.add(n);
    }

    /// Whether [`rejecting_window`](Self::rejecting_window) may answer a
    /// window (open or forced open): one load.
    #[cfg(fusebox_fast_reject)]
    #[inline(always)]
    pub(crate) fn may_reject(&self) -> bool {
        matches!(self.state, State::Open | State::ForcedOpen)
    }

    /// Records a success. Closed or open: counts it. Half-open: closes the
    /// breaker (failure count and probe count back to 0), whichever call the
    /// success came from, as Snakepit does; with policies, once
    /// `half_open_success_threshold` probes have succeeded, or with
    /// [`ProbeJudge::Rate`](crate::ProbeJudge::Rate) as the completed
    /// round of probes says. O(1).
    #[inline]
    pub fn record_success(&mut self, now_ms: u64) {
        if Ext::INLINE_ANSWERS {
            if self.only_counts(Quick::Succeed, true) {
                self.success_count.add(1);
                return;
            }
            return self.on_success_out_of_line(now_ms);
        }
        self.on_success(false, now_ms);
    }

    /// `record_success`'s full path when the common answer is decided
    /// inline (see `try_acquire_out_of_line`).
    #[inline(never)]
    fn on_success_out_of_line(&mut self, now_ms: u64) {
        self.on_success(false, now_ms);
    }

    /// Records a failure, in any state: the failure count grows and the
    /// last-failure time becomes `now_ms`. Closed: opens at the threshold.
    /// Open: the open window restarts from now. Half-open: reopens (with
    /// [`ProbeJudge::Rate`](crate::ProbeJudge::Rate), counts toward the
    /// round of probes, which decides once complete). O(1).
    pub fn record_failure(&mut self, now_ms: u64) {
        self.on_failure(false, now_ms);
    }

    /// A success (`slow`: it took longer than `slow_call_ms`).
    fn on_success(&mut self, slow: bool, now_ms: u64) {
        self.refresh(now_ms);
        self.success_count.add(1);
        let verdict = if self.state == State::HalfOpen {
            Ext::judge_probe_success(self, slow)
        } else {
            Ext::judge_success(self, slow, now_ms)
        };
        self.apply(verdict, now_ms);
    }

    /// A failure (`slow`: it also took longer than `slow_call_ms`).
    fn on_failure(&mut self, slow: bool, now_ms: u64) {
        self.refresh(now_ms);
        self.failure_count = self.failure_count.saturating_add(1);
        self.failure_total.add(1);
        self.last_failure_ms = SplitU64::new(now_ms);
        self.elapsed_credit_ms = 0;
        self.has_failure_time = true;
        if self.state == State::HalfOpen {
            let verdict = Ext::judge_probe_failure(self, slow);
            self.apply(verdict, now_ms);
        } else {
            let verdict = Ext::judge_failure(self, slow, now_ms);
            if self.state == State::Closed {
                self.apply(verdict, now_ms);
            }
        }
    }

    /// Whether slow calls are on (`slow_call_ms` != 0): callers must read
    /// the clock before a call to time it.
    #[inline]
    pub(crate) fn measures_slow_calls(&self) -> bool {
        Ext::measures_slow_calls(self)
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

    /// The counters, without moving the state (Snakepit's `stats`), with
    /// the rate window's figures (`window_*`) as of its last record: a
    /// time window's buckets that expired since are still counted. Use
    /// [`stats_at`](Self::stats_at) for the figures as they stand now.
    /// O(1) (O(buckets) with a time window).
    pub fn stats(&self) -> Stats {
        self.stats_as_of(None)
    }

    /// [`stats`](Self::stats) as they stand at `now_ms`: a time window
    /// leaves out the buckets that have expired by then, as the next
    /// recorded call would, without waiting for one (and without changing
    /// anything: `&self`). A count window does not age, and every other
    /// field reads as in [`stats`](Self::stats) (the state is the stored
    /// one). A reading earlier than the window's newest bucket (a clock
    /// that went back) expires nothing: the figures are those of the last
    /// record. O(1) (O(buckets) with a time window).
    #[cfg_attr(feature = "policies", doc = "```")]
    #[cfg_attr(not(feature = "policies"), doc = "```ignore")]
    /// use fusebox::{Breaker, Config, Policy, TripRule, WindowKind};
    /// let mut b = Breaker::new(Config::default().with_policy(
    ///     Policy::SNAKEPIT
    ///         .with_trip_rule(TripRule::FailureRate)
    ///         .with_window(WindowKind::Time, 2, 1_000), // the last 2 s
    /// ))
    /// .unwrap();
    /// b.record_failure(0);
    /// b.record_success(1_500);
    /// assert_eq!(b.stats_at(1_500).window_calls, 2);
    /// assert_eq!(b.stats_at(2_000).window_calls, 1); // the first second expired
    /// assert_eq!(b.stats_at(3_000).window_calls, 0);
    /// assert_eq!(b.stats().window_calls, 2); // as of the last record
    /// ```
    pub fn stats_at(&self, now_ms: u64) -> Stats {
        self.stats_as_of(Some(now_ms))
    }

    /// Whether the stats change with the time alone (a time window): a
    /// reader that wants them as they stand needs a clock reading.
    #[inline]
    pub(crate) fn stats_age(&self) -> bool {
        Ext::stats_age(self)
    }

    /// [`stats_at`](Self::stats_at) `now_ms`, or [`stats`](Self::stats)
    /// for `None`.
    #[inline]
    pub(crate) fn stats_as_of(&self, now_ms: Option<u64>) -> Stats {
        let mut s = self.snakepit_stats();
        Ext::fill_stats(self, &mut s, now_ms);
        s
    }

    /// [`stats_as_of`](Self::stats_as_of) `now_ms`, into `out`, out of
    /// line with policies: a `Stats` built as a value was a whole
    /// temporary in the caller's frame, copied out. Inline without
    /// policies (no window: a small frame; out of line it cost core
    /// flash).
    #[cfg_attr(feature = "policies", inline(never))]
    #[cfg_attr(fusebox_fast, allow(dead_code))] // hosts add the lanes' counts to a value
    pub(crate) fn stats_into(&self, now_ms: Option<u64>, out: &mut Stats) {
        *out = self.snakepit_stats();
        Ext::fill_stats(self, out, now_ms);
    }

    /// The stats Snakepit's breaker has, every policy field 0 (every field
    /// is named: a field added later fails to compile here until it is
    /// set too).
    #[inline(always)]
    fn snakepit_stats(&self) -> Stats {
        Stats {
            state: self.state,
            failure_count: u64::from(self.failure_count),
            failure_total: self.failure_total.get(),
            success_count: self.success_count.get(),
            failure_threshold: self.config.failure_threshold,
            half_open_calls: self.half_open_calls,
            half_open_max_calls: self.config.half_open_max_calls,
            reset_timeout_ms: self.config.reset_timeout_ms,
            rejected_count: self.rejected_count.get(),
            admitted_count: self.admitted_count.get(),
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
        }
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
        // A closed breaker whose calls only count needs no time, and
        // `&mut self` keeps it closed while `op` runs: admit, run, count.
        // The clock is read only to stamp a failure.
        if self.only_counts(Quick::Call, false) {
            self.admitted_count.add(1);
            let result = op();
            match &result {
                Ok(_) => self.success_count.add(1),
                Err(_) => self.record_failure(clock.now_ms()),
            }
            return result.map_err(CallError::Failed);
        }
        self.call_unless_counts_only(clock, op)
    }

    /// [`call`](Self::call) of a breaker that is not closed, or whose
    /// policy does more with a call than count it.
    #[inline(never)]
    fn call_unless_counts_only<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        if self.measures_slow_calls() {
            // Slow calls are measured: the clock is read around `op`.
            return Ext::call_measured(self, clock, op);
        }
        self.call_untimed(clock, op)
    }

    /// `call` of a breaker that does not time its calls. A closed breaker
    /// needs no time to admit or to count a success: the clock is read only
    /// when it is not closed, or to stamp a failure. The outcome is the
    /// same as reading it always.
    fn call_untimed<T, E>(
        &mut self,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
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
