//! The registry's names: which slot holds which name, readable without a
//! lock or a critical section, changed by one structural operation at a
//! time.
//!
//! Why: the names used to sit behind the registry's critical section, and
//! create, lookup and remove compared names inside it, so that the time
//! they masked interrupts grew with the capacity (about 61 000 instructions
//! for a `create` at 256 slots on a Cortex-M3). Now each slot's entry is a
//! sequence lock over atomic words: a reader never waits and never masks,
//! and a writer is alone by construction, so it never waits either.
//!
//! - **Readers** (lookup, name, walks, metrics) load an entry's sequence
//!   number, its words, and the sequence number again. An entry being
//!   written (odd sequence) or rewritten meanwhile is read as empty: the
//!   write has not finished, so the operation doing it has not returned,
//!   and an answer from before it is a correct one. A reader cannot wait
//!   for the writer: on firmware the reader may be an interrupt handler
//!   that preempted it.
//! - **Writers** (create, remove, restores) first take the structural token
//!   ([`NameTable::begin`]): one test-and-set in a critical section of a few
//!   instructions. Holding it, they compare names without any lock (no one
//!   else writes), then write their entry. A second structural operation
//!   meanwhile (an interrupt handler preempting one, or another thread)
//!   gets [`Error::Busy`] on firmware, where waiting for a preempted task
//!   could never end; on hosts it waits (spin, yield, then sleep) unless it
//!   interrupted its own thread's (a signal handler): then `Busy` too.
//!
//! An entry is 11 words: the sequence number, the occupant's id (so that
//! a lookup needs no slot lock), and the name, its length in the first
//! byte (44 bytes a slot, against 32 for the name alone before).
#![forbid(unsafe_code)]

use core::cell::Cell;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use core::sync::atomic::{fence, AtomicU32};
use critical_section::Mutex;

use crate::id::Id;
use crate::name::{Name, NAME_MAX};
use crate::slot::Outer;
use crate::Error;

/// Words of a name: its length byte, then up to `NAME_MAX` bytes.
const WORDS: usize = (1 + NAME_MAX).div_ceil(4);

/// A name as words, as an entry keeps it: byte 0 is the length (0: no
/// name), bytes 1.. the name, zero-padded. Two names are equal exactly
/// when their words are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct NameWords([u32; WORDS]);

impl NameWords {
    /// No name: a free slot.
    pub(crate) const EMPTY: NameWords = NameWords([0; WORDS]);

    /// `name` as words: [`Error::InvalidName`] when empty or over
    /// [`NAME_MAX`] bytes.
    pub(crate) fn new(name: &[u8]) -> Result<NameWords, Error> {
        if name.is_empty() || name.len() > NAME_MAX {
            return Err(Error::InvalidName);
        }
        let mut bytes = [0u8; 4 * WORDS];
        bytes[0] = name.len() as u8;
        if let Some(dst) = bytes.get_mut(1..=name.len()) {
            dst.copy_from_slice(name);
        }
        let mut words = [0u32; WORDS];
        for (w, b) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = <[u8; 4]>::try_from(b).map_or(0, u32::from_le_bytes);
        }
        Ok(NameWords(words))
    }

    /// Whether this is no name.
    pub(crate) fn is_empty(&self) -> bool {
        self.0[0] & 0xff == 0
    }

    /// The name, with its length.
    pub(crate) fn to_name(self) -> Name {
        // `len <= NAME_MAX`: always fits.
        self.with_bytes(|name| Name::from_slice(name).unwrap_or_default())
    }

    /// `f` of the name's bytes, without a copy into a [`Name`].
    pub(crate) fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        let mut bytes = [0u8; 4 * WORDS];
        for (b, w) in bytes.chunks_exact_mut(4).zip(self.0) {
            b.copy_from_slice(&w.to_le_bytes());
        }
        let len = usize::from(bytes[0]).min(NAME_MAX);
        f(bytes.get(1..=len).unwrap_or(&[]))
    }
}

/// A name as the bytes of its words (see [`NameTable::read_bytes_into`]).
pub(crate) type NameBytes = [u8; 4 * WORDS];

/// The name in the bytes [`NameTable::read_bytes_into`] read.
pub(crate) fn name_bytes(name: &NameBytes) -> &[u8] {
    let len = usize::from(name[0]).min(NAME_MAX);
    name.get(1..=len).unwrap_or_default()
}

/// One slot's entry.
#[derive(Debug)]
pub struct Entry {
    /// Even: stable; odd: being written. Bumped twice by each write.
    seq: AtomicU32,
    /// The occupant's raw id, low and high halves (meaningful with a name).
    id: [AtomicU32; 2],
    name: [AtomicU32; WORDS],
}

