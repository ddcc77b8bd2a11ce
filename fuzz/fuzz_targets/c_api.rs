//! Fuzzes the C API: arbitrary bytes become a sequence of C calls (arbitrary
//! names and configs, NULL pointers, stale and forged ids, clock jumps
//! forwards, backwards and to the end of time), and every answer and every
//! breaker's stats are checked against the reference model of the property
//! test (tests/support/model.rs).
#![no_main]

#[path = "../../tests/support/model.rs"]
mod model;

use arbitrary::Arbitrary;
use core::ffi::{c_char, c_void};
use core::ptr::{null, null_mut};
use fusebox::ffi::*;
use fusebox::{Error, State};
use libfuzzer_sys::fuzz_target;
use model::RegistryModel;
use std::sync::atomic::{AtomicU64, Ordering};

static NOW: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn clock(_: *mut c_void) -> u64 {
    NOW.load(Ordering::Relaxed)
}

unsafe extern "C" fn c_op(userdata: *mut c_void) -> i32 {
    userdata as usize as i32 // 0: success, 1: failure
}

#[derive(Arbitrary, Debug)]
enum Target {
    Tracked(u8),
    Raw(u64),
}

/// A name from a small pool most of the time (so that names collide and
/// lookups find them), arbitrary bytes otherwise; `unterminated` drops the
/// NUL when the buffer is long enough for fusebox to stop reading first.
#[derive(Arbitrary, Debug)]
enum Name {
    Pool(u8),
    Bytes { bytes: Vec<u8>, unterminated: bool },
}

impl Name {
    fn buffer(&self) -> (Vec<u8>, Vec<u8>) {
        match self {
            Name::Pool(i) => c_name(&[b'n', b'0' + i % 6], false),
            Name::Bytes {
                bytes,
                unterminated,
            } => c_name(bytes, *unterminated),
        }
    }
}

/// Small values most of the time, so that thresholds and timeouts are
/// reached; any u32 (0 and huge ones included) otherwise.
#[derive(Arbitrary, Debug)]
enum Cfg {
    Small(u8, u8, u8),
    Any(u32, u32, u32),
}

impl Cfg {
    fn values(&self) -> (u32, u32, u32) {
        match *self {
            Cfg::Small(a, b, c) => (u32::from(a % 8), u32::from(b % 64), u32::from(c % 4)),
            Cfg::Any(a, b, c) => (a, b, c),
        }
    }
}

