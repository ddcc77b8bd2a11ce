//! Fuzzes the policy part of the C API: a breaker created from arbitrary
//! policy fields (any u32, biased toward valid and small values), then a
//! sequence of C calls (permits completed late or forged, outcomes with
//! durations, slow `fusebox_call`s, classified calls, manual control: forced
//! open until reset, for a time or until an instant, forced half-open;
//! retry-after, clock jumps). The half-open judge is fuzzed too. Creation must answer what README's ranges
//! say; then every answer, every stats field and every event the listener
//! receives is checked against the policy reference model
//! (tests/support/policy_model.rs). Jitter is fuzzed for crashes only: the
//! model leaves it out.
#![no_main]

#[path = "../../tests/support/policy_model.rs"]
mod policy_model;

use arbitrary::Arbitrary;
use core::ffi::{c_char, c_void};
use core::ptr::null_mut;
use fusebox::ffi::*;
use fusebox::{Error, Outcome, ProbeJudge, Reason, State, TripRule, WaitAction, WindowKind};
use libfuzzer_sys::fuzz_target;
use policy_model::{ModelPermit, Observed, PolicyCfg, PolicyModel};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

static NOW: AtomicU64 = AtomicU64::new(0);
static EVENTS: Mutex<Vec<(u32, u32, u32)>> = Mutex::new(Vec::new());

unsafe extern "C" fn clock(_: *mut c_void) -> u64 {
    NOW.load(Ordering::Relaxed)
}

unsafe extern "C" fn listener(ev: *const fusebox_event, _: *mut c_void) {
    let ev = unsafe { &*ev };
    EVENTS.lock().unwrap().push((ev.from, ev.to, ev.reason));
}

/// The op of `fusebox_call`: takes `d` ms (advances the clock), then
/// returns `code`. Userdata packs both.
unsafe extern "C" fn c_op(userdata: *mut c_void) -> i32 {
    let packed = userdata as usize as u64;
    NOW.fetch_add(packed >> 8, Ordering::Relaxed);
    (packed & 0xff) as i32
}

/// 0 success, 1 failure, 2 ignored, anything else: an unknown code.
unsafe extern "C" fn classify(result: i32, _: *mut c_void) -> fusebox_outcome {
    result as u32
}

#[derive(Arbitrary, Debug)]
struct Fields {
    base: (u8, u8, u8),
    small: [u8; 16],
    any: Option<[u32; 16]>,
}

impl Fields {
    fn config(&self) -> fusebox_config {
        let (t, r, p) = self.base;
        let mut c = fusebox_config {
            failure_threshold: u32::from(t % 5),
            reset_timeout_ms: u32::from(r % 60),
            half_open_max_calls: u32::from(p % 4),
            ..Default::default()
        };
        let s = self.small.map(u32::from);
        let f = self.any.unwrap_or([
            s[0] % 4,                                  // trip_rule (3: no such code)
            s[1] % 3,                                  // window_kind (2: no such code)
            s[2] % 12,                                 // window_size
            s[3] % 40,                                 // bucket_ms
            s[4] % 16,                                 // minimum_calls (often > window_size)
            s[5] % 110,                                // failure_rate_percent
            if s[6] < 128 { 0 } else { s[6] % 30 },    // slow_call_ms
            s[7] % 110,                                // slow_call_rate_percent
            s[8] % 4,                                  // half_open_success_threshold
            if s[9] < 128 { 0 } else { s[9] % 60 },    // half_open_max_wait_ms
            s[10] % 4,                                 // half_open_wait_action (3: no such code)
            if s[11] < 128 { 100 } else { s[11] * 2 }, // backoff_percent
            if s[12] < 128 { 0 } else { s[12] },       // max_open_ms
            if s[13] < 200 { 0 } else { s[13] % 120 }, // jitter_percent
            s[14],                                     // jitter_seed
            s[15] % 3,                                 // half_open_judge (2: no such code)
        ]);
        c.trip_rule = f[0];
        c.window_kind = f[1];
        c.window_size = f[2];
        c.bucket_ms = f[3];
        c.minimum_calls = f[4];
        c.failure_rate_percent = f[5];
        c.slow_call_ms = f[6];
        c.slow_call_rate_percent = f[7];
        c.half_open_success_threshold = f[8];
        c.half_open_max_wait_ms = f[9];
        c.half_open_wait_action = f[10];
        c.backoff_percent = f[11];
        c.max_open_ms = f[12];
        c.jitter_percent = f[13];
        c.jitter_seed = f[14];
        c.half_open_judge = f[15];
        c
    }
}

