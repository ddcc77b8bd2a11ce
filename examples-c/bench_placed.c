/*
 * bench_placed.c: ns/op and instructions/op of fusebox's C API, single
 * thread, for the global registry, a placed private registry and a placed
 * shared registry; and processes hammering a shared registry
 * (docs/shared-registry.md, "Costs"; `make -C examples-c bench-placed`).
 *
 *   bench_placed time ROW [N] [REPEATS] [def]  ROW: global | private | shared
 *   bench_placed cg ROW [def]                  one pass of K ops per cg_* function (callgrind)
 *   bench_placed mp [N] [REPEATS]              processes on a shared registry
 *   bench_placed mt [N] [REPEATS]              2 threads on a placed private registry
 *
 * "def": breakers with fusebox_config_init's defaults (half_open_max_wait_ms
 * 0; not allowed in a shared registry). Otherwise every breaker of every row
 * has half_open_max_wait_ms = 60000 (what a shared registry requires), so
 * that rows compare the same configuration.
 *
 * Setup of every row: capacity 16 (the global registry's build-time
 * capacity), breakers b00..b15 created in order: b00 closed, b01 opened
 * with one failure (failure_threshold 1, reset_timeout_ms 3 600 000),
 * b02..b15 closed fillers. Ops 1-5 run on the full registry (lookup of
 * "b15", the last created); then b08 is destroyed and op 6 is create +
 * destroy of "scratch" in that free slot. The clock is a variable
 * (fusebox_set_clock_var64) fixed at 1 000 000 ms: no system clock read.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <pthread.h>

#include "fusebox.h"

#define NOINLINE __attribute__((noinline))
#define CAP 16
#define K 1000

static volatile uint64_t clock_ms = 1000000;

static int32_t ok_op(void *userdata) {
    (void)userdata;
    return 0;
}

typedef uint32_t (*loop_fn)(const fusebox_registry *reg, fusebox_id id, long n);

/* ---- global registry ---- */
NOINLINE static uint32_t g_call(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    int32_t r;
    (void)reg;
    for (long i = 0; i < n; i++) acc |= fusebox_call(id, ok_op, NULL, &r);
    return acc;
}
NOINLINE static uint32_t g_acq(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    (void)reg;
    for (long i = 0; i < n; i++) {
        acc |= fusebox_try_acquire(id);
        acc |= fusebox_record_success(id);
    }
    return acc;
}
NOINLINE static uint32_t g_reject(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    (void)reg;
    for (long i = 0; i < n; i++) acc |= fusebox_try_acquire(id) ^ FUSEBOX_CIRCUIT_OPEN;
    return acc;
}
NOINLINE static uint32_t g_stats(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_stats s;
    (void)reg;
    for (long i = 0; i < n; i++) acc |= fusebox_stats_get(id, &s);
    return acc;
}
NOINLINE static uint32_t g_lookup(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_id out = 0;
    (void)reg;
    for (long i = 0; i < n; i++) acc |= fusebox_lookup("b15", &out);
    return acc | (out != id);
}
static fusebox_config cfg_main;
NOINLINE static uint32_t g_crdes(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_id out;
    (void)reg;
    (void)id;
    for (long i = 0; i < n; i++) {
        acc |= fusebox_create("scratch", &cfg_main, &out);
        acc |= fusebox_destroy(out);
    }
    return acc;
}

/* ---- placed registry (private or shared) ---- */
NOINLINE static uint32_t r_call(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    int32_t r;
    for (long i = 0; i < n; i++) acc |= fusebox_registry_call(reg, id, ok_op, NULL, &r);
    return acc;
}
NOINLINE static uint32_t r_acq(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) {
        acc |= fusebox_registry_try_acquire(reg, id);
        acc |= fusebox_registry_record_success(reg, id);
    }
    return acc;
}
NOINLINE static uint32_t r_reject(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    for (long i = 0; i < n; i++) acc |= fusebox_registry_try_acquire(reg, id) ^ FUSEBOX_CIRCUIT_OPEN;
    return acc;
}
NOINLINE static uint32_t r_stats(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_stats s;
    for (long i = 0; i < n; i++) acc |= fusebox_registry_stats_get(reg, id, &s);
    return acc;
}
NOINLINE static uint32_t r_lookup(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_id out = 0;
    for (long i = 0; i < n; i++) acc |= fusebox_registry_lookup(reg, "b15", &out);
    return acc | (out != id);
}
NOINLINE static uint32_t r_crdes(const fusebox_registry *reg, fusebox_id id, long n) {
    uint32_t acc = 0;
    fusebox_id out;
    (void)id;
    for (long i = 0; i < n; i++) {
        acc |= fusebox_registry_create(reg, "scratch", &cfg_main, &out);
        acc |= fusebox_registry_destroy(reg, out);
    }
    return acc;
}

