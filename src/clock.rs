//! Time sources: the [`Clock`] trait, a [`ManualClock`] for tests, and
//! [`Tick32`], which extends a wrapping 32-bit millisecond tick to 64 bits.
#![forbid(unsafe_code)]

use core::cell::Cell;
use critical_section::Mutex;

#[cfg(feature = "std")]
mod std_clock;
#[cfg(feature = "std")]
pub use std_clock::StdClock;

/// A source of milliseconds, supplied by the caller.
///
/// fusebox never reads time on its own: every operation that needs the time
/// takes it from a `Clock` (or from a `now_ms` value read from one).
///
/// # Contract
///
/// * **Monotonic**: successive readings should never decrease. fusebox does not
///   rely on it for safety: a clock that stands still, goes backwards or jumps
///   never makes fusebox panic or overflow, and an open breaker re-bases its
///   open window on a reading earlier than its last failure, so it stays open
///   at most `reset_timeout_ms` once time moves forward again.
/// * **Never fails**: `now_ms` returns a value, always. It may be called from
///   any thread that uses the breaker, never inside a critical section.
/// * The epoch is arbitrary (boot, process start); only differences matter.
pub trait Clock {
    /// The current time in milliseconds since an arbitrary, fixed epoch.
    fn now_ms(&self) -> u64;

    /// A reading for the ends of a measured duration (a slow call's start
    /// and end, in [`Registry::call`](crate::Registry::call) and
    /// `call_classified`): by default [`now_ms`](Self::now_ms). A clock
    /// whose `now_ms` is coarse (cheap, a few ms of resolution) returns a
    /// precise reading here, on the same timeline, never earlier than a
    /// `now_ms` reading taken before it (nor later than one taken after).
    #[inline]
    fn precise_now_ms(&self) -> u64 {
        self.now_ms()
    }

    /// The reading, when taking it is only loads: a variable that the
    /// application keeps current (a tick counter its timer interrupt
    /// increments), read and extended in constant time, calling no code of
    /// the application. `None`, the default, when reading calls code: the
    /// registry then reads [`now_ms`](Self::now_ms) after leaving the slot.
    ///
    /// Unlike `now_ms` it may be called inside a slot's bookkeeping (and
    /// so must not wait nor take long). Where that bookkeeping runs with
    /// interrupts enabled (without `std`, with policies: the slot is lent
    /// out of the critical section), a registry that finds a
    /// breaker not closed takes the time there and decides in the same
    /// pass: a rejection then passes through the slot once instead of
    /// twice. When `Some`, it is the same reading `now_ms` would give
    /// (and, for a variable, the precise one too).
    #[inline]
    fn load_now_ms(&self) -> Option<u64> {
        None
    }
}

/// Any `Fn() -> u64` is a clock, so a closure over a HAL tick works directly.
impl<F: Fn() -> u64> Clock for F {
    #[inline]
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// A clock that moves only when told to: makes time-dependent tests instant
/// and deterministic.
///
/// It is `Sync` (its reading sits behind a critical section), so it can be a
/// `static` shared by threads.
///
/// ```
/// use fusebox::{Clock, ManualClock};
/// let clock = ManualClock::new(0);
/// clock.advance(1_500);
/// assert_eq!(clock.now_ms(), 1_500);
/// clock.set(10);
/// assert_eq!(clock.now_ms(), 10);
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Cell<u64>>,
}

impl ManualClock {
    /// A clock reading `start_ms`. O(1), `const`.
    pub const fn new(start_ms: u64) -> Self {
        Self {
            now: Mutex::new(Cell::new(start_ms)),
        }
    }

    /// Sets the reading to `ms`, forwards or backwards. O(1).
    pub fn set(&self, ms: u64) {
        critical_section::with(|cs| self.now.borrow(cs).set(ms));
    }

    /// Moves the reading forward by `ms`, saturating at `u64::MAX`. O(1).
    pub fn advance(&self, ms: u64) {
        critical_section::with(|cs| {
            let cell = self.now.borrow(cs);
            cell.set(cell.get().saturating_add(ms));
        });
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        critical_section::with(|cs| self.now.borrow(cs).get())
    }

