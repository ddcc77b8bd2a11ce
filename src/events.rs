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

use core::cell::RefCell;
use critical_section::Mutex;

use crate::{Id, Transition};

/// Events a registry holds before they are delivered; more are dropped and
/// counted ([`Registry::events_dropped`](crate::Registry::events_dropped)).
/// Only a listener that is slow while many breakers change state fills it.
pub const EVENT_QUEUE_LEN: usize = 32;

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
    listener: Option<Listener>,
}

/// The queue and the dispatcher flag, behind the critical section
/// (bookkeeping only: a push, a pop, a flag).
#[derive(Debug)]
pub(crate) struct EventQueue(Mutex<RefCell<Queue>>);

impl EventQueue {
    pub(crate) const fn new() -> Self {
        EventQueue(Mutex::new(RefCell::new(Queue {
            events: heapless::Deque::new(),
            dispatching: false,
            dropped: 0,
            seq: 0,
            listener: None,
        })))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Queue) -> R) -> Option<R> {
        critical_section::with(|cs| {
            let mut q = self.0.borrow(cs).try_borrow_mut().ok()?;
            Some(f(&mut q))
        })
    }

    pub(crate) fn set_listener(&self, listener: Option<Listener>) {
        let _ = self.with(|q| q.listener = listener);
    }

    pub(crate) fn dropped(&self) -> u32 {
        self.with(|q| q.dropped).unwrap_or(0)
    }

    /// Queues `id`'s pending transitions, taken from `next` one by one.
    /// Called with the breaker still locked.
    pub(crate) fn push_all(&self, id: Id, mut next: impl FnMut() -> Option<Transition>) {
        let _ = self.with(|q| {
            while let Some(transition) = next() {
                q.seq = q.seq.wrapping_add(1);
                let ev = Event {
                    id,
                    seq: q.seq,
                    transition,
                };
                if q.events.push_back(ev).is_err() {
                    q.dropped = q.dropped.wrapping_add(1);
                }
            }
        });
    }

    /// Delivers queued events unless another thread is already doing so
    /// (it will deliver ours too: it only stops once it finds the queue
    /// empty, and that check and the flag's release are one step).
    pub(crate) fn dispatch(&self) {
        let claimed = self.with(|q| !core::mem::replace(&mut q.dispatching, true));
        if claimed != Some(true) {
            return;
        }
        // Should a Rust listener panic and unwind, the flag is released so
        // that later events are still delivered.
        let guard = Release(self);
        loop {
            let next = self.with(|q| match q.events.pop_front() {
                Some(ev) => Some((ev, q.listener)),
                None => {
                    q.dispatching = false;
                    None
                }
            });
            match next {
                Some(Some((ev, Some(l)))) => (l.func)(&ev, l.data),
                Some(Some((_, None))) => {}
                Some(None) => {
                    // Released together with the empty check.
                    core::mem::forget(guard);
                    return;
                }
                None => return,
            }
        }
    }
}

struct Release<'a>(&'a EventQueue);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = self.0.with(|q| q.dispatching = false);
    }
}
