#![doc = include_str!("../README.md")]
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

#[cfg(all(feature = "capi", panic = "unwind"))]
compile_error!(
    "the C static library must be built with panic = \"abort\" (use --release; the release profile sets it): unwinding into C is undefined behaviour"
);

#[cfg(all(feature = "std", feature = "panic-handler"))]
compile_error!(
    "feature `panic-handler` is for no_std firmware: with `std`, std provides the panic handler"
);

#[cfg(all(feature = "std", feature = "port-c"))]
compile_error!(
    "features `std` and `port-c` each provide the critical-section implementation: pick one"
);

// The guides under docs/ are doctested like README (the crate's page).
#[cfg(doctest)]
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

/// cbindgen:ignore
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
pub use clock::{Clock, ManualClock, Tick32, Tick32State};
pub use config::Config;
pub use error::{CallError, Error};
#[cfg(feature = "policies")]
pub use events::{Event, Listener, EVENT_QUEUE_LEN};
pub use id::Id;
pub use name::NAME_MAX;
pub use policy::{
    Outcome, Policy, ProbeJudge, TripRule, WaitAction, WindowKind, MAX_BUCKETS, MAX_WINDOW_CALLS,
};
pub use registry::{MetricsError, Registry, MAX_CAPACITY};
pub use snapshot::{SNAPSHOT_LEN, SNAPSHOT_VERSION};
