/*
 * C tests of the variable clocks (fusebox_set_clock_var32 / _var64): fusebox
 * reads a millisecond variable the application keeps current, extends a
 * 32-bit one across its wrap, refuses NULL and keeps the clock, and times
 * breakers out on it.
 *
 * Hosts: also two threads reading while a third advances the variable
 * across the wrap (the extension's compare-and-swap): each reader's times
 * never go back. Firmware (-DFUSEBOX_TEST_FIRMWARE, examples-c/firmware):
 * on Cortex-M the variable is then advanced by the SysTick interrupt, as in
 * an application (FUSEBOX_TEST_SYSTICK).
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#ifndef FUSEBOX_TEST_FIRMWARE
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#endif
#include <stdio.h>
#include <string.h>

#include "fusebox.h"

static int passed, failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CHECK_STATUS(expr, want) CHECK((expr) == (want))

static volatile uint32_t tick32;
static volatile uint64_t tick64;

static uint64_t now(void) {
    uint64_t ms = 0;
    CHECK_STATUS(fusebox_now_ms(&ms), FUSEBOX_OK);
    return ms;
}

static fusebox_state state_of(fusebox_id id) {
    fusebox_state s = 99;
    CHECK_STATUS(fusebox_get_state(id, &s), FUSEBOX_OK);
    return s;
}

static void test_var32_wraps_and_times_out(void) {
    fusebox_config c;
    fusebox_id id;
    tick32 = 0xFFFFFFFFu - 30;
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    CHECK(now() == 0xFFFFFFFFu - 30);
    fusebox_config_init(&c);
    c.failure_threshold = 1;
    c.reset_timeout_ms = 100;
    CHECK_STATUS(fusebox_create("var32", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    tick32 = 68; /* 99 ms later, across the wrap */
    CHECK(now() == 0x100000000ull + 68);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    tick32 = 69; /* 100 ms */
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    /* A reading behind the last one is in the past, and not stored. */
    tick32 = 20;
    CHECK(now() == 0x100000000ull + 20);
    tick32 = 70;
    CHECK(now() == 0x100000000ull + 70);
    /* Reads at least every 49.5 days (2^32 - 2^24 ms) keep it exact
     * across many wraps. */
    {
        uint64_t expect = now();
        int i;
        for (i = 0; i < 6; i++) {
            tick32 += 0xFEFF0000u;
            expect += 0xFEFF0000u;
            CHECK(now() == expect);
        }
    }
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* A closed breaker's operations read no clock: 30 days of healthy
 * traffic, and the failure that trips it reads a tick 30 days (more than
 * 2^31 ms) past the last reading. Time moves forward by those 30 days, and
 * the breaker times out after its one second, not weeks later. */
