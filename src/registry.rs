//! A fixed-capacity registry of named breakers behind `critical-section`,
//! usable as a `static`.
#![forbid(unsafe_code)]

use core::cell::RefCell;
use critical_section::Mutex;

use crate::fast::FastPath;
use crate::id::Id;
use crate::name::{to_name, Name};
use crate::slot::SlotCell;
use crate::snapshot::{self, Writer, ALL_OVERHEAD, ENTRY_LEN};
#[cfg(feature = "policies")]
use crate::{events::EventQueue, Listener, Outcome, Permit};
use crate::{Breaker, CallError, Clock, Config, Error, State, Stats};

/// Most slots a registry can have: ids keep the slot index in their low
/// [`INDEX_BITS`](Id::INDEX_BITS) bits.
pub const MAX_CAPACITY: usize = 1 << Id::INDEX_BITS;

/// One slot: its breaker when `occupied`, and the generation of its
/// current (or, when empty, next) occupant. All-zero when empty, so that a
/// registry is zero-initialised (`.bss`, no flash image).
#[derive(Debug)]
#[repr(C)] // the id check's fields first, next to the slot lock
struct Slot {
    /// Stored 0-based; ids carry it plus one, so that no id is 0.
    generation: u32,
    occupied: bool,
    breaker: Breaker,
}

impl Slot {
    const EMPTY: Slot = Slot {
        generation: 0,
        occupied: false,
        breaker: Breaker::VACANT,
    };

    /// The generation ids of the current occupant carry (never 0).
    fn id_generation(&self) -> u32 {
        self.generation + 1
    }

    fn get_mut(&mut self, id: Id) -> Result<&mut Breaker, Error> {
        if self.occupied && self.id_generation() == id.generation() {
            Ok(&mut self.breaker)
        } else {
            Err(Error::NotFound)
        }
    }
}

/// The names of the occupied slots: what create, lookup and remove need,
/// behind the critical section. Operations by id never touch it.
/// An empty name marks a free slot (a breaker's name is never empty).
#[derive(Debug)]
struct Index<const N: usize> {
    names: [Name; N],
}

impl<const N: usize> Index<N> {
    /// The slot of the breaker named `name` (never empty).
    fn find(&self, name: &[u8]) -> Option<usize> {
        self.names
            .iter()
            .position(|n| !n.is_empty() && n.as_slice() == name)
    }

    fn free_slots(&self) -> usize {
        self.names.iter().filter(|n| n.is_empty()).count()
    }
}

/// Up to `N` named breakers (`1 <= N <=` [`MAX_CAPACITY`]), shareable between
/// threads and interrupt handlers as a `static`.
///
/// Structural methods (create, lookup, remove, whole-registry snapshots)
/// take one short critical section that covers only the registry's own
/// bookkeeping: never the user's operation, never a clock read. Operations
/// by id lock only their breaker's slot: through a critical section by
/// default, through a per-slot spin lock with the `std` feature (on
/// with `std`), so that threads using different breakers never contend.
/// With `std`, on targets with 64-bit atomics, operations that only count
/// (a closed breaker's admissions and successes, rejections inside an open
/// window) take no lock at all: each thread counts in a lane of its own,
/// and stats add the lanes (README, "Performance"). That costs 32 bytes
/// per slot plus 16 per slot for each of 8 lanes (2.5 KiB for 16 slots).
/// With policies, an operation that changes a breaker's state also queues
/// the change for the listener under the event queue's own short lock
/// (never the critical section, which create, lookup and remove hold while
/// they lock slots), and delivers it after every lock is released.
/// The library does not pick a `critical-section` implementation: the
/// application does (e.g. `critical-section/std` on hosts).
///
/// Costs: operations by [`Id`] are O(1); `create` and `lookup` are O(N)
/// name comparisons.
///
/// ```
/// use fusebox::{Config, Error, Registry, State};
/// static REGISTRY: Registry<4> = Registry::new();
/// let id = REGISTRY.create(b"db", Config::default().with_failure_threshold(1)).unwrap();
/// assert_eq!(REGISTRY.lookup(b"db"), Ok(id));
/// REGISTRY.record_failure(id, 0).unwrap();
/// assert_eq!(REGISTRY.try_acquire(id, 1), Err(Error::CircuitOpen));
/// REGISTRY.remove(id).unwrap();
/// assert_eq!(REGISTRY.state(id, 2), Err(Error::NotFound));
/// ```
#[derive(Debug)]
pub struct Registry<const N: usize> {
    index: Mutex<RefCell<Index<N>>>,
    slots: [SlotCell<Slot>; N],
    /// With `std`: the operations that only count, without the slot lock.
    fast: FastPath<N>,
    #[cfg(feature = "policies")]
    events: EventQueue,
}

