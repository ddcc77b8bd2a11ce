//! The hooks of a build with the `policies` feature: the policy state a
//! breaker carries beyond Snakepit's (rate window, backoff, jitter,
//! half-open control, time in state, permits' generation, pending
//! transitions), what it does at each hook of the state machine, and the
//! methods only policies have (permits, manual states, classified calls).
//! The heavy hooks are out of line, so that a closed breaker's operations
//! stay small enough to inline.
#![forbid(unsafe_code)]

#[cfg(test)]
use super::PolicyParts;
use super::{
    Breaker, Hooks, Permit, PolicyView, Quick, Reason, SplitU64, State, Stats, Transition, Verdict,
};
#[cfg(test)]
use crate::policy::arith::div_rem;
#[cfg(test)]
use crate::policy::WindowKind;
use crate::policy::{
    outcome_of, rate_reached, Outcome, ProbeJudge, RateWindow, TripRule, WaitAction,
};
use crate::{CallError, Clock, Config, Error};

// The methods only policies have: outcomes with durations, permits,
// retry-after, manual control, transitions for events, classified calls.
#[path = "policy_api.rs"]
mod api;
// What snapshots carry of the policy state, checked on the way back.
#[path = "policy_parts.rs"]
mod parts;
#[cfg(test)]
use parts::set_bit;
use parts::{checked_window, copy_policy_parts, keeps_window};

/// How many transitions a breaker keeps for `take_transition`.
const PENDING: usize = 5;

/// A breaker's policy state (feature `policies`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C)]
pub(super) struct Ext {
    /// How many of `pending` hold a change: checked after every registry
    /// operation, hence first.
    pending_len: u8,
    /// Where the oldest of them is in `pending` (a ring: taking one moves
    /// no entry, so no `memmove` is linked); 0 when none is.
    pending_head: u8,
    /// Transitions not yet taken by `take_transition`. One public
    /// operation makes at most five (an owned breaker's `call`: a probe
    /// wait that reopened and an open window already over, twice, and a
    /// verdict); the registry takes them after every locked step, which
    /// makes at most four.
    pending: [Pending; PENDING],
    generation: u32,
    transitions: SplitU64,
    half_open_successes: u32,
    /// Failed probes in the current half-open round (`ProbeJudge::Rate`).
    half_open_failures: u32,
    /// Slow probes in the current half-open round (`ProbeJudge::Rate`).
    half_open_slow: u32,
    /// The open duration before jitter, grown by backoff on each reopen.
    open_base_ms: u32,
    /// The open duration in force.
    open_ms: u32,
    rng: u32,
    slow_count: SplitU64,
    stale_count: SplitU64,
    ignored_count: SplitU64,
    dropped_transitions: u32,
    state_since_ms: SplitU64,
    /// When the current round of half-open probes began.
    probes_since_ms: SplitU64,
    /// Forced open for a time: the reading it was forced at (or, after a
    /// clock that went back, re-based at).
    forced_since_ms: SplitU64,
    /// Forced open for a time: how long, from `forced_since_ms`. 0 when
    /// forced open until a reset, and in every other state (a forced open
    /// of 0 ms ends at the reading it starts at).
    forced_ms: SplitU64,
    time_in_ms: [SplitU64; 3],
    window: RateWindow,
}

impl Ext {
    pub(super) const fn new(config: &Config) -> Ext {
        Ext {
            open_base_ms: config.reset_timeout_ms,
            open_ms: config.reset_timeout_ms,
            rng: config.policy.rng_seed(),
            ..Ext::ZERO
        }
    }

    /// Takes `old`'s lifetime totals (transitions, slow, stale and ignored
    /// outcomes, dropped transitions, time in each state): a breaker
    /// restarted after its writer was killed keeps them
    /// (`Breaker::recover`).
    #[cfg_attr(not(fusebox_robust), allow(dead_code))]
    pub(super) fn keep_totals(&mut self, old: &Ext) {
        self.transitions = old.transitions;
        self.slow_count = old.slow_count;
        self.stale_count = old.stale_count;
        self.ignored_count = old.ignored_count;
        self.dropped_transitions = old.dropped_transitions;
        self.time_in_ms = old.time_in_ms;
    }

