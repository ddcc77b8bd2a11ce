/*
 * shared_kill.c: a registry shared by processes survives workers killed
 * (SIGKILL) at random instants, holding locks or in the middle of a
 * create or a destroy.
 *
 * The parent places a shared registry in an anonymous shared mapping,
 * creates FIXED breakers, then forks WORKERS processes that hammer it for
 * ever: calls that succeed or fail at random, try_acquire + record,
 * permits, stats reads, resets, and structural operations (each worker
 * creates and destroys a breaker of its own, "w<slot>", over and over, so
 * that kills land inside them too). The parent, until MAX_KILLS kills or
 * MAX_SECONDS (1000 and 20 s; argv[1] and argv[2] change them), whichever
 * comes first: sleeps 0 to 2 ms, SIGKILLs a random worker, reaps it,
 * checks the invariants, and forks a replacement. Prints the number of
 * kills, the time, and where the kills landed (the operation the worker
 * had begun: creates and destroys among them).
 *
 * Checked after each kill, under an alarm (a wedged lock fails the test
 * with a message instead of hanging it):
 *  - every fixed breaker is found by name, with the id it was created
 *    with, and exactly once by the lock-free walk;
 *  - its stats read OK, with its config (a recovered breaker keeps it)
 *    and a valid state; the cumulative counters that a recovery keeps
 *    (success_count, failure_total, rejected_count, admitted_count,
 *    transitions: src/breaker/recover.rs) never decrease, and admitted_count is at
 *    least success_count + failure_total (every outcome the workers
 *    record follows an admission; a kill may lose a count in flight, but
 *    only one not yet written, never one already read);
 *  - at one instant (snapshot_all, under the structural lock): no two
 *    breakers have the same name, and there are at most FIXED + WORKERS;
 *  - the parent creates, finds, uses and destroys a breaker of its own
 *    (the structural lock is not wedged);
 *  - every worker is alive but the one killed, which died of SIGKILL (a
 *    worker that meets an unexpected status exits with a message).
 * At the end all workers are killed, the same checks run once more, each
 * leftover worker breaker is destroyed, and exactly the fixed breakers
 * must remain. Exits non-zero on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fusebox.h"

#define CAPACITY 16
#define FIXED 4
#define WORKERS 4
#define MAX_KILLS 1000 /* default; argv[1] */
#define MAX_SECONDS 20 /* default; argv[2] */
#define CHECK_SECONDS 5

static const char *const fixed_names[FIXED] = {"db", "cache", "auth", "search"};

static fusebox_registry *reg;
static fusebox_config cfg;
static fusebox_id fixed_ids[FIXED];
static volatile pid_t workers[WORKERS];

/* What each worker is doing, written by it before each operation, read by
 * the parent after a kill: where kills landed. In the shared mapping. */
enum phase { P_CALL, P_ACQUIRE, P_PERMIT, P_READ, P_RESET, P_CREATE, P_OWN, P_DESTROY, P_COUNT };
static const char *const phase_names[P_COUNT] = {"call",  "acquire+record", "permit",
                                                 "read",  "reset",          "create",
                                                 "own",   "destroy"};
static _Atomic int *phases; /* [WORKERS] */

/* ------------------------------------------------------------ utilities */

