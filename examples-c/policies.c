/*
 * policies.c: the policies beyond Snakepit, from C. A breaker that trips
 * on its failure rate over the last 10 calls, backs its open time off on
 * each failed probe, needs two successful probes to close, and writes
 * off a probe that hangs. A listener prints every state change; a permit
 * shows a late result being ignored; a classifier keeps "not found" from
 * counting as an outage; a maintenance hold forces the breaker open for
 * a time, after which it probes. A simulated clock makes the run instant
 * and deterministic.
 */
#include <stdio.h>

#include "fusebox.h"

static uint64_t now_ms = 1000;
static uint64_t sim_clock(void *userdata) {
    (void)userdata;
    return now_ms;
}

static const char *reason_str(fusebox_reason r) {
    static const char *names[] = {"failure threshold", "failure rate", "slow-call rate",
                                  "timeout",           "probes succeeded", "probe failed",
                                  "probe timeout",     "manual"};
    return r < sizeof names / sizeof names[0] ? names[r] : "?";
}

static void on_change(const fusebox_event *ev, void *userdata) {
    (void)userdata;
    printf("  [event %u at t=%llu] %s -> %s (%s)\n", (unsigned)ev->seq,
           (unsigned long long)now_ms, fusebox_state_str(ev->from), fusebox_state_str(ev->to),
           reason_str(ev->reason));
}

/* An upstream call: returns an HTTP-like status. */
static int32_t upstream(void *userdata) {
    return *(const int32_t *)userdata;
}

static fusebox_outcome by_status(int32_t status, void *userdata) {
    (void)userdata;
    if (status == 200) {
        return FUSEBOX_OUTCOME_SUCCESS;
    }
    return status == 404 ? FUSEBOX_OUTCOME_IGNORED : FUSEBOX_OUTCOME_FAILURE;
}

static int check(fusebox_status st, const char *what) {
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "%s: %s\n", what, fusebox_status_str(st));
        return 1;
    }
    return 0;
}

int main(void) {
    fusebox_config cfg;
    fusebox_id id;
    fusebox_permit hung, late;
    fusebox_stats s;
    uint64_t wait = 0;
    int32_t status, result;
    int i;

    fusebox_config_init(&cfg);
    cfg.trip_rule = FUSEBOX_TRIP_FAILURE_RATE;
    cfg.window_size = 10;   /* the last 10 calls */
    cfg.minimum_calls = 5;  /* judged from 5 calls on */
    cfg.failure_rate_percent = 50;
    cfg.reset_timeout_ms = 1000;
    cfg.half_open_max_calls = 2;
    cfg.half_open_success_threshold = 2;
    cfg.half_open_max_wait_ms = 300; /* a probe that hangs is written off */
    cfg.backoff_percent = 200;       /* 1 s, 2 s, 4 s... */
    cfg.max_open_ms = 8000;

    if (check(fusebox_set_clock(sim_clock, NULL), "set_clock") ||
        check(fusebox_set_listener(on_change, NULL), "set_listener") ||
        check(fusebox_create("payments", &cfg, &id), "create")) {
        return 1;
    }

    printf("closed: 404s are the caller's business, 500s are outages\n");
    for (i = 0; i < 8; i++) {
        status = (i % 2 == 0) ? 404 : 500;
        if (fusebox_call_classified(id, upstream, by_status, &status, &result) ==
            FUSEBOX_CIRCUIT_OPEN) {
            printf("  call %d rejected\n", i);
        }
        now_ms += 10;
    }
    if (check(fusebox_stats_get(id, &s), "stats")) {
        return 1;
    }
    printf("  ignored=%llu window: %u calls, %u failures\n", (unsigned long long)s.ignored_count,
           (unsigned)s.window_calls, (unsigned)s.window_failures);

    printf("more 500s: 5 of 5 judged calls fail\n");
    status = 500;
    while (fusebox_call_classified(id, upstream, by_status, &status, &result) == FUSEBOX_OK) {
        now_ms += 10;
    }
    fusebox_retry_after_ms(id, &wait);
    printf("  open; retry after %llu ms\n", (unsigned long long)wait);

    printf("the first probe fails: open again, for twice as long\n");
    now_ms += wait;
    fusebox_call_classified(id, upstream, by_status, &status, &result);
    fusebox_retry_after_ms(id, &wait);
    printf("  retry after %llu ms\n", (unsigned long long)wait);

    printf("a probe hangs; after 300 ms it is written off\n");
    now_ms += wait;
    if (check(fusebox_acquire_permit(id, &hung), "acquire_permit")) {
        return 1;
    }
    now_ms += 300;
    status = 200;
    fusebox_call_classified(id, upstream, by_status, &status, &result);
    fusebox_call_classified(id, upstream, by_status, &status, &result);
    printf("  the hung probe reports at last: %s\n",
           fusebox_status_str(fusebox_complete(&hung, FUSEBOX_OUTCOME_FAILURE)));

    printf("closed again; a call that began before a manual hold finishes after it\n");
    if (check(fusebox_acquire_permit(id, &late), "acquire_permit") ||
        check(fusebox_force_open(id), "force_open")) {
        return 1;
    }
    printf("  its result: %s\n", fusebox_status_str(fusebox_complete(&late, FUSEBOX_OUTCOME_SUCCESS)));
    fusebox_reset(id);

    printf("a maintenance hold of 1 s (forced open for a time), then two probes\n");
    if (check(fusebox_force_open_for(id, 1000), "force_open_for")) {
        return 1;
    }
    fusebox_retry_after_ms(id, &wait);
    printf("  held; retry after %llu ms\n", (unsigned long long)wait);
    now_ms += wait;
    status = 200;
    fusebox_call_classified(id, upstream, by_status, &status, &result);
    fusebox_call_classified(id, upstream, by_status, &status, &result);

    if (check(fusebox_stats_get(id, &s), "stats")) {
        return 1;
    }
    printf("stats: state=%s transitions=%llu stale=%llu ignored=%llu time open=%llu ms "
           "half-open=%llu ms\n",
           fusebox_state_str(s.state), (unsigned long long)s.transitions,
           (unsigned long long)s.stale_count, (unsigned long long)s.ignored_count, (unsigned long long)s.time_open_ms,
           (unsigned long long)s.time_half_open_ms);
    fusebox_set_listener(NULL, NULL);
    return check(fusebox_destroy(id), "destroy");
}
