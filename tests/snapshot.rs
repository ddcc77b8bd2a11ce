//! Snapshots: round trips of every state, time carried across a clock that
//! restarted, and every kind of bad blob refused with the registry unchanged.
use fusebox::{Breaker, Config, Error, Registry, State, SNAPSHOT_LEN};
use proptest::prelude::*;

#[cfg(feature = "policies")]
#[path = "support/busy.rs"]
mod busy;
#[cfg(feature = "policies")]
use busy::unless_busy;

fn cfg() -> Config {
    Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(30_000)
        .with_half_open_max_calls(2)
}

fn snap(b: &Breaker, now: u64) -> [u8; SNAPSHOT_LEN] {
    let mut buf = [0u8; SNAPSHOT_LEN];
    assert_eq!(b.snapshot(now, &mut buf), Ok(SNAPSHOT_LEN));
    buf
}

/// A closed breaker with some history, an open one, a half-open one with a
/// probe out, and one that was reset.
fn every_state() -> Vec<(&'static str, Breaker, u64)> {
    let mut closed = Breaker::new(cfg()).unwrap();
    closed.record_failure(10);
    closed.record_success(11);
    closed.try_acquire(12).unwrap();
    let mut open = Breaker::new(cfg()).unwrap();
    for t in 0..3 {
        open.record_failure(1_000 + t);
    }
    let _ = open.try_acquire(1_005);
    let mut half = open.clone();
    half.try_acquire(40_000).unwrap();
    let mut reset = open.clone();
    reset.reset();
    vec![
        ("closed", closed, 20),
        ("open", open, 11_002),
        ("half-open", half, 40_001),
        ("reset", reset, 1_050),
    ]
}

/// The stats a snapshot carries: all but the permits' generation, which
/// starts again on restore (permits from before it are gone), as
/// documented.
fn snakepit(mut s: fusebox::Stats) -> fusebox::Stats {
    s.generation = 0;
    s
}

#[test]
fn every_state_round_trips_with_identical_stats() {
    for (what, b, now) in every_state() {
        let restored = Breaker::restore(cfg(), &snap(&b, now), now).unwrap();
        let mut want = b.stats();
        want.half_open_calls = 0; // probes in flight are released
        assert_eq!(snakepit(restored.stats()), snakepit(want), "{what}");
        // Whole-breaker equality holds without policies (whose permit
        // generation and pending events the format does not carry).
        if b.stats().half_open_calls == 0 && !cfg!(feature = "policies") {
            assert_eq!(restored, b, "{what}");
        }
    }
}

#[test]
fn a_restored_half_open_breaker_admits_new_probes() {
    // Its one probe was in flight when the snapshot was taken (and the
    // program rebooted): that probe will never report.
    let (_, b, now) = every_state().remove(2);
    assert_eq!(b.stats().half_open_calls, 1);
    let mut r = Breaker::restore(cfg(), &snap(&b, now), 0).unwrap();
    assert_eq!(r.state(0), State::HalfOpen);
    assert_eq!(r.try_acquire(0), Ok(State::HalfOpen));
    assert_eq!(r.try_acquire(0), Ok(State::HalfOpen));
    assert_eq!(r.try_acquire(0), Err(Error::CircuitOpen));
}

#[test]
fn open_breaker_keeps_its_remaining_time_on_a_clock_that_restarted() {
    // Tripped at t=1002 (last failure), snapshot at 11_002: 20 s left.
    let (_, b, now) = every_state().remove(1);
    let blob = snap(&b, now);
    for boot in [0u64, 500, 19_999, 25_000, 1 << 40] {
        let mut r = Breaker::restore(cfg(), &blob, boot).unwrap();
        assert_eq!(r.state(boot), State::Open, "boot at {boot}");
        assert_eq!(r.state(boot + 19_999), State::Open, "boot at {boot}");
        assert_eq!(r.state(boot + 20_000), State::HalfOpen, "boot at {boot}");
    }
}

#[test]
fn a_snapshot_of_a_restored_breaker_carries_the_same_age() {
    let (_, b, now) = every_state().remove(1);
    let r = Breaker::restore(cfg(), &snap(&b, now), 100).unwrap();
    // 10 s after the failure at snapshot time; 100 ms later on the new clock.
    let again = Breaker::restore(cfg(), &snap(&r, 200), 0).unwrap();
    let mut again = again;
    assert_eq!(again.state(19_899), State::Open);
    assert_eq!(again.state(19_900), State::HalfOpen);
}