enum { OP_CALL, OP_ACQ, OP_REJECT, OP_STATS, OP_LOOKUP, OP_CRDES, NOPS };
static const char *op_names[NOPS] = {
    "call (closed, op ok)", "try_acquire+record_success", "reject (open, try_acquire)",
    "stats_get", "lookup (16 breakers, last)", "create+destroy",
};
static const loop_fn g_ops[NOPS] = {g_call, g_acq, g_reject, g_stats, g_lookup, g_crdes};
static const loop_fn r_ops[NOPS] = {r_call, r_acq, r_reject, r_stats, r_lookup, r_crdes};

/* callgrind: each cg_* runs its op K times; Ir inclusive / K. */
static const loop_fn *cur_ops;
static const fusebox_registry *cur_reg;
static fusebox_id op_id[NOPS];
NOINLINE void cg_call(void) { if (cur_ops[OP_CALL](cur_reg, op_id[OP_CALL], K)) exit(10); }
NOINLINE void cg_acq(void) { if (cur_ops[OP_ACQ](cur_reg, op_id[OP_ACQ], K)) exit(11); }
NOINLINE void cg_reject(void) { if (cur_ops[OP_REJECT](cur_reg, op_id[OP_REJECT], K)) exit(12); }
NOINLINE void cg_stats(void) { if (cur_ops[OP_STATS](cur_reg, op_id[OP_STATS], K)) exit(13); }
NOINLINE void cg_lookup(void) { if (cur_ops[OP_LOOKUP](cur_reg, op_id[OP_LOOKUP], K)) exit(14); }
NOINLINE void cg_crdes(void) { if (cur_ops[OP_CRDES](cur_reg, op_id[OP_CRDES], K)) exit(15); }

static void die(const char *what, fusebox_status st) {
    fprintf(stderr, "%s: %s (%u)\n", what, fusebox_status_str(st), st);
    exit(2);
}
#define CHECK(what, expr)                                \
    do {                                                 \
        fusebox_status st_ = (expr);                     \
        if (st_ != FUSEBOX_OK) die(what, st_);           \
    } while (0)

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *map_mem(size_t len, int shared) {
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return m;
}

/* Places (or not) the row's registry and creates b00..b15; fills op_id. */
static const fusebox_registry *setup(const char *row, int defcfg) {
    fusebox_registry *reg = NULL;
    fusebox_config open_cfg;
    fusebox_id ids[CAP];
    char name[8];
    int global = strcmp(row, "global") == 0;
    CHECK("set_clock_var64", fusebox_set_clock_var64(&clock_ms));
    fusebox_config_init(&cfg_main);
    if (!defcfg) cfg_main.half_open_max_wait_ms = 60000;
    open_cfg = cfg_main;
    open_cfg.failure_threshold = 1;
    open_cfg.reset_timeout_ms = 3600000;
    if (!global) {
        size_t len = fusebox_registry_size(CAP);
        void *mem;
        if (len == 0 || fusebox_registry_align() > 4096) die("registry_size/align", 99);
        if (strcmp(row, "private") == 0) {
            mem = map_mem(len, 0);
            CHECK("registry_place", fusebox_registry_place(mem, len, CAP, &reg));
        } else if (strcmp(row, "shared") == 0) {
            mem = map_mem(len, 1);
            CHECK("registry_place_shared", fusebox_registry_place_shared(mem, len, CAP, &reg));
        } else {
            fprintf(stderr, "unknown row %s\n", row);
            exit(2);
        }
        cur_ops = r_ops;
    } else {
        if (fusebox_capacity() != CAP) {
            fprintf(stderr, "global capacity %zu, expected %d\n", fusebox_capacity(), CAP);
            exit(2);
        }
        cur_ops = g_ops;
    }
    for (int i = 0; i < CAP; i++) {
        snprintf(name, sizeof name, "b%02d", i);
        const fusebox_config *c = i == 1 ? &open_cfg : &cfg_main;
        if (global) CHECK("create", fusebox_create(name, c, &ids[i]));
        else CHECK("registry_create", fusebox_registry_create(reg, name, c, &ids[i]));
    }
    if (global) CHECK("record_failure", fusebox_record_failure(ids[1]));
    else CHECK("registry_record_failure", fusebox_registry_record_failure(reg, ids[1]));
    {
        fusebox_state s;
        if (global) CHECK("get_state", fusebox_get_state(ids[1], &s));
        else CHECK("get_state", fusebox_registry_get_state(reg, ids[1], &s));
        if (s != FUSEBOX_STATE_OPEN) die("b01 not open", 98);
    }
    op_id[OP_CALL] = op_id[OP_ACQ] = op_id[OP_STATS] = ids[0];
    op_id[OP_REJECT] = ids[1];
    op_id[OP_LOOKUP] = ids[15];
    op_id[OP_CRDES] = 0;
    cur_reg = reg;
    return reg;
}

