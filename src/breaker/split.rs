//! [`SplitU64`]: the breaker's 64-bit counters and times, 4-byte aligned.
//!
//! A breaker is 4-byte aligned so that it packs into smaller registry
//! slots on 32-bit microcontrollers. There a `u64` is two `u32` halves
//! and an increment is an add with carry (no library routine). On 64-bit
//! targets it is one `u64` in a `packed(4)` struct, so that an increment
//! is one 8-byte store: a process killed at any instant (a registry shared
//! by processes, src/slot/robust.rs) never leaves a counter with its low
//! half wrapped and its high half not yet carried, 2^32 short.

/// A `u64` that needs only 4-byte alignment.
#[cfg(target_pointer_width = "64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub(super) struct SplitU64(u64);

#[cfg(target_pointer_width = "64")]
impl SplitU64 {
    pub(super) const fn new(v: u64) -> Self {
        SplitU64(v)
    }

    pub(super) const fn get(self) -> u64 {
        self.0
    }

    /// Adds `n`, wrapping after 2^64: one read and one 8-byte write.
    #[inline(always)]
    pub(super) fn add(&mut self, n: u32) {
        self.0 = self.0.wrapping_add(u64::from(n));
    }

    /// Adds `n` (the fast path's counts), wrapping after 2^64.
    #[cfg(fusebox_fast)]
    pub(super) fn add64(&mut self, n: u64) {
        self.0 = self.0.wrapping_add(n);
    }
}

/// A `u64` kept as two `u32` halves.
#[cfg(not(target_pointer_width = "64"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SplitU64([u32; 2]);

#[cfg(not(target_pointer_width = "64"))]
impl SplitU64 {
    pub(super) const fn new(v: u64) -> Self {
        SplitU64([v as u32, (v >> 32) as u32])
    }

    pub(super) const fn get(self) -> u64 {
        (self.0[1] as u64) << 32 | self.0[0] as u64
    }

    /// Adds `n`, wrapping only after 2^64: an add with carry on 32-bit
    /// cores (no library routine).
    #[inline(always)]
    pub(super) fn add(&mut self, n: u32) {
        let (lo, carry) = self.0[0].overflowing_add(n);
        self.0[0] = lo;
        self.0[1] = self.0[1].wrapping_add(u32::from(carry));
    }

    /// Adds `n` (the fast path's counts), wrapping after 2^64.
    #[cfg(fusebox_fast)]
    pub(super) fn add64(&mut self, n: u64) {
        *self = SplitU64::new(self.get().wrapping_add(n));
    }
}

#[cfg(test)]
mod tests {
    use super::SplitU64;

    #[test]
    fn adds_carry_into_the_high_half() {
        let mut v = SplitU64::new(0x1234_5678_FFFF_FFFF);
        v.add(1);
        assert_eq!(v.get(), 0x1234_5679_0000_0000);
        let mut w = SplitU64::new(u64::MAX);
        w.add(2);
        assert_eq!(w.get(), 1);
        assert_eq!(core::mem::align_of::<SplitU64>(), 4);
        assert_eq!(core::mem::size_of::<SplitU64>(), 8);
    }
}
