//! A reader of a 32-bit callback clock (`fusebox_set_clock32`) delayed for
//! hours between the callback's return and the extension, while another
//! reader extends later ticks. Its reading is extended against the state
//! taken before the tick was read: it comes back as the time it read, and
//! stores nothing. (Extended against the state at the extension, 5 hours
//! later, it was taken for a reading 2^32 - 5 h ahead and stored: time
//! jumped 49.7 days and an open breaker's 24 h timeout ended after 5 h.)
//! Both builds: with `std` the extension is lock-free, without it two
//! short critical sections around the callback. (Its own test binary: the
//! C API's clock is process-wide.)
#![cfg(feature = "capi")]
#[path = "support/c_api.rs"]
mod c_api;
use c_api::{now, state};
use core::ffi::c_void;
use fusebox::ffi::*;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Barrier, OnceLock};

static TICK: AtomicU32 = AtomicU32::new(1_000);
/// Set for the one read that stalls.
static STALL: AtomicBool = AtomicBool::new(false);
/// The stalled reader has read the tick / may go on.
static BARRIERS: OnceLock<(Barrier, Barrier)> = OnceLock::new();
const HOUR: u32 = 3_600_000;

thread_local! {
    static STALLING_THREAD: Cell<bool> = const { Cell::new(false) };
}

unsafe extern "C" fn tick(_: *mut c_void) -> u32 {
    let raw = TICK.load(Ordering::SeqCst);
    if STALLING_THREAD.with(Cell::get) && STALL.swap(false, Ordering::SeqCst) {
        // The tick is read; the reader is preempted for 5 hours.
        let (read, go_on) = BARRIERS.get().expect("set before the stall");
        read.wait();
        go_on.wait();
    }
    raw
}

#[test]
fn a_reader_delayed_for_hours_does_not_move_time() {
    assert_eq!(
        fusebox_set_clock32(Some(tick), core::ptr::null_mut()),
        FUSEBOX_OK
    );
    let mut cfg = fusebox_config::default();
    unsafe { fusebox_config_init(&mut cfg) };
    cfg.failure_threshold = 1;
    cfg.reset_timeout_ms = 24 * HOUR;
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(c"stale".as_ptr(), &cfg, &mut id) },
        FUSEBOX_OK
    );
    assert_eq!(now(), 1_000);
    assert_eq!(fusebox_record_failure(id), FUSEBOX_OK);
    assert_eq!(state(id), FUSEBOX_STATE_OPEN);

    let (read, go_on) = BARRIERS.get_or_init(|| (Barrier::new(2), Barrier::new(2)));
    STALL.store(true, Ordering::SeqCst);
    let stalled = std::thread::spawn(|| {
        STALLING_THREAD.with(|s| s.set(true));
        now()
    });
    read.wait();
    // 5 hours later, another reader.
    TICK.fetch_add(5 * HOUR, Ordering::SeqCst);
    let fresh = now();
    assert_eq!(fresh, 1_000 + 5 * u64::from(HOUR));
    go_on.wait();
    assert_eq!(stalled.join().unwrap(), 1_000, "the time it read");
    assert_eq!(now(), fresh, "time did not move");
    assert_eq!(state(id), FUSEBOX_STATE_OPEN, "5 h of a 24 h timeout");
    TICK.fetch_add(19 * HOUR, Ordering::SeqCst);
    assert_eq!(state(id), FUSEBOX_STATE_HALF_OPEN, "24 h");
    assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
}
