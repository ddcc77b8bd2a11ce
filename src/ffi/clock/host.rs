//! Hosts (feature `std`): how a clock read announces itself, and how a
//! setter waits for the reads of the clock it replaced.
//!
//! **A thread with a fast-path lane** (`crate::fast`: the first eight
//! threads that use the registry) announces a read in its own lane's
//! counters, one per clock slot: a plain load and store of a cache line
//! no other thread writes, no atomic read-modify-write. The setter scans
//! the eight lanes.
//!
//! That needs the announcement (a store) to be visible to the setter
//! before the reader checks that the slot is still the active one (a load):
//! the store-load order that a plain store does not give. On Linux the
//! setter pays for it: after switching slots it calls
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full memory
//! barrier on every CPU running a thread of the process, so that each
//! reader either had its announcement seen or sees the new slot (the
//! asymmetric fence of liburcu's `memb` flavour). The reader then needs only
//! a compiler fence. Where membarrier cannot be registered (other systems,
//! valgrind, a seccomp filter), readers put a full fence between the two
//! ([`BARRIER_AT_SETTER`] stays false).
//!
//! **A thread without a lane** (a ninth thread, or one ending) announces
//! its read on the slot's shared atomic count, as before: two atomic
//! read-modify-writes.
//!
//! Either way a read never waits: if a setter switched slots between its
//! two loads, it steps back and takes the new slot.
extern crate std;

use super::{other, slot, Read, Slot, ACTIVE, SLOTS};
// Waits so that a waiter of higher real-time priority lets the others run.
use crate::backoff::wait_until;
use core::cell::Cell;
use core::sync::atomic::{compiler_fence, fence, AtomicBool, Ordering};

std::thread_local! {
    /// Reads in progress on this thread announced on the shared counts (a
    /// setter called inside one would wait for itself). Reads announced
    /// in a lane are told by the lane's counts.
    static IN_CLOCK: Cell<u32> = const { Cell::new(0) };
}

#[cfg(fusebox_fast)]
mod lanes {
    use crate::fast::LANES;
    use core::sync::atomic::AtomicU32;

    /// One lane's reads in progress, per clock slot; only the lane's
    /// thread writes them. Alone on its cache line.
    #[repr(align(64))]
    pub(super) struct Announced(pub(super) [AtomicU32; 2]);

    pub(super) static ANNOUNCED: [Announced; LANES] =
        [const { Announced([AtomicU32::new(0), AtomicU32::new(0)]) }; LANES];
}

/// Set once membarrier is registered: from then on every setter runs it
/// after switching, and a reader's announcement needs only a compiler
/// fence before its check.
static BARRIER_AT_SETTER: AtomicBool = AtomicBool::new(false);

/// Index of `s` in `SLOTS`.
#[inline(always)]
fn index(s: &Slot) -> usize {
    usize::from(!core::ptr::eq(s, &SLOTS[0]))
}

