//! The slot cell without `std`: a value reached through a critical
//! section, like `critical_section::Mutex<RefCell<T>>`, plus one thing that
//! type cannot do: lend the value out of the critical section
//! ([`CsCell::with_unmasked`]) to a writer that needs time proportional to
//! its size (a new breaker written into a free slot: hundreds of bytes
//! with policies), so that interrupts stay enabled meanwhile.
//!
//! While the value is lent, every other access answers an error instead of
//! touching it: an interrupt handler that preempts the writer and reaches
//! the same slot never aliases the writer's `&mut`. The one module of the
//! firmware build with `unsafe` code: the borrow flag stands where the
//! critical section would.
#![allow(unsafe_code)]

use core::cell::{Cell, UnsafeCell};

use crate::Error;

/// A value behind critical sections, with a borrow flag.
pub(crate) struct CsCell<T> {
    /// Set while `with` runs (re-entry) or while the value is lent.
    borrowed: critical_section::Mutex<Cell<bool>>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only by the holder of the borrow flag, set
// and checked inside critical sections: one context at a time, as
// `critical_section::Mutex<RefCell<T>>` is `Sync` for `T: Send`.
unsafe impl<T: Send> Sync for CsCell<T> {}

impl<T> CsCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        CsCell {
            borrowed: critical_section::Mutex::new(Cell::new(false)),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` inside a critical section. `busy` if the value is lent
    /// (or, which fusebox never does, on re-entry).
    #[inline]
    pub(crate) fn with<R>(&self, busy: Error, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        critical_section::with(|cs| {
            let flag = self.borrowed.borrow(cs);
            if flag.replace(true) {
                return Err(busy);
            }
            let _lent = Lent(|| flag.set(false));
            // SAFETY: the flag was clear and is now set: no other `&mut`
            // exists until `_lent` clears it, and no other context runs
            // inside this critical section.
            Ok(f(unsafe { &mut *self.value.get() }))
        })
    }

    /// Runs `f` with the value lent out of the critical section: two short
    /// critical sections (taking and giving back the flag) instead of one
    /// as long as `f`. `busy` if it is already borrowed.
    pub(crate) fn with_unmasked<R>(
        &self,
        busy: Error,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error> {
        let taken = critical_section::with(|cs| !self.borrowed.borrow(cs).replace(true));
        if !taken {
            return Err(busy);
        }
        let _lent = Lent(|| critical_section::with(|cs| self.borrowed.borrow(cs).set(false)));
        // SAFETY: this context set the flag: every other access answers
        // `busy` until `_lent` clears it, so this is the only reference.
        Ok(f(unsafe { &mut *self.value.get() }))
    }
}

/// Gives the value back when dropped: after `f` returns, and also if it
/// unwinds (a Rust program built with `panic = "unwind"`), so that a slot
/// is never left lent for good.
struct Lent<F: FnMut()>(F);

impl<F: FnMut()> Drop for Lent<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
