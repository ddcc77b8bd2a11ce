//! How a breaker writes its state into a snapshot blob (`crate::snapshot`
//! owns the format and the rest of it): a writer of little-endian fields
//! and the blob's flag bits.
#![forbid(unsafe_code)]

#[cfg(not(feature = "policies"))]
use super::{SNAPSHOT_BUCKETS, WINDOW_BITS_BYTES};
#[cfg(not(feature = "policies"))]
use crate::Policy;

/// Flag bits (offset 11): a last failure time, time accounting started,
/// a time window started, forced open for a time.
pub(crate) const F_FAILURE: u8 = 1;
pub(crate) const F_TIMED: u8 = 2;
pub(crate) const F_WINDOW: u8 = 4;
pub(crate) const F_FORCED: u8 = 8;

/// Writes fields one after another; refuses (returns `false`) instead of
/// panicking when the buffer is too short.
pub(crate) struct Writer<'a> {
    pub(crate) buf: &'a mut [u8],
    pub(crate) pos: usize,
    pub(crate) ok: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            pos: 0,
            ok: true,
        }
    }

    /// `K` bytes, stored as a whole (no copy routine called).
    #[inline(always)]
    fn array<const K: usize>(&mut self, bytes: [u8; K]) {
        let end = self.pos.saturating_add(K);
        let dst = self.buf.get_mut(self.pos..end);
        match dst.and_then(|d| <&mut [u8; K]>::try_from(d).ok()) {
            Some(dst) => *dst = bytes,
            None => self.ok = false,
        }
        self.pos = end;
    }

    /// One byte.
    #[inline(never)]
    pub(crate) fn u8(&mut self, v: u8) {
        self.array([v]);
    }

    /// A little-endian `u16`.
    #[inline(never)]
    pub(crate) fn u16(&mut self, v: u16) {
        self.array(v.to_le_bytes());
    }

    /// A little-endian `u32`.
    #[inline(never)]
    pub(crate) fn u32(&mut self, v: u32) {
        self.array(v.to_le_bytes());
    }

    /// A little-endian `u64`, as two `u32`s (low first).
    pub(crate) fn u64(&mut self, v: u64) {
        self.u32(v as u32);
        self.u32((v >> 32) as u32);
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s),
            None => self.ok = false,
        }
        self.pos = end;
    }
}

/// `n` zero bytes.
pub(crate) fn put_zeros(w: &mut Writer<'_>, n: usize) {
    for _ in 0..n {
        w.u8(0);
    }
}

/// The policy state of a breaker with Snakepit's policy and no history
/// (`PolicyParts::neutral`), encoded (blob offsets 136 to the end of the
/// buckets).
#[cfg(not(feature = "policies"))]
pub(crate) fn put_neutral_policy(w: &mut Writer<'_>, reset_timeout_ms: u32) {
    // Transitions, slow, stale, ignored; the half-open round.
    put_zeros(w, 32 + 12);
    w.u32(reset_timeout_ms);
    w.u32(reset_timeout_ms);
    w.u32(Policy::SNAKEPIT.rng_seed());
    // Time in each state, in the current one, since the probes began,
    // forced open; the count window's fill, padding, the newest bucket's
    // age; the outcome bits and the buckets.
    put_zeros(
        w,
        24 + 8 + 8 + 16 + 8 + 8 + 2 * WINDOW_BITS_BYTES + 12 * SNAPSHOT_BUCKETS,
    );
}
