//! Snapshots: a breaker's state in a fixed-size, versioned, CRC-checked
//! blob, so that it survives a reboot. No allocation; O(1) per breaker
//! plus the rate window's size.
//!
//! Layout of a breaker blob, format version 2 ([`SNAPSHOT_LEN`] bytes,
//! little-endian; `B` = ceil([`MAX_WINDOW_CALLS`](crate::MAX_WINDOW_CALLS)
//! / 8), `K` = [`MAX_BUCKETS`](crate::MAX_BUCKETS), the build's window
//! limits: 8 and 8 by default, so 380 bytes; 128 and 60 at the largest
//! limits, 1 244 bytes):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `"FBOX"` |
//! | 4 | 2 | format version ([`SNAPSHOT_VERSION`], 2) |
//! | 6 | 2 | the build's `MAX_WINDOW_CALLS` |
//! | 8 | 2 | the build's `MAX_BUCKETS` |
//! | 10 | 1 | state (0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled, 5 metrics-only) |
//! | 11 | 1 | flags: 1 last failure time, 2 time accounting started, 4 time window started, 8 forced open for a time |
//! | 12 | 12 | config: failure_threshold, reset_timeout_ms, half_open_max_calls |
//! | 24 | 64 | policy: the 16 fields of `fusebox_config` after those, in its order (enums as their codes) |
//! | 88 | 8 | failure_count (since the last close), half_open_calls (u32 each) |
//! | 96 | 32 | failure_total, success_count, rejected_count, admitted_count (u64 each) |
//! | 128 | 8 | ms since the last failure |
//! | 136 | 32 | transitions, slow_count, stale_count, ignored_count (u64 each) |
//! | 168 | 12 | half-open round: successes, failures, slow (u32 each) |
//! | 180 | 12 | open duration before jitter (backoff step), open duration in force, jitter generator |
//! | 192 | 24 | ms spent closed, open, half-open |
//! | 216 | 8 | ms in the current state |
//! | 224 | 8 | half-open: ms since the round of probes began |
//! | 232 | 16 | forced open for a time: its duration, and the ms left of it |
//! | 248 | 8 | count window: calls held (u16), then 6 bytes 0 |
//! | 256 | 8 | time window: ms since its newest bucket began (less than `bucket_ms`) |
//! | 264 | 2B | count window: failed bits, then slow bits, oldest call first (bit k of byte k / 8) |
//! | 264 + 2B | 12K | time window: (calls, failures, slow) per bucket, oldest first, the newest at `window_size - 1` |
//! | 264 + 2B + 12K | 4 | CRC-32 (ISO-HDLC, as zlib's) of everything before |
//!
//! Every clock reading is stored as an age at snapshot time, never as a
//! reading: restored on a clock that restarted from 0, an open breaker
//! stays open for exactly the time it had left, a forced open for a time
//! ends when it would have, and a time window's buckets roll over when
//! they would have. Where the new clock reads less than an age (it
//! restarted less long ago than the time being carried), the open window
//! keeps its exact remainder (a credit); the other times start at 0 of the
//! new clock: a half-open wait, a bucket, and time in state then last up
//! to that difference longer (a bucket: less than `bucket_ms`).
//!
//! The time window is stored as it stands at snapshot time (buckets that
//! expired by then left out), so its newest bucket is less than
//! `bucket_ms` old. Half-open probes in flight at snapshot time are
//! released on restore (their callers did not survive the reboot, and
//! would hold the probe slots for good); the probes that reported keep
//! their slots and their verdicts (successes and failures of the round).
//! Pending events and the permit generation are not carried (permits from
//! before the snapshot are gone with their callers).
//!
//! A build without `policies` writes the same format with Snakepit's
//! neutral policy state (no window, no round, open duration
//! `reset_timeout_ms`). It restores a blob written with policies when the
//! blob's policy is Snakepit's and nothing in its policy state would
//! change a decision (the counters it does not keep are dropped); any
//! other is refused ([`Error::Unsupported`] for a policy it does not
//! have, [`Error::BadSnapshot`] for state it cannot hold).
//!
//! A blob whose state no breaker could reach is [`Error::BadSnapshot`],
//! even with a good CRC: a window bit beyond the calls held, more calls
//! held than the window, a bucket beyond the window or with more failures
//! or slow calls than calls, a time window's newest bucket a bucket old or
//! more, a round of probes that should have been judged, an open duration
//! the backoff cannot reach from `reset_timeout_ms` (a step over the
//! maximum), an invalid config.
//!
//! Version 1 blobs (56 bytes: magic, version, 2 reserved, the 3 config
//! fields, state, failure flag, 2 reserved, failure, success, half-open,
//! rejected and admitted counts as u32, the age of the last failure as
//! u64, CRC) still restore, with empty policy state: the default policy,
//! an empty window, no backoff.
//!
//! A registry blob: magic `"FBXR"`, version (2), count (2), then per
//! breaker its name length (1), name (31, zero-padded) and breaker blob,
//! then a CRC-32 of everything before it (version 1: the same, with
//! version 1 breaker blobs).
//!
//! A blob is read only at its exact length: a breaker blob is
//! [`SNAPSHOT_LEN`] bytes (version 1: 56), a registry blob
//! `12 + (32 + SNAPSHOT_LEN) × count`; shorter or longer is
//! [`Error::BadSnapshot`]. A name in a registry blob is 1 to 31 bytes,
//! none of them NUL (a C program could never look it up). A blob written
//! with other window limits is [`Error::SnapshotVersion`]: this build
//! does not read it.
#![forbid(unsafe_code)]

