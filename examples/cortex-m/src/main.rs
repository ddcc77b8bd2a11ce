//! fusebox in Rust firmware: a registry of breakers in a `static`, time from
//! a millisecond counter that the SysTick interrupt advances, a flaky
//! "sensor" that fails for a while and recovers. Prints through semihosting
//! and exits with the result (under QEMU: `cargo run --release`).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use fusebox::{CallError, Clock, Config, Registry, State, Tick32};
use panic_halt as _;

/// Milliseconds since boot, advanced by SysTick (wraps after 49.7 days).
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Up to 4 breakers, zero-initialised (in .bss), behind critical sections.
static BREAKERS: Registry<4> = Registry::new();

#[exception]
fn SysTick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// A sensor that fails its first 6 reads, then recovers.
fn read_sensor(attempt: u32) -> Result<u16, ()> {
    if attempt < 6 {
        Err(())
    } else {
        Ok(412)
    }
}

#[entry]
fn main() -> ! {
    let mut core = cortex_m::Peripherals::take().unwrap_or_else(|| debug_exit(false));
    // 25 MHz core clock on mps2-an386: one SysTick interrupt a millisecond.
    core.SYST.set_clock_source(SystClkSource::Core);
    core.SYST.set_reload(25_000 - 1);
    core.SYST.clear_current();
    core.SYST.enable_interrupt();
    core.SYST.enable_counter();

    // The wrapping 32-bit tick, extended to 64-bit milliseconds.
    let clock = Tick32::new(|| TICKS.load(Ordering::Relaxed));
    let cfg = Config::default()
        .with_failure_threshold(3)
        .with_reset_timeout_ms(20);
    let Ok(id) = BREAKERS.create(b"sensor", cfg) else {
        debug_exit(false)
    };

    let mut attempt = 0;
    let mut opened = false;
    loop {
        let r = BREAKERS.call(id, &clock, || {
            attempt += 1;
            read_sensor(attempt - 1)
        });
        match r {
            Ok(v) => {
                hprintln!("sensor: {} (attempt {})", v, attempt);
                break;
            }
            Err(CallError::Failed(())) => hprintln!("sensor failed"),
            Err(CallError::Rejected(_)) => {
                opened = true;
                cortex_m::asm::wfi(); // wait for the next tick
            }
        }
    }
    let closed = BREAKERS.state(id, clock.now_ms()).ok() == Some(State::Closed);
    hprintln!("breaker opened: {}, closed again: {}", opened, closed);
    debug_exit(opened && closed)
}

fn debug_exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}