    /// Sets, on a zeroed `Ext`, the fields `new` takes from `config`:
    /// `init_in_place` writes the policy state in place with it, without
    /// a temporary `Ext` on the stack.
    pub(super) fn init_fields(&mut self, config: &Config) {
        self.open_base_ms = config.reset_timeout_ms;
        self.open_ms = config.reset_timeout_ms;
        self.rng = config.policy.rng_seed();
    }

    /// All zero: the state of an empty registry slot (`.bss`).
    pub(super) const ZERO: Ext = Ext {
        generation: 0,
        transitions: SplitU64::new(0),
        half_open_successes: 0,
        half_open_failures: 0,
        half_open_slow: 0,
        open_base_ms: 0,
        open_ms: 0,
        rng: 0,
        slow_count: SplitU64::new(0),
        stale_count: SplitU64::new(0),
        ignored_count: SplitU64::new(0),
        pending: [Pending::ZERO; PENDING],
        pending_len: 0,
        pending_head: 0,
        dropped_transitions: 0,
        state_since_ms: SplitU64::new(0),
        probes_since_ms: SplitU64::new(0),
        forced_since_ms: SplitU64::new(0),
        forced_ms: SplitU64::new(0),
        time_in_ms: [SplitU64::new(0); 3],
        window: RateWindow::EMPTY,
    };

    /// A new round of half-open probes: nothing reported yet.
    fn new_round(&mut self) {
        self.half_open_successes = 0;
        self.half_open_failures = 0;
        self.half_open_slow = 0;
    }
}

/// What the policy says about a closed breaker's operations, next to the
/// state (one byte of bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flags(u8);

impl Flags {
    /// Time accounting has started (the breaker has seen a clock
    /// reading): an operation that brings one has nothing to refresh.
    const TIMED: u8 = 1;
    /// Successes in closed only count: no rate window to feed, no
    /// consecutive count to clear, no slow calls.
    const PLAIN: u8 = 2;
    /// Calls are not timed (no slow calls): an admission in closed only
    /// counts, with no reading taken for the call's start.
    const UNTIMED: u8 = 4;

    pub(super) const ZERO: Flags = Flags(0);

    pub(super) const fn new(config: &Config) -> Flags {
        let p = &config.policy;
        let untimed = p.slow_call_ms == 0;
        let plain = untimed && matches!(p.trip_rule, TripRule::Cumulative);
        Flags(if plain { Flags::PLAIN } else { 0 } | if untimed { Flags::UNTIMED } else { 0 })
    }

    /// See [`Breaker::only_counts`], which has already checked that the
    /// breaker is closed.
    #[inline(always)]
    pub(super) const fn only_counts(self, op: Quick, reading: bool) -> bool {
        let need = match op {
            Quick::Admit => Flags::UNTIMED,
            Quick::Succeed | Quick::Call => Flags::PLAIN,
        } | if reading { Flags::TIMED } else { 0 };
        self.0 & need == need
    }

    #[inline(always)]
    pub(super) const fn timed(self) -> bool {
        self.0 & Flags::TIMED != 0
    }
}

/// Which `time_in_state_ms` entry a state's time goes to.
const fn time_slot(state: State) -> usize {
    match state {
        State::Closed | State::Disabled | State::MetricsOnly => 0,
        State::Open | State::ForcedOpen => 1,
        State::HalfOpen => 2,
    }
}

/// The index of the `k`-th oldest entry of the pending ring whose oldest
/// is at `head` (`head < PENDING`, `k <= PENDING`): no division.
fn pending_at(head: u8, k: usize) -> usize {
    let i = usize::from(head) + k;
    if i >= PENDING {
        i - PENDING
    } else {
        i
    }
}