    /// A load: the reading is taken in the slot's bookkeeping.
    fn load_now_ms(&self) -> Option<u64> {
        Some(self.now_ms())
    }
}

/// How far behind the last reading a 32-bit tick's reading may be and still
/// be taken as behind it (2^24 ms, 4.66 hours): a tick stepped back a
/// little. (A reader delayed between reading the tick and extending it
/// never meets this rule: every shared extension takes its state before
/// the tick is read, see [`Tick32`].) A reading further from the last one
/// is taken as ahead of it, up to 2^32 - 2^24 ms (49.5 days), so that a
/// tick no fusebox call read for weeks (a closed breaker's admissions and
/// successes read no clock) moves time forward instead of being taken for
/// a reading from the past (time would step back by weeks, and every
/// breaker stamped since would wait that long).
pub const TICK32_BEHIND_MS: u32 = 1 << 24;

/// A reading ahead of the last one by less than this is taken as ahead.
const TICK32_AHEAD_LIMIT: u32 = TICK32_BEHIND_MS.wrapping_neg();

/// The pure state of a 32-bit tick extender (see [`Tick32`]).
///
/// It keeps the last reading and the wraps counted so far, so an extended
/// reading is the two side by side (no 64-bit addition: on a 32-bit core
/// the extension is a few instructions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick32State {
    last_raw: u32,
    wraps: u32,
    started: bool,
}

impl Tick32State {
    /// A fresh extender; its first reading is taken as is. `const`.
    pub const fn new() -> Self {
        Self {
            last_raw: 0,
            wraps: 0,
            started: false,
        }
    }

    /// Where the state stands on the extended timeline (its last reading,
    /// extended), for comparing two states. A state that took no reading
    /// stands at 0, below every state that took one ([`extend_after`]
    /// extends a reading whose copy took none against the newest state, so
    /// it never compares two first readings).
    fn position(&self) -> u64 {
        u64::from(self.wraps) << 32 | u64::from(self.last_raw)
    }

    /// Extends one raw 32-bit reading to 64 bits. O(1), never panics.
    ///
    /// A reading behind the last one by at most [`TICK32_BEHIND_MS`]
    /// (4.66 hours; a tick stepped back a little) is answered with
    /// a value as far in the past and does not move the stored time; any
    /// other reading is ahead of the last one (by less than 2^32 - 2^24 ms,
    /// 49.5 days) and moves time forward, across a wrap too. Time stays
    /// exact as long as readings come at least once every 49.5 days, for
    /// 2^32 wraps (584 million years of a millisecond tick; after that the
    /// count of wraps stays at its maximum). After a longer gap it is never
    /// wedged: it lags by whole wraps (2^32 ms, 49.7 days), or, when the
    /// gap ends less than 4.66 hours short of a whole number of wraps, the
    /// reading is taken as behind: time steps back by at most 4.66 hours
    /// and goes on from there (an open breaker may then wait its reset
    /// timeout again, as after a lag).
    #[inline]
    pub fn extend(&mut self, raw: u32) -> u64 {
        let last = self.last_raw;
        // The common case first, in few instructions: ahead of the last
        // reading without a wrap (a first reading too, `last` 0, unless
        // it is in the top 2^24 ms). The general rule below gives the same
        // answer.
        if raw >= last && raw - last < TICK32_AHEAD_LIMIT {
            self.last_raw = raw;
            self.started = true;
            return u64::from(self.wraps) << 32 | u64::from(raw);
        }
        if self.started && raw.wrapping_sub(last) >= TICK32_AHEAD_LIMIT {
            // `raw` is behind: report it in the past without storing it.
            let stored = u64::from(self.wraps) << 32 | u64::from(last);
            return stored.saturating_sub(u64::from(last.wrapping_sub(raw)));
        }
        // Ahead (or the first reading, `last` 0): across a wrap when
        // `raw` is numerically below the last reading.
        if raw < last {
            self.wraps = self.wraps.saturating_add(1);
        }
        self.last_raw = raw;
        self.started = true;
        u64::from(self.wraps) << 32 | u64::from(raw)
    }
}

