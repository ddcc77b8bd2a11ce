//! Snapshots: a breaker's state in a fixed-size, versioned, CRC-checked
//! blob, so that it survives a reboot. O(1) per breaker, no allocation.
//!
//! Layout of a breaker blob ([`SNAPSHOT_LEN`] bytes, little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `"FBOX"` |
//! | 4 | 2 | format version ([`SNAPSHOT_VERSION`]) |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 12 | config: failure_threshold, reset_timeout_ms, half_open_max_calls |
//! | 20 | 1 | state (0 closed, 1 open, 2 half-open) |
//! | 21 | 1 | 1 if a failure time follows, else 0 |
//! | 22 | 2 | reserved, 0 |
//! | 24 | 20 | failure, success, half-open, rejected, admitted counts |
//! | 44 | 8 | milliseconds since the last failure, at snapshot time |
//! | 52 | 4 | CRC-32 (ISO-HDLC, as zlib's) of bytes 0..52 |
//!
//! The failure time is stored as an age, not a clock reading: restored on
//! a clock that restarted from 0, an open breaker stays open for exactly the
//! time it had left. The half-open probe count is stored (and checked) but
//! not restored: probes in flight at snapshot time belong to the program
//! that was running then, and would never report.
//!
//! A registry blob: magic `"FBXR"`, version (2), count (2), then per
//! breaker its name length (1), name (31, zero-padded) and breaker blob,
//! then a CRC-32 of everything before it.
//!
//! A blob is read only at its exact length: a breaker blob is
//! [`SNAPSHOT_LEN`] bytes, a registry blob `12 + 88 × count`; shorter or
//! longer is [`Error::BadSnapshot`]. A name in a registry blob is 1 to 31
//! bytes, none of them NUL (a C program could never look it up).
#![forbid(unsafe_code)]

use crate::breaker::Parts;
use crate::name::{Name, NAME_MAX};
use crate::{Breaker, Config, Error, State};

/// Size of one breaker's snapshot, in bytes.
pub const SNAPSHOT_LEN: usize = 56;
/// The format version written, and the only one read.
pub const SNAPSHOT_VERSION: u16 = 1;
/// Size of one breaker's entry in a registry snapshot.
pub(crate) const ENTRY_LEN: usize = 1 + NAME_MAX + SNAPSHOT_LEN;
/// Bytes of a registry snapshot besides its entries (header and CRC).
pub(crate) const ALL_OVERHEAD: usize = 8 + 4;

