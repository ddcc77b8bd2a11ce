//! Policies under threads: events stay in order, probe limits hold with a
//! success threshold and a wait limit, permits account for every result.
#![cfg(feature = "policies")]

use fusebox::{Config, Error, Event, Listener, Outcome, Policy, Registry, State, WaitAction};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};

#[path = "support/busy.rs"]
mod busy;
use busy::unless_busy;

const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
const ROUNDS: u64 = if cfg!(miri) { 20 } else { 2_000 };

#[test]
fn events_arrive_in_the_order_the_changes_happened() {
    static REG: Registry<8> = Registry::new();
    static SEEN: Mutex<Vec<Event>> = Mutex::new(Vec::new());
    fn on_event(ev: &Event, _: usize) {
        SEEN.lock().unwrap().push(*ev);
    }
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let cfg = Config::default()
        .with_failure_threshold(2)
        .with_reset_timeout_ms(3)
        .with_half_open_max_calls(1);
    let shared = REG.create(b"shared", cfg).unwrap();
    let own: Vec<_> = (0..THREADS)
        .map(|t| REG.create(format!("own{t}").as_bytes(), cfg).unwrap())
        .collect();
    let clock = AtomicU64::new(0);
    std::thread::scope(|s| {
        for (t, &mine) in own.iter().enumerate() {
            let clock = &clock;
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let now = clock.fetch_add(1, Ordering::Relaxed);
                    for id in [shared, mine] {
                        if unless_busy(|| REG.try_acquire(id, now)).is_ok() {
                            if (i + t as u64).is_multiple_of(3) {
                                unless_busy(|| REG.record_success(id, now)).unwrap();
                            } else {
                                unless_busy(|| REG.record_failure(id, now)).unwrap();
                            }
                        }
                    }
                    if i % 97 == 0 {
                        unless_busy(|| REG.force_open(mine, now)).unwrap();
                        unless_busy(|| REG.reset(mine)).unwrap();
                    }
                }
            });
        }
    });
    REG.set_listener(None).unwrap();
    let seen = SEEN.lock().unwrap().clone();
    let dropped = REG.events_dropped();
    let total: u64 = own
        .iter()
        .chain([&shared])
        .map(|&id| REG.stats(id).unwrap().transitions)
        .sum();
    assert!(
        total > ROUNDS / 2,
        "too few changes to test anything: {total}"
    );
    assert_eq!(
        seen.len() as u64 + u64::from(dropped),
        total,
        "every change delivered or counted"
    );
    // Delivery order is queue order: strictly increasing sequence numbers.
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq), "out of order");
    // With `std`, an operation waits until its own events are delivered,
    // so producers cannot outrun the listener into a full queue. Without
    // it (no thread identity to tell the dispatcher apart), a full queue
    // drops and counts, as checked above.
    if cfg!(feature = "std") {
        assert_eq!(dropped, 0);
    }
    for id in own.iter().chain([&shared]) {
        let generations: Vec<_> = seen
            .iter()
            .filter(|e| e.id == *id)
            .map(|e| e.transition.generation)
            .collect();
        assert!(generations.windows(2).all(|w| w[0] < w[1]), "{id:?}");
    }
    // Per breaker, each change starts where the previous one ended (holds
    // for whatever was delivered when nothing was dropped: always with std).
    if dropped == 0 {
        for id in own.iter().chain([&shared]) {
            let chain: Vec<_> = seen.iter().filter(|e| e.id == *id).collect();
            assert_eq!(
                chain.first().map(|e| e.transition.from),
                Some(State::Closed)
            );
            for w in chain.windows(2) {
                assert_eq!(w[0].transition.to, w[1].transition.from, "{id:?}");
                assert!(w[0].transition.generation < w[1].transition.generation);
            }
        }
    }
}