#[test]
fn buffer_too_small_is_refused() {
    let b = Breaker::new(cfg()).unwrap();
    let mut buf = [0u8; SNAPSHOT_LEN - 1];
    assert_eq!(b.snapshot(0, &mut buf), Err(Error::BufferTooSmall));
    assert_eq!(buf, [0u8; SNAPSHOT_LEN - 1]);
}

#[test]
fn truncated_blobs_are_refused() {
    let (_, b, now) = every_state().remove(1);
    let blob = snap(&b, now);
    for len in 0..SNAPSHOT_LEN {
        assert_eq!(
            Breaker::restore(cfg(), &blob[..len], now),
            Err(Error::BadSnapshot),
            "len {len}"
        );
    }
}

#[test]
fn every_flipped_byte_is_refused() {
    let (_, b, now) = every_state().remove(2);
    let blob = snap(&b, now);
    for i in 0..SNAPSHOT_LEN {
        // Under Miri one bit a byte, a different one from byte to byte:
        // each restore computes a bitwise CRC, slow to interpret.
        for bit in (0..8).filter(|bit| !cfg!(miri) || (i + bit) % 8 == 0) {
            let mut bad = blob;
            bad[i] ^= 1 << bit;
            let r = Breaker::restore(cfg(), &bad, now);
            // The version and the build's window limits: a format this
            // build does not read.
            let want = if (4..10).contains(&i) {
                Error::SnapshotVersion
            } else {
                Error::BadSnapshot
            };
            assert_eq!(r, Err(want), "byte {i} bit {bit}");
        }
    }
}

