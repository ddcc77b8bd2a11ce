//! One test per policy rule beyond Snakepit (docs/policies.md), all on a
//! ManualClock or explicit times: deterministic and instant.
#![cfg(feature = "policies")]

use fusebox::{
    Breaker, CallError, Clock, Config, Error, Id, ManualClock, Outcome, Permit, Policy, ProbeJudge,
    Reason, Registry, State, Transition, TripRule, WaitAction, WindowKind, MAX_BUCKETS,
    MAX_WINDOW_CALLS,
};

fn with(policy: Policy) -> Config {
    Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(1_000)
        .with_half_open_max_calls(2)
        .with_policy(policy)
}

fn breaker(policy: Policy) -> Breaker {
    Breaker::new(with(policy)).unwrap()
}

/// Every transition taken so far, as (from, to, reason).
fn transitions(b: &mut Breaker) -> Vec<(State, State, Reason)> {
    core::iter::from_fn(|| b.take_transition())
        .map(|t| (t.from, t.to, t.reason))
        .collect()
}

/// A breaker opened at `t` by three failures, its transitions drained.
fn open_at(policy: Policy, t: u64) -> Breaker {
    let mut b = breaker(policy);
    for _ in 0..3 {
        b.record_failure(t);
    }
    assert_eq!(b.state(t), State::Open);
    transitions(&mut b);
    b
}

#[test]
fn snakepit_policy_is_the_default() {
    assert_eq!(Config::default().policy, Policy::SNAKEPIT);
    assert_eq!(Policy::default(), Policy::SNAKEPIT);
}

#[test]
fn every_out_of_range_policy_field_is_invalid_config() {
    let p = Policy::SNAKEPIT;
    let bad = [
        p.with_window(WindowKind::Count, 0, 0),
        p.with_window(WindowKind::Count, MAX_WINDOW_CALLS + 1, 0),
        p.with_window(WindowKind::Time, MAX_BUCKETS + 1, 100),
        p.with_window(WindowKind::Time, 4, 0),
        p.with_minimum_calls(0),
        p.with_failure_rate_percent(0),
        p.with_failure_rate_percent(101),
        p.with_slow_calls(10, 0),
        p.with_slow_calls(10, 101),
        p.with_half_open_success_threshold(0),
        p.with_half_open_success_threshold(3), // > half_open_max_calls (2)
        p.with_backoff(99, 0),
        p.with_backoff(200, 999), // cap below reset_timeout_ms
        p.with_jitter(101, 0),
        // The rate judge closes by rate: a success threshold would be inert.
        p.with_half_open_judge(ProbeJudge::Rate)
            .with_half_open_success_threshold(2),
    ];
    for policy in bad {
        assert_eq!(
            Breaker::new(with(policy)).err(),
            Some(Error::InvalidConfig),
            "{policy:?}"
        );
    }
    let good = [
        p.with_window(WindowKind::Count, MAX_WINDOW_CALLS, 0),
        p.with_window(WindowKind::Time, MAX_BUCKETS, 1),
        p.with_backoff(100, 1_000),
        p.with_jitter(100, 0),
        p.with_half_open_success_threshold(2),
        p.with_half_open_judge(ProbeJudge::Rate),
    ];
    for policy in good {
        assert!(Breaker::new(with(policy)).is_ok(), "{policy:?}");
    }
}

/// The limits are the build's: 64 calls and 8 buckets unless
/// `FUSEBOX_MAX_WINDOW_CALLS` / `FUSEBOX_MAX_BUCKETS` were set, and the
/// default window is 64 calls whatever the limit above it.
#[test]
fn window_limits_are_the_builds() {
    let want = |var: Option<&str>, default: u32| var.map_or(default, |v| v.parse().unwrap());
    assert_eq!(
        MAX_WINDOW_CALLS,
        want(option_env!("FUSEBOX_MAX_WINDOW_CALLS"), 64)
    );
    assert_eq!(MAX_BUCKETS, want(option_env!("FUSEBOX_MAX_BUCKETS"), 8));
    assert_eq!(Policy::SNAKEPIT.window_size, MAX_WINDOW_CALLS.min(64));
}

#[test]
fn cumulative_rule_keeps_counting_across_successes() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.record_failure(0);
    b.record_success(1);
    b.record_failure(2);
    b.record_success(3);
    b.record_failure(4);
    assert_eq!(b.state(4), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::FailureThreshold)]
    );
}

#[test]
fn consecutive_rule_is_cleared_by_a_success() {
    let mut b = breaker(Policy::SNAKEPIT.with_trip_rule(TripRule::Consecutive));
    b.record_failure(0);
    b.record_failure(1);
    b.record_success(2);
    assert_eq!(b.stats().failure_count, 0);
    b.record_failure(3);
    b.record_failure(4);
    assert_eq!(b.state(4), State::Closed);
    b.record_failure(5);
    assert_eq!(b.state(5), State::Open);
}

#[test]
fn failure_rate_waits_for_minimum_calls_then_trips_at_the_threshold() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 10, 0)
        .with_minimum_calls(4)
        .with_failure_rate_percent(50);
    let mut b = breaker(p);
    // 3 failures out of 3: 100%, but fewer than minimum_calls.
    for t in 0..3 {
        b.record_failure(t);
    }
    assert_eq!(b.state(3), State::Closed);
    // failure_threshold (3) does not apply under the rate rule. The rate is
    // judged after every recorded call, as Resilience4j does: the success
    // that fills the window to minimum_calls finds 3 of 4 = 75% >= 50%.
    b.record_success(3);
    assert_eq!(b.state(3), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );
}

#[test]
fn failure_rate_below_the_threshold_does_not_trip_and_old_calls_drop_out() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 4, 0)
        .with_minimum_calls(4)
        .with_failure_rate_percent(75);
    let mut b = breaker(p);
    for (t, fail) in [(0, true), (1, true), (2, false), (3, false)] {
        if fail {
            b.record_failure(t)
        } else {
            b.record_success(t)
        }
    }
    assert_eq!(b.state(3), State::Closed);
    assert_eq!((b.stats().window_calls, b.stats().window_failures), (4, 2));
    b.record_failure(4); // F S S F: 2 of 4 (the first F fell out)
    b.record_failure(5); // S S F F: 2 of 4
    assert_eq!(b.state(5), State::Closed);
    assert_eq!(b.stats().window_failures, 2);
    b.record_failure(6); // S F F F: 3 of 4 = 75%
    assert_eq!(b.state(6), State::Open);
}

#[test]
fn a_count_window_caps_minimum_calls_at_its_size_for_the_failure_rate() {
    // A window of 2 with the default minimum of 10: Resilience4j judges
    // from 2 calls on. Before the cap this breaker never tripped.
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 2, 0);
    assert_eq!(p.minimum_calls, 10, "the field keeps the value set");
    assert_eq!(p.effective_minimum_calls(), 2);
    let mut b = breaker(p);
    b.record_failure(0);
    assert_eq!(b.state(0), State::Closed, "1 call: fewer than 2");
    b.record_failure(1);
    assert_eq!(b.state(1), State::Open, "2 of 2 failed");
    for t in 2..100 {
        b.record_failure(t);
    }
    assert_eq!(b.state(100), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );

    // Window 4, minimum 10: judged once the window is full, not before.
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 4, 0)
        .with_minimum_calls(10)
        .with_failure_rate_percent(50);
    let mut b = breaker(p);
    b.record_failure(0);
    b.record_failure(1);
    b.record_success(2);
    assert_eq!(b.state(2), State::Closed, "3 calls: fewer than 4");
    b.record_success(3); // 2 of 4 = 50%
    assert_eq!(b.state(3), State::Open);

    // A minimum within the window is taken as given.
    let p = p.with_minimum_calls(3);
    assert_eq!(p.effective_minimum_calls(), 3);
}

#[test]
fn a_time_window_takes_minimum_calls_as_given() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 2, 1_000)
        .with_minimum_calls(10);
    assert_eq!(p.effective_minimum_calls(), 10);
    let mut b = breaker(p);
    for t in 0..9 {
        b.record_failure(t);
    }
    assert_eq!(b.state(9), State::Closed, "9 calls: fewer than 10");
    b.record_failure(9);
    assert_eq!(b.state(9), State::Open);
}

#[test]
fn a_count_window_caps_minimum_calls_at_its_size_for_the_slow_call_rate() {
    // Window 3, default minimum 10, slow calls over 100 ms, 100% trips.
    let p = Policy::SNAKEPIT
        .with_slow_calls(100, 100)
        .with_window(WindowKind::Count, 3, 0);
    let mut b = breaker(p);
    b.record(Outcome::Success, 500, 0);
    b.record(Outcome::Success, 500, 1);
    assert_eq!(b.state(1), State::Closed, "2 calls: fewer than 3");
    b.record(Outcome::Success, 500, 2);
    assert_eq!(b.state(2), State::Open, "3 of 3 slow");
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::SlowCallRate)]
    );
}