static void free_slot(const fusebox_registry *reg, fusebox_id b08) {
    if (reg) CHECK("registry_destroy b08", fusebox_registry_destroy(reg, b08));
    else CHECK("destroy b08", fusebox_destroy(b08));
}

static fusebox_id lookup_id(const fusebox_registry *reg, const char *name) {
    fusebox_id id;
    if (reg) CHECK("lookup", fusebox_registry_lookup(reg, name, &id));
    else CHECK("lookup", fusebox_lookup(name, &id));
    return id;
}

static int mode_time(const char *row, long n, int repeats, int defcfg) {
    const fusebox_registry *reg = setup(row, defcfg);
    double *v = calloc((size_t)repeats, sizeof *v);
    for (int op = 0; op < NOPS; op++) {
        if (op == OP_CRDES) free_slot(reg, lookup_id(reg, "b08"));
        if (cur_ops[op](reg, op_id[op], n / 10)) die(op_names[op], 97); /* warm-up */
        for (int r = 0; r < repeats; r++) {
            double t0 = now_ns();
            uint32_t acc = cur_ops[op](reg, op_id[op], n);
            double t1 = now_ns();
            if (acc) die(op_names[op], acc);
            v[r] = (t1 - t0) / (double)n;
        }
        qsort(v, (size_t)repeats, sizeof *v, cmp_d);
        printf("%-8s %-30s median %8.2f  min %8.2f  max %8.2f ns/op  (N=%ld, %d repeats)\n", row,
               op_names[op], v[repeats / 2], v[0], v[repeats - 1], n, repeats);
        fflush(stdout);
    }
    free(v);
    return 0;
}

static int mode_cg(const char *row, int defcfg) {
    const fusebox_registry *reg = setup(row, defcfg);
    /* Warm-up of every op outside the measured functions (lane claims, PLT). */
    for (int op = 0; op < NOPS - 1; op++)
        if (cur_ops[op](reg, op_id[op], 100)) die(op_names[op], 97);
    cg_call();
    cg_acq();
    cg_reject();
    cg_stats();
    cg_lookup();
    free_slot(reg, lookup_id(reg, "b08"));
    if (cur_ops[OP_CRDES](reg, 0, 100)) die("crdes warm-up", 97);
    cg_crdes();
    printf("done %s\n", row);
    return 0;
}

/* ---- processes on one shared registry ---- */
struct mp_area {
    volatile int ready;
    volatile int go;
    double ns[2];
    double t0[2], t1[2];
};

/* procs processes; breaker per process: ids[p]; private: each child places
 * its own private registry (baseline: no sharing at all). */
