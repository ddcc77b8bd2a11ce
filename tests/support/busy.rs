//! Retrying a registry call that answers `Busy`, for the tests whose
//! threads share breakers.

use fusebox::Error;

/// `op` again while it answers `Busy`. Without `std` the registry never
/// waits: a structural call meeting another in progress answers `Busy`,
/// and so, with policies, does a call on a breaker that another thread is
/// in a call on (firmware lends the slot out of the critical section for
/// the policies' long bookkeeping). Either did nothing. With `std` calls
/// wait, and `Busy` never comes from another thread: it is returned.
pub fn unless_busy<T>(mut op: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    loop {
        match op() {
            Err(Error::Busy) if !cfg!(feature = "std") => std::thread::yield_now(),
            other => return other,
        }
    }
}