static uint64_t rng_state;
static uint32_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static void seed(uint64_t s) { rng_state = s ? s : 0x9e3779b97f4a7c15ULL; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void kill_all_workers(void) {
    for (int i = 0; i < WORKERS; i++) {
        if (workers[i] > 0) {
            kill(workers[i], SIGKILL);
        }
    }
}

/* A check that did not finish in CHECK_SECONDS: a lock that a killed
 * worker held was never recovered. Async-signal-safe. */
static void on_alarm(int sig) {
    static const char msg[] =
        "shared_kill: FAILED: the parent's checks did not finish within 5 s "
        "(a lock wedged by a killed worker?)\n";
    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    kill_all_workers();
    _exit(2);
}

static int32_t op_result(void *userdata) { return *(const int32_t *)userdata; }

/* ---------------------------------------------------------------- worker */

static void worker_fail(int slot, const char *what, fusebox_status st) {
    fprintf(stderr, "shared_kill: worker %d (pid %d): %s: unexpected %s\n", slot, (int)getpid(),
            what, fusebox_status_str(st));
    _exit(3);
}

/* `st` must be one of the statuses the operation may answer. */
#define WORKER_EXPECT(what, st, ok)                                                                \
    do {                                                                                           \
        fusebox_status s_ = (st);                                                                  \
        if (!(ok)) {                                                                               \
            worker_fail(slot, what, s_);                                                           \
        }                                                                                          \
    } while (0)

static void set_phase(int slot, enum phase p) {
    atomic_store_explicit(&phases[slot], (int)p, memory_order_relaxed);
}

/* Hammers the registry until killed. Never returns. */
static void worker(int slot, pid_t parent) {
    char own[16];
    snprintf(own, sizeof own, "w%d", slot);
    /* Dies with the parent, whatever way the parent ends. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        _exit(0);
    }
    seed((uint64_t)getpid() * 0x100000001b3ULL ^ (uint64_t)(now_s() * 1e9));

    for (;;) {
        uint32_t r = rnd() % 100;
        fusebox_id id = fixed_ids[rnd() % FIXED];
        fusebox_status st;

        if (r < 35) {
            int32_t fail = (rnd() % 100) < 30 ? -1 : 0, result;
            set_phase(slot, P_CALL);
            st = fusebox_registry_call(reg, id, op_result, &fail, &result);
            WORKER_EXPECT("call", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_CIRCUIT_OPEN);
        } else if (r < 60) {
            set_phase(slot, P_ACQUIRE);
            st = fusebox_registry_try_acquire(reg, id);
            WORKER_EXPECT("try_acquire", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_CIRCUIT_OPEN);
            if (st == FUSEBOX_OK) {
                st = (rnd() % 100) < 30 ? fusebox_registry_record_failure(reg, id)
                                        : fusebox_registry_record_success(reg, id);
                WORKER_EXPECT("record", st, s_ == FUSEBOX_OK);
            }
        } else if (r < 70) {
            fusebox_permit permit;
            set_phase(slot, P_PERMIT);
            st = fusebox_registry_acquire_permit(reg, id, &permit);
            WORKER_EXPECT("acquire_permit", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_CIRCUIT_OPEN);
            if (st == FUSEBOX_OK) {
                st = fusebox_registry_complete(reg, &permit,
                                               (rnd() % 100) < 30 ? FUSEBOX_OUTCOME_FAILURE
                                                                  : FUSEBOX_OUTCOME_SUCCESS);
                WORKER_EXPECT("complete", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_STALE_PERMIT);
            }
        } else if (r < 84) {
            fusebox_stats s;
            fusebox_state state;
            set_phase(slot, P_READ);
            st = fusebox_registry_stats_get(reg, id, &s);
            WORKER_EXPECT("stats_get", st, s_ == FUSEBOX_OK);
            st = fusebox_registry_get_state(reg, id, &state);
            WORKER_EXPECT("get_state", st, s_ == FUSEBOX_OK);
        } else if (r < 86) {
            set_phase(slot, P_RESET);
            st = fusebox_registry_reset(reg, id);
            WORKER_EXPECT("reset", st, s_ == FUSEBOX_OK);
        } else {
            /* Structural: create this worker's breaker, use it, destroy
             * it. A predecessor in this slot killed between its create
             * and its destroy left it: destroy that one first. */
            fusebox_id mine;
            int32_t ok = 0, result;
            set_phase(slot, P_CREATE);
            st = fusebox_registry_create(reg, own, &cfg, &mine);
            WORKER_EXPECT("create own", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_NAME_TAKEN);
            if (st == FUSEBOX_NAME_TAKEN) {
                st = fusebox_registry_lookup(reg, own, &mine);
                WORKER_EXPECT("lookup leftover", st, s_ == FUSEBOX_OK);
            }
            set_phase(slot, P_OWN);
            st = fusebox_registry_call(reg, mine, op_result, &ok, &result);
            WORKER_EXPECT("call own", st, s_ == FUSEBOX_OK || s_ == FUSEBOX_CIRCUIT_OPEN);
            set_phase(slot, P_DESTROY);
            st = fusebox_registry_destroy(reg, mine);
            WORKER_EXPECT("destroy own", st, s_ == FUSEBOX_OK);
        }
    }
}

static pid_t spawn(int slot) {
    pid_t parent = getpid();
    pid_t pid;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("shared_kill: fork");
        kill_all_workers();
        exit(1);
    }
    if (pid == 0) {
        worker(slot, parent);
    }
    return pid;
}

