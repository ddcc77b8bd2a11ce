//! The application's clock: its publication (`fusebox_set_clock`,
//! `fusebox_set_clock32`, and the variables of `fusebox_set_clock_var32` /
//! `fusebox_set_clock_var64`), its reading (`fusebox_now_ms`), and
//! [`CClock`], the [`Clock`] the C API hands to the registry.
//!
//! **Publication.** The clock (which kind, its function, its userdata) is
//! double-buffered: two slots and an atomic `ACTIVE` naming the one in use.
//! A setter writes the slot not in use and then switches `ACTIVE` to it, so
//! a reader never sees a half-written clock and never waits for a writer.
//!
//! **Retirement.** Each slot counts the reads in flight with it (on hosts,
//! a thread with a fast-path lane counts its reads in its lane instead,
//! without an atomic read-modify-write: `clock/host.rs`). A reader
//! announces itself on the slot `ACTIVE` names and checks that it is still
//! the one (if a setter switched in between, it steps back and takes the
//! new one: it never waits). After switching, the setter waits until the
//! old slot has no read in flight: when it returns, the old function will
//! never be called again and its userdata may be freed. It waits only for
//! reads that had already started, each bounded by the callback's own
//! duration (spinning briefly, then yielding and sleeping, so a waiting
//! setter of higher real-time priority lets the reader's thread run).
//! A setter called while its own thread is inside the clock (from the
//! clock callback, directly or through fusebox) would wait for itself: it
//! returns `FUSEBOX_BUSY` and changes nothing.
//!
//! Without `std` (firmware) the count is kept inside critical sections and
//! a setter never waits: on one core a read in flight is the code the
//! setter's interrupt preempted (or the clock callback calling it), which
//! cannot finish before the setter returns. The setter returns
//! `FUSEBOX_BUSY` and changes nothing when a read is in flight; otherwise
//! the guarantee holds at once.
//!
//! **Variables.** A variable clock is published and retired like a callback
//! (its address takes the function's place). With `std` it is read between
//! the same announcements, and a 32-bit variable is extended without a
//! critical section (`AtomicTick32`, one compare-and-swap) where the target
//! has one. Without `std` the whole read of a variable (the active slot,
//! the load, the 32-bit extension) is one short critical section and needs
//! no announcement: a setter cannot run in the middle of it, on one core or
//! several (the port's critical section is global).
//!
//! With `std` a default clock (`host_clock`: `CLOCK_MONOTONIC_COARSE`
//! for comparisons, `CLOCK_MONOTONIC` for durations) stands in until one
//! is set. Without it there is no clock until the application sets one, and
//! calls that need time answer `FUSEBOX_NO_CLOCK`: [`clock`] says so up
//! front, without reading the clock. A clock once set is never unset (a
//! NULL function is refused), so a [`CClock`] that [`clock`] handed out can
//! always be read.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use critical_section::CriticalSection;

use super::convert::status_of;
use super::types::{
    fusebox_clock32_fn, fusebox_clock_fn, fusebox_status, FUSEBOX_BUSY, FUSEBOX_NO_CLOCK,
    FUSEBOX_OK,
};
#[cfg(all(feature = "std", not(target_has_atomic = "32")))]
use crate::clock::extend_shared;
#[cfg(not(all(feature = "std", target_has_atomic = "32")))]
use crate::Tick32State;
use crate::{Clock, Error};

/// The 32-bit clock's extension to 64 bits (`TICK32`, `VAR32`), chosen
/// once: lock-free on hosts with 32-bit compare-and-swap, else a state
/// that a critical section guards.
#[cfg(all(feature = "std", target_has_atomic = "32"))]
type Extension32 = crate::clock::AtomicTick32;
/// See the lock-free variant above.
#[cfg(not(all(feature = "std", target_has_atomic = "32")))]
type Extension32 = critical_section::Mutex<core::cell::Cell<Tick32State>>;

/// A new [`Extension32`]: no reading yet.
#[cfg(all(feature = "std", target_has_atomic = "32"))]
const fn new_extension32() -> Extension32 {
    Extension32::new()
}

/// See the lock-free variant above.
#[cfg(not(all(feature = "std", target_has_atomic = "32")))]
const fn new_extension32() -> Extension32 {
    Extension32::new(core::cell::Cell::new(Tick32State::new()))
}

