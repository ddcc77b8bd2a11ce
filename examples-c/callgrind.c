/*
 * callgrind.c: a fixed sequence of C API calls, one loop per operation,
 * for callgrind.py to count instructions per call (deterministic, unlike
 * time). Each loop_* function runs its operation N times.
 */
#include <stdio.h>

#include "fusebox.h"

#define N 10000

static uint64_t fixed_clock(void *userdata) {
    (void)userdata;
    return 1000;
}

static volatile uint64_t now_var = 1000;

static int32_t ok_op(void *userdata) {
    (void)userdata;
    return 0;
}

__attribute__((noinline)) void loop_acquire_record(fusebox_id id) {
    for (int i = 0; i < N; i++) {
        fusebox_try_acquire(id);
        fusebox_record_success(id);
    }
}

__attribute__((noinline)) void loop_call(fusebox_id id) {
    int32_t result;
    for (int i = 0; i < N; i++) fusebox_call(id, ok_op, NULL, &result);
}

__attribute__((noinline)) void loop_reject(fusebox_id id) {
    for (int i = 0; i < N; i++) fusebox_try_acquire(id);
}

/* The same rejection with a variable clock (fusebox_set_clock_var64). */
__attribute__((noinline)) void loop_reject_var(fusebox_id id) {
    for (int i = 0; i < N; i++) fusebox_try_acquire(id);
}

__attribute__((noinline)) void loop_stats(fusebox_id id) {
    fusebox_stats s;
    for (int i = 0; i < N; i++) fusebox_stats_get(id, &s);
}

__attribute__((noinline)) void loop_lookup(void) {
    fusebox_id id;
    for (int i = 0; i < N; i++) fusebox_lookup("closed", &id);
}

__attribute__((noinline)) void loop_create_destroy(void) {
    fusebox_id id;
    for (int i = 0; i < N; i++) {
        fusebox_create("scratch", NULL, &id);
        fusebox_destroy(id);
    }
}

int main(void) {
    fusebox_config cfg;
    fusebox_id closed, open;
    fusebox_set_clock(fixed_clock, NULL);
    fusebox_config_init(&cfg);
    cfg.failure_threshold = 1;
    if (fusebox_create("closed", NULL, &closed) != FUSEBOX_OK) return 1;
    if (fusebox_create("open", &cfg, &open) != FUSEBOX_OK) return 1;
    fusebox_record_failure(open);
    loop_acquire_record(closed);
    loop_call(closed);
    loop_reject(open);
    loop_stats(closed);
    loop_lookup();
    loop_create_destroy();
    if (fusebox_set_clock_var64(&now_var) != FUSEBOX_OK) return 1;
    loop_reject_var(open);
    printf("done\n");
    return 0;
}
