//! The registry's lock-free fast path on hosts (feature `std`, on targets
//! with 64-bit atomics). Without it, with policies, on cores with
//! compare-and-swap, the firmware's fast rejection (`firmware.rs`: an open
//! breaker's published window, counted without the slot); elsewhere none.
//!
//! Most operations on a healthy breaker only count: a closed breaker admits
//! a call (`admitted_count += 1`) or takes a success (`success_count += 1`),
//! an open one rejects a call before its window ends (`rejected_count += 1`).
//! Taking the slot's lock for that costs one atomic read-modify-write
//! (a locked instruction: nanoseconds), and on a breaker shared between threads every such
//! write moves the slot's cache line from core to core.
//!
//! The fast path needs neither:
//! - each slot publishes a *mode word*: which of those operations may skip
//!   the lock, for which id generation, and (open) the window of clock
//!   readings that reject. It is written only with the slot locked, after
//!   every operation that may change the breaker; readers only load it.
//! - the counts go to *lanes*: each thread claims one of the `LANES` (8) lanes
//!   once, and is the only writer of its lane, so a count is a plain load
//!   and store of a line no other thread writes. Stats and snapshots add
//!   the lanes of the slot's current occupant to the breaker's own counts.
//!
//! Anything else (a failure, a probe, a timeout, a state change, a ninth
//! thread while eight hold lanes) takes the slot's lock as before. The answers are
//! the same as the locked path's: the fast path is taken only where the
//! locked path would do nothing but count. One difference is visible, and
//! only between threads: a count made on one thread reaches another
//! thread's stats once the counting operation has returned, not at the
//! instant the operation was decided.
//!
//! A signal handler that interrupts a thread in the middle of a counted
//! operation and calls fusebox on the same thread may lose that one count
//! (the lane's load and store are not one instruction); with the lock it
//! would have deadlocked.
#![deny(unsafe_code)]

#[cfg(fusebox_fast)]
mod lane;
/// The calling thread's lane, if it has one (below [`LANES`]): the C
/// clock announces its reads there too.
#[cfg(all(fusebox_fast, feature = "capi"))]
pub(crate) use lane::{mine as thread_lane, LANES};

/// What the fast path may do for one breaker, decided with its slot locked.
#[cfg(fusebox_fast)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Mode {
    /// Closed: an admission only counts.
    pub admit: bool,
    /// Closed: a success only counts.
    pub succeed: bool,
    /// The breaker has started its time accounting, so an operation that
    /// comes with a clock reading does nothing with it in closed.
    pub timed: bool,
    /// Rejects every reading in `from..until` (open, or forced open).
    pub window: Option<(u64, u64)>,
}

#[cfg(fusebox_fast)]
impl Mode {
    /// What the fast path may do for `b`: exactly what the locked
    /// operations would do by counting only, as the breaker's own rule
    /// ([`Breaker::only_counts`](crate::Breaker)) and open window say.
    fn of(b: &crate::Breaker) -> Mode {
        use crate::breaker::Quick;
        Mode {
            admit: b.only_counts(Quick::Admit, false),
            succeed: b.only_counts(Quick::Succeed, false),
            timed: b.is_timed(),
            window: b.rejecting_window(),
        }
    }
}

/// The fast path's operations, as the registry calls them. Every method
/// has the answer of "no fast path" as its default: [`NoFast`] (registries
/// in caller memory, and every build without `fusebox_fast`) takes them
/// all; the host fast path ([`FastPath`] with `fusebox_fast`) overrides
/// them.
pub trait Fast {
    /// Publishes `b`'s mode for id `id`. Call with the slot locked.
    #[inline(always)]
    fn publish(&self, id: Id, b: &Breaker) {
        let _ = (id, b);
    }

    /// Publishes the mode of `b`, the new occupant of `id`'s slot (created
    /// or restored). Call with the slot locked.
    #[inline(always)]
    fn publish_new(&self, id: Id, b: &Breaker) {
        self.publish(id, b);
    }

    /// Nothing goes fast on this slot (its breaker was removed). Call
    /// with the slot locked.
    #[inline(always)]
    fn clear(&self, id: Id) {
        let _ = id;
    }

    /// Gives the calling thread a lane for `id`'s occupant, if it can.
    /// Called on the locked path, once `id` is known to be live.
    #[inline(always)]
    fn adopt(&self, id: Id) {
        let _ = id;
    }

