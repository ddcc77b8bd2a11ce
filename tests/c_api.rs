//! Builds the static library and the C tests in tests/c with the system C
//! compiler (through examples-c/Makefile), runs them, and checks the verdict.
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// One `make` at a time: the tests run in parallel, and two makes that
/// rebuild the same static library at once race (`ar` finds the archive
/// gone).
static MAKE: Mutex<()> = Mutex::new(());

fn make(target: &str) -> String {
    let _one = MAKE.lock().unwrap_or_else(PoisonError::into_inner);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new("make")
        .args(["-s", "-C", "examples-c", target])
        .current_dir(root)
        .env("CARGO", cargo)
        .output()
        .expect("run make (is `make` installed?)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "make {target} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

#[test]
fn c_tests_pass_against_the_header_and_static_library() {
    let stdout = make("ctest");
    let verdict = stdout
        .lines()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no verdict line in:\n{stdout}"));
    let passed: u32 = verdict.split(' ').next().unwrap().parse().unwrap();
    assert!(verdict.ends_with(", 0 failed"), "{verdict}");
    assert!(passed >= 250, "suspiciously few C checks ran: {verdict}");
}

#[test]
fn c_examples_run() {
    let stdout = make("run");
    assert!(stdout.contains("state: closed -> open"), "{stdout}");
    assert!(stdout.contains("state: open -> half_open"), "{stdout}");
    assert!(stdout.contains("state: half_open -> closed"), "{stdout}");
    assert!(stdout.contains("files: state=open"), "{stdout}");
    assert!(stdout.contains("[run 2] t=20049 ms: open"), "{stdout}");
    assert!(stdout.contains("[run 2] t=20050 ms: half_open"), "{stdout}");
    // prefork: worker 0's failures open the breaker for the other processes.
    assert!(
        stdout.contains("worker 1 (upstream up): 0 calls ran, 5 rejected; breaker open"),
        "{stdout}"
    );
}

#[test]
fn readme_c_example_compiles_and_behaves_as_documented() {
    let stdout = make("readme");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        ["failed", "failed", "failed", "circuit open", "circuit open"],
        "{stdout}"
    );
}
