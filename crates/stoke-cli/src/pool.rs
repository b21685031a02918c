//! `stoke run --jobs N`: a recipe's runs trained in up to N child processes (`stoke run-one`),
//! each with its own Burn device and random state, so results do not depend on how runs
//! interleave. Each child reports its progress as [`Event`] lines on its stdout.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use stoke_optim::Backend;
use stoke_recipes::RunSpec;
use stoke_recipes::runner::{read_result, run_dir};
use stoke_recipes::train::RunResult;

use crate::progress::Bars;
use crate::protocol::Event;

/// Trains `specs` in up to `jobs` child processes; the results in the order of `specs`.
pub fn run_parallel(
    specs: &[RunSpec],
    out: &Path,
    backend: Backend,
    resume: bool,
    jobs: usize,
    bars: &Bars,
) -> Result<Vec<RunResult>> {
    let exe = std::env::current_exe().context("locating the stoke executable")?;
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Result<RunResult>>>> =
        Mutex::new((0..specs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(specs.len()) {
            scope.spawn(|| {
                loop {
                    let i = {
                        // Internal invariant (here and below): no code holding these locks
                        // panics, so they are never poisoned.
                        let mut n = next.lock().unwrap();
                        if *n >= specs.len() {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let r = run_child(&exe, &specs[i], out, backend, resume, bars);
                    if let Ok(r) = &r {
                        bars.report_divergence(r);
                    }
                    bars.done(&specs[i]);
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        // Internal invariant: the workers take every index below `specs.len()` once.
        .map(|r| r.expect("every run was taken"))
        .collect()
}

/// Trains `spec` in a `stoke run-one` child, showing its progress on `bars`.
fn run_child(
    exe: &Path,
    spec: &RunSpec,
    out: &Path,
    backend: Backend,
    resume: bool,
    bars: &Bars,
) -> Result<RunResult> {
    let dir = run_dir(out, spec);
    std::fs::create_dir_all(&dir)?;
    let spec_path = dir.join("spec.json");
    std::fs::write(&spec_path, serde_json::to_vec_pretty(spec)?)?;
    let mut cmd = Command::new(exe);
    cmd.arg("run-one")
        .arg("--spec")
        .arg(&spec_path)
        .arg("--out")
        .arg(out)
        .arg("--backend")
        .arg(backend.name());
    if resume {
        cmd.arg("--resume");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a run process")?;
    // Internal invariant: both pipes were set just above, and each is taken once.
    let mut stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    if let Err(e) = relay(&mut child, spec, bars) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e.context(format!("run {}", spec.id())));
    }
    let status = child.wait()?;
    let err = err_thread.join().unwrap_or_default();
    if !status.success() {
        let last = err
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no message");
        bail!(
            "run {} failed: {}",
            spec.id(),
            last.trim_start_matches("error: ")
        );
    }
    Ok(read_result(&dir.join("result.json"))?)
}

/// Hands every event on `child`'s stdout to `bars`, until the child closes it.
fn relay(child: &mut Child, spec: &RunSpec, bars: &Bars) -> Result<()> {
    // Internal invariant: `run_child` pipes stdout and calls this once per child.
    let stdout = child.stdout.take().expect("piped");
    for (i, line) in BufReader::new(stdout).lines().enumerate() {
        let line = line.context("reading a run process's output")?;
        Event::parse(&line, i + 1)?.report(spec, bars);
    }
    Ok(())
}