mod view;
pub(crate) use view::BlobParts;

#[cfg(test)]
use crate::breaker::{Parts, PolicyParts};
use crate::breaker::{
    Writer, F_FAILURE, F_FORCED, F_TIMED, F_WINDOW, SNAPSHOT_BUCKETS, WINDOW_BITS_BYTES,
};
use crate::name::{Name, NAME_MAX};
use crate::policy::{MAX_BUCKETS, MAX_WINDOW_CALLS};
use crate::{Breaker, Config, Error, Policy, ProbeJudge, State, TripRule, WaitAction, WindowKind};

/// Size of one breaker's snapshot, in bytes, for this build's window
/// limits: `268 + 2 × ceil(MAX_WINDOW_CALLS / 8) + 12 × MAX_BUCKETS` (380
/// at the default limits).
pub const SNAPSHOT_LEN: usize = 264 + 2 * WINDOW_BITS_BYTES + 12 * SNAPSHOT_BUCKETS + 4;
/// The format version written; versions 1 and 2 are read.
pub const SNAPSHOT_VERSION: u16 = 2;
/// Length of a version 1 breaker blob.
const V1_LEN: usize = 56;
/// Size of one breaker's entry in a registry snapshot.
pub(crate) const ENTRY_LEN: usize = 1 + NAME_MAX + SNAPSHOT_LEN;
/// Bytes of a registry snapshot besides its entries (header and CRC).
pub(crate) const ALL_OVERHEAD: usize = 8 + 4;

const MAGIC: [u8; 4] = *b"FBOX";
const MAGIC_ALL: [u8; 4] = *b"FBXR";
const CRC: crc::Crc<u32, crc::NoTable> = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// Appends the CRC of everything `w` wrote; the length written.
fn finish_with_crc(mut w: Writer<'_>) -> Result<usize, Error> {
    let crc = w.buf.get(..w.pos).map(|b| CRC.checksum(b));
    match crc {
        Some(c) if w.ok => {
            w.put(&c.to_le_bytes());
            if w.ok {
                Ok(w.pos)
            } else {
                Err(Error::BufferTooSmall)
            }
        }
        _ => Err(Error::BufferTooSmall),
    }
}

/// Reads fields one after another; `None` past the end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take<const K: usize>(&mut self) -> Option<[u8; K]> {
        let end = self.pos.checked_add(K)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        <[u8; K]>::try_from(bytes).ok()
    }

    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