impl<const N: usize> Registry<N> {
    const CAPACITY_OK: () = assert!(
        N >= 1 && N <= MAX_CAPACITY,
        "Registry capacity must be in 1..=4096"
    );

    /// An empty registry; `const`, so it can initialise a `static`.
    /// A capacity outside `1..=MAX_CAPACITY` is a compile-time error.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_OK;
        Self {
            index: Mutex::new(RefCell::new(Index {
                names: [const { Name::new() }; N],
            })),
            slots: [const { SlotCell::new(Slot::EMPTY) }; N],
            fast: FastPath::new(),
            #[cfg(feature = "policies")]
            events: EventQueue::new(),
        }
    }

    /// The number of slots, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Runs `f` on the index inside one critical section: the structural
    /// operations (create, lookup, remove, snapshots of the whole registry).
    fn with_index<R>(&self, f: impl FnOnce(&mut Index<N>) -> Result<R, Error>) -> Result<R, Error> {
        critical_section::with(|cs| {
            let mut index = self
                .index
                .borrow(cs)
                .try_borrow_mut()
                .map_err(|_| Error::Busy)?;
            f(&mut index)
        })
    }

    /// Runs `f` on breaker `id` with only its slot locked.
    /// With policies, the state changes `f` made are queued while the slot
    /// is still locked, and delivered to the listener after it is unlocked.
    /// Inlined on hosts, where it is every operation's hot path.
    #[cfg_attr(feature = "std", inline(always))]
    #[cfg_attr(not(feature = "std"), inline)]
    fn with_breaker<R>(&self, id: Id, f: impl FnOnce(&mut Breaker) -> R) -> Result<R, Error> {
        #[cfg(feature = "policies")]
        {
            let slot = self.slots.get(id.index()).ok_or(Error::NotFound)?;
            let mut changed = None;
            let r = slot.with(|s| {
                s.get_mut(id).map(|b| {
                    self.fast.adopt(id);
                    let r = f(b);
                    self.fast.publish(id, b);
                    if b.has_transitions() {
                        changed = Some(self.queue_transitions(id, b));
                    }
                    r
                })
            })??;
            if let Some(last) = changed {
                self.deliver_events(last);
            }
            Ok(r)
        }
        #[cfg(not(feature = "policies"))]
        self.with_breaker_quiet(id, |b| {
            let r = f(b);
            self.fast.publish(id, b);
            r
        })
    }

    /// [`with_breaker`](Self::with_breaker) for operations that cannot
    /// change the state (the closed fast paths, reads): no event handling,
    /// no new mode for the fast path.
    #[cfg_attr(feature = "std", inline(always))]
    #[cfg_attr(not(feature = "std"), inline)]
    fn with_breaker_quiet<R>(&self, id: Id, f: impl FnOnce(&mut Breaker) -> R) -> Result<R, Error> {
        let slot = self.slots.get(id.index()).ok_or(Error::NotFound)?;
        slot.with(|s| {
            s.get_mut(id).map(|b| {
                self.fast.adopt(id);
                f(b)
            })
        })?
    }

    /// Queues `b`'s state changes (its slot still locked). Out of line:
    /// state changes are rare, and the operations that make none stay small.
    #[cfg(feature = "policies")]
    #[cold]
    #[inline(never)]
    fn queue_transitions(&self, id: Id, b: &mut Breaker) -> Option<u32> {
        self.events.push_all(id, || b.take_transition())
    }

    /// Delivers queued events (no lock held). Out of line, as above.
    #[cfg(feature = "policies")]
    #[cold]
    #[inline(never)]
    fn deliver_events(&self, last: Option<u32>) {
        self.events.deliver(last);
    }

    /// Puts `breaker` named `name` into a free slot. Called inside the
    /// index's critical section; on error nothing has changed.
    fn insert(&self, index: &mut Index<N>, name: Name, breaker: Breaker) -> Result<Id, Error> {
        if index.find(&name).is_some() {
            return Err(Error::NameTaken);
        }
        let i = index
            .names
            .iter()
            .position(|n| n.is_empty())
            .ok_or(Error::RegistryFull)?;
        let (slot, entry) = self
            .slots
            .get(i)
            .zip(index.names.get_mut(i))
            .ok_or(Error::RegistryFull)?;
        let id = slot.with(|s| {
            s.breaker = breaker;
            s.occupied = true;
            let id = Id::new(i, s.id_generation());
            self.fast.publish(id, &s.breaker);
            id
        })?;
        *entry = name;
        Ok(id)
    }

    /// Adds a closed breaker named `name`. O(N).
    ///
    /// # Errors
    /// [`Error::InvalidName`] (empty or over [`NAME_MAX`](crate::NAME_MAX) bytes),
    /// [`Error::InvalidConfig`], [`Error::NameTaken`], [`Error::RegistryFull`].
    /// On error the registry is unchanged.
    pub fn create(&self, name: &[u8], config: Config) -> Result<Id, Error> {
        let name = to_name(name)?;
        let breaker = Breaker::new(config)?;
        self.with_index(|index| self.insert(index, name, breaker))
    }

    /// The id of the breaker named `name`. O(N).
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a name no breaker could have,
    /// [`Error::NotFound`] when none has it.
    pub fn lookup(&self, name: &[u8]) -> Result<Id, Error> {
        let name = to_name(name)?;
        self.with_index(|index| {
            let i = index.find(&name).ok_or(Error::NotFound)?;
            let slot = self.slots.get(i).ok_or(Error::NotFound)?;
            Ok(Id::new(i, slot.with(|s| s.id_generation())?))
        })
    }

    /// Removes a breaker; its id (and copies of it) become stale. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn remove(&self, id: Id) -> Result<(), Error> {
        self.with_index(|index| {
            let (slot, entry) = self
                .slots
                .get(id.index())
                .zip(index.names.get_mut(id.index()))
                .ok_or(Error::NotFound)?;
            slot.with(|s| {
                s.get_mut(id)?;
                self.fast.clear(id);
                *s = Slot {
                    // Wraps after 2^20 - 1 occupants of this slot.
                    generation: if s.id_generation() >= Id::GENERATION_MAX {
                        0
                    } else {
                        s.id_generation()
                    },
                    ..Slot::EMPTY
                };
                Ok(())
            })??;
            *entry = Name::new();
            Ok(())
        })
    }

    /// Number of breakers in the registry. O(N).
    pub fn len(&self) -> usize {
        self.with_index(|index| Ok(N - index.free_slots()))
            .unwrap_or(0)
    }

    /// Whether the registry holds no breaker. O(N).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`Breaker::state`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn state(&self, id: Id, now_ms: u64) -> Result<State, Error> {
        self.with_breaker(id, |b| b.state(now_ms))
    }

    /// [`Breaker::allow_call`] by id: a pure check. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn allow_call(&self, id: Id, now_ms: u64) -> Result<bool, Error> {
        self.with_breaker(id, |b| b.allow_call(now_ms))
    }

    /// [`Breaker::try_acquire`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`] when rejected, [`Error::NotFound`] for an
    /// unknown or stale id.
    #[cfg_attr(fusebox_fast, inline)]
    pub fn try_acquire(&self, id: Id, now_ms: u64) -> Result<State, Error> {
        match self.fast.try_acquire(id, Some(now_ms)) {
            Some(r) => r,
            None => self.try_acquire_locked(id, now_ms),
        }
    }

    /// `try_acquire` with the slot locked. Out of line on hosts, so that
    /// the fast path inlines into callers without the slow path's weight.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn try_acquire_locked(&self, id: Id, now_ms: u64) -> Result<State, Error> {
        self.with_breaker(id, |b| b.try_acquire(now_ms))?
    }

    /// The fast path's `try_acquire` alone (hosts): `None` when it cannot
    /// answer without the lock. With `now_ms` `None`, only a closed
    /// breaker's admission. For the C API, whose exported functions try it
    /// before anything else.
    #[cfg(fusebox_fast)]
    #[inline(always)]
    pub(crate) fn fast_try_acquire(
        &self,
        id: Id,
        now_ms: Option<u64>,
    ) -> Option<Result<State, Error>> {
        self.fast.try_acquire(id, now_ms)
    }

    /// The fast path's admission of a call (hosts): see
    /// [`FastPath::admit_call`].
    #[cfg(fusebox_fast)]
    #[inline(always)]
    pub(crate) fn fast_admit_call(&self, id: Id) -> Option<crate::fast::Admitted<'_>> {
        self.fast.admit_call(id)
    }

    /// The fast path's `record_success` of a closed breaker alone (hosts):
    /// `false` when it cannot take it without the lock.
    #[cfg(fusebox_fast)]
    #[inline(always)]
    pub(crate) fn fast_record_success(&self, id: Id) -> bool {
        self.fast.record_success(id, false)
    }

    /// Whether the published mode says `id`'s breaker is not closed (or
    /// measures slow calls): the caller must read the clock to acquire.
    #[cfg(fusebox_fast)]
    #[inline(always)]
    pub(crate) fn fast_declines_admission(&self, id: Id) -> bool {
        self.fast.declines_admission(id)
    }

    /// `try_acquire` when the breaker is closed, which needs no clock
    /// reading: `Ok(None)`, with nothing changed, when it is not closed.
    #[inline]
    pub(crate) fn try_acquire_if_closed(&self, id: Id) -> Result<Option<State>, Error> {
        match self.fast.try_acquire(id, None) {
            Some(r) => r.map(Some),
            None => self.try_acquire_if_closed_locked(id),
        }
    }

    #[cfg_attr(fusebox_fast, inline(never))]
    #[cfg_attr(not(fusebox_fast), inline)]
    fn try_acquire_if_closed_locked(&self, id: Id) -> Result<Option<State>, Error> {
        // Open, by the published mode: no need to lock to say so.
        if self.fast.declines_admission(id) {
            return Ok(None);
        }
        self.with_breaker_quiet(id, Breaker::try_acquire_if_closed)
    }

    /// `try_acquire` at `now_ms` for a call: a breaker that measures slow
    /// calls hands out a permit (the caller completes it with the outcome,
    /// which times the call), as [`Breaker::call`] does; `None` otherwise.
    #[cfg(feature = "policies")]
    #[inline]
    pub(crate) fn try_acquire_timed(&self, id: Id, now_ms: u64) -> Result<Option<Permit>, Error> {
        // The fast path admits only breakers that do not measure slow calls.
        if let Some(r) = self.fast.try_acquire(id, Some(now_ms)) {
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

    /// `record_success` when the breaker is closed, which needs no clock
    /// reading: `Ok(false)`, with nothing changed, when it is not closed.
    #[inline]
    pub(crate) fn record_success_if_closed(&self, id: Id) -> Result<bool, Error> {
        if self.fast.record_success(id, false) {
            return Ok(true);
        }
        self.record_success_if_closed_locked(id)
    }

    #[cfg_attr(fusebox_fast, inline(never))]
    #[cfg_attr(not(fusebox_fast), inline)]
    fn record_success_if_closed_locked(&self, id: Id) -> Result<bool, Error> {
        if self.fast.declines_success(id) {
            return Ok(false);
        }
        self.with_breaker_quiet(id, Breaker::record_success_if_closed)
    }

    /// [`Breaker::record_success`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    #[cfg_attr(fusebox_fast, inline)]
    pub fn record_success(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        if self.fast.record_success(id, true) {
            return Ok(());
        }
        self.record_success_locked(id, now_ms)
    }

    #[cfg_attr(fusebox_fast, inline(never))]
    fn record_success_locked(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.record_success(now_ms))
    }

    /// [`Breaker::record_failure`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn record_failure(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.record_failure(now_ms))
    }

    /// [`Breaker::reset`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn reset(&self, id: Id) -> Result<(), Error> {
        self.with_breaker(id, Breaker::reset)
    }

    /// [`Breaker::stats`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn stats(&self, id: Id) -> Result<Stats, Error> {
        self.with_breaker_quiet(id, |b| self.fast.stats(id, b))
    }

    /// The configuration of a breaker by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn config(&self, id: Id) -> Result<Config, Error> {
        self.with_breaker_quiet(id, |b| *b.config())
    }

    /// Runs `op` through the breaker `id`, outside any critical section:
    /// acquire (one critical section), `op`, record (another). The clock is
    /// read, outside them, when the time matters (an open breaker's timeout,
    /// a failure's time), as in [`Breaker::call`]. If the breaker is removed
    /// while `op` runs, the outcome is not recorded and `op`'s result is
    /// still returned.
    ///
    /// # Errors
    /// [`CallError::Rejected`] with [`Error::CircuitOpen`] or
    /// [`Error::NotFound`] (the op did not run), or [`CallError::Failed`]
    /// with the op's own error.
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
        if let Some(admitted) = self.fast.admit_call(id) {
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
        // A closed breaker needs no time to admit or to count a success:
        // the clock is read only when the breaker is not closed, or to
        // stamp a failure. The outcome is the same as reading it always.
        #[cfg(feature = "policies")]
        let mut permit = None;
        if self
            .try_acquire_if_closed(id)
            .map_err(CallError::Rejected)?
            .is_none()
        {
            // The closed fast path declines breakers that measure slow
            // calls: this is where they are timed, through a permit, as
            // `Breaker::call` times them.
            #[cfg(feature = "policies")]
            {
                permit = self.admit_timed(id, clock).map_err(CallError::Rejected)?;
            }
            #[cfg(not(feature = "policies"))]
            self.admit_timed(id, clock).map_err(CallError::Rejected)?;
        }
        let result = op();
        #[cfg(feature = "policies")]
        if let Some(permit) = permit {
            self.complete_timed(id, &permit, crate::policy::outcome_of(&result), clock);
            return result.map_err(CallError::Failed);
        }
        self.finish_call(id, result.is_ok(), clock);
        result.map_err(CallError::Failed)
    }

    /// Records the outcome of an op `call` admitted untimed: a closed
    /// breaker's success without the clock, anything else at its time. A
    /// removal during the op is not the caller's error: its result stands.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn finish_call(&self, id: Id, ok: bool, clock: &impl Clock) {
        let counted = ok && !matches!(self.record_success_if_closed(id), Ok(false));
        if !counted {
            self.record_call_outcome(id, ok, clock);
        }
    }

    // `call`'s steps beyond a closed breaker's: out of line on hosts, so
    // that the closed path inlines small.

    /// Admits a call at the clock's time: a permit when the breaker
    /// measures slow calls.
    #[cfg(feature = "policies")]
    #[cfg_attr(fusebox_fast, inline(never))]
    fn admit_timed(&self, id: Id, clock: &impl Clock) -> Result<Option<Permit>, Error> {
        self.try_acquire_timed(id, clock.now_ms())
    }

    #[cfg(not(feature = "policies"))]
    #[cfg_attr(fusebox_fast, inline(never))]
    fn admit_timed(&self, id: Id, clock: &impl Clock) -> Result<State, Error> {
        self.try_acquire(id, clock.now_ms())
    }

    /// Completes a timed call's permit (stale or removed: not recorded).
    #[cfg(feature = "policies")]
    #[cfg_attr(fusebox_fast, inline(never))]
    fn complete_timed(&self, id: Id, permit: &Permit, outcome: Outcome, clock: &impl Clock) {
        let _ = self.complete(id, permit, outcome, clock.now_ms());
    }

    /// Records a call's outcome at the clock's time.
    #[cfg_attr(fusebox_fast, inline(never))]
    fn record_call_outcome(&self, id: Id, ok: bool, clock: &impl Clock) {
        let now = clock.now_ms();
        let _ = if ok {
            self.record_success(id, now)
        } else {
            self.record_failure(id, now)
        };
    }
}

