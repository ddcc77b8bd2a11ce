/*
 * rt_probe.c: calls every function of fusebox's C API on firmware, each in
 * the states where it does the most work, for the real-time measurements:
 *
 * - masked instructions (`make firmware-cs`): rt_cs.py traces this program
 *   under QEMU and counts the instructions between the port's
 *   critical_enter and critical_exit. Before each API call the program
 *   calls the marker `rt_mark_<function>`, whose address in the trace tells
 *   rt_cs.py which function the following critical sections belong to.
 * - stack (`make firmware-stack`): before each API call the free stack
 *   below the caller is painted; after it, the lowest overwritten word
 *   gives the stack the call used ("painted" column of rt_stack.py).
 *
 * The markers and the painting live here, in the test harness: the port
 * (port_cortex_m.c, port_riscv.c) stays a clean template.
 *
 * The registry is filled to FUSEBOX_CAPACITY with names of the maximum
 * length that differ only in their last bytes (the longest name
 * comparisons), because create, lookup, snapshot_all and restore_all do
 * more work on a full registry.
 *
 * The clock is a SysTick-style variable (fusebox_set_clock_var32), which
 * the program advances by hand.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fusebox.h"

/* Every function of the C API, in the order of fusebox.h. rt_cs.py fails
 * when fusebox.h declares one that is not here. */
#define RT_FUNCTIONS(X)                                                        \
    X(fusebox_config_init)                                                     \
    X(fusebox_create)                                                          \
    X(fusebox_lookup)                                                          \
    X(fusebox_destroy)                                                         \
    X(fusebox_get_state)                                                       \
    X(fusebox_allow_call)                                                      \
    X(fusebox_try_acquire)                                                     \
    X(fusebox_record_success)                                                  \
    X(fusebox_record_failure)                                                  \
    X(fusebox_call)                                                            \
    X(fusebox_reset)                                                           \
    X(fusebox_stats_get)                                                       \
    X(fusebox_status_str)                                                      \
    X(fusebox_state_str)                                                       \
    X(fusebox_version)                                                         \
    X(fusebox_capacity)                                                        \
    X(fusebox_max_window_calls)                                                \
    X(fusebox_max_buckets)                                                     \
    X(fusebox_set_clock)                                                       \
    X(fusebox_set_clock32)                                                     \
    X(fusebox_set_clock_var32)                                                 \
    X(fusebox_set_clock_var64)                                                 \
    X(fusebox_now_ms)                                                          \
    X(fusebox_name)                                                            \
    X(fusebox_next)                                                            \
    X(fusebox_metrics_write)                                                   \
    X(fusebox_record)                                                          \
    X(fusebox_acquire_permit)                                                  \
    X(fusebox_complete)                                                        \
    X(fusebox_call_classified)                                                 \
    X(fusebox_retry_after_ms)                                                  \
    X(fusebox_force_open)                                                      \
    X(fusebox_force_open_for)                                                  \
    X(fusebox_force_open_until)                                                \
    X(fusebox_force_half_open)                                                 \
    X(fusebox_disable)                                                         \
    X(fusebox_metrics_only)                                                    \
    X(fusebox_set_listener)                                                    \
    X(fusebox_events_dropped)                                                  \
    X(fusebox_snapshot)                                                        \
    X(fusebox_restore)                                                         \
    X(fusebox_snapshot_max)                                                    \
    X(fusebox_snapshot_all_max)                                                \
    X(fusebox_snapshot_all)                                                    \
    X(fusebox_restore_all)                                                     \
    X(fusebox_registry_size)                                                   \
    X(fusebox_registry_align)                                                  \
    X(fusebox_registry_place)                                                  \
    X(fusebox_registry_place_shared)                                           \
    X(fusebox_registry_attach)                                                 \
    X(fusebox_registry_capacity)                                               \
    X(fusebox_registry_create)                                                 \
    X(fusebox_registry_lookup)                                                 \
    X(fusebox_registry_destroy)                                                \
    X(fusebox_registry_get_state)                                              \
    X(fusebox_registry_allow_call)                                             \
    X(fusebox_registry_try_acquire)                                            \
    X(fusebox_registry_record_success)                                         \
    X(fusebox_registry_record_failure)                                         \
    X(fusebox_registry_call)                                                   \
    X(fusebox_registry_reset)                                                  \
    X(fusebox_registry_stats_get)                                              \
    X(fusebox_registry_record)                                                 \
    X(fusebox_registry_acquire_permit)                                         \
    X(fusebox_registry_complete)                                               \
    X(fusebox_registry_call_classified)                                        \
    X(fusebox_registry_retry_after_ms)                                         \
    X(fusebox_registry_force_open)                                             \
    X(fusebox_registry_force_open_for)                                         \
    X(fusebox_registry_force_open_until)                                       \
    X(fusebox_registry_force_half_open)                                        \
    X(fusebox_registry_disable)                                                \
    X(fusebox_registry_metrics_only)                                           \
    X(fusebox_registry_set_listener)                                           \
    X(fusebox_registry_events_dropped)                                         \
    X(fusebox_registry_snapshot)                                               \
    X(fusebox_registry_restore)                                                \
    X(fusebox_registry_snapshot_all)                                           \
    X(fusebox_registry_restore_all)                                            \
    X(fusebox_registry_name)                                                   \
    X(fusebox_registry_next)                                                   \
    X(fusebox_registry_metrics_write)                                          \
    X(fusebox_registry_snapshot_all_max)