/// A transition as a breaker keeps it until taken: its reading as two
/// halves, so that the breaker stays 4-byte aligned (copying an entry
/// stays 4-byte moves on 32-bit cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pending {
    from: State,
    to: State,
    reason: Reason,
    generation: u32,
    now_ms: SplitU64,
}

impl Pending {
    /// All zero: an empty entry of a breaker's pending list.
    const ZERO: Pending = Pending {
        from: State::Closed,
        to: State::Closed,
        reason: Reason::FailureThreshold,
        generation: 0,
        now_ms: SplitU64::new(0),
    };

    /// The transition it keeps.
    pub(super) fn transition(self) -> Transition {
        Transition {
            from: self.from,
            to: self.to,
            reason: self.reason,
            generation: self.generation,
            now_ms: self.now_ms.get(),
        }
    }
}

impl Permit {
    /// A permit from its parts (as the C API carries it).
    pub(crate) const fn from_parts(generation: u32, admitted_in: State, start_ms: u64) -> Self {
        Permit {
            generation,
            admitted_in,
            start_ms,
        }
    }
}

impl Hooks for Ext {
    // The full paths carry the policies and are out of line: the common
    // answers are decided inline first.
    const INLINE_ANSWERS: bool = true;
    // Hundreds of instructions, more with larger windows.
    const LONG_BOOKKEEPING: bool = true;

    /// The first reading starts time accounting; a half-open breaker's
    /// probe round is judged against `half_open_max_wait_ms`; a breaker
    /// forced open for a time goes half-open once that time is up. Not
    /// handled: an open breaker (also one the probe wait just reopened).
    #[inline(always)]
    fn on_reading(b: &mut Breaker, now_ms: u64) -> bool {
        if !b.flags.timed() {
            b.start_time_accounting(now_ms);
        }
        match b.state {
            State::HalfOpen => b.check_probe_wait(now_ms),
            State::ForcedOpen => b.check_forced_end(now_ms),
            _ => return false,
        }
        // Reopened at the end of a probe wait: its open window is checked
        // against this reading too.
        b.state != State::Open
    }

    #[inline(always)]
    fn open_ms(b: &Breaker) -> u32 {
        b.ext.open_ms
    }

    /// A reopen from half-open backs the open duration off; any open draws
    /// jitter.
    #[inline(never)]
    fn on_open(b: &mut Breaker, _: u64) {
        let p = b.config.policy;
        let base = if b.state == State::HalfOpen {
            p.backed_off(b.ext.open_base_ms)
        } else {
            b.config.reset_timeout_ms
        };
        b.ext.open_base_ms = base;
        b.ext.open_ms = p.jittered(base, &mut b.ext.rng);
        b.ext.new_round();
    }

    /// The rate window and the backoff start again. A reset of a closed
    /// breaker is no state change, but late results from before it are
    /// stale.
    #[inline(never)]
    fn on_close(b: &mut Breaker) {
        let e = &mut b.ext;
        e.new_round();
        e.forced_ms = SplitU64::new(0);
        e.window = RateWindow::EMPTY;
        e.open_base_ms = b.config.reset_timeout_ms;
        e.open_ms = b.config.reset_timeout_ms;
        if b.state == State::Closed {
            e.generation = e.generation.wrapping_add(1);
        }
    }

