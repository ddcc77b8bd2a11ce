/*
 * metrics.c: exports every breaker of the registry in the Prometheus text
 * exposition format (version 0.0.4), with no allocation: the size needed
 * comes back from a first call with a small buffer. Also walks the
 * registry and prints each breaker's name.
 *
 *   ./metrics            the exposition, as a scrape endpoint would serve it
 */
#include <stdio.h>

#include "fusebox.h"

static int op_ok(void *userdata) {
    (void)userdata;
    return 0;
}

static int op_fails(void *userdata) {
    (void)userdata;
    return -1;
}

static int setup(void) {
    fusebox_config c;
    fusebox_id healthy, failing, quoted;
    int result, i;
    fusebox_config_init(&c);
    c.failure_threshold = 2;
    if (fusebox_create("payments", &c, &healthy) != FUSEBOX_OK ||
        fusebox_create("inventory", &c, &failing) != FUSEBOX_OK ||
        fusebox_create("say \"hi\"\\now", &c, &quoted) != FUSEBOX_OK) {
        return -1;
    }
    for (i = 0; i < 5; i++) {
        fusebox_call(healthy, op_ok, NULL, &result);
    }
    /* Two failures open "inventory"; the next call is rejected. */
    for (i = 0; i < 3; i++) {
        fusebox_call(failing, op_fails, NULL, &result);
    }
    fusebox_call(quoted, op_ok, NULL, &result);
    return 0;
}

int main(void) {
    static char text[16384];
    char small[8], name[FUSEBOX_NAME_MAX + 1];
    size_t needed = 0, written = 0;
    fusebox_id id = 0;
    fusebox_status st;

    if (setup() != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    /* Walk the registry (names on stderr, so stdout stays the exposition). */
    while (fusebox_next(id, &id) == FUSEBOX_OK) {
        if (fusebox_name(id, name, sizeof name, &written) == FUSEBOX_OK) {
            fprintf(stderr, "breaker %s (%zu bytes)\n", name, written);
        }
    }
    /* Too small: nothing written, the size needed (NUL included) reported. */
    st = fusebox_metrics_write(small, sizeof small, &needed);
    if (st != FUSEBOX_BUFFER_TOO_SMALL || needed > sizeof text) {
        fprintf(stderr, "metrics size: %s\n", fusebox_status_str(st));
        return 1;
    }
    st = fusebox_metrics_write(text, needed, &written);
    if (st != FUSEBOX_OK || written + 1 != needed) {
        fprintf(stderr, "metrics: %s\n", fusebox_status_str(st));
        return 1;
    }
    fputs(text, stdout);
    return 0;
}
