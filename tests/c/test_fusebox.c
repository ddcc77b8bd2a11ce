/*
 * C tests of fusebox's C API: every function, every status code, NULL for
 * every pointer, name lengths, stale ids, a full registry, clocks.
 * Prints "N passed, N failed" and exits non-zero on any failure.
 * Built against the host (std) static library, and with
 * -DFUSEBOX_TEST_FIRMWARE against the no_std firmware library (port-c) for
 * the emulated Cortex-M in examples-c/firmware.
 */
#include <stdio.h>
#include <string.h>

#include "fusebox.h"

static int passed, failed;

/* Room for one breaker's snapshot: this library's size is
   fusebox_snapshot_max(), FUSEBOX_SNAPSHOT_MAX at the default window
   limits (the firmware builds), at most FUSEBOX_SNAPSHOT_LARGEST (hosts,
   which CI also builds with the largest limits). */
#ifdef FUSEBOX_TEST_FIRMWARE
#define SNAP_ROOM FUSEBOX_SNAPSHOT_MAX
#else
#define SNAP_ROOM FUSEBOX_SNAPSHOT_LARGEST
#endif
/* Whether this library has the default window limits (the header's
   FUSEBOX_SNAPSHOT_MAX is their size). */
#define DEFAULT_LIMITS (fusebox_max_window_calls() == 64 && fusebox_max_buckets() == 8)
/* The most registry slots these tests handle (firmware RAM is small). */
#ifdef FUSEBOX_TEST_FIRMWARE
#define MAX_SLOTS 32
#else
#define MAX_SLOTS 4096
#endif

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

