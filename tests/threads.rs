//! Threads hammering one registry (critical-section's std implementation).
use fusebox::{Config, Error, Registry, State};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Barrier;

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 2_000 };

#[test]
fn half_open_admissions_never_exceed_the_limit_under_a_race() {
    static REG: Registry<2> = Registry::new();
    let max = 3;
    let id = REG
        .create(
            b"race",
            Config::default()
                .with_failure_threshold(1)
                .with_reset_timeout_ms(10)
                .with_half_open_max_calls(max),
        )
        .unwrap();
    let barrier = Barrier::new(THREADS);
    for round in 0..ROUNDS {
        // Open the breaker, then let its timeout run out: half-open at t.
        let t = round * 100;
        REG.record_failure(id, t).unwrap();
        assert_eq!(REG.state(id, t + 10), Ok(State::HalfOpen));
        let admitted = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..8 {
                        match REG.try_acquire(id, t + 10) {
                            Ok(state) => {
                                assert_eq!(state, State::HalfOpen);
                                admitted.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => assert_eq!(e, Error::CircuitOpen),
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), max, "round {round}");
        assert_eq!(REG.stats(id).unwrap().half_open_calls, max);
    }
    let s = REG.stats(id).unwrap();
    let attempts = ROUNDS as u32 * THREADS as u32 * 8;
    assert_eq!(s.admitted_count + s.rejected_count, attempts);
    assert_eq!(s.admitted_count, ROUNDS as u32 * max);
}

#[test]
fn mixed_operations_keep_the_counts_consistent() {
    static REG: Registry<4> = Registry::new();
    let max = 2;
    let cfg = Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(5)
        .with_half_open_max_calls(max);
    let shared = REG.create(b"shared", cfg).unwrap();
    let clock = AtomicU64::new(0);
    let (admitted, rejected, successes) = (AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0));
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (clock, admitted, rejected, successes) = (&clock, &admitted, &rejected, &successes);
            s.spawn(move || {
                for i in 0..ROUNDS * 5 {
                    let now = clock.fetch_add(1, Ordering::Relaxed);
                    match REG.try_acquire(shared, now) {
                        Ok(_) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            if (i + t as u64).is_multiple_of(3) {
                                REG.record_failure(shared, now).unwrap();
                            } else {
                                successes.fetch_add(1, Ordering::Relaxed);
                                REG.record_success(shared, now).unwrap();
                            }
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let st = REG.stats(shared).unwrap();
                    assert!(st.half_open_calls <= max);
                }
            });
        }
    });
    let s = REG.stats(shared).unwrap();
    assert_eq!(s.admitted_count, admitted.load(Ordering::Relaxed));
    assert_eq!(s.rejected_count, rejected.load(Ordering::Relaxed));
    assert_eq!(
        s.admitted_count + s.rejected_count,
        THREADS as u32 * ROUNDS as u32 * 5
    );
    assert_eq!(s.success_count, successes.load(Ordering::Relaxed));
    assert!(
        s.rejected_count > 0,
        "the breaker never opened: the test exercised nothing"
    );
}