enum {
#define RT_INDEX(fn) RT_##fn,
    RT_FUNCTIONS(RT_INDEX)
#undef RT_INDEX
    RT_COUNT
};

static const char *const rt_names[RT_COUNT] = {
#define RT_NAME(fn) #fn,
    RT_FUNCTIONS(RT_NAME)
#undef RT_NAME
};

/* The markers: one function per API function, each with its own body (so
 * that no two are merged), never inlined. */
volatile int rt_current = -1;
#define RT_MARK(fn)                                                            \
    __attribute__((noinline, used)) void rt_mark_##fn(void) {                  \
        rt_current = RT_##fn;                                                  \
    }
RT_FUNCTIONS(RT_MARK)
#undef RT_MARK
/* After each call: what follows belongs to no API function. */
__attribute__((noinline, used)) void rt_mark_none(void) {
    rt_current = -1;
}

/* Whole operations, for the instruction targets (rt_cs.py counts every
 * instruction from the entry of rt_op_<name> to the entry of rt_op_end:
 * the calls, the port, the clock read, and 1 for the marker's return).
 * Empty bodies that the compiler keeps apart. */
#define RT_OPS(X) X(closed_pair) X(rejection)
#define RT_OP_MARK(name)                                                       \
    __attribute__((noinline, used)) void rt_op_##name(void) {                  \
        __asm__ volatile("" ::: "memory");                                     \
    }
RT_OPS(RT_OP_MARK)
RT_OP_MARK(end)
#undef RT_OP_MARK

/* ---------------------------------------------------------------- stack */
#define RT_PATTERN 0xC5C5C5C5u
/* Bytes of stack painted below the caller of each API call; 0 (the
 * default, for the traced images) paints nothing. */
#ifndef RT_PAINT_BYTES
#define RT_PAINT_BYTES 0u
#endif
extern uint32_t _ebss;
static uint32_t rt_stack[RT_COUNT];
static uint32_t rt_overflow[RT_COUNT];

#if defined(__arm__)
#define RT_SP(sp) __asm__ volatile("mov %0, sp" : "=r"(sp))
#elif defined(__riscv)
#define RT_SP(sp) __asm__ volatile("mv %0, sp" : "=r"(sp))
#endif

static inline uintptr_t rt_bottom(uintptr_t sp) {
    uintptr_t bottom = sp - RT_PAINT_BYTES;
    uintptr_t floor = (uintptr_t)&_ebss + 64;
    return bottom < floor ? floor : bottom;
}

/* Paints the free stack below a caller whose stack pointer is `sp`, and
 * measures it after the call: down to the lowest word no longer painted.
 * Both are macros, expanded in the caller, so that no frame of theirs
 * lies in the painted area. */
#define RT_PAINT(sp)                                                           \
    if (RT_PAINT_BYTES)                                                        \
    do {                                                                       \
        volatile uint32_t *p_ = (volatile uint32_t *)(sp)-1;                   \
        volatile uint32_t *end_ = (volatile uint32_t *)rt_bottom(sp);          \
        while (p_ >= end_) {                                                   \
            *p_-- = RT_PATTERN;                                                \
        }                                                                      \
    } while (0)

#define RT_MEASURE(fn, sp)                                                     \
    if (RT_PAINT_BYTES)                                                        \
    do {                                                                       \
        volatile uint32_t *p_ = (volatile uint32_t *)rt_bottom(sp);            \
        uint32_t used_;                                                        \
        if (*p_ != RT_PATTERN) {                                               \
            rt_overflow[fn] = 1;                                               \
        }                                                                      \
        while ((uintptr_t)p_ < (sp) && *p_ == RT_PATTERN) {                    \
            p_++;                                                              \
        }                                                                      \
        used_ = (uint32_t)((sp) - (uintptr_t)p_);                              \
        if (used_ > rt_stack[fn]) {                                            \
            rt_stack[fn] = used_;                                              \
        }                                                                      \
    } while (0)

static int rt_calls[RT_COUNT];

