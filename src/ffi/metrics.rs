//! The C API for exporting breakers: a breaker's name (`fusebox_name`),
//! a walk over every breaker (`fusebox_next`), and the Prometheus
//! exposition of the whole registry (`fusebox_metrics_write`).
//!
//! Their buffers follow `snprintf`'s habit with one difference: nothing is
//! written on an error. On `FUSEBOX_OK` the text and a terminating NUL are
//! in `buf` and `*out_written` is the text's length (without the NUL). On
//! `FUSEBOX_BUFFER_TOO_SMALL` `buf` is untouched and `*out_written` is the
//! size `buf` needs, NUL included: the one out-parameter written on an
//! error.

use super::clock::with_time;
use super::convert::status_of;
use super::types::{fusebox_id, fusebox_status, FUSEBOX_BUFFER_TOO_SMALL, FUSEBOX_NOT_FOUND};
use super::REGISTRY;
use crate::{Error, Id, MetricsError, RegistryInner, Storage, NAME_MAX};

/// Copies `text` and a NUL into `buf` and writes its length to
/// `*out_written`; or, when `buf` is too short, writes nothing to `buf`
/// and the size needed (`text.len() + 1`) to `*out_written`.
///
/// # Safety
/// `out_written` is non-NULL and writable.
unsafe fn copy_text(text: &[u8], buf: &mut [u8], out_written: *mut usize) -> fusebox_status {
    let Some((nul, body)) = buf
        .get_mut(..text.len().saturating_add(1))
        .and_then(|b| b.split_last_mut())
    else {
        // SAFETY: non-NULL and writable by the caller's contract.
        unsafe { out_written.write(text.len().saturating_add(1)) };
        return FUSEBOX_BUFFER_TOO_SMALL;
    };
    *nul = 0;
    body.copy_from_slice(text);
    out!(out_written, text.len())
}

/// Writes breaker `id`'s name, NUL-terminated, to `buf` (`len` bytes;
/// `FUSEBOX_NAME_MAX + 1` always suffice) and its length (without the
/// NUL) to `*out_written`.
///
/// Errors: `FUSEBOX_NULL_PARAMETER` (`buf` or `out_written` NULL, whatever
/// `len` is), `FUSEBOX_NOT_FOUND` (unknown or stale id),
/// `FUSEBOX_BUFFER_TOO_SMALL` (`len` below the name's length + 1: `buf` is
/// untouched and `*out_written` is the size needed, NUL included). On
/// any other error neither is written. Takes no lock.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_written` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_name(
    id: fusebox_id,
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { name_in(&REGISTRY, id, buf, len, out_written) }
}

/// `fusebox_name` in `reg`.
///
/// # Safety
/// As `fusebox_name`.
#[inline(always)]
pub(super) unsafe fn name_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    non_null!(buf, out_written);
    let buf = try_slice_mut!(buf.cast::<u8>(), len);
    let mut name = [0u8; NAME_MAX];
    let n = try_status!(reg.name(Id::from_raw(id), &mut name).map_err(status_of));
    let text = name.get(..n).unwrap_or(&[]);
    // SAFETY: `out_written` is non-NULL (checked) and writable by this
    // function's contract.
    unsafe { copy_text(text, buf, out_written) }
}

/// Walks the registry: writes to `*out_next` the id of the first breaker
/// after `after` in slot order (`after` = 0: the first breaker), or
/// returns `FUSEBOX_NOT_FOUND` when there is none.
///
/// ```c
/// fusebox_id id = 0;
/// while (fusebox_next(id, &id) == FUSEBOX_OK) { export(id); }
/// ```
///
/// No lock is held between steps, so the code between them runs outside
/// the registry. `after` need not be live: the walk goes on from its slot
/// even if that breaker was destroyed meanwhile. A breaker that exists
/// for the whole walk is visited exactly once; one created during the walk
/// is visited only if it lands in a slot after the walk's position; one
/// destroyed during it only if the walk reached it first. A name destroyed
/// and created again during the walk may be visited twice (two ids) or
/// not at all.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_NOT_FOUND` (no more
/// breakers); `*out_next` is written only on `FUSEBOX_OK`. Takes no lock.
///
/// # Safety
/// `out_next` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_next(
    after: fusebox_id,
    out_next: *mut fusebox_id,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { next_in(&REGISTRY, after, out_next) }
}

