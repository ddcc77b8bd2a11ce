//! One test per rule of Snakepit's circuit breaker (see docs/semantics.md).
use fusebox::{Breaker, CallError, Config, Error, ManualClock, State};

fn breaker(threshold: u32, timeout: u32, probes: u32) -> Breaker {
    Breaker::new(
        Config::default()
            .with_failure_threshold(threshold)
            .with_reset_timeout_ms(timeout)
            .with_half_open_max_calls(probes),
    )
    .unwrap()
}

/// A breaker tripped at t=100 with threshold 1 and timeout 1000.
fn tripped() -> Breaker {
    let mut b = breaker(1, 1000, 1);
    b.record_failure(100);
    assert_eq!(b.state(100), State::Open);
    b
}

#[test]
fn defaults_are_snakepits() {
    let c = Config::default();
    assert_eq!(
        (
            c.failure_threshold,
            c.reset_timeout_ms,
            c.half_open_max_calls
        ),
        (5, 30_000, 1)
    );
    assert_eq!(Config::new(), c);
    assert_eq!(Config::SNAKEPIT, c);
}

#[test]
fn invalid_config_is_an_error() {
    for bad in [
        Config::default().with_failure_threshold(0),
        Config::default().with_half_open_max_calls(0),
        Config::default().with_reset_timeout_ms(0),
    ] {
        assert_eq!(bad.validate(), Err(Error::InvalidConfig));
        assert_eq!(Breaker::new(bad), Err(Error::InvalidConfig));
    }
    let max = Config::default()
        .with_failure_threshold(u32::MAX)
        .with_reset_timeout_ms(u32::MAX)
        .with_half_open_max_calls(u32::MAX);
    assert!(Breaker::new(max).is_ok());
}

#[test]
fn new_breaker_is_closed_and_empty() {
    let mut b = Breaker::new(Config::default()).unwrap();
    assert_eq!(b.state(0), State::Closed);
    let s = b.stats();
    assert_eq!(
        (
            s.failure_count,
            s.success_count,
            s.half_open_calls,
            s.last_failure_ms
        ),
        (0, 0, 0, None)
    );
    assert_eq!(s.failure_threshold, 5);
}

#[test]
fn closed_allows_every_call() {
    let mut b = breaker(3, 1000, 1);
    for t in 0..100 {
        assert!(b.allow_call(t));
        assert_eq!(b.try_acquire(t), Ok(State::Closed));
    }
    assert_eq!(b.stats().admitted_count, 100);
    assert_eq!(b.stats().half_open_calls, 0);
}

#[test]
fn closed_failure_counts_and_sets_last_failure_time() {
    let mut b = breaker(3, 1000, 1);
    b.record_failure(42);
    let s = b.stats();
    assert_eq!(
        (s.state, s.failure_count, s.last_failure_ms),
        (State::Closed, 1, Some(42))
    );
    b.record_failure(50);
    assert_eq!(b.stats().last_failure_ms, Some(50));
}

#[test]
fn closed_opens_when_failures_reach_threshold() {
    let mut b = breaker(3, 1000, 1);
    b.record_failure(1);
    b.record_failure(2);
    assert_eq!(b.state(2), State::Closed);
    b.record_failure(3);
    assert_eq!(b.state(3), State::Open);
    assert_eq!(b.stats().failure_count, 3);
}

#[test]
fn closed_success_counts_and_does_not_clear_failures() {
    // Snakepit counts failures cumulatively, not consecutively.
    let mut b = breaker(3, 1000, 1);
    b.record_failure(1);
    b.record_success(2);
    b.record_failure(3);
    b.record_success(4);
    assert_eq!(b.stats().failure_count, 2);
    assert_eq!(b.stats().success_count, 2);
    b.record_failure(5);
    assert_eq!(b.state(5), State::Open);
}

#[test]
fn open_rejects_calls_and_counts_rejections() {
    let mut b = tripped();
    assert!(!b.allow_call(200));
    assert_eq!(b.try_acquire(200), Err(Error::CircuitOpen));
    assert_eq!(b.try_acquire(201), Err(Error::CircuitOpen));
    assert_eq!(b.stats().rejected_count, 2);
    assert_eq!(b.stats().admitted_count, 0);
}

