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
//! lock and two system calls) is the one module here that allows it.

#[cfg(all(feature = "std", any(target_os = "linux", target_os = "android")))]
mod lock;

#[cfg(all(feature = "std", any(target_os = "linux", target_os = "android")))]
mod imp {
    use super::lock::Lock;
    use crate::Error;

    /// A value behind its own futex lock, alone on a cache line.
    #[repr(align(64))]
    pub(crate) struct SlotCell<T>(Lock<T>);

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

        /// Locks the slot until the guard is dropped: for holding several
        /// slots at once (always in one order, inside the registry's
        /// critical section).
        pub(crate) fn lock(&self) -> impl core::ops::DerefMut<Target = T> + '_ {
            self.0.lock()
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
    pub(crate) struct SlotCell<T>(Mutex<T>);

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
            Ok(f(&mut self.lock()))
        }

        /// Locks the slot until the guard is dropped: for holding several
        /// slots at once (always in one order, inside the registry's
        /// critical section).
        pub(crate) fn lock(&self) -> impl core::ops::DerefMut<Target = T> + '_ {
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use crate::Error;
    use core::cell::RefCell;
    use critical_section::Mutex;

    /// A value reached through a critical section.
    pub(crate) struct SlotCell<T>(Mutex<RefCell<T>>);

    impl<T> SlotCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            SlotCell(Mutex::new(RefCell::new(value)))
        }

        /// Runs `f` inside a critical section. `Busy` if re-entered, which
        /// fusebox never does (the closure is its own bookkeeping).
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            critical_section::with(|cs| {
                let mut guard = self
                    .0
                    .borrow(cs)
                    .try_borrow_mut()
                    .map_err(|_| Error::Busy)?;
                Ok(f(&mut guard))
            })
        }
    }
}

pub(crate) use imp::SlotCell;

impl<T> core::fmt::Debug for SlotCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SlotCell")
    }
}