    /// Time in state, the generation, and the transition for events;
    /// entering half-open starts a probe round; closing (or entering
    /// metrics-only) at a reading starts the emptied rate window there.
    #[inline(never)]
    fn on_transition(b: &mut Breaker, to: State, reason: Reason, now_ms: Option<u64>) {
        let from = b.state;
        let e = &mut b.ext;
        // A reset has no reading: the start of the state it ends.
        let at = now_ms.unwrap_or(e.state_since_ms.get());
        if let Some(now) = now_ms {
            if to == State::HalfOpen {
                e.new_round();
                e.probes_since_ms = SplitU64::new(now);
            }
            if matches!(to, State::Closed | State::MetricsOnly) {
                // `on_close` / `enter_manual` emptied the window just now.
                e.window.anchor(&b.config.policy, now);
            }
            let spent = now.saturating_sub(e.state_since_ms.get());
            if let Some(t) = e.time_in_ms.get_mut(time_slot(from)) {
                *t = SplitU64::new(t.get().saturating_add(spent));
            }
            e.state_since_ms = SplitU64::new(now);
            b.flags.0 |= Flags::TIMED;
        }
        e.generation = e.generation.wrapping_add(1);
        e.transitions.add(1);
        let t = Pending {
            from,
            to,
            reason,
            generation: e.generation,
            now_ms: SplitU64::new(at),
        };
        let len = usize::from(e.pending_len);
        match e.pending.get_mut(pending_at(e.pending_head, len)) {
            Some(free) if len < PENDING => {
                *free = t;
                e.pending_len += 1;
            }
            _ => e.dropped_transitions = e.dropped_transitions.wrapping_add(1),
        }
    }

    #[inline(never)]
    fn judge_success(b: &mut Breaker, slow: bool, now_ms: u64) -> Verdict {
        b.count_slow(slow);
        if !matches!(b.state, State::Closed | State::MetricsOnly) {
            return Verdict::Stay;
        }
        if b.config.policy.trip_rule == TripRule::Consecutive {
            b.failure_count = 0;
        }
        // A success trips nothing unless a rate window judges it.
        if !b.has_window() {
            return Verdict::Stay;
        }
        b.closed_verdict(false, slow, now_ms)
    }

    /// A slow probe counts as a failed one; otherwise the breaker closes
    /// once `half_open_success_threshold` probes have succeeded. With
    /// `ProbeJudge::Rate`, the round decides once complete.
    #[inline(never)]
    fn judge_probe_success(b: &mut Breaker, slow: bool) -> Verdict {
        b.count_slow(slow);
        if b.config.policy.half_open_judge == ProbeJudge::Rate {
            b.ext.half_open_successes = b.ext.half_open_successes.saturating_add(1);
            return b.probe_round_verdict(slow);
        }
        if slow && b.config.policy.slow_call_ms != 0 {
            return Verdict::Open(Reason::ProbeFailed);
        }
        b.ext.half_open_successes = b.ext.half_open_successes.saturating_add(1);
        if b.ext.half_open_successes >= b.config.policy.half_open_success_threshold {
            Verdict::Close
        } else {
            Verdict::Stay
        }
    }

    #[inline(never)]
    fn judge_failure(b: &mut Breaker, slow: bool, now_ms: u64) -> Verdict {
        b.count_slow(slow);
        match b.state {
            State::Closed | State::MetricsOnly => b.closed_verdict(true, slow, now_ms),
            _ => Verdict::Stay,
        }
    }

    /// A failed probe reopens; with `ProbeJudge::Rate`, the round decides
    /// once complete.
    #[inline(never)]
    fn judge_probe_failure(b: &mut Breaker, slow: bool) -> Verdict {
        b.count_slow(slow);
        if b.config.policy.half_open_judge == ProbeJudge::Rate {
            b.ext.half_open_failures = b.ext.half_open_failures.saturating_add(1);
            return b.probe_round_verdict(slow);
        }
        Verdict::Open(Reason::ProbeFailed)
    }

    /// Until a reset: every reading. For a time: from the reading it was
    /// forced at to the end of that time (a reading before it is a clock
    /// that went back, which `check_forced_end` re-bases on).
    #[inline(always)]
    fn forced_window(b: &Breaker) -> Option<(u64, u64)> {
        let ms = b.ext.forced_ms.get();
        if ms == 0 {
            return Some((0, u64::MAX));
        }
        let since = b.ext.forced_since_ms.get();
        Some((since, since.saturating_add(ms)))
    }

    #[inline(always)]
    fn measures_slow_calls(b: &Breaker) -> bool {
        b.config.policy.slow_call_ms != 0
    }

    #[inline(always)]
    fn call_measured<T, E>(
        b: &mut Breaker,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        b.call_classified(clock, op, outcome_of)
    }

