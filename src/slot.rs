//! The lock around one registry slot.
//!
//! Without `std` (firmware, and every target without compare-and-swap) a
//! slot is reached through a critical section. With `std` each slot has its
//! own lock and sits on its own cache line: operations on different
//! breakers never contend, and no operation by id takes a process-wide lock.
//!
//! The host lock never spins without bound: a waiter spins a bounded
//! number of times, then sleeps in the kernel until the holder releases
//! the lock. A spin lock whose waiter yields instead livelocks under
//! real-time priorities: with two `SCHED_FIFO` threads on one CPU,
//! `sched_yield` returns at once to the higher-priority waiter and the
//! holder never runs again.
//!
//! One implementation is chosen per build:
//! - Linux and Android with `std`: `lock`, a lock of fusebox's own over a
//!   futex, released with a plain store as a spin lock is;
//! - other `std` hosts: std's mutex (a bounded spin, then the platform's
//!   blocking lock);
//! - without `std`: a critical section.
//!
//! A registry placed in caller memory on Linux (`std`) has other slot
//! cells (`robust`, [`PlacedCell`]): the futex lock, and, in a registry
//! shared by processes, a robust pthread mutex before it, which survives
//! a holder's death. The registry's logic reaches either kind through
//! [`SlotAccess`].
//!
//! Unsafe code is denied at the crate root; `lock` (the value behind the
//! lock and two system calls), `robust` (the same over pthread's mutex)
//! and `cs_cell` (the value behind critical sections, lent out of them to
//! write a new occupant) are the modules here that allow it.

#[cfg(all(feature = "std", any(target_os = "linux", target_os = "android")))]
mod lock;

#[cfg(all(feature = "std", any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::lock::Lock;
    use crate::Error;

    /// A value behind its own futex lock, alone on a cache line.
    #[repr(align(64))]
    pub struct SlotCell<T>(Lock<T>);

    impl<T> SlotCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            SlotCell(Lock::new(value))
        }

        /// Runs `f` with the slot locked. The closure is fusebox's own
        /// bookkeeping, never user code. Always inlined: it is the locked
        /// operations' path on hosts.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            Ok(self.0.with(f))
        }
    }
}

#[cfg(all(feature = "std", not(any(target_os = "linux", target_os = "android"))))]
mod imp {
    extern crate std;

    use crate::Error;
    use std::sync::{Mutex, PoisonError};

    /// A value behind std's mutex, alone on a cache line.
    #[repr(align(64))]
    pub struct SlotCell<T>(Mutex<T>);

    impl<T> SlotCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            SlotCell(Mutex::new(value))
        }

        /// Runs `f` with the slot locked. The closure is fusebox's own
        /// bookkeeping, never user code, and does not panic; should it
        /// ever (an unwinding build), the value stays usable as the closure
        /// left it instead of poisoning the slot for good.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            Ok(f(&mut self
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)))
        }
    }
}

#[cfg(not(feature = "std"))]
mod cs_cell;

#[cfg(not(feature = "std"))]
mod imp {
    use super::cs_cell::{Answer, CsCell};
    use crate::Error;

    /// A value reached through a critical section.
    pub struct SlotCell<T>(CsCell<T>);

    impl<T> SlotCell<T> {
        /// Whether [`with_long_if`](Self::with_long_if) lends the value out of
        /// the critical section: yes, interrupts stay enabled meanwhile.
        pub(crate) const LENDS: bool = true;

        pub(crate) const fn new(value: T) -> Self {
            SlotCell(CsCell::new(value))
        }

        /// Runs `f` inside a critical section. `NotFound` while the slot
        /// is being filled ([`fill`](Self::fill): an empty slot, whose ids
        /// are all stale), `Busy` while it is lent to
        /// [`with_long_if`](Self::with_long_if) (or, which fusebox never does,
        /// on re-entry).
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            self.0.with(f)
        }

