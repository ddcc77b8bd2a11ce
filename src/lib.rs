//! A circuit breaker for C programs and firmware without an allocator:
//! `no_std`, no `alloc`, no panics, time only from a [`Clock`] you supply.
//!
//! A breaker opens after enough failures and rejects calls at once; after
//! its open duration it lets probes through (half-open) and closes when they
//! succeed. The defaults reproduce the circuit breaker of Snakepit (an
//! Elixir library) rule for rule; with the `policies` feature (on by
//! default) a [`Policy`] adds rate windows, slow calls, half-open control,
//! backoff, jitter, manual states, [`Permit`]s and [`Event`]s.
//!
//! - [`Breaker`]: one breaker, owned (`&mut self`, no locking). Every
//!   operation is O(1) and takes the time as an argument.
//! - [`Registry`]: up to `N` named breakers in fixed memory, shared by id
//!   ([`Id`]) between threads or interrupt handlers. Critical sections
//!   cover bookkeeping only, never your operation or your clock.
//! - [`Clock`]: monotonic milliseconds; [`ManualClock`] for tests, [`Tick32`]
//!   to extend a wrapping 32-bit tick, `StdClock` (feature `std`) for the
//!   host's monotonic clock, or any `Fn() -> u64`.
//! - [`Config`]: Snakepit's defaults, changed with `with_*` methods;
//!   invalid values are [`Error::InvalidConfig`] when the breaker is made.
//! - [`snapshot`]: a breaker's state as bytes, to keep it across a reboot.
//!
//! An owned breaker, driven by hand:
//!
//! ```
//! use fusebox::{Breaker, Config, Error, State};
//!
//! let mut b = Breaker::new(Config::default().with_failure_threshold(2)).unwrap();
//! b.record_failure(0);
//! b.record_failure(10);
//! assert_eq!(b.try_acquire(20), Err(Error::CircuitOpen));
//! // 30 s (reset_timeout_ms) after the last failure, one probe goes through.
//! assert_eq!(b.try_acquire(30_010), Ok(State::HalfOpen));
//! b.record_success(30_020);
//! assert_eq!(b.state(30_020), State::Closed);
//! ```
//!
//! A shared registry in a `static`, with an operation run through it:
//!
//! ```
//! use fusebox::{CallError, Config, Error, ManualClock, Registry};
//!
//! static BREAKERS: Registry<4> = Registry::new();
//! let clock = ManualClock::new(0);
//! let id = BREAKERS.create(b"db", Config::default().with_failure_threshold(1)).unwrap();
//!
//! let r: Result<u32, _> = BREAKERS.call(id, &clock, || Err("refused"));
//! assert_eq!(r, Err(CallError::Failed("refused")));
//! // Open: the operation does not run.
//! let r = BREAKERS.call(id, &clock, || Ok::<u32, &str>(1));
//! assert_eq!(r, Err(CallError::Rejected(Error::CircuitOpen)));
//! assert_eq!(BREAKERS.lookup(b"db"), Ok(id));
//! ```
//!
//! # Critical sections
//!
//! The registry takes its critical sections from the `critical-section`
//! crate, and the final binary provides the implementation; a library never
//! chooses it. On a host, a Rust program adds
//! `critical-section = { version = "1", features = ["std"] }`; Rust
//! firmware uses its HAL's (for example `cortex-m`'s
//! `critical-section-single-core`). An owned [`Breaker`] needs none.
//!
//! # Features
//!
//! - `policies` (default): [`Policy`], events, permits and the other
//!   policies beyond Snakepit. `default-features = false` keeps only
//!   Snakepit's breaker, for the smallest firmware.
//! - `std`: `StdClock`; per-slot locks in the registry (a bounded spin,
//!   then a futex wait on Linux) and, on unix with 64-bit atomics, a
//!   lock-free fast path for operations that only count. Without it the
//!   registry never waits: with policies, an operation on a breaker that
//!   another context (an interrupt handler's preempted task, another
//!   thread) is in an operation on answers [`Error::Busy`].
//! - `defmt`: `defmt::Format` on the public value types.
//! - `capi`, `port-c`, `panic-handler`, `panic-never-proof`: building the
//!   C library (host or firmware). The C API is compiled only with `capi`
//!   and is not part of these docs: its header is `include/fusebox.h`,
//!   its rules in `docs/c-api.md`.
//!
//! Errors are values ([`Error`], [`CallError`]), never panics. The guides
//! (semantics, policies, metrics, snapshots, firmware, performance,
//! robustness, ABI) are in `docs/` of the package and the repository, and
//! README.md covers installing the C library.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

// README and the guides under docs/ are doctested.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;
// The policies guide's examples need the `policies` feature.
#[cfg(all(doctest, feature = "policies"))]
#[doc = include_str!("../docs/policies.md")]
struct PoliciesGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/metrics.md")]
struct MetricsGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/snapshots.md")]
struct SnapshotsGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/firmware.md")]
struct FirmwareGuide;
#[cfg(doctest)]
#[doc = include_str!("../docs/placed-registries.md")]
struct PlacedRegistriesGuide;

/// cbindgen:ignore
// Used by events (policies), the C API's clock setters and the registry's
// structural token.
#[cfg(feature = "std")]
mod backoff;
/// cbindgen:ignore
mod breaker;
/// cbindgen:ignore
mod clock;
/// cbindgen:ignore
mod config;
/// cbindgen:ignore
mod error;
/// cbindgen:ignore
#[cfg(feature = "policies")]
mod events;
/// cbindgen:ignore
mod fast;
#[cfg(feature = "capi")]
pub mod ffi;
/// cbindgen:ignore
mod id;
/// cbindgen:ignore
mod name;
/// cbindgen:ignore
mod policy;
/// cbindgen:ignore
mod port;
/// cbindgen:ignore
mod registry;
/// cbindgen:ignore
mod slot;
/// cbindgen:ignore
pub mod snapshot;

pub use breaker::{Breaker, Permit, Reason, State, Stats, Transition};
#[cfg(feature = "std")]
pub use clock::StdClock;
pub use clock::{Clock, ManualClock, Tick32, Tick32State, TICK32_BEHIND_MS};
pub use config::Config;
pub use error::{CallError, Error};
#[cfg(feature = "policies")]
pub use events::{Event, Listener, EVENT_QUEUE_LEN};
pub use id::Id;
pub use name::NAME_MAX;
pub use policy::{
    Outcome, Policy, ProbeJudge, TripRule, WaitAction, WindowKind, MAX_BUCKETS, MAX_WINDOW_CALLS,
};
pub use registry::{
    MetricsError, OwnedStorage, PlacedRegistry, PlacedStorage, Registry, RegistryInner, Storage,
    MAX_CAPACITY,
};
pub use snapshot::{SNAPSHOT_LEN, SNAPSHOT_VERSION};