/// Forgets `e`'s readings, for a newly written slot (inside the critical
/// section `cs`, which the lock-free variant does not need).
#[cfg(all(feature = "std", target_has_atomic = "32"))]
fn clear_extension32(e: &Extension32, _cs: CriticalSection<'_>) {
    e.clear();
}

/// See the lock-free variant above.
#[cfg(not(all(feature = "std", target_has_atomic = "32")))]
fn clear_extension32(e: &Extension32, cs: CriticalSection<'_>) {
    e.borrow(cs).set(Tick32State::new());
}

const MS64: u32 = 0;
const TICK32: u32 = 1;
/// `func` holds the address of a `volatile uint32_t` (a wrapping tick).
const VAR32: u32 = 2;
/// `func` holds the address of a `volatile uint64_t`.
const VAR64: u32 = 3;

/// C's `volatile uint32_t`, for the header: fusebox reads it with volatile
/// loads (cbindgen.toml renames it).
/// cbindgen:no-export
#[repr(transparent)]
#[derive(Debug)]
pub struct fusebox_volatile_u32(u32);

/// C's `volatile uint64_t`, for the header (cbindgen.toml renames it).
/// cbindgen:no-export
#[repr(transparent)]
#[derive(Debug)]
pub struct fusebox_volatile_u64(u64);

/// One published clock. Its kind, function and userdata are written only
/// while it is not the active slot and no read is in flight with it.
struct Slot {
    kind: AtomicU32,
    func: AtomicPtr<()>,
    userdata: AtomicPtr<c_void>,
    /// Reads in flight with this slot (with `std`: also, for an instant,
    /// readers that find it was switched away and step back).
    readers: AtomicU32,
    /// The 32-bit clock's extension to 64 bits (`TICK32`, `VAR32`).
    tick32: Extension32,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            kind: AtomicU32::new(MS64),
            func: AtomicPtr::new(core::ptr::null_mut()),
            userdata: AtomicPtr::new(core::ptr::null_mut()),
            readers: AtomicU32::new(0),
            tick32: new_extension32(),
        }
    }

    /// Writes a clock into this (inactive, unread) slot, inside the
    /// critical section `cs` (which guards the 32-bit extension's state).
    fn write(&self, cs: CriticalSection<'_>, kind: u32, func: *mut (), userdata: *mut c_void) {
        self.kind.store(kind, Ordering::Relaxed);
        self.func.store(func, Ordering::Relaxed);
        self.userdata.store(userdata, Ordering::Relaxed);
        clear_extension32(&self.tick32, cs);
    }
}

static SLOTS: [Slot; 2] = [Slot::new(), Slot::new()];

/// The slot in use: NULL before any clock is set, else one of `SLOTS`.
static ACTIVE: AtomicPtr<Slot> = AtomicPtr::new(core::ptr::null_mut());

/// The slot `ACTIVE` held (non-NULL).
#[inline(always)]
fn slot(active: *mut Slot) -> &'static Slot {
    // SAFETY: ACTIVE only ever holds NULL (checked by every caller) or the
    // address of an element of the static `SLOTS`.
    unsafe { &*active }
}

/// The slot that is not `active` (any slot when `active` is NULL).
/// By index, not by a branch between the two: the setter's stores then
/// share one base address (firmware flash: the branch became a select per
/// store).
fn other(active: *mut Slot) -> &'static Slot {
    let [first, _] = &SLOTS;
    let i = usize::from(core::ptr::eq(active, first));
    SLOTS.get(i).unwrap_or(first)
}

/// A read in progress with one slot: what it found there.
struct Read {
    slot: &'static Slot,
    kind: u32,
    func: *mut (),
    userdata: *mut c_void,
}

impl Read {
    /// Copies the slot's clock (the slot is announced: it cannot change).
    #[inline]
    fn of(slot: &'static Slot) -> Self {
        Read {
            slot,
            kind: slot.kind.load(Ordering::Relaxed),
            func: slot.func.load(Ordering::Relaxed),
            userdata: slot.userdata.load(Ordering::Relaxed),
        }
    }
}

/// What [`imp::enter`] found (firmware): a reading already taken (a
/// variable, read in the critical section), or an announced read of a
/// callback to carry out, with the 32-bit extension's state as it was
/// before the tick is read (for a 32-bit callback: extended against it, a
/// reading is right however long the reader is delayed before `leave`;
/// copied for every callback, which costs less flash than a branch).
#[cfg(not(feature = "std"))]
enum Entered {
    Now(u64),
    Call(Read, Tick32State),
}

