//! Admission and outcomes by id: `try_acquire`, `record_success`,
//! `record_failure` and `call`, the one path that the Rust API and the C API
//! share.
//!
//! The time comes either as a reading (`now_ms`) or as a [`Clock`] that is
//! read only when the time matters (the `*_with` methods and `call`): a
//! closed breaker admits a call and counts a success whatever the time, so
//! a healthy breaker's call reads no clock at all. On firmware that
//! saves the clock read and its critical section (a closed
//! `try_acquire` + `record_success` on Cortex-M3: 125 instructions, 311
//! when the clock was read first); a rejection pays one more pass through
//! the slot (the closed check) before it reads the clock, except where the
//! slot is lent out of the critical section (policies): there a clock
//! read by loads (a variable) is read in the same pass.
//!
//! On hosts each method is a lock-free fast path (see [`crate::fast`]),
//! inlined into its caller, and an out-of-line rest.
#![forbid(unsafe_code)]

use super::{RegistryInner, Storage};
use crate::fast::Fast;
#[cfg(feature = "policies")]
use crate::Permit;
use crate::{Breaker, CallError, Clock, Error, Id, State};

impl<S: Storage> RegistryInner<S> {
    /// [`Breaker::try_acquire`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`] when rejected, [`Error::NotFound`] for an
    /// unknown or stale id.
    #[cfg_attr(fusebox_fast, inline)]
    pub fn try_acquire(&self, id: Id, now_ms: u64) -> Result<State, Error> {
        match self.fast().try_acquire(id, Some(now_ms)) {
            Some(r) => r,
            None => self.try_acquire_locked(id, now_ms),
        }
    }

