//! The types and constants of the C API, as cbindgen reads them into
//! `include/fusebox.h`: status, state, outcome and reason codes, the
//! config and stats structs, and the callback typedefs. Plain data only.

use core::ffi::c_void;

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
/// The library's major version (Cargo.toml's; tests/ffi.rs checks that
/// they agree). Before 1.0, every minor version may change the ABI: see
/// docs/abi.md.
pub const FUSEBOX_VERSION_MAJOR: u32 = 0;
/// The library's minor version.
pub const FUSEBOX_VERSION_MINOR: u32 = 2;
/// The library's patch version.
pub const FUSEBOX_VERSION_PATCH: u32 = 0;
/// The version as one number, `MAJOR << 16 | MINOR << 8 | PATCH`, as
/// `fusebox_version()` returns it.
pub const FUSEBOX_VERSION: u32 =
    FUSEBOX_VERSION_MAJOR << 16 | FUSEBOX_VERSION_MINOR << 8 | FUSEBOX_VERSION_PATCH;

/// A breaker handle. 0 is never a valid id; the id of a destroyed breaker is
/// refused with `FUSEBOX_NOT_FOUND`, never reaching a later breaker: ids
/// carry a 52-bit generation of their slot, so an id could come back only
/// after 2^52 - 1 creations in one slot (142 years at a million a second).
pub type fusebox_id = u64;

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
/// Not now, and waiting would never end: a setter called from inside the
/// callback it would replace (without `std`, while a call of it is in
/// progress in any context), or a structural function (create, destroy,
/// restore, restore_all, snapshot_all) called while another is in
/// progress, without `std` (an interrupt handler or task that preempted
/// it, another core) or on the same thread (a signal handler), or, on
/// firmware with policies, a function on one breaker called while another
/// context's function on it is in progress (an interrupt handler that
/// preempted it, another core), except where `fusebox_try_acquire`'s fast
/// rejection answers (see the header's summary). Nothing changed (an
/// outcome answered BUSY was not recorded): retry later.
pub const FUSEBOX_BUSY: fusebox_status = 9;

/// A snapshot does not fit in the buffer given (`FUSEBOX_SNAPSHOT_MAX`,
/// `fusebox_snapshot_all_max()`).
pub const FUSEBOX_BUFFER_TOO_SMALL: fusebox_status = 10;
/// A snapshot blob is truncated, has the wrong magic, a bad CRC, or
/// counters no breaker could have.
pub const FUSEBOX_BAD_SNAPSHOT: fusebox_status = 11;
/// A snapshot blob has a format version this build does not read.
pub const FUSEBOX_SNAPSHOT_VERSION_MISMATCH: fusebox_status = 12;
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
/// Memory given to `fusebox_registry_place` is misaligned or too short for
/// the capacity, or the capacity is outside 1..=4096 (see
/// `fusebox_registry_size`, `fusebox_registry_align`). Nothing was written.
pub const FUSEBOX_INVALID_MEMORY: fusebox_status = 16;
/// `fusebox_registry_attach` (or a handle) found memory that holds no
/// registry this library can use: not placed by fusebox, or by another
/// version, build (features, target) or layout.
pub const FUSEBOX_LAYOUT_MISMATCH: fusebox_status = 17;

/// Bytes of one breaker's snapshot (format version 2) for a library built
/// with the default window limits (`FUSEBOX_MAX_WINDOW_CALLS` 64,
/// `FUSEBOX_MAX_BUCKETS` 8), fixed at compile time so that firmware can
/// reserve retained RAM or a flash page for it. A library built with
/// other limits has snapshots of `fusebox_snapshot_max()` bytes:
/// 268 + 2 * ceil(FUSEBOX_MAX_WINDOW_CALLS / 8) + 12 * FUSEBOX_MAX_BUCKETS
/// (1 244 at the largest limits). Check `fusebox_snapshot_max() <=
/// FUSEBOX_SNAPSHOT_MAX` at start-up if the build's limits are not known.
pub const FUSEBOX_SNAPSHOT_MAX: usize = 380;