#[cfg(feature = "std")]
mod host;
#[cfg(feature = "std")]
use host as imp;

#[cfg(not(feature = "std"))]
mod imp {
    //! Firmware: announcements inside critical sections; the setter never
    //! waits.
    use super::{other, slot, Entered, Read, Slot, ACTIVE, VAR32};
    use crate::clock::extend_in;
    use core::sync::atomic::Ordering;
    use critical_section::CriticalSection;

    /// Starts a read: announces it on the active slot, or reads a variable
    /// clock at once in the same critical section (no announcement). `None`
    /// while no clock is set.
    #[inline]
    pub(super) fn enter() -> Option<Entered> {
        critical_section::with(|cs| {
            let active = ACTIVE.load(Ordering::Relaxed);
            if active.is_null() {
                return None;
            }
            let s = slot(active);
            let read = Read::of(s);
            if read.kind >= VAR32 {
                return Some(Entered::Now(variable(&read, cs)));
            }
            let n = s.readers.load(Ordering::Relaxed);
            s.readers.store(n.wrapping_add(1), Ordering::Relaxed);
            Some(Entered::Call(read, s.tick32.borrow(cs).get()))
        })
    }

    /// The reading of a variable clock, `None` for a callback (or no
    /// clock): one critical section of its own. Its callers, the fast
    /// rejection and a lent slot's bookkeeping, run with interrupts
    /// enabled: it nests in no section of fusebox's.
    #[inline]
    pub(super) fn variable_now_ms() -> Option<u64> {
        critical_section::with(|cs| {
            let active = ACTIVE.load(Ordering::Relaxed);
            if active.is_null() {
                return None;
            }
            let read = Read::of(slot(active));
            (read.kind >= VAR32).then(|| variable(&read, cs))
        })
    }

    /// Reads the variable `read` found (kind `VAR32` or `VAR64`) in the
    /// critical section `cs`, which keeps it published meanwhile and
    /// guards the 32-bit extension's state.
    #[inline]
    fn variable(read: &Read, cs: CriticalSection<'_>) -> u64 {
        // SAFETY: a VAR kind's `func` is the variable's address, valid
        // while it is published (`fusebox_set_clock_var*`).
        unsafe {
            if read.kind == VAR32 {
                let raw = core::ptr::read_volatile(read.func.cast::<u32>());
                extend_in(read.slot.tick32.borrow(cs), raw)
            } else {
                // Whole: no interrupt on this core runs in between.
                core::ptr::read_volatile(read.func.cast::<u64>())
            }
        }
    }

