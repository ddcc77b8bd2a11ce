//! The rate window: the outcomes a failure-rate or slow-call-rate rule
//! judges, kept in fixed memory sized by the build's limits
//! ([`MAX_WINDOW_CALLS`], [`MAX_BUCKETS`]), and read as of its last record
//! or as it stands at a later reading (a time window ages).
#![forbid(unsafe_code)]

use super::arith::div_rem;
use super::{Policy, WindowKind, MAX_BUCKETS, MAX_WINDOW_CALLS};

/// 64-bit words in each of a count window's two rings (failed, slow).
const WORDS: usize = MAX_WINDOW_CALLS.div_ceil(64) as usize;

/// Totals over a rate window, or the content of one time bucket: calls,
/// and how many of them failed and were slow (each at most `calls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Totals {
    pub calls: u32,
    pub failures: u32,
    pub slow: u32,
}

impl Totals {
    /// Both added up, saturating.
    fn plus(self, o: Totals) -> Totals {
        Totals {
            calls: self.calls.saturating_add(o.calls),
            failures: self.failures.saturating_add(o.failures),
            slow: self.slow.saturating_add(o.slow),
        }
    }

    /// Whether these could be one bucket's content: no more failures and
    /// no more slow calls than calls.
    fn consistent(&self) -> bool {
        self.failures <= self.calls && self.slow <= self.calls
    }
}

/// `i` modulo `size` (0 for a `size` of 0, which callers never pass): no
/// division panic is even linked.
fn wrap(i: usize, size: usize) -> usize {
    i.checked_rem(size).unwrap_or(0)
}

/// Sets or clears bit `i` of a ring, in the 32-bit half that holds it (a
/// variable 64-bit shift is a helper routine on Cortex-M0,
/// `__aeabi_llsl`).
fn put_bit(bits: &mut [u64; WORDS], i: usize, on: bool) {
    if let Some(w) = bits.get_mut(i / 64) {
        let bit = 1u32 << (i % 32);
        let (hi, lo) = if i % 64 < 32 { (0, bit) } else { (bit, 0) };
        let mask = (u64::from(hi) << 32) | u64::from(lo);
        *w = if on { *w | mask } else { *w & !mask };
    }
}

/// The two rings' words from bit `i` on (bit `i` at bit 0): shifted one
/// bit at a time, so that no variable 64-bit shift (a helper routine on
/// 32-bit cores, M0's `__aeabi_llsr`) is linked. O(64).
fn words_from(failed: &[u64; WORDS], slow: &[u64; WORDS], i: usize) -> (u64, u64) {
    let w = i / 64;
    let mut f = failed.get(w).copied().unwrap_or(0);
    let mut s = slow.get(w).copied().unwrap_or(0);
    for _ in 0..i % 64 {
        f >>= 1;
        s >>= 1;
    }
    (f, s)
}

/// Set bits of a ring. O(`WORDS`).
fn ones(bits: &[u64; WORDS]) -> u32 {
    bits.iter().map(|w| w.count_ones()).sum()
}

/// The outcomes a rate rule judges: a ring of the last calls (one bit per
/// failure and one per slow call, [`MAX_WINDOW_CALLS`] of each), or a ring
/// of [`MAX_BUCKETS`] time buckets. Recording into a count window is O(1)
/// and its totals O(`MAX_WINDOW_CALLS` / 64) (a popcount per 64-bit word);
/// recording into a time window and its totals are O(`MAX_BUCKETS`).
///
/// A time window's buckets are counted from its start, not from the
/// clock's multiples of `bucket_ms`: bucket k covers `start + k * bucket_ms`
/// up to the next. It starts at [`anchor`](Self::anchor) (the breaker
/// closed, or entered metrics-only, at that reading) or, when it was
/// emptied without a reading (a new breaker, a reset), at the first call
/// it records. Read at a later time ([`totals_as_of`](Self::totals_as_of)) it
/// leaves out the buckets that expired since its last record, without
/// changing.
///
/// Memory: `16 * ceil(MAX_WINDOW_CALLS / 64) + 16 + 12 * MAX_BUCKETS`
/// bytes, rounded up to a multiple of 8 (128 at the defaults, 992 at
/// 1024 calls and 60 buckets); a unit test holds it to that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateWindow {
    failed: [u64; WORDS],
    slow: [u64; WORDS],
    /// Count window: the calls held (up to `window_size`). Time window: 1
    /// once `start` is set, 0 before (the next recorded call sets it). One
    /// field for both, so that the defaults keep the layout they had when
    /// both fitted in bytes.
    fill: u16,
    /// Count window: the next call's bit. Time window: the newest bucket.
    pos: u16,
    /// Time window: when the newest bucket began (ms), as (low, high).
    start: [u32; 2],
    buckets: [Totals; MAX_BUCKETS as usize],
}

