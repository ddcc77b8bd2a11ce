//! Registries in memory the caller provides ([`PlacedRegistry`]): the
//! layout of that memory, its header, and the two ways to reach it
//! (placing a new registry, attaching to a placed one).
//!
//! The memory holds, in this order (offsets from
//! [`Layout::extend`], so each part is aligned as its type needs):
//! the [`Header`], the event queue (with policies), the structural lock
//! (on Linux with `std`), the slots (`capacity` of them) and the name
//! table (the structural token, then one entry per slot). Attaching
//! checks the header and builds the references from it.
//!
//! On Linux with `std` (`cfg(fusebox_robust)`) a registry placed with
//! [`PlacedRegistry::place_shared`] (the header's [`SHARED`] flag) locks
//! its slots and its structure with robust process-shared pthread
//! mutexes, made in place after the zeroing; a registry placed for one
//! process has the zeroed futex locks.
//!
//! Placing zeroes the memory, then writes the header. Zero bytes are the
//! empty value of every part, as they are of a [`Registry`](crate::Registry)'s
//! storage, which is all-zero when empty so that a `static` one lands in
//! `.bss`: the firmware size report fails CI if the registry leaves
//! `.bss`, and the placed-registry tests run under Miri, which rejects a
//! value whose bytes are not one of its type's. Why not write each part's
//! `const` value instead: on firmware those values (an event queue of 1
//! KiB, a breaker of 500 bytes) are built on the stack and copied, which
//! took `fusebox_registry_place` to 1 200 bytes of Cortex-M0 stack.
//!
//! The one module of the registry with `unsafe` code: references made
//! from a caller's pointer.
#![allow(unsafe_code)]

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr;

use critical_section::Mutex;

#[cfg(feature = "policies")]
use crate::events::EventQueue;
use crate::slot::PlacedCell;
#[cfg(fusebox_robust)]
use crate::slot::StructLock;
use crate::Error;

use super::names::{Entry, NameTable};
use super::storage::PlacedStorage;
use super::{PlacedRegistry, RegistryInner, Slot, MAX_CAPACITY};

/// The first bytes of a placed registry's memory.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// [`MAGIC`]: this memory holds a fusebox registry.
    magic: u32,
    /// [`LAYOUT_VERSION`]: how the parts are laid out.
    layout: u32,
    /// The version of fusebox that placed it, `major << 16 | minor << 8 |
    /// patch`: another version may lay out its breakers differently.
    version: u32,
    /// The number of slots.
    capacity: u32,
    /// The size of one slot and of the whole memory in this build (they
    /// differ with the features and the target): a library built otherwise
    /// refuses the memory instead of misreading it.
    slot_size: u32,
    size: u32,
    /// [`SHARED`], or 0.
    flags: u32,
}

/// Whether this build can place a registry for processes to share (Linux
/// with `std` and policies: see [`PlacedRegistry::place_shared`]).
const SHAREABLE: bool = cfg!(all(fusebox_robust, feature = "policies"));

/// [`Header::flags`]: placed for processes to share (robust, process-shared
/// locks; listeners in each process's memory).
const SHARED: u32 = 1;

/// "FBXR", little-endian.
const MAGIC: u32 = u32::from_le_bytes(*b"FBXR");

/// Bumped whenever the order or kind of the parts changes.
const LAYOUT_VERSION: u32 = 2;

/// This crate's version, as [`Header::version`] keeps it.
const VERSION: u32 = {
    // `i < b.len()`: in bounds.
    #[allow(clippy::indexing_slicing)]
    const fn num(s: &str) -> u32 {
        let b = s.as_bytes();
        let mut n = 0u32;
        let mut i = 0;
        while i < b.len() {
            n = n * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        n
    }
    num(env!("CARGO_PKG_VERSION_MAJOR")) << 16
        | num(env!("CARGO_PKG_VERSION_MINOR")) << 8
        | num(env!("CARGO_PKG_VERSION_PATCH"))
};

/// Where each part starts, from the start of the memory.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    #[cfg(feature = "policies")]
    events: usize,
    #[cfg(fusebox_robust)]
    structure: usize,
    slots: usize,
    names: usize,
}