#[test]
fn time_window_forgets_failures_older_than_the_window() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 2, 100)
        .with_minimum_calls(2)
        .with_failure_rate_percent(100);
    let mut b = breaker(p);
    b.record_failure(0);
    // 250 ms later the bucket of t=0 has left the 2 x 100 ms window.
    b.record_failure(250);
    assert_eq!(b.state(250), State::Closed);
    assert_eq!(b.stats().window_calls, 1);
    b.record_failure(260);
    assert_eq!(b.state(260), State::Open);
}

/// A failure-rate policy with a time window of `buckets` x `ms` that never
/// trips (its minimum is out of reach): for watching `window_calls`.
fn watching(buckets: u32, ms: u32) -> Breaker {
    breaker(
        Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_window(WindowKind::Time, buckets, ms)
            .with_minimum_calls(u32::MAX),
    )
}

fn window_calls(b: &Breaker) -> u32 {
    b.stats().window_calls
}

#[test]
fn a_time_window_counts_its_buckets_from_its_first_call_not_from_the_clock() {
    // One bucket of 30 s, first call 12.3 s past a multiple of 30 s: the
    // bucket lasts until 42.3 s (it used to end at 30 s, after 17.7 s).
    let mut b = watching(1, 30_000);
    b.record_success(12_300);
    b.record_success(30_000);
    assert_eq!(window_calls(&b), 2, "30 s is no boundary of this window");
    b.record_success(42_299);
    assert_eq!(window_calls(&b), 3, "one ms before the boundary");
    b.record_success(42_300);
    assert_eq!(window_calls(&b), 1, "exactly at the boundary: a new bucket");
    b.record_success(72_299);
    assert_eq!(window_calls(&b), 2);
    b.record_success(72_300);
    assert_eq!(window_calls(&b), 1, "the next boundary, 30 s on");

    // Four buckets of 100 ms from 1 050: [1 050, 1 150), [1 150, 1 250) ...
    let mut b = watching(4, 100);
    b.record_success(1_050);
    b.record_success(1_149);
    b.record_success(1_150);
    b.record_success(1_449); // the fourth bucket: all four still in
    assert_eq!(window_calls(&b), 4);
    b.record_success(1_450); // the first bucket (2 calls) drops out
    assert_eq!(window_calls(&b), 3);
    b.record_success(1_000_000); // far on: only this call
    assert_eq!(window_calls(&b), 1);
}

#[test]
fn a_time_window_starts_again_at_the_close() {
    // One bucket of 1 s; two failures in one bucket trip (100%, minimum 2).
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 1, 1_000)
        .with_minimum_calls(2)
        .with_failure_rate_percent(100);
    let mut b = breaker(p);
    b.record_failure(0);
    b.record_failure(1);
    assert_eq!(b.state(1), State::Open);
    assert_eq!(b.try_acquire(1_250), Ok(State::HalfOpen));
    b.record_success(1_250); // closes: the window starts at 1 250
    assert_eq!(b.state(1_250), State::Closed);
    transitions(&mut b);
    // 1 900 and 2 100 are in the bucket [1 250, 2 250), across the clock's
    // 2 000: 2 of 2 failed.
    b.record_failure(1_900);
    b.record_failure(2_100);
    assert_eq!(b.state(2_100), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );

    // The window starts at the close, not at the first call after it:
    // 3 249 and 3 250 fall in two buckets of a window closed at 2 250.
    let mut b = breaker(p);
    b.record_failure(0);
    b.record_failure(1);
    assert_eq!(b.try_acquire(2_250), Ok(State::HalfOpen));
    b.record_success(2_250);
    b.record_failure(3_249);
    b.record_failure(3_250);
    assert_eq!(b.state(3_250), State::Closed);
    assert_eq!(window_calls(&b), 1);
}

#[test]
fn after_a_reset_or_in_metrics_only_a_time_window_starts_again() {
    // A reset takes no reading: the window starts at its next call.
    let mut b = watching(1, 100);
    b.record_success(1_000);
    b.reset();
    b.record_success(1_080);
    b.record_success(1_120); // [1 080, 1 180): the same bucket
    assert_eq!(window_calls(&b), 2);
    b.record_success(1_180);
    assert_eq!(window_calls(&b), 1);

    // Entering metrics-only empties the window and starts it there.
    b.metrics_only(2_050);
    b.record_success(2_120);
    b.record_success(2_149);
    assert_eq!(window_calls(&b), 2);
    b.record_success(2_150);
    assert_eq!(window_calls(&b), 1);
}

#[test]
fn a_clock_that_goes_back_restarts_the_newest_bucket() {
    let mut b = watching(1, 100);
    b.record_success(1_000);
    b.record_success(1_050);
    // Back by 550 ms: counted in the newest bucket, which starts again at
    // 500 and lasts 100 ms of forward time (not until the clock is back
    // at 1 100).
    b.record_success(500);
    b.record_success(599);
    assert_eq!(window_calls(&b), 4);
    b.record_success(600);
    assert_eq!(window_calls(&b), 1);

    // A clock that jumps to the end of time and back to 0 does not stall
    // the window.
    let mut b = watching(2, 100);
    b.record_success(u64::MAX);
    b.record_success(0);
    b.record_success(150);
    assert_eq!(window_calls(&b), 3, "[0, 100) and [100, 200)");
    b.record_success(200);
    assert_eq!(window_calls(&b), 2, "the bucket of 0 dropped out");
}

#[test]
fn stats_at_leaves_out_the_buckets_that_expired_and_changes_nothing() {
    // Three buckets of 100 ms from 1 000: [1 000, 1 100), [1 100, 1 200) ...
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 3, 100)
        .with_minimum_calls(u32::MAX)
        .with_slow_calls(50, 100);
    let mut b = breaker(p);
    b.record(Outcome::Failure, 0, 1_000);
    b.record(Outcome::Success, 60, 1_150);
    b.record(Outcome::Failure, 60, 1_250);
    b.record(Outcome::Success, 0, 1_299);
    let window = |s: fusebox::Stats| (s.window_calls, s.window_failures, s.window_slow);
    let before = b.clone();
    assert_eq!(window(b.stats()), (4, 2, 2));
    assert_eq!(window(b.stats_at(1_299)), (4, 2, 2));
    assert_eq!(window(b.stats_at(1_300)), (3, 1, 2), "one bucket passed");
    assert_eq!(window(b.stats_at(1_400)), (2, 1, 1), "two passed");
    assert_eq!(window(b.stats_at(1_500)), (0, 0, 0), "the whole window");
    assert_eq!(window(b.stats_at(u64::MAX)), (0, 0, 0));
    // The clock went back before the newest bucket: nothing expired.
    assert_eq!(window(b.stats_at(1_100)), (4, 2, 2));
    assert_eq!(window(b.stats_at(0)), (4, 2, 2));
    // Only the window's figures differ from `stats`.
    let (mut now, mut then) = (b.stats_at(1_500), b.stats());
    (now.window_calls, now.window_failures, now.window_slow) = (0, 0, 0);
    (then.window_calls, then.window_failures, then.window_slow) = (0, 0, 0);
    assert_eq!(now, then);
    // Reading moved nothing: a call at 1 400 finds what stats_at(1 400) said.
    assert_eq!(b, before);
    b.record(Outcome::Success, 0, 1_400);
    assert_eq!(window(b.stats()), (3, 1, 1));

    // A count window does not age.
    let mut b = breaker(
        Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_window(WindowKind::Count, 4, 0)
            .with_minimum_calls(u32::MAX),
    );
    b.record_failure(10);
    b.record_success(20);
    for later in [20, 1 << 40, u64::MAX, 0] {
        assert_eq!(window(b.stats_at(later)), (2, 1, 0));
    }
}

/// A clock that counts its readings.
struct CountingClock(ManualClock, core::cell::Cell<u32>);

impl Clock for CountingClock {
    fn now_ms(&self) -> u64 {
        self.1.set(self.1.get() + 1);
        self.0.now_ms()
    }
}

