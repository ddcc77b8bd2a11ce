//! Where a registry's slots live: in the registry value itself
//! ([`OwnedStorage`], a capacity fixed at compile time: [`Registry`]), or
//! in memory the caller placed it in ([`PlacedStorage`], a capacity chosen
//! at run time: [`PlacedRegistry`]). The registry's logic is written once,
//! over [`Storage`], in the spirit of heapless's `VecInner` / `VecView`.
//!
//! [`Registry`]: crate::Registry
//! [`PlacedRegistry`]: crate::PlacedRegistry
#![forbid(unsafe_code)]

#[cfg(feature = "policies")]
use crate::events::EventQueue;
use crate::fast::{Fast, FastPath, NoFast};
#[cfg(fusebox_robust)]
use crate::slot::StructLock;
use crate::slot::{Outer, PlacedCell, SlotAccess, SlotCell};
use crate::Error;

use super::names::{Entry, NameTable};
use super::Slot;

/// Where a registry keeps its slots: [`OwnedStorage`] or
/// [`PlacedStorage`]. Sealed: the registry's invariants depend on the
/// storage, so no other crate implements it.
pub trait Storage: sealed::StorageAccess {}

pub(crate) mod sealed {
    use super::*;

    /// What the registry's logic reads of its storage. Every method is a
    /// field access, inlined.
    pub trait StorageAccess {
        /// The fast path: the host's lanes for [`OwnedStorage`] with
        /// `fusebox_fast`, none otherwise.
        type Fast: Fast;
        /// The cell of each slot.
        type Cell: SlotAccess<Slot>;
        /// The names and the structural token.
        fn names(&self) -> &NameTable;
        /// The slots, one per breaker: the capacity is their number.
        fn slots(&self) -> &[Self::Cell];
        /// The fast path.
        fn fast(&self) -> &Self::Fast;
        /// The state changes waiting for the listener; in a registry
        /// shared by processes, this process's queue for it, if it set a
        /// listener (src/registry/local_events.rs).
        #[cfg(feature = "policies")]
        fn events(&self) -> Option<&EventQueue>;
        /// The queue a listener is set on ([`events`](Self::events), made
        /// if need be).
        ///
        /// # Errors
        /// Those of `local_events::claim`, in a shared registry.
        #[cfg(feature = "policies")]
        #[inline(always)]
        fn listener_queue(&self) -> Result<&EventQueue, Error> {
            self.events().ok_or(Error::Unsupported)
        }
        /// The structural lock taken before the names' token, if the
        /// storage has one (processes sharing a placed registry).
        ///
        /// # Errors
        /// [`Error::Busy`] when this thread holds it already.
        #[inline(always)]
        fn lock_structure(&self) -> Result<Outer<'_>, Error> {
            Ok(Outer::NONE)
        }
        /// Whether processes share it.
        #[inline(always)]
        fn is_shared(&self) -> bool {
            false
        }
    }
}

/// A registry's own storage for `N` breakers: [`Registry<N>`](crate::Registry).
/// Zero-initialised, so that a `static` registry lands in `.bss`.
#[derive(Debug)]
pub struct OwnedStorage<const N: usize> {
    /// Which slot holds which name: read without a lock.
    names: NameTable<[Entry; N]>,
    slots: [SlotCell<Slot>; N],
    /// With `std`: the operations that only count, without the slot lock.
    fast: FastPath<N>,
    #[cfg(feature = "policies")]
    events: EventQueue,
}

impl<const N: usize> OwnedStorage<N> {
    pub(crate) const fn new() -> Self {
        OwnedStorage {
            names: NameTable::new(),
            slots: [const { SlotCell::new(Slot::EMPTY) }; N],
            fast: FastPath::new(),
            #[cfg(feature = "policies")]
            events: EventQueue::new(),
        }
    }
}

impl<const N: usize> Storage for OwnedStorage<N> {}

impl<const N: usize> sealed::StorageAccess for OwnedStorage<N> {
    type Fast = FastPath<N>;
    type Cell = SlotCell<Slot>;
    #[inline(always)]
    fn names(&self) -> &NameTable {
        &self.names
    }
    #[inline(always)]
    fn slots(&self) -> &[SlotCell<Slot>] {
        &self.slots
    }
    #[inline(always)]
    fn fast(&self) -> &FastPath<N> {
        &self.fast
    }
    #[cfg(feature = "policies")]
    #[inline(always)]
    fn events(&self) -> Option<&EventQueue> {
        Some(&self.events)
    }
}

/// The storage of a registry placed in caller memory
/// ([`PlacedRegistry`](crate::PlacedRegistry)): references into that
/// memory, which holds a header, the event queue, the slots and the
/// names (src/registry/placed.rs). No fast path: every operation takes
/// its breaker's slot. Placed for processes to share (Linux with `std`),
/// its slots' locks are robust process-shared pthread mutexes, and a
/// structural lock comes before the names' token.
#[derive(Debug, Clone, Copy)]
pub struct PlacedStorage<'a> {
    pub(super) names: &'a NameTable,
    pub(super) slots: &'a [PlacedCell<Slot>],
    /// The queue in the memory; `None` when shared by processes (each
    /// process has its own queue then).
    #[cfg(feature = "policies")]
    pub(super) events: Option<&'a EventQueue>,
    #[cfg(fusebox_robust)]
    pub(super) structure: &'a StructLock,
    #[cfg(fusebox_robust)]
    pub(super) shared: bool,
}

impl Storage for PlacedStorage<'_> {}

impl sealed::StorageAccess for PlacedStorage<'_> {
    type Fast = NoFast;
    type Cell = PlacedCell<Slot>;
    #[inline(always)]
    fn names(&self) -> &NameTable {
        self.names
    }
    #[inline(always)]
    fn slots(&self) -> &[PlacedCell<Slot>] {
        self.slots
    }
    #[inline(always)]
    fn fast(&self) -> &NoFast {
        &NoFast
    }
    #[cfg(feature = "policies")]
    #[inline(always)]
    fn events(&self) -> Option<&EventQueue> {
        #[cfg(fusebox_robust)]
        if self.shared {
            return super::local_events::find(self.slots.as_ptr() as usize);
        }
        self.events
    }
    #[cfg(all(fusebox_robust, feature = "policies"))]
    fn listener_queue(&self) -> Result<&EventQueue, Error> {
        match self.events {
            Some(events) => Ok(events),
            None => super::local_events::claim(self.slots.as_ptr() as usize),
        }
    }
    /// Only a shared registry takes its structural lock: in one process
    /// the names' token alone keeps structural operations apart.
    #[cfg(fusebox_robust)]
    #[inline(always)]
    fn lock_structure(&self) -> Result<Outer<'_>, Error> {
        if self.shared {
            Outer::lock(self.structure)
        } else {
            Ok(Outer::NONE)
        }
    }
    #[cfg(fusebox_robust)]
    #[inline(always)]
    fn is_shared(&self) -> bool {
        self.shared
    }
}