/// The layout of the memory of a registry of `capacity` slots, and where
/// its parts start; `None` when the capacity is outside
/// `1..=`[`MAX_CAPACITY`] (no overflow is possible below it).
fn layout(capacity: usize) -> Option<(Layout, Offsets)> {
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return None;
    }
    let whole = Layout::new::<Header>();
    #[cfg(feature = "policies")]
    let (whole, events) = whole.extend(Layout::new::<EventQueue>()).ok()?;
    #[cfg(fusebox_robust)]
    let (whole, structure) = whole.extend(Layout::new::<StructLock>()).ok()?;
    let slots_layout = Layout::array::<PlacedCell<Slot>>(capacity).ok()?;
    let (whole, slots) = whole.extend(slots_layout).ok()?;
    let (whole, names) = whole.extend(name_table_layout(capacity)?).ok()?;
    let offsets = Offsets {
        #[cfg(feature = "policies")]
        events,
        #[cfg(fusebox_robust)]
        structure,
        slots,
        names,
    };
    Some((whole.pad_to_align(), offsets))
}

/// The layout of a `repr(C)` [`NameTable`] of `capacity` entries: the
/// token, then the entries.
fn name_table_layout(capacity: usize) -> Option<Layout> {
    let token = Layout::new::<Mutex<Cell<usize>>>();
    let (table, _) = token.extend(Layout::array::<Entry>(capacity).ok()?).ok()?;
    Some(table.pad_to_align())
}

/// The alignment every placed registry's memory needs in this build.
pub(super) fn align() -> usize {
    layout(1).map_or(1, |(l, _)| l.align())
}

impl<'a> PlacedRegistry<'a> {
    /// The bytes a registry of `capacity` slots needs, in this build (they
    /// depend on the features and the target); `None` for a capacity
    /// outside `1..=`[`MAX_CAPACITY`]. Its memory must also be aligned to
    /// [`align`](Self::align).
    pub fn size_for(capacity: usize) -> Option<usize> {
        layout(capacity).map(|(l, _)| l.size())
    }

    /// The alignment a placed registry's memory needs in this build (64 on
    /// hosts with `std`, whose slots each have a cache line; 4 or 8 on
    /// firmware).
    pub fn align() -> usize {
        align()
    }

    /// Places an empty registry of `capacity` slots at the start of `mem`,
    /// which must be aligned to [`align`](Self::align) and at least
    /// [`size_for`](Self::size_for)`(capacity)` bytes long. Every part is
    /// written as its empty value: the previous contents do not matter.
    /// O(capacity).
    ///
    /// ```
    /// use fusebox::{Config, PlacedRegistry};
    /// // Memory from anywhere: here a heap buffer, over-allocated so that
    /// // an aligned start can be chosen.
    /// let size = PlacedRegistry::size_for(100).unwrap();
    /// let mut buf = vec![0u8; size + PlacedRegistry::align()];
    /// let start = buf.as_ptr().align_offset(PlacedRegistry::align());
    /// let r = PlacedRegistry::place(&mut buf[start..], 100).unwrap();
    /// assert_eq!(r.capacity(), 100);
    /// let id = r.create(b"db", Config::default()).unwrap();
    /// assert_eq!(r.lookup(b"db"), Ok(id));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidMemory`] (nothing written) when the capacity is
    /// outside `1..=`[`MAX_CAPACITY`], or `mem` is misaligned or too short.
    pub fn place(mem: &'a mut [u8], capacity: usize) -> Result<Self, Error> {
        Self::place_with(mem, capacity, 0)
    }

