//! Registries shared by processes: real processes (`fork`) in memory
//! mapped `MAP_SHARED`, and deaths at the worst instants: inside a slot's
//! lock, inside a structural operation. Not under Miri (no `fork`, no
//! robust mutexes).
#![allow(unsafe_code)] // mmap, fork, waitpid, kill: the test's own

extern crate std;

use super::names::NameWords;
use super::{PlacedRegistry, Slot};
use core::sync::atomic::AtomicUsize;
use core::sync::atomic::Ordering::Relaxed;

use crate::{Config, Error, Listener, Policy, State, WaitAction};

/// Memory every process forked from here shares, zeroed.
struct Shared {
    ptr: *mut u8,
    len: usize,
}

impl Shared {
    fn new(len: usize) -> Shared {
        // SAFETY: a fresh anonymous mapping; checked below.
        let ptr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        Shared {
            ptr: ptr.cast(),
            len,
        }
    }

    /// A registry of `capacity` placed for sharing.
    fn place(capacity: usize) -> (Shared, PlacedRegistry<'static>) {
        let size = PlacedRegistry::size_for(capacity).unwrap();
        let mem = Shared::new(size);
        // SAFETY: the mapping is ours, `size` bytes, never unmapped while
        // the test runs (leaked on purpose: the registry borrows it).
        let bytes = unsafe { core::slice::from_raw_parts_mut(mem.ptr, mem.len) };
        let r = PlacedRegistry::place_shared(bytes, capacity).unwrap();
        (mem, r)
    }

    /// The registry as another process reaches it.
    fn attach(&self) -> PlacedRegistry<'static> {
        // SAFETY: placed above, mapped for the test's whole run.
        unsafe { PlacedRegistry::attach(self.ptr, self.len) }.unwrap()
    }
}

/// Runs `child` in a forked process; its exit status (0: it passed).
/// The child never returns into the test harness.
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // Forked inside a critical section: the harness runs other tests on
    // other threads, and with `std` the critical section is a process-wide
    // mutex that the registry's structural operations take (the names'
    // token). Had another thread held it at the fork, the child would
    // inherit it held, by a thread the child does not have, and block for
    // good. Taken here, it is held by the forking thread, which the child
    // has: both processes release it as the section ends.
    // SAFETY: the child only touches the shared mapping and the registry
    // (no allocation, and of the parent's process-local locks only the
    // critical section, released as above), then leaves with `_exit`.
    let pid = critical_section::with(|_| unsafe { libc::fork() });
    assert!(pid >= 0);
    if pid == 0 {
        let code = child();
        // SAFETY: ends the child without running the harness's exit code.
        unsafe { libc::_exit(code) };
    }
    // A child that blocks fails the test, within 20 s, rather than
    // hanging the harness.
    let mut status = 0;
    let mut waited_ms = 0;
    // SAFETY: polls our own child.
    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
        if waited_ms == 20_000 {
            // SAFETY: our own child, still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: reaps it.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            panic!("the child process blocked for 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        waited_ms += 1;
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    }
}

/// Kills the calling process at once, as SIGKILL does from outside.
fn die() -> ! {
    // SAFETY: signals this process; SIGKILL cannot be caught.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("SIGKILL returned")
}

fn shareable() -> Config {
    Config::default()
        .with_failure_threshold(3)
        .with_policy(Policy::SNAKEPIT.with_half_open_max_wait(1_000, WaitAction::ReleaseProbes))
}

#[test]
fn processes_share_ids_counts_and_states() {
    let (mem, r) = Shared::place(4);
    let id = r.create(b"db", shareable()).unwrap();
    r.record_success(id, 1).unwrap();
    let code = in_child(|| {
        let r = mem.attach();
        let ok = r.lookup(b"db") == Ok(id)
            && (0..3).all(|_| r.record_failure(id, 2).is_ok())
            && r.create(b"cache", shareable()).is_ok();
        i32::from(!ok)
    });
    assert_eq!(code, 0);
    assert_eq!(r.state(id, 3), Ok(State::Open));
    let s = r.stats(id).unwrap();
    assert_eq!((s.success_count, s.failure_total), (1, 3));
    assert!(r.lookup(b"cache").is_ok());
}

#[test]
fn a_process_killed_inside_a_slots_lock_blocks_no_one() {
    let (mem, r) = Shared::place(2);
    let id = r.create(b"db", shareable()).unwrap();
    r.record_success(id, 1).unwrap();
    // Opened and reset: two transitions, lifetime totals to keep.
    for _ in 0..3 {
        r.record_failure(id, 2).unwrap();
    }
    r.reset(id).unwrap();
    r.record_failure(id, 2).unwrap();
    let before = r.stats(id).unwrap();
    assert_eq!((before.transitions, before.failure_total), (2, 4));
    let code = in_child(|| {
        let r = mem.attach();
        // Killed holding the slot's locks (the robust mutex and the
        // futex lock inside it), half-way through an operation: the state
        // and a count changed, the rest not yet.
        let _ = r.slots()[id.index()].with(|s: &mut Slot| {
            s.breaker.record_failure(3);
            s.breaker.record_failure(3);
            die()
        });
        1
    });
    assert_eq!(code, -libc::SIGKILL);
    // The next locker recovers: the breaker restarts closed, its totals
    // as the dead process left them.
    let s = r.stats(id).unwrap();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.failure_count, 0);
    assert_eq!((s.success_count, s.failure_total), (1, 6));
    assert_eq!(s.admitted_count, before.admitted_count);
    // The child's failures opened it: a third transition, kept too.
    assert_eq!(s.transitions, 3);
    // And the lock works as before.
    r.record_failure(id, 4).unwrap();
    assert_eq!(r.stats(id).unwrap().failure_count, 1);
}

