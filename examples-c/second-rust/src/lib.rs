//! Another Rust library a C program might link: it uses std (a thread, a
//! panic-free join) and critical-section with std's implementation.
use std::cell::Cell;

static TOTAL: critical_section::Mutex<Cell<u64>> = critical_section::Mutex::new(Cell::new(0));

/// Sums 0..n on a thread of its own and adds it to a running total, which
/// it returns.
#[no_mangle]
pub extern "C" fn second_rust_sum(n: u32) -> u64 {
    let part = std::thread::spawn(move || (0..u64::from(n)).sum::<u64>())
        .join()
        .unwrap_or(0);
    critical_section::with(|cs| {
        let t = TOTAL.borrow(cs);
        t.set(t.get() + part);
        t.get()
    })
}