/// Reads a blob's magic and format version (1 or 2). The version is
/// checked before the CRC, so that a blob of another version says so
/// rather than "bad".
fn check_header(r: &mut Reader<'_>, magic: [u8; 4]) -> Result<u16, Error> {
    if r.take::<4>() != Some(magic) {
        return Err(Error::BadSnapshot);
    }
    match r.u16() {
        Some(v @ (1 | 2)) => Ok(v),
        Some(_) => Err(Error::SnapshotVersion),
        None => Err(Error::BadSnapshot),
    }
}

/// Checks the trailing CRC of `blob`, which must be exactly `len` bytes
/// long (`len >= 4`: shorter or longer is refused); returns the bytes it
/// covers.
fn verified(blob: &[u8], len: usize) -> Result<&[u8], Error> {
    if blob.len() != len {
        return Err(Error::BadSnapshot);
    }
    let body_len = len.checked_sub(4).ok_or(Error::BadSnapshot)?;
    let body = blob.get(..body_len).ok_or(Error::BadSnapshot)?;
    let mut tail = Reader::new(blob.get(body_len..len).ok_or(Error::BadSnapshot)?);
    let stored = tail.u32().ok_or(Error::BadSnapshot)?;
    if stored != CRC.checksum(body) {
        return Err(Error::BadSnapshot);
    }
    Ok(body)
}

/// The policy fields as the blob stores them (`fusebox_config`'s order),
/// each passed to `f` (no array of them on the stack).
#[inline(always)]
fn policy_words(p: &Policy, mut f: impl FnMut(u32)) {
    f(p.trip_rule as u32);
    f(p.window_kind as u32);
    f(p.window_size);
    f(p.bucket_ms);
    f(p.minimum_calls);
    f(p.failure_rate_percent);
    f(p.slow_call_ms);
    f(p.slow_call_rate_percent);
    f(p.half_open_success_threshold);
    f(p.half_open_max_wait_ms);
    f(p.half_open_wait_action as u32);
    f(p.half_open_judge as u32);
    f(p.backoff_percent);
    f(p.max_open_ms);
    f(p.jitter_percent);
    f(p.jitter_seed);
}

/// Writes the policy fields as the blob stores them.
fn put_policy(w: &mut Writer<'_>, p: &Policy) {
    policy_words(p, |v| w.u32(v));
}

/// Reads the policy fields as the blob stores them into `p`, field by
/// field (no array or second policy on the stack); `None` for an unknown
/// code (then `p` may be partly written).
fn read_policy(r: &mut Reader<'_>, p: &mut Policy) -> Option<()> {
    p.trip_rule = match r.u32()? {
        0 => TripRule::Cumulative,
        1 => TripRule::Consecutive,
        2 => TripRule::FailureRate,
        _ => return None,
    };
    p.window_kind = match r.u32()? {
        0 => WindowKind::Count,
        1 => WindowKind::Time,
        _ => return None,
    };
    p.window_size = r.u32()?;
    p.bucket_ms = r.u32()?;
    p.minimum_calls = r.u32()?;
    p.failure_rate_percent = r.u32()?;
    p.slow_call_ms = r.u32()?;
    p.slow_call_rate_percent = r.u32()?;
    p.half_open_success_threshold = r.u32()?;
    p.half_open_max_wait_ms = r.u32()?;
    p.half_open_wait_action = match r.u32()? {
        0 => WaitAction::ReleaseProbes,
        1 => WaitAction::Reopen,
        2 => WaitAction::ReopenAlways,
        _ => return None,
    };
    p.half_open_judge = match r.u32()? {
        0 => ProbeJudge::FirstFailure,
        1 => ProbeJudge::Rate,
        _ => return None,
    };
    p.backoff_percent = r.u32()?;
    p.max_open_ms = r.u32()?;
    p.jitter_percent = r.u32()?;
    p.jitter_seed = r.u32()?;
    Some(())
}