const MAGIC: [u8; 4] = *b"FBOX";
const MAGIC_ALL: [u8; 4] = *b"FBXR";
const CRC: crc::Crc<u32, crc::NoTable> = crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// Writes fields one after another; refuses (returns `false`) instead of
/// panicking when the buffer is too short.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    ok: bool,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            pos: 0,
            ok: true,
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => dst.iter_mut().zip(bytes).for_each(|(d, s)| *d = *s),
            None => self.ok = false,
        }
        self.pos = end;
    }

    /// Appends the CRC of everything written so far; the length written.
    pub(crate) fn finish_with_crc(mut self) -> Result<usize, Error> {
        let crc = self.buf.get(..self.pos).map(|b| CRC.checksum(b));
        match crc {
            Some(c) if self.ok => {
                self.put(&c.to_le_bytes());
                if self.ok {
                    Ok(self.pos)
                } else {
                    Err(Error::BufferTooSmall)
                }
            }
            _ => Err(Error::BufferTooSmall),
        }
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

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
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

/// Reads a blob's magic and format version. The version is checked before
/// the CRC, so that a blob of another version says so rather than "bad".
fn check_header(r: &mut Reader<'_>, magic: [u8; 4]) -> Result<(), Error> {
    if r.take::<4>() != Some(magic) {
        return Err(Error::BadSnapshot);
    }
    match r.u16() {
        Some(SNAPSHOT_VERSION) => Ok(()),
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

/// `breaker`'s snapshot, taken at `now_ms`, with its CRC left 0. Written
/// into an array of its own, so that every field's place is a constant.
fn encode(breaker: &Breaker, now_ms: u64) -> [u8; SNAPSHOT_LEN] {
    let c = breaker.config();
    let p = breaker.to_parts(now_ms);
    let mut blob = [0u8; SNAPSHOT_LEN];
    let mut w = Writer::new(&mut blob);
    w.put(&MAGIC);
    w.put(&SNAPSHOT_VERSION.to_le_bytes());
    w.put(&[0, 0]);
    for v in [
        c.failure_threshold,
        c.reset_timeout_ms,
        c.half_open_max_calls,
    ] {
        w.put(&v.to_le_bytes());
    }
    w.put(&[p.state as u8, u8::from(p.since_failure_ms.is_some()), 0, 0]);
    for v in [
        p.failure_count,
        p.success_count,
        p.half_open_calls,
        p.rejected_count,
        p.admitted_count,
    ] {
        w.put(&v.to_le_bytes());
    }
    w.put(&p.since_failure_ms.unwrap_or(0).to_le_bytes());
    blob
}

/// Writes `blob`'s CRC into its last 4 bytes.
fn seal(blob: &mut [u8; SNAPSHOT_LEN]) {
    let (body, tail) = blob.split_at_mut(SNAPSHOT_LEN - 4);
    let crc = CRC.checksum(body).to_le_bytes();
    tail.iter_mut().zip(crc).for_each(|(d, s)| *d = s);
}

/// `breaker`'s snapshot at `now_ms` into `buf`; returns [`SNAPSHOT_LEN`].
/// Nothing is written unless the answer is `Ok`.
pub(crate) fn snapshot(breaker: &Breaker, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
    breaker.check_snapshottable()?;
    let dst = buf.get_mut(..SNAPSHOT_LEN).ok_or(Error::BufferTooSmall)?;
    let mut blob = encode(breaker, now_ms);
    seal(&mut blob);
    dst.copy_from_slice(&blob);
    Ok(SNAPSHOT_LEN)
}

/// Decodes a breaker blob: its config and state, CRC and ranges checked.
pub(crate) fn decode(blob: &[u8]) -> Result<(Config, Parts), Error> {
    check_header(&mut Reader::new(blob), MAGIC)?;
    let mut r = Reader::new(verified(blob, SNAPSHOT_LEN)?);
    let _ = r.take::<6>();
    let fields = (|| {
        if r.u16()? != 0 {
            return None;
        }
        let config = Config::default()
            .with_failure_threshold(r.u32()?)
            .with_reset_timeout_ms(r.u32()?)
            .with_half_open_max_calls(r.u32()?);
        let state = match r.u8()? {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            _ => return None,
        };
        let has_failure = match r.u8()? {
            0 => false,
            1 => true,
            _ => return None,
        };
        if r.u16()? != 0 {
            return None;
        }
        let mut parts = Parts {
            state,
            failure_count: r.u32()?,
            success_count: r.u32()?,
            half_open_calls: r.u32()?,
            rejected_count: r.u32()?,
            admitted_count: r.u32()?,
            since_failure_ms: None,
        };
        let since = r.u64()?;
        parts.since_failure_ms = has_failure.then_some(since);
        if !has_failure && since != 0 {
            return None;
        }
        Some((config, parts))
    })();
    let (config, parts) = fields.ok_or(Error::BadSnapshot)?;
    config.validate().map_err(|_| Error::BadSnapshot)?;
    Ok((config, parts))
}

/// A breaker restored from `blob` on a clock reading `now_ms`; `config`
/// must be the one the snapshot was taken with.
pub(crate) fn restore(config: Config, blob: &[u8], now_ms: u64) -> Result<Breaker, Error> {
    config.validate()?;
    let (stored, parts) = decode(blob)?;
    if stored != config {
        return Err(Error::ConfigMismatch);
    }
    Breaker::from_parts(config, &parts, now_ms).map_err(|_| Error::BadSnapshot)
}

/// Header of a registry blob; the entries follow.
pub(crate) fn write_all_header(w: &mut Writer<'_>, count: u16) {
    w.put(&MAGIC_ALL);
    w.put(&SNAPSHOT_VERSION.to_le_bytes());
    w.put(&count.to_le_bytes());
}

/// Writes one entry of a registry blob, with its breaker blob's CRC left
/// 0: [`seal_all`] computes it later (outside every lock).
pub(crate) fn write_entry_unsealed(
    w: &mut Writer<'_>,
    name: &[u8],
    breaker: &Breaker,
    now_ms: u64,
) {
    let mut field = [0u8; 1 + NAME_MAX];
    if let Some((len, padded)) = field.split_first_mut() {
        *len = name.len() as u8;
        padded.iter_mut().zip(name).for_each(|(d, s)| *d = *s);
    }
    w.put(&field);
    w.put(&encode(breaker, now_ms));
}

/// Completes a registry blob of `count` entries written at the start of
/// `buf` by [`write_all_header`] and [`write_entry_unsealed`]: each entry's
/// CRC, then the blob's. Returns the blob's length.
pub(crate) fn seal_all(buf: &mut [u8], count: usize) -> Result<usize, Error> {
    let body = count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(ALL_OVERHEAD - 4))
        .ok_or(Error::BufferTooSmall)?;
    let entries = buf.get_mut(8..body).ok_or(Error::BufferTooSmall)?;
    for entry in entries.chunks_exact_mut(ENTRY_LEN) {
        if let Some(blob) = entry
            .get_mut(1 + NAME_MAX..)
            .and_then(|b| <&mut [u8; SNAPSHOT_LEN]>::try_from(b).ok())
        {
            seal(blob);
        }
    }
    let mut w = Writer::new(buf);
    w.pos = body;
    w.finish_with_crc()
}

/// The entries of a registry blob, checked whole: `count` of them,
/// [`ENTRY_LEN`] bytes each.
#[derive(Clone, Copy)]
pub(crate) struct Entries<'a>(&'a [u8]);

impl<'a> Entries<'a> {
    /// How many entries.
    pub(crate) fn len(&self) -> usize {
        self.0.len() / ENTRY_LEN
    }

    /// The entries, in order.
    pub(crate) fn iter(&self) -> core::slice::ChunksExact<'a, u8> {
        self.0.chunks_exact(ENTRY_LEN)
    }
}

