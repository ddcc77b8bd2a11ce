//! The C API's default clock on hosts (feature `std`), used until the
//! application sets one.
//!
//! Two readings of one timeline, `CLOCK_MONOTONIC`, in milliseconds since
//! boot:
//! - [`coarse_ms`], for everything that only compares a reading with a
//!   window (an open breaker's rejection, a timeout, a failure's stamp):
//!   `CLOCK_MONOTONIC_COARSE` on Linux, the time of the last scheduler
//!   tick, read from the vDSO without touching the hardware counter. Its
//!   resolution is one jiffy (1 to 4 ms, `CONFIG_HZ`: `clock_getres` tells), so
//!   a timeout may end up to one jiffy late.
//! - [`precise_ms`], where a duration is measured (a slow call's start and
//!   end, a permit's): `CLOCK_MONOTONIC`, to the millisecond.
//!
//! Elsewhere (unix without a coarse clock) both are `CLOCK_MONOTONIC`;
//! off unix both are [`StdClock`](crate::StdClock).
//!
//! **Never backwards.** The coarse clock lags the precise one by up to a
//! jiffy, so a coarse reading taken after a precise one could be earlier.
//! Every reading is therefore clamped to the latest reading handed out
//! ([`LAST`]): the readings a thread takes never decrease, and neither do
//! readings ordered across threads (by a lock, or a breaker's state), so a
//! measured duration is never negative. The clamp costs one load of a line
//! written at most once a millisecond.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicU64, Ordering};

/// The latest reading handed out, in ms.
static LAST: AtomicU64 = AtomicU64::new(0);

/// `raw`, or the latest reading handed out if that is later.
#[inline(always)]
fn clamped(raw: u64) -> u64 {
    let last = LAST.load(Ordering::Relaxed);
    if raw > last {
        // Relaxed: a reader ordered after this one (by a lock, a release
        // store...) loads LAST after this write, by coherence.
        LAST.fetch_max(raw, Ordering::Relaxed);
        raw
    } else {
        last
    }
}

/// The coarse reading, clamped: for comparisons with a window.
#[inline]
pub(super) fn coarse_ms() -> u64 {
    clamped(raw::coarse())
}

/// The precise reading, clamped: for a duration's ends.
#[inline]
pub(super) fn precise_ms() -> u64 {
    clamped(raw::precise())
}

#[cfg(unix)]
mod raw {
    use core::mem::MaybeUninit;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const COARSE: libc::clockid_t = libc::CLOCK_MONOTONIC_COARSE;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const COARSE: libc::clockid_t = libc::CLOCK_MONOTONIC;

    /// Milliseconds of clock `id`; 0 if it cannot be read (never, for
    /// these clocks; the clamp then answers the latest reading).
    #[inline(always)]
    fn read(id: libc::clockid_t) -> u64 {
        let mut ts = MaybeUninit::<libc::timespec>::uninit();
        // SAFETY: `ts` is a valid place for a timespec.
        if unsafe { libc::clock_gettime(id, ts.as_mut_ptr()) } != 0 {
            return 0;
        }
        // SAFETY: clock_gettime returned 0: it wrote `ts`.
        let ts = unsafe { ts.assume_init() };
        let s = u64::try_from(ts.tv_sec).unwrap_or(0);
        let ns = u64::try_from(ts.tv_nsec).unwrap_or(0);
        s.wrapping_mul(1_000).wrapping_add(ns / 1_000_000)
    }

    #[inline(always)]
    pub(super) fn coarse() -> u64 {
        read(COARSE)
    }

    #[inline(always)]
    pub(super) fn precise() -> u64 {
        read(libc::CLOCK_MONOTONIC)
    }
}

#[cfg(not(unix))]
mod raw {
    #[inline(always)]
    pub(super) fn coarse() -> u64 {
        crate::StdClock::now()
    }

    #[inline(always)]
    pub(super) fn precise() -> u64 {
        crate::StdClock::now()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// Coarse and precise readings, interleaved, never decrease; without
    /// the clamp the coarse reading after a precise one is earlier in
    /// most rounds (it lags by up to a jiffy).
    #[test]
    fn readings_never_go_back_across_the_two_clocks() {
        let mut prev = 0;
        let mut lagged = 0u32;
        for i in 0..200_000u32 {
            let p = precise_ms();
            let c = coarse_ms();
            if raw::coarse() < p {
                lagged += 1;
            }
            assert!(p >= prev, "precise {p} after {prev} (round {i})");
            assert!(c >= p, "coarse {c} after precise {p} (round {i})");
            prev = c;
        }
        // The test exercises the clamp only if the raw clocks disagree.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert!(lagged > 0, "the coarse clock never lagged the precise one");
    }

    /// Readings ordered across threads (here by a join) never decrease.
    #[test]
    fn readings_never_go_back_across_threads() {
        for _ in 0..50 {
            let p = std::thread::spawn(precise_ms).join().unwrap();
            let c = coarse_ms();
            assert!(
                c >= p,
                "coarse {c} on one thread after precise {p} on another"
            );
        }
    }

    /// Milliseconds, on one timeline: the two raw readings agree within a
    /// jiffy or so (a precise clock in ns would be a million times off).
    #[test]
    fn both_clocks_are_milliseconds_of_one_timeline() {
        let (c, p) = (raw::coarse(), raw::precise());
        assert!(p >= c && p - c < 100, "coarse {c}, precise {p}");
    }
}
