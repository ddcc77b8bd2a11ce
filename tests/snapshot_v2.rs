//! Snapshot format version 2: the policy state survives (a restored
//! breaker decides exactly as the original would have), 64-bit counters,
//! version 1 blobs still restore, and inconsistent policy state is refused
//! with the registry unchanged.
use fusebox::{Breaker, Config, Error, Registry, State, SNAPSHOT_LEN};

fn snap(b: &Breaker, now: u64) -> Vec<u8> {
    let mut buf = vec![0u8; SNAPSHOT_LEN];
    assert_eq!(b.snapshot(now, &mut buf), Ok(SNAPSHOT_LEN));
    buf
}

/// Rewrites the CRC after editing a blob, as a forger would.
fn reseal(blob: &mut [u8]) {
    let end = blob.len() - 4;
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&blob[..end]);
    blob[end..].copy_from_slice(&crc.to_le_bytes());
}

#[cfg_attr(not(feature = "policies"), allow(dead_code))]
fn put_u32(blob: &mut [u8], at: usize, v: u32) {
    blob[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(blob: &mut [u8], at: usize, v: u64) {
    blob[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn v1_cfg() -> Config {
    Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(30_000)
        .with_half_open_max_calls(2)
}

/// Version 1 blob (written by fusebox 0.2 before format 2): open, 3
/// failures, 1 success, 7 rejected, 9 admitted, the last failure 10 000 ms
/// before the snapshot; config 3 / 30 000 / 2.
const V1_OPEN: [u8; 56] = [
    0x46, 0x42, 0x4F, 0x58, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x30, 0x75, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x10, 0x27, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xA1, 0x1D, 0x71, 0xA7,
];

/// Version 1 blob: half-open with one probe out, 3 failures, 2 rejected,
/// 5 admitted, the last failure 31 000 ms before; config 3 / 30 000 / 2.
const V1_HALF_OPEN: [u8; 56] = [
    0x46, 0x42, 0x4F, 0x58, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x30, 0x75, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x18, 0x79, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xB7, 0x52, 0x70, 0x55,
];

/// Version 1 registry blob: `V1_OPEN` named "up".
const V1_REGISTRY: [u8; 100] = [
    0x46, 0x42, 0x58, 0x52, 0x01, 0x00, 0x01, 0x00, 0x02, 0x75, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46, 0x42, 0x4F, 0x58, 0x01, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x30, 0x75, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x09, 0x00, 0x00, 0x00, 0x10, 0x27, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xA1, 0x1D, 0x71, 0xA7,
    0x7F, 0xAB, 0xA9, 0x02,
];

#[test]
fn version_1_blobs_still_restore_with_empty_policy_state() {
    // 20 s of the 30 s open window were left; the new clock restarted.
    let mut b = Breaker::restore(v1_cfg(), &V1_OPEN, 0).unwrap();
    let s = b.stats();
    assert_eq!(s.state, State::Open);
    assert_eq!(
        (s.failure_count, s.failure_total, s.success_count),
        (3, 3, 1)
    );
    assert_eq!((s.rejected_count, s.admitted_count), (7, 9));
    assert_eq!((s.transitions, s.window_calls), (0, 0));
    assert_eq!(s.open_duration_ms, 30_000);
    assert_eq!(b.state(19_999), State::Open);
    assert_eq!(b.state(20_000), State::HalfOpen);
    // Its probe in flight is released: both slots free.
    let mut h = Breaker::restore(v1_cfg(), &V1_HALF_OPEN, 5).unwrap();
    assert_eq!(h.try_acquire(5), Ok(State::HalfOpen));
    assert_eq!(h.try_acquire(5), Ok(State::HalfOpen));
    assert_eq!(h.try_acquire(5), Err(Error::CircuitOpen));
    // A v1 blob is refused at any other length, and with a bad CRC.
    assert_eq!(
        Breaker::restore(v1_cfg(), &V1_OPEN[..55], 0),
        Err(Error::BadSnapshot)
    );
    let mut bad = V1_OPEN;
    bad[30] ^= 1;
    assert_eq!(Breaker::restore(v1_cfg(), &bad, 0), Err(Error::BadSnapshot));
    // Through a registry, and a whole-registry blob of version 1.
    let r: Registry<2> = Registry::new();
    let id = r.restore(b"one", v1_cfg(), &V1_OPEN, 0).unwrap();
    assert_eq!(r.stats(id).unwrap().rejected_count, 7);
    assert_eq!(r.restore_all(&V1_REGISTRY, 0), Ok(1));
    let up = r.lookup(b"up").unwrap();
    assert_eq!(r.config(up).unwrap(), v1_cfg());
    assert_eq!(r.state(up, 19_999), Ok(State::Open));
    assert_eq!(r.state(up, 20_000), Ok(State::HalfOpen));
}

/// Counters past 2^32 go on counting: 64-bit, an add with carry across the
/// halves (they wrapped at 2^32 before).
#[test]
fn counters_count_past_two_to_the_32() {
    let mut b = Breaker::new(v1_cfg()).unwrap();
    b.record_failure(0);
    let mut blob = snap(&b, 0);
    for at in [96, 104, 112, 120] {
        // failure_total, success, rejected, admitted
        put_u64(&mut blob, at, u64::from(u32::MAX));
    }
    reseal(&mut blob);
    let mut r = Breaker::restore(v1_cfg(), &blob, 0).unwrap();
    r.record_success(1);
    r.try_acquire(2).unwrap();
    r.record_failure(3);
    let s = r.stats();
    let two32 = 1u64 << 32;
    assert_eq!(s.success_count, two32);
    assert_eq!(s.admitted_count, two32);
    assert_eq!(s.failure_total, two32);
    assert_eq!(s.failure_count, 2);
    // And they survive a snapshot whole.
    let again = Breaker::restore(v1_cfg(), &snap(&r, 3), 3).unwrap();
    assert_eq!(again.stats().success_count, two32);
    // Through the registry (with the fast path's counts on hosts).
    let reg: Registry<1> = Registry::new();
    let id = reg.restore(b"big", v1_cfg(), &blob, 0).unwrap();
    for t in 0..3 {
        reg.try_acquire(id, t).unwrap();
        reg.record_success(id, t).unwrap();
    }
    let s = reg.stats(id).unwrap();
    assert_eq!((s.admitted_count, s.success_count), (two32 + 2, two32 + 2));
}

/// A blob of a build without policies restores with policies, and the
/// other way round for a Snakepit-policy breaker: one format.
#[test]
fn the_same_format_with_and_without_policies() {
    let mut b = Breaker::new(v1_cfg()).unwrap();
    for t in 0..3 {
        b.record_failure(100 + t);
    }
    let blob = snap(&b, 1_000);
    assert_eq!(blob.len(), SNAPSHOT_LEN);
    assert_eq!(&blob[0..6], b"FBOX\x02\x00");
    // The policy words are Snakepit's in either build.
    let words: Vec<u32> = blob[24..88]
        .chunks(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        words,
        [0, 0, 64, 1000, 10, 50, 0, 100, 1, 0, 0, 0, 100, 0, 0, 0]
    );
    let mut r = Breaker::restore(v1_cfg(), &blob, 0).unwrap();
    assert_eq!(r.state(29_101), State::Open);
    assert_eq!(r.state(29_102), State::HalfOpen);
}

#[cfg(feature = "policies")]
mod policies {
    use super::*;
    use fusebox::{Outcome, Policy, ProbeJudge, TripRule, WindowKind, MAX_WINDOW_CALLS};

    fn with(policy: Policy) -> Config {
        Config::default()
            .with_failure_threshold(3)
            .with_reset_timeout_ms(1_000)
            .with_half_open_max_calls(4)
            .with_policy(policy)
    }

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Acquire,
        Success,
        Failure,
        /// A success that took this long.
        Took(u64),
        State,
        RetryAfter,
    }

    /// What one operation answers, and the state after it.
    fn apply(b: &mut Breaker, op: Op, now: u64) -> String {
        let out = match op {
            Op::Acquire => format!("{:?}", b.try_acquire(now)),
            Op::Success => {
                b.record_success(now);
                String::new()
            }
            Op::Failure => {
                b.record_failure(now);
                String::new()
            }
            Op::Took(ms) => {
                b.record(Outcome::Success, ms, now);
                String::new()
            }
            Op::State => String::new(),
            Op::RetryAfter => format!("{:?}", b.retry_after_ms(now)),
        };
        format!("{out} {:?}", b.state(now))
    }

    /// Runs `history` on a breaker, snapshots it at `at`, restores it on a
    /// clock reading `boot`, then runs `later` (times after the snapshot)
    /// on both: every answer and state must agree, step by step. Returns
    /// the step after which both first opened (the test must trip).
    fn decides_as_the_original(
        cfg: Config,
        history: &[(Op, u64)],
        at: u64,
        later: &[(Op, u64)],
        boot: u64,
    ) -> usize {
        let mut b = Breaker::new(cfg).unwrap();
        for &(op, t) in history {
            apply(&mut b, op, t);
        }
        let mut r = Breaker::restore(cfg, &snap(&b, at), boot).unwrap();
        let mut opened = None;
        for (k, &(op, dt)) in later.iter().enumerate() {
            let want = apply(&mut b, op, at + dt);
            let got = apply(&mut r, op, boot + dt);
            assert_eq!(got, want, "step {k} ({op:?} at +{dt}), boot {boot}");
            let ws = b.stats();
            let rs = r.stats();
            assert_eq!(
                (rs.window_calls, rs.window_failures, rs.window_slow),
                (ws.window_calls, ws.window_failures, ws.window_slow),
                "step {k}"
            );
            assert_eq!(rs.open_duration_ms, ws.open_duration_ms, "step {k}");
            if opened.is_none() && ws.state == State::Open {
                opened = Some(k);
            }
        }
        opened.expect("the later calls trip the original")
    }

    #[test]
    fn a_restored_count_window_trips_at_the_same_call() {
        let p = Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_window(WindowKind::Count, 6, 0)
            .with_minimum_calls(4)
            .with_failure_rate_percent(50);
        use Op::*;
        // The last 6 of these: S S S F S S (1 of 6 failed).
        let history: Vec<_> = [
            Success, Failure, Success, Success, Success, Failure, Success, Success,
        ]
        .into_iter()
        .enumerate()
        .map(|(k, op)| (op, 10 * k as u64))
        .collect();
        // F: 2 of 6; F: 3 of 6 = 50 %, trips. An empty window would hold 2
        // calls, under the minimum.
        let later = [(Failure, 5), (Failure, 6), (Acquire, 7), (RetryAfter, 8)];
        for boot in [0, 80, 1 << 40] {
            assert_eq!(
                decides_as_the_original(with(p), &history, 80, &later, boot),
                1
            );
        }
    }

    #[test]
    fn a_restored_time_window_trips_at_the_same_call() {
        let p = Policy::SNAKEPIT
            .with_trip_rule(TripRule::FailureRate)
            .with_window(WindowKind::Time, 4, 100)
            .with_minimum_calls(4)
            .with_failure_rate_percent(60);
        use Op::*;
        // Buckets from 1 000: [S F] [S S] [F] [ ].
        let history = [
            (Success, 1_000),
            (Failure, 1_050),
            (Success, 1_120),
            (Success, 1_190),
            (Failure, 1_230),
        ];
        // Snapshot at 1 260. At 1 410 the first bucket has expired:
        // S S F S (25 %); F at 1 420: 40 %; F at 1 500, exactly when the
        // second bucket goes: F S F F, 75 %, trips (with the second bucket
        // still in, 50 %, it would not). A restore with buckets out of
        // phase by even 1 ms, or empty, decides otherwise.
        let later = [
            (State, 100),
            (Success, 150),
            (Failure, 160),
            (Acquire, 200),
            (Failure, 240),
            (RetryAfter, 241),
        ];
        for boot in [1_260, 1_261, 500_000, 1 << 40] {
            assert_eq!(
                decides_as_the_original(with(p), &history, 1_260, &later, boot),
                4
            );
        }
    }

    #[test]
    fn a_restored_breaker_keeps_its_backoff_and_jitter() {
        let p = Policy::SNAKEPIT.with_backoff(200, 8_000).with_jitter(20, 7);
        use Op::*;
        let mut history = vec![(Failure, 0), (Failure, 1), (Failure, 2)];
        let mut b = Breaker::new(with(p)).unwrap();
        let mut t = 2;
        for _ in 0..2 {
            // Reopen from half-open: backed off twice.
            for &(op, at) in &history {
                apply(&mut b, op, at);
            }
            t += u64::from(b.stats().open_duration_ms);
            history.push((Acquire, t));
            history.push((Failure, t + 1));
            t += 1;
            b = Breaker::new(with(p)).unwrap();
        }
        for &(op, at) in &history {
            apply(&mut b, op, at);
        }
        let open = u64::from(b.stats().open_duration_ms);
        assert!(open > 3_000, "backed off twice: {open}");
        let at = t + 10;
        // Probes fail twice more: each reopen draws the next duration.
        let later = [
            (RetryAfter, 0),
            (State, open - 11),
            (Acquire, open - 10),
            (Failure, open - 9),
            (RetryAfter, open - 8),
            (Acquire, open + 20_000),
            (Failure, open + 20_001),
            (RetryAfter, open + 20_002),
        ];
        for boot in [0, at, 1 << 40] {
            decides_as_the_original(with(p), &history, at, &later, boot);
        }
    }

    #[test]
    fn a_restored_round_of_probes_is_judged_whole() {
        let p = Policy::SNAKEPIT
            .with_half_open_judge(ProbeJudge::Rate)
            .with_failure_rate_percent(50);
        use Op::*;
        // Open at 2, half-open at 1 002: 2 of 4 probes report (S, F).
        let history = [
            (Failure, 0),
            (Failure, 1),
            (Failure, 2),
            (Acquire, 1_002),
            (Acquire, 1_003),
            (Success, 1_004),
            (Failure, 1_005),
        ];
        // Two more probes, S and F: 2 of 4 failed, 50 %: open. An empty
        // round would have 2 of 4 and go on waiting.
        let later = [
            (Acquire, 0),
            (Acquire, 1),
            (Acquire, 2),
            (Success, 3),
            (Failure, 4),
        ];
        for boot in [0, 1_010, 1 << 40] {
            assert_eq!(
                decides_as_the_original(with(p), &history, 1_010, &later, boot),
                4
            );
        }
    }

    #[test]
    fn a_restored_slow_call_window_trips_at_the_same_call() {
        let p = Policy::SNAKEPIT
            .with_window(WindowKind::Count, 4, 0)
            .with_minimum_calls(4)
            .with_slow_calls(100, 50);
        use Op::*;
        let history = [(Took(500), 0), (Took(5), 1), (Took(5), 2)];
        // 2 slow of 4: 50 %, trips; an empty window holds 1 call.
        let later = [(Took(500), 0), (Acquire, 1)];
        assert_eq!(decides_as_the_original(with(p), &history, 3, &later, 0), 0);
    }

    /// Offsets of the format (see the `snapshot` module).
    const FILL: usize = 248;
    const NEWEST_AGE: usize = 256;
    const BITS: usize = 264;
    fn bits_len() -> usize {
        MAX_WINDOW_CALLS.div_ceil(8) as usize
    }
    fn buckets_at() -> usize {
        BITS + 2 * bits_len()
    }

    /// `edit` makes the blob of `b` (taken at `at`) inconsistent: refused
    /// by a breaker and by a registry, which stays empty.
    fn refused(cfg: Config, b: &Breaker, at: u64, what: &str, edit: impl Fn(&mut [u8])) {
        let mut blob = snap(b, at);
        // The unedited blob restores.
        assert!(
            Breaker::restore(cfg, &blob, at).is_ok(),
            "{what}: good blob"
        );
        edit(&mut blob);
        reseal(&mut blob);
        assert_eq!(
            Breaker::restore(cfg, &blob, at),
            Err(Error::BadSnapshot),
            "{what}"
        );
        let r: Registry<2> = Registry::new();
        assert_eq!(
            r.restore(b"x", cfg, &blob, at),
            Err(Error::BadSnapshot),
            "{what}"
        );
        assert!(r.is_empty(), "{what}");
        // In a registry blob too: refused whole.
        let full: Registry<2> = Registry::new();
        full.create(b"ok", Config::default()).unwrap();
        full.restore(b"x", cfg, &snap(b, at), at).unwrap();
        let mut all = vec![0u8; Registry::<2>::SNAPSHOT_ALL_MAX];
        let n = full.snapshot_all(at, &mut all).unwrap();
        let entry = 8 + (32 + SNAPSHOT_LEN) + 32;
        edit(&mut all[entry..entry + SNAPSHOT_LEN]);
        reseal(&mut all[entry..entry + SNAPSHOT_LEN]);
        reseal(&mut all[..n]);
        let fresh: Registry<2> = Registry::new();
        assert_eq!(
            fresh.restore_all(&all[..n], at),
            Err(Error::BadSnapshot),
            "{what}"
        );
        assert!(fresh.is_empty(), "{what}");
    }

    #[test]
    fn inconsistent_policy_state_is_refused_with_the_registry_unchanged() {
        // A count window of 6, full.
        let count = with(
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(WindowKind::Count, 6, 0)
                .with_minimum_calls(6),
        );
        let mut b = Breaker::new(count).unwrap();
        for k in 0..6 {
            b.record(
                if k == 2 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
                0,
                k,
            );
        }
        assert_eq!(b.stats().window_calls, 6);
        refused(count, &b, 10, "more calls than the window", |x| {
            x[FILL..FILL + 2].copy_from_slice(&7u16.to_le_bytes())
        });
        refused(count, &b, 10, "a failed bit beyond the calls held", |x| {
            x[BITS] |= 0x40
        });
        let slow_bits = BITS + bits_len();
        refused(count, &b, 10, "a slow bit beyond the calls held", |x| {
            x[slow_bits] |= 0x40
        });
        refused(count, &b, 10, "a bucket in a count window", |x| {
            put_u32(x, buckets_at(), 1)
        });
        refused(count, &b, 10, "reserved", |x| x[FILL + 3] = 1);
        refused(count, &b, 10, "no jitter generator", |x| put_u32(x, 188, 0));

        // A time window of 4 buckets of 100 ms.
        let time = with(
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(WindowKind::Time, 4, 100),
        );
        let mut b = Breaker::new(time).unwrap();
        b.record_success(1_000);
        b.record_failure(1_150);
        let newest = buckets_at() + 12 * 3;
        refused(time, &b, 1_160, "more failures than calls", |x| {
            put_u32(x, newest + 4, 2)
        });
        refused(time, &b, 1_160, "more slow calls than calls", |x| {
            put_u32(x, newest + 8, 2)
        });
        if fusebox::MAX_BUCKETS > 4 {
            refused(time, &b, 1_160, "a bucket beyond the window", |x| {
                put_u32(x, newest + 12, 1)
            });
        }
        refused(time, &b, 1_160, "the newest bucket a bucket old", |x| {
            put_u64(x, NEWEST_AGE, 100)
        });
        refused(time, &b, 1_160, "calls in a window not started", |x| {
            x[11] &= !4;
            put_u64(x, NEWEST_AGE, 0)
        });
        refused(time, &b, 1_160, "outcome bits in a time window", |x| {
            x[BITS] = 1
        });

        // Backoff: 1 000, 2 000, 4 000, 8 000 (the cap).
        let backoff = with(Policy::SNAKEPIT.with_backoff(200, 8_000));
        let mut b = Breaker::new(backoff).unwrap();
        for t in 0..3 {
            b.record_failure(t);
        }
        b.try_acquire(1_002).unwrap();
        b.record_failure(1_003);
        assert_eq!(b.stats().open_duration_ms, 2_000);
        for (what, base) in [
            ("a step over the cap", 16_000),
            ("a step off the ladder", 3_000),
            ("below reset_timeout_ms", 500),
        ] {
            refused(backoff, &b, 1_010, what, |x| {
                put_u32(x, 180, base);
                put_u32(x, 184, base)
            });
        }
        refused(
            backoff,
            &b,
            1_010,
            "an open duration without its jitter",
            |x| put_u32(x, 184, 2_001),
        );

        // A round of probes that should have been judged.
        let rate = with(Policy::SNAKEPIT.with_half_open_judge(ProbeJudge::Rate));
        let mut b = Breaker::new(rate).unwrap();
        for t in 0..3 {
            b.record_failure(t);
        }
        b.try_acquire(1_002).unwrap();
        b.record_success(1_003);
        assert_eq!(b.stats().state, State::HalfOpen);
        refused(rate, &b, 1_010, "a complete round", |x| {
            put_u32(x, 168, 2);
            put_u32(x, 172, 2)
        });
        refused(rate, &b, 1_010, "more slow probes than probes", |x| {
            put_u32(x, 176, 2)
        });
        refused(rate, &b, 1_010, "a forced-open time while half-open", |x| {
            x[11] |= 8;
            put_u64(x, 232, 10)
        });
    }

    /// A snapshot of a breaker with every kind of state reads back into a
    /// breaker whose own snapshot is the same bytes (nothing lost, nothing
    /// invented), taken at the same reading.
    #[test]
    fn a_restored_breaker_snapshots_to_the_same_bytes() {
        let cases = [
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::FailureRate)
                .with_window(WindowKind::Time, 3, 50)
                .with_slow_calls(20, 100),
            Policy::SNAKEPIT
                .with_trip_rule(TripRule::Consecutive)
                .with_backoff(150, 0)
                .with_jitter(10, 3),
            Policy::SNAKEPIT.with_half_open_judge(ProbeJudge::Rate),
        ];
        for p in cases {
            let mut b = Breaker::new(with(p)).unwrap();
            for k in 0..40u64 {
                let outcome = if k % 3 == 0 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                };
                let _ = b.try_acquire(k * 37);
                b.record(outcome, k % 40, k * 37 + 1);
            }
            let at = 40 * 37 + 5;
            let blob = snap(&b, at);
            let r = Breaker::restore(with(p), &blob, at).unwrap();
            assert_eq!(snap(&r, at), blob, "{p:?}");
        }
    }
}