    fn fill_stats(b: &Breaker, s: &mut Stats, now_ms: Option<u64>) {
        let e = &b.ext;
        s.transitions = e.transitions.get();
        s.generation = e.generation;
        s.slow_count = e.slow_count.get();
        s.stale_count = e.stale_count.get();
        s.ignored_count = e.ignored_count.get();
        s.half_open_successes = e.half_open_successes;
        if b.has_window() {
            let t = e.window.totals_as_of(&b.config.policy, now_ms);
            s.window_calls = t.calls;
            s.window_failures = t.failures;
            s.window_slow = t.slow;
        }
        s.time_in_state_ms = e.time_in_ms.map(SplitU64::get);
        s.state_since_ms = e.state_since_ms.get();
    }

    fn fill_readout(b: &Breaker, r: &mut super::Readout, now_ms: u64) {
        let e = &b.ext;
        r.slow = e.slow_count.get();
        r.ignored = e.ignored_count.get();
        let t = if b.has_window() {
            e.window.totals_as_of(&b.config.policy, Some(now_ms))
        } else {
            crate::policy::window::Totals::default()
        };
        (r.window_calls, r.window_failures, r.window_slow) = (t.calls, t.failures, t.slow);
        let (open, since) = (e.time_in_ms[1].get(), e.state_since_ms.get());
        r.open_ms = super::readout::open_ms(b.state, open, since, now_ms);
    }

    /// A time window's buckets expire with the time.
    #[inline]
    fn stats_age(b: &Breaker) -> bool {
        b.has_window() && b.config.policy.window_kind == crate::WindowKind::Time
    }

    const POLICIES: bool = true;

    #[inline]
    fn counts_failures(c: &Config) -> bool {
        matches!(
            c.policy.trip_rule,
            TripRule::Cumulative | TripRule::Consecutive
        )
    }

    fn encode_policy(b: &Breaker, now_ms: u64, w: &mut super::Writer<'_>) -> u8 {
        parts::encode_policy(b, now_ms, w)
    }

    #[cfg(test)]
    fn policy_parts(b: &Breaker, now_ms: u64, out: &mut PolicyParts) {
        let e = &b.ext;
        let p = &b.config.policy;
        *out = PolicyParts::neutral(&b.config);
        out.transitions = e.transitions.get();
        out.slow_count = e.slow_count.get();
        out.stale_count = e.stale_count.get();
        out.ignored_count = e.ignored_count.get();
        out.half_open_successes = e.half_open_successes;
        out.half_open_failures = e.half_open_failures;
        out.half_open_slow = e.half_open_slow;
        out.open_base_ms = e.open_base_ms;
        out.open_ms = e.open_ms;
        out.rng = e.rng;
        out.time_in_state_ms = e.time_in_ms.map(SplitU64::get);
        out.state_age_ms = b
            .flags
            .timed()
            .then(|| now_ms.saturating_sub(e.state_since_ms.get()));
        if b.state == State::HalfOpen {
            out.probes_age_ms = now_ms.saturating_sub(e.probes_since_ms.get());
        }
        let ms = e.forced_ms.get();
        if b.state == State::ForcedOpen && ms != 0 {
            let elapsed = now_ms.saturating_sub(e.forced_since_ms.get());
            out.forced = Some((ms, ms.saturating_sub(elapsed)));
        }
        // A breaker without a rate rule keeps no window (a time window may
        // still hold a bucket start, with nothing in it): none is written,
        // as none is restored.
        if !b.has_window() {
            return;
        }
        match p.window_kind {
            WindowKind::Count => {
                for (k, (failed, slow)) in e.window.count_outcomes(p).enumerate() {
                    set_bit(&mut out.window_failed, k, failed);
                    set_bit(&mut out.window_slow, k, slow);
                    out.window_fill = out.window_fill.saturating_add(1);
                }
            }
            WindowKind::Time => {
                // As it stands at `now_ms` (as `RateWindow::aged` moves
                // it, without a copy of the window): the `k` buckets that
                // expired by then are left out (the rest move back `k`
                // places, empty ones after them: `out`'s are 0), and the
                // newest one's start is at most a bucket old.
                let start = e.window.newest_bucket_start(p);
                let mut expired = 0;
                let mut newest = start;
                if let Some(elapsed) = start.and_then(|s| now_ms.checked_sub(s)) {
                    let (k, into) = div_rem(elapsed, p.bucket_ms.max(1));
                    if k != 0 {
                        expired = usize::try_from(k).unwrap_or(usize::MAX);
                        newest = Some(now_ms.saturating_sub(u64::from(into)));
                    }
                }
                out.newest_bucket_age_ms = newest.map(|start| now_ms.saturating_sub(start));
                let kept = e.window.time_buckets(p).skip(expired);
                for (slot, t) in out.buckets.iter_mut().zip(kept) {
                    *slot = [t.calls, t.failures, t.slow];
                }
            }
        }
    }

