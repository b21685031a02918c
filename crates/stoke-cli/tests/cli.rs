//! End-to-end tests of the `stoke` command on tiny settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::Device;
use stoke_recipes::metrics::{MeanStd, Metric, Split, read_csv};
use stoke_text::saved::SavedClassifier;

fn stoke(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stoke"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .output()
        .expect("run stoke")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stoke-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A failing command: non-zero exit, one clear line on stderr naming `needle`, no panic.
fn fails_clearly(args: &[&str], needle: &str) {
    let out = stoke(args);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{args:?} should fail; stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    assert!(
        err.contains(needle),
        "{args:?}: expected '{needle}' in: {err}"
    );
    assert!(
        err.trim().lines().count() <= 3,
        "{args:?}: a short message, got: {err}"
    );
}

/// The flags around the optimizer are parsed into the typed description and checked before any
/// training: a bad value names its flag's key and rule, a combination that cannot work says why.
#[test]
fn schedule_and_transform_flags_are_checked_before_training() {
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", "sentiment-uci", "--epochs", "1"];
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    for (extra, needle) in [
        (&["--schedule", "warp"][..], "unknown schedule 'warp'"),
        (&["--clip-norm", "0"][..], "clip_norm"),
        (&["--ema", "1.5", "--embedding", "dense"][..], "ema"),
        (&["--accumulate", "2"][..], "needs embedding = \"dense\""),
    ] {
        let args = train(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_clearly(&args, needle);
    }
}

/// `--devices`: an unknown name, a device listed twice and a setting the multi-device engine
/// cannot honour (the weights' moving average) each fail in one line naming the cause.
#[test]
fn devices_are_named_and_checked_before_training() {
    for (devices, extra, needle) in [
        ("tpu", &[][..], "unknown device 'tpu'"),
        ("flex,flex", &[], "lists flex twice"),
        (
            "flex",
            &["--ema", "0.9", "--embedding", "dense"],
            "optimizer.ema",
        ),
    ] {
        let args = ["train", "--data", "sentiment-uci", "--epochs", "1"];
        let args = [&args[..], &["--devices", devices], extra].concat();
        fails_clearly(&args, needle);
    }
    // `stoke train`'s default row-sparse update is trained densely on several devices, and
    // the command says so.
    let small = "tokenizer.features={kind=\"hashing\",buckets=4096}";
    let out = stoke(&[
        "train",
        "--data",
        "sentiment-uci",
        "--devices",
        "flex,flex",
        "--epochs",
        "1",
        "--set",
        small,
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("\"sparse\" is trained densely on 2 devices"),
        "{err}"
    );
}

#[test]
fn list_names_recipes_datasets_and_backends() {
    let out = stoke(&["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["recipes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in [
        "optimizers",
        "learning-rate",
        "momentum",
        "batch-size",
        "batchnorm",
        "dropout",
        "l2",
        "overfitting",
        "schedules",
        "clipping",
    ] {
        assert!(names.contains(&r), "{r} missing from {names:?}");
    }
    assert_eq!(v["datasets"].as_array().unwrap().len(), 3);
    assert!(!v["backends"].as_array().unwrap().is_empty());
}

#[test]
fn bad_input_gives_one_clear_line_and_a_failing_exit() {
    fails_clearly(
        &["run", "no-such-recipe"],
        "unknown recipe 'no-such-recipe'",
    );
    fails_clearly(
        &["run", "optimizers", "--backend", "tpu"],
        "unknown backend 'tpu'",
    );
    fails_clearly(
        &["train", "--data", "sentiment-uci", "--optimizer", "adamax"],
        "known optimizers",
    );
    fails_clearly(
        &[
            "train",
            "--data",
            "sentiment-uci",
            "--optimizer",
            "rmsprop",
            "--set",
            "decay=2",
        ],
        "decay",
    );
    fails_clearly(&["train", "--data", "sentiment-uci", "--lr=-1"], "lr");
    fails_clearly(
        &[
            "train",
            "--data",
            "sentiment-uci",
            "--embedding",
            "diagonal",
        ],
        "embedding",
    );
    fails_clearly(&["bench", "optim", "--threads", "0"], "--threads");
    fails_clearly(
        &[
            "bench",
            "train",
            "--optimizer",
            "adamax",
            "--iterations",
            "1",
        ],
        "known optimizers",
    );
    fails_clearly(&["data-summary", "/no/such/file.csv"], "/no/such/file.csv");
    let dir = tmp("bad");
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "text,label\nfine,pos\n\"unterminated,neg\n").unwrap();
    fails_clearly(&["data-summary", csv.to_str().unwrap()], "bad.csv");
    let toml = dir.join("r.toml");
    std::fs::write(&toml, "name = \"r\"\ntitle = \"t\"\nclaim = \"c\"\nseeds = [1]\n[defaults]\nepochs = 1\nbatch_size = 8\noptimizer = { name = \"sgd\", lr = 0.1 }\n[[runs]]\nlabel = \"a\"\nmodel = { dropout = 2.0 }\n").unwrap();
    fails_clearly(&["run", toml.to_str().unwrap()], "dropout");
}

fn check_svg(p: &Path) {
    let s = std::fs::read_to_string(p).unwrap();
    let doc = roxmltree::Document::parse(&s)
        .unwrap_or_else(|e| panic!("{}: not well-formed: {e}", p.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
}

fn check_png(p: &Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(info.width >= 400 && info.height >= 300);
    // Not a blank image: some pixels differ from the first.
    let bytes = &buf[..info.buffer_size()];
    assert!(
        bytes.chunks(3).any(|px| px != &bytes[..3]),
        "{} is blank",
        p.display()
    );
}

/// Runs a built-in recipe on tiny settings (2 epochs of 96 texts unless `extra` sets its own
/// `--train-subset`) and checks every output.
fn run_tiny(recipe: &str, extra: &[&str]) -> PathBuf {
    let out = tmp(recipe);
    let mut args = vec![
        "run",
        recipe,
        "--epochs",
        "2",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--train-subset") {
        args.extend_from_slice(&["--train-subset", "96"]);
    }
    args.extend_from_slice(extra);
    let o = stoke(&args);
    assert!(o.status.success(), "{recipe}: {}", text(&o.stderr));
    let records = read_csv(&out.join("metrics.csv")).unwrap();
    assert!(!records.is_empty());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains(summary["finding"].as_str().unwrap()),
        "{recipe}: the finding is in the report"
    );
    // Every built-in kind has a verdict on its claim, stated in the report beside the claim.
    let evidence = summary["verdict"]["evidence"]
        .as_str()
        .unwrap_or_else(|| panic!("{recipe}: a verdict in summary.json"));
    assert!(
        ["yes", "partly", "no"].contains(&summary["verdict"]["holds"].as_str().unwrap()),
        "{recipe}: {}",
        summary["verdict"]
    );
    assert!(
        report.contains(&format!("**Does the claim hold?** It {evidence}")),
        "{recipe}: the verdict is in the report"
    );
    // The report's final validation accuracies equal the mean of the last epoch in metrics.csv.
    let mut last: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.split == Split::Valid && r.metric == Metric::Accuracy)
    {
        let e = last.entry(r.config.clone()).or_insert((0, 0.0));
        if r.epoch >= e.0 {
            *e = (r.epoch, r.value);
        }
    }
    for c in summary["configs"].as_array().unwrap() {
        let label = c["label"].as_str().unwrap();
        if !c["diverged"].as_array().unwrap().is_empty() {
            continue;
        }
        let (_, v) = last[label];
        let shown = MeanStd {
            mean: v,
            std: 0.0,
            n: 1,
        }
        .show(3);
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("{recipe}: no row for {label}"));
        assert!(
            row.contains(&shown),
            "{recipe}: row for {label} should show {shown}: {row}"
        );
        assert!((c["final_valid_accuracy"]["mean"].as_f64().unwrap() - v).abs() < 1e-12);
    }
    let mut pngs = 0;
    for entry in std::fs::read_dir(&out).unwrap() {
        let p = entry.unwrap().path();
        match p.extension().and_then(|e| e.to_str()) {
            Some("svg") => check_svg(&p),
            Some("png") => {
                check_png(&p);
                pngs += 1;
            }
            _ => {}
        }
    }
    assert!(pngs >= 3, "{recipe}: plots written");
    for f in ["recipe.toml", "environment.json"] {
        assert!(out.join(f).exists(), "{recipe}: {f}");
    }
    out
}

#[test]
fn recipe_optimizers_runs_and_its_outputs_agree() {
    run_tiny("optimizers", &[]);
}

#[test]
fn recipe_learning_rate_reports_the_diverged_run() {
    let out = run_tiny("learning-rate", &[]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let big = summary["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"].as_str().unwrap().contains("diverges"))
        .unwrap();
    let msg = big["diverged"][0]
        .as_str()
        .expect("the η = 1e4 run diverges");
    assert!(msg.contains("epoch") && msg.contains("iteration"), "{msg}");
}

#[test]
fn recipe_momentum_runs() {
    run_tiny("momentum", &[]);
}

#[test]
fn recipe_batch_size_runs_with_wall_time_plots() {
    let out = run_tiny("batch-size", &[]);
    assert!(out.join("loss_vs_time.png").exists());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let per: Vec<u64> = summary["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["iterations_per_epoch"].as_u64().unwrap())
        .collect();
    // 96 texts: batch 1 → 96, batch 32 → 3, full batch → 1 iterations per epoch.
    assert_eq!(per, vec![96, 3, 1]);
}

#[test]
fn recipe_batchnorm_runs() {
    run_tiny("batchnorm", &[]);
}

#[test]
fn recipe_dropout_runs() {
    run_tiny("dropout", &[]);
}

#[test]
fn recipe_l2_runs() {
    run_tiny("l2", &[]);
}

#[test]
fn recipe_overfitting_runs() {
    run_tiny("overfitting", &[]);
}

/// 1280 texts: 2 epochs of 40 steps leave the cosine schedule's 75 warm-up steps a cosine.
#[test]
fn recipe_schedules_runs() {
    run_tiny("schedules", &["--train-subset", "1280"]);
}

/// The injected NaN gradient (epoch 2, iteration 2) is skipped and counted with
/// `skip_nonfinite`, and stops the run that has no skip, naming the next step.
#[test]
fn recipe_clipping_skips_or_stops_at_the_injected_nan() {
    let out = run_tiny("clipping", &[]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let config = |needle: &str| {
        summary["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"].as_str().unwrap().ends_with(needle))
            .unwrap()
            .clone()
    };
    let stopped = config("not skipped");
    let msg = stopped["diverged"][0]
        .as_str()
        .expect("the unskipped run stops");
    assert!(msg.contains("epoch 2, iteration 3"), "{msg}");
    assert_eq!(config(", skipped")["diverged"].as_array().unwrap().len(), 0);
    assert_eq!(config(", skipped")["skipped_steps"], 1);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("NaN injected, skipped (1 over 1 runs)"),
        "{report}"
    );
    let skipped: Vec<(usize, f64)> = read_csv(&out.join("metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| r.metric == Metric::SkippedSteps)
        .map(|r| (r.epoch, r.value))
        .collect();
    assert_eq!(skipped, vec![(1, 0.0), (2, 1.0)]);
}

fn comparable(out: &Path) -> Vec<String> {
    read_csv(&out.join("metrics.csv"))
        .unwrap()
        .into_iter()
        .filter(|r| r.metric != Metric::WallTime && r.metric != Metric::ExamplesPerSec)
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r.run,
                r.epoch,
                r.iteration,
                r.split,
                r.metric,
                r.value.to_bits()
            )
        })
        .collect()
}

#[test]
fn parallel_jobs_give_the_same_numbers_bit_for_bit() {
    let a = tmp("jobs1");
    let b = tmp("jobs2");
    for (dir, jobs) in [(&a, "1"), (&b, "2")] {
        let o = stoke(&[
            "run",
            "momentum",
            "--epochs",
            "2",
            "--seed",
            "3",
            "--train-subset",
            "64",
            "--quiet",
            "--jobs",
            jobs,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    assert_eq!(comparable(&a), comparable(&b));
}

/// `DIR/reviews.csv`: the `header` line, then `row(i)` (each a line per class) for `i < n`.
fn two_class_csv(
    dir: &std::path::Path,
    header: &str,
    n: usize,
    row: impl Fn(usize) -> String,
) -> std::path::PathBuf {
    let csv = dir.join("reviews.csv");
    let body: String = (0..n).map(row).collect();
    std::fs::write(&csv, format!("{header}\n{body}")).unwrap();
    csv
}

/// The data flags of the two-column review files below (`two_class_csv` with a
/// `review,sentiment` header).
fn review_file(csv: &Path) -> [&str; 6] {
    let path = csv.to_str().unwrap();
    [
        "--data",
        path,
        "--text-col",
        "review",
        "--label-col",
        "sentiment",
    ]
}

/// `stoke train --checkpoint` stopped after epoch 2 and continued with `--resume` ends with the
/// uninterrupted run's weights, bit for bit, and its metrics (wall time aside); the first two
/// epochs' records, wall time included, are the stopped run's, so the resumed run did not start
/// over. Without `--checkpoint` no checkpoint is written.
#[test]
fn train_resumes_from_its_checkpoint_as_if_never_stopped() {
    let dir = tmp("train-resume");
    let csv = two_class_csv(&dir, "review,sentiment", 80, |i| {
        format!("\"great lovely film {i}\",pos\n\"awful boring film {i}\",neg\n")
    });
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec!["train"];
        args.extend(review_file(&csv));
        args.extend([
            "--epochs",
            "4",
            "--patience",
            "3",
            "--batch-size",
            "8",
            "--set",
            "tokenizer.features={kind=\"hashing\",buckets=4096}",
            "--set",
            "model.dropout=0.3",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        args.extend_from_slice(extra);
        let o = stoke(&args);
        assert!(o.status.success(), "{extra:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    let whole = dir.join("whole");
    train(&whole, &[]);
    assert!(
        !whole.join("checkpoint").exists(),
        "no --checkpoint, no checkpoint"
    );
    let resumed = dir.join("resumed");
    let said = train(&resumed, &["--checkpoint", "--stop-after-epoch", "2"]);
    assert!(said.contains("stopped after epoch 2"), "{said}");
    assert!(
        !resumed.join("model").exists(),
        "a stopped run saves no model"
    );
    let stopped = read_csv(&resumed.join("metrics.csv")).unwrap();
    train(&resumed, &["--checkpoint", "--resume"]);
    // The weights' values, bit for bit (model.bpk's bytes also hold each parameter's id, which
    // Burn draws afresh in every process).
    let weights = |d: &Path| {
        let saved = SavedClassifier::load(&d.join("model"), &Device::flex()).unwrap();
        let mut tensors = vec![saved.model.embedding_weight()];
        tensors.extend(saved.model.linear_weights());
        tensors
            .into_iter()
            .flat_map(|t| {
                t.into_data()
                    .iter::<f32>()
                    .map(f32::to_bits)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<u32>>()
    };
    assert!(
        weights(&whole) == weights(&resumed),
        "the resumed run's weights differ"
    );
    let timeless = |d: &Path| {
        read_csv(&d.join("metrics.csv"))
            .unwrap()
            .into_iter()
            .filter(|r| !matches!(r.metric, Metric::WallTime | Metric::ExamplesPerSec))
            .map(|r| (r.epoch, r.iteration, r.split, r.metric, r.value.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(timeless(&whole), timeless(&resumed));
    let after = read_csv(&resumed.join("metrics.csv")).unwrap();
    let first_two = |rs: &[stoke_recipes::metrics::Record]| {
        rs.iter()
            .filter(|r| r.epoch <= 2 && r.split != Split::Test)
            .map(|r| (r.epoch, r.split, r.metric, r.value.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        first_two(&stopped),
        first_two(&after),
        "epochs 1-2 were run again"
    );
}

/// Where `--set` does not choose the pooling, `stoke train` takes it from the training texts'
/// length (`Pooling::suited_to`): 40-word passages (79 word features: 40 unigrams and 39 bigrams,
/// ≥ 64) get split bags with sublinear tf, 4-word sentences (7) one bag with raw counts, and a
/// `--set` of one of the two keeps that key's value. The saved `config.json` records the choice.
#[test]
fn train_pools_passages_and_sentences_differently_unless_told() {
    let dir = tmp("train-pooling");
    let pooling = |words: usize, extra: &[&str]| {
        let csv = two_class_csv(&dir, "review,sentiment", 20, |i| {
            let passage = |w: &str| vec![format!("{w}{i}"); words].join(" ");
            format!("\"{}\",pos\n\"{}\",neg\n", passage("good"), passage("bad"))
        });
        let out = dir.join(format!("run-{words}-{}", extra.len()));
        let mut args = vec!["train"];
        args.extend(review_file(&csv));
        args.extend(["--epochs", "1", "--quiet", "--out", out.to_str().unwrap()]);
        args.extend([
            "--set",
            "tokenizer.features={kind=\"hashing\",buckets=4096}",
        ]);
        args.extend_from_slice(extra);
        let o = stoke(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("model/config.json")).unwrap()).unwrap();
        (config["bags"].clone(), config["tf"].clone())
    };
    assert_eq!(pooling(40, &[]), ("split".into(), "sublinear".into()));
    assert_eq!(pooling(4, &[]), ("one".into(), "raw".into()));
    assert_eq!(
        pooling(40, &["--set", "model.bags=one"]),
        ("one".into(), "sublinear".into())
    );
}

#[test]
fn train_predict_and_eval_round_trip_on_a_user_file() {
    let dir = tmp("train");
    let csv = two_class_csv(&dir, "review,sentiment", 60, |i| {
        format!("\"great wonderful lovely film {i}\",pos\n\"awful terrible boring film {i}\",neg\n")
    });
    let out = dir.join("run");
    let o = stoke(
        &[
            &["train"][..],
            &review_file(&csv),
            &[
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--epochs",
                "3",
                "--quiet",
                "--json",
                "--out",
                out.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["test_accuracy"].as_f64().unwrap() >= 0.9, "{v}");
    // The saved run spec names the user's file, not a bundled set.
    let result: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("result.json")).unwrap()).unwrap();
    let settings = &result["spec"]["settings"];
    assert_eq!(settings["dataset"], csv.to_str().unwrap(), "{settings}");
    assert_eq!(
        settings["data"]["path"],
        csv.to_str().unwrap(),
        "{settings}"
    );
    // `stoke train`'s own embedding width (128, chosen on validation: RESULTS.md), not the
    // recipes' 64, in the saved model's configuration.
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model").join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["embed_dim"], 128, "{config}");
    // … and its 2^20 hash buckets (chosen on validation: RESULTS.md), not the recipes' 2^17.
    assert_eq!(config["num_ids"], 1 << 20, "{config}");
    // Early stopping watches the validation accuracy unless told otherwise (chosen on
    // validation: RESULTS.md).
    let stopping = &settings["early_stopping"];
    assert_eq!(stopping["monitor"], "valid_accuracy", "{stopping}");
    assert_eq!(stopping["patience"], 2, "{stopping}");
    let o = stoke(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--json",
        "a wonderful lovely film",
        "a boring awful film",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["label"], "pos");
    assert_eq!(lines[1]["label"], "neg");
    // The fitted temperature is saved with the model and divides the logits: at T = 1000 every
    // probability of this two-class model is within 0.01 of 1/2 (its logits are far below 10 in
    // size: softmax(z/1000) differs from 1/2 by at most |z1 − z2|/4000); T = −1 is refused.
    let t: f64 = v["temperature"].as_f64().unwrap();
    assert!(t > 0.0 && t.is_finite(), "{v}");
    let calibration = out.join("model").join("calibration.json");
    let saved: f64 = std::fs::read_to_string(&calibration)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(saved, t);
    std::fs::write(&calibration, "1000.0").unwrap();
    // checksums.json catches the edit; without it (a directory saved before it existed) the
    // edited temperature is used.
    fails_clearly(
        &["predict", "--model", out.to_str().unwrap(), "x"],
        "calibration.json",
    );
    std::fs::remove_file(out.join("model").join("checksums.json")).unwrap();
    let o = stoke(&[
        "predict",
        "--model",
        out.to_str().unwrap(),
        "--json",
        "a wonderful lovely film",
    ]);
    let p: serde_json::Value = serde_json::from_str(text(&o.stdout).trim()).unwrap();
    assert!(
        (p["probabilities"]["pos"].as_f64().unwrap() - 0.5).abs() < 0.01,
        "{p}"
    );
    std::fs::write(&calibration, "-1.0").unwrap();
    fails_clearly(
        &["predict", "--model", out.to_str().unwrap(), "x"],
        "calibration.json",
    );
    std::fs::write(&calibration, t.to_string()).unwrap();
    let report = dir.join("eval");
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            out.to_str().unwrap(),
            "--data",
            csv.to_str().unwrap(),
            "--text-col",
            "review",
            "--label-col",
            "sentiment",
        ];
        args.extend_from_slice(extra);
        let o = stoke(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        o
    };
    let o = eval(&["--json", "--top-k", "2", "--out", report.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 120);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.9);
    // The file has 60 rows of each class; with two classes the true one is always in the top 2.
    let support: Vec<u64> = v["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_u64().unwrap())
        .collect();
    assert_eq!(support, [60, 60], "{v}");
    assert_eq!(v["top_k"]["accuracy"], 1.0, "{v}");
    let counted: u64 = v["confusion"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|n| n.as_u64().unwrap()))
        .sum();
    assert_eq!(counted, 120);
    assert!(v["log_loss"].as_f64().unwrap().is_finite() && v["ece"].as_f64().unwrap() >= 0.0);
    for f in ["evaluation.json", "confusion.svg", "confusion.png"] {
        assert!(report.join(f).is_file(), "{f} not written");
    }
    // The text report: the classification report's rows and the matrix.
    let t = text(&eval(&[]).stdout);
    for want in [
        "precision",
        "weighted avg",
        "macro avg",
        "log loss",
        "confusion matrix",
    ] {
        assert!(t.contains(want), "{want} missing from:\n{t}");
    }
}

#[test]
fn data_is_given_the_same_way_to_every_command() {
    // `--data` and the positional alias name the same file; both at once is an error.
    fails_clearly(
        &["data-summary", "--data", "/no/such/file.csv"],
        "/no/such/file.csv",
    );
    fails_clearly(&["data-summary", "/no/such/file.csv"], "/no/such/file.csv");
    fails_clearly(
        &[
            "eval",
            "--model",
            "/no/such/model",
            "--data",
            "/no/such/file.csv",
        ],
        "/no/such/",
    );
    let o = stoke(&["data-summary", "--data", "a.csv", "b.csv"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("cannot be used with"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn data_summary_describes_a_bundled_set() {
    let o = stoke(&["data-summary", "sentiment-uci", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 3000, "{v}");
}

#[test]
fn surfaces_command_writes_plots_and_trajectories() {
    let out = tmp("surfaces");
    let o = stoke(&[
        "surfaces",
        "--surface",
        "rosenbrock",
        "--steps",
        "60",
        "--no-page",
        "--json",
        "--optimizers",
        "sgd:lr=0.001",
        "momentum:lr=0.001,momentum=0.9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    check_png(&out.join("contour.png"));
    check_svg(&out.join("contour.svg"));
    let csv = std::fs::read_to_string(out.join("trajectories.csv")).unwrap();
    assert!(csv.lines().count() > 60, "one row per step per optimizer");
    // the step-size preset: α = 0.021 > 2/λ_max diverges alone (y ← −1.1·y passes the bound
    // after about 51 steps), not clipped nor decayed
    let preset = tmp("surfaces-preset");
    let o = stoke(&[
        "surfaces",
        "--preset",
        "step-size",
        "--steps",
        "80",
        "--no-page",
        "--json",
        "--out",
        preset.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    let diverged: Vec<_> = runs.iter().map(|r| r["diverged"].as_bool()).collect();
    assert_eq!(diverged, [Some(true), Some(false), Some(false)], "{v}");
    assert!(
        runs[1]["label"].as_str().unwrap().contains("clip_norm=1"),
        "{v}"
    );
    assert!(
        runs[2]["label"].as_str().unwrap().contains("schedule=step"),
        "{v}"
    );
    assert!(preset.join("contour.png").exists());
    fails_clearly(&["surfaces", "--preset", "nope"], "unknown preset 'nope'");
    fails_clearly(&["surfaces", "--surface", "himmelblau"], "himmelblau");
    fails_clearly(&["surfaces", "--optimizers", "adamax:lr=0.1"], "adamax");
}

#[test]
fn course_writes_one_page_in_the_language_asked_for() {
    let out = tmp("course");
    let o = stoke(&[
        "course",
        "--lang",
        "en",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["lang"], "en", "{v}");
    assert!(v["bytes"].as_u64().unwrap() < 5_000_000, "{v}");
    let html = std::fs::read_to_string(out.join("course.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    fails_clearly(&["course", "--lang", "fr"], "unknown language 'fr'");
}

#[test]
fn bench_optim_reports_every_optimizer_against_the_floor_as_json() {
    let out = stoke(&[
        "bench",
        "optim",
        "--params",
        "200000",
        "--repeats",
        "1",
        "--threads",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["threads"], 1);
    assert_eq!(
        v["floor_on_host"], false,
        "the CPU backend's floor runs where it steps"
    );
    assert!(v["params"].as_u64().unwrap() >= 200_000);
    let results = v["results"].as_array().unwrap();
    let names: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["optimizer"].as_str().unwrap())
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["adadelta", "adagrad", "adam", "momentum", "rmsprop", "sgd"]
    );
    for r in results {
        for key in ["stoke_ms", "floor_ms", "tensor_ops_ms"] {
            assert!(r[key].as_f64().unwrap() > 0.0, "{r}");
        }
        // Burn has every one but AdaDelta (and no global-norm clipping).
        assert_eq!(
            r["burn_ms"].is_null(),
            r["optimizer"] == "adadelta" || r["variant"].as_str().unwrap().starts_with("clip"),
            "{r}"
        );
    }
}

#[test]
fn bench_train_reports_examples_per_second_for_both_embedding_updates() {
    let out = stoke(&[
        "bench",
        "train",
        "--data",
        "sentiment-uci",
        "--optimizer",
        "adagrad",
        "--iterations",
        "3",
        "--hidden",
        "16",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let results = v["results"].as_array().unwrap();
    let modes: Vec<&str> = results
        .iter()
        .map(|r| r["embedding"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["sparse", "dense"]);
    for r in results {
        assert!(r["examples_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["mean_loss"].as_f64().unwrap().is_finite(), "{r}");
    }
    // Same parameters, state and batch; the dense path holds a gradient of the whole table
    // (2^17 hashed ids × 64 = 2^23 floats, 32 MiB), the sparse one only of the batch's rows
    // (rows · 64 floats) and of the batch's 64 pooled vectors, which it holds too (2 · 64 · 64
    // floats): dense − sparse = 32 MiB − (rows + 128)·64·4 B.
    let rows = results[0]["max_rows"].as_u64().unwrap() as f64;
    assert!(rows > 0.0 && rows <= (1 << 17) as f64, "{v}");
    let mib = |r: &serde_json::Value| r["working_set_mib"].as_f64().unwrap();
    let gap = mib(&results[1]) - mib(&results[0]);
    let expected = 32.0 - (rows + 128.0) * 64.0 * 4.0 / (1u64 << 20) as f64;
    assert!(
        (gap - expected).abs() < 1e-9,
        "{gap} vs {expected} MiB: {v}"
    );
}

/// Both benchmarks run on wgpu (in CI: Mesa's software Vulkan driver), as the prepared GPU
/// script `scripts/bench_gpu.sh` runs them: the optimizers as tensor ops on the device, the
/// floor still the CPU's loop, and labelled so.
#[cfg(feature = "wgpu")]
#[test]
fn benches_run_on_wgpu() {
    let out = stoke(&[
        "bench",
        "optim",
        "--backend",
        "wgpu",
        "--params",
        "100000",
        "--repeats",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(
        v["floor_on_host"], true,
        "the floor is the CPU's loop, not the GPU's: {v}"
    );
    let results = v["results"].as_array().unwrap();
    assert!(results.len() >= 6, "{v}");
    for r in results {
        assert!(r["stoke_ms"].as_f64().unwrap() > 0.0, "{r}");
    }
    let out = stoke(&[
        "bench",
        "train",
        "--backend",
        "wgpu",
        "--data",
        "sentiment-uci",
        "--optimizer",
        "adam",
        "--iterations",
        "2",
        "--hidden",
        "16",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for r in v["results"].as_array().unwrap() {
        assert!(r["examples_per_s"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["mean_loss"].as_f64().unwrap().is_finite(), "{r}");
    }
}

#[test]
fn split_writes_the_parts_train_uses_without_losing_a_row() {
    let dir = tmp("split");
    let csv = two_class_csv(&dir, "review,sentiment", 60, |i| {
        format!("\"good {i}\",pos\n\"bad, \"\"really\"\" {i}\",neg\n")
    });
    let out = dir.join("parts");
    let o = stoke(&[
        "split",
        "--data",
        csv.to_str().unwrap(),
        "--text-col",
        "review",
        "--label-col",
        "sentiment",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // 80 / 10 / 10 of 60 rows per class, stratified: 48 / 6 / 6 of each.
    let mut seen = Vec::new();
    for (part, per_class) in [("train", 48), ("valid", 6), ("test", 6)] {
        let body = std::fs::read_to_string(out.join(format!("{part}.jsonl"))).unwrap();
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for class in ["pos", "neg"] {
            let n = lines.iter().filter(|v| v["label"] == class).count();
            assert_eq!(n, per_class, "{part} {class}");
        }
        seen.extend(
            lines
                .iter()
                .map(|v| v["text"].as_str().unwrap().to_string()),
        );
    }
    seen.sort();
    let mut want: Vec<String> = (0..60)
        .flat_map(|i| [format!("good {i}"), format!("bad, \"really\" {i}")])
        .collect();
    want.sort();
    assert_eq!(seen, want, "every row exactly once, text unchanged");
}

#[test]
fn autotune_reports_its_trials_and_its_winner_reproduces() {
    let dir = tmp("autotune");
    let csv = two_class_csv(&dir, "text,label", 40, |i| {
        format!("\"great lovely film {i}\",pos\n\"awful boring film {i}\",neg\n")
    });
    let base = [
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--set",
        "model.hidden=8",
        "--json",
    ];
    let out = dir.join("tuned");
    let mut args = base.to_vec();
    args.extend(["--epochs", "2", "--set", "model.embed_dim=8"]);
    args.extend(["--autotune", "4", "--out", out.to_str().unwrap()]);
    let o = stoke(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let trials = err.lines().filter(|l| l.starts_with("trial ")).count();
    assert!(trials >= 2, "{err}");
    let winner = err
        .lines()
        .find_map(|l| {
            l.split_once("autotune: best of ")
                .map(|(_, w)| w.to_string())
        })
        .unwrap_or_else(|| panic!("no winner in: {err}"));
    assert!(winner.starts_with(&format!("{trials} trials")), "{winner}");
    let tuned: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The printed flags, given to a plain `stoke train`, give the same run bit for bit.
    let flags = winner.split_once("): ").unwrap().1;
    let again = dir.join("again");
    let mut args = base.to_vec();
    // as a shell reads them: the single quotes around the buckets' TOML table go
    args.extend(flags.split(' ').map(|f| f.trim_matches('\'')));
    args.extend(["--out", again.to_str().unwrap()]);
    let o = stoke(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let plain: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(plain["valid_accuracy"], tuned["valid_accuracy"], "{flags}");
    assert_eq!(plain["train_loss"], tuned["train_loss"], "{flags}");
    // A budget that the first trial alone outlasts says so.
    let mut args = base.to_vec();
    let short = dir.join("short");
    args.extend([
        "--epochs",
        "1",
        "--autotune",
        "0.001",
        "--out",
        short.to_str().unwrap(),
    ]);
    let o = stoke(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("autotune: best of 1 trials"), "{err}");
    assert!(err.contains("so no other trial ran"), "{err}");
    // Flags are checked before the data are read (x.csv does not exist).
    fails_clearly(
        &["train", "--data", "x.csv", "--autotune=0"],
        "--autotune 0",
    );
    fails_clearly(
        &[
            "train",
            "--data",
            "x.csv",
            "--autotune",
            "5",
            "--checkpoint",
        ],
        "--checkpoint: an --autotune search writes no checkpoints",
    );
}

#[test]
fn run_all_writes_every_recipe_the_pages_and_an_index_of_verdicts() {
    let out = tmp("run-all");
    // At 2 epochs of 64 texts the schedules recipe's 75 warm-up steps do not fit: it fails with
    // its one-line error, the other recipes still run, and the command says which failed.
    let o = stoke(&[
        "run",
        "all",
        "--epochs",
        "2",
        "--train-subset",
        "64",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("1 of 10 recipes failed: schedules"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let listed = index.matches("<tr data-recipe=").count();
    assert_eq!(listed, 10, "{index}");
    assert!(index.contains(r#"data-recipe="schedules" data-holds="failed""#));
    for recipe in [
        "optimizers",
        "learning-rate",
        "clipping",
        "l2",
        "overfitting",
    ] {
        assert!(
            out.join(recipe).join("report.md").is_file(),
            "{recipe}/report.md"
        );
        let row = index
            .split("<tr ")
            .find(|r| r.starts_with(&format!("data-recipe=\"{recipe}\"")))
            .unwrap();
        assert!(
            row.contains(&format!("href=\"{recipe}/report.md\"")),
            "{row}"
        );
        // the verdict shown is the one in the recipe's summary.json
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(recipe).join("summary.json")).unwrap())
                .unwrap();
        let holds = match summary["verdict"]["holds"].as_str().unwrap() {
            "yes" => "holds",
            "partly" => "holds partly",
            _ => "does not hold",
        };
        assert!(row.contains(&format!("data-holds=\"{holds}\"")), "{row}");
    }
    assert!(out.join("course").join("course.html").is_file());
    assert!(out.join("surfaces").join("surfaces.html").is_file());
    assert!(index.contains(r#"href="course/course.html""#));
}
