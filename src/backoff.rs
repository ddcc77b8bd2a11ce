//! How fusebox waits on hosts for another thread to finish bookkeeping it
//! cannot skip (a delivery of events, a call of a callback being replaced):
//! never an unbounded spin, so that a waiter of higher real-time priority
//! on the same CPU lets the thread it waits for run.
#![forbid(unsafe_code)]

extern crate std;

/// One round of waiting, the `round`-th (from 0): spins briefly, then
/// yields, then sleeps 50 µs a round.
pub(crate) fn pause(round: u32) {
    if round < 64 {
        core::hint::spin_loop();
    } else if round < 128 {
        std::thread::yield_now();
    } else {
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

/// Waits until `done()`, pausing between looks.
#[cfg(feature = "capi")]
pub(crate) fn wait_until(mut done: impl FnMut() -> bool) {
    let mut round = 0u32;
    while !done() {
        pause(round);
        round = round.saturating_add(1);
    }
}