        /// Runs `f` on an empty slot with interrupts enabled: the writing
        /// of a new occupant, whose time grows with the breaker's size.
        /// Meanwhile every other access to this slot answers `NotFound`.
        pub(crate) fn fill<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            self.0.lend(Answer::NotFound, f)
        }

        /// [`with_long_if`](Self::with_long_if) without a check (unit
        /// tests: a context holding the slot, as a preempted operation
        /// does).
        #[cfg(all(test, feature = "policies"))]
        pub(crate) fn with_long<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            self.0.lend(Answer::Busy, f)
        }

        /// Runs `f`, bookkeeping whose time grows with the breaker's
        /// configuration (policies), with interrupts enabled: masked only
        /// to take the slot (it is given back by one store). Meanwhile every other access to
        /// this slot answers `Busy` (a context that preempted `f`: it
        /// cannot wait for it); `Busy` too if this one preempted another.
        /// Only if `check` (a constant-time look at the value, made in the
        /// critical section that takes the slot) answers `Ok`; its error
        /// otherwise, and the slot is not taken: an operation by a stale
        /// id never makes a `create` or a `remove` of this slot answer
        /// `Busy`.
        #[inline]
        pub(crate) fn with_long_if<R>(
            &self,
            check: impl FnOnce(&T) -> Result<(), Error>,
            f: impl FnOnce(&mut T) -> R,
        ) -> Result<R, Error> {
            self.0.lend_if(Answer::Busy, check, f)
        }
    }
}

use crate::Error;
pub(crate) use imp::SlotCell;

/// The cells of a placed registry's slots: on Linux with `std`
/// (`cfg(fusebox_robust)`, from build.rs), the futex lock, behind a
/// robust pthread mutex in a registry shared by processes (and a robust
/// mutex for its structural lock); elsewhere (and under Miri, which has
/// no robust mutexes) the build's [`SlotCell`].
#[cfg(fusebox_robust)]
mod robust;
#[cfg(not(fusebox_robust))]
pub(crate) use imp::SlotCell as PlacedCell;
#[cfg(fusebox_robust)]
pub(crate) use robust::{Guard as RobustGuard, PlacedCell, RobustMutex};

/// A value whose last writer may have been killed half-way (a process
/// sharing a placed registry): [`recover`](Self::recover) brings it back
/// to a valid state. Called with the value locked, before anyone else
/// sees it.
#[cfg_attr(not(fusebox_robust), allow(dead_code))] // only robust cells call it
pub trait Recover {
    /// Repairs what a writer killed at any instant may have left.
    fn recover(&mut self);
}

/// What the registry's logic asks of a slot's cell, whichever kind the
/// storage has ([`SlotCell`], or [`PlacedCell`] in a placed registry).
pub trait SlotAccess<T> {
    /// Whether [`with_long_if`](Self::with_long_if) lends the value out of
    /// the cell's critical section (firmware) instead of holding a lock.
    const LENDS: bool;
    /// Runs `f` with the value held: fusebox's bookkeeping, never user code.
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error>;
    /// Runs `f` on an empty slot, writing a new occupant.
    fn fill<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error>;
    /// Runs `f`, long bookkeeping, if `check` (a constant-time look)
    /// answers `Ok`; where the cell holds a lock, `check` is not called.
    /// A cell that [`LENDS`](Self::LENDS) always calls it, and keeps what
    /// it checked until `f` returns: the registry's `f` relies on that.
    fn with_long_if<R>(
        &self,
        check: impl FnOnce(&T) -> Result<(), Error>,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error>;
}

impl<T> SlotAccess<T> for SlotCell<T> {
    const LENDS: bool = SlotCell::<T>::LENDS;
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        SlotCell::with(self, f)
    }
    #[inline(always)]
    fn fill<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        SlotCell::fill(self, f)
    }
    #[inline(always)]
    fn with_long_if<R>(
        &self,
        check: impl FnOnce(&T) -> Result<(), Error>,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error> {
        SlotCell::with_long_if(self, check, f)
    }
}