/* One measured call: the marker, the paint, the call, the measurement. */
#define RUN(fn, ...)                                                           \
    do {                                                                       \
        uintptr_t sp_;                                                         \
        RT_SP(sp_);                                                            \
        RT_PAINT(sp_);                                                         \
        rt_mark_##fn();                                                        \
        __VA_ARGS__;                                                           \
        rt_mark_none();                                                        \
        RT_MEASURE(RT_##fn, sp_);                                              \
        rt_calls[RT_##fn]++;                                                   \
    } while (0)

/* -------------------------------------------------------------- helpers */
static int failures;
#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            printf("rt_probe.c:%d: expected %s\n", __LINE__, #cond);           \
        }                                                                      \
    } while (0)

/* The SysTick-style millisecond variable fusebox reads. */
static volatile uint32_t tick_ms = 1000;
static volatile uint64_t tick64_ms = 1000;

static uint64_t clock64(void *userdata) {
    (void)userdata;
    return tick_ms;
}
static uint32_t clock32(void *userdata) {
    (void)userdata;
    return tick_ms;
}
static int32_t op_ok(void *userdata) {
    (void)userdata;
    return 0;
}
static int32_t op_fail(void *userdata) {
    (void)userdata;
    return 1;
}
static fusebox_outcome classify(int32_t result, void *userdata) {
    (void)userdata;
    return result == 0 ? FUSEBOX_OUTCOME_SUCCESS : FUSEBOX_OUTCOME_FAILURE;
}
static volatile uint32_t events_seen;
static void listener(const fusebox_event *event, void *userdata) {
    (void)event;
    (void)userdata;
    events_seen++;
}

/* Names of the maximum length that differ only in their last three bytes. */
static void name_of(char *name, unsigned i) {
    memset(name, 'n', FUSEBOX_NAME_MAX);
    name[FUSEBOX_NAME_MAX - 3] = (char)('a' + (i / 256) % 26);
    name[FUSEBOX_NAME_MAX - 2] = (char)('a' + (i / 16) % 16);
    name[FUSEBOX_NAME_MAX - 1] = (char)('a' + i % 16);
    name[FUSEBOX_NAME_MAX] = 0;
}

#ifndef RT_TEXT_BYTES
#define RT_TEXT_BYTES 2048u
#endif
#ifndef RT_MAX_SLOTS
#define RT_MAX_SLOTS 16u
#endif
static char text[RT_TEXT_BYTES];
static fusebox_id ids[RT_MAX_SLOTS];
/* Breakers in the registry blob: every slot, unless RAM cannot hold a
   full registry's blob beside the registry (Cortex-M0, 16 KiB, with
   policies: 16 slots of 520 bytes and a 6.6 KB blob do not fit; the
   Makefile passes fewer there, and the snapshot_all / restore_all figures
   are then those of that many breakers). */
#ifndef RT_BLOB_ENTRIES
#define RT_BLOB_ENTRIES RT_MAX_SLOTS
#endif
static uint8_t blob[12 + RT_BLOB_ENTRIES * (32 + FUSEBOX_SNAPSHOT_MAX)];
static int policies;
static size_t capacity;

/* ------------------------------------------------------------ scenarios */
static void pure_functions(void) {
    fusebox_config c;
    const char *s;
    uint32_t v, limit;
    size_t n;
    fusebox_status st;
    fusebox_state state;
    RUN(fusebox_config_init, fusebox_config_init(&c));
    for (st = 0; st <= 16; st++) {
        RUN(fusebox_status_str, s = fusebox_status_str(st));
        EXPECT(s != NULL);
    }
    for (state = 0; state <= 6; state++) {
        RUN(fusebox_state_str, s = fusebox_state_str(state));
        EXPECT(s != NULL);
    }
    RUN(fusebox_version, v = fusebox_version());
    EXPECT(v == FUSEBOX_VERSION);
    RUN(fusebox_capacity, capacity = fusebox_capacity());
    EXPECT(capacity == RT_MAX_SLOTS);
    RUN(fusebox_max_window_calls, limit = fusebox_max_window_calls());
    EXPECT(limit >= 1);
    RUN(fusebox_max_buckets, limit = fusebox_max_buckets());
    EXPECT(limit >= 1);
    RUN(fusebox_snapshot_max, n = fusebox_snapshot_max());
    EXPECT(n <= FUSEBOX_SNAPSHOT_MAX); /* firmware: the default window limits */
    RUN(fusebox_snapshot_all_max, n = fusebox_snapshot_all_max());
    EXPECT(RT_BLOB_ENTRIES < RT_MAX_SLOTS || n <= sizeof blob);
}

static void clocks(void) {
    fusebox_status st;
    uint64_t now = 0;
    RUN(fusebox_set_clock, st = fusebox_set_clock(clock64, NULL));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_now_ms, st = fusebox_now_ms(&now));
    EXPECT(st == FUSEBOX_OK && now == tick_ms);
    RUN(fusebox_set_clock32, st = fusebox_set_clock32(clock32, NULL));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_now_ms, st = fusebox_now_ms(&now));
    EXPECT(st == FUSEBOX_OK && now == tick_ms);
    RUN(fusebox_set_clock_var64, st = fusebox_set_clock_var64(&tick64_ms));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_now_ms, st = fusebox_now_ms(&now));
    EXPECT(st == FUSEBOX_OK && now == tick64_ms);
    /* The variable the rest of the program runs on. */
    RUN(fusebox_set_clock_var32, st = fusebox_set_clock_var32(&tick_ms));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_now_ms, st = fusebox_now_ms(&now));
    EXPECT(st == FUSEBOX_OK && now == tick_ms);
}

