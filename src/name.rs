//! Breaker names: 1..=[`NAME_MAX`] arbitrary bytes, kept inline.
#![forbid(unsafe_code)]

use crate::Error;

/// Longest breaker name, in bytes.
pub const NAME_MAX: usize = 31;

/// A breaker name: 1..=[`NAME_MAX`] arbitrary bytes (not necessarily UTF-8).
pub(crate) type Name = heapless::Vec<u8, NAME_MAX, u8>;

/// `bytes` as a name: [`Error::InvalidName`] when empty or too long.
pub(crate) fn to_name(bytes: &[u8]) -> Result<Name, Error> {
    if bytes.is_empty() {
        return Err(Error::InvalidName);
    }
    Name::from_slice(bytes).map_err(|_| Error::InvalidName)
}
