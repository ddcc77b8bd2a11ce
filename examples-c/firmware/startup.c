/*
 * startup.c: the smallest start-up a Cortex-M needs under QEMU: a vector
 * table (faults end the run; SysTick is a weak handler a test may define),
 * .data/.bss set-up, semihosting I/O, and main's return value handed to
 * QEMU as its exit status (semihosting exit).
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
extern int main(void);
extern void initialise_monitor_handles(void);

void Reset_Handler(void);
void Fault_Handler(void);
/* A test that counts milliseconds in SysTick defines its own. */
__attribute__((weak)) void SysTick_Handler(void) {}

struct vector_table {
    uint32_t *initial_sp;
    void (*handlers[15])(void); /* exceptions 1 (reset) to 15 (SysTick) */
};

__attribute__((section(".vectors"), used)) const struct vector_table vectors = {
    &_stack_top,
    {Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
     Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler,
     SysTick_Handler},
};

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0;
    }
    initialise_monitor_handles();
    exit(main());
}

void Fault_Handler(void) {
    exit(70);
}

/* newlib calls these from exit(); nothing to run. */
void _init(void) {}
void _fini(void) {}
