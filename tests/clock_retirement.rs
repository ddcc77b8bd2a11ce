//! The C clock's retirement on hosts, with readers on both kinds of
//! announcement: threads with a fast-path lane (the first 8) announce a
//! read in their lane, later threads on the slot's shared count. While
//! they read, a setter swaps clocks, each with its own userdata, and marks
//! the old userdata retired when the setter returns: no read may see a
//! retired userdata. (Its own test binary: the C API's clock is
//! process-wide.)
#![cfg(all(feature = "capi", feature = "std"))]
use core::ffi::c_void;
use fusebox::ffi::*;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A clock's userdata: live until its setter's replacement returned.
struct Data {
    retired: AtomicBool,
}

static AFTER_RETIREMENT: AtomicU64 = AtomicU64::new(0);
static READS: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn checking_clock(userdata: *mut c_void) -> u64 {
    // SAFETY: the test keeps every `Data` alive (leaked) for the process.
    let d = unsafe { &*userdata.cast::<Data>() };
    // Widen the window between the read's start and its end.
    for _ in 0..50 {
        core::hint::spin_loop();
    }
    if d.retired.load(Ordering::SeqCst) {
        AFTER_RETIREMENT.fetch_add(1, Ordering::Relaxed);
    }
    READS.fetch_add(1, Ordering::Relaxed);
    1_000
}

fn fresh() -> *mut c_void {
    Box::into_raw(Box::new(Data {
        retired: AtomicBool::new(false),
    }))
    .cast()
}

/// 12 readers (8 in lanes, 4 on the shared counts) and up to 100 swaps.
#[test]
fn no_read_of_a_retired_clock_with_or_without_a_lane() {
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(c"open".as_ptr(), core::ptr::null(), &mut id) },
        FUSEBOX_OK
    );
    let mut data = fresh();
    assert_eq!(fusebox_set_clock(Some(checking_clock), data), FUSEBOX_OK);
    for _ in 0..5 {
        fusebox_record_failure(id);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU32::new(0));
    let readers: Vec<_> = (0..12)
        .map(|_| {
            let (stop, started) = (stop.clone(), started.clone());
            std::thread::spawn(move || {
                // A locked operation claims a lane, while one is free.
                fusebox_record_failure(id);
                started.fetch_add(1, Ordering::SeqCst);
                while !stop.load(Ordering::Relaxed) {
                    let mut now = 0;
                    assert_eq!(unsafe { fusebox_now_ms(&mut now) }, FUSEBOX_OK);
                    assert_eq!(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
                }
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < 12 {
        std::thread::yield_now();
    }
    let start = Instant::now();
    let mut swaps = 0;
    // At least 100 swaps and 300 ms of reads, at most 5 s.
    while (swaps < 100 || start.elapsed() < Duration::from_millis(300))
        && start.elapsed() < Duration::from_secs(5)
    {
        let next = fresh();
        assert_eq!(fusebox_set_clock(Some(checking_clock), next), FUSEBOX_OK);
        // SAFETY: leaked above, never freed.
        unsafe { &*data.cast::<Data>() }
            .retired
            .store(true, Ordering::SeqCst);
        data = next;
        swaps += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    eprintln!("{swaps} swaps in {:?}", start.elapsed());
    assert!(
        READS.load(Ordering::Relaxed) > 10_000,
        "too few reads to tell"
    );
    assert_eq!(
        AFTER_RETIREMENT.load(Ordering::Relaxed),
        0,
        "reads of a retired clock, of {} in {swaps} swaps",
        READS.load(Ordering::Relaxed)
    );
}
