//! The registry's fast rejection without `std` (firmware), on cores with
//! compare-and-swap (LDREX/STREX: Cortex-M3 and up; hosts built without
//! `std`).
//!
//! An open breaker whose window holds the clock's reading only counts a
//! rejection. That needs no critical section and no pass through the
//! slot:
//! - each slot publishes, with the slot held after every operation that
//!   may change the breaker, its occupant's id and the window of readings
//!   that reject (empty when none), under a sequence count (odd while it
//!   is written): a reader that sees the count move, or odd, leaves the
//!   answer to the slot;
//! - the rejection is counted in the slot's *pending* word: the low 16
//!   bits of the occupant's id generation (a tag) and 16 bits of count,
//!   bumped by one compare-and-swap that fails, leaving the answer to the
//!   slot, when the tag is another occupant's or the count is full. The
//!   slot's operations fold it into the breaker's count
//!   ([`Fast::fold`](super::Fast::fold)); reads of the counts add it.
//!
//! Only a clock read by loads (`Clock::load_now_ms`: a variable) is read
//! here; anything else (another clock, a reading outside the window, a
//! window being written) takes the slot, whose answer is the same.
#![deny(unsafe_code)]

use super::Id;
use crate::{Breaker, Clock, Error, State, Stats};
use core::sync::atomic::{fence, AtomicU32, Ordering};

/// The pending word: the tag in the high half, the count in the low one.
const COUNT: u32 = 0xFFFF;

/// One slot's published rejection window and pending rejections.
#[derive(Debug)]
struct Published {
    /// Odd while `id` and the window are written.
    seq: AtomicU32,
    /// The occupant's id (low, high word).
    id: [AtomicU32; 2],
    /// Readings in `from..until` reject (low, high words each).
    from: [AtomicU32; 2],
    until: [AtomicU32; 2],
    /// Rejections counted here: tag (16 bits) and count (16 bits).
    pending: AtomicU32,
}

impl Published {
    const fn new() -> Self {
        Published {
            seq: AtomicU32::new(0),
            id: [AtomicU32::new(0), AtomicU32::new(0)],
            from: [AtomicU32::new(0), AtomicU32::new(0)],
            until: [AtomicU32::new(0), AtomicU32::new(0)],
            pending: AtomicU32::new(0),
        }
    }

    /// Writes `id` and its window (`0..0` when nothing rejects). With the
    /// slot held: one writer at a time. Out of line: every operation's
    /// `publish` and `clear` share it. (The pending word's tag is written
    /// once, when the occupant arrives: `publish_new`.)
    #[inline(never)]
    fn write(&self, id: Id, (from, until): (u64, u64)) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // The odd count before any field: a reader that sees a new field
        // sees the count moved.
        fence(Ordering::Release);
        let raw = id.to_raw();
        store64(&self.id, raw);
        store64(&self.from, from);
        store64(&self.until, until);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// Writes `b`'s window for `id`. Out of line: one copy for every
    /// operation, off a closed breaker's path.
    #[inline(never)]
    fn publish(&self, id: Id, b: &Breaker) {
        self.write(id, b.rejecting_window().unwrap_or((0, 0)));
    }

    /// Whether nothing rejects here: the window ends at 0 (no window
    /// does that rejects a reading). A look without the sequence count:
    /// an answer that is stale only sends the caller to the slot.
    #[inline(always)]
    fn rejects_nothing(&self) -> bool {
        self.until[0].load(Ordering::Relaxed) | self.until[1].load(Ordering::Relaxed) == 0
    }

    /// `id`'s window as published, if read whole and `id`'s.
    #[inline(always)]
    fn window(&self, id: Id) -> Option<(u64, u64)> {
        let seq = self.seq.load(Ordering::Acquire);
        if seq & 1 != 0 {
            return None;
        }
        let (who, from, until) = (load64(&self.id), load64(&self.from), load64(&self.until));
        // The fields before the second look at the count.
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == seq && who == id.to_raw()).then_some((from, until))
    }
}

fn store64(w: &[AtomicU32; 2], v: u64) {
    w[0].store(v as u32, Ordering::Relaxed);
    w[1].store((v >> 32) as u32, Ordering::Relaxed);
}

#[inline(always)]
fn load64(w: &[AtomicU32; 2]) -> u64 {
    u64::from(w[1].load(Ordering::Relaxed)) << 32 | u64::from(w[0].load(Ordering::Relaxed))
}

/// The tag of `id`'s occupant in the pending word.
#[inline(always)]
fn tag(id: Id) -> u32 {
    (id.generation() as u32) << 16
}

/// The fast rejection of a registry of `N` slots: 32 bytes a slot.
#[derive(Debug)]
pub struct FastPath<const N: usize> {
    slots: [Published; N],
}

impl<const N: usize> FastPath<N> {
    pub(crate) const fn new() -> Self {
        FastPath {
            slots: [const { Published::new() }; N],
        }
    }

