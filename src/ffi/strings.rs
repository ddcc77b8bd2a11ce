//! The texts of `fusebox_status_str` and `fusebox_state_str`, as one block
//! of NUL-terminated text per function and a byte offset per code.
//!
//! Why: a table of pointers to the texts took 4 bytes a code (96 bytes of
//! firmware flash for the two functions); an offset takes one (24), and
//! the texts are the same bytes. The tables are built at compile time from
//! `(code, text)` pairs, so each text stays next to its code, and the
//! build fails if a code is missing or an offset does not fit in a byte.

use core::ffi::{c_char, CStr};

/// `N` texts and a fallback, one after the other in `text` (each with its
/// NUL), and each of the `N`'s offset in it. `L` is their total length
/// ([`text_len`]).
pub(super) struct Texts<const N: usize, const L: usize> {
    at: [u8; N],
    /// The fallback's offset (a constant: loads of it fold away).
    fallback_at: u16,
    text: [u8; L],
}

/// The bytes `texts` and `fallback` take, NULs included.
// Evaluated at compile time only (the statics' types): an index out of
// bounds would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
pub(super) const fn text_len(texts: &[(u32, &CStr)], fallback: &CStr) -> usize {
    let mut len = fallback.to_bytes_with_nul().len();
    let mut i = 0;
    while i < texts.len() {
        len += texts[i].1.to_bytes_with_nul().len();
        i += 1;
    }
    len
}

impl<const N: usize, const L: usize> Texts<N, L> {
    /// The table of `texts`, each `(code, text)` with `code` in `0..N`,
    /// every code once (else the build fails), and `fallback` for the
    /// codes past them, last. The texts are laid out in the order given.
    /// Evaluated at compile time only (statics): a failed check or an
    /// index out of bounds fails the build.
    #[allow(clippy::indexing_slicing)]
    pub(super) const fn new(texts: &[(u32, &CStr); N], fallback: &CStr) -> Self {
        let mut at = [0u8; N];
        let mut seen = [false; N];
        let mut text = [0u8; L];
        let mut end = 0;
        let mut i = 0;
        while i <= N {
            let s = if i < N { texts[i].1 } else { fallback };
            if i < N {
                let code = texts[i].0 as usize;
                assert!(code < N && !seen[code], "each code once, in 0..N");
                assert!(end <= u8::MAX as usize, "an offset past a byte");
                seen[code] = true;
                at[code] = end as u8;
            }
            let bytes = s.to_bytes_with_nul();
            let mut k = 0;
            while k < bytes.len() {
                text[end] = bytes[k];
                end += 1;
                k += 1;
            }
            i += 1;
        }
        assert!(end == L, "L is text_len of the texts");
        let fallback_at = (L - fallback.to_bytes_with_nul().len()) as u16;
        Texts {
            at,
            fallback_at,
            text,
        }
    }

    /// The text of `code`; the fallback for a code past the table.
    #[inline(always)]
    pub(super) fn get(&'static self, code: u32) -> *const c_char {
        let at = match self.at.get(code as usize) {
            Some(&at) => usize::from(at),
            None => usize::from(self.fallback_at),
        };
        self.text.as_ptr().wrapping_add(at).cast()
    }
}