/// Policies (feature `policies`): permits, manual control, events.
#[cfg(feature = "policies")]
impl<const N: usize> Registry<N> {
    /// [`Breaker::try_acquire_permit`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::CircuitOpen`], [`Error::NotFound`].
    pub fn try_acquire_permit(&self, id: Id, now_ms: u64) -> Result<Permit, Error> {
        self.with_breaker(id, |b| b.try_acquire_permit(now_ms))?
    }

    /// [`Breaker::complete`] by id. O(1).
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

    /// [`Breaker::record`] by id. O(1), or O(buckets) with a time window.
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

    /// [`Breaker::retry_after_ms`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn retry_after_ms(&self, id: Id, now_ms: u64) -> Result<Option<u64>, Error> {
        self.with_breaker(id, |b| b.retry_after_ms(now_ms))
    }

    /// [`Breaker::force_open`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn force_open(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.force_open(now_ms))
    }

    /// [`Breaker::disable`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn disable(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.disable(now_ms))
    }

    /// [`Breaker::metrics_only`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn metrics_only(&self, id: Id, now_ms: u64) -> Result<(), Error> {
        self.with_breaker(id, |b| b.metrics_only(now_ms))
    }

    /// [`Breaker::call_classified`] by id: acquires a permit, runs `op`
    /// outside every lock, and completes the permit with `classify`'s
    /// verdict. A result that arrives after the breaker moved on (another
    /// thread's probe closed it, it was reset...) is stale: not recorded.
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
            .try_acquire_permit(id, clock.now_ms())
            .map_err(CallError::Rejected)?;
        let result = op();
        let outcome = classify(&result);
        // Stale or removed: the op's result stands all the same.
        let _ = self.complete(id, &permit, outcome, clock.now_ms());
        result.map_err(CallError::Failed)
    }

    /// Sets (or with `None` removes) the listener that receives every
    /// state change of every breaker, in order, outside every lock. O(1).
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
    /// REGISTRY.set_listener(Some(Listener { func: on_event, data: 0 }));
    /// let id = REGISTRY.create(b"db", Config::default().with_failure_threshold(1)).unwrap();
    /// REGISTRY.record_failure(id, 5).unwrap();
    /// assert_eq!(OPENED.load(Ordering::Relaxed), 1);
    /// ```
    pub fn set_listener(&self, listener: Option<Listener>) {
        self.events.set_listener(listener);
    }

    /// Events dropped because the queue
    /// ([`EVENT_QUEUE_LEN`](crate::EVENT_QUEUE_LEN)) was full (wraps). O(1).
    pub fn events_dropped(&self) -> u32 {
        self.events.dropped()
    }
}