/// The config's policy (Snakepit's without the feature).
fn policy_of_config(c: &Config) -> &Policy {
    #[cfg(feature = "policies")]
    return &c.policy;
    #[cfg(not(feature = "policies"))]
    {
        let _ = c;
        &Policy::SNAKEPIT
    }
}

#[cfg(test)]
/// Encodes `config` and `p` (taken at snapshot time) into `dst`
/// ([`SNAPSHOT_LEN`] bytes), its CRC left 0 ([`seal`] writes it).
fn encode_into(config: &Config, p: &Parts, x: &PolicyParts, dst: &mut [u8]) {
    let flags = if p.since_failure_ms.is_some() {
        F_FAILURE
    } else {
        0
    } | if x.state_age_ms.is_some() { F_TIMED } else { 0 }
        | if x.newest_bucket_age_ms.is_some() {
            F_WINDOW
        } else {
            0
        }
        | if x.forced.is_some() { F_FORCED } else { 0 };
    // Field by field, each through an out-of-line writer: no array of
    // them, and no copy routine, on the stack (the firmware's stack).
    let mut w = Writer::new(dst);
    w.put(&MAGIC);
    w.u16(SNAPSHOT_VERSION);
    // Both limits are at most 1024: they fit.
    w.u16(MAX_WINDOW_CALLS as u16);
    w.u16(MAX_BUCKETS as u16);
    w.u16(u16::from_le_bytes([p.state as u8, flags]));
    w.u32(config.failure_threshold);
    w.u32(config.reset_timeout_ms);
    w.u32(config.half_open_max_calls);
    put_policy(&mut w, policy_of_config(config));
    w.u32(p.failure_count);
    w.u32(p.half_open_calls);
    let (forced_ms, forced_left) = x.forced.unwrap_or((0, 0));
    w.u64(p.failure_total);
    w.u64(p.success_count);
    w.u64(p.rejected_count);
    w.u64(p.admitted_count);
    w.u64(p.since_failure_ms.unwrap_or(0));
    w.u64(x.transitions);
    w.u64(x.slow_count);
    w.u64(x.stale_count);
    w.u64(x.ignored_count);
    w.u32(x.half_open_successes);
    w.u32(x.half_open_failures);
    w.u32(x.half_open_slow);
    w.u32(x.open_base_ms);
    w.u32(x.open_ms);
    w.u32(x.rng);
    for v in x.time_in_state_ms {
        w.u64(v);
    }
    w.u64(x.state_age_ms.unwrap_or(0));
    w.u64(x.probes_age_ms);
    w.u64(forced_ms);
    w.u64(forced_left);
    w.u16(x.window_fill);
    w.u16(0);
    w.u32(0);
    w.u64(x.newest_bucket_age_ms.unwrap_or(0));
    for &b in x.window_failed.iter().chain(&x.window_slow) {
        w.u8(b);
    }
    for b in &x.buckets {
        for &v in b {
            w.u32(v);
        }
    }
}

/// Encodes `b`'s snapshot at `now_ms` into `dst` ([`SNAPSHOT_LEN`]
/// bytes) straight from the breaker, field by field (no copy of its state
/// on the stack: the firmware's stack), its CRC left 0 ([`seal`] writes
/// it). The same bytes as [`encode_into`] of `to_parts`'s parts.
#[inline(never)]
fn encode_breaker(b: &Breaker, now_ms: u64, dst: &mut [u8]) {
    let config = b.config();
    let mut w = Writer::new(dst);
    w.put(&MAGIC);
    w.u16(SNAPSHOT_VERSION);
    // Both limits are at most 1024: they fit.
    w.u16(MAX_WINDOW_CALLS as u16);
    w.u16(MAX_BUCKETS as u16);
    // State and flags: written once the fields after them are.
    w.u16(0);
    w.u32(config.failure_threshold);
    w.u32(config.reset_timeout_ms);
    w.u32(config.half_open_max_calls);
    put_policy(&mut w, policy_of_config(config));
    let (state, flags) = b.encode_parts(now_ms, &mut w);
    if let Some(at) = w.buf.get_mut(10..12) {
        at.iter_mut().zip([state, flags]).for_each(|(d, s)| *d = s);
    }
}

