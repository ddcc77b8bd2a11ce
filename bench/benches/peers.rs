//! fusebox against other Rust circuit breakers, side by side in one run.
//!
//! Three groups: `call` (closed state, an op that succeeds), `acquire_record`
//! (permission + record success, the manual API) and `reject` (open state).
//! Each has a hand-written minimal breaker as the lower bound, called in
//! place (`&mut self`) and through an `extern "C"` function pointer. The C
//! API is called through function pointers too (`black_box`ed, so never
//! inlined), as a C program linking the static library calls it.
//!
//! `reject` runs first: its default-clock row needs a process in which no
//! clock was ever set (a C clock, once set, stays set). Every
//! measured closure returns a `bool` (admitted, or succeeded), so that what
//! is measured is each breaker's work, not the harness's `black_box` of
//! result types of different shapes and sizes. Run
//! `bench/run.sh` to get the table of medians and ratios to the bound.
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use failsafe::{backoff, failure_policy, CircuitBreaker as _};
use fusebox::ffi::*;
use fusebox::{Breaker, Config, Registry};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The least a breaker can do: one state check, one counter (its rejection
/// counts nothing). Like every breaker here it is reached through
/// `black_box`, so that the compiler cannot hoist its state out of the
/// measured loop.
struct Minimal {
    open: bool,
    successes: u32,
    rejections: u32,
    opened_ms: u64,
    open_ms: u64,
}

impl Minimal {
    fn new(open: bool) -> Self {
        Minimal {
            open,
            successes: 0,
            rejections: 0,
            opened_ms: 1_000,
            open_ms: 30_000,
        }
    }
}

impl Minimal {
    #[inline]
    fn try_acquire(&mut self) -> Result<(), ()> {
        if self.open {
            Err(())
        } else {
            Ok(())
        }
    }
    /// A rejection that does the work a Snakepit breaker's must: the time
    /// read (by the caller), the open window checked against it, the
    /// rejection counted (the core contract's `rejected_count`).
    #[inline]
    fn try_acquire_counted(&mut self, now_ms: u64) -> Result<(), ()> {
        if self.open && now_ms.wrapping_sub(self.opened_ms) < self.open_ms {
            self.rejections = self.rejections.wrapping_add(1);
            Err(())
        } else {
            Ok(())
        }
    }
    #[inline]
    fn record_success(&mut self) {
        self.successes = self.successes.wrapping_add(1);
    }
    #[inline]
    fn call<T>(&mut self, op: impl FnOnce() -> Result<T, ()>) -> Result<T, ()> {
        self.try_acquire()?;
        let r = op();
        if r.is_ok() {
            self.record_success();
        }
        r
    }
}

/// The lower bound behind an `extern "C"` function pointer.
extern "C" fn lb_call(m: &mut Minimal) -> bool {
    m.call(ok_op).is_ok()
}

extern "C" fn lb_try_acquire(m: &mut Minimal) -> bool {
    m.try_acquire().is_ok()
}

extern "C" fn lb_record_success(m: &mut Minimal) {
    m.record_success()
}

static REGISTRY: Registry<16> = Registry::new();
static NOW: AtomicU64 = AtomicU64::new(1_000);
/// A variable clock: the application keeps it current, fusebox loads it.
static NOW_VAR: AtomicU64 = AtomicU64::new(1_000);

/// The least a default-clock reading can cost: `CLOCK_MONOTONIC_COARSE`
/// in ms, as fusebox's default C clock reads it.
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64) * 1_000 + (ts.tv_nsec as u64) / 1_000_000
}

type TryAcquireFn = extern "C" fn(fusebox_id) -> fusebox_status;
/// A `Registry` operation behind a pointer, as the C API's are: the rows
/// that isolate the C layer's own cost from the cost of a call that is
/// not inlined into the loop.
type RegistryFn = fn(fusebox::Id) -> bool;

/// The time a variable clock reads.
fn var_clock() -> u64 {
    NOW_VAR.load(Ordering::Relaxed)
}

#[inline(never)]
fn registry_try_acquire(id: fusebox::Id) -> bool {
    REGISTRY.try_acquire_with(id, &var_clock).is_ok()
}

#[inline(never)]
fn registry_record_success(id: fusebox::Id) -> bool {
    REGISTRY.record_success_with(id, &var_clock).is_ok()
}
type RecordFn = extern "C" fn(fusebox_id) -> fusebox_status;
type CallFn =
    unsafe extern "C" fn(fusebox_id, fusebox_op_fn, *mut c_void, *mut i32) -> fusebox_status;

unsafe extern "C" fn counter_clock(_: *mut c_void) -> u64 {
    NOW.load(Ordering::Relaxed)
}

unsafe extern "C" fn c_op(_: *mut c_void) -> i32 {
    0
}