/// Snapshots (see the [`snapshot`](crate::snapshot) module for the format).
impl<const N: usize> Registry<N> {
    /// Worst-case size of [`snapshot_all`](Self::snapshot_all)'s blob for
    /// this capacity, in bytes.
    pub const SNAPSHOT_ALL_MAX: usize = ALL_OVERHEAD + N * ENTRY_LEN;

    /// Writes breaker `id`'s snapshot, taken at `now_ms`, to the start of
    /// `buf`; returns its length, [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN). O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::BufferTooSmall`].
    pub fn snapshot(&self, id: Id, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.with_breaker(id, |b| {
            self.fast
                .with_counts(id, b, |b| snapshot::snapshot(b, now_ms, buf))
        })?
    }

    /// Creates breaker `name` from a snapshot, on a clock now reading
    /// `now_ms`: an open breaker stays open for the time it had left.
    /// `config` must be the one the snapshot was taken with. O(N).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (truncated, wrong magic, bad CRC, impossible
    /// counters), [`Error::SnapshotVersion`], [`Error::ConfigMismatch`], and
    /// those of [`create`](Self::create). On error the registry is unchanged.
    pub fn restore(
        &self,
        name: &[u8],
        config: Config,
        blob: &[u8],
        now_ms: u64,
    ) -> Result<Id, Error> {
        let name = to_name(name)?;
        let breaker = snapshot::restore(config, blob, now_ms)?;
        self.with_index(|index| self.insert(index, name, breaker))
    }

