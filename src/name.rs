//! Breaker names: 1..=[`NAME_MAX`] arbitrary bytes, kept inline.
#![forbid(unsafe_code)]

/// Longest breaker name, in bytes.
pub const NAME_MAX: usize = 31;

/// A breaker name: 1..=[`NAME_MAX`] arbitrary bytes (not necessarily UTF-8).
pub(crate) type Name = heapless::Vec<u8, NAME_MAX, u8>;
