//! The application's clock: its publication (`fusebox_set_clock`,
//! `fusebox_set_clock32`), its reading (`fusebox_now_ms`), and [`CClock`],
//! the [`Clock`] the C API hands to the registry.
//!
//! The clock (which kind, its function and its userdata) is published
//! through a sequence lock, so that reading it (on every call that needs
//! time) takes no lock at all. Writers (`fusebox_set_clock*`, rare) are
//! serialised by a critical section; a reader retries while a write is in
//! flight. Atomic loads and stores only: thumbv6m has them too.
//!
//! With `std` a default clock (`CLOCK_MONOTONIC`) stands in until one is
//! set. Without it there is no clock until the application sets one, and
//! calls that need time answer `FUSEBOX_NO_CLOCK`: [`clock`] says so up
//! front, without reading the clock. A clock once set is never unset (a NULL function is refused), so
//! a [`CClock`] that [`clock`] handed out can always be read.

use core::cell::Cell;
use core::ffi::c_void;
use core::sync::atomic::{fence, AtomicPtr, AtomicU32, Ordering};
use critical_section::Mutex;

use super::convert::status_of;
use super::types::{
    fusebox_clock32_fn, fusebox_clock_fn, fusebox_status, FUSEBOX_NO_CLOCK, FUSEBOX_OK,
};
use crate::{Clock, Error, Tick32State};

const UNSET: u32 = 0;
const MS64: u32 = 1;
const TICK32: u32 = 2;

static SEQ: AtomicU32 = AtomicU32::new(0);
static KIND: AtomicU32 = AtomicU32::new(UNSET);
static FUNC: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
static USERDATA: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// The 32-bit tick's extension to 64 bits.
static TICK32_STATE: Mutex<Cell<Tick32State>> = Mutex::new(Cell::new(Tick32State::new()));

/// Publishes a clock. Must run inside a critical section (one writer).
fn publish(kind: u32, func: *mut (), userdata: *mut c_void) {
    let seq = SEQ.load(Ordering::Relaxed);
    SEQ.store(seq.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    KIND.store(kind, Ordering::Relaxed);
    FUNC.store(func, Ordering::Relaxed);
    USERDATA.store(userdata, Ordering::Relaxed);
    SEQ.store(seq.wrapping_add(2), Ordering::Release);
}

/// A consistent (kind, function, userdata) triple.
#[inline]
fn read() -> (u32, *mut (), *mut c_void) {
    loop {
        let before = SEQ.load(Ordering::Acquire);
        if before & 1 == 0 {
            let triple = (
                KIND.load(Ordering::Relaxed),
                FUNC.load(Ordering::Relaxed),
                USERDATA.load(Ordering::Relaxed),
            );
            fence(Ordering::Acquire);
            if SEQ.load(Ordering::Relaxed) == before {
                return triple;
            }
        }
        core::hint::spin_loop();
    }
}

/// Reads the application's clock. The callback runs outside any critical
/// section; only the 32-bit extension bookkeeping runs inside one.
pub(super) fn now_ms() -> Result<u64, fusebox_status> {
    let (kind, func, userdata) = read();
    if func.is_null() {
        return default_now_ms();
    }
    if kind == TICK32 {
        // SAFETY: published from a non-NULL `fusebox_clock32_fn` of this
        // exact type by `fusebox_set_clock32`.
        let f: unsafe extern "C" fn(*mut c_void) -> u32 = unsafe { core::mem::transmute(func) };
        // SAFETY: the application registered `f` with `userdata`.
        let raw = unsafe { f(userdata) };
        return Ok(critical_section::with(|cs| {
            let cell = TICK32_STATE.borrow(cs);
            let mut st = cell.get();
            let now = st.extend(raw);
            cell.set(st);
            now
        }));
    }
    // SAFETY: published from a non-NULL `fusebox_clock_fn` of this exact
    // type by `fusebox_set_clock` (the only other kind).
    let f: unsafe extern "C" fn(*mut c_void) -> u64 = unsafe { core::mem::transmute(func) };
    // SAFETY: the application registered `f` with `userdata`.
    Ok(unsafe { f(userdata) })
}

#[cfg(feature = "std")]
fn default_now_ms() -> Result<u64, fusebox_status> {
    extern crate std;
    use std::sync::OnceLock;
    use std::time::Instant;
    // Instant is CLOCK_MONOTONIC on Linux; the epoch is the first reading.
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    Ok(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(not(feature = "std"))]
fn default_now_ms() -> Result<u64, fusebox_status> {
    Err(FUSEBOX_NO_CLOCK)
}

/// The C API's clock, as the registry reads it (only when it needs the
/// time). Get one from [`clock`], which checks that it can be read.
#[derive(Debug)]
pub(super) struct CClock(());

impl Clock for CClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        // `clock` checked that a clock can be read, and once one can, it
        // always can: the 0 is never returned.
        now_ms().unwrap_or(0)
    }
}

/// The clock, or `FUSEBOX_NO_CLOCK` when none can be read (no clock set and
/// no `std` default), without reading it. With `std` it is always there.
#[inline]
pub(super) fn clock() -> Result<CClock, fusebox_status> {
    if cfg!(feature = "std") || is_set() {
        Ok(CClock(()))
    } else {
        Err(FUSEBOX_NO_CLOCK)
    }
}

/// Whether the application has set a clock. One load, no sequence lock:
/// only the function's presence is asked, and a clock once set stays set.
#[inline]
fn is_set() -> bool {
    !FUNC.load(Ordering::Acquire).is_null()
}

/// Runs `f` at the current clock reading (the calls that always need the
/// time).
pub(super) fn with_time<T>(f: impl FnOnce(u64) -> Result<T, Error>) -> Result<T, fusebox_status> {
    let now = now_ms()?;
    f(now).map_err(status_of)
}

/// Sets the clock every breaker reads: `now_ms(userdata)` returns monotonic
/// milliseconds. It is called outside fusebox's critical sections, from
/// whichever thread calls fusebox, and must not fail.
/// Without the `std` feature there is no default clock and calls that need
/// time return `FUSEBOX_NO_CLOCK` until one is set.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL (the clock is kept).
#[no_mangle]
pub extern "C" fn fusebox_set_clock(
    now_ms: fusebox_clock_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let f = try_fn!(now_ms);
    critical_section::with(|_| publish(MS64, f as *mut (), userdata));
    FUSEBOX_OK
}

/// Sets a wrapping 32-bit millisecond tick (e.g. `HAL_GetTick`) as the
/// clock. fusebox extends it to 64 bits, across wraps, as long as it is read
/// at least once every 2^31 ms (24.8 days). The first reading is taken as is.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL (the clock is kept).
#[no_mangle]
pub extern "C" fn fusebox_set_clock32(
    now_ms: fusebox_clock32_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let f = try_fn!(now_ms);
    critical_section::with(|cs| {
        TICK32_STATE.borrow(cs).set(Tick32State::new());
        publish(TICK32, f as *mut (), userdata);
    });
    FUSEBOX_OK
}

/// Reads the clock fusebox uses into `*out_ms`.
///
/// # Safety
/// `out_ms` is NULL or points to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_now_ms(out_ms: *mut u64) -> fusebox_status {
    non_null!(out_ms);
    let now = try_status!(now_ms());
    out!(out_ms, now)
}
