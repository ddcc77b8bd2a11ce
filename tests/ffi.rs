//! The C API called from Rust: NULLs, invalid and stale ids, names at and
//! past the limit, unterminated names. Also runs under Miri, which checks
//! that no call reads or writes out of bounds.
#![cfg(feature = "capi")]
use core::ffi::{c_char, c_void};
use core::ptr::{null, null_mut};
use fusebox::ffi::*;
use std::sync::{Mutex, MutexGuard};

/// The C API has one global registry: these tests take turns.
static TURN: Mutex<()> = Mutex::new(());
static mut NOW: u64 = 0;

unsafe extern "C" fn clock(userdata: *mut c_void) -> u64 {
    unsafe { *(userdata as *const u64) }
}

fn setup() -> MutexGuard<'static, ()> {
    let guard = TURN.lock().unwrap_or_else(|e| e.into_inner());
    unsafe {
        NOW = 1_000;
        assert_eq!(
            fusebox_set_clock(Some(clock), (&raw mut NOW).cast()),
            FUSEBOX_OK
        );
    }
    guard
}

fn set_now(ms: u64) {
    unsafe { NOW = ms }
}

fn cfg(threshold: u32, timeout: u32, probes: u32) -> fusebox_config {
    fusebox_config {
        failure_threshold: threshold,
        reset_timeout_ms: timeout,
        half_open_max_calls: probes,
        ..Default::default()
    }
}

fn create(name: &core::ffi::CStr, c: &fusebox_config) -> fusebox_id {
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(name.as_ptr(), c, &mut id) },
        FUSEBOX_OK
    );
    id
}

