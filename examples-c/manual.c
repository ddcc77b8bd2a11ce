/*
 * manual.c: try_acquire + record_success/record_failure around a real
 * operation (opening a file), on the host's default monotonic clock, and a
 * second breaker found by name.
 */
#include <stdio.h>

#include "fusebox.h"

static int guarded_open(fusebox_id id, const char *path) {
    FILE *f;
    fusebox_status st = fusebox_try_acquire(id);
    if (st == FUSEBOX_CIRCUIT_OPEN) {
        printf("  %-28s skipped: circuit open\n", path);
        return -1;
    }
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "try_acquire: %s\n", fusebox_status_str(st));
        return -2;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        printf("  %-28s failed to open\n", path);
        fusebox_record_failure(id);
        return -1;
    }
    fclose(f);
    printf("  %-28s opened\n", path);
    fusebox_record_success(id);
    return 0;
}

static int print_stats(const char *name) {
    fusebox_id id;
    fusebox_stats s;
    fusebox_status st = fusebox_lookup(name, &id);
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "lookup %s: %s\n", name, fusebox_status_str(st));
        return -1;
    }
    if (fusebox_stats_get(id, &s) != FUSEBOX_OK) {
        return -1;
    }
    printf("%s: state=%s failures=%llu successes=%llu admitted=%llu rejected=%llu\n", name,
           fusebox_state_str(s.state), (unsigned long long)s.failure_count,
           (unsigned long long)s.success_count, (unsigned long long)s.admitted_count,
           (unsigned long long)s.rejected_count);
    return 0;
}

int main(void) {
    fusebox_config cfg;
    fusebox_id files, config_store;
    int i;

    fusebox_config_init(&cfg);
    cfg.failure_threshold = 2;
    if (fusebox_create("files", &cfg, &files) != FUSEBOX_OK ||
        fusebox_create("config-store", NULL, &config_store) != FUSEBOX_OK) {
        return 1;
    }

    printf("reading a file that exists, then one that does not:\n");
    guarded_open(files, "/proc/self/status");
    for (i = 0; i < 4; i++) {
        guarded_open(files, "/nonexistent/fusebox-demo");
    }
    guarded_open(config_store, "/proc/self/status");

    if (print_stats("files") != 0 || print_stats("config-store") != 0) {
        return 1;
    }
    /* Two failures opened "files"; the later calls were rejected. */
    {
        fusebox_stats s;
        fusebox_stats_get(files, &s);
        if (s.state != FUSEBOX_STATE_OPEN || s.rejected_count != 2) {
            fprintf(stderr, "unexpected stats\n");
            return 1;
        }
    }
    return 0;
}
