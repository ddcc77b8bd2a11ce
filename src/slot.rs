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
//! Unsafe code is denied at the crate root; `lock` (the value behind the
//! lock and two system calls) and `cs_cell` (the value behind critical
//! sections, lent out of them to write a new occupant) are the modules
//! here that allow it, one per build.

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
    use super::cs_cell::CsCell;
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
            self.0.lend(Error::NotFound, f)
        }

        /// [`with_long_if`](Self::with_long_if) without a check (unit
        /// tests: a context holding the slot, as a preempted operation
        /// does).
        #[cfg(all(test, feature = "policies"))]
        pub(crate) fn with_long<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            self.0.lend(Error::Busy, f)
        }

        /// Runs `f`, bookkeeping whose time grows with the breaker's
        /// configuration (policies), with interrupts enabled: masked only
        /// to take and give back the slot. Meanwhile every other access to
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
            self.0.lend_if(Error::Busy, check, f)
        }
    }
}

#[cfg(feature = "std")]
use crate::Error;
pub(crate) use imp::SlotCell;

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
