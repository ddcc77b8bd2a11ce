//! The registry: names, ids, generations, capacity and every error variant.
use fusebox::{CallError, Config, Error, Id, ManualClock, Registry, State, MAX_CAPACITY, NAME_MAX};

#[test]
fn create_lookup_and_operate_by_id() {
    let r: Registry<4> = Registry::new();
    assert_eq!(r.capacity(), 4);
    assert!(r.is_empty());
    let a = r.create(b"a", Config::default()).unwrap();
    let b = r
        .create(b"b", Config::default().with_failure_threshold(1))
        .unwrap();
    assert_ne!(a, b);
    assert_eq!(r.len(), 2);
    assert_eq!(r.lookup(b"a"), Ok(a));
    assert_eq!(r.lookup(b"b"), Ok(b));
    r.record_failure(b, 0).unwrap();
    assert_eq!(r.state(b, 0), Ok(State::Open));
    assert_eq!(r.state(a, 0), Ok(State::Closed));
    assert_eq!(r.config(b).unwrap().failure_threshold, 1);
}

#[test]
fn id_zero_is_never_valid() {
    let r: Registry<2> = Registry::new();
    let id = r.create(b"x", Config::default()).unwrap();
    assert_ne!(id.to_raw(), 0);
    assert_eq!(r.state(Id::from_raw(0), 0), Err(Error::NotFound));
}

#[test]
fn names_of_1_to_31_bytes_any_bytes_are_valid() {
    let r: Registry<4> = Registry::new();
    assert_eq!(NAME_MAX, 31);
    r.create(&[0xFF], Config::default()).unwrap();
    r.create(&[b'n'; 31], Config::default()).unwrap();
    r.create(b"with\0nul", Config::default()).unwrap();
    assert!(r.lookup(&[0xFF]).is_ok());
    assert!(r.lookup(b"with\0nul").is_ok());
}

#[test]
fn invalid_name_is_refused_and_changes_nothing() {
    let r: Registry<2> = Registry::new();
    assert_eq!(r.create(b"", Config::default()), Err(Error::InvalidName));
    assert_eq!(
        r.create(&[b'n'; 32], Config::default()),
        Err(Error::InvalidName)
    );
    assert_eq!(r.lookup(b""), Err(Error::InvalidName));
    assert_eq!(r.lookup(&[b'n'; 32]), Err(Error::InvalidName));
    assert!(r.is_empty());
}

#[test]
fn invalid_config_is_refused_and_changes_nothing() {
    let r: Registry<2> = Registry::new();
    let bad = Config::default().with_failure_threshold(0);
    assert_eq!(r.create(b"x", bad), Err(Error::InvalidConfig));
    assert!(r.is_empty());
    assert_eq!(r.lookup(b"x"), Err(Error::NotFound));
}

#[test]
fn name_taken_is_refused_and_keeps_the_first() {
    let r: Registry<4> = Registry::new();
    let a = r.create(b"dup", Config::default()).unwrap();
    r.record_failure(a, 5).unwrap();
    assert_eq!(r.create(b"dup", Config::default()), Err(Error::NameTaken));
    assert_eq!(r.lookup(b"dup"), Ok(a));
    assert_eq!(r.stats(a).unwrap().failure_count, 1);
    assert_eq!(r.len(), 1);
}

#[test]
fn registry_full_is_refused_and_loses_nothing() {
    let r: Registry<3> = Registry::new();
    let ids: Vec<Id> = [b"a", b"b", b"c"]
        .iter()
        .map(|n| r.create(*n, Config::default()).unwrap())
        .collect();
    for id in &ids {
        r.record_failure(*id, 1).unwrap();
    }
    assert_eq!(r.create(b"d", Config::default()), Err(Error::RegistryFull));
    assert_eq!(r.len(), 3);
    for (id, n) in ids.iter().zip([b"a", b"b", b"c"]) {
        assert_eq!(r.lookup(n), Ok(*id));
        assert_eq!(r.stats(*id).unwrap().failure_count, 1);
    }
    assert_eq!(r.lookup(b"d"), Err(Error::NotFound));
}

