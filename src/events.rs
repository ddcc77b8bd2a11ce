//! State-change events of a registry (feature `policies`): a fixed queue
//! filled under the breaker's lock, in the order the changes happened, and
//! emptied by one dispatcher at a time outside every lock.
//!
//! Why a queue and a single dispatcher: the listener must never run inside
//! a critical section, yet two threads that change breakers one after the
//! other must not deliver their events the other way round. Each change is
//! queued while its breaker is still locked (so the queue order is the
//! order of the changes, and each event's sequence number its place).
//!
//! **Who delivers, who waits.** A call that queued no event returns at
//! once: it never delivers and never waits for a listener. A call whose
//! last event is `mine` returns once every event up to `mine` was
//! delivered. If no dispatcher is at work it becomes it and delivers the
//! events queued up to `mine`, the ones other threads queued before its
//! own included, and no further: what other threads queue after it is
//! theirs to deliver. If another thread is delivering, it waits (spinning
//! briefly, then yielding, then sleeping) until that thread stops, then
//! takes over. So a call waits at most for the listener calls of the
//! events queued before its own, and delivers at most those and its own.
//!
//! A caller that cannot wait for the dispatcher hands its events to it
//! instead (the dispatcher then also delivers them): with `std`, a call
//! made from inside the listener, on the dispatcher's own thread; without
//! `std` (firmware, one core), any call that finds a dispatcher at work,
//! which is the code its interrupt preempted.
//!
//! **Retiring a listener.** The listener is read under the queue's lock
//! for each event, and the call in progress is marked with the listener's
//! generation. `set_sink` swaps the listener, then waits until no call of
//! an older one is in progress (at most one: there is one dispatcher), so
//! that when it returns the old listener is never called again. Called
//! from inside the listener (or, without `std`, while a listener call is
//! in progress: on one core, the one it interrupted) it would wait for
//! itself: it returns [`Error::Busy`] and changes nothing.
#![forbid(unsafe_code)]

use crate::slot::SlotCell;
use crate::{Error, Id, Reason, State, Transition};

/// Events a registry holds before they are delivered; more are dropped and
/// counted ([`Registry::events_dropped`](crate::Registry::events_dropped)).
/// Only a listener that is slow while many breakers change state fills it.
pub const EVENT_QUEUE_LEN: usize = 32;

/// A breaker's state change, as a registry's listener receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// The breaker.
    pub id: Id,
    /// Position of this change among all the registry's changes (from 1,
    /// wraps): listeners receive them in increasing order.
    pub seq: u32,
    /// The change.
    pub transition: Transition,
}

impl Event {
    /// A placeholder, overwritten before it is read.
    const ZERO: Event = Event {
        id: Id::from_raw(0),
        seq: 0,
        transition: Transition {
            from: State::Closed,
            to: State::Closed,
            reason: Reason::Manual,
            generation: 0,
            now_ms: 0,
        },
    };
}

/// A registry's listener: a plain function and a value handed to it, so
/// that no closure (and no allocation) is needed. It runs outside every
/// critical section and lock, on whichever thread delivers the event; it
/// may call the registry (a change it causes is delivered after it
/// returns, by the same thread).
#[derive(Debug, Clone, Copy)]
pub struct Listener {
    /// Called once per event, in order.
    pub func: fn(&Event, usize),
    /// Handed to `func` unchanged.
    pub data: usize,
}

/// What receives the events: a Rust [`Listener`], or a foreign function
/// with a word of data (the C API's listener): `call(event, func, data)`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sink {
    /// A Rust listener.
    Rust(Listener),
    /// A foreign function, called through `call`.
    #[cfg_attr(not(feature = "capi"), allow(dead_code))] // only the C API sets one
    Foreign {
        /// Calls `func` with the event and `data`.
        call: fn(&Event, unsafe extern "C" fn(), usize),
        /// The foreign function, type-erased.
        func: unsafe extern "C" fn(),
        /// Handed to `func`.
        data: usize,
    },
}