#[test]
fn registry_stats_age_with_the_time_and_read_the_clock_only_for_a_time_window() {
    let r: Registry<2> = Registry::new();
    let timed = r
        .create(
            b"timed",
            with(
                Policy::SNAKEPIT
                    .with_trip_rule(TripRule::FailureRate)
                    .with_window(WindowKind::Time, 2, 1_000)
                    .with_minimum_calls(u32::MAX),
            ),
        )
        .unwrap();
    let counted = r
        .create(
            b"counted",
            with(
                Policy::SNAKEPIT
                    .with_trip_rule(TripRule::FailureRate)
                    .with_window(WindowKind::Count, 4, 0)
                    .with_minimum_calls(u32::MAX),
            ),
        )
        .unwrap();
    for id in [timed, counted] {
        r.record_failure(id, 500).unwrap();
        r.record_success(id, 1_600).unwrap();
    }
    let clock = CountingClock(ManualClock::new(2_600), Default::default());
    // [500, 1 500) expired at 2 500: one call left, read without a call.
    assert_eq!(r.stats_with(timed, &clock).unwrap().window_calls, 1);
    assert_eq!(clock.1.get(), 1);
    assert_eq!(r.stats_at(timed, 2_600).unwrap().window_calls, 1);
    assert_eq!(r.stats_at(timed, 3_500).unwrap().window_calls, 0);
    assert_eq!(
        r.stats(timed).unwrap().window_calls,
        2,
        "as of the last record"
    );
    // A count window's stats are the same at any time: no clock read.
    assert_eq!(r.stats_with(counted, &clock).unwrap().window_calls, 2);
    assert_eq!(clock.1.get(), 1);
    assert_eq!(r.stats_at(counted, u64::MAX).unwrap().window_calls, 2);
    // Nothing moved: a call at 2 600 finds the one call left, plus itself.
    r.record_success(timed, 2_600).unwrap();
    assert_eq!(r.stats(timed).unwrap().window_calls, 2);
    r.remove(timed).unwrap();
    assert_eq!(r.stats_with(timed, &clock), Err(Error::NotFound));
    assert_eq!(r.stats_at(timed, 0), Err(Error::NotFound));
}

/// The largest count window the build allows judges from its size on
/// (the minimum capped at it) and drops its oldest call for each new one.
#[test]
fn the_largest_count_window_caps_the_minimum_and_wraps() {
    let max = MAX_WINDOW_CALLS;
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, max, 0)
        .with_minimum_calls(u32::MAX)
        .with_failure_rate_percent(50);
    assert_eq!(p.effective_minimum_calls(), max);
    // max - 1 failures: 100%, but too few calls to judge; the next judges.
    let mut b = breaker(p);
    for t in 0..u64::from(max) - 1 {
        b.record_failure(t);
    }
    assert_eq!(b.state(u64::from(max)), State::Closed);
    b.record_failure(u64::from(max));
    assert_eq!(b.state(u64::from(max)), State::Open);
    // Successes fill the window and then stay capped at its size.
    let mut b = breaker(p);
    for k in 0..max + 5 {
        b.record_success(u64::from(k));
        assert_eq!(b.stats().window_calls, (k + 1).min(max));
    }
    // Failures push the oldest successes out: 50% trips at the half, not
    // one failure before.
    let half = max.div_ceil(2);
    for t in 0..u64::from(half) - 1 {
        b.record_failure(5_000 + t);
    }
    assert_eq!(b.state(6_000), State::Closed);
    assert_eq!(
        (b.stats().window_calls, b.stats().window_failures),
        (max, half - 1)
    );
    b.record_failure(6_000);
    assert_eq!(b.state(6_000), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::FailureRate)]
    );
}

/// The largest time window the build allows holds that many buckets,
/// wraps around its ring, and ages to empty.
#[test]
fn the_largest_time_window_wraps_and_ages() {
    let max = MAX_BUCKETS;
    let mut b = watching(max, 10);
    for k in 0..3 * u64::from(max) {
        b.record_failure(1_000 + 10 * k);
        b.record_success(1_005 + 10 * k);
        let held = (k + 1).min(u64::from(max)) as u32;
        assert_eq!(b.stats().window_calls, 2 * held);
        assert_eq!(b.stats().window_failures, held);
    }
    let last = 1_000 + 10 * (3 * u64::from(max) - 1);
    assert_eq!(b.stats_at(last + 10).window_calls, 2 * (max - 1));
    assert_eq!(b.stats_at(last + 10 * u64::from(max)).window_calls, 0);
    // A failure-rate rule over it trips from its minimum.
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, max, 10)
        .with_minimum_calls(2 * max)
        .with_failure_rate_percent(50);
    let mut b = breaker(p);
    for k in 0..u64::from(max) {
        b.record_success(10 * k);
        assert_eq!(b.state(10 * k), State::Closed);
        b.record_failure(10 * k + 1);
    }
    assert_eq!(
        b.state(10 * u64::from(max)),
        State::Open,
        "2 max calls, 50%"
    );
}

#[test]
fn slow_calls_are_counted_and_their_rate_trips() {
    let p = Policy::SNAKEPIT
        .with_slow_calls(100, 50)
        .with_window(WindowKind::Count, 4, 0)
        .with_minimum_calls(4);
    let mut b = breaker(p);
    b.record(Outcome::Success, 100, 0); // exactly the limit: not slow
    b.record(Outcome::Success, 101, 1);
    b.record(Outcome::Success, 5, 2);
    assert_eq!(b.stats().slow_count, 1);
    assert_eq!(b.state(2), State::Closed);
    b.record(Outcome::Success, 500, 3); // 2 slow of 4 = 50%
    assert_eq!(b.state(3), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::Closed, State::Open, Reason::SlowCallRate)]
    );
    assert_eq!(b.stats().failure_count, 0);
    assert_eq!(b.stats().last_failure_ms, Some(3), "the open window starts");
}

#[test]
fn call_measures_slow_calls_with_the_breakers_clock() {
    let p = Policy::SNAKEPIT
        .with_slow_calls(100, 100)
        .with_window(WindowKind::Count, 2, 0)
        .with_minimum_calls(2);
    let mut b = breaker(p);
    let clock = ManualClock::new(0);
    let slow = || -> Result<(), ()> {
        clock.advance(150);
        Ok(())
    };
    assert_eq!(b.call(&clock, slow), Ok(()));
    assert_eq!(b.stats().slow_count, 1);
    assert_eq!(b.call(&clock, slow), Ok(()));
    assert_eq!(b.state(clock.now_ms()), State::Open);
    assert!(matches!(
        b.call(&clock, slow),
        Err(CallError::Rejected(Error::CircuitOpen))
    ));
}

#[test]
fn registry_call_measures_slow_calls_too() {
    let reg: Registry<2> = Registry::new();
    let p = Policy::SNAKEPIT
        .with_slow_calls(10, 100)
        .with_window(WindowKind::Count, 1, 0)
        .with_minimum_calls(1);
    let id = reg.create(b"s", with(p)).unwrap();
    let clock = ManualClock::new(0);
    assert_eq!(
        reg.call(id, &clock, || {
            clock.advance(5);
            Ok::<_, ()>(())
        }),
        Ok(())
    );
    assert_eq!(reg.state(id, clock.now_ms()), Ok(State::Closed));
    assert_eq!(
        reg.call(id, &clock, || {
            clock.advance(11);
            Ok::<_, ()>(())
        }),
        Ok(())
    );
    assert_eq!(reg.stats(id).unwrap().slow_count, 1);
    assert_eq!(reg.state(id, clock.now_ms()), Ok(State::Open));
}

#[test]
fn a_slow_probe_reopens() {
    let mut b = open_at(Policy::SNAKEPIT.with_slow_calls(100, 100), 0);
    assert_eq!(b.try_acquire(1_000), Ok(State::HalfOpen));
    b.record(Outcome::Success, 101, 1_101);
    assert_eq!(b.state(1_101), State::Open);
    assert_eq!(
        transitions(&mut b),
        [
            (State::Open, State::HalfOpen, Reason::Timeout),
            (State::HalfOpen, State::Open, Reason::ProbeFailed)
        ]
    );
}

#[test]
fn half_open_needs_its_success_threshold_to_close() {
    let mut b = open_at(Policy::SNAKEPIT.with_half_open_success_threshold(2), 0);
    assert_eq!(b.try_acquire(1_000), Ok(State::HalfOpen));
    assert_eq!(b.try_acquire(1_000), Ok(State::HalfOpen));
    b.record_success(1_001);
    assert_eq!(b.state(1_001), State::HalfOpen);
    assert_eq!(b.stats().half_open_successes, 1);
    b.record_success(1_002);
    assert_eq!(b.state(1_002), State::Closed);
    assert_eq!(b.stats().half_open_successes, 0);
}

#[test]
fn a_failure_before_the_success_threshold_reopens() {
    let mut b = open_at(Policy::SNAKEPIT.with_half_open_success_threshold(2), 0);
    b.try_acquire(1_000).unwrap();
    b.record_success(1_001);
    b.record_failure(1_002);
    assert_eq!(b.state(1_002), State::Open);
    // The next half-open round starts from zero successes.
    b.try_acquire(2_002).unwrap();
    b.record_success(2_003);
    assert_eq!(b.state(2_003), State::HalfOpen);
}