impl Entry {
    pub(crate) const fn new() -> Entry {
        Entry {
            seq: AtomicU32::new(0),
            id: [const { AtomicU32::new(0) }; 2],
            name: [const { AtomicU32::new(0) }; WORDS],
        }
    }

    /// The occupant's id as stored (plain loads: a reader orders them
    /// with the sequence number itself).
    #[inline(always)]
    fn id(&self) -> Id {
        let lo = self.id[0].load(Relaxed);
        let hi = self.id[1].load(Relaxed);
        Id::from_raw(u64::from(hi) << 32 | u64::from(lo))
    }
}

/// The names of a registry's slots (one entry each), and the structural
/// token. `NameTable<[Entry; N]>` is a registry's own; `NameTable` (the
/// entries as a slice, unsized) is what the registry's logic reads, from
/// its own table or from caller memory (`repr(C)`: the entries start at
/// the offset [`Layout::extend`](core::alloc::Layout::extend) gives).
#[derive(Debug)]
#[repr(C)]
pub struct NameTable<E: ?Sized = [Entry]> {
    /// The structural operation in progress, if any: 0 when none, else its
    /// owner's token (see [`owner`]).
    writer: Mutex<Cell<usize>>,
    pub(super) entries: E,
}

/// The structural token, held: writes are allowed through it, and it is
/// given back when dropped (then the storage's structural lock, if any).
pub(crate) struct Writer<'a> {
    table: &'a NameTable,
    _outer: Outer<'a>,
}

impl<const N: usize> NameTable<[Entry; N]> {
    pub(crate) const fn new() -> Self {
        NameTable {
            writer: Mutex::new(Cell::new(0)),
            entries: [const { Entry::new() }; N],
        }
    }
}

impl NameTable {
    /// The number of entries (the registry's capacity).
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Slot `i`'s name and its occupant's id, if it has a name that is not
    /// being written. Never waits, never masks interrupts.
    pub(crate) fn read(&self, i: usize) -> Option<(NameWords, Id)> {
        let mut name = NameWords::EMPTY;
        let id = self.read_into(i, &mut name)?;
        Some((name, id))
    }

    /// [`read`](Self::read) into `name` (no copy of it on the stack): the
    /// occupant's id, `name` its name; on `None`, `name` is unspecified.
    #[inline(always)]
    pub(crate) fn read_into(&self, i: usize, name: &mut NameWords) -> Option<Id> {
        let id = self.read_if(i, |k, word| {
            if let Some(w) = name.0.get_mut(k) {
                *w = word;
            }
            true
        })?;
        (!name.is_empty()).then_some(id)
    }

    /// [`read_into`](Self::read_into) as bytes (the words' little-endian
    /// bytes: the length, then the name; [`name_bytes`] gives the name):
    /// no other copy of the name is needed to use it as bytes.
    #[inline(always)]
    pub(crate) fn read_bytes_into(&self, i: usize, name: &mut NameBytes) -> Option<Id> {
        let id = self.read_if(i, |k, word| {
            if let Some(b) = name.chunks_exact_mut(4).nth(k) {
                b.copy_from_slice(&word.to_le_bytes());
            }
            true
        })?;
        (name[0] != 0).then_some(id)
    }

    /// Slot `i`'s occupant's id if its name is `name`. Never waits, never
    /// masks interrupts; most slots differ in the first word (the length
    /// and three bytes), and are told apart with one load.
    fn matches(&self, i: usize, name: &NameWords) -> Option<Id> {
        self.read_if(i, |k, word| name.0.get(k) == Some(&word))
    }

    /// The one read of an entry, as a sequence lock's reader: `word(k, w)`
    /// sees the name's words in order and may stop the read (`false`).
    /// The id, if every word was accepted and no write overlapped the read
    /// (an entry being written reads as absent: its writer has not
    /// finished, so an answer from before the write is a correct one; a
    /// reader cannot wait for it, since on firmware it may be an interrupt
    /// handler that preempted the writer).
    #[inline]
    fn read_if(&self, i: usize, mut word: impl FnMut(usize, u32) -> bool) -> Option<Id> {
        let e = self.entries.get(i)?;
        let before = e.seq.load(Acquire);
        if before % 2 == 1 {
            return None;
        }
        for (k, w) in e.name.iter().enumerate() {
            if !word(k, w.load(Relaxed)) {
                return None;
            }
        }
        let id = e.id();
        // Orders the loads above before the second load of `seq`.
        fence(Acquire);
        (e.seq.load(Relaxed) == before).then_some(id)
    }

