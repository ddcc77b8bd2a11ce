//! The firmware port: a `critical-section` implementation and a panic
//! handler that call C functions supplied by the host firmware.
//!
//! * `port-c`: fusebox's critical sections call
//!   `uint32_t fusebox_port_critical_enter(void)` (save and mask interrupts,
//!   return the saved state) and `void fusebox_port_critical_exit(uint32_t)`
//!   (restore it). Sections nest (fusebox called with interrupts already
//!   masked, or any `critical_section::with` inside another): each exit
//!   gets the value its enter returned and restores exactly that state,
//!   never unmasking unconditionally. The port masks every interrupt whose
//!   handler may call fusebox (an RTOS's scheduler lock alone is not
//!   enough); on a multi-core part it also takes a spinlock that the core
//!   holding it may take again.
//! * `panic-handler`: a `#[panic_handler]` for the no_std static library
//!   that calls `void fusebox_port_panic(void)` and then spins. fusebox has
//!   no reachable panic (CI proves it at link time with `panic-never-proof`);
//!   the handler exists because a no_std static library must have one.
//! * `panic-never-proof`: the panic handler calls an undefined symbol,
//!   `fusebox_panic_is_reachable`: a firmware that links with
//!   `--gc-sections` proves that no panic path of fusebox survives.
#![allow(unsafe_code)]

#[cfg(feature = "port-c")]
mod critical {
    extern "C" {
        fn fusebox_port_critical_enter() -> u32;
        fn fusebox_port_critical_exit(saved: u32);
    }

    struct CPort;
    critical_section::set_impl!(CPort);

    // SAFETY: the firmware's enter/exit mask and restore interrupts (on a
    // single core), which is what critical-section requires of an impl.
    unsafe impl critical_section::Impl for CPort {
        unsafe fn acquire() -> critical_section::RawRestoreState {
            // SAFETY: a plain C call with no arguments.
            unsafe { fusebox_port_critical_enter() }
        }

        unsafe fn release(saved: critical_section::RawRestoreState) {
            // SAFETY: `saved` is what the matching enter returned.
            unsafe { fusebox_port_critical_exit(saved) }
        }
    }
}

#[cfg(all(feature = "panic-handler", not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "panic-never-proof")]
    {
        extern "C" {
            fn fusebox_panic_is_reachable() -> !;
        }
        // SAFETY: never defined: the link fails if this is reachable.
        unsafe { fusebox_panic_is_reachable() }
    }
    #[cfg(not(feature = "panic-never-proof"))]
    {
        extern "C" {
            fn fusebox_port_panic();
        }
        // SAFETY: a plain C call with no arguments.
        unsafe { fusebox_port_panic() };
        #[allow(clippy::empty_loop)]
        loop {}
    }
}
