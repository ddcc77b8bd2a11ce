//! The C API: `extern "C"` functions over one global registry.
//!
//! Conventions (those of rustls-ffi and hyper's C API): every name has the
//! `fusebox_` prefix; every function returns a [`fusebox_status`]; outputs go
//! through out-parameters, written only when the status is `FUSEBOX_OK`; a
//! NULL pointer is `FUSEBOX_NULL_PARAMETER`; codes from C are plain
//! `uint32_t`, never Rust enums. No exported function can panic.
#![allow(non_camel_case_types)]
#![allow(unsafe_code)]

use core::cell::Cell;
use core::ffi::{c_char, c_void};
use critical_section::Mutex;

use crate::{Config, Error, Id, Policy, Registry, Stats, Tick32State, NAME_MAX};
#[cfg(feature = "policies")]
use crate::{TripRule, WaitAction, WindowKind};

mod policy;
pub use policy::*;

mod capacity {
    include!(concat!(env!("OUT_DIR"), "/capacity.rs"));
}

/// A status code: `FUSEBOX_OK` (0) or one of the `FUSEBOX_*` errors.
pub type fusebox_status = u32;
/// A breaker state: `FUSEBOX_STATE_CLOSED`, `_OPEN`, `_HALF_OPEN`, or a
/// manual one (`_FORCED_OPEN`, `_DISABLED`, `_METRICS_ONLY`).
pub type fusebox_state = u32;
/// How a finished call counts: `FUSEBOX_OUTCOME_SUCCESS`, `_FAILURE` or
/// `_IGNORED`.
pub type fusebox_outcome = u32;
/// Why a breaker changed state: one of the `FUSEBOX_REASON_*` codes.
pub type fusebox_reason = u32;
/// A breaker handle. 0 is never a valid id; the id of a destroyed breaker is
/// refused with `FUSEBOX_NOT_FOUND`, never reaching a later breaker.
pub type fusebox_id = u32;

/// Success.
pub const FUSEBOX_OK: fusebox_status = 0;
/// The breaker rejected the call (open, or half-open with every probe taken).
pub const FUSEBOX_CIRCUIT_OPEN: fusebox_status = 1;
/// A required pointer argument was NULL.
pub const FUSEBOX_NULL_PARAMETER: fusebox_status = 2;
/// A config field is 0 (every field must be at least 1).
pub const FUSEBOX_INVALID_CONFIG: fusebox_status = 3;
/// A name is empty or has no NUL within `FUSEBOX_NAME_MAX + 1` bytes.
pub const FUSEBOX_INVALID_NAME: fusebox_status = 4;
/// A breaker with this name already exists.
pub const FUSEBOX_NAME_TAKEN: fusebox_status = 5;
/// Every slot of the registry is in use (`fusebox_capacity()`).
pub const FUSEBOX_REGISTRY_FULL: fusebox_status = 6;
/// No breaker has this id (destroyed, never created or forged) or name.
pub const FUSEBOX_NOT_FOUND: fusebox_status = 7;
/// No clock is set (builds without `std`): call `fusebox_set_clock` first.
pub const FUSEBOX_NO_CLOCK: fusebox_status = 8;
/// The registry was re-entered from inside its own bookkeeping; the API
/// cannot produce this, it is reported instead of crashing.
pub const FUSEBOX_BUSY: fusebox_status = 9;

/// A snapshot does not fit in the buffer given (`FUSEBOX_SNAPSHOT_MAX`,
/// `fusebox_snapshot_all_max()`).
pub const FUSEBOX_BUFFER_TOO_SMALL: fusebox_status = 10;
/// A snapshot blob is truncated, has the wrong magic, a bad CRC, or
/// counters no breaker could have.
pub const FUSEBOX_BAD_SNAPSHOT: fusebox_status = 11;
/// A snapshot blob has a format version this build does not read.
pub const FUSEBOX_SNAPSHOT_VERSION: fusebox_status = 12;
/// The config given to `fusebox_restore` differs from the snapshot's.
pub const FUSEBOX_CONFIG_MISMATCH: fusebox_status = 13;
/// This build cannot do it: a policy field or function in a build without
/// the `policies` feature, or a snapshot of a breaker with a non-default
/// policy or in a manual state.
pub const FUSEBOX_UNSUPPORTED: fusebox_status = 14;
/// `fusebox_complete` with a permit from an earlier generation: the breaker
/// changed state (or was reset, or released its probes) since it was
/// handed out. Nothing was recorded; `stale_count` grew.
pub const FUSEBOX_STALE_PERMIT: fusebox_status = 15;

/// Bytes of one breaker's snapshot (fixed at compile time, so firmware can
/// reserve retained RAM or a flash page for it).
pub const FUSEBOX_SNAPSHOT_MAX: usize = 56;

const _: () = assert!(FUSEBOX_SNAPSHOT_MAX == crate::SNAPSHOT_LEN);

/// Closed: calls allowed.
pub const FUSEBOX_STATE_CLOSED: fusebox_state = 0;
/// Open: calls rejected.
pub const FUSEBOX_STATE_OPEN: fusebox_state = 1;
/// Half-open: a limited number of probe calls allowed.
pub const FUSEBOX_STATE_HALF_OPEN: fusebox_state = 2;
/// Held open by `fusebox_force_open` until `fusebox_reset`.
pub const FUSEBOX_STATE_FORCED_OPEN: fusebox_state = 3;
/// Switched off by `fusebox_disable` until `fusebox_reset`: allows every call.
pub const FUSEBOX_STATE_DISABLED: fusebox_state = 4;
/// Watching only (`fusebox_metrics_only`) until `fusebox_reset`: allows
/// every call and records it, never trips.
pub const FUSEBOX_STATE_METRICS_ONLY: fusebox_state = 5;