/// `fusebox_next` in `reg`.
///
/// # Safety
/// As `fusebox_next`.
#[inline(always)]
pub(super) unsafe fn next_in(
    reg: &RegistryInner<impl Storage>,
    after: fusebox_id,
    out_next: *mut fusebox_id,
) -> fusebox_status {
    non_null!(out_next);
    let after = (after != 0).then(|| Id::from_raw(after));
    let next = match reg.next_id(after) {
        Ok(Some(id)) => Ok(id.to_raw()),
        Ok(None) => Err(FUSEBOX_NOT_FOUND),
        Err(e) => Err(status_of(e)),
    };
    out_result!(out_next, next)
}

/// Writes the Prometheus text exposition format (version 0.0.4) of every
/// breaker to `buf`, NUL-terminated, and its length (without the NUL) to
/// `*out_written`. No allocation. The families, labels, name escaping and
/// what a scrape sees of a registry that changes meanwhile are described
/// in docs/metrics.md; in short: each breaker's samples of one family
/// come from one reading of it, taken under its slot lock; the text is
/// formatted outside every lock.
///
/// The output is measured first, then written: with `len` too short,
/// `FUSEBOX_BUFFER_TOO_SMALL`, `buf` untouched and `*out_written` the size
/// needed (NUL included). If breakers are created, or counters gain
/// digits, between the measuring and the writing (another thread or an
/// interrupt, during this call) so that the text outgrows `len`, the
/// status is also `FUSEBOX_BUFFER_TOO_SMALL` with the new size, but `buf`
/// then holds an empty string (a NUL at `buf[0]`, the rest unspecified):
/// the only error that changes `buf`. Leave some room (say a quarter more
/// than the size reported) to make a retry unlikely. On firmware with
/// policies, a breaker that is in another context's function (one this
/// call preempted, or another core's) is left out of the families read
/// meanwhile (back in the next text); it is never `FUSEBOX_BUSY`. Reads
/// the clock once.
///
/// Errors: `FUSEBOX_NULL_PARAMETER`, `FUSEBOX_BUFFER_TOO_SMALL`,
/// `FUSEBOX_NO_CLOCK` (firmware before `fusebox_set_clock`: the time spent
/// open includes the current open period, read from the clock).
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes; `out_written` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_metrics_write(
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { metrics_write_in(&REGISTRY, buf, len, out_written) }
}

/// `fusebox_metrics_write` in `reg`.
///
/// # Safety
/// As `fusebox_metrics_write`.
#[inline(always)]
pub(super) unsafe fn metrics_write_in(
    reg: &RegistryInner<impl Storage>,
    buf: *mut core::ffi::c_char,
    len: usize,
    out_written: *mut usize,
) -> fusebox_status {
    non_null!(buf, out_written);
    let buf = try_slice_mut!(buf.cast::<u8>(), len);
    // Room for the text: all but the NUL's byte.
    let room = len.saturating_sub(1);
    let written = with_time(|now| {
        let text = buf.get_mut(..room).ok_or(Error::BufferTooSmall)?;
        Ok(reg.metrics_into(now, text))
    });
    match try_status!(written) {
        Ok(n) => match buf.get_mut(n) {
            Some(nul) => {
                *nul = 0;
                out!(out_written, n)
            }
            None => FUSEBOX_BUFFER_TOO_SMALL,
        },
        Err(MetricsError::BufferTooSmall { needed, .. }) => {
            // SAFETY: non-NULL (checked) and writable by this function's
            // contract.
            unsafe { out_written.write(needed.saturating_add(1)) };
            FUSEBOX_BUFFER_TOO_SMALL
        }
    }
}
