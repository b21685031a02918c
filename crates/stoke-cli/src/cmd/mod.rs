//! The subcommands, one file each, and the command line that chooses among them.

mod bench;
mod course;
mod data_summary;
mod eval;
mod list;
mod predict;
mod run;
mod run_all;
mod run_one;
mod split;
mod surfaces;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::args::Common;
use crate::args::data::DataArgs;

/// Run the course's experiments — optimizers, learning rate, momentum, batch size, BatchNorm,
/// Dropout, L2, overfitting — on real text, and train and use text classifiers.
#[derive(Parser, Debug)]
#[command(name = "stoke", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in recipes, bundled data sets and compiled-in backends.
    List(Common),
    /// Run a recipe (a built-in name or a .toml file) and write metrics, plots and a report.
    Run(run::RunArgs),
    /// Train a text classifier on a file (CSV, TSV or JSONL, optionally gzipped) or a bundled data set.
    Train(train::TrainArgs),
    /// Evaluate a saved classifier on labelled data.
    Eval(eval::EvalArgs),
    /// Classify texts with a saved classifier (arguments, or one text per line on stdin).
    Predict(predict::PredictArgs),
    /// Rows, classes, balance and text lengths of a data file or bundled data set.
    DataSummary(DataArgs),
    /// Write the train / valid / test parts `stoke train` uses, as JSON lines (to score other
    /// tools on the same rows).
    Split(split::SplitArgs),
    /// Optimizer paths on 2-D loss surfaces: contour and loss plots, trajectories.csv and an
    /// interactive page (surfaces.html).
    Surfaces(surfaces::SurfacesArgs),
    /// The course as one self-contained page: optimizers racing on surfaces, mini-batching,
    /// BatchNorm's worked table, Dropout, L2 and overfitting, in Thai or English.
    Course(course::CourseArgs),
    /// Benchmarks: optimizer steps against Burn's built-ins and the memory-bandwidth floor,
    /// training throughput.
    #[command(subcommand_value_name = "BENCHMARK")]
    Bench(bench::BenchArgs),
    /// (internal) Train one run of a recipe, reporting progress as JSON lines.
    #[command(hide = true)]
    RunOne(run_one::RunOneArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(a) => list::run(&a),
        Command::Run(a) => run::run(a),
        Command::RunOne(a) => run_one::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Predict(a) => predict::run(a),
        Command::DataSummary(a) => data_summary::run(a),
        Command::Split(a) => split::run(a),
        Command::Surfaces(a) => surfaces::run(a),
        Command::Course(a) => course::run(a),
        Command::Bench(a) => bench::run(a),
    }
}
