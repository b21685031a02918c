//! `stoke bench`: optimizer steps against Burn's built-ins and the memory-bandwidth floor, and
//! training throughput; every figure is printed as a ratio to a reference timed in the same run.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use stoke_bench::optim::{OptimBenchOptions, OptimBenchReport};
use stoke_bench::train::{BenchData, TrainBenchOptions, TrainBenchReport, at_default_lr};
use stoke_recipes::step::EmbeddingUpdate;

use crate::args::Common;
use crate::output;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Median time of one step of each stoke optimizer over N parameters, next to Burn's
    /// built-in equivalent and the memory-bandwidth floor.
    Optim(OptimArgs),
    /// Training examples per second and peak memory of the text classifier with each
    /// optimizer (compare with scripts/bench_torch_textclf.py).
    Train(TrainArgs),
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// A bundled data set, or `synthetic` (AG-News-sized: 120,000 texts × 40 ids, 2^18
    /// buckets, 4 classes).
    #[arg(long, default_value = "langid")]
    data: String,
    /// Optimizers to measure (default: all six, each at a learning rate that trains).
    #[arg(long = "optimizer", value_name = "NAME")]
    optimizers: Vec<String>,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Embedding updates to measure: sparse (only the rows a batch uses), dense, or both.
    #[arg(long, default_value = "both")]
    embedding: String,
    /// Texts per batch.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    embed_dim: usize,
    /// Hidden width.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// β of an L2 penalty β Σ w² in the loss (0 = none).
    #[arg(long, default_value_t = 0.0)]
    l2: f64,
    /// Timed iterations per optimizer.
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Untimed iterations per optimizer before them.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(Args, Debug)]
struct OptimArgs {
    /// Parameters updated per step (an embedding table plus a few dense layers).
    #[arg(long, default_value_t = 10_000_000)]
    params: usize,
    /// Threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Timed steps per measurement (the median is reported).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Only optimizers or variants whose name contains this.
    #[arg(long)]
    only: Option<String>,
    #[command(flatten)]
    common: Common,
}

/// A rayon pool of `threads` threads (all cores when `None`) to run a benchmark in.
fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        anyhow::ensure!(t > 0, "--threads must be at least 1");
        b = b.num_threads(t);
    }
    b.build().context("starting the thread pool")
}

pub fn run(a: BenchArgs) -> Result<()> {
    match a.what {
        BenchCommand::Optim(a) => optim(a),
        BenchCommand::Train(a) => train(a),
    }
}

fn train(a: TrainArgs) -> Result<()> {
    anyhow::ensure!(a.iterations > 0, "--iterations must be at least 1");
    anyhow::ensure!(a.batch_size > 0, "--batch-size must be at least 1");
    anyhow::ensure!(
        a.l2 >= 0.0 && a.l2.is_finite(),
        "--l2 must be finite and ≥ 0"
    );
    let device = a.common.backend()?.device()?;
    let mut opts = TrainBenchOptions {
        data: BenchData::parse(&a.data),
        batch_size: a.batch_size,
        embed_dim: a.embed_dim,
        hidden: a.hidden,
        l2: a.l2,
        iterations: a.iterations,
        warmup: a.warmup,
        ..Default::default()
    };
    opts.embedding = match a.embedding.as_str() {
        "both" => vec![EmbeddingUpdate::Sparse, EmbeddingUpdate::Dense],
        other => vec![other.parse()?],
    };
    if !a.optimizers.is_empty() {
        opts.optimizers = a
            .optimizers
            .iter()
            .map(|n| at_default_lr(n))
            .collect::<Result<_, _>>()?;
    }
    let report = pool(a.threads)?.install(|| stoke_bench::train::run(&device, &opts))?;
    output::json_line_or(a.common.json, &report, print_train)
}

fn print_train(r: &TrainBenchReport) {
    output::line(&format!(
        "{}; {} texts; {} parameters; batch {}; L2 β = {}; {} thread(s); {}",
        r.data, r.texts, r.params, r.batch_size, r.l2, r.threads, r.device
    ));
    output::line(&format!(
        "{:<18} {:<9} {:>10} {:>9} {:>10} {:>10} {:>11} {:>9}",
        "optimizer",
        "embedding",
        "examples/s",
        "ms/step",
        "peak MiB",
        "base MiB",
        "needed MiB",
        "loss"
    ));
    for x in &r.results {
        output::line(&format!(
            "{:<18} {:<9} {:>10.0} {:>9.2} {:>10.0} {:>10.0} {:>11.0} {:>9.4}",
            x.optimizer,
            format!("{:?}", x.embedding).to_lowercase(),
            x.examples_per_s,
            x.ms_per_step,
            x.peak_rss_mib,
            x.base_rss_mib,
            x.working_set_mib,
            x.mean_loss
        ));
    }
    output::line(
        "peak: resident memory during the run; base: before the model was built; needed: \
         parameters + optimizer state + one batch + the gradients the path allocates (dense: \
         every parameter's; sparse: the dense layers' and the batch's rows, never the table's)",
    );
}

fn optim(a: OptimArgs) -> Result<()> {
    anyhow::ensure!(a.params > 0, "--params must be at least 1");
    anyhow::ensure!(a.repeats > 0, "--repeats must be at least 1");
    let backend = a.common.backend()?;
    let device = backend.device()?;
    let opts = OptimBenchOptions {
        params: a.params,
        repeats: a.repeats,
        only: a.only,
        floor_on_host: !backend.is_cpu(),
        ..Default::default()
    };
    let report = pool(a.threads)?.install(|| stoke_bench::optim::run(&device, &opts));
    output::json_line_or(a.common.json, &report, print_optim)
}

fn print_optim(r: &OptimBenchReport) {
    output::line(&format!(
        "{} parameters, {} thread(s), {}; median ms per step",
        r.params, r.threads, r.device
    ));
    let (floor, ratio) = if r.floor_on_host {
        ("host flr", "stoke/host")
    } else {
        ("floor", "stoke/flr")
    };
    output::line(&format!(
        "{:<9} {:<9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>10} {:>11} {:>10}",
        "optimizer",
        "variant",
        "B/p",
        floor,
        "stoke",
        "ops",
        "burn",
        ratio,
        "burn/stoke",
        "ops/stoke"
    ));
    for x in &r.results {
        let burn = x.burn_ms.map_or("—".into(), |b| format!("{b:.2}"));
        let burn_ratio = x
            .burn_ms
            .map_or("—".into(), |b| format!("{:.2}×", b / x.stoke_ms));
        output::line(&format!(
            "{:<9} {:<9} {:>4} {:>9.2} {:>9.2} {:>9.2} {:>9} {:>9.2}× {:>11} {:>9.2}×",
            x.optimizer,
            x.variant,
            x.bytes_per_param,
            x.floor_ms,
            x.stoke_ms,
            x.tensor_ops_ms,
            burn,
            x.stoke_ms / x.floor_ms,
            burn_ratio,
            x.tensor_ops_ms / x.stoke_ms
        ));
    }
    output::line(
        "floor: one in-place pass touching exactly B/p bytes per parameter (clip: a read of g for \
         the norm, then that pass); stoke: the fused step; \
         ops: stoke as tensor ops (with_fused(false)); burn: Burn's built-in optimizer",
    );
    if r.floor_on_host {
        output::line(
            "host flr: the floor loop ran on the host CPU, not on this device: stoke/host is not \
             the device's distance from its memory-bandwidth limit",
        );
    }
}