    fn check_policy_parts<P: PolicyView>(
        config: &Config,
        state: State,
        parts: Option<&P>,
        now_ms: u64,
    ) -> Result<(), Error> {
        match parts {
            Some(x) => checked_window(config, state, x, now_ms, None),
            None => Ok(()),
        }
    }

    fn set_policy_parts<P: PolicyView>(
        b: &mut Breaker,
        parts: Option<&P>,
        now_ms: u64,
    ) -> Result<(), Error> {
        let Some(x) = parts else {
            // Version 1: empty policy state, time accounting from the next
            // reading.
            return Ok(());
        };
        checked_window(&b.config, b.state, x, now_ms, Some(&mut b.ext.window))?;
        copy_policy_parts(b, x, now_ms);
        Ok(())
    }
}

/// Policies' bookkeeping.
impl Breaker {
    fn count_slow(&mut self, slow: bool) {
        if slow {
            self.ext.slow_count.add(1);
        }
    }

    /// Records a closed (or metrics-only) call into the rate window; the
    /// reason a closed breaker must open, if any (only a closed one acts
    /// on it). Inline in its two callers (the success and failure judges,
    /// out of line): the window's record runs from their frame.
    #[inline(always)]
    fn closed_verdict(&mut self, failed: bool, slow: bool, now_ms: u64) -> Verdict {
        let verdict = self.window_verdict(failed, slow, now_ms);
        let p = &self.config.policy;
        let by_count = matches!(p.trip_rule, TripRule::Cumulative | TripRule::Consecutive)
            && self.failure_count >= self.config.failure_threshold;
        if self.state != State::Closed {
            Verdict::Stay
        } else if by_count {
            Verdict::Open(Reason::FailureThreshold)
        } else if let Some(reason) = verdict {
            Verdict::Open(reason)
        } else {
            Verdict::Stay
        }
    }

    fn is_slow(&self, duration_ms: u64) -> bool {
        let limit = self.config.policy.slow_call_ms;
        limit != 0 && duration_ms > u64::from(limit)
    }

    #[inline(always)]
    fn record_outcome(&mut self, outcome: Outcome, slow: bool, probe: bool, now_ms: u64) {
        match outcome {
            Outcome::Success => self.on_success(slow, now_ms),
            Outcome::Failure => self.on_failure(slow, now_ms),
            Outcome::Ignored => {
                self.refresh(now_ms);
                self.ext.ignored_count.add(1);
                if probe && self.state == State::HalfOpen {
                    self.half_open_calls = self.half_open_calls.saturating_sub(1);
                }
            }
        }
    }

    /// Records into the rate window; the reason it would trip, if any.
    /// The record runs from its caller's frame; the judging of the
    /// totals, which needs more registers, in a frame of its own beside it
    /// (not above it: the record goes deepest, down to the window's aging).
    #[inline(always)]
    fn window_verdict(&mut self, failed: bool, slow: bool, now_ms: u64) -> Option<Reason> {
        if !self.has_window() {
            return None;
        }
        self.ext
            .window
            .record(&self.config.policy, failed, slow, now_ms);
        self.window_rates()
    }