/// `trip_rule`: Snakepit's, `failure_threshold` failures since the last close.
pub const FUSEBOX_TRIP_CUMULATIVE: u32 = 0;
/// `trip_rule`: `failure_threshold` failures in a row.
pub const FUSEBOX_TRIP_CONSECUTIVE: u32 = 1;
/// `trip_rule`: the window's failure rate reaches `failure_rate_percent`.
pub const FUSEBOX_TRIP_FAILURE_RATE: u32 = 2;
/// `window_kind`: the last `window_size` calls (at most 64).
pub const FUSEBOX_WINDOW_COUNT: u32 = 0;
/// `window_kind`: `window_size` buckets (at most 8) of `bucket_ms`.
pub const FUSEBOX_WINDOW_TIME: u32 = 1;
/// `half_open_wait_action`: unreported probes are written off, new ones admitted.
pub const FUSEBOX_WAIT_RELEASE_PROBES: u32 = 0;
/// `half_open_wait_action`: the breaker reopens.
pub const FUSEBOX_WAIT_REOPEN: u32 = 1;

/// The call succeeded.
pub const FUSEBOX_OUTCOME_SUCCESS: fusebox_outcome = 0;
/// The call failed.
pub const FUSEBOX_OUTCOME_FAILURE: fusebox_outcome = 1;
/// Neither: counted in `ignored_count` only (a probe gives its slot back).
pub const FUSEBOX_OUTCOME_IGNORED: fusebox_outcome = 2;

/// Failures reached `failure_threshold`.
pub const FUSEBOX_REASON_FAILURE_THRESHOLD: fusebox_reason = 0;
/// The window's failure rate reached `failure_rate_percent`.
pub const FUSEBOX_REASON_FAILURE_RATE: fusebox_reason = 1;
/// The window's slow-call rate reached `slow_call_rate_percent`.
pub const FUSEBOX_REASON_SLOW_CALL_RATE: fusebox_reason = 2;
/// The open duration ran out (open to half-open).
pub const FUSEBOX_REASON_TIMEOUT: fusebox_reason = 3;
/// Enough probes succeeded (half-open to closed).
pub const FUSEBOX_REASON_PROBE_SUCCEEDED: fusebox_reason = 4;
/// A probe failed or was slow (half-open to open).
pub const FUSEBOX_REASON_PROBE_FAILED: fusebox_reason = 5;
/// Probes did not report within `half_open_max_wait_ms` (half-open to open).
pub const FUSEBOX_REASON_PROBE_TIMEOUT: fusebox_reason = 6;
/// `fusebox_reset`, `_force_open`, `_disable` or `_metrics_only`.
pub const FUSEBOX_REASON_MANUAL: fusebox_reason = 7;

/// `fusebox_retry_after_ms` when no amount of time alone will admit a call
/// (forced open, or every probe slot taken with no wait limit).
pub const FUSEBOX_RETRY_NEVER: u64 = u64::MAX;

/// Longest breaker name in bytes, not counting the terminating NUL.
pub const FUSEBOX_NAME_MAX: usize = 31;

const _: () = assert!(FUSEBOX_NAME_MAX == NAME_MAX);

/// How a breaker trips and recovers. Initialise with `fusebox_config_init`.
/// The fields after `half_open_max_calls` are the policies beyond Snakepit;
/// a library built without the `policies` feature answers
/// `FUSEBOX_UNSUPPORTED` to any value there other than
/// `fusebox_config_init`'s.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fusebox_config {
    /// Failures since the last close or reset that open the breaker (>= 1).
    pub failure_threshold: u32,
    /// Milliseconds after the last failure before a probe is let through (>= 1).
    pub reset_timeout_ms: u32,
    /// Probes admitted while half-open (>= 1).
    pub half_open_max_calls: u32,
    /// `FUSEBOX_TRIP_*`. Default: `FUSEBOX_TRIP_CUMULATIVE`.
    pub trip_rule: u32,
    /// `FUSEBOX_WINDOW_*` (for the failure rate and the slow-call rate).
    /// Default: `FUSEBOX_WINDOW_COUNT`.
    pub window_kind: u32,
    /// Calls (count window, 1..=64) or buckets (time window, 1..=8). Default: 64.
    pub window_size: u32,
    /// Width of a time-window bucket in ms (>= 1 with a time window). Default: 1000.
    pub bucket_ms: u32,
    /// Calls in the window before a rate is judged (>= 1). Default: 10.
    pub minimum_calls: u32,
    /// Failure rate that trips with `FUSEBOX_TRIP_FAILURE_RATE` (1..=100). Default: 50.
    pub failure_rate_percent: u32,
    /// Calls longer than this many ms are slow; 0: off. Default: 0.
    pub slow_call_ms: u32,
    /// Slow-call rate that trips, when slow calls are on (1..=100). Default: 100.
    pub slow_call_rate_percent: u32,
    /// Successful probes that close (1..=`half_open_max_calls`). Default: 1.
    pub half_open_success_threshold: u32,
    /// Ms after which unreported probes are handled by
    /// `half_open_wait_action`; 0: wait for ever. Default: 0.
    pub half_open_max_wait_ms: u32,
    /// `FUSEBOX_WAIT_*`. Default: `FUSEBOX_WAIT_RELEASE_PROBES`.
    pub half_open_wait_action: u32,
    /// Each reopen from half-open multiplies the open duration by this
    /// percentage (>= 100). Default: 100 (no backoff).
    pub backoff_percent: u32,
    /// Cap on the open duration (0: none; else >= `reset_timeout_ms`). Default: 0.
    pub max_open_ms: u32,
    /// Open durations move by up to this percentage either way (0..=100). Default: 0.
    pub jitter_percent: u32,
    /// Seed of the per-breaker jitter generator (0: a fixed constant). Default: 0.
    pub jitter_seed: u32,
}