/* Every call on one breaker, through closed, open, half-open and back. */
static void life(fusebox_id id, uint32_t threshold, uint32_t timeout) {
    fusebox_state state;
    fusebox_stats stats;
    bool allowed;
    int32_t result;
    uint32_t i;
    fusebox_status st;
    RUN(fusebox_try_acquire, st = fusebox_try_acquire(id));
    RUN(fusebox_record_success, st = fusebox_record_success(id));
    RUN(fusebox_call, st = fusebox_call(id, op_ok, NULL, &result));
    RUN(fusebox_allow_call, st = fusebox_allow_call(id, &allowed));
    RUN(fusebox_get_state, st = fusebox_get_state(id, &state));
    for (i = 0; i < threshold; i++) {
        tick_ms += 1;
        RUN(fusebox_try_acquire, st = fusebox_try_acquire(id));
        RUN(fusebox_record_failure, st = fusebox_record_failure(id));
    }
    RUN(fusebox_get_state, st = fusebox_get_state(id, &state));
    EXPECT(state == FUSEBOX_STATE_OPEN);
    RUN(fusebox_try_acquire, st = fusebox_try_acquire(id));
    EXPECT(st == FUSEBOX_CIRCUIT_OPEN);
    RUN(fusebox_call, st = fusebox_call(id, op_ok, NULL, &result));
    RUN(fusebox_allow_call, st = fusebox_allow_call(id, &allowed));
    RUN(fusebox_record_failure, st = fusebox_record_failure(id));
    /* Half-open through each entry point, then a failed probe reopens. */
    tick_ms += timeout * 8 + 1;
    RUN(fusebox_get_state, st = fusebox_get_state(id, &state));
    EXPECT(state == FUSEBOX_STATE_HALF_OPEN);
    RUN(fusebox_try_acquire, st = fusebox_try_acquire(id));
    RUN(fusebox_record_failure, st = fusebox_record_failure(id));
    tick_ms += timeout * 8 + 1;
    RUN(fusebox_allow_call, st = fusebox_allow_call(id, &allowed));
    RUN(fusebox_call, st = fusebox_call(id, op_fail, NULL, &result));
    tick_ms += timeout * 8 + 1;
    RUN(fusebox_try_acquire, st = fusebox_try_acquire(id));
    RUN(fusebox_record_success, st = fusebox_record_success(id));
    tick_ms += 1;
    for (i = 0; i < threshold; i++) {
        RUN(fusebox_call, st = fusebox_call(id, op_fail, NULL, &result));
    }
    tick_ms += timeout * 8 + 1;
    RUN(fusebox_call, st = fusebox_call(id, op_ok, NULL, &result));
    RUN(fusebox_stats_get, st = fusebox_stats_get(id, &stats));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_record_failure, st = fusebox_record_failure(id));
    RUN(fusebox_reset, st = fusebox_reset(id));
    EXPECT(st == FUSEBOX_OK);
    (void)st;
}

/* The policy functions (in a core build they answer FUSEBOX_UNSUPPORTED,
 * which is measured too). */
static void policy_calls(fusebox_id id, uint32_t timeout) {
    fusebox_permit permit;
    uint64_t wait;
    uint32_t dropped, i;
    int32_t result;
    fusebox_status st;
    for (i = 0; i < 12; i++) {
        tick_ms += 1;
        RUN(fusebox_record, st = fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 5));
        RUN(fusebox_record, st = fusebox_record(id, FUSEBOX_OUTCOME_FAILURE, 500));
        RUN(fusebox_acquire_permit, st = fusebox_acquire_permit(id, &permit));
        tick_ms += 7;
        if (st == FUSEBOX_OK) {
            RUN(fusebox_complete, st = fusebox_complete(&permit, FUSEBOX_OUTCOME_FAILURE));
        } else {
            RUN(fusebox_complete, st = fusebox_complete(&permit, FUSEBOX_OUTCOME_FAILURE));
        }
        RUN(fusebox_call_classified,
            st = fusebox_call_classified(id, op_fail, classify, NULL, &result));
        RUN(fusebox_retry_after_ms, st = fusebox_retry_after_ms(id, &wait));
        tick_ms += timeout * 8 + 1;
    }
    RUN(fusebox_acquire_permit, st = fusebox_acquire_permit(id, &permit));
    RUN(fusebox_force_open_for, st = fusebox_force_open_for(id, timeout));
    RUN(fusebox_force_open_until, st = fusebox_force_open_until(id, tick_ms + timeout));
    RUN(fusebox_force_half_open, st = fusebox_force_half_open(id));
    RUN(fusebox_force_open, st = fusebox_force_open(id));
    RUN(fusebox_complete, st = fusebox_complete(&permit, FUSEBOX_OUTCOME_SUCCESS));
    RUN(fusebox_retry_after_ms, st = fusebox_retry_after_ms(id, &wait));
    RUN(fusebox_disable, st = fusebox_disable(id));
    RUN(fusebox_metrics_only, st = fusebox_metrics_only(id));
    RUN(fusebox_record, st = fusebox_record(id, FUSEBOX_OUTCOME_FAILURE, 1));
    RUN(fusebox_reset, st = fusebox_reset(id));
    RUN(fusebox_events_dropped, st = fusebox_events_dropped(&dropped));
    (void)st;
}

