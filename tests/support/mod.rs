//! Helpers shared by integration tests.
pub mod model;
pub mod policy_model;
