/*
 * port_test.c: the port as the firmware tests link it. It compiles the
 * port template of the target (port_cortex_m.c or port_riscv.c) under
 * other names and wraps it with the counters tests/c/test_fusebox.c checks
 * (every enter is matched by an exit). The templates stay free of test
 * instrumentation; firmware of your own links a template directly.
 */
#include <stdint.h>

#include "fusebox.h"

#define fusebox_port_critical_enter template_critical_enter
#define fusebox_port_critical_exit template_critical_exit
#if defined(__riscv)
#include "port_riscv.c"
#else
#include "port_cortex_m.c"
#endif
#undef fusebox_port_critical_enter
#undef fusebox_port_critical_exit

/* Counts for the firmware tests, kept inside the critical sections. */
volatile uint32_t fusebox_port_enters;
volatile uint32_t fusebox_port_depth;

uint32_t fusebox_port_critical_enter(void) {
    uint32_t saved = template_critical_enter();
    fusebox_port_enters++;
    fusebox_port_depth++;
    return saved;
}

void fusebox_port_critical_exit(uint32_t saved) {
    fusebox_port_depth--;
    template_critical_exit(saved);
}
