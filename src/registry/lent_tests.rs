//! Tests of the lent slot (without `std`, with policies): an operation
//! runs its bookkeeping with the slot lent out of the critical section
//! (src/slot/cs_cell.rs), and a context that preempts it and reaches the
//! same slot answers `Busy`. A `with_long` held by the test stands for the
//! preempted operation.
#![forbid(unsafe_code)]

use super::*;
use crate::ManualClock;

/// Firmware with policies: an operation lends its slot out of the
/// critical section. A context that preempts it (here: a call made
/// while the slot is lent, as an interrupt handler's would be) and
/// reaches the same breaker answers `Busy` and changes nothing; other
/// breakers and lookups answer as usual.
#[test]
fn a_call_that_preempts_an_operation_on_its_breaker_is_busy() {
    let r: Registry<2> = Registry::new();
    let id = r
        .create(b"a", Config::default().with_failure_threshold(1))
        .unwrap();
    let other = r.create(b"b", Config::default()).unwrap();
    let before = r.stats(id).unwrap();
    let mut buf = [0u8; crate::SNAPSHOT_LEN];
    r.slots()[id.index()]
        .with_long(|_| {
            assert_eq!(r.try_acquire(id, 1), Err(Error::Busy));
            assert_eq!(r.record_failure(id, 1), Err(Error::Busy));
            assert_eq!(r.record_success(id, 1), Err(Error::Busy));
            assert_eq!(r.state(id, 1), Err(Error::Busy));
            assert_eq!(r.stats(id), Err(Error::Busy));
            assert_eq!(r.snapshot(id, 1, &mut buf), Err(Error::Busy));
            assert_eq!(r.remove(id), Err(Error::Busy));
            assert_eq!(r.lookup(b"a"), Ok(id));
            assert_eq!(r.try_acquire(other, 1), Ok(State::Closed));
        })
        .unwrap();
    assert_eq!(r.stats(id).unwrap(), before);
    assert_eq!(r.record_failure(id, 2), Ok(()));
    assert_eq!(r.state(id, 2), Ok(State::Open));
}

/// A `snapshot_all` that preempted an operation on one of the breakers
/// answers `Busy` with `buf` untouched (it is written only on `Ok`),
/// and holds the structural token no longer.
#[test]
fn a_snapshot_all_that_preempts_an_operation_is_busy_and_writes_nothing() {
    let r: Registry<3> = Registry::new();
    for name in [b"a", b"b"] {
        r.create(name, Config::default()).unwrap();
    }
    let last = r.create(b"c", Config::default()).unwrap();
    let mut buf = [0xA5u8; Registry::<3>::SNAPSHOT_ALL_MAX];
    r.slots()[last.index()]
        .with_long(|_| assert_eq!(r.snapshot_all(0, &mut buf), Err(Error::Busy)))
        .unwrap();
    assert!(buf.iter().all(|&b| b == 0xA5), "buf written on Busy");
    assert_eq!(r.snapshot_all(0, &mut buf), Ok(buf.len()));
}

/// Without `std`, with policies, on a host (or a second core): a
/// `call` whose op ran while another thread took the breaker's slot
/// for an operation finds the slot `Busy` when it records the outcome.
/// `call` drops that answer (`let _`), and returns the op's result as
/// if recorded: here a half-open breaker's only probe succeeded, yet
/// the breaker never closes and rejects every call from then on (the
/// probe stays in flight; `half_open_max_wait_ms` is 0 by default).
/// The same happens on one core under an RTOS whose op blocks while a
/// lower-priority task starts an operation on the same breaker.
/// Known bug, not fixed here (see the rv16 review): run with
/// `--ignored`.
#[test]
#[ignore = "known bug (rv16 review): call drops a Busy outcome; fails until fixed"]
fn a_calls_outcome_that_finds_its_slot_busy_is_not_lost() {
    use std::sync::mpsc::channel;
    static R: Registry<1> = Registry::new();
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(10);
    let id = R.create(b"a", cfg).unwrap();
    R.record_failure(id, 0).unwrap();
    let clock = ManualClock::new(20); // past the timeout: half-open
    let (go, go_rx) = channel();
    let (held, held_rx) = channel();
    let (release, release_rx) = channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            go_rx.recv().unwrap();
            R.slots()[id.index()]
                .with_long(|_| {
                    held.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .unwrap();
        });
        let r: Result<(), crate::CallError<()>> = R.call(id, &clock, || {
            go.send(()).unwrap();
            held_rx.recv().unwrap();
            Ok(())
        });
        release.send(()).unwrap();
        assert!(r.is_ok());
    });
    // The probe succeeded: closed. (With the bug: half-open, its only
    // probe slot taken for good.)
    assert_eq!(R.state(id, 30), Ok(State::Closed));
    assert_eq!(R.try_acquire(id, 1_000_000), Ok(State::Closed));
}

/// Without `std`, with policies: an operation queues its breaker's
/// events while its slot is still lent (so that they stay in order). An
/// interrupt handler that preempts it right then, and changes another
/// breaker, delivers every event queued up to its own: the listener
/// receives the preempted operation's event while that operation still
/// holds the breaker, and a listener that looks at the breaker gets
/// `Busy`. (Before the slot was lent, the whole operation, queueing
/// included, was one critical section: no handler could run there.)
/// Known, not fixed here (see the rv16 review): run with `--ignored`.
#[test]
#[ignore = "known issue (rv16 review): a listener may get an event of a breaker still lent"]
fn a_listener_never_gets_an_event_of_a_breaker_still_in_its_operation() {
    use std::sync::Mutex;
    static R: Registry<2> = Registry::new();
    static SEEN: Mutex<Vec<(Id, Result<State, Error>)>> = Mutex::new(Vec::new());
    fn on_event(ev: &crate::Event, _: usize) {
        let state = R.state(ev.id, ev.transition.now_ms);
        SEEN.lock().unwrap().push((ev.id, state));
    }
    let cfg = Config::default().with_failure_threshold(1);
    let a = R.create(b"a", cfg).unwrap();
    let b = R.create(b"b", cfg).unwrap();
    R.set_listener(Some(crate::Listener {
        func: on_event,
        data: 0,
    }))
    .unwrap();
    // `a`'s operation, as `with_breaker` runs it: the change made and
    // queued with the slot lent...
    R.slots()[a.index()]
        .with_long(|s| {
            let breaker = s.get_mut(a).unwrap();
            breaker.record_failure(0);
            R.queue_transitions(a, breaker);
            // ...when a handler preempts it and opens `b`.
            R.record_failure(b, 0).unwrap();
        })
        .unwrap();
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (id, state) in seen {
        assert_eq!(state, Ok(State::Open), "the listener's look at {id:?}");
    }
}

/// Without `std`, with policies, threads on one breaker never wait for
/// each other: an operation that finds the breaker in another's
/// operation answers `Busy` and counts nothing; every other answer is
/// counted exactly.
#[test]
fn busy_answers_count_nothing() {
    const ROUNDS: u64 = if cfg!(miri) { 100 } else { 20_000 };
    static R: Registry<1> = Registry::new();
    let id = R.create(b"a", Config::default()).unwrap();
    let admitted: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut admitted = 0;
                    for t in 0..ROUNDS {
                        if R.try_acquire(id, t) == Ok(State::Closed) {
                            admitted += 1;
                            while R.record_success(id, t) == Err(Error::Busy) {}
                        }
                    }
                    admitted
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let stats = R.stats(id).unwrap();
    assert_eq!(stats.admitted_count, admitted as u64);
    assert_eq!(stats.success_count, admitted as u64);
}