#[test]
fn a_structural_operation_cut_short_is_repaired() {
    let (mem, r) = Shared::place(4);
    let kept = r.create(b"kept", shareable()).unwrap();
    let gone = r.create(b"gone", shareable()).unwrap();
    let code = in_child(|| {
        let r = mem.attach();
        let w = r.begin().unwrap();
        // A create cut short after its slot was occupied, before its
        // name: slot 2 occupied, nameless.
        let _ = r.slots()[2].with(|s: &mut Slot| {
            s.breaker.init_in_place(shareable());
            s.occupy(2)
        });
        // A remove cut short after its slot was emptied, before its name.
        let _ = r.slots()[gone.index()].with(|s: &mut Slot| s.vacate());
        // A name half-written into slot 3.
        w.tear(3, &NameWords::new(b"torn").unwrap());
        core::mem::forget(w);
        die()
    });
    assert_eq!(code, -libc::SIGKILL);
    // The next structural operation repairs, then proceeds.
    let fresh = r.create(b"fresh", shareable()).unwrap();
    assert_eq!(r.lookup(b"kept"), Ok(kept));
    assert_eq!(r.lookup(b"gone"), Err(Error::NotFound));
    assert_eq!(r.lookup(b"torn"), Err(Error::NotFound));
    assert_eq!(r.lookup(b"fresh"), Ok(fresh));
    assert_eq!(r.len(), 2);
    // Every other slot is free again: two more fit, a third does not.
    r.create(b"a", shareable()).unwrap();
    r.create(b"b", shareable()).unwrap();
    assert_eq!(r.create(b"c", shareable()), Err(Error::RegistryFull));
}

/// The harness runs tests on several threads, which take the process's
/// critical section (with `std`, a mutex): a child forked while another
/// thread held it would block in its first structural operation, had
/// `in_child` not forked inside the section.
#[test]
fn a_child_forked_while_other_threads_use_critical_sections_never_blocks() {
    use std::sync::atomic::AtomicBool;
    static STOP: AtomicBool = AtomicBool::new(false);
    let (mem, r) = Shared::place(2);
    let busy = std::thread::spawn(|| {
        while !STOP.load(Relaxed) {
            critical_section::with(|_| std::hint::spin_loop());
        }
    });
    for _ in 0..200 {
        let code = in_child(|| {
            let r = mem.attach();
            match r.create(b"x", shareable()).and_then(|id| r.remove(id)) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        });
        assert_eq!(code, 0);
    }
    STOP.store(true, Relaxed);
    busy.join().unwrap();
    assert_eq!(r.len(), 0);
}

#[test]
fn a_shared_registry_needs_a_half_open_limit() {
    let (_mem, r) = Shared::place(2);
    assert!(r.is_shared());
    assert_eq!(r.create(b"x", Config::default()), Err(Error::InvalidConfig));
    assert_eq!(r.len(), 0);
    assert!(r.create(b"x", shareable()).is_ok());
}

/// Transitions heard by this process's listener.
static HEARD: AtomicUsize = AtomicUsize::new(0);

fn hear(_: &crate::Event, _: usize) {
    HEARD.fetch_add(1, Relaxed);
}

#[test]
fn each_process_hears_the_state_changes_it_makes() {
    let (mem, r) = Shared::place(2);
    let id = r.create(b"x", shareable()).unwrap();
    let listener = Listener {
        func: hear,
        data: 0,
    };
    // Another process opens it: this one's listener hears nothing.
    let code = in_child(|| {
        let r = mem.attach();
        let opened = (0..3).all(|_| r.record_failure(id, 1).is_ok());
        i32::from(!(opened && r.state(id, 2) == Ok(State::Open)))
    });
    assert_eq!(code, 0);
    r.set_listener(Some(listener)).unwrap();
    assert_eq!(HEARD.load(Relaxed), 0);
    // This process closes it: its listener hears that.
    r.reset(id).unwrap();
    assert_eq!(HEARD.load(Relaxed), 1);
    // A process hears what it does (a forked one inherits the listener,
    // as it does all of its parent's memory).
    let code = in_child(|| {
        let r = mem.attach();
        HEARD.store(0, Relaxed);
        let set = r.set_listener(Some(listener)).is_ok();
        let opened = (0..3).all(|_| r.record_failure(id, 3).is_ok());
        i32::from(!(set && opened && HEARD.load(Relaxed) == 1))
    });
    assert_eq!(code, 0);
    assert_eq!(HEARD.load(Relaxed), 1);
    assert_eq!(r.events_dropped(), 0);
}

#[test]
fn a_process_has_listeners_on_at_most_eight_shared_registries() {
    // In a child: entries stay taken for the process's life, and the
    // other tests of this process need theirs.
    let code = in_child(|| {
        let listener = Listener {
            func: hear,
            data: 0,
        };
        // Entries the parent's tests held are the child's too: of nine
        // new registries at most eight get one, and the refusal is
        // RegistryFull.
        let mut set = 0;
        for _ in 0..9 {
            let (_mem, r) = Shared::place(1);
            match r.set_listener(Some(listener)) {
                Ok(()) => set += 1,
                Err(Error::RegistryFull) => return i32::from(set > 8),
                Err(_) => return 2,
            }
        }
        3
    });
    assert_eq!(code, 0);
}