    /// Writes every breaker (names, configs, states) taken at `now_ms` into
    /// `buf`, in one critical section; returns the length written (at most
    /// [`SNAPSHOT_ALL_MAX`](Self::SNAPSHOT_ALL_MAX)). O(N).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Unsupported`] (a breaker with a
    /// non-default policy or in a manual state: see
    /// [`Breaker::snapshot`]).
    pub fn snapshot_all(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.with_index(|index| {
            let count = N - index.free_slots();
            let count = u16::try_from(count).map_err(|_| Error::BufferTooSmall)?;
            let mut w = Writer::new(buf);
            snapshot::write_all_header(&mut w, count);
            for (i, (name, slot)) in index.names.iter().zip(&self.slots).enumerate() {
                if !name.is_empty() {
                    slot.with(|s| {
                        s.breaker.check_snapshottable()?;
                        let id = Id::new(i, s.id_generation());
                        self.fast.with_counts(id, &s.breaker, |b| {
                            snapshot::write_entry(&mut w, name, b, now_ms)
                        });
                        Ok::<(), Error>(())
                    })??;
                }
            }
            w.finish_with_crc()
        })
    }

    /// Restores every breaker of a [`snapshot_all`](Self::snapshot_all)
    /// blob on a clock now reading `now_ms`; returns how many. All or
    /// nothing: the blob is checked whole first, then every breaker is
    /// added in one critical section. O(count × N).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`], [`Error::SnapshotVersion`], [`Error::NameTaken`]
    /// (a name in the blob twice, or already in the registry),
    /// [`Error::RegistryFull`] (not enough free slots for all). On error the
    /// registry is unchanged.
    pub fn restore_all(&self, blob: &[u8], now_ms: u64) -> Result<usize, Error> {
        let (count, entries) = snapshot::read_all_header(blob)?;
        // Pass 1, outside the critical section: every entry decodes, and no
        // name appears twice in the blob.
        let mut r = entries.clone_reader();
        for i in 0..count {
            let (name, one) = snapshot::read_entry(&mut r)?;
            snapshot::restore_entry(&one, now_ms)?;
            let mut earlier = entries.clone_reader();
            for _ in 0..i {
                if snapshot::read_entry(&mut earlier)?.0 == name {
                    return Err(Error::NameTaken);
                }
            }
        }
        // Pass 2, one critical section: names, then room (as `create`
        // checks them), then insert all.
        self.with_index(|index| {
            let mut r = entries.clone_reader();
            for _ in 0..count {
                if index.find(&snapshot::read_entry(&mut r)?.0).is_some() {
                    return Err(Error::NameTaken);
                }
            }
            if index.free_slots() < count {
                return Err(Error::RegistryFull);
            }
            let mut r = entries.clone_reader();
            for _ in 0..count {
                let (name, one) = snapshot::read_entry(&mut r)?;
                self.insert(index, name, snapshot::restore_entry(&one, now_ms)?)?;
            }
            Ok(count)
        })
    }
}

impl<const N: usize> Default for Registry<N> {
    fn default() -> Self {
        Self::new()
    }
}