/// Writes the CRC of a breaker blob (`dst`, [`SNAPSHOT_LEN`] bytes) into
/// its last 4 bytes.
fn seal(dst: &mut [u8]) {
    if let Some(body_len) = dst.len().checked_sub(4) {
        let (body, tail) = dst.split_at_mut(body_len);
        let crc = CRC.checksum(body).to_le_bytes();
        tail.iter_mut().zip(crc).for_each(|(d, s)| *d = s);
    }
}

/// `breaker`'s snapshot at `now_ms` into `buf`; returns [`SNAPSHOT_LEN`].
/// Nothing is written unless the answer is `Ok`.
pub(crate) fn snapshot(breaker: &Breaker, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
    let dst = buf.get_mut(..SNAPSHOT_LEN).ok_or(Error::BufferTooSmall)?;
    encode_breaker(breaker, now_ms, dst);
    seal(dst);
    Ok(SNAPSHOT_LEN)
}

/// Encodes parts copied from a breaker into `buf`. Nothing is written
/// unless the answer is `Ok`. (Tests: the firmware encodes from the
/// breaker, [`encode_breaker`].)
#[cfg(test)]
pub(crate) fn write_parts(config: &Config, parts: &Parts, buf: &mut [u8]) -> Result<usize, Error> {
    // `to_parts` always carries the policy part (only a version 1 blob
    // decodes without one).
    let x = parts.policy.as_ref().ok_or(Error::Unsupported)?;
    let dst = buf.get_mut(..SNAPSHOT_LEN).ok_or(Error::BufferTooSmall)?;
    encode_into(config, parts, x, dst);
    seal(dst);
    Ok(SNAPSHOT_LEN)
}

/// Checks a breaker blob (version 1 or 2) but for its config: magic,
/// version, limits, CRC, then every field that has a range (the state, the
/// flags and the values behind them, the padding); returns the blob to
/// read its state from.
#[inline(never)]
fn check_state(blob: &[u8]) -> Result<BlobParts<'_>, Error> {
    let version = check_header(&mut Reader::new(blob), MAGIC)?;
    if version == 1 {
        return check_v1(blob);
    }
    let mut r = Reader::new(blob);
    let _ = r.take::<6>();
    // Limits other than this build's: a format this build does not read.
    if r.u16() != Some(MAX_WINDOW_CALLS as u16) || r.u16() != Some(MAX_BUCKETS as u16) {
        return Err(if blob.len() < 10 {
            Error::BadSnapshot
        } else {
            Error::SnapshotVersion
        });
    }
    let parts = BlobParts {
        blob: verified(blob, SNAPSHOT_LEN)?,
        v1: false,
    };
    let flags = parts.u8_at(11);
    // A value behind a clear flag is 0: one encoding per state.
    let zero_unless = |bit: u8, at: usize| flags & bit != 0 || parts.u64_at(at) == 0;
    let ok = State::from_code(u32::from(parts.u8_at(10))).is_some()
        && flags & !(F_FAILURE | F_TIMED | F_WINDOW | F_FORCED) == 0
        && zero_unless(F_FAILURE, 128)
        && zero_unless(F_TIMED, 216)
        && zero_unless(F_FORCED, 232)
        && zero_unless(F_FORCED, 240)
        && zero_unless(F_WINDOW, 256)
        && (250..256).all(|at| parts.u8_at(at) == 0);
    if ok {
        Ok(parts)
    } else {
        Err(Error::BadSnapshot)
    }
}

