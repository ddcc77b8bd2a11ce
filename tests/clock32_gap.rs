//! A 32-bit clock that no fusebox call read for weeks. A closed breaker's
//! admissions and successes read no clock, so 30 days of healthy traffic
//! leave the tick's extension with a reading 30 days old; the failure that
//! trips the breaker then reads a tick 2^31 ms or more ahead of it. It must move time forward
//! (under the rule of 2^31 ms it was taken for a reading 19.7 days in the
//! past, and the breaker stayed open for those 19.7 days, far past its
//! one-second timeout). Both builds: with `std` the variable is extended
//! with one compare-and-swap, without it in a critical section. (Its own
//! test binary: the C API's clock is process-wide.)
#![cfg(feature = "capi")]
#[path = "support/c_api.rs"]
mod c_api;
use c_api::{now, state};
use fusebox::ffi::*;
use std::sync::atomic::{AtomicU32, Ordering};

static TICK: AtomicU32 = AtomicU32::new(1_000);
const HOUR: u32 = 3_600_000;

#[test]
fn a_trip_after_30_days_of_closed_traffic_times_out_on_time() {
    assert_eq!(
        unsafe { fusebox_set_clock_var32(TICK.as_ptr().cast()) },
        FUSEBOX_OK
    );
    let mut cfg = fusebox_config::default();
    unsafe { fusebox_config_init(&mut cfg) };
    cfg.failure_threshold = 1;
    cfg.reset_timeout_ms = 1_000;
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(c"gap".as_ptr(), &cfg, &mut id) },
        FUSEBOX_OK
    );
    assert_eq!(now(), 1_000);
    // 30 days of healthy traffic, one call an hour: no clock read.
    for _ in 0..30 * 24 {
        TICK.fetch_add(HOUR, Ordering::Relaxed);
        assert_eq!(fusebox_try_acquire(id), FUSEBOX_OK);
        assert_eq!(fusebox_record_success(id), FUSEBOX_OK);
    }
    assert_eq!(fusebox_record_failure(id), FUSEBOX_OK);
    assert_eq!(state(id), FUSEBOX_STATE_OPEN);
    assert_eq!(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    assert_eq!(now(), 1_000 + 30 * 24 * u64::from(HOUR));
    // Its timeout, one second, and not a day more.
    TICK.fetch_add(999, Ordering::Relaxed);
    assert_eq!(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    TICK.fetch_add(1, Ordering::Relaxed);
    assert_eq!(fusebox_try_acquire(id), FUSEBOX_OK);
    assert_eq!(state(id), FUSEBOX_STATE_HALF_OPEN);
    assert_eq!(fusebox_record_success(id), FUSEBOX_OK);
    assert_eq!(state(id), FUSEBOX_STATE_CLOSED);
    assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
}