/// Rewrites the CRC after editing a blob, as a forger would.
fn reseal(blob: &mut [u8; SNAPSHOT_LEN]) {
    let end = SNAPSHOT_LEN - 4;
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&blob[..end]);
    blob[end..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn impossible_counters_are_refused_even_with_a_good_crc() {
    let (_, b, now) = every_state().remove(0);
    let good = snap(&b, now);
    type Edit = fn(&mut [u8; SNAPSHOT_LEN]);
    let edits: [(&str, Edit); 10] = [
        ("state 6", |b| b[10] = 6),
        ("unknown flag", |b| b[11] |= 0x10),
        ("reserved", |b| b[250] = 1),
        ("closed at threshold", |b| {
            b[88..92].copy_from_slice(&3u32.to_le_bytes())
        }),
        ("probes while closed", |b| {
            b[92..96].copy_from_slice(&1u32.to_le_bytes())
        }),
        ("open without failure time", |b| {
            b[10] = 1;
            b[11] &= !1;
            b[128..136].fill(0)
        }),
        ("a failure age without its flag", |b| {
            b[11] &= !1;
        }),
        ("zero threshold", |b| b[12..16].fill(0)),
        ("fewer failures ever than since the close", |b| {
            b[96..104].fill(0)
        }),
        ("unknown trip rule", |b| b[24] = 7),
    ];
    for (what, edit) in edits {
        let mut bad = good;
        edit(&mut bad);
        reseal(&mut bad);
        assert_eq!(
            Breaker::restore(cfg(), &bad, now),
            Err(Error::BadSnapshot),
            "{what}"
        );
    }
    let mut half = snap(&every_state()[2].1, 0);
    half[92..96].copy_from_slice(&3u32.to_le_bytes()); // probes > max (2)
    reseal(&mut half);
    assert_eq!(Breaker::restore(cfg(), &half, 0), Err(Error::BadSnapshot));
}

#[test]
fn a_config_that_disagrees_is_refused() {
    let (_, b, now) = every_state().remove(1);
    let blob = snap(&b, now);
    let other = cfg().with_reset_timeout_ms(1);
    assert_eq!(
        Breaker::restore(other, &blob, now),
        Err(Error::ConfigMismatch)
    );
    assert_eq!(
        Breaker::restore(cfg().with_failure_threshold(0), &blob, now),
        Err(Error::InvalidConfig)
    );
}

#[test]
fn registry_restore_and_every_error_leave_it_unchanged() {
    let r: Registry<2> = Registry::new();
    let id = r.create(b"a", cfg()).unwrap();
    for t in 0..3 {
        r.record_failure(id, 1_000 + t).unwrap();
    }
    let mut blob = [0u8; SNAPSHOT_LEN];
    assert_eq!(r.snapshot(id, 2_000, &mut blob), Ok(SNAPSHOT_LEN));
    assert_eq!(
        r.snapshot(id, 2_000, &mut [0u8; 8]),
        Err(Error::BufferTooSmall)
    );
    let before = r.stats(id).unwrap();
    assert_eq!(r.restore(b"a", cfg(), &blob, 0), Err(Error::NameTaken));
    assert_eq!(
        r.restore(b"b", cfg().with_half_open_max_calls(1), &blob, 0),
        Err(Error::ConfigMismatch)
    );
    assert_eq!(
        r.restore(b"b", cfg(), &blob[..10], 0),
        Err(Error::BadSnapshot)
    );
    assert_eq!(r.restore(b"", cfg(), &blob, 0), Err(Error::InvalidName));
    assert_eq!(r.len(), 1);
    assert_eq!(r.stats(id).unwrap(), before);
    let b = r.restore(b"b", cfg(), &blob, 0).unwrap();
    assert_eq!(r.stats(b).unwrap().failure_count, 3);
    // Last failure at 1002, snapshot at 2000: 998 ms of the 30 s had passed.
    assert_eq!(r.state(b, 29_001), Ok(State::Open));
    assert_eq!(r.state(b, 29_002), Ok(State::HalfOpen));
    assert_eq!(r.restore(b"c", cfg(), &blob, 0), Err(Error::RegistryFull));
}

#[test]
fn whole_registry_round_trips_all_or_nothing() {
    let r: Registry<4> = Registry::new();
    let a = r.create(b"alpha", cfg()).unwrap();
    let b = r.create(&[0xFF; 31], Config::default()).unwrap();
    for t in 0..3 {
        r.record_failure(a, 5_000 + t).unwrap();
    }
    r.record_success(b, 1).unwrap();
    let mut buf = vec![0u8; Registry::<4>::SNAPSHOT_ALL_MAX];
    let n = r.snapshot_all(6_000, &mut buf).unwrap();
    assert_eq!(n, 12 + 2 * (32 + SNAPSHOT_LEN));
    assert_eq!(
        r.snapshot_all(6_000, &mut buf[..n - 1].to_vec()),
        Err(Error::BufferTooSmall)
    );
    let blob = &buf[..n];

    // Into a fresh registry ("after the reboot"), on a clock at 0.
    let fresh: Registry<4> = Registry::new();
    assert_eq!(fresh.restore_all(blob, 0), Ok(2));
    let a2 = fresh.lookup(b"alpha").unwrap();
    let b2 = fresh.lookup(&[0xFF; 31]).unwrap();
    assert_eq!(fresh.stats(a2).unwrap().failure_count, 3);
    assert_eq!(fresh.stats(b2).unwrap().success_count, 1);
    assert_eq!(fresh.config(b2).unwrap(), Config::default());
    assert_eq!(fresh.state(a2, 29_001), Ok(State::Open));
    assert_eq!(fresh.state(a2, 29_002), Ok(State::HalfOpen));

    // Again into the same registry: names taken, nothing added.
    assert_eq!(fresh.restore_all(blob, 0), Err(Error::NameTaken));
    assert_eq!(fresh.len(), 2);
    // Not enough room: nothing added.
    let small: Registry<1> = Registry::new();
    assert_eq!(small.restore_all(blob, 0), Err(Error::RegistryFull));
    assert!(small.is_empty());
    // Truncated, flipped: refused.
    for len in 0..n {
        assert!(Registry::<4>::new().restore_all(&blob[..len], 0).is_err());
    }
    let mut bad = blob.to_vec();
    bad[20] ^= 1;
    let empty: Registry<4> = Registry::new();
    assert_eq!(empty.restore_all(&bad, 0), Err(Error::BadSnapshot));
    assert!(empty.is_empty());
}

#[test]
fn a_name_twice_in_a_registry_blob_is_refused() {
    let r: Registry<2> = Registry::new();
    r.create(b"x", cfg()).unwrap();
    r.create(b"y", cfg()).unwrap();
    let mut buf = vec![0u8; Registry::<2>::SNAPSHOT_ALL_MAX];
    let n = r.snapshot_all(0, &mut buf).unwrap();
    buf[8 + 32 + SNAPSHOT_LEN + 1] = b'x'; // second entry's name "y" -> "x"
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&buf[..n - 4]);
    buf[n - 4..n].copy_from_slice(&crc.to_le_bytes());
    let fresh: Registry<2> = Registry::new();
    assert_eq!(fresh.restore_all(&buf[..n], 0), Err(Error::NameTaken));
    assert!(fresh.is_empty());
}

