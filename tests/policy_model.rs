//! Model-based property test of the policies: random policies and random
//! operation sequences (permits, outcomes with durations, manual control,
//! clock jumps) run against a `Breaker` and against the plain reference
//! model in tests/support/policy_model.rs; every answer, every stats field
//! and every state change must agree. A breaker in a `Registry` takes the
//! same operations as a twin: with `std` that is the registry's lock-free
//! fast path, which must answer and count exactly as the breaker does.
#![cfg(feature = "policies")]
mod support;

use fusebox::{
    Breaker, CallError, Config, Id, ManualClock, Outcome, Permit, Policy, ProbeJudge, Registry,
    State, Stats, TripRule, WaitAction, WindowKind, MAX_BUCKETS, MAX_WINDOW_CALLS,
};
use proptest::prelude::*;
use support::policy_model::{ModelPermit, Observed, PolicyCfg, PolicyModel};

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Permit,
    Complete(usize, Outcome),
    Record(Outcome, u64),
    /// `call` with an op that succeeds or fails and takes this long.
    Call(bool, u64),
    Success,
    Failure,
    Reset,
    Manual(State),
    /// `force_open_for` this long (0 included).
    ForceFor(u64),
    /// `force_open_until` this far ahead (`true`) or behind (`false`).
    ForceUntil(u64, bool),
    State,
    RetryAfter,
    Forward(u64),
    Back(u64),
    Jump,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        3 => Just(Outcome::Success),
        3 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Acquire),
        3 => Just(Op::Permit),
        4 => (any::<usize>(), outcome()).prop_map(|(i, o)| Op::Complete(i, o)),
        3 => (outcome(), 0u64..40).prop_map(|(o, d)| Op::Record(o, d)),
        4 => (any::<bool>(), 0u64..40).prop_map(|(ok, d)| Op::Call(ok, d)),
        3 => Just(Op::Success),
        4 => Just(Op::Failure),
        1 => Just(Op::Reset),
        1 => prop_oneof![
            Just(State::ForcedOpen),
            Just(State::Disabled),
            Just(State::MetricsOnly),
            Just(State::HalfOpen)
        ]
        .prop_map(Op::Manual),
        1 => prop_oneof![Just(0u64), 0u64..80].prop_map(Op::ForceFor),
        1 => (0u64..80, any::<bool>()).prop_map(|(d, ahead)| Op::ForceUntil(d, ahead)),
        2 => Just(Op::State),
        1 => Just(Op::RetryAfter),
        5 => (0u64..60).prop_map(Op::Forward),
        1 => (0u64..60).prop_map(Op::Back),
        1 => Just(Op::Jump),
    ]
}

fn cfg() -> impl Strategy<Value = PolicyCfg> {
    (
        (1u32..4, 1u32..40, 1u32..4),
        prop_oneof![
            Just(TripRule::Cumulative),
            Just(TripRule::Consecutive),
            Just(TripRule::FailureRate)
        ],
        prop_oneof![Just(WindowKind::Count), Just(WindowKind::Time)],
        // Window sizes: small ones (they fill and wrap in a few calls),
        // count windows across the 64-bit word boundaries, and any size the
        // build allows; each capped at the build's limit for its kind.
        (
            (1u32..9, 60u32..140, 1u32..=1024, 0u8..3),
            1u32..30,
            1u32..12,
            1u32..=100,
        ),
        (prop_oneof![Just(0u32), 1u32..20], 1u32..=100),
        (
            1u32..4,
            prop_oneof![Just(0u32), 1u32..50],
            prop_oneof![
                Just(WaitAction::ReleaseProbes),
                Just(WaitAction::Reopen),
                Just(WaitAction::ReopenAlways)
            ],
            prop_oneof![Just(ProbeJudge::FirstFailure), Just(ProbeJudge::Rate)],
        ),
        (
            prop_oneof![Just(100u32), 100u32..400],
            prop_oneof![Just(0u32), 1u32..500],
        ),
    )
        .prop_map(
            |(
                (threshold, timeout, max_probes),
                rule,
                window,
                ((small, mid, any, pick), bucket_ms, minimum_calls, rate),
                (slow_ms, slow_rate),
                (st, max_wait, wait_action, judge),
                (backoff, cap),
            )| PolicyCfg {
                threshold,
                timeout,
                max_probes,
                rule,
                window,
                window_size: match (window, pick) {
                    (_, 0) => small,
                    (WindowKind::Count, 1) => mid,
                    _ => any,
                }
                .min(match window {
                    WindowKind::Count => MAX_WINDOW_CALLS,
                    WindowKind::Time => MAX_BUCKETS,
                }),
                bucket_ms,
                minimum_calls,
                rate,
                slow_ms,
                slow_rate,
                // The rate judge closes by rate: its threshold is 1.
                success_threshold: if judge == ProbeJudge::Rate {
                    1
                } else {
                    st.min(max_probes)
                },
                max_wait,
                wait_action,
                judge,
                backoff,
                cap: if cap == 0 { 0 } else { cap.max(timeout) },
            },
        )
}

