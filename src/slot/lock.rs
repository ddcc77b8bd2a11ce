//! The slot lock on Linux hosts: a lock whose waiters never spin without
//! bound. The only module of fusebox's host build with `unsafe` code: the
//! value behind the lock, and the two futex system calls.
//!
//! The lock word is `UNLOCKED`, `LOCKED`, or `SLEEPERS` (locked, and a
//! waiter may be asleep). Uncontended, taking the lock is one
//! compare-and-swap and releasing it a load and a plain store, like the
//! spin lock this replaced. std's mutex releases with a swap, a
//! read-modify-write: with it, uncontended locked C API calls took 6 to
//! 11 % more CPU time than with the spin lock, with this lock 4 to 9 %
//! (`fusebox_stats_get`, `fusebox_record_failure`, `fusebox_reset`,
//! measured 2026-12 on a 2-core AMD EPYC VM).
//!
//! A waiter spins [`SPINS`] times, then marks the word `SLEEPERS` and
//! sleeps on it in the kernel (a private futex), so that the holder runs
//! whatever the priorities: a `SCHED_FIFO` waiter on the holder's CPU
//! otherwise never lets it run again. The holder wakes one sleeper when it
//! releases a word it read as `SLEEPERS`. Because the release is a plain
//! store, a waiter that marks the word between the holder's load and its
//! store is not woken: every sleep is therefore bounded by [`NAP_NS`], after
//! which the waiter looks again. That race needs the holder to stall
//! between two adjacent instructions while the waiter enters the kernel;
//! it costs that waiter at most one nap, never a lost lock.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const SLEEPERS: u32 = 2;

/// Loads of the lock word a waiter spins for before it sleeps (std's
/// mutex spins as long). A slot is held for tens of nanoseconds.
const SPINS: u32 = 100;

/// The longest a waiter sleeps before it looks at the lock word again
/// (200 µs): the bound on what a missed wake-up costs.
const NAP_NS: i64 = 200_000;

/// A value behind a lock whose waiters spin a bounded number of times,
/// then sleep in the kernel.
pub(super) struct Lock<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, by the one thread that
// holds the lock, so sharing a `Lock<T>` between threads only ever moves
// exclusive access to `T` from thread to thread: `T: Send` suffices, as for
// `std::sync::Mutex<T>`.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub(super) const fn new(value: T) -> Self {
        Lock {
            state: AtomicU32::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` with the lock held.
    #[inline(always)]
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // Released when dropped: after `f`, or should `f` ever unwind (it
        // is fusebox's bookkeeping and does not panic).
        let mut guard = self.lock();
        f(&mut guard)
    }

    /// Takes the lock until the guard is dropped.
    #[inline(always)]
    pub(super) fn lock(&self) -> Guard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        Guard(self)
    }

    /// The waiter's path: spin a bounded number of times, then sleep until
    /// woken or for at most [`NAP_NS`], and repeat.
    #[cold]
    #[inline(never)]
    fn lock_contended(&self) {
        let mut state = self.spin();
        if state == UNLOCKED {
            match self
                .state
                .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return,
                Err(s) => state = s,
            }
        }
        loop {
            // Mark the word (taking the lock if it was free meanwhile: it
            // is then marked, which costs its release one needless wake).
            if state != SLEEPERS && self.state.swap(SLEEPERS, Acquire) == UNLOCKED {
                return;
            }
            futex::wait(&self.state, SLEEPERS, NAP_NS);
            state = self.spin();
        }
    }

    /// Loads the word until it is not `LOCKED` or [`SPINS`] loads are done.
    fn spin(&self) -> u32 {
        let mut left = SPINS;
        loop {
            let state = self.state.load(Relaxed);
            if state != LOCKED || left == 0 {
                return state;
            }
            core::hint::spin_loop();
            left -= 1;
        }
    }

    /// The value, for a caller whose own exclusion stands for this lock
    /// (robust.rs: a shared registry's slot, reached only by the holder of
    /// its robust mutex, never through [`with`](Self::with)).
    #[cfg(fusebox_robust)]
    #[inline(always)]
    pub(super) fn value_ptr(&self) -> *mut T {
        self.value.get()
    }

    #[inline(always)]
    fn unlock(&self) {
        // Only this thread changes the word from `LOCKED`; waiters may turn
        // it into `SLEEPERS` at any time. See the module docs for a waiter
        // that does so after this load.
        let before = self.state.load(Relaxed);
        self.state.store(UNLOCKED, Release);
        if before == SLEEPERS {
            futex::wake(&self.state);
        }
    }
}

/// Holds the lock; releases it when dropped.
pub(super) struct Guard<'a, T>(&'a Lock<T>);

impl<T> Drop for Guard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<T> core::ops::Deref for Guard<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: this guard's thread holds the lock from `lock` until the
        // guard is dropped; the reference cannot outlive the guard, and no
        // `&mut` to the value exists meanwhile (only through this guard).
        unsafe { &*self.0.value.get() }
    }
}

impl<T> core::ops::DerefMut for Guard<'_, T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as `deref`; `&mut self` makes this the only reference
        // through the guard.
        unsafe { &mut *self.0.value.get() }
    }
}

/// The two futex operations.
mod futex {
    use core::sync::atomic::AtomicU32;

    /// Sleeps while `word` holds `expected`, until woken or for at most
    /// `nap_ns` (below one second). Returns at once if `word` differs; may
    /// return early (signals, spurious wake-ups): the caller looks again.
    #[cold]
    pub(super) fn wait(word: &AtomicU32, expected: u32, nap_ns: i64) {
        // SAFETY: `timespec` is plain data; all zeroes is a valid value
        // (and fills the padding some targets have).
        let mut timeout: libc::timespec = unsafe { core::mem::zeroed() };
        timeout.tv_nsec = nap_ns as _;
        // SAFETY: FUTEX_WAIT reads the 32-bit word at `word.as_ptr()`,
        // which is valid and aligned for the whole call (borrowed from a
        // live `AtomicU32`), and the relative timeout from `timeout`, which
        // lives on this stack frame until the call returns. It writes
        // nothing. Every result (woken, timed out, EAGAIN, EINTR) means
        // "look again", so it is ignored.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                &timeout as *const libc::timespec,
            );
        }
    }

    /// Wakes one thread sleeping on `word`, if any.
    #[cold]
    pub(super) fn wake(word: &AtomicU32) {
        // SAFETY: FUTEX_WAKE only uses `word.as_ptr()` as a key (valid and
        // aligned, borrowed from a live `AtomicU32`); it reads and writes no
        // memory. Its result (how many were woken) is not needed.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1i32,
            );
        }
    }
}
