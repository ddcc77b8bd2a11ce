/*
 * port_riscv.c: fusebox's port layer for a single-hart RISC-V core in
 * machine mode (RV32 or RV64), a template to copy into your firmware.
 *
 * fusebox built with the `port-c` feature takes its critical sections from
 * these two functions; with `panic-handler`, its (unreachable) panic handler
 * calls fusebox_port_panic.
 *
 * Interrupts are masked by clearing mstatus.MIE (bit 3) with one atomic
 * csrrci, which also returns the previous mstatus; the exit sets MIE again
 * only if it was set then, so nested sections restore correctly. Code that
 * runs in user or supervisor mode needs its environment's own primitive
 * (an SBI call, or the RTOS's critical section) instead.
 */
#include <stdint.h>

#include "fusebox.h"

#define MSTATUS_MIE 0x8u

/* Clear mstatus.MIE; return the previous MIE bit. */
uint32_t fusebox_port_critical_enter(void) {
    uint32_t mstatus;
    __asm__ volatile("csrrci %0, mstatus, %1" : "=r"(mstatus) : "i"(MSTATUS_MIE) : "memory");
    return mstatus & MSTATUS_MIE;
}

/* Set mstatus.MIE again if the matching enter found it set. */
void fusebox_port_critical_exit(uint32_t saved) {
    __asm__ volatile("csrs mstatus, %0" ::"r"(saved & MSTATUS_MIE) : "memory");
}

/* Weak default: spin. Override it to log and reset. */
__attribute__((weak)) void fusebox_port_panic(void) {
    for (;;) {
    }
}
