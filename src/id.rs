//! Breaker ids: a slot index and the slot's generation in one value, so
//! that an id of a removed breaker never reaches a later occupant.
#![forbid(unsafe_code)]

#[cfg(doc)]
use crate::Error;

/// A handle on a breaker in a [`Registry`](crate::Registry).
///
/// It carries the slot's generation: once the breaker is removed, its id is
/// refused with [`Error::NotFound`] and never reaches a later occupant of the
/// same slot (until that one slot has been reused 2^20 times). The raw value
/// 0 is never a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u32);

impl Id {
    /// Bits of the raw id that hold the slot index.
    pub const INDEX_BITS: u32 = 12;
    const INDEX_MASK: u32 = (1 << Self::INDEX_BITS) - 1;
    pub(crate) const GENERATION_MAX: u32 = u32::MAX >> Self::INDEX_BITS;

    pub(crate) const fn new(index: usize, generation: u32) -> Self {
        Id((generation << Self::INDEX_BITS) | (index as u32 & Self::INDEX_MASK))
    }

    /// The raw value, e.g. to hand across an FFI boundary.
    pub const fn to_raw(self) -> u32 {
        self.0
    }

    /// An id from a raw value. Any value is accepted; a forged or stale one
    /// is refused by the registry with [`Error::NotFound`].
    pub const fn from_raw(raw: u32) -> Self {
        Id(raw)
    }

    pub(crate) const fn index(self) -> usize {
        (self.0 & Self::INDEX_MASK) as usize
    }

    pub(crate) const fn generation(self) -> u32 {
        self.0 >> Self::INDEX_BITS
    }
}