    /// The slot holding `name` (as words), with its occupant's id. O(N)
    /// lock-free reads.
    pub(crate) fn find(&self, name: &NameWords) -> Option<(usize, Id)> {
        (0..self.len()).find_map(|i| Some((i, self.matches(i, name)?)))
    }

    /// The first slot at or after `start` that has a name, with its
    /// occupant's id.
    pub(crate) fn next_named(&self, start: usize) -> Option<(usize, Id)> {
        // A name's first word is never 0 (its length byte is not).
        let named = |i| self.read_if(i, |k, w| k > 0 || w != 0);
        (start..self.len()).find_map(|i| Some((i, named(i)?)))
    }

    /// Whether slot `i` has a name (not being written).
    pub(crate) fn is_named(&self, i: usize) -> bool {
        self.read_if(i, |k, w| k > 0 || w != 0).is_some()
    }

    /// Takes the structural token. Without the `std` feature (firmware,
    /// and hosts built without it): [`Error::Busy`] when another
    /// structural operation is in progress, in any context. With it: waits
    /// for it, unless it is this thread's own (a signal handler that
    /// interrupted it): `Busy`.
    #[cfg(test)]
    pub(crate) fn begin(&self) -> Result<Writer<'_>, Error> {
        self.begin_with(Outer::NONE)
    }

    /// [`begin`](Self::begin), `outer` (the storage's structural lock)
    /// held: then no other writer exists in any process, and a token left
    /// by one that died holding it is taken over.
    pub(crate) fn begin_with<'a>(&'a self, outer: Outer<'a>) -> Result<Writer<'a>, Error> {
        let me = owner();
        if outer.held() {
            critical_section::with(|cs| self.writer.borrow(cs).set(me));
            return Ok(Writer {
                table: self,
                _outer: outer,
            });
        }
        #[cfg(feature = "std")]
        let mut round = 0u32;
        loop {
            let holder = critical_section::with(|cs| {
                let w = self.writer.borrow(cs);
                let holder = w.get();
                if holder == 0 {
                    w.set(me);
                }
                holder
            });
            if holder == 0 {
                return Ok(Writer {
                    table: self,
                    _outer: outer,
                });
            }
            if !cfg!(feature = "std") || holder == me {
                return Err(Error::Busy);
            }
            #[cfg(feature = "std")]
            {
                crate::backoff::pause(round);
                round = round.saturating_add(1);
            }
        }
    }
}

impl Writer<'_> {
    /// The table, for reads (consistent: no one else writes).
    pub(crate) fn table(&self) -> &NameTable {
        self.table
    }

    /// Free slots. O(N).
    pub(crate) fn free_slots(&self) -> usize {
        (0..self.table.len()).filter(|&i| self.is_free(i)).count()
    }

    /// The first free slot.
    pub(crate) fn free_slot(&self) -> Option<usize> {
        (0..self.table.len()).find(|&i| self.is_free(i))
    }

    /// Whether slot `i` has no name: one load, without the sequence
    /// number (the token's holder is the only writer).
    fn is_free(&self, i: usize) -> bool {
        let e = self.table.entries.get(i);
        e.is_some_and(|e| e.name[0].load(Relaxed) & 0xff == 0)
    }

    /// Slot `i`'s name, if it has one: plain loads, without the sequence
    /// number (the token's holder is the only writer).
    pub(crate) fn name(&self, i: usize) -> Option<NameWords> {
        let e = self.table.entries.get(i)?;
        let name = NameWords(core::array::from_fn(|k| {
            e.name.get(k).map_or(0, |w| w.load(Relaxed))
        }));
        (!name.is_empty()).then_some(name)
    }

    /// Sets slot `i`'s entry: `Some(name)` for occupant `id`, or `None`
    /// (no name) for a free slot. Out of line: create, remove and the
    /// restores share one copy (and a free slot's zero words need no copy
    /// of [`NameWords::EMPTY`] in flash).
    #[inline(never)]
    pub(crate) fn set(&self, i: usize, name: Option<&NameWords>, id: Id) {
        let Some(e) = self.table.entries.get(i) else {
            return;
        };
        let seq = e.seq.load(Relaxed);
        // Odd: readers from here on see the entry as being written.
        e.seq.store(seq.wrapping_add(1), Relaxed);
        fence(Release);
        let raw = id.to_raw();
        e.id[0].store(raw as u32, Relaxed);
        e.id[1].store((raw >> 32) as u32, Relaxed);
        // Word by word from the name, by reference (iterating the array
        // by value copied it to the stack first: firmware flash).
        for (k, w) in e.name.iter().enumerate() {
            w.store(name.and_then(|n| n.0.get(k)).copied().unwrap_or(0), Relaxed);
        }
        // Even again, after the words (Release orders them before).
        e.seq.store(seq.wrapping_add(2), Release);
    }

    /// Slot `i`'s entry as a writer killed at any instant may have left
    /// it: `Some(id)` of the occupant it names, or `None` when it names
    /// none, or was left half-written (odd sequence): then it is cleared
    /// first, its words written before its sequence turns even, so that no
    /// reader ever sees them torn.
    pub(crate) fn repaired(&self, i: usize) -> Option<Id> {
        let e = self.table.entries.get(i)?;
        let seq = e.seq.load(Relaxed);
        if seq % 2 == 1 {
            for w in &e.name {
                w.store(0, Relaxed);
            }
            e.seq.store(seq.wrapping_add(1), Release);
            return None;
        }
        self.name(i)?;
        Some(e.id())
    }
}