#[test]
fn lost_probes_are_released_after_the_max_wait() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReleaseProbes);
    let mut b = open_at(p, 0);
    let lost = b.try_acquire_permit(1_000).unwrap();
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.try_acquire(1_499), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(1_499), Some(1));
    // At 500 ms the probes are written off and new ones admitted.
    assert_eq!(b.try_acquire(1_500), Ok(State::HalfOpen));
    assert_eq!(b.stats().half_open_calls, 1);
    // The lost probe's late success must not close the breaker.
    assert_eq!(
        b.complete(&lost, Outcome::Success, 1_600),
        Err(Error::StalePermit)
    );
    assert_eq!(b.state(1_600), State::HalfOpen);
    assert_eq!(b.stats().stale_count, 1);
}

#[test]
fn lost_probes_can_reopen_instead() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::Reopen);
    let mut b = open_at(p, 0);
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.state(1_499), State::HalfOpen);
    assert_eq!(b.state(1_500), State::Open);
    let t = transitions(&mut b);
    assert_eq!(
        t.last(),
        Some(&(State::HalfOpen, State::Open, Reason::ProbeTimeout))
    );
    // The wait only applies while probes are out: none are now.
    assert_eq!(b.state(2_500), State::HalfOpen);
    assert_eq!(b.state(100_000), State::HalfOpen);
}

#[test]
fn reopen_always_reopens_after_the_wait_even_with_no_probe_out() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReopenAlways);
    // No probe admitted at all: half-open from 1 000, open again at 1 500.
    let mut b = open_at(p, 0);
    assert_eq!(b.state(1_000), State::HalfOpen);
    assert_eq!(
        b.state(1_499),
        State::HalfOpen,
        "one ms before the wait ends"
    );
    assert_eq!(
        b.state(1_500),
        State::Open,
        "exactly at the end of the wait"
    );
    assert_eq!(
        transitions(&mut b),
        [
            (State::Open, State::HalfOpen, Reason::Timeout),
            (State::HalfOpen, State::Open, Reason::ProbeTimeout)
        ]
    );
    // The open window starts at the reopen: half-open again at 2 500.
    assert_eq!(b.stats().last_failure_ms, Some(1_500));
    assert_eq!(b.state(2_499), State::Open);
    assert_eq!(b.state(2_500), State::HalfOpen);

    // Every probe reported, too few successes to close (threshold 2).
    let p = p.with_half_open_success_threshold(2);
    let mut b = open_at(p, 0);
    assert_eq!(b.try_acquire(1_000), Ok(State::HalfOpen));
    b.record_success(1_100);
    assert_eq!(b.stats().half_open_calls, 1);
    assert_eq!(b.state(1_499), State::HalfOpen);
    assert_eq!(b.state(1_500), State::Open);

    // A probe given back (ignored): none out, still reopens.
    let mut b = open_at(p, 0);
    let probe = b.try_acquire_permit(1_000).unwrap();
    b.complete(&probe, Outcome::Ignored, 1_001).unwrap();
    assert_eq!(b.stats().half_open_calls, 0);
    assert_eq!(b.try_acquire(1_500), Err(Error::CircuitOpen));
    assert_eq!(b.state(1_500), State::Open);
}

#[test]
fn reopen_always_backs_off_and_survives_a_clock_that_goes_back() {
    let p = Policy::SNAKEPIT
        .with_half_open_max_wait(500, WaitAction::ReopenAlways)
        .with_backoff(200, 0);
    let mut b = open_at(p, 0);
    assert_eq!(b.state(1_000), State::HalfOpen);
    // The clock goes back: the wait restarts from this reading.
    assert_eq!(b.state(700), State::HalfOpen);
    assert_eq!(b.state(1_199), State::HalfOpen);
    assert_eq!(b.state(1_200), State::Open);
    assert_eq!(b.stats().open_duration_ms, 2_000, "backed off");
    assert_eq!(b.retry_after_ms(1_200), Some(2_000));
    // A reading at the end of time reopens once, then a normal cycle.
    assert_eq!(b.state(u64::MAX), State::HalfOpen);
    assert_eq!(b.state(u64::MAX), State::HalfOpen);
}

#[test]
fn without_max_wait_a_lost_probe_holds_its_slot_as_in_snakepit() {
    let mut b = open_at(Policy::SNAKEPIT, 0);
    b.try_acquire(1_000).unwrap();
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.try_acquire(u64::MAX), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(u64::MAX), None);
}

#[test]
fn backoff_grows_the_open_duration_on_each_reopen_up_to_the_cap() {
    let mut b = open_at(Policy::SNAKEPIT.with_backoff(200, 3_000), 0);
    let mut t = 0;
    for want in [1_000, 2_000, 3_000, 3_000] {
        assert_eq!(b.stats().open_duration_ms, want);
        assert_eq!(b.retry_after_ms(t), Some(u64::from(want)));
        assert_eq!(b.state(t + u64::from(want) - 1), State::Open);
        t += u64::from(want);
        assert_eq!(b.try_acquire(t), Ok(State::HalfOpen));
        b.record_failure(t);
    }
    // A close resets it.
    t += 3_000;
    b.try_acquire(t).unwrap();
    b.record_success(t);
    for _ in 0..3 {
        b.record_failure(t);
    }
    assert_eq!(b.stats().open_duration_ms, 1_000);
}

#[test]
fn backoff_never_overflows() {
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(u32::MAX / 2)
        .with_policy(Policy::SNAKEPIT.with_backoff(1_000, 0));
    let mut b = Breaker::new(cfg).unwrap();
    let mut t = 0u64;
    b.record_failure(t);
    for _ in 0..5 {
        t = t.saturating_add(u64::from(b.stats().open_duration_ms));
        assert_eq!(b.state(t), State::HalfOpen);
        b.record_failure(t);
    }
    assert_eq!(b.stats().open_duration_ms, u32::MAX);
}

#[test]
fn jitter_moves_open_durations_within_bounds_reproducibly() {
    let draws = |seed: u32| -> Vec<u32> {
        let mut b = open_at(Policy::SNAKEPIT.with_jitter(20, seed), 0);
        let mut out = vec![b.stats().open_duration_ms];
        let mut t = 0;
        for _ in 0..20 {
            t += 10_000;
            b.try_acquire(t).unwrap();
            b.record_failure(t);
            out.push(b.stats().open_duration_ms);
        }
        out
    };
    let a = draws(1);
    assert!(a.iter().all(|d| (800..=1_200).contains(d)), "{a:?}");
    assert!(a.iter().any(|&d| d != a[0]), "jitter varies: {a:?}");
    assert_eq!(a, draws(1), "same seed, same durations");
    assert_ne!(a, draws(2));
}

#[test]
fn retry_after_reports_the_time_left() {
    let mut b = open_at(Policy::SNAKEPIT, 100);
    assert_eq!(b.retry_after_ms(100), Some(1_000));
    assert_eq!(b.retry_after_ms(700), Some(400));
    assert_eq!(
        b.retry_after_ms(50),
        Some(1_000),
        "clock went back: re-based"
    );
    assert_eq!(b.retry_after_ms(1_049), Some(1));
    assert_eq!(b.retry_after_ms(1_050), Some(0));
    assert_eq!(b.state(1_050), State::HalfOpen);
    let mut c = breaker(Policy::SNAKEPIT);
    assert_eq!(c.retry_after_ms(0), Some(0));
}

#[test]
fn force_open_rejects_everything_until_reset() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open(10);
    assert_eq!(b.state(10), State::ForcedOpen);
    assert_eq!(b.try_acquire(u64::MAX), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(u64::MAX), None);
    b.record_success(20);
    assert_eq!(b.state(u64::MAX), State::ForcedOpen);
    b.reset();
    assert_eq!(b.state(30), State::Closed);
    assert_eq!(
        transitions(&mut b),
        [
            (State::Closed, State::ForcedOpen, Reason::Manual),
            (State::ForcedOpen, State::Closed, Reason::Manual)
        ]
    );
}

#[test]
fn disabled_allows_everything_and_still_counts() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.disable(0);
    for t in 0..10 {
        assert_eq!(b.try_acquire(t), Ok(State::Disabled));
        b.record_failure(t);
    }
    b.record_success(10);
    let s = b.stats();
    assert_eq!(
        (s.state, s.failure_count, s.success_count),
        (State::Disabled, 10, 1)
    );
    assert_eq!(s.window_calls, 0, "disabled feeds no window");
}

#[test]
fn metrics_only_records_like_closed_but_never_trips() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Count, 4, 0)
        .with_minimum_calls(1);
    let mut b = breaker(p);
    b.metrics_only(0);
    for t in 0..10 {
        assert!(b.try_acquire(t).is_ok());
        b.record_failure(t);
    }
    let s = b.stats();
    assert_eq!(s.state, State::MetricsOnly);
    assert_eq!((s.window_calls, s.window_failures), (4, 4));
    b.reset();
    assert_eq!(b.stats().window_calls, 0);
    b.record_failure(11);
    assert_eq!(b.state(11), State::Open, "the rule applies again");
}

