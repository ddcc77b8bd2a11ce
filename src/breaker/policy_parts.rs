//! The policy state snapshots carry, checked on the way back (a part of
//! `policies.rs`): a count window's outcome bits, a time window's
//! buckets, the backoff step.
#![forbid(unsafe_code)]

use super::super::{PolicyParts, State};
use crate::policy::window::Totals;
use crate::policy::{ProbeJudge, RateWindow, TripRule, WindowKind};
use crate::{Config, Error, Policy};

/// Whether `p` keeps a rate window: a failure-rate rule, or slow calls.
#[inline]
pub(super) fn keeps_window(p: &Policy) -> bool {
    p.trip_rule == TripRule::FailureRate || p.slow_call_ms != 0
}

/// Checks policy parts for a breaker with `config` in `state` (the
/// snapshot's), restored at `now_ms`, without a breaker: the half-open
/// round, the forced-open time, the jitter generator, the backoff step and
/// the rate window (built, and written to `window` if given: the restored
/// breaker's; a check alone keeps no copy of it). [`Error::BadSnapshot`]
/// for state such a breaker could not have reached (`window` then may
/// have been written).
pub(super) fn checked_window(
    config: &Config,
    state: State,
    x: &PolicyParts,
    now_ms: u64,
    window: Option<&mut RateWindow>,
) -> Result<(), Error> {
    let p = &config.policy;
    let max_calls = config.half_open_max_calls;
    let done = x.half_open_successes.saturating_add(x.half_open_failures);
    let round_ok = if state != State::HalfOpen {
        done == 0 && x.half_open_slow == 0
    } else if p.half_open_judge == ProbeJudge::Rate {
        done < max_calls && x.half_open_slow <= done
    } else {
        x.half_open_successes < p.half_open_success_threshold
            && x.half_open_failures == 0
            && x.half_open_slow == 0
    };
    let forced_ok = match x.forced {
        None => true,
        Some((ms, left)) => state == State::ForcedOpen && ms != 0 && left <= ms,
    };
    if !round_ok
        || !forced_ok
        || x.rng == 0
        || !backoff_reachable(p, config.reset_timeout_ms, x.open_base_ms)
        || !jitter_allows(p, x.open_base_ms, x.open_ms)
    {
        return Err(Error::BadSnapshot);
    }
    restore_window(p, x, now_ms, window).ok_or(Error::BadSnapshot)
}

/// Sets bit `k` of `bits` (oldest first, bit k of byte k / 8).
pub(super) fn set_bit(bits: &mut [u8], k: usize, on: bool) {
    if let Some(byte) = bits.get_mut(k / 8) {
        if on {
            *byte |= 1 << (k % 8);
        }
    }
}

pub(super) fn get_bit(bits: &[u8], k: usize) -> bool {
    bits.get(k / 8).is_some_and(|b| (b >> (k % 8)) & 1 != 0)
}

/// Whether `base` is an open duration the backoff can reach from
/// `reset_ms`: reset_ms, backed off some number of times. The steps are
/// walked until the duration stops growing (the cap, `u32::MAX`, or a
/// 1 % step that rounds to nothing): at most about 2 000 steps, outside
/// every lock.
fn backoff_reachable(p: &Policy, reset_ms: u32, base: u32) -> bool {
    let mut d = reset_ms;
    loop {
        if d == base {
            return true;
        }
        let next = p.backed_off(d);
        if next <= d || next > base {
            return false;
        }
        d = next;
    }
}

/// Whether `open` is a jittered draw around `base`.
fn jitter_allows(p: &Policy, base: u32, open: u32) -> bool {
    if p.jitter_percent == 0 {
        return open == base;
    }
    let span = p.jitter_span(base);
    let lo = u64::from(base).saturating_sub(span).max(1);
    let hi = u64::from(base) + span;
    (lo..=hi).contains(&u64::from(open)) || open == base
}