    /// Whether `id`'s breaker, by its published mode, is not closed:
    /// `try_acquire_if_closed` would decline.
    #[inline(always)]
    fn declines_admission(&self, id: Id) -> bool {
        let _ = id;
        false
    }

    /// As [`declines_admission`](Self::declines_admission), for
    /// `record_success_if_closed`.
    #[inline(always)]
    fn declines_success(&self, id: Id) -> bool {
        let _ = id;
        false
    }

    /// `try_acquire` without the lock, if it only counts; `None` to take
    /// the lock.
    #[inline(always)]
    fn try_acquire(&self, id: Id, now_ms: Option<u64>) -> Option<Result<State, Error>> {
        let _ = (id, now_ms);
        None
    }

    /// `try_acquire` at `clock`'s time, read only when the published mode
    /// is an open window: `Ok` with the answer, or `Err` with the reading
    /// if one was taken, to take the lock (so that the clock is read
    /// once). On hosts `clock` is any clock; the firmware's fast
    /// rejection reads only a clock read by loads (a variable).
    #[inline(always)]
    fn try_acquire_with(
        &self,
        id: Id,
        clock: &impl crate::Clock,
    ) -> Result<Result<State, Error>, Option<u64>> {
        let _ = (id, clock);
        Err(None)
    }

    /// `call`'s admission without the lock, if it only counts.
    #[cfg(fusebox_fast)]
    #[inline(always)]
    fn admit_call(&self, id: Id) -> Option<imp::Admitted<'_>> {
        let _ = id;
        None
    }

    /// `record_success` without the lock, if it only counts (closed).
    #[inline(always)]
    fn record_success(&self, id: Id, timed: bool) -> bool {
        let _ = (id, timed);
        false
    }

    /// `b` (the breaker of `id`, its slot locked) with the counts made
    /// outside it added, handed to `f`.
    #[inline(always)]
    fn with_counts<R>(&self, id: Id, b: &mut Breaker, f: impl FnOnce(&Breaker) -> R) -> R {
        let _ = id;
        f(b)
    }

    /// Moves the counts made outside `b` (the breaker of `id`, its slot
    /// locked) into it: the firmware fast path's pending rejections.
    #[inline(always)]
    fn fold(&self, id: Id, b: &mut Breaker) {
        let _ = (id, b);
    }

    /// Rejections of `id`'s occupant counted outside its breaker and not
    /// yet folded in (firmware; the host's lanes add theirs in
    /// [`stats`](Self::stats)).
    #[inline(always)]
    fn pending_rejected(&self, id: Id) -> u64 {
        let _ = id;
        0
    }

    /// `b`'s stats (the breaker of `id`, its slot locked) with the lanes'
    /// counts added, as of `now_ms` if given.
    #[inline(always)]
    fn stats(&self, id: Id, b: &Breaker, now_ms: Option<u64>) -> Stats {
        let _ = id;
        b.stats_as_of(now_ms)
    }
}

/// No fast path: every operation takes its slot's lock.
#[derive(Debug)]
pub struct NoFast;

impl Fast for NoFast {}

use crate::id::Id;
use crate::{Breaker, Error, State, Stats};

#[cfg(fusebox_fast)]
mod imp {
    use super::{Id, Mode};
    use crate::{Breaker, Error, State, Stats};
    use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

    use super::lane::{self, LANES};

    const ADMIT: u64 = 1;
    const SUCCEED: u64 = 2;
    const TIMED: u64 = 4;
    const REJECT: u64 = 8;
    /// The mode word: the mode bits, then the occupant's 52-bit id
    /// generation (a whole one: a word never answers for another occupant).
    const GEN_SHIFT: u32 = 4;
    const BITS: u64 = (1 << GEN_SHIFT) - 1;

    /// One slot's mode word and open window.
    #[derive(Debug)]
    struct Word {
        word: AtomicU64,
        /// The window's sequence lock: odd while `from` and `until`
        /// change, so that a reader can tell a window it read whole from
        /// one that changed under it.
        seq: AtomicU32,
        from: AtomicU64,
        until: AtomicU64,
        /// Bit `i`: lane `i` holds counts for the current occupant, so
        /// stats add only those lanes. Written with the slot locked.
        lanes: AtomicU32,
    }

