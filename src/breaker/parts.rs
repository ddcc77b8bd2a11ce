//! A breaker's state as a snapshot carries it ([`crate::snapshot`]): the
//! plain copy taken from a breaker, and the breaker rebuilt from one.
#![forbid(unsafe_code)]

use super::blob::{Writer, F_FAILURE};
use super::{Breaker, Ext, Hooks, SplitU64, State};
use crate::{Config, Error};

/// A breaker's state as a snapshot carries it (see [`crate::snapshot`]):
/// a plain copy, taken under the slot's lock, with every clock reading
/// turned into an age at the snapshot's reading.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub state: State,
    pub failure_count: u32,
    pub half_open_calls: u32,
    pub failure_total: u64,
    pub success_count: u64,
    pub rejected_count: u64,
    pub admitted_count: u64,
    /// Milliseconds since the last failure, if there was one.
    pub since_failure_ms: Option<u64>,
    /// The policy state (format version 2); `None` from a version 1 blob.
    pub policy: Option<PolicyParts>,
}

#[cfg(test)]
impl Parts {
    /// Parts to decode into: a closed breaker's, without policy state.
    pub(crate) const EMPTY: Parts = Parts {
        state: State::Closed,
        failure_count: 0,
        half_open_calls: 0,
        failure_total: 0,
        success_count: 0,
        rejected_count: 0,
        admitted_count: 0,
        since_failure_ms: None,
        policy: None,
    };
}

/// Bytes of a count window's outcome bits in a snapshot, per ring.
pub(crate) const WINDOW_BITS_BYTES: usize = crate::policy::MAX_WINDOW_CALLS.div_ceil(8) as usize;
/// Time buckets in a snapshot.
pub(crate) const SNAPSHOT_BUCKETS: usize = crate::policy::MAX_BUCKETS as usize;

/// The policy state a snapshot carries (format version 2). A build
/// without policies writes Snakepit's neutral values.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyParts {
    pub transitions: u64,
    pub slow_count: u64,
    pub stale_count: u64,
    pub ignored_count: u64,
    pub half_open_successes: u32,
    pub half_open_failures: u32,
    pub half_open_slow: u32,
    pub open_base_ms: u32,
    pub open_ms: u32,
    pub rng: u32,
    pub time_in_state_ms: [u64; 3],
    /// Time in the current state, once time accounting has started.
    pub state_age_ms: Option<u64>,
    /// Half-open: time since the round of probes began.
    pub probes_age_ms: u64,
    /// Forced open for a time: (the duration, what was left of it).
    pub forced: Option<(u64, u64)>,
    /// Count window: calls held.
    pub window_fill: u16,
    /// Count window: failed calls, oldest first, bit k of byte k / 8.
    pub window_failed: [u8; WINDOW_BITS_BYTES],
    /// Count window: slow calls, as `window_failed`.
    pub window_slow: [u8; WINDOW_BITS_BYTES],
    /// Time window: age of the newest bucket's start, once started.
    pub newest_bucket_age_ms: Option<u64>,
    /// Time window: (calls, failures, slow) per bucket, oldest first.
    pub buckets: [[u32; 3]; SNAPSHOT_BUCKETS],
}

#[cfg(test)]
impl PolicyParts {
    /// What a breaker with Snakepit's policy and no history carries.
    pub(crate) const fn neutral(config: &Config) -> PolicyParts {
        PolicyParts {
            transitions: 0,
            slow_count: 0,
            stale_count: 0,
            ignored_count: 0,
            half_open_successes: 0,
            half_open_failures: 0,
            half_open_slow: 0,
            open_base_ms: config.reset_timeout_ms,
            open_ms: config.reset_timeout_ms,
            rng: crate::Policy::SNAKEPIT.rng_seed(),
            time_in_state_ms: [0; 3],
            state_age_ms: None,
            probes_age_ms: 0,
            forced: None,
            window_fill: 0,
            window_failed: [0; WINDOW_BITS_BYTES],
            window_slow: [0; WINDOW_BITS_BYTES],
            newest_bucket_age_ms: None,
            buckets: [[0; 3]; SNAPSHOT_BUCKETS],
        }
    }
}

