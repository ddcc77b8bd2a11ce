//! The methods only a build with the `policies` feature has (a part of
//! `policies.rs`, which holds the state they use): outcomes with
//! durations, permits, retry-after, manual control (forced open, for a time
//! or until reset, forced half-open, disabled, metrics-only), transitions
//! for events, classified calls.
#![forbid(unsafe_code)]

use super::super::{Breaker, Permit, Reason, SplitU64, State, Transition};
use super::pending_at;
use crate::policy::{Outcome, RateWindow, WaitAction};
use crate::{CallError, Clock, Error};

/// What only policies offer: outcomes with durations, permits, retry-after,
/// manual states, transitions for events, classified calls.
impl Breaker {
    /// Records an outcome that took `duration_ms` (slow when longer than
    /// `slow_call_ms`, if slow calls are on): success and failure as
    /// [`record_success`](Self::record_success) and
    /// [`record_failure`](Self::record_failure), ignored counted only. O(1),
    /// or O(buckets) with a time window.
    pub fn record(&mut self, outcome: Outcome, duration_ms: u64, now_ms: u64) {
        let slow = self.is_slow(duration_ms);
        self.record_outcome(outcome, slow, false, now_ms);
    }

    /// [`try_acquire`](Self::try_acquire), handing out a [`Permit`] to
    /// complete with [`complete`](Self::complete). O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`].
    #[inline]
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
    pub fn complete(
        &mut self,
        permit: &Permit,
        outcome: Outcome,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.refresh(now_ms);
        if permit.generation != self.ext.generation {
            self.ext.stale_count.add(1);
            return Err(Error::StalePermit);
        }
        let slow = self.is_slow(now_ms.saturating_sub(permit.start_ms));
        let probe = permit.admitted_in == State::HalfOpen;
        self.record_outcome(outcome, slow, probe, now_ms);
        Ok(())
    }