/* ---------------------------------------------------------------- checks */

static int failed;
static const char *when_checked;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "shared_kill: FAILED (%s): ", when_checked);                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            failed = 1;                                                                            \
        }                                                                                          \
    } while (0)

static fusebox_stats last_stats[FIXED];

/* The fixed breakers: by name, by stats. */
static void check_fixed(void) {
    for (int i = 0; i < FIXED; i++) {
        fusebox_id id = 0;
        fusebox_stats s;
        fusebox_status st = fusebox_registry_lookup(reg, fixed_names[i], &id);
        CHECK(st == FUSEBOX_OK && id == fixed_ids[i], "lookup(\"%s\"): %s, id %#llx (created %#llx)",
              fixed_names[i], fusebox_status_str(st), (unsigned long long)id,
              (unsigned long long)fixed_ids[i]);
        st = fusebox_registry_stats_get(reg, fixed_ids[i], &s);
        CHECK(st == FUSEBOX_OK, "stats_get(\"%s\"): %s", fixed_names[i], fusebox_status_str(st));
        if (st != FUSEBOX_OK) {
            continue;
        }
        CHECK(s.failure_threshold == cfg.failure_threshold &&
                  s.reset_timeout_ms == cfg.reset_timeout_ms &&
                  s.half_open_max_calls == cfg.half_open_max_calls,
              "\"%s\": config changed (threshold %u, reset %u ms, probes %u)", fixed_names[i],
              (unsigned)s.failure_threshold, (unsigned)s.reset_timeout_ms,
              (unsigned)s.half_open_max_calls);
        CHECK(s.state <= FUSEBOX_STATE_METRICS_ONLY, "\"%s\": state %u", fixed_names[i],
              (unsigned)s.state);
#define MONOTONIC(field)                                                                           \
    CHECK(s.field >= last_stats[i].field, "\"%s\": " #field " went back from %llu to %llu",       \
          fixed_names[i], (unsigned long long)last_stats[i].field, (unsigned long long)s.field)
        MONOTONIC(success_count);
        MONOTONIC(failure_total);
        MONOTONIC(rejected_count);
        MONOTONIC(admitted_count);
        /* Recovery keeps every lifetime total, transitions included. */
        MONOTONIC(transitions);
#undef MONOTONIC
        CHECK(s.admitted_count >= s.success_count + s.failure_total,
              "\"%s\": admitted %llu < successes %llu + failures %llu", fixed_names[i],
              (unsigned long long)s.admitted_count, (unsigned long long)s.success_count,
              (unsigned long long)s.failure_total);
        last_stats[i] = s;
    }
}

/* The lock-free walk: each fixed breaker (alive for the whole walk) is
 * visited exactly once, with its id. */
static void check_walk(void) {
    int seen[FIXED] = {0};
    fusebox_id id = 0;
    unsigned steps = 0;
    while (fusebox_registry_next(reg, id, &id) == FUSEBOX_OK) {
        char name[FUSEBOX_NAME_MAX + 1];
        size_t n;
        CHECK(++steps <= CAPACITY, "the walk visits more than %d breakers", CAPACITY);
        if (steps > CAPACITY) {
            return;
        }
        if (fusebox_registry_name(reg, id, name, sizeof name, &n) != FUSEBOX_OK) {
            continue; /* destroyed meanwhile (a worker's own) */
        }
        for (int i = 0; i < FIXED; i++) {
            if (strcmp(name, fixed_names[i]) == 0) {
                seen[i]++;
                CHECK(id == fixed_ids[i], "walk: \"%s\" has id %#llx (created %#llx)", name,
                      (unsigned long long)id, (unsigned long long)fixed_ids[i]);
            }
        }
    }
    for (int i = 0; i < FIXED; i++) {
        CHECK(seen[i] == 1, "walk: \"%s\" visited %d times", fixed_names[i], seen[i]);
    }
}

/* The registry at one instant (snapshot_all holds the structural lock):
 * names unique, at most `most` breakers. Returns the count (-1: error).
 * Registry blob (src/snapshot.rs): "FBXR", version (u16), count (u16),
 * then per breaker: name length (1), name (31), breaker blob; CRC. */
static uint8_t *blob;
static size_t blob_max;

