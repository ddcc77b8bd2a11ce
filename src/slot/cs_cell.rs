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
#![allow(unsafe_code)]

use core::cell::{Cell, UnsafeCell};

use crate::Error;

/// A value behind critical sections, with a borrow flag.
pub(crate) struct CsCell<T> {
    /// `None` when free; while the value is borrowed (by `with`, or lent),
    /// the error every other access answers.
    borrowed: critical_section::Mutex<Cell<Option<Error>>>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only by the holder of the borrow flag, set
// and checked inside critical sections: one context at a time, as
// `critical_section::Mutex<RefCell<T>>` is `Sync` for `T: Send`.
unsafe impl<T: Send> Sync for CsCell<T> {}

impl<T> CsCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        CsCell {
            borrowed: critical_section::Mutex::new(Cell::new(None)),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` inside a critical section. While the value is lent, the
    /// lender's error instead (and, which fusebox never does, `Busy` on
    /// re-entry).
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        critical_section::with(|cs| {
            let flag = self.borrowed.borrow(cs);
            if let Some(answer) = flag.get() {
                return Err(answer);
            }
            flag.set(Some(Error::Busy));
            let _lent = Lent(|| flag.set(None));
            // SAFETY: the flag was clear and is now set: no other `&mut`
            // exists until `_lent` clears it, and no other context runs
            // inside this critical section.
            Ok(f(unsafe { &mut *self.value.get() }))
        })
    }

    /// Runs `f` with the value lent out of the critical section: two short
    /// critical sections (taking and giving back the flag) instead of one
    /// as long as `f`. Meanwhile every other access answers `answer`. When
    /// the value is already borrowed, its borrower's error instead.
    pub(crate) fn lend<R>(&self, answer: Error, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
        critical_section::with(|cs| {
            let flag = self.borrowed.borrow(cs);
            match flag.get() {
                Some(theirs) => Err(theirs),
                None => {
                    flag.set(Some(answer));
                    Ok(())
                }
            }
        })?;
        let _lent = Lent(|| critical_section::with(|cs| self.borrowed.borrow(cs).set(None)));
        // SAFETY: this context set the flag: every other access answers
        // `answer` until `_lent` clears it, so this is the only reference.
        Ok(f(unsafe { &mut *self.value.get() }))
    }

    /// [`lend`](Self::lend) only if `check`, run on the value in the
    /// critical section that takes the flag, answers `Ok`; its error
    /// otherwise, the value not lent. `check` is a constant-time look
    /// (an id comparison): it runs with interrupts masked. The taking and
    /// the giving back are out of line: the policies' operations share
    /// one copy of each (`lend`, for the one `fill`, stays inline).
    pub(crate) fn lend_if<R>(
        &self,
        answer: Error,
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
        answer: Error,
        check: impl FnOnce(&T) -> Result<(), Error>,
    ) -> Result<(), Error> {
        critical_section::with(|cs| {
            let flag = self.borrowed.borrow(cs);
            if let Some(theirs) = flag.get() {
                return Err(theirs);
            }
            // SAFETY: the flag is clear and this is a critical section:
            // no `&mut` exists (only the flag's holder makes one, and it
            // sets the flag in a critical section first), and none is made
            // while this shared reference lives.
            check(unsafe { &*self.value.get() })?;
            flag.set(Some(answer));
            Ok(())
        })
    }

    /// Clears the flag, in a critical section. Out of line, as `take`.
    #[inline(never)]
    fn give_back(&self) {
        critical_section::with(|cs| self.borrowed.borrow(cs).set(None));
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
            .lend(Error::Busy, |v| {
                *v += 1;
                (cell.with(|v| *v), cell.lend(Error::NotFound, |v| *v))
            })
            .unwrap();
        assert_eq!(inner, (Err(Error::Busy), Err(Error::Busy)));
        let inner = cell.lend(Error::NotFound, |_| cell.with(|v| *v)).unwrap();
        assert_eq!(inner, Err(Error::NotFound));
        // Given back: free again, with the lender's write.
        assert_eq!(cell.with(|v| *v), Ok(2));
        assert_eq!(cell.with(|_| cell.with(|v| *v)), Ok(Err(Error::Busy)));
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
            other.lend_if(Error::Busy, check, |_| unreachable!()),
            Err(Error::NotFound)
        );
        assert_eq!(other.with(|v| *v), Ok(2));
        // Passed: lent, others answered `Busy`; a lent value's own error
        // comes before the check.
        let inner = cell
            .lend_if(Error::Busy, check, |_| {
                (
                    cell.with(|v| *v),
                    cell.lend_if(Error::Busy, |_| Err(Error::NotFound), |v| *v),
                )
            })
            .unwrap();
        assert_eq!(inner, (Err(Error::Busy), Err(Error::Busy)));
        assert_eq!(cell.with(|v| *v), Ok(1));
    }
}
