//! Structural operations' entry (the token, after the storage's
//! structural lock), the repair after a process died holding that lock,
//! and what a registry shared by processes accepts.

use super::names::Writer;
use super::{RegistryInner, Storage};
use crate::slot::SlotAccess;
use crate::{Config, Error};

impl<S: Storage> RegistryInner<S> {
    /// Whether processes share this registry
    /// ([`PlacedRegistry::place_shared`](crate::PlacedRegistry::place_shared)).
    #[inline(always)]
    pub fn is_shared(&self) -> bool {
        self.storage.is_shared()
    }

    /// `config` is one a registry shared by processes can hold: a probe
    /// admitted in half-open by a process that is then killed is never
    /// recorded, so such a breaker needs `half_open_max_wait_ms` (which
    /// ends a half-open period whatever its probes) to leave half-open.
    /// [`Error::InvalidConfig`] otherwise; always `Ok` in a registry of one
    /// process.
    #[inline(always)]
    pub(super) fn check_shareable(&self, config: &Config) -> Result<(), Error> {
        #[cfg(feature = "policies")]
        if self.is_shared() && config.policy.half_open_max_wait_ms == 0 {
            return Err(Error::InvalidConfig);
        }
        let _ = config;
        Ok(())
    }

    /// Takes the structural token (after the storage's structural lock,
    /// if it has one). When the lock's last holder died mid-operation,
    /// the names and slots it may have left half-changed are repaired
    /// first ([`repair`](Self::repair)).
    pub(super) fn begin(&self) -> Result<Writer<'_>, Error> {
        let mut outer = self.storage.lock_structure()?;
        let repair = outer.take_repair();
        let w = self.names().begin_with(outer)?;
        if repair {
            self.repair(&w);
        }
        Ok(w)
    }

    /// Brings every name and slot back to agreement after a structural
    /// operation cut short by its process's death: a half-written name is
    /// cleared; a name whose slot does not hold its occupant (a remove cut
    /// short) is cleared; a slot occupied with no name (a create cut short,
    /// its id never returned) is emptied. O(N) slot locks.
    #[cold]
    fn repair(&self, w: &Writer<'_>) {
        for (i, slot) in self.slots().iter().enumerate() {
            let named = w.repaired(i);
            let _ = slot.with(|s| match named {
                Some(id) if s.holds(id).is_err() => w.set(i, None, id),
                Some(_) => {}
                None => s.vacate(),
            });
        }
    }
}