/// Adapts a wrapping 32-bit millisecond tick (a `HAL_GetTick()`-style counter
/// that wraps every 49.7 days) into a 64-bit [`Clock`].
///
/// The raw tick is read *outside* any critical section. A reading takes two
/// short ones: the first copies the extension's state, then the tick is
/// read, and the second extends the reading against that copy and stores
/// the result unless another reader stored a later one meanwhile. A tick
/// is never behind a state taken before it was read, so a reader delayed
/// between the two (for less than 49.5 days) is still extended right; a
/// reader whose copy took no reading yet is placed against the newest
/// state instead. See [`Tick32State::extend`] for the rule.
///
/// ```
/// use fusebox::{Clock, Tick32};
/// use core::sync::atomic::{AtomicU32, Ordering};
/// static TICK: AtomicU32 = AtomicU32::new(u32::MAX - 5);
/// let clock = Tick32::new(|| TICK.load(Ordering::Relaxed));
/// let before = clock.now_ms();
/// TICK.store(4, Ordering::Relaxed); // wrapped: 10 ms later
/// assert_eq!(clock.now_ms() - before, 10);
/// ```
#[derive(Debug)]
pub struct Tick32<F> {
    source: F,
    state: Mutex<Cell<Tick32State>>,
}

impl<F: Fn() -> u32> Tick32<F> {
    /// Wraps `source`, a function returning the raw 32-bit tick. `const`.
    pub const fn new(source: F) -> Self {
        Self {
            source,
            state: Mutex::new(Cell::new(Tick32State::new())),
        }
    }
}

impl<F: Fn() -> u32> Clock for Tick32<F> {
    fn now_ms(&self) -> u64 {
        extend_shared(&self.state, &self.source)
    }
}

/// Reads the tick with `read` and extends it with the shared extension
/// state `state`: the state is copied in one critical section before the
/// tick is read, and the reading extended against that copy in a second
/// one ([`extend_after`]); the tick read runs in neither.
pub(crate) fn extend_shared(state: &Mutex<Cell<Tick32State>>, read: impl FnOnce() -> u32) -> u64 {
    let before = critical_section::with(|cs| state.borrow(cs).get());
    let raw = read();
    critical_section::with(|cs| extend_after(state.borrow(cs), before, raw))
}

/// Extends `raw`, a tick read after the state `before` was copied from
/// `cell`, against `before`, and stores the extended state in `cell` unless
/// `cell` holds a later one (another reader's, stored meanwhile). The
/// caller's critical section guards `cell`. Through [`extend_in`] (one copy
/// of the extension: firmware flash).
#[inline(never)]
pub(crate) fn extend_after(cell: &Cell<Tick32State>, before: Tick32State, raw: u32) -> u64 {
    let current = cell.get();
    // A copy that took no reading says "take it as is", which holds only
    // against the newest state: a first reading is placed against that
    // (another first reader may have stored one across the tick's wrap).
    cell.set(if before.started { before } else { current });
    let ext = extend_in(cell, raw);
    if cell.get().position() < current.position() {
        cell.set(current);
    }
    ext
}

/// Extends `raw` with the state in `cell` and stores the result, inside the
/// caller's critical section (which guards `cell`). Read in that same
/// section (the C API's 32-bit variable on firmware), no reader can have
/// stored a later state since the tick was read. Out of line: every path
/// that extends a tick shares one copy (firmware flash).
#[inline(never)]
pub(crate) fn extend_in(cell: &Cell<Tick32State>, raw: u32) -> u64 {
    let mut st = cell.get();
    let ext = st.extend(raw);
    cell.set(st);
    ext
}

