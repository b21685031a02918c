//! The subcommands.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use clap::{Args, Parser, Subcommand};
use stoke_optim::Backend;
use stoke_recipes::environment::Environment;
use stoke_recipes::metrics::{Metric, Record, Split};
use stoke_recipes::recipe::{BatchSize, DataFile, builtin_names, parse_section};
use stoke_recipes::runner::{DataCache, finish, read_result, run_dir, run_one};
use stoke_recipes::train::{Progress, RunResult, RunStatus, TrainOptions, evaluate, train};
use stoke_recipes::{OptimizerSpec, Overrides, Recipe, RunSpec, Settings};
use stoke_text::data::{Bundled, LoadOptions, load_bundled, load_file, summarize};
use stoke_text::saved::SavedClassifier;

use crate::progress::Bars;

/// Run the course's experiments — optimizers, learning rate, momentum, batch size, BatchNorm,
/// Dropout, L2, overfitting — on real text, and train and use text classifiers.
#[derive(Parser, Debug)]
#[command(name = "stoke", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct Common {
    /// Backend: ndarray, flex or wgpu (among those compiled in); default: the CPU backend.
    #[arg(long, global = true)]
    pub backend: Option<String>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Print results as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in recipes, bundled data sets and compiled-in backends.
    List(Common),
    /// Run a recipe (a built-in name or a .toml file) and write metrics, plots and a report.
    Run(RunArgs),
    /// Train a text classifier on a file (CSV, TSV or JSONL, optionally gzipped) or a bundled data set.
    Train(TrainArgs),
    /// Evaluate a saved classifier on labelled data.
    Eval(EvalArgs),
    /// Classify texts with a saved classifier (arguments, or one text per line on stdin).
    Predict(PredictArgs),
    /// Rows, classes, balance and text lengths of a data file or bundled data set.
    DataSummary(DataArgs),
    /// Optimizer paths on 2-D loss surfaces: contour and loss plots, trajectories.csv and an
    /// interactive page (surfaces.html).
    Surfaces(SurfacesArgs),
    /// Benchmarks: optimizer steps against Burn's built-ins and the memory-bandwidth floor,
    /// training throughput.
    #[command(subcommand_value_name = "BENCHMARK")]
    Bench(crate::bench::BenchArgs),
    /// (internal) Train one run of a recipe, reporting progress as JSON lines.
    #[command(hide = true)]
    RunOne(RunOneArgs),
}

#[derive(Args, Debug)]
struct RunArgs {
    /// A built-in recipe name (see `stoke list`) or a path to a recipe .toml file.
    recipe: String,
    /// Output directory (default: out/<recipe name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Use only this seed (instead of the recipe's seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Override the number of epochs of every run.
    #[arg(long)]
    epochs: Option<usize>,
    /// Use only the first N training texts (quick checks).
    #[arg(long)]
    train_subset: Option<usize>,
    /// Run on another bundled data set.
    #[arg(long)]
    dataset: Option<String>,
    /// Independent runs trained at the same time, each in its own process.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Continue an interrupted recipe from its checkpoints.
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug, Default)]
struct SurfacesArgs {
    /// quadratic, rosenbrock, beale, saddle or noisy-quadratic (default: the recipe's, the quadratic).
    #[arg(long)]
    surface: Option<String>,
    /// Optimizers to compare, e.g. `sgd:lr=0.003 momentum:lr=0.003,momentum=0.9 rmsprop:lr=0.01`.
    #[arg(long, num_args = 1..)]
    optimizers: Vec<String>,
    /// Steps per optimizer.
    #[arg(long)]
    steps: Option<usize>,
    /// Seed of the noisy quadratic's gradient noise.
    #[arg(long)]
    seed: Option<u64>,
    /// Output directory (default: out/surfaces).
    #[arg(long)]
    out: Option<PathBuf>,
    /// A surfaces recipe file (default: the built-in recipes/surfaces.toml).
    #[arg(long)]
    recipe: Option<PathBuf>,
    /// Skip the interactive page.
    #[arg(long)]
    no_page: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct RunOneArgs {
    #[arg(long)]
    spec: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug, Clone)]
