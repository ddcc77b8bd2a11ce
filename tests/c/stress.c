/*
 * stress.c: 8 threads x 200k operations on fusebox's C API, mixing every
 * call on shared and private breakers, while a churn thread destroys and
 * recreates breakers and a reset thread resets the shared one.
 *
 * Checked, during and at the end:
 *  - half-open admissions never exceed half_open_max_calls (a barrier phase
 *    races all threads on a half-open breaker, round after round);
 *  - admitted + rejected == attempts, per breaker, from the stats;
 *  - no stale id ever acts on a new breaker: the churn thread checks that a
 *    fresh breaker is untouched before publishing its id, while the other
 *    threads keep hammering the ids it destroyed;
 *  - every status is one the call may return;
 *  - the state-change listener runs on one thread at a time, sees the
 *    changes in increasing order, misses none (shared breaker: as many
 *    events as transitions) and drops none;
 *  - retirement: while threads read the clock and change states, another
 *    swaps clocks and listeners, each with freshly allocated userdata, and
 *    poisons (under ASan: frees) the old userdata as soon as the setter
 *    returns; no clock or listener call ever sees poisoned userdata.
 * Prints "N passed, N failed"; exits non-zero on failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fusebox.h"

#define THREADS 8
#define OPS_PER_THREAD 200000
#define PHASE_ROUNDS 200
#define PROBES 3

static atomic_int failures;
static atomic_int checks;

#define EXPECT(cond)                                                           \
    do {                                                                       \
        atomic_fetch_add(&checks, 1);                                          \
        if (!(cond)) {                                                         \
            if (atomic_fetch_add(&failures, 1) < 20)                           \
                fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__,     \
                        #cond);                                                \
        }                                                                      \
    } while (0)

static _Atomic uint64_t now_ms = 1000;
static uint64_t clock_fn(void *userdata) {
    (void)userdata;
    return atomic_load(&now_ms);
}

static fusebox_id shared;                 /* mixed ops, never destroyed */
static _Atomic uint32_t shared_attempts;  /* try_acquire + call on it */
static _Atomic fusebox_id churned;        /* published by the churn thread */
static atomic_bool churn_stop;

static _Atomic uint32_t last_seq;
static atomic_int in_listener;
static _Atomic uint32_t shared_events;

static void listener(const fusebox_event *ev, void *userdata) {
    EXPECT(userdata == &last_seq);
    EXPECT(atomic_fetch_add(&in_listener, 1) == 0); /* one at a time */
    EXPECT(ev->seq == atomic_load(&last_seq) + 1);  /* in order, none missing */
    atomic_store(&last_seq, ev->seq);
    if (ev->id == shared) atomic_fetch_add(&shared_events, 1);
    atomic_fetch_sub(&in_listener, 1);
}

static int32_t op(void *userdata) {
    return (int32_t)(uintptr_t)userdata; /* 0 success, 1 failure */
}

static uint32_t rng_next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check_stats(fusebox_id id) {
    fusebox_stats s;
    fusebox_status st = fusebox_stats_get(id, &s);
    EXPECT(st == FUSEBOX_OK || st == FUSEBOX_NOT_FOUND);
    if (st == FUSEBOX_OK) {
        EXPECT(s.half_open_calls <= s.half_open_max_calls);
        EXPECT(s.state <= FUSEBOX_STATE_HALF_OPEN);
    }
}

