//! The C API of the policies (feature `policies`): permits, outcomes with
//! durations, classified calls, manual control, retry-after and the event
//! listener. Built without the feature, every function here returns
//! `FUSEBOX_UNSUPPORTED` and writes nothing.

use core::ffi::c_void;

#[cfg(feature = "policies")]
use super::clock::{with_precise_time, with_time};
#[cfg(feature = "policies")]
use super::convert::or_ok;
#[cfg(not(feature = "policies"))]
use super::types::FUSEBOX_UNSUPPORTED;
use super::types::{
    fusebox_id, fusebox_op_fn, fusebox_outcome, fusebox_reason, fusebox_state, fusebox_status,
};
#[cfg(feature = "policies")]
use super::types::{FUSEBOX_INVALID_CONFIG, FUSEBOX_OK};
use super::REGISTRY;
#[cfg(feature = "policies")]
use crate::events::Sink;
#[cfg(feature = "policies")]
use crate::{Breaker, Event, Id, Outcome, Permit, State};
use crate::{RegistryInner, Storage};

/// An admission handed out by `fusebox_acquire_permit`, to be given back to
/// `fusebox_complete` with the call's outcome. Plain data: copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fusebox_permit {
    /// The breaker.
    pub id: fusebox_id,
    /// The breaker's generation at admission.
    pub generation: u32,
    /// The state the call was admitted in (`FUSEBOX_STATE_HALF_OPEN`: a probe).
    pub state: fusebox_state,
    /// Clock reading at admission (slow calls are measured from it).
    pub start_ms: u64,
}

/// A state change, as the listener receives it.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fusebox_event {
    /// The breaker.
    pub id: fusebox_id,
    /// The clock reading of the operation that caused the change.
    /// `fusebox_reset` reads no clock: its change carries the reading at
    /// which the state it ends began (`fusebox_stats.state_since_ms`).
    pub now_ms: u64,
    /// Position among all state changes (from 1, wraps): increasing.
    pub seq: u32,
    /// The state before.
    pub from: fusebox_state,
    /// The state after.
    pub to: fusebox_state,
    /// Why (`FUSEBOX_REASON_*`).
    pub reason: fusebox_reason,
    /// The breaker's generation after the change.
    pub generation: u32,
}

/// Maps an op's return value to an outcome, for `fusebox_call_classified`.
pub type fusebox_classify_fn =
    Option<unsafe extern "C" fn(result: i32, userdata: *mut c_void) -> fusebox_outcome>;
/// Receives state changes (see `fusebox_set_listener`).
pub type fusebox_listener_fn =
    Option<unsafe extern "C" fn(event: *const fusebox_event, userdata: *mut c_void)>;

#[cfg(feature = "policies")]
fn outcome(code: fusebox_outcome) -> Option<Outcome> {
    Some(match code {
        super::FUSEBOX_OUTCOME_SUCCESS => Outcome::Success,
        super::FUSEBOX_OUTCOME_FAILURE => Outcome::Failure,
        super::FUSEBOX_OUTCOME_IGNORED => Outcome::Ignored,
        _ => return None,
    })
}

/// Records a call's `outcome` (`FUSEBOX_OUTCOME_*`) that took `duration_ms`
/// (slow when longer than `slow_call_ms`, if slow calls are on), for
/// callers that admit and time calls themselves. An unknown outcome code
/// is `FUSEBOX_INVALID_CONFIG`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_record(
    id: fusebox_id,
    outcome: fusebox_outcome,
    duration_ms: u64,
) -> fusebox_status {
    record_in(&REGISTRY, id, outcome, duration_ms)
}

/// `fusebox_record` in `reg`.
#[inline(always)]
pub(super) fn record_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    outcome: fusebox_outcome,
    duration_ms: u64,
) -> fusebox_status {
    #[cfg(feature = "policies")]
    {
        let Some(o) = self::outcome(outcome) else {
            return FUSEBOX_INVALID_CONFIG;
        };
        or_ok(with_time(|now| {
            reg.record(Id::from_raw(id), o, duration_ms, now)
        }))
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id, outcome, duration_ms);
        FUSEBOX_UNSUPPORTED
    }
}

