//! The locks of a placed registry on Linux: POSIX mutexes that may live
//! in memory shared by processes (`PTHREAD_PROCESS_SHARED`) and survive
//! the death of the process holding one (`PTHREAD_MUTEX_ROBUST`).
//!
//! Why pthread's mutex and not fusebox's own futex lock (`lock.rs`): a
//! lock word cannot say that its holder died. The kernel can, for the
//! locks on a thread's *robust list*: when a thread exits, however it
//! exits (SIGKILL included), the kernel marks each lock on its list
//! `FUTEX_OWNER_DIED` and wakes a waiter, whose `pthread_mutex_lock` then
//! answers `EOWNERDEAD`. glibc and musl keep that list for their robust
//! mutexes; a thread has one list, so fusebox cannot keep its own.
//!
//! The next locker after a death repairs the value ([`Recover`]) and marks
//! the mutex consistent, so that no death ever wedges a slot. The mutexes
//! are error-checking: a thread that locks one it already holds (a signal
//! handler that interrupted a registry call on the same breaker) gets
//! [`Error::Busy`] instead of a deadlock.
//!
//! The one module of this build with `unsafe` code besides `lock.rs`: the
//! value behind the mutex, and the pthread calls.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::ptr;

use super::Recover;
use crate::Error;

/// A value behind a robust, error-checking pthread mutex, alone on a
/// cache line. Made in place ([`init`](Self::init)) in zeroed memory.
#[repr(C, align(64))]
pub struct RobustCell<T> {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached by the thread that holds the mutex
// (through a `Guard`), so sharing a cell moves exclusive access to `T`
// between threads: `T: Send` suffices, as for `std::sync::Mutex<T>`.
unsafe impl<T: Send> Sync for RobustCell<T> {}

impl<T: Recover> RobustCell<T> {
    /// Makes the mutex of the cell at `cell`: robust and error-checking,
    /// shared between processes if `shared`. The value is left as it is.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the C library refuses these attributes.
    ///
    /// # Safety
    /// `cell` is valid for writes, aligned, and not in use by anyone (no
    /// other thread or process locks it during the call).
    pub(crate) unsafe fn init(cell: *mut Self, shared: bool) -> Result<(), Error> {
        // SAFETY: `attr` is initialised by `pthread_mutexattr_init` before
        // any other use and destroyed after `pthread_mutex_init`; the
        // mutex is written in place at `cell`, which the contract makes
        // ours for the call.
        unsafe {
            let mut attr: libc::pthread_mutexattr_t = core::mem::zeroed();
            if libc::pthread_mutexattr_init(&mut attr) != 0 {
                return Err(Error::Unsupported);
            }
            let pshared = if shared {
                libc::PTHREAD_PROCESS_SHARED
            } else {
                libc::PTHREAD_PROCESS_PRIVATE
            };
            let ok = libc::pthread_mutexattr_settype(&mut attr, libc::PTHREAD_MUTEX_ERRORCHECK)
                == 0
                && libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) == 0
                && libc::pthread_mutexattr_setpshared(&mut attr, pshared) == 0
                && libc::pthread_mutex_init(
                    UnsafeCell::raw_get(ptr::addr_of!((*cell).mutex)),
                    &attr,
                ) == 0;
            libc::pthread_mutexattr_destroy(&mut attr);
            if ok {
                Ok(())
            } else {
                Err(Error::Unsupported)
            }
        }
    }

    /// Locks the cell until the guard is dropped. A holder that died is
    /// recovered from here: the value is repaired ([`Recover`]) and the
    /// lock made consistent before this returns.
    ///
    /// # Errors
    /// [`Error::Busy`] when this thread holds the lock already (a signal
    /// handler that interrupted it), or when the C library answers
    /// anything else (a mutex it cannot use: never for one made by
    /// [`init`](Self::init)).
    #[inline]
    pub(crate) fn lock(&self) -> Result<Guard<'_, T>, Error> {
        // SAFETY: the mutex was initialised by `init` (the registry's
        // header says so: placed registries are reached only after
        // placing or a checked attach).
        match unsafe { libc::pthread_mutex_lock(self.mutex.get()) } {
            0 => Ok(Guard(self)),
            libc::EOWNERDEAD => Ok(self.recovered()),
            _ => Err(Error::Busy),
        }
    }

    /// The holder died: this thread holds the lock now. Repairs the value,
    /// then marks the lock usable again.
    #[cold]
    #[inline(never)]
    fn recovered(&self) -> Guard<'_, T> {
        let mut guard = Guard(self);
        guard.recover();
        // SAFETY: this thread holds the mutex (EOWNERDEAD hands it over);
        // only its holder may mark it consistent. It cannot fail then.
        unsafe { libc::pthread_mutex_consistent(self.mutex.get()) };
        guard
    }

    /// Runs `f` with the cell locked.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        let mut guard = self.lock()?;
        Ok(f(&mut guard))
    }
}

/// Holds a [`RobustCell`]'s lock; releases it when dropped.
pub struct Guard<'a, T>(&'a RobustCell<T>);

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this guard's thread holds the mutex.
        unsafe { libc::pthread_mutex_unlock(self.0.mutex.get()) };
    }
}

impl<T> core::ops::Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard's thread holds the lock until the guard is
        // dropped; the reference cannot outlive the guard.
        unsafe { &*self.0.value.get() }
    }
}

impl<T> core::ops::DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`; `&mut self` makes this the only reference.
        unsafe { &mut *self.0.value.get() }
    }
}

impl<T> core::fmt::Debug for RobustCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RobustCell")
    }
}

impl<T> core::fmt::Debug for Guard<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Guard")
    }
}