#[test]
fn manual_states_are_left_only_by_reset_or_another_manual_state() {
    let mut b = open_at(Policy::SNAKEPIT, 0);
    b.disable(5);
    b.metrics_only(6);
    b.force_open(7);
    b.force_open(8); // already there: no transition
    assert_eq!(
        transitions(&mut b),
        [
            (State::Open, State::Disabled, Reason::Manual),
            (State::Disabled, State::MetricsOnly, Reason::Manual),
            (State::MetricsOnly, State::ForcedOpen, Reason::Manual),
        ]
    );
}

#[test]
fn a_permit_from_an_earlier_state_is_stale() {
    let mut b = breaker(Policy::SNAKEPIT.with_trip_rule(TripRule::Consecutive));
    let early = b.try_acquire_permit(0).unwrap();
    for t in 0..3 {
        b.record_failure(t);
    }
    assert_eq!(b.state(3), State::Open);
    // A success that began while closed arrives after the trip.
    assert_eq!(
        b.complete(&early, Outcome::Success, 4),
        Err(Error::StalePermit)
    );
    let s = b.stats();
    assert_eq!((s.stale_count, s.success_count, s.failure_count), (1, 0, 3));
    // A permit of the current generation counts.
    b.state(1_003);
    let probe = b.try_acquire_permit(1_003).unwrap();
    assert_eq!(probe.admitted_in(), State::HalfOpen);
    assert_eq!(b.complete(&probe, Outcome::Success, 1_004), Ok(()));
    assert_eq!(b.state(1_004), State::Closed);
}

#[test]
fn reset_makes_earlier_permits_stale() {
    let mut b = breaker(Policy::SNAKEPIT);
    let p = b.try_acquire_permit(0).unwrap();
    b.reset();
    assert_eq!(b.complete(&p, Outcome::Failure, 1), Err(Error::StalePermit));
    assert_eq!(b.stats().failure_count, 0);
}

#[test]
fn an_ignored_probe_gives_its_slot_back() {
    let mut b = open_at(Policy::SNAKEPIT, 0);
    let p1 = b.try_acquire_permit(1_000).unwrap();
    let _p2 = b.try_acquire_permit(1_000).unwrap();
    assert_eq!(b.try_acquire(1_000), Err(Error::CircuitOpen));
    b.complete(&p1, Outcome::Ignored, 1_001).unwrap();
    let s = b.stats();
    assert_eq!((s.ignored_count, s.half_open_calls), (1, 1));
    assert_eq!(b.state(1_001), State::HalfOpen);
    assert_eq!(b.try_acquire(1_001), Ok(State::HalfOpen));
}

#[test]
fn call_classified_counts_by_the_classifier() {
    let mut b = breaker(Policy::SNAKEPIT);
    let clock = ManualClock::new(0);
    let classify = |r: &Result<u32, u32>| match r {
        Ok(_) => Outcome::Success,
        Err(404) => Outcome::Ignored,
        Err(_) => Outcome::Failure,
    };
    for _ in 0..5 {
        assert_eq!(
            b.call_classified(&clock, || Err(404), classify),
            Err(CallError::Failed(404))
        );
    }
    assert_eq!(b.state(0), State::Closed);
    assert_eq!(b.stats().ignored_count, 5);
    // A success the classifier calls a failure counts as one.
    let strict = |_: &Result<u32, u32>| Outcome::Failure;
    for _ in 0..3 {
        assert_eq!(b.call_classified(&clock, || Ok(1), strict), Ok(1));
    }
    assert_eq!(b.state(0), State::Open);
}

#[test]
fn time_in_state_adds_up() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.state(1_000); // first reading: closed since 1000
    for _ in 0..3 {
        b.record_failure(1_500);
    }
    b.state(2_500); // half-open after 1000 ms open
    b.try_acquire(2_600).unwrap();
    b.record_success(2_700);
    let s = b.stats();
    assert_eq!(s.time_in_state_ms, [500, 1_000, 200]);
    assert_eq!(s.state_since_ms, 2_700);
    assert_eq!(s.transitions, 3);
}

#[test]
fn snapshots_carry_every_policy_and_manual_state() {
    let mut buf = [0u8; fusebox::SNAPSHOT_LEN];
    let policy = Policy::SNAKEPIT.with_trip_rule(TripRule::Consecutive);
    let p = breaker(policy);
    assert_eq!(p.snapshot(0, &mut buf), Ok(fusebox::SNAPSHOT_LEN));
    assert_eq!(
        Breaker::restore(with(policy), &buf, 0).unwrap().stats(),
        p.stats()
    );
    let mut m = breaker(Policy::SNAKEPIT);
    m.force_open(0);
    m.snapshot(0, &mut buf).unwrap();
    let mut r = Breaker::restore(with(Policy::SNAKEPIT), &buf, 5).unwrap();
    assert_eq!(r.state(u64::MAX), State::ForcedOpen);
    let reg: Registry<2> = Registry::new();
    reg.create(b"plain", Config::default()).unwrap();
    reg.create(b"odd", with(Policy::SNAKEPIT.with_backoff(200, 0)))
        .unwrap();
    let mut all = [0u8; Registry::<2>::SNAPSHOT_ALL_MAX];
    assert!(reg.snapshot_all(0, &mut all).is_ok());
}

#[test]
fn clock_jumps_never_wedge_a_policy_breaker() {
    let p = Policy::SNAKEPIT
        .with_trip_rule(TripRule::FailureRate)
        .with_window(WindowKind::Time, 8, 1)
        .with_minimum_calls(1)
        .with_slow_calls(1, 100)
        .with_half_open_max_wait(10, WaitAction::ReleaseProbes)
        .with_backoff(1_000, 0)
        .with_jitter(100, 3);
    let mut b = breaker(p);
    for &t in &[u64::MAX, 0, u64::MAX / 2, 5, u64::MAX, 1, 2, u64::MAX - 1] {
        b.record(Outcome::Failure, u64::MAX, t);
        let _ = b.try_acquire_permit(t);
        b.record(Outcome::Success, 0, t);
        let _ = b.retry_after_ms(t);
        let _ = b.stats();
    }
    // Whatever happened, forward time brings it back to closed.
    let mut t = 10u64;
    for _ in 0..64 {
        t = t.saturating_add(u64::from(u32::MAX));
        if b.try_acquire(t).is_ok() {
            b.record(Outcome::Success, 0, t);
        }
        if b.state(t) == State::Closed {
            return;
        }
    }
    panic!("stuck in {:?}", b.stats());
}

#[test]
fn registry_listener_gets_every_change_in_order() {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<(u32, State, State, Reason)>> = Mutex::new(Vec::new());
    static STAMPS: Mutex<Vec<(Id, u64)>> = Mutex::new(Vec::new());
    static REG: Registry<4> = Registry::new();
    fn on_event(ev: &fusebox::Event, data: usize) {
        assert_eq!(data, 7);
        let t: Transition = ev.transition;
        SEEN.lock().unwrap().push((ev.seq, t.from, t.to, t.reason));
        STAMPS.lock().unwrap().push((ev.id, t.now_ms));
    }
    REG.set_listener(Some(fusebox::Listener {
        func: on_event,
        data: 7,
    }))
    .unwrap();
    let id = REG.create(b"db", with(Policy::SNAKEPIT)).unwrap();
    for t in 0..3 {
        REG.record_failure(id, 5 + t).unwrap();
    }
    REG.try_acquire(id, 1_500).unwrap();
    REG.record_success(id, 1_501).unwrap();
    REG.force_open(id, 1_502).unwrap();
    REG.reset(id).unwrap();
    REG.set_listener(None).unwrap();
    REG.disable(id, 1_003).unwrap(); // nobody listening: not delivered
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (1, State::Closed, State::Open, Reason::FailureThreshold),
            (2, State::Open, State::HalfOpen, Reason::Timeout),
            (3, State::HalfOpen, State::Closed, Reason::ProbeSucceeded),
            (4, State::Closed, State::ForcedOpen, Reason::Manual),
            (5, State::ForcedOpen, State::Closed, Reason::Manual),
        ]
    );
    // Each event carries its breaker and the reading of the operation that
    // caused it; the reset, which has none, the start of the state it
    // ended (the forced open at 1 502).
    let stamps = STAMPS.lock().unwrap().clone();
    assert_eq!(
        stamps,
        [(id, 7), (id, 1_500), (id, 1_501), (id, 1_502), (id, 1_502)]
    );
    assert_eq!(REG.events_dropped(), 0);
}

