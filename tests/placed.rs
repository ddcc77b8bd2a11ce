//! Registries placed in caller memory: sizes, placing, attaching, the
//! refusals of bad memory and of memory that holds no registry of this
//! build, and independence of several registries. (Their answers against
//! the reference model: tests/model.rs.)
use fusebox::{Config, Error, Id, PlacedRegistry, State, MAX_CAPACITY};

#[path = "support/busy.rs"]
mod busy;
use busy::unless_busy;

/// A heap buffer with an aligned window of `len` bytes: `(buffer, start)`.
fn aligned(len: usize) -> (Vec<u8>, usize) {
    let align = PlacedRegistry::align();
    let buf = vec![0xA5u8; len + align];
    let start = buf.as_ptr().align_offset(align);
    (buf, start)
}

#[test]
fn sizes_grow_with_the_capacity_and_refuse_what_is_out_of_range() {
    assert_eq!(PlacedRegistry::size_for(0), None);
    assert_eq!(PlacedRegistry::size_for(MAX_CAPACITY + 1), None);
    let one = PlacedRegistry::size_for(1).unwrap();
    let two = PlacedRegistry::size_for(2).unwrap();
    let max = PlacedRegistry::size_for(MAX_CAPACITY).unwrap();
    assert!(one < two && two < max, "{one} {two} {max}");
    let align = PlacedRegistry::align();
    assert!(align.is_power_of_two());
    assert_eq!(one % align, 0);
}

#[test]
fn a_placed_registry_works_at_any_capacity_chosen_at_run_time() {
    for capacity in [1, 2, 5, if cfg!(miri) { 20 } else { 300 }] {
        let size = PlacedRegistry::size_for(capacity).unwrap();
        let (mut buf, start) = aligned(size);
        let r = PlacedRegistry::place(&mut buf[start..start + size], capacity).unwrap();
        assert_eq!(r.capacity(), capacity);
        assert!(r.is_empty());
        let cfg = Config::default().with_failure_threshold(1);
        let ids: Vec<Id> = (0..capacity)
            .map(|i| r.create(format!("b{i}").as_bytes(), cfg).unwrap())
            .collect();
        assert_eq!(r.create(b"one more", cfg), Err(Error::RegistryFull));
        assert_eq!(r.len(), capacity);
        assert_eq!(r.try_acquire(ids[0], 11), Ok(State::Closed));
        r.record_failure(ids[capacity - 1], 10).unwrap();
        assert_eq!(r.state(ids[capacity - 1], 11), Ok(State::Open));
        assert_eq!(
            r.lookup(format!("b{}", capacity - 1).as_bytes()),
            Ok(ids[capacity - 1])
        );
        r.remove(ids[0]).unwrap();
        assert_eq!(r.state(ids[0], 12), Err(Error::NotFound));
        assert_eq!(r.ids().count(), capacity - 1);
    }
}

#[test]
fn bad_memory_is_refused_and_left_untouched() {
    let size = PlacedRegistry::size_for(4).unwrap();
    let (mut buf, start) = aligned(size + 1);
    let before = buf.clone();
    // Too short by one byte.
    assert_eq!(
        PlacedRegistry::place(&mut buf[start..start + size - 1], 4).err(),
        Some(Error::InvalidMemory)
    );
    // Misaligned by one byte.
    assert_eq!(
        PlacedRegistry::place(&mut buf[start + 1..start + 1 + size], 4).err(),
        Some(Error::InvalidMemory)
    );
    // Capacities outside 1..=MAX_CAPACITY.
    for capacity in [0, MAX_CAPACITY + 1] {
        assert_eq!(
            PlacedRegistry::place(&mut buf[start..], capacity).err(),
            Some(Error::InvalidMemory)
        );
    }
    assert!(buf == before, "a refused placement wrote to the memory");
}

#[test]
fn attaching_sees_the_same_registry() {
    let size = PlacedRegistry::size_for(8).unwrap();
    let (mut buf, start) = aligned(size);
    // Two users of one memory, as two C handles are: each reaches it
    // through the same raw pointer.
    let mem = buf[start..].as_mut_ptr();
    // SAFETY: `mem` is valid for `size` bytes, and the buffer outlives
    // every registry made from it.
    let placed =
        PlacedRegistry::place(unsafe { std::slice::from_raw_parts_mut(mem, size) }, 8).unwrap();
    let id = placed
        .create(b"db", Config::default().with_failure_threshold(1))
        .unwrap();
    // `placed` is not used past here: the handles below take over.
    // SAFETY: `mem` holds the registry just placed, for `size` bytes.
    let first = unsafe { PlacedRegistry::attach(mem, size) }.unwrap();
    // SAFETY: as above.
    let second = unsafe { PlacedRegistry::attach(mem, size) }.unwrap();
    assert_eq!(second.capacity(), 8);
    assert_eq!(second.lookup(b"db"), Ok(id));
    second.record_failure(id, 5).unwrap();
    assert_eq!(first.state(id, 6), Ok(State::Open));
    let other = second.create(b"cache", Config::default()).unwrap();
    assert_eq!(first.lookup(b"cache"), Ok(other));
}

