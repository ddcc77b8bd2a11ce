//! The registry in the Prometheus text exposition format (version 0.0.4),
//! written without allocation into any [`core::fmt::Write`] or a byte
//! buffer.
//!
//! Families (every sample has the label `name`, the breaker's name):
//!
//! | family | type | samples |
//! |---|---|---|
//! | `fusebox_state` | gauge | one per state (label `state`: `closed`, `open`, `half_open`, `forced_open`, `disabled`, `metrics_only`), 1 for the stored state, 0 for the others |
//! | `fusebox_calls_total` | counter | one per `outcome`: `admitted`, `rejected`, `succeeded`, `failed`, and with `policies` `ignored`, `slow` |
//! | `fusebox_failure_rate` | gauge | failures / calls in the rate window as it stands at the write's reading (a time window's expired buckets left out), 0 to 1 (0 when the window is empty or there is none) |
//! | `fusebox_slow_call_rate` | gauge | slow calls / calls in the rate window, as above |
//! | `fusebox_window_calls` | gauge | calls in the rate window (the rates' denominator) |
//! | `fusebox_open_seconds_total` | counter | time spent open or forced open, the current open period included |
//!
//! The last four families and the `ignored` and `slow` outcomes need the
//! `policies` feature; without it they are left out (not written as 0,
//! which would claim a measurement that was never made).
#![forbid(unsafe_code)]

use core::fmt::{self, Write};
use core::mem::MaybeUninit;

use super::names::{name_bytes, NameBytes};
use super::{RegistryInner, Storage};
use crate::breaker::Readout;
#[cfg(not(fusebox_fast))]
use crate::fast::Fast;
use crate::policy::arith::div_rem;
#[cfg(feature = "policies")]
use crate::policy::arith::mul_wide;
use crate::{Error, Id, State, Stats};

/// Why [`RegistryInner::metrics_into`](crate::RegistryInner::metrics_into) did not write the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MetricsError {
    /// The buffer is shorter than the exposition, which has `needed` bytes.
    /// `buf_changed` is `false` unless the registry grew between the
    /// measuring and the writing (then the buffer starts with a NUL byte,
    /// the rest unspecified).
    BufferTooSmall {
        /// The exposition's length, in bytes.
        needed: usize,
        /// Whether the buffer was written to.
        buf_changed: bool,
    },
}

/// The states in `fusebox_state`'s samples, with their label values (the
/// names `fusebox_state_str` gives them).
const STATES: [(State, &str); 6] = [
    (State::Closed, "closed"),
    (State::Open, "open"),
    (State::HalfOpen, "half_open"),
    (State::ForcedOpen, "forced_open"),
    (State::Disabled, "disabled"),
    (State::MetricsOnly, "metrics_only"),
];

/// A family: its name, type, help text and what it writes for a breaker
/// after `family{name="..."`: its other labels, `}`, a space and the value
/// (samples after the first: a newline and the whole sample before them).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Samples,
}

/// Which samples a family writes: named, not a function pointer, so that
/// every call of the rendering is direct (the firmware's stack analysis
/// follows direct calls exactly; an indirect one may reach every function
/// whose address is taken).
#[derive(Clone, Copy)]
enum Samples {
    State,
    Calls,
    #[cfg(feature = "policies")]
    FailureRate,
    #[cfg(feature = "policies")]
    SlowCallRate,
    #[cfg(feature = "policies")]
    WindowCalls,
    #[cfg(feature = "policies")]
    OpenSeconds,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "fusebox_state",
        kind: "gauge",
        help: "Circuit breaker state: 1 for the current (stored) state, 0 for the others.",
        samples: Samples::State,
    },
    Family {
        name: "fusebox_calls_total",
        kind: "counter",
        help: "Calls by outcome (outcomes overlap: slow calls also succeeded or failed; failed counts since the last close).",
        samples: Samples::Calls,
    },
    #[cfg(feature = "policies")]
    Family {
        name: "fusebox_failure_rate",
        kind: "gauge",
        help: "Failures over calls in the rate window, 0 to 1 (0 when the window is empty).",
        samples: Samples::FailureRate,
    },
    #[cfg(feature = "policies")]
    Family {
        name: "fusebox_slow_call_rate",
        kind: "gauge",
        help: "Slow calls over calls in the rate window, 0 to 1 (0 when the window is empty).",
        samples: Samples::SlowCallRate,
    },
    #[cfg(feature = "policies")]
    Family {
        name: "fusebox_window_calls",
        kind: "gauge",
        help: "Calls in the rate window.",
        samples: Samples::WindowCalls,
    },
    #[cfg(feature = "policies")]
    Family {
        name: "fusebox_open_seconds_total",
        kind: "counter",
        help: "Seconds spent open or forced open, the current open period included.",
        samples: Samples::OpenSeconds,
    },
];

