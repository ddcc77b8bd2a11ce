//! Reading the C API's clock and a breaker's state, asserting success, for
//! the tests that drive the C API's process-wide clock.

use fusebox::ffi::*;

/// `fusebox_now_ms`, which must succeed.
pub fn now() -> u64 {
    let mut now = 0;
    // SAFETY: `now` is a valid, writable u64.
    assert_eq!(unsafe { fusebox_now_ms(&mut now) }, FUSEBOX_OK);
    now
}

/// `fusebox_get_state` of `id`, which must succeed.
pub fn state(id: fusebox_id) -> fusebox_state {
    let mut st = FUSEBOX_STATE_CLOSED;
    // SAFETY: `st` is a valid, writable state.
    assert_eq!(unsafe { fusebox_get_state(id, &mut st) }, FUSEBOX_OK);
    st
}
