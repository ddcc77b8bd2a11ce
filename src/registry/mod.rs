//! A fixed-capacity registry of named breakers behind `critical-section`,
//! usable as a `static`.
//!
//! One job per file: this one holds the slots and the structural
//! operations (create, lookup, remove) with the simple reads by
//! id; `admission.rs` the admission and outcome paths (`try_acquire`,
//! `record_*`, `call`), `policy.rs` the policy operations,
//! `snapshot.rs` the snapshots of one breaker or of the whole registry and
//! `metrics.rs` the Prometheus exposition, `names.rs` the names (read
//! without a lock) and the structural token.
// `placed.rs` alone allows it: references made from a caller's pointer.
#![deny(unsafe_code)]

#[cfg(feature = "policies")]
use crate::events::EventQueue;
use crate::fast::Fast;
use crate::id::Id;
use crate::slot::{Recover, SlotAccess};
use crate::{Breaker, Clock, Config, Error, State, Stats};

mod admission;
#[cfg(all(test, not(feature = "std"), feature = "policies"))]
mod lent_tests;
#[cfg(all(fusebox_robust, feature = "policies"))]
mod local_events;
mod metrics;
mod names;
mod placed;
#[cfg(feature = "policies")]
mod policy;
#[cfg(all(test, fusebox_robust, feature = "policies"))]
mod shared_tests;
mod snapshot;
mod storage;
mod structure;

pub use metrics::MetricsError;
use names::{NameTable, NameWords, Writer};
pub use storage::{OwnedStorage, PlacedStorage, Storage};

/// Most slots a registry can have: ids keep the slot index in their low
/// [`INDEX_BITS`](Id::INDEX_BITS) bits.
pub const MAX_CAPACITY: usize = 1 << Id::INDEX_BITS;

/// One slot: its breaker when `occupied`, and the id of its current
/// occupant (when empty, of the last one: the next takes the next
/// generation). All-zero when empty, so that a registry is
/// zero-initialised (`.bss`, no flash image).
#[derive(Debug)]
#[repr(C)] // the id check's fields first, next to the slot lock
pub struct Slot {
    /// The raw id as two halves (low, high), so that a slot stays 4-byte
    /// aligned on 32-bit targets; 0 before the first occupant.
    id: [u32; 2],
    occupied: bool,
    breaker: Breaker,
}

/// A slot whose lock's holder died mid-operation (a process sharing a
/// placed registry, killed): an occupant's breaker is restarted closed
/// ([`Breaker::recover`]); an empty slot stays empty (its next occupant
/// is written whole).
impl Recover for Slot {
    fn recover(&mut self) {
        if self.occupied {
            self.breaker.recover();
        }
    }
}

impl Slot {
    const EMPTY: Slot = Slot {
        id: [0; 2],
        occupied: false,
        breaker: Breaker::VACANT,
    };

    /// The id of the current (or last) occupant.
    fn id(&self) -> Id {
        Id::from_raw(u64::from(self.id[1]) << 32 | u64::from(self.id[0]))
    }

    /// The generation of the current occupant's ids (never 0).
    fn id_generation(&self) -> u64 {
        self.id().generation()
    }

    /// Makes the breaker already written in this empty slot, at `index`,
    /// its occupant, under the next generation (back to 1 after 2^52 - 1
    /// occupants of this slot): its id.
    fn occupy(&mut self, index: usize) -> Id {
        let id = Id::new(index, self.id_generation() % Id::GENERATION_MAX + 1);
        let raw = id.to_raw();
        self.id = [raw as u32, (raw >> 32) as u32];
        self.occupied = true;
        id
    }

    /// Empties the slot; its last id stays, for the next generation. The
    /// breaker's bytes stay too (nothing reads an empty slot's breaker, and
    /// the next occupant overwrites them): clearing them would mask
    /// interrupts for a copy as long as the breaker.
    fn vacate(&mut self) {
        self.occupied = false;
    }