/// A 32-bit tick extended to 64 bits with one atomic word and no critical
/// section, for cores with compare-and-swap (LDREX/STREX on Cortex-M3 and
/// up; every host). The C API's `fusebox_set_clock_var32` and
/// `fusebox_set_clock32` use it on hosts.
///
/// The word holds the wraps counted so far (bits 31..17), whether a reading
/// was taken (bit 16) and the top 16 bits of the last reading (bits 15..0,
/// units of 65.536 s). A reading whose top 16 bits are behind those by
/// at most 256 units ([`TICK32_BEHIND_MS`], 4.66 hours, in the word's
/// units) is answered in the past and stored nowhere, as
/// [`Tick32State::extend`] does; any other moves time forward, across a
/// wrap too (it is ahead by less than 2^32 - 2^24 ms, 49.5 days).
/// With a monotonic tick no reading is ever behind the word it was
/// extended against (below), so only a gap longer than that, or a tick
/// stepped back, meets the rule's other side. The word is loaded *before*
/// the tick is read (and again after it, if it took no reading yet), and
/// updated with one compare-and-swap that may fail: it fails only when
/// another reader stored a later reading since the load (a tick read after
/// the load is never behind the word, as long as the tick is monotonic),
/// and the value this reader computed from the word it loaded is right
/// either way. The count of wraps lasts 2^15 wraps (4 460 years of a
/// millisecond tick).
#[cfg(target_has_atomic = "32")]
#[cfg_attr(not(all(feature = "std", feature = "capi")), allow(dead_code))] // the C API's, with std
#[derive(Debug)]
pub(crate) struct AtomicTick32 {
    word: core::sync::atomic::AtomicU32,
}

#[cfg(target_has_atomic = "32")]
#[cfg_attr(not(all(feature = "std", feature = "capi")), allow(dead_code))]
impl AtomicTick32 {
    const STARTED: u32 = 1 << 16;