#[test]
fn transitions_carry_the_reading_that_caused_them() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(300, WaitAction::Reopen);
    let mut b = breaker(p);
    for t in 0..3 {
        b.record_failure(100 + t);
    }
    b.try_acquire(5_000).unwrap(); // open ran out at 1 102: half-open now
                                   // The probe wait ends at 5 300; found by a reading at 9 000, the reopen
                                   // is dated at 5 300 and its open window (1 000) is over by 9 000 too.
    b.state(9_000);
    let stamps: Vec<(State, u64)> = core::iter::from_fn(|| b.take_transition())
        .map(|t| (t.to, t.now_ms))
        .collect();
    assert_eq!(
        stamps,
        [
            (State::Open, 102),
            (State::HalfOpen, 5_000),
            (State::Open, 5_300),
            (State::HalfOpen, 9_000),
        ]
    );
}

#[test]
fn a_listener_may_call_back_into_the_registry() {
    use std::sync::atomic::{AtomicU32, Ordering};
    static REG: Registry<2> = Registry::new();
    static CALLS: AtomicU32 = AtomicU32::new(0);
    fn on_event(ev: &fusebox::Event, _: usize) {
        CALLS.fetch_add(1, Ordering::SeqCst);
        // Reads the breaker (its lock is free) and causes another change,
        // delivered after this call returns.
        let s = REG.stats(ev.id).unwrap();
        assert_eq!(s.state, ev.transition.to);
        if ev.transition.to == State::Open {
            REG.force_open(ev.id, 0).unwrap();
        }
    }
    REG.set_listener(Some(fusebox::Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let id = REG
        .create(b"x", Config::default().with_failure_threshold(1))
        .unwrap();
    REG.record_failure(id, 0).unwrap();
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(REG.state(id, 0), Ok(State::ForcedOpen));
}

// ---- Half-open judged by rate (ProbeJudge::Rate).

/// A breaker that judges its `probes` probes by rate, opened at 0 by one
/// failure, half-open from 1 000.
fn rate_judged(probes: u32, policy: Policy) -> Breaker {
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(1_000)
        .with_half_open_max_calls(probes)
        .with_policy(policy.with_half_open_judge(ProbeJudge::Rate));
    let mut b = Breaker::new(cfg).unwrap();
    b.record_failure(0);
    assert_eq!(b.state(1_000), State::HalfOpen);
    transitions(&mut b);
    b
}

/// Runs one round of probes through permits: `true` succeeds.
fn probe_round(b: &mut Breaker, t: u64, outcomes: &[bool]) {
    let permits: Vec<Permit> = outcomes
        .iter()
        .map(|_| b.try_acquire_permit(t).unwrap())
        .collect();
    for (p, ok) in permits.iter().zip(outcomes) {
        let o = if *ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        b.complete(p, o, t + 1).unwrap();
    }
}

#[test]
fn the_rate_judge_hears_every_probe_before_it_decides() {
    let mut b = rate_judged(4, Policy::SNAKEPIT.with_failure_rate_percent(50));
    let permits: Vec<Permit> = (0..4)
        .map(|_| b.try_acquire_permit(1_000).unwrap())
        .collect();
    assert_eq!(b.try_acquire(1_000), Err(Error::CircuitOpen), "4 slots");
    // A failed probe does not reopen: the round is not complete.
    b.complete(&permits[0], Outcome::Failure, 1_001).unwrap();
    b.complete(&permits[1], Outcome::Success, 1_002).unwrap();
    b.complete(&permits[2], Outcome::Success, 1_003).unwrap();
    assert_eq!(b.state(1_003), State::HalfOpen);
    assert_eq!(b.stats().half_open_successes, 2);
    // 1 failure of 4 = 25% < 50%: closed.
    b.complete(&permits[3], Outcome::Success, 1_004).unwrap();
    assert_eq!(b.state(1_004), State::Closed);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Closed, Reason::ProbeSucceeded)]
    );
    let s = b.stats();
    assert_eq!((s.failure_count, s.half_open_successes), (0, 0));
}

#[test]
fn the_rate_judge_reopens_at_exactly_the_threshold() {
    // 2 of 4 = 50% >= 50%: open, backed off as any reopen.
    let p = Policy::SNAKEPIT
        .with_failure_rate_percent(50)
        .with_backoff(200, 0);
    let mut b = rate_judged(4, p);
    probe_round(&mut b, 1_000, &[false, true, false, true]);
    assert_eq!(b.state(1_001), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Open, Reason::FailureRate)]
    );
    assert_eq!(b.stats().open_duration_ms, 2_000);
    assert_eq!(b.stats().last_failure_ms, Some(1_001));
    // 1 of 3 = 33.3%: at 33% it reopens, at 34% it closes.
    let mut b = rate_judged(3, Policy::SNAKEPIT.with_failure_rate_percent(33));
    probe_round(&mut b, 1_000, &[true, false, true]);
    assert_eq!(b.state(1_001), State::Open);
    let mut b = rate_judged(3, Policy::SNAKEPIT.with_failure_rate_percent(34));
    probe_round(&mut b, 1_000, &[true, false, true]);
    assert_eq!(b.state(1_001), State::Closed);
    // Every probe failed, 100%: open, whatever the threshold.
    let mut b = rate_judged(2, Policy::SNAKEPIT.with_failure_rate_percent(100));
    probe_round(&mut b, 1_000, &[false, false]);
    assert_eq!(b.state(1_001), State::Open);
}

#[test]
fn the_rate_judge_weighs_slow_probes_by_the_slow_call_rate() {
    // Slow calls over 100 ms; half the probes slow trips.
    let p = Policy::SNAKEPIT
        .with_failure_rate_percent(50)
        .with_slow_calls(100, 50);
    let mut b = rate_judged(2, p);
    b.record(Outcome::Success, 150, 1_000); // slow, not a failure
    assert_eq!(b.state(1_000), State::HalfOpen, "a slow probe waits too");
    b.record(Outcome::Success, 10, 1_001);
    assert_eq!(b.state(1_001), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Open, Reason::SlowCallRate)]
    );
    // One slow probe of 3 is below 50%: closed.
    let mut b = rate_judged(3, p);
    b.record(Outcome::Success, 150, 1_000);
    b.record(Outcome::Success, 10, 1_001);
    b.record(Outcome::Success, 10, 1_002);
    assert_eq!(b.state(1_002), State::Closed);
    // The failure rate is judged first.
    let mut b = rate_judged(2, p);
    b.record(Outcome::Failure, 150, 1_000);
    b.record(Outcome::Success, 150, 1_001);
    assert_eq!(b.state(1_001), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Open, Reason::FailureRate)]
    );
    // Slow calls off: durations do not matter.
    let mut b = rate_judged(2, Policy::SNAKEPIT);
    b.record(Outcome::Success, u64::MAX, 1_000);
    b.record(Outcome::Success, u64::MAX, 1_001);
    assert_eq!(b.state(1_001), State::Closed);
}

#[test]
fn the_rate_judge_counts_no_ignored_probe() {
    let mut b = rate_judged(2, Policy::SNAKEPIT.with_failure_rate_percent(50));
    // Every probe ignored: each gives its slot back, nothing is judged.
    for t in 1_000..1_010 {
        let p = b.try_acquire_permit(t).unwrap();
        b.complete(&p, Outcome::Ignored, t).unwrap();
    }
    let s = b.stats();
    assert_eq!(
        (s.state, s.half_open_calls, s.ignored_count),
        (State::HalfOpen, 0, 10)
    );
    // Ignored probes in between count for nothing: 1 failure of 2 opens.
    let a = b.try_acquire_permit(1_010).unwrap();
    let ignored = b.try_acquire_permit(1_010).unwrap();
    b.complete(&ignored, Outcome::Ignored, 1_011).unwrap();
    let c = b.try_acquire_permit(1_011).unwrap();
    b.complete(&a, Outcome::Success, 1_012).unwrap();
    assert_eq!(b.state(1_012), State::HalfOpen);
    b.complete(&c, Outcome::Failure, 1_013).unwrap();
    assert_eq!(b.state(1_013), State::Open);
}

#[test]
fn every_probe_ignored_still_reopens_with_reopen_always() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReopenAlways);
    let mut b = rate_judged(2, p);
    let probe = b.try_acquire_permit(1_000).unwrap();
    b.complete(&probe, Outcome::Ignored, 1_100).unwrap();
    assert_eq!(b.state(1_499), State::HalfOpen);
    assert_eq!(b.state(1_500), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Open, Reason::ProbeTimeout)]
    );
}

