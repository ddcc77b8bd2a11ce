//! The locks of a placed registry on Linux: POSIX mutexes that may live
//! in memory shared by processes (`PTHREAD_PROCESS_SHARED`) and survive
//! the death of the process holding one (`PTHREAD_MUTEX_ROBUST`).
//!
//! Why pthread's mutex for sharing, and not fusebox's own futex lock
//! (`lock.rs`) alone: a lock word cannot say that its holder died. The
//! kernel can, for the locks on a thread's *robust list*: when a thread
//! exits, however it exits (SIGKILL included), the kernel marks each lock
//! on its list `FUTEX_OWNER_DIED` and wakes a waiter, whose
//! `pthread_mutex_lock` then answers `EOWNERDEAD`. glibc and musl keep
//! that list for their robust mutexes; a thread has one list, so fusebox
//! cannot keep its own.
//!
//! The next locker after a death repairs the value ([`Recover`]) and marks
//! the mutex consistent, so that no death ever wedges a lock. The mutexes
//! are error-checking: a thread that locks one it already holds (a signal
//! handler that interrupted a registry call on the same breaker) gets
//! [`Error::Busy`] instead of a deadlock.
//!
//! Two types:
//! - [`RobustMutex`]: a value behind a robust mutex (the structural lock,
//!   taken by create, remove and the restores);
//! - [`PlacedCell`]: a slot. glibc's robust mutex costs about 130
//!   instructions a lock and unlock, where the futex lock costs a few, so
//!   a slot of a registry placed for one process takes the futex lock,
//!   and only a shared registry's slot takes the robust mutex instead.
//!
//! The one module of this build with `unsafe` code besides `lock.rs`: the
//! values behind the mutexes, and the pthread calls.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::ptr;

use super::lock::Lock;
use super::Recover;
use crate::Error;

type RawMutex = UnsafeCell<libc::pthread_mutex_t>;

/// Makes the mutex at `m`: robust, error-checking, shared between
/// processes.
///
/// # Errors
/// [`Error::Unsupported`] when the C library refuses these attributes.
///
/// # Safety
/// `m` is valid for writes, aligned, and not in use by anyone.
unsafe fn init_mutex(m: *mut libc::pthread_mutex_t) -> Result<(), Error> {
    // SAFETY: `attr` is initialised by `pthread_mutexattr_init` before any
    // other use and destroyed after `pthread_mutex_init`; the mutex is
    // written in place at `m`, ours for the call by the contract.
    unsafe {
        let mut attr: libc::pthread_mutexattr_t = core::mem::zeroed();
        if libc::pthread_mutexattr_init(&mut attr) != 0 {
            return Err(Error::Unsupported);
        }
        let ok = libc::pthread_mutexattr_settype(&mut attr, libc::PTHREAD_MUTEX_ERRORCHECK) == 0
            && libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) == 0
            && libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED) == 0
            && libc::pthread_mutex_init(m, &attr) == 0;
        libc::pthread_mutexattr_destroy(&mut attr);
        if ok {
            Ok(())
        } else {
            Err(Error::Unsupported)
        }
    }
}

/// A robust mutex, locked until dropped.
struct Held<'a>(&'a RawMutex);

impl<'a> Held<'a> {
    /// Locks `m`. When its last holder died holding it, `repair` (of
    /// what the mutex guards) runs first, with the mutex held, and the
    /// mutex is then marked consistent: repaired before anyone else can
    /// lock it.
    ///
    /// # Errors
    /// [`Error::Busy`] when this thread holds it already, or when the C
    /// library answers anything else (a mutex it cannot use: never for
    /// one made by [`init_mutex`]).
    #[inline]
    fn lock(m: &'a RawMutex, repair: impl FnOnce()) -> Result<Held<'a>, Error> {
        // SAFETY: the mutex was made by `init_mutex` (the registry's
        // header says so: placed registries are reached only after
        // placing or a checked attach).
        match unsafe { libc::pthread_mutex_lock(m.get()) } {
            0 => Ok(Held(m)),
            libc::EOWNERDEAD => {
                let held = Held(m);
                repair();
                held.consistent();
                Ok(held)
            }
            _ => Err(Error::Busy),
        }
    }

    /// Marks the mutex usable again after its holder died (what it
    /// guards repaired).
    #[cold]
    fn consistent(&self) {
        // SAFETY: this thread holds the mutex (EOWNERDEAD hands it over);
        // only its holder may mark it consistent. It cannot fail then.
        unsafe { libc::pthread_mutex_consistent(self.0.get()) };
    }
}

impl Drop for Held<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this thread holds the mutex.
        unsafe { libc::pthread_mutex_unlock(self.0.get()) };
    }
}