    /// The breaker, if `id` is its occupant's: one comparison of the whole
    /// id (index and generation).
    fn get_mut(&mut self, id: Id) -> Result<&mut Breaker, Error> {
        self.holds(id)?;
        Ok(&mut self.breaker)
    }

    /// [`holds`](Self::holds) as a check of one type for every caller (so
    /// that the firmware's slot-taking code exists once, not once per
    /// operation).
    fn held_by(id: Id) -> impl Fn(&Slot) -> Result<(), Error> {
        move |s| s.holds(id)
    }

    /// No check: any slot (`snapshot_all`'s, whose occupants the
    /// structural token keeps).
    fn any(_: &Slot) -> Result<(), Error> {
        Ok(())
    }

    /// `Ok` if `id` is its occupant's, else [`Error::NotFound`].
    #[inline]
    fn holds(&self, id: Id) -> Result<(), Error> {
        let raw = id.to_raw();
        if self.occupied && self.id == [raw as u32, (raw >> 32) as u32] {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}

/// Up to `N` named breakers (`1 <= N <=` [`MAX_CAPACITY`]), shareable between
/// threads and interrupt handlers as a `static`.
///
/// Names are read without a lock: `lookup` masks no interrupt and waits
/// for nothing. Structural methods (create, remove, restores,
/// `snapshot_all`) run one at a time: with the `std` feature a second one
/// meanwhile waits (and answers [`Error::Busy`] only when re-entered on its
/// own thread, from a signal handler); without it (firmware, and hosts
/// built without `std`) it answers `Busy` at once, since it may have
/// preempted the first (an interrupt handler, a higher-priority task) and
/// waiting could never end. They mask interrupts only for
/// constant-time bookkeeping: never the user's operation, never a clock
/// read, never a scan of the names (src/registry/names.rs). Operations
/// by id lock only their breaker's slot: through a critical section by
/// default, through a per-slot lock with the `std` feature (a bounded
/// spin, then a wait in the kernel), so that threads using different
/// breakers never contend. Without `std`, with policies (whose
/// bookkeeping takes hundreds of instructions, more with larger
/// windows), the slot is lent out of the critical section instead:
/// interrupts are masked only to take it (it is given back by one
/// store), and an
/// operation that finds its breaker in another context's operation
/// (one it preempted: an interrupt handler, a higher-priority task, or,
/// on a host without `std`, another thread) answers [`Error::Busy`]
/// having done nothing. Programs that share breakers between threads on
/// a host use `std`, where operations wait instead.
/// With `std`, on targets with 64-bit atomics, operations that only count
/// (a closed breaker's admissions and successes, rejections inside an open
/// window) take no lock at all: each thread counts in a lane of its own,
/// and stats add the lanes (docs/performance.md). That costs 32 bytes
/// per slot plus 16 per slot for each of 8 lanes (2.5 KiB for 16 slots).
/// With policies, an operation that changes a breaker's state also queues
/// the change for the listener under the event queue's own short lock,
/// and delivers it after every lock is released.
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
pub type Registry<const N: usize> = RegistryInner<OwnedStorage<N>>;

/// A registry of breakers in memory the caller chose, with a capacity
/// chosen at run time: see [`RegistryInner::place`]. It behaves as
/// [`Registry`] does, except that every operation takes its breaker's
/// slot (no lock-free fast path: see docs/placed-registries.md).
pub type PlacedRegistry<'a> = RegistryInner<PlacedStorage<'a>>;

/// A registry's logic over its storage `S`: [`Registry<N>`](Registry)
/// (`N` slots of its own) or [`PlacedRegistry`] (slots in caller memory).
/// Every operation is documented here, once for both.
#[derive(Debug)]
pub struct RegistryInner<S: Storage> {
    storage: S,
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
        RegistryInner {
            storage: OwnedStorage::new(),
        }
    }
}

impl<S: Storage> RegistryInner<S> {
    #[inline(always)]
    fn names(&self) -> &NameTable {
        self.storage.names()
    }