#[test]
fn a_release_of_probes_starts_the_rate_judges_round_again() {
    let p = Policy::SNAKEPIT
        .with_failure_rate_percent(50)
        .with_half_open_max_wait(500, WaitAction::ReleaseProbes);
    let mut b = rate_judged(2, p);
    let failed = b.try_acquire_permit(1_000).unwrap();
    let lost = b.try_acquire_permit(1_000).unwrap();
    b.complete(&failed, Outcome::Failure, 1_100).unwrap();
    // The wait ends with a probe out: the round starts again, its
    // reported failure written off, the lost probe stale.
    let a = b.try_acquire_permit(1_500).unwrap();
    assert_eq!(
        b.complete(&lost, Outcome::Failure, 1_501),
        Err(Error::StalePermit)
    );
    let c = b.try_acquire_permit(1_501).unwrap();
    b.complete(&a, Outcome::Success, 1_502).unwrap();
    b.complete(&c, Outcome::Success, 1_503).unwrap();
    assert_eq!(b.state(1_503), State::Closed, "0 of 2 failed");
    assert_eq!(b.stats().stale_count, 1);
}

#[test]
fn the_rate_judge_reopens_on_a_probe_timeout_with_reopen() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::Reopen);
    let mut b = rate_judged(2, p);
    b.try_acquire(1_000).unwrap();
    b.record_success(1_100);
    assert_eq!(b.state(1_499), State::HalfOpen);
    assert_eq!(b.state(1_500), State::Open);
    assert_eq!(
        transitions(&mut b),
        [(State::HalfOpen, State::Open, Reason::ProbeTimeout)]
    );
}

#[test]
fn plain_records_count_toward_the_rate_judges_round() {
    // As Snakepit's half-open counts a success whichever call it came
    // from, so does the round: no probe was admitted here.
    let mut b = rate_judged(2, Policy::SNAKEPIT.with_failure_rate_percent(50));
    b.record_failure(1_000);
    assert_eq!(b.state(1_000), State::HalfOpen);
    assert_eq!(b.stats().failure_count, 2, "still counted as a failure");
    b.record_success(1_001);
    assert_eq!(b.state(1_001), State::Open);
    // A permit from before half-open is stale in the round.
    let mut b = breaker(Policy::SNAKEPIT.with_half_open_judge(ProbeJudge::Rate));
    let early = b.try_acquire_permit(0).unwrap();
    for _ in 0..3 {
        b.record_failure(0);
    }
    assert_eq!(b.state(1_000), State::HalfOpen);
    assert_eq!(
        b.complete(&early, Outcome::Success, 1_000),
        Err(Error::StalePermit)
    );
    assert_eq!(b.stats().half_open_successes, 0);
}

// ---- Manual control: forced open for a time, forced half-open.

#[test]
fn a_timed_forced_open_rejects_then_goes_half_open_and_probes() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_for(500, 1_000);
    assert_eq!(b.state(1_000), State::ForcedOpen);
    assert_eq!(b.stats().state, State::ForcedOpen);
    assert_eq!(b.try_acquire(1_000), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(1_000), Some(500));
    assert_eq!(b.retry_after_ms(1_300), Some(200));
    assert_eq!(b.try_acquire(1_499), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(1_499), Some(1));
    assert!(!b.allow_call(1_499));
    // At its end it behaves as an open breaker whose timeout has passed.
    assert_eq!(b.retry_after_ms(1_500), Some(0));
    assert_eq!(b.state(1_500), State::HalfOpen);
    assert_eq!(b.try_acquire(1_500), Ok(State::HalfOpen));
    assert_eq!(b.try_acquire(1_500), Ok(State::HalfOpen));
    assert_eq!(b.try_acquire(1_500), Err(Error::CircuitOpen), "2 probes");
    b.record_success(1_501);
    assert_eq!(b.state(1_501), State::Closed);
    assert_eq!(
        transitions(&mut b),
        [
            (State::Closed, State::ForcedOpen, Reason::Manual),
            (State::ForcedOpen, State::HalfOpen, Reason::Timeout),
            (State::HalfOpen, State::Closed, Reason::ProbeSucceeded),
        ]
    );
    let s = b.stats();
    assert_eq!(s.time_in_state_ms[1], 500, "forced open counts as open");
    assert_eq!(s.rejected_count, 3);
}

#[test]
fn a_probe_that_fails_after_a_timed_forced_open_reopens_with_backoff() {
    let mut b = breaker(Policy::SNAKEPIT.with_backoff(200, 0));
    b.force_open_for(500, 0);
    assert_eq!(b.try_acquire(500), Ok(State::HalfOpen));
    b.record_failure(510);
    assert_eq!(b.state(510), State::Open);
    assert_eq!(b.retry_after_ms(510), Some(2_000));
}

#[test]
fn a_forced_open_until_an_instant_ends_at_that_instant() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_until(5_000, 1_000);
    assert_eq!(b.retry_after_ms(1_000), Some(4_000));
    assert_eq!(b.state(4_999), State::ForcedOpen);
    assert_eq!(b.state(5_000), State::HalfOpen);
    // An instant now or in the past has passed: half-open at once.
    for until in [6_000, 5_999, 0] {
        let mut b = open_at(Policy::SNAKEPIT, 5_900);
        b.force_open_until(until, 6_000);
        assert_eq!(b.stats().state, State::HalfOpen, "until {until}");
        assert_eq!(
            transitions(&mut b),
            [
                (State::Open, State::ForcedOpen, Reason::Manual),
                (State::ForcedOpen, State::HalfOpen, Reason::Timeout),
            ]
        );
        assert_eq!(b.try_acquire(6_000), Ok(State::HalfOpen));
    }
    // For 0 ms, the same.
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_for(0, 7);
    assert_eq!(b.stats().state, State::HalfOpen);
}

#[test]
fn a_clock_going_back_never_holds_a_forced_open_past_its_duration() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_until(11_000, 10_000); // 1 000 ms
    assert_eq!(b.state(10_600), State::ForcedOpen);
    // The clock goes back to 100: the time re-bases there, at most its
    // 1 000 ms of forward time from that reading.
    assert_eq!(b.try_acquire(100), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(100), Some(1_000));
    assert_eq!(b.state(1_099), State::ForcedOpen);
    assert_eq!(b.state(1_100), State::HalfOpen);
    // Readings at the ends of time: no overflow, no wedge.
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_for(u64::MAX, 10);
    assert_eq!(b.try_acquire(u64::MAX), Err(Error::CircuitOpen));
    assert_eq!(b.retry_after_ms(u64::MAX), Some(10));
    assert_eq!(b.state(5), State::ForcedOpen);
    b.force_open_for(5, u64::MAX - 2);
    assert_eq!(b.try_acquire(u64::MAX), Err(Error::CircuitOpen));
    assert_eq!(b.state(0), State::ForcedOpen, "back to 0: re-based");
    assert_eq!(b.state(5), State::HalfOpen);
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_until(u64::MAX, 0);
    assert_eq!(b.state(u64::MAX - 1), State::ForcedOpen);
    assert_eq!(b.state(u64::MAX), State::HalfOpen);
}

#[test]
fn manual_changes_replace_a_timed_forced_open_and_reset_ends_it() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_open_for(1_000, 0);
    b.force_open_for(100, 50); // replaces the time: until 150
    assert_eq!(b.state(149), State::ForcedOpen);
    assert_eq!(b.state(150), State::HalfOpen);
    b.force_open_for(1_000, 200);
    b.force_open(300); // until a reset now
    assert_eq!(b.retry_after_ms(300), None);
    assert_eq!(b.state(u64::MAX), State::ForcedOpen);
    b.force_open_for(10, 400); // timed again
    assert_eq!(b.state(410), State::HalfOpen);
    b.force_open_for(1_000, 500);
    b.reset();
    assert_eq!(b.state(600), State::Closed);
    assert_eq!(b.state(2_000), State::Closed, "the time is gone with it");
    b.force_open_for(1_000, 3_000);
    b.disable(3_100);
    assert_eq!(b.state(5_000), State::Disabled);
    // A forced open for a time is carried by snapshots: the time left.
    let mut buf = [0u8; fusebox::SNAPSHOT_LEN];
    b.force_open_for(1_000, 6_000);
    b.snapshot(6_400, &mut buf).unwrap();
    let mut r = Breaker::restore(*b.config(), &buf, 10).unwrap();
    assert_eq!(r.state(609), State::ForcedOpen);
    assert_eq!(r.retry_after_ms(10), Some(600));
    assert_eq!(r.state(610), State::HalfOpen);
}

