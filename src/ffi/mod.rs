//! The C API: `extern "C"` functions over one global registry.
//!
//! Conventions (those of rustls-ffi and hyper's C API): every name has the
//! `fusebox_` prefix; every function returns a [`fusebox_status`]; outputs go
//! through out-parameters and caller's buffers, written only when the
//! status is `FUSEBOX_OK` (every check comes first); a NULL pointer is
//! `FUSEBOX_NULL_PARAMETER`; codes from C are plain
//! `uint32_t`, never Rust enums. No exported function can panic.
//!
//! Each exported function is thin: it checks its pointers, converts its
//! arguments, calls [`Registry`], and converts the answer back. The
//! admission and call logic lives once, in the registry; the C clock is a
//! [`Clock`](crate::Clock) the registry reads only when the time matters.
//! Files by job: `types.rs` (what cbindgen reads: codes, structs,
//! callbacks), `clock.rs` (the clock's publication and reading),
//! `convert.rs` (status, config, stats), `macros.rs` (the pointer
//! plumbing), `snapshot.rs`, `policy.rs` and `metrics.rs` (names, the
//! walk and the exposition), and this
//! file, the core functions.
#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

use core::ffi::{c_char, c_void};

use crate::{Id, Registry, RegistryInner, Storage};

#[macro_use]
mod macros;
mod clock;
mod convert;
#[cfg(feature = "std")]
mod host_clock;
mod metrics;
mod policy;
mod registry;
mod snapshot;
mod strings;
mod types;

use clock::{clock, now_ms, with_time};
use convert::{call_result, config_or_default, to_status, write_c_stats};
use strings::{text_len, Texts};

pub use clock::{
    fusebox_now_ms, fusebox_set_clock, fusebox_set_clock32, fusebox_set_clock_var32,
    fusebox_set_clock_var64, fusebox_volatile_u32, fusebox_volatile_u64,
};
pub use convert::status_of;
pub use metrics::*;
pub use policy::*;
pub use registry::*;
pub use snapshot::*;
pub use types::*;

mod capacity {
    include!(concat!(env!("OUT_DIR"), "/capacity.rs"));
}

static REGISTRY: Registry<{ capacity::CAPACITY }> = Registry::new();

/// Fills `cfg` with Snakepit's defaults: 5 failures, 30000 ms, 1 probe.
/// Does nothing when `cfg` is NULL.
///
/// # Safety
/// `cfg` is NULL or points to a writable `fusebox_config`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_config_init(cfg: *mut fusebox_config) {
    if !cfg.is_null() {
        // SAFETY: non-NULL; writable by the caller's contract.
        unsafe { convert::write_default_config(cfg) };
    }
}

/// Creates a closed breaker named `name` (1 to `FUSEBOX_NAME_MAX` bytes,
/// NUL-terminated, any bytes) with `cfg`, or Snakepit's defaults when `cfg`
/// is NULL, and writes its id to `*out_id`.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_INVALID_NAME`,
/// `FUSEBOX_INVALID_CONFIG`, `FUSEBOX_NAME_TAKEN`, `FUSEBOX_REGISTRY_FULL`,
/// `FUSEBOX_BUSY` (another create, destroy or restore in progress, on
/// firmware or on this thread: see `FUSEBOX_BUSY`); the registry is
/// unchanged by an error. Names are compared with interrupts enabled.
///
/// # Safety
/// `name` is NULL or readable up to its NUL or `FUSEBOX_NAME_MAX + 1` bytes;
/// `cfg` is NULL or valid; `out_id` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_create(
    name: *const c_char,
    cfg: *const fusebox_config,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { create_in(&REGISTRY, name, cfg, out_id) }
}

/// `fusebox_create` in `r`.
///
/// # Safety
/// As `fusebox_create`.
#[inline(always)]
unsafe fn create_in(
    r: &RegistryInner<impl Storage>,
    name: *const c_char,
    cfg: *const fusebox_config,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    non_null!(name, out_id);
    let name = try_name!(name);
    // SAFETY: NULL or valid, by the caller's contract.
    let config = try_status!(unsafe { config_or_default(cfg) });
    let id = r.create(name, config).map_err(status_of);
    out_result!(out_id, id.map(Id::to_raw))
}

