//! Rejections counted without the slot: every build without `std` whose
//! target has compare-and-swap, with policies (src/fast/firmware.rs; on
//! other builds these tests check the slot's own counting). An open
//! breaker's window is published, and a clock read by loads rejects
//! against it; the counts must come out exact in the stats, snapshots and
//! metrics, past the fast path's 16-bit pending count, for each occupant
//! of a slot, and while another thread folds them in.
use fusebox::{Clock, Config, Error, Registry, State, SNAPSHOT_LEN};
use std::sync::atomic::{AtomicU64, Ordering};

/// A clock read by loads (as a variable is on firmware).
struct Var(AtomicU64);

impl Clock for Var {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn load_now_ms(&self) -> Option<u64> {
        Some(self.now_ms())
    }
}

fn open_config() -> Config {
    Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(1_000_000)
}

/// Creates breaker `name` in `r`, opens it at `clock`'s time and has it
/// reject `n` calls.
fn open_and_rejected(r: &Registry<1>, name: &[u8], clock: &Var, n: u32) -> fusebox::Id {
    let id = r.create(name, open_config()).unwrap();
    r.record_failure(id, clock.now_ms()).unwrap();
    for _ in 0..n {
        assert_eq!(r.try_acquire_with(id, clock), Err(Error::CircuitOpen));
    }
    id
}

