//! The C API over registries in memory the caller provides: sizing,
//! placing and attaching (`fusebox_registry_size`, `_align`, `_place`,
//! `_place_shared`, `_attach`), and the operations of the global registry's functions on
//! a handle (`fusebox_registry_create`, ..., each the same function as
//! its global twin, over the registry `reg`: the bodies are shared, in
//! the files of the global functions).
//!
//! A handle is the address of its memory: every function checks the
//! header there (one comparison of a few words), so that a handle to
//! memory that holds no registry of this build is
//! `FUSEBOX_LAYOUT_MISMATCH`, not undefined behaviour, as long as the
//! memory is readable.

use core::ffi::{c_char, c_void};

use super::convert::status_of;
use super::policy::{fusebox_classify_fn, fusebox_listener_fn, fusebox_permit};
use super::types::*;
use crate::PlacedRegistry;

/// The registry behind handle `reg`, or returns `FUSEBOX_NULL_PARAMETER`
/// or `FUSEBOX_LAYOUT_MISMATCH`. `reg` is a handle whose memory is still
/// valid, by the exported function's contract.
macro_rules! try_registry {
    ($reg:expr) => {{
        let reg: *const fusebox_registry = $reg;
        non_null!(reg);
        // SAFETY: non-NULL; a handle from `fusebox_registry_place` or
        // `_attach` whose memory is still valid, by the exported
        // function's contract (its length was checked then).
        try_status!(
            unsafe { PlacedRegistry::attach(reg.cast::<u8>().cast_mut(), usize::MAX) }
                .map_err(status_of)
        )
    }};
}

/// The bytes a registry of `capacity` breakers needs in this build of the
/// library (they depend on its features and target: ask at run time, do
/// not hard-code them); 0 for a capacity outside 1..=4096.
#[no_mangle]
pub extern "C" fn fusebox_registry_size(capacity: u32) -> usize {
    PlacedRegistry::size_for(capacity as usize).unwrap_or(0)
}

/// The alignment a registry's memory needs in this build: 64 on hosts
/// (each breaker has a cache line of its own), 4 or 8 on firmware.
/// `mmap` and `aligned_alloc(fusebox_registry_align(), size)` give it.
#[no_mangle]
pub extern "C" fn fusebox_registry_align() -> usize {
    PlacedRegistry::align()
}

/// Places an empty registry of `capacity` breakers in `mem` (`len` bytes,
/// at least `fusebox_registry_size(capacity)`, aligned to
/// `fusebox_registry_align()`) and writes its handle to `*out_reg`. Any
/// previous contents of `mem` are overwritten; no allocation. O(capacity).
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_INVALID_MEMORY` (capacity
/// outside 1..=4096, `mem` misaligned or `len` too short: nothing is
/// written).
///
/// # Safety
/// `mem` is NULL or writable for `len` bytes, not used by anything but
/// fusebox while the registry is in use, and outlives every use of the
/// handle; `out_reg` is NULL or writable. The registry must not be placed
/// again while another thread uses it.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_place(
    mem: *mut c_void,
    len: usize,
    capacity: u32,
    out_reg: *mut *mut fusebox_registry,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe {
        place_with(mem, len, capacity, out_reg, |m, c| {
            PlacedRegistry::place(m, c)
        })
    }
}

/// The body of `fusebox_registry_place` and `_place_shared`: `place`
/// over `mem`, its handle written to `*out_reg`.
///
/// # Safety
/// The contract of `fusebox_registry_place`.
#[inline(always)]
unsafe fn place_with(
    mem: *mut c_void,
    len: usize,
    capacity: u32,
    out_reg: *mut *mut fusebox_registry,
    place: for<'a> fn(&'a mut [u8], usize) -> Result<PlacedRegistry<'a>, crate::Error>,
) -> fusebox_status {
    non_null!(mem, out_reg);
    let bytes = try_slice_mut!(mem.cast::<u8>(), len);
    let placed = place(bytes, capacity as usize).map_err(status_of);
    out_result!(out_reg, placed.map(|_| mem.cast::<fusebox_registry>()))
}

/// `fusebox_registry_place` for processes to share: `mem` is memory every
/// one of them maps (`mmap(MAP_SHARED | MAP_ANONYMOUS)` before `fork`,
/// or `shm_open`), and the others reach the registry with
/// `fusebox_registry_attach` (or inherit the handle across `fork`). Ids,
/// counts and states are the same in every process; a process killed at
/// any instant never blocks the others, and the breaker it was changing
/// is repaired by the next process that reaches it (restarted closed, its
/// totals kept: docs/shared-registry.md).
///
/// Listeners are per process: the one a process sets with
/// `fusebox_registry_set_listener` hears the state changes that process's
/// operations make (a change reaches one listener at most, the causing
/// process's; a forked child inherits its parent's, as it inherits its
/// memory). A shared registry holds only breakers with a half-open time
/// limit
/// (`half_open_max_wait_ms` above 0, else `FUSEBOX_INVALID_CONFIG`): a
/// probe admitted by a process that is then killed is never recorded.
/// Clocks are per process: every process must read the same monotonic
/// clock (the default one, `CLOCK_MONOTONIC`, is system-wide).
///
/// Errors: as `fusebox_registry_place`; `FUSEBOX_UNSUPPORTED` where
/// processes cannot share a registry (builds other than Linux with `std`
/// and policies, or a C library without robust process-shared mutexes:
/// glibc and musl have them; the memory is then zeroed, without a
/// header).
///
/// # Safety
/// As `fusebox_registry_place`; no process uses `mem` during the call.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_place_shared(
    mem: *mut c_void,
    len: usize,
    capacity: u32,
    out_reg: *mut *mut fusebox_registry,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe {
        place_with(mem, len, capacity, out_reg, |m, c| {
            PlacedRegistry::place_shared(m, c)
        })
    }
}

/// The handle of the registry already placed in `mem` (`len` bytes), for
/// a second user of the same memory, after checking the header there:
/// the magic, the layout version, the library's version, its build (slot
/// size) and the capacity.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_INVALID_MEMORY` (`mem`
/// misaligned, or `len` shorter than the registry),
/// `FUSEBOX_LAYOUT_MISMATCH` (no registry this library can use).
///
/// # Safety
/// `mem` is NULL or readable for `len` bytes and outlives every use of the
/// handle; `out_reg` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_attach(
    mem: *mut c_void,
    len: usize,
    out_reg: *mut *mut fusebox_registry,
) -> fusebox_status {
    non_null!(mem, out_reg);
    // SAFETY: readable for `len` bytes by this function's contract.
    let attached = unsafe { PlacedRegistry::attach(mem.cast::<u8>(), len) };
    out_result!(
        out_reg,
        attached
            .map(|_| mem.cast::<fusebox_registry>())
            .map_err(status_of)
    )
}