#[test]
fn remove_then_create_again_reuses_the_slot_with_a_new_generation() {
    let r: Registry<1> = Registry::new();
    let old = r.create(b"a", Config::default()).unwrap();
    r.remove(old).unwrap();
    assert!(r.is_empty());
    let new = r
        .create(b"b", Config::default().with_failure_threshold(1))
        .unwrap();
    assert_ne!(old, new);
    // The stale id never reaches the new occupant.
    for res in [
        r.record_failure(old, 0),
        r.record_success(old, 0),
        r.reset(old),
        r.remove(old),
    ] {
        assert_eq!(res, Err(Error::NotFound));
    }
    assert_eq!(r.try_acquire(old, 0), Err(Error::NotFound));
    assert_eq!(r.allow_call(old, 0), Err(Error::NotFound));
    assert_eq!(r.state(old, 0), Err(Error::NotFound));
    assert_eq!(r.stats(old), Err(Error::NotFound));
    assert_eq!(r.config(old), Err(Error::NotFound));
    let s = r.stats(new).unwrap();
    assert_eq!(
        (s.failure_count, s.success_count, s.state),
        (0, 0, State::Closed)
    );
    assert_eq!(r.lookup(b"a"), Err(Error::NotFound));
}

#[test]
fn removed_name_can_be_created_again() {
    let r: Registry<2> = Registry::new();
    let a = r.create(b"a", Config::default()).unwrap();
    r.remove(a).unwrap();
    assert_eq!(r.remove(a), Err(Error::NotFound));
    let a2 = r.create(b"a", Config::default()).unwrap();
    assert_eq!(r.lookup(b"a"), Ok(a2));
}

#[test]
fn forged_ids_are_not_found() {
    let r: Registry<2> = Registry::new();
    let a = r.create(b"a", Config::default()).unwrap();
    for raw in [
        0,
        1,
        2,
        4095,
        a.to_raw() + 1,
        a.to_raw() ^ 0x8000_0000,
        // Generations that differ from the live one only above 20 or 32
        // bits: a truncated generation check would take them.
        a.to_raw() + (1 << 32),
        a.to_raw() + (1 << 52),
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        assert_eq!(
            r.state(Id::from_raw(raw), 0),
            Err(Error::NotFound),
            "raw {raw:#x}"
        );
    }
}

#[test]
fn many_reuses_of_one_slot_never_confuse_ids() {
    let r: Registry<1> = Registry::new();
    let mut seen = std::collections::HashSet::new();
    let mut prev = None;
    let reuses = if cfg!(miri) { 200 } else { 10_000 };
    for _ in 0..reuses {
        let id = r.create(b"x", Config::default()).unwrap();
        assert!(seen.insert(id), "id reused too early");
        if let Some(p) = prev {
            assert_eq!(r.state(p, 0), Err(Error::NotFound));
        }
        r.remove(id).unwrap();
        prev = Some(id);
    }
}

#[test]
fn call_by_id_and_every_call_error() {
    let clock = ManualClock::new(0);
    let r: Registry<2> = Registry::new();
    let id = r
        .create(b"x", Config::default().with_failure_threshold(1))
        .unwrap();
    assert_eq!(r.call(id, &clock, || Ok::<_, ()>(1)), Ok(1));
    assert_eq!(
        r.call(id, &clock, || Err::<(), _>(7)),
        Err(CallError::Failed(7))
    );
    assert_eq!(
        r.call(id, &clock, || Ok::<_, ()>(1)),
        Err(CallError::Rejected(Error::CircuitOpen))
    );
    let stale = Id::from_raw(id.to_raw() + (1 << Id::INDEX_BITS));
    assert_eq!(
        r.call(stale, &clock, || Ok::<_, ()>(1)),
        Err(CallError::Rejected(Error::NotFound))
    );
}

#[test]
fn call_survives_removal_during_the_operation() {
    let clock = ManualClock::new(0);
    let r: Registry<2> = Registry::new();
    let id = r.create(b"x", Config::default()).unwrap();
    let out = r.call(id, &clock, || {
        r.remove(id).unwrap();
        Ok::<_, ()>(3)
    });
    assert_eq!(out, Ok(3));
    assert!(r.is_empty());
}