fn ok_op() -> Result<u32, ()> {
    Ok(black_box(7))
}

fn consecutive() -> impl failsafe::CircuitBreaker {
    failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(
            5,
            backoff::constant(Duration::from_secs(30)),
        ))
        .build()
}

fn failsafe_default() -> impl failsafe::CircuitBreaker {
    failsafe::Config::new().build()
}

fn c_breaker(name: &std::ffi::CStr, threshold: u32) -> fusebox_id {
    let cfg = fusebox_config {
        failure_threshold: threshold,
        reset_timeout_ms: 30_000,
        half_open_max_calls: 1,
        ..Default::default()
    };
    let mut id = 0;
    assert_eq!(
        unsafe { fusebox_create(name.as_ptr(), &cfg, &mut id) },
        FUSEBOX_OK
    );
    id
}

fn bench_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("call");
    let clock_ms = Cell::new(1_000u64);
    let clock = || clock_ms.get();

    let mut minimal = Minimal::new(false);
    g.bench_function("lower bound", |b| {
        b.iter(|| black_box(&mut minimal).call(ok_op).is_ok())
    });
    let lb: extern "C" fn(&mut Minimal) -> bool = black_box(lb_call);
    g.bench_function("lower bound, extern C pointer", |b| {
        b.iter(|| lb(black_box(&mut minimal)))
    });
    let mut owned = Breaker::new(Config::default()).unwrap();
    g.bench_function("fusebox Breaker (owned)", |b| {
        b.iter(|| black_box(&mut owned).call(&clock, ok_op).is_ok())
    });
    let id = REGISTRY.create(b"call", Config::default()).unwrap();
    g.bench_function("fusebox Registry by id", |b| {
        b.iter(|| REGISTRY.call(black_box(id), &clock, ok_op).is_ok())
    });
    // The C API calls its op through a pointer: the same here, for the
    // Rust row it is compared with.
    let op: unsafe extern "C" fn(*mut c_void) -> i32 = black_box(c_op);
    g.bench_function("fusebox Registry, op by pointer", |b| {
        b.iter(|| {
            REGISTRY
                .call(black_box(id), &clock, || {
                    match unsafe { op(std::ptr::null_mut()) } {
                        0 => Ok(()),
                        e => Err(e),
                    }
                })
                .is_ok()
        })
    });
    let cid = c_breaker(c"call", 5);
    let mut out = 0;
    let call: CallFn = black_box(fusebox_call);
    g.bench_function("fusebox C API", |b| {
        b.iter(|| unsafe {
            call(black_box(cid), Some(c_op), std::ptr::null_mut(), &mut out) == FUSEBOX_OK
        })
    });
    let fs = consecutive();
    g.bench_function("failsafe (consecutive)", |b| {
        b.iter(|| fs.call(ok_op).is_ok())
    });
    let fs = failsafe_default();
    g.bench_function("failsafe (default)", |b| b.iter(|| fs.call(ok_op).is_ok()));
    let rc = recloser::Recloser::default();
    g.bench_function("recloser", |b| b.iter(|| rc.call(ok_op).is_ok()));
    g.finish();
}

fn bench_acquire_record(c: &mut Criterion) {
    let mut g = c.benchmark_group("acquire_record");
    let mut minimal = Minimal::new(false);
    g.bench_function("lower bound", |b| {
        b.iter(|| {
            let m = black_box(&mut minimal);
            let r = m.try_acquire();
            m.record_success();
            r.is_ok()
        })
    });
    let (acq, rec): (
        extern "C" fn(&mut Minimal) -> bool,
        extern "C" fn(&mut Minimal),
    ) = black_box((lb_try_acquire, lb_record_success));
    g.bench_function("lower bound, extern C pointer", |b| {
        b.iter(|| {
            let m = black_box(&mut minimal);
            let r = acq(m);
            rec(m);
            r
        })
    });
    let mut owned = Breaker::new(Config::default()).unwrap();
    g.bench_function("fusebox Breaker (owned)", |b| {
        b.iter(|| {
            let o = black_box(&mut owned);
            let r = o.try_acquire(black_box(1_000));
            o.record_success(1_000);
            r.is_ok()
        })
    });
    let id = REGISTRY.create(b"acquire", Config::default()).unwrap();
    g.bench_function("fusebox Registry by id", |b| {
        b.iter(|| {
            let r = REGISTRY.try_acquire(black_box(id), 1_000);
            let _ = REGISTRY.record_success(id, 1_000);
            r.is_ok()
        })
    });
    let (racquire, rsuccess): (RegistryFn, RegistryFn) =
        black_box((registry_try_acquire, registry_record_success));
    g.bench_function("fusebox Registry, each by pointer", |b| {
        b.iter(|| {
            let r = racquire(black_box(id));
            rsuccess(id);
            r
        })
    });
    let cid = c_breaker(c"acquire", 5);
    let (acquire, success): (TryAcquireFn, RecordFn) =
        black_box((fusebox_try_acquire, fusebox_record_success));
    g.bench_function("fusebox C API", |b| {
        b.iter(|| {
            let r = acquire(black_box(cid));
            success(cid);
            r == FUSEBOX_OK
        })
    });
    let fs = failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(
            5,
            backoff::constant(Duration::from_secs(30)),
        ))
        .build();
    g.bench_function("failsafe (consecutive)", |b| {
        b.iter(|| {
            let r = fs.is_call_permitted();
            fs.on_success();
            r
        })
    });
    let fs = failsafe::Config::new().build();
    g.bench_function("failsafe (default)", |b| {
        b.iter(|| {
            let r = fs.is_call_permitted();
            fs.on_success();
            r
        })
    });
    g.finish();
}

