//! Model-based property test: random operation sequences run against the
//! registry and against the reference model in tests/support/model.rs
//! (written from Snakepit's rules); every answer and every stats field must
//! agree.
mod support;

use fusebox::{Config, Error, Id, PlacedRegistry, Registry, RegistryInner, Storage};
use proptest::prelude::*;
use support::model::{BreakerModel, RegistryModel};

const CAP: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Create {
        name: usize,
        threshold: u32,
        timeout: u32,
        probes: u32,
    },
    Lookup(usize),
    Remove(usize),
    Acquire(usize),
    Allow(usize),
    Success(usize),
    Failure(usize),
    Reset(usize),
    State(usize),
    Forward(u64),
    Back(u64),
    Jump,
}

const NAMES: [&[u8]; 6] = [b"a", b"b", b"c", b"d", b"", &[b'x'; 32]];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..NAMES.len(), 0u32..4, 0u32..40, 0u32..3)
            .prop_map(|(name, threshold, timeout, probes)| Op::Create { name, threshold, timeout, probes }),
        1 => (0..NAMES.len()).prop_map(Op::Lookup),
        1 => any::<usize>().prop_map(Op::Remove),
        4 => any::<usize>().prop_map(Op::Acquire),
        2 => any::<usize>().prop_map(Op::Allow),
        3 => any::<usize>().prop_map(Op::Success),
        4 => any::<usize>().prop_map(Op::Failure),
        1 => any::<usize>().prop_map(Op::Reset),
        2 => any::<usize>().prop_map(Op::State),
        4 => (0u64..50).prop_map(Op::Forward),
        1 => (0u64..50).prop_map(Op::Back),
        1 => Just(Op::Jump),
    ]
}

fn check<S: Storage>(reg: &RegistryInner<S>, id: Id, m: &BreakerModel) {
    let s = reg.stats(id).expect("live breaker");
    assert_eq!(s.state, m.state, "state");
    assert_eq!(s.failure_count, u64::from(m.failures), "failure_count");
    assert_eq!(s.success_count, u64::from(m.successes), "success_count");
    assert_eq!(s.failure_threshold, m.threshold, "failure_threshold");
    assert_eq!(s.half_open_calls, m.probes, "half_open_calls");
    assert_eq!(s.half_open_max_calls, m.max_probes, "half_open_max_calls");
    assert_eq!(u64::from(s.reset_timeout_ms), m.timeout, "reset_timeout_ms");
    assert_eq!(s.last_failure_ms, m.last_failure, "last_failure_ms");
    assert_eq!(s.rejected_count, u64::from(m.rejected), "rejected_count");
    assert_eq!(s.admitted_count, u64::from(m.admitted), "admitted_count");
}

fn run(ops: Vec<Op>) {
    run_in(&Registry::<CAP>::new(), ops);
}

/// [`run`] on a registry placed in a heap buffer with capacity `CAP`
/// chosen at run time: the same answers, the same stats.
fn run_placed(ops: Vec<Op>) {
    let align = PlacedRegistry::align();
    let mut buf = vec![0u8; PlacedRegistry::size_for(CAP).unwrap() + align];
    let start = buf.as_ptr().align_offset(align);
    let reg = PlacedRegistry::place(&mut buf[start..], CAP).unwrap();
    assert_eq!(reg.capacity(), CAP);
    run_in(&reg, ops);
}

fn run_in<S: Storage>(reg: &RegistryInner<S>, ops: Vec<Op>) {
    let mut model = RegistryModel::new(CAP);
    let mut now: u64 = 1_000;

    for op in ops {
        // A handle: one of the ids ever handed out (live or stale), or a
        // forged id when none has been.
        let pick = |h: usize, model: &RegistryModel| -> u64 {
            match model.tracked.len() {
                0 => h as u64,
                n => model.tracked[h % n].id,
            }
        };
        match op {
            Op::Create {
                name,
                threshold,
                timeout,
                probes,
            } => {
                let n = NAMES[name];
                let expected = model.expect_create(n, threshold, timeout, probes);
                let cfg = Config::default()
                    .with_failure_threshold(threshold)
                    .with_reset_timeout_ms(timeout)
                    .with_half_open_max_calls(probes);
                let got = reg.create(n, cfg);
                assert_eq!(got.map(|_| ()), expected);
                if let Ok(id) = got {
                    model.created(id.to_raw(), n, threshold, timeout, probes);
                }
            }
            Op::Lookup(name) => {
                let n = NAMES[name];
                assert_eq!(reg.lookup(n).map(Id::to_raw), model.expect_lookup(n));
            }
            Op::Remove(h) => {
                let id = pick(h, &model);
                assert_eq!(reg.remove(Id::from_raw(id)), model.remove(id));
            }
            Op::Acquire(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).and_then(|m| m.acquire(now));
                assert_eq!(reg.try_acquire(Id::from_raw(id), now), expected);
            }
            Op::Allow(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).map(|m| m.allow(now));
                assert_eq!(reg.allow_call(Id::from_raw(id), now), expected);
            }
            Op::Success(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).map(|m| m.success(now));
                assert_eq!(reg.record_success(Id::from_raw(id), now), expected);
            }
            Op::Failure(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).map(|m| m.failure(now));
                assert_eq!(reg.record_failure(Id::from_raw(id), now), expected);
            }
            Op::Reset(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).map(|m| m.reset());
                assert_eq!(reg.reset(Id::from_raw(id)), expected);
            }
            Op::State(h) => {
                let id = pick(h, &model);
                let expected = model.breaker(id).map(|m| m.state(now));
                assert_eq!(reg.state(Id::from_raw(id), now), expected);
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
        assert_eq!(reg.len(), model.live().count());
        for t in &model.tracked {
            match &t.model {
                Some(m) => check(reg, Id::from_raw(t.id), m),
                None => assert_eq!(reg.stats(Id::from_raw(t.id)), Err(Error::NotFound)),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 512 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn registry_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 60 } else { 200 })) {
        run(ops);
    }

    #[test]
    fn a_placed_registry_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..if cfg!(miri) { 60 } else { 200 })) {
        run_placed(ops);
    }

    /// Whatever the clock did before, once time moves forward from any
    /// reading, no breaker stays open longer than its reset timeout.
    #[test]
    fn no_breaker_stays_open_past_its_timeout_once_time_moves_forward(
        timeout in 1u32..10_000,
        readings in proptest::collection::vec(any::<u64>(), 1..30),
        t0 in 0u64..(u64::MAX - 10_000),
    ) {
        let mut b = fusebox::Breaker::new(Config::default().with_failure_threshold(1).with_reset_timeout_ms(timeout)).unwrap();
        for r in readings {
            b.record_failure(r);
        }
        let _ = b.state(t0);
        prop_assert_ne!(b.state(t0 + u64::from(timeout)), fusebox::State::Open);
    }
}