/// A breaker's counters, as `fusebox_stats_get` reads them. The fields
/// from `transitions` on are kept by the policies; a library built without
/// them leaves them 0 (and `open_duration_ms` equal to `reset_timeout_ms`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct fusebox_stats {
    /// The stored state (reading stats does not move open to half-open).
    pub state: fusebox_state,
    /// Failures since the last close or reset (saturates).
    pub failure_count: u32,
    /// Successes recorded, kept across resets (wraps).
    pub success_count: u32,
    /// The configured failure threshold.
    pub failure_threshold: u32,
    /// Probes admitted in the current half-open period.
    pub half_open_calls: u32,
    /// The configured probe limit.
    pub half_open_max_calls: u32,
    /// The configured open duration.
    pub reset_timeout_ms: u32,
    /// Calls rejected by `fusebox_try_acquire`/`fusebox_call` (wraps).
    pub rejected_count: u32,
    /// Calls admitted by `fusebox_try_acquire`/`fusebox_call` (wraps).
    pub admitted_count: u32,
    /// Whether `last_failure_ms` holds a time (false after a reset).
    pub has_last_failure: bool,
    /// Clock reading of the last recorded failure, when `has_last_failure`.
    pub last_failure_ms: u64,
    /// State changes, ever (wraps).
    pub transitions: u32,
    /// The generation permits are checked against (wraps).
    pub generation: u32,
    /// Slow calls recorded (wraps).
    pub slow_count: u32,
    /// Permits completed after the breaker moved on (wraps).
    pub stale_count: u32,
    /// Outcomes classified as ignored (wraps).
    pub ignored_count: u32,
    /// Successful probes in the current half-open period.
    pub half_open_successes: u32,
    /// The open duration in force (backoff and jitter applied).
    pub open_duration_ms: u32,
    /// Calls in the rate window, as of its last record.
    pub window_calls: u32,
    /// Failures in the rate window.
    pub window_failures: u32,
    /// Slow calls in the rate window.
    pub window_slow: u32,
    /// Ms spent closed (also disabled, metrics-only) up to the last change.
    pub time_closed_ms: u64,
    /// Ms spent open (also forced open) up to the last change.
    pub time_open_ms: u64,
    /// Ms spent half-open up to the last change.
    pub time_half_open_ms: u64,
    /// When the current state began (add now minus this for its time).
    pub state_since_ms: u64,
}

/// A 64-bit millisecond clock supplied by the application.
pub type fusebox_clock_fn = Option<unsafe extern "C" fn(userdata: *mut c_void) -> u64>;
/// A wrapping 32-bit millisecond tick (e.g. `HAL_GetTick`).
pub type fusebox_clock32_fn = Option<unsafe extern "C" fn(userdata: *mut c_void) -> u32>;
/// An operation run by `fusebox_call`: 0 is success, anything else failure.
pub type fusebox_op_fn = Option<unsafe extern "C" fn(userdata: *mut c_void) -> i32>;

static REGISTRY: Registry<{ capacity::CAPACITY }> = Registry::new();

/// The application's clock: which kind, its function and its userdata,
/// published through a sequence lock so that reading it (on every call that
/// needs time) takes no lock at all. Writers (`fusebox_set_clock*`, rare)
/// are serialised by a critical section; a reader retries while a write is
/// in flight. Atomic loads and stores only: thumbv6m has them too.
mod clock_source {
    use core::ffi::c_void;
    use core::sync::atomic::{fence, AtomicPtr, AtomicU32, Ordering};

    pub(super) const UNSET: u32 = 0;
    pub(super) const MS64: u32 = 1;
    pub(super) const TICK32: u32 = 2;

    static SEQ: AtomicU32 = AtomicU32::new(0);
    static KIND: AtomicU32 = AtomicU32::new(UNSET);
    static FUNC: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
    static USERDATA: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

