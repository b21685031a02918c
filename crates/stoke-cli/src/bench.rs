//! `stoke bench`: optimizer steps against Burn's built-ins and the memory-bandwidth floor, and
//! training throughput; every figure is printed as a ratio to a reference timed in the same run.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use stoke_optim::bench::{OptimBenchOptions, OptimBenchReport};

use crate::commands::{Common, backend, out_line};

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
    }
}

fn optim(a: OptimArgs) -> Result<()> {
    anyhow::ensure!(a.params > 0, "--params must be at least 1");
    anyhow::ensure!(a.repeats > 0, "--repeats must be at least 1");
    let device = backend(&a.common)?.device()?;
    let opts = OptimBenchOptions {
        params: a.params,
        repeats: a.repeats,
        only: a.only,
        ..Default::default()
    };
    let report = pool(a.threads)?.install(|| stoke_optim::bench::run(&device, &opts));
    if a.common.json {
        out_line(&serde_json::to_string(&report)?);
    } else {
        print_optim(&report);
    }
    Ok(())
}

fn print_optim(r: &OptimBenchReport) {
    out_line(&format!(
        "{} parameters, {} thread(s), {}; median ms per step",
        r.params, r.threads, r.device
    ));
    out_line(&format!(
        "{:<9} {:<9} {:>4} {:>9} {:>9} {:>9} {:>9} {:>10} {:>11} {:>10}",
        "optimizer",
        "variant",
        "B/p",
        "floor",
        "stoke",
        "ops",
        "burn",
        "stoke/flr",
        "burn/stoke",
        "ops/stoke"
    ));
    for x in &r.results {
        let burn = x.burn_ms.map_or("—".into(), |b| format!("{b:.2}"));
        let burn_ratio = x
            .burn_ms
            .map_or("—".into(), |b| format!("{:.2}×", b / x.stoke_ms));
        out_line(&format!(
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
    out_line(
        "floor: one in-place pass touching exactly B/p bytes per parameter; stoke: the fused step; \
         ops: stoke as tensor ops (with_fused(false)); burn: Burn's built-in optimizer",
    );
}