fn c_config((a, b, c): (u32, u32, u32)) -> fusebox_config {
    fusebox_config {
        failure_threshold: a,
        reset_timeout_ms: b,
        half_open_max_calls: c,
        ..Default::default()
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    Create {
        name: Name,
        cfg: Option<Cfg>,
        null_name: bool,
        null_out: bool,
    },
    Lookup {
        name: Name,
        null_out: bool,
    },
    Destroy(Target),
    State(Target, bool),
    Allow(Target, bool),
    Acquire(Target),
    Success(Target),
    Failure(Target),
    Call {
        target: Target,
        fail: bool,
        null_op: bool,
        null_out: bool,
    },
    Reset(Target),
    Stats(Target, bool),
    Forward(u8),
    ForwardFar(u32),
    Backward(u16),
    JumpToEnd,
    JumpHalfRange,
    SetClockNull,
    RestoreBytes {
        name: Name,
        cfg: Option<Cfg>,
        bytes: Vec<u8>,
    },
    RestoreAllBytes(Vec<u8>),
    SnapshotRoundTrip(Target),
    SnapshotAllRoundTrip,
}

fn expect<T>(r: Result<T, Error>) -> fusebox_status {
    r.map_or_else(status_of, |_| FUSEBOX_OK)
}

fn state_code(s: State) -> fusebox_state {
    s.code()
}

/// The C string buffer the harness passes, and the name fusebox must see:
/// bytes up to the first NUL within FUSEBOX_NAME_MAX + 1 bytes, else none.
fn c_name(bytes: &[u8], unterminated: bool) -> (Vec<u8>, Vec<u8>) {
    let mut buf: Vec<u8> = bytes.iter().copied().take(40).collect();
    // Only a buffer of at least 32 bytes may lack the NUL: fusebox reads 32.
    if !(unterminated && buf.len() > FUSEBOX_NAME_MAX) {
        buf.push(0);
    }
    let seen = match buf.iter().take(FUSEBOX_NAME_MAX + 1).position(|&b| b == 0) {
        Some(n) => buf[..n].to_vec(),
        None => vec![0; 32], // too long: invalid whatever the bytes
    };
    (buf, seen)
}

fn resolve(t: &Target, model: &RegistryModel) -> u64 {
    match *t {
        Target::Tracked(i) if !model.tracked.is_empty() => {
            model.tracked[i as usize % model.tracked.len()].id
        }
        Target::Tracked(i) => u64::from(i),
        Target::Raw(r) => r,
    }
}

fn check_all(model: &RegistryModel) {
    for t in &model.tracked {
        let mut s = fusebox_stats {
            state: 99,
            ..Default::default()
        };
        let st = unsafe { fusebox_stats_get(t.id, &mut s) };
        match &t.model {
            None => assert_eq!(st, FUSEBOX_NOT_FOUND, "stale id {:#x} answered", t.id),
            Some(m) => {
                assert_eq!(st, FUSEBOX_OK);
                assert_eq!(s.state, state_code(m.state), "state of {:#x}", t.id);
                assert_eq!(s.failure_count, u64::from(m.failures));
                assert_eq!(s.success_count, u64::from(m.successes));
                assert_eq!(s.failure_threshold, m.threshold);
                assert_eq!(s.half_open_calls, m.probes);
                assert_eq!(s.half_open_max_calls, m.max_probes);
                assert_eq!(u64::from(s.reset_timeout_ms), m.timeout);
                assert_eq!(s.rejected_count, u64::from(m.rejected));
                assert_eq!(s.admitted_count, u64::from(m.admitted));
                assert_eq!(
                    s.has_last_failure.then_some(s.last_failure_ms),
                    m.last_failure
                );
            }
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    NOW.store(1_000, Ordering::Relaxed);
    assert_eq!(fusebox_set_clock(Some(clock), null_mut()), FUSEBOX_OK);
    let mut model = RegistryModel::new(fusebox_capacity());

    for op in ops.iter().take(256) {
        let now = NOW.load(Ordering::Relaxed);
        unsafe {
            match op {
                Op::Create {
                    name,
                    cfg,
                    null_name,
                    null_out,
                } => {
                    let (buf, seen) = name.buffer();
                    let values = cfg.as_ref().map(Cfg::values);
                    let c = values.map(c_config);
                    let cfg_ptr = c.as_ref().map_or(null(), |c| c as *const _);
                    let name_ptr = if *null_name {
                        null()
                    } else {
                        buf.as_ptr() as *const c_char
                    };
                    let mut id = 0xDEAD;
                    let out = if *null_out {
                        null_mut()
                    } else {
                        &mut id as *mut _
                    };
                    let got = fusebox_create(name_ptr, cfg_ptr, out);
                    let (a, b, p) = values.unwrap_or((5, 30_000, 1));
                    let want = if *null_name || *null_out {
                        FUSEBOX_NULL_PARAMETER
                    } else {
                        expect(model.expect_create(&seen, a, b, p))
                    };
                    assert_eq!(got, want, "create {seen:?}");
                    if got == FUSEBOX_OK {
                        model.created(id, &seen, a, b, p);
                    } else {
                        assert_eq!(id, 0xDEAD, "out-parameter written on error");
                    }
                }
                Op::Lookup { name, null_out } => {
                    let (buf, seen) = name.buffer();
                    let mut id = 0xDEAD;
                    let out = if *null_out {
                        null_mut()
                    } else {
                        &mut id as *mut _
                    };
                    let got = fusebox_lookup(buf.as_ptr() as *const c_char, out);
                    if *null_out {
                        assert_eq!(got, FUSEBOX_NULL_PARAMETER);
                    } else {
                        let want = model.expect_lookup(&seen);
                        assert_eq!(got, expect(want));
                        assert_eq!(id, want.unwrap_or(0xDEAD));
                    }
                }
                Op::Destroy(t) => {
                    let id = resolve(t, &model);
                    assert_eq!(fusebox_destroy(id), expect(model.remove(id)));
                }
                Op::State(t, null_out) => {
                    let id = resolve(t, &model);
                    let mut s = 99;
                    if *null_out {
                        assert_eq!(fusebox_get_state(id, null_mut()), FUSEBOX_NULL_PARAMETER);
                    } else {
                        let want = model.breaker(id).map(|m| m.state(now));
                        assert_eq!(fusebox_get_state(id, &mut s), expect(want));
                        assert_eq!(s, want.map_or(99, state_code));
                    }
                }
                Op::Allow(t, null_out) => {
                    let id = resolve(t, &model);
                    let mut a = false;
                    if *null_out {
                        assert_eq!(fusebox_allow_call(id, null_mut()), FUSEBOX_NULL_PARAMETER);
                    } else {
                        let want = model.breaker(id).map(|m| m.allow(now));
                        assert_eq!(fusebox_allow_call(id, &mut a), expect(want));
                        assert_eq!(a, want.unwrap_or(false));
                    }
                }
                Op::Acquire(t) => {
                    let id = resolve(t, &model);
                    assert_eq!(
                        fusebox_try_acquire(id),
                        expect(model.breaker(id).and_then(|m| m.acquire(now)))
                    );
                }
                Op::Success(t) => {
                    let id = resolve(t, &model);
                    assert_eq!(
                        fusebox_record_success(id),
                        expect(model.breaker(id).map(|m| m.success(now)))
                    );
                }
                Op::Failure(t) => {
                    let id = resolve(t, &model);
                    assert_eq!(
                        fusebox_record_failure(id),
                        expect(model.breaker(id).map(|m| m.failure(now)))
                    );
                }
                Op::Call {
                    target,
                    fail,
                    null_op,
                    null_out,
                } => {
                    let id = resolve(target, &model);
                    let mut result = 77;
                    let out = if *null_out {
                        null_mut()
                    } else {
                        &mut result as *mut _
                    };
                    let f = if *null_op {
                        None
                    } else {
                        Some(c_op as unsafe extern "C" fn(*mut c_void) -> i32)
                    };
                    let got = fusebox_call(id, f, *fail as usize as *mut c_void, out);
                    if *null_op || *null_out {
                        assert_eq!(got, FUSEBOX_NULL_PARAMETER);
                        assert_eq!(result, 77);
                    } else {
                        let want = model.breaker(id).and_then(|m| {
                            m.acquire(now)?;
                            if *fail {
                                m.failure(now)
                            } else {
                                m.success(now)
                            }
                            Ok(())
                        });
                        assert_eq!(got, expect(want));
                        assert_eq!(result, if want.is_ok() { *fail as i32 } else { 77 });
                    }
                }
                Op::Reset(t) => {
                    let id = resolve(t, &model);
                    assert_eq!(
                        fusebox_reset(id),
                        expect(model.breaker(id).map(|m| m.reset()))
                    );
                }
                Op::Stats(t, null_out) => {
                    let id = resolve(t, &model);
                    if *null_out {
                        assert_eq!(fusebox_stats_get(id, null_mut()), FUSEBOX_NULL_PARAMETER);
                    }
                }
                Op::Forward(d) => NOW.store(now.wrapping_add(u64::from(*d)), Ordering::Relaxed),
                Op::ForwardFar(d) => NOW.store(now.wrapping_add(u64::from(*d)), Ordering::Relaxed),
                Op::Backward(d) => NOW.store(now.saturating_sub(u64::from(*d)), Ordering::Relaxed),
                Op::JumpToEnd => NOW.store(u64::MAX, Ordering::Relaxed),
                Op::JumpHalfRange => NOW.store(now.wrapping_add(1 << 63), Ordering::Relaxed),
                Op::SetClockNull => {
                    assert_eq!(fusebox_set_clock(None, null_mut()), FUSEBOX_NULL_PARAMETER)
                }
                Op::RestoreBytes { name, cfg, bytes } => {
                    // Arbitrary bytes: refused with the registry unchanged,
                    // or a breaker that is then destroyed again.
                    let (buf, seen) = name.buffer();
                    let values = cfg.as_ref().map(Cfg::values);
                    let c = values.map(c_config);
                    let cfg_ptr = c.as_ref().map_or(null(), |c| c as *const _);
                    let mut id = 0xDEAD;
                    let got = fusebox_restore(
                        buf.as_ptr() as *const c_char,
                        cfg_ptr,
                        bytes.as_ptr(),
                        bytes.len(),
                        &mut id,
                    );
                    if got == FUSEBOX_OK {
                        let (a, b, p) = values.unwrap_or((5, 30_000, 1));
                        assert_eq!(model.expect_create(&seen, a, b, p), Ok(()));
                        model.created(id, &seen, a, b, p);
                        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
                        model.remove(id).unwrap();
                    } else {
                        assert_eq!(id, 0xDEAD);
                    }
                    // Only a blob of exactly its length restores (version
                    // 2, or 56 bytes for version 1).
                    if bytes.len() != fusebox_snapshot_max() && bytes.len() != 56 {
                        assert_ne!(got, FUSEBOX_OK);
                    }
                }
                Op::RestoreAllBytes(bytes) => {
                    let mut n = 0xDEAD;
                    let got = fusebox_restore_all(bytes.as_ptr(), bytes.len(), &mut n);
                    // A registry blob is read at exactly 12 + (32 + the
                    // breaker blob) bytes per entry (88 for version 1);
                    // more entries than slots is REGISTRY_FULL from the
                    // header alone, before the CRC or any entry.
                    let entry_len = match bytes.get(4..6) {
                        Some([1, 0]) => 88,
                        _ => 32 + fusebox_snapshot_max(),
                    };
                    if let [b'F', b'B', b'X', b'R', 1 | 2, 0, lo, hi, ..] = bytes[..] {
                        let count = usize::from(u16::from_le_bytes([lo, hi]));
                        if bytes.len() != 12 + entry_len * count {
                            assert_eq!(got, FUSEBOX_BAD_SNAPSHOT);
                        } else if count > model.capacity {
                            assert_eq!(got, FUSEBOX_REGISTRY_FULL);
                        }
                    }
                    if got == FUSEBOX_OK {
                        assert_eq!(bytes.len(), 12 + entry_len * n);
                        // A forged but valid blob: find its breakers by name
                        // (entries start at 8, `entry_len` bytes each) and
                        // remove them.
                        for i in 0..n {
                            let entry = &bytes[8 + i * entry_len..];
                            let mut name = entry[1..1 + entry[0] as usize].to_vec();
                            // Names from a blob are never empty nor hold a
                            // NUL: each is found again by its C string.
                            assert!(!name.is_empty() && !name.contains(&0));
                            name.push(0);
                            let mut id = 0;
                            assert_eq!(
                                fusebox_lookup(name.as_ptr() as *const c_char, &mut id),
                                FUSEBOX_OK
                            );
                            assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
                        }
                    } else {
                        assert_eq!(n, 0xDEAD);
                    }
                }
                Op::SnapshotRoundTrip(t) => {
                    let id = resolve(t, &model);
                    let mut blob = vec![0u8; fusebox_snapshot_max()];
                    let mut len = 0;
                    let got = fusebox_snapshot(id, blob.as_mut_ptr(), blob.len(), &mut len);
                    let full = model.live().count() == model.capacity;
                    match model.breaker(id) {
                        Err(_) => assert_eq!(got, FUSEBOX_NOT_FOUND),
                        Ok(m) => {
                            assert_eq!((got, len), (FUSEBOX_OK, fusebox_snapshot_max()));
                            let cfg = fusebox_config {
                                failure_threshold: m.threshold,
                                reset_timeout_ms: m.timeout as u32,
                                half_open_max_calls: m.max_probes,
                                ..Default::default()
                            };
                            let mut twin = 0;
                            let st = fusebox_restore(
                                c"round-trip".as_ptr(),
                                &cfg,
                                blob.as_ptr(),
                                len,
                                &mut twin,
                            );
                            if full {
                                assert_eq!(st, FUSEBOX_REGISTRY_FULL);
                            } else {
                                // Same clock: the twin has the same stats and state.
                                assert_eq!(st, FUSEBOX_OK);
                                let mut a = core::mem::zeroed::<fusebox_stats>();
                                let mut b = core::mem::zeroed::<fusebox_stats>();
                                assert_eq!(fusebox_stats_get(id, &mut a), FUSEBOX_OK);
                                assert_eq!(fusebox_stats_get(twin, &mut b), FUSEBOX_OK);
                                // The failure time is carried as an age: on a
                                // clock behind it, both mean "re-base to now".
                                (a.last_failure_ms, b.last_failure_ms) = (0, 0);
                                // Probes in flight are released on restore.
                                assert_eq!(b.half_open_calls, 0);
                                a.half_open_calls = 0;
                                // The permits' generation is not in the
                                // format; the time in the current state is
                                // an age, re-based on a clock behind it.
                                for s in [&mut a, &mut b] {
                                    s.generation = 0;
                                    s.state_since_ms = 0;
                                }
                                assert_eq!(a, b);
                                let mut st = 99;
                                assert_eq!(fusebox_get_state(twin, &mut st), FUSEBOX_OK);
                                let mut twin_model = m.clone();
                                twin_model.probes = 0;
                                assert_eq!(st, state_code(twin_model.state(now)));
                                assert_eq!(fusebox_destroy(twin), FUSEBOX_OK);
                            }
                        }
                    }
                }
                Op::SnapshotAllRoundTrip => {
                    let mut buf = vec![0u8; fusebox_snapshot_all_max()];
                    let mut len = 0;
                    assert_eq!(
                        fusebox_snapshot_all(buf.as_mut_ptr(), buf.len(), &mut len),
                        FUSEBOX_OK
                    );
                    assert_eq!(
                        len,
                        12 + (32 + fusebox_snapshot_max()) * model.live().count()
                    );
                    let mut n = 0xDEAD;
                    let got = fusebox_restore_all(buf.as_ptr(), len, &mut n);
                    if model.live().count() == 0 {
                        assert_eq!((got, n), (FUSEBOX_OK, 0));
                    } else {
                        // Every name is in use: nothing may change.
                        assert_eq!((got, n), (FUSEBOX_NAME_TAKEN, 0xDEAD));
                    }
                }
            }
        }
        check_all(&model);
    }
    // Leave the global registry empty for the next input.
    for t in &model.tracked {
        if t.model.is_some() {
            assert_eq!(fusebox_destroy(t.id), FUSEBOX_OK);
        }
    }
});