/// More rejections than the pending count holds (65 535): the slot folds
/// them in, and every count reaches the stats and the snapshot.
#[test]
fn every_rejection_is_counted_past_the_pending_count() {
    let n: u64 = if cfg!(miri) { 300 } else { 70_000 };
    let r: Registry<2> = Registry::new();
    let id = r.create(b"x", open_config()).unwrap();
    let clock = Var(AtomicU64::new(10));
    r.record_failure(id, 10).unwrap();
    for i in 0..n {
        if i % 1000 == 999 {
            clock.0.fetch_add(1, Ordering::Relaxed);
        }
        assert_eq!(r.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
        if i == n / 2 {
            assert_eq!(r.stats(id).unwrap().rejected_count, i + 1);
        }
    }
    assert_eq!(r.stats(id).unwrap().rejected_count, n);
    assert_eq!(r.stats_at(id, 20).unwrap().rejected_count, n);
    let mut blob = [0u8; SNAPSHOT_LEN];
    r.snapshot(id, 20, &mut blob).unwrap();
    let copy: Registry<2> = Registry::new();
    let restored = copy.restore(b"x", open_config(), &blob, 20).unwrap();
    assert_eq!(copy.stats(restored).unwrap().rejected_count, n);
    // The restored breaker is open: it rejects, and counts on.
    for _ in 0..2 {
        assert_eq!(
            copy.try_acquire_with(restored, &clock),
            Err(Error::CircuitOpen)
        );
    }
    assert_eq!(copy.stats(restored).unwrap().rejected_count, n + 2);
    // Counting goes on after the snapshot's fold.
    assert_eq!(r.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
    assert_eq!(r.stats(id).unwrap().rejected_count, n + 1);
    let mut text = [0u8; 4096];
    let len = r.metrics_into(20, &mut text).unwrap();
    let text = core::str::from_utf8(&text[..len]).unwrap();
    let line = format!("outcome=\"rejected\"}} {}", n + 1);
    assert!(text.contains(&line), "no {line:?} in\n{text}");
}

/// A slot's next occupant starts from none of the former one's pending
/// rejections, and the window ends on time.
#[test]
fn a_new_occupant_counts_from_zero() {
    let r: Registry<1> = Registry::new();
    let clock = Var(AtomicU64::new(5));
    let a = open_and_rejected(&r, b"a", &clock, 10);
    r.remove(a).unwrap();
    assert_eq!(r.try_acquire_with(a, &clock), Err(Error::NotFound));
    let b = r.create(b"b", open_config()).unwrap();
    assert_eq!(r.stats(b).unwrap().rejected_count, 0);
    assert_eq!(r.try_acquire_with(b, &clock), Ok(State::Closed));
    r.record_failure(b, 5).unwrap();
    for _ in 0..3 {
        assert_eq!(r.try_acquire_with(b, &clock), Err(Error::CircuitOpen));
    }
    assert_eq!(r.stats(b).unwrap().rejected_count, 3);
    // The old id answers nothing, fast or not.
    assert_eq!(r.try_acquire_with(a, &clock), Err(Error::NotFound));
    // At the window's end the slot decides: half-open.
    clock.0.store(5 + 1_000_000, Ordering::Relaxed);
    assert_eq!(r.try_acquire_with(b, &clock), Ok(State::HalfOpen));
    assert_eq!(r.stats(b).unwrap().rejected_count, 3);
}

/// A removed breaker's pending rejections never reach a later occupant
/// of its slot, even one whose generation has the same low 16 bits (the
/// pending word's tag): 65 536 occupants later.
#[test]
#[cfg_attr(miri, ignore = "65 536 creations: minutes under Miri")]
fn pending_rejections_die_with_their_breaker() {
    let r: Registry<1> = Registry::new();
    let clock = Var(AtomicU64::new(5));
    let a = open_and_rejected(&r, b"a", &clock, 10);
    r.remove(a).unwrap();
    for _ in 0..(1 << 16) - 1 {
        let id = r.create(b"b", open_config()).unwrap();
        r.remove(id).unwrap();
    }
    let z = r.create(b"z", open_config()).unwrap();
    assert_eq!(r.stats(z).unwrap().rejected_count, 0);
    r.record_failure(z, 5).unwrap();
    assert_eq!(r.try_acquire_with(z, &clock), Err(Error::CircuitOpen));
    assert_eq!(r.stats(z).unwrap().rejected_count, 1);
    let mut blob = [0u8; SNAPSHOT_LEN];
    r.snapshot(z, 5, &mut blob).unwrap();
    assert_eq!(r.stats(z).unwrap().rejected_count, 1);
}

/// Only where the fast rejection is (it reads the clock before the slot).
#[cfg(all(feature = "policies", not(feature = "std"), target_has_atomic = "32"))]
mod interrupted {
    use super::*;

    /// A clock whose first load runs an "interrupt" (on the registry, from
    /// inside the fast path's read) and answers an old reading; later loads
    /// answer `later`.
    struct Preempting<'a> {
        registry: &'a Registry<1>,
        id: fusebox::Id,
        first: AtomicU64,
        later: u64,
    }

    impl Clock for Preempting<'_> {
        fn now_ms(&self) -> u64 {
            self.later
        }
        fn load_now_ms(&self) -> Option<u64> {
            let first = self.first.swap(0, Ordering::Relaxed);
            if first == 0 {
                return Some(self.later);
            }
            // The interrupt: the window has ended, a probe fails, the breaker
            // opens again at 260.
            assert_eq!(self.registry.try_acquire(self.id, 260), Ok(State::HalfOpen));
            self.registry.record_failure(self.id, 260).unwrap();
            Some(first)
        }
    }

    /// A reading the fast path took and did not reject with is not carried
    /// into the slot: an interrupt may have changed the breaker in between
    /// (here it opened it again later than the reading), and the old reading
    /// would look like a clock gone backwards and move the window early.
    #[test]
    fn a_reading_taken_before_an_interrupt_is_not_used_after_it() {
        let r: Registry<1> = Registry::new();
        let cfg = Config::default()
            .with_failure_threshold(1)
            .with_reset_timeout_ms(100);
        let id = r.create(b"a", cfg).unwrap();
        r.record_failure(id, 100).unwrap();
        let clock = Preempting {
            registry: &r,
            id,
            first: AtomicU64::new(250),
            later: 261,
        };
        assert_eq!(r.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
        // Open from 260 for 100 ms: still open at 355.
        assert_eq!(r.state(id, 355), Ok(State::Open));
        assert_eq!(r.state(id, 360), Ok(State::HalfOpen));
    }

    /// The clock of an operation on an open breaker that reaches its slot.
    /// Its reading outside the slot (the fast path's) is `past`, outside
    /// the window, so the operation goes on to the slot; there, with the
    /// slot lent to the operation, it reads the clock again (a clock read
    /// by loads is read in the same pass), and this reading first runs
    /// `interrupt`, as a handler that preempted the operation at that
    /// point would, then answers `within`.
    struct HoldsTheSlot<'a, F> {
        registry: &'a Registry<1>,
        id: fusebox::Id,
        past: u64,
        within: u64,
        interrupt: F,
        interrupts: AtomicU64,
    }

    impl<F: Fn()> Clock for HoldsTheSlot<'_, F> {
        fn now_ms(&self) -> u64 {
            panic!("the operation reads this clock by loads only")
        }
        fn load_now_ms(&self) -> Option<u64> {
            // `stats` takes the slot and changes nothing: `Busy` only while
            // the slot is lent, here to the operation reading this clock.
            if self.registry.stats(self.id) != Err(Error::Busy) {
                return Some(self.past);
            }
            self.interrupts.fetch_add(1, Ordering::Relaxed);
            (self.interrupt)();
            Some(self.within)
        }
    }

    /// An open breaker whose window is published rejects without its
    /// slot: an interrupt that preempts an operation holding the slot (lent
    /// out of the critical section) gets `CircuitOpen` from
    /// `try_acquire_with` with a variable clock in the window, counted,
    /// where every call that needs the slot gets `Busy`.
    /// (`fusebox_try_acquire` is this `try_acquire_with`, with the C
    /// clock's variable. No C API function runs application code while a
    /// slot is lent, so the preemption comes from a Rust clock read there.)
    #[test]
    fn an_open_breaker_rejects_while_its_slot_is_lent() {
        let r: Registry<1> = Registry::new();
        let id = r.create(b"a", open_config()).unwrap();
        // The failure opens the breaker at 10 and, as every operation on
        // the slot does when it ends, publishes the window: 10..1_000_010.
        r.record_failure(id, 10).unwrap();
        let var = Var(AtomicU64::new(20));
        let clock = HoldsTheSlot {
            registry: &r,
            id,
            past: 10 + 1_000_000,
            within: 20,
            interrupt: || {
                // The slot is lent: what needs it is refused.
                assert_eq!(r.allow_call(id, 20), Err(Error::Busy));
                assert_eq!(r.record_failure(id, 20), Err(Error::Busy));
                assert_eq!(r.try_acquire(id, 20), Err(Error::Busy));
                assert_eq!(r.stats(id), Err(Error::Busy));
                // The fast rejection does not need it.
                assert_eq!(r.try_acquire_with(id, &var), Err(Error::CircuitOpen));
                assert_eq!(r.try_acquire_with(id, &var), Err(Error::CircuitOpen));
            },
            interrupts: AtomicU64::new(0),
        };
        assert_eq!(r.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
        assert_eq!(clock.interrupts.load(Ordering::Relaxed), 1);
        // The operation's rejection and the interrupt's two; the refused
        // failure changed nothing.
        assert_eq!(r.stats(id).unwrap().rejected_count, 3);
        assert_eq!(r.state(id, 20), Ok(State::Open));
        assert_eq!(r.state(id, 10 + 1_000_000), Ok(State::HalfOpen));
    }
}

/// Threads reject on one open breaker while another folds the pending
/// count into the breaker (snapshots): no rejection is lost or counted
/// twice.
#[test]
fn rejections_and_folds_at_once_lose_nothing() {
    let (threads, each) = if cfg!(miri) { (2, 50) } else { (4, 20_000) };
    let r: Registry<2> = Registry::new();
    let id = r.create(b"x", open_config()).unwrap();
    r.record_failure(id, 1).unwrap();
    let clock = Var(AtomicU64::new(1));
    let rejected = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..each {
                    match r.try_acquire_with(id, &clock) {
                        Err(Error::CircuitOpen) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                        // The slot is held by the folding thread.
                        Err(Error::Busy) => {}
                        other => panic!("{other:?}"),
                    }
                }
            });
        }
        s.spawn(|| {
            let mut blob = [0u8; SNAPSHOT_LEN];
            for _ in 0..if cfg!(miri) { 5 } else { 2_000 } {
                let _ = r.snapshot(id, 1, &mut blob);
            }
        });
    });
    let counted = rejected.load(Ordering::Relaxed);
    assert!(counted > 0);
    assert_eq!(r.stats(id).unwrap().rejected_count, counted);
}
