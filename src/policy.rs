//! Policies beyond Snakepit (feature `policies`): how a breaker trips, how
//! it probes, how long it stays open. Every default is Snakepit's
//! behaviour, so a [`Policy::SNAKEPIT`] breaker answers exactly as one
//! without policies.
//!
//! All of it is fixed memory: a rate window is a ring of outcomes (one bit
//! per call, up to [`MAX_WINDOW_CALLS`]) or at most [`MAX_BUCKETS`] time
//! buckets, both limits chosen at build time; the jitter comes from a
//! per-breaker xorshift generator, and nothing is allocated.
#![forbid(unsafe_code)]
// Without the feature the types stay (the C API names them) but nothing
// runs them.
#![cfg_attr(not(feature = "policies"), allow(dead_code))]

use crate::Error;

pub(crate) mod arith;
pub(crate) mod window;
#[cfg_attr(not(feature = "policies"), allow(unused_imports))]
pub(crate) use window::RateWindow;

mod limits {
    // MAX_WINDOW_CALLS and MAX_BUCKETS, written by build.rs from
    // FUSEBOX_MAX_WINDOW_CALLS and FUSEBOX_MAX_BUCKETS.
    include!(concat!(env!("OUT_DIR"), "/limits.rs"));
}

/// The most calls a count-based rate window holds (one bit each): 64,
/// unless the crate was built with the environment variable
/// `FUSEBOX_MAX_WINDOW_CALLS` set (1..=1024). Each breaker with policies
/// keeps two bits per call of this maximum, in 64-bit words, whatever its
/// own `window_size` (docs/policies.md, "Window limits").
pub const MAX_WINDOW_CALLS: u32 = limits::MAX_WINDOW_CALLS;
/// The most buckets a time-based rate window holds: 8, unless the crate
/// was built with the environment variable `FUSEBOX_MAX_BUCKETS` set
/// (1..=60). Each breaker with policies keeps 12 bytes per bucket of this
/// maximum, whatever its own `window_size`.
pub const MAX_BUCKETS: u32 = limits::MAX_BUCKETS;

/// The default `window_size`: 64 calls, or [`MAX_WINDOW_CALLS`] when the
/// build allows fewer.
const DEFAULT_WINDOW_CALLS: u32 = if MAX_WINDOW_CALLS < 64 {
    MAX_WINDOW_CALLS
} else {
    64
};

/// When failures open a closed breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TripRule {
    /// Snakepit's rule: `failure_threshold` failures since the last close
    /// or reset, successes in between notwithstanding.
    Cumulative = 0,
    /// `failure_threshold` failures in a row: a success clears the count.
    Consecutive = 1,
    /// The failure rate over the rate window reaches
    /// `failure_rate_percent`, once the window holds `minimum_calls` calls.
    FailureRate = 2,
}

/// What the rate window (failure rate and slow-call rate) looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum WindowKind {
    /// The last `window_size` recorded calls (1..=[`MAX_WINDOW_CALLS`]).
    /// A count window does not age: its calls stay until newer calls push
    /// them out, however long ago they came (as Resilience4j's count-based
    /// window), so its figures read the same at any later time.
    Count = 0,
    /// The calls recorded in the last `window_size` buckets
    /// (1..=[`MAX_BUCKETS`]) of `bucket_ms` each. The buckets are counted
    /// from the window's start, not aligned to the clock: from the reading
    /// at which the breaker closed (or entered metrics-only), or, after a
    /// creation or a [`reset`](crate::Breaker::reset) (which take no clock
    /// reading), from the first call recorded. A one-bucket 30 s window
    /// whose first call comes at 12.3 s rolls over at 42.3 s, 72.3 s, and
    /// so on (gobreaker's `Interval` also starts at each close). A clock
    /// that goes back counts into the newest bucket, which then starts at
    /// that reading.
    ///
    /// A time window ages: figures read at a later time
    /// ([`Breaker::stats_at`](crate::Breaker::stats_at),
    /// [`Registry::stats_at`](crate::Registry::stats_at), the metrics) leave
    /// out the buckets that have expired by then, as the next recorded call
    /// would, without waiting for one. Read at a time before the newest
    /// bucket's start (a clock that went back), the window reads as of its
    /// last record: nothing has expired.
    Time = 1,
}