/// README's ranges, written out: the model of `fusebox_create`'s answer.
fn model_cfg(c: &fusebox_config) -> Option<PolicyCfg> {
    let rule = match c.trip_rule {
        0 => TripRule::Cumulative,
        1 => TripRule::Consecutive,
        2 => TripRule::FailureRate,
        _ => return None,
    };
    let (window, max) = match c.window_kind {
        0 => (WindowKind::Count, fusebox::MAX_WINDOW_CALLS),
        1 => (WindowKind::Time, fusebox::MAX_BUCKETS),
        _ => return None,
    };
    let wait_action = match c.half_open_wait_action {
        0 => WaitAction::ReleaseProbes,
        1 => WaitAction::Reopen,
        2 => WaitAction::ReopenAlways,
        _ => return None,
    };
    let judge = match c.half_open_judge {
        0 => ProbeJudge::FirstFailure,
        1 => ProbeJudge::Rate,
        _ => return None,
    };
    let pct = |v: u32| (1..=100).contains(&v);
    let ok = c.failure_threshold >= 1
        && c.reset_timeout_ms >= 1
        && c.half_open_max_calls >= 1
        && (1..=max).contains(&c.window_size)
        && (window == WindowKind::Count || c.bucket_ms >= 1)
        && c.minimum_calls >= 1
        && pct(c.failure_rate_percent)
        && pct(c.slow_call_rate_percent)
        && (1..=c.half_open_max_calls).contains(&c.half_open_success_threshold)
        && (judge == ProbeJudge::FirstFailure || c.half_open_success_threshold == 1)
        && c.backoff_percent >= 100
        && (c.max_open_ms == 0 || c.max_open_ms >= c.reset_timeout_ms)
        && c.jitter_percent <= 100;
    ok.then_some(PolicyCfg {
        threshold: c.failure_threshold,
        timeout: c.reset_timeout_ms,
        max_probes: c.half_open_max_calls,
        rule,
        window,
        window_size: c.window_size,
        bucket_ms: c.bucket_ms,
        minimum_calls: c.minimum_calls,
        rate: c.failure_rate_percent,
        slow_ms: c.slow_call_ms,
        slow_rate: c.slow_call_rate_percent,
        success_threshold: c.half_open_success_threshold,
        max_wait: c.half_open_max_wait_ms,
        wait_action,
        judge,
        backoff: c.backoff_percent,
        cap: c.max_open_ms,
    })
}

#[derive(Arbitrary, Debug)]
enum Op {
    Acquire,
    Permit,
    Complete(u8, u8),
    CompleteForged(u8),
    Record(u8, u8),
    Success,
    Failure,
    Call(bool, u8),
    Classified(u8, u8),
    Reset,
    ForceOpen,
    ForceOpenFor(u8),
    /// An instant this far ahead (`true`) or behind.
    ForceOpenUntil(u8, bool),
    ForceHalfOpen,
    Disable,
    MetricsOnly,
    State,
    RetryAfter,
    Forward(u8),
    Back(u8),
    Jump,
    /// Snapshot (format version 2), then restore as a twin: with the
    /// blob as taken (`0`), or with byte `flip % len` xored (CRC fixed
    /// again when the flag says so, so that the checks after the CRC are
    /// reached).
    Twin(u16, bool),
    /// Arbitrary bytes restored with the breaker's config.
    RestoreBytes(Vec<u8>),
}

