//! Snapshots of the registry: one breaker by id, or every breaker with its
//! name and config in one consistent pass, and their restoring (see the
//! [`snapshot`](crate::snapshot) module for the format).
#![forbid(unsafe_code)]

use super::names::NameWords;
use super::{RegistryInner, Slot, Storage};
use crate::breaker::Writer;
use crate::fast::Fast;
use crate::slot::SlotAccess;
use crate::snapshot::{self, ALL_OVERHEAD, ENTRY_LEN};
use crate::{Breaker, Config, Error, Id};

/// `NameWords::new` written to `out`, in a frame of its own (its
/// temporaries and its result off the restore's frame: the firmware's
/// stack).
#[inline(never)]
fn name_words(name: &[u8], out: &mut NameWords) -> Result<(), Error> {
    *out = NameWords::new(name)?;
    Ok(())
}

/// The name of an entry of a registry blob as words, written to `out`, in
/// a frame of its own.
#[inline(never)]
fn entry_name_words(entry: &[u8], out: &mut NameWords) -> Result<(), Error> {
    *out = NameWords::new(&snapshot::entry_name(entry)?)?;
    Ok(())
}

impl<const N: usize> crate::Registry<N> {
    /// Worst-case size of [`snapshot_all`](RegistryInner::snapshot_all)'s
    /// blob for this capacity, in bytes: [`snapshot_all_max`](RegistryInner::snapshot_all_max)
    /// as a constant.
    pub const SNAPSHOT_ALL_MAX: usize = ALL_OVERHEAD + N * ENTRY_LEN;
}

/// Snapshots.
impl<S: Storage> RegistryInner<S> {
    /// Worst-case size of [`snapshot_all`](Self::snapshot_all)'s blob for
    /// this registry's capacity, in bytes.
    pub fn snapshot_all_max(&self) -> usize {
        ALL_OVERHEAD + self.capacity() * ENTRY_LEN
    }

    /// Whether a snapshot is encoded straight from the slot's breaker into
    /// the caller's buffer (no copy of the breaker on the stack): when the
    /// slot is lent out of the critical section for long bookkeeping
    /// (firmware with policies), so that the encoding runs with
    /// interrupts enabled. Otherwise the breaker is copied under the
    /// slot's lock and encoded after it is released: a critical section
    /// (the Snakepit core on firmware) or a host's lock is held for a
    /// plain copy only.
    const ENCODE_IN_SLOT: bool = S::Cell::LENDS && Breaker::LONG_BOOKKEEPING;

    /// Writes breaker `id`'s snapshot, taken at `now_ms`, to the start of
    /// `buf`; returns its length, [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN).
    /// The breaker is copied with its slot locked (a plain copy); the
    /// encoding and the CRC (O(window)) are done after the lock is
    /// released. On firmware with policies, where the slot is lent out of
    /// the critical section, it is encoded straight from the slot instead
    /// (interrupts enabled; meanwhile other calls on this breaker answer
    /// [`Error::Busy`]). `buf` is written only when the answer is `Ok`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::BufferTooSmall`].
    pub fn snapshot(&self, id: Id, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.len() < crate::SNAPSHOT_LEN {
            // Checked first, so that an id that is not found is still
            // `NotFound` with a large enough buffer (and nothing copied).
            self.with_breaker_quiet(id, |_| ())?;
            return Err(Error::BufferTooSmall);
        }
        if Self::ENCODE_IN_SLOT {
            // The slot lent: encoded from it, interrupts enabled.
            return self.with_breaker_quiet(id, |b| {
                self.fast()
                    .with_counts(id, b, |b| snapshot::snapshot(b, now_ms, buf))
            })?;
        }
        // A plain copy under the slot's lock (with the fast path's counts);
        // the ages, the encoding and the CRC outside it.
        // Copied into a breaker of this frame (not returned through the
        // lock's closures: one breaker on the stack, not two).
        let mut copy = Breaker::VACANT;
        self.with_breaker_quiet(id, |b| {
            self.fast().with_counts(id, b, |b| copy.clone_from(b))
        })?;
        snapshot::snapshot(&copy, now_ms, buf)
    }