/// Rewrites a registry blob's CRC after editing it, as a forger would.
fn reseal_all(blob: &mut [u8]) {
    let n = blob.len();
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&blob[..n - 4]);
    blob[n - 4..].copy_from_slice(&crc.to_le_bytes());
}

/// A registry blob that claims `count` entries, at the length that count
/// needs, every entry zero (no entry decodes), with a good CRC (but under
/// Miri, for more than a few entries, where computing it would take
/// minutes: the capacity check comes before the CRC anyway).
fn blob_claiming(count: u16) -> Vec<u8> {
    let mut blob = vec![0u8; 12 + 88 * usize::from(count)];
    blob[..4].copy_from_slice(b"FBXR");
    blob[4..6].copy_from_slice(&1u16.to_le_bytes());
    blob[6..8].copy_from_slice(&count.to_le_bytes());
    if !cfg!(miri) || count < 100 {
        reseal_all(&mut blob);
    }
    blob
}

#[test]
fn blobs_with_trailing_bytes_are_refused() {
    let (_, b, now) = every_state().remove(1);
    let mut long = snap(&b, now).to_vec();
    long.push(0);
    assert_eq!(Breaker::restore(cfg(), &long, now), Err(Error::BadSnapshot));
    let r: Registry<4> = Registry::new();
    assert_eq!(r.restore(b"x", cfg(), &long, now), Err(Error::BadSnapshot));
    assert!(r.is_empty());
    // A whole buffer of zeros after the blob, as a careless caller passes it.
    long.resize(4 * SNAPSHOT_LEN, 0);
    assert_eq!(r.restore(b"x", cfg(), &long, now), Err(Error::BadSnapshot));

    r.create(b"a", cfg()).unwrap();
    let mut all = vec![0u8; Registry::<4>::SNAPSHOT_ALL_MAX];
    let n = r.snapshot_all(now, &mut all).unwrap();
    assert!(n < all.len());
    let fresh: Registry<4> = Registry::new();
    assert_eq!(fresh.restore_all(&all, now), Err(Error::BadSnapshot));
    assert_eq!(
        fresh.restore_all(&all[..n + 1], now),
        Err(Error::BadSnapshot)
    );
    assert!(fresh.is_empty());
    assert_eq!(fresh.restore_all(&all[..n], now), Ok(1));
}

#[test]
fn a_registry_blob_is_held_to_the_capacity_before_any_entry_is_read() {
    let r: Registry<16> = Registry::new();
    // 65 535 entries claimed on 16 slots: refused from the header alone.
    // The entries are zeros (none decodes), so the answer shows that the
    // count was checked before any entry was read.
    let mut huge = blob_claiming(u16::MAX);
    assert_eq!(r.restore_all(&huge, 0), Err(Error::RegistryFull));
    // ...before the CRC too (which would cost time linear in 5.7 MB).
    huge[100] ^= 1;
    assert_eq!(r.restore_all(&huge, 0), Err(Error::RegistryFull));
    // A length that disagrees with the count is a bad blob, whatever the
    // count: checked first, in O(1).
    assert_eq!(r.restore_all(&huge[..12], 0), Err(Error::BadSnapshot));
    assert_eq!(
        r.restore_all(&huge[..huge.len() - 1], 0),
        Err(Error::BadSnapshot)
    );
    // One more entry than slots, the rest valid: still refused at once.
    assert_eq!(
        r.restore_all(&blob_claiming(17), 0),
        Err(Error::RegistryFull)
    );
    // Within the capacity, the entries are read (and these are bad).
    assert_eq!(
        r.restore_all(&blob_claiming(16), 0),
        Err(Error::BadSnapshot)
    );
    assert!(r.is_empty());

    // 17 valid, distinct breakers: too many for 16 slots, fine in 32.
    let big: Registry<32> = Registry::new();
    for i in 0..17u8 {
        big.create(&[b'n', b'a' + i], cfg()).unwrap();
    }
    let mut buf = vec![0u8; Registry::<32>::SNAPSHOT_ALL_MAX];
    let n = big.snapshot_all(0, &mut buf).unwrap();
    assert_eq!(r.restore_all(&buf[..n], 0), Err(Error::RegistryFull));
    assert!(r.is_empty());
    assert_eq!(Registry::<32>::new().restore_all(&buf[..n], 0), Ok(17));
}

