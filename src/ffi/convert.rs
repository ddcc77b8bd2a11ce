//! Conversions between the C API's plain data and the library's types:
//! errors to status codes ([`status_of`], public for Rust callers of the C
//! API such as the fuzz targets), C configs to [`Config`], [`Stats`] to
//! `fusebox_stats`, and the defaults `fusebox_config_init` writes.

use super::types::*;
use crate::{CallError, Config, Error, Policy, Stats};
#[cfg(feature = "policies")]
use crate::{ProbeJudge, TripRule, WaitAction, WindowKind};

/// The status code the C API answers for `e`: `FUSEBOX_CIRCUIT_OPEN` for
/// [`Error::CircuitOpen`], `FUSEBOX_NOT_FOUND` for [`Error::NotFound`], and
/// so on, one code per error. For Rust code (tests, fuzz targets) that
/// checks the C API against the library.
pub const fn status_of(e: Error) -> fusebox_status {
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
        Error::SnapshotVersion => FUSEBOX_SNAPSHOT_VERSION_MISMATCH,
        Error::ConfigMismatch => FUSEBOX_CONFIG_MISMATCH,
        Error::Unsupported => FUSEBOX_UNSUPPORTED,
        Error::StalePermit => FUSEBOX_STALE_PERMIT,
        Error::InvalidMemory => FUSEBOX_INVALID_MEMORY,
        Error::LayoutMismatch => FUSEBOX_LAYOUT_MISMATCH,
    }
}

/// `FUSEBOX_OK`, or the error's status.
#[inline]
pub(super) fn to_status(r: Result<(), Error>) -> fusebox_status {
    match r {
        Ok(()) => FUSEBOX_OK,
        Err(e) => status_of(e),
    }
}

/// `FUSEBOX_OK`, or the status.
#[cfg(feature = "policies")]
#[inline]
pub(super) fn or_ok(r: Result<(), fusebox_status>) -> fusebox_status {
    match r {
        Ok(()) => FUSEBOX_OK,
        Err(s) => s,
    }
}

/// What `fusebox_call` answers for a call through a C op: its result
/// (0 for success), or the status of a rejection.
pub(super) fn call_result(r: Result<(), CallError<i32>>) -> Result<i32, fusebox_status> {
    match r {
        Ok(()) => Ok(0),
        Err(CallError::Failed(result)) => Ok(result),
        Err(CallError::Rejected(e)) => Err(status_of(e)),
    }
}

/// The config `cfg` points to, or Snakepit's defaults for NULL. Policy
/// codes out of range are `FUSEBOX_INVALID_CONFIG`; in a build without
/// `policies`, any policy field other than the defaults is
/// `FUSEBOX_UNSUPPORTED`.
///
/// # Safety
/// `cfg` is NULL or valid for a read.
pub(super) unsafe fn config_or_default(
    cfg: *const fusebox_config,
) -> Result<Config, fusebox_status> {
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

/// Whether `c`'s policy fields are `fusebox_config_init`'s. The fields
/// whose default is not 0 one by one against immediates; the others
/// (`^` against a 0 default folds away) OR-ed together and checked once:
/// the smallest code for the firmware core.
#[cfg(not(feature = "policies"))]
fn is_default_policy(c: &fusebox_config) -> bool {
    let d = DEFAULT_C_CONFIG;
    let zeros = (c.trip_rule ^ d.trip_rule)
        | (c.window_kind ^ d.window_kind)
        | (c.slow_call_ms ^ d.slow_call_ms)
        | (c.half_open_max_wait_ms ^ d.half_open_max_wait_ms)
        | (c.half_open_wait_action ^ d.half_open_wait_action)
        | (c.half_open_judge ^ d.half_open_judge)
        | (c.max_open_ms ^ d.max_open_ms)
        | (c.jitter_percent ^ d.jitter_percent)
        | (c.jitter_seed ^ d.jitter_seed);
    zeros == 0
        && c.window_size == d.window_size
        && c.bucket_ms == d.bucket_ms
        && c.minimum_calls == d.minimum_calls
        && c.failure_rate_percent == d.failure_rate_percent
        && c.slow_call_rate_percent == d.slow_call_rate_percent
        && c.half_open_success_threshold == d.half_open_success_threshold
        && c.backoff_percent == d.backoff_percent
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
        FUSEBOX_WAIT_REOPEN_ALWAYS => WaitAction::ReopenAlways,
        _ => return Err(FUSEBOX_INVALID_CONFIG),
    };
    let judge = match c.half_open_judge {
        FUSEBOX_JUDGE_FIRST_FAILURE => ProbeJudge::FirstFailure,
        FUSEBOX_JUDGE_RATE => ProbeJudge::Rate,
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
        .with_half_open_judge(judge)
        .with_backoff(c.backoff_percent, c.max_open_ms)
        .with_jitter(c.jitter_percent, c.jitter_seed))
}