/// Read access to a breaker's state as a snapshot carries it, field by
/// field: the owned `Parts` (tests), or a checked blob read in place
/// (`snapshot::BlobParts`: no copy of the state on the stack, the
/// firmware's stack). The methods are `Parts`'s fields.
pub(crate) trait PartsView {
    /// The policy state's view.
    type Policy: PolicyView;
    fn state(&self) -> State;
    fn failure_count(&self) -> u32;
    fn half_open_calls(&self) -> u32;
    fn failure_total(&self) -> u64;
    fn success_count(&self) -> u64;
    fn rejected_count(&self) -> u64;
    fn admitted_count(&self) -> u64;
    fn since_failure_ms(&self) -> Option<u64>;
    /// The policy state (format version 2); `None` from a version 1 blob.
    fn policy(&self) -> Option<&Self::Policy>;
}

/// Read access to the policy state a snapshot carries: `PolicyParts`'s
/// fields, the arrays by index.
// Without policies only the neutrality check reads it (some fields not).
#[cfg_attr(not(feature = "policies"), allow(dead_code))]
pub(crate) trait PolicyView {
    fn transitions(&self) -> u64;
    fn slow_count(&self) -> u64;
    fn stale_count(&self) -> u64;
    fn ignored_count(&self) -> u64;
    fn half_open_successes(&self) -> u32;
    fn half_open_failures(&self) -> u32;
    fn half_open_slow(&self) -> u32;
    fn open_base_ms(&self) -> u32;
    fn open_ms(&self) -> u32;
    fn rng(&self) -> u32;
    /// Time spent closed (0), open (1), half-open (2).
    fn time_in_state_ms(&self, i: usize) -> u64;
    fn state_age_ms(&self) -> Option<u64>;
    fn probes_age_ms(&self) -> u64;
    fn forced(&self) -> Option<(u64, u64)>;
    fn window_fill(&self) -> u16;
    /// Whether call `k` of the count window failed (bit k of byte k / 8).
    fn failed_bit(&self, k: usize) -> bool;
    /// Whether call `k` of the count window was slow.
    fn slow_bit(&self, k: usize) -> bool;
    fn newest_bucket_age_ms(&self) -> Option<u64>;
    /// Time bucket `i` (calls, failures, slow), oldest first; 0s past
    /// [`SNAPSHOT_BUCKETS`].
    fn bucket(&self, i: usize) -> [u32; 3];
    /// Whether time bucket `i` is all 0 (compared in registers: no
    /// arrays on the stack).
    fn bucket_empty(&self, i: usize) -> bool {
        let [calls, failures, slow] = self.bucket(i);
        calls | failures | slow == 0
    }
}

#[cfg(test)]
impl PartsView for Parts {
    type Policy = PolicyParts;
    fn state(&self) -> State {
        self.state
    }
    fn failure_count(&self) -> u32 {
        self.failure_count
    }
    fn half_open_calls(&self) -> u32 {
        self.half_open_calls
    }
    fn failure_total(&self) -> u64 {
        self.failure_total
    }
    fn success_count(&self) -> u64 {
        self.success_count
    }
    fn rejected_count(&self) -> u64 {
        self.rejected_count
    }
    fn admitted_count(&self) -> u64 {
        self.admitted_count
    }
    fn since_failure_ms(&self) -> Option<u64> {
        self.since_failure_ms
    }
    fn policy(&self) -> Option<&PolicyParts> {
        self.policy.as_ref()
    }
}

