//! The policy state snapshots carry, checked on the way back (a part of
//! `policies.rs`): a count window's outcome bits, a time window's
//! buckets, the backoff step.
#![forbid(unsafe_code)]

use super::super::blob::{put_zeros, Writer, F_FORCED, F_TIMED, F_WINDOW};
#[cfg(test)]
use super::super::PolicyParts;
use super::super::{Breaker, PolicyView, SplitU64, State, SNAPSHOT_BUCKETS, WINDOW_BITS_BYTES};
use super::Flags;
use crate::policy::arith::div_rem;
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
/// have been written). In line: its two parts have frames of their own,
/// called one after the other (the firmware's deepest restore chain went
/// through one frame holding both).
#[inline(always)]
pub(super) fn checked_window(
    config: &Config,
    state: State,
    x: &impl PolicyView,
    now_ms: u64,
    window: Option<&mut RateWindow>,
) -> Result<(), Error> {
    if !parts_ok(config, state, x) {
        return Err(Error::BadSnapshot);
    }
    restore_window(&config.policy, x, now_ms, window).ok_or(Error::BadSnapshot)
}

/// [`checked_window`]'s checks before the window's, in a frame of their
/// own: off the path of the window's checks and building (the deepest of
/// a restore on the firmware).
#[inline(never)]
fn parts_ok(config: &Config, state: State, x: &impl PolicyView) -> bool {
    let p = &config.policy;
    let max_calls = config.half_open_max_calls;
    let done = x
        .half_open_successes()
        .saturating_add(x.half_open_failures());
    let round_ok = if state != State::HalfOpen {
        done == 0 && x.half_open_slow() == 0
    } else if p.half_open_judge == ProbeJudge::Rate {
        done < max_calls && x.half_open_slow() <= done
    } else {
        x.half_open_successes() < p.half_open_success_threshold
            && x.half_open_failures() == 0
            && x.half_open_slow() == 0
    };
    let forced_ok = match x.forced() {
        None => true,
        Some((ms, left)) => state == State::ForcedOpen && ms != 0 && left <= ms,
    };
    round_ok
        && forced_ok
        && x.rng() != 0
        && backoff_reachable(p, config.reset_timeout_ms, x.open_base_ms())
        && jitter_allows(p, x.open_base_ms(), x.open_ms())
}

/// The policy state a snapshot carries, as it stands at `now_ms`, encoded
/// straight into `w` field by field (the blob's offsets 136 to the end of
/// the buckets): what `policy_parts` copies, in the blob's order (the
/// snapshot tests hold the two together). Returns the blob's flags among
/// `F_TIMED`, `F_WINDOW` and `F_FORCED`.
pub(super) fn encode_policy(b: &Breaker, now_ms: u64, w: &mut Writer<'_>) -> u8 {
    let e = &b.ext;
    let p = &b.config.policy;
    w.u64(e.transitions.get());
    w.u64(e.slow_count.get());
    w.u64(e.stale_count.get());
    w.u64(e.ignored_count.get());
    w.u32(e.half_open_successes);
    w.u32(e.half_open_failures);
    w.u32(e.half_open_slow);
    w.u32(e.open_base_ms);
    w.u32(e.open_ms);
    w.u32(e.rng);
    for t in &e.time_in_ms {
        w.u64(t.get());
    }
    let mut flags = 0;
    if b.flags.timed() {
        flags |= F_TIMED;
        w.u64(now_ms.saturating_sub(e.state_since_ms.get()));
    } else {
        w.u64(0);
    }
    w.u64(if b.state == State::HalfOpen {
        now_ms.saturating_sub(e.probes_since_ms.get())
    } else {
        0
    });
    let ms = e.forced_ms.get();
    if b.state == State::ForcedOpen && ms != 0 {
        flags |= F_FORCED;
        let elapsed = now_ms.saturating_sub(e.forced_since_ms.get());
        w.u64(ms);
        w.u64(ms.saturating_sub(elapsed));
    } else {
        w.u64(0);
        w.u64(0);
    }
    // A breaker without a rate rule keeps no window (a time window may
    // still hold a bucket start, with nothing in it): none is written, as
    // none is restored.
    let kind = b.has_window().then_some(p.window_kind);
    if kind == Some(WindowKind::Count) {
        encode_count_window(e, p, w);
        return flags;
    }
    w.u16(0);
    w.u16(0);
    w.u32(0);
    // A time window as it stands at `now_ms` (as `RateWindow::aged` moves
    // it, without a copy of the window): the `k` buckets that expired by
    // then are left out (the rest move back `k` places, empty ones after
    // them), and the newest one's start is at most a bucket old.
    let mut expired = 0;
    let mut newest = None;
    if kind == Some(WindowKind::Time) {
        let start = e.window.newest_bucket_start(p);
        newest = start;
        if let Some(elapsed) = start.and_then(|s| now_ms.checked_sub(s)) {
            let (k, into) = div_rem(elapsed, p.bucket_ms.max(1));
            if k != 0 {
                expired = usize::try_from(k).unwrap_or(usize::MAX);
                newest = Some(now_ms.saturating_sub(u64::from(into)));
            }
        }
    }
    match newest {
        Some(start) => {
            flags |= F_WINDOW;
            w.u64(now_ms.saturating_sub(start));
        }
        None => w.u64(0),
    }
    put_zeros(w, 2 * WINDOW_BITS_BYTES);
    let mut written = 0;
    if kind == Some(WindowKind::Time) {
        for t in e
            .window
            .time_buckets(p)
            .skip(expired)
            .take(SNAPSHOT_BUCKETS)
        {
            w.u32(t.calls);
            w.u32(t.failures);
            w.u32(t.slow);
            written += 1;
        }
    }
    put_zeros(w, 12 * SNAPSHOT_BUCKETS.saturating_sub(written));
    flags
}

