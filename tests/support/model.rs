//! The reference model: Snakepit's circuit breaker and a registry of named
//! breakers, written plainly from the rules in docs/semantics.md. Shared by
//! the property test (tests/model.rs) and the fuzz target (fuzz/).
#![allow(dead_code)]

use fusebox::{Error, State};

/// One breaker, as the rules describe it.
#[derive(Debug, Clone)]
pub struct BreakerModel {
    pub threshold: u32,
    pub timeout: u64,
    pub max_probes: u32,
    pub state: State,
    pub failures: u32,
    pub successes: u32,
    pub probes: u32,
    pub last_failure: Option<u64>,
    pub rejected: u32,
    pub admitted: u32,
}

impl BreakerModel {
    pub fn new(threshold: u32, timeout: u32, max_probes: u32) -> Self {
        BreakerModel {
            threshold,
            timeout: timeout.into(),
            max_probes,
            state: State::Closed,
            failures: 0,
            successes: 0,
            probes: 0,
            last_failure: None,
            rejected: 0,
            admitted: 0,
        }
    }

    /// Lazy open -> half-open; a clock behind the last failure re-bases it.
    pub fn tick(&mut self, now: u64) {
        if self.state == State::Open {
            let last = self.last_failure.expect("open implies a failure time");
            if now < last {
                self.last_failure = Some(now);
            } else if now - last >= self.timeout {
                self.state = State::HalfOpen;
                self.probes = 0;
            }
        }
    }

    pub fn state(&mut self, now: u64) -> State {
        self.tick(now);
        self.state
    }

    pub fn allow(&mut self, now: u64) -> bool {
        self.tick(now);
        match self.state {
            State::Closed | State::Disabled | State::MetricsOnly => true,
            State::Open | State::ForcedOpen => false,
            State::HalfOpen => self.probes < self.max_probes,
        }
    }

    pub fn acquire(&mut self, now: u64) -> Result<State, Error> {
        if self.allow(now) {
            if self.state == State::HalfOpen {
                self.probes += 1;
            }
            self.admitted = self.admitted.wrapping_add(1);
            Ok(self.state)
        } else {
            self.rejected = self.rejected.wrapping_add(1);
            Err(Error::CircuitOpen)
        }
    }

    pub fn success(&mut self, now: u64) {
        self.tick(now);
        self.successes = self.successes.wrapping_add(1);
        if self.state == State::HalfOpen {
            self.state = State::Closed;
            self.failures = 0;
            self.probes = 0;
        }
    }

    pub fn failure(&mut self, now: u64) {
        self.tick(now);
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        if self.state == State::HalfOpen
            || (self.state == State::Closed && self.failures >= self.threshold)
        {
            self.state = State::Open;
            self.probes = 0;
        }
    }

    pub fn reset(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
        self.probes = 0;
        self.last_failure = None;
    }
}

/// A breaker id ever handed out, and its model while the breaker lives.
#[derive(Debug)]
pub struct Tracked {
    pub id: u64,
    pub name: Vec<u8>,
    pub model: Option<BreakerModel>,
}

/// The registry: capacity, unique names, ids that die with their breaker.
#[derive(Debug)]
pub struct RegistryModel {
    pub capacity: usize,
    pub tracked: Vec<Tracked>,
}

pub fn valid_name(name: &[u8]) -> bool {
    (1..=31).contains(&name.len())
}

impl RegistryModel {
    pub fn new(capacity: usize) -> Self {
        RegistryModel {
            capacity,
            tracked: Vec::new(),
        }
    }

    pub fn live(&self) -> impl Iterator<Item = &Tracked> {
        self.tracked.iter().filter(|t| t.model.is_some())
    }

    /// What creating `name` with this config must answer (checks in the
    /// registry's order: name, config, duplicate, capacity).
    pub fn expect_create(
        &self,
        name: &[u8],
        threshold: u32,
        timeout: u32,
        probes: u32,
    ) -> Result<(), Error> {
        if !valid_name(name) {
            Err(Error::InvalidName)
        } else if threshold == 0 || timeout == 0 || probes == 0 {
            Err(Error::InvalidConfig)
        } else if self.live().any(|t| t.name == name) {
            Err(Error::NameTaken)
        } else if self.live().count() == self.capacity {
            Err(Error::RegistryFull)
        } else {
            Ok(())
        }
    }

    /// Records a successful create. Ids must never be handed out twice.
    pub fn created(&mut self, id: u64, name: &[u8], threshold: u32, timeout: u32, probes: u32) {
        assert!(id != 0, "id 0 handed out");
        assert!(
            self.tracked.iter().all(|t| t.id != id),
            "id {id:#x} handed out twice"
        );
        self.tracked.push(Tracked {
            id,
            name: name.to_vec(),
            model: Some(BreakerModel::new(threshold, timeout, probes)),
        });
    }

    pub fn expect_lookup(&self, name: &[u8]) -> Result<u64, Error> {
        if !valid_name(name) {
            return Err(Error::InvalidName);
        }
        self.live()
            .find(|t| t.name == name)
            .map(|t| t.id)
            .ok_or(Error::NotFound)
    }

    /// Removes `id` from the model and returns what removing it must answer.
    pub fn remove(&mut self, id: u64) -> Result<(), Error> {
        match self
            .tracked
            .iter_mut()
            .find(|t| t.id == id && t.model.is_some())
        {
            Some(t) => {
                t.model = None;
                Ok(())
            }
            None => Err(Error::NotFound),
        }
    }

    /// The live breaker `id`, or `NotFound` for a stale or forged id.
    pub fn breaker(&mut self, id: u64) -> Result<&mut BreakerModel, Error> {
        self.tracked
            .iter_mut()
            .find(|t| t.id == id)
            .and_then(|t| t.model.as_mut())
            .ok_or(Error::NotFound)
    }
}