#[cfg(test)]
impl PolicyView for PolicyParts {
    fn transitions(&self) -> u64 {
        self.transitions
    }
    fn slow_count(&self) -> u64 {
        self.slow_count
    }
    fn stale_count(&self) -> u64 {
        self.stale_count
    }
    fn ignored_count(&self) -> u64 {
        self.ignored_count
    }
    fn half_open_successes(&self) -> u32 {
        self.half_open_successes
    }
    fn half_open_failures(&self) -> u32 {
        self.half_open_failures
    }
    fn half_open_slow(&self) -> u32 {
        self.half_open_slow
    }
    fn open_base_ms(&self) -> u32 {
        self.open_base_ms
    }
    fn open_ms(&self) -> u32 {
        self.open_ms
    }
    fn rng(&self) -> u32 {
        self.rng
    }
    fn time_in_state_ms(&self, i: usize) -> u64 {
        self.time_in_state_ms.get(i).copied().unwrap_or(0)
    }
    fn state_age_ms(&self) -> Option<u64> {
        self.state_age_ms
    }
    fn probes_age_ms(&self) -> u64 {
        self.probes_age_ms
    }
    fn forced(&self) -> Option<(u64, u64)> {
        self.forced
    }
    fn window_fill(&self) -> u16 {
        self.window_fill
    }
    fn failed_bit(&self, k: usize) -> bool {
        bit(&self.window_failed, k)
    }
    fn slow_bit(&self, k: usize) -> bool {
        bit(&self.window_slow, k)
    }
    fn newest_bucket_age_ms(&self) -> Option<u64> {
        self.newest_bucket_age_ms
    }
    fn bucket(&self, i: usize) -> [u32; 3] {
        self.buckets.get(i).copied().unwrap_or([0; 3])
    }
}

/// Bit `k` of `bits` (bit k of byte k / 8).
pub(crate) fn bit(bits: &[u8], k: usize) -> bool {
    bits.get(k / 8).is_some_and(|b| (b >> (k % 8)) & 1 != 0)
}

/// Snapshots' parts.
impl Breaker {
    /// The state a snapshot carries, every time as an age at `now_ms`
    /// (clock-independent), encoded straight into `w` from the blob's
    /// offset 88 (the failure count) to the end of its buckets, as
    /// [`to_parts`](Self::to_parts)'s parts encode. Returns the blob's
    /// state code and flags. O(window) with policies.
    pub(crate) fn encode_parts(&self, now_ms: u64, w: &mut Writer<'_>) -> (u8, u8) {
        w.u32(self.failure_count);
        w.u32(self.half_open_calls);
        w.u64(self.failure_total.get());
        w.u64(self.success_count.get());
        w.u64(self.rejected_count.get());
        w.u64(self.admitted_count.get());
        let since = now_ms
            .saturating_sub(self.last_failure_ms.get())
            .saturating_add(u64::from(self.elapsed_credit_ms));
        let failure = if self.has_failure_time {
            w.u64(since);
            F_FAILURE
        } else {
            w.u64(0);
            0
        };
        let flags = Ext::encode_policy(self, now_ms, w);
        (self.state as u8, failure | flags)
    }

    /// The state a snapshot carries, every time as an age at `now_ms`
    /// (clock-independent), written to `out` (in place: one copy on the
    /// stack, the caller's). O(window) with policies. (Tests: snapshots
    /// encode from the breaker, [`encode_parts`](Self::encode_parts).)
    #[cfg(test)]
    pub(crate) fn to_parts(&self, now_ms: u64, out: &mut Parts) {
        out.state = self.state;
        out.failure_count = self.failure_count;
        out.half_open_calls = self.half_open_calls;
        out.failure_total = self.failure_total.get();
        out.success_count = self.success_count.get();
        out.rejected_count = self.rejected_count.get();
        out.admitted_count = self.admitted_count.get();
        out.since_failure_ms = self.has_failure_time.then(|| {
            now_ms
                .saturating_sub(self.last_failure_ms.get())
                .saturating_add(u64::from(self.elapsed_credit_ms))
        });
        let x = out
            .policy
            .get_or_insert(PolicyParts::neutral(&Config::ZERO));
        Ext::policy_parts(self, now_ms, x);
    }