    #[inline(always)]
    fn slots(&self) -> &[S::Cell] {
        self.storage.slots()
    }

    #[inline(always)]
    fn fast(&self) -> &S::Fast {
        self.storage.fast()
    }

    /// The listener's queue; `None` in a registry shared by processes.
    #[cfg(feature = "policies")]
    #[inline(always)]
    fn events(&self) -> Option<&EventQueue> {
        self.storage.events()
    }

    /// Whether operations on a breaker run with interrupts enabled: its
    /// slot lent out of the critical section (without `std`, with
    /// policies), so that constant-time reads (a variable clock) may join
    /// them without lengthening any critical section.
    #[cfg(not(fusebox_fast))]
    const LENDS_SLOTS: bool = S::Cell::LENDS && Breaker::LONG_BOOKKEEPING;

    /// The number of slots: `N` for a [`Registry<N>`](Registry), the
    /// capacity it was placed with for a [`PlacedRegistry`].
    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.slots().len()
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
            let slot = self.slots().get(id.index()).ok_or(Error::NotFound)?;
            let mut changed = None;
            let r = Self::access(slot, id, |s| {
                Self::occupant(s, id).map(|b| {
                    self.fast().adopt(id);
                    let r = f(b);
                    self.fast().publish(id, b);
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
            self.fast().publish(id, b);
            r
        })
    }

    /// [`with_breaker`](Self::with_breaker) for operations that cannot
    /// change the state (the closed fast paths, reads): no event handling,
    /// no new mode for the fast path.
    #[cfg_attr(feature = "std", inline(always))]
    #[cfg_attr(not(feature = "std"), inline)]
    fn with_breaker_quiet<R>(&self, id: Id, f: impl FnOnce(&mut Breaker) -> R) -> Result<R, Error> {
        let slot = self.slots().get(id.index()).ok_or(Error::NotFound)?;
        Self::access(slot, id, |s| {
            Self::occupant(s, id).map(|b| {
                self.fast().adopt(id);
                f(b)
            })
        })?
    }

    /// Breaker `id` of `s`, in [`access`](Self::access)'s `f`. Where the
    /// slot is lent, `access` checked the occupant already (masked) and the
    /// slot's flag keeps it until `f` returns: no second look (on firmware
    /// with policies, a rejection is that much shorter). Elsewhere one
    /// comparison of the id.
    #[inline(always)]
    fn occupant(s: &mut Slot, id: Id) -> Result<&mut Breaker, Error> {
        if S::Cell::LENDS && Breaker::LONG_BOOKKEEPING {
            debug_assert!(s.holds(id).is_ok());
            Ok(&mut s.breaker)
        } else {
            s.get_mut(id)
        }
    }

    /// Runs `f` on the slot of breaker `id`: in a critical section when
    /// the build's bookkeeping is short (the Snakepit core); with the
    /// policies, whose bookkeeping is long, lent out of it without `std`
    /// (a context that preempts `f` and reaches this slot answers
    /// [`Error::Busy`]), and only if `id` is the slot's occupant (else
    /// [`Error::NotFound`], the slot not taken: an operation by a stale id
    /// never makes a `create`, `remove` or restore of this slot answer
    /// `Busy`). On hosts with `std`, the slot's lock either way, and `f`
    /// checks the id itself ([`occupant`](Self::occupant)).
    #[cfg_attr(feature = "std", inline(always))]
    #[cfg_attr(not(feature = "std"), inline)]
    fn access<R>(slot: &S::Cell, id: Id, f: impl FnOnce(&mut Slot) -> R) -> Result<R, Error> {
        Self::access_if(slot, Slot::held_by(id), f)
    }

    /// [`access`](Self::access) with the slot taken only if `check` (a
    /// constant-time look at it: masked on firmware) answers `Ok`. With
    /// `std`, or without policies, `check` is not called: `f` looks itself.
    #[cfg_attr(feature = "std", inline(always))]
    #[cfg_attr(not(feature = "std"), inline)]
    fn access_if<R>(
        slot: &S::Cell,
        check: impl FnOnce(&Slot) -> Result<(), Error>,
        f: impl FnOnce(&mut Slot) -> R,
    ) -> Result<R, Error> {
        if Breaker::LONG_BOOKKEEPING {
            slot.with_long_if(check, f)
        } else {
            slot.with(f)
        }
    }

    /// Queues `b`'s state changes (its slot still locked). Out of line:
    /// state changes are rare, and the operations that make none stay small.
    #[cfg(feature = "policies")]
    #[cold]
    #[inline(never)]
    fn queue_transitions(&self, id: Id, b: &mut Breaker) -> Option<u32> {
        match self.events() {
            Some(events) => events.push_all(id, || b.take_transition()),
            None => {
                while b.take_transition().is_some() {}
                None
            }
        }
    }

    /// Delivers queued events (no lock held). Out of line, as above.
    #[cfg(feature = "policies")]
    #[cold]
    #[inline(never)]
    fn deliver_events(&self, last: Option<u32>) {
        if let Some(events) = self.events() {
            events.deliver(last);
        }
    }

    /// Puts the breaker `init` writes in place into a free slot, named
    /// `name`, the structural token held. On error (`init`'s too: the slot
    /// is left empty) nothing has changed.
    fn insert_with(
        &self,
        w: &Writer<'_>,
        name: &NameWords,
        init: impl FnOnce(&mut Breaker) -> Result<(), Error>,
    ) -> Result<Id, Error> {
        if w.table().find(name).is_some() {
            return Err(Error::NameTaken);
        }
        let i = w.free_slot().ok_or(Error::RegistryFull)?;
        let slot = self.slots().get(i).ok_or(Error::RegistryFull)?;
        // The breaker is written into the empty slot with interrupts
        // enabled on firmware (its size grows with the window limits),
        // then made the occupant in a constant critical section.
        slot.fill(|s| init(&mut s.breaker))??;
        let id = slot.with(|s| {
            let id = s.occupy(i);
            self.fast().publish_new(id, &s.breaker);
            id
        })?;
        // The name last: a lookup that finds it finds a live breaker.
        w.set(i, Some(name), id);
        Ok(id)
    }

    /// Adds a closed breaker named `name`. O(N) name comparisons, made
    /// without a lock; interrupts are masked only for a constant time.
    ///
    /// # Errors
    /// [`Error::InvalidName`] (empty or over [`NAME_MAX`](crate::NAME_MAX) bytes),
    /// [`Error::InvalidConfig`], [`Error::NameTaken`], [`Error::RegistryFull`],
    /// [`Error::Busy`] when another structural method is in progress,
    /// without the `std` feature (another context, thread or core; see
    /// the type's docs), or on this thread with it (a signal handler). On
    /// error the registry is unchanged.
    pub fn create(&self, name: &[u8], config: Config) -> Result<Id, Error> {
        let name = NameWords::new(name)?;
        config.validate()?;
        self.check_shareable(&config)?;
        self.insert_with(&self.begin()?, &name, |b| {
            b.init_in_place(config);
            Ok(())
        })
    }

    /// The id of the breaker named `name`. O(N) name comparisons, without
    /// a lock or a critical section. Run during a create or remove of the
    /// same name, it answers as if it ran just before or just after it: an
    /// id found during a remove may already be stale (its operations then
    /// answer [`Error::NotFound`]).
    ///
    /// # Errors
    /// [`Error::InvalidName`] for a name no breaker could have,
    /// [`Error::NotFound`] when none has it.
    pub fn lookup(&self, name: &[u8]) -> Result<Id, Error> {
        let name = NameWords::new(name)?;
        let (_, id) = self.names().find(&name).ok_or(Error::NotFound)?;
        Ok(id)
    }

    /// Removes a breaker; its id (and copies of it) become stale. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id, [`Error::Busy`] as
    /// for [`create`](Self::create), and, without `std` with policies,
    /// while the breaker is in another context's operation (see the
    /// type's docs): the breaker stays.
    pub fn remove(&self, id: Id) -> Result<(), Error> {
        let w = self.begin()?;
        let slot = self.slots().get(id.index()).ok_or(Error::NotFound)?;
        slot.with(|s| {
            s.get_mut(id)?;
            self.fast().clear(id);
            s.vacate();
            Ok(())
        })??;
        w.set(id.index(), None, id);
        Ok(())
    }

    /// Number of breakers in the registry. O(N), without a lock.
    pub fn len(&self) -> usize {
        (0..self.capacity())
            .filter(|&i| self.names().is_named(i))
            .count()
    }

    /// Whether the registry holds no breaker. O(N), without a lock.
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

    /// [`Breaker::reset`] by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn reset(&self, id: Id) -> Result<(), Error> {
        self.with_breaker(id, Breaker::reset)
    }