fn outcome(code: u8) -> (u32, Option<Outcome>) {
    match code % 4 {
        0 => (FUSEBOX_OUTCOME_SUCCESS, Some(Outcome::Success)),
        1 => (FUSEBOX_OUTCOME_FAILURE, Some(Outcome::Failure)),
        2 => (FUSEBOX_OUTCOME_IGNORED, Some(Outcome::Ignored)),
        _ => (7, None),
    }
}

/// The status the C API must answer for the model's result (the library's
/// own mapping, `fusebox::ffi::status_of`).
fn expect(r: Result<(), Error>) -> fusebox_status {
    r.map_or_else(status_of, |()| FUSEBOX_OK)
}

fn reason_code(r: Reason) -> u32 {
    r as u32
}

unsafe fn check(id: fusebox_id, m: &mut PolicyModel) {
    let mut s = core::mem::MaybeUninit::<fusebox_stats>::uninit();
    assert_eq!(unsafe { fusebox_stats_get(id, s.as_mut_ptr()) }, FUSEBOX_OK);
    let s = unsafe { s.assume_init() };
    let got = Observed {
        state: s.state,
        failures: s.failure_count as u32,
        successes: s.success_count as u32,
        probes: s.half_open_calls,
        probe_successes: s.half_open_successes,
        last_failure: s.has_last_failure.then_some(s.last_failure_ms),
        admitted: s.admitted_count as u32,
        rejected: s.rejected_count as u32,
        transitions: s.transitions as u32,
        generation: s.generation,
        slow: s.slow_count as u32,
        stale: s.stale_count as u32,
        ignored: s.ignored_count as u32,
        open_ms: s.open_duration_ms,
        window: m
            .windowed()
            .then_some((s.window_calls, s.window_failures, s.window_slow)),
    };
    // Stats read at the clock's time: a time window ages.
    assert_eq!(got, m.observed_at(NOW.load(Ordering::Relaxed)));
    let events: Vec<_> = core::mem::take(&mut *EVENTS.lock().unwrap());
    let want: Vec<_> = m
        .log
        .drain(..)
        .map(|(f, t, r)| (f.code(), t.code(), reason_code(r)))
        .collect();
    assert_eq!(events, want, "events");
}

/// Snapshots `id` and restores the blob (edited by `flip`, see
/// [`Op::Twin`]) as a second breaker: an unedited blob restores a twin
/// with the same stats (but for what the format documents as not
/// carried); an edited one restores or is refused with the registry
/// unchanged, never a panic. The twin is destroyed again; it makes no
/// state change, so no event.
unsafe fn twin(id: fusebox_id, c: &fusebox_config, flip: u16, reseal: bool) {
    let mut blob = vec![0u8; fusebox_snapshot_max()];
    let mut len = 0;
    assert_eq!(
        unsafe { fusebox_snapshot(id, blob.as_mut_ptr(), blob.len(), &mut len) },
        FUSEBOX_OK
    );
    assert_eq!(len, blob.len());
    if flip != 0 {
        let at = usize::from(flip) % len;
        blob[at] ^= (flip >> 8) as u8 | 1;
        if reseal {
            let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&blob[..len - 4]);
            blob[len - 4..].copy_from_slice(&crc.to_le_bytes());
        }
    }
    let mut twin = 0xDEAD;
    let got = unsafe { fusebox_restore(c"twin".as_ptr(), c, blob.as_ptr(), len, &mut twin) };
    if got != FUSEBOX_OK {
        assert_ne!(flip, 0, "a blob as taken restores: {got}");
        assert_eq!(twin, 0xDEAD);
        let mut none = 0;
        assert_eq!(
            unsafe { fusebox_lookup(c"twin".as_ptr(), &mut none) },
            FUSEBOX_NOT_FOUND
        );
        return;
    }
    if flip == 0 {
        let mut a = core::mem::MaybeUninit::<fusebox_stats>::uninit();
        let mut b = core::mem::MaybeUninit::<fusebox_stats>::uninit();
        assert_eq!(unsafe { fusebox_stats_get(id, a.as_mut_ptr()) }, FUSEBOX_OK);
        assert_eq!(
            unsafe { fusebox_stats_get(twin, b.as_mut_ptr()) },
            FUSEBOX_OK
        );
        let (mut a, mut b) = unsafe { (a.assume_init(), b.assume_init()) };
        // Not carried: the permits' generation; probes in flight are
        // released (those that reported keep their slots); times are ages
        // on the same clock, but a clock behind a reading re-bases it.
        assert!(b.half_open_calls <= a.half_open_calls.max(b.half_open_calls));
        for s in [&mut a, &mut b] {
            s.generation = 0;
            s.half_open_calls = 0;
            s.last_failure_ms = 0;
            s.state_since_ms = 0;
        }
        assert_eq!(a, b);
        // A twin's own snapshot is the same blob.
        let mut again = vec![0u8; len];
        let mut n = 0;
        assert_eq!(
            unsafe { fusebox_snapshot(twin, again.as_mut_ptr(), len, &mut n) },
            FUSEBOX_OK
        );
    }
    let mut s = core::mem::MaybeUninit::<fusebox_stats>::uninit();
    assert_eq!(
        unsafe { fusebox_stats_get(twin, s.as_mut_ptr()) },
        FUSEBOX_OK
    );
    let s = unsafe { s.assume_init() };
    assert!(s.half_open_calls <= s.half_open_max_calls);
    assert_eq!(fusebox_destroy(twin), FUSEBOX_OK);
}