    /// Publishes a clock. Must run inside a critical section (one writer).
    pub(super) fn publish(kind: u32, func: *mut (), userdata: *mut c_void) {
        let seq = SEQ.load(Ordering::Relaxed);
        SEQ.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        KIND.store(kind, Ordering::Relaxed);
        FUNC.store(func, Ordering::Relaxed);
        USERDATA.store(userdata, Ordering::Relaxed);
        SEQ.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// A consistent (kind, function, userdata) triple.
    #[inline]
    pub(super) fn read() -> (u32, *mut (), *mut c_void) {
        loop {
            let before = SEQ.load(Ordering::Acquire);
            if before & 1 == 0 {
                let triple = (
                    KIND.load(Ordering::Relaxed),
                    FUNC.load(Ordering::Relaxed),
                    USERDATA.load(Ordering::Relaxed),
                );
                fence(Ordering::Acquire);
                if SEQ.load(Ordering::Relaxed) == before {
                    return triple;
                }
            }
            core::hint::spin_loop();
        }
    }
}

static TICK32: Mutex<Cell<Tick32State>> = Mutex::new(Cell::new(Tick32State::new()));

/// Reads the application's clock. The callback runs outside any critical
/// section; only the 32-bit extension bookkeeping runs inside one.
fn now_ms() -> Result<u64, fusebox_status> {
    let (kind, func, userdata) = clock_source::read();
    if func.is_null() {
        return default_now_ms();
    }
    if kind == clock_source::TICK32 {
        // SAFETY: published from a non-NULL `fusebox_clock32_fn` of this
        // exact type by `fusebox_set_clock32`.
        let f: unsafe extern "C" fn(*mut c_void) -> u32 = unsafe { core::mem::transmute(func) };
        // SAFETY: the application registered `f` with `userdata`.
        let raw = unsafe { f(userdata) };
        return Ok(critical_section::with(|cs| {
            let cell = TICK32.borrow(cs);
            let mut st = cell.get();
            let now = st.extend(raw);
            cell.set(st);
            now
        }));
    }
    // SAFETY: published from a non-NULL `fusebox_clock_fn` of this exact
    // type by `fusebox_set_clock` (the only other kind).
    let f: unsafe extern "C" fn(*mut c_void) -> u64 = unsafe { core::mem::transmute(func) };
    // SAFETY: the application registered `f` with `userdata`.
    Ok(unsafe { f(userdata) })
}

/// Whether a clock can be read (one is set, or the `std` default exists),
/// without reading it.
#[inline]
fn has_clock() -> bool {
    cfg!(feature = "std") || !clock_source::read().1.is_null()
}

/// `try_acquire`, reading the clock only when the breaker is not closed
/// (a closed breaker admits whatever the time).
#[inline]
fn try_acquire_by_id(id: Id) -> Result<crate::State, fusebox_status> {
    if !cfg!(feature = "std") {
        // Firmware: one path, read the clock always. The fast path would
        // save a tick read but cost a second copy of the slot access in
        // flash, the scarcer resource there.
        return with_time(|now| REGISTRY.try_acquire(id, now));
    }
    if !has_clock() {
        return Err(FUSEBOX_NO_CLOCK);
    }
    match REGISTRY.try_acquire_if_closed(id) {
        Ok(Some(state)) => Ok(state),
        Ok(None) => try_acquire_now(id),
        Err(e) => Err(status(e)),
    }
}

/// `try_acquire` at the clock's time (its callers on hosts are out of the
/// closed fast path already).
#[inline]
fn try_acquire_now(id: Id) -> Result<crate::State, fusebox_status> {
    with_time(|now| REGISTRY.try_acquire(id, now))
}

/// What `fusebox_call` holds across a timed call: a permit with policies;
/// nothing can be timed without them.
#[cfg(feature = "policies")]
type Timed = crate::Permit;
#[cfg(not(feature = "policies"))]
type Timed = core::convert::Infallible;

/// `try_acquire` for `fusebox_call`: `Some(permit)` when the breaker
/// measures slow calls (the outcome then completes the permit through
/// [`record_timed`], as `Breaker::call` does), `None` when it does not.
#[cfg(feature = "policies")]
#[inline]
fn admit(id: Id) -> Result<Option<Timed>, fusebox_status> {
    if !has_clock() {
        return Err(FUSEBOX_NO_CLOCK);
    }
    match REGISTRY.try_acquire_if_closed(id) {
        Ok(Some(_)) => Ok(None),
        Ok(None) => admit_now(id),
        Err(e) => Err(status(e)),
    }
}

/// `admit` at the clock's time (out of line, as `try_acquire_now`).
#[cfg(feature = "policies")]
#[inline(never)]
fn admit_now(id: Id) -> Result<Option<Timed>, fusebox_status> {
    let now = now_ms()?;
    REGISTRY.try_acquire_timed(id, now).map_err(status)
}

/// Without policies nothing measures slow calls: `fusebox_call` shares
/// `fusebox_try_acquire`'s path (one copy of it in firmware flash).
#[cfg(not(feature = "policies"))]
#[inline]
fn admit(id: Id) -> Result<Option<Timed>, fusebox_status> {
    try_acquire_by_id(id).map(|_| None)
}

/// Completes the permit of a timed call with its `outcome`.
#[cfg(feature = "policies")]
fn record_timed(id: Id, outcome: crate::Outcome, permit: Timed) -> Result<(), fusebox_status> {
    with_time(|end| REGISTRY.complete(id, &permit, outcome, end))
}

#[cfg(not(feature = "policies"))]
fn record_timed(_: Id, _: crate::Outcome, never: Timed) -> Result<(), fusebox_status> {
    match never {}
}

/// `record_success`, reading the clock only when the breaker is not closed.
/// Inlined on hosts, where it sits on `fusebox_call`'s hot path; left to
/// the optimiser on firmware, where flash is the scarcer resource.
#[cfg_attr(feature = "std", inline(always))]
#[cfg_attr(not(feature = "std"), inline)]
fn record_success_by_id(id: Id) -> Result<(), fusebox_status> {
    if !cfg!(feature = "std") {
        // Firmware: one path (see `try_acquire_by_id`).
        return with_time(|now| REGISTRY.record_success(id, now));
    }
    if !has_clock() {
        return Err(FUSEBOX_NO_CLOCK);
    }
    match REGISTRY.record_success_if_closed(id) {
        Ok(true) => Ok(()),
        Ok(false) => record_success_now(id),
        Err(e) => Err(status(e)),
    }
}

/// `record_success` at the clock's time (out of line, as
/// `try_acquire_now`).
#[cfg_attr(feature = "std", inline(never))]
fn record_success_now(id: Id) -> Result<(), fusebox_status> {
    with_time(|now| REGISTRY.record_success(id, now))
}

/// `record_failure` at the clock's time (out of line on hosts: it is off
/// `fusebox_call`'s closed path).
#[cfg_attr(feature = "std", inline(never))]
fn record_failure_now(id: Id) -> Result<(), fusebox_status> {
    with_time(|now| REGISTRY.record_failure(id, now))
}

#[cfg(feature = "std")]
fn default_now_ms() -> Result<u64, fusebox_status> {
    extern crate std;
    use std::sync::OnceLock;
    use std::time::Instant;
    // Instant is CLOCK_MONOTONIC on Linux; the epoch is the first reading.
    static START: OnceLock<Instant> = OnceLock::new();
    let ms = START.get_or_init(Instant::now).elapsed().as_millis();
    Ok(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(not(feature = "std"))]
fn default_now_ms() -> Result<u64, fusebox_status> {
    Err(FUSEBOX_NO_CLOCK)
}

const fn status(e: Error) -> fusebox_status {
    match e {
        Error::CircuitOpen => FUSEBOX_CIRCUIT_OPEN,
        Error::InvalidConfig => FUSEBOX_INVALID_CONFIG,
        Error::InvalidName => FUSEBOX_INVALID_NAME,
        Error::NameTaken => FUSEBOX_NAME_TAKEN,
        Error::RegistryFull => FUSEBOX_REGISTRY_FULL,
        Error::NotFound => FUSEBOX_NOT_FOUND,
        Error::Busy => FUSEBOX_BUSY,
        Error::BufferTooSmall => FUSEBOX_BUFFER_TOO_SMALL,
        Error::BadSnapshot => FUSEBOX_BAD_SNAPSHOT,
        Error::SnapshotVersion => FUSEBOX_SNAPSHOT_VERSION,
        Error::ConfigMismatch => FUSEBOX_CONFIG_MISMATCH,
        Error::Unsupported => FUSEBOX_UNSUPPORTED,
        Error::StalePermit => FUSEBOX_STALE_PERMIT,
    }
}

/// The config `cfg` points to, or Snakepit's defaults for NULL. Policy
/// codes out of range are `FUSEBOX_INVALID_CONFIG`; in a build without
/// `policies`, any policy field other than the defaults is
/// `FUSEBOX_UNSUPPORTED`.
///
/// # Safety
/// `cfg` is NULL or valid for a read.
unsafe fn config_or_default(cfg: *const fusebox_config) -> Result<Config, fusebox_status> {
    // SAFETY: forwarded from the caller's contract.
    let Some(c) = (unsafe { cfg.as_ref() }) else {
        return Ok(Config::default());
    };
    let base = Config::default()
        .with_failure_threshold(c.failure_threshold)
        .with_reset_timeout_ms(c.reset_timeout_ms)
        .with_half_open_max_calls(c.half_open_max_calls);
    #[cfg(feature = "policies")]
    return Ok(base.with_policy(policy_of(c)?));
    // Without policies: the policy fields must be exactly what
    // `fusebox_config_init` wrote.
    #[cfg(not(feature = "policies"))]
    if is_default_policy(c) {
        Ok(base)
    } else {
        Err(FUSEBOX_UNSUPPORTED)
    }
}

/// Whether `c`'s policy fields are `fusebox_config_init`'s. Field by field
/// against immediates: the smallest code for the firmware core.
#[cfg(not(feature = "policies"))]
fn is_default_policy(c: &fusebox_config) -> bool {
    let d = DEFAULT_C_CONFIG;
    c.trip_rule == d.trip_rule
        && c.window_kind == d.window_kind
        && c.window_size == d.window_size
        && c.bucket_ms == d.bucket_ms
        && c.minimum_calls == d.minimum_calls
        && c.failure_rate_percent == d.failure_rate_percent
        && c.slow_call_ms == d.slow_call_ms
        && c.slow_call_rate_percent == d.slow_call_rate_percent
        && c.half_open_success_threshold == d.half_open_success_threshold
        && c.half_open_max_wait_ms == d.half_open_max_wait_ms
        && c.half_open_wait_action == d.half_open_wait_action
        && c.backoff_percent == d.backoff_percent
        && c.max_open_ms == d.max_open_ms
        && c.jitter_percent == d.jitter_percent
        && c.jitter_seed == d.jitter_seed
}

/// The policy fields of `c`, their codes checked.
#[cfg(feature = "policies")]
fn policy_of(c: &fusebox_config) -> Result<Policy, fusebox_status> {
    let trip_rule = match c.trip_rule {
        FUSEBOX_TRIP_CUMULATIVE => TripRule::Cumulative,
        FUSEBOX_TRIP_CONSECUTIVE => TripRule::Consecutive,
        FUSEBOX_TRIP_FAILURE_RATE => TripRule::FailureRate,
        _ => return Err(FUSEBOX_INVALID_CONFIG),
    };
    let window_kind = match c.window_kind {
        FUSEBOX_WINDOW_COUNT => WindowKind::Count,
        FUSEBOX_WINDOW_TIME => WindowKind::Time,
        _ => return Err(FUSEBOX_INVALID_CONFIG),
    };
    let wait_action = match c.half_open_wait_action {
        FUSEBOX_WAIT_RELEASE_PROBES => WaitAction::ReleaseProbes,
        FUSEBOX_WAIT_REOPEN => WaitAction::Reopen,
        _ => return Err(FUSEBOX_INVALID_CONFIG),
    };
    Ok(Policy::SNAKEPIT
        .with_trip_rule(trip_rule)
        .with_window(window_kind, c.window_size, c.bucket_ms)
        .with_minimum_calls(c.minimum_calls)
        .with_failure_rate_percent(c.failure_rate_percent)
        .with_slow_calls(c.slow_call_ms, c.slow_call_rate_percent)
        .with_half_open_success_threshold(c.half_open_success_threshold)
        .with_half_open_max_wait(c.half_open_max_wait_ms, wait_action)
        .with_backoff(c.backoff_percent, c.max_open_ms)
        .with_jitter(c.jitter_percent, c.jitter_seed))
}

/// Reads a NUL-terminated name, looking at no more than `NAME_MAX + 1` bytes.
///
/// # Safety
/// `name` is non-NULL and readable up to its NUL or `NAME_MAX + 1` bytes.
unsafe fn read_name<'a>(name: *const c_char) -> Result<&'a [u8], fusebox_status> {
    let p = name.cast::<u8>();
    let mut len = 0;
    while len <= NAME_MAX {
        // SAFETY: the caller guarantees bytes up to the NUL (or the limit).
        if unsafe { *p.add(len) } == 0 {
            // SAFETY: `len` bytes before the NUL were just read.
            return Ok(unsafe { core::slice::from_raw_parts(p, len) });
        }
        len += 1;
    }
    Err(FUSEBOX_INVALID_NAME)
}

/// Writes `value` through `out` if it is non-NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
unsafe fn write_out<T>(out: *mut T, value: T) -> fusebox_status {
    if out.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL and, by the caller's contract, writable.
    unsafe { out.write(value) };
    FUSEBOX_OK
}

/// Writes the value of `r` through `out`, or returns its error status.
///
/// # Safety
/// `out` is NULL or valid for a write of `T`.
unsafe fn write_result<T>(out: *mut T, r: Result<T, fusebox_status>) -> fusebox_status {
    match r {
        // SAFETY: forwarded from the caller's contract.
        Ok(v) => unsafe { write_out(out, v) },
        Err(s) => s,
    }
}

/// Runs `f` on breaker `id` at the current clock reading.
fn with_time<T>(f: impl FnOnce(u64) -> Result<T, Error>) -> Result<T, fusebox_status> {
    let now = now_ms()?;
    f(now).map_err(status)
}

fn to_status(r: Result<(), fusebox_status>) -> fusebox_status {
    match r {
        Ok(()) => FUSEBOX_OK,
        Err(s) => s,
    }
}

/// Fills `cfg` with Snakepit's defaults: 5 failures, 30000 ms, 1 probe.
/// Does nothing when `cfg` is NULL.
///
/// # Safety
/// `cfg` is NULL or points to a writable `fusebox_config`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_config_init(cfg: *mut fusebox_config) {
    // SAFETY: forwarded from the caller's contract.
    let _ = unsafe { write_out(cfg, DEFAULT_C_CONFIG) };
}

/// For Rust callers of the C API: what `fusebox_config_init` writes.
impl Default for fusebox_config {
    fn default() -> Self {
        DEFAULT_C_CONFIG
    }
}

/// What `fusebox_config_init` writes: Snakepit's defaults.
const DEFAULT_C_CONFIG: fusebox_config = {
    let d = Config::SNAKEPIT;
    let p = Policy::SNAKEPIT;
    fusebox_config {
        failure_threshold: d.failure_threshold,
        reset_timeout_ms: d.reset_timeout_ms,
        half_open_max_calls: d.half_open_max_calls,
        trip_rule: p.trip_rule as u32,
        window_kind: p.window_kind as u32,
        window_size: p.window_size,
        bucket_ms: p.bucket_ms,
        minimum_calls: p.minimum_calls,
        failure_rate_percent: p.failure_rate_percent,
        slow_call_ms: p.slow_call_ms,
        slow_call_rate_percent: p.slow_call_rate_percent,
        half_open_success_threshold: p.half_open_success_threshold,
        half_open_max_wait_ms: p.half_open_max_wait_ms,
        half_open_wait_action: p.half_open_wait_action as u32,
        backoff_percent: p.backoff_percent,
        max_open_ms: p.max_open_ms,
        jitter_percent: p.jitter_percent,
        jitter_seed: p.jitter_seed,
    }
};

/// Sets the clock every breaker reads: `now_ms(userdata)` returns monotonic
/// milliseconds. It is called outside fusebox's critical sections, from
/// whichever thread calls fusebox, and must not fail.
/// Without the `std` feature there is no default clock and calls that need
/// time return `FUSEBOX_NO_CLOCK` until one is set.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL (the clock is kept).
#[no_mangle]
pub extern "C" fn fusebox_set_clock(
    now_ms: fusebox_clock_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let Some(f) = now_ms else {
        return FUSEBOX_NULL_PARAMETER;
    };
    critical_section::with(|_| clock_source::publish(clock_source::MS64, f as *mut (), userdata));
    FUSEBOX_OK
}

/// Sets a wrapping 32-bit millisecond tick (e.g. `HAL_GetTick`) as the
/// clock. fusebox extends it to 64 bits, across wraps, as long as it is read
/// at least once every 2^31 ms (24.8 days). The first reading is taken as is.
///
/// Returns `FUSEBOX_NULL_PARAMETER` when `now_ms` is NULL (the clock is kept).
#[no_mangle]
pub extern "C" fn fusebox_set_clock32(
    now_ms: fusebox_clock32_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    let Some(f) = now_ms else {
        return FUSEBOX_NULL_PARAMETER;
    };
    critical_section::with(|cs| {
        TICK32.borrow(cs).set(Tick32State::new());
        clock_source::publish(clock_source::TICK32, f as *mut (), userdata);
    });
    FUSEBOX_OK
}

/// Reads the clock fusebox uses into `*out_ms`.
///
/// # Safety
/// `out_ms` is NULL or points to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_now_ms(out_ms: *mut u64) -> fusebox_status {
    if out_ms.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: `out_ms` checked non-NULL; writable by the caller's contract.
    unsafe { write_result(out_ms, now_ms()) }
}