/// Writes the number of breakers `reg` holds at most to `*out_capacity`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; `out_capacity` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_capacity(
    reg: *const fusebox_registry,
    out_capacity: *mut usize,
) -> fusebox_status {
    non_null!(out_capacity);
    let r = try_registry!(reg);
    out!(out_capacity, r.capacity())
}

/// `fusebox_create` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_create`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_create(
    reg: *const fusebox_registry,
    name: *const c_char,
    cfg: *const fusebox_config,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::create_in(&r, name, cfg, out_id) }
}

/// `fusebox_lookup` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_lookup`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_lookup(
    reg: *const fusebox_registry,
    name: *const c_char,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::lookup_in(&r, name, out_id) }
}

/// `fusebox_destroy` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_destroy(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::destroy_in(&try_registry!(reg), id)
}

/// `fusebox_get_state` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; `out_state` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_get_state(
    reg: *const fusebox_registry,
    id: fusebox_id,
    out_state: *mut fusebox_state,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::get_state_in(&r, id, out_state) }
}

/// `fusebox_allow_call` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; `out_allowed` is NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_allow_call(
    reg: *const fusebox_registry,
    id: fusebox_id,
    out_allowed: *mut bool,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::allow_call_in(&r, id, out_allowed) }
}

/// `fusebox_try_acquire` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_try_acquire(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::try_acquire_in(&try_registry!(reg), id)
}

/// `fusebox_record_success` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_record_success(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::record_success_in(&try_registry!(reg), id)
}

/// `fusebox_record_failure` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_record_failure(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::record_failure_in(&try_registry!(reg), id)
}

/// `fusebox_call` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_call`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_call(
    reg: *const fusebox_registry,
    id: fusebox_id,
    op: fusebox_op_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::call_in(&r, id, op, userdata, out_result) }
}

/// `fusebox_reset` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_reset(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::reset_in(&try_registry!(reg), id)
}

/// `fusebox_stats_get` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; `out_stats` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_stats_get(
    reg: *const fusebox_registry,
    id: fusebox_id,
    out_stats: *mut fusebox_stats,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::stats_get_in(&r, id, out_stats) }
}

/// `fusebox_record` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_record(
    reg: *const fusebox_registry,
    id: fusebox_id,
    outcome: fusebox_outcome,
    duration_ms: u64,
) -> fusebox_status {
    super::policy::record_in(&try_registry!(reg), id, outcome, duration_ms)
}

/// `fusebox_acquire_permit` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_acquire_permit`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_acquire_permit(
    reg: *const fusebox_registry,
    id: fusebox_id,
    out_permit: *mut fusebox_permit,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::policy::acquire_permit_in(&r, id, out_permit) }
}

