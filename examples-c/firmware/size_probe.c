/*
 * size_probe.c: links the global registry's C API into a firmware image,
 * so that the size report measures it after --gc-sections: every
 * function but the placed registries' (fusebox_registry_*), the walk
 * (fusebox_name, fusebox_next), fusebox_metrics_write and
 * fusebox_snapshot_max. With -DPROBE_SNAPSHOT the snapshot functions are
 * kept too; with -DPROBE_POLICIES (against the library built with
 * policies) the policy functions.
 * Built, never run.
 */
#include "fusebox.h"

typedef void (*any_fn)(void);

/* volatile: the linker must keep every function it points to. */
any_fn volatile fusebox_size_probe[] = {
    (any_fn)fusebox_config_init,    (any_fn)fusebox_set_clock,
    (any_fn)fusebox_set_clock32,    (any_fn)fusebox_now_ms,
    (any_fn)fusebox_set_clock_var32, (any_fn)fusebox_set_clock_var64,
    (any_fn)fusebox_create,         (any_fn)fusebox_lookup,
    (any_fn)fusebox_destroy,        (any_fn)fusebox_get_state,
    (any_fn)fusebox_allow_call,     (any_fn)fusebox_try_acquire,
    (any_fn)fusebox_record_success, (any_fn)fusebox_record_failure,
    (any_fn)fusebox_call,           (any_fn)fusebox_reset,
    (any_fn)fusebox_stats_get,      (any_fn)fusebox_status_str,
    (any_fn)fusebox_state_str,      (any_fn)fusebox_capacity,
#ifdef PROBE_SNAPSHOT
    (any_fn)fusebox_snapshot,       (any_fn)fusebox_restore,
    (any_fn)fusebox_snapshot_all,   (any_fn)fusebox_restore_all,
    (any_fn)fusebox_snapshot_all_max,
#endif
#ifdef PROBE_POLICIES
    (any_fn)fusebox_record,         (any_fn)fusebox_acquire_permit,
    (any_fn)fusebox_complete,       (any_fn)fusebox_call_classified,
    (any_fn)fusebox_retry_after_ms, (any_fn)fusebox_force_open,
    (any_fn)fusebox_disable,        (any_fn)fusebox_metrics_only,
    (any_fn)fusebox_set_listener,   (any_fn)fusebox_events_dropped,
    (any_fn)fusebox_force_open_for, (any_fn)fusebox_force_open_until,
    (any_fn)fusebox_force_half_open,
    /* the rate-window limits: policy functions, though a build without
     * policies has them too */
    (any_fn)fusebox_max_window_calls, (any_fn)fusebox_max_buckets,
#endif
};

int main(void) {
    return fusebox_size_probe[0] == 0;
}