/// A value behind a robust, error-checking pthread mutex, alone on a
/// cache line. Made in place ([`init`](Self::init)) in zeroed memory.
#[repr(C, align(64))]
pub struct RobustMutex<T> {
    mutex: RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached by the thread that holds the mutex
// (through a `Guard`), so sharing it moves exclusive access to `T`
// between threads: `T: Send` suffices, as for `std::sync::Mutex<T>`.
unsafe impl<T: Send> Sync for RobustMutex<T> {}

impl<T: Recover> RobustMutex<T> {
    /// Makes the mutex at `cell`, shared between processes. The value is
    /// left as it is.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the C library refuses the attributes.
    ///
    /// # Safety
    /// `cell` is valid for writes, aligned, and not in use by anyone.
    pub(crate) unsafe fn init(cell: *mut Self) -> Result<(), Error> {
        // SAFETY: the mutex field of a cell ours by the contract.
        unsafe { init_mutex(UnsafeCell::raw_get(ptr::addr_of!((*cell).mutex))) }
    }

    /// Locks it until the guard is dropped. A holder that died is
    /// recovered from here: the value is repaired ([`Recover`]) and the
    /// mutex made consistent before this returns.
    ///
    /// # Errors
    /// [`Error::Busy`] when this thread holds it already.
    pub(crate) fn lock(&self) -> Result<Guard<'_, T>, Error> {
        // SAFETY (the repair): `Held::lock` runs it with the mutex held.
        let held = Held::lock(&self.mutex, || unsafe { &mut *self.value.get() }.recover())?;
        Ok(Guard {
            cell: self,
            _held: held,
        })
    }
}

/// Holds a [`RobustMutex`]; releases it when dropped.
pub struct Guard<'a, T> {
    cell: &'a RobustMutex<T>,
    _held: Held<'a>,
}

impl<T> core::ops::Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard's thread holds the mutex until the guard is
        // dropped; the reference cannot outlive the guard.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T> core::ops::DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`; `&mut self` makes this the only reference.
        unsafe { &mut *self.cell.value.get() }
    }
}

/// A placed registry's slot: its value behind fusebox's futex lock, or,
/// in a registry shared by processes, behind a robust mutex. Made in
/// place ([`init`](Self::init)) in zeroed memory, which is a
/// process-private cell.
#[repr(C, align(64))]
pub struct PlacedCell<T> {
    /// Nonzero in a shared registry: written by `init`, before the
    /// registry has a header (no one reads it meanwhile), never after.
    shared: u32,
    mutex: RawMutex,
    inner: Lock<T>,
}

// SAFETY: the value is reached only through `inner`'s lock (a `Sync`
// lock for `T: Send`); the mutex is pthread's, made for sharing between
// threads, and `shared` is not written once the cell is in use.
unsafe impl<T: Send> Sync for PlacedCell<T> {}

impl<T: Recover> PlacedCell<T> {
    /// Makes the zeroed cell at `cell` (a process-private one) one of a
    /// shared registry, with its robust mutex.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the C library refuses the mutex's
    /// attributes.
    ///
    /// # Safety
    /// `cell` is valid for writes, aligned, zeroed, and not in use.
    pub(crate) unsafe fn init(cell: *mut Self) -> Result<(), Error> {
        // SAFETY: fields of a cell ours by the contract.
        unsafe {
            init_mutex(UnsafeCell::raw_get(ptr::addr_of!((*cell).mutex)))?;
            ptr::addr_of_mut!((*cell).shared).write(1);
        }
        Ok(())
    }

    /// Runs `f` with the value locked: by the futex lock, or in a shared
    /// registry by the robust mutex. A holder of the mutex that died is
    /// recovered from here: the value repaired ([`Recover`]) first.
    ///
    /// # Errors
    /// [`Error::Busy`] when this thread holds the robust mutex already.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        if self.shared == 0 {
            return Ok(self.inner.with(f));
        }
        // In a shared cell the value is reached only here, by the holder
        // of the robust mutex (never through the futex lock).
        let value = self.inner.value_ptr();
        // SAFETY (the repair): `Held::lock` runs it with the mutex held.
        let _held = Held::lock(&self.mutex, || unsafe { &mut *value }.recover())?;
        // SAFETY: this thread holds the mutex, and the reference does not
        // outlive `_held`.
        Ok(f(unsafe { &mut *value }))
    }
}

impl<T> core::fmt::Debug for RobustMutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RobustMutex")
    }
}

impl<T> core::fmt::Debug for PlacedCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PlacedCell")
    }
}

impl<T> core::fmt::Debug for Guard<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Guard")
    }
}