static void mp_case(const char *label, int procs, const fusebox_registry *reg, const fusebox_id *ids,
                    int private_each, long n, int repeats) {
    struct mp_area *a = map_mem(4096, 1);
    double *v = calloc((size_t)(repeats * procs), sizeof *v);
    double *tot = calloc((size_t)repeats, sizeof *tot);
    double *ovl = calloc((size_t)repeats, sizeof *ovl);
    for (int r = 0; r < repeats; r++) {
        pid_t pids[2];
        a->ready = 0;
        a->go = 0;
        for (int p = 0; p < procs; p++) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("fork");
                exit(2);
            }
            if (pid == 0) {
                const fusebox_registry *myreg = reg;
                fusebox_id myid = ids[p];
                if (private_each) {
                    fusebox_registry *pr;
                    size_t len = fusebox_registry_size(CAP);
                    void *mem = map_mem(len, 0);
                    CHECK("place", fusebox_registry_place(mem, len, CAP, &pr));
                    CHECK("create", fusebox_registry_create(pr, "x", &cfg_main, &myid));
                    myreg = pr;
                }
                r_call(myreg, myid, n / 10);
                __atomic_add_fetch(&a->ready, 1, __ATOMIC_SEQ_CST);
                while (!__atomic_load_n(&a->go, __ATOMIC_ACQUIRE)) {
                }
                double t0 = now_ns();
                uint32_t acc = r_call(myreg, myid, n);
                double t1 = now_ns();
                a->ns[p] = acc ? -1.0 : (t1 - t0) / (double)n;
                a->t0[p] = t0;
                a->t1[p] = t1;
                _exit(acc ? 3 : 0);
            }
            pids[p] = pid;
        }
        while (__atomic_load_n(&a->ready, __ATOMIC_SEQ_CST) < procs) usleep(100);
        __atomic_store_n(&a->go, 1, __ATOMIC_RELEASE);
        for (int p = 0; p < procs; p++) {
            int status;
            waitpid(pids[p], &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "child failed (%d)\n", status);
                exit(2);
            }
            v[r * procs + p] = a->ns[p];
        }
        /* aggregate throughput of this repeat in Mops/s */
        tot[r] = 0;
        for (int p = 0; p < procs; p++) tot[r] += 1e3 / a->ns[p];
        /* overlap of the two timed loops, as a fraction of the longer one */
        if (procs == 2) {
            double s0 = a->t0[0] > a->t0[1] ? a->t0[0] : a->t0[1];
            double e0 = a->t1[0] < a->t1[1] ? a->t1[0] : a->t1[1];
            double l0 = a->t1[0] - a->t0[0], l1 = a->t1[1] - a->t0[1];
            ovl[r] = (e0 - s0) / (l0 > l1 ? l0 : l1);
        } else ovl[r] = 1.0;
    }
    qsort(ovl, (size_t)repeats, sizeof *ovl, cmp_d);
    qsort(v, (size_t)(repeats * procs), sizeof *v, cmp_d);
    qsort(tot, (size_t)repeats, sizeof *tot, cmp_d);
    int m = repeats * procs;
    printf("mp %-44s per-process ns/op: median %7.2f  min %7.2f  max %7.2f   (%d values)  total Mops/s median %6.1f [%.1f..%.1f]  overlap median %.2f min %.2f\n",
           label, m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2, v[0], v[m - 1], m,
           tot[repeats / 2], tot[0], tot[repeats - 1], ovl[repeats / 2], ovl[0]);
    fflush(stdout);
    free(v);
    free(tot);
    free(ovl);
    munmap(a, 4096);
}

static int mode_mp(long n, int repeats) {
    const fusebox_registry *reg = setup("shared", 0);
    fusebox_id b0 = lookup_id(reg, "b00"), b2 = lookup_id(reg, "b02");
    fusebox_id same[2] = {b0, b0}, diff[2] = {b0, b2};
    fusebox_stats s0, s1, s2, s3;
    CHECK("stats", fusebox_registry_stats_get(reg, b0, &s0));
    CHECK("stats", fusebox_registry_stats_get(reg, b2, &s1));
    mp_case("1 process, shared registry, b00", 1, reg, same, 0, n, repeats);
    mp_case("2 processes, shared registry, ONE breaker", 2, reg, same, 0, n, repeats);
    mp_case("2 processes, shared registry, two breakers", 2, reg, diff, 0, n, repeats);
    mp_case("1 process, own private registry (baseline)", 1, NULL, same, 1, n, repeats);
    mp_case("2 processes, own private registry each (base)", 2, NULL, same, 1, n, repeats);
    CHECK("stats", fusebox_registry_stats_get(reg, b0, &s2));
    CHECK("stats", fusebox_registry_stats_get(reg, b2, &s3));
    /* every call of every child went to the shared breakers: */
    uint64_t per = (uint64_t)(n + n / 10);
    uint64_t exp0 = per * (uint64_t)repeats * 4, exp2 = per * (uint64_t)repeats;
    printf("mp check: b00 success_count +%llu (expected %llu), b02 +%llu (expected %llu)\n",
           (unsigned long long)(s2.success_count - s0.success_count), (unsigned long long)exp0,
           (unsigned long long)(s3.success_count - s1.success_count), (unsigned long long)exp2);
    return (s2.success_count - s0.success_count == exp0 && s3.success_count - s1.success_count == exp2) ? 0 : 4;
}