struct DataArgs {
    /// A CSV/TSV/JSONL file (optionally gzip-compressed), or a bundled data set name.
    data: String,
    /// Column (CSV/TSV) or key (JSONL) holding the text.
    #[arg(long, default_value = "text")]
    text_col: String,
    /// Column or key holding the label.
    #[arg(long, default_value = "label")]
    label_col: String,
    /// Skip invalid rows (and report them) instead of failing.
    #[arg(long)]
    skip_invalid: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// A CSV/TSV/JSONL file (optionally gzipped), or a bundled data set name.
    #[arg(long)]
    data: String,
    #[arg(long, default_value = "text")]
    text_col: String,
    #[arg(long, default_value = "label")]
    label_col: String,
    #[arg(long)]
    skip_invalid: bool,
    /// Optimizer: sgd, momentum, nesterov, rmsprop, adagrad, adam, adamw, adadelta.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate.
    #[arg(long, default_value_t = 0.002)]
    lr: f64,
    /// Optimizer or model fields: `--set momentum=0.9 --set model.dropout=0.5 --set tokenizer.char_max_n=3`;
    /// values are TOML: `--set 'tokenizer.features={ kind = "hashing", buckets = 16384 }'`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Texts per step, or `full`.
    #[arg(long, default_value = "32")]
    batch_size: String,
    /// β of the L2 penalty on the weights.
    #[arg(long, default_value_t = 0.0)]
    l2: f64,
    /// Embedding update: `sparse` (only the rows each batch uses: tens of times faster on a
    /// large table; L2 decays a row when it is used) or `dense` (every row every step).
    #[arg(long, default_value = "sparse")]
    embedding: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the model (model/), metrics.csv and result.json.
    #[arg(long, default_value = "out/train")]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// A directory written by `stoke train`'s model/.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// A directory written by `stoke train` (its model/ subdirectory).
    #[arg(long)]
    model: PathBuf,
    /// Texts to classify; none: read one per line from stdin.
    texts: Vec<String>,
    #[command(flatten)]
    common: Common,
}

/// The chosen backend. It also becomes Burn's default device (`BURN_DEVICE`), where Burn puts
/// loaded optimizer state, so a CPU run never starts a GPU device it does not use.
pub(crate) fn backend(common: &Common) -> Result<Backend> {
    let b = match &common.backend {
        Some(name) => {
            let b: Backend = name.parse()?;
            b.device()?;
            b
        }
        None => Backend::default_cpu().ok_or_else(|| anyhow!("no backend compiled in"))?,
    };
    if std::env::var_os("BURN_DEVICE").is_none() {
        // SAFETY: called while the process is still single-threaded, before any run starts.
        unsafe { std::env::set_var("BURN_DEVICE", b.name()) };
    }
    Ok(b)
}

/// Dispatches a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(c) => list(&c),
        Command::Run(a) => run_recipe(a),
        Command::RunOne(a) => run_one_child(a),
        Command::Train(a) => train_cmd(a),
        Command::Eval(a) => eval_cmd(a),
        Command::Predict(a) => predict_cmd(a),
        Command::DataSummary(a) => data_summary(a),
        Command::Surfaces(a) => surfaces(a),
        Command::Bench(a) => crate::bench::run(a),
    }
}

pub(crate) fn out_line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}

