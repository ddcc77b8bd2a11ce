//! Snapshots of the registry: one breaker by id, or every breaker with its
//! name and config in one consistent pass, and their restoring (see the
//! [`snapshot`](crate::snapshot) module for the format).
#![forbid(unsafe_code)]

use super::Registry;
use crate::name::to_name;
use crate::snapshot::{self, Writer, ALL_OVERHEAD, ENTRY_LEN};
use crate::{Config, Error, Id};

/// Snapshots.
impl<const N: usize> Registry<N> {
    /// Worst-case size of [`snapshot_all`](Self::snapshot_all)'s blob for
    /// this capacity, in bytes.
    pub const SNAPSHOT_ALL_MAX: usize = ALL_OVERHEAD + N * ENTRY_LEN;

    /// Writes breaker `id`'s snapshot, taken at `now_ms`, to the start of
    /// `buf`; returns its length, [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN). O(1).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::BufferTooSmall`].
    pub fn snapshot(&self, id: Id, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.with_breaker(id, |b| {
            self.fast
                .with_counts(id, b, |b| snapshot::snapshot(b, now_ms, buf))
        })?
    }

    /// Creates breaker `name` from a snapshot, on a clock now reading
    /// `now_ms`: an open breaker stays open for the time it had left.
    /// `config` must be the one the snapshot was taken with. O(N).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (truncated, wrong magic, bad CRC, impossible
    /// counters), [`Error::SnapshotVersion`], [`Error::ConfigMismatch`], and
    /// those of [`create`](Self::create). On error the registry is unchanged.
    pub fn restore(
        &self,
        name: &[u8],
        config: Config,
        blob: &[u8],
        now_ms: u64,
    ) -> Result<Id, Error> {
        let name = to_name(name)?;
        let breaker = snapshot::restore(config, blob, now_ms)?;
        self.with_index(|index| self.insert(index, name, breaker))
    }

    /// Writes every breaker (names, configs, states) taken at `now_ms` into
    /// `buf`, in one critical section; returns the length written (at most
    /// [`SNAPSHOT_ALL_MAX`](Self::SNAPSHOT_ALL_MAX)). O(N).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Unsupported`] (a breaker with a
    /// non-default policy or in a manual state: see
    /// [`Breaker::snapshot`](crate::Breaker::snapshot)).
    pub fn snapshot_all(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        self.with_index(|index| {
            let count = N - index.free_slots();
            let count = u16::try_from(count).map_err(|_| Error::BufferTooSmall)?;
            let mut w = Writer::new(buf);
            snapshot::write_all_header(&mut w, count);
            for (name, slot) in index.names.iter().zip(&self.slots) {
                if !name.is_empty() {
                    slot.with(|s| {
                        s.breaker.check_snapshottable()?;
                        let id = s.id();
                        self.fast.with_counts(id, &s.breaker, |b| {
                            snapshot::write_entry(&mut w, name, b, now_ms)
                        });
                        Ok::<(), Error>(())
                    })??;
                }
            }
            w.finish_with_crc()
        })
    }

    /// Restores every breaker of a [`snapshot_all`](Self::snapshot_all)
    /// blob on a clock now reading `now_ms`; returns how many. All or
    /// nothing: the blob is checked whole first, then every breaker is
    /// added in one critical section. O(count × N).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`], [`Error::SnapshotVersion`], [`Error::NameTaken`]
    /// (a name in the blob twice, or already in the registry),
    /// [`Error::RegistryFull`] (not enough free slots for all). On error the
    /// registry is unchanged.
    pub fn restore_all(&self, blob: &[u8], now_ms: u64) -> Result<usize, Error> {
        let (count, entries) = snapshot::read_all_header(blob)?;
        // Pass 1, outside the critical section: every entry decodes, and no
        // name appears twice in the blob.
        let mut r = entries.clone_reader();
        for i in 0..count {
            let (name, one) = snapshot::read_entry(&mut r)?;
            snapshot::restore_entry(&one, now_ms)?;
            let mut earlier = entries.clone_reader();
            for _ in 0..i {
                if snapshot::read_entry(&mut earlier)?.0 == name {
                    return Err(Error::NameTaken);
                }
            }
        }
        // Pass 2, one critical section: names, then room (as `create`
        // checks them), then insert all.
        self.with_index(|index| {
            let mut r = entries.clone_reader();
            for _ in 0..count {
                if index.find(&snapshot::read_entry(&mut r)?.0).is_some() {
                    return Err(Error::NameTaken);
                }
            }
            if index.free_slots() < count {
                return Err(Error::RegistryFull);
            }
            let mut r = entries.clone_reader();
            for _ in 0..count {
                let (name, one) = snapshot::read_entry(&mut r)?;
                self.insert(index, name, snapshot::restore_entry(&one, now_ms)?)?;
            }
            Ok(count)
        })
    }
}