/// Creates a closed breaker named `name` (1 to `FUSEBOX_NAME_MAX` bytes,
/// NUL-terminated, any bytes) with `cfg`, or Snakepit's defaults when `cfg`
/// is NULL, and writes its id to `*out_id`.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_INVALID_NAME`,
/// `FUSEBOX_INVALID_CONFIG`, `FUSEBOX_NAME_TAKEN`, `FUSEBOX_REGISTRY_FULL`;
/// the registry is unchanged by an error.
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
    if name.is_null() || out_id.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL; readable by the caller's contract.
    let name = match unsafe { read_name(name) } {
        Ok(n) => n,
        Err(s) => return s,
    };
    // SAFETY: NULL or valid, by the caller's contract.
    let config = match unsafe { config_or_default(cfg) } {
        Ok(c) => c,
        Err(s) => return s,
    };
    // SAFETY: `out_id` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_id,
            REGISTRY
                .create(name, config)
                .map_err(status)
                .map(|id| id.to_raw()),
        )
    }
}

/// Finds the breaker named `name` and writes its id to `*out_id`.
///
/// # Safety
/// As `fusebox_create`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_lookup(
    name: *const c_char,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    if name.is_null() || out_id.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL; readable by the caller's contract.
    let name = match unsafe { read_name(name) } {
        Ok(n) => n,
        Err(s) => return s,
    };
    // SAFETY: `out_id` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_id,
            REGISTRY.lookup(name).map_err(status).map(|id| id.to_raw()),
        )
    }
}