#[test]
fn names_in_a_registry_blob_are_never_empty_nor_hold_a_nul() {
    let r: Registry<2> = Registry::new();
    r.create(b"ab", cfg()).unwrap();
    let mut buf = vec![0u8; Registry::<2>::SNAPSHOT_ALL_MAX];
    let n = r.snapshot_all(0, &mut buf).unwrap();
    let good = buf[..n].to_vec();
    type Edit = fn(&mut [u8]);
    let edits: [(&str, Edit); 4] = [
        ("NUL at the end", |b| b[8 + 2] = 0),
        ("NUL at the start", |b| b[8 + 1] = 0),
        ("empty", |b| b[8] = 0),
        ("all NUL", |b| b[8 + 1..8 + 3].fill(0)),
    ];
    for (what, edit) in edits {
        let mut bad = good.clone();
        edit(&mut bad);
        reseal_all(&mut bad);
        let fresh: Registry<2> = Registry::new();
        assert_eq!(
            fresh.restore_all(&bad, 0),
            Err(Error::BadSnapshot),
            "{what}"
        );
        assert!(fresh.is_empty(), "{what}");
    }
    // A name with a NUL byte (which Rust's `create` takes) cannot be
    // written into a registry blob: refused, the buffer untouched.
    let nul: Registry<2> = Registry::new();
    nul.create(b"a\0b", cfg()).unwrap();
    let mut buf = vec![0xA5u8; Registry::<2>::SNAPSHOT_ALL_MAX];
    assert_eq!(nul.snapshot_all(0, &mut buf), Err(Error::Unsupported));
    assert!(buf.iter().all(|&b| b == 0xA5));
}

#[test]
fn snapshots_write_their_buffer_only_on_ok() {
    const PATTERN: u8 = 0xA5;
    let r: Registry<4> = Registry::new();
    let a = r.create(b"alpha", cfg()).unwrap();
    r.create(b"beta", cfg()).unwrap();
    r.record_failure(a, 10).unwrap();
    let need = 12 + 2 * (32 + SNAPSHOT_LEN);
    // Every length below the blob's: refused, not a byte written.
    for len in 0..need {
        let mut buf = vec![PATTERN; len];
        assert_eq!(
            r.snapshot_all(20, &mut buf),
            Err(Error::BufferTooSmall),
            "len {len}"
        );
        assert!(buf.iter().all(|&b| b == PATTERN), "len {len}");
    }
    let mut buf = vec![PATTERN; need + 10];
    assert_eq!(r.snapshot_all(20, &mut buf), Ok(need));
    assert!(buf[need..].iter().all(|&b| b == PATTERN));

    // One breaker, by id and owned.
    let b = Breaker::new(cfg()).unwrap();
    for len in 0..SNAPSHOT_LEN {
        let mut buf = vec![PATTERN; len];
        assert_eq!(b.snapshot(0, &mut buf), Err(Error::BufferTooSmall));
        assert_eq!(r.snapshot(a, 0, &mut buf), Err(Error::BufferTooSmall));
        assert!(buf.iter().all(|&b| b == PATTERN), "len {len}");
    }
    let mut buf = [PATTERN; SNAPSHOT_LEN];
    r.remove(a).unwrap();
    assert_eq!(r.snapshot(a, 0, &mut buf), Err(Error::NotFound));
    assert!(buf.iter().all(|&b| b == PATTERN));
}

/// With policies: every manual state is carried (format version 2), in a
/// registry blob too, wherever the breaker sits.
#[cfg(feature = "policies")]
#[test]
fn manual_states_are_carried_anywhere_in_a_registry_blob() {
    for manual in 0..3 {
        let r: Registry<3> = Registry::new();
        let ids: Vec<_> = [&b"a"[..], b"b", b"c"]
            .iter()
            .map(|n| r.create(n, cfg()).unwrap())
            .collect();
        match manual {
            0 => r.force_open(ids[0], 0).unwrap(),
            1 => r.disable(ids[1], 0).unwrap(),
            _ => r.metrics_only(ids[2], 0).unwrap(),
        }
        let mut buf = vec![0u8; Registry::<3>::SNAPSHOT_ALL_MAX];
        let n = r.snapshot_all(0, &mut buf).unwrap();
        assert_eq!(n, 12 + 3 * (32 + SNAPSHOT_LEN));
        let fresh: Registry<3> = Registry::new();
        assert_eq!(fresh.restore_all(&buf[..n], 0), Ok(3));
        let want = [State::ForcedOpen, State::Disabled, State::MetricsOnly][manual];
        let name: &[u8] = [&b"a"[..], b"b", b"c"][manual];
        let id = fresh.lookup(name).unwrap();
        assert_eq!(fresh.state(id, 1 << 40), Ok(want));
    }
}

