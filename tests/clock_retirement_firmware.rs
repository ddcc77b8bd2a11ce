//! The C clock's retirement without `std` (the firmware build, here with
//! critical-section's host implementation and threads standing in for
//! cores), for 32-bit variables: each read is one critical section, and a
//! setter answers `FUSEBOX_BUSY` while a read of the clock it would
//! replace is in flight. While threads read (the clock itself, and
//! rejections that read it inside a breaker's lent slot), a setter swaps
//! variables and poisons each old one once its replacement returned
//! `FUSEBOX_OK`: no reading may come from a poisoned variable. (Its own
//! test binary: the C API's clock is process-wide.)
#![cfg(all(feature = "capi", not(feature = "std")))]
use fusebox::ffi::*;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a retired variable holds: a reading from it extends to 0 or to
/// at least this (never to a live variable's value, all below `LIVE_MAX`).
const POISON: u32 = 0xF000_0000;
const LIVE_MIN: u64 = 1_000;
const LIVE_MAX: u64 = 1 << 24;

static READS: AtomicU64 = AtomicU64::new(0);
static BAD: AtomicU64 = AtomicU64::new(0);

/// A leaked variable (C's `volatile uint32_t`), live at `ms`.
fn variable(ms: u32) -> &'static AtomicU32 {
    Box::leak(Box::new(AtomicU32::new(ms)))
}

fn set(v: &'static AtomicU32) -> fusebox_status {
    // SAFETY: `v` is leaked (never freed) and aligned: a valid variable
    // for the rest of the process. AtomicU32 has u32's layout.
    unsafe { fusebox_set_clock_var32(v.as_ptr().cast()) }
}

#[test]
fn no_reading_of_a_retired_32_bit_variable() {
    let mut live = variable(LIVE_MIN as u32);
    assert_eq!(set(live), FUSEBOX_OK);
    let mut cfg = fusebox_config::default();
    // SAFETY: `cfg` is a valid, writable config.
    unsafe { fusebox_config_init(&mut cfg) };
    cfg.failure_threshold = 1;
    cfg.reset_timeout_ms = 1 << 30;
    // One open breaker per reader (two threads on one breaker's lent slot
    // would see each other BUSY).
    let names = [c"open-0", c"open-1", c"open-2", c"open-3"];
    let ids: Vec<fusebox_id> = names
        .iter()
        .map(|name| {
            let mut id = 0;
            // SAFETY: a NUL-terminated name, a valid config and
            // out-parameter.
            assert_eq!(
                unsafe { fusebox_create(name.as_ptr(), &cfg, &mut id) },
                FUSEBOX_OK
            );
            assert_eq!(fusebox_record_failure(id), FUSEBOX_OK);
            id
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut now = 0;
                    // SAFETY: a valid out-parameter.
                    assert_eq!(unsafe { fusebox_now_ms(&mut now) }, FUSEBOX_OK);
                    if !(LIVE_MIN..LIVE_MAX).contains(&now) {
                        BAD.fetch_add(1, Ordering::Relaxed);
                    }
                    // Open for 2^30 ms from a live reading: a reading from
                    // a live variable rejects; one from a poisoned one
                    // (far past or far ahead) may not.
                    assert_eq!(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
                    READS.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    let (mut swaps, mut busy) = (0u32, 0u64);
    // At least 200 swaps and 300 ms of reads, at most 5 s.
    while (swaps < 200 || start.elapsed() < Duration::from_millis(300))
        && start.elapsed() < Duration::from_secs(5)
    {
        let next = variable(LIVE_MIN as u32 + swaps % 1000);
        // A read in flight makes a setter answer BUSY: try again.
        loop {
            match set(next) {
                FUSEBOX_OK => break,
                FUSEBOX_BUSY => {
                    busy += 1;
                    std::thread::yield_now();
                }
                other => panic!("fusebox_set_clock_var32: {other}"),
            }
        }
        live.store(POISON, Ordering::SeqCst);
        live = next;
        swaps += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    eprintln!(
        "{swaps} swaps ({busy} BUSY answers), {} reads, in {:?}",
        READS.load(Ordering::Relaxed),
        start.elapsed()
    );
    assert!(swaps >= 200, "the setter starved: {swaps} swaps");
    assert!(
        READS.load(Ordering::Relaxed) > 10_000,
        "too few reads to tell"
    );
    assert_eq!(
        BAD.load(Ordering::Relaxed),
        0,
        "readings of a retired variable"
    );
}