/// Writes the C view of a breaker's counters to `out`, field by field
/// (no `fusebox_stats` built on the stack first: the firmware's stack).
///
/// Out of line with policies, so that the stats stay in memory, read once
/// each (inline, the compiler copies them into spill slots first: a
/// Cortex-M0 has few registers); inline without (less flash, and the
/// stats path is shallow there).
///
/// # Safety
/// `out` is valid for a write of a `fusebox_stats`.
#[cfg_attr(feature = "policies", inline(never))]
#[cfg_attr(not(feature = "policies"), inline(always))]
pub(super) unsafe fn write_c_stats(s: &Stats, out: *mut fusebox_stats) {
    // SAFETY: `out` is valid for writes (the caller's contract); each
    // field is written through the raw pointer, no reference to the
    // (possibly uninitialised) target is made.
    unsafe {
        (*out).state = s.state.code();
        (*out).failure_count = s.failure_count;
        (*out).failure_total = s.failure_total;
        (*out).success_count = s.success_count;
        (*out).failure_threshold = s.failure_threshold;
        (*out).half_open_calls = s.half_open_calls;
        (*out).half_open_max_calls = s.half_open_max_calls;
        (*out).reset_timeout_ms = s.reset_timeout_ms;
        (*out).rejected_count = s.rejected_count;
        (*out).admitted_count = s.admitted_count;
        (*out).has_last_failure = s.last_failure_ms.is_some();
        (*out).last_failure_ms = s.last_failure_ms.unwrap_or(0);
        (*out).transitions = s.transitions;
        (*out).generation = s.generation;
        (*out).slow_count = s.slow_count;
        (*out).stale_count = s.stale_count;
        (*out).ignored_count = s.ignored_count;
        (*out).half_open_successes = s.half_open_successes;
        (*out).open_duration_ms = s.open_duration_ms;
        (*out).window_calls = s.window_calls;
        (*out).window_failures = s.window_failures;
        (*out).window_slow = s.window_slow;
        (*out).time_closed_ms = s.time_in_state_ms[0];
        (*out).time_open_ms = s.time_in_state_ms[1];
        (*out).time_half_open_ms = s.time_in_state_ms[2];
        (*out).state_since_ms = s.state_since_ms;
    }
}

/// For Rust callers of the C API: what `fusebox_config_init` writes.
impl Default for fusebox_config {
    fn default() -> Self {
        DEFAULT_C_CONFIG
    }
}

/// Writes [`DEFAULT_C_CONFIG`] to `cfg`: zeroes, then the fields whose
/// default is not 0. Smaller on firmware than a copy of the whole struct
/// from flash (the firmware core's flash budget).
///
/// # Safety
/// `cfg` is valid for a write of a `fusebox_config`.
pub(super) unsafe fn write_default_config(cfg: *mut fusebox_config) {
    let d = DEFAULT_C_CONFIG;
    // SAFETY: forwarded from the caller's contract; every field is a
    // plain integer, for which all-zero bytes are valid.
    unsafe {
        cfg.write_bytes(0, 1);
        let c = &mut *cfg;
        c.failure_threshold = d.failure_threshold;
        c.reset_timeout_ms = d.reset_timeout_ms;
        c.half_open_max_calls = d.half_open_max_calls;
        c.window_size = d.window_size;
        c.bucket_ms = d.bucket_ms;
        c.minimum_calls = d.minimum_calls;
        c.failure_rate_percent = d.failure_rate_percent;
        c.slow_call_rate_percent = d.slow_call_rate_percent;
        c.half_open_success_threshold = d.half_open_success_threshold;
        c.backoff_percent = d.backoff_percent;
    }
}

/// What `fusebox_config_init` writes: Snakepit's defaults.
pub(super) const DEFAULT_C_CONFIG: fusebox_config = {
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
        half_open_judge: p.half_open_judge as u32,
        backoff_percent: p.backoff_percent,
        max_open_ms: p.max_open_ms,
        jitter_percent: p.jitter_percent,
        jitter_seed: p.jitter_seed,
    }
};