/// With policies: another thread switching breakers to a manual state
/// while `snapshot_all` runs. Every answer is a whole blob that restores;
/// never half of one.
#[cfg(feature = "policies")]
#[test]
fn a_manual_state_set_during_snapshot_all_never_leaves_half_a_blob() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static R: Registry<8> = Registry::new();
    let ids: Vec<_> = (0..8u8)
        .map(|i| R.create(&[b'k', b'0' + i], cfg()).unwrap())
        .collect();
    /// Stops the other thread however the loop ends (a failed assertion
    /// too, or the scope would wait for it forever).
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let stop = AtomicBool::new(false);
    let rounds = if cfg!(miri) { 10 } else { 5_000 };
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let id = ids[i % ids.len()];
                unless_busy(|| R.force_open(id, 0)).unwrap();
                unless_busy(|| R.reset(id)).unwrap();
                i += 1;
            }
        });
        let mut buf = vec![0u8; Registry::<8>::SNAPSHOT_ALL_MAX];
        for _ in 0..rounds {
            let n = unless_busy(|| R.snapshot_all(0, &mut buf)).unwrap();
            assert_eq!(Registry::<8>::new().restore_all(&buf[..n], 0), Ok(8));
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 8 } else { 2_000 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes never panic and never change the registry unless
    /// they restore a breaker.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), now in any::<u64>()) {
        let r: Registry<2> = Registry::new();
        match r.restore(b"x", cfg(), &bytes, now) {
            Ok(_) => prop_assert_eq!(r.len(), 1),
            Err(_) => prop_assert!(r.is_empty()),
        }
        match r.restore_all(&bytes, now) {
            Ok(n) => prop_assert!(n <= 2),
            Err(_) => prop_assert!(r.len() <= 1),
        }
    }

    /// After any history, a restored breaker behaves like the original from
    /// then on (time shifted to the new clock).
    #[test]
    fn restored_breaker_behaves_like_the_original(
        ops in proptest::collection::vec((0u8..4, 0u64..20_000), 0..40),
        later in proptest::collection::vec((0u8..4, 0u64..20_000), 0..20),
        boot in 0u64..100_000,
    ) {
        let mut b = Breaker::new(cfg()).unwrap();
        let mut now = 50_000u64;
        for (op, dt) in ops {
            now += dt;
            match op { 0 => { let _ = b.try_acquire(now); } 1 => b.record_success(now), 2 => b.record_failure(now), _ => { b.state(now); } }
        }
        // Probes in flight are released on restore; compare from a state
        // with none.
        prop_assume!(b.stats().half_open_calls == 0);
        let mut r = Breaker::restore(cfg(), &snap(&b, now), boot).unwrap();
        prop_assert_eq!(r.stats().state, b.stats().state);
        let (mut t_old, mut t_new) = (now, boot);
        for (op, dt) in later {
            t_old += dt;
            t_new += dt;
            match op {
                0 => prop_assert_eq!(r.try_acquire(t_new), b.try_acquire(t_old)),
                1 => { r.record_success(t_new); b.record_success(t_old); }
                2 => { r.record_failure(t_new); b.record_failure(t_old); }
                _ => prop_assert_eq!(r.state(t_new), b.state(t_old)),
            }
            let (mut sr, mut sb) = (snakepit(r.stats()), snakepit(b.stats()));
            sr.last_failure_ms = None;
            sb.last_failure_ms = None;
            // Time accounting on a new clock that restarted less long ago
            // than the current state began starts at its 0 (documented):
            // readings and durations compared elsewhere.
            for s in [&mut sr, &mut sb] {
                s.state_since_ms = 0;
                s.time_in_state_ms = [0; 3];
            }
            prop_assert_eq!(sr, sb);
        }
    }
}