    /// Ends a read; `finish` (the 32-bit extension) runs in the same
    /// critical section, `cs` (no second one nested in it).
    #[inline]
    pub(super) fn leave<T>(read: &Read, finish: impl FnOnce(&Slot, CriticalSection<'_>) -> T) -> T {
        critical_section::with(|cs| {
            let n = read.slot.readers.load(Ordering::Relaxed);
            read.slot
                .readers
                .store(n.wrapping_sub(1), Ordering::Relaxed);
            finish(read.slot, cs)
        })
    }

    /// Publishes a clock, unless a read is in flight (then nothing changes
    /// and it returns `false`): on one core, the read this call interrupted
    /// or is inside, which cannot finish first.
    pub(super) fn publish(kind: u32, func: *mut (), userdata: *mut core::ffi::c_void) -> bool {
        critical_section::with(|cs| {
            let old = ACTIVE.load(Ordering::Relaxed);
            if !old.is_null() && slot(old).readers.load(Ordering::Relaxed) != 0 {
                return false;
            }
            let s = other(old);
            s.write(cs, kind, func, userdata);
            ACTIVE.store(core::ptr::from_ref(s).cast_mut(), Ordering::Release);
            true
        })
    }
}

/// Reads the application's clock, `FUSEBOX_NO_CLOCK` before one is set
/// (firmware). The callback runs outside any critical section; only the
/// announcement and the 32-bit extension bookkeeping run inside one. The
/// check is one load here (a clock once set stays set); the reading comes
/// back in registers from [`set_now_ms`] (a `Result` came back through
/// memory, and every caller stored and loaded it: firmware flash).
#[cfg(not(feature = "std"))]
#[inline(always)]
pub(super) fn now_ms() -> Result<u64, fusebox_status> {
    if is_set() {
        Ok(set_now_ms())
    } else {
        Err(FUSEBOX_NO_CLOCK)
    }
}

/// The reading of the clock the application set (firmware), out of line;
/// 0, which no caller uses, before one is set ([`now_ms`] and [`clock`]
/// check first).
#[cfg(not(feature = "std"))]
#[inline(never)]
fn set_now_ms() -> u64 {
    read_clock().unwrap_or(0)
}

/// The reading of the clock set (firmware) or of the default one (hosts),
/// for a [`CClock`], which [`clock`] handed out once a clock could be read.
#[inline(always)]
fn checked_now_ms() -> u64 {
    #[cfg(not(feature = "std"))]
    return set_now_ms();
    #[cfg(feature = "std")]
    return host_now_ms();
}

/// [`now_ms`] on hosts, where it cannot fail (the default clock stands
/// in): the reading comes back in a register from [`host_now_ms`].
#[cfg(feature = "std")]
#[inline(always)]
pub(super) fn now_ms() -> Result<u64, fusebox_status> {
    Ok(host_now_ms())
}

/// The reading, out of line. (A `Result` came back through memory, and
/// the caller waited for it to be stored and loaded again.)
#[cfg(feature = "std")]
#[inline(never)]
fn host_now_ms() -> u64 {
    imp::read(value_of).unwrap_or_else(super::host_clock::coarse_ms)
}

/// The reading of an announced clock (hosts).
#[cfg(feature = "std")]
#[inline(always)]
fn value_of(read: &Read) -> u64 {
    if read.kind == VAR64 {
        // SAFETY: published from a non-NULL `const volatile uint64_t *` by
        // `fusebox_set_clock_var64`, not retired while announced.
        return unsafe { read_var64(read.func.cast::<u64>()) };
    }
    if read.kind != MS64 {
        return value_of_32(read);
    }
    // SAFETY: published from a non-NULL `fusebox_clock_fn` of this exact
    // type by `fusebox_set_clock` (the only other kind).
    let f: unsafe extern "C" fn(*mut c_void) -> u64 = unsafe { core::mem::transmute(read.func) };
    // SAFETY: the application registered `f` with `userdata`, and the
    // announced read keeps it from being retired until it ends.
    unsafe { f(read.userdata) }
}

/// [`value_of`] for the 32-bit kinds, extended (before the read ends)
/// against the extension's state taken before the tick is read. Out of
/// line: the 64-bit clocks' path stays short.
#[cfg(feature = "std")]
#[inline(never)]
fn value_of_32(read: &Read) -> u64 {
    let raw = || {
        if read.kind == VAR32 {
            // SAFETY: published from a non-NULL `const volatile uint32_t *`
            // by `fusebox_set_clock_var32`, not retired while announced.
            return unsafe { core::ptr::read_volatile(read.func.cast::<u32>()) };
        }
        // SAFETY: published from a non-NULL `fusebox_clock32_fn` of this
        // exact type by `fusebox_set_clock32` (the only other kind here).
        let f: unsafe extern "C" fn(*mut c_void) -> u32 =
            unsafe { core::mem::transmute(read.func) };
        // SAFETY: the application registered `f` with `userdata`, and the
        // announced read keeps it from being retired until it ends.
        unsafe { f(read.userdata) }
    };
    #[cfg(target_has_atomic = "32")]
    return read.slot.tick32.extend(raw);
    #[cfg(not(target_has_atomic = "32"))]
    return extend_shared(&read.slot.tick32, raw);
}

/// [`now_ms`]'s body (firmware).
#[cfg(not(feature = "std"))]
#[inline(always)]
fn read_clock() -> Result<u64, fusebox_status> {
    let read = match imp::enter() {
        None => return default_now_ms(),
        Some(Entered::Now(now)) => return Ok(now),
        Some(Entered::Call(read, before)) => {
            if read.kind != MS64 {
                return Ok(now_other(&read, before));
            }
            read
        }
    };
    // SAFETY: published from a non-NULL `fusebox_clock_fn` of this exact
    // type by `fusebox_set_clock` (the only other kind).
    let f: unsafe extern "C" fn(*mut c_void) -> u64 = unsafe { core::mem::transmute(read.func) };
    // SAFETY: the application registered `f` with `userdata`, and the
    // announced read keeps it from being retired until `leave`.
    let now = unsafe { f(read.userdata) };
    imp::leave(&read, |_, _| ());
    Ok(now)
}

/// [`now_ms`] with a 32-bit tick (firmware), extended against `before`,
/// the extension's state taken before the tick is read. Out of line: the
/// 64-bit clock's path stays short.
#[cfg(not(feature = "std"))]
#[inline(never)]
fn now_other(read: &Read, before: Tick32State) -> u64 {
    // SAFETY: published from a non-NULL `fusebox_clock32_fn` of this exact
    // type by `fusebox_set_clock32` (the only other kind here).
    let f: unsafe extern "C" fn(*mut c_void) -> u32 = unsafe { core::mem::transmute(read.func) };
    // SAFETY: the application registered `f` with `userdata`, and the
    // announced read keeps it from being retired until `leave`.
    let raw = unsafe { f(read.userdata) };
    imp::leave(read, |s, cs| {
        crate::clock::extend_after(s.tick32.borrow(cs), before, raw)
    })
}

/// Reads a `volatile uint64_t` that another thread may be writing, without
/// a torn value where the target loads 64 bits in one instruction (64-bit
/// hosts); elsewhere the high word is read before and after the low one,
/// until both readings agree.
///
/// # Safety
/// `p` is valid for reads and aligned.
#[cfg(feature = "std")]
unsafe fn read_var64(p: *const u64) -> u64 {
    #[cfg(target_pointer_width = "64")]
    {
        // SAFETY: by this function's contract.
        unsafe { core::ptr::read_volatile(p) }
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        let words = p.cast::<u32>();
        let (lo, hi) = if cfg!(target_endian = "little") {
            (0, 1)
        } else {
            (1, 0)
        };
        // SAFETY: both halves of the u64 `p` points to.
        unsafe {
            loop {
                let h = core::ptr::read_volatile(words.add(hi));
                let l = core::ptr::read_volatile(words.add(lo));
                if core::ptr::read_volatile(words.add(hi)) == h {
                    return u64::from(h) << 32 | u64::from(l);
                }
            }
        }
    }
}

/// The clock's reading for a duration's ends: the default clock's precise
/// reading while no clock is set, else the application's clock (which has
/// one reading). A clock set in between answers as if read just before.
#[cfg(feature = "std")]
pub(super) fn precise_now_ms() -> Result<u64, fusebox_status> {
    if is_set() {
        now_ms()
    } else {
        Ok(super::host_clock::precise_ms())
    }
}

/// Firmware: the one reading (a permit's start and end, with policies; a
/// [`CClock`] reads [`set_now_ms`] itself).
#[cfg(all(not(feature = "std"), feature = "policies"))]
pub(super) fn precise_now_ms() -> Result<u64, fusebox_status> {
    now_ms()
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
        // always can: no second check.
        checked_now_ms()
    }

