/*
 * port_cortex_m.c: fusebox's port layer for a single-core Cortex-M
 * (ARMv6-M, ARMv7-M, ARMv8-M), a template to copy into your firmware.
 *
 * fusebox built with the `port-c` feature takes its critical sections from
 * these two functions; with `panic-handler`, its (unreachable) panic handler
 * calls fusebox_port_panic.
 *
 * Nothing here is for testing: the firmware tests wrap these functions with
 * their own counters (port_test.c), and the masked-instruction measurement
 * (rt_cs.py) finds the `cpsid i` and the `msr primask` in the linked image.
 */
#include <stdint.h>

#include "fusebox.h"

/* Save PRIMASK, then mask interrupts. Returns the saved PRIMASK. */
uint32_t fusebox_port_critical_enter(void) {
    uint32_t primask;
    __asm__ volatile("mrs %0, primask" : "=r"(primask));
    __asm__ volatile("cpsid i" ::: "memory");
    return primask;
}

/* Restore the PRIMASK that the matching enter saved (nesting-safe). */
void fusebox_port_critical_exit(uint32_t saved) {
    __asm__ volatile("msr primask, %0" ::"r"(saved) : "memory");
}

/* Weak default: spin. Override it to log and reset. */
__attribute__((weak)) void fusebox_port_panic(void) {
    for (;;) {
    }
}