fn list(c: &Common) -> Result<()> {
    let recipes: Vec<(String, String)> = builtin_names()
        .into_iter()
        .map(|n| Recipe::load(n).map(|r| (n.to_string(), r.title)))
        .collect::<Result<_, _>>()?;
    let datasets: Vec<&str> = Bundled::all().iter().map(|b| b.name()).collect();
    let backends: Vec<&str> = Backend::compiled().iter().map(|b| b.name()).collect();
    if c.json {
        let v = serde_json::json!({
            "recipes": recipes.iter().map(|(n, t)| serde_json::json!({"name": n, "title": t}))
                .chain(std::iter::once(serde_json::json!({"name": "surfaces", "title": "Optimizer paths on 2-D loss surfaces"})))
                .collect::<Vec<_>>(),
            "datasets": datasets,
            "backends": backends,
            "default_backend": Backend::default_cpu().map(|b| b.name()),
        });
        out_line(&serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    out_line("recipes:");
    for (n, t) in &recipes {
        out_line(&format!("  {n:<14} {t}"));
    }
    out_line(&format!(
        "  {:<14} {}",
        "surfaces", "Optimizer paths on 2-D loss surfaces (also `stoke surfaces`)"
    ));
    out_line("data sets:");
    for d in &datasets {
        out_line(&format!("  {d}"));
    }
    out_line(&format!(
        "backends: {} (default: {})",
        backends.join(", "),
        Backend::default_cpu().map_or("none", |b| b.name())
    ));
    Ok(())
}

fn run_recipe(a: RunArgs) -> Result<()> {
    if a.recipe == "surfaces" {
        // The surfaces recipe steps a 2-element parameter instead of training a model.
        return surfaces(SurfacesArgs {
            seed: a.seed,
            out: a.out,
            common: a.common,
            ..Default::default()
        });
    }
    let backend = backend(&a.common)?;
    let recipe = Recipe::load(&a.recipe)?;
    if a.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let overrides = Overrides {
        epochs: a.epochs,
        seeds: a.seed.map(|s| vec![s]),
        train_subset: a.train_subset,
        dataset: a.dataset.clone(),
    };
    let specs = recipe.runs(&overrides)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&recipe.name));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // Iterations are known once the data is loaded; count epochs × ⌈N/B⌉ per run from the
    // prepared training set size.
    let mut cache = DataCache::default();
    let mut total = 0u64;
    for s in &specs {
        let n = cache.get(s)?.train.len();
        let b = s.settings.batch_size.resolve(n);
        total += (s.settings.epochs * n.div_ceil(b)) as u64;
    }
    let bars = Bars::new(total, a.common.quiet);
    bars.println(&format!(
        "{}: {} runs on {} ({} jobs)",
        recipe.title,
        specs.len(),
        backend,
        a.jobs
    ));
    let results = if a.jobs == 1 {
        let mut results = Vec::new();
        for s in &specs {
            let r = run_one(s, &out, backend, a.resume, &mut cache, &bars)?;
            bars.done(s);
            report_divergence(&bars, &r);
            results.push(r);
        }
        results
    } else {
        drop(cache);
        run_parallel(&specs, &out, backend, a.resume, a.jobs, &bars)?
    };
    bars.finish();
    let outputs = finish(&recipe, &results, &out, &Environment::current(backend))?;
    if a.common.json {
        out_line(&serde_json::to_string_pretty(&outputs.summary)?);
    } else {
        out_line(&format!("{}\n", outputs.summary.finding));
        for c in &outputs.summary.configs {
            out_line(&format!(
                "  {:<40} valid accuracy {:<15} train loss {}",
                c.label,
                c.final_valid_accuracy.map_or("—".into(), |m| m.show(3)),
                c.final_train_loss.map_or("—".into(), |m| m.show(4)),
            ));
        }
        out_line(&format!("\nreport: {}", outputs.report_md.display()));
    }
    Ok(())
}

fn report_divergence(bars: &Bars, r: &RunResult) {
    if let RunStatus::Diverged { message, .. } = &r.status {
        if bars_visible() {
            bars.println(&format!("diverged: {message}"));
        } else {
            eprintln!("diverged: {message}");
        }
    }
}

