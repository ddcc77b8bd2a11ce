//! Threads hammering one registry (critical-section's std implementation).
use fusebox::{Config, Error, Registry, State};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Barrier;

#[path = "support/busy.rs"]
mod busy;
use busy::unless_busy;

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
        unless_busy(|| REG.record_failure(id, t)).unwrap();
        assert_eq!(REG.state(id, t + 10), Ok(State::HalfOpen));
        let admitted = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..8 {
                        match unless_busy(|| REG.try_acquire(id, t + 10)) {
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
        assert_eq!(unless_busy(|| REG.stats(id)).unwrap().half_open_calls, max);
    }
    let s = unless_busy(|| REG.stats(id)).unwrap();
    let attempts = ROUNDS * THREADS as u64 * 8;
    assert_eq!(s.admitted_count + s.rejected_count, attempts);
    assert_eq!(s.admitted_count, ROUNDS * u64::from(max));
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
                    match unless_busy(|| REG.try_acquire(shared, now)) {
                        Ok(_) => {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            if (i + t as u64).is_multiple_of(3) {
                                unless_busy(|| REG.record_failure(shared, now)).unwrap();
                            } else {
                                successes.fetch_add(1, Ordering::Relaxed);
                                unless_busy(|| REG.record_success(shared, now)).unwrap();
                            }
                        }
                        Err(_) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    let st = unless_busy(|| REG.stats(shared)).unwrap();
                    assert!(st.half_open_calls <= max);
                }
            });
        }
    });
    let s = unless_busy(|| REG.stats(shared)).unwrap();
    assert_eq!(
        s.admitted_count,
        u64::from(admitted.load(Ordering::Relaxed))
    );
    assert_eq!(
        s.rejected_count,
        u64::from(rejected.load(Ordering::Relaxed))
    );
    assert_eq!(
        s.admitted_count + s.rejected_count,
        THREADS as u64 * ROUNDS * 5
    );
    assert_eq!(
        s.success_count,
        u64::from(successes.load(Ordering::Relaxed))
    );
    assert!(
        s.rejected_count > 0,
        "the breaker never opened: the test exercised nothing"
    );
}

/// With `std`, counts go to per-thread lanes (8) outside the slot lock;
/// later threads take the lock. Either way, and across lanes handed from
/// ended threads to new ones, and across a slot's reuse by a new breaker,
/// every count lands exactly once, on the right breaker.
#[test]
fn counts_stay_exact_beyond_the_lanes_across_thread_ends_and_slot_reuse() {
    static REG: Registry<2> = Registry::new();
    const MANY: usize = 12; // more threads than lanes
    const K: u32 = if cfg!(miri) { 5 } else { 2_000 };
    let closed_cfg = Config::default().with_failure_threshold(1_000);
    let open_cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(1_000_000);
    let closed = REG.create(b"closed", closed_cfg).unwrap();
    let open = REG.create(b"open", open_cfg).unwrap();
    unless_busy(|| REG.record_failure(open, 10)).unwrap();
    let hammer = |closed, open| {
        for _ in 0..K {
            assert_eq!(
                unless_busy(|| REG.try_acquire(closed, 20)),
                Ok(State::Closed)
            );
            unless_busy(|| REG.record_success(closed, 20)).unwrap();
            assert_eq!(
                unless_busy(|| REG.try_acquire(open, 20)),
                Err(Error::CircuitOpen)
            );
        }
    };
    let check = |closed, open, times: u32| {
        let c = unless_busy(|| REG.stats(closed)).unwrap();
        assert_eq!(
            (c.admitted_count, c.success_count, c.rejected_count),
            (u64::from(K * times), u64::from(K * times), 0)
        );
        let o = unless_busy(|| REG.stats(open)).unwrap();
        assert_eq!(
            (o.admitted_count, o.rejected_count),
            (0, u64::from(K * times))
        );
    };

    // All at once: 8 threads count in lanes, the rest through the lock.
    let barrier = Barrier::new(MANY);
    std::thread::scope(|s| {
        for _ in 0..MANY {
            s.spawn(|| {
                barrier.wait();
                hammer(closed, open);
            });
        }
    });
    check(closed, open, MANY as u32);

    // One after another: each new thread takes a lane an ended one gave
    // back, with the counts it holds for these breakers.
    for _ in 0..MANY {
        std::thread::scope(|s| {
            s.spawn(|| hammer(closed, open));
        });
    }
    check(closed, open, 2 * MANY as u32);

    // The slots' next occupants start from zero, though the lanes still
    // hold their predecessors' counts.
    REG.remove(closed).unwrap();
    REG.remove(open).unwrap();
    let closed2 = REG.create(b"closed", closed_cfg).unwrap();
    let open2 = REG.create(b"open", open_cfg).unwrap();
    assert_eq!(
        unless_busy(|| REG.stats(closed2)).unwrap().admitted_count,
        0
    );
    unless_busy(|| REG.record_failure(open2, 10)).unwrap();
    std::thread::scope(|s| {
        for _ in 0..MANY {
            s.spawn(|| hammer(closed2, open2));
        }
    });
    check(closed2, open2, MANY as u32);
    assert_eq!(unless_busy(|| REG.stats(closed)), Err(Error::NotFound));
}