#[test]
fn force_half_open_starts_a_round_of_probes_from_any_state() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReopenAlways);
    for from in [
        State::Closed,
        State::Open,
        State::ForcedOpen,
        State::Disabled,
        State::MetricsOnly,
    ] {
        let mut b = breaker(p);
        match from {
            State::Closed => {}
            State::Open => {
                for _ in 0..3 {
                    b.record_failure(0);
                }
            }
            State::ForcedOpen => b.force_open(0),
            State::Disabled => b.disable(0),
            _ => b.metrics_only(0),
        }
        assert_eq!(b.state(0), from);
        transitions(&mut b);
        b.force_half_open(100);
        assert_eq!(b.state(100), State::HalfOpen);
        assert_eq!(
            transitions(&mut b),
            [(from, State::HalfOpen, Reason::Manual)]
        );
        assert_eq!(b.try_acquire(100), Ok(State::HalfOpen));
        // The wait counts from the forced half-open.
        assert_eq!(b.state(599), State::HalfOpen, "from {from:?}");
        assert_eq!(b.state(600), State::Open, "from {from:?}");
    }
    // Already half-open: the round starts again, its probes stale.
    let mut b = open_at(Policy::SNAKEPIT, 0);
    let a = b.try_acquire_permit(1_000).unwrap();
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.try_acquire(1_000), Err(Error::CircuitOpen));
    transitions(&mut b);
    b.force_half_open(1_100);
    assert!(transitions(&mut b).is_empty(), "no state change");
    assert_eq!(b.stats().half_open_calls, 0);
    assert_eq!(b.try_acquire(1_100), Ok(State::HalfOpen));
    assert_eq!(
        b.complete(&a, Outcome::Success, 1_101),
        Err(Error::StalePermit)
    );
    b.record_failure(1_102);
    assert_eq!(b.state(1_102), State::Open);
}

#[test]
fn a_breaker_half_open_by_hand_without_a_failure_snapshots_and_restores() {
    let mut b = breaker(Policy::SNAKEPIT);
    b.force_half_open(10);
    let mut buf = [0u8; fusebox::SNAPSHOT_LEN];
    let n = b.snapshot(10, &mut buf).unwrap();
    let mut r = Breaker::restore(with(Policy::SNAKEPIT), &buf[..n], 20).unwrap();
    assert_eq!(r.state(20), State::HalfOpen);
    assert_eq!(r.try_acquire(20), Ok(State::HalfOpen));
}

#[test]
fn retry_after_in_half_open_is_the_known_wait() {
    // Free probe slots: now.
    let mut b = open_at(Policy::SNAKEPIT, 0);
    assert_eq!(b.retry_after_ms(1_000), Some(0));
    // Every slot taken, no wait limit: no time alone will do.
    b.try_acquire(1_000).unwrap();
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.retry_after_ms(1_100), None);
    // ReleaseProbes: the rest of the wait, then new probes.
    let mut b = open_at(
        Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReleaseProbes),
        0,
    );
    b.try_acquire(1_000).unwrap();
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.retry_after_ms(1_100), Some(400));
    assert_eq!(b.try_acquire(1_500), Ok(State::HalfOpen));
    // Reopen and ReopenAlways: the rest of the wait, then the reopen's
    // open duration (backed off).
    for action in [WaitAction::Reopen, WaitAction::ReopenAlways] {
        let p = Policy::SNAKEPIT
            .with_half_open_max_wait(500, action)
            .with_backoff(300, 0);
        let mut b = open_at(p, 0);
        b.try_acquire(1_000).unwrap();
        b.try_acquire(1_000).unwrap();
        assert_eq!(b.retry_after_ms(1_100), Some(400 + 3_000), "{action:?}");
        assert_eq!(b.try_acquire(4_499), Err(Error::CircuitOpen));
        assert_eq!(b.try_acquire(4_500), Ok(State::HalfOpen));
    }
}

#[test]
fn retry_after_predicts_a_jittered_reopen_exactly() {
    let p = Policy::SNAKEPIT
        .with_half_open_max_wait(500, WaitAction::Reopen)
        .with_backoff(200, 0)
        .with_jitter(50, 11);
    for start in 0..20u64 {
        let mut b = open_at(p, 0);
        // Move the generator along: a few reopens first.
        let mut t = 0;
        for _ in 0..start % 4 {
            t += b.retry_after_ms(t).unwrap();
            b.try_acquire(t).unwrap();
            b.record_failure(t);
        }
        t += b.retry_after_ms(t).unwrap();
        b.try_acquire(t).unwrap();
        b.try_acquire(t).unwrap();
        let wait = b.retry_after_ms(t + start).unwrap();
        let admit = t + start + wait;
        assert_eq!(b.try_acquire(admit - 1), Err(Error::CircuitOpen));
        assert_eq!(b.try_acquire(admit), Ok(State::HalfOpen), "start {start}");
    }
}

#[test]
fn registry_manual_control_by_id() {
    let reg: Registry<2> = Registry::new();
    let id = reg.create(b"m", with(Policy::SNAKEPIT)).unwrap();
    reg.force_open_for(id, 500, 1_000).unwrap();
    // Rejections (with std, on the lock-free path) end with the time.
    for t in [1_000, 1_200, 1_499] {
        assert_eq!(reg.try_acquire(id, t), Err(Error::CircuitOpen));
    }
    assert_eq!(reg.retry_after_ms(id, 1_200), Ok(Some(300)));
    assert_eq!(reg.try_acquire(id, 1_500), Ok(State::HalfOpen));
    reg.force_open_until(id, 3_000, 2_000).unwrap();
    assert_eq!(reg.try_acquire(id, 2_999), Err(Error::CircuitOpen));
    // The clock goes back: the lock-free path must not answer for it.
    assert_eq!(reg.try_acquire(id, 10), Err(Error::CircuitOpen));
    assert_eq!(reg.state(id, 1_009), Ok(State::ForcedOpen));
    assert_eq!(reg.state(id, 1_010), Ok(State::HalfOpen));
    reg.force_open(id, 1_020).unwrap();
    reg.force_half_open(id, 1_030).unwrap();
    assert_eq!(reg.state(id, 1_030), Ok(State::HalfOpen));
    assert_eq!(reg.stats(id).unwrap().rejected_count, 5);
    reg.remove(id).unwrap();
    for r in [
        reg.force_open_for(id, 1, 0),
        reg.force_open_until(id, 1, 0),
        reg.force_half_open(id, 0),
    ] {
        assert_eq!(r, Err(Error::NotFound));
    }
    assert_eq!(
        reg.force_half_open(Id::from_raw(0), 0),
        Err(Error::NotFound)
    );
}

#[test]
fn a_reopen_at_the_end_of_the_probe_wait_counts_from_there_however_late_the_next_call() {
    let p = Policy::SNAKEPIT.with_half_open_max_wait(500, WaitAction::ReopenAlways);
    let mut b = open_at(p, 0);
    assert_eq!(b.state(1_000), State::HalfOpen);
    transitions(&mut b);
    // No call until 10 000: the breaker reopened at 1 500 and was due
    // half-open again at 2 500, so this call is a probe.
    assert_eq!(b.try_acquire(10_000), Ok(State::HalfOpen));
    assert_eq!(
        transitions(&mut b),
        [
            (State::HalfOpen, State::Open, Reason::ProbeTimeout),
            (State::Open, State::HalfOpen, Reason::Timeout),
        ]
    );
    assert_eq!(b.stats().last_failure_ms, Some(1_500));
    assert_eq!(b.stats().time_in_state_ms[2], 500, "half-open 1 000..1 500");
    // Read inside the reopened window: still open, until 1 500 + 1 000.
    let mut b = open_at(p, 0);
    b.try_acquire(1_000).unwrap();
    assert_eq!(b.state(2_499), State::Open);
    assert_eq!(b.retry_after_ms(2_499), Some(1));
    assert_eq!(b.state(2_500), State::HalfOpen);
}

#[test]
fn a_transition_decided_at_a_load_clocks_reading_reaches_the_listener() {
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<(State, State, u64)>> = Mutex::new(Vec::new());
    static REG: Registry<2> = Registry::new();
    fn on_event(ev: &fusebox::Event, _: usize) {
        let t = ev.transition;
        SEEN.lock().unwrap().push((t.from, t.to, t.now_ms));
    }
    REG.set_listener(Some(fusebox::Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(100);
    let id = REG.create(b"db", cfg).unwrap();
    // `ManualClock` is read by loads: without `std` the registry decides
    // at its reading inside the one pass through the slot.
    let clock = fusebox::ManualClock::new(10);
    REG.record_failure(id, 10).unwrap();
    clock.set(60);
    assert_eq!(REG.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
    clock.set(110);
    assert_eq!(REG.try_acquire_with(id, &clock), Ok(State::HalfOpen));
    REG.set_listener(None).unwrap();
    assert_eq!(
        *SEEN.lock().unwrap(),
        [
            (State::Closed, State::Open, 10),
            (State::Open, State::HalfOpen, 110)
        ]
    );
    let stats = REG.stats(id).unwrap();
    assert_eq!((stats.rejected_count, stats.admitted_count), (1, 1));
}