static int check_names(int most) {
    size_t len = 0, entry = 1 + FUSEBOX_NAME_MAX + fusebox_snapshot_max();
    char names[CAPACITY][FUSEBOX_NAME_MAX + 1];
    int count;
    fusebox_status st = fusebox_registry_snapshot_all(reg, blob, blob_max, &len);
    CHECK(st == FUSEBOX_OK, "snapshot_all: %s", fusebox_status_str(st));
    if (st != FUSEBOX_OK) {
        return -1;
    }
    count = blob[6] | blob[7] << 8;
    CHECK(memcmp(blob, "FBXR", 4) == 0 && len == 12 + (size_t)count * entry,
          "snapshot_all: a blob of %zu bytes for %d breakers", len, count);
    CHECK(count <= most, "%d breakers, more than the %d there can be", count, most);
    if (count > CAPACITY || len != 12 + (size_t)count * entry) {
        return -1;
    }
    for (int k = 0; k < count; k++) {
        const uint8_t *e = blob + 8 + (size_t)k * entry;
        size_t n = e[0] <= FUSEBOX_NAME_MAX ? e[0] : FUSEBOX_NAME_MAX;
        memcpy(names[k], e + 1, n);
        names[k][n] = '\0';
        CHECK(n >= 1, "snapshot_all: an empty name");
        for (int j = 0; j < k; j++) {
            CHECK(strcmp(names[j], names[k]) != 0, "two breakers named \"%s\"", names[k]);
        }
    }
    return count;
}

/* The parent's own breaker: created, found, used, destroyed. */
static void check_own(void) {
    fusebox_id id = 0, found = 0;
    int32_t ok = 0, result;
    fusebox_status st = fusebox_registry_create(reg, "parent", &cfg, &id);
    CHECK(st == FUSEBOX_OK, "create(\"parent\"): %s", fusebox_status_str(st));
    if (st != FUSEBOX_OK) {
        return;
    }
    st = fusebox_registry_lookup(reg, "parent", &found);
    CHECK(st == FUSEBOX_OK && found == id, "lookup(\"parent\"): %s", fusebox_status_str(st));
    st = fusebox_registry_call(reg, id, op_result, &ok, &result);
    CHECK(st == FUSEBOX_OK && result == 0, "call(\"parent\"): %s", fusebox_status_str(st));
    st = fusebox_registry_destroy(reg, id);
    CHECK(st == FUSEBOX_OK, "destroy(\"parent\"): %s", fusebox_status_str(st));
    st = fusebox_registry_lookup(reg, "parent", &found);
    CHECK(st == FUSEBOX_NOT_FOUND, "lookup(\"parent\") after destroy: %s",
          fusebox_status_str(st));
}