    /// Rebuilds a breaker from snapshot parts on a clock reading `now_ms`,
    /// refusing parts this state machine could not have produced; probes
    /// in flight at snapshot time are released. O(window) with policies.
    pub(crate) fn from_parts(
        config: Config,
        p: &impl PartsView,
        now_ms: u64,
    ) -> Result<Self, Error> {
        let mut b = Self::new(config)?;
        b.set_parts(p, now_ms)?;
        Ok(b)
    }

    /// Makes `self` the breaker with `config` restored from `p` on a clock
    /// reading `now_ms`, written in place (a registry slot's breaker: no
    /// breaker-sized temporary), `p` checked as [`set_parts`](Self::set_parts)
    /// checks it. Out of line: its temporaries (a new breaker's policy
    /// state) stay off its caller's frame, which holds the parts.
    #[inline(never)]
    pub(crate) fn restore_in_place(
        &mut self,
        config: &Config,
        p: &impl PartsView,
        now_ms: u64,
    ) -> Result<(), Error> {
        self.init_out_of_line(config);
        self.set_parts(p, now_ms)
    }

    /// [`init_in_place`](Self::init_in_place) in a frame of its own (a new
    /// policy state may be built there before it is written), which is
    /// gone when [`set_parts`](Self::set_parts) runs.
    #[inline(never)]
    fn init_out_of_line(&mut self, config: &Config) {
        self.init_in_place(*config);
    }

    /// The checks of the parts every build keeps (the state and the
    /// Snakepit counters) against `config`.
    fn check_core_parts(config: &Config, p: &impl PartsView) -> Result<(), Error> {
        // A count rule trips a closed breaker at the threshold; a rate rule
        // (policies) lets failures pile up while closed.
        let counts_trip = Ext::counts_failures(config);
        let consistent = match p.state() {
            State::Closed => {
                (!counts_trip || p.failure_count() < config.failure_threshold)
                    && p.half_open_calls() == 0
            }
            // With policies a slow-call rate or a probe wait opens without
            // a failure before it.
            State::Open => {
                (Ext::POLICIES || p.failure_count() >= 1)
                    && p.half_open_calls() == 0
                    && p.since_failure_ms().is_some()
            }
            // Half-open by hand (or at the end of a timed forced open)
            // needs no failure before it.
            State::HalfOpen => p.half_open_calls() <= config.half_open_max_calls,
            State::ForcedOpen | State::Disabled | State::MetricsOnly => {
                Ext::POLICIES && p.half_open_calls() == 0
            }
        };
        if !consistent || p.failure_total() < u64::from(p.failure_count()) {
            return Err(Error::BadSnapshot);
        }
        Ok(())
    }

    /// The checks of [`set_parts`](Self::set_parts), without a breaker:
    /// whether parts decoded for `config` are state a breaker with that
    /// config could have reached. A restore checks a snapshot with this
    /// before it decides anything else (name, room), then writes the
    /// breaker in place with `init_in_place` and `set_parts`.
    pub(crate) fn check_parts(
        config: &Config,
        p: &impl PartsView,
        now_ms: u64,
    ) -> Result<(), Error> {
        Self::check_core_parts(config, p)?;
        Ext::check_policy_parts(config, p.state(), p.policy(), now_ms)
    }

    /// [`from_parts`](Self::from_parts) into `self`, a new breaker with
    /// the snapshot's config (in place: no breaker-sized temporary).
    /// Checked as [`check_parts`](Self::check_parts) checks: on error
    /// `self` may be partly written (a restore then leaves its slot empty).
    pub(crate) fn set_parts(&mut self, p: &impl PartsView, now_ms: u64) -> Result<(), Error> {
        self.set_core_parts(p, now_ms)?;
        Ext::set_policy_parts(self, p.policy(), now_ms)
    }

