//! Snapshots of the registry: one breaker by id, or every breaker with its
//! name and config in one consistent pass, and their restoring (see the
//! [`snapshot`](crate::snapshot) module for the format).
#![forbid(unsafe_code)]

use super::names::NameWords;
use super::{Registry, Slot};
#[cfg(feature = "std")]
use crate::slot::SlotCell;
use crate::snapshot::{self, Writer, ALL_OVERHEAD, ENTRY_LEN};
use crate::{Config, Error, Id};

/// Snapshots.
impl<const N: usize> Registry<N> {
    /// Worst-case size of [`snapshot_all`](Self::snapshot_all)'s blob for
    /// this capacity, in bytes.
    pub const SNAPSHOT_ALL_MAX: usize = ALL_OVERHEAD + N * ENTRY_LEN;

    /// Writes breaker `id`'s snapshot, taken at `now_ms`, to the start of
    /// `buf`; returns its length, [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN). O(1).
    /// `buf` is written only when the answer is `Ok`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::BufferTooSmall`], [`Error::Unsupported`]
    /// (see [`Breaker::snapshot`](crate::Breaker::snapshot)).
    pub fn snapshot(&self, id: Id, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.with_breaker(id, |b| {
            self.fast
                .with_counts(id, b, |b| snapshot::snapshot(b, now_ms, buf))
        })?
    }

    /// Creates breaker `name` from a snapshot, on a clock now reading
    /// `now_ms`: an open breaker stays open for the time it had left.
    /// `config` must be the one the snapshot was taken with; `blob` is
    /// exactly the snapshot ([`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes).
    /// `name` follows [`create`](Self::create)'s rules. O(N).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (shorter or longer than
    /// [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN), wrong magic, bad CRC,
    /// impossible counters), [`Error::SnapshotVersion`],
    /// [`Error::ConfigMismatch`], and those of [`create`](Self::create). On
    /// error the registry is unchanged.
    pub fn restore(
        &self,
        name: &[u8],
        config: Config,
        blob: &[u8],
        now_ms: u64,
    ) -> Result<Id, Error> {
        let name = NameWords::new(name)?;
        let breaker = snapshot::restore(config, blob, now_ms)?;
        self.insert(&self.names.begin()?, &name, breaker)
    }

