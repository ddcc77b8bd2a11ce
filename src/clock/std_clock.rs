//! [`StdClock`]: the host's monotonic clock (feature `std`).
#![forbid(unsafe_code)]

extern crate std;

use std::sync::OnceLock;
use std::time::Instant;

use super::Clock;

/// The host's monotonic clock: `std::time::Instant` (`CLOCK_MONOTONIC` on
/// Linux), in milliseconds since the first reading any `StdClock` took in
/// the process, so that every `StdClock` agrees. (The C API's default
/// clock is another: `CLOCK_MONOTONIC_COARSE` since boot, see
/// `fusebox_set_clock`.) A zero-sized value: `StdClock` can be a `static` or a
/// `const`, copied freely. Costs one `Instant::now()` a reading.
///
/// ```
/// use fusebox::{Clock, StdClock};
/// let clock = StdClock;
/// let a = clock.now_ms();
/// assert!(clock.now_ms() >= a);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StdClock;

impl StdClock {
    /// Milliseconds since the process's first reading. Saturates at
    /// `u64::MAX` (after 584 million years).
    pub fn now() -> u64 {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        let ms = EPOCH.get_or_init(Instant::now).elapsed().as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX)
    }
}

impl Clock for StdClock {
    #[inline]
    fn now_ms(&self) -> u64 {
        StdClock::now()
    }
}