/// Destroys a breaker: its slot is free and its id (every copy) is stale.
#[no_mangle]
pub extern "C" fn fusebox_destroy(id: fusebox_id) -> fusebox_status {
    to_status(REGISTRY.remove(Id::from_raw(id)).map_err(status))
}

/// Writes the current state to `*out_state`, first moving an open breaker
/// whose timeout has run out to half-open.
///
/// # Safety
/// `out_state` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_get_state(
    id: fusebox_id,
    out_state: *mut fusebox_state,
) -> fusebox_status {
    if out_state.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: `out_state` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_state,
            with_time(|now| REGISTRY.state(Id::from_raw(id), now)).map(|s| s.code()),
        )
    }
}

/// Writes whether a call would be admitted now to `*out_allowed`. A pure
/// check: it reserves no half-open probe.
///
/// # Safety
/// `out_allowed` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_allow_call(
    id: fusebox_id,
    out_allowed: *mut bool,
) -> fusebox_status {
    if out_allowed.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: `out_allowed` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_allowed,
            with_time(|now| REGISTRY.allow_call(Id::from_raw(id), now)),
        )
    }
}

/// Admits a call (`FUSEBOX_OK`) or rejects it (`FUSEBOX_CIRCUIT_OPEN`). In
/// half-open each admission takes one of the `half_open_max_calls` probes.
/// Report the outcome with `fusebox_record_success`/`_failure`.
#[no_mangle]
pub extern "C" fn fusebox_try_acquire(id: fusebox_id) -> fusebox_status {
    // Hosts: a closed breaker's admission, counted without a lock, in a
    // function that needs no stack frame; the rest is a tail call.
    #[cfg(fusebox_fast)]
    {
        let rid = Id::from_raw(id);
        if REGISTRY.fast_try_acquire(rid, None).is_some() {
            return FUSEBOX_OK;
        }
        if REGISTRY.fast_declines_admission(rid) {
            // Not closed: straight to the clock (an open window rejects
            // there without a lock).
            return try_acquire_now_status(rid);
        }
    }
    try_acquire_status(id)
}