impl Samples {
    /// How many samples the family has per breaker.
    fn count(self) -> usize {
        match self {
            Samples::State => STATES.len(),
            Samples::Calls => OUTCOMES,
            #[cfg(feature = "policies")]
            _ => 1,
        }
    }
}

/// The outcomes of `fusebox_calls_total`.
const OUTCOMES: usize = if cfg!(feature = "policies") { 6 } else { 4 };

/// Outcome `k` of `fusebox_calls_total` (`k < OUTCOMES`): its label value
/// and count.
fn outcome(s: &Readout, k: usize) -> (&'static str, u64) {
    match k {
        0 => ("admitted", s.admitted),
        1 => ("rejected", s.rejected),
        2 => ("succeeded", s.succeeded),
        #[cfg(feature = "policies")]
        4 => ("ignored", s.ignored),
        #[cfg(feature = "policies")]
        5 => ("slow", s.slow),
        _ => ("failed", s.failed),
    }
}

/// Sample `k` of family `which` for the breaker whose figures are `s`
/// (as of the reading), after
/// `family{name="..."`: its other labels, `}`, a space and the value. The
/// value's text is built first, in this frame (no writer below the
/// number's arithmetic).
fn sample<W: Write + ?Sized>(w: &mut W, which: Samples, k: usize, s: &Readout) -> fmt::Result {
    // A value and its scale: 10^`digits` units make 1.
    let (value, scale, digits) = match which {
        Samples::State => {
            let (state, label) = STATES.get(k).ok_or(fmt::Error)?;
            w.write_str(",state=\"")?;
            w.write_str(label)?;
            return w.write_str(if s.state == *state { "\"} 1" } else { "\"} 0" });
        }
        Samples::Calls => {
            let (label, value) = outcome(s, k);
            w.write_str(",outcome=\"")?;
            w.write_str(label)?;
            w.write_str("\"} ")?;
            (value, 1, 0)
        }
        #[cfg(feature = "policies")]
        Samples::FailureRate => {
            w.write_str("} ")?;
            (ratio(s.window_failures, s.window_calls), 1_000_000, 6)
        }
        #[cfg(feature = "policies")]
        Samples::SlowCallRate => {
            w.write_str("} ")?;
            (ratio(s.window_slow, s.window_calls), 1_000_000, 6)
        }
        #[cfg(feature = "policies")]
        Samples::WindowCalls => {
            w.write_str("} ")?;
            (s.window_calls.into(), 1, 0)
        }
        #[cfg(feature = "policies")]
        Samples::OpenSeconds => {
            w.write_str("} ")?;
            (s.open_ms, 1000, 3)
        }
    };
    // The text, built here (the fraction, then the integer part: neither
    // below the other, nor below the writer).
    let mut t = Text::new();
    #[cfg(feature = "policies")]
    let value = fraction(&mut t, value, scale, digits);
    #[cfg(not(feature = "policies"))]
    let _ = (scale, digits);
    push_u64(&mut t, value);
    w.write_str(t.as_str())
}

/// A number's text, built right to left in a buffer of its own: the
/// longest is `u64::MAX` (20 digits), or a decimal's integer part, point
/// and fraction (at most 17 + 1 + 3 or 14 + 1 + 6). No `core::fmt`
/// formatting machinery, which brings panic paths that the firmware's
/// no-panic proof refuses.
/// 24 bytes in all (the text's start as a byte): 4 fewer on the deepest
/// chain of the firmware's exposition than with a `usize`.
struct Text {
    buf: [u8; TEXT_LEN],
    at: u8,
}

const TEXT_LEN: usize = 23;

impl Text {
    fn new() -> Self {
        Text {
            buf: [b'0'; TEXT_LEN],
            at: TEXT_LEN as u8,
        }
    }

    /// `b` before the text so far (dropped if there is no room, which the
    /// lengths above rule out).
    fn push(&mut self, b: u8) {
        if let Some(at) = self.at.checked_sub(1) {
            if let Some(d) = self.buf.get_mut(usize::from(at)) {
                *d = b;
                self.at = at;
            }
        }
    }

    fn as_str(&self) -> &str {
        let text = self.buf.get(usize::from(self.at)..).unwrap_or_default();
        core::str::from_utf8(text).unwrap_or_default()
    }
}