    /// A fresh extender: its first reading is taken as is.
    pub(crate) const fn new() -> Self {
        Self {
            word: core::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Forgets every reading (the next one is taken as is).
    pub(crate) fn clear(&self) {
        self.word.store(0, core::sync::atomic::Ordering::Relaxed);
    }

    /// Loads the state, calls `read` for the raw tick, extends it.
    #[inline]
    pub(crate) fn extend(&self, read: impl FnOnce() -> u32) -> u64 {
        use core::sync::atomic::Ordering;
        let word = self.word.load(Ordering::Acquire);
        let raw = read();
        // A word that took no reading says "take it as is", which holds
        // only against the newest word: another first reader may have
        // stored one meanwhile (across the tick's wrap, too).
        let word = if word & Self::STARTED == 0 {
            self.word.load(Ordering::Acquire)
        } else {
            word
        };
        let (ext, next) = Self::step(word, raw);
        if next != word {
            // A failure means another reader stored a later state: keep it.
            let _ = self
                .word
                .compare_exchange(word, next, Ordering::AcqRel, Ordering::Relaxed);
        }
        ext
    }

    /// The extended reading of `raw` against the state `word`, and the
    /// state to store. Pure, O(1), never panics.
    fn step(word: u32, raw: u32) -> (u64, u32) {
        let top = raw >> 16;
        if word & Self::STARTED == 0 {
            return (u64::from(raw), Self::STARTED | top);
        }
        let wraps = word >> 17;
        let last = word & 0xFFFF;
        if top.wrapping_sub(last) & 0xFFFF < TICK32_AHEAD_LIMIT >> 16 {
            // Ahead (or in the same 65.536 s): across a wrap if `top` is
            // numerically below the last reading's.
            let wraps = if top < last {
                (wraps + 1).min(0x7FFF)
            } else {
                wraps
            };
            let ext = u64::from(wraps) << 32 | u64::from(raw);
            (ext, wraps << 17 | Self::STARTED | top)
        } else if top > last {
            // Behind, from before the last wrap counted.
            let ext = match wraps.checked_sub(1) {
                Some(w) => u64::from(w) << 32 | u64::from(raw),
                None => 0,
            };
            (ext, word)
        } else {
            (u64::from(wraps) << 32 | u64::from(raw), word)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick32_extends_across_wrap() {
        let mut st = Tick32State::new();
        assert_eq!(st.extend(u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(st.extend(1), u64::from(u32::MAX) + 2);
        assert_eq!(st.extend(100), u64::from(u32::MAX) + 101);
    }

    #[test]
    fn tick32_many_wraps_stay_exact() {
        let mut st = Tick32State::new();
        let mut raw = 0u32;
        let mut expect = 0u64;
        st.extend(raw);
        for _ in 0..20 {
            // The longest step taken as forward: 2^32 - 2^24 - 1 ms.
            let step = TICK32_AHEAD_LIMIT - 1;
            raw = raw.wrapping_add(step);
            expect += u64::from(step);
            assert_eq!(st.extend(raw), expect);
        }
        assert!(expect > 4 * u64::from(u32::MAX));
    }

    #[test]
    fn tick32_late_reading_is_in_the_past_and_not_stored() {
        let mut st = Tick32State::new();
        st.extend(10);
        assert_eq!(st.extend(20), 20);
        assert_eq!(st.extend(15), 15);
        assert_eq!(st.extend(21), 21);
    }

    /// Against the rule written out in 64 bits (time moves by each
    /// forward step; a reading behind answers in the past and is not
    /// stored), over steps of every size, wraps included.
    #[test]
    fn tick32_state_follows_the_behind_window_rule() {
        let mut st = Tick32State::new();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut raw = 0xFFFF_FF00u32;
        let mut time = u64::from(raw);
        assert_eq!(st.extend(raw), time);
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let step = match seed % 4 {
                0 => (seed >> 8) as u32 % TICK32_AHEAD_LIMIT,
                1 => (seed >> 8) as u32 & 0xFF,
                2 => (seed >> 8) as u32 & 0x00FF_FFFF,
                _ => 0,
            };
            if seed & 0x100_0000_0000 != 0 && step != 0 {
                // A reading behind the stored one.
                let back = step.clamp(1, TICK32_BEHIND_MS);
                let expect = time.saturating_sub(u64::from(back));
                assert_eq!(st.extend(raw.wrapping_sub(back)), expect);
            } else {
                raw = raw.wrapping_add(step);
                time += u64::from(step);
                assert_eq!(st.extend(raw), time);
            }
        }
        assert!(time > u64::from(u32::MAX));
    }

    /// A tick no call read for 30 days (a closed breaker's admissions and
    /// successes read no clock) moves time forward by 30 days. Under the
    /// rule of 2^31 ms it was taken for a reading 19.7 days in the past.
    #[test]
    fn tick32_long_gap_moves_time_forward() {
        const DAY: u32 = 86_400_000;
        let mut st = Tick32State::new();
        assert_eq!(st.extend(1_000), 1_000);
        assert_eq!(st.extend(1_000 + 30 * DAY), u64::from(1_000 + 30 * DAY));
        // 49.5 days and one more reading: still forward, across the wrap.
        let before = u64::from(1_000 + 30 * DAY);
        let raw = (1_000 + 30 * DAY).wrapping_add(TICK32_AHEAD_LIMIT - 1);
        assert_eq!(st.extend(raw), before + u64::from(TICK32_AHEAD_LIMIT - 1));
        // Behind by 2^24 ms: in the past, by that much at most.
        let stored = before + u64::from(TICK32_AHEAD_LIMIT - 1);
        let back = raw.wrapping_sub(TICK32_BEHIND_MS);
        assert_eq!(st.extend(back), stored - u64::from(TICK32_BEHIND_MS));
        // One ms further back is 2^32 - 2^24 - 1 ms ahead.
        assert_eq!(
            st.extend(back.wrapping_sub(1)),
            stored + u64::from(TICK32_AHEAD_LIMIT - 1)
        );
    }

    /// A reader delayed between reading the tick and extending it, while
    /// another reader extends a tick 5 hours later: its reading is the time
    /// it read, and time does not jump (extended against the state at the
    /// extension, it was 2^32 - 5 h ahead, and stored).
    #[test]
    fn tick32_delayed_reader_is_extended_against_the_state_before_its_read() {
        use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
        const FIVE_HOURS: u32 = 5 * 3_600_000;
        static RAW: AtomicU32 = AtomicU32::new(1_000);
        static OVERTAKE: AtomicBool = AtomicBool::new(false);
        fn source() -> u32 {
            let raw = RAW.load(Ordering::Relaxed);
            if OVERTAKE.swap(false, Ordering::Relaxed) {
                // Another reader, 5 hours later, before this one extends.
                RAW.store(1_000 + FIVE_HOURS, Ordering::Relaxed);
                assert_eq!(CLOCK.now_ms(), u64::from(1_000 + FIVE_HOURS));
            }
            raw
        }
        static CLOCK: Tick32<fn() -> u32> = Tick32::new(source);
        assert_eq!(CLOCK.now_ms(), 1_000);
        OVERTAKE.store(true, Ordering::Relaxed);
        assert_eq!(CLOCK.now_ms(), 1_000);
        // The delayed reader did not store its earlier state: a reading
        // 49.5 days less an hour after the later one is still ahead.
        let far = TICK32_AHEAD_LIMIT - 3_600_000;
        RAW.store((1_000 + FIVE_HOURS).wrapping_add(far), Ordering::Relaxed);
        assert_eq!(
            CLOCK.now_ms(),
            u64::from(1_000 + FIVE_HOURS) + u64::from(far)
        );
    }

    /// Two first readers of a fresh `Tick32` on either side of the tick's
    /// wrap: one copies the state (none taken yet), the other reads just
    /// before the wrap, then the first reads just after it. The later
    /// reading is placed after the earlier (each taking its reading as is,
    /// it came 49.7 days before).
    #[test]
    fn tick32_first_readers_across_the_wrap_keep_their_order() {
        use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
        static RAW: AtomicU32 = AtomicU32::new(0xFFFF_FF00);
        static OVERTAKE: AtomicBool = AtomicBool::new(true);
        static EARLIER: AtomicU32 = AtomicU32::new(0);
        fn source() -> u32 {
            if OVERTAKE.swap(false, Ordering::Relaxed) {
                // Between this reader's copy of the state and its read.
                let earlier = CLOCK.now_ms();
                EARLIER.store(earlier as u32, Ordering::Relaxed);
                RAW.store(0x10, Ordering::Relaxed);
            }
            RAW.load(Ordering::Relaxed)
        }
        static CLOCK: Tick32<fn() -> u32> = Tick32::new(source);
        let later = CLOCK.now_ms();
        assert_eq!(EARLIER.load(Ordering::Relaxed), 0xFFFF_FF00);
        assert_eq!(later, 0x1_0000_0010);
    }

    /// A first reader reads just before the wrap and is delayed; another
    /// first reader reads just after it and stores. The delayed one's
    /// reading does not replace it (it came earlier): the next reading is
    /// 16 ms after the stored one, not 49.7 days.
    #[test]
    fn tick32_delayed_first_reader_does_not_replace_a_later_one() {
        use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
        static RAW: AtomicU32 = AtomicU32::new(0xFFFF_FF00);
        static OVERTAKE: AtomicBool = AtomicBool::new(true);
        fn source() -> u32 {
            let raw = RAW.load(Ordering::Relaxed);
            if OVERTAKE.swap(false, Ordering::Relaxed) {
                RAW.store(0x10, Ordering::Relaxed);
                assert_eq!(CLOCK.now_ms(), 0x10);
            }
            raw
        }
        static CLOCK: Tick32<fn() -> u32> = Tick32::new(source);
        // Behind the stored 0x10 by 0x110 ms: in the past (saturated).
        assert_eq!(CLOCK.now_ms(), 0);
        RAW.store(0x20, Ordering::Relaxed);
        assert_eq!(CLOCK.now_ms(), 0x20);
    }

    #[test]
    fn tick32_late_reading_near_zero_saturates() {
        let mut st = Tick32State::new();
        st.extend(5);
        assert_eq!(st.extend(u32::MAX), 0);
        assert_eq!(st.extend(6), 6);
    }
    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_extends_like_tick32() {
        let t = AtomicTick32::new();
        assert_eq!(t.extend(|| u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(t.extend(|| 1), u64::from(u32::MAX) + 2);
        assert_eq!(t.extend(|| 100), u64::from(u32::MAX) + 101);
        // Behind across the wrap: in the past, not stored.
        assert_eq!(t.extend(|| u32::MAX), u64::from(u32::MAX));
        assert_eq!(t.extend(|| 200), u64::from(u32::MAX) + 201);
        t.clear();
        assert_eq!(t.extend(|| 0xF000_0000), 0xF000_0000);
    }

    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_many_wraps_stay_exact() {
        let t = AtomicTick32::new();
        let mut raw = 0x8000_0000u32;
        let mut expect = u64::from(raw);
        assert_eq!(t.extend(|| raw), expect);
        for _ in 0..40 {
            // The longest step taken as forward: 2^32 - 2^24 - 2^16 ms
            // (whole units of 65.536 s).
            let step = TICK32_AHEAD_LIMIT - 0x1_0000;
            raw = raw.wrapping_add(step);
            expect += u64::from(step);
            assert_eq!(t.extend(|| raw), expect);
        }
        assert!(expect > 8 * u64::from(u32::MAX));
    }

    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_agrees_with_tick32_state_on_small_steps() {
        let t = AtomicTick32::new();
        let mut st = Tick32State::new();
        let mut raw = 0xFFF0_0000u32;
        let mut x = 12345u32;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            // Forward by up to 2^20 ms, now and then a little back.
            if x.is_multiple_of(7) {
                raw = raw.wrapping_sub(x % 1000);
            } else {
                raw = raw.wrapping_add(x % (1 << 20));
            }
            assert_eq!(t.extend(|| raw), st.extend(raw));
        }
    }

    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_long_gap_moves_time_forward() {
        const DAY: u32 = 86_400_000;
        let t = AtomicTick32::new();
        assert_eq!(t.extend(|| 1_000), 1_000);
        assert_eq!(t.extend(|| 1_000 + 30 * DAY), u64::from(1_000 + 30 * DAY));
        assert_eq!(t.extend(|| 1_000 + 31 * DAY), u64::from(1_000 + 31 * DAY));
        // 2^24 ms behind (256 units of 65.536 s): in the past, not stored.
        let raw = 1_000 + 31 * DAY;
        let back = raw - TICK32_BEHIND_MS;
        assert_eq!(t.extend(|| back), u64::from(back));
        // 2^24 + 2^16 ms behind: ahead, across a wrap.
        let ahead = back - 0x1_0000;
        assert_eq!(t.extend(|| ahead), (1u64 << 32) + u64::from(ahead));
    }

    /// As `tick32_first_readers_across_the_wrap_keep_their_order`, for
    /// the lock-free extension: a first reader whose word took no reading
    /// places its reading against the newest word.
    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_first_readers_across_the_wrap_keep_their_order() {
        let t = AtomicTick32::new();
        let mut earlier = 0;
        let later = t.extend(|| {
            earlier = t.extend(|| 0xFFFF_FF00);
            0x10
        });
        assert_eq!(earlier, 0xFFFF_FF00);
        assert_eq!(later, 0x1_0000_0010);
    }

    #[cfg(target_has_atomic = "32")]
    #[test]
    fn atomic_tick32_behind_near_zero_is_zero() {
        let t = AtomicTick32::new();
        assert_eq!(t.extend(|| 0x0001_0000), 0x0001_0000);
        assert_eq!(t.extend(|| u32::MAX), 0);
        assert_eq!(t.extend(|| 0x0002_0000), 0x0002_0000);
    }
}
