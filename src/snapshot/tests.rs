//! The encoder's and the decoder's tests (a part of `snapshot.rs`).
use super::*;

/// Breakers in many states: closed with failures, open, half-open with
/// probes in flight and reported, forced open for a time, with count
/// and time windows, backoff and jitter (with policies).
fn breakers() -> impl Iterator<Item = Breaker> {
    let base = Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(100)
        .with_half_open_max_calls(3);
    #[cfg(feature = "policies")]
    let configs = [
        base,
        base.with_policy(
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(WindowKind::Count, 5, 0)
                .with_minimum_calls(4)
                .with_slow_calls(10, 90)
                .with_backoff(200, 1_000)
                .with_jitter(20, 7)
                .with_half_open_judge(ProbeJudge::Rate),
        ),
        base.with_policy(
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(WindowKind::Time, 4, 50)
                .with_minimum_calls(3),
        ),
    ];
    #[cfg(not(feature = "policies"))]
    let configs = [base];
    configs.into_iter().flat_map(|config| {
        (0..14u64).map(move |steps| {
            let mut b = Breaker::new(config).unwrap();
            for t in 0..steps {
                let now = 7 + t * 37;
                let _ = b.try_acquire(now);
                match t % 4 {
                    0 | 3 => b.record_failure(now),
                    1 => b.record_success(now),
                    _ => {
                        #[cfg(feature = "policies")]
                        b.record(crate::Outcome::Success, 15, now);
                        #[cfg(not(feature = "policies"))]
                        b.record_success(now);
                    }
                }
            }
            if steps == 12 {
                // Tripped, then a probe in flight.
                for _ in 0..3 {
                    b.record_failure(1_000);
                }
                let _ = b.try_acquire(2_000);
            }
            #[cfg(feature = "policies")]
            if steps == 13 {
                b.force_open_for(500, 400);
            }
            b
        })
    })
}

/// A snapshot encoded straight from the breaker is byte for byte the
/// encoding of its parts, at readings before, at and long after the
/// breaker's last record.
#[test]
fn encoding_from_the_breaker_is_the_parts_encoding() {
    let mut seen_states = [false; 6];
    for b in breakers() {
        for now in [0, 480, 530, 600, 2_020, 5_000, u64::MAX] {
            let mut direct = [0xA5u8; SNAPSHOT_LEN];
            assert_eq!(b.snapshot(now, &mut direct), Ok(SNAPSHOT_LEN));
            let mut parts = Parts::EMPTY;
            b.to_parts(now, &mut parts);
            let mut via_parts = [0u8; SNAPSHOT_LEN];
            assert_eq!(
                write_parts(b.config(), &parts, &mut via_parts),
                Ok(SNAPSHOT_LEN)
            );
            assert_eq!(direct, via_parts, "{b:?} at {now}");
            seen_states[parts.state as usize] = true;
        }
    }
    assert!(seen_states[State::Open as usize] && seen_states[State::HalfOpen as usize]);
    #[cfg(feature = "policies")]
    assert!(seen_states[State::ForcedOpen as usize]);
}

/// A restore compares the blob's config with the expected one in
/// place, and decodes it only to say why they differ: the answer is
/// the blob's own error (a bad code, an invalid config, a policy this
/// build does not have) before `ConfigMismatch`, as a full decode
/// gives it.
#[test]
fn a_differing_config_says_why() {
    let config = Config::default().with_failure_threshold(3);
    let other = config.with_reset_timeout_ms(7);
    let mut blob = [0u8; SNAPSHOT_LEN];
    let b = Breaker::new(config).unwrap();
    assert_eq!(b.snapshot(10, &mut blob), Ok(SNAPSHOT_LEN));
    let edited = |at: usize, v: u32| {
        let mut e = blob;
        e[at..at + 4].copy_from_slice(&v.to_le_bytes());
        seal(&mut e);
        e
    };
    assert!(Breaker::restore(config, &blob, 10).is_ok());
    assert_eq!(
        Breaker::restore(other, &blob, 10).err(),
        Some(Error::ConfigMismatch)
    );
    // A trip rule code that does not exist; a threshold of 0.
    for bad in [edited(24, 9), edited(12, 0)] {
        for c in [config, other] {
            assert_eq!(
                Breaker::restore(c, &bad, 10).err(),
                Some(Error::BadSnapshot)
            );
        }
    }
    // Another jitter seed: a policy only a build with policies has.
    let seeded = edited(84, 12_345);
    let want = if cfg!(feature = "policies") {
        Error::ConfigMismatch
    } else {
        Error::Unsupported
    };
    assert_eq!(Breaker::restore(config, &seeded, 10).err(), Some(want));
    // Version 1: the 3 fields, and Snakepit's policy.
    let mut v1 = [0u8; V1_LEN];
    v1[..4].copy_from_slice(&MAGIC);
    v1[4] = 1;
    v1[8..12].copy_from_slice(&3u32.to_le_bytes());
    v1[12..16].copy_from_slice(&30_000u32.to_le_bytes());
    v1[16..20].copy_from_slice(&1u32.to_le_bytes());
    seal(&mut v1);
    assert!(Breaker::restore(config, &v1, 10).is_ok());
    assert_eq!(
        Breaker::restore(other, &v1, 10).err(),
        Some(Error::ConfigMismatch)
    );
    #[cfg(feature = "policies")]
    assert_eq!(
        Breaker::restore(
            config.with_policy(Policy::SNAKEPIT.with_jitter(0, 9)),
            &v1,
            10
        )
        .err(),
        Some(Error::ConfigMismatch)
    );
}
