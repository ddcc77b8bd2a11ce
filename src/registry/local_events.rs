//! The listeners of registries shared by processes, one per process:
//! each process keeps, in its own memory, an event queue for each shared
//! registry it set a listener on, found by the address of the registry's
//! slots in that process. A state change is queued and delivered in the
//! process whose operation made it: a transition reaches one listener at
//! most, that of the process that caused it, if it set one (the shared
//! memory holds no function pointer, which would mean nothing in another
//! process).
#![forbid(unsafe_code)]

use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering::{AcqRel, Acquire};

use crate::events::EventQueue;
use crate::Error;

/// Shared registries a process can set listeners on, over its lifetime
/// (an entry, once taken, stays its registry's).
pub(crate) const SHARED_LISTENERS: usize = 8;

/// One shared registry's queue in this process.
struct Local {
    /// The registry's key (the address of its slots here); 0 when free.
    key: AtomicUsize,
    queue: EventQueue,
}

static LOCAL: [Local; SHARED_LISTENERS] = [const {
    Local {
        key: AtomicUsize::new(0),
        queue: EventQueue::new(),
    }
}; SHARED_LISTENERS];

/// This process's queue for the shared registry `key`, if it took one.
/// O([`SHARED_LISTENERS`]) loads; only state changes and listener calls
/// ask.
pub(super) fn find(key: usize) -> Option<&'static EventQueue> {
    LOCAL
        .iter()
        .find(|l| l.key.load(Acquire) == key)
        .map(|l| &l.queue)
}

/// [`find`], taking a free entry for `key` if it has none.
///
/// # Errors
/// [`Error::RegistryFull`] when [`SHARED_LISTENERS`] other shared
/// registries took every entry.
pub(super) fn claim(key: usize) -> Result<&'static EventQueue, Error> {
    if let Some(q) = find(key) {
        return Ok(q);
    }
    for l in &LOCAL {
        match l.key.compare_exchange(0, key, AcqRel, Acquire) {
            Ok(_) => return Ok(&l.queue),
            // Another thread took this entry for the same registry.
            Err(k) if k == key => return Ok(&l.queue),
            Err(_) => {}
        }
    }
    Err(Error::RegistryFull)
}