impl Sink {
    fn call(self, ev: &Event) {
        match self {
            Sink::Rust(l) => (l.func)(ev, l.data),
            Sink::Foreign { call, func, data } => call(ev, func, data),
        }
    }
}

#[derive(Debug)]
struct Queue {
    events: heapless::Deque<Event, EVENT_QUEUE_LEN>,
    dispatching: bool,
    /// The last event the dispatcher at work delivers.
    bound: u32,
    dropped: u32,
    seq: u32,
    /// Sequence number of the last event delivered.
    delivered: u32,
    sink: Option<Sink>,
    /// Bumped by every `set_sink`.
    sink_gen: u32,
    /// The generation of the sink whose call is in progress, if one is.
    calling: Option<u32>,
}

/// `a` is `b` or comes before it (sequence numbers wrap).
fn not_after(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < u32::MAX / 2
}

/// What a call that queued events does next.
enum Step {
    /// Its events were delivered, or handed to the dispatcher.
    Done,
    /// It is the dispatcher now.
    Dispatch,
    /// Another thread is delivering.
    Wait,
}

/// The queue and the dispatcher flag, behind a lock of their own
/// (bookkeeping only: a push, a pop, a flag): the slot-lock kind, a spin
/// lock with `std`, a critical section without. Not the registry's
/// critical section on hosts: changes are queued with their breaker's slot
/// locked, while create, lookup and remove lock slots inside the critical
/// section; queueing under it would take the two in the opposite order.
#[derive(Debug)]
pub struct EventQueue(SlotCell<Queue>);