/// `fusebox_complete` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_complete`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_complete(
    reg: *const fusebox_registry,
    permit: *const fusebox_permit,
    outcome: fusebox_outcome,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::policy::complete_in(&r, permit, outcome) }
}

/// `fusebox_call_classified` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_call_classified`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_call_classified(
    reg: *const fusebox_registry,
    id: fusebox_id,
    op: fusebox_op_fn,
    classify: fusebox_classify_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::policy::call_classified_in(&r, id, op, classify, userdata, out_result) }
}

/// `fusebox_retry_after_ms` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_retry_after_ms`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_retry_after_ms(
    reg: *const fusebox_registry,
    id: fusebox_id,
    out_ms: *mut u64,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::policy::retry_after_ms_in(&r, id, out_ms) }
}

/// `fusebox_force_open` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_force_open(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::policy::force_open_in(&try_registry!(reg), id)
}

/// `fusebox_force_open_for` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_force_open_for(
    reg: *const fusebox_registry,
    id: fusebox_id,
    duration_ms: u64,
) -> fusebox_status {
    super::policy::force_open_for_in(&try_registry!(reg), id, duration_ms)
}

/// `fusebox_force_open_until` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_force_open_until(
    reg: *const fusebox_registry,
    id: fusebox_id,
    until_ms: u64,
) -> fusebox_status {
    super::policy::force_open_until_in(&try_registry!(reg), id, until_ms)
}

/// `fusebox_force_half_open` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_force_half_open(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::policy::force_half_open_in(&try_registry!(reg), id)
}

/// `fusebox_disable` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_disable(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::policy::disable_in(&try_registry!(reg), id)
}

/// `fusebox_metrics_only` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_metrics_only(
    reg: *const fusebox_registry,
    id: fusebox_id,
) -> fusebox_status {
    super::policy::metrics_only_in(&try_registry!(reg), id)
}

/// `fusebox_set_listener` in `reg`. In a registry placed with
/// `fusebox_registry_place_shared` the listener is this process's: it
/// hears the state changes this process's operations make;
/// `FUSEBOX_REGISTRY_FULL` when this process already set listeners on 8
/// other shared registries.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_set_listener(
    reg: *const fusebox_registry,
    listener: fusebox_listener_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    super::policy::set_listener_in(&try_registry!(reg), listener, userdata)
}

/// `fusebox_events_dropped` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_events_dropped`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_events_dropped(
    reg: *const fusebox_registry,
    out_count: *mut u32,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::policy::events_dropped_in(&r, out_count) }
}

/// `fusebox_snapshot` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_snapshot`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_snapshot(
    reg: *const fusebox_registry,
    id: fusebox_id,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::snapshot::snapshot_in(&r, id, buf, len, out_len) }
}

/// `fusebox_restore` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_restore`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_restore(
    reg: *const fusebox_registry,
    name: *const c_char,
    cfg: *const fusebox_config,
    buf: *const u8,
    len: usize,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::snapshot::restore_in(&r, name, cfg, buf, len, out_id) }
}

/// `fusebox_snapshot_all` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_snapshot_all`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_snapshot_all(
    reg: *const fusebox_registry,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::snapshot::snapshot_all_in(&r, buf, len, out_len) }
}

/// `fusebox_restore_all` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_restore_all`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_restore_all(
    reg: *const fusebox_registry,
    buf: *const u8,
    len: usize,
    out_count: *mut usize,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::snapshot::restore_all_in(&r, buf, len, out_count) }
}

/// `fusebox_name` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_name`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_name(
    reg: *const fusebox_registry,
    id: fusebox_id,
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::metrics::name_in(&r, id, buf, len, out_written) }
}

/// `fusebox_next` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_next`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_next(
    reg: *const fusebox_registry,
    after: fusebox_id,
    out_next: *mut fusebox_id,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::metrics::next_in(&r, after, out_next) }
}

/// `fusebox_metrics_write` in `reg`.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; the rest as
/// `fusebox_metrics_write`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_metrics_write(
    reg: *const fusebox_registry,
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    let r = try_registry!(reg);
    // SAFETY: this function's contract.
    unsafe { super::metrics::metrics_write_in(&r, buf, len, out_written) }
}

/// Writes to `*out_len` the largest blob `fusebox_registry_snapshot_all`
/// can write for `reg` (its capacity full of breakers):
/// `fusebox_snapshot_all_max` for a registry of `reg`'s capacity.
///
/// # Safety
/// `reg` is NULL or a handle whose memory is valid; `out_len` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_registry_snapshot_all_max(
    reg: *const fusebox_registry,
    out_len: *mut usize,
) -> fusebox_status {
    non_null!(out_len);
    let r = try_registry!(reg);
    out!(out_len, r.snapshot_all_max())
}