/// Bytes of one breaker's snapshot in a library built with the largest
/// window limits (`FUSEBOX_MAX_WINDOW_CALLS` 1024, `FUSEBOX_MAX_BUCKETS`
/// 60): a buffer of this size holds a snapshot of a library built with any
/// limits.
pub const FUSEBOX_SNAPSHOT_LARGEST: usize = 1244;

const _: () = assert!(FUSEBOX_SNAPSHOT_LARGEST == 268 + 2 * 1024 / 8 + 12 * 60);
const _: () = assert!(crate::SNAPSHOT_LEN <= FUSEBOX_SNAPSHOT_LARGEST);

// The header states the default limits' size: it must be the size of a
// build with those limits.
const _: () = assert!(
    crate::MAX_WINDOW_CALLS != 64
        || crate::MAX_BUCKETS != 8
        || FUSEBOX_SNAPSHOT_MAX == crate::SNAPSHOT_LEN
);

/// Closed: calls allowed.
pub const FUSEBOX_STATE_CLOSED: fusebox_state = 0;
/// Open: calls rejected.
pub const FUSEBOX_STATE_OPEN: fusebox_state = 1;
/// Half-open: a limited number of probe calls allowed.
pub const FUSEBOX_STATE_HALF_OPEN: fusebox_state = 2;
/// Held open by `fusebox_force_open` until `fusebox_reset`, or by
/// `fusebox_force_open_for` / `_until` for a time (then half-open).
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
/// `window_kind`: the last `window_size` calls (at most
/// `fusebox_max_window_calls()`, 64 unless built otherwise). It does not
/// age: its figures are the same at any later time.
pub const FUSEBOX_WINDOW_COUNT: u32 = 0;
/// `window_kind`: `window_size` buckets (at most `fusebox_max_buckets()`,
/// 8 unless built otherwise) of `bucket_ms`, counted from the window's
/// start (see `fusebox_config.window_kind`). It ages: stats and metrics
/// read later leave out the buckets that have expired by then.
pub const FUSEBOX_WINDOW_TIME: u32 = 1;
/// `half_open_wait_action`: unreported probes are written off, new ones admitted.
pub const FUSEBOX_WAIT_RELEASE_PROBES: u32 = 0;
/// `half_open_wait_action`: the breaker reopens if a probe is still out
/// when the wait ends (with none out it stays half-open).
pub const FUSEBOX_WAIT_REOPEN: u32 = 1;
/// `half_open_wait_action`: the breaker reopens once it has been half-open
/// for `half_open_max_wait_ms`, whatever its probes (none admitted, all
/// reported, or some out), as Resilience4j's
/// `maxWaitDurationInHalfOpenState`. With this and `FUSEBOX_WAIT_REOPEN`
/// the reopen is dated at the end of the wait, however late the next call
/// comes: its open duration counts from there.
pub const FUSEBOX_WAIT_REOPEN_ALWAYS: u32 = 2;

/// `half_open_judge`: Snakepit's rule, the first failed (or slow) probe
/// reopens, `half_open_success_threshold` successful probes close.
pub const FUSEBOX_JUDGE_FIRST_FAILURE: u32 = 0;
/// `half_open_judge`: once `half_open_max_calls` probe outcomes (successes
/// and failures; ignored ones do not count) are in, the breaker reopens if
/// their failure rate reaches `failure_rate_percent` or, with slow calls
/// on, their slow-call rate reaches `slow_call_rate_percent`, and closes
/// otherwise (Resilience4j's half-open state).
pub const FUSEBOX_JUDGE_RATE: u32 = 1;

/// The call succeeded.
pub const FUSEBOX_OUTCOME_SUCCESS: fusebox_outcome = 0;
/// The call failed.
pub const FUSEBOX_OUTCOME_FAILURE: fusebox_outcome = 1;
/// Neither: counted in `ignored_count` only (a probe gives its slot back).
pub const FUSEBOX_OUTCOME_IGNORED: fusebox_outcome = 2;