/// The rate window of a snapshot's parts, checked against the breaker's
/// policy: `None` for bits beyond the calls held, more calls than the
/// window, a bucket beyond the window's size or with more failures than
/// calls, or contents of the other kind of window. Written to `out` if
/// given.
fn restore_window(
    p: &Policy,
    x: &PolicyParts,
    now_ms: u64,
    out: Option<&mut RateWindow>,
) -> Option<()> {
    let has = keeps_window(p);
    let size = p.window_size as usize;
    let fill = usize::from(x.window_fill);
    let no_buckets = x.newest_bucket_age_ms.is_none() && x.buckets.iter().all(|t| *t == [0; 3]);
    match p.window_kind {
        _ if !has => {
            if !(fill == 0 && bits_clear_from(x, 0) && no_buckets) {
                return None;
            }
            if let Some(out) = out {
                *out = RateWindow::EMPTY;
            }
            Some(())
        }
        WindowKind::Count => {
            if fill > size || !bits_clear_from(x, fill) || !no_buckets {
                return None;
            }
            count_window(p, x, out)
        }
        WindowKind::Time => {
            if fill != 0 || !bits_clear_from(x, 0) {
                return None;
            }
            if x.buckets.iter().skip(size).any(|t| *t != [0; 3]) {
                return None;
            }
            time_window(p, x, now_ms, out)
        }
    }
}

/// Whether no outcome bit is set from call `from` on.
fn bits_clear_from(x: &PolicyParts, from: usize) -> bool {
    (from..x.window_failed.len() * 8)
        .all(|k| !get_bit(&x.window_failed, k) && !get_bit(&x.window_slow, k))
}

/// A count window's part of [`restore_window`], in a frame of its own
/// (one window built at a time on the stack).
#[inline(never)]
fn count_window(p: &Policy, x: &PolicyParts, out: Option<&mut RateWindow>) -> Option<()> {
    let fill = usize::from(x.window_fill);
    let outcomes = (0..fill).map(|k| (get_bit(&x.window_failed, k), get_bit(&x.window_slow, k)));
    let w = RateWindow::from_count_outcomes(p, outcomes)?;
    if let Some(out) = out {
        *out = w;
    }
    Some(())
}

/// A time window's part of [`restore_window`], in a frame of its own.
#[inline(never)]
fn time_window(
    p: &Policy,
    x: &PolicyParts,
    now_ms: u64,
    out: Option<&mut RateWindow>,
) -> Option<()> {
    let size = p.window_size as usize;
    // The newest bucket is at most a bucket old (the snapshot aged the
    // window to its reading).
    let start = match x.newest_bucket_age_ms {
        Some(age) if age >= u64::from(p.bucket_ms) => return None,
        Some(age) => Some(now_ms.saturating_sub(age)),
        None => None,
    };
    let buckets = x.buckets.iter().take(size).map(|t| Totals {
        calls: t[0],
        failures: t[1],
        slow: t[2],
    });
    let w = RateWindow::from_time_buckets(p, start, buckets)?;
    if let Some(out) = out {
        *out = w;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::super::{Breaker, Parts, SNAPSHOT_BUCKETS};
    use crate::{Config, Policy, TripRule, WindowKind};

    /// `policy_parts` ages a time window's buckets without a copy of the
    /// window: as `RateWindow::aged` moves them, at every reading (none
    /// expired, some, all, a clock that went back, far later).
    #[test]
    fn policy_parts_ages_as_the_window_does() {
        let p = Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_minimum_calls(u32::MAX)
            .with_window(WindowKind::Time, 4, 100);
        let config = Config::default().with_policy(p);
        let fresh = Breaker::new(config).unwrap();
        let mut b = Breaker::new(config).unwrap();
        for (t, failed) in [
            (5, true),
            (50, false),
            (130, true),
            (260, false),
            (270, true),
        ] {
            if failed {
                b.record_failure(t);
            } else {
                b.record_success(t);
            }
        }
        let readings = [
            0,
            4,
            269,
            270,
            299,
            300,
            301,
            399,
            400,
            450,
            599,
            600,
            699,
            700,
            1_000,
            10_007,
            u64::MAX,
        ];
        for (b, now) in readings.iter().flat_map(|&now| [(&b, now), (&fresh, now)]) {
            let mut parts = Parts::EMPTY;
            b.to_parts(now, &mut parts);
            let x = parts.policy.unwrap();
            let w = b.ext.window.aged(&p, now);
            let age = w.newest_bucket_start(&p).map(|s| now.saturating_sub(s));
            assert_eq!(x.newest_bucket_age_ms, age, "at {now}");
            let mut buckets = [[0; 3]; SNAPSHOT_BUCKETS];
            for (slot, t) in buckets.iter_mut().zip(w.time_buckets(&p)) {
                *slot = [t.calls, t.failures, t.slow];
            }
            assert_eq!(x.buckets, buckets, "at {now}");
        }
    }
}
