//! Crash safety of `stoke run`, measured: the process killed with SIGKILL at seeded moments and
//! continued with `--resume` ends with the same `metrics.csv` and the same checkpoint files as
//! an uninterrupted run, bit for bit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stoke_recipes::metrics::{Metric, read_csv};

/// A small recipe that still exercises every kind of saved state: a dense run with a one-cycle
/// schedule (its position), clipping and dropout (the reseeded device RNG), and a sparse run
/// whose row optimizer keeps its own state file (`table-optim-E.bpk`) under a plateau schedule
/// (its counters, fed the validation loss) and early stopping (its best epoch's weights,
/// `best-E.bpk`).
const RECIPE: &str = r#"
name = "crash"
title = "Crash safety"
claim = "A killed run continues where it stopped."
seeds = [7]

[defaults]
dataset = "sentiment-uci"
epochs = 4
batch_size = 16
model = { embed_dim = 8, hidden = 16, n_hidden = 1, batch_norm = false, dropout = 0.2 }
tokenizer = { features = { kind = "hashing", buckets = 2048 }, word_bigrams = false, char_min_n = 0, char_max_n = 0 }

[[runs]]
label = "adam one-cycle"
embedding = "dense"
optimizer = { name = "adam", lr = 0.02, schedule = "one-cycle", clip_norm = 0.5 }

[[runs]]
label = "momentum plateau sparse"
embedding = "sparse"
optimizer = { name = "momentum", lr = 0.2, schedule = "plateau", "schedule.patience" = 0 }
early_stopping = { patience = 3, monitor = "valid_accuracy" }
"#;

/// Runs in the recipe × its epochs: the checkpoints an uninterrupted run writes.
const CHECKPOINTS: usize = 2 * 4;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stoke-crash-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `stoke run RECIPE` into `out`, one run after another in one process, then `extra`.
fn command(recipe: &Path, out: &Path, resume: bool, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stoke"));
    c.args([
        "run",
        recipe.to_str().unwrap(),
        "--train-subset",
        "96",
        "--quiet",
    ])
    .args(extra)
    .arg("--out")
    .arg(out)
    .env("XDG_RUNTIME_DIR", std::env::temp_dir())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if resume {
        c.arg("--resume");
    }
    c
}

