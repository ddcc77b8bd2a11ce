//! What the metrics (src/registry/metrics.rs) read of a breaker: the
//! figures of its [`Stats`] that the exposition writes, read on their own
//! (half a `Stats`' bytes: the firmware's exposition holds one, under the
//! frames that write it).
#![forbid(unsafe_code)]

use super::hooks::Ext;
use super::{Breaker, Hooks};
use crate::{State, Stats};

/// The figures of a breaker's [`Stats`] that the metrics write, each as
/// [`Breaker::stats_into`] reports it (the field of `Stats` named beside
/// it; a unit test holds the two together).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Readout {
    /// `state`.
    pub(crate) state: State,
    /// `admitted_count`.
    pub(crate) admitted: u64,
    /// `rejected_count`.
    pub(crate) rejected: u64,
    /// `success_count`.
    pub(crate) succeeded: u64,
    /// `failure_total`.
    pub(crate) failed: u64,
    /// `ignored_count`.
    #[cfg(feature = "policies")]
    pub(crate) ignored: u64,
    /// `slow_count`.
    #[cfg(feature = "policies")]
    pub(crate) slow: u64,
    /// `window_calls`.
    #[cfg(feature = "policies")]
    pub(crate) window_calls: u32,
    /// `window_failures`.
    #[cfg(feature = "policies")]
    pub(crate) window_failures: u32,
    /// `window_slow`.
    #[cfg(feature = "policies")]
    pub(crate) window_slow: u32,
    /// The time spent open or forced open up to the reading:
    /// `time_in_state_ms[1]`, plus the current period since
    /// `state_since_ms` if `state` is open or forced open.
    #[cfg(feature = "policies")]
    pub(crate) open_ms: u64,
}

impl Readout {
    pub(crate) const ZERO: Readout = Readout {
        state: State::Closed,
        admitted: 0,
        rejected: 0,
        succeeded: 0,
        failed: 0,
        #[cfg(feature = "policies")]
        ignored: 0,
        #[cfg(feature = "policies")]
        slow: 0,
        #[cfg(feature = "policies")]
        window_calls: 0,
        #[cfg(feature = "policies")]
        window_failures: 0,
        #[cfg(feature = "policies")]
        window_slow: 0,
        #[cfg(feature = "policies")]
        open_ms: 0,
    };

    /// The figures of `s`, read at `now_ms`.
    #[cfg_attr(not(any(test, fusebox_fast)), allow(dead_code))]
    pub(crate) fn of_stats(s: &Stats, now_ms: u64) -> Readout {
        #[cfg(not(feature = "policies"))]
        let _ = now_ms;
        Readout {
            state: s.state,
            admitted: s.admitted_count,
            rejected: s.rejected_count,
            succeeded: s.success_count,
            failed: s.failure_total,
            #[cfg(feature = "policies")]
            ignored: s.ignored_count,
            #[cfg(feature = "policies")]
            slow: s.slow_count,
            #[cfg(feature = "policies")]
            window_calls: s.window_calls,
            #[cfg(feature = "policies")]
            window_failures: s.window_failures,
            #[cfg(feature = "policies")]
            window_slow: s.window_slow,
            #[cfg(feature = "policies")]
            open_ms: open_ms(s.state, s.time_in_state_ms[1], s.state_since_ms, now_ms),
        }
    }
}

/// The time spent open up to `now_ms`: `closed_periods` (the time spent
/// open before the current state), plus the current period if `state` is
/// open or forced open (since `since_ms`).
#[cfg(feature = "policies")]
pub(super) fn open_ms(state: State, closed_periods: u64, since_ms: u64, now_ms: u64) -> u64 {
    match state {
        State::Open | State::ForcedOpen => {
            closed_periods.saturating_add(now_ms.saturating_sub(since_ms))
        }
        _ => closed_periods,
    }
}

impl Breaker {
    /// The figures [`stats_into`](Self::stats_into) would report as of
    /// `now_ms` for a [`Readout`], into `out` (every field written),
    /// without the rest. (`out` before the time, as `u64`: every argument
    /// in a register on 32-bit Arm.)
    #[cfg_attr(fusebox_fast, allow(dead_code))]
    pub(crate) fn readout_into(&self, out: &mut Readout, now_ms: u64) {
        out.state = self.state;
        out.admitted = self.admitted_count.get();
        out.rejected = self.rejected_count.get();
        out.succeeded = self.success_count.get();
        out.failed = self.failure_total.get();
        Ext::fill_readout(self, out, now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    #[cfg(feature = "policies")]
    use crate::{Outcome, Policy, TripRule, WindowKind};

    /// A breaker's readout is its stats' figures, through every state and
    /// with each kind of window, as the time goes on.
    #[test]
    fn readout_is_the_stats_figures() {
        let base = Config::default().with_reset_timeout_ms(300);
        #[cfg_attr(not(feature = "policies"), allow(unused_mut))]
        let mut configs = vec![base.with_failure_threshold(3)];
        #[cfg(feature = "policies")]
        for (kind, size, bucket) in [(WindowKind::Count, 8, 0), (WindowKind::Time, 4, 100)] {
            let policy = Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(kind, size, bucket)
                .with_minimum_calls(4)
                .with_slow_calls(5, 100);
            configs.push(base.with_policy(policy));
        }
        #[cfg_attr(not(feature = "policies"), allow(unused_mut))]
        let (mut opened, mut slow, mut windowed) = (false, false, false);
        for config in configs {
            let mut b = Breaker::new(config).unwrap();
            let mut now = 1_000u64;
            for step in 0..300u64 {
                match step % 7 {
                    0 | 3 => b.record_success(now),
                    1 | 4 => b.record_failure(now),
                    #[cfg(feature = "policies")]
                    5 => b.record(Outcome::Success, step % 11, now),
                    _ => {
                        let _ = b.try_acquire(now);
                    }
                }
                now += 37 * (step % 5) + step % 3;
                for at in [now, now + 10_000] {
                    let mut r = Readout::ZERO;
                    b.readout_into(&mut r, at);
                    assert_eq!(
                        r,
                        Readout::of_stats(&b.stats_as_of(Some(at)), at),
                        "step {step}"
                    );
                    opened |= r.state == State::Open;
                    #[cfg(feature = "policies")]
                    {
                        slow |= r.slow != 0;
                        windowed |= r.window_calls != 0 && r.open_ms != 0;
                    }
                }
            }
        }
        // What the steps reach: an open breaker, and with policies slow
        // calls, a window with calls, time spent open.
        assert!(opened);
        if cfg!(feature = "policies") {
            assert!(slow && windowed);
        }
    }
}