/// Reads the active clock: announces the read, hands `value` the slot's
/// clock, and ends the read once `value` has returned (the 32-bit
/// extension included). Never waits: if a setter switched slots between
/// the announcement's two loads, it steps back and takes the new one.
/// `None` while no clock is set. (A closure rather than a value handed
/// back and forth: the slot's copy stays in registers.)
#[inline(always)]
pub(super) fn read<T>(value: impl FnOnce(&Read) -> T) -> Option<T> {
    // The default clock: no lane to look up. Acquire: the slot's contents
    // as its setter wrote them.
    let active = ACTIVE.load(Ordering::Acquire);
    if active.is_null() {
        return None;
    }
    #[cfg(fusebox_fast)]
    if let Some(counts) = crate::fast::thread_lane().and_then(|l| lanes::ANNOUNCED.get(l)) {
        let mut active = active;
        loop {
            let [first, second] = &counts.0;
            let n = if index(slot(active)) == 0 {
                first
            } else {
                second
            };
            // This thread is the lane's only writer (a signal handler that
            // interrupts it runs whole in between and leaves it as it was).
            n.store(n.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
            if BARRIER_AT_SETTER.load(Ordering::Relaxed) {
                // The setter's membarrier orders the store before the load.
                compiler_fence(Ordering::SeqCst);
            } else {
                fence(Ordering::SeqCst);
            }
            // Acquire: a slot switched away and back (by two setters) is
            // read as the second one wrote it.
            let now_active = ACTIVE.load(Ordering::Acquire);
            if now_active == active {
                let v = value(&Read::of(slot(active)));
                // Release: the read is done before a setter sees it gone.
                n.store(n.load(Ordering::Relaxed).wrapping_sub(1), Ordering::Release);
                return Some(v);
            }
            // Switched: step back, and take the new slot (a clock once set
            // stays set: never NULL again).
            n.store(n.load(Ordering::Relaxed).wrapping_sub(1), Ordering::Release);
            active = now_active;
        }
    }
    let r = enter_shared()?;
    let v = value(&r);
    leave_shared(&r);
    Some(v)
}

/// Starts a read on the shared counts (a thread without a lane).
#[inline(never)]
fn enter_shared() -> Option<Read> {
    loop {
        let active = ACTIVE.load(Ordering::Acquire);
        if active.is_null() {
            return None;
        }
        let s = slot(active);
        s.readers.fetch_add(1, Ordering::SeqCst);
        // SeqCst with the setter's load of `readers` and store of ACTIVE:
        // either the setter sees this announcement, or this load sees the
        // switch (and synchronises with the slot's contents written before
        // it).
        if ACTIVE.load(Ordering::SeqCst) == active {
            let _ = IN_CLOCK.try_with(|c| c.set(c.get().wrapping_add(1)));
            return Some(Read::of(s));
        }
        s.readers.fetch_sub(1, Ordering::Release);
    }
}

/// Ends a read [`enter_shared`] started.
#[inline(never)]
fn leave_shared(read: &Read) {
    read.slot.readers.fetch_sub(1, Ordering::Release);
    let _ = IN_CLOCK.try_with(|c| c.set(c.get().wrapping_sub(1)));
}

/// Whether this thread is inside a clock read.
fn in_clock() -> bool {
    if IN_CLOCK.try_with(Cell::get).unwrap_or(0) != 0 {
        return true;
    }
    #[cfg(fusebox_fast)]
    if let Some(l) = crate::fast::thread_lane().and_then(|l| lanes::ANNOUNCED.get(l)) {
        return l.0.iter().any(|n| n.load(Ordering::Relaxed) != 0);
    }
    false
}

/// Whether no read is announced on slot `s` (with `order` on the shared
/// count and Acquire on the lanes).
fn quiet(s: &Slot, order: Ordering) -> bool {
    if s.readers.load(order) != 0 {
        return false;
    }
    #[cfg(fusebox_fast)]
    {
        let i = index(s);
        lanes::ANNOUNCED
            .iter()
            .all(|l| l.0.get(i).is_none_or(|n| n.load(Ordering::Acquire) == 0))
    }
    #[cfg(not(fusebox_fast))]
    true
}

/// Serialises setters (never held by a reader).
static WRITING: AtomicBool = AtomicBool::new(false);

/// Publishes a clock and retires the old one. `false` (nothing changed)
/// when called inside a clock read on this thread.
pub(super) fn publish(kind: u32, func: *mut (), userdata: *mut core::ffi::c_void) -> bool {
    // Before taking the writer's turn: a setter holding it may be waiting
    // for this very thread's read.
    if in_clock() {
        return false;
    }
    wait_until(|| {
        WRITING
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    });
    if !BARRIER_AT_SETTER.load(Ordering::Relaxed) && membarrier::register() {
        BARRIER_AT_SETTER.store(true, Ordering::Relaxed);
    }
    let old = ACTIVE.load(Ordering::Relaxed);
    let s = other(old);
    // Only readers stepping back can be announced here: the setter
    // before this one retired this slot.
    wait_until(|| quiet(s, Ordering::SeqCst));
    critical_section::with(|cs| s.write(cs, kind, func, userdata));
    ACTIVE.store(core::ptr::from_ref(s).cast_mut(), Ordering::SeqCst);
    if !old.is_null() {
        // Every reader either announced itself where the scan below sees
        // it, or sees the switch: a full fence here pairs with the
        // readers' full fences, the membarrier with their compiler fences.
        fence(Ordering::SeqCst);
        if BARRIER_AT_SETTER.load(Ordering::Relaxed) {
            membarrier::run();
        }
        // Retirement: the reads that found the old clock finish.
        let o = slot(old);
        wait_until(|| quiet(o, Ordering::Acquire));
    }
    WRITING.store(false, Ordering::Release);
    true
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[allow(unsafe_code)]
mod membarrier {
    //! The `membarrier` system call (Linux 4.14 or later).
    const GLOBAL: libc::c_int = 1;
    const PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    fn call(cmd: libc::c_int) -> bool {
        // SAFETY: membarrier takes two integers and touches no memory of
        // ours; an unknown command is refused with an error.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                cmd,
                0 as libc::c_uint,
                0 as libc::c_int,
            ) == 0
        }
    }

    /// Registers the process for expedited barriers: `false` if the system
    /// refuses (then readers keep their full fences).
    pub(super) fn register() -> bool {
        call(REGISTER_PRIVATE_EXPEDITED)
    }

    /// A full barrier on every running thread of the process. Should the
    /// expedited command be refused (a child after `fork` may not inherit
    /// the registration), registers again, and then falls back to the
    /// global (slower) command.
    pub(super) fn run() {
        let done = call(PRIVATE_EXPEDITED) || (register() && call(PRIVATE_EXPEDITED));
        if !done {
            let _ = call(GLOBAL);
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod membarrier {
    //! No membarrier: readers keep their full fences.
    pub(super) fn register() -> bool {
        false
    }
    pub(super) fn run() {}
}