#[test]
fn attaching_refuses_memory_that_holds_no_registry_of_this_build() {
    let size = PlacedRegistry::size_for(3).unwrap();
    let (mut buf, start) = aligned(size);
    PlacedRegistry::place(&mut buf[start..start + size], 3).unwrap();
    let attach = |buf: &mut Vec<u8>, len: usize| {
        // SAFETY: readable for `len <= size` bytes from `start`.
        unsafe { PlacedRegistry::attach(buf[start..].as_mut_ptr(), len) }.map(|r| r.capacity())
    };
    assert_eq!(attach(&mut buf, size), Ok(3));
    // Shorter than the registry, or than a header.
    assert_eq!(attach(&mut buf, size - 1), Err(Error::InvalidMemory));
    assert_eq!(attach(&mut buf, 3), Err(Error::InvalidMemory));
    // Each header word changed in turn: magic, layout, version, capacity,
    // slot size, size, flags.
    for word in 0..7 {
        let at = start + 4 * word;
        let saved = buf[at];
        buf[at] ^= 0x40;
        assert_eq!(
            attach(&mut buf, size),
            Err(Error::LayoutMismatch),
            "word {word}"
        );
        buf[at] = saved;
    }
    assert_eq!(attach(&mut buf, size), Ok(3));
    // Memory that never held a registry.
    let (mut zeroes, zstart) = aligned(size);
    zeroes.fill(0);
    // SAFETY: readable and writable for `size` bytes from `zstart`.
    let never = unsafe { PlacedRegistry::attach(zeroes[zstart..].as_mut_ptr(), size) };
    assert_eq!(never.err(), Some(Error::LayoutMismatch));
    // NULL and misaligned pointers.
    // SAFETY: both are refused before any read.
    unsafe {
        assert_eq!(
            PlacedRegistry::attach(core::ptr::null_mut(), size).err(),
            Some(Error::InvalidMemory)
        );
        assert_eq!(
            PlacedRegistry::attach(buf[start + 1..].as_mut_ptr(), size).err(),
            Some(Error::InvalidMemory)
        );
    }
}

#[test]
fn several_registries_are_independent() {
    let size = PlacedRegistry::size_for(2).unwrap();
    let (mut a_buf, a) = aligned(size);
    let (mut b_buf, b) = aligned(size);
    let ra = PlacedRegistry::place(&mut a_buf[a..a + size], 2).unwrap();
    let rb = PlacedRegistry::place(&mut b_buf[b..b + size], 2).unwrap();
    let cfg = Config::default().with_failure_threshold(1);
    let ia = ra.create(b"db", cfg).unwrap();
    let ib = rb.create(b"db", cfg).unwrap();
    ra.record_failure(ia, 0).unwrap();
    assert_eq!(ra.state(ia, 1), Ok(State::Open));
    assert_eq!(rb.state(ib, 1), Ok(State::Closed));
    assert_eq!(rb.create(b"db", cfg), Err(Error::NameTaken));
}

/// Threads share a placed registry as they share a `static` one: every
/// admission and success counted, nothing lost.
#[test]
fn threads_share_a_placed_registry() {
    let size = PlacedRegistry::size_for(4).unwrap();
    let (mut buf, start) = aligned(size);
    let r = PlacedRegistry::place(&mut buf[start..start + size], 4).unwrap();
    let id = r.create(b"shared", Config::default()).unwrap();
    let rounds = if cfg!(miri) { 50 } else { 20_000 };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..rounds {
                    unless_busy(|| r.try_acquire(id, 0)).unwrap();
                    unless_busy(|| r.record_success(id, 0)).unwrap();
                }
            });
        }
    });
    let stats = r.stats(id).unwrap();
    assert_eq!(stats.admitted_count, 4 * rounds);
    assert_eq!(stats.success_count, 4 * rounds);
}

/// Processes can share a registry on Linux with `std` and policies (not
/// under Miri, which has no robust mutexes); elsewhere placing one for
/// sharing answers `Unsupported` and writes nothing.
#[test]
fn sharing_a_registry_is_refused_where_it_cannot_work() {
    let supported = cfg!(all(
        target_os = "linux",
        feature = "std",
        feature = "policies",
        not(miri)
    ));
    let size = PlacedRegistry::size_for(2).unwrap();
    let (mut buf, start) = aligned(size);
    buf.fill(0xA5);
    let placed = PlacedRegistry::place_shared(&mut buf[start..start + size], 2);
    if supported {
        assert!(placed.unwrap().is_shared());
    } else {
        assert_eq!(placed.err(), Some(Error::Unsupported));
        assert!(buf.iter().all(|&b| b == 0xA5));
    }
}