/// What happens when half-open probes have not all reported after
/// `half_open_max_wait_ms` (or, with `ReopenAlways`, when the breaker has
/// been half-open that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum WaitAction {
    /// The unreported probes are written off and new probes admitted; their
    /// late results are stale (see permits).
    ReleaseProbes = 0,
    /// The breaker reopens, as if a probe had failed, if a probe is out
    /// (admitted and not reported) when the wait ends; with no probe out it
    /// stays half-open.
    Reopen = 1,
    /// The breaker reopens once it has been half-open for
    /// `half_open_max_wait_ms`, whatever its probes: none admitted, all
    /// reported (too few successes to close), or some still out.
    /// Resilience4j's `maxWaitDurationInHalfOpenState`. The reopen backs
    /// off as any reopen from half-open does.
    ///
    /// With `Reopen` and `ReopenAlways` the reopen is dated at the end of
    /// the wait, however late the next clock reading comes: its open
    /// duration counts from there.
    ReopenAlways = 2,
}

/// How a half-open breaker judges its probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum ProbeJudge {
    /// Snakepit's rule: the first failed probe (or, with slow calls on,
    /// slow probe) reopens; `half_open_success_threshold` successful
    /// probes close.
    FirstFailure = 0,
    /// Resilience4j's rule: the probes of a round are all heard first.
    /// Once `half_open_max_calls` outcomes (successes and failures) have
    /// been recorded in half-open, their failure rate, and with slow calls
    /// on their slow-call rate, decide: the breaker reopens when the
    /// failures reach `failure_rate_percent` of them (reason
    /// [`FailureRate`](crate::Reason::FailureRate)) or the slow calls
    /// reach `slow_call_rate_percent` (reason
    /// [`SlowCallRate`](crate::Reason::SlowCallRate)), and closes
    /// otherwise ([`ProbeSucceeded`](crate::Reason::ProbeSucceeded)). The
    /// rates are judged whatever the trip rule, and `minimum_calls` does
    /// not apply (the round is `half_open_max_calls` outcomes). An ignored
    /// probe gives its slot back and is not counted; a stale permit records
    /// nothing; a release of probes (`ReleaseProbes`) starts the round
    /// again, its reported outcomes too. Requires
    /// `half_open_success_threshold` to be 1 (the rates decide, not a count
    /// of successes).
    Rate = 1,
}

/// How a finished call counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Outcome {
    /// A success.
    Success = 0,
    /// A failure.
    Failure = 1,
    /// Neither: counted only in `ignored_count`; a half-open probe that
    /// ends ignored gives its probe slot back.
    Ignored = 2,
}

