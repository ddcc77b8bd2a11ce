//! Without the `std` feature there is no default clock: calls that need
//! time answer FUSEBOX_NO_CLOCK until one is set; the rest work. (Its own
//! test binary: the C API's clock is process-wide.)
#![cfg(feature = "capi")]
use core::ffi::c_void;
use fusebox::ffi::*;

unsafe extern "C" fn clock(_: *mut c_void) -> u64 {
    77
}

#[test]
fn with_std_a_default_clock_is_there_without_it_none() {
    let mut out = 0u64;
    let status = unsafe { fusebox_now_ms(&mut out) };
    if cfg!(feature = "std") {
        assert_eq!(status, FUSEBOX_OK);
    } else {
        assert_eq!(status, FUSEBOX_NO_CLOCK);
        calls_needing_time_report_no_clock_until_one_is_set();
    }
}

fn calls_needing_time_report_no_clock_until_one_is_set() {
    let mut id = 0;
    let mut out_u64 = 5u64;
    let mut state = 9;
    let mut allowed = true;
    let mut result = 3;
    unsafe extern "C" fn op(_: *mut c_void) -> i32 {
        panic!("op must not run without a clock")
    }
    unsafe {
        assert_eq!(
            fusebox_create(c"nc".as_ptr(), core::ptr::null(), &mut id),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_now_ms(&mut out_u64), FUSEBOX_NO_CLOCK);
        assert_eq!(fusebox_get_state(id, &mut state), FUSEBOX_NO_CLOCK);
        assert_eq!(fusebox_allow_call(id, &mut allowed), FUSEBOX_NO_CLOCK);
        assert_eq!(fusebox_try_acquire(id), FUSEBOX_NO_CLOCK);
        assert_eq!(fusebox_record_success(id), FUSEBOX_NO_CLOCK);
        assert_eq!(fusebox_record_failure(id), FUSEBOX_NO_CLOCK);
        assert_eq!(
            fusebox_call(id, Some(op), core::ptr::null_mut(), &mut result),
            FUSEBOX_NO_CLOCK
        );
        assert_eq!((out_u64, state, allowed, result), (5, 9, true, 3));
        // Calls that need no time work.
        let mut st = core::mem::zeroed::<fusebox_stats>();
        assert_eq!(fusebox_stats_get(id, &mut st), FUSEBOX_OK);
        assert_eq!(st.admitted_count, 0);
        // A time window's stats age with the clock; with none yet they are
        // those of the last record (nothing was recorded without a clock).
        if cfg!(feature = "policies") {
            let mut c = core::mem::zeroed::<fusebox_config>();
            fusebox_config_init(&mut c);
            c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
            c.window_kind = FUSEBOX_WINDOW_TIME;
            c.window_size = 2;
            let mut timed = 0;
            assert_eq!(
                fusebox_create(c"nc-time".as_ptr(), &c, &mut timed),
                FUSEBOX_OK
            );
            st.window_calls = 9;
            assert_eq!(fusebox_stats_get(timed, &mut st), FUSEBOX_OK);
            assert_eq!(st.window_calls, 0);
            assert_eq!(fusebox_destroy(timed), FUSEBOX_OK);
        }
        assert_eq!(fusebox_reset(id), FUSEBOX_OK);
        // NULL does not clear or replace the (absent) clock.
        assert_eq!(
            fusebox_set_clock(None, core::ptr::null_mut()),
            FUSEBOX_NULL_PARAMETER
        );
        assert_eq!(fusebox_try_acquire(id), FUSEBOX_NO_CLOCK);
        assert_eq!(
            fusebox_set_clock(Some(clock), core::ptr::null_mut()),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_now_ms(&mut out_u64), FUSEBOX_OK);
        assert_eq!(out_u64, 77);
        assert_eq!(fusebox_try_acquire(id), FUSEBOX_OK);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
}