    /// Creates breaker `name` from a snapshot, on a clock now reading
    /// `now_ms`: an open breaker stays open for the time it had left.
    /// `config` must be the one the snapshot was taken with; `blob` is
    /// exactly the snapshot ([`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes,
    /// or 56 for a version 1 blob). `name` follows
    /// [`create`](Self::create)'s rules. The blob is decoded and checked
    /// before any lock is taken, then the breaker is written in place into
    /// its empty slot with interrupts enabled (no breaker on the stack);
    /// a constant critical section makes it the occupant. O(N) plus
    /// O(window).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (shorter or longer than
    /// [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN), wrong magic, bad CRC,
    /// state no breaker could reach), [`Error::SnapshotVersion`],
    /// [`Error::Unsupported`] (a policy this build does not have),
    /// [`Error::ConfigMismatch`], and those of [`create`](Self::create). On
    /// error the registry is unchanged.
    pub fn restore(
        &self,
        name: &[u8],
        config: Config,
        blob: &[u8],
        now_ms: u64,
    ) -> Result<Id, Error> {
        self.restore_config(name, &config, blob, now_ms)
    }

    /// [`restore`](Self::restore) with the config by reference (one copy
    /// of it on the stack, the caller's: the C API's).
    pub(crate) fn restore_config(
        &self,
        name: &[u8],
        config: &Config,
        blob: &[u8],
        now_ms: u64,
    ) -> Result<Id, Error> {
        let mut words = NameWords::EMPTY;
        name_words(name, &mut words)?;
        let name = &words;
        self.check_shareable(config)?;
        let parts = snapshot::decode_for(config, blob)?;
        // Every check of the snapshot before name and room are decided.
        Breaker::check_parts(config, &parts, now_ms)?;
        self.insert_with(&self.begin()?, name, |b| {
            b.restore_in_place(config, &parts, now_ms)
        })
    }

    /// Writes every breaker (names, configs, states, policy state) taken at
    /// `now_ms` into `buf`; returns the length written, `12 + (32 +`
    /// [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN)`) ×` [`len`](Self::len)
    /// (at most [`SNAPSHOT_ALL_MAX`](Self::SNAPSHOT_ALL_MAX)).
    ///
    /// The structural token is held throughout, so the blob holds the
    /// breakers of one instant (none created or removed meanwhile); each
    /// breaker is copied under its own slot lock, a plain copy (on
    /// firmware a critical section whose length does not grow with the
    /// registry), and is as it was at that copy. The encoding and the
    /// CRCs are done outside every lock. On firmware with policies, where
    /// a slot is lent out of the critical section, each breaker is encoded
    /// straight from its lent slot instead (interrupts enabled; no copy on
    /// the stack). O(N) (plus the blob's CRC).
    ///
    /// `buf` is written only when the answer is `Ok`: every check (room,
    /// what the format can carry and, without `std` with policies, that no
    /// breaker is in an operation this call preempted) comes before the
    /// first byte. One exception: without `std`, a breaker that another
    /// core or thread (not a preempted context) takes between that check
    /// and its copy makes the answer `Busy` with `buf` partly written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (shorter than the blob), [`Error::Unsupported`]
    /// (a name with a NUL byte, which [`restore_all`](Self::restore_all)
    /// refuses), [`Error::Busy`] (as for [`create`](Self::create), and,
    /// without `std` with policies, when a breaker is in another context's
    /// operation: see [`Registry`](crate::Registry)).
    pub fn snapshot_all(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        // The structural token: no breaker is added or removed meanwhile.
        let token = self.begin()?;
        let named = |i: usize| token.name(i);
        let count = (|| {
            let count = self.capacity() - token.free_slots();
            let header = u16::try_from(count).map_err(|_| Error::Unsupported)?;
            let len = count
                .checked_mul(ENTRY_LEN)
                .and_then(|n| n.checked_add(ALL_OVERHEAD))
                .ok_or(Error::BufferTooSmall)?;
            if buf.len() < len {
                return Err(Error::BufferTooSmall);
            }
            // What the format cannot carry: a name with a NUL (checked
            // here, before the first byte: no name changes while the token
            // is held, and nothing can fail after this).
            for i in 0..self.capacity() {
                if named(i).is_some_and(|n| n.with_bytes(|n| n.contains(&0))) {
                    return Err(Error::Unsupported);
                }
            }
            // Without `std`, with policies (where slots are lent: the
            // constant that also chooses the encoding from the slot below),
            // a breaker lent to an operation this call preempted answers
            // `Busy`: asked before the first byte, so that `buf` stays
            // untouched. (On one core the lender
            // cannot run until this call returns: the answer holds for the
            // copies below. Only a lender on another core or thread can
            // take a slot between this pass and its copy.)
            if Self::ENCODE_IN_SLOT {
                for (i, slot) in self.slots().iter().enumerate() {
                    if named(i).is_some() {
                        Self::access_if(slot, Slot::any, |_| ())?;
                    }
                }
            }
            let mut w = Writer::new(buf);
            snapshot::write_all_header(&mut w, header);
            // Each breaker copied under its own slot lock (a plain copy,
            // with the fast path's counts), into one breaker of this frame;
            // encoded after the lock is released. On firmware with
            // policies, encoded from its lent slot instead.
            let mut copy = Breaker::VACANT;
            for (i, slot) in self.slots().iter().enumerate() {
                let Some(name) = named(i) else { continue };
                if Self::ENCODE_IN_SLOT {
                    Self::access_if(slot, Slot::any, |s| {
                        self.fast().with_counts(s.id(), &mut s.breaker, |b| {
                            name.with_bytes(|name| snapshot::write_entry(&mut w, name, b, now_ms))
                        })
                    })?;
                    continue;
                }
                Self::access_if(slot, Slot::any, |s| {
                    if s.occupied {
                        self.fast()
                            .with_counts(s.id(), &mut s.breaker, |b| copy.clone_from(b));
                    }
                })?;
                name.with_bytes(|name| snapshot::write_entry(&mut w, name, &copy, now_ms));
            }
            Ok(count)
        })()?;
        drop(token);
        snapshot::seal_all(buf, count)
    }