/// [`check_state`] of a version 1 blob (Snakepit's state only, 32-bit
/// counters; read with empty policy state).
fn check_v1(blob: &[u8]) -> Result<BlobParts<'_>, Error> {
    let parts = BlobParts {
        blob: verified(blob, V1_LEN)?,
        v1: true,
    };
    let ok = parts.u8_at(6) == 0
        && parts.u8_at(7) == 0
        && parts.u8_at(20) <= 2
        && parts.u8_at(21) <= 1
        && parts.u8_at(22) == 0
        && parts.u8_at(23) == 0
        && (parts.u8_at(21) == 1 || parts.u64_at(44) == 0);
    if ok {
        Ok(parts)
    } else {
        Err(Error::BadSnapshot)
    }
}

/// Reads the config of a blob [`check_state`] accepted into `config`:
/// [`Error::BadSnapshot`] for an unknown code or an invalid config,
/// [`Error::Unsupported`] for a policy this build does not have (version
/// 1: Snakepit's). On error `config` may be partly written.
#[inline(never)]
fn read_config(parts: BlobParts<'_>, config: &mut Config) -> Result<(), Error> {
    let mut r = Reader::new(
        parts
            .blob
            .get(if parts.v1 { 8 } else { 12 }..)
            .unwrap_or_default(),
    );
    *config = Config::default();
    config.failure_threshold = r.u32().ok_or(Error::BadSnapshot)?;
    config.reset_timeout_ms = r.u32().ok_or(Error::BadSnapshot)?;
    config.half_open_max_calls = r.u32().ok_or(Error::BadSnapshot)?;
    if !parts.v1 {
        #[cfg(feature = "policies")]
        read_policy(&mut r, &mut config.policy).ok_or(Error::BadSnapshot)?;
        #[cfg(not(feature = "policies"))]
        {
            let mut policy = Policy::SNAKEPIT;
            read_policy(&mut r, &mut policy).ok_or(Error::BadSnapshot)?;
            if policy != Policy::SNAKEPIT {
                return Err(Error::Unsupported);
            }
        }
    }
    config.validate().map_err(|_| Error::BadSnapshot)
}

/// Whether the config of a blob [`check_state`] accepted is `config`,
/// compared field by field (no decoded config on the stack).
fn config_is(parts: BlobParts<'_>, config: &Config) -> bool {
    let mut r = Reader::new(
        parts
            .blob
            .get(if parts.v1 { 8 } else { 12 }..)
            .unwrap_or_default(),
    );
    let mut same = r.u32() == Some(config.failure_threshold)
        && r.u32() == Some(config.reset_timeout_ms)
        && r.u32() == Some(config.half_open_max_calls);
    let policy = policy_of_config(config);
    if parts.v1 {
        same && *policy == Policy::SNAKEPIT
    } else {
        policy_words(policy, |v| same &= r.u32() == Some(v));
        same
    }
}

/// Checks a breaker blob (version 1 or 2): [`check_state`], then its
/// config, written to `config`; returns the blob to read its state from.
/// On error `config` may be partly written.
#[inline(never)]
pub(crate) fn decode<'a>(blob: &'a [u8], config: &mut Config) -> Result<BlobParts<'a>, Error> {
    let parts = check_state(blob)?;
    read_config(parts, config)?;
    Ok(parts)
}

/// Decodes `blob` and checks it against `config` (the one it must have
/// been taken with; checked valid first): the part of a restore done
/// outside every lock. The blob's config is compared in place; decoded
/// only to say why it differs.
#[inline(never)]
pub(crate) fn decode_for<'a>(config: &Config, blob: &'a [u8]) -> Result<BlobParts<'a>, Error> {
    config.validate()?;
    let parts = check_state(blob)?;
    // A blob of `config` (valid) decodes to `config`: the fields are
    // stored as they are.
    if config_is(parts, config) {
        Ok(parts)
    } else {
        Err(config_error(parts))
    }
}

/// Why the config of a blob [`check_state`] accepted is not the one
/// expected: its own error, or [`Error::ConfigMismatch`].
#[inline(never)]
fn config_error(parts: BlobParts<'_>) -> Error {
    let mut decoded = Config::ZERO;
    match read_config(parts, &mut decoded) {
        Err(e) => e,
        Ok(()) => Error::ConfigMismatch,
    }
}

