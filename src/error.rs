//! Errors as values: every failure of the public API is one of these.
#![forbid(unsafe_code)]

use core::fmt;

/// Why an operation was refused. Never a panic: every refusal is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
// The discriminants are the C API's status codes (`FUSEBOX_*`), so that
// converting an error to its status is a cast, not a table.
#[non_exhaustive]
#[repr(u8)]
pub enum Error {
    /// The breaker rejected the call (open, or half-open with every probe
    /// slot taken).
    CircuitOpen = 1,
    /// A [`Config`](crate::Config) field is out of range (see
    /// [`Config::validate`](crate::Config::validate)).
    InvalidConfig = 3,
    /// A breaker name is empty or longer than [`NAME_MAX`](crate::NAME_MAX) bytes.
    InvalidName = 4,
    /// A breaker with this name already exists in the registry.
    NameTaken = 5,
    /// Every slot of the registry is in use.
    RegistryFull = 6,
    /// No breaker has this id (never created, removed, or forged), or no
    /// breaker has this name.
    NotFound = 7,
    /// Not now, and waiting would never end: the registry was entered
    /// again from inside its own bookkeeping (on one thread, from a signal
    /// handler), or [`set_listener`](crate::Registry::set_listener) was
    /// called from inside the listener it would replace (without `std`:
    /// while a call of it is in progress), or, without `std`, a structural
    /// method called while another is in progress, or, without `std` with
    /// policies, an operation on a breaker called while another context's
    /// operation on it is in progress (one that this call preempted: see
    /// [`Registry`](crate::Registry)). Nothing changed: retry later.
    Busy = 9,
    /// A snapshot does not fit in the buffer given.
    BufferTooSmall = 10,
    /// A snapshot blob is truncated, has the wrong magic, a bad CRC, or
    /// counters no breaker could have.
    BadSnapshot = 11,
    /// A snapshot blob has a format version this build does not read.
    SnapshotVersion = 12,
    /// A snapshot was taken with a different configuration than the one
    /// given to restore it.
    ConfigMismatch = 13,
    /// This build cannot do it: a policy asked of a build without the
    /// `policies` feature, or a snapshot of a breaker with a non-default
    /// policy or in a manual state (the snapshot format carries Snakepit's
    /// state only).
    Unsupported = 14,
    /// A permit from an earlier generation of the breaker (it changed state,
    /// was reset, or its probes were released since): the outcome was not
    /// recorded, only counted as stale.
    StalePermit = 15,
    /// Memory given for a [`PlacedRegistry`](crate::PlacedRegistry) is
    /// misaligned or too short for the capacity, or the capacity is
    /// outside `1..=`[`MAX_CAPACITY`](crate::MAX_CAPACITY). Nothing was
    /// written.
    InvalidMemory = 16,
    /// Memory holds no registry this build can use: not placed by
    /// fusebox, or by a version, build (features, target) or layout that
    /// lays it out differently.
    LayoutMismatch = 17,
}

impl Error {
    /// A short, static, human-readable description. O(1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::CircuitOpen => "circuit open",
            Error::InvalidConfig => "invalid config",
            Error::InvalidName => "invalid name",
            Error::NameTaken => "name taken",
            Error::RegistryFull => "registry full",
            Error::NotFound => "not found",
            Error::Busy => "registry busy",
            Error::BufferTooSmall => "buffer too small",
            Error::BadSnapshot => "bad snapshot",
            Error::SnapshotVersion => "unsupported snapshot version",
            Error::ConfigMismatch => "config mismatch",
            Error::Unsupported => "unsupported",
            Error::StalePermit => "stale permit",
            Error::InvalidMemory => "invalid registry memory",
            Error::LayoutMismatch => "registry layout mismatch",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Error {}

/// The result of a guarded `call` that did not produce the operation's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallError<E> {
    /// The operation did not run: the breaker rejected it
    /// ([`Error::CircuitOpen`]) or the id was not found.
    Rejected(Error),
    /// The operation ran and failed with its own error, which was recorded
    /// as a failure and is handed back unchanged.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Rejected(e) => write!(f, "rejected: {e}"),
            CallError::Failed(e) => write!(f, "failed: {e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for CallError<E> {}