/// A count window's part of [`encode_policy`] (blob offsets 248 to the
/// end of the buckets), in a frame of its own: the calls held, then their
/// outcome bits, oldest first (no time window: no start, no buckets).
#[inline(never)]
fn encode_count_window(e: &super::Ext, p: &crate::Policy, w: &mut Writer<'_>) {
    let mut failed = [0u8; WINDOW_BITS_BYTES];
    let mut slow = [0u8; WINDOW_BITS_BYTES];
    let mut fill: u16 = 0;
    for (k, (f, s)) in e.window.count_outcomes(p).enumerate() {
        set_bit(&mut failed, k, f);
        set_bit(&mut slow, k, s);
        fill = fill.saturating_add(1);
    }
    w.u16(fill);
    // Padding, and the newest bucket's age (no time window).
    put_zeros(w, 6 + 8);
    for &byte in failed.iter().chain(&slow) {
        w.u8(byte);
    }
    put_zeros(w, 12 * SNAPSHOT_BUCKETS);
}

/// Sets bit `k` of `bits` (oldest first, bit k of byte k / 8).
pub(super) fn set_bit(bits: &mut [u8], k: usize, on: bool) {
    if let Some(byte) = bits.get_mut(k / 8) {
        if on {
            *byte |= 1 << (k % 8);
        }
    }
}

#[cfg(test)]
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
        let next = backed_off(p, d);
        if next <= d || next > base {
            return false;
        }
        d = next;
    }
}

/// `a × b / 100`, rounded down: `Policy::backed_off`'s and
/// `Policy::jitter_span`'s product and quotient, divided 16 bits at a time
/// (each partial dividend is below 100 × 2^16): the same answer with 32-bit
/// divisions, without the 64-bit division's routines (and their stack) on
/// a restore's path. A test holds them together.
#[inline(never)]
fn mul_div100(a: u32, b: u32) -> u64 {
    let n = crate::policy::arith::mul_wide(a, b);
    // The digits by 32-bit shifts (a variable 64-bit shift is a helper
    // routine on Cortex-M0, `__aeabi_llsr`).
    let (hi, lo) = ((n >> 32) as u32, n as u32);
    let mut q: u64 = 0;
    let mut r: u32 = 0;
    for digit in [hi >> 16, hi & 0xFFFF, lo >> 16, lo & 0xFFFF] {
        let cur = (r << 16) | digit;
        q = (q << 16) | u64::from(cur / 100);
        r = cur % 100;
    }
    q
}

