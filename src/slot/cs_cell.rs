//! The slot cell without `std`: a value reached through a critical
//! section, like `critical_section::Mutex<RefCell<T>>`, plus one thing that
//! type cannot do: lend the value out of the critical section
//! ([`CsCell::lend`]) to a user of the value whose time grows with its
//! size or with its configuration (a new breaker written into a free
//! slot, or, with policies, the bookkeeping of an operation on a breaker:
//! rate windows, backoff with jitter, hundreds of bytes of state), so
//! that interrupts stay enabled meanwhile.
//!
//! While the value is lent, every other access answers the lender's error
//! instead of touching it: an interrupt handler that preempts the borrower
//! and reaches the same slot never aliases the borrower's `&mut`. The one
//! module of the firmware build with `unsafe` code: the borrow flag stands
//! where the critical section would.
//!
//! The flag is an atomic byte. It is *taken* (checked and set) only inside
//! a critical section, so two contexts never both take it; the holder
//! alone *gives it back*, with one release store and no critical section:
//! no other context writes the flag while it is held (they only read it,
//! and answer the holder's error), and the store publishes the holder's
//! writes to the value to the next taker, who loads the flag with acquire
//! ordering (a `dmb` on Cortex-M, a `fence` on RISC-V). That keeps the
//! lent operations (policies) to one critical section each (about ten
//! instructions fewer per operation on Cortex-M3 than a second section
//! with the port's enter and exit calls).
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::Error;

/// What every other access answers while the value is borrowed: the
/// flag's byte is the [`Error`]'s own discriminant (never 0), so that
/// reading the answer back is no work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Answer {
    /// The value is in another context's operation.
    Busy = Error::Busy as u8,
    /// The value is being written as a new occupant (an empty slot).
    NotFound = Error::NotFound as u8,
}

impl Answer {
    /// The flag's byte when free: no [`Error`] has the discriminant 0.
    const FREE: u8 = 0;

    /// The answer a flag byte holds, `None` when free.
    #[inline(always)]
    fn of(code: u8) -> Option<Error> {
        if code == Self::FREE {
            return None;
        }
        // SAFETY: the flag holds `FREE` or an `Answer`'s discriminant (the
        // only values stored), which is an `Error`'s (`repr(u8)`).
        Some(unsafe { core::mem::transmute::<u8, Error>(code) })
    }
}

// No answer reads as free (the transmute in `Answer::of` relies on it).
const _: () = assert!(Answer::Busy as u8 != Answer::FREE && Answer::NotFound as u8 != Answer::FREE);