static void *mixed_worker(void *arg) {
    int t = (int)(intptr_t)arg;
    uint32_t seed = 0x9E3779B9u * (uint32_t)(t + 1);
    char name[32];
    fusebox_id mine;
    fusebox_config cfg;
    uint32_t my_attempts = 0;
    int i;

    fusebox_config_init(&cfg);
    cfg.failure_threshold = 4;
    cfg.reset_timeout_ms = 3;
    cfg.half_open_max_calls = 2;
    snprintf(name, sizeof name, "private-%d", t);
    EXPECT(fusebox_create(name, &cfg, &mine) == FUSEBOX_OK);

    for (i = 0; i < OPS_PER_THREAD; i++) {
        uint32_t r = rng_next(&seed);
        fusebox_id target = (r & 1) ? shared : mine;
        fusebox_status st;
        int32_t result;
        bool allowed;
        fusebox_state state;
        switch ((r >> 1) % 10) {
        case 0:
        case 1:
            st = fusebox_try_acquire(target);
            EXPECT(st == FUSEBOX_OK || st == FUSEBOX_CIRCUIT_OPEN);
            if (target == shared) atomic_fetch_add(&shared_attempts, 1);
            else my_attempts++;
            if (st == FUSEBOX_OK) {
                st = (r >> 8) % 3 ? fusebox_record_success(target) : fusebox_record_failure(target);
                EXPECT(st == FUSEBOX_OK);
            }
            break;
        case 2:
        case 3:
            st = fusebox_call(target, op, (void *)(uintptr_t)((r >> 8) % 3 == 0), &result);
            EXPECT(st == FUSEBOX_OK || st == FUSEBOX_CIRCUIT_OPEN);
            if (target == shared) atomic_fetch_add(&shared_attempts, 1);
            else my_attempts++;
            break;
        case 4:
            EXPECT(fusebox_allow_call(target, &allowed) == FUSEBOX_OK);
            break;
        case 5:
            EXPECT(fusebox_get_state(target, &state) == FUSEBOX_OK);
            EXPECT(state <= FUSEBOX_STATE_HALF_OPEN);
            break;
        case 6:
            check_stats(target);
            break;
        case 7: {
            /* Hammer whatever the churn thread published: it may be stale. */
            fusebox_id c = atomic_load(&churned);
            st = (r >> 8) & 1 ? fusebox_record_failure(c) : fusebox_try_acquire(c);
            EXPECT(st == FUSEBOX_OK || st == FUSEBOX_CIRCUIT_OPEN || st == FUSEBOX_NOT_FOUND);
            break;
        }
        case 8: {
            fusebox_id found;
            st = fusebox_lookup((r >> 8) & 1 ? "shared" : name, &found);
            EXPECT(st == FUSEBOX_OK);
            EXPECT(found == ((r >> 8) & 1 ? shared : mine));
            break;
        }
        default:
            atomic_fetch_add(&now_ms, 1);
            break;
        }
    }
    {
        fusebox_stats s;
        EXPECT(fusebox_stats_get(mine, &s) == FUSEBOX_OK);
        EXPECT(s.admitted_count + s.rejected_count == my_attempts);
        EXPECT(s.rejected_count > 0); /* the breaker did open */
        EXPECT(fusebox_destroy(mine) == FUSEBOX_OK);
    }
    return NULL;
}

static void *churn_worker(void *arg) {
    unsigned gen = 0;
    (void)arg;
    while (!atomic_load(&churn_stop)) {
        char name[32];
        fusebox_id id, old = atomic_load(&churned);
        fusebox_stats s;
        snprintf(name, sizeof name, "churn-%u", gen++ % 4);
        EXPECT(fusebox_destroy(old) == FUSEBOX_OK);
        EXPECT(fusebox_create(name, NULL, &id) == FUSEBOX_OK);
        EXPECT(id != old);
        /* Unpublished: only stale ids are in other threads' hands. */
        for (int k = 0; k < 50; k++) {
            EXPECT(fusebox_stats_get(id, &s) == FUSEBOX_OK);
            EXPECT(s.failure_count == 0 && s.admitted_count == 0 && s.rejected_count == 0);
        }
        atomic_store(&churned, id);
        if (gen % 16 == 0) {
            EXPECT(fusebox_reset(shared) == FUSEBOX_OK);
        }
    }
    return NULL;
}

/* Round after round: trip the breaker, let it go half-open, and race all
 * threads on try_acquire. Exactly PROBES of them may get through. */
static fusebox_id phase_id;
static pthread_barrier_t phase_start, phase_end;
static atomic_int phase_admitted;

static void *phase_worker(void *arg) {
    (void)arg;
    for (int round = 0; round < PHASE_ROUNDS; round++) {
        pthread_barrier_wait(&phase_start);
        for (int k = 0; k < 4; k++) {
            fusebox_status st = fusebox_try_acquire(phase_id);
            EXPECT(st == FUSEBOX_OK || st == FUSEBOX_CIRCUIT_OPEN);
            if (st == FUSEBOX_OK) atomic_fetch_add(&phase_admitted, 1);
        }
        pthread_barrier_wait(&phase_end);
    }
    return NULL;
}