    /// `try_acquire` with the slot locked. Out of line on hosts, so that
    /// the fast path inlines into callers without the slow path's weight.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn try_acquire_locked(&self, id: Id, now_ms: u64) -> Result<State, Error> {
        self.with_breaker(id, |b| {
            // The firmware fast path's rejections counted so far, into the
            // breaker (its count is full after 65 535).
            self.fast().fold(id, b);
            b.try_acquire(now_ms)
        })?
    }

    /// [`try_acquire`](Self::try_acquire) at `clock`'s time, read only when
    /// the breaker is not closed. O(1).
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    #[cfg_attr(fusebox_fast, inline(always))]
    pub fn try_acquire_with(&self, id: Id, clock: &impl Clock) -> Result<State, Error> {
        match self.fast().try_acquire(id, None) {
            Some(r) => r,
            None => self.try_acquire_unless_closed(id, clock),
        }
    }

    /// `try_acquire_with` past the closed fast path (out of line, so that
    /// the closed path needs no stack frame). Hosts: an open breaker
    /// within its published window reads the clock and rejects without
    /// the lock; the reading goes to the lock otherwise (the clock is
    /// read once).
    #[cfg(fusebox_fast)]
    #[inline(never)]
    fn try_acquire_unless_closed(&self, id: Id, clock: &impl Clock) -> Result<State, Error> {
        match self.fast().try_acquire_with(id, clock) {
            Ok(r) => r,
            Err(Some(now_ms)) => self.try_acquire_locked(id, now_ms),
            Err(None) => self.try_acquire_locked_with(id, clock),
        }
    }

    /// Without the fast path: closed by the lock, else at the clock's
    /// time. Where a breaker's bookkeeping runs with interrupts enabled
    /// (firmware with policies: the slot is lent out of the critical
    /// section), a clock read by loads ([`Clock::load_now_ms`]: a
    /// variable) is read in the same pass through the slot, so that a
    /// rejection takes one; any other clock after it, outside the slot.
    /// Where the bookkeeping is masked (the Snakepit core) the clock stays
    /// out of it: its reading would lengthen the critical section.
    #[cfg(not(fusebox_fast))]
    fn try_acquire_unless_closed(&self, id: Id, clock: &impl Clock) -> Result<State, Error> {
        // Firmware with compare-and-swap: an open breaker's published
        // window and a variable clock reject without the slot. A reading
        // taken there is not carried into the slot: an interrupt may have
        // changed the breaker in between, so the slot reads the clock
        // again (at a window's end, or with the fast count full).
        if let Ok(r) = self.fast().try_acquire_with(id, clock) {
            return r;
        }
        if !Self::LENDS_SLOTS {
            return self.try_acquire_locked_with(id, clock);
        }
        let decided = self.with_breaker(id, |b| match b.try_acquire_if_closed() {
            Some(state) => Some(Ok(state)),
            None => {
                // The fast rejections counted so far, into the breaker (the
                // fast path's count is full after 65 535).
                self.fast().fold(id, b);
                clock.load_now_ms().map(|now_ms| b.try_acquire(now_ms))
            }
        })?;
        match decided {
            Some(r) => r,
            None => self.try_acquire(id, clock.now_ms()),
        }
    }

    /// `try_acquire_unless_closed` past the fast path, no reading taken.
    /// Out of line on hosts: the fast rejection needs a small frame, this
    /// path a large one.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn try_acquire_locked_with(&self, id: Id, clock: &impl Clock) -> Result<State, Error> {
        match self.admit_if_closed(id)? {
            Some(state) => Ok(state),
            None => self.try_acquire(id, clock.now_ms()),
        }
    }

    /// A closed breaker's admission, which needs no clock: `Ok(None)`, with
    /// nothing changed, when the breaker is not closed (or measures slow
    /// calls). An open breaker is told by its published mode, unlocked.
    #[inline]
    fn admit_if_closed(&self, id: Id) -> Result<Option<State>, Error> {
        if self.fast().declines_admission(id) {
            return Ok(None);
        }
        self.with_breaker_quiet(id, Breaker::try_acquire_if_closed)
    }

    /// [`Breaker::record_success`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    #[cfg_attr(fusebox_fast, inline)]
    pub fn record_success(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        if self.fast().record_success(id, true) {
            return Ok(());
        }
        self.record_success_locked(id, now_ms)
    }

    #[cfg_attr(fusebox_fast, inline(never))]
    fn record_success_locked(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.record_success(now_ms))
    }

    /// [`record_success`](Self::record_success) at `clock`'s time, read
    /// only when the breaker is not closed. O(1).
    ///
    /// # Errors
    /// As [`record_success`](Self::record_success).
    #[cfg_attr(fusebox_fast, inline(always))]
    pub fn record_success_with(&self, id: Id, clock: &impl Clock) -> Result<(), Error> {
        if self.fast().record_success(id, false) {
            return Ok(());
        }
        self.record_success_unless_closed(id, clock)
    }

    /// `record_success_with` past the closed fast path: a closed breaker
    /// counts the success without the clock, any other at its time.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn record_success_unless_closed(&self, id: Id, clock: &impl Clock) -> Result<(), Error> {
        if !self.fast().declines_success(id)
            && self.with_breaker_quiet(id, Breaker::record_success_if_closed)?
        {
            return Ok(());
        }
        self.record_success(id, clock.now_ms())
    }

    /// [`Breaker::record_failure`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn record_failure(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.record_failure(now_ms))
    }

    /// [`record_failure`](Self::record_failure) at `clock`'s time (a
    /// failure is stamped: the clock is always read). O(1).
    ///
    /// # Errors
    /// As [`record_failure`](Self::record_failure).
    #[cfg_attr(fusebox_fast, inline(never))]
    pub fn record_failure_with(&self, id: Id, clock: &impl Clock) -> Result<(), Error> {
        self.record_failure(id, clock.now_ms())
    }

    /// Runs `op` through the breaker `id`, outside any critical section:
    /// acquire (one critical section), `op`, record (another). The clock is
    /// read, outside them, when the time matters (an open breaker's timeout,
    /// a failure's time), as in [`Breaker::call`]. If the
    /// breaker is removed while `op` runs, the outcome is not recorded and
    /// `op`'s result is still returned. So it is, without `std` with
    /// policies, when the record finds the breaker in another context's
    /// operation ([`Error::Busy`]: possible when `op` lets another thread,
    /// core or task use the breaker, never from an interrupt handler that
    /// preempted `op`): a half-open probe's outcome then stays in flight.
    ///
    /// # Errors
    /// [`CallError::Rejected`] with [`Error::CircuitOpen`],
    /// [`Error::NotFound`] or, without `std` with policies, [`Error::Busy`]
    /// (the op did not run), or [`CallError::Failed`] with the op's own
    /// error.
    #[cfg_attr(fusebox_fast, inline)]
    pub fn call<T, E>(
        &self,
        id: Id,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        // Hosts: a closed breaker runs `op` between two counts made without
        // a lock.
        #[cfg(fusebox_fast)]
        if let Some(admitted) = self.fast().admit_call(id) {
            let result = op();
            if !(result.is_ok() && admitted.succeed()) {
                self.finish_call(id, result.is_ok(), clock);
            }
            return result.map_err(CallError::Failed);
        }
        self.call_locked(id, clock, op)
    }

    /// [`call`](Self::call) through the slot lock.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn call_locked<T, E>(
        &self,
        id: Id,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, CallError<E>> {
        #[cfg(feature = "policies")]
        let timed = self.admit_with(id, clock).map_err(CallError::Rejected)?;
        #[cfg(not(feature = "policies"))]
        self.admit_with(id, clock).map_err(CallError::Rejected)?;
        let result = op();
        #[cfg(feature = "policies")]
        if let Some(permit) = timed {
            // Stale or removed: the op's result stands all the same.
            let outcome = crate::policy::outcome_of(&result);
            let _ = self.complete(id, &permit, outcome, clock.precise_now_ms());
            return result.map_err(CallError::Failed);
        }
        self.finish_call(id, result.is_ok(), clock);
        result.map_err(CallError::Failed)
    }

    /// Records the outcome of an op `call` admitted untimed. A removal
    /// during the op is not the caller's error: its result stands.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn finish_call(&self, id: Id, ok: bool, clock: &impl Clock) {
        let _ = if ok {
            self.record_success_with(id, clock)
        } else {
            self.record_failure_with(id, clock)
        };
    }

    /// `call`'s admission at `clock`'s time: a permit when the breaker
    /// measures slow calls (the closed fast path declines those), so that
    /// its outcome, completing the permit, times the call, as
    /// [`Breaker::call`] does.
    #[cfg(feature = "policies")]
    #[inline]
    fn admit_with(&self, id: Id, clock: &impl Clock) -> Result<Option<Permit>, Error> {
        if self.admit_if_closed(id)?.is_some() {
            return Ok(None);
        }
        // Hosts: an open breaker's rejection needs only `now_ms` (a
        // default C clock's coarse reading); a call that may be timed
        // starts at the precise one.
        #[cfg(fusebox_fast)]
        if let Some(r) = self.fast().try_acquire(id, Some(clock.now_ms())) {
            return r.map(|_| None);
        }
        self.admit_timed(id, clock.precise_now_ms())
    }

    /// Without policies nothing measures slow calls: `call` admits as
    /// [`try_acquire_with`](Self::try_acquire_with) does.
    #[cfg(not(feature = "policies"))]
    #[inline]
    fn admit_with(&self, id: Id, clock: &impl Clock) -> Result<(), Error> {
        self.try_acquire_with(id, clock).map(|_| ())
    }

    /// `admit_with` at `now_ms`. Out of line on hosts: off the closed path.
    #[cfg(feature = "policies")]
    #[cfg_attr(fusebox_fast, inline(never))]
    fn admit_timed(&self, id: Id, now_ms: u64) -> Result<Option<Permit>, Error> {
        // The fast path admits only breakers that do not measure slow calls.
        if let Some(r) = self.fast().try_acquire(id, Some(now_ms)) {
            return r.map(|_| None);
        }
        self.with_breaker(id, |b| {
            if b.measures_slow_calls() {
                b.try_acquire_permit(now_ms).map(Some)
            } else {
                b.try_acquire(now_ms).map(|_| None)
            }
        })?
    }
}