fn bars_visible() -> bool {
    std::io::stderr().is_terminal()
}

/// Runs `specs` in up to `jobs` child processes (`stoke run-one`), each with its own Burn
/// device and random state, so results do not depend on how runs interleave.
fn run_parallel(
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
                        let mut n = next.lock().unwrap();
                        if *n >= specs.len() {
                            return;
                        }
                        *n += 1;
                        *n - 1
                    };
                    let r = run_child(&exe, &specs[i], out, backend, resume, bars);
                    if let Ok(r) = &r {
                        report_divergence(bars, r);
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
        .map(|r| r.expect("every run was taken"))
        .collect()
}

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
    let mut cmd = std::process::Command::new(exe);
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting a run process")?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match event["event"].as_str() {
            Some("started") => bars.started(
                spec,
                event["total"].as_u64().unwrap_or(0) as usize,
                event["done"].as_u64().unwrap_or(0) as usize,
            ),
            Some("iteration") => bars.iteration(spec, event["loss"].as_f64().unwrap_or(f64::NAN)),
            Some("epoch") => {
                let records: Vec<Record> =
                    serde_json::from_value(event["records"].clone()).unwrap_or_default();
                bars.epoch(
                    spec,
                    event["epoch"].as_u64().unwrap_or(0) as usize,
                    &records,
                );
            }
            _ => {}
        }
    }
    let status = child.wait()?;
    let err = err_thread.join().unwrap_or_default();
    if !status.success() {
        let last = err
            .lines()
            .filter(|l| !l.trim().is_empty())
            .last()
            .unwrap_or("no message");
        bail!(
            "run {} failed: {}",
            spec.id(),
            last.trim_start_matches("error: ")
        );
    }
    Ok(read_result(&dir.join("result.json"))?)
}

/// Progress of a child run, as JSON lines on stdout for the parent.
struct JsonLines;

impl JsonLines {
    fn emit(v: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
}

impl Progress for JsonLines {
    fn started(&self, _run: &RunSpec, total: usize, done: usize) {
        Self::emit(serde_json::json!({"event": "started", "total": total, "done": done}));
    }
    fn iteration(&self, _run: &RunSpec, loss: f64) {
        Self::emit(serde_json::json!({"event": "iteration", "loss": loss}));
    }
    fn epoch(&self, _run: &RunSpec, epoch: usize, records: &[Record]) {
        Self::emit(serde_json::json!({"event": "epoch", "epoch": epoch, "records": records}));
    }
}

fn run_one_child(a: RunOneArgs) -> Result<()> {
    let backend = backend(&a.common)?;
    let text = std::fs::read_to_string(&a.spec).with_context(|| a.spec.display().to_string())?;
    let spec: RunSpec =
        serde_json::from_str(&text).with_context(|| a.spec.display().to_string())?;
    let mut cache = DataCache::default();
    run_one(&spec, &a.out, backend, a.resume, &mut cache, &JsonLines)?;
    Ok(())
}

/// A `--set` value: any TOML value (`0.9`, `true`, `"text"`, `[1, 2]`,
/// `{ kind = "hashing", buckets = 16384 }`), else a number Rust reads (`.5`), else the text
/// itself as a string (`adam`).
fn parse_value(v: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {v}")) {
        Ok(mut t) if t.len() == 1 => t.remove("v").expect("the one key"),
        _ => v
            .parse::<f64>()
            .map(toml::Value::Float)
            .unwrap_or_else(|_| toml::Value::String(v.to_string())),
    }
}

