//! A checked breaker blob read in place, field by field (a part of
//! `snapshot.rs`): a breaker's state as a snapshot carries it, without a
//! copy of it on the stack.
#![forbid(unsafe_code)]

use super::Reader;
use crate::breaker::{
    bit, PartsView, PolicyView, F_FAILURE, F_FORCED, F_TIMED, F_WINDOW, SNAPSHOT_BUCKETS,
    WINDOW_BITS_BYTES,
};
use crate::State;

/// A checked breaker blob (version 1 or 2), read in place field by field
/// ([`decode`] checked it: the CRC, the codes, the flags and what they
/// cover): a breaker's state as a snapshot carries it without a copy of
/// it on the stack (the firmware's stack).
#[derive(Clone, Copy)]
pub(crate) struct BlobParts<'a> {
    pub(super) blob: &'a [u8],
    pub(super) v1: bool,
}

impl BlobParts<'_> {
    pub(super) fn u8_at(&self, at: usize) -> u8 {
        self.blob.get(at).copied().unwrap_or(0)
    }
    pub(super) fn u32_at(&self, at: usize) -> u32 {
        let mut r = Reader::new(self.blob.get(at..).unwrap_or_default());
        r.u32().unwrap_or(0)
    }
    pub(super) fn u64_at(&self, at: usize) -> u64 {
        let mut r = Reader::new(self.blob.get(at..).unwrap_or_default());
        r.u64().unwrap_or(0)
    }
    /// The u64 at `at` if flag `bit` is set (version 2).
    fn flagged(&self, bit: u8, at: usize) -> Option<u64> {
        (self.u8_at(11) & bit != 0).then(|| self.u64_at(at))
    }
    /// Where the time buckets start (version 2).
    const BUCKETS_AT: usize = 264 + 2 * WINDOW_BITS_BYTES;
}

impl PartsView for BlobParts<'_> {
    type Policy = Self;
    fn state(&self) -> State {
        let code = self.u8_at(if self.v1 { 20 } else { 10 });
        State::from_code(u32::from(code)).unwrap_or(State::Closed)
    }
    fn failure_count(&self) -> u32 {
        self.u32_at(if self.v1 { 24 } else { 88 })
    }
    fn half_open_calls(&self) -> u32 {
        self.u32_at(if self.v1 { 32 } else { 92 })
    }
    fn failure_total(&self) -> u64 {
        // Version 1 kept no lifetime failure count: the failures it knew of.
        if self.v1 {
            u64::from(self.failure_count())
        } else {
            self.u64_at(96)
        }
    }
    fn success_count(&self) -> u64 {
        if self.v1 {
            self.u32_at(28).into()
        } else {
            self.u64_at(104)
        }
    }
    fn rejected_count(&self) -> u64 {
        if self.v1 {
            self.u32_at(36).into()
        } else {
            self.u64_at(112)
        }
    }
    fn admitted_count(&self) -> u64 {
        if self.v1 {
            self.u32_at(40).into()
        } else {
            self.u64_at(120)
        }
    }
    fn since_failure_ms(&self) -> Option<u64> {
        if self.v1 {
            (self.u8_at(21) == 1).then(|| self.u64_at(44))
        } else {
            self.flagged(F_FAILURE, 128)
        }
    }
    fn policy(&self) -> Option<&Self> {
        (!self.v1).then_some(self)
    }
}

/// Version 2's policy state (a version 1 blob has none: `policy()` is
/// `None`).
impl PolicyView for BlobParts<'_> {
    fn transitions(&self) -> u64 {
        self.u64_at(136)
    }
    fn slow_count(&self) -> u64 {
        self.u64_at(144)
    }
    fn stale_count(&self) -> u64 {
        self.u64_at(152)
    }
    fn ignored_count(&self) -> u64 {
        self.u64_at(160)
    }
    fn half_open_successes(&self) -> u32 {
        self.u32_at(168)
    }
    fn half_open_failures(&self) -> u32 {
        self.u32_at(172)
    }
    fn half_open_slow(&self) -> u32 {
        self.u32_at(176)
    }
    fn open_base_ms(&self) -> u32 {
        self.u32_at(180)
    }
    fn open_ms(&self) -> u32 {
        self.u32_at(184)
    }
    fn rng(&self) -> u32 {
        self.u32_at(188)
    }
    fn time_in_state_ms(&self, i: usize) -> u64 {
        if i < 3 {
            self.u64_at(192 + 8 * i)
        } else {
            0
        }
    }
    fn state_age_ms(&self) -> Option<u64> {
        self.flagged(F_TIMED, 216)
    }
    fn probes_age_ms(&self) -> u64 {
        self.u64_at(224)
    }
    fn forced(&self) -> Option<(u64, u64)> {
        self.flagged(F_FORCED, 232).map(|ms| (ms, self.u64_at(240)))
    }
    fn window_fill(&self) -> u16 {
        u16::from_le_bytes([self.u8_at(248), self.u8_at(249)])
    }
    fn failed_bit(&self, k: usize) -> bool {
        k < 8 * WINDOW_BITS_BYTES && bit(self.blob.get(264..).unwrap_or_default(), k)
    }
    fn slow_bit(&self, k: usize) -> bool {
        k < 8 * WINDOW_BITS_BYTES
            && bit(
                self.blob.get(264 + WINDOW_BITS_BYTES..).unwrap_or_default(),
                k,
            )
    }
    fn newest_bucket_age_ms(&self) -> Option<u64> {
        self.flagged(F_WINDOW, 256)
    }
    fn bucket(&self, i: usize) -> [u32; 3] {
        if i >= SNAPSHOT_BUCKETS {
            return [0; 3];
        }
        let at = Self::BUCKETS_AT + 12 * i;
        [self.u32_at(at), self.u32_at(at + 4), self.u32_at(at + 8)]
    }
}
