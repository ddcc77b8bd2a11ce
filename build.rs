//! Reads the build-time sizes and hands them to the crate as constants:
//! `FUSEBOX_CAPACITY` (slots of the C API's global registry, default 16),
//! `FUSEBOX_MAX_WINDOW_CALLS` (the largest count window, default 64) and
//! `FUSEBOX_MAX_BUCKETS` (the largest time window, default 8). It also
//! turns on the registry's fast path (`cfg(fusebox_fast)`) where it can
//! work (or, without `std`, with policies, the firmware's fast rejection:
//! `cfg(fusebox_fast_reject)`), placed registries' robust locks
//! (`cfg(fusebox_robust)`: Linux with `std`), and marks cores without a
//! divide instruction
//! (`cfg(fusebox_no_hw_div)`: ARMv6-M). A value out of range stops the
//! build with a message naming it.
use std::{env, fs, path::PathBuf};

/// The whole number in `range` that the environment variable `var` holds,
/// or `default` when it is not set; exits the build with a message
/// otherwise.
fn sized(var: &str, default: u32, range: std::ops::RangeInclusive<u32>, what: &str) -> u32 {
    println!("cargo:rerun-if-env-changed={var}");
    let Ok(raw) = env::var(var) else {
        return default;
    };
    match raw.trim().parse() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            eprintln!(
                "{var} must be a whole number in {}..={} ({what}), got {raw:?}",
                range.start(),
                range.end()
            );
            std::process::exit(1);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The registry's lock-free fast path (src/fast/) needs threads'
    // identities (std), 64-bit atomics, and POSIX thread-specific keys to
    // give a thread's lane back when it ends (unix).
    println!("cargo:rustc-check-cfg=cfg(fusebox_fast)");
    let atomics = env::var("CARGO_CFG_TARGET_HAS_ATOMIC").unwrap_or_default();
    let unix = env::var_os("CARGO_CFG_UNIX").is_some();
    let std = env::var_os("CARGO_FEATURE_STD").is_some();
    if std && unix && atomics.split(',').any(|w| w == "64") {
        println!("cargo:rustc-cfg=fusebox_fast");
    }
    // Without std, with policies, the firmware's fast rejection
    // (src/fast/firmware.rs) where the target has compare-and-swap
    // (Cortex-M3 and up; not the Cortex-M0 nor RV32IMC). The Snakepit core
    // keeps none: its publication would run in its masked bookkeeping.
    println!("cargo:rustc-check-cfg=cfg(fusebox_fast_reject)");
    let policies = env::var_os("CARGO_FEATURE_POLICIES").is_some();
    if !std && policies && atomics.split(',').any(|w| w == "32") {
        println!("cargo:rustc-cfg=fusebox_fast_reject");
    }
    // Placed registries' robust, process-shared slot locks
    // (src/slot/robust.rs): pthread's robust mutexes, on Linux with std.
    println!("cargo:rustc-check-cfg=cfg(fusebox_robust)");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    // Not under Miri, which has no robust mutexes: its placed registries
    // keep the host's slot cells (and cannot be shared).
    let miri = env::var_os("CARGO_CFG_MIRI").is_some();
    if env::var_os("CARGO_FEATURE_STD").is_some() && linux && !miri {
        println!("cargo:rustc-cfg=fusebox_robust");
    }
    // ARMv6-M (Cortex-M0/M0+/M1) has no divide instruction: a 32-bit
    // division is a call of `__aeabi_uidiv`, whose frames count in every
    // chain that divides (src/policy/arith.rs divides in line there).
    println!("cargo:rustc-check-cfg=cfg(fusebox_no_hw_div)");
    if env::var("TARGET").is_ok_and(|t| t.starts_with("thumbv6m")) {
        println!("cargo:rustc-cfg=fusebox_no_hw_div");
    }
    let capacity = sized("FUSEBOX_CAPACITY", 16, 1..=4096, "registry slots");
    let calls = sized(
        "FUSEBOX_MAX_WINDOW_CALLS",
        64,
        1..=1024,
        "calls a count window holds at most",
    );
    let buckets = sized(
        "FUSEBOX_MAX_BUCKETS",
        8,
        1..=60,
        "buckets a time window holds at most",
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(
        out.join("capacity.rs"),
        format!("/// Slots in the C API's global registry (`FUSEBOX_CAPACITY` at build time).\npub const CAPACITY: usize = {capacity};\n"),
    )
    .expect("write capacity.rs");
    fs::write(
        out.join("limits.rs"),
        format!(
            "/// `FUSEBOX_MAX_WINDOW_CALLS` at build time.\npub const MAX_WINDOW_CALLS: u32 = {calls};\n\
             /// `FUSEBOX_MAX_BUCKETS` at build time.\npub const MAX_BUCKETS: u32 = {buckets};\n"
        ),
    )
    .expect("write limits.rs");
}