fuzz_target!(|input: (Fields, Vec<Op>)| {
    let (fields, ops) = input;
    NOW.store(1_000, Ordering::Relaxed);
    EVENTS.lock().unwrap().clear();
    assert_eq!(fusebox_set_clock(Some(clock), null_mut()), FUSEBOX_OK);
    assert_eq!(fusebox_set_listener(Some(listener), null_mut()), FUSEBOX_OK);
    let c = fields.config();
    let name = b"p\0";
    let mut id = 0;
    let got = unsafe { fusebox_create(name.as_ptr() as *const c_char, &c, &mut id) };
    let expected = model_cfg(&c);
    assert_eq!(got == FUSEBOX_OK, expected.is_some(), "create {c:?}: {got}");
    let Some(cfg) = expected else {
        assert_eq!(got, FUSEBOX_INVALID_CONFIG);
        return;
    };
    // Jitter moves open durations in ways the model leaves out: such
    // breakers are run for crashes and invariants only.
    let mut model = (c.jitter_percent == 0).then(|| PolicyModel::new(cfg));
    let mut permits: Vec<(fusebox_permit, Option<ModelPermit>)> = Vec::new();

    for op in ops.iter().take(200) {
        let now = NOW.load(Ordering::Relaxed);
        unsafe {
            match op {
                Op::Twin(flip, reseal) => twin(id, &c, *flip, *reseal),
                Op::RestoreBytes(bytes) => {
                    let mut twin = 0xDEAD;
                    let got = fusebox_restore(
                        c"twin".as_ptr(),
                        &c,
                        bytes.as_ptr(),
                        bytes.len(),
                        &mut twin,
                    );
                    if got == FUSEBOX_OK {
                        assert!(bytes.len() == fusebox_snapshot_max() || bytes.len() == 56);
                        assert_eq!(fusebox_destroy(twin), FUSEBOX_OK);
                    } else {
                        assert_eq!(twin, 0xDEAD);
                        assert_eq!(
                            fusebox_lookup(c"twin".as_ptr(), &mut twin),
                            FUSEBOX_NOT_FOUND
                        );
                    }
                }
                _ => {}
            }
            match *op {
                Op::Twin(..) | Op::RestoreBytes(_) => {}
                Op::Acquire => {
                    let got = fusebox_try_acquire(id);
                    if let Some(m) = model.as_mut() {
                        assert_eq!(got, expect(m.acquire(now).map(|_| ())));
                    }
                }
                Op::Permit => {
                    let mut p = core::mem::MaybeUninit::<fusebox_permit>::uninit();
                    let got = fusebox_acquire_permit(id, p.as_mut_ptr());
                    let want = model.as_mut().map(|m| m.acquire_permit(now));
                    if let Some(w) = &want {
                        assert_eq!(got, expect(w.map(|_| ())));
                    }
                    if got == FUSEBOX_OK {
                        let p = p.assume_init();
                        if let Some(Ok(mp)) = want {
                            assert_eq!(p.generation, mp.generation);
                            permits.push((p, Some(mp)));
                        } else {
                            permits.push((p, None));
                        }
                    }
                }
                Op::Complete(i, o) => {
                    if permits.is_empty() {
                        continue;
                    }
                    let (p, mp) = permits.swap_remove(usize::from(i) % permits.len());
                    let (code, o) = outcome(o);
                    let got = fusebox_complete(&p, code);
                    match (o, model.as_mut(), mp) {
                        (None, _, _) => assert_eq!(got, FUSEBOX_INVALID_CONFIG),
                        (Some(o), Some(m), Some(mp)) => {
                            assert_eq!(got, expect(m.complete(&mp, o, now)))
                        }
                        _ => assert!(got == FUSEBOX_OK || got == FUSEBOX_STALE_PERMIT),
                    }
                }
                Op::CompleteForged(which) => {
                    let mut p = fusebox_permit {
                        id,
                        generation: 0,
                        state: 0,
                        start_ms: now,
                    };
                    let want = match which % 3 {
                        0 => {
                            p.id = id ^ (1 << 12); // other generation of the slot
                            FUSEBOX_NOT_FOUND
                        }
                        1 => {
                            p.state = 6 + u32::from(which);
                            FUSEBOX_INVALID_CONFIG
                        }
                        _ => {
                            // A generation the breaker is far from (a
                            // complete moves it on by at most two).
                            p.generation = model
                                .as_ref()
                                .map_or(u32::MAX, |m| m.generation.wrapping_add(1000));
                            FUSEBOX_STALE_PERMIT
                        }
                    };
                    let got = fusebox_complete(&p, FUSEBOX_OUTCOME_FAILURE);
                    if want == FUSEBOX_STALE_PERMIT {
                        if let Some(m) = model.as_mut() {
                            m.tick(now);
                            m.stale = m.stale.wrapping_add(1);
                        }
                    }
                    assert_eq!(got, want);
                }
                Op::Record(o, d) => {
                    let (code, o) = outcome(o);
                    let got = fusebox_record(id, code, u64::from(d));
                    match (o, model.as_mut()) {
                        (None, _) => assert_eq!(got, FUSEBOX_INVALID_CONFIG),
                        (Some(o), m) => {
                            assert_eq!(got, FUSEBOX_OK);
                            if let Some(m) = m {
                                m.record(o, u64::from(d), now);
                            }
                        }
                    }
                }
                Op::Success => {
                    assert_eq!(fusebox_record_success(id), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.success(false, now);
                    }
                }
                Op::Failure => {
                    assert_eq!(fusebox_record_failure(id), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.failure(false, now);
                    }
                }
                Op::Call(fail, d) => {
                    let packed = (u64::from(d) << 8) | u64::from(fail);
                    let mut result = -1;
                    let got =
                        fusebox_call(id, Some(c_op), packed as usize as *mut c_void, &mut result);
                    if let Some(m) = model.as_mut() {
                        let o = if fail {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        };
                        if m.c.slow_ms != 0 {
                            // A breaker that measures slow calls times the
                            // op through a permit, as `Breaker::call` does.
                            match m.acquire_permit(now) {
                                Ok(mp) => {
                                    assert_eq!(got, FUSEBOX_OK);
                                    let end = NOW.load(Ordering::Relaxed);
                                    let _ = m.complete(&mp, o, end);
                                }
                                Err(e) => assert_eq!(got, expect(Err(e))),
                            }
                        } else {
                            let admitted = m.acquire(now);
                            assert_eq!(got, expect(admitted.map(|_| ())));
                            if admitted.is_ok() {
                                let end = NOW.load(Ordering::Relaxed);
                                if fail {
                                    m.failure(false, end);
                                } else {
                                    m.success(false, end);
                                }
                            }
                        }
                    }
                    if got == FUSEBOX_OK {
                        assert_eq!(result, i32::from(fail));
                    }
                }
                Op::Classified(code, d) => {
                    let code = code % 4;
                    let packed = (u64::from(d) << 8) | u64::from(code);
                    let mut result = -1;
                    let got = fusebox_call_classified(
                        id,
                        Some(c_op),
                        Some(classify),
                        packed as usize as *mut c_void,
                        &mut result,
                    );
                    if let Some(m) = model.as_mut() {
                        match m.acquire_permit(now) {
                            Ok(mp) => {
                                assert_eq!(got, FUSEBOX_OK);
                                let end = NOW.load(Ordering::Relaxed);
                                // An unknown class counts as a failure.
                                let o = outcome(code).1.unwrap_or(Outcome::Failure);
                                let _ = m.complete(&mp, o, end);
                            }
                            Err(e) => assert_eq!(got, expect(Err(e))),
                        }
                    }
                }
                Op::Reset => {
                    assert_eq!(fusebox_reset(id), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.reset();
                    }
                }
                Op::ForceOpenFor(d) => {
                    assert_eq!(fusebox_force_open_for(id, u64::from(d)), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.force_for(u64::from(d), now);
                    }
                }
                Op::ForceOpenUntil(d, ahead) => {
                    let until = if ahead {
                        now.saturating_add(u64::from(d))
                    } else {
                        now.saturating_sub(u64::from(d))
                    };
                    assert_eq!(fusebox_force_open_until(id, until), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.force_until(until, now);
                    }
                }
                Op::ForceOpen | Op::Disable | Op::MetricsOnly | Op::ForceHalfOpen => {
                    let (got, to) = match op {
                        Op::ForceOpen => (fusebox_force_open(id), State::ForcedOpen),
                        Op::Disable => (fusebox_disable(id), State::Disabled),
                        Op::ForceHalfOpen => (fusebox_force_half_open(id), State::HalfOpen),
                        _ => (fusebox_metrics_only(id), State::MetricsOnly),
                    };
                    assert_eq!(got, FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        m.manual(to, now);
                    }
                }
                Op::State => {
                    let mut st = 99;
                    assert_eq!(fusebox_get_state(id, &mut st), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        assert_eq!(st, m.state(now).code());
                    }
                }
                Op::RetryAfter => {
                    let mut ms = 7;
                    assert_eq!(fusebox_retry_after_ms(id, &mut ms), FUSEBOX_OK);
                    if let Some(m) = model.as_mut() {
                        assert_eq!(ms, m.retry_after(now).unwrap_or(FUSEBOX_RETRY_NEVER));
                    }
                }
                Op::Forward(d) => {
                    NOW.fetch_add(u64::from(d), Ordering::Relaxed);
                }
                Op::Back(d) => NOW.store(now.saturating_sub(u64::from(d)), Ordering::Relaxed),
                Op::Jump => NOW.store(
                    if now > u64::MAX / 2 {
                        1_000
                    } else {
                        now + (1 << 63)
                    },
                    Ordering::Relaxed,
                ),
            }
            match model.as_mut() {
                Some(m) => check(id, m),
                None => {
                    // Invariants that hold whatever the jitter drew.
                    let mut s = core::mem::MaybeUninit::<fusebox_stats>::uninit();
                    assert_eq!(fusebox_stats_get(id, s.as_mut_ptr()), FUSEBOX_OK);
                    let s = s.assume_init();
                    assert!(s.half_open_calls <= s.half_open_max_calls);
                    assert!(s.open_duration_ms >= 1);
                    EVENTS.lock().unwrap().clear();
                }
            }
        }
    }
    assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    assert_eq!(fusebox_set_listener(None, null_mut()), FUSEBOX_OK);
    let mut dropped = 1;
    assert_eq!(unsafe { fusebox_events_dropped(&mut dropped) }, FUSEBOX_OK);
    assert_eq!(dropped, 0);
});
