//! Reads `FUSEBOX_CAPACITY` (slots of the C API's global registry, default
//! 16) at build time and hands it to the crate as a constant, and turns on
//! the registry's fast path (`cfg(fusebox_fast)`) where it can work.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=FUSEBOX_CAPACITY");
    println!("cargo:rerun-if-changed=build.rs");
    // The registry's lock-free fast path (src/fast/) needs threads'
    // identities (std), 64-bit atomics, and POSIX thread-specific keys to
    // give a thread's lane back when it ends (unix).
    println!("cargo:rustc-check-cfg=cfg(fusebox_fast)");
    let atomics = env::var("CARGO_CFG_TARGET_HAS_ATOMIC").unwrap_or_default();
    let unix = env::var_os("CARGO_CFG_UNIX").is_some();
    if env::var_os("CARGO_FEATURE_STD").is_some() && unix && atomics.split(',').any(|w| w == "64") {
        println!("cargo:rustc-cfg=fusebox_fast");
    }
    let raw = env::var("FUSEBOX_CAPACITY").unwrap_or_else(|_| "16".into());
    let capacity: usize = match raw.trim().parse() {
        Ok(n) if (1..=4096).contains(&n) => n,
        _ => {
            eprintln!("FUSEBOX_CAPACITY must be a whole number in 1..=4096, got {raw:?}");
            std::process::exit(1);
        }
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(
        out.join("capacity.rs"),
        format!("/// Slots in the C API's global registry (`FUSEBOX_CAPACITY` at build time).\npub const CAPACITY: usize = {capacity};\n"),
    )
    .expect("write capacity.rs");
}
