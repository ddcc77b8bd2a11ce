//! The hooks of a build without the `policies` feature: Snakepit's breaker
//! and nothing else. Every hook is an inline constant or Snakepit's own
//! rule, so the state machine compiles to what a Snakepit-only breaker
//! would be, with no policy state (`Ext` and `Flags` are zero-sized).
#![forbid(unsafe_code)]

#[cfg(test)]
use super::PolicyParts;
use super::{
    Breaker, Hooks, PolicyView, Quick, Reason, State, Stats, Verdict, SNAPSHOT_BUCKETS,
    WINDOW_BITS_BYTES,
};
use crate::Error;
use crate::{CallError, Clock, Config};

/// No policy state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ext;

/// No policy flags: a closed breaker's operations always only count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Flags;

impl Ext {
    pub(super) const ZERO: Ext = Ext;

    pub(super) const fn new(_: &Config) -> Ext {
        Ext
    }

    /// Nothing to set.
    #[inline(always)]
    pub(super) fn init_fields(&mut self, _: &Config) {}

    /// No totals of its own.
    #[cfg_attr(not(fusebox_robust), allow(dead_code))]
    pub(super) fn keep_totals(&mut self, _: &Ext) {}
}

impl Flags {
    pub(super) const ZERO: Flags = Flags;

    pub(super) const fn new(_: &Config) -> Flags {
        Flags
    }

    /// Snakepit's closed breaker counts its admissions and successes and
    /// does nothing else with them, whatever the time.
    #[inline(always)]
    pub(super) const fn only_counts(self, _: Quick, _: bool) -> bool {
        true
    }

    /// Nothing to start at the first clock reading.
    #[inline(always)]
    pub(super) const fn timed(self) -> bool {
        true
    }
}

impl Hooks for Ext {
    // The full paths are small and inline: deciding the common answers
    // first would only duplicate them.
    const INLINE_ANSWERS: bool = false;
    // A few dozen instructions: short enough to mask interrupts for.
    const LONG_BOOKKEEPING: bool = false;

    #[inline(always)]
    fn on_reading(_: &mut Breaker, _: u64) -> bool {
        false
    }

    #[inline(always)]
    fn open_ms(b: &Breaker) -> u32 {
        b.config.reset_timeout_ms
    }

    #[inline(always)]
    fn on_open(_: &mut Breaker, _: u64) {}

    #[inline(always)]
    fn on_close(_: &mut Breaker) {}

    #[inline(always)]
    fn on_transition(_: &mut Breaker, _: State, _: Reason, _: Option<u64>) {}

    /// Snakepit: a success outside half-open only counts.
    #[inline(always)]
    fn judge_success(_: &mut Breaker, _: bool, _: u64) -> Verdict {
        Verdict::Stay
    }

    /// Snakepit: one successful probe closes.
    #[inline(always)]
    fn judge_probe_success(_: &mut Breaker, _: bool) -> Verdict {
        Verdict::Close
    }

    /// Snakepit: a closed breaker opens when its failures reach the
    /// threshold.
    #[inline(always)]
    fn judge_failure(b: &mut Breaker, _: bool, _: u64) -> Verdict {
        if b.failure_count >= b.config.failure_threshold {
            Verdict::Open(Reason::FailureThreshold)
        } else {
            Verdict::Stay
        }
    }

    /// Snakepit: a failed probe reopens.
    #[inline(always)]
    fn judge_probe_failure(_: &mut Breaker, _: bool) -> Verdict {
        Verdict::Open(Reason::ProbeFailed)
    }

    /// Never called (nothing forces a breaker open without policies): every
    /// reading rejects.
    #[inline(always)]
    fn forced_window(_: &Breaker) -> Option<(u64, u64)> {
        Some((0, u64::MAX))
    }

    #[inline(always)]
    fn measures_slow_calls(_: &Breaker) -> bool {
        false
    }

    /// Never called (nothing measures slow calls): the untimed call.
    #[inline(always)]
    fn call_measured<T, E>(
        b: &mut Breaker,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        b.call_untimed(clock, op)
    }

    #[inline(always)]
    fn fill_stats(_: &Breaker, _: &mut Stats, _: Option<u64>) {}

    #[inline(always)]
    fn fill_readout(_: &Breaker, _: &mut super::Readout, _: u64) {}

    /// No window: nothing ages.
    #[inline(always)]
    fn stats_age(_: &Breaker) -> bool {
        false
    }

    const POLICIES: bool = false;

    #[inline(always)]
    fn counts_failures(_: &Config) -> bool {
        true
    }

    /// Snakepit's neutral values: the same format as a build with
    /// policies, which restores it as a breaker with an empty history.
    #[cfg(test)]
    fn policy_parts(b: &Breaker, _: u64, out: &mut PolicyParts) {
        *out = PolicyParts::neutral(&b.config);
    }

    /// [`PolicyParts::neutral`]'s encoding.
    fn encode_policy(b: &Breaker, _: u64, w: &mut super::Writer<'_>) -> u8 {
        super::blob::put_neutral_policy(w, b.config.reset_timeout_ms);
        0
    }

    /// A blob written with policies restores if nothing in its policy
    /// state would change a decision here (its policy was Snakepit's, as
    /// the config check has made sure): the counters this build does not
    /// keep (transitions, slow, stale, ignored, time in state) are dropped.
    fn set_policy_parts<P: PolicyView>(
        b: &mut Breaker,
        p: Option<&P>,
        now_ms: u64,
    ) -> Result<(), Error> {
        Self::check_policy_parts(&b.config, b.state, p, now_ms)
    }

    fn check_policy_parts<P: PolicyView>(
        config: &Config,
        _: State,
        p: Option<&P>,
        _: u64,
    ) -> Result<(), Error> {
        let Some(p) = p else { return Ok(()) };
        let reset = config.reset_timeout_ms;
        let neutral = p.half_open_successes() == 0
            && p.half_open_failures() == 0
            && p.half_open_slow() == 0
            && p.open_base_ms() == reset
            && p.open_ms() == reset
            && p.forced().is_none()
            && p.window_fill() == 0
            && (0..WINDOW_BITS_BYTES * 8).all(|k| !p.failed_bit(k) && !p.slow_bit(k))
            && p.newest_bucket_age_ms().is_none()
            && (0..SNAPSHOT_BUCKETS).all(|i| p.bucket_empty(i));
        if neutral {
            Ok(())
        } else {
            Err(Error::BadSnapshot)
        }
    }
}