fn data_settings(
    data: &str,
    text: &str,
    label: &str,
    skip_invalid: bool,
) -> (String, Option<DataFile>) {
    match data.parse::<Bundled>() {
        Ok(b) if !Path::new(data).exists() => (b.name().to_string(), None),
        _ => (
            String::new(),
            Some(DataFile {
                path: data.to_string(),
                text: text.to_string(),
                label: label.to_string(),
                skip_invalid,
            }),
        ),
    }
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    let backend = backend(&a.common)?;
    let mut optimizer = toml::Table::new();
    optimizer.insert("name".into(), a.optimizer.clone().into());
    optimizer.insert("lr".into(), a.lr.into());
    let (mut model, mut tokenizer) = (toml::Table::new(), toml::Table::new());
    for kv in &a.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| anyhow!("--set {kv}: expected KEY=VALUE"))?;
        match k.split_once('.') {
            Some(("model", f)) => {
                model.insert(f.to_string(), parse_value(v));
            }
            Some(("tokenizer", f)) => {
                tokenizer.insert(f.to_string(), parse_value(v));
            }
            _ => {
                optimizer.insert(k.to_string(), parse_value(v));
            }
        }
    }
    let optimizer: OptimizerSpec = toml::Value::Table(optimizer)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow!("--optimizer/--set: {}", e.message()))?;
    let batch_size =
        if a.batch_size == "full" {
            BatchSize::Full(stoke_recipes::recipe::FullBatch::Full)
        } else {
            BatchSize::Size(a.batch_size.parse().map_err(|_| {
                anyhow!("--batch-size {}: expected a number or 'full'", a.batch_size)
            })?)
        };
    let (dataset, data) = data_settings(&a.data, &a.text_col, &a.label_col, a.skip_invalid);
    let settings = Settings {
        dataset: if dataset.is_empty() {
            "sentiment-uci".into()
        } else {
            dataset
        },
        data,
        epochs: a.epochs,
        batch_size,
        optimizer,
        l2: a.l2,
        model: parse_section("model", model)?,
        tokenizer: parse_section("tokenizer", tokenizer)?,
        train_subset: None,
        record_iterations: false,
        embedding: a.embedding.parse()?,
    };
    settings.validate()?;
    let spec = RunSpec {
        config: "train".into(),
        seed: a.seed,
        settings,
    };
    let mut cache = DataCache::default();
    let data = cache.get(&spec)?;
    let total = spec.settings.epochs
        * data
            .train
            .len()
            .div_ceil(spec.settings.batch_size.resolve(data.train.len()));
    let bars = Bars::new(total as u64, a.common.quiet);
    let opts = TrainOptions {
        device: backend.device()?,
        checkpoint_dir: Some(a.out.join("checkpoint")),
        resume: false,
        stop_after_epoch: None,
        progress: &bars,
    };
    let trained = train(&spec, data, &opts)?;
    bars.done(&spec);
    bars.finish();
    std::fs::create_dir_all(&a.out)?;
    stoke_recipes::metrics::write_csv(&a.out.join("metrics.csv"), &trained.result.records)?;
    std::fs::write(
        a.out.join("result.json"),
        serde_json::to_vec_pretty(&trained.result)?,
    )?;
    let saved = SavedClassifier {
        model: trained.model.valid(),
        tokenizer: data.tokenizer.clone(),
        classes: data.classes.clone(),
        config: trained.config.clone(),
    };
    let model_dir = a.out.join("model");
    saved.save(&model_dir)?;
    if let RunStatus::Diverged { message, .. } = &trained.result.status {
        bail!("{message}");
    }
    let last = |split: Split, metric: Metric| {
        trained
            .result
            .records
            .iter()
            .rev()
            .find(|r| r.split == split && r.metric == metric)
            .map_or(f64::NAN, |r| r.value)
    };
    if a.common.json {
        out_line(&serde_json::to_string_pretty(&serde_json::json!({
            "model": model_dir, "train_loss": last(Split::Train, Metric::Loss), "valid_accuracy": last(Split::Valid, Metric::Accuracy),
            "test_accuracy": last(Split::Test, Metric::Accuracy), "classes": data.classes,
        }))?);
    } else {
        out_line(&format!(
            "trained {} epochs: train loss {:.4}, valid accuracy {:.3}, test accuracy {:.3}\nmodel: {}",
            spec.settings.epochs,
            last(Split::Train, Metric::Loss),
            last(Split::Valid, Metric::Accuracy),
            last(Split::Test, Metric::Accuracy),
            model_dir.display()
        ));
    }
    Ok(())
}