/// Admits a call like `fusebox_try_acquire` and writes a permit for it to
/// `*out_permit`, to complete with `fusebox_complete`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_permit` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_acquire_permit(
    id: fusebox_id,
    out_permit: *mut fusebox_permit,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { acquire_permit_in(&REGISTRY, id, out_permit) }
}

/// `fusebox_acquire_permit` in `reg`.
///
/// # Safety
/// As `fusebox_acquire_permit`.
#[inline(always)]
pub(super) unsafe fn acquire_permit_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    out_permit: *mut fusebox_permit,
) -> fusebox_status {
    non_null!(out_permit);
    #[cfg(feature = "policies")]
    {
        let r = with_precise_time(|now| reg.try_acquire_permit(Id::from_raw(id), now)).map(|p| {
            fusebox_permit {
                id,
                generation: p.generation(),
                state: p.admitted_in().code(),
                start_ms: p.start_ms(),
            }
        });
        out_result!(out_permit, r)
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// Completes `*permit` with its call's `outcome`. The call was slow if it
/// took longer than `slow_call_ms` since the permit was handed out. A permit
/// from an earlier generation (the breaker changed state, was reset, or
/// released its probes since) records nothing: `FUSEBOX_STALE_PERMIT`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `permit` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_complete(
    permit: *const fusebox_permit,
    outcome: fusebox_outcome,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { complete_in(&REGISTRY, permit, outcome) }
}

/// `fusebox_complete` in `reg`.
///
/// # Safety
/// As `fusebox_complete`.
#[inline(always)]
pub(super) unsafe fn complete_in(
    reg: &RegistryInner<impl Storage>,
    permit: *const fusebox_permit,
    outcome: fusebox_outcome,
) -> fusebox_status {
    non_null!(permit);
    // SAFETY: non-NULL, and readable by the caller's contract.
    let p = unsafe { &*permit };
    #[cfg(feature = "policies")]
    {
        let (Some(o), Some(state)) = (self::outcome(outcome), State::from_code(p.state)) else {
            return FUSEBOX_INVALID_CONFIG;
        };
        let permit = Permit::from_parts(p.generation, state, p.start_ms);
        or_ok(with_precise_time(|now| {
            reg.complete(Id::from_raw(p.id), &permit, o, now)
        }))
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, p, outcome);
        FUSEBOX_UNSUPPORTED
    }
}

/// Runs `op(userdata)` like `fusebox_call`, but `classify(result, userdata)`
/// decides how the result counts (`FUSEBOX_OUTCOME_*`; an unknown code
/// counts as a failure). The call goes through a permit: a result that
/// arrives after the breaker moved on is not recorded; nor, as in
/// `fusebox_call`, one whose recording finds the breaker busy (firmware
/// with policies). `*out_result` receives `op`'s value and the status is
/// `FUSEBOX_OK` whenever `op` ran.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_result` is NULL or writable; `op` and `classify` are safe to call
/// with `userdata`.
#[no_mangle]
pub unsafe extern "C" fn fusebox_call_classified(
    id: fusebox_id,
    op: fusebox_op_fn,
    classify: fusebox_classify_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { call_classified_in(&REGISTRY, id, op, classify, userdata, out_result) }
}

/// `fusebox_call_classified` in `reg`.
///
/// # Safety
/// As `fusebox_call_classified`.
#[inline(always)]
pub(super) unsafe fn call_classified_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    op: fusebox_op_fn,
    classify: fusebox_classify_fn,
    userdata: *mut c_void,
    out_result: *mut i32,
) -> fusebox_status {
    let op = try_fn!(op);
    let classify = try_fn!(classify);
    non_null!(out_result);
    #[cfg(feature = "policies")]
    {
        let id = Id::from_raw(id);
        let permit = try_status!(with_precise_time(|now| reg.try_acquire_permit(id, now)));
        // SAFETY: the caller vouches for `op(userdata)`.
        let result = unsafe { op(userdata) };
        // SAFETY: the caller vouches for `classify(result, userdata)`.
        let o = self::outcome(unsafe { classify(result, userdata) }).unwrap_or(Outcome::Failure);
        // Stale or destroyed: the op ran, its result stands.
        let _ = with_precise_time(|now| reg.complete(id, &permit, o, now));
        out!(out_result, result)
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id, op, classify, userdata);
        FUSEBOX_UNSUPPORTED
    }
}

