//! `stoke run`: a recipe's runs, in this process or in `--jobs N` child processes, through the
//! recipe runner, with progress bars on stderr and the summary on stdout.

use std::path::{Path, PathBuf};

use anyhow::{Result, ensure};
use clap::Args;
use stoke_optim::Backend;
use stoke_recipes::runner::{DataCache, Outputs, run_one, run_recipe_with};
use stoke_recipes::train::RunResult;
use stoke_recipes::{Overrides, Recipe, RunSpec};

use super::surfaces::{self, SurfacesArgs};
use crate::args::Common;
use crate::output;
use crate::pool::run_parallel;
use crate::progress::{Bars, iterations};

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// A built-in recipe name (see `stoke list`), a path to a recipe .toml file, or `all`: every
    /// built-in recipe, the surfaces and the course page, with an index.html linking them.
    pub(super) recipe: String,
    /// Output directory (default: `out/<recipe name>`; with `all`, `out`).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
    /// Use only this seed (instead of the recipe's seeds).
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Override the number of epochs of every run.
    #[arg(long)]
    pub(super) epochs: Option<usize>,
    /// Use only the first N training texts (quick checks).
    #[arg(long)]
    pub(super) train_subset: Option<usize>,
    /// Run on another bundled data set.
    #[arg(long)]
    pub(super) dataset: Option<String>,
    /// Independent runs trained at the same time, each in its own process.
    #[arg(long, default_value_t = 1)]
    pub(super) jobs: usize,
    /// Continue an interrupted recipe from its checkpoints.
    #[arg(long)]
    pub(super) resume: bool,
    #[command(flatten)]
    pub(super) common: Common,
}

pub fn run(a: RunArgs) -> Result<()> {
    if a.recipe == "all" {
        return super::run_all::run(&a);
    }
    let outputs = match recipe_outputs(&a)? {
        Some(o) => o,
        None => return Ok(()),
    };
    if a.common.json {
        return output::json(&outputs.summary);
    }
    output::line(&format!("{}\n", outputs.summary.finding));
    for c in &outputs.summary.configs {
        output::line(&format!(
            "  {:<40} valid accuracy {:<15} train loss {}",
            c.label,
            c.final_valid_accuracy.map_or("—".into(), |m| m.show(3)),
            c.final_train_loss.map_or("—".into(), |m| m.show(4)),
        ));
    }
    output::line(&format!("\nreport: {}", outputs.report_md.display()));
    Ok(())
}

/// Runs the recipe `a` names into its output directory; `None` for the surfaces recipe, which
/// writes its own outputs (and prints them).
pub(super) fn recipe_outputs(a: &RunArgs) -> Result<Option<Outputs>> {
    let a = a.clone();
    if a.recipe == "surfaces" {
        // The surfaces recipe steps a 2-element parameter instead of training a model.
        surfaces::run(SurfacesArgs {
            seed: a.seed,
            out: a.out,
            common: a.common,
            ..Default::default()
        })?;
        return Ok(None);
    }
    let backend = a.common.backend()?;
    let recipe = Recipe::load(&a.recipe)?;
    ensure!(a.jobs > 0, "--jobs must be at least 1");
    let overrides = Overrides {
        epochs: a.epochs,
        seeds: a.seed.map(|s| vec![s]),
        train_subset: a.train_subset,
        dataset: a.dataset.clone(),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&recipe.name));
    let outputs = run_recipe_with(&recipe, &overrides, &out, backend, |specs| {
        train_runs(&recipe, specs, &out, backend, &a)
    })?;
    Ok(Some(outputs))
}

/// Trains `specs` into `out` as `a` asks (one after another, or in `--jobs` child processes),
/// drawing one bar for the recipe and one per active run.
fn train_runs(
    recipe: &Recipe,
    specs: &[RunSpec],
    out: &Path,
    backend: Backend,
    a: &RunArgs,
) -> Result<Vec<RunResult>> {
    // Iterations are known once the data is loaded.
    let mut cache = DataCache::default();
    let mut total = 0;
    for s in specs {
        total += iterations(s, cache.get(s)?.train.len());
    }
    let bars = Bars::new(total, a.common.quiet);
    bars.println(&format!(
        "{}: {} runs on {} ({} jobs)",
        recipe.title,
        specs.len(),
        backend,
        a.jobs
    ));
    for note in specs.iter().flat_map(stoke_recipes::learner::notes) {
        bars.println(&format!("note: {note}"));
    }
    let results = if a.jobs == 1 {
        let mut results = Vec::with_capacity(specs.len());
        for s in specs {
            let r = run_one(s, out, backend, a.resume, &mut cache, &bars)?;
            bars.done(s);
            bars.report_divergence(&r);
            results.push(r);
        }
        results
    } else {
        drop(cache);
        run_parallel(specs, out, backend, a.resume, a.jobs, &bars)?
    };
    bars.finish();
    Ok(results)
}