static void run_phases(void) {
    pthread_t th[THREADS];
    fusebox_config cfg;
    fusebox_stats s;
    fusebox_config_init(&cfg);
    cfg.failure_threshold = 1;
    cfg.reset_timeout_ms = 10;
    cfg.half_open_max_calls = PROBES;
    EXPECT(fusebox_create("phase", &cfg, &phase_id) == FUSEBOX_OK);
    pthread_barrier_init(&phase_start, NULL, THREADS + 1);
    pthread_barrier_init(&phase_end, NULL, THREADS + 1);
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, phase_worker, NULL);
    for (int round = 0; round < PHASE_ROUNDS; round++) {
        fusebox_state state;
        EXPECT(fusebox_record_failure(phase_id) == FUSEBOX_OK); /* (re)open */
        atomic_fetch_add(&now_ms, 10);                          /* timeout over */
        EXPECT(fusebox_get_state(phase_id, &state) == FUSEBOX_OK);
        EXPECT(state == FUSEBOX_STATE_HALF_OPEN);
        atomic_store(&phase_admitted, 0);
        pthread_barrier_wait(&phase_start);
        pthread_barrier_wait(&phase_end);
        EXPECT(atomic_load(&phase_admitted) == PROBES);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    EXPECT(fusebox_stats_get(phase_id, &s) == FUSEBOX_OK);
    EXPECT(s.admitted_count == PHASE_ROUNDS * PROBES);
    EXPECT(s.admitted_count + s.rejected_count == PHASE_ROUNDS * THREADS * 4);
    EXPECT(fusebox_destroy(phase_id) == FUSEBOX_OK);
    pthread_barrier_destroy(&phase_start);
    pthread_barrier_destroy(&phase_end);
}

/* ---- Retirement: no callback call after its setter returned. */
#define RETIRE_WORKERS 4
#define RETIRE_SWAPS 1000
#define LIVE 0x5afe5afeu
#define DEAD 0xdeaddeadu

struct cb_data {
    _Atomic uint32_t magic;
    struct cb_data *next; /* kept for the end, unless freed at once */
};

static _Atomic uint32_t clock_calls, listener_calls;
static _Atomic uint32_t clock_after_retirement, listener_after_retirement;
static atomic_bool retire_stop;
static struct cb_data *graveyard;

/* Uses its userdata at the start and at the end of a call that takes a
 * little while: a call that starts after its setter returned, or is still
 * running then, sees it poisoned. */
static bool uses_retired(struct cb_data *d) {
    bool retired = atomic_load(&d->magic) != LIVE;
    for (volatile int i = 0; i < 200; i++) {
    }
    return retired || atomic_load(&d->magic) != LIVE;
}

static uint64_t retiring_clock(void *userdata) {
    if (uses_retired(userdata)) atomic_fetch_add(&clock_after_retirement, 1);
    atomic_fetch_add(&clock_calls, 1);
    return atomic_load(&now_ms);
}

static uint32_t retiring_clock32(void *userdata) {
    return (uint32_t)retiring_clock(userdata);
}

static void retiring_listener(const fusebox_event *ev, void *userdata) {
    (void)ev;
    if (uses_retired(userdata)) atomic_fetch_add(&listener_after_retirement, 1);
    atomic_fetch_add(&listener_calls, 1);
}

static struct cb_data *fresh(void) {
    struct cb_data *d = malloc(sizeof *d);
    if (!d) abort();
    atomic_store(&d->magic, LIVE);
    d->next = NULL;
    return d;
}

/* Poisons, then frees under ASan (a late call is a use-after-free it
 * reports); otherwise keeps the block so that it is not reused. */
static void retire(struct cb_data *d) {
    atomic_store(&d->magic, DEAD);
#if defined(__SANITIZE_ADDRESS__)
    free(d);
#else
    d->next = graveyard;
    graveyard = d;
#endif
}

static void *retire_worker(void *arg) {
    fusebox_id own = (fusebox_id)(uintptr_t)arg, open_id;
    char name[32];
    fusebox_config cfg;
    fusebox_config_init(&cfg);
    cfg.failure_threshold = 1;
    cfg.reset_timeout_ms = 1000000;
    snprintf(name, sizeof name, "retire-open-%u", (unsigned)own);
    EXPECT(fusebox_create(name, &cfg, &open_id) == FUSEBOX_OK);
    EXPECT(fusebox_record_failure(open_id) == FUSEBOX_OK);
    int bad = 0;
    while (!atomic_load(&retire_stop)) {
        uint64_t t;
        bad += fusebox_now_ms(&t) != FUSEBOX_OK;
        bad += fusebox_try_acquire(open_id) != FUSEBOX_CIRCUIT_OPEN; /* reads the clock */
        bad += fusebox_force_open(own) != FUSEBOX_OK;                /* events */
        bad += fusebox_reset(own) != FUSEBOX_OK;
    }
    EXPECT(bad == 0);
    EXPECT(fusebox_destroy(open_id) == FUSEBOX_OK);
    return NULL;
}

static void wait_for_calls(_Atomic uint32_t *calls) {
    uint32_t before = atomic_load(calls);
    while (atomic_load(calls) < before + 3) sched_yield();
}