#[test]
fn open_failure_counts_and_restarts_the_open_window() {
    let mut b = tripped();
    b.record_failure(900);
    assert_eq!(b.stats().failure_count, 2);
    assert_eq!(b.stats().last_failure_ms, Some(900));
    // 1000 ms after the first failure but not after the last: still open.
    assert_eq!(b.state(1100), State::Open);
    assert_eq!(b.state(1899), State::Open);
    assert_eq!(b.state(1900), State::HalfOpen);
}

#[test]
fn open_success_counts_and_stays_open() {
    let mut b = tripped();
    b.record_success(200);
    assert_eq!(b.state(200), State::Open);
    assert_eq!(b.stats().success_count, 1);
    assert_eq!(b.stats().failure_count, 1);
}

#[test]
fn open_moves_to_half_open_exactly_at_the_timeout() {
    let mut b = tripped();
    assert_eq!(b.state(1099), State::Open);
    assert_eq!(b.state(1100), State::HalfOpen);
    assert_eq!(b.stats().half_open_calls, 0);
}

#[test]
fn allow_call_and_try_acquire_also_move_open_to_half_open() {
    let mut b = tripped();
    assert!(b.allow_call(1100));
    assert_eq!(b.stats().state, State::HalfOpen);
    let mut b = tripped();
    assert_eq!(b.try_acquire(1100), Ok(State::HalfOpen));
    assert_eq!(b.stats().half_open_calls, 1);
}

#[test]
fn stats_does_not_move_open_to_half_open() {
    let b = tripped();
    // No state query has happened since the timeout ran out.
    assert_eq!(b.stats().state, State::Open);
}

#[test]
fn half_open_admits_up_to_max_calls_and_counts_them() {
    let mut b = breaker(1, 10, 3);
    b.record_failure(0);
    for n in 1..=3 {
        assert_eq!(b.try_acquire(10), Ok(State::HalfOpen));
        assert_eq!(b.stats().half_open_calls, n);
    }
    assert_eq!(b.try_acquire(10), Err(Error::CircuitOpen));
    assert!(!b.allow_call(10));
    assert_eq!(b.stats().half_open_calls, 3);
    assert_eq!(b.stats().rejected_count, 1);
}

#[test]
fn half_open_allow_call_reserves_nothing() {
    let mut b = tripped();
    for _ in 0..10 {
        assert!(b.allow_call(1100));
    }
    assert_eq!(b.stats().half_open_calls, 0);
    assert_eq!(b.try_acquire(1100), Ok(State::HalfOpen));
    assert!(!b.allow_call(1100));
}

#[test]
fn half_open_success_closes_and_clears_counts() {
    let mut b = breaker(2, 10, 2);
    b.record_failure(0);
    b.record_failure(0);
    b.try_acquire(10).unwrap();
    b.record_success(11);
    let s = b.stats();
    assert_eq!(
        (s.state, s.failure_count, s.half_open_calls, s.success_count),
        (State::Closed, 0, 0, 1)
    );
}

#[test]
fn half_open_success_from_any_call_closes() {
    // A success that was not admitted as a probe still closes (Snakepit).
    let mut b = tripped();
    assert_eq!(b.state(1100), State::HalfOpen);
    b.record_success(1100);
    assert_eq!(b.state(1100), State::Closed);
}

#[test]
fn half_open_failure_reopens() {
    let mut b = tripped();
    b.try_acquire(1100).unwrap();
    b.record_failure(1150);
    let s = b.stats();
    assert_eq!(
        (
            s.state,
            s.failure_count,
            s.half_open_calls,
            s.last_failure_ms
        ),
        (State::Open, 2, 0, Some(1150))
    );
    assert_eq!(b.state(2149), State::Open);
    assert_eq!(b.state(2150), State::HalfOpen);
}

#[test]
fn reset_closes_clears_failures_and_keeps_successes() {
    let mut b = tripped();
    b.record_success(150);
    b.reset();
    let s = b.stats();
    assert_eq!(
        (
            s.state,
            s.failure_count,
            s.half_open_calls,
            s.last_failure_ms,
            s.success_count
        ),
        (State::Closed, 0, 0, None, 1)
    );
    assert!(b.allow_call(150));
}

#[test]
fn reset_from_half_open_clears_probe_count() {
    let mut b = tripped();
    b.try_acquire(1100).unwrap();
    b.reset();
    assert_eq!(b.stats().half_open_calls, 0);
    assert_eq!(b.state(1100), State::Closed);
}

#[test]
fn call_rejected_does_not_run_the_operation() {
    let clock = ManualClock::new(200);
    let mut b = tripped();
    let mut ran = false;
    let r: Result<(), CallError<()>> = b.call(&clock, || {
        ran = true;
        Ok(())
    });
    assert_eq!(r, Err(CallError::Rejected(Error::CircuitOpen)));
    assert!(!ran);
}

