//! The C API's snapshots: one breaker (`fusebox_snapshot`,
//! `fusebox_restore`) or the whole registry (`fusebox_snapshot_all`,
//! `fusebox_restore_all`), as byte blobs the application stores where it
//! likes (see the [`snapshot`](crate::snapshot) module for the format).

use core::ffi::c_char;

use super::clock::with_time;
use super::convert::config_or_default;
use super::types::{fusebox_config, fusebox_id, fusebox_status};
use super::{capacity, REGISTRY};
use crate::{Config, Id, Registry, RegistryInner, Storage};

/// Writes breaker `id`'s snapshot (format version 2: config, state,
/// 64-bit counters and the policy state: rate window, backoff, half-open
/// round, forced-open time; every time as an age read from the clock now)
/// to `buf` (`len` >= `fusebox_snapshot_max()`, which is
/// `FUSEBOX_SNAPSHOT_MAX` at the default window limits) and its length to
/// `*out_len`. Reads the clock. On hosts, and on firmware without
/// policies, the breaker is copied with its lock held (a critical section
/// on firmware), and encoded, with its CRC, after it is released. On
/// firmware with policies it is encoded, CRC included, straight from its
/// slot, lent out of the critical section: interrupts stay enabled, and
/// meanwhile a handler's function on this breaker gets `FUSEBOX_BUSY`
/// (but for the fast rejection: see the header's summary).
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_NOT_FOUND`,
/// `FUSEBOX_BUFFER_TOO_SMALL`, `FUSEBOX_NO_CLOCK`, `FUSEBOX_BUSY` (firmware
/// with policies: the breaker is in a function this call preempted, or
/// another core's; see the header's summary). `buf` and `*out_len` are
/// written only on `FUSEBOX_OK`: on an error not a byte of `buf` changes.
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
    // SAFETY: this function's contract.
    unsafe { snapshot_in(&REGISTRY, id, buf, len, out_len) }
}

/// `fusebox_snapshot` in `reg`.
///
/// # Safety
/// As `fusebox_snapshot`.
#[inline(always)]
pub(super) unsafe fn snapshot_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    non_null!(buf, out_len);
    let buf = try_slice_mut!(buf, len);
    out_result!(
        out_len,
        with_time(|now| reg.snapshot(Id::from_raw(id), now, buf))
    )
}

/// Creates breaker `name` from a snapshot taken by `fusebox_snapshot`
/// (possibly in an earlier run of the program, on a clock that has since
/// restarted): an open breaker stays open for the time it had left, and
/// its rate window, backoff and half-open round decide as they would
/// have. `cfg` (NULL: defaults) must equal the config the snapshot was
/// taken with. `len` must be the snapshot's length,
/// `fusebox_snapshot_max()` (56 for a version 1 blob, restored with empty
/// policy state): a shorter or longer blob is `FUSEBOX_BAD_SNAPSHOT`, as
/// is state no breaker could reach. The blob is decoded and checked
/// before any lock is taken.
///
/// Errors: those of `fusebox_create`, and `FUSEBOX_BAD_SNAPSHOT`,
/// `FUSEBOX_SNAPSHOT_VERSION_MISMATCH` (also a blob from a build with
/// other window limits), `FUSEBOX_CONFIG_MISMATCH`, `FUSEBOX_UNSUPPORTED`
/// (a policy this build does not have), `FUSEBOX_NO_CLOCK`;
/// the registry is unchanged by an error, and `*out_id` written only on
/// `FUSEBOX_OK`.
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
    // SAFETY: this function's contract.
    unsafe { restore_in(&REGISTRY, name, cfg, buf, len, out_id) }
}

/// `fusebox_restore` in `reg`.
///
/// # Safety
/// As `fusebox_restore`.
#[inline(always)]
pub(super) unsafe fn restore_in(
    reg: &RegistryInner<impl Storage>,
    name: *const c_char,
    cfg: *const fusebox_config,
    buf: *const u8,
    len: usize,
    out_id: *mut fusebox_id,
) -> fusebox_status {
    non_null!(name, buf, out_id);
    let name = try_name!(name);
    let mut config = Config::ZERO;
    // SAFETY: NULL or valid, by the caller's contract.
    try_status!(unsafe { config_into(cfg, &mut config) });
    let blob = try_slice!(buf, len);
    let id = with_time(|now| reg.restore_config(name, &config, blob, now));
    out_result!(out_id, id.map(Id::to_raw))
}

/// `config_or_default` written to `out`, in a frame of its own: the C
/// entry's frame holds one config, not also the result it came in.
///
/// # Safety
/// As `config_or_default`.
#[inline(always)]
unsafe fn config_into(cfg: *const fusebox_config, out: &mut Config) -> Result<(), fusebox_status> {
    // SAFETY: forwarded from the caller's contract.
    *out = unsafe { config_or_default(cfg) }?;
    Ok(())
}

/// Bytes of one breaker's snapshot in this build: `FUSEBOX_SNAPSHOT_MAX`
/// with the default window limits, more with larger ones (see
/// `FUSEBOX_SNAPSHOT_MAX`).
#[no_mangle]
pub extern "C" fn fusebox_snapshot_max() -> usize {
    crate::SNAPSHOT_LEN
}

/// Worst-case size of `fusebox_snapshot_all`'s blob for this build's
/// capacity: 12 + (32 + `fusebox_snapshot_max()`) bytes per slot.
#[no_mangle]
pub extern "C" fn fusebox_snapshot_all_max() -> usize {
    Registry::<{ capacity::CAPACITY }>::SNAPSHOT_ALL_MAX
}

/// Writes every breaker (name, config, state) to `buf` and the length to
/// `*out_len` (12 + (32 + `fusebox_snapshot_max()`) bytes per breaker),
/// in one pass that holds the structural token: no breaker is created or
/// destroyed meanwhile, and each is as it was when its slot was read
/// (others may change between two of them). Each breaker is copied with
/// its lock held and encoded after it is released, or, on firmware with
/// policies, encoded straight from its lent slot (interrupts enabled), as
/// `fusebox_snapshot` does. The CRCs are computed after every slot is
/// given back. Reads the clock.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_BUFFER_TOO_SMALL` (`len`
/// below the blob's length; `fusebox_snapshot_all_max()` always suffices),
/// `FUSEBOX_NO_CLOCK`, `FUSEBOX_BUSY` (as for `fusebox_create`, and, on
/// firmware with policies, while any breaker is in a function this call
/// preempted). `buf` and `*out_len` are written only on `FUSEBOX_OK`: on
/// an error not a byte of `buf` changes (one exception, multi-core
/// firmware: a breaker that another core takes during this call makes it
/// `FUSEBOX_BUSY` with `buf` partly written).
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_snapshot_all(
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { snapshot_all_in(&REGISTRY, buf, len, out_len) }
}

/// `fusebox_snapshot_all` in `reg`.
///
/// # Safety
/// As `fusebox_snapshot_all`.
#[inline(always)]
pub(super) unsafe fn snapshot_all_in(
    reg: &RegistryInner<impl Storage>,
    buf: *mut u8,
    len: usize,
    out_len: *mut usize,
) -> fusebox_status {
    non_null!(buf, out_len);
    let buf = try_slice_mut!(buf, len);
    out_result!(out_len, with_time(|now| reg.snapshot_all(now, buf)))
}

/// Restores every breaker of a `fusebox_snapshot_all` blob and writes how
/// many to `*out_count`. All or nothing: `FUSEBOX_NAME_TAKEN` if a name is
/// already in use or twice in the blob, `FUSEBOX_REGISTRY_FULL` if they do
/// not all fit, `FUSEBOX_BAD_SNAPSHOT` or `FUSEBOX_SNAPSHOT_VERSION_MISMATCH` for a bad blob (`len`
/// other than the blob's length, 12 + (32 + `fusebox_snapshot_max()`)
/// per entry (88 for a version 1 blob); a bad CRC; an entry
/// `fusebox_restore` would refuse; a name empty or with a NUL byte),
/// `FUSEBOX_NO_CLOCK`, `FUSEBOX_BUSY` (as for `fusebox_create`); the
/// registry is unchanged by an error, and `*out_count` written only on
/// `FUSEBOX_OK`.
///
/// Bounded by the capacity whatever the blob claims: the entry count is
/// checked against `len` and against `fusebox_capacity()` before any
/// entry is read (more entries than slots: `FUSEBOX_REGISTRY_FULL` at
/// once); then the CRC, in time linear in `len`; then at most
/// `fusebox_capacity()` entries, each costing what a `fusebox_create` does.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes; `out_count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_restore_all(
    buf: *const u8,
    len: usize,
    out_count: *mut usize,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { restore_all_in(&REGISTRY, buf, len, out_count) }
}

/// `fusebox_restore_all` in `reg`.
///
/// # Safety
/// As `fusebox_restore_all`.
#[inline(always)]
pub(super) unsafe fn restore_all_in(
    reg: &RegistryInner<impl Storage>,
    buf: *const u8,
    len: usize,
    out_count: *mut usize,
) -> fusebox_status {
    non_null!(buf, out_count);
    let blob = try_slice!(buf, len);
    out_result!(out_count, with_time(|now| reg.restore_all(blob, now)))
}
