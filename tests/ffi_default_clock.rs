//! The C API's default clock (feature `std`): coarse readings for
//! comparisons, precise ones where a duration is measured, and never a
//! reading earlier than one handed out before. (Its own test binary: the
//! C API's clock is process-wide, and any other test binary sets one.)
#![cfg(all(feature = "capi", feature = "std", feature = "policies"))]
use core::ffi::c_void;
use fusebox::ffi::*;
use std::time::Duration;

unsafe extern "C" fn sleep_3ms(_: *mut c_void) -> i32 {
    std::thread::sleep(Duration::from_millis(3));
    0
}

unsafe extern "C" fn success(_: i32, _: *mut c_void) -> u32 {
    FUSEBOX_OUTCOME_SUCCESS
}

/// A call of 3 ms or more is slow at `slow_call_ms = 1`, every time: the
/// duration is measured with the precise clock. With the coarse one (a
/// jiffy of 4 ms here) about one call in four would read 0 ms.
#[test]
fn slow_calls_are_timed_with_the_precise_clock() {
    let mut cfg = fusebox_config::default();
    unsafe { fusebox_config_init(&mut cfg) };
    cfg.slow_call_ms = 1;
    cfg.minimum_calls = 1_000;
    cfg.window_size = 64;
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(c"slow".as_ptr(), &cfg, &mut id) },
        FUSEBOX_OK
    );
    const CALLS: u32 = 24;
    let mut result = 9;
    for _ in 0..CALLS {
        assert_eq!(
            unsafe { fusebox_call(id, Some(sleep_3ms), core::ptr::null_mut(), &mut result) },
            FUSEBOX_OK
        );
        assert_eq!(
            unsafe {
                fusebox_call_classified(
                    id,
                    Some(sleep_3ms),
                    Some(success),
                    core::ptr::null_mut(),
                    &mut result,
                )
            },
            FUSEBOX_OK
        );
    }
    let mut s = fusebox_stats::default();
    assert_eq!(unsafe { fusebox_stats_get(id, &mut s) }, FUSEBOX_OK);
    assert_eq!(s.slow_count, u64::from(2 * CALLS), "{s:?}");
}

/// `fusebox_now_ms` (coarse) never reads earlier than a permit's start
/// (precise) taken before it, and a permit never completes before it
/// started.
#[test]
fn the_default_clock_never_goes_back_across_its_two_readings() {
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(c"mono".as_ptr(), core::ptr::null(), &mut id) },
        FUSEBOX_OK
    );
    let mut lagged = false;
    for _ in 0..20_000 {
        let mut p = fusebox_permit {
            id: 0,
            generation: 0,
            state: 0,
            start_ms: 0,
        };
        assert_eq!(unsafe { fusebox_acquire_permit(id, &mut p) }, FUSEBOX_OK);
        let mut now = 0;
        assert_eq!(unsafe { fusebox_now_ms(&mut now) }, FUSEBOX_OK);
        assert!(
            now >= p.start_ms,
            "now {now} after a permit of {}",
            p.start_ms
        );
        lagged |= now == p.start_ms;
        assert_eq!(
            unsafe { fusebox_complete(&p, FUSEBOX_OUTCOME_SUCCESS) },
            FUSEBOX_OK
        );
    }
    assert!(lagged);
}