/// Finds the breaker named `name` and writes its id to `*out_id`. Takes
/// no lock and masks no interrupt. Run during a create or destroy of the
/// same name, it answers as if it ran just before or just after it: an id
/// found during a destroy may already be stale (`FUSEBOX_NOT_FOUND` from
/// its operations).
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_INVALID_NAME`,
/// `FUSEBOX_NOT_FOUND`.
///
/// # Safety
/// As `fusebox_create`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_lookup(
    name: *const c_char,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { lookup_in(&REGISTRY, name, out_id) }
}

/// `fusebox_lookup` in `r`.
///
/// # Safety
/// As `fusebox_lookup`.
#[inline(always)]
unsafe fn lookup_in(
    r: &RegistryInner<impl Storage>,
    name: *const c_char,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    non_null!(name, out_id);
    let name = try_name!(name);
    let id = r.lookup(name).map_err(status_of);
    out_result!(out_id, id.map(Id::to_raw))
}

/// Destroys a breaker: its slot is free and its id (every copy) is stale.
///
/// Errors: `FUSEBOX_NOT_FOUND` (unknown or stale id), `FUSEBOX_BUSY` (as
/// for `fusebox_create`, and, on firmware with policies, while a function
/// on this breaker is in progress in a context this call preempted or on
/// another core: the breaker stays).
#[no_mangle]
pub extern "C" fn fusebox_destroy(id: fusebox_id) -> fusebox_status {
    destroy_in(&REGISTRY, id)
}

/// `fusebox_destroy` in `r`.
#[inline(always)]
fn destroy_in(r: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    to_status(r.remove(Id::from_raw(id)))
}

/// Writes the current state to `*out_state`, first moving an open breaker
/// whose timeout has run out to half-open.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_state` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_get_state(
    id: fusebox_id,
    out_state: *mut fusebox_state,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { get_state_in(&REGISTRY, id, out_state) }
}

/// `fusebox_get_state` in `r`.
///
/// # Safety
/// As `fusebox_get_state`.
#[inline(always)]
unsafe fn get_state_in(
    r: &RegistryInner<impl Storage>,
    id: fusebox_id,
    out_state: *mut fusebox_state,
) -> fusebox_status {
    non_null!(out_state);
    let state = with_time(|now| r.state(Id::from_raw(id), now));
    out_result!(out_state, state.map(|s| s.code()))
}

/// Writes whether a call would be admitted now to `*out_allowed`. A pure
/// check: it reserves no half-open probe.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_allowed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_allow_call(
    id: fusebox_id,
    out_allowed: *mut bool,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { allow_call_in(&REGISTRY, id, out_allowed) }
}

/// `fusebox_allow_call` in `r`.
///
/// # Safety
/// As `fusebox_allow_call`.
#[inline(always)]
unsafe fn allow_call_in(
    r: &RegistryInner<impl Storage>,
    id: fusebox_id,
    out_allowed: *mut bool,
) -> fusebox_status {
    non_null!(out_allowed);
    out_result!(
        out_allowed,
        with_time(|now| r.allow_call(Id::from_raw(id), now))
    )
}

// The three hot functions (`fusebox_try_acquire`, `fusebox_record_success`,
// `fusebox_call`): on hosts, the registry's closed fast path inlines into
// them, with no stack frame, and the rest is a call out of line.

/// Admits a call (`FUSEBOX_OK`) or rejects it (`FUSEBOX_CIRCUIT_OPEN`). In
/// half-open each admission takes one of the `half_open_max_calls` probes.
/// Report the outcome with `fusebox_record_success`/`_failure`. May read
/// the clock: a closed breaker's admission reads none unless it measures
/// slow calls. On firmware with policies, `FUSEBOX_BUSY` while another
/// context's function on this breaker is in progress, unless the fast
/// rejection answers (see the header's summary).
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_try_acquire(id: fusebox_id) -> fusebox_status {
    try_acquire_in(&REGISTRY, id)
}

/// `fusebox_try_acquire` in `r`.
#[inline(always)]
fn try_acquire_in(r: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    let clock = try_status!(clock());
    to_status(r.try_acquire_with(Id::from_raw(id), &clock).map(|_| ()))
}

/// Records a success: in half-open it closes the breaker.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_record_success(id: fusebox_id) -> fusebox_status {
    record_success_in(&REGISTRY, id)
}

/// `fusebox_record_success` in `r`.
#[inline(always)]
fn record_success_in(r: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    let clock = try_status!(clock());
    to_status(r.record_success_with(Id::from_raw(id), &clock))
}