static void test_var32_trip_after_30_closed_days(void) {
    fusebox_config c;
    fusebox_id id;
    const uint32_t hour = 3600000u;
    int i;
    tick32 = 1000;
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    CHECK(now() == 1000);
    fusebox_config_init(&c);
    c.failure_threshold = 1;
    c.reset_timeout_ms = 1000;
    CHECK_STATUS(fusebox_create("gap", &c, &id), FUSEBOX_OK);
    for (i = 0; i < 30 * 24; i++) {
        tick32 = tick32 + hour;
        CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
        CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    }
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(now() == 1000ull + 30ull * 24 * hour);
    tick32 = tick32 + 999;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    tick32 = tick32 + 1;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_var64_and_null_and_replacing(void) {
    uint64_t kept;
    tick64 = 0x123456789ull;
    CHECK_STATUS(fusebox_set_clock_var64(&tick64), FUSEBOX_OK);
    CHECK(now() == 0x123456789ull);
    tick64 += 0x100000001ull;
    kept = now();
    CHECK(kept == 0x22345678Aull);
    CHECK_STATUS(fusebox_set_clock_var64(NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_set_clock_var32(NULL), FUSEBOX_NULL_PARAMETER);
    CHECK(now() == kept); /* the clock is kept */
    /* A variable set again starts afresh: its first reading as is. */
    tick32 = 0xFFFFFFF0u;
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    CHECK(now() == 0xFFFFFFF0u);
    tick32 = 5;
    CHECK(now() == 0x100000005ull);
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    CHECK(now() == 5);
}

#ifndef FUSEBOX_TEST_FIRMWARE
/* Hosts: one thread advances the variable across the wrap while two read
 * it through fusebox; each reader's times never go back, and the last
 * reading is the extended value. */
#define STEPS 200000u
static volatile int writer_done;

static void *writer(void *arg) {
    uint32_t i;
    (void)arg;
    for (i = 0; i < STEPS; i++) {
        tick32 = tick32 + 1;
    }
    writer_done = 1;
    return NULL;
}

static void *reader(void *arg) {
    uint64_t last = 0, t;
    long *backwards = (long *)arg;
    while (!writer_done) {
        if (fusebox_now_ms(&t) != FUSEBOX_OK || t < last) {
            (*backwards)++;
        }
        last = t;
    }
    return NULL;
}

static void test_threads_read_while_the_variable_moves(void) {
    pthread_t w, r1, r2;
    long back1 = 0, back2 = 0;
    tick32 = 0xFFFFFFFFu - STEPS / 2;
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    CHECK(now() == 0xFFFFFFFFu - STEPS / 2);
    writer_done = 0;
    CHECK(pthread_create(&r1, NULL, reader, &back1) == 0);
    CHECK(pthread_create(&r2, NULL, reader, &back2) == 0);
    CHECK(pthread_create(&w, NULL, writer, NULL) == 0);
    pthread_join(w, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    CHECK(back1 == 0 && back2 == 0);
    CHECK(now() == 0xFFFFFFFFull - STEPS / 2 + STEPS);
}
#endif

#if defined(FUSEBOX_TEST_FIRMWARE) && defined(FUSEBOX_TEST_SYSTICK)
/* Cortex-M: SysTick advances the variable, as an application's handler
 * does (overrides startup.c's weak default). */
void SysTick_Handler(void) {
    tick32 = tick32 + 1;
}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static void test_systick_advances_the_clock(void) {
    fusebox_config c;
    fusebox_id id;
    uint64_t start;
    unsigned long spins = 0;
    fusebox_status st = FUSEBOX_OK;
    tick32 = 0xFFFFFFFFu - 2; /* it wraps while the breaker is open */
    CHECK_STATUS(fusebox_set_clock_var32(&tick32), FUSEBOX_OK);
    fusebox_config_init(&c);
    c.failure_threshold = 1;
    c.reset_timeout_ms = 20;
    CHECK_STATUS(fusebox_create("systick", &c, &id), FUSEBOX_OK);
    start = now();
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    SYST_RVR = 25000u - 1; /* a tick every 25 000 cycles (1 ms at 25 MHz) */
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt, enable */
    /* fusebox runs its critical sections while the interrupt comes. */
    while (state_of(id) == FUSEBOX_STATE_OPEN && spins < 50000000ul) {
        st = fusebox_try_acquire(id);
        spins++;
    }
    SYST_CSR = 0;
    CHECK(st == FUSEBOX_CIRCUIT_OPEN || st == FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK(now() >= start + 20 && now() > 0xFFFFFFFFull);
    printf("SysTick: %lu calls before the breaker timed out, clock %lu ms on\n", spins,
           (unsigned long)(now() - start));
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}
#endif

int main(void) {
    printf("fusebox variable-clock tests\n");
    test_var32_wraps_and_times_out();
    test_var32_trip_after_30_closed_days();
    test_var64_and_null_and_replacing();
#ifndef FUSEBOX_TEST_FIRMWARE
    test_threads_read_while_the_variable_moves();
#endif
#if defined(FUSEBOX_TEST_FIRMWARE) && defined(FUSEBOX_TEST_SYSTICK)
    test_systick_advances_the_clock();
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
