//! The lock around one registry slot.
//!
//! Without `std` (firmware, and every target without compare-and-swap) a
//! slot is reached through a critical section. With `std` each slot has its
//! own spin lock and sits on its own cache line: operations on different
//! breakers never contend, and no operation by id takes a process-wide lock.
#![forbid(unsafe_code)]

#[cfg(feature = "std")]
mod imp {
    use crate::Error;

    type Relax = spin::relax::Yield;

    /// A value behind its own spin lock, alone on a cache line.
    #[repr(align(64))]
    pub(crate) struct SlotCell<T>(spin::mutex::SpinMutex<T, Relax>);

    impl<T> SlotCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            SlotCell(spin::mutex::SpinMutex::new(value))
        }

        /// Runs `f` with the slot locked. The closure is fusebox's own
        /// bookkeeping, never user code. Always inlined: it is every
        /// operation's hot path on hosts.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            Ok(f(&mut self.0.lock()))
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use crate::Error;
    use core::cell::RefCell;
    use critical_section::Mutex;

    /// A value reached through a critical section.
    pub(crate) struct SlotCell<T>(Mutex<RefCell<T>>);

    impl<T> SlotCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            SlotCell(Mutex::new(RefCell::new(value)))
        }

        /// Runs `f` inside a critical section. `Busy` if re-entered, which
        /// fusebox never does (the closure is its own bookkeeping).
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Error> {
            critical_section::with(|cs| {
                let mut guard = self
                    .0
                    .borrow(cs)
                    .try_borrow_mut()
                    .map_err(|_| Error::Busy)?;
                Ok(f(&mut guard))
            })
        }
    }
}

pub(crate) use imp::SlotCell;

impl<T> core::fmt::Debug for SlotCell<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SlotCell")
    }
}