    /// Counts one rejection of `id`'s occupant in the pending word: one
    /// compare-and-swap, `false` (nothing counted) if it fails, the tag is
    /// another occupant's or the count is full.
    #[inline]
    fn count_rejection(&self, id: Id) -> bool {
        let Some(p) = self.slots.get(id.index()) else {
            return false;
        };
        let word = p.pending.load(Ordering::Relaxed);
        word & !COUNT == tag(id)
            && word & COUNT != COUNT
            && p.pending
                .compare_exchange(word, word + 1, Ordering::Release, Ordering::Relaxed)
                .is_ok()
    }

    /// Rejections counted here for `id`'s occupant and not yet folded.
    /// Out of line: the stats' few callers share it.
    #[inline(never)]
    fn pending(&self, id: Id) -> u32 {
        self.slots.get(id.index()).map_or(0, |p| {
            let word = p.pending.load(Ordering::Acquire);
            if word & !COUNT == tag(id) {
                word & COUNT
            } else {
                0
            }
        })
    }
}

impl<const N: usize> super::Fast for FastPath<N> {
    /// Publishes `b`'s rejection window for `id`. Nothing to write while
    /// the breaker cannot reject and nothing rejects here (a closed
    /// breaker's operations: three loads, in line).
    #[inline(always)]
    fn publish(&self, id: Id, b: &Breaker) {
        let Some(p) = self.slots.get(id.index()) else {
            return;
        };
        if b.may_reject() || !p.rejects_nothing() {
            p.publish(id, b);
        }
    }

    /// A new occupant: its pending count starts at 0 under its tag (one
    /// store: a former occupant's count, or a reader's compare-and-swap
    /// for it, never reaches this one, whatever the generations in
    /// between). No window to write: its slot was empty, so nothing
    /// rejects there ([`clear`](Self::clear)); its first operation on the
    /// slot publishes its window, and its first fast rejection comes after
    /// that (a restored open breaker's first rejection takes the slot).
    /// So the critical section that makes it the occupant stays short.
    #[inline(always)]
    fn publish_new(&self, id: Id, b: &Breaker) {
        let _ = b;
        if let Some(p) = self.slots.get(id.index()) {
            p.pending.store(tag(id), Ordering::Relaxed);
        }
    }

    /// The slot was emptied: nothing rejects there (a write only if
    /// something did).
    fn clear(&self, id: Id) {
        if let Some(p) = self.slots.get(id.index()) {
            if !p.rejects_nothing() {
                p.write(id, (0, 0));
            }
        }
    }

    /// Moves the pending rejections of `id`'s occupant into `b`. With the
    /// slot held. Out of line: one copy for its few callers.
    #[inline(never)]
    fn fold(&self, id: Id, b: &mut Breaker) {
        let Some(p) = self.slots.get(id.index()) else {
            return;
        };
        if p.pending.load(Ordering::Relaxed) & COUNT == 0 {
            return;
        }
        // Clears the count, keeps the tag: a rejection counted meanwhile
        // is in the value taken or after it, never lost.
        let word = p.pending.fetch_and(!COUNT, Ordering::AcqRel);
        if word & !COUNT == tag(id) {
            b.add_rejected(word & COUNT);
        }
    }

    /// The rejection of an open breaker whose published window holds the
    /// variable clock's reading, counted without the slot: `Ok` with it,
    /// `Err` with the reading if one was taken (outside the window, or the
    /// count refused), `Err(None)` without one.
    #[inline]
    fn try_acquire_with(
        &self,
        id: Id,
        clock: &impl Clock,
    ) -> Result<Result<State, Error>, Option<u64>> {
        let Some(p) = self.slots.get(id.index()) else {
            return Err(None);
        };
        if p.rejects_nothing() {
            return Err(None);
        }
        let Some((from, until)) = p.window(id) else {
            return Err(None);
        };
        let now = clock.load_now_ms().ok_or(None)?;
        if (from..until).contains(&now) && self.count_rejection(id) {
            return Ok(Err(Error::CircuitOpen));
        }
        Err(Some(now))
    }

    /// `b` with the pending rejections folded in, handed to `f`.
    #[inline(always)]
    fn with_counts<R>(&self, id: Id, b: &mut Breaker, f: impl FnOnce(&Breaker) -> R) -> R {
        self.fold(id, b);
        f(b)
    }

    /// `b`'s stats with the pending rejections added.
    #[inline]
    fn stats(&self, id: Id, b: &Breaker, now_ms: Option<u64>) -> Stats {
        let mut s = b.stats_as_of(now_ms);
        s.rejected_count = s.rejected_count.wrapping_add(u64::from(self.pending(id)));
        s
    }

    /// Rejections of `id`'s occupant not yet in its breaker.
    #[inline]
    fn pending_rejected(&self, id: Id) -> u64 {
        u64::from(self.pending(id))
    }
}