    #[inline]
    fn precise_now_ms(&self) -> u64 {
        // As `now_ms` (firmware: the same reading); on hosts the 0 is never
        // returned.
        #[cfg(not(feature = "std"))]
        return set_now_ms();
        #[cfg(feature = "std")]
        return precise_now_ms().unwrap_or(0);
    }

    /// Firmware: a variable clock's reading (`fusebox_set_clock_var32` /
    /// `var64`), which the registry takes in the slot's bookkeeping. On
    /// hosts the fast path rejects without the slot: none.
    #[cfg(not(feature = "std"))]
    #[inline]
    fn load_now_ms(&self) -> Option<u64> {
        imp::variable_now_ms()
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

/// Whether the application has set a clock. One load: a clock once set
/// stays set.
#[inline]
fn is_set() -> bool {
    !ACTIVE.load(Ordering::Acquire).is_null()
}

/// Runs `f` at the current clock reading (the calls that always need the
/// time).
pub(super) fn with_time<T>(f: impl FnOnce(u64) -> Result<T, Error>) -> Result<T, fusebox_status> {
    let now = now_ms()?;
    f(now).map_err(status_of)
}

/// Runs `f` at the current precise reading (a permit's start and end).
#[cfg(feature = "policies")]
pub(super) fn with_precise_time<T>(
    f: impl FnOnce(u64) -> Result<T, Error>,
) -> Result<T, fusebox_status> {
    let now = precise_now_ms()?;
    f(now).map_err(status_of)
}

fn set(kind: u32, func: *mut (), userdata: *mut c_void) -> fusebox_status {
    if imp::publish(kind, func, userdata) {
        FUSEBOX_OK
    } else {
        FUSEBOX_BUSY
    }
}

/// Sets the clock every breaker reads: `now_ms(userdata)` returns monotonic
/// milliseconds. It is called outside fusebox's critical sections, from
/// whichever thread calls fusebox, and must not fail. It should not call
/// fusebox functions that change a breaker's state (they may wait for the
/// listener, which may be waiting in a setter for this clock call).
/// Without the `std` feature there is no default clock and calls that need
/// time return `FUSEBOX_NO_CLOCK` until one is set.
///
/// **The default clock** (with `std`, until a clock is set): milliseconds
/// since boot of two readings of one timeline. Comparisons (an open
/// window, a timeout, a failure's time, `fusebox_now_ms`) read
/// `CLOCK_MONOTONIC_COARSE` on Linux, the time of the last scheduler tick,
/// which costs about what a function call does but has a resolution of
/// one jiffy (1 to 4 ms, the kernel's `CONFIG_HZ`): a timeout may end up
/// to a jiffy late. Measured durations (a slow call's start and end in
/// `fusebox_call` and `fusebox_call_classified`, a permit's in
/// `fusebox_acquire_permit` and `fusebox_complete`) read `CLOCK_MONOTONIC`,
/// to the millisecond. A reading is never earlier than one fusebox handed
/// out before (the coarse clock lags the precise one; fusebox clamps it),
/// so a measured duration is never negative. Other unix systems read
/// `CLOCK_MONOTONIC` for both. An application that needs a timeout to the
/// millisecond sets its own clock.
///
/// **Retiring the old clock.** When this returns `FUSEBOX_OK`, the clock it
/// replaced (set by any of the `fusebox_set_clock*` functions) will never
/// be called (or its variable read) again: its userdata may be freed at
/// once. With `std` it waits
/// for the reads of the old clock already in progress on other threads
/// (each as long as one call of that clock); reads never wait for it. On
/// Linux a setter also makes one `membarrier` system call (a few
/// microseconds), which lets each read announce itself with plain stores.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL, and
/// `FUSEBOX_BUSY` when it would have to wait for itself: with `std`, called
/// on a thread that is inside a clock call (from the clock, or from
/// something the clock calls); without `std` (firmware), called while any
/// read of a callback clock is in progress: from the clock, from an
/// interrupt that preempted a clock read, or on another core or thread
/// (retry later, e.g. from the main loop). In both cases the clock is
/// kept.
#[no_mangle]
pub extern "C" fn fusebox_set_clock(
    now_ms: fusebox_clock_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let f = try_fn!(now_ms);
    set(MS64, f as *mut (), userdata)
}

/// Sets a wrapping 32-bit millisecond tick (e.g. `HAL_GetTick`) as the
/// clock. fusebox extends it to 64 bits across its wrap every 49.7 days
/// (the first reading is taken as is), exactly as long as some fusebox call
/// reads it at least once every 49.5 days (2^32 - 2^24 ms); see
/// `fusebox_set_clock_var32` for the rule and what a longer gap does (it
/// never wedges a breaker). Each reading is extended against the state
/// taken before the callback was called, so a caller delayed between the
/// callback's return and the extension (for less than 49.5 days) still
/// gets the time it read, and never moves the stored time back.
///
/// Retires the old clock and returns as `fusebox_set_clock` does:
/// `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL, `FUSEBOX_BUSY` when it
/// would wait for itself (the clock is kept in both cases).
#[no_mangle]
pub extern "C" fn fusebox_set_clock32(
    now_ms: fusebox_clock32_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let f = try_fn!(now_ms);
    set(TICK32, f as *mut (), userdata)
}

/// Sets the variable `*ms` as the clock: a wrapping 32-bit millisecond
/// count that the application keeps current, such as a SysTick handler's
/// counter (STM32 HAL's `uwTick`) or an event loop's cached milliseconds.
/// fusebox reads it with a volatile load and calls no function; it extends
/// it to 64 bits across its wrap every 49.7 days (the first reading is
/// taken as is).
///
/// Requirements on the variable:
/// - **monotonic**: it only moves forward (its wrap from 0xFFFFFFFF to 0
///   included);
/// - for exact time, **read at least once every 49.5 days** (2^32 - 2^24
///   ms; less 65.5 s with `std`) by some fusebox call. A reading is placed
///   against the last one seen before the tick was read: behind it by at
///   most 2^24 ms (4.66 hours; 2^24 + 2^16 ms with `std`: a variable
///   stepped back a little) it is answered in the past and not stored,
///   otherwise it is ahead. A closed breaker's admissions and successes
///   read no clock (`try_acquire`, `record_success`, `call`, unless the
///   breaker measures slow calls; docs/calling-contexts.md), so a healthy
///   dependency can go weeks without a read; `fusebox_now_ms` reads it,
///   and so does anything that records a failure, opens, probes or
///   rejects. After a longer gap time is never wedged: it lags by whole
///   wraps of 49.7 days, or, when the gap ends less than 4.66 hours short
///   of a whole number of wraps, steps back by at most that much; either
///   way an open breaker may wait its reset timeout again, and two readers
///   at the gap's end may differ by a whole wrap. An application that
///   needs exact time across longer gaps calls `fusebox_now_ms` from a
///   periodic task (daily is plenty), or sets a 64-bit clock;
/// - aligned, and written with one 32-bit store (a C assignment to a
///   `uint32_t` on a 32-bit core or wider).
///
/// Cost of a read: on firmware (without `std`) one critical section around
/// the load and the extension (a few dozen instructions); with `std` no
/// critical section: the extension is one compare-and-swap where the target
/// has one (every host), a critical section otherwise.
///
/// **Lifetime.** The variable must stay readable until another clock
/// replaces it: when a setter returns `FUSEBOX_OK`, the clock it replaced
/// (callback or variable) is never read again, as for `fusebox_set_clock`.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `ms` is NULL, and `FUSEBOX_BUSY`
/// when it would have to wait for itself, as `fusebox_set_clock` does (on
/// firmware only while a callback clock's read is in progress: a variable's
/// read is never in progress outside fusebox's critical section). The
/// clock is kept in both cases.
///
/// # Safety
/// `ms` is NULL or points to a readable, aligned `uint32_t` that stays
/// readable until another clock has replaced it.
#[no_mangle]
pub unsafe extern "C" fn fusebox_set_clock_var32(
    ms: *const fusebox_volatile_u32,
) -> fusebox_status {
    non_null!(ms);
    set(VAR32, ms.cast_mut().cast(), core::ptr::null_mut())
}

/// Sets the variable `*ms` as the clock: a 64-bit millisecond count that
/// the application keeps current (see `fusebox_set_clock_var32`). fusebox
/// reads it and calls no function. It must be **monotonic**, aligned, and
/// stay readable until another clock replaces it (retirement as for
/// `fusebox_set_clock`).
///
/// A 32-bit core stores a `uint64_t` in two halves. On firmware fusebox
/// reads both inside one critical section, so a writer in an interrupt
/// handler (SysTick) is never seen halfway; a fusebox call from an
/// interrupt handler of higher priority than the writer's could be, so
/// call fusebox there with a 32-bit variable instead. Hosts read it in one
/// load (64-bit) or high, low, high until the high half holds still.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `ms` is NULL and `FUSEBOX_BUSY` as
/// `fusebox_set_clock_var32` does; the clock is kept in both cases.
///
/// # Safety
/// `ms` is NULL or points to a readable, aligned `uint64_t` that stays
/// readable until another clock has replaced it.
#[no_mangle]
pub unsafe extern "C" fn fusebox_set_clock_var64(
    ms: *const fusebox_volatile_u64,
) -> fusebox_status {
    non_null!(ms);
    set(VAR64, ms.cast_mut().cast(), core::ptr::null_mut())
}

/// Reads the clock fusebox uses into `*out_ms` (the default clock's coarse
/// reading until a clock is set: see `fusebox_set_clock`).
///
/// # Safety
/// `out_ms` is NULL or points to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_now_ms(out_ms: *mut u64) -> fusebox_status {
    non_null!(out_ms);
    let now = try_status!(now_ms());
    out!(out_ms, now)
}