    /// [`set_parts`](Self::set_parts)'s Snakepit state, in a frame of its
    /// own (off the policy state's path: the firmware's stack).
    #[inline(never)]
    fn set_core_parts(&mut self, p: &impl PartsView, now_ms: u64) -> Result<(), Error> {
        Self::check_core_parts(&self.config, p)?;
        self.state = p.state();
        self.failure_count = p.failure_count();
        self.failure_total = SplitU64::new(p.failure_total());
        self.success_count = SplitU64::new(p.success_count());
        // Probes admitted before the snapshot belong to a program that is
        // gone (the reboot): they will never report, and would hold their
        // half-open slots for good. They are released (the policy part
        // keeps the slots of probes that reported).
        self.half_open_calls = 0;
        self.rejected_count = SplitU64::new(p.rejected_count());
        self.admitted_count = SplitU64::new(p.admitted_count());
        if let Some(since) = p.since_failure_ms() {
            self.has_failure_time = true;
            if let Some(t) = now_ms.checked_sub(since) {
                self.last_failure_ms = SplitU64::new(t);
            } else {
                // The new clock has not yet run as long as the window has:
                // anchor at 0 and carry the rest (only up to the timeout
                // matters, which fits in u32).
                self.last_failure_ms = SplitU64::new(0);
                self.elapsed_credit_ms = u32::try_from(since - now_ms).unwrap_or(u32::MAX);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a breaker with `config`, then `edit`ed.
    fn edited(config: Config, edit: impl FnOnce(&mut Parts)) -> Parts {
        let mut p = Parts::EMPTY;
        Breaker::new(config).unwrap().to_parts(1_000, &mut p);
        edit(&mut p);
        p
    }

    fn x(p: &mut Parts) -> &mut PolicyParts {
        p.policy.as_mut().unwrap()
    }

    /// A restore checks a snapshot with `check_parts` before it decides
    /// anything else, then writes the breaker with `set_parts`, whose
    /// error it does not expect: the two must agree on every input.
    #[test]
    fn check_parts_answers_as_building_the_breaker_does() {
        let config = Config::default()
            .with_failure_threshold(3)
            .with_half_open_max_calls(2);
        #[cfg(feature = "policies")]
        let windowed = config.with_policy(
            crate::Policy::SNAKEPIT
                .with_trip_rule(crate::TripRule::FailureRate)
                .with_window(crate::WindowKind::Count, 4, 0),
        );
        #[cfg(not(feature = "policies"))]
        let windowed = config;
        let cases: [(Config, Parts, bool); 12] = [
            (config, edited(config, |_| ()), true),
            (config, edited(config, |p| p.policy = None), true),
            (config, edited(config, |p| p.failure_count = 3), false),
            (config, edited(config, |p| p.failure_total = 1), true),
            (config, edited(config, |p| p.state = State::Open), false),
            (
                config,
                edited(config, |p| {
                    p.state = State::HalfOpen;
                    p.half_open_calls = 3;
                }),
                false,
            ),
            (
                config,
                edited(config, |p| {
                    p.failure_count = 2;
                    p.failure_total = 1;
                }),
                false,
            ),
            (
                config,
                edited(config, |p| x(p).half_open_failures = 1),
                false,
            ),
            (config, edited(config, |p| x(p).open_ms += 1), false),
            (
                config,
                edited(config, |p| x(p).forced = Some((5, 1))),
                false,
            ),
            (windowed, edited(windowed, |p| x(p).window_fill = 5), false),
            (
                windowed,
                edited(windowed, |p| x(p).window_fill = 1),
                Ext::POLICIES,
            ),
        ];
        for (i, (config, parts, ok)) in cases.iter().enumerate() {
            let checked = Breaker::check_parts(config, parts, 1_000);
            let built = Breaker::from_parts(*config, parts, 1_000).map(drop);
            assert_eq!(checked, built, "case {i}");
            assert_eq!(checked.is_ok(), *ok, "case {i}: {checked:?}");
        }
    }
}