#[cfg(all(test, fusebox_robust, feature = "policies"))]
impl Writer<'_> {
    /// Starts writing `name` into slot `i`'s entry and stops half-way, as
    /// a writer killed there leaves it: the sequence odd, the words half
    /// written.
    pub(crate) fn tear(&self, i: usize, name: &NameWords) {
        if let Some(e) = self.table.entries.get(i) {
            e.seq.fetch_add(1, Relaxed);
            for (w, v) in e.name.iter().zip(name.0).take(2) {
                w.store(v, Relaxed);
            }
        }
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        critical_section::with(|cs| self.table.writer.borrow(cs).set(0));
    }
}

/// This thread's token (hosts): the address of a thread-local, never 0.
#[cfg(feature = "std")]
fn owner() -> usize {
    extern crate std;
    std::thread_local!(static TOKEN: u8 = const { 0 });
    TOKEN.with(|t| t as *const u8 as usize)
}

/// Firmware has one token: any holder is another context's (or this
/// one's, preempted), and the answer is `Busy` either way.
#[cfg(not(feature = "std"))]
fn owner() -> usize {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_compare_by_words() {
        for name in [&b"a"[..], b"db", b"0123456789012345678901234567890"] {
            let w = NameWords::new(name).unwrap();
            assert!(!w.is_empty());
            assert_eq!(w.to_name().as_slice(), name);
        }
        assert_ne!(NameWords::new(b"ab"), NameWords::new(b"ab\0"));
        assert_eq!(NameWords::new(b""), Err(Error::InvalidName));
        assert_eq!(
            NameWords::new(&[b'x'; NAME_MAX + 1]),
            Err(Error::InvalidName)
        );
        assert!(NameWords::EMPTY.is_empty());
    }

    #[test]
    fn an_entry_being_written_reads_as_empty() {
        let t: &NameTable = &NameTable::<[Entry; 2]>::new();
        let id = Id::new(1, 7);
        t.begin()
            .unwrap()
            .set(1, Some(&NameWords::new(b"x").unwrap()), id);
        assert_eq!(t.find(&NameWords::new(b"x").unwrap()), Some((1, id)));
        // A writer stopped half-way (as an interrupt handler would see it).
        t.entries[1].seq.fetch_add(1, Relaxed);
        assert_eq!(t.read(1), None);
        assert_eq!(t.find(&NameWords::new(b"x").unwrap()), None);
    }

    #[test]
    fn one_structural_operation_at_a_time() {
        let t: &NameTable = &NameTable::<[Entry; 1]>::new();
        let w = t.begin().unwrap();
        // The same thread again (a signal handler): Busy, never a wait.
        assert_eq!(t.begin().err(), Some(Error::Busy));
        drop(w);
        assert!(t.begin().is_ok());
    }

    /// One writer rewrites an entry with two names while a reader reads
    /// it: every read is one of them, whole, with its own id (under Miri,
    /// which reports the torn reads of a reader without the fences).
    #[test]
    fn a_read_never_mixes_two_writes() {
        extern crate std;
        static T: NameTable<[Entry; 1]> = NameTable::new();
        let a = (NameWords::new(b"a").unwrap(), Id::new(0, 1));
        let long = NameWords::new(b"0123456789012345678901234567890").unwrap();
        let b = (long, Id::new(0, 0xF_FFFF_FFFF));
        let rounds = if cfg!(miri) { 60 } else { 200_000 };
        std::thread::scope(|s| {
            s.spawn(move || {
                for k in 0..rounds {
                    let (n, id) = if k % 2 == 0 { a } else { b };
                    (&T as &NameTable).begin().unwrap().set(0, Some(&n), id);
                }
            });
            s.spawn(move || {
                for _ in 0..rounds {
                    if let Some(got) = (&T as &NameTable).read(0) {
                        assert!(got == a || got == b, "torn: {got:?}");
                    }
                }
            });
        });
    }
}