/// Failures reached `failure_threshold`.
pub const FUSEBOX_REASON_FAILURE_THRESHOLD: fusebox_reason = 0;
/// The window's failure rate reached `failure_rate_percent` (closed to
/// open), or with `FUSEBOX_JUDGE_RATE` the probes' failure rate did
/// (half-open to open).
pub const FUSEBOX_REASON_FAILURE_RATE: fusebox_reason = 1;
/// The window's slow-call rate reached `slow_call_rate_percent` (closed to
/// open), or with `FUSEBOX_JUDGE_RATE` the probes' slow-call rate did
/// (half-open to open).
pub const FUSEBOX_REASON_SLOW_CALL_RATE: fusebox_reason = 2;
/// The open duration ran out (open to half-open), or the time of
/// `fusebox_force_open_for` / `_until` did (forced open to half-open).
pub const FUSEBOX_REASON_TIMEOUT: fusebox_reason = 3;
/// Enough probes succeeded (half-open to closed); with `FUSEBOX_JUDGE_RATE`,
/// the probes' rates stayed below their thresholds.
pub const FUSEBOX_REASON_PROBE_SUCCEEDED: fusebox_reason = 4;
/// A probe failed or was slow (half-open to open).
pub const FUSEBOX_REASON_PROBE_FAILED: fusebox_reason = 5;
/// Probes did not report within `half_open_max_wait_ms`, or, with
/// `FUSEBOX_WAIT_REOPEN_ALWAYS`, the breaker was half-open that long
/// (half-open to open).
pub const FUSEBOX_REASON_PROBE_TIMEOUT: fusebox_reason = 6;
/// `fusebox_reset`, `_force_open`, `_force_open_for`, `_force_open_until`,
/// `_force_half_open`, `_disable` or `_metrics_only`.
pub const FUSEBOX_REASON_MANUAL: fusebox_reason = 7;

/// `fusebox_retry_after_ms` when no amount of time alone will admit a call
/// (forced open until `fusebox_reset`, or every probe slot taken with no
/// wait limit).
pub const FUSEBOX_RETRY_NEVER: u64 = u64::MAX;

/// Longest breaker name in bytes, not counting the terminating NUL.
pub const FUSEBOX_NAME_MAX: usize = 31;