static void run_retirement(void) {
    pthread_t th[RETIRE_WORKERS];
    fusebox_id own[RETIRE_WORKERS];
    struct cb_data *clock_data = fresh(), *listener_data = fresh();
    EXPECT(fusebox_set_clock(retiring_clock, clock_data) == FUSEBOX_OK);
    EXPECT(fusebox_set_listener(retiring_listener, listener_data) == FUSEBOX_OK);
    for (int t = 0; t < RETIRE_WORKERS; t++) {
        char name[32];
        snprintf(name, sizeof name, "retire-%d", t);
        EXPECT(fusebox_create(name, NULL, &own[t]) == FUSEBOX_OK);
        pthread_create(&th[t], NULL, retire_worker, (void *)(uintptr_t)own[t]);
    }
    for (int i = 0; i < RETIRE_SWAPS; i++) {
        struct cb_data *d = fresh();
        if (i % 2 == 0) {
            EXPECT(fusebox_set_clock(retiring_clock, d) == FUSEBOX_OK);
        } else {
            EXPECT(fusebox_set_clock32(retiring_clock32, d) == FUSEBOX_OK);
        }
        retire(clock_data);
        clock_data = d;
        d = fresh();
        wait_for_calls(&listener_calls); /* swap while events flow */
        EXPECT(fusebox_set_listener(retiring_listener, d) == FUSEBOX_OK);
        retire(listener_data);
        listener_data = d;
    }
    atomic_store(&retire_stop, true);
    for (int t = 0; t < RETIRE_WORKERS; t++) {
        pthread_join(th[t], NULL);
        EXPECT(fusebox_destroy(own[t]) == FUSEBOX_OK);
    }
    EXPECT(fusebox_set_clock(clock_fn, NULL) == FUSEBOX_OK);
    retire(clock_data);
    EXPECT(fusebox_set_listener(NULL, NULL) == FUSEBOX_OK);
    retire(listener_data);
    EXPECT(atomic_load(&clock_after_retirement) == 0);
    EXPECT(atomic_load(&listener_after_retirement) == 0);
    if (atomic_load(&clock_after_retirement) || atomic_load(&listener_after_retirement))
        fprintf(stderr, "calls after retirement: clock %u of %u, listener %u of %u\n",
                atomic_load(&clock_after_retirement), atomic_load(&clock_calls),
                atomic_load(&listener_after_retirement), atomic_load(&listener_calls));
    while (graveyard) {
        struct cb_data *next = graveyard->next;
        free(graveyard);
        graveyard = next;
    }
}

int main(void) {
    pthread_t th[THREADS], churn;
    fusebox_config cfg;
    fusebox_stats s;
    fusebox_id first;

    EXPECT(fusebox_set_clock(clock_fn, NULL) == FUSEBOX_OK);
    EXPECT(fusebox_set_listener(listener, &last_seq) == FUSEBOX_OK);
    run_phases();

    fusebox_config_init(&cfg);
    cfg.failure_threshold = 8;
    cfg.reset_timeout_ms = 5;
    cfg.half_open_max_calls = 2;
    EXPECT(fusebox_create("shared", &cfg, &shared) == FUSEBOX_OK);
    EXPECT(fusebox_create("churn-x", NULL, &first) == FUSEBOX_OK);
    atomic_store(&churned, first);

    pthread_create(&churn, NULL, churn_worker, NULL);
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, mixed_worker, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    atomic_store(&churn_stop, true);
    pthread_join(churn, NULL);

    EXPECT(fusebox_stats_get(shared, &s) == FUSEBOX_OK);
    EXPECT(s.admitted_count + s.rejected_count == atomic_load(&shared_attempts));
    EXPECT(s.half_open_calls <= s.half_open_max_calls);
    EXPECT(s.transitions > 0);
    EXPECT(atomic_load(&shared_events) == s.transitions);
    {
        uint32_t dropped = 1;
        EXPECT(fusebox_events_dropped(&dropped) == FUSEBOX_OK);
        EXPECT(dropped == 0);
    }
    EXPECT(fusebox_set_listener(NULL, NULL) == FUSEBOX_OK);
    EXPECT(fusebox_destroy(shared) == FUSEBOX_OK);
    EXPECT(fusebox_destroy(atomic_load(&churned)) == FUSEBOX_OK);
    run_retirement();

    printf("%d passed, %d failed\n", atomic_load(&checks) - atomic_load(&failures),
           atomic_load(&failures));
    return atomic_load(&failures) == 0 ? 0 : 1;
}