#[test]
fn null_pointers_are_refused_and_outputs_untouched() {
    let _t = setup();
    let id = create(c"ffi-null", &cfg(1, 10, 1));
    let mut out_id = 99;
    unsafe {
        assert_eq!(
            fusebox_create(null(), null(), &mut out_id),
            FUSEBOX_NULL_PARAMETER
        );
        assert_eq!(
            fusebox_create(c"x".as_ptr(), null(), null_mut()),
            FUSEBOX_NULL_PARAMETER
        );
        assert_eq!(fusebox_lookup(null(), &mut out_id), FUSEBOX_NULL_PARAMETER);
        assert_eq!(
            fusebox_lookup(c"ffi-null".as_ptr(), null_mut()),
            FUSEBOX_NULL_PARAMETER
        );
        assert_eq!(fusebox_get_state(id, null_mut()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(fusebox_allow_call(id, null_mut()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(fusebox_stats_get(id, null_mut()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(fusebox_now_ms(null_mut()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(
            fusebox_call(id, None, null_mut(), &mut 0),
            FUSEBOX_NULL_PARAMETER
        );
        fusebox_config_init(null_mut());
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
    assert_eq!(out_id, 99);
}

#[test]
fn names_at_and_past_the_limit() {
    let _t = setup();
    let mut id = 0;
    // 31 bytes + NUL: accepted. 32 bytes + NUL: refused.
    let mut n31 = [b'a' as c_char; 32];
    n31[31] = 0;
    let mut n32 = [b'b' as c_char; 33];
    n32[32] = 0;
    // Exactly 32 readable bytes, none NUL: refused without reading past them.
    let unterminated = [b'c' as c_char; 32];
    let empty = [0 as c_char; 1];
    unsafe {
        assert_eq!(
            fusebox_create(n32.as_ptr(), null(), &mut id),
            FUSEBOX_INVALID_NAME
        );
        assert_eq!(
            fusebox_create(unterminated.as_ptr(), null(), &mut id),
            FUSEBOX_INVALID_NAME
        );
        assert_eq!(
            fusebox_lookup(unterminated.as_ptr(), &mut id),
            FUSEBOX_INVALID_NAME
        );
        assert_eq!(
            fusebox_create(empty.as_ptr(), null(), &mut id),
            FUSEBOX_INVALID_NAME
        );
        assert_eq!(fusebox_create(n31.as_ptr(), null(), &mut id), FUSEBOX_OK);
        let mut found = 0;
        assert_eq!(fusebox_lookup(n31.as_ptr(), &mut found), FUSEBOX_OK);
        assert_eq!(found, id);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
        // A short name in a buffer exactly its size (+NUL) is fine.
        let short = [b'z' as c_char, 0];
        assert_eq!(fusebox_create(short.as_ptr(), null(), &mut id), FUSEBOX_OK);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
}

#[test]
fn invalid_config_and_stale_ids() {
    let _t = setup();
    let mut id = 7;
    unsafe {
        for bad in [cfg(0, 1, 1), cfg(1, 0, 1), cfg(1, 1, 0)] {
            assert_eq!(
                fusebox_create(c"ffi-bad".as_ptr(), &bad, &mut id),
                FUSEBOX_INVALID_CONFIG
            );
        }
        assert_eq!(id, 7);
        let old = create(c"ffi-stale", &cfg(1, 10, 1));
        assert_eq!(fusebox_destroy(old), FUSEBOX_OK);
        let new = create(c"ffi-stale", &cfg(1, 10, 1));
        assert_ne!(old, new);
        assert_eq!(fusebox_record_failure(old), FUSEBOX_NOT_FOUND);
        assert_eq!(fusebox_try_acquire(old), FUSEBOX_NOT_FOUND);
        for forged in [
            0,
            u64::MAX,
            new ^ 1,
            new.wrapping_add(1 << 12),
            new ^ (1 << 40),
        ] {
            assert_eq!(fusebox_reset(forged), FUSEBOX_NOT_FOUND);
        }
        let mut s = core::mem::zeroed::<fusebox_stats>();
        assert_eq!(fusebox_stats_get(new, &mut s), FUSEBOX_OK);
        assert_eq!((s.failure_count, s.state), (0, FUSEBOX_STATE_CLOSED));
        assert_eq!(fusebox_destroy(new), FUSEBOX_OK);
    }
}

unsafe extern "C" fn count_and_fail(userdata: *mut c_void) -> i32 {
    unsafe { *(userdata as *mut i32) += 1 };
    -5
}

#[test]
fn call_runs_records_and_rejects() {
    let _t = setup();
    let id = create(c"ffi-call", &cfg(1, 100, 1));
    let mut runs = 0i32;
    let mut result = 0;
    unsafe {
        let ud = (&raw mut runs).cast();
        assert_eq!(
            fusebox_call(id, Some(count_and_fail), ud, &mut result),
            FUSEBOX_OK
        );
        assert_eq!(result, -5);
        result = 11;
        assert_eq!(
            fusebox_call(id, Some(count_and_fail), ud, &mut result),
            FUSEBOX_CIRCUIT_OPEN
        );
        assert_eq!(result, 11);
        set_now(1_100);
        let mut st = 9;
        assert_eq!(fusebox_get_state(id, &mut st), FUSEBOX_OK);
        assert_eq!(st, FUSEBOX_STATE_HALF_OPEN);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
    assert_eq!(runs, 1);
}

#[test]
fn status_and_state_strings_are_static_and_never_null() {
    for code in (0..=12).chain([u32::MAX]) {
        let s = unsafe { core::ffi::CStr::from_ptr(fusebox_status_str(code)) };
        assert!(!s.to_bytes().is_empty());
        let s = unsafe { core::ffi::CStr::from_ptr(fusebox_state_str(code)) };
        assert!(!s.to_bytes().is_empty());
    }
    assert!(fusebox_capacity() >= 1);
}

/// Every status's and state's text, as the header documents them (the
/// texts are kept as one block with byte offsets: each must come out whole).
#[test]
fn status_and_state_strings_are_each_codes_own() {
    let status = [
        "ok",
        "circuit open",
        "null parameter",
        "invalid config",
        "invalid name",
        "name taken",
        "registry full",
        "not found",
        "no clock set",
        "registry busy",
        "buffer too small",
        "bad snapshot",
        "unsupported snapshot version",
        "config mismatch",
        "unsupported",
        "stale permit",
        "invalid registry memory",
        "registry layout mismatch",
    ];
    let text = |p: *const core::ffi::c_char| unsafe { core::ffi::CStr::from_ptr(p) }.to_str();
    for (code, want) in (0..).zip(status) {
        assert_eq!(text(fusebox_status_str(code)), Ok(want), "status {code}");
    }
    for code in [18, 19, 255, 256, 1000, u32::MAX] {
        assert_eq!(text(fusebox_status_str(code)), Ok("unknown status"));
    }
    let state = [
        "closed",
        "open",
        "half_open",
        "forced_open",
        "disabled",
        "metrics_only",
    ];
    for (code, want) in (0..).zip(state) {
        assert_eq!(text(fusebox_state_str(code)), Ok(want), "state {code}");
    }
    for code in [6, 7, 255, 256, u32::MAX] {
        assert_eq!(text(fusebox_state_str(code)), Ok("unknown state"));
    }
}

#[test]
fn snapshot_buffers_and_lengths_are_written_only_on_ok() {
    const PATTERN: u8 = 0xA5;
    let _t = setup();
    let a = create(c"ffi-snap-a", &cfg(1, 100, 1));
    let b = create(c"ffi-snap-b", &cfg(2, 100, 1));
    let need = 12 + 2 * (32 + fusebox_snapshot_max());
    // The header's size is this build's at the default window limits.
    if fusebox::MAX_WINDOW_CALLS == 64 && fusebox::MAX_BUCKETS == 8 {
        assert_eq!(fusebox_snapshot_max(), FUSEBOX_SNAPSHOT_MAX);
    }
    assert_eq!(fusebox_snapshot_max(), fusebox::SNAPSHOT_LEN);
    let mut buf = vec![PATTERN; fusebox_snapshot_all_max() + 1];
    let mut len = usize::MAX;
    unsafe {
        for short in [0, 11, 12, need - 1] {
            assert_eq!(
                fusebox_snapshot_all(buf.as_mut_ptr(), short, &mut len),
                FUSEBOX_BUFFER_TOO_SMALL
            );
            assert_eq!(
                fusebox_snapshot(
                    a,
                    buf.as_mut_ptr(),
                    short.min(fusebox_snapshot_max() - 1),
                    &mut len
                ),
                FUSEBOX_BUFFER_TOO_SMALL
            );
        }
        assert!(buf.iter().all(|&x| x == PATTERN) && len == usize::MAX);
        let _ = b;
        assert_eq!(
            fusebox_snapshot_all(buf.as_mut_ptr(), buf.len(), &mut len),
            FUSEBOX_OK
        );
        assert_eq!(len, need);
        assert!(buf[need..].iter().all(|&x| x == PATTERN));

        // Restores read exactly the blob: not one byte more.
        let mut n = usize::MAX;
        assert_eq!(fusebox_destroy(a), FUSEBOX_OK);
        assert_eq!(fusebox_destroy(b), FUSEBOX_OK);
        assert_eq!(
            fusebox_restore_all(buf.as_ptr(), need + 1, &mut n),
            FUSEBOX_BAD_SNAPSHOT
        );
        assert_eq!(n, usize::MAX);
        assert_eq!(fusebox_restore_all(buf.as_ptr(), need, &mut n), FUSEBOX_OK);
        assert_eq!(n, 2);
        let mut one = vec![PATTERN; fusebox_snapshot_max() + 1];
        let mut id = 0xDEAD;
        assert_eq!(fusebox_lookup(c"ffi-snap-a".as_ptr(), &mut id), FUSEBOX_OK);
        assert_eq!(
            fusebox_snapshot(id, one.as_mut_ptr(), one.len(), &mut len),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
        let (c, mut out) = (cfg(1, 100, 1), 0xDEAD);
        let name = c"ffi-snap-a".as_ptr();
        assert_eq!(
            fusebox_restore(name, &c, one.as_ptr(), len + 1, &mut out),
            FUSEBOX_BAD_SNAPSHOT
        );
        assert_eq!(out, 0xDEAD);
        assert_eq!(
            fusebox_restore(name, &c, one.as_ptr(), len, &mut out),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_destroy(out), FUSEBOX_OK);
        assert_eq!(fusebox_lookup(c"ffi-snap-b".as_ptr(), &mut id), FUSEBOX_OK);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
}

#[test]
fn the_version_is_cargo_tomls_in_the_header_and_at_run_time() {
    let part = |s: &str| s.parse::<u32>().unwrap();
    assert_eq!(FUSEBOX_VERSION_MAJOR, part(env!("CARGO_PKG_VERSION_MAJOR")));
    assert_eq!(FUSEBOX_VERSION_MINOR, part(env!("CARGO_PKG_VERSION_MINOR")));
    assert_eq!(FUSEBOX_VERSION_PATCH, part(env!("CARGO_PKG_VERSION_PATCH")));
    assert_eq!(fusebox_version(), FUSEBOX_VERSION);
    assert_eq!(
        FUSEBOX_VERSION,
        FUSEBOX_VERSION_MAJOR << 16 | FUSEBOX_VERSION_MINOR << 8 | FUSEBOX_VERSION_PATCH
    );
}

#[test]
fn config_init_writes_every_field_of_snakepits_defaults() {
    let mut c = core::mem::MaybeUninit::<fusebox_config>::uninit();
    let c = unsafe {
        c.as_mut_ptr().write_bytes(0xA5, 1);
        fusebox_config_init(c.as_mut_ptr());
        c.assume_init()
    };
    let (d, p) = (fusebox::Config::SNAKEPIT, fusebox::Policy::SNAKEPIT);
    let want = fusebox_config {
        failure_threshold: d.failure_threshold,
        reset_timeout_ms: d.reset_timeout_ms,
        half_open_max_calls: d.half_open_max_calls,
        trip_rule: FUSEBOX_TRIP_CUMULATIVE,
        window_kind: FUSEBOX_WINDOW_COUNT,
        window_size: p.window_size,
        bucket_ms: p.bucket_ms,
        minimum_calls: p.minimum_calls,
        failure_rate_percent: p.failure_rate_percent,
        slow_call_ms: 0,
        slow_call_rate_percent: p.slow_call_rate_percent,
        half_open_success_threshold: p.half_open_success_threshold,
        half_open_max_wait_ms: 0,
        half_open_wait_action: FUSEBOX_WAIT_RELEASE_PROBES,
        half_open_judge: FUSEBOX_JUDGE_FIRST_FAILURE,
        backoff_percent: p.backoff_percent,
        max_open_ms: 0,
        jitter_percent: 0,
        jitter_seed: 0,
    };
    assert_eq!(c, want);
    assert_eq!(c, fusebox_config::default());
}

/// The variable clocks: `fusebox_set_clock_var32` reads a wrapping 32-bit
/// variable and extends it across the wrap; breakers time out on it.
#[test]
fn var32_clock_reads_the_variable_and_extends_it_across_the_wrap() {
    let _t = setup();
    static mut TICK: u32 = u32::MAX - 50;
    let tick = &raw mut TICK;
    let mut now = 0u64;
    unsafe {
        assert_eq!(
            fusebox_set_clock_var32(tick.cast_const().cast()),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, u64::from(u32::MAX - 50));
        let id = create(c"ffi-var32", &cfg(1, 100, 1));
        assert_eq!(fusebox_record_failure(id), FUSEBOX_OK);
        let mut st = 9;
        assert_eq!(fusebox_get_state(id, &mut st), FUSEBOX_OK);
        assert_eq!(st, FUSEBOX_STATE_OPEN);
        // Across the wrap: 99 ms later, still open; 100 ms, half-open.
        *tick = 48;
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, u64::from(u32::MAX) + 49);
        assert_eq!(fusebox_get_state(id, &mut st), FUSEBOX_OK);
        assert_eq!(st, FUSEBOX_STATE_OPEN);
        *tick = 49;
        assert_eq!(fusebox_get_state(id, &mut st), FUSEBOX_OK);
        assert_eq!(st, FUSEBOX_STATE_HALF_OPEN);
        // A reading behind the last one is in the past; time does not move.
        *tick = 10;
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, u64::from(u32::MAX) + 11);
        *tick = 60;
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, u64::from(u32::MAX) + 61);
        assert_eq!(fusebox_destroy(id), FUSEBOX_OK);
    }
}

/// `fusebox_set_clock_var64` reads a 64-bit variable as is; a NULL
/// variable is refused and the clock kept; a new variable starts its own
/// extension (its first reading is taken as is).
#[test]
fn var64_clock_null_variables_and_replacing_variables() {
    let _t = setup();
    static mut TICK64: u64 = 1 << 40;
    static mut TICK32: u32 = 0xFFFF_FFF0;
    let mut now = 0u64;
    unsafe {
        assert_eq!(
            fusebox_set_clock_var64((&raw const TICK64).cast()),
            FUSEBOX_OK
        );
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, 1 << 40);
        TICK64 = (1 << 40) + 0x1_0000_0001;
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, (1 << 40) + 0x1_0000_0001);
        assert_eq!(fusebox_set_clock_var64(null()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(fusebox_set_clock_var32(null()), FUSEBOX_NULL_PARAMETER);
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, (1 << 40) + 0x1_0000_0001, "the clock is kept");
        // The same 32-bit variable twice: each setting starts afresh.
        for _ in 0..2 {
            assert_eq!(
                fusebox_set_clock_var32((&raw const TICK32).cast()),
                FUSEBOX_OK
            );
            TICK32 = 0xFFFF_FFF0;
            assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
            assert_eq!(now, 0xFFFF_FFF0);
            TICK32 = 5;
            assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
            assert_eq!(now, 0x1_0000_0005);
        }
        // Replaced by a callback: the variable no longer counts.
        set_now(77);
        assert_eq!(
            fusebox_set_clock(Some(clock), (&raw mut NOW).cast()),
            FUSEBOX_OK
        );
        TICK32 = 9;
        assert_eq!(fusebox_now_ms(&mut now), FUSEBOX_OK);
        assert_eq!(now, 77);
    }
}