/* The policy configurations that do the most work per call: a time
 * window, rate rules with slow calls, backoff and jitter, waits. */
static void policy_configs(fusebox_config *c, int which) {
    fusebox_config_init(c);
    c->failure_threshold = 3;
    c->reset_timeout_ms = 10;
    c->half_open_max_calls = 2;
    if (!policies) {
        return;
    }
    c->trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c->minimum_calls = 4;
    c->failure_rate_percent = 50;
    c->slow_call_ms = 100;
    c->slow_call_rate_percent = 50;
    c->half_open_success_threshold = 2;
    c->half_open_max_wait_ms = 50;
    c->half_open_wait_action = FUSEBOX_WAIT_REOPEN;
    c->backoff_percent = 200;
    c->max_open_ms = 1000;
    c->jitter_percent = 50;
    c->jitter_seed = 7;
    if (which == 0) {
        c->window_kind = FUSEBOX_WINDOW_TIME;
        c->window_size = 8;
        c->bucket_ms = 3;
    } else {
        c->window_kind = FUSEBOX_WINDOW_COUNT;
        c->window_size = 64;
    }
}

static void one_breaker_each_way(void) {
    fusebox_config c;
    fusebox_id id;
    fusebox_status st;
    int which;
    char name[FUSEBOX_NAME_MAX + 1];
    RUN(fusebox_set_listener, st = fusebox_set_listener(listener, NULL));
    for (which = 0; which < 3; which++) {
        if (which < 2) {
            policy_configs(&c, which);
        } else {
            fusebox_config_init(&c);
        }
        name_of(name, 4000u + (unsigned)which);
        RUN(fusebox_create, st = fusebox_create(name, &c, &id));
        EXPECT(st == FUSEBOX_OK);
        life(id, c.failure_threshold * 4, c.reset_timeout_ms);
        policy_calls(id, c.reset_timeout_ms);
        life(id, c.failure_threshold * 4, c.reset_timeout_ms);
        RUN(fusebox_destroy, st = fusebox_destroy(id));
        EXPECT(st == FUSEBOX_OK);
    }
}