#[cfg(fusebox_fast)]
#[inline(never)]
fn try_acquire_now_status(id: Id) -> fusebox_status {
    to_status(try_acquire_now(id).map(|_| ()))
}

#[cfg_attr(fusebox_fast, inline(never))]
fn try_acquire_status(id: fusebox_id) -> fusebox_status {
    to_status(try_acquire_by_id(Id::from_raw(id)).map(|_| ()))
}

/// Records a success: in half-open it closes the breaker.
#[no_mangle]
pub extern "C" fn fusebox_record_success(id: fusebox_id) -> fusebox_status {
    // Hosts: as `fusebox_try_acquire`.
    #[cfg(fusebox_fast)]
    if REGISTRY.fast_record_success(Id::from_raw(id)) {
        return FUSEBOX_OK;
    }
    record_success_status(id)
}

#[cfg_attr(fusebox_fast, inline(never))]
fn record_success_status(id: fusebox_id) -> fusebox_status {
    to_status(record_success_by_id(Id::from_raw(id)))
}

/// Records a failure: it may open (or reopen) the breaker.
#[no_mangle]
pub extern "C" fn fusebox_record_failure(id: fusebox_id) -> fusebox_status {
    to_status(record_failure_now(Id::from_raw(id)))
}

/// Runs `op(userdata)` through the breaker. Rejected: returns
/// `FUSEBOX_CIRCUIT_OPEN` (or `FUSEBOX_NOT_FOUND`) and `op` does not run.
/// Admitted: `op` runs outside every critical section, its return value is
/// recorded (0 success, anything else failure) and written to `*out_result`,
/// and the status is `FUSEBOX_OK`. If the breaker is destroyed while `op`
/// runs, the outcome is dropped and the status is still `FUSEBOX_OK`. A
/// breaker that measures slow calls times `op` through a permit, like
/// `fusebox_call_classified`: a result that arrives after the breaker moved
/// on only counts in `stale_count`.
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
    // Hosts: a closed breaker runs `op` between two counts made without a
    // lock; anything else (NULLs included) takes the full path.
    #[cfg(fusebox_fast)]
    if let (Some(f), false) = (op, out_result.is_null()) {
        let rid = Id::from_raw(id);
        if let Some(admitted) = REGISTRY.fast_admit_call(rid) {
            // SAFETY: the caller vouches for `op(userdata)`.
            let result = unsafe { f(userdata) };
            if result != 0 || !admitted.succeed() {
                record_call_outcome(rid, result);
            }
            // SAFETY: checked non-NULL; writable by the caller's contract.
            return unsafe { write_out(out_result, result) };
        }
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { call_status(id, op, userdata, out_result) }
}

/// `fusebox_call`'s record of an untimed op's result (out of line on
/// hosts: off the fast path).
#[cfg_attr(fusebox_fast, inline(never))]
fn record_call_outcome(id: Id, result: i32) {
    // The op ran: its result stands even if the record cannot be made.
    let _ = if result == 0 {
        record_success_by_id(id)
    } else {
        record_failure_now(id)
    };
}

/// `fusebox_call` in full.
///
/// # Safety
/// As `fusebox_call`.
#[cfg_attr(fusebox_fast, inline(never))]
unsafe fn call_status(
    id: fusebox_id,
    op: fusebox_op_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    let Some(op) = op else {
        return FUSEBOX_NULL_PARAMETER;
    };
    if out_result.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    let id = Id::from_raw(id);
    let timed = match admit(id) {
        Ok(timed) => timed,
        Err(s) => return s,
    };
    // SAFETY: the caller vouches for `op(userdata)`.
    let result = unsafe { op(userdata) };
    if let Some(permit) = timed {
        // Slow calls are on: the outcome goes in with its duration.
        let outcome = if result == 0 {
            crate::Outcome::Success
        } else {
            crate::Outcome::Failure
        };
        let _ = record_timed(id, outcome, permit);
        // SAFETY: checked non-NULL; writable by the caller's contract.
        return unsafe { write_out(out_result, result) };
    }
    record_call_outcome(id, result);
    // SAFETY: checked non-NULL; writable by the caller's contract.
    unsafe { write_out(out_result, result) }
}

/// Resets a breaker: closed, failure and probe counts 0, last failure time
/// cleared; the success count is kept.
#[no_mangle]
pub extern "C" fn fusebox_reset(id: fusebox_id) -> fusebox_status {
    to_status(REGISTRY.reset(Id::from_raw(id)).map_err(status))
}

fn to_c_stats(s: &Stats) -> fusebox_stats {
    fusebox_stats {
        state: s.state.code(),
        failure_count: s.failure_count,
        success_count: s.success_count,
        failure_threshold: s.failure_threshold,
        half_open_calls: s.half_open_calls,
        half_open_max_calls: s.half_open_max_calls,
        reset_timeout_ms: s.reset_timeout_ms,
        rejected_count: s.rejected_count,
        admitted_count: s.admitted_count,
        has_last_failure: s.last_failure_ms.is_some(),
        last_failure_ms: s.last_failure_ms.unwrap_or(0),
        transitions: s.transitions,
        generation: s.generation,
        slow_count: s.slow_count,
        stale_count: s.stale_count,
        ignored_count: s.ignored_count,
        half_open_successes: s.half_open_successes,
        open_duration_ms: s.open_duration_ms,
        window_calls: s.window_calls,
        window_failures: s.window_failures,
        window_slow: s.window_slow,
        time_closed_ms: s.time_in_state_ms[0],
        time_open_ms: s.time_in_state_ms[1],
        time_half_open_ms: s.time_in_state_ms[2],
        state_since_ms: s.state_since_ms,
    }
}

/// Writes a breaker's counters to `*out_stats`. Needs no clock and does not
/// move the state.
///
/// # Safety
/// `out_stats` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_stats_get(
    id: fusebox_id,
    out_stats: *mut fusebox_stats,
) -> fusebox_status {
    if out_stats.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: `out_stats` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_stats,
            REGISTRY
                .stats(Id::from_raw(id))
                .map_err(status)
                .map(|s| to_c_stats(&s)),
        )
    }
}

