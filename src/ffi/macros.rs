//! The pointer plumbing every exported function repeats, as rustls-ffi's
//! `try_ref_from_ptr!` and `try_slice!` carry it: NULL checks, slices and
//! names from C pointers, out-parameters, and early returns of a status.
//!
//! The macros return from the exported function they expand in, so each
//! reads as one step of it. Their `unsafe` blocks rely on that function's
//! contract (its `# Safety` section): every pointer given to them is NULL
//! or valid for what the macro does with it. NULL checks come first, in a
//! `non_null!`, before any other check: a NULL pointer is
//! `FUSEBOX_NULL_PARAMETER` whatever else is wrong.

use core::ffi::c_char;

use super::types::{fusebox_status, FUSEBOX_INVALID_NAME};
use crate::NAME_MAX;

/// Returns `FUSEBOX_NULL_PARAMETER` if any of the pointers is NULL.
macro_rules! non_null {
    ($($ptr:expr),+ $(,)?) => {
        if $($ptr.is_null())||+ {
            return $crate::ffi::FUSEBOX_NULL_PARAMETER;
        }
    };
}

/// The function inside a C callback `Option`, or returns
/// `FUSEBOX_NULL_PARAMETER` for NULL.
macro_rules! try_fn {
    ($f:expr) => {
        match $f {
            Some(f) => f,
            None => return $crate::ffi::FUSEBOX_NULL_PARAMETER,
        }
    };
}

/// The value of a `Result<T, fusebox_status>`, or returns its status.
macro_rules! try_status {
    ($r:expr) => {
        match $r {
            Ok(v) => v,
            Err(s) => return s,
        }
    };
}

/// The bytes `ptr` points to (`len` of them), or returns
/// `FUSEBOX_NULL_PARAMETER` for NULL. `ptr` is readable for `len` bytes by
/// the exported function's contract.
macro_rules! try_slice {
    ($ptr:expr, $len:expr) => {{
        let ptr: *const u8 = $ptr;
        non_null!(ptr);
        // SAFETY: non-NULL, and readable for `len` bytes by the exported
        // function's contract.
        unsafe { core::slice::from_raw_parts(ptr, $len) }
    }};
}

/// As [`try_slice!`], writable.
macro_rules! try_slice_mut {
    ($ptr:expr, $len:expr) => {{
        let ptr: *mut u8 = $ptr;
        non_null!(ptr);
        // SAFETY: non-NULL, and writable for `len` bytes by the exported
        // function's contract.
        unsafe { core::slice::from_raw_parts_mut(ptr, $len) }
    }};
}

/// The name a C string holds (see [`read_name`]), or returns
/// `FUSEBOX_NULL_PARAMETER` (NULL) or `FUSEBOX_INVALID_NAME`.
macro_rules! try_name {
    ($ptr:expr) => {{
        let ptr: *const core::ffi::c_char = $ptr;
        non_null!(ptr);
        // SAFETY: non-NULL, and readable up to its NUL or
        // `FUSEBOX_NAME_MAX + 1` bytes by the exported function's contract.
        try_status!(unsafe { $crate::ffi::macros::read_name(ptr) })
    }};
}

/// Writes `value` through the out-parameter `out` and evaluates to
/// `FUSEBOX_OK`; returns `FUSEBOX_NULL_PARAMETER` for NULL. `out` is
/// writable by the exported function's contract.
macro_rules! out {
    ($out:expr, $value:expr) => {{
        let out = $out;
        non_null!(out);
        let value = $value;
        // SAFETY: non-NULL, and writable by the exported function's contract.
        unsafe { out.write(value) };
        $crate::ffi::FUSEBOX_OK
    }};
}

/// Writes the value of a `Result<T, fusebox_status>` through `out` (as
/// [`out!`]), or returns its status.
macro_rules! out_result {
    ($out:expr, $r:expr) => {
        out!($out, try_status!($r))
    };
}

/// Reads a NUL-terminated name, looking at no more than `NAME_MAX + 1` bytes.
///
/// # Safety
/// `name` is non-NULL and readable up to its NUL or `NAME_MAX + 1` bytes.
pub(super) unsafe fn read_name<'a>(name: *const c_char) -> Result<&'a [u8], fusebox_status> {
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