fn bench_reject(c: &mut Criterion) {
    let mut g = c.benchmark_group("reject");
    let mut minimal = Minimal::new(true);
    g.bench_function("lower bound", |b| {
        b.iter(|| black_box(&mut minimal).try_acquire().is_ok())
    });
    g.bench_function("minimal, time + count", |b| {
        b.iter(|| {
            let now = NOW_VAR.load(Ordering::Relaxed);
            black_box(&mut minimal).try_acquire_counted(now).is_ok()
        })
    });
    g.bench_function("minimal, coarse clock + count", |b| {
        b.iter(|| {
            black_box(&mut minimal)
                .try_acquire_counted(coarse_ms())
                .is_ok()
        })
    });
    let cfg = Config::default().with_failure_threshold(1);
    let mut owned = Breaker::new(cfg).unwrap();
    owned.record_failure(1_000);
    g.bench_function("fusebox Breaker (owned)", |b| {
        b.iter(|| {
            let now = NOW_VAR.load(Ordering::Relaxed);
            black_box(&mut owned).try_acquire(now).is_ok()
        })
    });
    let id = REGISTRY.create(b"reject", cfg).unwrap();
    REGISTRY.record_failure(id, 1_000).unwrap();
    g.bench_function("fusebox Registry by id", |b| {
        b.iter(|| {
            let now = NOW_VAR.load(Ordering::Relaxed);
            REGISTRY.try_acquire(black_box(id), now).is_ok()
        })
    });
    g.bench_function("fusebox Registry, clock", |b| {
        b.iter(|| REGISTRY.try_acquire_with(black_box(id), &var_clock).is_ok())
    });
    let racquire: RegistryFn = black_box(registry_try_acquire);
    g.bench_function("fusebox Registry, clock, by pointer", |b| {
        b.iter(|| racquire(black_box(id)))
    });
    let acquire: TryAcquireFn = black_box(fusebox_try_acquire);
    // No clock set yet: the default clock.
    let mut now = 0;
    assert_eq!(unsafe { fusebox_now_ms(&mut now) }, FUSEBOX_OK);
    let cid = c_breaker(c"reject-default", 1);
    fusebox_record_failure(cid);
    assert_eq!(acquire(cid), FUSEBOX_CIRCUIT_OPEN);
    g.bench_function("fusebox C API, default clock", |b| {
        b.iter(|| acquire(black_box(cid)) == FUSEBOX_OK)
    });
    NOW_VAR.store(now, Ordering::Relaxed);
    assert_eq!(
        unsafe { fusebox_set_clock_var64(NOW_VAR.as_ptr().cast()) },
        FUSEBOX_OK
    );
    assert_eq!(acquire(cid), FUSEBOX_CIRCUIT_OPEN);
    g.bench_function("fusebox C API, variable clock", |b| {
        b.iter(|| acquire(black_box(cid)) == FUSEBOX_OK)
    });
    NOW.store(now, Ordering::Relaxed);
    fusebox_set_clock(Some(counter_clock), std::ptr::null_mut());
    assert_eq!(acquire(cid), FUSEBOX_CIRCUIT_OPEN);
    g.bench_function("fusebox C API, callback clock", |b| {
        b.iter(|| acquire(black_box(cid)) == FUSEBOX_OK)
    });
    let fs = consecutive();
    while fs.call(|| Err::<(), ()>(())).is_ok() || fs.is_call_permitted() {}
    g.bench_function("failsafe (consecutive)", |b| {
        b.iter(|| fs.call(ok_op).is_ok())
    });
    let rc = recloser::Recloser::custom()
        .closed_len(2)
        .error_rate(0.5)
        .build();
    for _ in 0..4 {
        let _ = rc.call(|| Err::<(), ()>(()));
    }
    g.bench_function("recloser", |b| b.iter(|| rc.call(ok_op).is_ok()));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = bench_reject, bench_call, bench_acquire_record }
criterion_main!(benches);