    /// Restores every breaker of a [`snapshot_all`](Self::snapshot_all)
    /// blob on a clock now reading `now_ms`; returns how many. All or
    /// nothing: the blob is checked whole first (CRC, every entry decoded
    /// and checked), outside every lock; then, holding the structural
    /// token (no other create, remove or restore meanwhile), names and
    /// room are checked and the breakers installed one by one, each built
    /// outside every lock and put in its slot in a critical section of its
    /// own (bounded: one `create`'s).
    ///
    /// Bounded by the capacity, whatever the blob claims: its length and
    /// entry count are checked in O(1) before anything else (a blob with
    /// more entries than `N` is [`Error::RegistryFull`] at once), then its
    /// CRC in O(length), then each of its `count <= N` entries is decoded
    /// and checked and its name compared with the entries before it
    /// (O(count²) byte comparisons) and with the registry's (O(count × N),
    /// as `count` calls of [`create`](Self::create)), none of it with
    /// interrupts masked.
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (a length other than `12 + (32 +`
    /// [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN)`) × count`, bad CRC, an entry
    /// [`restore`](Self::restore) would refuse, a name that is empty or
    /// has a NUL byte), [`Error::SnapshotVersion`], [`Error::Unsupported`],
    /// [`Error::NameTaken`] (a name in the blob twice, or already in the
    /// registry), [`Error::RegistryFull`] (more entries than `N`, or than
    /// free slots), [`Error::Busy`] (as for [`create`](Self::create)). On
    /// error the registry is unchanged. Other threads and interrupt
    /// handlers may see part of a successful restore while it runs (the
    /// breakers installed so far): each breaker is installed on its own.
    pub fn restore_all(&self, blob: &[u8], now_ms: u64) -> Result<usize, Error> {
        let entries = snapshot::read_all(blob, self.capacity())?;
        // Pass 1, outside every lock: every entry decodes and is
        // consistent, and no name appears twice in the blob.
        for (i, entry) in entries.iter().enumerate() {
            snapshot::entry_name(entry)?;
            snapshot::entry_check(entry, now_ms)?;
            let name = snapshot::entry_name_field(entry);
            if entries
                .iter()
                .take(i)
                .any(|earlier| snapshot::entry_name_field(earlier) == name)
            {
                return Err(Error::NameTaken);
            }
        }
        // Pass 2, with the structural token: names, then room (as `create`
        // checks them), then install them one by one, each built outside
        // every lock and put in its slot in a critical section of its own
        // (a `create`'s). The structural token keeps every other create,
        // remove and restore out meanwhile: nothing can fail any more.
        let token = self.begin()?;
        let mut config = Config::ZERO;
        let mut name = NameWords::EMPTY;
        for entry in entries.iter() {
            entry_name_words(entry, &mut name)?;
            if token.table().find(&name).is_some() {
                return Err(Error::NameTaken);
            }
            if self.is_shared() {
                snapshot::entry_parts(entry, &mut config)?;
                self.check_shareable(&config)?;
            }
        }
        if token.free_slots() < entries.len() {
            return Err(Error::RegistryFull);
        }
        for entry in entries.iter() {
            let parts = snapshot::entry_parts(entry, &mut config)?;
            entry_name_words(entry, &mut name)?;
            self.insert_with(&token, &name, |b| {
                b.restore_in_place(&config, &parts, now_ms)
            })?;
        }
        Ok(entries.len())
    }
}