    /// The reason the rate window's totals would trip, if any.
    #[inline(never)]
    fn window_rates(&self) -> Option<Reason> {
        let p = &self.config.policy;
        let t = self.ext.window.totals(p);
        if t.calls < p.effective_minimum_calls() {
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

    /// `ProbeJudge::Rate`: once the round's outcomes (`slow`: the latest
    /// was slow) reach `half_open_max_calls`, their rates decide.
    fn probe_round_verdict(&mut self, slow: bool) -> Verdict {
        let e = &mut self.ext;
        if slow {
            e.half_open_slow = e.half_open_slow.saturating_add(1);
        }
        let done = e.half_open_successes.saturating_add(e.half_open_failures);
        let p = &self.config.policy;
        if done < self.config.half_open_max_calls {
            Verdict::Stay
        } else if rate_reached(e.half_open_failures, done, p.failure_rate_percent) {
            Verdict::Open(Reason::FailureRate)
        } else if p.slow_call_ms != 0
            && rate_reached(e.half_open_slow, done, p.slow_call_rate_percent)
        {
            Verdict::Open(Reason::SlowCallRate)
        } else {
            Verdict::Close
        }
    }

    /// Whether a rate window is kept: a failure-rate rule, or slow calls.
    #[inline]
    fn has_window(&self) -> bool {
        keeps_window(&self.config.policy)
    }

    /// Half-open probes that have not all reported after
    /// `half_open_max_wait_ms` are released, or the breaker reopens; with
    /// `ReopenAlways` it reopens after that long whatever the probes. A
    /// reopen takes effect at the end of the wait, however late this
    /// reading comes: its open duration counts from there (the open window
    /// may be over by now, which `refresh` then checks). A release admits
    /// new probes from this reading on.
    #[inline(never)]
    fn check_probe_wait(&mut self, now_ms: u64) {
        let p = &self.config.policy;
        let always = p.half_open_wait_action == WaitAction::ReopenAlways;
        if p.half_open_max_wait_ms == 0 || (self.half_open_calls == 0 && !always) {
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
                self.ext.new_round();
                self.ext.probes_since_ms = SplitU64::new(now_ms);
                // Late results of the written-off probes are now stale.
                self.ext.generation = self.ext.generation.wrapping_add(1);
            }
            WaitAction::Reopen | WaitAction::ReopenAlways => {
                // since + wait <= now_ms: no overflow.
                let end = since.saturating_add(u64::from(p.half_open_max_wait_ms));
                self.open(end, Reason::ProbeTimeout)
            }
        }
    }

    /// A breaker forced open for a time goes half-open once the time is
    /// up, as an open breaker whose open duration has passed. A clock that
    /// went back (before the reading it was forced at) re-bases the forced
    /// time on that reading: it lasts at most its duration of forward time
    /// from there.
    #[inline(never)]
    fn check_forced_end(&mut self, now_ms: u64) {
        let ms = self.ext.forced_ms.get();
        if ms == 0 {
            return;
        }
        match now_ms.checked_sub(self.ext.forced_since_ms.get()) {
            None => self.ext.forced_since_ms = SplitU64::new(now_ms),
            Some(elapsed) if elapsed >= ms => self.end_forced(now_ms),
            Some(_) => {}
        }
    }

    /// The time of a forced open is up: half-open.
    fn end_forced(&mut self, now_ms: u64) {
        self.ext.forced_ms = SplitU64::new(0);
        self.half_open_calls = 0;
        self.transition(State::HalfOpen, Reason::Timeout, Some(now_ms));
    }

    /// The first clock reading: time in state counts from here.
    #[cold]
    fn start_time_accounting(&mut self, now_ms: u64) {
        self.flags.0 |= Flags::TIMED;
        self.ext.state_since_ms = SplitU64::new(now_ms);
    }
}