/// Writes breaker `id`'s snapshot (state, counters, and the age of its
/// last failure, read from the clock now) to `buf` (`len` >=
/// `FUSEBOX_SNAPSHOT_MAX`) and its length to `*out_len`.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_snapshot(
    id: fusebox_id,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    if buf.is_null() || out_len.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL and writable for `len` bytes by the caller's contract.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    // SAFETY: `out_len` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_len,
            with_time(|now| REGISTRY.snapshot(Id::from_raw(id), now, buf)),
        )
    }
}

/// Creates breaker `name` from a snapshot taken by `fusebox_snapshot`
/// (possibly in an earlier run of the program, on a clock that has since
/// restarted): an open breaker stays open for the time it had left. `cfg`
/// (NULL: defaults) must equal the config the snapshot was taken with.
///
/// Errors: those of `fusebox_create`, and `FUSEBOX_BAD_SNAPSHOT`,
/// `FUSEBOX_SNAPSHOT_VERSION`, `FUSEBOX_CONFIG_MISMATCH`, `FUSEBOX_NO_CLOCK`;
/// the registry is unchanged by an error.
///
/// # Safety
/// As `fusebox_create`; `buf` is NULL or readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn fusebox_restore(
    name: *const c_char,
    cfg: *const fusebox_config,
    buf: *const u8,
    len: usize,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    if name.is_null() || buf.is_null() || out_id.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL; readable by the caller's contract.
    let name = match unsafe { read_name(name) } {
        Ok(n) => n,
        Err(s) => return s,
    };
    // SAFETY: NULL or valid, by the caller's contract.
    let config = match unsafe { config_or_default(cfg) } {
        Ok(c) => c,
        Err(s) => return s,
    };
    // SAFETY: non-NULL and readable for `len` bytes by the caller's contract.
    let blob = unsafe { core::slice::from_raw_parts(buf, len) };
    // SAFETY: `out_id` checked non-NULL; writable by the caller's contract.
    unsafe {
        write_result(
            out_id,
            with_time(|now| REGISTRY.restore(name, config, blob, now)).map(|id| id.to_raw()),
        )
    }
}

/// Worst-case size of `fusebox_snapshot_all`'s blob for this build's
/// capacity: 12 + 88 bytes per slot.
#[no_mangle]
pub extern "C" fn fusebox_snapshot_all_max() -> usize {
    Registry::<{ capacity::CAPACITY }>::SNAPSHOT_ALL_MAX
}

/// Writes every breaker (name, config, state) to `buf` and the length to
/// `*out_len`, in one consistent pass.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_snapshot_all(
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    if buf.is_null() || out_len.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL and writable for `len` bytes by the caller's contract.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    // SAFETY: `out_len` checked non-NULL; writable by the caller's contract.
    unsafe { write_result(out_len, with_time(|now| REGISTRY.snapshot_all(now, buf))) }
}

/// Restores every breaker of a `fusebox_snapshot_all` blob and writes how
/// many to `*out_count`. All or nothing: `FUSEBOX_NAME_TAKEN` if a name is
/// already in use, `FUSEBOX_REGISTRY_FULL` if they do not all fit,
/// `FUSEBOX_BAD_SNAPSHOT`/`_VERSION` for a bad blob; the registry is
/// unchanged by an error.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes; `out_count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_restore_all(
    buf: *const u8,
    len: usize,
    out_count: *mut usize,
) -> fusebox_status {
    if buf.is_null() || out_count.is_null() {
        return FUSEBOX_NULL_PARAMETER;
    }
    // SAFETY: non-NULL and readable for `len` bytes by the caller's contract.
    let blob = unsafe { core::slice::from_raw_parts(buf, len) };
    // SAFETY: `out_count` checked non-NULL; writable by the caller's contract.
    unsafe { write_result(out_count, with_time(|now| REGISTRY.restore_all(blob, now))) }
}

/// A static, NUL-terminated description of `status`; never NULL
/// ("unknown status" for codes fusebox does not define).
#[no_mangle]
pub extern "C" fn fusebox_status_str(status: fusebox_status) -> *const c_char {
    let s: &'static core::ffi::CStr = match status {
        FUSEBOX_OK => c"ok",
        FUSEBOX_CIRCUIT_OPEN => c"circuit open",
        FUSEBOX_NULL_PARAMETER => c"null parameter",
        FUSEBOX_INVALID_CONFIG => c"invalid config",
        FUSEBOX_INVALID_NAME => c"invalid name",
        FUSEBOX_NAME_TAKEN => c"name taken",
        FUSEBOX_REGISTRY_FULL => c"registry full",
        FUSEBOX_NOT_FOUND => c"not found",
        FUSEBOX_NO_CLOCK => c"no clock set",
        FUSEBOX_BUSY => c"registry busy",
        FUSEBOX_BUFFER_TOO_SMALL => c"buffer too small",
        FUSEBOX_BAD_SNAPSHOT => c"bad snapshot",
        FUSEBOX_SNAPSHOT_VERSION => c"unsupported snapshot version",
        FUSEBOX_CONFIG_MISMATCH => c"config mismatch",
        FUSEBOX_UNSUPPORTED => c"unsupported",
        FUSEBOX_STALE_PERMIT => c"stale permit",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// A static, NUL-terminated name of `state` ("closed", "open",
/// "half_open", "forced_open", "disabled", "metrics_only"); "unknown
/// state" for other codes. Never NULL.
#[no_mangle]
pub extern "C" fn fusebox_state_str(state: fusebox_state) -> *const c_char {
    let s: &'static core::ffi::CStr = match state {
        FUSEBOX_STATE_CLOSED => c"closed",
        FUSEBOX_STATE_OPEN => c"open",
        FUSEBOX_STATE_HALF_OPEN => c"half_open",
        FUSEBOX_STATE_FORCED_OPEN => c"forced_open",
        FUSEBOX_STATE_DISABLED => c"disabled",
        FUSEBOX_STATE_METRICS_ONLY => c"metrics_only",
        _ => c"unknown state",
    };
    s.as_ptr()
}

/// Slots in the global registry, fixed at build time (`FUSEBOX_CAPACITY`,
/// default 16).
#[no_mangle]
pub extern "C" fn fusebox_capacity() -> usize {
    capacity::CAPACITY
}