/// The policy part of a [`Config`](crate::Config). Build it from
/// [`Policy::SNAKEPIT`] (the default) with the `with_*` methods. A
/// [`Config`](crate::Config) carries one only with the `policies` feature.
///
#[cfg_attr(feature = "policies", doc = "```")]
#[cfg_attr(not(feature = "policies"), doc = "```ignore")]
/// use fusebox::{Config, Policy, TripRule, WindowKind};
/// let cfg = Config::default().with_policy(
///     Policy::SNAKEPIT
///         .with_trip_rule(TripRule::FailureRate)
///         .with_window(WindowKind::Count, 20, 0)
///         .with_minimum_calls(10)
///         .with_failure_rate_percent(50),
/// );
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Policy {
    /// When failures trip a closed breaker. Default: `Cumulative`.
    pub trip_rule: TripRule,
    /// What the rate window looks at. Default: `Count`.
    pub window_kind: WindowKind,
    /// Calls (count window, 1..=[`MAX_WINDOW_CALLS`], 64 unless built
    /// otherwise) or buckets (time window, 1..=[`MAX_BUCKETS`], 8 unless
    /// built otherwise). Default: 64 (or [`MAX_WINDOW_CALLS`] if the build
    /// allows fewer).
    pub window_size: u32,
    /// Width of a time-window bucket in ms (>= 1 with a time window; unused
    /// with a count window). Buckets are counted from the window's start
    /// (see [`WindowKind::Time`]), not from multiples of `bucket_ms` on the
    /// clock. Default: 1000.
    pub bucket_ms: u32,
    /// Calls the window must hold before a rate is judged (>= 1).
    /// Default: 10. With a count window the minimum in force is at most
    /// `window_size` (as in Resilience4j): a count window of 2 judges from
    /// 2 calls on, whatever this says (see
    /// [`effective_minimum_calls`](Self::effective_minimum_calls)). With a
    /// time window it applies as given: a time window has no fixed number
    /// of calls, so a minimum it never reaches keeps the rates from
    /// tripping.
    pub minimum_calls: u32,
    /// Failure rate (1..=100 percent) that trips with `FailureRate`.
    /// Default: 50.
    pub failure_rate_percent: u32,
    /// A call longer than this many ms is slow; 0 turns slow calls off.
    /// Default: 0.
    pub slow_call_ms: u32,
    /// Slow-call rate (1..=100 percent) over the window that trips, under
    /// any trip rule, when slow calls are on. Default: 100.
    pub slow_call_rate_percent: u32,
    /// Successful probes that close a half-open breaker (1..=
    /// `half_open_max_calls`; exactly 1 with [`ProbeJudge::Rate`], which
    /// closes by rate). Default: 1.
    pub half_open_success_threshold: u32,
    /// Ms after which unreported half-open probes are handled by
    /// `half_open_wait_action` (with `ReopenAlways`: ms after which a
    /// half-open breaker reopens, probes or not); counted from the start of
    /// half-open (or of the last release of probes); 0 waits for ever
    /// (Snakepit). Default: 0.
    pub half_open_max_wait_ms: u32,
    /// What `half_open_max_wait_ms` does. Default: `ReleaseProbes`.
    pub half_open_wait_action: WaitAction,
    /// How half-open probes are judged. Default: `FirstFailure`.
    pub half_open_judge: ProbeJudge,
    /// Each reopen from half-open multiplies the open duration by this
    /// percentage (>= 100; 200 doubles it). A close resets it. Default: 100.
    pub backoff_percent: u32,
    /// Cap on the backed-off open duration, in ms; 0 means no cap. When
    /// set, at least `reset_timeout_ms`. Default: 0.
    pub max_open_ms: u32,
    /// Each open duration is moved by up to this percentage either way
    /// (0..=100), from a per-breaker generator. Default: 0.
    pub jitter_percent: u32,
    /// Seed of the jitter generator (0 picks a fixed constant). Default: 0.
    pub jitter_seed: u32,
}

impl Policy {
    /// Snakepit's behaviour: cumulative failures, no slow calls, one
    /// successful probe closes, probes wait for ever, no backoff, no jitter.
    pub const SNAKEPIT: Policy = Policy {
        trip_rule: TripRule::Cumulative,
        window_kind: WindowKind::Count,
        window_size: DEFAULT_WINDOW_CALLS,
        bucket_ms: 1000,
        minimum_calls: 10,
        failure_rate_percent: 50,
        slow_call_ms: 0,
        slow_call_rate_percent: 100,
        half_open_success_threshold: 1,
        half_open_max_wait_ms: 0,
        half_open_wait_action: WaitAction::ReleaseProbes,
        half_open_judge: ProbeJudge::FirstFailure,
        backoff_percent: 100,
        max_open_ms: 0,
        jitter_percent: 0,
        jitter_seed: 0,
    };

    /// All zero (and invalid): the policy of an empty registry slot, so that
    /// an empty registry stays zero-initialised (`.bss`, no flash image).
    pub(crate) const ZERO: Policy = Policy {
        trip_rule: TripRule::Cumulative,
        window_kind: WindowKind::Count,
        window_size: 0,
        bucket_ms: 0,
        minimum_calls: 0,
        failure_rate_percent: 0,
        slow_call_ms: 0,
        slow_call_rate_percent: 0,
        half_open_success_threshold: 0,
        half_open_max_wait_ms: 0,
        half_open_wait_action: WaitAction::ReleaseProbes,
        half_open_judge: ProbeJudge::FirstFailure,
        backoff_percent: 0,
        max_open_ms: 0,
        jitter_percent: 0,
        jitter_seed: 0,
    };

    /// Returns `self` with `trip_rule` set.
    #[must_use]
    pub const fn with_trip_rule(mut self, rule: TripRule) -> Self {
        self.trip_rule = rule;
        self
    }