    /// [`place`](Self::place) for processes to share: `mem` is memory they
    /// all map (`mmap` with `MAP_SHARED`, `shm_open`), and each process
    /// other than the placing one reaches the registry with
    /// [`attach`](Self::attach). Ids, counts and states are the same for
    /// every process; a process killed at any instant, inside an operation
    /// included, never blocks the others, and what it was changing is
    /// repaired by the next process that locks it (docs/shared-registry.md:
    /// what is shared, the crash semantics, the costs).
    ///
    /// Listeners are per process: the one a process sets
    /// ([`set_listener`](crate::RegistryInner::set_listener)) hears the
    /// state changes that process's operations make, so that a change
    /// reaches one listener at most, the causing process's (up to 8
    /// shared registries with a listener per process). Such a registry holds
    /// only breakers with a half-open time limit
    /// ([`Policy::half_open_max_wait_ms`](crate::Policy::half_open_max_wait_ms)
    /// above 0, else [`Error::InvalidConfig`]): a probe admitted by a
    /// process that is then killed is never recorded.
    ///
    /// # Errors
    /// As [`place`](Self::place); [`Error::Unsupported`] where processes
    /// cannot share a registry: builds other than Linux with `std` and
    /// `policies`, or a C library without robust process-shared mutexes.
    pub fn place_shared(mem: &'a mut [u8], capacity: usize) -> Result<Self, Error> {
        if SHAREABLE {
            Self::place_with(mem, capacity, SHARED)
        } else {
            let _ = (mem, capacity);
            Err(Error::Unsupported)
        }
    }

    /// Places a registry whose header carries `flags`.
    fn place_with(mem: &'a mut [u8], capacity: usize, flags: u32) -> Result<Self, Error> {
        let base = mem.as_mut_ptr();
        let (whole, at) = checked(base, mem.len(), capacity)?;
        // SAFETY: `checked` found `mem` aligned and long enough for every
        // part at its offset; `mem` is borrowed mutably for `'a`, so no
        // one else reads or writes it meanwhile, and from here on only
        // through the shared references made below (whose types allow
        // shared mutation: atomics and cells). Zero bytes are each part's
        // empty value (see the module docs: the reason and the guards).
        unsafe {
            ptr::write_bytes(base, 0, whole.size());
            #[cfg(fusebox_robust)]
            if flags == SHARED {
                init_shared_locks(base, at, capacity)?;
            }
            // The header last: memory holds a registry once it has one.
            base.cast::<Header>().write(header(capacity, whole, flags));
            Ok(Self::at(base, at, capacity, flags))
        }
    }

    /// The registry placed at `mem` (by [`place`](Self::place), in this
    /// process or in another one sharing the memory), after checking its
    /// header against this build.
    ///
    /// # Errors
    /// [`Error::InvalidMemory`] when `mem` is NULL or misaligned, or `len`
    /// is shorter than the registry; [`Error::LayoutMismatch`] when the
    /// memory holds no registry of this build: wrong magic, layout version,
    /// fusebox version, slot size or capacity.
    ///
    /// # Safety
    /// `mem` is readable and writable for `len` bytes (a pointer whose
    /// provenance allows writes: not one made from a shared reference),
    /// holds a registry placed by
    /// [`place`](Self::place) (or by anything else: the header is
    /// checked, but a corrupted registry past a valid header is not
    /// detected), and stays valid, and not written other than through
    /// fusebox, for `'a`.
    pub unsafe fn attach(mem: *mut u8, len: usize) -> Result<Self, Error> {
        if mem.is_null() || misaligned(mem, align()) {
            return Err(Error::InvalidMemory);
        }
        if len < core::mem::size_of::<Header>() {
            return Err(Error::InvalidMemory);
        }
        // SAFETY: aligned (for the header too: it is the first part) and
        // readable for a header, by the contract.
        let h = unsafe { mem.cast::<Header>().read() };
        let capacity = h.capacity as usize;
        let (whole, at) = layout(capacity).ok_or(Error::LayoutMismatch)?;
        if h != header(capacity, whole, h.flags)
            || !(h.flags == 0 || SHAREABLE && h.flags == SHARED)
        {
            return Err(Error::LayoutMismatch);
        }
        if len < whole.size() {
            return Err(Error::InvalidMemory);
        }
        // SAFETY: the header says a registry of this build and capacity
        // was placed here, and the contract says it is still there.
        Ok(unsafe { Self::at(mem, at, capacity, h.flags) })
    }