/* A full registry: create, lookup, walk, metrics, snapshots. */
static void full_registry(void) {
    fusebox_config c;
    fusebox_id id, next;
    fusebox_status st;
    char name[FUSEBOX_NAME_MAX + 1];
    size_t i, len = 0, count = 0, written = 0, n = capacity;
    /* One breaker's blob: the start of the registry blob's buffer (used
       before it), not 380 more bytes of stack. */
    uint8_t *one = blob;
    fusebox_config_init(&c);
    EXPECT(n <= RT_MAX_SLOTS);
    for (i = 0; i < n; i++) {
        name_of(name, (unsigned)i);
        RUN(fusebox_create, st = fusebox_create(name, &c, &ids[i]));
        EXPECT(st == FUSEBOX_OK);
    }
    name_of(name, 3999u);
    RUN(fusebox_create, st = fusebox_create(name, &c, &id));
    EXPECT(st == FUSEBOX_REGISTRY_FULL);
    name_of(name, (unsigned)n - 1);
    RUN(fusebox_create, st = fusebox_create(name, &c, &id));
    EXPECT(st == FUSEBOX_NAME_TAKEN);
    RUN(fusebox_lookup, st = fusebox_lookup(name, &id));
    EXPECT(st == FUSEBOX_OK && id == ids[n - 1]);
    name_of(name, 3999u);
    RUN(fusebox_lookup, st = fusebox_lookup(name, &id));
    EXPECT(st == FUSEBOX_NOT_FOUND);
    /* One breaker open, so that the walk and the metrics see every state. */
    for (i = 0; i < c.failure_threshold; i++) {
        RUN(fusebox_record_failure, st = fusebox_record_failure(ids[0]));
    }
    next = 0;
    for (i = 0; i <= n; i++) {
        RUN(fusebox_next, st = fusebox_next(next, &next));
        if (st != FUSEBOX_OK) {
            break;
        }
        RUN(fusebox_name, st = fusebox_name(next, name, sizeof name, &written));
    }
    EXPECT(i == n);
    RUN(fusebox_metrics_write, st = fusebox_metrics_write(text, 1, &len));
    EXPECT(st == FUSEBOX_BUFFER_TOO_SMALL);
    if (len <= sizeof text) {
        RUN(fusebox_metrics_write, st = fusebox_metrics_write(text, len, &written));
        EXPECT(st == FUSEBOX_OK);
    } else {
        printf("note: metrics text of %u bytes does not fit in RT_TEXT_BYTES\n", (unsigned)len);
    }
    /* Snapshots: one breaker, then the whole registry. */
    RUN(fusebox_reset, st = fusebox_reset(ids[0]));
    for (i = 0; i < c.failure_threshold; i++) {
        RUN(fusebox_record_failure, st = fusebox_record_failure(ids[n - 1]));
    }
    RUN(fusebox_snapshot, st = fusebox_snapshot(ids[n - 1], one, sizeof blob, &len));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_destroy, st = fusebox_destroy(ids[n - 1]));
    name_of(name, (unsigned)n - 1);
    RUN(fusebox_restore, st = fusebox_restore(name, &c, one, len, &ids[n - 1]));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_restore, st = fusebox_restore(name, &c, one, len, &id));
    EXPECT(st == FUSEBOX_NAME_TAKEN);
    for (i = RT_BLOB_ENTRIES; i < n; i++) {
        RUN(fusebox_destroy, st = fusebox_destroy(ids[i]));
        EXPECT(st == FUSEBOX_OK);
    }
    if (n > RT_BLOB_ENTRIES) {
        n = RT_BLOB_ENTRIES;
    }
    RUN(fusebox_snapshot_all, st = fusebox_snapshot_all(blob, sizeof blob, &len));
    EXPECT(st == FUSEBOX_OK);
    for (i = 0; i < n; i++) {
        RUN(fusebox_destroy, st = fusebox_destroy(ids[i]));
        EXPECT(st == FUSEBOX_OK);
    }
    RUN(fusebox_restore_all, st = fusebox_restore_all(blob, len, &count));
    EXPECT(st == FUSEBOX_OK && count == n);
    for (i = 0; i < n; i++) {
        name_of(name, (unsigned)i);
        RUN(fusebox_lookup, st = fusebox_lookup(name, &id));
        EXPECT(st == FUSEBOX_OK);
        RUN(fusebox_destroy, st = fusebox_destroy(id));
        EXPECT(st == FUSEBOX_OK);
    }
}

/* The instruction targets: a closed breaker's try_acquire +
 * record_success, and a rejection, each with the variable clock. The
 * Snakepit config (as a core build's callers use it). */
static void operations(void) {
    fusebox_config c;
    fusebox_id id;
    fusebox_status st, st2;
    int round;
    fusebox_config_init(&c);
    c.failure_threshold = 1;
    st = fusebox_create("ops", &c, &id);
    EXPECT(st == FUSEBOX_OK);
    /* Twice each: the second is the steady state. */
    for (round = 0; round < 2; round++) {
        tick_ms += 1;
        rt_op_closed_pair();
        st = fusebox_try_acquire(id);
        st2 = fusebox_record_success(id);
        rt_op_end();
        EXPECT(st == FUSEBOX_OK && st2 == FUSEBOX_OK);
    }
    st = fusebox_record_failure(id);
    EXPECT(st == FUSEBOX_OK);
    for (round = 0; round < 2; round++) {
        tick_ms += 1;
        rt_op_rejection();
        st = fusebox_try_acquire(id);
        rt_op_end();
        EXPECT(st == FUSEBOX_CIRCUIT_OPEN);
    }
    st = fusebox_destroy(id);
    EXPECT(st == FUSEBOX_OK);
}

/* A registry placed in caller memory: every fusebox_registry_* function,
 * in the states where it does the most work, on a registry of two slots
 * (their critical sections do not depend on the capacity: the m3 columns
 * at 16 and 256 show it for the global registry). */
#ifndef RT_PLACED_ROOM
#define RT_PLACED_ROOM 2304u
#endif
/* Its capacity: 1 where RAM is short (Cortex-M0 with policies), else 2. */
#ifndef RT_PLACED_CAP
#define RT_PLACED_CAP 2
#endif
static uint8_t placed_raw[RT_PLACED_ROOM + 64];