impl RateWindow {
    pub(crate) const EMPTY: RateWindow = RateWindow {
        failed: [0; WORDS],
        slow: [0; WORDS],
        fill: 0,
        pos: 0,
        start: [0; 2],
        buckets: [Totals {
            calls: 0,
            failures: 0,
            slow: 0,
        }; MAX_BUCKETS as usize],
    };

    /// The window's size in force: calls or buckets, 1 up to the build's
    /// maximum for its kind.
    fn size(p: &Policy) -> usize {
        let max = match p.window_kind {
            WindowKind::Count => MAX_WINDOW_CALLS,
            WindowKind::Time => MAX_BUCKETS,
        };
        p.window_size.clamp(1, max) as usize
    }

    /// Time window: whether `start` is set.
    fn anchored(&self) -> bool {
        self.fill != 0
    }

    fn start(&self) -> u64 {
        (u64::from(self.start[1]) << 32) | u64::from(self.start[0])
    }

    /// Time window: the newest bucket starts at `ms`.
    fn set_start(&mut self, ms: u64) {
        self.start = [ms as u32, (ms >> 32) as u32];
        self.fill = 1;
    }

    /// Time window: starts the first bucket at `now_ms` (the window is
    /// empty). A count window has no start: nothing changes.
    pub(crate) fn anchor(&mut self, p: &Policy, now_ms: u64) {
        if p.window_kind == WindowKind::Time {
            self.set_start(now_ms);
        }
    }

    /// A count window's next call, recorded as [`record`](Self::record)
    /// records it, for a window being rebuilt from empty (a restore): its
    /// position is always inside the window, so no division (and no
    /// division routine's stack) is needed to wrap it.
    pub(crate) fn record_count(&mut self, p: &Policy, failed: bool, slow: bool) {
        let size = Self::size(p);
        let at = usize::from(self.pos);
        if at >= size {
            return;
        }
        put_bit(&mut self.failed, at, failed);
        put_bit(&mut self.slow, at, slow);
        let next = at + 1;
        // size <= MAX_WINDOW_CALLS <= 1024: both fit in u16.
        self.pos = if next == size { 0 } else { next as u16 };
        self.fill = (usize::from(self.fill) + 1).min(size) as u16;
    }

    /// Records one call's outcome at `now_ms`.
    pub(crate) fn record(&mut self, p: &Policy, failed: bool, slow: bool, now_ms: u64) {
        let size = Self::size(p);
        match p.window_kind {
            WindowKind::Count => {
                let at = wrap(usize::from(self.pos), size);
                put_bit(&mut self.failed, at, failed);
                put_bit(&mut self.slow, at, slow);
                // size <= MAX_WINDOW_CALLS <= 1024: both fit in u16.
                self.pos = wrap(at + 1, size) as u16;
                self.fill = (usize::from(self.fill) + 1).min(size) as u16;
            }
            WindowKind::Time => {
                self.advance(p, now_ms);
                if let Some(b) = self.buckets.get_mut(usize::from(self.pos)) {
                    *b = b.plus(Totals {
                        calls: 1,
                        failures: u32::from(failed),
                        slow: u32::from(slow),
                    });
                }
            }
        }
    }