    /// The registry at `base`, whose parts are at `at`, placed with
    /// `flags`.
    ///
    /// # Safety
    /// A registry of `capacity` slots was placed at `base` and stays for
    /// `'a`.
    unsafe fn at(base: *mut u8, at: Offsets, capacity: usize, flags: u32) -> Self {
        let _ = flags;
        // SAFETY: by the contract, each part is initialised at its offset.
        unsafe {
            RegistryInner {
                storage: PlacedStorage {
                    // A shared registry's queue in the memory is not used:
                    // each process has its own (local_events.rs).
                    #[cfg(feature = "policies")]
                    events: (flags != SHARED).then(|| &*base.add(at.events).cast::<EventQueue>()),
                    #[cfg(fusebox_robust)]
                    structure: &*base.add(at.structure).cast::<StructLock>(),
                    #[cfg(fusebox_robust)]
                    shared: flags == SHARED,
                    slots: &*ptr::slice_from_raw_parts(
                        base.add(at.slots).cast::<PlacedCell<Slot>>(),
                        capacity,
                    ),
                    names: &*name_table(base.add(at.names), capacity),
                },
            }
        }
    }
}

/// Makes the process-shared robust mutexes of the shared registry whose
/// zeroed parts are at `at` from `base`: the structural lock's and each
/// slot's. (Zeroed memory is already a process-private registry.)
///
/// # Safety
/// `base` is the start of memory placed as `at` says, ours alone for the
/// call.
#[cfg(fusebox_robust)]
unsafe fn init_shared_locks(base: *mut u8, at: Offsets, capacity: usize) -> Result<(), Error> {
    // SAFETY: each cell is inside the memory, at its aligned offset.
    unsafe {
        StructLock::init(base.add(at.structure).cast())?;
        let slots = base.add(at.slots).cast::<PlacedCell<Slot>>();
        for i in 0..capacity {
            PlacedCell::init(slots.add(i))?;
        }
    }
    Ok(())
}

/// The name table at `at`, as an unsized pointer (its entries' count
/// as the metadata).
fn name_table(at: *mut u8, capacity: usize) -> *mut NameTable {
    ptr::slice_from_raw_parts_mut(at.cast::<Entry>(), capacity) as *mut NameTable
}

/// The header of a registry of `capacity` slots laid out as `whole`,
/// placed with `flags`.
fn header(capacity: usize, whole: Layout, flags: u32) -> Header {
    Header {
        magic: MAGIC,
        layout: LAYOUT_VERSION,
        version: VERSION,
        capacity: capacity as u32,
        slot_size: core::mem::size_of::<PlacedCell<Slot>>() as u32,
        size: whole.size() as u32,
        flags,
    }
}

/// Whether `p` is not a multiple of `align` (a power of two, as every
/// [`Layout`]'s is): a mask, not a division (Cortex-M0 has no divide
/// instruction, and the firmware links no division helper for this).
fn misaligned(p: *const u8, align: usize) -> bool {
    (p as usize) & align.wrapping_sub(1) != 0
}

/// The layout for `capacity`, if `len` bytes at `base` can hold it.
fn checked(base: *const u8, len: usize, capacity: usize) -> Result<(Layout, Offsets), Error> {
    let (whole, at) = layout(capacity).ok_or(Error::InvalidMemory)?;
    if misaligned(base, whole.align()) || len < whole.size() {
        return Err(Error::InvalidMemory);
    }
    Ok((whole, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name table's entries start where [`name_table_layout`] says,
    /// and the table is as long: the compiler's `repr(C)` layout of the
    /// unsized table and ours agree.
    #[test]
    fn the_name_tables_layout_is_the_compilers() {
        for capacity in [1, 2, 3, 7, 100] {
            let layout = name_table_layout(capacity).unwrap();
            let mut buf = vec![0u64; layout.size() / 8 + 1];
            let at = buf.as_mut_ptr().cast::<u8>();
            let table = name_table(at, capacity);
            // SAFETY: pointer arithmetic only, inside `buf`.
            let entries = unsafe { ptr::addr_of_mut!((*table).entries) };
            let (_, offset) = Layout::new::<Mutex<Cell<usize>>>()
                .extend(Layout::array::<Entry>(capacity).unwrap())
                .unwrap();
            assert_eq!(entries.cast::<u8>() as usize - at as usize, offset);
            // SAFETY: as above; `size_of_val_raw` is not stable, the
            // reference is made to zeroed memory of the right size.
            let size = core::mem::size_of_val(unsafe { &*table });
            assert_eq!(size, layout.size());
        }
    }
}
