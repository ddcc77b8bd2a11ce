/* A program that uses an installed fusebox and nothing of its source tree:
 * built by CMake (find_package) and by a Makefile (pkg-config) in
 * `make -C examples-c install-check`. With -DWITH_SECOND_RUST it also calls
 * a second Rust static library (examples-c/second-rust). */
#include <fusebox.h>
#include <stdint.h>
#include <stdio.h>

#ifdef WITH_SECOND_RUST
uint64_t second_rust_sum(uint32_t n);
#endif

int main(void) {
    if (fusebox_version() != FUSEBOX_VERSION) {
        fprintf(stderr, "header %#x, library %#x\n", (unsigned)FUSEBOX_VERSION,
                (unsigned)fusebox_version());
        return 1;
    }
    struct fusebox_config cfg;
    fusebox_config_init(&cfg);
    cfg.failure_threshold = 2;
    fusebox_id id;
    if (fusebox_create("consumer", &cfg, &id) != FUSEBOX_OK) return 1;
    fusebox_record_failure(id);
    fusebox_record_failure(id);
    fusebox_status s = fusebox_try_acquire(id);
    if (s != FUSEBOX_CIRCUIT_OPEN) {
        fprintf(stderr, "expected an open breaker, got %s\n", fusebox_status_str(s));
        return 1;
    }
#ifdef WITH_SECOND_RUST
    if (second_rust_sum(10) != 45 || second_rust_sum(4) != 51) {
        fprintf(stderr, "the second Rust library answered wrong\n");
        return 1;
    }
#endif
    printf("fusebox %d.%d.%d installed: breaker opened after 2 failures (%s)\n",
           FUSEBOX_VERSION_MAJOR, FUSEBOX_VERSION_MINOR, FUSEBOX_VERSION_PATCH,
           fusebox_status_str(s));
    return fusebox_destroy(id) == FUSEBOX_OK ? 0 : 1;
}