    /// One thread's counts for one slot: the occupant they belong to, and
    /// what that thread counted for it.
    #[derive(Debug)]
    struct Counts {
        generation: AtomicU64,
        admitted: AtomicU64,
        succeeded: AtomicU64,
        rejected: AtomicU64,
    }

    impl Counts {
        const fn new() -> Counts {
            Counts {
                generation: AtomicU64::new(0),
                admitted: AtomicU64::new(0),
                succeeded: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }
        }

        /// The first count of this thread for occupant `generation`: the
        /// lane's counts so far belong to an earlier occupant of the slot.
        /// Zeroed before the generation is published, so that a reader who
        /// sees the new generation sees the zeroes.
        #[cold]
        fn start(&self, generation: u64) {
            self.admitted.store(0, Ordering::Relaxed);
            self.succeeded.store(0, Ordering::Relaxed);
            self.rejected.store(0, Ordering::Relaxed);
            self.generation.store(generation, Ordering::Release);
        }
    }

    /// A call admitted by [`FastPath::admit_call`].
    pub struct Admitted<'a> {
        word: &'a Word,
        counts: &'a Counts,
        id: Id,
    }

    impl Admitted<'_> {
        /// Takes the op's success without the lock, if the breaker is (still)
        /// closed with a plain policy: `false` to take it with the lock.
        #[inline(always)]
        pub(crate) fn succeed(self) -> bool {
            let ok = has_bits(self.word.word.load(Ordering::Acquire), self.id, SUCCEED);
            if ok {
                bump(&self.counts.succeeded);
            }
            ok
        }
    }

    /// One thread's counts for every slot, alone on its cache lines.
    #[derive(Debug)]
    #[repr(align(64))]
    struct Lane<const N: usize>([Counts; N]);

    /// The fast path of a registry of `N` slots.
    #[derive(Debug)]
    pub struct FastPath<const N: usize> {
        words: [Word; N],
        lanes: [Lane<N>; LANES],
    }

    /// Whether mode word `word` is `id`'s and has every bit of `bits`.
    #[inline(always)]
    fn has_bits(word: u64, id: Id, bits: u64) -> bool {
        word & (!BITS | bits) == (id.generation() << GEN_SHIFT) | bits
    }

    /// Adds one; only the lane's own thread writes it.
    #[inline(always)]
    fn bump(n: &AtomicU64) {
        n.store(n.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    impl<const N: usize> FastPath<N> {
        pub(crate) const fn new() -> Self {
            FastPath {
                words: [const {
                    Word {
                        word: AtomicU64::new(0),
                        seq: AtomicU32::new(0),
                        from: AtomicU64::new(0),
                        until: AtomicU64::new(0),
                        lanes: AtomicU32::new(0),
                    }
                }; N],
                lanes: [const { Lane([const { Counts::new() }; N]) }; LANES],
            }
        }

        fn publish_mode(&self, id: Id, m: Mode) {
            let Some(w) = self.words.get(id.index()) else {
                return;
            };
            let mut core = id.generation() << GEN_SHIFT;
            for (on, bit) in [
                (m.admit, ADMIT),
                (m.succeed, SUCCEED),
                (m.timed, TIMED),
                (m.window.is_some(), REJECT),
            ] {
                if on {
                    core |= bit;
                }
            }
            // Only the slot's lock holder writes: these loads see the
            // latest values.
            let cur = w.word.load(Ordering::Relaxed);
            if let Some((from, until)) = m.window {
                if cur != core
                    || w.from.load(Ordering::Relaxed) != from
                    || w.until.load(Ordering::Relaxed) != until
                {
                    // A seqlock: readers that load the window while it
                    // changes see the sequence move, and take the lock.
                    let seq = w.seq.load(Ordering::Relaxed);
                    w.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
                    fence(Ordering::Release);
                    w.from.store(from, Ordering::Relaxed);
                    w.until.store(until, Ordering::Relaxed);
                    w.seq.store(seq.wrapping_add(2), Ordering::Release);
                }
            }
            if cur != core {
                w.word.store(core, Ordering::Release);
            }
        }

        /// The calling thread's counts for `id`'s slot, if the thread has a
        /// lane and has started it for `id`'s occupant ([`adopt`]). Calls
        /// nothing, so that the fast path needs no stack frame.
        ///
        /// [`adopt`]: Self::adopt
        #[inline(always)]
        fn counts(&self, id: Id) -> Option<&Counts> {
            let c = self.lanes.get(lane::mine()?)?.0.get(id.index())?;
            (c.generation.load(Ordering::Relaxed) == id.generation()).then_some(c)
        }

        /// Whether `id`'s mode word has every bit of `bits`; the word.
        #[inline(always)]
        fn word(&self, id: Id, bits: u64) -> Option<(&Word, u64)> {
            let w = self.words.get(id.index())?;
            let cur = w.word.load(Ordering::Acquire);
            has_bits(cur, id, bits).then_some((w, cur))
        }

        /// The rejection of an open breaker whose published window (mode
        /// word `seen`) holds `now`, counted; `None` to take the lock.
        #[inline(always)]
        fn reject_in_window(
            &self,
            w: &Word,
            seen: u64,
            id: Id,
            now: u64,
        ) -> Option<Result<State, Error>> {
            let seq = w.seq.load(Ordering::Acquire);
            let from = w.from.load(Ordering::Relaxed);
            let until = w.until.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            let whole = seq & 1 == 0
                && w.seq.load(Ordering::Relaxed) == seq
                && w.word.load(Ordering::Relaxed) == seen;
            if !whole || now < from || now >= until {
                return None;
            }
            bump(&self.counts(id)?.rejected);
            Some(Err(Error::CircuitOpen))
        }

        /// The counts the lanes hold for `id`'s occupant: admitted,
        /// succeeded, rejected.
        fn lane_counts(&self, id: Id) -> (u64, u64, u64) {
            let mut sum = (0u64, 0u64, 0u64);
            let mut used = self
                .words
                .get(id.index())
                .map_or(0, |w| w.lanes.load(Ordering::Relaxed));
            while used != 0 {
                let lane = used.trailing_zeros() as usize;
                used &= used - 1;
                let Some(c) = self.lanes.get(lane).and_then(|l| l.0.get(id.index())) else {
                    continue;
                };
                if c.generation.load(Ordering::Acquire) == id.generation() {
                    sum.0 = sum.0.wrapping_add(c.admitted.load(Ordering::Relaxed));
                    sum.1 = sum.1.wrapping_add(c.succeeded.load(Ordering::Relaxed));
                    sum.2 = sum.2.wrapping_add(c.rejected.load(Ordering::Relaxed));
                }
            }
            sum
        }
    }

    impl<const N: usize> super::Fast for FastPath<N> {
        /// Publishes `b`'s mode for id `id`. Call with the slot locked.
        fn publish(&self, id: Id, b: &Breaker) {
            self.publish_mode(id, Mode::of(b));
        }

        /// Nothing goes fast on this slot (its breaker was removed). Call
        /// with the slot locked.
        fn clear(&self, id: Id) {
            self.publish_mode(id, Mode::default());
            if let Some(w) = self.words.get(id.index()) {
                w.lanes.store(0, Ordering::Relaxed);
            }
        }

        /// Gives the calling thread a lane if it has none and one is free,
        /// and starts its counts for `id`'s occupant: the next operations
        /// of this thread on `id` may go fast. Called on the locked path,
        /// once `id` is known to be live.
        fn adopt(&self, id: Id) {
            let Some(lane) = lane::mine().or_else(lane::claim) else {
                return;
            };
            let c = self.lanes.get(lane).and_then(|l| l.0.get(id.index()));
            let (Some(c), Some(w)) = (c, self.words.get(id.index())) else {
                return;
            };
            if c.generation.load(Ordering::Relaxed) != id.generation() {
                c.start(id.generation());
            }
            let used = w.lanes.load(Ordering::Relaxed);
            if used & 1 << lane == 0 {
                w.lanes.store(used | 1 << lane, Ordering::Relaxed);
            }
        }

        /// `try_acquire` without the lock, if it only counts: `Some(Ok)`
        /// from a closed breaker, `Some(Err(CircuitOpen))` from an open one
        /// whose window holds `now_ms`, `None` to take the lock. With
        /// `now_ms` `None` (the caller has not read the clock), only the
        /// closed answer.
        #[inline(always)]
        fn try_acquire(&self, id: Id, now_ms: Option<u64>) -> Option<Result<State, Error>> {
            // One load of the word answers both questions.
            let (w, seen) = self.word(id, 0)?;
            let timed = if now_ms.is_some() { TIMED } else { 0 };
            if seen & (ADMIT | timed) == ADMIT | timed {
                bump(&self.counts(id)?.admitted);
                return Some(Ok(State::Closed));
            }
            let now = now_ms?;
            if seen & REJECT == 0 {
                return None;
            }
            self.reject_in_window(w, seen, id, now)
        }

        /// [`try_acquire`](Self::try_acquire) at `clock`'s time, read
        /// only when the published mode is an open window: `Ok` with the
        /// answer, or `Err` with the reading if one was taken, to take the
        /// lock (so that the clock is read once).
        #[inline(always)]
        fn try_acquire_with(
            &self,
            id: Id,
            clock: &impl crate::Clock,
        ) -> Result<Result<State, Error>, Option<u64>> {
            let Some((w, seen)) = self.word(id, 0) else {
                return Err(None);
            };
            if seen & ADMIT != 0 {
                let c = self.counts(id).ok_or(None)?;
                bump(&c.admitted);
                return Ok(Ok(State::Closed));
            }
            if seen & REJECT == 0 {
                return Err(None);
            }
            let now = clock.now_ms();
            self.reject_in_window(w, seen, id, now).ok_or(Some(now))
        }

        /// `call`'s admission without the lock, if it only counts: the
        /// admission is counted, and the returned handle takes the op's
        /// success with the same lane.
        #[inline(always)]
        fn admit_call(&self, id: Id) -> Option<Admitted<'_>> {
            let (w, _) = self.word(id, ADMIT)?;
            let c = self.counts(id)?;
            bump(&c.admitted);
            Some(Admitted {
                word: w,
                counts: c,
                id,
            })
        }

        /// `record_success` without the lock, if it only counts (closed).
        /// `timed`: the caller passes a clock reading.
        #[inline(always)]
        fn record_success(&self, id: Id, timed: bool) -> bool {
            let timed = if timed { TIMED } else { 0 };
            if self.word(id, SUCCEED | timed).is_none() {
                return false;
            }
            match self.counts(id) {
                Some(c) => {
                    bump(&c.succeeded);
                    true
                }
                None => false,
            }
        }

        /// Whether `id`'s breaker, by its published mode, is not closed
        /// (or measures slow calls): `try_acquire_if_closed` would decline.
        /// `false` also when the word is not `id`'s (the lock decides).
        fn declines_admission(&self, id: Id) -> bool {
            self.word(id, 0).is_some_and(|(_, w)| w & ADMIT == 0)
        }

        /// As [`declines_admission`](Self::declines_admission), for
        /// `record_success_if_closed`.
        fn declines_success(&self, id: Id) -> bool {
            self.word(id, 0).is_some_and(|(_, w)| w & SUCCEED == 0)
        }

        /// `b` (the breaker of `id`, its slot locked) with the lanes'
        /// counts added, handed to `f`.
        fn with_counts<R>(&self, id: Id, b: &mut Breaker, f: impl FnOnce(&Breaker) -> R) -> R {
            let mut whole = b.clone();
            let (admitted, succeeded, rejected) = self.lane_counts(id);
            whole.add_counts(admitted, succeeded, rejected);
            f(&whole)
        }

        /// `b`'s stats (the breaker of `id`, its slot locked) with the
        /// lanes' counts added; the rate window as of `now_ms` if given
        /// (see [`Breaker::stats_at`]).
        #[inline]
        fn stats(&self, id: Id, b: &Breaker, now_ms: Option<u64>) -> Stats {
            let mut s = b.stats_as_of(now_ms);
            let (admitted, succeeded, rejected) = self.lane_counts(id);
            s.admitted_count = s.admitted_count.wrapping_add(admitted);
            s.success_count = s.success_count.wrapping_add(succeeded);
            s.rejected_count = s.rejected_count.wrapping_add(rejected);
            s
        }
    }
}

/// Without `std`, where the target has compare-and-swap: the fast
/// rejection.
#[cfg(fusebox_fast_reject)]
#[path = "firmware.rs"]
mod imp;

#[cfg(all(not(fusebox_fast), not(fusebox_fast_reject)))]
mod imp {
    /// No fast path (firmware without compare-and-swap: Cortex-M0,
    /// RV32IMC): every operation takes its slot.
    #[derive(Debug)]
    pub struct FastPath<const N: usize>;

    impl<const N: usize> FastPath<N> {
        pub(crate) const fn new() -> Self {
            FastPath
        }
    }

    impl<const N: usize> super::Fast for FastPath<N> {}
}

pub(crate) use imp::FastPath;