fn load_texts(
    d: &DataArgs,
    classes: Option<Vec<String>>,
) -> Result<stoke_text::data::LabelledTexts> {
    if let (Ok(b), false) = (d.data.parse::<Bundled>(), Path::new(&d.data).exists()) {
        let s = load_bundled(b)?;
        let mut all = s.train.clone();
        all.examples.extend(s.valid.examples);
        all.examples.extend(s.test.examples);
        return Ok(all);
    }
    let mut opts = LoadOptions::default()
        .with_text_field(d.text_col.clone())
        .with_label_field(d.label_col.clone())
        .with_skip_invalid(d.skip_invalid);
    if let Some(c) = classes {
        opts = opts.with_classes(c);
    }
    let loaded = load_file(Path::new(&d.data), &opts)?;
    if loaded.skipped.count > 0 {
        eprintln!(
            "skipped {} invalid rows (first at lines {:?})",
            loaded.skipped.count, loaded.skipped.first_lines
        );
    }
    Ok(loaded.texts)
}

fn model_dir(p: &Path) -> PathBuf {
    if p.join("model").join("config.json").exists()
        || (!p.join("config.json").exists() && p.join("model").exists())
    {
        p.join("model")
    } else {
        p.to_path_buf()
    }
}

fn eval_cmd(a: EvalArgs) -> Result<()> {
    let backend = backend(&a.data.common)?;
    let device = backend.device()?;
    let saved = SavedClassifier::load(&model_dir(&a.model), &device)?;
    let texts = load_texts(&a.data, Some(saved.classes.clone()))?;
    if texts.classes != saved.classes {
        // Bundled data carry their own class order; map by name.
        for c in &texts.classes {
            if !saved.classes.contains(c) {
                bail!(
                    "{}: label '{c}' is not one of the model's classes ({})",
                    a.data.data,
                    saved.classes.join(", ")
                );
            }
        }
    }
    let strs: Vec<&str> = texts.examples.iter().map(|e| e.text.as_str()).collect();
    let preds = saved.predict(&strs);
    let truth: Vec<usize> = texts
        .examples
        .iter()
        .map(|e| {
            saved
                .classes
                .iter()
                .position(|c| *c == texts.classes[e.label])
                .expect("checked above")
        })
        .collect();
    let predicted: Vec<usize> = preds.iter().map(|p| p.index).collect();
    let cm = stoke_text::metrics::ConfusionMatrix::new(&truth, &predicted, saved.classes.len());
    let _ = evaluate;
    if a.data.common.json {
        out_line(&serde_json::to_string_pretty(&serde_json::json!({
            "rows": truth.len(), "accuracy": cm.accuracy(), "macro_f1": cm.macro_f1(),
        }))?);
    } else {
        out_line(&format!(
            "rows {}, accuracy {:.4}, macro F1 {:.4}",
            truth.len(),
            cm.accuracy(),
            cm.macro_f1()
        ));
    }
    Ok(())
}