/// `v` in decimal, before the text so far. In 32-bit steps: no 64-bit
/// division helper is linked.
#[inline(never)]
fn push_u64(t: &mut Text, mut v: u64) {
    loop {
        let (q, digit) = div_rem(v, 10);
        t.push(b'0' + digit as u8);
        v = q;
        if v == 0 {
            break;
        }
    }
}

/// `num / den` in millionths, rounded down; 0 when `den` is 0. 32-bit
/// operands: the product fits in 64 bits, and no 64-bit helper routine is
/// linked (`div_rem`, `mul_wide`).
#[cfg(feature = "policies")]
fn ratio(num: u32, den: u32) -> u64 {
    div_rem(mul_wide(num, 1_000_000), den).0 // (0, 0) for den 0
}

/// `value / scale` (`scale` = 10^`digits`) in decimal, without trailing
/// zeros: its fraction's text (none when it is 0: `.` and up to `digits`
/// digits) before the text so far, and its integer part returned, for
/// [`push_u64`]. Integer arithmetic only, so that no float formatting is
/// linked.
#[cfg(feature = "policies")]
#[inline(never)]
fn fraction(t: &mut Text, value: u64, scale: u32, digits: u32) -> u64 {
    if scale <= 1 {
        return value;
    }
    let (int, mut frac) = div_rem(value, scale);
    if frac != 0 {
        let mut width = digits;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width = width.saturating_sub(1);
        }
        // The fraction's digits, then its leading zeros, then the point.
        let mut shown = 0;
        while frac != 0 {
            t.push(b'0' + (frac % 10) as u8);
            frac /= 10;
            shown += 1;
        }
        for _ in shown..width {
            t.push(b'0');
        }
        t.push(b'.');
    }
    int
}

/// `family{name="..."` (the caller adds its other labels and `}`).
fn sample_start<W: Write + ?Sized>(w: &mut W, family: &str, name: &[u8]) -> fmt::Result {
    w.write_str(family)?;
    w.write_str("{name=\"")?;
    label_value(w, name)?;
    w.write_str("\"")
}

/// A label value: `\`, `"` and newline escaped as the format requires;
/// bytes that are not UTF-8 each replaced by U+FFFD, as
/// `String::from_utf8_lossy` does (one per maximal invalid sequence).
fn label_value<W: Write + ?Sized>(w: &mut W, mut bytes: &[u8]) -> fmt::Result {
    while !bytes.is_empty() {
        let (valid, bad) = match core::str::from_utf8(bytes) {
            Ok(_) => (bytes.len(), 0),
            Err(e) => {
                let valid = e.valid_up_to();
                (valid, e.error_len().unwrap_or(bytes.len() - valid))
            }
        };
        escaped(w, bytes.get(..valid).unwrap_or_default())?;
        if bad != 0 {
            w.write_str("\u{FFFD}")?;
        }
        bytes = bytes.get(valid + bad..).unwrap_or_default();
    }
    Ok(())
}

/// Valid UTF-8 `text` with `\`, `"` and newline escaped: the runs between
/// them as they are (split at those ASCII bytes, each run is UTF-8 too).
fn escaped<W: Write + ?Sized>(w: &mut W, mut text: &[u8]) -> fmt::Result {
    while let Some(at) = text.iter().position(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        let (plain, special) = text.split_at_checked(at).ok_or(fmt::Error)?;
        w.write_str(core::str::from_utf8(plain).map_err(|_| fmt::Error)?)?;
        let (&b, rest) = special.split_first().ok_or(fmt::Error)?;
        w.write_str(match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        text = rest;
    }
    w.write_str(core::str::from_utf8(text).map_err(|_| fmt::Error)?)
}

/// A `fmt::Write` over a byte buffer that copies what fits and counts
/// everything: past the end it only counts, so that one pass measures.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(room) = self.buf.get_mut(self.len..) {
            let n = room.len().min(s.len());
            if let Some((to, from)) = room.get_mut(..n).zip(s.as_bytes().get(..n)) {
                to.copy_from_slice(from);
            }
        }
        self.len = self.len.saturating_add(s.len());
        Ok(())
    }
}

/// The stats of one breaker for the C API, into the caller's storage.
impl<S: Storage> RegistryInner<S> {
    /// [`stats_to`](Self::stats_to) for the C API, whose `out` is
    /// uninitialised: zeroed first (outside every lock), then written.
    ///
    /// # Errors
    /// As `stats_to`.
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API calls it
    pub(crate) fn stats_into(
        &self,
        id: Id,
        now: impl FnOnce() -> Option<u64>,
        out: &mut MaybeUninit<Stats>,
    ) -> Result<(), Error> {
        self.stats_to(id, now, out.write(Stats::ZERO))
    }
}