/// A value behind critical sections, with a borrow flag.
pub(crate) struct CsCell<T> {
    /// [`Answer::FREE`] when free; while the value is borrowed (by `with`,
    /// or lent), the [`Answer`] every other access answers. Set only in
    /// a critical section; cleared by its holder.
    borrowed: AtomicU8,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only by the holder of the borrow flag,
// taken inside critical sections (one context at a time, as
// `critical_section::Mutex<RefCell<T>>` is `Sync` for `T: Send`) and
// given back by its holder alone.
unsafe impl<T: Send> Sync for CsCell<T> {}

impl<T> CsCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        CsCell {
            borrowed: AtomicU8::new(Answer::FREE),
            value: UnsafeCell::new(value),
        }
    }

    /// The flag's answer, loaded in a critical section with acquire
    /// ordering: a free flag comes with the last holder's writes.
    #[inline(always)]
    fn answer(&self, _cs: critical_section::CriticalSection<'_>) -> Option<Error> {
        Answer::of(self.borrowed.load(Ordering::Acquire))
    }

    /// Takes the flag for `answer`, in the critical section that found it
    /// free. A plain write: while the flag is free no other context writes
    /// it, and every other reader reads it inside a critical section, so
    /// nothing races with this one (and the optimiser may drop a take and
    /// a clear with nothing between them that could look, as the
    /// `Cell` this flag once was allowed).
    #[inline(always)]
    fn set(&self, _cs: critical_section::CriticalSection<'_>, code: u8) {
        // SAFETY: inside a critical section (other takers and readers are
        // excluded), and either this context holds the flag, or the
        // acquire load in this section read FREE: the initial value, a
        // `with`'s clear in an earlier section, or the last holder's
        // release store, which then happens before this write.
        unsafe { *self.borrowed.as_ptr() = code }
    }

    /// Runs `f` inside a critical section. While the value is lent, the
    /// lender's error instead (and, which fusebox never does, `Busy` on
    /// re-entry).
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        critical_section::with(|cs| {
            if let Some(answer) = self.answer(cs) {
                return Err(answer);
            }
            self.set(cs, Answer::Busy as u8);
            // Given back inside the same critical section: the section's
            // own ordering publishes the writes.
            let _lent = Lent(|| self.set(cs, Answer::FREE));
            // SAFETY: the flag was clear and is now set: no other `&mut`
            // exists until `_lent` clears it, and no other context runs
            // inside this critical section.
            Ok(f(unsafe { &mut *self.value.get() }))
        })
    }

    /// Runs `f` with the value lent out of the critical section: one short
    /// critical section takes the flag and one release store gives it
    /// back, instead of one section as long as `f`. Meanwhile every other
    /// access answers `answer`. When the value is already borrowed, its
    /// borrower's error instead.
    pub(crate) fn lend<R>(&self, answer: Answer, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        critical_section::with(|cs| match self.answer(cs) {
            Some(theirs) => Err(theirs),
            None => {
                self.set(cs, answer as u8);
                Ok(())
            }
        })?;
        let _lent = Lent(|| self.give_back());
        // SAFETY: this context set the flag: every other access answers
        // `answer` until `_lent` clears it, so this is the only reference.
        Ok(f(unsafe { &mut *self.value.get() }))
    }

    /// [`lend`](Self::lend) only if `check`, run on the value in the
    /// critical section that takes the flag, answers `Ok`; its error
    /// otherwise, the value not lent. `check` is a constant-time look
    /// (an id comparison): it runs with interrupts masked. The taking is
    /// out of line: the policies' operations share one copy of it (`lend`,
    /// for the one `fill`, stays inline); the giving back is one store.
    pub(crate) fn lend_if<R>(
        &self,
        answer: Answer,
        check: impl FnOnce(&T) -> Result<(), Error>,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, Error> {
        self.take(answer, check)?;
        let _lent = Lent(|| self.give_back());
        // SAFETY: this context set the flag: every other access answers
        // `answer` until `_lent` clears it, so this is the only reference.
        Ok(f(unsafe { &mut *self.value.get() }))
    }

    /// Sets the flag to `answer` if it is clear and `check` passes, in one
    /// critical section. Out of line: one copy per kind of check (the
    /// registry has one), not one per operation (firmware flash).
    #[inline(never)]
    fn take(
        &self,
        answer: Answer,
        check: impl FnOnce(&T) -> Result<(), Error>,
    ) -> Result<(), Error> {
        critical_section::with(|cs| {
            if let Some(theirs) = self.answer(cs) {
                return Err(theirs);
            }
            // SAFETY: the flag is clear and this is a critical section:
            // no `&mut` exists (only the flag's holder makes one, and it
            // sets the flag in a critical section first), and none is made
            // while this shared reference lives.
            check(unsafe { &*self.value.get() })?;
            self.set(cs, answer as u8);
            Ok(())
        })
    }

    /// Clears the flag: one release store, by the holder, with no
    /// critical section (see the module's docs), so that the holder's
    /// writes to the value reach the next taker.
    #[inline(always)]
    fn give_back(&self) {
        self.borrowed.store(Answer::FREE, Ordering::Release);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_value_answers_the_lenders_error_to_everyone_else() {
        let cell = CsCell::new(1u32);
        let inner = cell
            .lend(Answer::Busy, |v| {
                *v += 1;
                (cell.with(|v| *v), cell.lend(Answer::NotFound, |v| *v))
            })
            .unwrap();
        assert_eq!(inner, (Err(Error::Busy), Err(Error::Busy)));
        let inner = cell.lend(Answer::NotFound, |_| cell.with(|v| *v)).unwrap();
        assert_eq!(inner, Err(Error::NotFound));
        // Given back: free again, with the lender's write.
        assert_eq!(cell.with(|v| *v), Ok(2));
        assert_eq!(cell.with(|_| cell.with(|v| *v)), Ok(Err(Error::Busy)));
    }

    /// The holder writes the value outside any critical section; only the
    /// flag's release store (given back) and the next taker's acquire load
    /// order that write before the taker's read. Miri's race detector
    /// (CI runs these tests under Miri) fails this test if either is
    /// weaker (first as a race between `set`'s plain write and the
    /// holder's store).
    #[test]
    fn a_value_given_back_carries_the_holders_writes_to_the_next_taker() {
        static CELL: CsCell<u64> = CsCell::new(0);
        let holder = std::thread::spawn(|| CELL.lend(Answer::Busy, |v| *v = 7));
        loop {
            match CELL.with(|v| *v) {
                Ok(7) => break,
                Ok(0) | Err(Error::Busy) => std::thread::yield_now(),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(holder.join().unwrap(), Ok(()));
    }

    #[test]
    fn a_value_that_fails_the_check_is_not_lent() {
        let cell = CsCell::new(1u32);
        let check = |v: &u32| {
            if *v == 1 {
                Ok(())
            } else {
                Err(Error::NotFound)
            }
        };
        // Refused by the check: the value stays free for everyone else.
        let other = CsCell::new(2u32);
        assert_eq!(
            other.lend_if(Answer::Busy, check, |_| unreachable!()),
            Err(Error::NotFound)
        );
        assert_eq!(other.with(|v| *v), Ok(2));
        // Passed: lent, others answered `Busy`; a lent value's own error
        // comes before the check.
        let inner = cell
            .lend_if(Answer::Busy, check, |_| {
                (
                    cell.with(|v| *v),
                    cell.lend_if(Answer::Busy, |_| Err(Error::NotFound), |v| *v),
                )
            })
            .unwrap();
        assert_eq!(inner, (Err(Error::Busy), Err(Error::Busy)));
        assert_eq!(cell.with(|v| *v), Ok(1));
    }
}
