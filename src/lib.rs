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

mod breaker;
mod clock;
mod config;
mod error;
mod registry;

pub use breaker::{Breaker, State, Stats};
pub use clock::{Clock, ManualClock, Tick32, Tick32State};
pub use config::Config;
pub use error::{CallError, Error};
pub use registry::{Id, Name, Registry, MAX_CAPACITY, NAME_MAX};