#[test]
fn operation_runs_outside_the_critical_section() {
    // The op can use the same registry: if it ran inside the registry's
    // critical section the nested borrow would be refused with `Busy`.
    let clock = ManualClock::new(0);
    let r: Registry<2> = Registry::new();
    let id = r.create(b"x", Config::default()).unwrap();
    let inner = r.call(id, &clock, || r.stats(id));
    assert!(inner.is_ok());
}

/// Under Miri a smaller one: Miri tracks each of the name table's atomic
/// words (45 000 at 4 096 slots), and the full-size test takes it over ten
/// minutes. The size itself is checked by every other run.
const BIG_CAPACITY: usize = if cfg!(miri) { 64 } else { MAX_CAPACITY };

#[test]
fn static_registry_at_max_capacity_builds() {
    static BIG: Registry<BIG_CAPACITY> = Registry::new();
    assert_eq!(BIG.capacity(), BIG_CAPACITY);
    assert_eq!(MAX_CAPACITY, 4096);
    let id = BIG.create(b"x", Config::default()).unwrap();
    assert_eq!(BIG.lookup(b"x"), Ok(id));
}

#[test]
fn errors_have_static_descriptions() {
    for e in [
        Error::CircuitOpen,
        Error::InvalidConfig,
        Error::InvalidName,
        Error::NameTaken,
        Error::RegistryFull,
        Error::NotFound,
        Error::Busy,
        Error::BufferTooSmall,
        Error::BadSnapshot,
        Error::SnapshotVersion,
        Error::ConfigMismatch,
    ] {
        assert!(!e.to_string().is_empty());
        assert_eq!(e.to_string(), e.as_str());
    }
    assert_eq!(CallError::<&str>::Failed("x").to_string(), "failed: x");
}

/// A clock read by loads, counting how it is read.
struct LoadClock {
    now: core::cell::Cell<u64>,
    loads: core::cell::Cell<u32>,
    calls: core::cell::Cell<u32>,
}

impl fusebox::Clock for LoadClock {
    fn now_ms(&self) -> u64 {
        self.calls.set(self.calls.get() + 1);
        self.now.get()
    }
    fn load_now_ms(&self) -> Option<u64> {
        self.loads.set(self.loads.get() + 1);
        Some(self.now.get())
    }
}

#[test]
fn a_clock_read_by_loads_decides_in_the_same_pass() {
    let r: Registry<2> = Registry::new();
    let cfg = Config::default()
        .with_failure_threshold(1)
        .with_reset_timeout_ms(100);
    let id = r.create(b"x", cfg).unwrap();
    let clock = LoadClock {
        now: core::cell::Cell::new(0),
        loads: core::cell::Cell::new(0),
        calls: core::cell::Cell::new(0),
    };
    // Closed: no reading at all.
    assert_eq!(r.try_acquire_with(id, &clock), Ok(State::Closed));
    assert_eq!((clock.loads.get(), clock.calls.get()), (0, 0));
    r.record_failure(id, 0).unwrap();
    clock.now.set(50);
    assert_eq!(r.try_acquire_with(id, &clock), Err(Error::CircuitOpen));
    clock.now.set(100);
    assert_eq!(r.try_acquire_with(id, &clock), Ok(State::HalfOpen));
    assert_eq!(r.stats(id).unwrap().rejected_count, 1);
    // Each acquisition of a breaker not closed reads the time once. Where
    // the slot is lent out of the critical section (policies without
    // `std`) the registry takes the load inside its one pass through the
    // slot and never calls `now_ms`; elsewhere it reads `now_ms` outside
    // (the core's masked bookkeeping, the host fast path). Where the
    // target has compare-and-swap, the firmware's fast rejection takes the
    // rejection's load, and the half-open acquisition loads twice: once
    // against the published window, which has ended, and once in the
    // slot (the first reading is not carried in: an interrupt could have
    // changed the breaker in between).
    let lent = cfg!(all(feature = "policies", not(feature = "std")));
    let expected = if lent && cfg!(target_has_atomic = "32") {
        (3, 0)
    } else if lent {
        (2, 0)
    } else {
        (0, 2)
    };
    assert_eq!((clock.loads.get(), clock.calls.get()), expected);
}
