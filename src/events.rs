//! State-change events of a registry (feature `policies`): a fixed queue
//! filled under the breaker's lock, in the order the changes happened, and
//! emptied by one dispatcher at a time outside every lock.
//!
//! Why a queue and a single dispatcher: the listener must never run inside
//! a critical section, yet two threads that change breakers one after the
//! other must not deliver their events the other way round. Each change is
//! queued while its breaker is still locked (so the queue order is the
//! order of the changes); afterwards, whichever thread finds no dispatcher
//! at work becomes it and delivers everything queued, its own events and
//! the ones other threads queued meanwhile, until the queue is empty.
#![forbid(unsafe_code)]

use crate::slot::SlotCell;
use crate::{Id, Transition};

/// Events a registry holds before they are delivered; more are dropped and
/// counted ([`Registry::events_dropped`](crate::Registry::events_dropped)).
/// Only a listener that is slow while many breakers change state fills it.
pub const EVENT_QUEUE_LEN: usize = 32;

/// Events taken from the queue per lock when delivering.
const BATCH: usize = 8;

/// A breaker's state change, as a registry's listener receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The breaker.
    pub id: Id,
    /// Position of this change among all the registry's changes (from 1,
    /// wraps): listeners receive them in increasing order.
    pub seq: u32,
    /// The change.
    pub transition: Transition,
}

/// A registry's listener: a plain function and a value handed to it, so
/// that no closure (and no allocation) is needed. It runs outside every
/// critical section and lock, on whichever thread delivers the event; it
/// may call the registry (a change it causes is delivered after it
/// returns).
#[derive(Debug, Clone, Copy)]
pub struct Listener {
    /// Called once per event, in order.
    pub func: fn(&Event, usize),
    /// Handed to `func` unchanged.
    pub data: usize,
}

#[derive(Debug)]
struct Queue {
    events: heapless::Deque<Event, EVENT_QUEUE_LEN>,
    dispatching: bool,
    dropped: u32,
    seq: u32,
    /// Sequence number of the last event delivered.
    delivered: u32,
    listener: Option<Listener>,
}

/// The queue and the dispatcher flag, behind a lock of their own
/// (bookkeeping only: a push, a pop, a flag): the slot-lock kind, a spin
/// lock with `std`, a critical section without. Not the registry's
/// critical section on hosts: changes are queued with their breaker's slot
/// locked, while create, lookup and remove lock slots inside the critical
/// section; queueing under it would take the two in the opposite order.
#[derive(Debug)]
pub(crate) struct EventQueue(SlotCell<Queue>);

impl EventQueue {
    pub(crate) const fn new() -> Self {
        EventQueue(SlotCell::new(Queue {
            events: heapless::Deque::new(),
            dispatching: false,
            dropped: 0,
            seq: 0,
            delivered: 0,
            listener: None,
        }))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Queue) -> R) -> Option<R> {
        self.0.with(f).ok()
    }

    pub(crate) fn set_listener(&self, listener: Option<Listener>) {
        let _ = self.with(|q| q.listener = listener);
    }

    pub(crate) fn dropped(&self) -> u32 {
        self.with(|q| q.dropped).unwrap_or(0)
    }

    /// Queues `id`'s pending transitions, taken from `next` one by one.
    /// Called with the breaker still locked. Returns the sequence number of
    /// the last one queued (`None` if none was: all dropped).
    pub(crate) fn push_all(
        &self,
        id: Id,
        mut next: impl FnMut() -> Option<Transition>,
    ) -> Option<u32> {
        self.with(|q| {
            let mut last = None;
            while let Some(transition) = next() {
                q.seq = q.seq.wrapping_add(1);
                let ev = Event {
                    id,
                    seq: q.seq,
                    transition,
                };
                if q.events.push_back(ev).is_err() {
                    q.dropped = q.dropped.wrapping_add(1);
                } else {
                    last = Some(q.seq);
                }
            }
            last
        })
        .flatten()
    }

    /// Delivers the events queued up to `mine` (from [`push_all`]), with
    /// everything queued before them. If another thread is delivering, it
    /// will deliver ours too; with `std` this thread waits (yielding,
    /// outside every lock) until it has, so that an operation returns after
    /// its own events were delivered and producers cannot outrun a slow
    /// listener into a full queue. Without `std` (firmware: one core, where
    /// the dispatcher may be the code this interrupt preempted) it does not
    /// wait.
    ///
    /// [`push_all`]: Self::push_all
    pub(crate) fn deliver(&self, mine: Option<u32>) {
        #[cfg(feature = "std")]
        while !self.dispatch() {
            let Some(seq) = mine else { return };
            if dispatcher::is_here() {
                // Called from our own listener: the events are queued and
                // this very thread delivers them once it returns.
                return;
            }
            let reached = self
                .with(|q| q.delivered.wrapping_sub(seq) < u32::MAX / 2)
                .unwrap_or(true);
            if reached {
                return;
            }
            dispatcher::yield_now();
        }
        #[cfg(not(feature = "std"))]
        {
            let _ = mine;
            self.dispatch();
        }
    }

    /// Delivers queued events unless another thread is already doing so
    /// (it will deliver ours too: it only stops once it finds the queue
    /// empty, and that check and the flag's release are one step).
    /// Returns whether this thread was the dispatcher.
    fn dispatch(&self) -> bool {
        let claimed = self.with(|q| !core::mem::replace(&mut q.dispatching, true));
        if claimed != Some(true) {
            return false;
        }
        // Should a Rust listener panic and unwind, the flag is released so
        // that later events are still delivered.
        let guard = Release(self);
        #[cfg(feature = "std")]
        dispatcher::set_here(true);
        let mut delivered = None;
        loop {
            // Events leave the queue in batches: one lock per batch, so
            // that producers on other threads, which need the same lock to
            // queue, do not outpace delivery.
            let mut batch = heapless::Vec::<Event, BATCH>::new();
            let listener = self.with(|q| {
                if let Some(seq) = delivered {
                    q.delivered = seq;
                }
                while !batch.is_full() {
                    match q.events.pop_front() {
                        Some(ev) => {
                            let _ = batch.push(ev);
                        }
                        None => break,
                    }
                }
                if batch.is_empty() {
                    q.dispatching = false;
                }
                q.listener
            });
            let Some(listener) = listener else {
                // The queue could not be borrowed (not reachable: no user
                // code runs while it is); the guard releases the flag.
                return true;
            };
            if batch.is_empty() {
                // Released together with the empty check.
                core::mem::forget(guard);
                #[cfg(feature = "std")]
                dispatcher::set_here(false);
                return true;
            }
            if let Some(l) = listener {
                for ev in &batch {
                    (l.func)(ev, l.data);
                }
            }
            delivered = batch.last().map(|ev| ev.seq);
        }
    }
}

struct Release<'a>(&'a EventQueue);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = self.0.with(|q| q.dispatching = false);
        #[cfg(feature = "std")]
        dispatcher::set_here(false);
    }
}

/// Whether this thread is delivering events (then it must not wait for
/// itself).
#[cfg(feature = "std")]
mod dispatcher {
    extern crate std;
    use core::cell::Cell;

    std::thread_local! {
        static HERE: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn is_here() -> bool {
        HERE.with(Cell::get)
    }

    pub(super) fn set_here(v: bool) {
        HERE.with(|h| h.set(v));
    }

    pub(super) fn yield_now() {
        std::thread::yield_now();
    }
}