/// `Policy::backed_off`: `base_ms × backoff_percent / 100`, capped.
fn backed_off(p: &Policy, base_ms: u32) -> u32 {
    let cap = if p.max_open_ms == 0 {
        u32::MAX
    } else {
        p.max_open_ms
    };
    u32::try_from(mul_div100(base_ms, p.backoff_percent))
        .unwrap_or(u32::MAX)
        .min(cap)
}

/// Whether `open` is a jittered draw around `base`.
fn jitter_allows(p: &Policy, base: u32, open: u32) -> bool {
    if p.jitter_percent == 0 {
        return open == base;
    }
    let span = mul_div100(base, p.jitter_percent);
    let lo = u64::from(base).saturating_sub(span).max(1);
    let hi = u64::from(base) + span;
    (lo..=hi).contains(&u64::from(open)) || open == base
}

/// The rate window of a snapshot's parts, checked against the breaker's
/// policy: `None` for bits beyond the calls held, more calls than the
/// window, a bucket beyond the window's size or with more failures than
/// calls, or contents of the other kind of window. Written to `out` if
/// given. In a frame of its own (see [`checked_window`]).
#[inline(never)]
fn restore_window(
    p: &Policy,
    x: &impl PolicyView,
    now_ms: u64,
    out: Option<&mut RateWindow>,
) -> Option<()> {
    let has = keeps_window(p);
    let size = p.window_size as usize;
    let fill = usize::from(x.window_fill());
    let no_buckets =
        x.newest_bucket_age_ms().is_none() && (0..SNAPSHOT_BUCKETS).all(|i| x.bucket_empty(i));
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
            // Nothing more to check: the window of `fill <= size` calls is
            // built only when it is written.
            if let Some(out) = out {
                count_window(p, x, out);
            }
            Some(())
        }
        WindowKind::Time => {
            if fill != 0 || !bits_clear_from(x, 0) {
                return None;
            }
            if (size..SNAPSHOT_BUCKETS).any(|i| !x.bucket_empty(i)) {
                return None;
            }
            match out {
                Some(out) => time_window(p, x, now_ms, out),
                None => time_buckets_ok(p, x),
            }
        }
    }
}

/// Whether no outcome bit is set from call `from` on.
fn bits_clear_from(x: &impl PolicyView, from: usize) -> bool {
    (from..WINDOW_BITS_BYTES * 8).all(|k| !x.failed_bit(k) && !x.slow_bit(k))
}

/// A count window's part of [`restore_window`], once checked (`window_fill`
/// calls, at most the window's size): the window that records them, oldest
/// first, into an empty one (as `RateWindow::from_count_outcomes` builds
/// it), recorded in place in `out` (no window on the stack). In a frame of
/// its own: off the time window's path.
#[inline(never)]
fn count_window(p: &Policy, x: &impl PolicyView, out: &mut RateWindow) {
    // `RateWindow::from_count_outcomes` (test-only) is the rule this
    // follows: the restore tests and
    // `check_parts_answers_as_building_the_breaker_does` hold them together.
    *out = RateWindow::EMPTY;
    for k in 0..usize::from(x.window_fill()) {
        out.record_count(p, x.failed_bit(k), x.slow_bit(k));
    }
}

/// A time window's part of [`restore_window`] without building it: the
/// checks of [`time_window`] (`RateWindow::from_time_buckets`'s refusals):
/// the newest bucket at most a bucket old, no bucket with more failures or
/// slow calls than calls, no calls in a window that has not started.
fn time_buckets_ok(p: &Policy, x: &impl PolicyView) -> Option<()> {
    let size = p.window_size as usize;
    let started = match x.newest_bucket_age_ms() {
        Some(age) if age >= u64::from(p.bucket_ms) => return None,
        Some(_) => true,
        None => false,
    };
    let ok = (0..size.min(SNAPSHOT_BUCKETS))
        .map(|i| x.bucket(i))
        .all(|[calls, failures, slow]| {
            failures <= calls && slow <= calls && (started || calls == 0)
        });
    ok.then_some(())
}

