//! The registry's policy operations (feature `policies`): permits, outcomes
//! with durations, classified calls, retry-after, manual control and the
//! event listener. Each is the [`Breaker`](crate::Breaker) method of the same name, by id,
//! with only the breaker's slot locked.
#![forbid(unsafe_code)]

use super::{RegistryInner, Storage};
use crate::events::{EventQueue, Sink};
use crate::{CallError, Clock, Error, Id, Listener, Outcome, Permit};

/// Policies: permits, manual control, events.
impl<S: Storage> RegistryInner<S> {
    /// [`Breaker::try_acquire_permit`](crate::Breaker::try_acquire_permit) by id. O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`], [`Error::NotFound`].
    pub fn try_acquire_permit(&self, id: Id, now_ms: u64) -> Result<Permit, Error> {
        self.with_breaker(id, |b| b.try_acquire_permit(now_ms))?
    }

    /// [`Breaker::complete`](crate::Breaker::complete) by id. O(1).
    ///
    /// # Errors
    /// [`Error::StalePermit`] (nothing recorded), [`Error::NotFound`].
    pub fn complete(
        &self,
        id: Id,
        permit: &Permit,
        outcome: Outcome,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.with_breaker(id, |b| b.complete(permit, outcome, now_ms))?
    }

    /// [`Breaker::record`](crate::Breaker::record) by id. O(1), or O(buckets) with a time window.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn record(
        &self,
        id: Id,
        outcome: Outcome,
        duration_ms: u64,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.with_breaker(id, |b| b.record(outcome, duration_ms, now_ms))
    }

    /// [`Breaker::retry_after_ms`](crate::Breaker::retry_after_ms) by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn retry_after_ms(&self, id: Id, now_ms: u64) -> Result<Option<u64>, Error> {
        self.with_breaker(id, |b| b.retry_after_ms(now_ms))
    }

    /// [`Breaker::force_open`](crate::Breaker::force_open) by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn force_open(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.force_open(now_ms))
    }

    /// [`Breaker::force_open_for`](crate::Breaker::force_open_for) by id:
    /// forced open for `duration_ms` from `now_ms`, then half-open. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn force_open_for(&self, id: Id, duration_ms: u64, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.force_open_for(duration_ms, now_ms))
    }

    /// [`Breaker::force_open_until`](crate::Breaker::force_open_until) by
    /// id: forced open until the clock reads `until_ms`, then half-open.
    /// O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn force_open_until(&self, id: Id, until_ms: u64, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.force_open_until(until_ms, now_ms))
    }

    /// [`Breaker::force_half_open`](crate::Breaker::force_half_open) by id.
    /// O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn force_half_open(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.force_half_open(now_ms))
    }

    /// [`Breaker::manual`](crate::Breaker::manual) by id (`op` one of
    /// its `MANUAL_*` codes): one path for every manual change, so that
    /// the C API's manual functions share one copy of the locking and
    /// event code (firmware flash). The change is named by a code, not
    /// passed as a function pointer: every call on this path is direct, so
    /// the firmware's stack analysis does not take the listener's indirect
    /// call for a way into the manual changes. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    #[inline(never)]
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API calls it
    pub(crate) fn manual(&self, id: Id, op: u8, arg: u64, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.manual(op, arg, now_ms))
    }

    /// [`Breaker::disable`](crate::Breaker::disable) by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn disable(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.disable(now_ms))
    }

    /// [`Breaker::metrics_only`](crate::Breaker::metrics_only) by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn metrics_only(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.metrics_only(now_ms))
    }

    /// [`Breaker::call_classified`](crate::Breaker::call_classified) by id: acquires a permit, runs `op`
    /// outside every lock, and completes the permit with `classify`'s
    /// verdict. A result that arrives after the breaker moved on (another
    /// thread's probe closed it, it was reset...) is stale: not recorded;
    /// nor, as in [`call`](Self::call), one whose completion finds the
    /// breaker busy (without `std`).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub fn call_classified<T, E>(
        &self,
        id: Id,
        clock: &impl Clock,
        op: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, CallError<E>> {
        let permit = self
            .try_acquire_permit(id, clock.precise_now_ms())
            .map_err(CallError::Rejected)?;
        let result = op();
        let outcome = classify(&result);
        // Stale or removed: the op's result stands all the same.
        let _ = self.complete(id, &permit, outcome, clock.precise_now_ms());
        result.map_err(CallError::Failed)
    }

    /// Sets (or with `None` removes) the listener that receives every
    /// state change of every breaker, in order, one at a time, outside
    /// every lock.
    ///
    /// **Retirement.** When it returns `Ok`, the listener it replaced is
    /// not being called and never will be again: its data may be dropped.
    /// It waits for the one call of the old listener in progress, if any
    /// (as long as that call lasts), and for nothing else.
    ///
    /// **Who waits for what.** An operation that changes no breaker's
    /// state never waits for the listener. One that does returns after its
    /// events were delivered: it delivers them itself, with the events
    /// other threads queued before them (never those queued after), and
    /// if another thread is delivering it waits for it to finish those
    /// first. A change the listener itself causes is delivered by the same
    /// thread after the listener returns. Without `std` (firmware, one
    /// core) nothing waits: an interrupt's events that find a delivery in
    /// progress are delivered by the code it preempted.
    ///
    /// # Errors
    /// [`Error::Busy`], and nothing changes, when the old listener's call
    /// in progress cannot finish first: with `std`, when called from
    /// inside the listener (or from something it calls, on its thread);
    /// without `std`, whenever a listener call is in progress (on one core:
    /// the listener itself, or the code an interrupt preempted).
    /// In a registry shared by processes
    /// ([`PlacedRegistry::place_shared`](crate::PlacedRegistry::place_shared))
    /// the listener is this process's, and hears the state changes this
    /// process's operations make; [`Error::RegistryFull`] when the process
    /// has listeners on 8 other shared registries.
    ///
    /// ```
    /// use core::sync::atomic::{AtomicUsize, Ordering};
    /// use fusebox::{Config, Event, Listener, Registry, State};
    /// static REGISTRY: Registry<2> = Registry::new();
    /// static OPENED: AtomicUsize = AtomicUsize::new(0);
    /// fn on_event(ev: &Event, _data: usize) {
    ///     if ev.transition.to == State::Open {
    ///         OPENED.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    /// REGISTRY.set_listener(Some(Listener { func: on_event, data: 0 })).unwrap();
    /// let id = REGISTRY.create(b"db", Config::default().with_failure_threshold(1)).unwrap();
    /// REGISTRY.record_failure(id, 5).unwrap();
    /// assert_eq!(OPENED.load(Ordering::Relaxed), 1);
    /// ```
    pub fn set_listener(&self, listener: Option<Listener>) -> Result<(), Error> {
        self.set_sink(listener.map(Sink::Rust))
    }

    /// [`set_listener`](Self::set_listener) with any [`Sink`] (the C API's
    /// listener).
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API calls it
    pub(crate) fn set_sink(&self, sink: Option<Sink>) -> Result<(), Error> {
        self.storage.listener_queue()?.set_sink(sink)
    }

    /// Events dropped because the queue
    /// ([`EVENT_QUEUE_LEN`](crate::EVENT_QUEUE_LEN)) was full (wraps). O(1).
    pub fn events_dropped(&self) -> u32 {
        self.events().map_or(0, EventQueue::dropped)
    }
}