/// The exposition.
impl<S: Storage> RegistryInner<S> {
    /// The breaker in slot `i`, if any: its name (read without a lock,
    /// into `name`) and the figures of its stats as of `now_ms` that the
    /// exposition writes (under its slot lock, into `out`: no copy of them
    /// on this path), those only if the slot still holds the breaker the
    /// name was read for. O(1) (O(buckets) with a time window). `name` and
    /// `out` hold the breaker's when the answer is `true`.
    #[inline(always)]
    fn reading(&self, i: usize, now_ms: u64, name: &mut NameBytes, out: &mut Readout) -> bool {
        let Some(id) = self.names().read_bytes_into(i, name) else {
            return false;
        };
        let Some(slot) = self.slots().get(i) else {
            return false;
        };
        // `Err` only without `std`: while the slot is being filled (the
        // breaker the name was read for is gone, as with `None`), or, with
        // policies, while this reading preempted an operation on the
        // breaker (left out of this exposition, back in the next).
        let read = Self::access(slot, id, |s| {
            let b = s.get_mut(id).ok()?;
            #[cfg(fusebox_fast)]
            {
                // The fast path's counts are added to the stats.
                let mut stats = Stats::ZERO;
                self.stats_of(id, b, Some(now_ms), &mut stats);
                *out = Readout::of_stats(&stats, now_ms);
            }
            #[cfg(not(fusebox_fast))]
            {
                // The firmware fast path's rejections, into the breaker.
                self.fast().fold(id, b);
                b.readout_into(out, now_ms);
            }
            Some(())
        });
        read.ok().flatten().is_some()
    }

    /// Writes every family to `w`; fails only when `w` does.
    fn render<W: Write + ?Sized>(&self, w: &mut W, now_ms: u64) -> fmt::Result {
        for family in FAMILIES {
            // One call per part (an array of them was a 40-byte copy in
            // this frame, below which every sample is written).
            w.write_str("# HELP ")?;
            w.write_str(family.name)?;
            w.write_str(" ")?;
            w.write_str(family.help)?;
            w.write_str("\n# TYPE ")?;
            w.write_str(family.name)?;
            w.write_str(" ")?;
            w.write_str(family.kind)?;
            w.write_str("\n")?;
            for i in 0..self.capacity() {
                self.breaker_samples(w, now_ms, i, family)?;
            }
        }
        Ok(())
    }

    /// The samples of `family` for the breaker in slot `i`, if any, from
    /// one reading of it. In a frame of its own that holds the reading (the
    /// stats and the name): each sample's start and rest are written by
    /// calls one after the other, none below another, so that the deepest
    /// chain (firmware's stack) holds one copy of the stats and one
    /// writer's.
    #[inline(never)]
    fn breaker_samples<W: Write + ?Sized>(
        &self,
        w: &mut W,
        now_ms: u64,
        i: usize,
        family: &Family,
    ) -> fmt::Result {
        let mut readout = Readout::ZERO;
        let mut name: NameBytes = [0; core::mem::size_of::<NameBytes>()];
        if !self.reading(i, now_ms, &mut name, &mut readout) {
            return Ok(());
        }
        for k in 0..family.samples.count() {
            sample_start(w, family.name, name_bytes(&name))?;
            sample(w, family.samples, k, &readout)?;
            w.write_str("\n")?;
        }
        Ok(())
    }

    /// Writes the Prometheus text exposition format (version 0.0.4) of
    /// every breaker to `w`, as of `now_ms`: the time spent open up to
    /// then, and the rates and calls of the rate window as it stands then
    /// (a time window's expired buckets left out, as
    /// [`stats_at`](Self::stats_at) does). No allocation; the families are
    /// described in docs/metrics.md.
    ///
    /// Consistency: each breaker's samples of one family come from one
    /// reading of it (its name and counters together, copied under its
    /// slot lock inside a short critical section); the text is formatted
    /// outside every lock. Families are read one after the other, so
    /// between two families a breaker may have moved on (a call admitted
    /// after `fusebox_state` was read shows in `fusebox_calls_total`), and
    /// a breaker created or removed during the write may be in some
    /// families and not in others. Reading the stats moves no state: the
    /// state is the stored one, as [`stats_at`](Self::stats_at) reports it (an
    /// open breaker whose timeout has run out is still `open` until
    /// something asks its state).
    ///
    /// Names are label values: `\`, `"` and newline are escaped; bytes that
    /// are not UTF-8 are replaced by U+FFFD (one per maximal invalid
    /// sequence, as `String::from_utf8_lossy` does), so two names that
    /// differ only there share a label value. A NUL byte (possible only in
    /// names created from Rust) is written as is.
    ///
    /// ```
    /// use fusebox::{Config, Registry};
    /// static R: Registry<4> = Registry::new();
    /// let id = R.create(b"db", Config::default()).unwrap();
    /// R.record_success(id, 0).unwrap();
    /// let mut text = String::new();
    /// R.write_metrics(0, &mut text).unwrap();
    /// assert!(text.contains("fusebox_state{name=\"db\",state=\"closed\"} 1\n"));
    /// assert!(text.contains("fusebox_calls_total{name=\"db\",outcome=\"succeeded\"} 1\n"));
    /// ```
    ///
    /// # Errors
    /// `fmt::Error` when `w` fails: what was written to `w` by then stays.
    pub fn write_metrics<W: Write>(&self, now_ms: u64, w: &mut W) -> fmt::Result {
        self.render(w, now_ms)
    }

