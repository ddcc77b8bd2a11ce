//! Priority inversion on a slot lock (issue 14, item 5): two `SCHED_FIFO`
//! threads pinned to one CPU contend for one breaker's slot. The
//! low-priority thread takes the slot lock over and over (`record_failure`,
//! `stats`); the high-priority one wakes up every 200 µs, preempting it,
//! often while it holds the lock, and takes the same lock.
//!
//! A waiter that only spins (and `sched_yield`s, which under `SCHED_FIFO`
//! yields to equal or higher priorities only) never lets the holder run
//! again: a livelock. The scenario runs in a child process (this test binary
//! again, this one test), watched from here: a child that has not finished
//! within 5 s is killed and the test fails, instead of hanging CI. The
//! child asserts that the scenario took less than 1 s.
//!
//! Without `std`, with policies, an operation on a breaker never waits:
//! the high-priority thread answers `Busy` when it preempted the holder in
//! an operation on the same breaker (counted as nothing done).
//!
//! Where the system refuses real-time scheduling or pinning (not root, a
//! container without `CAP_SYS_NICE`), the test is skipped with the reason
//! printed.
#![cfg(all(target_os = "linux", not(miri)))]

use fusebox::{Config, Error, Registry};
use std::io::{Error as OsError, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Set in the child process: run the scenario instead of watching it.
const CHILD_ENV: &str = "FUSEBOX_PRIORITY_CHILD";
/// What the child prints before a skip reason.
const SKIP: &str = "PRIORITY-SKIP: ";
/// How long the watchdog waits for the child.
const WATCHDOG: Duration = Duration::from_secs(5);
/// The bound the scenario must finish within.
const BOUND: Duration = Duration::from_secs(1);
/// Priorities of the holder (low) and the waiter (high).
const LOW: i32 = 10;
const HIGH: i32 = 20;
/// Wake-ups of the high-priority thread, and its sleep between them.
const ROUNDS: u32 = 500;
const NAP: Duration = Duration::from_micros(200);

#[test]
fn priority_inversion_on_a_slot_lock_completes_within_1s() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    } else {
        watch();
    }
}

/// Runs this test again in a child process, kills it after [`WATCHDOG`].
fn watch() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "priority_inversion_on_a_slot_lock_completes_within_1s",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the child process");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break Some(status);
        }
        if start.elapsed() > WATCHDOG {
            // Our own child, by its id.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let Some(status) = status else {
        panic!(
            "livelock: the priority-inversion scenario did not finish within {WATCHDOG:?} \
             (killed)\n--- child stdout\n{out}\n--- child stderr\n{err}"
        );
    };
    if let Some(line) = out.lines().find(|l| l.contains(SKIP)) {
        let reason = &line[line.find(SKIP).map_or(0, |i| i + SKIP.len())..];
        println!("skipped: {reason}");
        eprintln!("priority_inversion_on_a_slot_lock_completes_within_1s skipped: {reason}");
        return;
    }
    assert!(
        status.success(),
        "the child failed ({status})\n--- child stdout\n{out}\n--- child stderr\n{err}"
    );
    print!("{out}");
}

/// The scenario, in the child process.
fn child() {
    let cpu = match first_cpu() {
        Ok(cpu) => cpu,
        Err(reason) => return println!("{SKIP}{reason}"),
    };
    // Can this process use SCHED_FIFO and pinning at all? Asked on a thread
    // of its own, which then ends.
    if let Err(reason) = std::thread::spawn(move || realtime(LOW, cpu))
        .join()
        .expect("the probe thread")
    {
        return println!("{SKIP}{reason}");
    }

    static REG: Registry<2> = Registry::new();
    // Never opens: every operation below takes the slot lock and changes
    // no state.
    let id = REG
        .create(
            b"contended",
            Config::default().with_failure_threshold(u32::MAX),
        )
        .expect("create");
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(2);
    let start = Instant::now();
    let (low_ops, high_ops) = std::thread::scope(|s| {
        let low = s.spawn(|| {
            let setup = realtime(LOW, cpu);
            barrier.wait();
            setup?;
            let mut ops = 0u64;
            while !stop.load(Ordering::Relaxed) {
                REG.record_failure(id, 0).expect("record_failure");
                REG.stats(id).expect("stats");
                ops += 2;
            }
            Ok::<u64, String>(ops)
        });
        let high = s.spawn(|| {
            let setup = realtime(HIGH, cpu);
            barrier.wait();
            let result = setup.map(|()| {
                let mut ops = 0u64;
                for _ in 0..ROUNDS {
                    std::thread::sleep(NAP);
                    for _ in 0..4 {
                        // Two operations per failure counted.
                        ops += 2 * done_unless_preempting(REG.record_failure(id, 0));
                        done_unless_preempting(REG.stats(id).map(drop));
                    }
                }
                ops
            });
            stop.store(true, Ordering::Relaxed);
            result
        });
        (
            low.join().expect("the low-priority thread"),
            high.join().expect("the high-priority thread"),
        )
    });
    let elapsed = start.elapsed();
    let (low_ops, high_ops) = (low_ops.expect("low"), high_ops.expect("high"));
    let failures = REG.stats(id).expect("stats").failure_count;
    println!(
        "priority inversion: {ROUNDS} wake-ups of the SCHED_FIFO {HIGH} thread over the \
         SCHED_FIFO {LOW} holder on CPU {cpu}: {elapsed:?} ({low_ops} + {high_ops} operations)"
    );
    assert_eq!(failures, (low_ops + high_ops) / 2, "failures counted");
    assert!(elapsed < BOUND, "took {elapsed:?}, over {BOUND:?}");
}

/// The first CPU this process may run on.
fn first_cpu() -> Result<usize, String> {
    // SAFETY: `cpu_set_t` is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable `cpu_set_t` of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return Err(format!(
            "sched_getaffinity failed: {}",
            OsError::last_os_error()
        ));
    }
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, within the set.
        .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .ok_or_else(|| "no CPU in this process's affinity mask".to_string())
}

/// Makes the calling thread `SCHED_FIFO` at `priority`, then pins it to
/// `cpu` (in this order: a thread pinned first to a CPU where a real-time
/// thread spins would not run until it got its own priority).
fn realtime(priority: i32, cpu: usize) -> Result<(), String> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: `pthread_self()` is the calling, live thread; `param` is a
    // valid `sched_param` for the call's duration.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc != 0 {
        return Err(format!(
            "pthread_setschedparam(SCHED_FIFO, {priority}) refused: {}",
            OsError::from_raw_os_error(rc)
        ));
    }
    // SAFETY: `cpu_set_t` is plain data; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` comes from `first_cpu`, below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: the calling, live thread; `set` is a valid `cpu_set_t` of the
    // size passed.
    let rc = unsafe {
        libc::pthread_setaffinity_np(libc::pthread_self(), std::mem::size_of_val(&set), &set)
    };
    if rc != 0 {
        return Err(format!(
            "pthread_setaffinity_np(CPU {cpu}) refused: {}",
            OsError::from_raw_os_error(rc)
        ));
    }
    Ok(())
}

/// The high-priority thread's answer: done (1), or, without `std` with
/// policies, `Busy` (0, nothing done) when it preempted the holder in an
/// operation on the breaker: such a build never waits for a context it
/// may have preempted.
fn done_unless_preempting(r: Result<(), Error>) -> u64 {
    match r {
        Ok(()) => 1,
        Err(Error::Busy) if !cfg!(feature = "std") && cfg!(feature = "policies") => 0,
        Err(e) => panic!("{e:?}"),
    }
}