static void placed_life(const fusebox_registry *reg, fusebox_id id, uint32_t failures_to_open,
                        uint32_t timeout) {
    fusebox_status st;
    fusebox_state state;
    fusebox_stats stats;
    fusebox_permit permit;
    bool allowed;
    int32_t result;
    uint64_t wait;
    uint32_t i, dropped;
    tick_ms += 1;
    RUN(fusebox_registry_try_acquire, st = fusebox_registry_try_acquire(reg, id));
    RUN(fusebox_registry_record_success, st = fusebox_registry_record_success(reg, id));
    RUN(fusebox_registry_call, st = fusebox_registry_call(reg, id, op_ok, NULL, &result));
    RUN(fusebox_registry_allow_call, st = fusebox_registry_allow_call(reg, id, &allowed));
    RUN(fusebox_registry_get_state, st = fusebox_registry_get_state(reg, id, &state));
    for (i = 0; i < failures_to_open; i++) {
        tick_ms += 1;
        RUN(fusebox_registry_try_acquire, st = fusebox_registry_try_acquire(reg, id));
        RUN(fusebox_registry_record_failure, st = fusebox_registry_record_failure(reg, id));
        RUN(fusebox_registry_call, st = fusebox_registry_call(reg, id, op_fail, NULL, &result));
    }
    RUN(fusebox_registry_try_acquire, st = fusebox_registry_try_acquire(reg, id));
    tick_ms += timeout * 8 + 1;
    RUN(fusebox_registry_get_state, st = fusebox_registry_get_state(reg, id, &state));
    RUN(fusebox_registry_try_acquire, st = fusebox_registry_try_acquire(reg, id));
    RUN(fusebox_registry_record_success, st = fusebox_registry_record_success(reg, id));
    RUN(fusebox_registry_stats_get, st = fusebox_registry_stats_get(reg, id, &stats));
    EXPECT(st == FUSEBOX_OK);
    for (i = 0; i < 12; i++) {
        tick_ms += 1;
        RUN(fusebox_registry_record,
            st = fusebox_registry_record(reg, id, FUSEBOX_OUTCOME_FAILURE, 500));
        RUN(fusebox_registry_acquire_permit,
            st = fusebox_registry_acquire_permit(reg, id, &permit));
        tick_ms += 7;
        RUN(fusebox_registry_complete,
            st = fusebox_registry_complete(reg, &permit, FUSEBOX_OUTCOME_FAILURE));
        RUN(fusebox_registry_call_classified,
            st = fusebox_registry_call_classified(reg, id, op_fail, classify, NULL, &result));
        RUN(fusebox_registry_retry_after_ms, st = fusebox_registry_retry_after_ms(reg, id, &wait));
        tick_ms += timeout * 8 + 1;
    }
    RUN(fusebox_registry_force_open_for, st = fusebox_registry_force_open_for(reg, id, timeout));
    RUN(fusebox_registry_force_open_until,
        st = fusebox_registry_force_open_until(reg, id, tick_ms + timeout));
    RUN(fusebox_registry_force_half_open, st = fusebox_registry_force_half_open(reg, id));
    RUN(fusebox_registry_force_open, st = fusebox_registry_force_open(reg, id));
    RUN(fusebox_registry_disable, st = fusebox_registry_disable(reg, id));
    RUN(fusebox_registry_metrics_only, st = fusebox_registry_metrics_only(reg, id));
    RUN(fusebox_registry_reset, st = fusebox_registry_reset(reg, id));
    RUN(fusebox_registry_events_dropped, st = fusebox_registry_events_dropped(reg, &dropped));
    (void)st;
}