fn config(c: &PolicyCfg) -> Config {
    Config::default()
        .with_failure_threshold(c.threshold)
        .with_reset_timeout_ms(c.timeout)
        .with_half_open_max_calls(c.max_probes)
        .with_policy(
            Policy::SNAKEPIT
                .with_trip_rule(c.rule)
                .with_window(c.window, c.window_size, c.bucket_ms)
                .with_minimum_calls(c.minimum_calls)
                .with_failure_rate_percent(c.rate)
                .with_slow_calls(c.slow_ms, c.slow_rate)
                .with_half_open_success_threshold(c.success_threshold)
                .with_half_open_max_wait(c.max_wait, c.wait_action)
                .with_half_open_judge(c.judge)
                .with_backoff(c.backoff, c.cap),
        )
}

/// The stats `s` shows, in the model's terms.
fn observed(s: &Stats, m: &PolicyModel) -> Observed {
    Observed {
        state: s.state.code(),
        failures: s.failure_count as u32,
        successes: s.success_count as u32,
        probes: s.half_open_calls,
        probe_successes: s.half_open_successes,
        last_failure: s.last_failure_ms,
        admitted: s.admitted_count as u32,
        rejected: s.rejected_count as u32,
        transitions: s.transitions as u32,
        generation: s.generation,
        slow: s.slow_count as u32,
        stale: s.stale_count as u32,
        ignored: s.ignored_count as u32,
        open_ms: s.open_duration_ms,
        window: m
            .windowed()
            .then_some((s.window_calls, s.window_failures, s.window_slow)),
    }
}

/// The breaker's stats against the model's: as of the last record, and as
/// they stand at `now` and later (a time window ages; reading changes
/// nothing); the registry's twin reads the same.
fn check(b: &Breaker, m: &PolicyModel, reg: &Registry<1>, id: Id, now: u64) {
    assert_eq!(observed(&b.stats(), m), m.observed());
    let width = u64::from(m.c.bucket_ms);
    for later in [now, now + width - 1, now + 2 * width, u64::MAX] {
        let s = b.stats_at(later);
        assert_eq!(observed(&s, m), m.observed_at(later), "read at {later}");
    }
    let later = now + width;
    assert_eq!(observed(&b.stats_at(later), m), m.observed_at(later));
    assert_eq!(reg.stats_at(id, later), Ok(b.stats_at(later)), "registry");
    let clock = ManualClock::new(later);
    let with = reg.stats_with(id, &clock);
    assert_eq!(with, Ok(b.stats_at(later)), "registry");
}