    /// [`write_metrics`](Self::write_metrics) into the start of `buf`:
    /// returns the length written. The exposition is measured first, then
    /// written; `buf` is written only when it fits.
    ///
    /// # Errors
    /// [`MetricsError::BufferTooSmall`] with the length needed: `buf` is
    /// unchanged, unless breakers were created or counters gained digits
    /// between the measuring and the writing (another thread or an
    /// interrupt) so that the text outgrew `buf`: then `buf_changed` is
    /// `true` and `buf` starts with a NUL byte.
    pub fn metrics_into(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, MetricsError> {
        let mut measure = SliceWriter {
            buf: &mut [],
            len: 0,
        };
        // A `SliceWriter` never fails: neither does the rendering.
        let _ = self.render(&mut measure, now_ms);
        if measure.len > buf.len() {
            return Err(MetricsError::BufferTooSmall {
                needed: measure.len,
                buf_changed: false,
            });
        }
        let mut w = SliceWriter { buf, len: 0 };
        let _ = self.render(&mut w, now_ms);
        let (len, buf) = (w.len, w.buf);
        if len <= buf.len() {
            return Ok(len);
        }
        if let Some(first) = buf.first_mut() {
            *first = 0;
        }
        Err(MetricsError::BufferTooSmall {
            needed: len,
            buf_changed: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 64-bit values around the 32-bit boundaries and the extremes,
    /// where the 32-bit steps of `push_u64` and `fraction` could go wrong.
    const VALUES: [u64; 12] = [
        0,
        9,
        10,
        999_999,
        u32::MAX as u64 - 1,
        u32::MAX as u64,
        1 << 32,
        (1 << 32) + 7,
        10_000_000_000_000_000_000,
        u64::MAX / 10,
        u64::MAX - 1,
        u64::MAX,
    ];

    #[test]
    fn push_u64_is_decimal() {
        for v in VALUES {
            let mut t = Text::new();
            push_u64(&mut t, v);
            assert_eq!(t.as_str(), v.to_string());
        }
    }

    /// `fraction` and `push_u64` as the exact quotient with trailing zeros cut.
    #[cfg(feature = "policies")]
    #[test]
    fn decimal_is_the_quotient() {
        for v in VALUES {
            for (scale, digits) in [(1000u32, 3usize), (1_000_000, 6)] {
                let mut t = Text::new();
                let int = fraction(&mut t, v, scale, digits as u32);
                push_u64(&mut t, int);
                let s = t.as_str();
                let (int, frac) = (v / u64::from(scale), v % u64::from(scale));
                let mut want = int.to_string();
                if frac != 0 {
                    let f = format!("{frac:0digits$}");
                    want = format!("{want}.{}", f.trim_end_matches('0'));
                }
                assert_eq!(s, want, "{v} / {scale}");
            }
        }
    }

    /// `ratio` as `num * 10^6 / den` rounded down, 0 for `den` 0, in decimal.
    #[cfg(feature = "policies")]
    #[test]
    fn ratio_is_rounded_down() {
        for (num, den, want) in [
            (0, 0, "0"),
            (5, 0, "0"),
            (1, 2, "0.5"),
            (1, 3, "0.333333"),
            (2, 3, "0.666666"),
            (u32::MAX, u32::MAX, "1"),
            (u32::MAX, 1, "4294967295"),
            (1, u32::MAX, "0"),
        ] {
            let mut t = Text::new();
            let int = fraction(&mut t, ratio(num, den), 1_000_000, 6);
            push_u64(&mut t, int);
            let s = t.as_str();
            assert_eq!(s, want, "{num} / {den}");
        }
    }
}