/* Every worker but those already reaped is still running. */
static void check_workers_alive(void) {
    for (int i = 0; i < WORKERS; i++) {
        int status;
        pid_t p;
        if (workers[i] <= 0) {
            continue;
        }
        p = waitpid(workers[i], &status, WNOHANG);
        if (p == workers[i]) {
            CHECK(0, "worker %d died on its own (%s %d)", i,
                  WIFSIGNALED(status) ? "signal" : "exit status",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            workers[i] = 0;
        }
    }
}

static void check_all(const char *when, int most) {
    when_checked = when;
    alarm(CHECK_SECONDS);
    check_fixed();
    check_walk();
    check_names(most);
    check_own();
    alarm(0);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv) {
    size_t size = fusebox_registry_size(CAPACITY);
    void *mem;
    void *progress;
    fusebox_status st;
    unsigned long by_phase[P_COUNT] = {0};
    int kills = 0;
    int max_kills = argc > 1 ? atoi(argv[1]) : MAX_KILLS;
    double max_seconds = argc > 2 ? atof(argv[2]) : MAX_SECONDS;
    double start, elapsed;

    signal(SIGALRM, on_alarm);
    seed((uint64_t)getpid() ^ (uint64_t)(now_s() * 1e6));

    if (size == 0 || fusebox_registry_align() > (size_t)sysconf(_SC_PAGESIZE)) {
        fprintf(stderr, "shared_kill: registry size %zu, alignment %zu\n", size,
                fusebox_registry_align());
        return 1;
    }
    /* mmap is page aligned, which fusebox_registry_align() divides. */
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    progress = mmap(NULL, sizeof(_Atomic int) * WORKERS, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED || progress == MAP_FAILED) {
        perror("shared_kill: mmap");
        return 1;
    }
    phases = progress;
    st = fusebox_registry_place_shared(mem, size, CAPACITY, &reg);
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "shared_kill: place_shared: %s\n", fusebox_status_str(st));
        return 1;
    }
    if (fusebox_registry_snapshot_all_max(reg, &blob_max) != FUSEBOX_OK ||
        (blob = malloc(blob_max)) == NULL) {
        fprintf(stderr, "shared_kill: snapshot_all_max\n");
        return 1;
    }

    fusebox_config_init(&cfg);
    cfg.failure_threshold = 3;
    cfg.reset_timeout_ms = 5;
    cfg.half_open_max_calls = 1;
    cfg.half_open_max_wait_ms = 20; /* required in a shared registry */
    for (int i = 0; i < FIXED; i++) {
        st = fusebox_registry_create(reg, fixed_names[i], &cfg, &fixed_ids[i]);
        if (st != FUSEBOX_OK) {
            fprintf(stderr, "shared_kill: create(\"%s\"): %s\n", fixed_names[i],
                    fusebox_status_str(st));
            return 1;
        }
    }
    check_all("before the workers", FIXED);

    for (int i = 0; i < WORKERS; i++) {
        workers[i] = spawn(i);
    }

    start = now_s();
    while (!failed && kills < max_kills && now_s() - start < max_seconds) {
        struct timespec nap = {0, (long)(rnd() % 2000001)};
        int victim = (int)(rnd() % WORKERS);
        int status;
        static char when[64]; /* when_checked points here after the iteration */

        nanosleep(&nap, NULL);
        snprintf(when, sizeof when, "before kill %d", kills + 1);
        when_checked = when;
        check_workers_alive();
        if (failed || workers[victim] <= 0) {
            break;
        }
        kill(workers[victim], SIGKILL);
        alarm(CHECK_SECONDS);
        if (waitpid(workers[victim], &status, 0) != workers[victim]) {
            perror("shared_kill: waitpid");
            failed = 1;
            break;
        }
        alarm(0);
        workers[victim] = 0;
        kills++;
        snprintf(when, sizeof when, "after kill %d", kills);
        when_checked = when;
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "worker %d ended otherwise than by our SIGKILL (status %#x)", victim, status);
        by_phase[atomic_load_explicit(&phases[victim], memory_order_relaxed) % P_COUNT]++;

        check_all(when, FIXED + WORKERS);
        workers[victim] = spawn(victim);
    }
    elapsed = now_s() - start;

    /* The end: every worker killed, the registry checked at rest. */
    kill_all_workers();
    for (int i = 0; i < WORKERS; i++) {
        if (workers[i] > 0) {
            waitpid(workers[i], NULL, 0);
            workers[i] = 0;
        }
    }
    check_all("after the last kill", FIXED + WORKERS);
    when_checked = "at rest";
    alarm(CHECK_SECONDS);
    for (int i = 0; i < WORKERS; i++) {
        char own[16];
        fusebox_id id;
        snprintf(own, sizeof own, "w%d", i);
        if (fusebox_registry_lookup(reg, own, &id) == FUSEBOX_OK) {
            st = fusebox_registry_destroy(reg, id);
            CHECK(st == FUSEBOX_OK, "destroy(\"%s\") left by a killed worker: %s", own,
                  fusebox_status_str(st));
        }
    }
    CHECK(check_names(FIXED) == FIXED, "the fixed breakers alone should remain");
    alarm(0);

    printf("shared_kill: %d kills in %.2f s (%d workers, %d fixed breakers); kills landed in:",
           kills, elapsed, WORKERS, FIXED);
    for (int p = 0; p < P_COUNT; p++) {
        printf(" %s %lu%s", phase_names[p], by_phase[p], p + 1 < P_COUNT ? "," : ";");
    }
    printf(" totals: ");
    for (int i = 0; i < FIXED; i++) {
        printf("%s%s admitted %llu", i ? ", " : "", fixed_names[i],
               (unsigned long long)last_stats[i].admitted_count);
    }
    printf("; %s\n", failed ? "FAILED" : "all invariants held");

    free(blob);
    munmap(progress, sizeof(_Atomic int) * WORKERS);
    munmap(mem, size);
    if (kills == 0) {
        fprintf(stderr, "shared_kill: FAILED: no kill was made\n");
        return 1;
    }
    return failed ? 1 : 0;
}