/// A breaker restored from `blob` on a clock reading `now_ms`; `config`
/// must be the one the snapshot was taken with.
pub(crate) fn restore(config: Config, blob: &[u8], now_ms: u64) -> Result<Breaker, Error> {
    let parts = decode_for(&config, blob)?;
    Breaker::from_parts(config, &parts, now_ms).map_err(|_| Error::BadSnapshot)
}

/// Header of a registry blob; the entries follow.
pub(crate) fn write_all_header(w: &mut Writer<'_>, count: u16) {
    w.put(&MAGIC_ALL);
    w.put(&SNAPSHOT_VERSION.to_le_bytes());
    w.put(&count.to_le_bytes());
}

/// Writes one entry of a registry blob: its name field, then the blob of
/// `b` at `now_ms`, its CRC left 0 ([`seal_all`] computes it later,
/// outside every lock). Always inlined: a firmware image that uses both
/// the global registry and a placed one calls it from two instances of
/// `snapshot_all`, and out of line its 80-byte frame lands on both
/// stacks.
#[inline(always)]
pub(crate) fn write_entry(w: &mut Writer<'_>, name: &[u8], b: &Breaker, now_ms: u64) {
    let mut field = [0u8; 1 + NAME_MAX];
    if let Some((len, padded)) = field.split_first_mut() {
        *len = name.len() as u8;
        padded.iter_mut().zip(name).for_each(|(d, s)| *d = *s);
    }
    w.put(&field);
    match w.buf.get_mut(w.pos..w.pos.saturating_add(SNAPSHOT_LEN)) {
        Some(dst) => encode_breaker(b, now_ms, dst),
        None => w.ok = false,
    }
    w.pos = w.pos.saturating_add(SNAPSHOT_LEN);
}

/// Completes a registry blob of `count` entries written at the start of
/// `buf` by [`write_all_header`] and [`write_entry`]: each entry's CRC,
/// then the blob's (outside every lock). Returns the blob's length.
pub(crate) fn seal_all(buf: &mut [u8], count: usize) -> Result<usize, Error> {
    let body = count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(ALL_OVERHEAD - 4))
        .ok_or(Error::BufferTooSmall)?;
    let entries = buf.get_mut(8..body).ok_or(Error::BufferTooSmall)?;
    for entry in entries.chunks_exact_mut(ENTRY_LEN) {
        if let Some(blob) = entry.get_mut(1 + NAME_MAX..) {
            seal(blob);
        }
    }
    let mut w = Writer::new(buf);
    w.pos = body;
    finish_with_crc(w)
}

/// The entries of a registry blob, checked whole: `count` of them, each
/// of one length (that of the blob's version).
#[derive(Clone, Copy)]
pub(crate) struct Entries<'a>(&'a [u8], usize);

impl<'a> Entries<'a> {
    /// How many entries.
    pub(crate) fn len(&self) -> usize {
        self.0.len().checked_div(self.1).unwrap_or(0)
    }

    /// The entries, in order.
    pub(crate) fn iter(&self) -> core::slice::ChunksExact<'a, u8> {
        self.0.chunks_exact(self.1.max(1))
    }
}

/// Checks a registry blob for a registry of `capacity` slots, in O(1)
/// before anything that depends on the entry count: magic and version,
/// then the length against the count ([`Error::BadSnapshot`] unless it is
/// exactly `12 + (32 + SNAPSHOT_LEN) × count`, with version 1's length for
/// a version 1 blob), then the count against `capacity`
/// ([`Error::RegistryFull`] if more), then, in O(length), the CRC.
/// Returns the entries, not yet decoded.
pub(crate) fn read_all(blob: &[u8], capacity: usize) -> Result<Entries<'_>, Error> {
    let mut r = Reader::new(blob);
    let version = check_header(&mut r, MAGIC_ALL)?;
    let entry_len = if version == 1 {
        1 + NAME_MAX + V1_LEN
    } else {
        ENTRY_LEN
    };
    let count = usize::from(r.u16().ok_or(Error::BadSnapshot)?);
    let len = count
        .checked_mul(entry_len)
        .and_then(|n| n.checked_add(ALL_OVERHEAD))
        .ok_or(Error::BadSnapshot)?;
    if blob.len() != len {
        return Err(Error::BadSnapshot);
    }
    if count > capacity {
        return Err(Error::RegistryFull);
    }
    let body = verified(blob, len)?;
    body.get(8..)
        .map(|e| Entries(e, entry_len))
        .ok_or(Error::BadSnapshot)
}