    /// [`Breaker::stats`] by id: the rate window as of its last record.
    /// O(1) (O(buckets) with a time window).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn stats(&self, id: Id) -> Result<Stats, Error> {
        self.with_breaker_quiet(id, |b| self.fast().stats(id, b, None))
    }

    /// [`Breaker::stats_at`] by id: the rate window as it stands at
    /// `now_ms` (a time window's expired buckets left out). Moves nothing.
    /// O(1) (O(buckets) with a time window).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn stats_at(&self, id: Id, now_ms: u64) -> Result<Stats, Error> {
        self.with_breaker_quiet(id, |b| self.fast().stats(id, b, Some(now_ms)))
    }

    /// [`stats_at`](Self::stats_at) `clock`'s time, read only when the
    /// figures depend on it (a breaker with a time window; otherwise the
    /// stats are the same at any time, and no clock is read). The clock is
    /// read outside the slot's lock, between two short reads of the slot.
    /// O(1) (O(buckets) with a time window).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn stats_with(&self, id: Id, clock: &impl Clock) -> Result<Stats, Error> {
        self.stats_when(id, || Some(clock.now_ms()), |s| s)
    }

    /// [`stats_with`](Self::stats_with) a reading that may be missing
    /// (`now` answers `None`: a C API with no clock yet, which then gets
    /// the stats as of the last record), handing the stats to `then`
    /// (outside every lock), whose answer it returns.
    pub(crate) fn stats_when<R>(
        &self,
        id: Id,
        now: impl FnOnce() -> Option<u64>,
        then: impl FnOnce(Stats) -> R,
    ) -> Result<R, Error> {
        let mut s = Stats::ZERO;
        self.stats_to(id, now, &mut s)?;
        Ok(then(s))
    }

    /// `stats_when` into `out`: the stats of breaker `id`, as of the
    /// reading `now` gives when they age (a time window; `now` runs outside
    /// every lock, between two lookups of the slot), else as of the last
    /// record in one pass, stored field by field into `out` under the
    /// slot's lock (no copy of them in a frame of this path on firmware).
    /// `out` holds the stats on `Ok`; on `Err` it may have been written.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id (also when the
    /// breaker went between the two lookups of a breaker whose stats age).
    pub(crate) fn stats_to(
        &self,
        id: Id,
        now: impl FnOnce() -> Option<u64>,
        out: &mut Stats,
    ) -> Result<(), Error> {
        let ages = self.with_breaker_quiet(id, |b| {
            let ages = b.stats_age();
            if !ages {
                self.stats_of(id, b, None, out);
            }
            ages
        })?;
        if ages {
            let now_ms = now();
            self.with_breaker_quiet(id, |b| self.stats_of(id, b, now_ms, out))?;
        }
        Ok(())
    }

    /// The stats of `b` (the breaker of `id`, its slot locked) with the
    /// fast path's lane counts, as of `now_ms` (see
    /// [`Breaker::stats_at`]), into `out`. Without the fast path (firmware)
    /// stored field by field by `Breaker::stats_into`: no `Stats`
    /// temporary in the caller's frame.
    #[inline(always)]
    fn stats_of(&self, id: Id, b: &Breaker, now_ms: Option<u64>, out: &mut Stats) {
        #[cfg(fusebox_fast)]
        {
            *out = self.fast().stats(id, b, now_ms);
        }
        #[cfg(not(fusebox_fast))]
        {
            b.stats_into(now_ms, out);
            out.rejected_count = out
                .rejected_count
                .wrapping_add(self.fast().pending_rejected(id));
        }
    }

    /// The configuration of a breaker by id. O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id.
    pub fn config(&self, id: Id) -> Result<Config, Error> {
        self.with_breaker_quiet(id, |b| *b.config())
    }

    /// Copies the name of breaker `id` (1 to [`NAME_MAX`](crate::NAME_MAX)
    /// bytes, as given to [`create`](Self::create)) to the start of `buf`
    /// and returns its length; a buffer of `NAME_MAX` bytes always
    /// suffices. `buf` is written only on `Ok`. O(1), without a lock.
    ///
    /// ```
    /// use fusebox::{Config, Registry, NAME_MAX};
    /// static R: Registry<4> = Registry::new();
    /// let id = R.create(b"payments", Config::default()).unwrap();
    /// let mut buf = [0; NAME_MAX];
    /// let len = R.name(id, &mut buf).unwrap();
    /// assert_eq!(&buf[..len], b"payments");
    /// ```
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or stale id,
    /// [`Error::BufferTooSmall`] when `buf` is shorter than the name.
    pub fn name(&self, id: Id, buf: &mut [u8]) -> Result<usize, Error> {
        let name = self.names().read(id.index());
        let name = name.filter(|(_, occupant)| *occupant == id);
        let name = name.ok_or(Error::NotFound)?.0.to_name();
        let out = buf.get_mut(..name.len()).ok_or(Error::BufferTooSmall)?;
        out.copy_from_slice(&name);
        Ok(name.len())
    }

    /// The next breaker after `after` in slot order (`None`: from the
    /// start); `Ok(None)` when there are no more: a walk over every
    /// breaker that holds no lock between its steps, so that the caller's
    /// code between them (formatting, sending) runs outside every lock.
    /// Each step is O(N) lock-free reads at most.
    ///
    /// `after` need not be live: the walk goes on from its slot even if
    /// that breaker was removed meanwhile. During a walk, a breaker that
    /// exists from its start to its end is visited exactly once; one
    /// created during it is visited if it lands in a slot after the walk's
    /// position; one removed during it is visited if the walk reached it
    /// first. A name removed and created again during the walk may
    /// therefore be visited twice (under two ids) or not at all.
    ///
    /// ```
    /// use fusebox::{Config, Registry};
    /// static R: Registry<4> = Registry::new();
    /// let a = R.create(b"a", Config::default()).unwrap();
    /// let b = R.create(b"b", Config::default()).unwrap();
    /// assert_eq!(R.next_id(None), Ok(Some(a)));
    /// assert_eq!(R.next_id(Some(a)), Ok(Some(b)));
    /// assert_eq!(R.next_id(Some(b)), Ok(None));
    /// assert_eq!(R.ids().collect::<Vec<_>>(), [a, b]);
    /// ```
    ///
    /// # Errors
    /// None today: the `Result` keeps room for a registry that can refuse
    /// a walk.
    pub fn next_id(&self, after: Option<Id>) -> Result<Option<Id>, Error> {
        let start = match after {
            None => 0,
            Some(id) => id.index().saturating_add(1),
        };
        Ok(self.names().next_named(start).map(|(_, id)| id))
    }

    /// Every breaker's id, in slot order: [`next_id`](Self::next_id) from
    /// the start, one step per item. What a walk sees of breakers created
    /// or removed meanwhile is described there.
    pub fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        let mut at = None;
        core::iter::from_fn(move || {
            at = Some(self.next_id(at).ok()??);
            at
        })
    }
}