    /// Time window: how many whole buckets have passed at `now_ms` since
    /// the newest one began, and the ms since the last of them began
    /// (`now_ms` is that far into its bucket); `None` when the window has
    /// no start yet or `now_ms` is before it (a clock that went back).
    #[inline(always)]
    fn periods(&self, p: &Policy, now_ms: u64) -> Option<(u64, u32)> {
        if !self.anchored() {
            return None;
        }
        let elapsed = now_ms.checked_sub(self.start())?;
        // In 32-bit steps (a 64-bit division is a library routine on
        // 32-bit cores, run with the slot locked): any elapsed time, any
        // width (`bucket_ms` is any u32 >= 1).
        Some(div_rem(elapsed, p.bucket_ms.max(1)))
    }

    /// Moves the newest bucket to the one `now_ms` falls in, emptying the
    /// buckets that fell out of the window. An unanchored window starts
    /// here. A clock that went back (before the newest bucket's start)
    /// keeps counting into the newest bucket, which then starts at this
    /// reading: it lasts `bucket_ms` of forward time from here, so no jump
    /// of the clock keeps a bucket for longer.
    fn advance(&mut self, p: &Policy, now_ms: u64) {
        let Some((k, into)) = self.periods(p, now_ms) else {
            self.set_start(now_ms);
            return;
        };
        if k == 0 {
            return;
        }
        let size = Self::size(p);
        let steps = usize::try_from(k).unwrap_or(usize::MAX).min(size);
        for _ in 0..steps {
            let next = wrap(usize::from(self.pos) + 1, size);
            self.pos = next as u16; // < size <= MAX_BUCKETS
            if let Some(b) = self.buckets.get_mut(next) {
                *b = Totals::default();
            }
        }
        // start + k * width, the start of the bucket `now_ms` falls in:
        // `into` (< width) before `now_ms`, which is >= start (no
        // multiplication, and no overflow).
        self.set_start(now_ms.saturating_sub(u64::from(into)));
    }

    /// The window's totals, as of its last record.
    pub(crate) fn totals(&self, p: &Policy) -> Totals {
        self.totals_as_of(p, None)
    }

    /// The window's totals as they stand at `now_ms`, without changing it:
    /// those a call recorded at `now_ms` would find before adding itself;
    /// for `None`, as of the last record ([`totals`](Self::totals)). A
    /// count window's are the same either way (it does not age); a time
    /// window leaves out the buckets that expired by `now_ms` (all of them
    /// once `window_size` buckets have passed since the newest began). An
    /// unanchored window, or a reading before the newest bucket's start (a
    /// clock that went back), expires nothing. O(`MAX_WINDOW_CALLS` / 64)
    /// or O(`MAX_BUCKETS`).
    pub(crate) fn totals_as_of(&self, p: &Policy, now_ms: Option<u64>) -> Totals {
        if p.window_kind == WindowKind::Count {
            return Totals {
                calls: u32::from(self.fill),
                failures: ones(&self.failed),
                slow: ones(&self.slow),
            };
        }
        let size = Self::size(p);
        // The buckets still in: the newest `kept`.
        let Some((passed, _)) = now_ms.and_then(|now| self.periods(p, now)) else {
            // As of the last record: every bucket (those past
            // `window_size` stay empty).
            return self
                .buckets
                .iter()
                .fold(Totals::default(), |t, b| t.plus(*b));
        };
        let kept = size - usize::try_from(passed).unwrap_or(usize::MAX).min(size);
        // From the newest bucket back, `kept` of them (no division: this
        // runs with the slot locked).
        let mut at = usize::from(self.pos);
        let mut t = Totals::default();
        for _ in 0..kept {
            t = t.plus(self.buckets.get(at).copied().unwrap_or_default());
            at = at.checked_sub(1).unwrap_or(size - 1);
        }
        t
    }
}