    /// Returns `self` with the rate window set: `size` calls (count) or
    /// `size` buckets of `bucket_ms` (time).
    #[must_use]
    pub const fn with_window(mut self, kind: WindowKind, size: u32, bucket_ms: u32) -> Self {
        self.window_kind = kind;
        self.window_size = size;
        self.bucket_ms = bucket_ms;
        self
    }

    /// Returns `self` with `minimum_calls` set: the calls the window must
    /// hold before a rate is judged. A count window caps it at its
    /// `window_size` (as Resilience4j does), so that a minimum larger than
    /// the window does not make the rate rules inert; a time window takes
    /// it as given. The field keeps the value set; see
    /// [`effective_minimum_calls`](Self::effective_minimum_calls).
    ///
    #[cfg_attr(feature = "policies", doc = "```")]
    #[cfg_attr(not(feature = "policies"), doc = "```ignore")]
    /// use fusebox::{Breaker, Config, Policy, State, TripRule, WindowKind};
    /// let p = Policy::SNAKEPIT
    ///     .with_trip_rule(TripRule::FailureRate)
    ///     .with_window(WindowKind::Count, 2, 0)
    ///     .with_minimum_calls(10);
    /// assert_eq!(p.effective_minimum_calls(), 2);
    /// let mut b = Breaker::new(Config::default().with_policy(p)).unwrap();
    /// b.record_failure(0);
    /// b.record_failure(1); // 2 of 2 calls failed: judged, and 100% >= 50%
    /// assert_eq!(b.state(1), State::Open);
    /// ```
    #[must_use]
    pub const fn with_minimum_calls(mut self, n: u32) -> Self {
        self.minimum_calls = n;
        self
    }

    /// The minimum in force: `minimum_calls`, capped at `window_size` with
    /// a count window; `minimum_calls` as given with a time window. O(1).
    pub const fn effective_minimum_calls(&self) -> u32 {
        match self.window_kind {
            WindowKind::Count if self.window_size < self.minimum_calls => self.window_size,
            _ => self.minimum_calls,
        }
    }

    /// Returns `self` with `failure_rate_percent` set.
    #[must_use]
    pub const fn with_failure_rate_percent(mut self, percent: u32) -> Self {
        self.failure_rate_percent = percent;
        self
    }

    /// Returns `self` with slow calls on: longer than `ms` is slow, and a
    /// slow-call rate of `rate_percent` trips.
    #[must_use]
    pub const fn with_slow_calls(mut self, ms: u32, rate_percent: u32) -> Self {
        self.slow_call_ms = ms;
        self.slow_call_rate_percent = rate_percent;
        self
    }

    /// Returns `self` with `half_open_success_threshold` set.
    #[must_use]
    pub const fn with_half_open_success_threshold(mut self, n: u32) -> Self {
        self.half_open_success_threshold = n;
        self
    }

    /// Returns `self` with the half-open wait limit set.
    #[must_use]
    pub const fn with_half_open_max_wait(mut self, ms: u32, action: WaitAction) -> Self {
        self.half_open_max_wait_ms = ms;
        self.half_open_wait_action = action;
        self
    }

    /// Returns `self` with `half_open_judge` set: how half-open probes are
    /// judged (see [`ProbeJudge`]).
    ///
    #[cfg_attr(feature = "policies", doc = "```")]
    #[cfg_attr(not(feature = "policies"), doc = "```ignore")]
    /// use fusebox::{Breaker, Config, Policy, ProbeJudge, State};
    /// let cfg = Config::default()
    ///     .with_failure_threshold(1)
    ///     .with_reset_timeout_ms(100)
    ///     .with_half_open_max_calls(4)
    ///     .with_policy(
    ///         Policy::SNAKEPIT
    ///             .with_half_open_judge(ProbeJudge::Rate)
    ///             .with_failure_rate_percent(50),
    ///     );
    /// let mut b = Breaker::new(cfg).unwrap();
    /// b.record_failure(0);
    /// assert_eq!(b.state(100), State::HalfOpen);
    /// b.record_failure(101); // 1 probe of 4 failed: not judged yet
    /// b.record_success(102);
    /// b.record_success(103);
    /// assert_eq!(b.state(103), State::HalfOpen);
    /// b.record_success(104); // 1 of 4 = 25% < 50%: closed
    /// assert_eq!(b.state(104), State::Closed);
    /// ```
    #[must_use]
    pub const fn with_half_open_judge(mut self, judge: ProbeJudge) -> Self {
        self.half_open_judge = judge;
        self
    }