/// Checks a registry blob for a registry of `capacity` slots, in O(1)
/// before anything that depends on the entry count: magic and version,
/// then the length against the count ([`Error::BadSnapshot`] unless it is
/// exactly `12 + 88 × count`), then the count against `capacity`
/// ([`Error::RegistryFull`] if more), then, in O(length), the CRC.
/// Returns the entries, not yet decoded.
pub(crate) fn read_all(blob: &[u8], capacity: usize) -> Result<Entries<'_>, Error> {
    let mut r = Reader::new(blob);
    check_header(&mut r, MAGIC_ALL)?;
    let count = usize::from(r.u16().ok_or(Error::BadSnapshot)?);
    let len = count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(ALL_OVERHEAD))
        .ok_or(Error::BadSnapshot)?;
    if blob.len() != len {
        return Err(Error::BadSnapshot);
    }
    if count > capacity {
        return Err(Error::RegistryFull);
    }
    let body = verified(blob, len)?;
    body.get(8..).map(Entries).ok_or(Error::BadSnapshot)
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

/// The breaker of an entry of a registry blob, restored on a clock reading
/// `now_ms` with the config the entry carries (a registry blob has no
/// config given alongside it).
pub(crate) fn entry_breaker(entry: &[u8], now_ms: u64) -> Result<Breaker, Error> {
    let blob = entry.get(1 + NAME_MAX..).ok_or(Error::BadSnapshot)?;
    let (config, parts) = decode(blob)?;
    Breaker::from_parts(config, &parts, now_ms).map_err(|_| Error::BadSnapshot)
}

/// Snapshots of an owned breaker.
impl Breaker {
    /// Writes this breaker's snapshot, taken at `now_ms`, to the start of
    /// `buf` (at least [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes); returns
    /// the length written. See [`crate::snapshot`] for the format. O(1).
    /// `buf` is written only when the answer is `Ok`.
    /// The format carries Snakepit's state: a breaker with a non-default
    /// [`Policy`](crate::Policy), or in a manual state, is refused (the
    /// policy counters of `Stats` would start again on restore anyway).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`], [`Error::Unsupported`].
    pub fn snapshot(&self, now_ms: u64, buf: &mut [u8]) -> Result<usize, Error> {
        snapshot(self, now_ms, buf)
    }

    /// A breaker restored from a snapshot, on a clock now reading `now_ms`:
    /// an open breaker stays open for exactly the time it had left, even if
    /// this clock restarted from 0. Half-open probes that were in flight
    /// when the snapshot was taken are released (their callers are gone),
    /// so a restored half-open breaker admits new probes. `config` must be
    /// the one the snapshot was taken with, and `blob` exactly the snapshot
    /// ([`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN) bytes). O(1).
    ///
    /// # Errors
    /// [`Error::BadSnapshot`] (also for a blob shorter or longer than
    /// [`SNAPSHOT_LEN`](crate::SNAPSHOT_LEN)), [`Error::SnapshotVersion`],
    /// [`Error::ConfigMismatch`], [`Error::InvalidConfig`].
    pub fn restore(config: Config, blob: &[u8], now_ms: u64) -> Result<Self, Error> {
        restore(config, blob, now_ms)
    }
}
