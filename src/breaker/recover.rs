//! A breaker left half-written by a killed process (a registry shared by
//! processes, src/slot/robust.rs), brought back to a valid state.

use super::Breaker;
use crate::Config;

impl Breaker {
    /// A breaker whose last writer was killed at any instant mid-write (a
    /// process sharing a placed registry): restarted closed, as a new
    /// breaker of its configuration (the default one if that is not
    /// valid: only a `create` writes it, into a slot not yet occupied),
    /// with its lifetime totals kept as they were (successes, admitted,
    /// rejected, failures in total; with policies also transitions, slow,
    /// stale and ignored outcomes, dropped transitions, time in each
    /// state). Every other field is rewritten, so nothing half-written
    /// survives but one count in flight (each total is written by one
    /// store on 64-bit targets: src/breaker/split.rs). O(size): the policy
    /// state is copied once (a cold path, on hosts).
    #[cfg_attr(not(fusebox_robust), allow(dead_code))]
    pub(crate) fn recover(&mut self) {
        let config = if self.config.validate().is_ok() {
            self.config
        } else {
            Config::default()
        };
        let old = self.ext.clone();
        let kept = (
            self.success_count,
            self.admitted_count,
            self.rejected_count,
            self.failure_total,
        );
        self.init_in_place(config);
        (
            self.success_count,
            self.admitted_count,
            self.rejected_count,
            self.failure_total,
        ) = kept;
        self.ext.keep_totals(&old);
    }
}
