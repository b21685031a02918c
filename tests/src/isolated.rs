//! Running one test in a process of its own, on one thread.
//!
//! Burn's CPU random generator is shared by the whole process, so two trainings on parallel test
//! threads interleave their draws (initialisation, dropout masks) and neither is reproducible.
//! Instead of taking turns behind a mutex (one core busy, the other idle), each training test
//! re-runs its own test executable with `--exact NAME`: libtest runs tests on as many threads as
//! there are cores, so as many trainings run at once, each with its own generator.
//!
//! The child runs with `RAYON_NUM_THREADS=1`: the numbers of a training (sums split over rayon
//! threads) then do not depend on how many others run beside it, and the cores are shared by
//! processes rather than oversubscribed by each one's thread pool.

use std::process::Command;

/// Set in the child to the name of the test it runs.
const CHILD: &str = "STOKE_TEST_IN_OWN_PROCESS";

/// Runs `body` in a child process of the current test executable that runs only this test.
///
/// Call it as the whole body of a `#[test]` fn, with `module_path!()` and the fn's name:
/// `in_own_process(module_path!(), "my_test", || { ... })`. In the child it runs `body`; in
/// the parent it waits for the child, passes its output on, and panics when the child failed
/// or did not run exactly one test (a misspelt name would otherwise pass without running).
pub fn in_own_process(module_path: &str, test: &str, body: impl FnOnce()) {
    // libtest names a test by its path without the crate: `module::test`.
    let name = match module_path.split_once("::") {
        Some((_crate, path)) => format!("{path}::{test}"),
        None => test.to_string(),
    };
    if std::env::var(CHILD).as_deref() == Ok(name.as_str()) {
        body();
        return;
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let out = Command::new(&exe)
        .args([name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .arg("--include-ignored")
        .env(CHILD, &name)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Shown by libtest when the test fails, or always with --nocapture.
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "{name} failed in its own process ({}):\n{stdout}",
        out.status
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{name}: the child process did not run exactly this test:\n{stdout}"
    );
}