/// The placed cell holds its locks throughout, as the host cells do.
#[cfg(fusebox_robust)]
impl<T: Recover> SlotAccess<T> for PlacedCell<T> {
    const LENDS: bool = false;
    #[inline(always)]
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        PlacedCell::with(self, f)
    }
    #[inline(always)]
    fn fill<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        PlacedCell::with(self, f)
    }
    #[inline(always)]
    fn with_long_if<R>(
        &self,
        _check: impl FnOnce(&T) -> Result<(), Error>,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error> {
        PlacedCell::with(self, f)
    }
}

/// What both host cells (the futex lock and std's mutex) do alike: every
/// access holds the lock.
#[cfg(feature = "std")]
impl<T> SlotCell<T> {
    /// Whether [`with_long_if`](Self::with_long_if) lends the value out of
    /// the lock: no, on hosts it holds the lock throughout.
    pub(crate) const LENDS: bool = false;

    /// [`with`](Self::with): on hosts no interrupt is masked, and writing
    /// a new occupant holds the lock as any operation does.
    #[inline]
    pub(crate) fn fill<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        self.with(f)
    }

    /// [`with`](Self::with), `check` unused: on hosts long bookkeeping
    /// holds the lock as any other does, and `f` looks at the value under
    /// the lock itself.
    #[inline(always)]
    pub(crate) fn with_long_if<R>(
        &self,
        _check: impl FnOnce(&T) -> Result<(), Error>,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error> {
        self.with(f)
    }
}

impl<T> core::fmt::Debug for SlotCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SlotCell")
    }
}

/// What a placed registry's structural lock guards: whether the last
/// holder died during a structural operation (set by [`Recover`]), so
/// that the next one repairs the names first.
#[derive(Debug, Default)]
#[cfg_attr(not(fusebox_robust), allow(dead_code))] // only robust cells hold it
pub(crate) struct Repair {
    pending: bool,
}

impl Recover for Repair {
    fn recover(&mut self) {
        self.pending = true;
    }
}

/// The structural lock of a shared registry: a robust mutex that the
/// processes sharing it take around the names' token.
#[cfg(fusebox_robust)]
pub(crate) type StructLock = RobustMutex<Repair>;

/// The structural lock held, if the storage takes one (a registry shared
/// by processes), beside the names' token; released after it.
#[derive(Debug)]
pub struct Outer<'a> {
    #[cfg(fusebox_robust)]
    guard: Option<RobustGuard<'a, Repair>>,
    #[cfg(not(fusebox_robust))]
    guard: core::marker::PhantomData<&'a ()>,
}

impl<'a> Outer<'a> {
    /// No structural lock: the names' token alone excludes other writers.
    pub(crate) const NONE: Outer<'static> = Outer {
        #[cfg(fusebox_robust)]
        guard: None,
        #[cfg(not(fusebox_robust))]
        guard: core::marker::PhantomData,
    };

    /// Takes `lock` (recovering it from a holder that died).
    ///
    /// # Errors
    /// [`Error::Busy`] when this thread holds it already.
    #[cfg(fusebox_robust)]
    pub(crate) fn lock(lock: &'a StructLock) -> Result<Self, Error> {
        Ok(Outer {
            guard: Some(lock.lock()?),
        })
    }

    /// Whether a structural lock is held: then no other writer exists in
    /// any process, and a token left in the names by a dead one is void.
    pub(crate) fn held(&self) -> bool {
        #[cfg(fusebox_robust)]
        return self.guard.is_some();
        #[cfg(not(fusebox_robust))]
        false
    }

    /// Whether the last holder died mid-operation (once: cleared).
    pub(crate) fn take_repair(&mut self) -> bool {
        #[cfg(fusebox_robust)]
        if let Some(g) = self.guard.as_mut() {
            return core::mem::take(&mut g.pending);
        }
        false
    }
}