fn run(c: PolicyCfg, ops: Vec<Op>) {
    let mut b = Breaker::new(config(&c)).expect("generated configs are valid");
    let reg: Registry<1> = Registry::new();
    let id = reg.create(b"twin", config(&c)).expect("room for one");
    let mut m = PolicyModel::new(c);
    let mut permits: Vec<(Permit, ModelPermit)> = Vec::new();
    let mut now: u64 = 1_000;
    for op in ops {
        match op {
            Op::Acquire => {
                let got = b.try_acquire(now);
                assert_eq!(got, m.acquire(now));
                assert_eq!(reg.try_acquire(id, now), got, "registry");
            }
            Op::Permit => match (b.try_acquire_permit(now), m.acquire_permit(now)) {
                (Ok(p), Ok(mp)) => {
                    assert_eq!(p.generation(), mp.generation);
                    assert_eq!(reg.try_acquire_permit(id, now), Ok(p), "registry");
                    permits.push((p, mp));
                }
                (got, want) => {
                    assert_eq!(got.map(|_| ()), want.map(|_| ()));
                    assert_eq!(reg.try_acquire_permit(id, now), got, "registry");
                }
            },
            Op::Complete(i, o) => {
                if !permits.is_empty() {
                    let (p, mp) = permits.swap_remove(i % permits.len());
                    let got = b.complete(&p, o, now);
                    assert_eq!(got, m.complete(&mp, o, now));
                    assert_eq!(reg.complete(id, &p, o, now), got, "registry");
                }
            }
            Op::Record(o, d) => {
                b.record(o, d, now);
                m.record(o, d, now);
                assert_eq!(reg.record(id, o, d, now), Ok(()));
            }
            Op::Call(ok, d) => {
                let run = |clock: &ManualClock| {
                    clock.advance(d);
                    if ok {
                        Ok(7)
                    } else {
                        Err(9)
                    }
                };
                let clock = ManualClock::new(now);
                let got = b.call(&clock, || run(&clock));
                let twin = ManualClock::new(now);
                assert_eq!(reg.call(id, &twin, || run(&twin)), got, "registry");
                // The model: a call is an admission, then the outcome at
                // the end; a breaker that measures slow calls takes a
                // permit (its duration is the op's).
                let outcome = if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                let want = if c.slow_ms != 0 {
                    m.acquire_permit(now).map(|p| {
                        let _ = m.complete(&p, outcome, now.saturating_add(d));
                    })
                } else {
                    m.acquire(now).map(|_| {
                        if ok {
                            m.success(false, now.saturating_add(d));
                        } else {
                            m.failure(false, now.saturating_add(d));
                        }
                    })
                };
                match want {
                    Ok(()) => {
                        assert_eq!(got, if ok { Ok(7) } else { Err(CallError::Failed(9)) });
                        now = now.saturating_add(d);
                    }
                    Err(e) => assert_eq!(got, Err(CallError::Rejected(e))),
                }
            }
            Op::Success => {
                b.record_success(now);
                m.success(false, now);
                assert_eq!(reg.record_success(id, now), Ok(()));
            }
            Op::Failure => {
                b.record_failure(now);
                m.failure(false, now);
                assert_eq!(reg.record_failure(id, now), Ok(()));
            }
            Op::Reset => {
                b.reset();
                m.reset();
                assert_eq!(reg.reset(id), Ok(()));
            }
            Op::Manual(to) => {
                match to {
                    State::ForcedOpen => b.force_open(now),
                    State::Disabled => b.disable(now),
                    State::HalfOpen => b.force_half_open(now),
                    _ => b.metrics_only(now),
                }
                m.manual(to, now);
                let r = match to {
                    State::ForcedOpen => reg.force_open(id, now),
                    State::Disabled => reg.disable(id, now),
                    State::HalfOpen => reg.force_half_open(id, now),
                    _ => reg.metrics_only(id, now),
                };
                assert_eq!(r, Ok(()));
            }
            Op::ForceFor(d) => {
                b.force_open_for(d, now);
                m.force_for(d, now);
                assert_eq!(reg.force_open_for(id, d, now), Ok(()));
            }
            Op::ForceUntil(d, ahead) => {
                let until = if ahead {
                    now.saturating_add(d)
                } else {
                    now.saturating_sub(d)
                };
                b.force_open_until(until, now);
                m.force_until(until, now);
                assert_eq!(reg.force_open_until(id, until, now), Ok(()));
            }
            Op::State => {
                let got = b.state(now);
                assert_eq!(got, m.state(now));
                assert_eq!(reg.state(id, now), Ok(got), "registry");
            }
            Op::RetryAfter => {
                let got = b.retry_after_ms(now);
                assert_eq!(got, m.retry_after(now));
                assert_eq!(reg.retry_after_ms(id, now), Ok(got), "registry");
            }
            Op::Forward(d) => now = now.saturating_add(d),
            Op::Back(d) => now = now.saturating_sub(d),
            Op::Jump => {
                now = if now > u64::MAX / 2 {
                    1_000
                } else {
                    now + (1 << 63)
                }
            }
        }
        check(&b, &m, &reg, id, now);
        assert_eq!(reg.stats(id), Ok(b.stats()), "registry stats");
        let got: Vec<_> = core::iter::from_fn(|| b.take_transition())
            .map(|t| (t.from, t.to, t.reason))
            .collect();
        assert_eq!(got, core::mem::take(&mut m.log), "transitions");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 1024 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn breaker_agrees_with_the_policy_model(
        c in cfg(),
        ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 60 } else { 250 }),
    ) {
        run(c, ops);
    }
}
