//! Breaker configuration, with Snakepit's defaults.
#![forbid(unsafe_code)]

use crate::Error;
#[cfg(feature = "policies")]
use crate::Policy;

/// How a breaker trips and recovers.
///
/// `Config::default()` (and [`Config::SNAKEPIT`]) is Snakepit's default:
/// 5 failures, 30 000 ms open, 1 half-open probe.
///
/// ```
/// use fusebox::Config;
/// let cfg = Config::default().with_failure_threshold(3).with_reset_timeout_ms(1_000);
/// assert_eq!(cfg.failure_threshold, 3);
/// assert!(cfg.validate().is_ok());
/// assert!(Config::default().with_failure_threshold(0).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Config {
    /// Failures (counted since the last close or reset) that open the
    /// breaker. At least 1.
    pub failure_threshold: u32,
    /// Milliseconds after the last failure before an open breaker lets a
    /// probe through (half-open). At least 1.
    pub reset_timeout_ms: u32,
    /// Probes admitted by `try_acquire`/`call` while half-open. At least 1.
    pub half_open_max_calls: u32,
    /// Everything beyond Snakepit (feature `policies`); defaults to
    /// [`Policy::SNAKEPIT`].
    #[cfg(feature = "policies")]
    pub policy: Policy,
}

impl Config {
    /// Snakepit's defaults: 5 / 30 000 ms / 1.
    pub const SNAKEPIT: Config = Config {
        failure_threshold: 5,
        reset_timeout_ms: 30_000,
        half_open_max_calls: 1,
        #[cfg(feature = "policies")]
        policy: Policy::SNAKEPIT,
    };

    /// All zero: the (invalid) config of an empty registry slot.
    pub(crate) const ZERO: Config = Config {
        failure_threshold: 0,
        reset_timeout_ms: 0,
        half_open_max_calls: 0,
        #[cfg(feature = "policies")]
        policy: Policy::ZERO,
    };

    /// Snakepit's defaults, as a `const fn`.
    pub const fn new() -> Self {
        Self::SNAKEPIT
    }

    /// Returns `self` with `failure_threshold` set.
    #[must_use]
    pub const fn with_failure_threshold(mut self, n: u32) -> Self {
        self.failure_threshold = n;
        self
    }

    /// Returns `self` with `reset_timeout_ms` set.
    #[must_use]
    pub const fn with_reset_timeout_ms(mut self, ms: u32) -> Self {
        self.reset_timeout_ms = ms;
        self
    }

    /// Returns `self` with `half_open_max_calls` set.
    #[must_use]
    pub const fn with_half_open_max_calls(mut self, n: u32) -> Self {
        self.half_open_max_calls = n;
        self
    }

    /// Returns `self` with `policy` set.
    #[cfg(feature = "policies")]
    #[must_use]
    pub const fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Checks every field: `failure_threshold`, `reset_timeout_ms` and
    /// `half_open_max_calls` must each be at least 1 (Snakepit types them as
    /// positive integers), and each [`Policy`](crate::Policy) field must be
    /// in its documented range. O(1).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a field is 0.
    pub const fn validate(&self) -> Result<(), Error> {
        if self.failure_threshold == 0
            || self.reset_timeout_ms == 0
            || self.half_open_max_calls == 0
        {
            return Err(Error::InvalidConfig);
        }
        #[cfg(feature = "policies")]
        if let Err(e) = self
            .policy
            .validate(self.reset_timeout_ms, self.half_open_max_calls)
        {
            return Err(e);
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::SNAKEPIT
    }
}