/// A time window's part of [`restore_window`], written to `out`, in a
/// frame of its own.
#[inline(never)]
fn time_window(p: &Policy, x: &impl PolicyView, now_ms: u64, out: &mut RateWindow) -> Option<()> {
    let size = p.window_size as usize;
    // The newest bucket is at most a bucket old (the snapshot aged the
    // window to its reading).
    let start = match x.newest_bucket_age_ms() {
        Some(age) if age >= u64::from(p.bucket_ms) => return None,
        Some(age) => Some(now_ms.saturating_sub(age)),
        None => None,
    };
    let buckets = (0..size.min(SNAPSHOT_BUCKETS))
        .map(|i| x.bucket(i))
        .map(|t| Totals {
            calls: t[0],
            failures: t[1],
            slow: t[2],
        });
    RateWindow::time_buckets_into(p, start, buckets, out)
}

/// [`Hooks::set_policy_parts`]'s copy of checked policy parts into `b`
/// (its rate window already built), in a frame of its own: off the
/// window's checks' path (the firmware's stack).
#[inline(never)]
pub(super) fn copy_policy_parts(b: &mut Breaker, x: &impl PolicyView, now_ms: u64) {
    let max_calls = b.config.half_open_max_calls;
    let done = x
        .half_open_successes()
        .saturating_add(x.half_open_failures());
    let e = &mut b.ext;
    e.transitions = SplitU64::new(x.transitions());
    e.slow_count = SplitU64::new(x.slow_count());
    e.stale_count = SplitU64::new(x.stale_count());
    e.ignored_count = SplitU64::new(x.ignored_count());
    e.half_open_successes = x.half_open_successes();
    e.half_open_failures = x.half_open_failures();
    e.half_open_slow = x.half_open_slow();
    e.open_base_ms = x.open_base_ms();
    e.open_ms = x.open_ms();
    e.rng = x.rng();
    for (i, t) in e.time_in_ms.iter_mut().enumerate() {
        *t = SplitU64::new(x.time_in_state_ms(i));
    }
    if let Some(age) = x.state_age_ms() {
        e.state_since_ms = SplitU64::new(now_ms.saturating_sub(age));
        b.flags.0 |= Flags::TIMED;
    }
    if b.state == State::HalfOpen {
        e.probes_since_ms = SplitU64::new(now_ms.saturating_sub(x.probes_age_ms()));
        // The probes that reported keep their slots; those in flight
        // are released.
        b.half_open_calls = done.min(max_calls);
    }
    if let Some((ms, left)) = x.forced() {
        // It ends `left` ms from now; `since + ms` is that end.
        let end = now_ms.saturating_add(left);
        match end.checked_sub(ms) {
            Some(since) => {
                e.forced_since_ms = SplitU64::new(since);
                e.forced_ms = SplitU64::new(ms);
            }
            None => {
                e.forced_since_ms = SplitU64::new(0);
                e.forced_ms = SplitU64::new(end.max(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{Breaker, Parts, SNAPSHOT_BUCKETS};
    use super::*;
    use crate::{Config, Policy, TripRule, WindowKind};

    /// A breaker with a rate window of `kind` (4 calls, or 4 buckets of
    /// 100 ms) that never trips, after five outcomes.
    fn windowed(kind: WindowKind) -> Breaker {
        let p = Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_minimum_calls(u32::MAX)
            .with_window(kind, 4, 100);
        let mut b = Breaker::new(Config::default().with_policy(p)).unwrap();
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
        b
    }

    /// The window checks without a window (`check_parts`) answer as
    /// building it does (`from_parts`), and the window built in place is
    /// the one `RateWindow`'s own constructors build.
    #[test]
    fn window_checks_answer_as_building_the_window_does() {
        type Edit = fn(&mut PolicyParts);
        let cases: [(WindowKind, Edit, bool); 11] = [
            (WindowKind::Count, |_| (), true),
            (WindowKind::Count, |x| x.window_fill = 5, false),
            (WindowKind::Count, |x| x.window_fill = 0, false), // bits past the fill
            (WindowKind::Time, |_| (), true),
            (
                WindowKind::Time,
                |x| x.newest_bucket_age_ms = Some(99),
                true,
            ),
            (
                WindowKind::Time,
                |x| x.newest_bucket_age_ms = Some(100),
                false,
            ),
            (WindowKind::Time, |x| x.buckets[0] = [1, 2, 0], false),
            (WindowKind::Time, |x| x.buckets[1] = [1, 0, 2], false),
            (WindowKind::Time, |x| x.buckets[3] = [5, 5, 5], true),
            (WindowKind::Time, |x| x.newest_bucket_age_ms = None, false), // calls, no start
            (
                WindowKind::Time,
                |x| {
                    x.newest_bucket_age_ms = None;
                    x.buckets = [[0; 3]; SNAPSHOT_BUCKETS];
                },
                true,
            ),
        ];
        for (i, (kind, edit, ok)) in cases.into_iter().enumerate() {
            let b = windowed(kind);
            let mut parts = Parts::EMPTY;
            b.to_parts(300, &mut parts);
            edit(parts.policy.as_mut().unwrap());
            let checked = Breaker::check_parts(&b.config, &parts, 300);
            let built = Breaker::from_parts(b.config, &parts, 300);
            assert_eq!(
                checked,
                built.as_ref().map(drop).map_err(|e| *e),
                "case {i}"
            );
            assert_eq!(checked.is_ok(), ok, "case {i}: {checked:?}");
            let (Ok(r), Some(x)) = (built, parts.policy.as_ref()) else {
                continue;
            };
            let p = &b.config.policy;
            let fill = usize::from(x.window_fill);
            let want = match kind {
                WindowKind::Count => RateWindow::from_count_outcomes(
                    p,
                    (0..fill).map(|k| (get_bit(&x.window_failed, k), get_bit(&x.window_slow, k))),
                ),
                WindowKind::Time => Some(r.ext.window), // built by from_time_buckets itself
            };
            assert_eq!(Some(r.ext.window), want, "case {i}");
            if i == 0 || i == 3 {
                // Unedited: the breaker's own window as it stands then
                // (the same calls or buckets, oldest first, and start).
                let (got, was) = (&r.ext.window, b.ext.window.aged(p, 300));
                assert!(got.count_outcomes(p).eq(was.count_outcomes(p)), "case {i}");
                assert!(got.time_buckets(p).eq(was.time_buckets(p)), "case {i}");
                assert_eq!(got.newest_bucket_start(p), was.newest_bucket_start(p));
            }
        }
    }

    /// `policy_parts` ages a time window's buckets without a copy of the
    /// window: as `RateWindow::aged` moves them, at every reading (none
    /// expired, some, all, a clock that went back, far later).
    #[test]
    fn policy_parts_ages_as_the_window_does() {
        let b = windowed(WindowKind::Time);
        let fresh = Breaker::new(*b.config()).unwrap();
        let p = b.config().policy;
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

    /// The restore's `backed_off` and jitter span are `Policy`'s: every
    /// percent and cap against durations around the 16- and 32-bit
    /// boundaries.
    #[test]
    fn backoff_and_jitter_span_are_the_policys() {
        let durations = [
            0,
            1,
            99,
            100,
            101,
            655,
            65_535,
            65_536,
            1 << 24,
            u32::MAX / 100,
            u32::MAX / 3,
            u32::MAX - 1,
            u32::MAX,
        ];
        for percent in [0, 1, 99, 100, 101, 150, 200, 1_000, 65_537, u32::MAX] {
            for max_open in [0, 1, 5_000, u32::MAX] {
                let p = Policy::SNAKEPIT
                    .with_backoff(percent, max_open)
                    .with_jitter(percent, 1);
                for d in durations {
                    assert_eq!(
                        backed_off(&p, d),
                        p.backed_off(d),
                        "{d} × {percent}%, cap {max_open}"
                    );
                    assert_eq!(mul_div100(d, percent), p.jitter_span(d), "{d} × {percent}%");
                }
            }
        }
    }
}