/// Writes to `*out_ms` how long until a call may be admitted, if nothing
/// else happens first (no probe reports, no manual change): 0 if one would
/// be now; open, the time left in the open window; forced open for a time
/// (`fusebox_force_open_for`, `_until`), the time left of it; half-open
/// with every probe slot taken and a `half_open_max_wait_ms`, the time left
/// of that wait, plus, with `FUSEBOX_WAIT_REOPEN` and
/// `FUSEBOX_WAIT_REOPEN_ALWAYS`, the open duration the reopen will have
/// (backoff and jitter applied). `FUSEBOX_RETRY_NEVER` when no time alone
/// will do (forced open until `fusebox_reset`, or every probe slot taken
/// with no wait limit).
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
///
/// # Safety
/// `out_ms` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_retry_after_ms(
    id: fusebox_id,
    out_ms: *mut u64,
) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { retry_after_ms_in(&REGISTRY, id, out_ms) }
}

/// `fusebox_retry_after_ms` in `reg`.
///
/// # Safety
/// As `fusebox_retry_after_ms`.
#[inline(always)]
pub(super) unsafe fn retry_after_ms_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    out_ms: *mut u64,
) -> fusebox_status {
    non_null!(out_ms);
    #[cfg(feature = "policies")]
    {
        let r = with_time(|now| reg.retry_after_ms(Id::from_raw(id), now))
            .map(|ms| ms.unwrap_or(super::FUSEBOX_RETRY_NEVER));
        out_result!(out_ms, r)
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// The manual change `op` (a `Breaker::MANUAL_*` code, with `arg`) on
/// breaker `id`: the one path of every manual function.
#[cfg(feature = "policies")]
#[inline(never)]
fn manual(reg: &RegistryInner<impl Storage>, id: fusebox_id, op: u8, arg: u64) -> fusebox_status {
    or_ok(with_time(|now| reg.manual(Id::from_raw(id), op, arg, now)))
}

/// Holds the breaker open (`FUSEBOX_STATE_FORCED_OPEN`): every call is
/// rejected until `fusebox_reset` (or another manual change; see
/// `fusebox_force_open_for` for a time limit).
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_force_open(id: fusebox_id) -> fusebox_status {
    force_open_in(&REGISTRY, id)
}

/// `fusebox_force_open` in `reg`.
#[inline(always)]
pub(super) fn force_open_in(reg: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_FORCE_OPEN, 0);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// Holds the breaker open (`FUSEBOX_STATE_FORCED_OPEN`) for `duration_ms`
/// from now (the registry's clock): every call is rejected, and
/// `fusebox_retry_after_ms` answers the time left. Then it goes half-open
/// (`FUSEBOX_REASON_TIMEOUT`), as an open breaker whose open duration has
/// passed, and probes. 0 ends at once: the breaker is half-open when this
/// returns. `fusebox_reset` or another manual change ends it sooner; a
/// repeated call replaces the time. A clock that goes back re-bases the
/// time on that reading: never more than `duration_ms` of forward time.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_force_open_for(id: fusebox_id, duration_ms: u64) -> fusebox_status {
    force_open_for_in(&REGISTRY, id, duration_ms)
}

/// `fusebox_force_open_for` in `reg`.
#[inline(always)]
pub(super) fn force_open_for_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    duration_ms: u64,
) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_FORCE_OPEN_FOR, duration_ms);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id, duration_ms);
        FUSEBOX_UNSUPPORTED
    }
}