    /// How long until a call may be admitted, if nothing else happens
    /// first (no probe reports, no manual change): `Some(0)` when one would
    /// be now; open, the time left in its open duration; forced open for a
    /// time, the time left of it (it then goes half-open); half-open with
    /// every probe slot taken and a `half_open_max_wait_ms`, the time left
    /// of that wait, to which `Reopen` and `ReopenAlways` add the open
    /// duration the reopen will have (backoff and jitter applied). `None`
    /// when no time alone will do it: forced open until a reset, or every
    /// probe slot taken with no wait limit. O(1).
    pub fn retry_after_ms(&mut self, now_ms: u64) -> Option<u64> {
        self.refresh(now_ms);
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => Some(0),
            State::ForcedOpen => {
                // After `refresh`: forced at or before `now_ms`, and not
                // yet ended.
                let ms = self.ext.forced_ms.get();
                let elapsed = now_ms.saturating_sub(self.ext.forced_since_ms.get());
                (ms != 0).then(|| ms.saturating_sub(elapsed))
            }
            State::Open => {
                let elapsed = now_ms
                    .saturating_sub(self.last_failure_ms.get())
                    .saturating_add(u64::from(self.elapsed_credit_ms));
                Some(u64::from(self.open_duration_ms()).saturating_sub(elapsed))
            }
            State::HalfOpen if self.half_open_calls < self.config.half_open_max_calls => Some(0),
            State::HalfOpen => {
                let p = &self.config.policy;
                let wait = p.half_open_max_wait_ms;
                (wait != 0).then(|| {
                    let waited = now_ms.saturating_sub(self.ext.probes_since_ms.get());
                    let left = u64::from(wait).saturating_sub(waited);
                    match p.half_open_wait_action {
                        WaitAction::ReleaseProbes => left,
                        WaitAction::Reopen | WaitAction::ReopenAlways => {
                            left.saturating_add(u64::from(self.next_reopen_ms()))
                        }
                    }
                })
            }
        }
    }

    /// The open duration a reopen from half-open would draw now: backed
    /// off, and jittered from a copy of the generator (the same draw).
    fn next_reopen_ms(&self) -> u32 {
        let p = &self.config.policy;
        let mut rng = self.ext.rng;
        p.jittered(p.backed_off(self.ext.open_base_ms), &mut rng)
    }

    /// Holds the breaker open until [`reset`](Self::reset) (or another
    /// manual change): every call is rejected. O(1).
    pub fn force_open(&mut self, now_ms: u64) {
        self.enter_manual(State::ForcedOpen, now_ms);
    }

    /// Holds the breaker open for `duration_ms` from `now_ms`: every call
    /// is rejected, as by [`force_open`](Self::force_open) (the state is
    /// [`State::ForcedOpen`]); then it goes half-open (reason
    /// [`Timeout`](Reason::Timeout)), as an open breaker whose open
    /// duration has passed, and probes. A duration of 0 ends at once: the
    /// breaker is half-open when this returns. A later manual change or
    /// [`reset`](Self::reset) ends it sooner; a repeated call replaces
    /// the time. A clock that goes back before `now_ms` re-bases the time
    /// on that reading: it never lasts more than `duration_ms` of forward
    /// time from there. No overflow, whatever the values. O(1).
    ///
    /// ```
    /// use fusebox::{Breaker, Config, Error, State};
    /// let mut b = Breaker::new(Config::default()).unwrap();
    /// b.force_open_for(5_000, 1_000);                   // a deploy
    /// assert_eq!(b.try_acquire(2_000), Err(Error::CircuitOpen));
    /// assert_eq!(b.retry_after_ms(2_000), Some(4_000));
    /// assert_eq!(b.state(6_000), State::HalfOpen);      // probes from here
    /// assert_eq!(b.try_acquire(6_000), Ok(State::HalfOpen));
    /// b.record_success(6_010);
    /// assert_eq!(b.state(6_010), State::Closed);
    /// ```
    pub fn force_open_for(&mut self, duration_ms: u64, now_ms: u64) {
        self.enter_manual(State::ForcedOpen, now_ms);
        self.limit_forced(duration_ms, now_ms);
    }

    /// The time limit of [`force_open_for`](Self::force_open_for), once
    /// forced open: `duration_ms` from `now_ms`.
    fn limit_forced(&mut self, duration_ms: u64, now_ms: u64) {
        if duration_ms == 0 {
            // The time is up already (`forced_ms` 0 would mean "until a
            // reset").
            return self.end_forced(now_ms);
        }
        self.ext.forced_since_ms = SplitU64::new(now_ms);
        self.ext.forced_ms = SplitU64::new(duration_ms);
    }

    /// Holds the breaker open until the clock reads `until_ms`: as
    /// [`force_open_for`](Self::force_open_for)`(until_ms - now_ms)`. An
    /// instant not after `now_ms` has already passed: the breaker is
    /// half-open when this returns. The time is taken as a duration from
    /// `now_ms`, so that a clock that goes back cannot hold the breaker
    /// open for longer than it was asked to at the call. O(1).
    pub fn force_open_until(&mut self, until_ms: u64, now_ms: u64) {
        self.force_open_for(until_ms.saturating_sub(now_ms), now_ms);
    }

    /// Moves the breaker to half-open by hand (reason
    /// [`Manual`](Reason::Manual)), from any state: a new round of
    /// probes starts at `now_ms`, judged as any other (`half_open_max_calls`
    /// slots, `half_open_max_wait_ms` from here, the probe judge; a reopen
    /// backs off as any reopen from half-open). Already half-open: the
    /// round starts again, and the permits of its probes become stale. O(1).
    pub fn force_half_open(&mut self, now_ms: u64) {
        self.enter_manual(State::HalfOpen, now_ms);
    }

    /// Switches the breaker off until [`reset`](Self::reset): every call is
    /// allowed, successes and failures are counted. O(1).
    pub fn disable(&mut self, now_ms: u64) {
        self.enter_manual(State::Disabled, now_ms);
    }

    /// Watches without acting until [`reset`](Self::reset): every call is
    /// allowed and recorded as when closed (counters, rate window), but
    /// nothing trips. O(1).
    pub fn metrics_only(&mut self, now_ms: u64) {
        self.enter_manual(State::MetricsOnly, now_ms);
    }

    /// [`manual`](Self::manual)'s code of [`force_open`](Self::force_open).
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API names it
    pub(crate) const MANUAL_FORCE_OPEN: u8 = 0;
    /// ... of [`force_open_for`](Self::force_open_for) (`arg`: the duration).
    pub(crate) const MANUAL_FORCE_OPEN_FOR: u8 = 1;
    /// ... of [`force_open_until`](Self::force_open_until) (`arg`: the instant).
    pub(crate) const MANUAL_FORCE_OPEN_UNTIL: u8 = 2;
    /// ... of [`force_half_open`](Self::force_half_open).
    pub(crate) const MANUAL_FORCE_HALF_OPEN: u8 = 3;
    /// ... of [`disable`](Self::disable).
    pub(crate) const MANUAL_DISABLE: u8 = 4;
    /// ... of [`metrics_only`](Self::metrics_only).
    pub(crate) const MANUAL_METRICS_ONLY: u8 = 5;

    /// The manual change of code `op` (`MANUAL_*`; an unknown code is
    /// `MANUAL_FORCE_OPEN`), with `arg` for the two with a time limit: the
    /// C API's one path for them all, named by a code rather than passed
    /// as a function pointer, so that every call on it is direct. O(1).
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API calls it
    #[inline(always)]
    pub(crate) fn manual(&mut self, op: u8, arg: u64, now_ms: u64) {
        // One call of `enter_manual` for all (not through `force_open_for`,
        // whose frame would come on top of it), then the time limit.
        let to = match op {
            Self::MANUAL_FORCE_HALF_OPEN => State::HalfOpen,
            Self::MANUAL_DISABLE => State::Disabled,
            Self::MANUAL_METRICS_ONLY => State::MetricsOnly,
            _ => State::ForcedOpen,
        };
        self.enter_manual(to, now_ms);
        match op {
            Self::MANUAL_FORCE_OPEN_FOR => self.limit_forced(arg, now_ms),
            Self::MANUAL_FORCE_OPEN_UNTIL => self.limit_forced(arg.saturating_sub(now_ms), now_ms),
            _ => {}
        }
    }

    fn enter_manual(&mut self, to: State, now_ms: u64) {
        self.refresh(now_ms);
        self.half_open_calls = 0;
        self.ext.new_round();
        self.ext.forced_ms = SplitU64::new(0);
        if self.state == to {
            if to == State::HalfOpen {
                // A new round: the probes out are written off.
                self.ext.probes_since_ms = SplitU64::new(now_ms);
                self.ext.generation = self.ext.generation.wrapping_add(1);
            }
            return;
        }
        if to == State::MetricsOnly {
            self.ext.window = RateWindow::EMPTY;
        }
        self.transition(to, Reason::Manual, Some(now_ms));
    }

    /// The oldest state change not yet taken, for owners of a `Breaker`
    /// who want events (a [`Registry`](crate::Registry) takes them itself
    /// and calls its listener). Up to 5 are kept, as many as one
    /// operation makes; more are counted as dropped. O(1).
    pub fn take_transition(&mut self) -> Option<Transition> {
        if self.ext.pending_len == 0 {
            return None;
        }
        let e = &mut self.ext;
        let first = e
            .pending
            .get(usize::from(e.pending_head))
            .map(|p| p.transition());
        e.pending_len -= 1;
        e.pending_head = if e.pending_len == 0 {
            0
        } else {
            pending_at(e.pending_head, 1) as u8 // < PENDING
        };
        first
    }

    /// Whether state changes wait in [`take_transition`](Self::take_transition).
    #[inline]
    pub(crate) fn has_transitions(&self) -> bool {
        self.ext.pending_len != 0
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