impl EventQueue {
    pub(crate) const fn new() -> Self {
        EventQueue(SlotCell::new(Queue {
            events: heapless::Deque::new(),
            dispatching: false,
            bound: 0,
            dropped: 0,
            seq: 0,
            delivered: 0,
            sink: None,
            sink_gen: 0,
            calling: None,
        }))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Queue) -> R) -> Option<R> {
        self.0.with(f).ok()
    }

    /// Sets (or removes) what receives the events. When it returns `Ok`,
    /// the sink it replaced is not being called and never will be again:
    /// it waits for the one listener call in progress, if any.
    ///
    /// # Errors
    /// [`Error::Busy`] (nothing changed) when that call cannot finish
    /// first: with `std`, called from inside the listener on the
    /// dispatcher's thread; without `std`, called while a listener call is
    /// in progress.
    pub(crate) fn set_sink(&self, sink: Option<Sink>) -> Result<(), Error> {
        let gen = self
            .with(|q| {
                if q.calling.is_some() && !waiting::can_wait() {
                    return Err(Error::Busy);
                }
                q.sink = sink;
                q.sink_gen = q.sink_gen.wrapping_add(1);
                Ok(q.sink_gen)
            })
            .unwrap_or(Err(Error::Busy))?;
        let mut round = 0;
        // A call of an older sink: the dispatcher read it before the swap.
        while self
            .with(|q| matches!(q.calling, Some(g) if !not_after(gen, g)))
            .unwrap_or(false)
        {
            waiting::pause(round);
            round = round.saturating_add(1);
        }
        Ok(())
    }

    pub(crate) fn dropped(&self) -> u32 {
        self.with(|q| q.dropped).unwrap_or(0)
    }

    /// Queues `id`'s pending transitions, taken from `next` one by one.
    /// Called with the breaker still locked (its events stay in order).
    /// Each is queued under the queue's lock on its own: on firmware a
    /// critical section as long as one push, however many are pending.
    /// Returns the sequence number of the last one queued (`None` if none
    /// was: all dropped).
    pub(crate) fn push_all(
        &self,
        id: Id,
        mut next: impl FnMut() -> Option<Transition>,
    ) -> Option<u32> {
        let mut last = None;
        while let Some(transition) = next() {
            let queued = self.with(|q| {
                q.seq = q.seq.wrapping_add(1);
                let ev = Event {
                    id,
                    seq: q.seq,
                    transition,
                };
                if q.events.push_back(ev).is_err() {
                    q.dropped = q.dropped.wrapping_add(1);
                    None
                } else {
                    Some(q.seq)
                }
            });
            last = queued.flatten().or(last);
        }
        last
    }

    /// Delivers the events queued up to `mine` (from [`push_all`]), or
    /// waits until they are delivered, or hands them to the dispatcher (see
    /// the module's documentation). `None` (nothing queued): returns at
    /// once.
    ///
    /// [`push_all`]: Self::push_all
    pub(crate) fn deliver(&self, mine: Option<u32>) {
        let Some(mine) = mine else { return };
        let mut round = 0;
        loop {
            let step = self
                .with(|q| {
                    if not_after(mine, q.delivered) {
                        Step::Done
                    } else if !q.dispatching {
                        q.dispatching = true;
                        q.bound = mine;
                        Step::Dispatch
                    } else if waiting::can_wait() {
                        Step::Wait
                    } else {
                        if !not_after(mine, q.bound) {
                            q.bound = mine;
                        }
                        Step::Done
                    }
                })
                .unwrap_or(Step::Done);
            match step {
                Step::Done => return,
                Step::Dispatch => return self.dispatch(),
                Step::Wait => waiting::pause(round),
            }
            round = round.saturating_add(1);
        }
    }

    /// Delivers the queued events up to the bound, one listener call at a
    /// time, then releases the dispatcher flag (in the same lock as the
    /// check that the next event is past the bound). Called by the thread
    /// that set the flag.
    fn dispatch(&self) {
        // Should a Rust listener panic and unwind, the flag is released so
        // that later events are still delivered.
        let guard = Release(self);
        waiting::set_here(true);
        let mut done = None;
        // The event to deliver is copied here by a plain assignment: moved
        // inside an `Option` with the sink, it took two odd-sized memcpy
        // calls, half of the critical section on Cortex-M.
        let mut ev = Event::ZERO;
        loop {
            let next = self.with(|q| {
                if let Some(seq) = done {
                    q.delivered = seq;
                    q.calling = None;
                }
                while let Some(front) = q.events.front() {
                    if !not_after(front.seq, q.bound) {
                        break;
                    }
                    ev = *front;
                    let _ = q.events.pop_front();
                    match q.sink {
                        Some(sink) => {
                            q.calling = Some(q.sink_gen);
                            return Some(sink);
                        }
                        None => q.delivered = ev.seq,
                    }
                }
                q.dispatching = false;
                None
            });
            match next {
                Some(Some(sink)) => {
                    sink.call(&ev);
                    done = Some(ev.seq);
                }
                Some(None) => {
                    // Released together with the bound check.
                    core::mem::forget(guard);
                    waiting::set_here(false);
                    return;
                }
                // The queue could not be borrowed (not reachable: no user
                // code runs while it is); the guard releases the flag.
                None => return,
            }
        }
    }
}

struct Release<'a>(&'a EventQueue);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = self.0.with(|q| {
            q.dispatching = false;
            q.calling = None;
        });
        waiting::set_here(false);
    }
}

/// Whether this thread may wait for the dispatcher, and how it waits.
#[cfg(feature = "std")]
mod waiting {
    extern crate std;
    use core::cell::Cell;

    std::thread_local! {
        /// This thread is delivering events (then it must not wait for
        /// itself).
        static HERE: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether the dispatcher at work (if any) is another thread.
    pub(super) fn can_wait() -> bool {
        !HERE.try_with(Cell::get).unwrap_or(false)
    }

    pub(super) fn set_here(v: bool) {
        let _ = HERE.try_with(|h| h.set(v));
    }

    /// One round of waiting (so that a waiter of higher real-time priority
    /// lets the dispatcher run).
    pub(super) use crate::backoff::pause;
}

/// Without `std` (one core): a dispatcher at work is the code this call
/// preempted, or the listener it is called from; never wait for it.
#[cfg(not(feature = "std"))]
mod waiting {
    pub(super) fn can_wait() -> bool {
        false
    }

    pub(super) fn set_here(_: bool) {}

    pub(super) fn pause(_: u32) {
        core::hint::spin_loop();
    }
}