/// What a snapshot carries of a rate window, and how it is rebuilt: the
/// count window's outcomes oldest first; the time window's buckets oldest
/// first with the newest one's start. `p` is the breaker's policy, whose
/// window kind says which applies. Each rebuild refuses (with `None`) what
/// this window could not hold or could not have recorded.
#[cfg_attr(not(feature = "policies"), allow(dead_code))]
impl RateWindow {
    /// A copy moved to `now_ms` as a call recorded then would move it (a
    /// time window's expired buckets emptied); unchanged for a count
    /// window, one not started, or a reading before its newest bucket.
    /// Test-only: the rule `policy_parts` follows without a copy of the
    /// window (`policy_parts_ages_as_the_window_does` holds them together).
    #[cfg(test)]
    pub(crate) fn aged(&self, p: &Policy, now_ms: u64) -> RateWindow {
        let mut w = *self;
        if p.window_kind == WindowKind::Time && w.periods(p, now_ms).is_some() {
            w.advance(p, now_ms);
        }
        w
    }

    /// Count window: each recorded call's (failed, slow), oldest first (at
    /// most `window_size`). Nothing for a time window.
    pub(crate) fn count_outcomes(&self, p: &Policy) -> impl Iterator<Item = (bool, bool)> + '_ {
        let size = Self::size(p);
        let held = match p.window_kind {
            WindowKind::Count => usize::from(self.fill).min(size),
            WindowKind::Time => 0,
        };
        // The oldest call held: `held` before `pos` (< size), around the
        // ring. A subtraction, not a division: no division routine (and
        // its stack) on the snapshot's path.
        let back = usize::from(self.pos) + size - held;
        let mut i = if back >= size { back - size } else { back };
        // The words from bit `i` on, consumed one bit per call.
        let mut cur = None;
        (0..held).map(move |_| {
            let (f, s) = cur.unwrap_or_else(|| words_from(&self.failed, &self.slow, i));
            i += 1;
            cur = if i >= size {
                i = 0;
                None
            } else if i & 63 == 0 {
                None
            } else {
                Some((f >> 1, s >> 1))
            };
            (f & 1 != 0, s & 1 != 0)
        })
    }

    /// Count window: the window that records `outcomes` (oldest first,
    /// (failed, slow) each) into an empty one; `None` for more than
    /// `window_size` of them, or for a time window. Test-only: the rule
    /// a restored count window is rebuilt by, in place.
    #[cfg(test)]
    pub(crate) fn from_count_outcomes(
        p: &Policy,
        outcomes: impl IntoIterator<Item = (bool, bool)>,
    ) -> Option<RateWindow> {
        if p.window_kind != WindowKind::Count {
            return None;
        }
        let mut w = RateWindow::EMPTY;
        for (n, (failed, slow)) in outcomes.into_iter().enumerate() {
            if n >= Self::size(p) {
                return None;
            }
            w.record(p, failed, slow, 0);
        }
        Some(w)
    }

    /// Time window: its `window_size` buckets, oldest first, the newest
    /// last (empty ones included), as of the last record. Nothing for a
    /// count window.
    pub(crate) fn time_buckets(&self, p: &Policy) -> impl Iterator<Item = Totals> + '_ {
        let size = Self::size(p);
        let n = match p.window_kind {
            WindowKind::Count => 0,
            WindowKind::Time => size,
        };
        let newest = usize::from(self.pos);
        (0..n).map(move |k| {
            let i = wrap(newest + 1 + k, size);
            self.buckets.get(i).copied().unwrap_or_default()
        })
    }

    /// Time window: when its newest bucket began (ms on the clock that
    /// recorded it); `None` when it has not started (emptied without a
    /// reading: the next call starts it), or for a count window.
    pub(crate) fn newest_bucket_start(&self, p: &Policy) -> Option<u64> {
        (p.window_kind == WindowKind::Time && self.anchored()).then(|| self.start())
    }

    /// Time window: the window whose buckets are `buckets` (oldest first,
    /// the newest last; fewer than `window_size` means that the older ones
    /// are empty) and whose newest bucket began at `newest_start`. `None`
    /// for more than `window_size` buckets, a bucket with more failures or
    /// slow calls than calls, calls in a window that has not started, or
    /// a count window.
    ///
    /// Test-only: the restore builds it in place with
    /// [`time_buckets_into`](Self::time_buckets_into).
    #[cfg(test)]
    pub(crate) fn from_time_buckets(
        p: &Policy,
        newest_start: Option<u64>,
        buckets: impl IntoIterator<Item = Totals>,
    ) -> Option<RateWindow> {
        let mut w = RateWindow::EMPTY;
        Self::time_buckets_into(p, newest_start, buckets, &mut w)?;
        Some(w)
    }

    /// [`from_time_buckets`](Self::from_time_buckets) written in place in
    /// `out` (no window on the stack): `Some` when `out` holds it; on
    /// `None`, `out` may have been written.
    pub(crate) fn time_buckets_into(
        p: &Policy,
        newest_start: Option<u64>,
        buckets: impl IntoIterator<Item = Totals>,
        out: &mut RateWindow,
    ) -> Option<()> {
        if p.window_kind != WindowKind::Time {
            return None;
        }
        let size = Self::size(p);
        *out = RateWindow::EMPTY;
        let mut n = 0;
        for b in buckets {
            let slot = out.buckets.get_mut(n).filter(|_| n < size)?;
            if !b.consistent() || (newest_start.is_none() && b.calls != 0) {
                return None;
            }
            *slot = b;
            n += 1;
        }
        // Buckets 0..n hold them, the newest at n - 1; n..size, the oldest
        // in ring order, are empty.
        out.pos = n.saturating_sub(1) as u16; // < size <= MAX_BUCKETS
        if let Some(start) = newest_start {
            out.set_start(start);
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_window_forgets_the_oldest_call() {
        let p = Policy::SNAKEPIT.with_window(WindowKind::Count, 3, 0);
        let mut w = RateWindow::EMPTY;
        w.record(&p, true, false, 0);
        w.record(&p, false, true, 0);
        w.record(&p, false, false, 0);
        assert_eq!(
            w.totals(&p),
            Totals {
                calls: 3,
                failures: 1,
                slow: 1
            }
        );
        w.record(&p, false, false, 0);
        assert_eq!(
            w.totals(&p),
            Totals {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn time_window_empties_expired_buckets_and_survives_clock_jumps() {
        let p = Policy::SNAKEPIT.with_window(WindowKind::Time, 2, 100);
        let mut w = RateWindow::EMPTY;
        w.record(&p, true, false, 50);
        w.record(&p, false, false, 150);
        assert_eq!(w.totals(&p).calls, 2);
        w.record(&p, false, false, 250); // bucket 0 (t=50) falls out
        assert_eq!(
            w.totals(&p),
            Totals {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        w.record(&p, true, false, 10); // backwards: counted in the newest
        assert_eq!(w.totals(&p).failures, 1);
        w.record(&p, false, false, u64::MAX);
        assert_eq!(w.totals(&p).calls, 1);
    }

    fn t(calls: u32, failures: u32, slow: u32) -> Totals {
        Totals {
            calls,
            failures,
            slow,
        }
    }

    /// What a call recorded at `now` would find before adding itself: the
    /// window moved to `now` by the record path itself.
    fn moved_to(w: &RateWindow, p: &Policy, now: u64) -> Totals {
        let mut m = *w;
        if p.window_kind == WindowKind::Time {
            m.advance(p, now);
        }
        m.totals(p)
    }

    /// Reading at a later time is exactly what the record path would make
    /// of the window at that time, for every reading around every bucket
    /// boundary, with the clock going back and to the end of time, and it
    /// changes nothing.
    #[test]
    fn a_time_window_read_later_is_what_a_record_would_find() {
        // Miri: the smallest sizes only (the interpreter is slow).
        let sizes = if cfg!(miri) {
            &[1, 3][..]
        } else {
            &[1, 2, 3, MAX_BUCKETS]
        };
        for &size in sizes {
            let p = Policy::SNAKEPIT.with_window(WindowKind::Time, size, 100);
            let mut w = RateWindow::EMPTY;
            assert_eq!(w.totals_as_of(&p, Some(5_000)), Totals::default()); // unanchored
                                                                            // One call per 50 ms from t = 1000, for 2.5 windows.
            let calls = u64::from(size) * 5;
            for k in 0..calls {
                let now = 1_000 + 50 * k;
                w.record(&p, k % 3 == 0, k % 4 == 0, now);
                let before = w;
                // Around every bucket boundary (they fall at 1000 + 100 m)
                // from the one before the newest bucket to past the window.
                let newest = (now - 1_000) / 100;
                let boundaries = newest.saturating_sub(1)..newest + u64::from(size) + 2;
                let around = boundaries.flat_map(|m| [0, 1, 2, 51].map(|d| 999 + 100 * m + d));
                for later in around.chain([0, u64::MAX - 1, u64::MAX]) {
                    assert_eq!(
                        w.totals_as_of(&p, Some(later)),
                        moved_to(&w, &p, later),
                        "size {size}, last record {now}, read at {later}"
                    );
                }
                assert_eq!(w, before, "reading changed the window");
            }
        }
    }

    #[test]
    fn a_time_window_ages_bucket_by_bucket_then_empties() {
        let p = Policy::SNAKEPIT.with_window(WindowKind::Time, 3, 100);
        let mut w = RateWindow::EMPTY;
        w.anchor(&p, 1_000);
        w.record(&p, true, false, 1_010); // bucket [1000, 1100)
        w.record(&p, false, true, 1_120); // [1100, 1200)
        w.record(&p, false, false, 1_250); // [1200, 1300)
        w.record(&p, true, true, 1_299);
        assert_eq!(w.totals(&p), t(4, 2, 2));
        assert_eq!(w.totals_as_of(&p, Some(1_299)), t(4, 2, 2));
        // k buckets passed since the newest began: the oldest k go.
        assert_eq!(w.totals_as_of(&p, Some(1_300)), t(3, 1, 2));
        assert_eq!(w.totals_as_of(&p, Some(1_399)), t(3, 1, 2));
        assert_eq!(w.totals_as_of(&p, Some(1_400)), t(2, 1, 1));
        assert_eq!(w.totals_as_of(&p, Some(1_500)), Totals::default());
        assert_eq!(w.totals_as_of(&p, Some(u64::MAX)), Totals::default());
        // The clock went back before the newest bucket: nothing expired.
        assert_eq!(w.totals_as_of(&p, Some(1_199)), t(4, 2, 2));
        assert_eq!(w.totals_as_of(&p, Some(0)), t(4, 2, 2));
        // Not one of them moved the window.
        assert_eq!(w.totals(&p), t(4, 2, 2));
        // A window anchored at the end of time reads without overflow.
        let mut end = RateWindow::EMPTY;
        end.record(&p, true, false, u64::MAX);
        assert_eq!(end.totals_as_of(&p, Some(u64::MAX)), t(1, 1, 0));
        assert_eq!(end.totals_as_of(&p, Some(0)), t(1, 1, 0));
    }

    /// After any jump of the clock, with any bucket width, the newest
    /// bucket starts where the u64 arithmetic puts it: whole buckets from
    /// the previous start; and the buckets that passed expire.
    #[test]
    fn a_time_window_moves_by_whole_buckets_of_any_width() {
        let widths = [
            1,
            7,
            100,
            0xFFFF,
            0x1_0000,
            0x1_0001,
            u32::MAX - 1,
            u32::MAX,
        ];
        let jumps = [
            0,
            1,
            99,
            0xFFFF_FFFF,
            1 << 32,
            (1 << 32) + 5,
            1 << 40,
            u64::MAX / 3,
        ];
        for width in widths {
            let p = Policy::SNAKEPIT.with_window(WindowKind::Time, 3, width);
            let mut w = RateWindow::EMPTY;
            let mut now = 12_345u64;
            w.record(&p, true, false, now);
            for jump in jumps {
                let start = w.newest_bucket_start(&p).unwrap();
                now = now.saturating_add(jump);
                let passed = (now - start) / u64::from(width);
                let want = start + passed * u64::from(width);
                let held = w.totals(&p).calls;
                let read = w.totals_as_of(&p, Some(now)).calls;
                match passed {
                    0 => assert_eq!(read, held, "width {width}, jump {jump}"),
                    3.. => assert_eq!(read, 0, "width {width}, jump {jump}"),
                    _ => assert!(read <= held),
                }
                w.record(&p, false, false, now);
                assert_eq!(
                    w.newest_bucket_start(&p),
                    Some(want),
                    "width {width}, jump {jump}"
                );
            }
        }
    }

    #[test]
    fn a_count_window_does_not_age() {
        let p = Policy::SNAKEPIT.with_window(WindowKind::Count, 4, 0);
        let mut w = RateWindow::EMPTY;
        w.anchor(&p, 5); // a close at a reading: no start for a count window
        assert_eq!(w, RateWindow::EMPTY);
        w.record(&p, true, false, 10);
        w.record(&p, false, true, 20);
        for later in [0, 10, 1_000, 1 << 40, u64::MAX] {
            assert_eq!(w.totals_as_of(&p, Some(later)), t(2, 1, 1));
        }
    }

    /// The largest count window the build allows: it caps at its size and
    /// drops exactly the oldest call, across every 64-bit word boundary.
    #[test]
    fn the_largest_count_window_caps_and_wraps() {
        let size = MAX_WINDOW_CALLS;
        let p = Policy::SNAKEPIT.with_window(WindowKind::Count, size, 0);
        let mut w = RateWindow::EMPTY;
        let mut model: std::collections::VecDeque<(bool, bool)> = Default::default();
        for k in 0..(3 * size + 5) {
            let call = (k % 3 == 0, k % 7 == 0);
            w.record(&p, call.0, call.1, u64::from(k));
            model.push_back(call);
            if model.len() > size as usize {
                model.pop_front();
            }
            let want = t(
                model.len() as u32,
                model.iter().filter(|c| c.0).count() as u32,
                model.iter().filter(|c| c.1).count() as u32,
            );
            assert_eq!(w.totals(&p), want, "after {} calls", k + 1);
            if !cfg!(miri) || k % 61 == 0 {
                assert!(w.count_outcomes(&p).eq(model.iter().copied()));
            }
        }
        assert_eq!(w.totals(&p).calls, size);
    }

    /// The largest time window the build allows: its buckets wrap around
    /// the ring, and a jump longer than the window empties it.
    #[test]
    fn the_largest_time_window_wraps() {
        let size = MAX_BUCKETS;
        let p = Policy::SNAKEPIT.with_window(WindowKind::Time, size, 10);
        let mut w = RateWindow::EMPTY;
        w.anchor(&p, 0);
        // Two calls per bucket (one failed) for 2.5 windows.
        let buckets = u64::from(size) * 5 / 2 + 1;
        for b in 0..buckets {
            w.record(&p, true, false, b * 10);
            w.record(&p, false, b % 2 == 0, b * 10 + 9);
            let held = (b + 1).min(u64::from(size)) as u32;
            let slow = (b.saturating_sub(u64::from(held) - 1)..=b)
                .filter(|x| x % 2 == 0)
                .count() as u32;
            assert_eq!(w.totals(&p), t(2 * held, held, slow), "bucket {b}");
        }
        let last = (buckets - 1) * 10;
        assert_eq!(w.totals_as_of(&p, Some(last + 10)).calls, 2 * (size - 1));
        assert_eq!(
            w.totals_as_of(&p, Some(last + u64::from(size) * 10)),
            Totals::default()
        );
        w.record(&p, false, false, last + u64::from(size) * 10 + 5);
        assert_eq!(w.totals(&p), t(1, 0, 0));
    }

    /// The memory the docs state: two rings of 64-bit words, four bytes of
    /// position and fill, the start, and 12 bytes per bucket.
    #[test]
    fn a_window_takes_the_memory_its_limits_say() {
        let words = MAX_WINDOW_CALLS.div_ceil(64) as usize;
        let bytes = 16 * words + 4 + 8 + 12 * MAX_BUCKETS as usize;
        let align = core::mem::align_of::<RateWindow>();
        assert_eq!(
            core::mem::size_of::<RateWindow>(),
            bytes.div_ceil(align) * align
        );
        if MAX_WINDOW_CALLS == 64 && MAX_BUCKETS == 8 && align == 8 {
            assert_eq!(core::mem::size_of::<RateWindow>(), 128);
        }
    }

    /// A snapshot's view of a window rebuilds a window that reads and goes
    /// on exactly as the original.
    #[test]
    fn a_window_rebuilt_from_its_contents_goes_on_as_the_original() {
        let sizes = if cfg!(miri) {
            &[1, 5][..]
        } else {
            &[1, 5, MAX_WINDOW_CALLS]
        };
        for &size in sizes {
            let p = Policy::SNAKEPIT.with_window(WindowKind::Count, size, 0);
            for n in [0, 1, size.saturating_sub(1), size, size + 3] {
                let mut w = RateWindow::EMPTY;
                for k in 0..n {
                    w.record(&p, k % 2 == 0, k % 5 == 0, 0);
                }
                let mut r = RateWindow::from_count_outcomes(&p, w.count_outcomes(&p)).unwrap();
                assert_eq!(r.totals(&p), w.totals(&p));
                for k in 0..size + 2 {
                    w.record(&p, k % 3 == 0, false, 0);
                    r.record(&p, k % 3 == 0, false, 0);
                    assert_eq!(r.totals(&p), w.totals(&p));
                    assert!(r.count_outcomes(&p).eq(w.count_outcomes(&p)));
                }
            }
            let too_many = (0..=size).map(|_| (true, false));
            assert_eq!(RateWindow::from_count_outcomes(&p, too_many), None);
        }
        let sizes = if cfg!(miri) {
            &[1, 3][..]
        } else {
            &[1, 3, MAX_BUCKETS]
        };
        for &size in sizes {
            let p = Policy::SNAKEPIT.with_window(WindowKind::Time, size, 100);
            let mut w = RateWindow::EMPTY;
            let unstarted =
                RateWindow::from_time_buckets(&p, w.newest_bucket_start(&p), w.time_buckets(&p));
            assert_eq!(unstarted.map(|r| r.newest_bucket_start(&p)), Some(None));
            for k in 0..u64::from(size) * 3 {
                w.record(&p, k % 2 == 0, k % 3 == 0, 1_000 + 70 * k);
                let mut r = RateWindow::from_time_buckets(
                    &p,
                    w.newest_bucket_start(&p),
                    w.time_buckets(&p),
                )
                .unwrap();
                assert!(r.time_buckets(&p).eq(w.time_buckets(&p)));
                for later in [0, 1_000 + 70 * k, 1_000 + 70 * k + 150, u64::MAX] {
                    assert_eq!(
                        r.totals_as_of(&p, Some(later)),
                        w.totals_as_of(&p, Some(later))
                    );
                }
                let mut v = w;
                v.record(&p, true, true, 1_000 + 70 * k + 130);
                r.record(&p, true, true, 1_000 + 70 * k + 130);
                assert_eq!(r.totals(&p), v.totals(&p));
            }
            // Fewer buckets than the window: the older ones are empty.
            let r = RateWindow::from_time_buckets(&p, Some(500), [t(2, 1, 0)]).unwrap();
            assert_eq!(r.totals_as_of(&p, Some(599)), t(2, 1, 0));
            assert_eq!(
                r.totals_as_of(&p, Some(500 + 100 * u64::from(size))),
                Totals::default()
            );
            let refused = [
                RateWindow::from_time_buckets(&p, Some(0), [t(1, 2, 0)]),
                RateWindow::from_time_buckets(&p, Some(0), [t(1, 0, 2)]),
                RateWindow::from_time_buckets(&p, None, [t(1, 0, 0)]),
                RateWindow::from_time_buckets(&p, Some(0), (0..=size).map(|_| t(0, 0, 0))),
                RateWindow::from_count_outcomes(&p, []),
            ];
            assert!(refused.iter().all(Option::is_none));
        }
    }
}