/// Holds the breaker open until the registry's clock (`fusebox_now_ms`)
/// reads `until_ms`, as `fusebox_force_open_for(id, until_ms - now)`. An
/// instant not after now has passed already: the breaker is half-open when
/// this returns. The time is taken as a duration from now, so a clock that
/// goes back never holds the breaker open longer than asked at the call.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_force_open_until(id: fusebox_id, until_ms: u64) -> fusebox_status {
    force_open_until_in(&REGISTRY, id, until_ms)
}

/// `fusebox_force_open_until` in `reg`.
#[inline(always)]
pub(super) fn force_open_until_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
    until_ms: u64,
) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_FORCE_OPEN_UNTIL, until_ms);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id, until_ms);
        FUSEBOX_UNSUPPORTED
    }
}

/// Moves the breaker to half-open by hand (`FUSEBOX_REASON_MANUAL`), from
/// any state: a new round of probes starts now, judged as any other
/// (`half_open_max_calls`, `half_open_max_wait_ms` from now,
/// `half_open_judge`). Already half-open: the round starts again, and the
/// permits of its probes become stale.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_force_half_open(id: fusebox_id) -> fusebox_status {
    force_half_open_in(&REGISTRY, id)
}

/// `fusebox_force_half_open` in `reg`.
#[inline(always)]
pub(super) fn force_half_open_in(
    reg: &RegistryInner<impl Storage>,
    id: fusebox_id,
) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_FORCE_HALF_OPEN, 0);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// Switches the breaker off (`FUSEBOX_STATE_DISABLED`): every call is
/// allowed, successes and failures are counted, until `fusebox_reset`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_disable(id: fusebox_id) -> fusebox_status {
    disable_in(&REGISTRY, id)
}

/// `fusebox_disable` in `reg`.
#[inline(always)]
pub(super) fn disable_in(reg: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_DISABLE, 0);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// Watches only (`FUSEBOX_STATE_METRICS_ONLY`): every call is allowed and
/// recorded as when closed (counters, rate window), nothing trips, until
/// `fusebox_reset`.
/// A state change is delivered to the listener before this returns (see
/// `fusebox_set_listener`: who waits for what).
#[no_mangle]
pub extern "C" fn fusebox_metrics_only(id: fusebox_id) -> fusebox_status {
    metrics_only_in(&REGISTRY, id)
}

/// `fusebox_metrics_only` in `reg`.
#[inline(always)]
pub(super) fn metrics_only_in(reg: &RegistryInner<impl Storage>, id: fusebox_id) -> fusebox_status {
    #[cfg(feature = "policies")]
    return manual(reg, id, Breaker::MANUAL_METRICS_ONLY, 0);
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, id);
        FUSEBOX_UNSUPPORTED
    }
}

/// Calls the application's listener `func` (type-erased by
/// `fusebox_set_listener`) with `ev` and `userdata`.
#[cfg(feature = "policies")]
fn deliver(ev: &Event, func: unsafe extern "C" fn(), userdata: usize) {
    // SAFETY: `fusebox_set_listener` erased a non-NULL
    // `fusebox_listener_fn` of exactly this type.
    let func: unsafe extern "C" fn(*const fusebox_event, *mut c_void) =
        unsafe { core::mem::transmute(func) };
    let t = ev.transition;
    let c = fusebox_event {
        id: ev.id.to_raw(),
        now_ms: t.now_ms,
        seq: ev.seq,
        from: t.from.code(),
        to: t.to.code(),
        reason: t.reason as u32,
        generation: t.generation,
    };
    // SAFETY: the application registered `func` with `userdata`, and the
    // queue marks this call in progress, so `fusebox_set_listener` does not
    // return (and the application does not free `userdata`) before it ends.
    unsafe { func(&c, userdata as *mut c_void) };
}