fn run_to_end(recipe: &Path, out: &Path, resume: bool, extra: &[&str]) {
    let o = command(recipe, out, resume, extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Checkpoints completed so far: for each run, the epoch of its newest `model-E.bpk`.
fn progress(out: &Path) -> usize {
    let Ok(runs) = std::fs::read_dir(out.join("runs")) else {
        return 0;
    };
    runs.filter_map(|r| std::fs::read_dir(r.ok()?.path().join("checkpoint")).ok())
        .map(|files| {
            files
                .filter_map(|f| {
                    let name = f.ok()?.file_name().into_string().ok()?;
                    name.strip_prefix("model-")?
                        .strip_suffix(".bpk")?
                        .parse::<usize>()
                        .ok()
                })
                .max()
                .unwrap_or(0)
        })
        .sum()
}

/// What must not depend on a crash: every value of `metrics.csv` but the clock's (wall time
/// and examples per second) as bits, and every file of every run's final checkpoint byte for
/// byte (weights, optimizer and row-optimizer state) or, for the tensors' files, tensor for
/// tensor, with `state.json` less its clock values and its hashes.
fn outcome(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut seen = BTreeMap::new();
    let values: Vec<String> = read_csv(&out.join("metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| r.metric != Metric::WallTime && r.metric != Metric::ExamplesPerSec)
        .map(|r| {
            let at = (r.run, r.epoch, r.iteration, r.split, r.metric);
            format!("{at:?} {:016x}", r.value.to_bits())
        })
        .collect();
    assert!(values.len() > 20, "{values:?}");
    seen.insert("metrics.csv".into(), values.join("\n").into_bytes());
    for run in std::fs::read_dir(out.join("runs")).unwrap() {
        let dir = run.unwrap().path().join("checkpoint");
        let weights = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("model-")
            })
            .unwrap();
        let names: BTreeMap<String, String> = read_pack(&weights)
            .into_iter()
            .map(|t| (t.param_id.unwrap().to_string(), t.name))
            .collect();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let name = path.strip_prefix(out).unwrap().display().to_string();
            let mut bytes = std::fs::read(&path).unwrap();
            if name.ends_with(".bpk") {
                bytes = tensors(&path, &names);
            } else if name.ends_with("state.json") {
                let mut state: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                state["wall_time"] = 0.into();
                // The hashes cover the files' parameter ids (and the wall time).
                unhashed(&mut state);
                let records = state["records"].as_array_mut().unwrap();
                records.retain(|r| {
                    !matches!(r["metric"].as_str(), Some("wall_time" | "examples_per_sec"))
                });
                bytes = serde_json::to_vec(&state).unwrap();
            }
            seen.insert(name, bytes);
        }
    }
    seen
}

/// A burnpack file's tensors.
fn read_pack(path: &Path) -> Vec<burn::store::burn_pack::Tensor> {
    let bytes = burn::tensor::Bytes::from_bytes_vec(std::fs::read(path).unwrap());
    let tensors = burn::store::burn_pack::Reader::from_bytes(bytes)
        .unwrap()
        .into_tensors()
        .unwrap();
    assert!(!tensors.is_empty(), "{}", path.display());
    tensors
}

/// A burnpack file's tensors, each as its name, dtype, shape and data bytes, in name order.
/// Parameter ids are drawn at random when a model is made, so two identical runs save
/// different ones: an optimizer's state named `ID.slot` is named by the parameter's path in
/// the model instead (`names`: id → path, from the checkpoint's weights).
fn tensors(path: &Path, names: &BTreeMap<String, String>) -> Vec<u8> {
    let mut named: Vec<(String, burn::store::burn_pack::Tensor)> = read_pack(path)
        .into_iter()
        .map(|t| {
            let name = match t.name.split_once('.') {
                Some((id, slot)) if names.contains_key(id) => format!("{}.{slot}", names[id]),
                _ => t.name.clone(),
            };
            (name, t)
        })
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = Vec::new();
    for (name, t) in named {
        seen.extend_from_slice(format!("{name} {:?} {:?}\n", t.dtype, t.shape).as_bytes());
        seen.extend_from_slice(&t.to_bytes().unwrap());
    }
    seen
}

fn write_recipe(root: &Path) -> PathBuf {
    let recipe = root.join("crash.toml");
    std::fs::write(&recipe, RECIPE).unwrap();
    recipe
}

/// The processes whose command line names `out`.
fn processes_writing_to(out: &Path) -> Vec<u32> {
    let needle = out.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|p| {
            let p = p.ok()?;
            let pid: u32 = p.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(p.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .split('\0')
                .any(|arg| arg == needle)
                .then_some(pid)
        })
        .collect()
}

/// SplitMix64: the kill points' generator (a fixed seed, so every CI run tries the same ones).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 20 kills, each at a seeded point of the run's progress: once checkpoint `k` of the
/// recipe's 8 is on disk (k uniform in 0..8; 0 is the start), plus a uniform fraction of one
/// checkpoint's share of the uninterrupted run's wall time. Anchoring on progress rather than
/// on the clock spreads the kills over the whole run however loaded the machine is; the
/// fraction lands them anywhere inside an epoch, its evaluation or its checkpoint's writes.
#[test]
fn killed_and_resumed_runs_match_an_uninterrupted_one_bit_for_bit() {
    let root = tmp("kills");
    let recipe = write_recipe(&root);
    let straight = root.join("straight");
    let t = Instant::now();
    run_to_end(&recipe, &straight, false, &[]);
    let wall = t.elapsed();
    let expected = outcome(&straight);
    assert!(
        expected.keys().any(|k| k.ends_with("table-optim-4.bpk"))
            && expected.keys().any(|k| k.contains("/best-")),
        "{:?}",
        expected.keys()
    );
    let share = wall.as_secs_f64() / CHECKPOINTS as f64;

    let mut rng = Rng(15);
    let mut interrupted = Vec::new();
    for kill in 0..20 {
        let at = (rng.next() % CHECKPOINTS as u64) as usize;
        let delay = Duration::from_secs_f64(rng.unit() * share);
        let out = root.join(format!("kill-{kill}"));
        let mut child = command(&recipe, &out, false, &[]).spawn().unwrap();
        while progress(&out) < at && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(delay);
        let alive = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if alive {
            interrupted.push(progress(&out));
        }
        run_to_end(&recipe, &out, true, &[]);
        let got = outcome(&out);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "kill {kill} (after checkpoint {at} + {delay:?}): the same files"
        );
        for (name, bytes) in &expected {
            assert!(
                got[name] == *bytes,
                "kill {kill} (after checkpoint {at} + {delay:?}): {name} differs"
            );
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
    eprintln!(
        "uninterrupted run {wall:?}; {} of 20 kills interrupted the run, with checkpoints done: {interrupted:?}",
        interrupted.len()
    );
    assert!(
        interrupted.len() >= 15,
        "most kills must land while the run is going: {interrupted:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// `stoke run --jobs 2` trains in `stoke run-one` children: killing the parent with SIGKILL
/// ends them too, so none goes on writing checkpoints while `--resume` continues the recipe,
/// and the resumed recipe matches an uninterrupted one.
#[cfg(target_os = "linux")]
#[test]
fn killing_stoke_run_with_jobs_ends_its_run_processes() {
    let root = tmp("jobs");
    let recipe = write_recipe(&root);
    // Long enough that both children are still training when the parent is killed.
    let jobs = ["--jobs", "2", "--epochs", "40"];
    let straight = root.join("straight");
    run_to_end(&recipe, &straight, false, &jobs);
    let out = root.join("killed");
    let mut parent = command(&recipe, &out, false, &jobs).spawn().unwrap();
    while progress(&out) < 2 && parent.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        processes_writing_to(&out).len(),
        3,
        "the parent and its two children"
    );
    parent.kill().unwrap();
    parent.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let left = processes_writing_to(&out);
    for pid in &left {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    assert!(
        left.is_empty(),
        "run processes outlived their parent: {left:?}"
    );
    run_to_end(&recipe, &out, true, &jobs);
    assert!(
        outcome(&out) == outcome(&straight),
        "resumed recipe differs"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// Copies the directory `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// `--resume` of `out` fails with one line on stderr that names `file` and says `what`,
/// without a panic; the line, for the report.
fn resume_fails(recipe: &Path, out: &Path, extra: &[&str], file: &str, what: &str) -> String {
    let o = command(recipe, out, true, extra).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert!(!o.status.success(), "{file}: resumed anyway");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{file}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{file}: one line: {err}");
    assert!(
        err.contains(file) && err.contains(what),
        "{file}: expected '{what}' in: {err}"
    );
    err
}

/// What a tamperer does to one file of a checkpoint.
enum Damage {
    /// Keeps the first half.
    Truncate,
    /// Flips one bit in the middle.
    FlipBit,
    /// Replaces it with another file of the same kind.
    Replace(PathBuf),
    /// Rewrites the JSON.
    Json(fn(&mut serde_json::Value)),
}

impl Damage {
    fn apply(&self, path: &Path) {
        let mut bytes = std::fs::read(path).unwrap();
        match self {
            Damage::Truncate => bytes.truncate(bytes.len() / 2),
            Damage::FlipBit => {
                let i = bytes.len() / 2;
                bytes[i] ^= 0x10;
            }
            Damage::Replace(other) => bytes = std::fs::read(other).unwrap(),
            Damage::Json(edit) => {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                edit(&mut v);
                bytes = serde_json::to_vec(&v).unwrap();
            }
        }
        std::fs::write(path, bytes).unwrap();
    }
}

/// Drops the hashes a checkpoint records, as in checkpoints written before they existed, so
/// what is behind them (decoding and checking each file) is tried too.
fn unhashed(v: &mut serde_json::Value) {
    let state = v.as_object_mut().unwrap();
    state.remove("files");
    state.remove("checksum");
}

/// Damaged, truncated, swapped and misshapen checkpoint files: `--resume` stops with one line
/// naming the file and what is wrong, never a panic, and never trains on from a bad state.
#[test]
fn hostile_checkpoint_files_get_one_line_errors_naming_them() {
    let root = tmp("hostile");
    let recipe = write_recipe(&root);
    let epochs = ["--epochs", "2"];
    let good = root.join("good");
    run_to_end(&recipe, &good, false, &epochs);
    // The same recipe with a wider model: checkpoints of another model size.
    let wide = root.join("wide.toml");
    std::fs::write(&wide, RECIPE.replace("embed_dim = 8", "embed_dim = 12")).unwrap();
    let other_size = root.join("other-size");
    run_to_end(&wide, &other_size, false, &epochs);

    let dense = "runs/adam_one-cycle-seed7/checkpoint";
    let sparse = "runs/momentum_plateau_sparse-seed7/checkpoint";
    let state = |run: &str| format!("{run}/state.json");
    let file = |run: &str, name: &str| format!("{run}/{name}-2.bpk");
    let from = |dir: &Path, run: &str, name: &str| dir.join(file(run, name));
    type Case = (String, Vec<(String, Damage)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            state(dense),
            vec![(state(dense), Damage::Truncate)],
            "EOF while parsing",
        ),
        (
            state(dense),
            vec![(state(dense), Damage::FlipBit)],
            "state.json",
        ),
        (
            state(dense),
            vec![(
                state(dense),
                Damage::Json(|v| v["records"][3]["value"] = 0.5.into()),
            )],
            "changed or damaged since it was written",
        ),
        (
            state(dense),
            vec![(state(dense), Damage::Json(|v| v["epoch"] = "two".into()))],
            "invalid type: string \"two\", expected usize",
        ),
        (
            state(dense),
            vec![(
                state(dense),
                Damage::Json(|v| {
                    unhashed(v);
                    v["epoch"] = 7.into();
                }),
            )],
            "names epoch 7, but the run has epochs 1..=2",
        ),
        (
            state(dense),
            vec![(
                state(dense),
                Damage::Json(|v| *v = serde_json::json!([1, 2])),
            )],
            "invalid length 2, expected struct CheckpointState",
        ),
        (
            state(dense),
            vec![(state(dense), Damage::Replace(other_size.join(state(dense))))],
            "was written by a run with other settings",
        ),
        (
            state(dense),
            vec![(state(dense), Damage::Replace(good.join(state(sparse))))],
            "was written by a run with other settings",
        ),
    ];
    let mut cases = cases;
    for (run, name) in [
        (dense, "model"),
        (dense, "optim"),
        (sparse, "optim"),
        (sparse, "table-optim"),
    ] {
        for damage in [Damage::Truncate, Damage::FlipBit] {
            cases.push((
                file(run, name),
                vec![(file(run, name), damage)],
                "changed or damaged since it was written",
            ));
        }
    }
    // Early stopping's kept weights: the sparse run's best of its 2 epochs is epoch 1.
    let best = format!("{sparse}/best-1.bpk");
    assert!(good.join(&best).exists(), "{best}: the kept epoch moved");
    for damage in [Damage::Truncate, Damage::FlipBit] {
        let what = "changed or damaged since it was written";
        cases.push((best.clone(), vec![(best.clone(), damage)], what));
    }
    let legacy = |target: String, damage: Damage, what| -> Case {
        let unhashed_state = (
            state(&target[..target.rfind('/').unwrap()]),
            Damage::Json(unhashed),
        );
        (target.clone(), vec![unhashed_state, (target, damage)], what)
    };
    cases.extend([
        // A swapped file, caught by its hash; without hashes, by what is in it.
        (
            file(dense, "model"),
            vec![(
                file(dense, "model"),
                Damage::Replace(from(&other_size, dense, "model")),
            )],
            "changed or damaged since it was written",
        ),
        legacy(file(dense, "model"), Damage::Truncate, "File truncated"),
        legacy(
            file(sparse, "table-optim"),
            Damage::Truncate,
            "File truncated",
        ),
    ]);
    let table = "this model's table is [2048, 8]";
    for (run, name, source, source_run, what) in [
        (dense, "model", &other_size, dense, "shape mismatch"),
        (
            dense,
            "optim",
            &other_size,
            dense,
            "which this model does not have",
        ),
        (
            sparse,
            "optim",
            &good,
            dense,
            "which this model does not have",
        ),
        (sparse, "table-optim", &other_size, sparse, table),
    ] {
        let swapped = Damage::Replace(from(source, source_run, name));
        cases.push(legacy(file(run, name), swapped, what));
    }

    let mut messages = Vec::new();
    for (i, (named, damages, what)) in cases.iter().enumerate() {
        let out = root.join(format!("case-{i}"));
        copy_dir(&good, &out);
        // The runs are not done: resume reads their checkpoints.
        for run in ["adam_one-cycle-seed7", "momentum_plateau_sparse-seed7"] {
            std::fs::remove_file(out.join("runs").join(run).join("result.json")).unwrap();
        }
        for (target, damage) in damages {
            damage.apply(&out.join(target));
        }
        let line = resume_fails(&recipe, &out, &epochs, named, what);
        messages.push(line.replace(out.to_str().unwrap(), "OUT"));
        std::fs::remove_dir_all(&out).unwrap();
    }
    eprintln!(
        "{} hostile checkpoints:\n{}",
        messages.len(),
        messages.join("\n")
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A checkpoint that cannot be written — a directory where its temporary file goes (what a
/// read-only or otherwise unwritable place gives any user, root included), or a full disk (a
/// tiny tmpfs, where mounting one is allowed) — stops the run with one line naming the file;
/// the previous checkpoint stays loadable, and `--resume` then ends where an uninterrupted
/// run ends.
#[test]
fn a_checkpoint_that_cannot_be_written_names_the_file_and_keeps_the_previous_one() {
    let root = tmp("unwritable");
    let recipe = write_recipe(&root);
    let straight = root.join("straight");
    run_to_end(&recipe, &straight, false, &[]);
    let expected = outcome(&straight);
    let dense = "runs/adam_one-cycle-seed7/checkpoint";

    // Epoch 2's weights cannot be written.
    let out = root.join("blocked");
    let blocker = out.join(dense).join("model-2.bpk.tmp");
    std::fs::create_dir_all(blocker.join("x")).unwrap();
    // (`--resume` with nothing to resume starts afresh.)
    let line = resume_fails(&recipe, &out, &[], "model-2.bpk.tmp", "Is a directory");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(dense).join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["epoch"], 1, "the previous checkpoint is in force");
    std::fs::remove_dir_all(&blocker).unwrap();
    run_to_end(&recipe, &out, true, &[]);
    assert!(outcome(&out) == expected, "resumed after the failed write");
    eprintln!("unwritable: {}", line.replace(out.to_str().unwrap(), "OUT"));

    // A full disk: room for epoch 1's checkpoint and epoch 2's weights, not its optimizer.
    let disk = root.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let pages = |name: &str| {
        std::fs::metadata(straight.join(dense).join(name))
            .unwrap()
            .len()
            .div_ceil(4096)
    };
    let room = 2 * pages("model-4.bpk") + pages("optim-4.bpk") * 3 / 2 + pages("state.json") + 1;
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={}k", room * 4), "tmpfs"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("full disk: not tried (tmpfs cannot be mounted here)");
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    let o = command(&recipe, &disk, false, &[]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    let kept = root.join("kept");
    copy_dir(&disk, &kept);
    let _ = Command::new("umount").arg(&disk).status();
    assert!(!o.status.success(), "the disk was not full");
    assert!(
        err.lines().count() == 1
            && err.contains("optim-2.bpk.tmp")
            && err.contains("No space left"),
        "{err}"
    );
    assert!(
        !kept.join(dense).join("optim-2.bpk.tmp").exists(),
        "a failed write leaves no partial file behind"
    );
    run_to_end(&recipe, &kept, true, &[]);
    assert!(outcome(&kept) == expected, "resumed after the full disk");
    eprintln!("full disk: {}", err.replace(disk.to_str().unwrap(), "OUT"));
    let _ = std::fs::remove_dir_all(&root);
}