static void placed_registry(void) {
    fusebox_registry *reg = NULL, *again = NULL;
    fusebox_config c;
    fusebox_id id, ids2[RT_PLACED_CAP], next;
    fusebox_status st;
    char name[FUSEBOX_NAME_MAX + 1];
    size_t size = 0, align = 0, n = 0, len = 0, count = 0, written = 0;
    int which;
    uint8_t *mem;
    RUN(fusebox_registry_size, size = fusebox_registry_size(RT_PLACED_CAP));
    RUN(fusebox_registry_align, align = fusebox_registry_align());
    EXPECT(size > 0 && size <= RT_PLACED_ROOM && align > 0 && align <= 64);
    if (size == 0 || size > RT_PLACED_ROOM || align == 0 || align > 64) {
        printf("rt_probe: a placed registry of %u needs %u bytes\n", (unsigned)RT_PLACED_CAP,
               (unsigned)size);
        return;
    }
    /* A mask, not `%`: align is a power of two, and M0 has no divide. */
    mem = placed_raw + ((align - ((uintptr_t)placed_raw & (align - 1))) & (align - 1));
    /* Firmware has no processes to share a registry with. */
    RUN(fusebox_registry_place_shared,
        st = fusebox_registry_place_shared(mem, size, RT_PLACED_CAP, &reg));
    EXPECT(st == FUSEBOX_UNSUPPORTED);
    RUN(fusebox_registry_place, st = fusebox_registry_place(mem, size, RT_PLACED_CAP, &reg));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_registry_attach, st = fusebox_registry_attach(mem, size, &again));
    EXPECT(st == FUSEBOX_OK && again == reg);
    RUN(fusebox_registry_capacity, st = fusebox_registry_capacity(reg, &n));
    EXPECT(st == FUSEBOX_OK && n == RT_PLACED_CAP);
    RUN(fusebox_registry_set_listener, st = fusebox_registry_set_listener(reg, listener, NULL));
    for (which = 0; which < 3; which++) {
        if (which < 2) {
            policy_configs(&c, which);
        } else {
            fusebox_config_init(&c);
        }
        name_of(name, 5000u + (unsigned)which);
        RUN(fusebox_registry_create, st = fusebox_registry_create(reg, name, &c, &id));
        EXPECT(st == FUSEBOX_OK);
        RUN(fusebox_registry_lookup, st = fusebox_registry_lookup(reg, name, &id));
        placed_life(reg, id, c.failure_threshold * 4, c.reset_timeout_ms);
        RUN(fusebox_registry_destroy, st = fusebox_registry_destroy(reg, id));
        EXPECT(st == FUSEBOX_OK);
    }
    /* A full registry: snapshots, the walk, the names, the metrics. */
    policy_configs(&c, 0);
    for (which = 0; which < RT_PLACED_CAP; which++) {
        name_of(name, (unsigned)which);
        RUN(fusebox_registry_create, st = fusebox_registry_create(reg, name, &c, &ids2[which]));
        EXPECT(st == FUSEBOX_OK);
        RUN(fusebox_registry_record_failure,
            st = fusebox_registry_record_failure(reg, ids2[which]));
    }
    RUN(fusebox_registry_snapshot,
        st = fusebox_registry_snapshot(reg, ids2[RT_PLACED_CAP - 1], blob, sizeof blob, &len));
    EXPECT(st == FUSEBOX_OK);
    RUN(fusebox_registry_destroy, st = fusebox_registry_destroy(reg, ids2[RT_PLACED_CAP - 1]));
    name_of(name, RT_PLACED_CAP - 1);
    RUN(fusebox_registry_restore,
        st = fusebox_registry_restore(reg, name, &c, blob, len, &ids2[RT_PLACED_CAP - 1]));
    EXPECT(st == FUSEBOX_OK);
    next = 0;
    for (which = 0; which < 3; which++) {
        RUN(fusebox_registry_next, st = fusebox_registry_next(reg, next, &next));
        if (st == FUSEBOX_OK) {
            RUN(fusebox_registry_name,
                st = fusebox_registry_name(reg, next, name, sizeof name, &written));
        }
    }
    RUN(fusebox_registry_metrics_write,
        st = fusebox_registry_metrics_write(reg, text, sizeof text, &written));
    EXPECT(st == FUSEBOX_OK || st == FUSEBOX_BUFFER_TOO_SMALL);
    RUN(fusebox_registry_snapshot_all_max, st = fusebox_registry_snapshot_all_max(reg, &n));
    EXPECT(st == FUSEBOX_OK && n <= sizeof blob);
    RUN(fusebox_registry_snapshot_all,
        st = fusebox_registry_snapshot_all(reg, blob, sizeof blob, &len));
    EXPECT(st == FUSEBOX_OK);
    for (which = 0; which < RT_PLACED_CAP; which++) {
        RUN(fusebox_registry_destroy, st = fusebox_registry_destroy(reg, ids2[which]));
    }
    RUN(fusebox_registry_restore_all, st = fusebox_registry_restore_all(reg, blob, len, &count));
    EXPECT(st == FUSEBOX_OK && count == RT_PLACED_CAP);
}

int main(void) {
    fusebox_config c;
    fusebox_id id;
    int i;
    /* Unbuffered: newlib would otherwise take a 1 KiB buffer from the heap,
     * which the Cortex-M0 build with policies (16 KiB of RAM, 10 KiB of
     * them the registry) cannot spare beside the deepest stacks. */
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("rt_probe: every C API function, for the masked-instruction and stack measurements\n");
    pure_functions();
    clocks();
    /* Does this build have policies? A core build refuses a rate rule. */
    fusebox_config_init(&c);
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    RUN(fusebox_create, policies = fusebox_create("probe-policies", &c, &id) == FUSEBOX_OK);
    if (policies) {
        RUN(fusebox_destroy, fusebox_destroy(id));
    }
    one_breaker_each_way();
    operations();
    full_registry();
    placed_registry();
    printf("rt_probe: capacity %u, %s\n", (unsigned)capacity, policies ? "policies" : "core");
    for (i = 0; i < RT_COUNT; i++) {
        if (rt_calls[i] == 0) {
            failures++;
            printf("rt_probe: %s was never called\n", rt_names[i]);
        }
        if (RT_PAINT_BYTES) {
            printf("stack %-28s %6u%s\n", rt_names[i], (unsigned)rt_stack[i],
                   rt_overflow[i] ? " (paint area overflowed)" : "");
        }
    }
    printf("rt_probe: %s\n", failures == 0 ? "ok" : "FAILED");
    return failures == 0 ? 0 : 1;
}
