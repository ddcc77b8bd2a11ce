/*
 * bench.c: fusebox's C API under threads. Each thread runs
 * fusebox_try_acquire + fusebox_record_success on a closed breaker, either
 * one breaker shared by all threads or one breaker per thread, for 1, 2
 * and 4 threads. Prints ns per operation pair, total Mops/s, and scaling
 * against one thread.
 *
 * The clock is a cheap counter, so that the figures are fusebox's own cost
 * (a closed breaker does not read the clock at all on this path).
 *
 *   make -C examples-c bench            (ITERS=... to change the length)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fusebox.h"

#define MAX_THREADS 4

static long iters = 5000000;
static fusebox_id shared_id;
static fusebox_id own_ids[MAX_THREADS];
static pthread_barrier_t start;

struct job {
    fusebox_id id;
};

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
    for (i = 0; i < iters; i++) {
        if (fusebox_try_acquire(job->id) != FUSEBOX_OK || fusebox_record_success(job->id) != FUSEBOX_OK) {
            fprintf(stderr, "unexpected status\n");
            exit(1);
        }
    }
    return NULL;
}

/* Returns total operation pairs per second. */
static double run(int threads, int shared) {
    pthread_t th[MAX_THREADS];
    struct job jobs[MAX_THREADS];
    double t0, t1;
    int t;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (t = 0; t < threads; t++) {
        jobs[t].id = shared ? shared_id : own_ids[t];
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    t0 = now_s();
    pthread_barrier_wait(&start);
    for (t = 0; t < threads; t++) pthread_join(th[t], NULL);
    t1 = now_s();
    pthread_barrier_destroy(&start);
    return (double)threads * (double)iters / (t1 - t0);
}

int main(int argc, char **argv) {
    int counts[] = {1, 2, 4};
    int t, mode;
    if (argc > 1) iters = atol(argv[1]);
    fusebox_set_clock(counter_clock, NULL);
    if (fusebox_create("shared", NULL, &shared_id) != FUSEBOX_OK) return 1;
    for (t = 0; t < MAX_THREADS; t++) {
        char name[16];
        snprintf(name, sizeof name, "own-%d", t);
        if (fusebox_create(name, NULL, &own_ids[t]) != FUSEBOX_OK) return 1;
    }
    run(1, 0); /* warm-up */
    printf("fusebox C API: try_acquire + record_success, %ld pairs per thread\n", iters);
    printf("%-18s %8s %14s %12s %10s\n", "breakers", "threads", "ns/pair/thread", "total Mops/s", "scaling");
    for (mode = 0; mode < 2; mode++) {
        double base = 0;
        for (t = 0; t < 3; t++) {
            double rate = run(counts[t], mode == 0);
            if (t == 0) base = rate;
            printf("%-18s %8d %14.2f %12.2f %9.2fx\n", mode == 0 ? "one shared" : "one per thread",
                   counts[t], 1e9 * counts[t] / rate, rate / 1e6, rate / base);
        }
    }
    return 0;
}