/// The name field of an entry (length byte and padded name): two entries
/// whose names [`entry_name`] accepted have the same name exactly when
/// these bytes are equal.
pub(crate) fn entry_name_field(entry: &[u8]) -> &[u8] {
    entry.get(..1 + NAME_MAX).unwrap_or(&[])
}

/// The name of an entry of a registry blob: 1 to [`NAME_MAX`] bytes, none
/// NUL, zero padding; [`Error::BadSnapshot`] otherwise.
pub(crate) fn entry_name(entry: &[u8]) -> Result<Name, Error> {
    let (&len, padded) = entry_name_field(entry)
        .split_first()
        .ok_or(Error::BadSnapshot)?;
    let (name, padding) = padded
        .split_at_checked(usize::from(len))
        .ok_or(Error::BadSnapshot)?;
    if name.is_empty() || name.contains(&0) || padding.iter().any(|&b| b != 0) {
        return Err(Error::BadSnapshot);
    }
    Name::from_slice(name).map_err(|_| Error::BadSnapshot)
}

/// The config (into `config`) and state of an entry of a registry blob (a
/// registry blob has no config given alongside it: the entry carries it),
/// decoded and range-checked.
pub(crate) fn entry_parts<'a>(
    entry: &'a [u8],
    config: &mut Config,
) -> Result<BlobParts<'a>, Error> {
    decode(entry.get(1 + NAME_MAX..).ok_or(Error::BadSnapshot)?, config)
}

/// Checks that an entry of a registry blob restores, on a clock reading
/// `now_ms`, without building its breaker: what
/// [`entry_parts`] and `Breaker::set_parts` would refuse. Always inlined,
/// as [`write_entry`] is, into `restore_all`.
#[inline(always)]
pub(crate) fn entry_check(entry: &[u8], now_ms: u64) -> Result<(), Error> {
    let mut config = Config::ZERO;
    let parts = entry_parts(entry, &mut config)?;
    Breaker::check_parts(&config, &parts, now_ms)
}

/// Snapshots of an owned breaker.
impl Breaker {
    /// Writes this breaker's snapshot, taken at `now_ms`, to the start of
    /// `buf` (at least [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes); returns
    /// the length written. See [`crate::snapshot`] for the format: state,
    /// 64-bit counters and the policy state (rate window, backoff,
    /// half-open round, forced-open time), every time as an age.
    /// O(window). `buf` is written only when the answer is `Ok`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn snapshot(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        snapshot(self, now_ms, buf)
    }

    /// A breaker restored from a snapshot, on a clock now reading `now_ms`:
    /// an open breaker stays open for exactly the time it had left, even if
    /// this clock restarted from 0, and its rate window, backoff and
    /// half-open round decide as they would have. Half-open probes that
    /// were in flight when the snapshot was taken are released (their
    /// callers are gone), so a restored half-open breaker admits new
    /// probes. `config` must be the one the snapshot was taken with, and
    /// `blob` exactly the snapshot ([`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN)
    /// bytes, or 56 for a version 1 blob, restored with empty policy
    /// state). O(window).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (also for a blob of another length, or
    /// state no breaker could reach), [`Error::SnapshotVersion`],
    /// [`Error::ConfigMismatch`], [`Error::InvalidConfig`],
    /// [`Error::Unsupported`] (a policy this build does not have).
    pub fn restore(config: Config, blob: &[u8], now_ms: u64) -> Result<Self, Error> {
        restore(config, blob, now_ms)
    }
}

#[cfg(test)]
mod tests;