/// Records a failure: it may open (or reopen) the breaker.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_record_failure(id: fusebox_id) -> fusebox_status {
    record_failure_in(&REGISTRY, id)
}

/// `fusebox_record_failure` in `r`.
#[inline(always)]
fn record_failure_in(r: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    let clock = try_status!(clock());
    to_status(r.record_failure_with(Id::from_raw(id), &clock))
}

/// Runs `op(userdata)` through the breaker. Rejected: returns
/// `FUSEBOX_CIRCUIT_OPEN` (or `FUSEBOX_NOT_FOUND`, or, on firmware with
/// policies, `FUSEBOX_BUSY`: see the header's summary) and `op` does not
/// run.
/// Admitted: `op` runs outside every critical section, its return value is
/// recorded (0 success, anything else failure) and written to `*out_result`,
/// and the status is `FUSEBOX_OK`. If the breaker is destroyed while `op`
/// runs, the outcome is dropped and the status is still `FUSEBOX_OK`; so it
/// is, on firmware with policies, when recording it finds the breaker in
/// another context's function (possible when `op` let another task or
/// core use the breaker, never from an interrupt handler that preempted
/// `op`): a half-open probe's outcome then stays in flight. A
/// breaker that measures slow calls times `op` through a permit, like
/// `fusebox_call_classified`: a result that arrives after the breaker moved
/// on only counts in `stale_count`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_result` is NULL or writable; `op` is safe to call with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_call(
    id: fusebox_id,
    op: fusebox_op_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { call_in(&REGISTRY, id, op, userdata, out_result) }
}

/// `fusebox_call` in `reg`.
///
/// # Safety
/// As `fusebox_call`.
#[inline(always)]
unsafe fn call_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    op: fusebox_op_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    let op = try_fn!(op);
    non_null!(out_result);
    let clock = try_status!(clock());
    let r = reg.call(Id::from_raw(id), &clock, || {
        // SAFETY: the caller vouches for `op(userdata)`.
        match unsafe { op(userdata) } {
            0 => Ok(()),
            failed => Err(failed),
        }
    });
    out_result!(out_result, call_result(r))
}

/// Resets a breaker: closed, failure and probe counts 0, last failure time
/// cleared; the success count is kept.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_reset(id: fusebox_id) -> fusebox_status {
    reset_in(&REGISTRY, id)
}

/// `fusebox_reset` in `r`.
#[inline(always)]
fn reset_in(r: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    to_status(r.reset(Id::from_raw(id)))
}

/// Writes a breaker's counters to `*out_stats`. Does not move the state.
///
/// The rate window's figures (`window_calls`, `window_failures`,
/// `window_slow`) are as of now: a time window leaves out the buckets that
/// have expired since its last record, without waiting for a call. For
/// that, a breaker with a time window reads the clock (the clock callback
/// runs, outside every lock: do not call this for such a breaker from
/// inside the clock); any other breaker's stats read no clock. Before a
/// clock is set (firmware) the figures are those of the last record.
///
/// # Safety
/// `out_stats` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_stats_get(
    id: fusebox_id,
    out_stats: *mut fusebox_stats,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { stats_get_in(&REGISTRY, id, out_stats) }
}

/// `fusebox_stats_get` in `r`.
///
/// # Safety
/// As `fusebox_stats_get`.
#[inline(always)]
unsafe fn stats_get_in(
    r: &RegistryInner<impl Storage>,
    id: fusebox_id,
    out_stats: *mut fusebox_stats,
) -> fusebox_status {
    non_null!(out_stats);
    let mut s = core::mem::MaybeUninit::uninit();
    let read = r.stats_into(Id::from_raw(id), || now_ms().ok(), &mut s);
    if read.is_ok() {
        // SAFETY: `stats_into` wrote `s` (it answered `Ok`); `out_stats`
        // is non-NULL (checked) and writable by this function's contract:
        // written on success only.
        unsafe { write_c_stats(s.assume_init_ref(), out_stats) };
    }
    to_status(read)
}

/// A static, NUL-terminated description of `status`; never NULL
/// ("unknown status" for codes fusebox does not define).
#[no_mangle]
pub extern "C" fn fusebox_status_str(status: fusebox_status) -> *const c_char {
    STATUS_TEXTS.get(status)
}