fn predict_cmd(a: PredictArgs) -> Result<()> {
    let backend = backend(&a.common)?;
    let saved = SavedClassifier::load(&model_dir(&a.model), &backend.device()?)?;
    let texts: Vec<String> = if a.texts.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("reading stdin")?
    } else {
        a.texts.clone()
    };
    let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
    for (t, p) in texts.iter().zip(saved.predict(&strs)) {
        if a.common.json {
            out_line(&serde_json::to_string(
                &serde_json::json!({"text": t, "label": p.label, "probabilities": p.probabilities.iter().map(|(c, v)| (c.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>()}),
            )?);
        } else {
            let prob = p.probabilities.get(p.index).map_or(f32::NAN, |x| x.1);
            out_line(&format!("{}\t{:.3}\t{}", p.label, prob, t));
        }
    }
    Ok(())
}

fn data_summary(a: DataArgs) -> Result<()> {
    let texts = load_texts(&a, None)?;
    let summary = summarize(&texts);
    if a.common.json {
        out_line(&serde_json::to_string_pretty(&summary)?);
    } else {
        out_line(&summary.to_string());
    }
    Ok(())
}

fn surfaces(a: SurfacesArgs) -> Result<()> {
    use stoke_recipes::surfaces::{OptimizerSpec as PathOptimizer, Surface, SurfacesRecipe, run};
    let recipe = match &a.recipe {
        Some(p) => SurfacesRecipe::load(p)?,
        None => SurfacesRecipe::bundled(),
    };
    let surface: Surface = a.surface.as_deref().unwrap_or(&recipe.surface).parse()?;
    let mut opts = recipe.options_for(surface);
    if !a.optimizers.is_empty() {
        opts.optimizers = a
            .optimizers
            .iter()
            .map(|o| o.parse::<PathOptimizer>())
            .collect::<Result<_, _>>()?;
    }
    if let Some(n) = a.steps {
        opts.steps = n;
    }
    if let Some(seed) = a.seed {
        opts.seed = seed;
    }
    if let Some(out) = a.out {
        opts.out = out;
    }
    opts.page = !a.no_page;
    let report = run(&opts)?;
    if a.common.json {
        let runs: Vec<_> = report
            .runs
            .iter()
            .map(|r| serde_json::json!({
                "label": r.label, "steps_run": r.steps_run, "diverged": r.diverged,
                "final_point": r.final_point, "final_loss": r.final_loss, "steps_to_tolerance": r.steps_to_tolerance,
            }))
            .collect();
        out_line(&serde_json::to_string_pretty(&serde_json::json!({
            "surface": surface.name(), "runs": runs, "out": opts.out,
            "page": report.page.as_ref().map(|p| p.path.clone()),
        }))?);
        return Ok(());
    }
    out_line(&format!("{} ({} steps):", surface.name(), opts.steps));
    for r in &report.runs {
        out_line(&format!(
            "  {:<40} final loss {:<12.4e} {}",
            r.label,
            r.final_loss,
            if r.diverged {
                format!("diverged after {} steps", r.steps_run)
            } else {
                r.steps_to_tolerance
                    .map_or("did not reach the tolerance".into(), |n| {
                        format!("reached the tolerance in {n} steps")
                    })
            }
        ));
    }
    out_line(&format!(
        "plots: {} {}\ntrajectories: {}",
        report.contour_png.display(),
        report.loss_png.display(),
        report.csv.display()
    ));
    if let Some(p) = &report.page {
        out_line(&format!(
            "interactive page: {} ({} KB)",
            p.path.display(),
            p.bytes / 1024
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_value;
    use toml::Value;

    #[test]
    fn set_values_are_toml_or_plain_strings() {
        assert_eq!(parse_value("0.9"), Value::Float(0.9));
        assert_eq!(parse_value("1e-5"), Value::Float(1e-5));
        assert_eq!(parse_value("3"), Value::Integer(3));
        assert_eq!(parse_value(".5"), Value::Float(0.5));
        assert_eq!(parse_value("false"), Value::Boolean(false));
        assert_eq!(parse_value("adam"), Value::String("adam".into()));
        assert_eq!(parse_value("\"a b\""), Value::String("a b".into()));
        let table = parse_value("{ kind = \"hashing\", buckets = 16384 }");
        assert_eq!(table["kind"], Value::String("hashing".into()));
        assert_eq!(table["buckets"], Value::Integer(16384));
        // Not a single TOML value: kept as written.
        assert_eq!(parse_value("a = 1"), Value::String("a = 1".into()));
    }
}