    /// Writes every breaker (names, configs, states) taken at `now_ms` into
    /// `buf`; returns the length written, `12 + 88 ×` [`len`](Self::len)
    /// (at most [`SNAPSHOT_ALL_MAX`](Self::SNAPSHOT_ALL_MAX)).
    ///
    /// One consistent pass: inside the registry's critical section, every
    /// breaker's slot is locked at once (with `std`, where slots have locks
    /// of their own, this takes a stack frame per breaker: about 100 bytes
    /// in a release build on x86-64, up to 1 KiB unoptimised), so the blob
    /// holds the states of one instant; the locks are held only while the
    /// entries are copied, and the CRCs are computed after they are
    /// released. O(N) (plus the blob's CRC).
    ///
    /// `buf` is written only when the answer is `Ok`: every check (room,
    /// and what the format can carry) comes before the first byte.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (shorter than the blob), [`Error::Unsupported`]
    /// (a breaker with a non-default policy or in a manual state, see
    /// [`Breaker::snapshot`](crate::Breaker::snapshot); or a name with a NUL
    /// byte, which [`restore_all`](Self::restore_all) refuses).
    pub fn snapshot_all(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        // The structural token: no breaker is added or removed meanwhile.
        let token = self.names.begin()?;
        let named = |i: usize| token.name(i);
        let count = (|| {
            let count = N - token.free_slots();
            let header = u16::try_from(count).map_err(|_| Error::Unsupported)?;
            let len = count
                .checked_mul(ENTRY_LEN)
                .and_then(|n| n.checked_add(ALL_OVERHEAD))
                .ok_or(Error::BufferTooSmall)?;
            if buf.len() < len {
                return Err(Error::BufferTooSmall);
            }
            // What the format cannot carry: a name with a NUL (checked
            // here: no name changes while the token is held) or a breaker
            // in a state it has no room for; and the copy of one entry.
            for i in 0..N {
                if named(i).is_some_and(|n| n.with_bytes(|n| n.contains(&0))) {
                    return Err(Error::Unsupported);
                }
            }
            let check = |_: &NameWords, s: &Slot| s.breaker.check_snapshottable();
            let copy = |w: &mut Writer<'_>, name: &NameWords, s: &Slot| {
                self.fast.with_counts(s.id(), &s.breaker, |b| {
                    name.with_bytes(|name| snapshot::write_entry_unsealed(w, name, b, now_ms))
                });
            };
            // With `std` each slot has its own lock: every occupied slot's
            // is held at once (taken in slot order, the structural token
            // held; no other path holds two slot locks), so that nothing
            // changes between the checks and the copy (another thread
            // could otherwise force a breaker open in between, after part
            // of `buf` was written). One guard per slot on the stack: 8
            // bytes each.
            #[cfg(feature = "std")]
            {
                let locked: [Option<_>; N] = core::array::from_fn(|i| {
                    named(i).and_then(|_| self.slots.get(i).map(SlotCell::lock))
                });
                let occupied = || {
                    let guards = locked.iter().enumerate();
                    guards.filter_map(|(i, s)| Some((named(i)?, s.as_ref()?)))
                };
                for (name, s) in occupied() {
                    check(&name, s)?;
                }
                let mut w = Writer::new(buf);
                snapshot::write_all_header(&mut w, header);
                for (name, s) in occupied() {
                    copy(&mut w, &name, s);
                }
            }
            // Without it every slot lock is a critical section: one held
            // throughout (slot locks nest inside it), so that nothing
            // changes between the two passes. Its length grows with the
            // registry: the one such critical section left.
            #[cfg(not(feature = "std"))]
            critical_section::with(|_| {
                let occupied = || {
                    let slots = self.slots.iter().enumerate();
                    slots.filter_map(|(i, slot)| Some((named(i)?, slot)))
                };
                for (name, slot) in occupied() {
                    slot.with(|s| check(&name, s))??;
                }
                let mut w = Writer::new(buf);
                snapshot::write_all_header(&mut w, header);
                for (name, slot) in occupied() {
                    slot.with(|s| copy(&mut w, &name, s))?;
                }
                Ok::<_, Error>(())
            })?;
            Ok(count)
        })()?;
        drop(token);
        snapshot::seal_all(buf, count)
    }

    /// Restores every breaker of a [`snapshot_all`](Self::snapshot_all)
    /// blob on a clock now reading `now_ms`; returns how many. All or
    /// nothing: the blob is checked whole first, then every breaker is
    /// added in one critical section.
    ///
    /// Bounded by the capacity, whatever the blob claims: its length and
    /// entry count are checked in O(1) before anything else (a blob with
    /// more entries than `N` is [`Error::RegistryFull`] at once), then its
    /// CRC in O(length), then each of its `count <= N` entries is decoded
    /// and its name compared with the entries before it (O(count²) byte
    /// comparisons, outside the critical section) and, inside it, with the
    /// registry's (O(count × N), as `count` calls of
    /// [`create`](Self::create)).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (a length other than `12 + 88 × count`, bad
    /// CRC, an entry [`restore`](Self::restore) would refuse, a name that
    /// is empty or has a NUL byte), [`Error::SnapshotVersion`],
    /// [`Error::NameTaken`] (a name in the blob twice, or already in the
    /// registry), [`Error::RegistryFull`] (more entries than `N`, or than
    /// free slots). On error the registry is unchanged.
    pub fn restore_all(&self, blob: &[u8], now_ms: u64) -> Result<usize, Error> {
        let entries = snapshot::read_all(blob, N)?;
        // Pass 1, outside the critical section: every entry decodes, and no
        // name appears twice in the blob.
        for (i, entry) in entries.iter().enumerate() {
            snapshot::entry_name(entry)?;
            snapshot::entry_breaker(entry, now_ms)?;
            let name = snapshot::entry_name_field(entry);
            if entries
                .iter()
                .take(i)
                .any(|earlier| snapshot::entry_name_field(earlier) == name)
            {
                return Err(Error::NameTaken);
            }
        }
        // Pass 2, one critical section: names, then room (as `create`
        // checks them), then insert all (nothing can fail any more).
        let token = self.names.begin()?;
        for entry in entries.iter() {
            let name = NameWords::new(&snapshot::entry_name(entry)?)?;
            if token.table().find(&name).is_some() {
                return Err(Error::NameTaken);
            }
        }
        if token.free_slots() < entries.len() {
            return Err(Error::RegistryFull);
        }
        for entry in entries.iter() {
            let breaker = snapshot::entry_breaker(entry, now_ms)?;
            let name = NameWords::new(&snapshot::entry_name(entry)?)?;
            self.insert(&token, &name, breaker)?;
        }
        Ok(entries.len())
    }
}