/// The texts of `fusebox_status_str`, in code order.
static STATUS_TEXTS: Texts<18, { text_len(&STATUSES, UNKNOWN_STATUS) }> =
    Texts::new(&STATUSES, UNKNOWN_STATUS);

const STATUSES: [(fusebox_status, &core::ffi::CStr); 18] = [
    (FUSEBOX_OK, c"ok"),
    (FUSEBOX_CIRCUIT_OPEN, c"circuit open"),
    (FUSEBOX_NULL_PARAMETER, c"null parameter"),
    (FUSEBOX_INVALID_CONFIG, c"invalid config"),
    (FUSEBOX_INVALID_NAME, c"invalid name"),
    (FUSEBOX_NAME_TAKEN, c"name taken"),
    (FUSEBOX_REGISTRY_FULL, c"registry full"),
    (FUSEBOX_NOT_FOUND, c"not found"),
    (FUSEBOX_NO_CLOCK, c"no clock set"),
    (FUSEBOX_BUSY, c"registry busy"),
    (FUSEBOX_BUFFER_TOO_SMALL, c"buffer too small"),
    (FUSEBOX_BAD_SNAPSHOT, c"bad snapshot"),
    (
        FUSEBOX_SNAPSHOT_VERSION_MISMATCH,
        c"unsupported snapshot version",
    ),
    (FUSEBOX_CONFIG_MISMATCH, c"config mismatch"),
    (FUSEBOX_UNSUPPORTED, c"unsupported"),
    (FUSEBOX_STALE_PERMIT, c"stale permit"),
    (FUSEBOX_INVALID_MEMORY, c"invalid registry memory"),
    (FUSEBOX_LAYOUT_MISMATCH, c"registry layout mismatch"),
];
const UNKNOWN_STATUS: &core::ffi::CStr = c"unknown status";

/// A static, NUL-terminated name of `state` ("closed", "open",
/// "half_open", "forced_open", "disabled", "metrics_only"); "unknown
/// state" for other codes. Never NULL.
#[no_mangle]
pub extern "C" fn fusebox_state_str(state: fusebox_state) -> *const c_char {
    STATE_TEXTS.get(state)
}

/// The texts of `fusebox_state_str`, in code order.
static STATE_TEXTS: Texts<6, { text_len(&STATES, UNKNOWN_STATE) }> =
    Texts::new(&STATES, UNKNOWN_STATE);

const STATES: [(fusebox_state, &core::ffi::CStr); 6] = [
    (FUSEBOX_STATE_CLOSED, c"closed"),
    (FUSEBOX_STATE_OPEN, c"open"),
    (FUSEBOX_STATE_HALF_OPEN, c"half_open"),
    (FUSEBOX_STATE_FORCED_OPEN, c"forced_open"),
    (FUSEBOX_STATE_DISABLED, c"disabled"),
    (FUSEBOX_STATE_METRICS_ONLY, c"metrics_only"),
];
const UNKNOWN_STATE: &core::ffi::CStr = c"unknown state";

/// The version of the library linked, `MAJOR << 16 | MINOR << 8 | PATCH`:
/// compare it with the header's `FUSEBOX_VERSION` to catch a program built
/// against another header (before 1.0, another minor version is another
/// ABI: docs/abi.md).
#[no_mangle]
pub extern "C" fn fusebox_version() -> u32 {
    FUSEBOX_VERSION
}

/// Slots in the global registry, fixed at build time (`FUSEBOX_CAPACITY`,
/// default 16).
#[no_mangle]
pub extern "C" fn fusebox_capacity() -> usize {
    capacity::CAPACITY
}

/// The largest `window_size` of a count window (`FUSEBOX_WINDOW_COUNT`),
/// fixed at build time (`FUSEBOX_MAX_WINDOW_CALLS`, 1..=1024, default 64).
/// A library built without policies reports it too, though it accepts no
/// window but `fusebox_config_init`'s.
#[no_mangle]
pub extern "C" fn fusebox_max_window_calls() -> u32 {
    crate::MAX_WINDOW_CALLS
}

/// The largest `window_size` of a time window (`FUSEBOX_WINDOW_TIME`), in
/// buckets, fixed at build time (`FUSEBOX_MAX_BUCKETS`, 1..=60, default
/// 8). A library built without policies reports it too.
#[no_mangle]
pub extern "C" fn fusebox_max_buckets() -> u32 {
    crate::MAX_BUCKETS
}