    /// Returns `self` with open-duration backoff set.
    #[must_use]
    pub const fn with_backoff(mut self, percent: u32, max_open_ms: u32) -> Self {
        self.backoff_percent = percent;
        self.max_open_ms = max_open_ms;
        self
    }

    /// Returns `self` with jitter set.
    #[must_use]
    pub const fn with_jitter(mut self, percent: u32, seed: u32) -> Self {
        self.jitter_percent = percent;
        self.jitter_seed = seed;
        self
    }

    /// Checks every field against its documented range, given the
    /// breaker's `reset_timeout_ms` and `half_open_max_calls`. O(1).
    pub(crate) const fn validate(
        &self,
        reset_timeout_ms: u32,
        half_open_max_calls: u32,
    ) -> Result<(), Error> {
        let window_max = match self.window_kind {
            WindowKind::Count => MAX_WINDOW_CALLS,
            WindowKind::Time => MAX_BUCKETS,
        };
        let ok = self.window_size >= 1
            && self.window_size <= window_max
            && (self.bucket_ms >= 1 || matches!(self.window_kind, WindowKind::Count))
            && self.minimum_calls >= 1
            && self.failure_rate_percent >= 1
            && self.failure_rate_percent <= 100
            && self.slow_call_rate_percent >= 1
            && self.slow_call_rate_percent <= 100
            && self.half_open_success_threshold >= 1
            && self.half_open_success_threshold <= half_open_max_calls
            && (self.half_open_success_threshold == 1
                || matches!(self.half_open_judge, ProbeJudge::FirstFailure))
            && self.backoff_percent >= 100
            && (self.max_open_ms == 0 || self.max_open_ms >= reset_timeout_ms)
            && self.jitter_percent <= 100;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidConfig)
        }
    }

    /// The next open duration after `base_ms` on a reopen: multiplied by
    /// `backoff_percent`, capped, never overflowing.
    pub(crate) fn backed_off(&self, base_ms: u32) -> u32 {
        // 32-bit steps (no 64-bit multiply or divide helper on 32-bit cores).
        let (grown, _) = arith::div_rem(arith::mul_wide(base_ms, self.backoff_percent), 100);
        let cap = if self.max_open_ms == 0 {
            u32::MAX
        } else {
            self.max_open_ms
        };
        u32::try_from(grown).unwrap_or(u32::MAX).min(cap)
    }

    /// `base_ms` moved by up to `jitter_percent` either way, drawing from
    /// `rng`; at least 1 ms.
    pub(crate) fn jittered(&self, base_ms: u32, rng: &mut u32) -> u32 {
        if self.jitter_percent == 0 {
            return base_ms;
        }
        let span = self.jitter_span(base_ms);
        // The draw modulo 2 * span + 1 (< 2^34: span <= base_ms, as
        // jitter_percent <= 100): a 32-bit remainder when that fits, else
        // the draw itself (it is below). Never a division by 0, checked all
        // the same so that no division panic is even linked.
        let random = next_random(rng);
        let draw = match u32::try_from(2 * span + 1) {
            Ok(m) => random.checked_rem(m).unwrap_or(0),
            Err(_) => random,
        };
        let moved = (u64::from(base_ms) + u64::from(draw)).saturating_sub(span);
        u32::try_from(moved).unwrap_or(u32::MAX).max(1)
    }

    /// How far jitter may move `base_ms` either way: `base_ms *
    /// jitter_percent / 100` (at most `base_ms` for a valid policy), in
    /// 32-bit steps.
    pub(crate) fn jitter_span(&self, base_ms: u32) -> u64 {
        arith::div_rem(arith::mul_wide(base_ms, self.jitter_percent), 100).0
    }

    /// The generator's first state for this policy (never 0).
    pub(crate) const fn rng_seed(&self) -> u32 {
        if self.jitter_seed == 0 {
            0x9E37_79B9
        } else {
            self.jitter_seed
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::SNAKEPIT
    }
}