#[test]
fn probe_limit_holds_per_round_with_a_success_threshold_and_a_wait_limit() {
    static REG: Registry<2> = Registry::new();
    let max = 3;
    let policy = Policy::SNAKEPIT
        .with_half_open_success_threshold(2)
        .with_half_open_max_wait(50, WaitAction::ReleaseProbes);
    let id = REG
        .create(
            b"race",
            Config::default()
                .with_failure_threshold(1)
                .with_reset_timeout_ms(10)
                .with_half_open_max_calls(max)
                .with_policy(policy),
        )
        .unwrap();
    let barrier = Barrier::new(THREADS);
    REG.record_failure(id, 0).unwrap();
    let mut t = 10;
    for round in 0..ROUNDS / 4 {
        // Each round: a fresh set of probe slots (the first after the open
        // timeout, the next ones after the wait limit released them).
        let admitted = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..8 {
                        match unless_busy(|| REG.try_acquire(id, t)) {
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
        // One probe reports (below the threshold of 2), the rest are lost.
        REG.record_success(id, t).unwrap();
        assert_eq!(REG.state(id, t), Ok(State::HalfOpen));
        t += 50;
    }
}

#[test]
fn every_permit_result_is_recorded_or_counted_stale() {
    static REG: Registry<2> = Registry::new();
    let cfg = Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(2)
        .with_half_open_max_calls(2);
    let id = REG.create(b"p", cfg).unwrap();
    let clock = AtomicU64::new(0);
    let completed = AtomicU32::new(0);
    let stale = AtomicU32::new(0);
    let barrier = Barrier::new(THREADS);
    // Recorded successes, failures, ignored (indexed by Outcome).
    let counts: [AtomicU32; 3] = Default::default();
    std::thread::scope(|s| {
        for t in 0..THREADS as u64 {
            let (clock, completed, stale, counts) = (&clock, &completed, &stale, &counts);
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for i in 0..ROUNDS {
                    let now = clock.fetch_add(1, Ordering::Relaxed);
                    let Ok(permit) = unless_busy(|| REG.try_acquire_permit(id, now)) else {
                        continue;
                    };
                    let outcome = match (i + t) % 4 {
                        0 | 1 => Outcome::Failure,
                        2 => Outcome::Success,
                        _ => Outcome::Ignored,
                    };
                    // Let other threads move the breaker on meanwhile.
                    std::thread::yield_now();
                    let later = clock.fetch_add(1, Ordering::Relaxed);
                    match unless_busy(|| REG.complete(id, &permit, outcome, later)) {
                        Ok(()) => counts[outcome as usize].fetch_add(1, Ordering::Relaxed),
                        Err(Error::StalePermit) => stale.fetch_add(1, Ordering::Relaxed),
                        Err(e) => panic!("{e:?}"),
                    };
                    completed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let s = REG.stats(id).unwrap();
    assert!(
        s.stale_count > 0,
        "no permit went stale: the test exercised nothing"
    );
    let n = |i: usize| u64::from(counts[i].load(Ordering::Relaxed));
    assert_eq!(s.stale_count, u64::from(stale.load(Ordering::Relaxed)));
    assert_eq!(s.success_count, n(Outcome::Success as usize));
    assert_eq!(s.ignored_count, n(Outcome::Ignored as usize));
    assert!(n(Outcome::Failure as usize) > 0);
    assert_eq!(
        s.admitted_count,
        u64::from(completed.load(Ordering::Relaxed))
    );
    assert_eq!(
        n(0) + n(1) + n(2) + s.stale_count,
        s.admitted_count,
        "every admitted call's result recorded or counted stale"
    );
}

/// State changes (queued while their breaker's slot is locked) racing with
/// create, lookup and remove (which lock slots inside the critical
/// section) must not deadlock: the event queue has a lock of its own. A
/// watchdog turns a hang into a failure.
#[test]
fn state_changes_and_structural_operations_do_not_deadlock() {
    static REG: Registry<4> = Registry::new();
    fn on_event(_: &Event, _: usize) {}
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(1)
        .with_half_open_max_calls(1);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let flappers_left = AtomicU32::new(THREADS as u32 - 1);
        std::thread::scope(|s| {
            let left = &flappers_left;
            // Churn: create, lookup (of a flapping breaker) and remove lock
            // slots inside the critical section.
            s.spawn(move || {
                while left.load(Ordering::Relaxed) > 0 {
                    if let Ok(id) = unless_busy(|| REG.create(b"churn", cfg)) {
                        let _ = REG.lookup(b"flap0");
                        unless_busy(|| REG.remove(id)).unwrap();
                    }
                }
            });
            for t in 0..THREADS - 1 {
                s.spawn(move || {
                    let name = format!("flap{t}");
                    let id = unless_busy(|| REG.create(name.as_bytes(), cfg)).unwrap();
                    for i in 0..ROUNDS * 5 {
                        // Open, then half-open: two state changes a round.
                        let _ = REG.record_failure(id, i * 2);
                        let _ = REG.state(id, i * 2 + 1);
                    }
                    unless_busy(|| REG.remove(id)).unwrap();
                    left.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        let _ = done_tx.send(());
    });
    let limit = std::time::Duration::from_secs(if cfg!(miri) { 3_600 } else { 60 });
    assert!(
        done_rx.recv_timeout(limit).is_ok(),
        "deadlock: state changes and structural operations never finished"
    );
}

/// Retirement: once `set_listener` returned, the listener it replaced is
/// never called again. Workers change state all the time; a swapper
/// installs listeners with fresh data (a token) and, when `set_listener`
/// returns, retires the old token. Every listener call checks that its
/// token is not retired (as a C program would poison or free the old
/// userdata at that point). With `std` only: without it a setter never
/// waits and answers `Busy` while a listener call is in progress, which
/// under this test's endless traffic from other threads is nearly always.
#[cfg(feature = "std")]
#[test]
fn set_listener_returns_only_once_the_old_listener_is_never_called_again() {
    static REG: Registry<8> = Registry::new();
    const TOKENS: usize = if cfg!(miri) { 20 } else { 2_000 };
    static RETIRED: [std::sync::atomic::AtomicBool; TOKENS] =
        [const { std::sync::atomic::AtomicBool::new(false) }; TOKENS];
    static AFTER_RETIREMENT: AtomicU32 = AtomicU32::new(0);
    static CALLS: AtomicU32 = AtomicU32::new(0);
    fn on_event(_: &Event, token: usize) {
        CALLS.fetch_add(1, Ordering::Relaxed);
        if RETIRED[token].load(Ordering::SeqCst) {
            AFTER_RETIREMENT.fetch_add(1, Ordering::Relaxed);
        }
        // Some work, so that calls are in progress during swaps.
        for _ in 0..if cfg!(miri) { 10 } else { 1_000 } {
            std::hint::spin_loop();
        }
    }
    let cfg = Config::default().with_failure_threshold(1);
    let ids: Vec<_> = (0..THREADS)
        .map(|t| REG.create(format!("ret{t}").as_bytes(), cfg).unwrap())
        .collect();
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for &id in &ids {
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    REG.force_open(id, 0).unwrap();
                    REG.reset(id).unwrap();
                }
            });
        }
        for token in 1..TOKENS {
            // Swap while the listener is busy: after a few calls.
            let calls = CALLS.load(Ordering::Relaxed);
            while CALLS.load(Ordering::Relaxed) < calls + 3 {
                std::thread::yield_now();
            }
            REG.set_listener(Some(Listener {
                func: on_event,
                data: token,
            }))
            .unwrap();
            RETIRED[token - 1].store(true, Ordering::SeqCst);
        }
        stop.store(true, Ordering::Relaxed);
    });
    REG.set_listener(None).unwrap();
    assert!(CALLS.load(Ordering::Relaxed) > 0);
    assert_eq!(
        AFTER_RETIREMENT.load(Ordering::Relaxed),
        0,
        "listener calls with a retired token (of {} calls)",
        CALLS.load(Ordering::Relaxed)
    );
}

/// `set_listener` called from inside the listener would wait for itself:
/// it answers `Busy` and keeps the listener.
#[test]
fn set_listener_from_inside_the_listener_is_busy() {
    static REG: Registry<2> = Registry::new();
    static ANSWERS: Mutex<Vec<Result<(), Error>>> = Mutex::new(Vec::new());
    fn other(_: &Event, _: usize) {}
    fn on_event(_: &Event, _: usize) {
        let r = REG.set_listener(Some(Listener {
            func: other,
            data: 0,
        }));
        ANSWERS.lock().unwrap().push(r);
    }
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let id = REG
        .create(b"busy", Config::default().with_failure_threshold(1))
        .unwrap();
    REG.force_open(id, 0).unwrap();
    REG.reset(id).unwrap();
    // Both events reached `on_event`: the first call did not replace it.
    assert_eq!(
        *ANSWERS.lock().unwrap(),
        [Err(Error::Busy), Err(Error::Busy)]
    );
    REG.set_listener(None).unwrap();
}

#[cfg(feature = "std")]
std::thread_local! {
    /// Events the listener received on this thread.
    static DELIVERED_HERE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Bounded delivery: a call delivers at most the events queued before its
/// own (at most the queue's length, `EVENT_QUEUE_LEN`, are queued at any
/// time) and its own, never what other threads queue after it. Threads
/// change state in a loop with a listener slow enough that the queue is
/// never empty; each counts the events the listener received on its own
/// thread during each of its calls. With `std` only: without it nothing
/// waits, and a call that finds a delivery in progress hands its events to
/// it (on firmware, the code its interrupt preempted).
#[cfg(feature = "std")]
#[test]
fn a_call_delivers_at_most_the_events_queued_before_its_own() {
    static REG: Registry<16> = Registry::new();
    fn on_event(_: &Event, _: usize) {
        DELIVERED_HERE.with(|d| d.set(d.get() + 1));
        for _ in 0..if cfg!(miri) { 10 } else { 2_000 } {
            std::hint::spin_loop();
        }
    }
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let threads = if cfg!(miri) { 3 } else { 8 };
    let rounds = if cfg!(miri) { 20 } else { 1_000 };
    let ids: Vec<_> = (0..threads)
        .map(|t| {
            REG.create(format!("b{t}").as_bytes(), Config::default())
                .unwrap()
        })
        .collect();
    let most = std::thread::scope(|s| {
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                s.spawn(move || {
                    let mut most = 0;
                    for _ in 0..rounds {
                        // Measured per call (each makes one change).
                        let before = DELIVERED_HERE.with(|d| d.get());
                        REG.force_open(id, 0).unwrap();
                        most = most.max(DELIVERED_HERE.with(|d| d.get()) - before);
                        let before = DELIVERED_HERE.with(|d| d.get());
                        REG.reset(id).unwrap();
                        most = most.max(DELIVERED_HERE.with(|d| d.get()) - before);
                    }
                    most
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    });
    REG.set_listener(None).unwrap();
    assert!(
        most <= fusebox::EVENT_QUEUE_LEN as u32,
        "one call delivered {most} events (queue length {})",
        fusebox::EVENT_QUEUE_LEN
    );
}

/// A call that changes no state never waits for the listener: while the
/// listener is blocked (on a flag this test controls) delivering another
/// thread's event, calls on another breaker that change nothing return.
#[test]
fn a_call_without_events_does_not_wait_for_a_blocked_listener() {
    use std::sync::atomic::AtomicBool;
    static REG: Registry<4> = Registry::new();
    static ENTERED: AtomicBool = AtomicBool::new(false);
    static RELEASE: AtomicBool = AtomicBool::new(false);
    fn on_event(_: &Event, _: usize) {
        ENTERED.store(true, Ordering::SeqCst);
        while !RELEASE.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }
    REG.set_listener(Some(Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    let slow = REG.create(b"slow", Config::default()).unwrap();
    let quiet = REG.create(b"quiet", Config::default()).unwrap();
    std::thread::scope(|s| {
        let blocked = s.spawn(move || REG.force_open(slow, 0));
        while !ENTERED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        s.spawn(move || {
            for now in 0..100 {
                REG.try_acquire(quiet, now).unwrap();
                REG.record_success(quiet, now).unwrap();
                REG.record_failure(quiet, now).unwrap();
                assert_eq!(REG.state(quiet, now), Ok(State::Closed));
                REG.reset(quiet).unwrap();
            }
            let _ = tx.send(());
        });
        // Generous: the calls take microseconds; waiting for the listener
        // would take forever.
        let limit = std::time::Duration::from_secs(if cfg!(miri) { 3_600 } else { 30 });
        let returned = rx.recv_timeout(limit).is_ok();
        let still_blocked = !RELEASE.load(Ordering::SeqCst);
        RELEASE.store(true, Ordering::SeqCst);
        blocked.join().unwrap().unwrap();
        assert!(
            returned && still_blocked,
            "calls without events waited for the listener"
        );
    });
    REG.set_listener(None).unwrap();
}
