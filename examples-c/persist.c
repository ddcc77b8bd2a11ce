/*
 * persist.c: a breaker's state survives a "reboot".
 *
 *   persist save FILE   an upstream fails, the breaker opens; 10 s later the
 *                       program snapshots it to FILE and exits (the reboot).
 *   persist load FILE   a new process, whose clock restarted from 0,
 *                       restores the breaker: it is still open, for the
 *                       20 s it had left, and does not hammer the upstream.
 *
 * A fake clock makes the times exact: the first process has been up for an
 * hour, the second for 50 ms.
 */
#include <stdio.h>
#include <string.h>

#include "fusebox.h"

static uint64_t fake_now_ms;
static uint64_t fake_clock(void *userdata) {
    (void)userdata;
    return fake_now_ms;
}

static fusebox_config upstream_config(void) {
    fusebox_config cfg;
    fusebox_config_init(&cfg); /* 5 failures, 30 s open, 1 probe */
    return cfg;
}

static int save(const char *path) {
    fusebox_config cfg = upstream_config();
    fusebox_id id;
    uint8_t blob[FUSEBOX_SNAPSHOT_LARGEST]; /* any build's (FUSEBOX_SNAPSHOT_MAX: the default limits') */
    size_t len;
    FILE *f;
    int i;

    fake_now_ms = 3600000; /* up for an hour */
    if (fusebox_create("upstream", &cfg, &id) != FUSEBOX_OK) return 1;
    for (i = 0; i < 5; i++) fusebox_record_failure(id);
    printf("[run 1] 5 failures at t=%llu ms: breaker %s\n", (unsigned long long)fake_now_ms,
           fusebox_try_acquire(id) == FUSEBOX_CIRCUIT_OPEN ? "open" : "closed?");
    fake_now_ms += 10000;
    if (fusebox_snapshot(id, blob, sizeof blob, &len) != FUSEBOX_OK) return 1;
    f = fopen(path, "wb");
    if (f == NULL || fwrite(blob, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("[run 1] t=%llu ms: wrote a %u-byte snapshot to %s, rebooting\n",
           (unsigned long long)fake_now_ms, (unsigned)len, path);
    return 0;
}

static int load(const char *path) {
    fusebox_config cfg = upstream_config();
    fusebox_id id;
    uint8_t blob[FUSEBOX_SNAPSHOT_LARGEST]; /* any build's (FUSEBOX_SNAPSHOT_MAX: the default limits') */
    size_t len;
    fusebox_status st;
    uint64_t probe_at[] = {50, 19000, 20049, 20050};
    size_t i;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    len = fread(blob, 1, sizeof blob, f);
    fclose(f);

    fake_now_ms = 50; /* just booted */
    st = fusebox_restore("upstream", &cfg, blob, len, &id);
    if (st != FUSEBOX_OK) {
        fprintf(stderr, "restore: %s\n", fusebox_status_str(st));
        return 1;
    }
    printf("[run 2] restored at t=%llu ms on the new clock\n", (unsigned long long)fake_now_ms);
    for (i = 0; i < sizeof probe_at / sizeof probe_at[0]; i++) {
        fusebox_state state;
        fake_now_ms = probe_at[i];
        fusebox_get_state(id, &state);
        printf("[run 2] t=%5llu ms: %s\n", (unsigned long long)fake_now_ms, fusebox_state_str(state));
        if ((fake_now_ms < 20050) != (state == FUSEBOX_STATE_OPEN)) {
            fprintf(stderr, "expected open for exactly the 20 s left\n");
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    fusebox_set_clock(fake_clock, NULL);
    if (argc == 3 && strcmp(argv[1], "save") == 0) return save(argv[2]);
    if (argc == 3 && strcmp(argv[1], "load") == 0) return load(argv[2]);
    fprintf(stderr, "usage: %s save|load FILE\n", argv[0]);
    return 2;
}