const _: () = assert!(FUSEBOX_NAME_MAX == crate::NAME_MAX);

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
    /// Default: `FUSEBOX_WINDOW_COUNT`. A time window's buckets are counted
    /// from its start, not aligned to the clock: from the reading at which
    /// the breaker closed (or entered metrics-only), or, after
    /// `fusebox_create` or `fusebox_reset` (which take no clock reading),
    /// from the first call recorded. A clock that goes back counts into the
    /// newest bucket, which then starts at that reading.
    pub window_kind: u32,
    /// Calls (count window, 1..=`fusebox_max_window_calls()`) or buckets
    /// (time window, 1..=`fusebox_max_buckets()`); the limits are chosen
    /// when the library is built (`FUSEBOX_MAX_WINDOW_CALLS`, default 64,
    /// up to 1024; `FUSEBOX_MAX_BUCKETS`, default 8, up to 60). Default: 64
    /// (the maximum, if the library was built with a smaller one).
    pub window_size: u32,
    /// Width of a time-window bucket in ms (>= 1 with a time window). Bucket
    /// k of a window that started at time s covers `s + k * bucket_ms` up to
    /// the next (not multiples of `bucket_ms` on the clock): a one-bucket
    /// 30 000 ms window whose first call comes at 12 300 rolls over at
    /// 42 300. Default: 1000.
    pub bucket_ms: u32,
    /// Calls in the window before a rate is judged (>= 1). Default: 10.
    /// With `FUSEBOX_WINDOW_COUNT` the minimum in force is at most
    /// `window_size` (as in Resilience4j): a count window of 2 judges from
    /// 2 calls on. With `FUSEBOX_WINDOW_TIME` it applies as given (a
    /// minimum the window never reaches keeps the rates from tripping).
    pub minimum_calls: u32,
    /// Failure rate that trips with `FUSEBOX_TRIP_FAILURE_RATE` (1..=100). Default: 50.
    pub failure_rate_percent: u32,
    /// Calls longer than this many ms are slow; 0: off. Default: 0.
    pub slow_call_ms: u32,
    /// Slow-call rate that trips, when slow calls are on (1..=100). Default: 100.
    pub slow_call_rate_percent: u32,
    /// Successful probes that close (1..=`half_open_max_calls`; exactly 1
    /// with `FUSEBOX_JUDGE_RATE`). Default: 1.
    pub half_open_success_threshold: u32,
    /// Ms after which unreported probes are handled by
    /// `half_open_wait_action` (with `FUSEBOX_WAIT_REOPEN_ALWAYS`: after
    /// which a half-open breaker reopens, probes or not), counted from the
    /// start of half-open or the last release of probes; 0: wait for ever.
    /// Default: 0.
    pub half_open_max_wait_ms: u32,
    /// `FUSEBOX_WAIT_*`. Default: `FUSEBOX_WAIT_RELEASE_PROBES`.
    pub half_open_wait_action: u32,
    /// `FUSEBOX_JUDGE_*`: how half-open probes are judged. Default:
    /// `FUSEBOX_JUDGE_FIRST_FAILURE`. With `FUSEBOX_JUDGE_RATE` the round is
    /// `half_open_max_calls` outcomes (`minimum_calls` does not apply), the
    /// rates are judged whatever `trip_rule` says, a release of probes
    /// (`FUSEBOX_WAIT_RELEASE_PROBES`) starts the round again, and the
    /// plain `fusebox_record_success` / `_failure` count toward the round
    /// whichever call they come from.
    pub half_open_judge: u32,
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
///
/// The lifetime counters (`success_count`, `failure_total`,
/// `rejected_count`, `admitted_count`, `transitions`, `slow_count`,
/// `stale_count`, `ignored_count`) are `uint64_t` and wrap only after 2^64;
/// `failure_count` is `uint64_t` too, for uniformity. The config echoes,
/// the per-period figures (`half_open_calls`, `half_open_successes`) and
/// the window figures stay `uint32_t`: the config bounds them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct fusebox_stats {
    /// The stored state (reading stats does not move open to half-open).
    pub state: fusebox_state,
    /// The configured failure threshold.
    pub failure_threshold: u32,
    /// Failures since the last close or reset (saturates; restarts at 0
    /// there, so not a monotonic counter: see `failure_total`).
    pub failure_count: u64,
    /// Failures recorded, ever (kept across closes and resets).
    pub failure_total: u64,
    /// Successes recorded, kept across resets.
    pub success_count: u64,
    /// Calls rejected by `fusebox_try_acquire`/`fusebox_call`, ever.
    pub rejected_count: u64,
    /// Calls admitted by `fusebox_try_acquire`/`fusebox_call`, ever.
    pub admitted_count: u64,
    /// Probes admitted in the current half-open period.
    pub half_open_calls: u32,
    /// The configured probe limit.
    pub half_open_max_calls: u32,
    /// The configured open duration.
    pub reset_timeout_ms: u32,
    /// Whether `last_failure_ms` holds a time (false after a reset).
    pub has_last_failure: bool,
    /// Clock reading of the last recorded failure, when `has_last_failure`.
    pub last_failure_ms: u64,
    /// State changes, ever.
    pub transitions: u64,
    /// Slow calls recorded, ever.
    pub slow_count: u64,
    /// Permits completed after the breaker moved on, ever.
    pub stale_count: u64,
    /// Outcomes classified as ignored, ever.
    pub ignored_count: u64,
    /// The generation permits are checked against (wraps; only equality
    /// matters).
    pub generation: u32,
    /// Successful probes in the current half-open period.
    pub half_open_successes: u32,
    /// The open duration in force (backoff and jitter applied).
    pub open_duration_ms: u32,
    /// Calls in the rate window as it stands when read: a time window's
    /// buckets that expired since its last record are left out (a count
    /// window does not age). See `fusebox_stats_get`.
    pub window_calls: u32,
    /// Failures in the rate window, as `window_calls`.
    pub window_failures: u32,
    /// Slow calls in the rate window, as `window_calls`.
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

/// A registry placed in memory the caller provides
/// (`fusebox_registry_place`), or attached to there
/// (`fusebox_registry_attach`). Opaque: the handle is the memory's
/// address, and the memory holds the registry's header and slots. The
/// `fusebox_registry_*` functions take it; the other functions use the
/// library's global registry.
pub struct fusebox_registry {
    _opaque: [u8; 0],
}
