//! Breaker ids: a slot index and the slot's generation in one value, so
//! that an id of a removed breaker never reaches a later occupant.
#![forbid(unsafe_code)]

#[cfg(doc)]
use crate::Error;

/// A handle on a breaker in a [`Registry`](crate::Registry).
///
/// It carries the slot's generation: once the breaker is removed, its id is
/// refused with [`Error::NotFound`] and never reaches a later occupant of the
/// same slot. Generations have 52 bits: an id could repeat only after one
/// slot has been reused 2^52 - 1 times, which at a million creations and
/// removals per second on that one slot takes 142 years. The raw value 0 is
/// never a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Id(u64);

impl Id {
    /// Bits of the raw id that hold the slot index.
    pub const INDEX_BITS: u32 = 12;
    const INDEX_MASK: u64 = (1 << Self::INDEX_BITS) - 1;
    /// The largest generation an id carries (52 bits).
    pub(crate) const GENERATION_MAX: u64 = u64::MAX >> Self::INDEX_BITS;

    pub(crate) const fn new(index: usize, generation: u64) -> Self {
        Id((generation << Self::INDEX_BITS) | (index as u64 & Self::INDEX_MASK))
    }

    /// The raw value, e.g. to hand across an FFI boundary.
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// An id from a raw value. Any value is accepted; a forged or stale one
    /// is refused by the registry with [`Error::NotFound`].
    pub const fn from_raw(raw: u64) -> Self {
        Id(raw)
    }

    pub(crate) const fn index(self) -> usize {
        (self.0 & Self::INDEX_MASK) as usize
    }

    pub(crate) const fn generation(self) -> u64 {
        self.0 >> Self::INDEX_BITS
    }
}
