//! Zero allocations per operation: a counting global allocator watches this
//! thread while every hot operation (Rust API and C API) runs many times.
#![cfg(feature = "capi")]
use fusebox::ffi::*;
use fusebox::{Breaker, Config, ManualClock, Registry};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

// Per thread: tests run in parallel, and only this thread's allocations
// while it watches count.
thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    WATCHING.with(|w| w.set(true));
    f();
    WATCHING.with(|w| w.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_an_allocation() {
    assert_eq!(
        allocations_during(|| drop(std::hint::black_box(vec![1u8; 16]))),
        1
    );
}

/// Every hot operation, `rounds` times.
fn workload(rounds: u64) {
    static REG: Registry<4> = Registry::new();
    let clock = ManualClock::new(0);
    {
        let cfg = Config::default()
            .with_failure_threshold(2)
            .with_reset_timeout_ms(5);
        let mut owned = Breaker::new(cfg).unwrap();
        let id = REG.create(b"alloc", cfg).unwrap();
        let mut blob = [0u8; fusebox::SNAPSHOT_LEN];
        for i in 0..rounds {
            let _ = owned.try_acquire(i);
            owned.record_success(i);
            let _ = REG.try_acquire(id, i);
            let _ = REG.record_success(id, i);
            if i % 7 == 0 {
                let _ = REG.record_failure(id, i);
            }
            let _ = REG.call(id, &clock, || Ok::<_, ()>(i));
            let _ = REG.allow_call(id, i);
            let _ = REG.stats(id);
            let _ = REG.lookup(b"alloc");
            let _ = REG.snapshot(id, i, &mut blob);
            clock.advance(1);
        }
        REG.remove(id).unwrap();
        // The C API.
        let mut cid = 0;
        let mut out = 0;
        let mut stats = unsafe { core::mem::zeroed::<fusebox_stats>() };
        unsafe extern "C" fn op(_: *mut core::ffi::c_void) -> i32 {
            0
        }
        unsafe extern "C" fn c_clock(_: *mut core::ffi::c_void) -> u64 {
            5
        }
        unsafe {
            fusebox_set_clock(Some(c_clock), core::ptr::null_mut());
            assert_eq!(
                fusebox_create(c"alloc".as_ptr(), core::ptr::null(), &mut cid),
                FUSEBOX_OK
            );
            for _ in 0..rounds {
                fusebox_try_acquire(cid);
                fusebox_record_success(cid);
                fusebox_record_failure(cid);
                fusebox_call(cid, Some(op), core::ptr::null_mut(), &mut out);
                fusebox_stats_get(cid, &mut stats);
            }
            fusebox_destroy(cid);
        }
    }
}

#[test]
fn no_operation_allocates() {
    // One round first: the platform's one-time set-up (thread-locals of
    // critical-section's std implementation, the default clock's epoch) is
    // not a per-operation cost.
    workload(1);
    let n = allocations_during(|| workload(10_000));
    assert_eq!(n, 0, "{n} allocations in 10 000 rounds");
}