#[test]
fn call_records_success_and_returns_the_value() {
    let clock = ManualClock::new(0);
    let mut b = breaker(1, 10, 1);
    assert_eq!(b.call(&clock, || Ok::<_, ()>("value")), Ok("value"));
    assert_eq!(b.stats().success_count, 1);
    assert_eq!(b.stats().admitted_count, 1);
}

#[test]
fn call_records_failure_and_hands_back_the_error() {
    let clock = ManualClock::new(7);
    let mut b = breaker(1, 10, 1);
    assert_eq!(
        b.call(&clock, || Err::<(), _>("boom")),
        Err(CallError::Failed("boom"))
    );
    assert_eq!(b.stats().failure_count, 1);
    assert_eq!(b.stats().last_failure_ms, Some(7));
    assert_eq!(b.state(7), State::Open);
}

#[test]
fn call_reads_the_clock_after_the_operation() {
    let clock = ManualClock::new(0);
    let mut b = breaker(1, 10, 1);
    let _ = b.call(&clock, || {
        clock.advance(5);
        Err::<(), _>(())
    });
    assert_eq!(b.stats().last_failure_ms, Some(5));
}

#[test]
fn clock_going_backwards_never_keeps_a_breaker_open_past_its_timeout() {
    let mut b = breaker(1, 1000, 1);
    b.record_failure(1_000_000);
    // The clock jumps back 600 s...
    let back = 400_000;
    assert_eq!(b.state(back), State::Open);
    // ...and is then at most reset_timeout_ms from half-open.
    assert_eq!(b.state(back + 999), State::Open);
    assert_eq!(b.state(back + 1000), State::HalfOpen);
}

#[test]
fn clock_standing_still_keeps_the_breaker_open() {
    let mut b = tripped();
    for _ in 0..1000 {
        assert_eq!(b.try_acquire(100), Err(Error::CircuitOpen));
    }
    assert_eq!(b.state(1100), State::HalfOpen);
}

#[test]
fn clock_jumps_to_the_ends_of_u64_without_overflow() {
    let mut b = breaker(1, u32::MAX, 1);
    b.record_failure(0);
    assert_eq!(b.state(u64::MAX), State::HalfOpen);
    b.record_failure(u64::MAX);
    assert_eq!(b.state(u64::MAX), State::Open);
    assert_eq!(b.stats().last_failure_ms, Some(u64::MAX));
    // Back to 0: re-based, open for reset_timeout_ms of forward time.
    assert_eq!(b.state(0), State::Open);
    assert_eq!(b.state(u64::from(u32::MAX) - 1), State::Open);
    assert_eq!(b.state(u64::from(u32::MAX)), State::HalfOpen);
    // A jump by 2^63.
    let mut b = breaker(1, 10, 1);
    b.record_failure(5);
    assert_eq!(b.state(5 + (1 << 63)), State::HalfOpen);
}

#[test]
fn failure_count_saturates() {
    let mut b = tripped();
    for t in 0..10 {
        b.record_failure(t);
    }
    assert_eq!(b.stats().failure_count, 11);
    let mut b = breaker(u32::MAX, 10, 1);
    b.record_failure(0);
    assert_eq!(b.state(0), State::Closed);
}

#[test]
fn breaker_state_fits_its_budget() {
    // 68 bytes per Snakepit-mode breaker (firmware RAM budget, built
    // without `policies`; 48 until the lifetime counters became 64-bit and
    // `failure_total` was added: 12 + 8 bytes); with policies (rate
    // windows, time buckets, pending events) the documented bound is 456
    // at the default window limits (384 before the 64-bit counters, +16
    // for the policy counters, and the clock reading each pending
    // transition carries, +40), whose rate window takes 128 bytes. Larger limits add what
    // their window takes beyond that (docs/policies.md, "Window limits").
    let words = fusebox::MAX_WINDOW_CALLS.div_ceil(64) as usize;
    let window = (16 * words + 12 + 12 * fusebox::MAX_BUCKETS as usize).div_ceil(8) * 8;
    let budget = if cfg!(feature = "policies") {
        456 - 128 + window.max(128)
    } else {
        68
    };
    assert!(
        core::mem::size_of::<Breaker>() <= budget,
        "{}",
        core::mem::size_of::<Breaker>()
    );
}
