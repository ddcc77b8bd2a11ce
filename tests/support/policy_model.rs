//! The reference model of one breaker with policies, written plainly from
//! docs/policies.md (lists and loops where the crate uses bit rings and
//! buckets). Jitter is left out: its draws have their own test.
#![allow(dead_code)]

use fusebox::{Error, Outcome, ProbeJudge, Reason, State, TripRule, WaitAction, WindowKind};

#[derive(Debug, Clone, Copy)]
pub struct PolicyCfg {
    pub threshold: u32,
    pub timeout: u32,
    pub max_probes: u32,
    pub rule: TripRule,
    pub window: WindowKind,
    pub window_size: u32,
    pub bucket_ms: u32,
    pub minimum_calls: u32,
    pub rate: u32,
    pub slow_ms: u32,
    pub slow_rate: u32,
    pub success_threshold: u32,
    pub max_wait: u32,
    pub wait_action: WaitAction,
    pub judge: ProbeJudge,
    pub backoff: u32,
    pub cap: u32,
}

/// What a breaker's stats must show: built from the model by
/// [`PolicyModel::observed`], and from `Stats` (Rust) or `fusebox_stats`
/// (C) by the tests, then compared whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub state: u32,
    pub failures: u32,
    pub successes: u32,
    pub probes: u32,
    pub probe_successes: u32,
    pub last_failure: Option<u64>,
    pub admitted: u32,
    pub rejected: u32,
    pub transitions: u32,
    pub generation: u32,
    pub slow: u32,
    pub stale: u32,
    pub ignored: u32,
    pub open_ms: u32,
    /// (calls, failures, slow) when the policy keeps a rate window.
    pub window: Option<(u32, u32, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPermit {
    pub generation: u32,
    pub probe: bool,
    pub start: u64,
}

#[derive(Debug, Clone)]
pub struct PolicyModel {
    pub c: PolicyCfg,
    pub state: State,
    pub failures: u32,
    pub successes: u32,
    pub probes: u32,
    pub probe_successes: u32,
    /// `ProbeJudge::Rate`: failed and slow probes of the round.
    pub probe_failures: u32,
    pub probe_slow: u32,
    /// Forced open for a time: (since, ms); `None` until a reset.
    pub forced: Option<(u64, u64)>,
    pub anchor: Option<u64>,
    pub probes_since: u64,
    pub open_base: u32,
    pub open_ms: u32,
    pub generation: u32,
    pub transitions: u32,
    pub admitted: u32,
    pub rejected: u32,
    pub slow: u32,
    pub stale: u32,
    pub ignored: u32,
    /// Count window: the last calls, oldest first. Time window: the calls
    /// still in the window, each with its bucket's age (0: the newest).
    pub calls: Vec<(u64, bool, bool)>,
    /// Time window: when its newest bucket began; `None` until the first
    /// call after an emptying that took no reading (creation, reset).
    pub bucket_start: Option<u64>,
    pub log: Vec<(State, State, Reason)>,
}

impl PolicyModel {
    pub fn new(c: PolicyCfg) -> Self {
        PolicyModel {
            c,
            state: State::Closed,
            failures: 0,
            successes: 0,
            probes: 0,
            probe_successes: 0,
            probe_failures: 0,
            probe_slow: 0,
            forced: None,
            anchor: None,
            probes_since: 0,
            open_base: c.timeout,
            open_ms: c.timeout,
            generation: 0,
            transitions: 0,
            admitted: 0,
            rejected: 0,
            slow: 0,
            stale: 0,
            ignored: 0,
            calls: Vec::new(),
            bucket_start: None,
            log: Vec::new(),
        }
    }

    fn slow_on(&self) -> bool {
        self.c.slow_ms != 0
    }

    /// Whether the policy keeps a rate window (its totals are then shown).
    pub fn windowed(&self) -> bool {
        self.c.rule == TripRule::FailureRate || self.slow_on()
    }

    /// The stats the breaker must show.
    pub fn observed(&self) -> Observed {
        Observed {
            state: self.state.code(),
            failures: self.failures,
            successes: self.successes,
            probes: self.probes,
            probe_successes: self.probe_successes,
            last_failure: self.anchor,
            admitted: self.admitted,
            rejected: self.rejected,
            transitions: self.transitions,
            generation: self.generation,
            slow: self.slow,
            stale: self.stale,
            ignored: self.ignored,
            open_ms: self.open_ms,
            window: self.windowed().then(|| self.totals()),
        }
    }

    fn go(&mut self, to: State, reason: Reason) {
        self.log.push((self.state, to, reason));
        self.state = to;
        self.generation = self.generation.wrapping_add(1);
        self.transitions = self.transitions.wrapping_add(1);
    }

    /// A new round of probes: nothing reported.
    fn new_round(&mut self) {
        self.probe_successes = 0;
        self.probe_failures = 0;
        self.probe_slow = 0;
    }

    pub fn tick(&mut self, now: u64) {
        match self.state {
            State::ForcedOpen => {
                if let Some((since, ms)) = self.forced {
                    if now < since {
                        // The clock went back: the forced time starts again.
                        self.forced = Some((now, ms));
                    } else if now - since >= ms {
                        self.forced = None;
                        self.probes = 0;
                        self.new_round();
                        self.probes_since = now;
                        self.go(State::HalfOpen, Reason::Timeout);
                    }
                }
            }
            State::Open => {
                let anchor = self.anchor.expect("open has an anchor");
                if now < anchor {
                    self.anchor = Some(now);
                } else if now - anchor >= u64::from(self.open_ms) {
                    self.probes = 0;
                    self.new_round();
                    self.probes_since = now;
                    self.go(State::HalfOpen, Reason::Timeout);
                }
            }
            State::HalfOpen
                if self.c.max_wait != 0
                    && (self.probes > 0 || self.c.wait_action == WaitAction::ReopenAlways) =>
            {
                if now < self.probes_since {
                    self.probes_since = now;
                } else if now - self.probes_since >= u64::from(self.c.max_wait) {
                    match self.c.wait_action {
                        WaitAction::ReleaseProbes => {
                            self.probes = 0;
                            self.new_round();
                            self.probes_since = now;
                            self.generation = self.generation.wrapping_add(1);
                        }
                        WaitAction::Reopen | WaitAction::ReopenAlways => {
                            // The reopen is at the end of the wait; its
                            // open window may be over by now.
                            let end = self.probes_since + u64::from(self.c.max_wait);
                            self.open(end, Reason::ProbeTimeout);
                            self.tick(now);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The open duration of a reopen from half-open: backed off, capped.
    fn backed_off(&self) -> u32 {
        let grown = u64::from(self.open_base) * u64::from(self.c.backoff) / 100;
        let cap = if self.c.cap == 0 {
            u32::MAX
        } else {
            self.c.cap
        };
        grown.min(u64::from(cap)) as u32
    }

    fn open(&mut self, now: u64, reason: Reason) {
        self.open_base = if self.state == State::HalfOpen {
            self.backed_off()
        } else {
            self.c.timeout
        };
        self.open_ms = self.open_base;
        self.anchor = Some(now);
        self.probes = 0;
        self.new_round();
        self.go(State::Open, reason);
    }

    /// Closes; `now` is the reading it closes at (`None`: a reset).
    fn close(&mut self, now: Option<u64>, reason: Reason) {
        self.failures = 0;
        self.probes = 0;
        self.new_round();
        self.forced = None;
        self.calls.clear();
        // The window's buckets count from the close, or from the first
        // call after a reset.
        self.bucket_start = now;
        self.open_base = self.c.timeout;
        self.open_ms = self.c.timeout;
        if self.state == State::Closed {
            self.generation = self.generation.wrapping_add(1);
        } else {
            self.go(State::Closed, reason);
        }
    }

    /// (calls, failures, slow) in the window, as of its last record.
    pub fn totals(&self) -> (u32, u32, u32) {
        self.totals_of(0)
    }

    /// (calls, failures, slow) of the calls whose bucket is still in the
    /// window once `passed` more buckets have gone by.
    fn totals_of(&self, passed: u64) -> (u32, u32, u32) {
        let kept = |c: &&(u64, bool, bool)| {
            self.c.window == WindowKind::Count
                || c.0.saturating_add(passed) < u64::from(self.c.window_size)
        };
        let calls = self.calls.iter().filter(kept);
        (
            calls.clone().count() as u32,
            calls.clone().filter(|c| c.1).count() as u32,
            calls.filter(|c| c.2).count() as u32,
        )
    }

    /// (calls, failures, slow) in the window as it stands at `now`: a time
    /// window leaves out the buckets that have expired since its newest
    /// began (none if it has not started, or `now` is before its start: a
    /// clock that went back); a count window does not age.
    pub fn totals_at(&self, now: u64) -> (u32, u32, u32) {
        let passed = match (self.c.window, self.bucket_start) {
            (WindowKind::Time, Some(start)) if now >= start => {
                (now - start) / u64::from(self.c.bucket_ms)
            }
            _ => 0,
        };
        self.totals_of(passed)
    }

    /// The stats the breaker must show when read at `now`.
    pub fn observed_at(&self, now: u64) -> Observed {
        Observed {
            window: self.windowed().then(|| self.totals_at(now)),
            ..self.observed()
        }
    }

    fn push(&mut self, failed: bool, slow: bool, now: u64) {
        match self.c.window {
            WindowKind::Count => {
                self.calls.push((0, failed, slow));
                if self.calls.len() > self.c.window_size as usize {
                    self.calls.remove(0);
                }
            }
            WindowKind::Time => {
                let width = u64::from(self.c.bucket_ms);
                match self.bucket_start {
                    // The first call of a window no close started.
                    None => self.bucket_start = Some(now),
                    // The clock went back: the newest bucket starts again.
                    Some(start) if now < start => self.bucket_start = Some(now),
                    Some(start) => {
                        let passed = (now - start) / width;
                        self.bucket_start = Some(start + passed * width);
                        for c in &mut self.calls {
                            c.0 = c.0.saturating_add(passed);
                        }
                        let size = u64::from(self.c.window_size);
                        self.calls.retain(|c| c.0 < size);
                    }
                }
                self.calls.push((0, failed, slow));
            }
        }
    }

    /// Records into the window; the reason the rates would trip, if any.
    fn verdict(&mut self, failed: bool, slow: bool, now: u64) -> Option<Reason> {
        if self.c.rule != TripRule::FailureRate && !self.slow_on() {
            return None;
        }
        self.push(failed, slow, now);
        let (calls, fails, slows) = self.totals();
        // A count window judges from `window_size` calls on, whatever the
        // minimum says (Resilience4j's cap); a time window from the minimum.
        let minimum = match self.c.window {
            WindowKind::Count => self.c.minimum_calls.min(self.c.window_size),
            WindowKind::Time => self.c.minimum_calls,
        };
        if calls < minimum {
            None
        } else if self.c.rule == TripRule::FailureRate
            && u64::from(fails) * 100 >= u64::from(self.c.rate) * u64::from(calls)
        {
            Some(Reason::FailureRate)
        } else if self.slow_on()
            && u64::from(slows) * 100 >= u64::from(self.c.slow_rate) * u64::from(calls)
        {
            Some(Reason::SlowCallRate)
        } else {
            None
        }
    }

    fn judge(&mut self, failed: bool, slow: bool, now: u64) {
        let verdict = self.verdict(failed, slow, now);
        if self.state != State::Closed {
            return;
        }
        if self.c.rule != TripRule::FailureRate && self.failures >= self.c.threshold {
            self.open(now, Reason::FailureThreshold);
        } else if let Some(r) = verdict {
            self.open(now, r);
        }
    }

    /// `ProbeJudge::Rate`: a probe outcome is in (`slow`: it was slow);
    /// once the round has `max_probes` outcomes, its rates decide.
    fn judge_round(&mut self, slow: bool, now: u64) {
        if slow {
            self.probe_slow += 1;
        }
        let done = self.probe_successes + self.probe_failures;
        if done < self.c.max_probes {
            return;
        }
        let reached =
            |part: u32, pct: u32| u64::from(part) * 100 >= u64::from(pct) * u64::from(done);
        if reached(self.probe_failures, self.c.rate) {
            self.open(now, Reason::FailureRate);
        } else if self.slow_on() && reached(self.probe_slow, self.c.slow_rate) {
            self.open(now, Reason::SlowCallRate);
        } else {
            self.close(Some(now), Reason::ProbeSucceeded);
        }
    }

    pub fn success(&mut self, slow: bool, now: u64) {
        self.tick(now);
        self.successes = self.successes.wrapping_add(1);
        if slow {
            self.slow = self.slow.wrapping_add(1);
        }
        match self.state {
            State::Closed | State::MetricsOnly => {
                if self.c.rule == TripRule::Consecutive {
                    self.failures = 0;
                }
                self.judge(false, slow, now);
            }
            State::HalfOpen if self.c.judge == ProbeJudge::Rate => {
                self.probe_successes += 1;
                self.judge_round(slow, now);
            }
            State::HalfOpen if slow => self.open(now, Reason::ProbeFailed),
            State::HalfOpen => {
                self.probe_successes += 1;
                if self.probe_successes >= self.c.success_threshold {
                    self.close(Some(now), Reason::ProbeSucceeded);
                }
            }
            _ => {}
        }
    }

    pub fn failure(&mut self, slow: bool, now: u64) {
        self.tick(now);
        self.failures = self.failures.saturating_add(1);
        self.anchor = Some(now);
        if slow {
            self.slow = self.slow.wrapping_add(1);
        }
        match self.state {
            State::Closed | State::MetricsOnly => self.judge(true, slow, now),
            State::HalfOpen if self.c.judge == ProbeJudge::Rate => {
                self.probe_failures += 1;
                self.judge_round(slow, now);
            }
            State::HalfOpen => self.open(now, Reason::ProbeFailed),
            _ => {}
        }
    }

    fn outcome(&mut self, o: Outcome, slow: bool, probe: bool, now: u64) {
        match o {
            Outcome::Success => self.success(slow, now),
            Outcome::Failure => self.failure(slow, now),
            Outcome::Ignored => {
                self.tick(now);
                self.ignored = self.ignored.wrapping_add(1);
                if probe && self.state == State::HalfOpen {
                    self.probes = self.probes.saturating_sub(1);
                }
            }
        }
    }

    pub fn record(&mut self, o: Outcome, duration: u64, now: u64) {
        let slow = self.slow_on() && duration > u64::from(self.c.slow_ms);
        self.outcome(o, slow, false, now);
    }

    pub fn acquire(&mut self, now: u64) -> Result<State, Error> {
        self.tick(now);
        let ok = match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::Open | State::ForcedOpen => false,
            State::HalfOpen => {
                let free = self.probes < self.c.max_probes;
                if free {
                    self.probes += 1;
                }
                free
            }
        };
        if ok {
            self.admitted = self.admitted.wrapping_add(1);
            Ok(self.state)
        } else {
            self.rejected = self.rejected.wrapping_add(1);
            Err(Error::CircuitOpen)
        }
    }

    pub fn acquire_permit(&mut self, now: u64) -> Result<ModelPermit, Error> {
        let s = self.acquire(now)?;
        Ok(ModelPermit {
            generation: self.generation,
            probe: s == State::HalfOpen,
            start: now,
        })
    }

    pub fn complete(&mut self, p: &ModelPermit, o: Outcome, now: u64) -> Result<(), Error> {
        self.tick(now);
        if p.generation != self.generation {
            self.stale = self.stale.wrapping_add(1);
            return Err(Error::StalePermit);
        }
        let slow = self.slow_on() && now.saturating_sub(p.start) > u64::from(self.c.slow_ms);
        self.outcome(o, slow, p.probe, now);
        Ok(())
    }

    pub fn reset(&mut self) {
        self.close(None, Reason::Manual);
        self.anchor = None;
    }

    pub fn manual(&mut self, to: State, now: u64) {
        self.tick(now);
        self.probes = 0;
        self.new_round();
        self.forced = None;
        if to == State::HalfOpen {
            // A new round of probes starts here.
            self.probes_since = now;
        }
        if self.state == to {
            if to == State::HalfOpen {
                // The probes out are written off.
                self.generation = self.generation.wrapping_add(1);
            }
            return;
        }
        if to == State::MetricsOnly {
            self.calls.clear();
            self.bucket_start = Some(now);
        }
        self.go(to, Reason::Manual);
    }

    /// Forced open for `ms` from `now`, then half-open.
    pub fn force_for(&mut self, ms: u64, now: u64) {
        self.manual(State::ForcedOpen, now);
        self.forced = Some((now, ms));
        self.tick(now);
    }

    /// Forced open until the clock reads `until`.
    pub fn force_until(&mut self, until: u64, now: u64) {
        self.force_for(until.saturating_sub(now), now);
    }

    pub fn retry_after(&mut self, now: u64) -> Option<u64> {
        self.tick(now);
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => Some(0),
            State::ForcedOpen => self.forced.map(|(since, ms)| ms - (now - since)),
            State::Open => Some(
                u64::from(self.open_ms).saturating_sub(now.saturating_sub(self.anchor.unwrap())),
            ),
            State::HalfOpen if self.probes < self.c.max_probes => Some(0),
            State::HalfOpen => (self.c.max_wait != 0).then(|| {
                let left = u64::from(self.c.max_wait) - (now - self.probes_since);
                match self.c.wait_action {
                    WaitAction::ReleaseProbes => left,
                    // The reopen's open duration comes after the wait.
                    WaitAction::Reopen | WaitAction::ReopenAlways => {
                        left + u64::from(self.backed_off())
                    }
                }
            }),
        }
    }

    pub fn state(&mut self, now: u64) -> State {
        self.tick(now);
        self.state
    }
}