/// The plain classification: `Ok` is a success, `Err` a failure.
pub(crate) fn outcome_of<T, E>(r: &Result<T, E>) -> Outcome {
    if r.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// xorshift32: small, deterministic, good enough to spread reopen times.
fn next_random(state: &mut u32) -> u32 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    x
}

/// Whether `part` is at least `percent` of `whole` (no overflow).
pub(crate) fn rate_reached(part: u32, whole: u32, percent: u32) -> bool {
    if whole == 0 {
        return false;
    }
    // A valid percentage (1..=100) of a whole below 2^32 / 100: 32-bit
    // products (percent * whole <= 100 * whole, and part * 100 too once
    // part < whole; a part of at least the whole is at least any valid
    // percentage of it).
    if percent <= 100 && whole <= u32::MAX / 100 {
        return part >= whole || part * 100 >= percent * whole;
    }
    arith::mul_wide(part, 100) >= arith::mul_wide(percent, whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_and_jitter_stay_in_range() {
        let p = Policy::SNAKEPIT
            .with_backoff(250, 10_000)
            .with_jitter(20, 7);
        assert_eq!(p.backed_off(1_000), 2_500);
        assert_eq!(p.backed_off(5_000), 10_000);
        assert_eq!(
            Policy::SNAKEPIT.with_backoff(1000, 0).backed_off(u32::MAX),
            u32::MAX
        );
        let mut rng = p.rng_seed();
        let draws: [u32; 64] = core::array::from_fn(|_| p.jittered(1_000, &mut rng));
        assert!(draws.iter().all(|d| (800..=1_200).contains(d)));
        assert!(draws.iter().any(|&d| d != draws[0]));
        assert!(p.jittered(1, &mut rng) >= 1);
    }

    /// Values at the edges of what the 32-bit steps handle.
    const EDGES: [u32; 14] = [
        0,
        1,
        2,
        99,
        100,
        101,
        0xFFFF,
        0x1_0000,
        u32::MAX / 100,
        u32::MAX / 100 + 1,
        0x7FFF_FFFF,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ];

    /// Backoff, jitter and rates in 32-bit steps give exactly what the
    /// plain u64 expressions they replace gave, for every edge value (any
    /// percentage, not only the valid ones; jitter's draw from every kind
    /// of generator state, the divisor 2 * span + 1 below and above 2^32).
    #[test]
    fn the_32_bit_steps_are_the_u64_expressions() {
        let percents = EDGES.iter().copied().chain([20, 50, 200, 250, 1000]);
        for pct in percents {
            for base in EDGES {
                let p = Policy::SNAKEPIT.with_backoff(pct, 0);
                let grown = u64::from(base) * u64::from(pct) / 100;
                let want = u32::try_from(grown).unwrap_or(u32::MAX);
                assert_eq!(p.backed_off(base), want, "backoff {base} * {pct}%");
                for part in EDGES {
                    let want =
                        base > 0 && u64::from(part) * 100 >= u64::from(pct) * u64::from(base);
                    assert_eq!(rate_reached(part, base, pct), want, "{part}/{base} {pct}%");
                }
                if pct > 100 {
                    continue;
                }
                let p = Policy::SNAKEPIT.with_jitter(pct, 0);
                let span = u64::from(base) * u64::from(pct) / 100;
                assert_eq!(p.jitter_span(base), span);
                for state in EDGES.into_iter().filter(|&s| s != 0) {
                    let (mut got_rng, mut want_rng) = (state, state);
                    let got = p.jittered(base, &mut got_rng);
                    let want = if pct == 0 {
                        base
                    } else {
                        let draw = u64::from(next_random(&mut want_rng)) % (2 * span + 1);
                        let moved = (u64::from(base) + draw).saturating_sub(span);
                        u32::try_from(moved).unwrap_or(u32::MAX).max(1)
                    };
                    assert_eq!(got, want, "jitter {base} {pct}% state {state}");
                    assert_eq!(got_rng, want_rng);
                }
            }
        }
    }

    #[test]
    fn rate_is_exact_at_the_threshold() {
        assert!(rate_reached(1, 2, 50));
        assert!(!rate_reached(4, 9, 50));
        assert!(!rate_reached(0, 0, 1));
        assert!(rate_reached(u32::MAX, u32::MAX, 100));
    }
}
