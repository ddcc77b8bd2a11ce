/*
 * bench.c: fusebox's C API under threads. Each thread runs
 * fusebox_try_acquire + fusebox_record_success on a closed breaker, either
 * one breaker shared by all threads or one breaker per thread, for 1, 2
 * and 4 threads. Prints ns per operation pair, total Mops/s, and scaling
 * against one thread. Each figure is a median over REPEATS runs: on a
 * shared machine single runs swing by 2x.
 *
 * The clock is a cheap counter, so that the figures are fusebox's own cost
 * (a closed breaker does not read the clock at all on this path).
 *
 * A reference row runs the same loop on no breaker: two calls through
 * function pointers that each bump a counter of the thread's own (on its
 * own cache line). Its scaling is the machine's: what two threads of
 * independent work gain here (a VM's two vCPUs may be one core's two
 * hyperthreads, or share the host with other jobs). fusebox's rows are
 * read against it.
 *
 *   make -C examples-c bench            (ITERS=... to change the length,
 *                                       REPEATS=... the runs per figure)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fusebox.h"

#define MAX_THREADS 4

static long iters = 5000000;
static int repeats = 9;
static fusebox_id shared_id;
static fusebox_id own_ids[MAX_THREADS];
static pthread_barrier_t start;

struct job {
    fusebox_id id;
    int reference;
};

/* The reference row's counters, one cache line per thread. */
static struct {
    _Alignas(64) volatile unsigned long n;
} reference_count[MAX_THREADS];

static fusebox_status reference_op(fusebox_id slot) {
    reference_count[slot].n = reference_count[slot].n + 1;
    return FUSEBOX_OK;
}

/* Called through pointers the compiler cannot see through, as fusebox's
 * functions are called from a static library. */
static fusebox_status (*volatile reference_acquire)(fusebox_id) = reference_op;
static fusebox_status (*volatile reference_record)(fusebox_id) = reference_op;

static uint64_t counter_clock(void *userdata) {
    (void)userdata;
    return 1000;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker(void *arg) {
    struct job *job = arg;
    long i;
    pthread_barrier_wait(&start);
    if (job->reference) {
        fusebox_status (*acquire)(fusebox_id) = reference_acquire;
        fusebox_status (*record)(fusebox_id) = reference_record;
        for (i = 0; i < iters; i++) {
            if (acquire(job->id) != FUSEBOX_OK || record(job->id) != FUSEBOX_OK) exit(1);
        }
        return NULL;
    }
    for (i = 0; i < iters; i++) {
        if (fusebox_try_acquire(job->id) != FUSEBOX_OK || fusebox_record_success(job->id) != FUSEBOX_OK) {
            fprintf(stderr, "unexpected status\n");
            exit(1);
        }
    }
    return NULL;
}

enum mode { SHARED, OWN, REFERENCE };

/* Returns total operation pairs per second. */
static double run(int threads, enum mode mode) {
    pthread_t th[MAX_THREADS];
    struct job jobs[MAX_THREADS];
    double t0, t1;
    int t;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (t = 0; t < threads; t++) {
        jobs[t].id = mode == SHARED ? shared_id : mode == OWN ? own_ids[t] : (fusebox_id)t;
        jobs[t].reference = mode == REFERENCE;
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    t0 = now_s();
    pthread_barrier_wait(&start);
    for (t = 0; t < threads; t++) pthread_join(th[t], NULL);
    t1 = now_s();
    pthread_barrier_destroy(&start);
    return (double)threads * (double)iters / (t1 - t0);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], by_value);
    return v[n / 2];
}

int main(int argc, char **argv) {
    int counts[] = {1, 2, 4};
    int t, mode;
    if (argc > 1) iters = atol(argv[1]);
    if (argc > 2) repeats = atoi(argv[2]);
    fusebox_set_clock(counter_clock, NULL);
    if (fusebox_create("shared", NULL, &shared_id) != FUSEBOX_OK) return 1;
    for (t = 0; t < MAX_THREADS; t++) {
        char name[16];
        snprintf(name, sizeof name, "own-%d", t);
        if (fusebox_create(name, NULL, &own_ids[t]) != FUSEBOX_OK) return 1;
    }
    run(1, SHARED); /* warm-up */
    printf("fusebox C API: try_acquire + record_success, %ld pairs per thread, median of %d runs\n", iters,
           repeats);
    printf("%-18s %8s %14s %12s %10s\n", "breakers", "threads", "ns/pair/thread", "total Mops/s", "scaling");
    /* The reference row: the same loop on no breaker (see the top). */
    for (mode = SHARED; mode <= REFERENCE; mode++) {
        /* Each repeat runs 1, 2 and 4 threads back to back, and scaling is
         * the median of the per-repeat ratios: a slow spell of the machine
         * then weighs on both sides of a ratio. */
        double rate[3][64], scale[3][64];
        int r, n = repeats < 1 ? 1 : repeats > 64 ? 64 : repeats;
        for (r = 0; r < n; r++) {
            for (t = 0; t < 3; t++) rate[t][r] = run(counts[t], (enum mode)mode);
            for (t = 0; t < 3; t++) scale[t][r] = rate[t][r] / rate[0][r];
        }
        for (t = 0; t < 3; t++) {
            double m = median(rate[t], n);
            printf("%-18s %8d %14.2f %12.2f %9.2fx\n",
                   mode == SHARED ? "one shared" : mode == OWN ? "one per thread" : "no breaker (ref.)",
                   counts[t], 1e9 * counts[t] / m, m / 1e6, median(scale[t], n));
        }
    }
    return 0;
}
