//! fusebox on a host: a registry of breakers shared by threads, the std
//! clock, and a flaky service that recovers. `cargo run --example host
//! --features std`.
//!
//! The program chooses critical-section's implementation, not fusebox: here
//! fusebox's dev-dependency `critical-section = { version = "1", features =
//! ["std"] }` does; an application puts that line in its own Cargo.toml.
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use fusebox::{CallError, Config, Registry, State, StdClock};

/// Up to 16 breakers; a `static`, shared by every thread.
static BREAKERS: Registry<16> = Registry::new();
/// Calls made to the service.
static CALLS: AtomicU32 = AtomicU32::new(0);

/// A service that fails its first 5 calls, then answers.
fn service() -> Result<u32, &'static str> {
    match CALLS.fetch_add(1, Ordering::Relaxed) {
        n if n < 5 => Err("timeout"),
        n => Ok(n),
    }
}

fn main() {
    let cfg = Config::default()
        .with_failure_threshold(4)
        .with_reset_timeout_ms(50);
    let id = BREAKERS.create(b"upstream", cfg).expect("a free slot");
    let workers: Vec<_> = (0..4)
        .map(|w| {
            thread::spawn(move || {
                let (mut ok, mut failed, mut rejected) = (0, 0, 0);
                for _ in 0..60 {
                    match BREAKERS.call(id, &StdClock, service) {
                        Ok(_) => ok += 1,
                        Err(CallError::Failed(_)) => failed += 1,
                        Err(CallError::Rejected(_)) => rejected += 1,
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                println!("worker {w}: {ok} ok, {failed} failed, {rejected} rejected");
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let state = BREAKERS.state(id, StdClock::now()).expect("the breaker");
    let stats = BREAKERS.stats(id).expect("the breaker");
    println!(
        "service called {} times; breaker {state:?}, {} rejections",
        CALLS.load(Ordering::Relaxed),
        stats.rejected_count
    );
    assert_eq!(state, State::Closed);
}
