//! Which lane this thread owns, and giving it back when the thread ends.
//!
//! A thread claims a lane once and keeps it until it exits. The release is
//! registered with a POSIX thread-specific key (`pthread_key_create` with a
//! destructor), not a Rust thread-local destructor: glibc runs key
//! destructors after Rust's thread-local destructors, and a thread whose
//! first fusebox call comes from a key destructor (of the application, or
//! of another library) could no longer register a Rust one, so its lane
//! would be lost for good. A key set during that phase is destroyed in the
//! next round (POSIX allows at least four). Should the key not take the
//! value, the lane is given back at once and the thread keeps to the
//! locked path: no lane is claimed that cannot be released.
#![allow(unsafe_code)]

extern crate std;

use core::cell::Cell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Threads that count without a lock at the same time; later threads
/// take the slot lock until a lane is free again.
pub(crate) const LANES: usize = 8;

/// Bit `i` set: lane `i` has an owner.
static CLAIMED: AtomicU32 = AtomicU32::new(0);
/// No lane yet: claim one at the next operation.
const UNCLAIMED: u8 = u8::MAX;
/// The thread is ending and gave its lane back, or could not register
/// the release: take the locks.
const GONE: u8 = u8::MAX - 1;

std::thread_local! {
    /// The lane index, or `UNCLAIMED` / `GONE`. No destructor, so reading
    /// it is one thread-local load, and it stays readable while key
    /// destructors run.
    static MINE: Cell<u8> = const { Cell::new(UNCLAIMED) };
}

/// The key whose destructor gives a thread's lane back; `None` when the
/// system has no key to spare (then no thread claims a lane).
fn release_key() -> Option<libc::pthread_key_t> {
    static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
    *KEY.get_or_init(|| {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is a valid place for the new key; `release` has the
        // destructor's signature and is sound to call with any value set.
        let r = unsafe { libc::pthread_key_create(&mut key, Some(release)) };
        (r == 0).then_some(key)
    })
}

/// The key's destructor: the ending thread's value is its lane plus one.
unsafe extern "C" fn release(value: *mut c_void) {
    let Some(i) = value.addr().checked_sub(1).filter(|&i| i < LANES) else {
        return;
    };
    // Later calls on this thread (from other destructors) must not write
    // the lane given back.
    let _ = MINE.try_with(|m| m.set(GONE));
    CLAIMED.fetch_and(!(1 << i), Ordering::Release);
}

/// This thread's lane, if it has one.
#[inline(always)]
pub(crate) fn mine() -> Option<usize> {
    let i = usize::from(MINE.try_with(Cell::get).unwrap_or(GONE));
    (i < LANES).then_some(i)
}

/// Claims a lane for a thread that has none (at its first locked
/// operation): `None` when every lane is taken (tried again at its next
/// locked operation), or when the release cannot be registered.
#[cold]
#[inline(never)]
pub(super) fn claim() -> Option<usize> {
    if MINE.try_with(Cell::get).unwrap_or(GONE) != UNCLAIMED {
        return None;
    }
    let Some(key) = release_key() else {
        let _ = MINE.try_with(|m| m.set(GONE));
        return None;
    };
    let mut cur = CLAIMED.load(Ordering::Relaxed);
    let i = loop {
        let free = (!cur).trailing_zeros() as usize;
        if free >= LANES {
            return None;
        }
        match CLAIMED.compare_exchange_weak(
            cur,
            cur | 1 << free,
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => break free,
            Err(now) => cur = now,
        }
    };
    // SAFETY: `key` was created by `pthread_key_create`; the value is a
    // plain integer (lane + 1, never null), only ever read back by
    // `release`.
    let registered =
        unsafe { libc::pthread_setspecific(key, core::ptr::without_provenance::<c_void>(i + 1)) }
            == 0;
    if !registered || MINE.try_with(|m| m.set(i as u8)).is_err() {
        if registered {
            // SAFETY: as above; clears this thread's value.
            unsafe { libc::pthread_setspecific(key, core::ptr::null()) };
        }
        CLAIMED.fetch_and(!(1 << i), Ordering::Release);
        let _ = MINE.try_with(|m| m.set(GONE));
        return None;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::AtomicBool;
    use std::time::{Duration, Instant};

    static KEY_RAN: AtomicBool = AtomicBool::new(false);

    /// A destructor of the application's, in which the thread makes its
    /// first fusebox call.
    unsafe extern "C" fn first_call_here(_: *mut c_void) {
        KEY_RAN.store(true, Ordering::Relaxed);
        let _ = claim();
    }

    /// 1 000 threads whose first call comes from a key destructor (after
    /// Rust's thread-local destructors have run) give their lanes back: a
    /// thread afterwards still gets one.
    #[test]
    fn threads_first_seen_in_key_destructors_give_their_lanes_back() {
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: a valid place; `first_call_here` has the right signature.
        assert_eq!(
            unsafe { libc::pthread_key_create(&mut key, Some(first_call_here)) },
            0
        );
        for _ in 0..125 {
            let threads: std::vec::Vec<_> = (0..8)
                .map(|_| {
                    std::thread::spawn(move || {
                        // SAFETY: `key` is live; any non-null value will do.
                        unsafe {
                            libc::pthread_setspecific(
                                key,
                                core::ptr::NonNull::<c_void>::dangling().as_ptr(),
                            )
                        };
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        assert!(KEY_RAN.load(Ordering::Relaxed));
        // Other tests of this binary may hold lanes for a moment; a lost
        // lane never comes back.
        let got = std::thread::spawn(|| {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if claim().is_some() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
                let _ = MINE.try_with(|m| m.set(UNCLAIMED));
            }
            false
        })
        .join()
        .unwrap();
        assert!(got, "every lane was lost");
    }
}
