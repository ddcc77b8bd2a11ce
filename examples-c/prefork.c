/*
 * prefork.c: one breaker shared by a parent and its forked workers, as in
 * a prefork server (Linux).
 *
 * The parent places a registry in an anonymous shared mapping before it
 * forks: the workers inherit the mapping, the registry's handle and the
 * breaker's id. Worker 0 goes first and finds the upstream down: its
 * failures open the breaker. Workers 1 to 3, forked once worker 0 is done,
 * see it open: their calls are rejected without reaching the upstream.
 * Each worker writes what it saw to a second shared mapping; the parent
 * prints it. (Unrelated processes would map the same memory with shm_open
 * and reach the registry with fusebox_registry_attach.)
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusebox.h"

#define WORKERS 4
#define CALLS 5

/* What a worker saw, written by it, read by the parent. */
struct report {
    int ran;      /* calls that reached the upstream */
    int rejected; /* calls the open breaker turned away */
    fusebox_state state_after;
};

static fusebox_registry *reg; /* inherited across fork */
static fusebox_id upstream;

/* The upstream: down (-1) for worker 0, which finds the outage; up (0)
 * for the others, who never get to find out. */
static int32_t call_upstream(void *userdata) {
    return *(const int32_t *)userdata;
}

static int check(fusebox_status st, const char *what) {
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "%s: %s\n", what, fusebox_status_str(st));
        return 1;
    }
    return 0;
}

/* A worker's life: CALLS calls through the shared breaker. */
static int work(int n, struct report *out) {
    int32_t reply = n == 0 ? -1 : 0;
    int i;
    for (i = 0; i < CALLS; i++) {
        int32_t result;
        fusebox_status st = fusebox_registry_call(reg, upstream, call_upstream, &reply, &result);
        if (st == FUSEBOX_OK) {
            out->ran++;
        } else if (st == FUSEBOX_CIRCUIT_OPEN) {
            out->rejected++;
        } else {
            return check(st, "call");
        }
    }
    return check(fusebox_registry_get_state(reg, upstream, &out->state_after), "get_state");
}

/* Forks worker `n`, which reports to `out` and exits. */
static pid_t spawn(int n, struct report *out) {
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        _exit(work(n, out));
    }
    if (pid < 0) {
        perror("fork");
    }
    return pid;
}

/* Waits for `pid`; 0 if it exited with status 0. */
static int reap(pid_t pid) {
    int status;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0
               ? 0
               : 1;
}

int main(void) {
    size_t size = fusebox_registry_size(4);
    fusebox_config cfg;
    fusebox_stats s;
    struct report *reports;
    void *mem;
    pid_t pids[WORKERS];
    int n, bad = 0;

    /* Shared by every process forked after this; mmap is page aligned,
     * which covers fusebox_registry_align(). */
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    reports = mmap(NULL, sizeof(struct report) * WORKERS, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0); /* zeroed */
    if (mem == MAP_FAILED || reports == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    if (check(fusebox_registry_place_shared(mem, size, 4, &reg), "place_shared")) return 1;

    fusebox_config_init(&cfg);
    cfg.failure_threshold = 3;
    cfg.reset_timeout_ms = 60000; /* stays open for the whole demo */
    /* Required in a shared registry: a probe whose process dies is never
     * reported, so half-open must end on its own. */
    cfg.half_open_max_wait_ms = 1000;
    if (check(fusebox_registry_create(reg, "upstream", &cfg, &upstream), "create")) return 1;

    /* Worker 0 first, alone: its failures open the breaker. Then the
     * others, together, once it has exited. */
    if ((pids[0] = spawn(0, &reports[0])) < 0 || reap(pids[0])) return 1;
    for (n = 1; n < WORKERS; n++) {
        if ((pids[n] = spawn(n, &reports[n])) < 0) return 1;
    }
    for (n = 1; n < WORKERS; n++) {
        bad |= reap(pids[n]);
    }

    for (n = 0; n < WORKERS; n++) {
        printf("worker %d (upstream %s): %d calls ran, %d rejected; breaker %s\n", n,
               n == 0 ? "down" : "up", reports[n].ran, reports[n].rejected,
               fusebox_state_str(reports[n].state_after));
    }
    if (check(fusebox_registry_stats_get(reg, upstream, &s), "stats_get")) return 1;
    printf("parent: \"upstream\" is %s: %llu failures, %llu calls rejected in all\n",
           fusebox_state_str(s.state), (unsigned long long)s.failure_total,
           (unsigned long long)s.rejected_count);

    /* Sharing worked if worker 0's failures opened the breaker for all. */
    bad |= reports[0].ran != (int)cfg.failure_threshold;
    for (n = 0; n < WORKERS; n++) {
        bad |= reports[n].state_after != FUSEBOX_STATE_OPEN;
        if (n > 0) bad |= reports[n].ran != 0 || reports[n].rejected != CALLS;
    }
    bad |= s.rejected_count != (uint64_t)(WORKERS * CALLS) - cfg.failure_threshold;
    if (bad) {
        fprintf(stderr, "prefork: the workers did not share the breaker\n");
        return 1;
    }
    munmap(reports, sizeof(struct report) * WORKERS);
    munmap(mem, size);
    return 0;
}