/* ---- threads on one placed private registry (both commits): contention
 * on one breaker's slot lock without processes ---- */
struct mt_job {
    const fusebox_registry *reg;
    fusebox_id id;
    long n;
    double ns;
};
static pthread_barrier_t mt_bar;
static void *mt_worker(void *arg) {
    struct mt_job *j = arg;
    r_call(j->reg, j->id, j->n / 10);
    pthread_barrier_wait(&mt_bar);
    double t0 = now_ns();
    uint32_t acc = r_call(j->reg, j->id, j->n);
    double t1 = now_ns();
    j->ns = acc ? -1.0 : (t1 - t0) / (double)j->n;
    return NULL;
}
static void mt_case(const char *label, int threads, const fusebox_registry *reg, const fusebox_id *ids,
                    long n, int repeats) {
    double *v = calloc((size_t)(repeats * threads), sizeof *v);
    for (int r = 0; r < repeats; r++) {
        pthread_t th[2];
        struct mt_job jobs[2];
        pthread_barrier_init(&mt_bar, NULL, (unsigned)threads);
        for (int t = 0; t < threads; t++) {
            jobs[t].reg = reg;
            jobs[t].id = ids[t];
            jobs[t].n = n;
            pthread_create(&th[t], NULL, mt_worker, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            if (jobs[t].ns < 0) die("mt", 96);
            v[r * threads + t] = jobs[t].ns;
        }
        pthread_barrier_destroy(&mt_bar);
    }
    int m = repeats * threads;
    qsort(v, (size_t)m, sizeof *v, cmp_d);
    printf("mt %-44s per-thread ns/op: median %7.2f  min %7.2f  max %7.2f   (%d values)\n", label,
           m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2, v[0], v[m - 1], m);
    fflush(stdout);
    free(v);
}
static int mode_mt(long n, int repeats) {
    const fusebox_registry *reg = setup("private", 0);
    fusebox_id b0 = lookup_id(reg, "b00"), b2 = lookup_id(reg, "b02");
    fusebox_id same[2] = {b0, b0}, diff[2] = {b0, b2};
    mt_case("1 thread, private registry, b00", 1, reg, same, n, repeats);
    mt_case("2 threads, private registry, ONE breaker", 2, reg, same, n, repeats);
    mt_case("2 threads, private registry, two breakers", 2, reg, diff, n, repeats);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "time") == 0) {
        long n = argc > 3 ? atol(argv[3]) : 3000000;
        int repeats = argc > 4 ? atoi(argv[4]) : 9;
        int defcfg = argc > 5 && strcmp(argv[5], "def") == 0;
        return mode_time(argv[2], n, repeats, defcfg);
    }
    if (argc >= 3 && strcmp(argv[1], "cg") == 0)
        return mode_cg(argv[2], argc > 3 && strcmp(argv[3], "def") == 0);
    if (argc >= 2 && strcmp(argv[1], "mt") == 0) {
        long n = argc > 2 ? atol(argv[2]) : 2000000;
        int repeats = argc > 3 ? atoi(argv[3]) : 9;
        return mode_mt(n, repeats);
    }
    if (argc >= 2 && strcmp(argv[1], "mp") == 0) {
        long n = argc > 2 ? atol(argv[2]) : 2000000;
        int repeats = argc > 3 ? atoi(argv[3]) : 9;
        return mode_mp(n, repeats);
    }
    fprintf(stderr, "usage: meas time ROW [N] [REPEATS] [def] | cg ROW [def] | mp [N] [REPEATS]\n");
    return 1;
}