impl<const N: usize> Default for Registry<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;

    /// Test-only: the slot at `index` (empty) hands out generation
    /// `generation` next, as if it had been reused that many times.
    fn age_slot<const N: usize>(r: &Registry<N>, index: usize, generation: u64) {
        let last = Id::new(index, generation - 1).to_raw();
        r.slots()[index]
            .with(|s| {
                assert!(!s.occupied);
                s.id = [last as u32, (last >> 32) as u32];
            })
            .unwrap();
    }

    #[test]
    fn ids_stay_unique_past_20_and_32_bits_of_generation() {
        let r: Registry<1> = Registry::new();
        let mut stale = Vec::new();
        for start in [(1 << 20) - 2, (1 << 32) - 2, Id::GENERATION_MAX - 2] {
            age_slot(&r, 0, start);
            for _ in 0..4 {
                let id = r.create(b"x", Config::default()).unwrap();
                assert!(!stale.contains(&id), "id {:#x} came back", id.to_raw());
                r.record_failure(id, 0).unwrap();
                r.remove(id).unwrap();
                stale.push(id);
            }
        }
        // After the last generation, the slot starts again from 1: the only
        // reuse, after 2^52 - 1 occupants.
        let wrapped = r.create(b"x", Config::default()).unwrap();
        assert_eq!(wrapped.generation(), 2);
        for id in stale.iter().filter(|id| id.generation() != 2) {
            assert_eq!(r.state(*id, 0), Err(Error::NotFound));
            assert_eq!(r.record_failure(*id, 0), Err(Error::NotFound));
        }
        assert_eq!(r.stats(wrapped).unwrap().failure_count, 0);
    }

    /// A thread's counts for a removed breaker (kept in its lane on hosts)
    /// never reach a later breaker in the same slot, however many
    /// generations later it comes.
    #[test]
    fn a_removed_breakers_counts_never_reach_the_next_occupant() {
        let r: Registry<1> = Registry::new();
        let clock = ManualClock::new(0);
        for jump in [1u64 << 20, 1 << 32] {
            let old = r.create(b"x", Config::default()).unwrap();
            // The first operation claims a lane; the rest count in it.
            for _ in 0..1000 {
                r.try_acquire_with(old, &clock).unwrap();
            }
            assert_eq!(r.stats(old).unwrap().admitted_count, 1000);
            r.remove(old).unwrap();
            age_slot(&r, 0, old.generation() + jump);
            let new = r.create(b"x", Config::default()).unwrap();
            assert_eq!(new.generation(), old.generation() + jump);
            for _ in 0..5 {
                r.try_acquire_with(new, &clock).unwrap();
            }
            assert_eq!(r.try_acquire_with(old, &clock), Err(Error::NotFound));
            assert_eq!(r.stats(new).unwrap().admitted_count, 5);
            r.remove(new).unwrap();
        }
    }

    /// A slot's breaker, rewritten in place for its next occupant, is
    /// exactly a new breaker: nothing of the previous one survives.
    #[test]
    fn a_breaker_initialised_in_place_equals_a_new_one() {
        let used = Config::default().with_failure_threshold(2);
        let mut b = crate::Breaker::new(used).unwrap();
        for t in 0..5 {
            let _ = b.try_acquire(t);
            b.record_failure(t);
        }
        b.record_success(100);
        assert_ne!(b, crate::Breaker::new(used).unwrap());
        let next = Config::default().with_reset_timeout_ms(7);
        b.init_in_place(next);
        assert_eq!(b, crate::Breaker::new(next).unwrap());
    }
}