/// Sets the function that receives every state change of every breaker,
/// with `userdata`; NULL removes it. It is called outside every critical
/// section and lock, on whichever thread delivers the event, one event at
/// a time, in the order the changes happened (increasing `seq`), also when
/// threads race. It may call fusebox (a change it causes is delivered by
/// the same thread after it returns). Events that find the queue full (a
/// listener slow while many breakers change) are dropped and counted:
/// `fusebox_events_dropped`.
///
/// **Retiring the old listener.** When this returns `FUSEBOX_OK`, the
/// listener it replaced will never be called again: its userdata may be
/// freed at once. It waits for the one call of the old listener in
/// progress on another thread, if any (as long as that call lasts), and
/// for nothing else.
///
/// **Who waits for what.** The functions that can change a breaker's
/// state (`fusebox_try_acquire`, `fusebox_allow_call`, `fusebox_call`,
/// `fusebox_record_success`, `fusebox_record_failure`, `fusebox_get_state`,
/// `fusebox_reset`, and the policy functions: `fusebox_acquire_permit`,
/// `fusebox_complete`, `fusebox_call_classified`, `fusebox_record`,
/// `fusebox_force_open`, `fusebox_force_open_for`,
/// `fusebox_force_open_until`, `fusebox_force_half_open`,
/// `fusebox_disable`, `fusebox_metrics_only`, `fusebox_retry_after_ms`)
/// deliver events. A call that changed no state never waits for the
/// listener. A call that changed some returns after the listener received
/// its events: it calls the listener itself for them and for the events
/// other threads queued before them, never for those queued after, and if
/// another thread is calling the listener it first waits for it to finish
/// the events queued before its own. Without `std` (firmware) nothing
/// waits: events of an interrupt that finds a delivery in progress are
/// delivered by the code it preempted, when it resumes.
///
/// Returns `FUSEBOX_BUSY`, and the listener is kept, when the call in
/// progress cannot finish first: with `std`, when called from inside the
/// listener (or from a clock or op it causes to run, on its thread);
/// without `std` (firmware), whenever a listener call is in progress
/// (from the listener, from an interrupt that preempted it, or on another
/// core or thread; retry later, e.g. from the main loop). A library built
/// without policies answers `FUSEBOX_UNSUPPORTED`.
#[no_mangle]
pub extern "C" fn fusebox_set_listener(
    listener: fusebox_listener_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    set_listener_in(&REGISTRY, listener, userdata)
}

/// `fusebox_set_listener` in `reg`.
#[inline(always)]
pub(super) fn set_listener_in(
    reg: &RegistryInner<impl Storage>,
    listener: fusebox_listener_fn,
    userdata: *mut c_void,
) -> fusebox_status {
    #[cfg(feature = "policies")]
    {
        let sink = listener.map(|f| Sink::Foreign {
            call: deliver,
            // SAFETY: a function pointer to a function pointer of the same
            // size; `deliver` turns it back into this exact type.
            func: unsafe {
                core::mem::transmute::<
                    unsafe extern "C" fn(*const fusebox_event, *mut c_void),
                    unsafe extern "C" fn(),
                >(f)
            },
            data: userdata as usize,
        });
        match reg.set_sink(sink) {
            Ok(()) => FUSEBOX_OK,
            Err(e) => super::status_of(e),
        }
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = (reg, listener, userdata);
        FUSEBOX_UNSUPPORTED
    }
}

/// Writes to `*out_count` how many events were dropped on a full queue.
///
/// # Safety
/// `out_count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn fusebox_events_dropped(out_count: *mut u32) -> fusebox_status {
    // SAFETY: this function's contract.
    unsafe { events_dropped_in(&REGISTRY, out_count) }
}

/// `fusebox_events_dropped` in `reg`.
///
/// # Safety
/// As `fusebox_events_dropped`.
#[inline(always)]
pub(super) unsafe fn events_dropped_in(
    reg: &RegistryInner<impl Storage>,
    out_count: *mut u32,
) -> fusebox_status {
    non_null!(out_count);
    #[cfg(feature = "policies")]
    {
        out!(out_count, reg.events_dropped())
    }
    #[cfg(not(feature = "policies"))]
    {
        let _ = reg;
        FUSEBOX_UNSUPPORTED
    }
}
