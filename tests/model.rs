#![allow(clippy::unit_arg)] // the model returns () where the registry returns Ok(())
//! Model-based property test: random operation sequences run against the
//! registry and against a small reference model written from Snakepit's rules;
//! every answer and every stats field must agree.
use fusebox::{Config, Error, Id, Registry, State};
use proptest::prelude::*;

const CAP: usize = 3;

/// The reference model of one breaker: Snakepit's rules, spelled out.
#[derive(Debug, Clone)]
struct Model {
    threshold: u32,
    timeout: u64,
    max_probes: u32,
    state: State,
    failures: u32,
    successes: u32,
    probes: u32,
    last_failure: Option<u64>,
    rejected: u32,
    admitted: u32,
}

impl Model {
    fn new(threshold: u32, timeout: u32, max_probes: u32) -> Self {
        Model {
            threshold,
            timeout: timeout.into(),
            max_probes,
            state: State::Closed,
            failures: 0,
            successes: 0,
            probes: 0,
            last_failure: None,
            rejected: 0,
            admitted: 0,
        }
    }

    /// Lazy open -> half-open; a clock behind the last failure re-bases it.
    fn tick(&mut self, now: u64) {
        if self.state == State::Open {
            let last = self.last_failure.expect("open implies a failure time");
            if now < last {
                self.last_failure = Some(now);
            } else if now - last >= self.timeout {
                self.state = State::HalfOpen;
                self.probes = 0;
            }
        }
    }

    fn allow(&mut self, now: u64) -> bool {
        self.tick(now);
        match self.state {
            State::Closed => true,
            State::Open => false,
            State::HalfOpen => self.probes < self.max_probes,
        }
    }

    fn acquire(&mut self, now: u64) -> Result<State, Error> {
        if self.allow(now) {
            if self.state == State::HalfOpen {
                self.probes += 1;
            }
            self.admitted += 1;
            Ok(self.state)
        } else {
            self.rejected += 1;
            Err(Error::CircuitOpen)
        }
    }

    fn success(&mut self, now: u64) {
        self.tick(now);
        self.successes += 1;
        if self.state == State::HalfOpen {
            self.state = State::Closed;
            self.failures = 0;
            self.probes = 0;
        }
    }

    fn failure(&mut self, now: u64) {
        self.tick(now);
        self.failures += 1;
        self.last_failure = Some(now);
        if self.state == State::HalfOpen
            || (self.state == State::Closed && self.failures >= self.threshold)
        {
            self.state = State::Open;
            self.probes = 0;
        }
    }

    fn reset(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
        self.probes = 0;
        self.last_failure = None;
    }

    fn check(&self, r: &Registry<CAP>, id: Id) {
        let s = r.stats(id).expect("live breaker");
        assert_eq!(s.state, self.state, "state");
        assert_eq!(s.failure_count, self.failures, "failure_count");
        assert_eq!(s.success_count, self.successes, "success_count");
        assert_eq!(s.failure_threshold, self.threshold, "failure_threshold");
        assert_eq!(s.half_open_calls, self.probes, "half_open_calls");
        assert_eq!(s.last_failure_ms, self.last_failure, "last_failure_ms");
        assert_eq!(s.rejected_count, self.rejected, "rejected_count");
        assert_eq!(s.admitted_count, self.admitted, "admitted_count");
    }
}

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

/// A handle ever returned by create, and the model it refers to while live.
struct Handle {
    id: Id,
    name: &'static [u8],
    model: Option<Model>,
}

fn run(ops: Vec<Op>) {
    let reg: Registry<CAP> = Registry::new();
    let mut handles: Vec<Handle> = Vec::new();
    let mut now: u64 = 1_000;

    for op in ops {
        let pick = |h: usize, handles: &Vec<Handle>| -> Option<usize> {
            (!handles.is_empty()).then(|| h % handles.len())
        };
        // A handle index, or a forged id when no handle exists yet.
        macro_rules! by_handle {
            ($h:expr, |$m:ident| $model_op:expr, $real_op:expr) => {{
                match pick($h, &handles) {
                    Some(i) => {
                        let id = handles[i].id;
                        let expected = match handles[i].model.as_mut() {
                            Some($m) => Ok($model_op),
                            None => Err(Error::NotFound),
                        };
                        let got = $real_op(id);
                        assert_eq!(got, expected.and_then(|x| x), "{:?}", op);
                    }
                    None => {
                        let got = $real_op(Id::from_raw($h as u32));
                        assert_eq!(got.map(|_| ()), Err(Error::NotFound));
                    }
                }
            }};
        }
        match op {
            Op::Create {
                name,
                threshold,
                timeout,
                probes,
            } => {
                let n = NAMES[name];
                let cfg = Config::default()
                    .with_failure_threshold(threshold)
                    .with_reset_timeout_ms(timeout)
                    .with_half_open_max_calls(probes);
                let live = handles.iter().filter(|h| h.model.is_some());
                let expected = if n.is_empty() || n.len() > 31 {
                    Err(Error::InvalidName)
                } else if threshold == 0 || timeout == 0 || probes == 0 {
                    Err(Error::InvalidConfig)
                } else if live.clone().any(|h| h.name == n) {
                    Err(Error::NameTaken)
                } else if live.count() == CAP {
                    Err(Error::RegistryFull)
                } else {
                    Ok(())
                };
                let got = reg.create(n, cfg);
                assert_eq!(got.map(|_| ()), expected);
                if let Ok(id) = got {
                    assert!(handles.iter().all(|h| h.id != id), "id handed out twice");
                    handles.push(Handle {
                        id,
                        name: n,
                        model: Some(Model::new(threshold, timeout, probes)),
                    });
                }
            }
            Op::Lookup(name) => {
                let n = NAMES[name];
                let expected = if n.is_empty() || n.len() > 31 {
                    Err(Error::InvalidName)
                } else {
                    handles
                        .iter()
                        .find(|h| h.model.is_some() && h.name == n)
                        .map(|h| h.id)
                        .ok_or(Error::NotFound)
                };
                assert_eq!(reg.lookup(n), expected);
            }
            Op::Remove(h) => match pick(h, &handles) {
                Some(i) => {
                    let expected = if handles[i].model.take().is_some() {
                        Ok(())
                    } else {
                        Err(Error::NotFound)
                    };
                    assert_eq!(reg.remove(handles[i].id), expected);
                }
                None => assert_eq!(reg.remove(Id::from_raw(h as u32)), Err(Error::NotFound)),
            },
            Op::Acquire(h) => by_handle!(h, |m| m.acquire(now), |id| reg.try_acquire(id, now)),
            Op::Allow(h) => by_handle!(h, |m| Ok(m.allow(now)), |id| reg.allow_call(id, now)),
            Op::Success(h) => {
                by_handle!(h, |m| Ok(m.success(now)), |id| reg.record_success(id, now))
            }
            Op::Failure(h) => {
                by_handle!(h, |m| Ok(m.failure(now)), |id| reg.record_failure(id, now))
            }
            Op::Reset(h) => by_handle!(h, |m| Ok(m.reset()), |id| reg.reset(id)),
            Op::State(h) => by_handle!(
                h,
                |m| {
                    m.tick(now);
                    Ok(m.state)
                },
                |id| reg.state(id, now)
            ),
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
        assert_eq!(
            reg.len(),
            handles.iter().filter(|h| h.model.is_some()).count()
        );
        for h in &handles {
            match &h.model {
                Some(m) => m.check(&reg, h.id),
                None => assert_eq!(reg.stats(h.id), Err(Error::NotFound)),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 512 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn registry_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..200)) {
        run(ops);
    }
}