/// Names are read without a lock while other threads create and remove
/// breakers: a lookup never answers an id whose breaker has another name,
/// and a breaker that stays put is always found. Structural operations
/// that meet another in progress answer `Busy` without `std` (retried
/// here) and wait with it.
#[test]
fn lookups_race_creates_and_removes_without_a_wrong_answer() {
    static REG: Registry<8> = Registry::new();
    let steady = REG.create(b"steady", Config::default()).unwrap();
    let churning = AtomicU32::new(2);
    std::thread::scope(|s| {
        for t in 0..2u32 {
            let churning = &churning;
            s.spawn(move || {
                // By time, not rounds: the readers must overlap the writes.
                let start = std::time::Instant::now();
                let run = std::time::Duration::from_millis(if cfg!(miri) { 50 } else { 300 });
                for k in (0..).take_while(|_| start.elapsed() < run) {
                    let name = format!("n{t}-{}", k % 3);
                    let id =
                        unless_busy(|| REG.create(name.as_bytes(), Config::default())).unwrap();
                    unless_busy(|| REG.remove(id)).unwrap();
                }
                churning.fetch_sub(1, Ordering::Relaxed);
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                let mut buf = [0u8; fusebox::NAME_MAX];
                while churning.load(Ordering::Relaxed) > 0 {
                    assert_eq!(REG.lookup(b"steady"), Ok(steady));
                    for name in ["n0-0", "n0-1", "n0-2", "n1-0", "n1-1", "n1-2"] {
                        let Ok(id) = REG.lookup(name.as_bytes()) else {
                            continue;
                        };
                        // Removed since (NotFound), or the breaker looked up.
                        if let Ok(len) = REG.name(id, &mut buf) {
                            assert_eq!(&buf[..len], name.as_bytes(), "wrong breaker");
                        }
                    }
                }
            });
        }
    });
    assert_eq!(REG.len(), 1);
}

/// An operation by a stale id (its breaker removed) on another thread
/// never makes a structural call answer `Busy`: with no other structural
/// call in progress, `create`, `remove` and `restore_all` (all or
/// nothing) always succeed in the slots the stale id points to.
#[test]
fn operations_by_stale_ids_never_make_structural_calls_busy() {
    static REG: Registry<2> = Registry::new();
    let stale: Vec<_> = [b"a", b"b"]
        .map(|n| REG.create(n, Config::default()).unwrap())
        .to_vec();
    let mut blob = vec![0u8; Registry::<2>::SNAPSHOT_ALL_MAX];
    let len = REG.snapshot_all(0, &mut blob).unwrap();
    for id in &stale {
        REG.remove(*id).unwrap();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let rounds = if cfg!(miri) { 10 } else { 20_000 };
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                for id in &stale {
                    assert_eq!(REG.record_failure(*id, 1), Err(Error::NotFound));
                }
            }
        });
        let _done = StopOnDrop(&done);
        for round in 0..rounds {
            let id = REG.create(b"x", Config::default());
            assert!(id.is_ok(), "round {round}: create answered {id:?}");
            assert_eq!(REG.remove(id.unwrap()), Ok(()), "round {round}: remove");
            assert_eq!(
                REG.restore_all(&blob[..len], 0),
                Ok(2),
                "round {round}: restore_all"
            );
            for name in [b"a", b"b"] {
                let id = REG.lookup(name).unwrap();
                assert_eq!(REG.remove(id), Ok(()), "round {round}: remove");
            }
        }
    });
}

/// Stops another thread however the test ends (a failed assertion too,
/// or the scope would wait for it forever).
struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