#define CHECK_STATUS(expr, want)                                               \
    do {                                                                       \
        fusebox_status got_ = (expr);                                          \
        if (got_ == (want)) {                                                  \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: %s returned %s, want %s\n", __FILE__,      \
                    __LINE__, #expr, fusebox_status_str(got_),                 \
                    fusebox_status_str(want));                                 \
        }                                                                      \
    } while (0)

static uint64_t now64;
static uint64_t clock64(void *userdata) {
    return *(uint64_t *)userdata;
}

static uint32_t now32;
static uint32_t clock32(void *userdata) {
    (void)userdata;
    return now32;
}

static int32_t op_ok(void *userdata) {
    (*(int *)userdata)++;
    return 0;
}

static int32_t op_fail(void *userdata) {
    (*(int *)userdata)++;
    return 42;
}

static fusebox_config config(uint32_t threshold, uint32_t timeout, uint32_t probes) {
    fusebox_config c;
    fusebox_config_init(&c);
    c.failure_threshold = threshold;
    c.reset_timeout_ms = timeout;
    c.half_open_max_calls = probes;
    return c;
}

static fusebox_state state_of(fusebox_id id) {
    fusebox_state s = 99;
    CHECK_STATUS(fusebox_get_state(id, &s), FUSEBOX_OK);
    return s;
}

#ifdef FUSEBOX_TEST_FIRMWARE
extern volatile uint32_t fusebox_port_enters;
extern volatile uint32_t fusebox_port_depth;

static void test_no_clock_until_set(void) {
    /* no_std: no default clock. Calls needing time say so; others work. */
    fusebox_id id;
    fusebox_state st = 99;
    bool allowed = true;
    int32_t result = 5;
    int runs = 0;
    uint64_t t = 123;
    fusebox_stats s;
    CHECK_STATUS(fusebox_now_ms(&t), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_create("no-clock", NULL, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_get_state(id, &st), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_allow_call(id, &allowed), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_NO_CLOCK);
    CHECK_STATUS(fusebox_call(id, op_ok, &runs, &result), FUSEBOX_NO_CLOCK);
    CHECK(t == 123 && st == 99 && allowed && result == 5 && runs == 0);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_port_critical_sections_balanced(void) {
    uint32_t before = fusebox_port_enters;
    fusebox_id id;
    CHECK_STATUS(fusebox_create("port", NULL, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK(fusebox_port_enters > before);
    CHECK(fusebox_port_depth == 0);
}
#else
static void test_default_clock_on_host(void) {
    /* The std build has a default monotonic clock: no set-up needed. */
    uint64_t a = 0, b = 0;
    fusebox_id id;
    CHECK_STATUS(fusebox_now_ms(&a), FUSEBOX_OK);
    CHECK_STATUS(fusebox_now_ms(&b), FUSEBOX_OK);
    CHECK(b >= a);
    CHECK_STATUS(fusebox_create("default-clock", NULL, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}
#endif

static void test_config_init_is_snakepit(void) {
    fusebox_config c;
    memset(&c, 0xAB, sizeof c);
    fusebox_config_init(&c);
    CHECK(c.failure_threshold == 5);
    CHECK(c.reset_timeout_ms == 30000);
    CHECK(c.half_open_max_calls == 1);
    fusebox_config_init(NULL); /* must not crash */
    /* The window limits chosen at build time (defaults 64 and 8). */
    CHECK(fusebox_max_window_calls() >= 1 && fusebox_max_window_calls() <= 1024);
    CHECK(fusebox_max_buckets() >= 1 && fusebox_max_buckets() <= 60);
}

static void test_null_pointers(void) {
    fusebox_config c = config(1, 10, 1);
    fusebox_id id = 0, sentinel = 12345;
    int32_t result = 7;
    int count = 0;
    CHECK_STATUS(fusebox_create("nulls", &c, &id), FUSEBOX_OK);

    CHECK_STATUS(fusebox_set_clock(NULL, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_set_clock32(NULL, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_now_ms(NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_create(NULL, &c, &sentinel), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_create("x", &c, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_lookup(NULL, &sentinel), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_lookup("nulls", NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_get_state(id, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_allow_call(id, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_call(id, NULL, &count, &result), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_call(id, op_ok, &count, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_stats_get(id, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK(sentinel == 12345);
    CHECK(result == 7);
    CHECK(count == 0); /* op never ran */
    /* Nothing was created by the refused calls. */
    CHECK_STATUS(fusebox_lookup("x", &sentinel), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_names(void) {
    char name31[32], name32[33];
    char unterminated[32];
    fusebox_id id, found, sentinel = 777;
    memset(name31, 'a', 31);
    name31[31] = '\0';
    memset(name32, 'b', 32);
    name32[32] = '\0';
    memset(unterminated, 'c', sizeof unterminated); /* no NUL in 32 bytes */

    CHECK_STATUS(fusebox_create("", NULL, &sentinel), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_create(name32, NULL, &sentinel), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_create(unterminated, NULL, &sentinel), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_lookup("", &sentinel), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_lookup(name32, &sentinel), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_lookup(unterminated, &sentinel), FUSEBOX_INVALID_NAME);
    CHECK(sentinel == 777);

    CHECK_STATUS(fusebox_create(name31, NULL, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_lookup(name31, &found), FUSEBOX_OK);
    CHECK(found == id);
    CHECK_STATUS(fusebox_create(name31, NULL, &sentinel), FUSEBOX_NAME_TAKEN);
    CHECK(sentinel == 777);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* Any bytes, not only UTF-8. */
    CHECK_STATUS(fusebox_create("\xff\xfe bytes", NULL, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_lookup("\xff\xfe bytes", &found), FUSEBOX_OK);
    CHECK(found == id);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_invalid_config(void) {
    fusebox_config c;
    fusebox_id sentinel = 555;
    c = config(0, 10, 1);
    CHECK_STATUS(fusebox_create("cfg", &c, &sentinel), FUSEBOX_INVALID_CONFIG);
    c = config(1, 0, 1);
    CHECK_STATUS(fusebox_create("cfg", &c, &sentinel), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 0);
    CHECK_STATUS(fusebox_create("cfg", &c, &sentinel), FUSEBOX_INVALID_CONFIG);
    CHECK(sentinel == 555);
    CHECK_STATUS(fusebox_lookup("cfg", &sentinel), FUSEBOX_NOT_FOUND);
    c = config(UINT32_MAX, UINT32_MAX, UINT32_MAX);
    CHECK_STATUS(fusebox_create("cfg", &c, &sentinel), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(sentinel), FUSEBOX_OK);
}

static void test_snakepit_semantics(void) {
    fusebox_config c = config(3, 1000, 2);
    fusebox_id id;
    fusebox_stats s;
    bool allowed = false;
    now64 = 10000;
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("semantics", &c, &id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);

    /* Cumulative failures: a success in between does not clear them. */
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);

    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_allow_call(id, &allowed), FUSEBOX_OK);
    CHECK(!allowed);

    /* Stats do not move the state; get_state does, lazily, at the timeout. */
    now64 += 999;
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    now64 += 1;
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.state == FUSEBOX_STATE_OPEN);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);

    /* Half-open: allow_call reserves nothing; try_acquire takes probes. */
    CHECK_STATUS(fusebox_allow_call(id, &allowed), FUSEBOX_OK);
    CHECK(allowed);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.half_open_calls == 2);
    CHECK(s.half_open_max_calls == 2);
    CHECK(s.reset_timeout_ms == 1000);

    /* A failure reopens; the window runs from it. */
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.state == FUSEBOX_STATE_OPEN);
    CHECK(s.failure_count == 4);
    CHECK(s.half_open_calls == 0);
    CHECK(s.has_last_failure && s.last_failure_ms == now64);
    now64 += 1000;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);

    /* A success closes and clears the failure count. */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.state == FUSEBOX_STATE_CLOSED);
    CHECK(s.failure_count == 0);
    CHECK(s.success_count == 2);
    CHECK(s.failure_threshold == 3);
    CHECK(s.admitted_count == 2);
    CHECK(s.rejected_count == 2);

    /* Reset keeps the success count, clears the failure time. */
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.state == FUSEBOX_STATE_CLOSED && s.failure_count == 0);
    CHECK(s.success_count == 2 && !s.has_last_failure);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_call(void) {
    fusebox_config c = config(1, 100, 1);
    fusebox_id id;
    int32_t result = -1;
    int runs = 0;
    now64 = 500;
    CHECK_STATUS(fusebox_create("call", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_call(id, op_ok, &runs, &result), FUSEBOX_OK);
    CHECK(result == 0 && runs == 1);
    CHECK_STATUS(fusebox_call(id, op_fail, &runs, &result), FUSEBOX_OK);
    CHECK(result == 42 && runs == 2);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    result = -1;
    CHECK_STATUS(fusebox_call(id, op_ok, &runs, &result), FUSEBOX_CIRCUIT_OPEN);
    CHECK(result == -1 && runs == 2); /* not run, not written */
    now64 += 100;
    CHECK_STATUS(fusebox_call(id, op_ok, &runs, &result), FUSEBOX_OK);
    CHECK(runs == 3 && state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_stale_and_forged_ids(void) {
    fusebox_id old, fresh;
    fusebox_state st = 99;
    fusebox_stats s;
    bool allowed = true;
    int32_t result = 5;
    int runs = 0;
    CHECK_STATUS(fusebox_create("stale", NULL, &old), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(old), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("fresh", NULL, &fresh), FUSEBOX_OK);
    CHECK(fresh != old);
    CHECK_STATUS(fusebox_destroy(old), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_get_state(old, &st), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_allow_call(old, &allowed), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_try_acquire(old), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_record_success(old), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_record_failure(old), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_reset(old), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_stats_get(old, &s), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_call(old, op_ok, &runs, &result), FUSEBOX_NOT_FOUND);
    CHECK(st == 99 && allowed && result == 5 && runs == 0);
    /* The fresh breaker was not touched by any of that. */
    CHECK_STATUS(fusebox_stats_get(fresh, &s), FUSEBOX_OK);
    CHECK(s.failure_count == 0 && s.success_count == 0 && s.admitted_count == 0);
    CHECK_STATUS(fusebox_get_state(0, &st), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_get_state(UINT32_MAX, &st), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_get_state(fresh + 1, &st), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_destroy(fresh), FUSEBOX_OK);
}

static void test_registry_full_then_recreate(void) {
    size_t cap = fusebox_capacity();
    fusebox_id ids[MAX_SLOTS];
    fusebox_id sentinel = 31337, again;
    char name[16];
    size_t i;
    CHECK(cap >= 1 && cap <= MAX_SLOTS);
    if (cap > MAX_SLOTS) {
        return;
    }
    for (i = 0; i < cap; i++) {
        snprintf(name, sizeof name, "slot-%u", (unsigned)i);
        CHECK_STATUS(fusebox_create(name, NULL, &ids[i]), FUSEBOX_OK);
        CHECK_STATUS(fusebox_record_failure(ids[i]), FUSEBOX_OK);
    }
    CHECK_STATUS(fusebox_create("one-too-many", NULL, &sentinel), FUSEBOX_REGISTRY_FULL);
    CHECK(sentinel == 31337);
    /* Nothing was lost. */
    for (i = 0; i < cap; i++) {
        fusebox_id found;
        fusebox_stats s;
        snprintf(name, sizeof name, "slot-%u", (unsigned)i);
        CHECK_STATUS(fusebox_lookup(name, &found), FUSEBOX_OK);
        CHECK(found == ids[i]);
        CHECK_STATUS(fusebox_stats_get(found, &s), FUSEBOX_OK);
        CHECK(s.failure_count == 1);
    }
    /* Destroy one, create again: the slot is reused with a new id. */
    CHECK_STATUS(fusebox_destroy(ids[0]), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("one-too-many", NULL, &again), FUSEBOX_OK);
    CHECK(again != ids[0]);
    CHECK_STATUS(fusebox_try_acquire(ids[0]), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_destroy(again), FUSEBOX_OK);
    for (i = 1; i < cap; i++) {
        CHECK_STATUS(fusebox_destroy(ids[i]), FUSEBOX_OK);
    }
}

static void test_clock32_wraps(void) {
    fusebox_config c = config(1, 1000, 1);
    fusebox_id id;
    uint64_t t0 = 0, t1 = 0;
    now32 = UINT32_MAX - 499; /* 500 ms before the wrap */
    CHECK_STATUS(fusebox_set_clock32(clock32, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_now_ms(&t0), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("wrap", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now32 += 999; /* wraps: 999 ms later */
    CHECK_STATUS(fusebox_now_ms(&t1), FUSEBOX_OK);
    CHECK(t1 - t0 == 999);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    now32 += 1;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
}

static void test_clock_backwards(void) {
    fusebox_config c = config(1, 1000, 1);
    fusebox_id id;
    now64 = 1000000;
    CHECK_STATUS(fusebox_create("backwards", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 = 5; /* an hour... and more, backwards */
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    now64 = 1004;
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    now64 = 1005;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    now64 = UINT64_MAX;
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static void test_snapshot_restore(void) {
    fusebox_config c = config(2, 1000, 1);
    fusebox_id id, back, sentinel = 4242;
    uint8_t blob[SNAP_ROOM], small[SNAP_ROOM];
    size_t len = 0, count = 0;
    fusebox_stats s;
    fusebox_state st;
    now64 = 50000;
    CHECK_STATUS(fusebox_create("persisted", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 += 400; /* 600 ms left */
    CHECK_STATUS(fusebox_snapshot(id, NULL, sizeof blob, &len), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_snapshot(id, blob, sizeof blob, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_snapshot(id, small, fusebox_snapshot_max() - 1, &len), FUSEBOX_BUFFER_TOO_SMALL);
    CHECK(len == 0);
    CHECK_STATUS(fusebox_snapshot(id + 1, blob, sizeof blob, &len), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_snapshot(id, blob, sizeof blob, &len), FUSEBOX_OK);
    CHECK(len == fusebox_snapshot_max());
    CHECK(!DEFAULT_LIMITS || len == FUSEBOX_SNAPSHOT_MAX);

    /* "Reboot": the breaker is gone and the clock restarts near 0. */
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    now64 = 10;
    CHECK_STATUS(fusebox_restore(NULL, &c, blob, len, &back), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore("persisted", &c, NULL, len, &back), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore("persisted", &c, blob, len, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore("persisted", NULL, blob, len, &sentinel), FUSEBOX_CONFIG_MISMATCH);
    CHECK_STATUS(fusebox_restore("persisted", &c, blob, len - 1, &sentinel), FUSEBOX_BAD_SNAPSHOT);
    blob[30] ^= 0x40;
    CHECK_STATUS(fusebox_restore("persisted", &c, blob, len, &sentinel), FUSEBOX_BAD_SNAPSHOT);
    blob[30] ^= 0x40;
    blob[4] ^= 0x01;
    CHECK_STATUS(fusebox_restore("persisted", &c, blob, len, &sentinel), FUSEBOX_SNAPSHOT_VERSION_MISMATCH);
    blob[4] ^= 0x01;
    CHECK(sentinel == 4242);
    CHECK_STATUS(fusebox_lookup("persisted", &sentinel), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_restore("persisted", &c, blob, len, &back), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(back, &s), FUSEBOX_OK);
    CHECK(s.state == FUSEBOX_STATE_OPEN && s.failure_count == 2);
    now64 = 10 + 599;
    CHECK_STATUS(fusebox_get_state(back, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_OPEN);
    now64 = 10 + 600;
    CHECK_STATUS(fusebox_get_state(back, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_HALF_OPEN);

    /* The whole registry, all or nothing. */
    {
        /* Room for the few breakers alive here (a full registry's blob
           would not fit beside the registry in 16 KiB of M0 RAM). */
        static uint8_t all[12 + 2 * (32 + SNAP_ROOM)];
        size_t max = fusebox_snapshot_all_max();
        CHECK(max == 12 + fusebox_capacity() * (32 + fusebox_snapshot_max()));
        CHECK_STATUS(fusebox_snapshot_all(NULL, sizeof all, &len), FUSEBOX_NULL_PARAMETER);
        CHECK_STATUS(fusebox_snapshot_all(all, sizeof all, NULL), FUSEBOX_NULL_PARAMETER);
        CHECK_STATUS(fusebox_snapshot_all(all, 11, &len), FUSEBOX_BUFFER_TOO_SMALL);
        CHECK_STATUS(fusebox_snapshot_all(all, sizeof all, &len), FUSEBOX_OK);
        CHECK(len == 12 + 32 + fusebox_snapshot_max());
        CHECK_STATUS(fusebox_restore_all(NULL, len, &count), FUSEBOX_NULL_PARAMETER);
        CHECK_STATUS(fusebox_restore_all(all, len, NULL), FUSEBOX_NULL_PARAMETER);
        CHECK_STATUS(fusebox_restore_all(all, len, &count), FUSEBOX_NAME_TAKEN);
        CHECK_STATUS(fusebox_destroy(back), FUSEBOX_OK);
        CHECK_STATUS(fusebox_restore_all(all, len - 1, &count), FUSEBOX_BAD_SNAPSHOT);
        CHECK(count == 0);
        CHECK_STATUS(fusebox_restore_all(all, len, &count), FUSEBOX_OK);
        CHECK(count == 1);
        CHECK_STATUS(fusebox_lookup("persisted", &back), FUSEBOX_OK);
        CHECK_STATUS(fusebox_destroy(back), FUSEBOX_OK);
    }
}

/* A setter called from inside the clock would wait for itself (the read
 * in progress is its own caller's): it returns FUSEBOX_BUSY and keeps the
 * clock. Host and firmware alike (on firmware, any read in progress). */
static fusebox_status inner_set, inner_set32;
static uint64_t clock_that_sets_clocks(void *userdata) {
    inner_set = fusebox_set_clock(clock64, &now64);
    inner_set32 = fusebox_set_clock32(clock32, NULL);
    return *(uint64_t *)userdata;
}

static void test_setting_the_clock_from_inside_the_clock_is_busy(void) {
    uint64_t t = 0;
    now64 = 4242;
    CHECK_STATUS(fusebox_set_clock(clock_that_sets_clocks, &now64), FUSEBOX_OK);
    inner_set = inner_set32 = 99;
    CHECK_STATUS(fusebox_now_ms(&t), FUSEBOX_OK);
    CHECK(t == 4242);
    CHECK_STATUS(inner_set, FUSEBOX_BUSY);
    CHECK_STATUS(inner_set32, FUSEBOX_BUSY);
    /* Kept: the next read still goes through it. */
    inner_set = 99;
    CHECK_STATUS(fusebox_now_ms(&t), FUSEBOX_OK);
    CHECK_STATUS(inner_set, FUSEBOX_BUSY);
    /* Outside any clock call, setting works. */
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    inner_set = 99;
    CHECK_STATUS(fusebox_now_ms(&t), FUSEBOX_OK);
    CHECK(inner_set == 99);
}

static void test_strings(void) {
    fusebox_status s;
    for (s = FUSEBOX_OK; s <= FUSEBOX_CONFIG_MISMATCH; s++) {
        const char *str = fusebox_status_str(s);
        CHECK(str != NULL && strlen(str) > 0 && strcmp(str, "unknown status") != 0);
    }
    CHECK(strcmp(fusebox_status_str(FUSEBOX_OK), "ok") == 0);
    CHECK(strcmp(fusebox_status_str(1000), "unknown status") == 0);
    CHECK(strcmp(fusebox_status_str(UINT32_MAX), "unknown status") == 0);
    /* The library linked is the header's version. */
    CHECK(fusebox_version() == FUSEBOX_VERSION);
    CHECK(FUSEBOX_VERSION == (FUSEBOX_VERSION_MAJOR << 16 | FUSEBOX_VERSION_MINOR << 8 |
                              FUSEBOX_VERSION_PATCH));
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_CLOSED), "closed") == 0);
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_OPEN), "open") == 0);
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_HALF_OPEN), "half_open") == 0);
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_FORCED_OPEN), "forced_open") == 0);
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_DISABLED), "disabled") == 0);
    CHECK(strcmp(fusebox_state_str(FUSEBOX_STATE_METRICS_ONLY), "metrics_only") == 0);
    CHECK(strcmp(fusebox_state_str(6), "unknown state") == 0);
    CHECK(strcmp(fusebox_status_str(FUSEBOX_UNSUPPORTED), "unsupported") == 0);
    CHECK(strcmp(fusebox_status_str(FUSEBOX_STALE_PERMIT), "stale permit") == 0);
}

/* ---- Policies (feature `policies`). The Makefile says which library it
 * links: FUSEBOX_EXPECT_POLICIES 1 (host, firmware-policies) or 0 (the
 * Snakepit-only firmware core), and the tests check that build's answers. */
#ifndef FUSEBOX_EXPECT_POLICIES
#define FUSEBOX_EXPECT_POLICIES 1
#endif

#if FUSEBOX_EXPECT_POLICIES
#define MAX_EVENTS 64
static fusebox_event events[MAX_EVENTS];
static int n_events;
static void on_event(const fusebox_event *ev, void *userdata) {
    CHECK(userdata == (void *)&n_events);
    if (n_events < MAX_EVENTS) {
        events[n_events++] = *ev;
    }
}

static int32_t op_slow(void *userdata) {
    now64 += *(uint64_t *)userdata;
    return 0;
}

static fusebox_outcome classify_404(int32_t result, void *userdata) {
    (void)userdata;
    if (result == 0) {
        return FUSEBOX_OUTCOME_SUCCESS;
    }
    return result == 404 ? FUSEBOX_OUTCOME_IGNORED : FUSEBOX_OUTCOME_FAILURE;
}

static int32_t op_404(void *userdata) {
    (void)userdata;
    return 404;
}

static void test_policy_config(void) {
    fusebox_config c;
    fusebox_id id;
    fusebox_config_init(&c);
    CHECK(c.trip_rule == FUSEBOX_TRIP_CUMULATIVE && c.window_kind == FUSEBOX_WINDOW_COUNT);
    CHECK(c.window_size == 64 && c.minimum_calls == 10 && c.failure_rate_percent == 50);
    CHECK(c.slow_call_ms == 0 && c.slow_call_rate_percent == 100);
    CHECK(c.half_open_success_threshold == 1 && c.half_open_max_wait_ms == 0);
    CHECK(c.backoff_percent == 100 && c.max_open_ms == 0 && c.jitter_percent == 0);
    CHECK(c.half_open_judge == FUSEBOX_JUDGE_FIRST_FAILURE);
    c = config(1, 10, 1);
    c.half_open_judge = 2; /* no such code */
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 2);
    c.half_open_judge = FUSEBOX_JUDGE_RATE;
    c.half_open_success_threshold = 2; /* the rate judge closes by rate */
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.trip_rule = 3;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.window_kind = 2;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.half_open_wait_action = 9;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.window_size = fusebox_max_window_calls() + 1;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c.window_size = fusebox_max_window_calls();
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    c = config(1, 10, 1);
    c.window_kind = FUSEBOX_WINDOW_TIME;
    c.window_size = fusebox_max_buckets() + 1;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c.window_size = fusebox_max_buckets();
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    c = config(1, 10, 1);
    c.half_open_success_threshold = 2; /* > half_open_max_calls */
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.backoff_percent = 50;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.max_open_ms = 5; /* below reset_timeout_ms */
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
    c = config(1, 10, 1);
    c.jitter_percent = 101;
    CHECK_STATUS(fusebox_create("p", &c, &id), FUSEBOX_INVALID_CONFIG);
}

static void test_policy_rules(void) {
    fusebox_config c = config(2, 100, 1);
    fusebox_id id;
    fusebox_stats s;
    int i;
    now64 = 1000;
    /* Consecutive: a success clears the count. */
    c.trip_rule = FUSEBOX_TRIP_CONSECUTIVE;
    CHECK_STATUS(fusebox_create("consecutive", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* Failure rate over the last 4 calls, judged from 4 calls, at 50%. */
    c = config(1, 100, 1);
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c.window_size = 4;
    c.minimum_calls = 4;
    c.failure_rate_percent = 50;
    CHECK_STATUS(fusebox_create("rate", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    for (i = 0; i < 2; i++) {
        CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    }
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 3 && s.window_failures == 1);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK); /* 2 of 4 */
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* Slow calls: through fusebox_record's duration and fusebox_call. */
    c = config(5, 100, 1);
    c.slow_call_ms = 50;
    c.slow_call_rate_percent = 100;
    c.window_size = 2;
    c.minimum_calls = 2;
    CHECK_STATUS(fusebox_create("slow", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 51), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(id, 7, 0), FUSEBOX_INVALID_CONFIG);
    {
        uint64_t took = 60;
        int32_t result = -1;
        CHECK_STATUS(fusebox_call(id, op_slow, &took, &result), FUSEBOX_OK);
        CHECK(result == 0 && now64 == 1060);
    }
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.slow_count == 2 && s.window_slow == 2);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* Two successful probes close; backoff doubles the open duration. */
    c = config(1, 100, 2);
    c.half_open_success_threshold = 2;
    c.backoff_percent = 200;
    c.max_open_ms = 300;
    CHECK_STATUS(fusebox_create("probes", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 += 100;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.open_duration_ms == 200);
    {
        uint64_t wait = 0;
        CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
        CHECK(wait == 200);
        CHECK_STATUS(fusebox_retry_after_ms(id, NULL), FUSEBOX_NULL_PARAMETER);
    }
    now64 += 200;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.open_duration_ms == 100 && s.transitions == 5);
    CHECK(s.time_open_ms == 300 && s.time_half_open_ms == 0);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* Stats read later (the app's clock moved on, no new call) show a time
 * window without its expired buckets; a count window does not age. */
static void test_stats_age_with_the_clock(void) {
    fusebox_config c = config(1, 100, 1);
    fusebox_id timed, counted;
    fusebox_stats s;
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c.minimum_calls = 1000; /* never judged: the window is only watched */
    c.slow_call_ms = 100;
    c.slow_call_rate_percent = 100;
    c.window_kind = FUSEBOX_WINDOW_TIME;
    c.window_size = 2;
    c.bucket_ms = 1000;
    CHECK_STATUS(fusebox_create("aging-time", &c, &timed), FUSEBOX_OK);
    c.window_kind = FUSEBOX_WINDOW_COUNT;
    CHECK_STATUS(fusebox_create("aging-count", &c, &counted), FUSEBOX_OK);
    now64 = 10000; /* the time window starts here: [10000, 11000), ... */
    CHECK_STATUS(fusebox_record(timed, FUSEBOX_OUTCOME_FAILURE, 500), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(counted, FUSEBOX_OUTCOME_FAILURE, 500), FUSEBOX_OK);
    now64 = 11500;
    CHECK_STATUS(fusebox_record(timed, FUSEBOX_OUTCOME_SUCCESS, 0), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(counted, FUSEBOX_OUTCOME_SUCCESS, 0), FUSEBOX_OK);
    CHECK_STATUS(fusebox_stats_get(timed, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 2 && s.window_failures == 1 && s.window_slow == 1);
    now64 = 11999;
    CHECK_STATUS(fusebox_stats_get(timed, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 2 && s.window_failures == 1);
    now64 = 12000; /* [10000, 11000) has expired */
    CHECK_STATUS(fusebox_stats_get(timed, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 1 && s.window_failures == 0 && s.window_slow == 0);
    CHECK(s.state == FUSEBOX_STATE_CLOSED && s.slow_count == 1);
#ifndef FUSEBOX_TEST_FIRMWARE
    {
        static char text[8192];
        size_t written = 0;
        CHECK_STATUS(fusebox_metrics_write(text, sizeof text, &written), FUSEBOX_OK);
        CHECK(strstr(text, "fusebox_window_calls{name=\"aging-time\"} 1\n") != NULL);
        CHECK(strstr(text, "fusebox_failure_rate{name=\"aging-time\"} 0\n") != NULL);
        CHECK(strstr(text, "fusebox_failure_rate{name=\"aging-count\"} 0.5\n") != NULL);
    }
#endif
    now64 = 13000; /* the whole window */
    CHECK_STATUS(fusebox_stats_get(timed, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 0);
    now64 = 10500; /* the clock went back: nothing expired */
    CHECK_STATUS(fusebox_stats_get(timed, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 2 && s.window_failures == 1);
    now64 = 1000000;
    CHECK_STATUS(fusebox_stats_get(counted, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 2 && s.window_failures == 1 && s.window_slow == 1);
    CHECK_STATUS(fusebox_destroy(timed), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(counted), FUSEBOX_OK);
}

static void test_permits_and_classified_calls(void) {
    fusebox_config c = config(1, 100, 1);
    fusebox_id id;
    fusebox_permit p, early, forged;
    fusebox_stats s;
    int32_t result = -1;
    now64 = 5000;
    CHECK_STATUS(fusebox_create("permits", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_acquire_permit(id, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_acquire_permit(id, &early), FUSEBOX_OK);
    CHECK(early.id == id && early.state == FUSEBOX_STATE_CLOSED && early.start_ms == 5000);
    CHECK_STATUS(fusebox_acquire_permit(id, &p), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p, FUSEBOX_OUTCOME_FAILURE), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    /* The first call's late success must not touch the open breaker. */
    CHECK_STATUS(fusebox_complete(&early, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_STALE_PERMIT);
    CHECK_STATUS(fusebox_complete(NULL, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_complete(&early, 3), FUSEBOX_INVALID_CONFIG);
    forged = early;
    forged.id = 0;
    CHECK_STATUS(fusebox_complete(&forged, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_NOT_FOUND);
    forged = early;
    forged.state = 9; /* no such state */
    CHECK_STATUS(fusebox_complete(&forged, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_INVALID_CONFIG);
    CHECK_STATUS(fusebox_acquire_permit(id, &p), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.stale_count == 1 && s.success_count == 0);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);

    /* A classifier: 404 is ignored, neither success nor failure. */
    CHECK_STATUS(fusebox_call_classified(id, op_404, classify_404, NULL, &result), FUSEBOX_OK);
    CHECK(result == 404 && state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_call_classified(id, NULL, classify_404, NULL, &result),
                 FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_call_classified(id, op_404, NULL, NULL, &result), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_call_classified(id, op_404, classify_404, NULL, NULL),
                 FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.ignored_count == 1 && s.failure_count == 0);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&early, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_acquire_permit(id, &p), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_call_classified(id, op_404, classify_404, NULL, &result),
                 FUSEBOX_NOT_FOUND);
}

static void test_manual_control_and_events(void) {
    fusebox_config c = config(1, 100, 1);
    fusebox_id id;
    uint64_t wait = 0;
    uint32_t dropped = 9;
    uint8_t buf[SNAP_ROOM];
    size_t len = 0;
    now64 = 9000;
    n_events = 0;
    CHECK_STATUS(fusebox_set_listener(on_event, &n_events), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("manual", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_FORCED_OPEN);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == FUSEBOX_RETRY_NEVER);
    /* A manual state is carried by snapshots (format version 2). */
    CHECK_STATUS(fusebox_snapshot(id, buf, sizeof buf, &len), FUSEBOX_OK);
    CHECK(len == fusebox_snapshot_max());
    now64 += 5;
    CHECK_STATUS(fusebox_disable(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_DISABLED);
    CHECK_STATUS(fusebox_metrics_only(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_METRICS_ONLY);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 += 100;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_OK); /* not delivered */
    CHECK(n_events == 6);
    if (n_events == 6) {
        static const uint32_t want[6][3] = {
            {FUSEBOX_STATE_CLOSED, FUSEBOX_STATE_FORCED_OPEN, FUSEBOX_REASON_MANUAL},
            {FUSEBOX_STATE_FORCED_OPEN, FUSEBOX_STATE_DISABLED, FUSEBOX_REASON_MANUAL},
            {FUSEBOX_STATE_DISABLED, FUSEBOX_STATE_METRICS_ONLY, FUSEBOX_REASON_MANUAL},
            {FUSEBOX_STATE_METRICS_ONLY, FUSEBOX_STATE_CLOSED, FUSEBOX_REASON_MANUAL},
            {FUSEBOX_STATE_CLOSED, FUSEBOX_STATE_OPEN, FUSEBOX_REASON_FAILURE_THRESHOLD},
            {FUSEBOX_STATE_OPEN, FUSEBOX_STATE_HALF_OPEN, FUSEBOX_REASON_TIMEOUT},
        };
        int i;
        /* The clock reading of the operation behind each change; the
           reset, which reads none, the start of the state it ended. */
        static const uint64_t at[6] = {9000, 9005, 9005, 9005, 9005, 9105};
        for (i = 0; i < 6; i++) {
            CHECK(events[i].id == id);
            CHECK(events[i].now_ms == at[i]);
            CHECK(events[i].from == want[i][0] && events[i].to == want[i][1]);
            CHECK(events[i].reason == want[i][2]);
            CHECK(i == 0 || events[i].seq == events[i - 1].seq + 1);
        }
    }
    CHECK_STATUS(fusebox_events_dropped(&dropped), FUSEBOX_OK);
    CHECK(dropped == 0);
    CHECK_STATUS(fusebox_events_dropped(NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_disable(id), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_metrics_only(id), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 0), FUSEBOX_NOT_FOUND);
}

/* fusebox_set_listener from inside the listener would wait for itself:
 * FUSEBOX_BUSY, the listener kept. Setting the clock from the listener is
 * fine (no clock read is in progress there). */
static fusebox_status inner_listener_set, inner_clock_set;
static int other_calls;
static void other_listener(const fusebox_event *ev, void *userdata) {
    (void)ev;
    (*(int *)userdata)++;
}
static void listener_that_sets_listeners(const fusebox_event *ev, void *userdata) {
    (void)ev;
    (*(int *)userdata)++;
    inner_listener_set = fusebox_set_listener(other_listener, &other_calls);
    inner_clock_set = fusebox_set_clock(clock64, &now64);
}

static void test_setting_the_listener_from_inside_the_listener_is_busy(void) {
    fusebox_config c = config(1, 100, 1);
    fusebox_id id;
    int calls = 0;
    other_calls = 0;
    inner_listener_set = inner_clock_set = 99;
    CHECK_STATUS(fusebox_set_listener(listener_that_sets_listeners, &calls), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("inside", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_OK);
    CHECK(calls == 1);
    CHECK_STATUS(inner_listener_set, FUSEBOX_BUSY);
    CHECK_STATUS(inner_clock_set, FUSEBOX_OK);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK(calls == 2 && other_calls == 0); /* kept */
    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* The last event received, as (from, to, reason); 99s when none. */
static void last_event(uint32_t *from, uint32_t *to, uint32_t *reason) {
    *from = *to = *reason = 99;
    if (n_events > 0) {
        *from = events[n_events - 1].from;
        *to = events[n_events - 1].to;
        *reason = events[n_events - 1].reason;
    }
}

#define CHECK_LAST_EVENT(f, t, r)                                              \
    do {                                                                       \
        uint32_t f_, t_, r_;                                                   \
        last_event(&f_, &t_, &r_);                                             \
        CHECK(f_ == (f) && t_ == (t) && r_ == (r));                            \
    } while (0)

/* Issue 15 item 1: a count window caps minimum_calls at its size, for the
 * failure-rate and the slow-call-rate rules; a time window does not. */
static void test_minimum_calls_capped_at_the_count_window(void) {
    fusebox_config c = config(100, 1000, 1);
    fusebox_id id;
    fusebox_stats s;
    int i;
    now64 = 1000;
    /* Failure rate, window of 2, the default minimum of 10. */
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c.window_size = 2;
    CHECK(c.minimum_calls == 10);
    CHECK_STATUS(fusebox_create("min-rate", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED); /* 1 call: too few */
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN); /* 2 of 2: judged */
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    /* Below the rate at the cap: 1 failure of 2 at 60% stays closed. */
    c.failure_rate_percent = 60;
    CHECK_STATUS(fusebox_create("min-rate", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    /* Slow-call rate, window of 3, minimum 10 (under the cumulative rule). */
    c = config(100, 1000, 1);
    c.slow_call_ms = 50;
    c.slow_call_rate_percent = 100;
    c.window_size = 3;
    CHECK_STATUS(fusebox_create("min-slow", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 51), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 51), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 51), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.window_calls == 3 && s.window_slow == 3);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    /* A time window takes the minimum as given: 5 failures of 5 under a
     * minimum of 10 do not trip. */
    c = config(100, 1000, 1);
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c.window_kind = FUSEBOX_WINDOW_TIME;
    c.window_size = 2;
    CHECK_STATUS(fusebox_create("min-time", &c, &id), FUSEBOX_OK);
    for (i = 0; i < 5; i++) {
        CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    }
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

static uint32_t window_calls_of(fusebox_id id) {
    fusebox_stats s;
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    return s.window_calls;
}

/* Issue 15 item 2: a time window's buckets count from the window's start
 * (its first call after creation or a reset; the close), not from
 * multiples of bucket_ms on the clock. */
static void test_time_windows_start_with_the_window(void) {
    fusebox_config c = config(1, 1000, 1);
    fusebox_id id;
    /* One bucket of 1000 ms, a rate rule that never trips here. */
    c.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    c.window_kind = FUSEBOX_WINDOW_TIME;
    c.window_size = 1;
    c.bucket_ms = 1000;
    c.minimum_calls = 1000;
    now64 = 12300;
    CHECK_STATUS(fusebox_create("anchored", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK); /* the start: 12300 */
    now64 = 13000; /* a multiple of bucket_ms: no roll-over here */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 2);
    now64 = 13299; /* the last ms of the first bucket */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 3);
    now64 = 13300; /* the bucket's end: it rolls over */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 1);
    now64 = 15299; /* buckets go on every 1000 ms, calls or not */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 1);
    now64 = 15300;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 1);
    now64 = 16299;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 2);
    /* After a reset: the next call starts it (here at 20700). */
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 0);
    now64 = 20700;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    now64 = 21699;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 2);
    now64 = 21700;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 1);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* A close starts the window at the close, not at the next call. */
    c.minimum_calls = 1;
    c.failure_rate_percent = 100;
    now64 = 40000;
    CHECK_STATUS(fusebox_create("anchored-close", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    now64 = 50700;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK); /* the probe */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED); /* closed at 50700 */
    now64 = 51200;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    now64 = 51699;
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 2);
    now64 = 51700; /* 1000 ms after the close, 500 after the first call */
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(window_calls_of(id) == 1);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* Issue 15 item 4: FUSEBOX_WAIT_REOPEN_ALWAYS reopens a half-open breaker
 * after half_open_max_wait_ms whatever its probes. */
static void test_wait_reopen_always(void) {
    fusebox_config c = config(1, 1000, 2);
    fusebox_id id;
    uint64_t wait = 0;
    c.half_open_max_wait_ms = 500;
    c.half_open_wait_action = FUSEBOX_WAIT_REOPEN_ALWAYS;
    c.half_open_success_threshold = 2;
    now64 = 0;
    n_events = 0;
    CHECK_STATUS(fusebox_set_listener(on_event, &n_events), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("reopen-always", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    /* No probe at all. */
    now64 = 1000;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    now64 = 1499;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    now64 = 1500;
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_HALF_OPEN, FUSEBOX_STATE_OPEN, FUSEBOX_REASON_PROBE_TIMEOUT);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 1000);
    /* Every probe reported, too few successes (1 of 2). */
    now64 = 2500;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    now64 = 2999;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    now64 = 3000;
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    /* Both probes out: retry-after is the rest of the wait plus the
     * reopen's open duration. */
    now64 = 4000;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    now64 = 4100;
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 400 + 1000);
    /* No call until much later: the reopen happened at 4500 and its open
     * window ended at 5500, so this call is a probe. */
    now64 = 9000;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* Issue 15 item 3: FUSEBOX_JUDGE_RATE judges the round of probes by rate. */
static void test_probes_judged_by_rate(void) {
    fusebox_config c = config(1, 1000, 4);
    fusebox_id id;
    fusebox_permit p[4];
    fusebox_stats s;
    int i;
    c.half_open_judge = FUSEBOX_JUDGE_RATE;
    c.failure_rate_percent = 50;
    now64 = 0;
    n_events = 0;
    CHECK_STATUS(fusebox_set_listener(on_event, &n_events), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("judge-rate", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 = 1000;
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(fusebox_acquire_permit(id, &p[i]), FUSEBOX_OK);
        CHECK(p[i].state == FUSEBOX_STATE_HALF_OPEN);
    }
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    /* A failed probe does not reopen: the round is not complete. */
    CHECK_STATUS(fusebox_complete(&p[0], FUSEBOX_OUTCOME_FAILURE), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p[1], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p[2], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.half_open_successes == 2 && s.half_open_calls == 4);
    /* 1 of 4 = 25% < 50%: closed. */
    CHECK_STATUS(fusebox_complete(&p[3], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);
    CHECK_LAST_EVENT(FUSEBOX_STATE_HALF_OPEN, FUSEBOX_STATE_CLOSED,
                     FUSEBOX_REASON_PROBE_SUCCEEDED);
    /* 2 of 4 = 50%, exactly the threshold: open again. An ignored probe
     * gives its slot back and is not counted. */
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 = 2000;
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(fusebox_acquire_permit(id, &p[i]), FUSEBOX_OK);
    }
    CHECK_STATUS(fusebox_complete(&p[0], FUSEBOX_OUTCOME_IGNORED), FUSEBOX_OK);
    CHECK_STATUS(fusebox_acquire_permit(id, &p[0]), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p[0], FUSEBOX_OUTCOME_FAILURE), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p[1], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_OK);
    CHECK_STATUS(fusebox_complete(&p[2], FUSEBOX_OUTCOME_FAILURE), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_complete(&p[3], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_HALF_OPEN, FUSEBOX_STATE_OPEN, FUSEBOX_REASON_FAILURE_RATE);
    /* After the judgement the round's permits are stale. */
    CHECK_STATUS(fusebox_complete(&p[3], FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_STALE_PERMIT);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);

    /* Slow probes, judged by the slow-call rate: 1 slow of 2 at 50%. */
    c = config(1, 1000, 2);
    c.half_open_judge = FUSEBOX_JUDGE_RATE;
    c.slow_call_ms = 100;
    c.slow_call_rate_percent = 50;
    now64 = 0;
    CHECK_STATUS(fusebox_create("judge-slow", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    now64 = 1000;
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 150), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 10), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_HALF_OPEN, FUSEBOX_STATE_OPEN,
                     FUSEBOX_REASON_SLOW_CALL_RATE);
    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}

/* Issue 15 item 5: forced open for a time or until an instant, forced
 * half-open; retry-after answers the time left. */
static void test_timed_manual_control(void) {
    fusebox_config c = config(1, 1000, 1);
    fusebox_id id;
    uint64_t wait = 0, now = 0;
    now64 = 10000;
    n_events = 0;
    CHECK_STATUS(fusebox_set_listener(on_event, &n_events), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("timed", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open_for(id, 500), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_FORCED_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_CLOSED, FUSEBOX_STATE_FORCED_OPEN, FUSEBOX_REASON_MANUAL);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 500);
    now64 = 10499;
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 1);
    now64 = 10500; /* the time is up: half-open, probing */
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_FORCED_OPEN, FUSEBOX_STATE_HALF_OPEN, FUSEBOX_REASON_TIMEOUT);
    CHECK_STATUS(fusebox_record_success(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);

    /* Until an instant on the registry's clock. */
    CHECK_STATUS(fusebox_now_ms(&now), FUSEBOX_OK);
    CHECK(now == 10500);
    CHECK_STATUS(fusebox_force_open_until(id, now + 2000), FUSEBOX_OK);
    now64 = 12499;
    CHECK(state_of(id) == FUSEBOX_STATE_FORCED_OPEN);
    /* The clock goes back: never more than the 2000 ms asked for. */
    now64 = 100;
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 2000);
    now64 = 2099;
    CHECK(state_of(id) == FUSEBOX_STATE_FORCED_OPEN);
    now64 = 2100;
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    /* An instant now or past, or 0 ms: half-open when the call returns. */
    CHECK_STATUS(fusebox_force_open_until(id, 2100), FUSEBOX_OK);
    CHECK_LAST_EVENT(FUSEBOX_STATE_FORCED_OPEN, FUSEBOX_STATE_HALF_OPEN, FUSEBOX_REASON_TIMEOUT);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_force_open_until(id, 0), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_STATUS(fusebox_force_open_for(id, 0), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    /* Far ends of time: no overflow. fusebox_force_open makes it last
     * until a reset; fusebox_reset ends a timed one. */
    CHECK_STATUS(fusebox_force_open_for(id, UINT64_MAX), FUSEBOX_OK);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == UINT64_MAX);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == FUSEBOX_RETRY_NEVER);
    CHECK_STATUS(fusebox_force_open_until(id, UINT64_MAX), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_FORCED_OPEN);
    CHECK_STATUS(fusebox_reset(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_CLOSED);

    /* Forced half-open, from closed: a round of probes. */
    CHECK_STATUS(fusebox_force_half_open(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_HALF_OPEN);
    CHECK_LAST_EVENT(FUSEBOX_STATE_CLOSED, FUSEBOX_STATE_HALF_OPEN, FUSEBOX_REASON_MANUAL);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == 0);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_OK);
    CHECK(wait == FUSEBOX_RETRY_NEVER); /* no wait limit */
    CHECK_STATUS(fusebox_force_half_open(id), FUSEBOX_OK); /* a new round */
    CHECK_STATUS(fusebox_try_acquire(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(id), FUSEBOX_OK);
    CHECK(state_of(id) == FUSEBOX_STATE_OPEN);

    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_force_open_for(id, 1), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_force_open_until(id, 1), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_force_half_open(id), FUSEBOX_NOT_FOUND);
}

static void test_policies(void) {
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    test_policy_config();
    test_policy_rules();
    test_stats_age_with_the_clock();
    test_permits_and_classified_calls();
    test_manual_control_and_events();
    test_setting_the_listener_from_inside_the_listener_is_busy();
    test_minimum_calls_capped_at_the_count_window();
    test_time_windows_start_with_the_window();
    test_wait_reopen_always();
    test_probes_judged_by_rate();
    test_timed_manual_control();
}
#else
/* A build without policies refuses every policy, by status. */
static void test_policies(void) {
    fusebox_config c = config(1, 10, 1);
    fusebox_id id;
    fusebox_permit p;
    uint64_t wait = 7;
    uint32_t dropped = 7;
    int32_t result = 7;
    fusebox_stats s;
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    c.trip_rule = FUSEBOX_TRIP_CONSECUTIVE;
    CHECK_STATUS(fusebox_create("np", &c, &id), FUSEBOX_UNSUPPORTED);
    c = config(1, 10, 1);
    c.jitter_seed = 1;
    CHECK_STATUS(fusebox_create("np", &c, &id), FUSEBOX_UNSUPPORTED);
    c = config(1, 10, 1);
    c.half_open_judge = FUSEBOX_JUDGE_RATE;
    CHECK_STATUS(fusebox_create("np", &c, &id), FUSEBOX_UNSUPPORTED);
    c = config(1, 10, 1);
    CHECK_STATUS(fusebox_create("np", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_acquire_permit(id, &p), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_complete(&p, FUSEBOX_OUTCOME_SUCCESS), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_record(id, FUSEBOX_OUTCOME_SUCCESS, 0), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_call_classified(id, op_ok, (fusebox_classify_fn)0, NULL, &result),
                 FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_retry_after_ms(id, &wait), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_force_open(id), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_force_open_for(id, 10), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_force_open_until(id, 10), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_force_half_open(id), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_disable(id), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_metrics_only(id), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_set_listener(NULL, NULL), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_events_dropped(&dropped), FUSEBOX_UNSUPPORTED);
    CHECK(wait == 7 && dropped == 7 && result == 7);
    CHECK_STATUS(fusebox_stats_get(id, &s), FUSEBOX_OK);
    CHECK(s.transitions == 0 && s.open_duration_ms == 10);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
}
#endif

/* ---- Outputs only on FUSEBOX_OK: every out-parameter and buffer is filled
 * with a pattern, each function is driven into each of its error paths,
 * and the pattern must be intact afterwards. */
#define PATTERN 0xA5
#define FILL(x) memset(&(x), PATTERN, sizeof(x))
#define UNTOUCHED(x) untouched(&(x), sizeof(x))

static int untouched(const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) {
        if (b[i] != PATTERN) {
            return 0;
        }
    }
    return 1;
}

/* CRC-32 (ISO-HDLC, as zlib's), to forge blobs with a valid CRC. */
static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void reseal(uint8_t *blob, size_t len) {
    uint32_t crc = crc32_of(blob, len - 4);
    int k;
    for (k = 0; k < 4; k++) {
        blob[len - 4 + k] = (uint8_t)(crc >> (8 * k));
    }
}

static fusebox_outcome classify_any(int32_t result, void *userdata) {
    (void)userdata;
    return result == 0 ? FUSEBOX_OUTCOME_SUCCESS : FUSEBOX_OUTCOME_FAILURE;
}

/* Room for the two breakers of these tests' registry blobs (a full
   registry's would not fit beside the registry in 16 KiB of M0 RAM). */
static uint8_t out_buf[12 + 2 * (32 + SNAP_ROOM) + 1];
static uint8_t all_blob[12 + 2 * (32 + SNAP_ROOM) + 1];
#ifndef FUSEBOX_TEST_FIRMWARE
/* A registry blob claiming 65 535 entries (5.8 MB). */
static uint8_t huge_blob[12 + 65535u * 88];
#endif

static void test_outputs_untouched_on_error(void) {
    fusebox_config c = config(1, 100000, 1);
    fusebox_config bad_cfg = config(0, 1, 1);
    fusebox_config other = config(2, 100000, 1);
    fusebox_id id, open_id, gone, out_id, fill[MAX_SLOTS];
    fusebox_state st;
    bool allowed;
    int32_t result;
    fusebox_stats s;
    fusebox_permit permit;
    uint64_t wait;
    uint32_t dropped;
    size_t out_len, count, all_len, blob_len, n_fill = 0, i;
    uint8_t blob[SNAP_ROOM + 1];
    int runs = 0;

    now64 = 1000;
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("out-a", &c, &id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("out-open", &c, &open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("out-gone", &c, &gone), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(gone), FUSEBOX_OK);
    CHECK_STATUS(fusebox_snapshot(id, blob, sizeof blob, &blob_len), FUSEBOX_OK);
    CHECK(blob_len == fusebox_snapshot_max());
    blob[blob_len] = 0;
    CHECK_STATUS(fusebox_snapshot_all(all_blob, sizeof all_blob, &all_len), FUSEBOX_OK);
    CHECK(all_len == 12 + 2 * (32 + fusebox_snapshot_max()));
    /* The header's size is this library's at the default window limits;
       any library's fits in FUSEBOX_SNAPSHOT_LARGEST. */
    CHECK(!DEFAULT_LIMITS || fusebox_snapshot_max() == FUSEBOX_SNAPSHOT_MAX);
    CHECK(fusebox_snapshot_max() <= FUSEBOX_SNAPSHOT_LARGEST);

    /* Names and ids. */
    FILL(out_id);
    CHECK_STATUS(fusebox_create(NULL, &c, &out_id), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_create("", &c, &out_id), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_create("out-x", &bad_cfg, &out_id), FUSEBOX_INVALID_CONFIG);
    CHECK_STATUS(fusebox_create("out-a", &c, &out_id), FUSEBOX_NAME_TAKEN);
    CHECK_STATUS(fusebox_lookup(NULL, &out_id), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_lookup("", &out_id), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_lookup("out-gone", &out_id), FUSEBOX_NOT_FOUND);
    CHECK(UNTOUCHED(out_id));

    /* Reads and calls on a stale id or an open breaker. */
    FILL(st);
    FILL(allowed);
    FILL(result);
    FILL(s);
    CHECK_STATUS(fusebox_get_state(gone, &st), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_allow_call(gone, &allowed), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_stats_get(gone, &s), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_call(gone, op_ok, &runs, &result), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_call(open_id, op_ok, &runs, &result), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_call(id, NULL, &runs, &result), FUSEBOX_NULL_PARAMETER);
    CHECK(UNTOUCHED(st) && UNTOUCHED(allowed) && UNTOUCHED(result) && UNTOUCHED(s));
    CHECK(runs == 0);

    /* One breaker's snapshot: neither the buffer nor the length. */
    memset(out_buf, PATTERN, sizeof out_buf);
    FILL(out_len);
    CHECK_STATUS(fusebox_snapshot(gone, out_buf, sizeof out_buf, &out_len), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_snapshot(id, out_buf, 0, &out_len), FUSEBOX_BUFFER_TOO_SMALL);
    CHECK_STATUS(fusebox_snapshot(id, out_buf, fusebox_snapshot_max() - 1, &out_len),
                 FUSEBOX_BUFFER_TOO_SMALL);
    CHECK_STATUS(fusebox_snapshot(id, NULL, sizeof out_buf, &out_len), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_snapshot(id, out_buf, sizeof out_buf, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK(untouched(out_buf, sizeof out_buf) && UNTOUCHED(out_len));

    /* The whole registry: every length short of the blob, and NULLs. */
    for (i = 0; i < all_len; i++) {
        CHECK_STATUS(fusebox_snapshot_all(out_buf, i, &out_len), FUSEBOX_BUFFER_TOO_SMALL);
    }
    CHECK_STATUS(fusebox_snapshot_all(NULL, sizeof out_buf, &out_len), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_snapshot_all(out_buf, sizeof out_buf, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK(untouched(out_buf, sizeof out_buf) && UNTOUCHED(out_len));
#if FUSEBOX_EXPECT_POLICIES
    /* A manual state, last in the blob: carried. */
    CHECK_STATUS(fusebox_force_open(open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_snapshot(open_id, out_buf, sizeof out_buf, &out_len), FUSEBOX_OK);
    CHECK(out_len == fusebox_snapshot_max());
    memset(out_buf, PATTERN, sizeof out_buf);
    FILL(out_len);
    CHECK_STATUS(fusebox_reset(open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(open_id), FUSEBOX_OK);
#endif

    /* Restoring one breaker: every refusal, `*out_id` untouched. */
    CHECK_STATUS(fusebox_restore(NULL, &c, blob, blob_len, &out_id), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore("out-r", &c, NULL, blob_len, &out_id), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore("", &c, blob, blob_len, &out_id), FUSEBOX_INVALID_NAME);
    CHECK_STATUS(fusebox_restore("out-r", &bad_cfg, blob, blob_len, &out_id),
                 FUSEBOX_INVALID_CONFIG);
    CHECK_STATUS(fusebox_restore("out-r", &other, blob, blob_len, &out_id),
                 FUSEBOX_CONFIG_MISMATCH);
    CHECK_STATUS(fusebox_restore("out-r", &c, blob, blob_len - 1, &out_id),
                 FUSEBOX_BAD_SNAPSHOT);
    /* A trailing byte: refused. */
    CHECK_STATUS(fusebox_restore("out-r", &c, blob, blob_len + 1, &out_id),
                 FUSEBOX_BAD_SNAPSHOT);
    blob[30] ^= 1;
    CHECK_STATUS(fusebox_restore("out-r", &c, blob, blob_len, &out_id), FUSEBOX_BAD_SNAPSHOT);
    blob[30] ^= 1;
    blob[4] ^= 1;
    CHECK_STATUS(fusebox_restore("out-r", &c, blob, blob_len, &out_id),
                 FUSEBOX_SNAPSHOT_VERSION_MISMATCH);
    blob[4] ^= 1;
    CHECK_STATUS(fusebox_restore("out-a", &c, blob, blob_len, &out_id), FUSEBOX_NAME_TAKEN);
    CHECK(UNTOUCHED(out_id));
    CHECK_STATUS(fusebox_lookup("out-r", &out_id), FUSEBOX_NOT_FOUND);

    /* Restoring the registry: every refusal, `*out_count` untouched. */
    FILL(count);
    CHECK_STATUS(fusebox_restore_all(NULL, all_len, &count), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len, &count), FUSEBOX_NAME_TAKEN);
    CHECK_STATUS(fusebox_destroy(id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len - 1, &count), FUSEBOX_BAD_SNAPSHOT);
    all_blob[all_len] = 0;
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len + 1, &count), FUSEBOX_BAD_SNAPSHOT);
    all_blob[40] ^= 1;
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len, &count), FUSEBOX_BAD_SNAPSHOT);
    all_blob[40] ^= 1;
    all_blob[4] ^= 1;
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len, &count), FUSEBOX_SNAPSHOT_VERSION_MISMATCH);
    all_blob[4] ^= 1;
    /* A name with a NUL byte ("o\0t-a", CRC good): refused, nothing added. */
    CHECK(all_blob[8] == 5 && all_blob[9 + 1] == 'u');
    all_blob[9 + 1] = 0;
    reseal(all_blob, all_len);
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len, &count), FUSEBOX_BAD_SNAPSHOT);
    all_blob[9 + 1] = 'u';
    reseal(all_blob, all_len);
    CHECK_STATUS(fusebox_lookup("out-open", &out_id), FUSEBOX_NOT_FOUND);
#ifndef FUSEBOX_TEST_FIRMWARE
    /* 65 535 entries claimed (none valid, CRC good): refused from the
     * header, before any entry is read. */
    memset(huge_blob, 0, sizeof huge_blob);
    memcpy(huge_blob, "FBXR\x01\x00\xff\xff", 8);
    reseal(huge_blob, sizeof huge_blob);
    CHECK_STATUS(fusebox_restore_all(huge_blob, sizeof huge_blob, &count),
                 FUSEBOX_REGISTRY_FULL);
#endif
    CHECK(UNTOUCHED(count) && UNTOUCHED(out_id));

    /* A full registry. */
    while (n_fill < MAX_SLOTS) {
        char name[16];
        snprintf(name, sizeof name, "out-fill%u", (unsigned)n_fill);
        if (fusebox_create(name, &c, &fill[n_fill]) != FUSEBOX_OK) {
            break;
        }
        n_fill++;
    }
    CHECK(n_fill == fusebox_capacity());
    CHECK_STATUS(fusebox_create("out-x", &c, &out_id), FUSEBOX_REGISTRY_FULL);
    CHECK_STATUS(fusebox_restore("out-r", &c, blob, blob_len, &out_id), FUSEBOX_REGISTRY_FULL);
    CHECK_STATUS(fusebox_restore_all(all_blob, all_len, &count), FUSEBOX_REGISTRY_FULL);
    CHECK(UNTOUCHED(count) && UNTOUCHED(out_id));
    for (i = 0; i < n_fill; i++) {
        CHECK_STATUS(fusebox_destroy(fill[i]), FUSEBOX_OK);
    }

    /* The policy functions. */
    CHECK_STATUS(fusebox_create("out-open", &c, &open_id), FUSEBOX_OK);
    CHECK_STATUS(fusebox_record_failure(open_id), FUSEBOX_OK);
    FILL(permit);
    FILL(wait);
    FILL(dropped);
    FILL(result);
#if FUSEBOX_EXPECT_POLICIES
    CHECK_STATUS(fusebox_acquire_permit(gone, &permit), FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_acquire_permit(open_id, &permit), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_call_classified(gone, op_ok, classify_any, &runs, &result),
                 FUSEBOX_NOT_FOUND);
    CHECK_STATUS(fusebox_call_classified(open_id, op_ok, classify_any, &runs, &result),
                 FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_retry_after_ms(gone, &wait), FUSEBOX_NOT_FOUND);
#else
    CHECK_STATUS(fusebox_acquire_permit(open_id, &permit), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_call_classified(open_id, op_ok, classify_any, &runs, &result),
                 FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_retry_after_ms(open_id, &wait), FUSEBOX_UNSUPPORTED);
    CHECK_STATUS(fusebox_events_dropped(&dropped), FUSEBOX_UNSUPPORTED);
#endif
    CHECK_STATUS(fusebox_call_classified(open_id, NULL, classify_any, &runs, &result),
                 FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_call_classified(open_id, op_ok, NULL, &runs, &result),
                 FUSEBOX_NULL_PARAMETER);
    CHECK(UNTOUCHED(permit) && UNTOUCHED(wait) && UNTOUCHED(dropped) && UNTOUCHED(result));
    CHECK(runs == 0);
    CHECK_STATUS(fusebox_destroy(open_id), FUSEBOX_OK);
}

/* Names, the walk over every breaker, and the metrics exposition's buffer
 * rules: too small writes nothing and reports the size needed (NUL
 * included); that exact size works and ends with a NUL. */
#ifdef FUSEBOX_TEST_FIRMWARE
#define METRICS_TEXT 256 /* the Cortex-M0 board has 16 KiB of RAM */
#else
#define METRICS_TEXT 8192
#endif
static void test_names_walk_and_metrics(void) {
    fusebox_config c;
    fusebox_id a, b, id = 0, stale;
    char name[FUSEBOX_NAME_MAX + 1], tiny[4];
    static char text[METRICS_TEXT];
    size_t written = 7, needed = 0, seen = 0;
    int found_a = 0, found_b = 0;
    fusebox_config_init(&c);
    CHECK_STATUS(fusebox_create("walk-a", &c, &a), FUSEBOX_OK);
    CHECK_STATUS(fusebox_create("walk-bb", &c, &b), FUSEBOX_OK);
    CHECK_STATUS(fusebox_name(b, name, sizeof name, &written), FUSEBOX_OK);
    CHECK(written == 7 && strcmp(name, "walk-bb") == 0);
    memset(tiny, 0x5A, sizeof tiny);
    CHECK_STATUS(fusebox_name(b, tiny, sizeof tiny, &written), FUSEBOX_BUFFER_TOO_SMALL);
    CHECK(written == 8 && tiny[0] == 0x5A && tiny[3] == 0x5A);
    CHECK_STATUS(fusebox_name(b, NULL, 8, &written), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_name(b, name, sizeof name, NULL), FUSEBOX_NULL_PARAMETER);
    while (fusebox_next(id, &id) == FUSEBOX_OK) {
        seen++;
        found_a += id == a;
        found_b += id == b;
    }
    CHECK(found_a == 1 && found_b == 1 && seen >= 2);
    CHECK_STATUS(fusebox_next(0, NULL), FUSEBOX_NULL_PARAMETER);
    memset(tiny, 0x5A, sizeof tiny);
    CHECK_STATUS(fusebox_metrics_write(tiny, sizeof tiny, &needed), FUSEBOX_BUFFER_TOO_SMALL);
    CHECK(tiny[0] == 0x5A && needed > sizeof tiny);
    if (needed <= sizeof text) {
        memset(text, 0x5A, sizeof text);
        CHECK_STATUS(fusebox_metrics_write(text, needed, &written), FUSEBOX_OK);
        CHECK(written + 1 == needed && text[written] == 0 && strlen(text) == written);
        CHECK(strstr(text, "fusebox_state{name=\"walk-bb\",state=\"closed\"} 1\n") != NULL);
    }
    CHECK_STATUS(fusebox_metrics_write(NULL, 10, &written), FUSEBOX_NULL_PARAMETER);
    stale = a;
    CHECK_STATUS(fusebox_destroy(a), FUSEBOX_OK);
    CHECK_STATUS(fusebox_destroy(b), FUSEBOX_OK);
    CHECK_STATUS(fusebox_name(stale, name, sizeof name, &written), FUSEBOX_NOT_FOUND);
}

/* Registries in memory the caller provides: sizes, placing, attaching,
   the refusals of bad memory and of memory that holds no registry, two
   registries side by side, and the handle functions against the global
   ones. The buffers are static, as firmware would have them (C99 has no
   _Alignas: aligned by hand). */
#if defined(FUSEBOX_EXPECT_POLICIES) && FUSEBOX_EXPECT_POLICIES == 0
#define PLACED_ROOM 2048 /* core builds, and the Cortex-M0's 16 KiB of RAM */
#else
#define PLACED_ROOM 6144
#endif
static unsigned char placed_raw[2][PLACED_ROOM + 64];

static unsigned char *aligned_to(unsigned char *p, size_t align) {
    /* align is a power of two. */
    return p + ((align - ((uintptr_t)p & (align - 1))) & (align - 1));
}

static void test_shared_placement(unsigned char *mem, size_t size);

static void test_placed_registries(void) {
    size_t size = fusebox_registry_size(3);
    size_t align = fusebox_registry_align();
    unsigned char *placed_mem[2];
    fusebox_registry *a = NULL, *b = NULL, *again = NULL;
    fusebox_id ia, ib, found;
    fusebox_config c = config(1, 1000, 1);
    fusebox_state st = 99;
    fusebox_stats s;
    size_t cap = 0;
    int runs = 0;
    int32_t result = 0;

    CHECK(fusebox_registry_size(0) == 0);
    CHECK(fusebox_registry_size(4097) == 0);
    CHECK(size > 0 && size <= PLACED_ROOM);
    CHECK(fusebox_registry_size(4) > size);
    CHECK(align >= 4 && align <= 64 && (align & (align - 1)) == 0);
    placed_mem[0] = aligned_to(placed_raw[0], align);
    placed_mem[1] = aligned_to(placed_raw[1], align);
    if (size == 0 || size > PLACED_ROOM) {
        return; /* already counted as failed above */
    }

    /* Refused: NULL, too short, misaligned, capacity out of range; the
       handle is not written. */
    CHECK_STATUS(fusebox_registry_place(NULL, size, 3, &a), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_registry_place(placed_mem[0], size, 3, NULL), FUSEBOX_NULL_PARAMETER);
    CHECK_STATUS(fusebox_registry_place(placed_mem[0], size - 1, 3, &a), FUSEBOX_INVALID_MEMORY);
    CHECK_STATUS(fusebox_registry_place(placed_mem[0] + 1, size, 3, &a), FUSEBOX_INVALID_MEMORY);
    CHECK_STATUS(fusebox_registry_place(placed_mem[0], size, 0, &a), FUSEBOX_INVALID_MEMORY);
    CHECK(a == NULL);
    /* Memory that holds no registry. */
    memset(placed_mem[0], 0, PLACED_ROOM);
    CHECK_STATUS(fusebox_registry_attach(placed_mem[0], size, &a), FUSEBOX_LAYOUT_MISMATCH);
    CHECK(a == NULL);

    CHECK_STATUS(fusebox_registry_place(placed_mem[0], size, 3, &a), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_place(placed_mem[1], PLACED_ROOM, 3, &b), FUSEBOX_OK);
    CHECK(a == (fusebox_registry *)placed_mem[0]);
    CHECK_STATUS(fusebox_registry_capacity(a, &cap), FUSEBOX_OK);
    CHECK(cap == 3);

    /* The same name in two registries and in the global one: three
       breakers. */
    CHECK_STATUS(fusebox_registry_create(a, "db", &c, &ia), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_create(b, "db", &c, &ib), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_create(a, "db", &c, &found), FUSEBOX_NAME_TAKEN);
    CHECK_STATUS(fusebox_registry_lookup(a, "db", &found), FUSEBOX_OK);
    CHECK(found == ia);
    CHECK_STATUS(fusebox_lookup("db", &found), FUSEBOX_NOT_FOUND);

    now64 = 5000;
    CHECK_STATUS(fusebox_set_clock(clock64, &now64), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_try_acquire(a, ia), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_record_failure(a, ia), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_get_state(a, ia, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_registry_try_acquire(a, ia), FUSEBOX_CIRCUIT_OPEN);
    CHECK_STATUS(fusebox_registry_get_state(b, ib, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_registry_call(b, ib, op_ok, &runs, &result), FUSEBOX_OK);
    CHECK(runs == 1 && result == 0);
    CHECK_STATUS(fusebox_registry_stats_get(a, ia, &s), FUSEBOX_OK);
    CHECK(s.failure_count == 1 && s.rejected_count == 1 && s.state == FUSEBOX_STATE_OPEN);
    /* An id of one registry means nothing in another. */
    CHECK_STATUS(fusebox_registry_try_acquire(b, ia), ib == ia ? FUSEBOX_OK : FUSEBOX_NOT_FOUND);

    /* A second handle to the same memory sees the same breakers. */
    CHECK_STATUS(fusebox_registry_attach(placed_mem[0], size, &again), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_get_state(again, ia, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_registry_reset(again, ia), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_get_state(a, ia, &st), FUSEBOX_OK);
    CHECK(st == FUSEBOX_STATE_CLOSED);
    CHECK_STATUS(fusebox_registry_destroy(a, ia), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_destroy(again, ia), FUSEBOX_NOT_FOUND);

    /* A handle to memory whose header was damaged: refused, not misread. */
    placed_mem[1][0] ^= 1;
    CHECK_STATUS(fusebox_registry_try_acquire(b, ib), FUSEBOX_LAYOUT_MISMATCH);
    CHECK_STATUS(fusebox_registry_capacity(b, &cap), FUSEBOX_LAYOUT_MISMATCH);
    placed_mem[1][0] ^= 1;
    CHECK_STATUS(fusebox_registry_try_acquire(b, ib), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_try_acquire(NULL, ib), FUSEBOX_NULL_PARAMETER);
    CHECK(strcmp(fusebox_status_str(FUSEBOX_INVALID_MEMORY), "invalid registry memory") == 0);
    CHECK(strcmp(fusebox_status_str(FUSEBOX_LAYOUT_MISMATCH), "registry layout mismatch") == 0);
    test_shared_placement(placed_mem[1], size);
}

/* Placing for processes to share: on Linux hosts with policies, a
   registry without a listener whose breakers need a half-open time limit
   (the kill-loop test, tests/c/shared_kill.c, shares one between
   processes); on firmware and without policies, FUSEBOX_UNSUPPORTED,
   nothing written. */
static void test_shared_placement(unsigned char *mem, size_t size) {
    fusebox_registry *reg = NULL;
    fusebox_config c = config(1, 1000, 1);
    fusebox_id id;
#if !defined(FUSEBOX_TEST_FIRMWARE) && defined(__linux__) && FUSEBOX_EXPECT_POLICIES
    CHECK_STATUS(fusebox_registry_place_shared(mem, size - 1, 3, &reg), FUSEBOX_INVALID_MEMORY);
    CHECK_STATUS(fusebox_registry_place_shared(mem, size, 3, &reg), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_create(reg, "db", &c, &id), FUSEBOX_INVALID_CONFIG);
    c.half_open_max_wait_ms = 500;
    CHECK_STATUS(fusebox_registry_create(reg, "db", &c, &id), FUSEBOX_OK);
    /* This process's listener hears this process's state changes. */
    n_events = 0;
    CHECK_STATUS(fusebox_registry_set_listener(reg, on_event, &n_events), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_record_failure(reg, id), FUSEBOX_OK);
    CHECK(n_events == 1 && events[0].to == FUSEBOX_STATE_OPEN);
    CHECK_STATUS(fusebox_registry_set_listener(reg, NULL, NULL), FUSEBOX_OK);
    CHECK_STATUS(fusebox_registry_try_acquire(reg, id), FUSEBOX_CIRCUIT_OPEN);
#else
    mem[0] = 0x5A;
    CHECK_STATUS(fusebox_registry_place_shared(mem, size, 3, &reg), FUSEBOX_UNSUPPORTED);
    CHECK(reg == NULL && mem[0] == 0x5A);
    (void)c;
    (void)id;
#endif
}

int main(void) {
#ifdef FUSEBOX_TEST_FIRMWARE
    printf("fusebox C tests on the emulated Cortex-M (no_std, port-c)\n");
    test_no_clock_until_set();
#else
    test_default_clock_on_host();
#endif
    test_config_init_is_snakepit();
    test_null_pointers();
    test_names();
    test_invalid_config();
    test_snakepit_semantics();
    test_call();
    test_stale_and_forged_ids();
    test_registry_full_then_recreate();
    test_clock32_wraps();
    test_clock_backwards();
    test_snapshot_restore();
    test_strings();
    test_setting_the_clock_from_inside_the_clock_is_busy();
    test_policies();
    test_outputs_untouched_on_error();
    test_names_walk_and_metrics();
    test_placed_registries();
#ifdef FUSEBOX_TEST_FIRMWARE
    test_port_critical_sections_balanced();
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
