/*
 * basic.c: Snakepit's usage, in C. A risky operation runs through
 * fusebox_call while a flaky service fails and then recovers; every state
 * change is printed. A fake clock makes it run instantly.
 */
#include <stdio.h>

#include "fusebox.h"

static uint64_t fake_now_ms;

static uint64_t fake_clock(void *userdata) {
    (void)userdata;
    return fake_now_ms;
}

/* The service fails on requests 3..7, then recovers. */
struct service {
    int requests;
};

/* Prints the state when it differs from the last one seen. */
static int watch_state(fusebox_id id, fusebox_state *last) {
    fusebox_state now_state;
    if (fusebox_get_state(id, &now_state) != FUSEBOX_OK) {
        return -1;
    }
    if (now_state != *last) {
        printf("            state: %s -> %s\n", fusebox_state_str(*last),
               fusebox_state_str(now_state));
        *last = now_state;
    }
    return 0;
}

static int32_t risky_operation(void *userdata) {
    struct service *svc = userdata;
    svc->requests++;
    return (svc->requests >= 3 && svc->requests <= 7) ? -1 : 0;
}

int main(void) {
    fusebox_config cfg;
    fusebox_id id;
    fusebox_status st;
    fusebox_state last = FUSEBOX_STATE_CLOSED;
    struct service svc = {0};
    int tick;

    fusebox_set_clock(fake_clock, NULL);
    fusebox_config_init(&cfg);
    cfg.failure_threshold = 3;
    cfg.reset_timeout_ms = 5000;

    st = fusebox_create("flaky-service", &cfg, &id);
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "create: %s\n", fusebox_status_str(st));
        return 1;
    }

    for (tick = 0; tick < 25; tick++) {
        int32_t result = 0;

        if (watch_state(id, &last) != 0) {
            return 1;
        }
        st = fusebox_call(id, risky_operation, &svc, &result);
        if (st == FUSEBOX_OK) {
            printf("t=%5llu ms  call ran: %s\n", (unsigned long long)fake_now_ms,
                   result == 0 ? "ok" : "failed");
        } else if (st == FUSEBOX_CIRCUIT_OPEN) {
            printf("t=%5llu ms  rejected: circuit open\n", (unsigned long long)fake_now_ms);
        } else {
            fprintf(stderr, "call: %s\n", fusebox_status_str(st));
            return 1;
        }

        if (watch_state(id, &last) != 0) {
            return 1;
        }
        fake_now_ms += 1000;
    }

    if (last != FUSEBOX_STATE_CLOSED) {
        fprintf(stderr, "expected the breaker to close again\n");
        return 1;
    }
    printf("service recovered after %d requests; breaker closed\n", svc.requests);
    return fusebox_destroy(id) == FUSEBOX_OK ? 0 : 1;
}
