//! Runs a recipe: every (configuration, seed) run, then the outputs — `metrics.csv`,
//! `summary.json`, the recipe as run, the environment, plots and `report.md`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stoke_optim::Backend;

use crate::data::{Prepared, cache_key, prepare};
use crate::environment::Environment;
use crate::error::{RecipeError, write_atomic};
use crate::metrics::{Record, write_csv};
use crate::recipe::{Overrides, Recipe, RunSpec};
use crate::summary::Summary;
use crate::train::{Progress, RunResult, TrainOptions, train};

/// Shares prepared (tokenized) data between runs with the same data settings.
#[derive(Default)]
pub struct DataCache {
    prepared: HashMap<String, Prepared>,
}

impl DataCache {
    /// How many prepared data sets it holds.
    pub fn len(&self) -> usize {
        self.prepared.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.prepared.is_empty()
    }

    /// The prepared data for `spec`, loading it on first use.
    pub fn get(&mut self, spec: &RunSpec) -> Result<&Prepared, RecipeError> {
        let key = cache_key(&spec.settings);
        if !self.prepared.contains_key(&key) {
            let p = prepare(&spec.settings)?;
            self.prepared.insert(key.clone(), p);
        }
        Ok(&self.prepared[&key])
    }
}

/// The directory of one run inside a recipe's output directory.
pub fn run_dir(out: &Path, spec: &RunSpec) -> PathBuf {
    out.join("runs").join(spec.id())
}

/// Trains one run of a recipe into `out/runs/<id>/` (checkpoints and `result.json`).
/// A run whose `result.json` already exists is not trained again when `resume` is set.
pub fn run_one(
    spec: &RunSpec,
    out: &Path,
    backend: Backend,
    resume: bool,
    cache: &mut DataCache,
    progress: &dyn Progress,
) -> Result<RunResult, RecipeError> {
    let dir = run_dir(out, spec);
    let result_path = dir.join("result.json");
    if resume
        && result_path.exists()
        && let Ok(done) = read_result(&result_path)
        && done.spec == *spec
        && !matches!(done.status, crate::train::RunStatus::Interrupted { .. })
    {
        return Ok(done);
    }
    let device = backend.device()?;
    let data = cache.get(spec)?;
    let opts = TrainOptions {
        device,
        checkpoint_dir: Some(dir.join("checkpoint")),
        resume,
        stop_after_epoch: None,
        progress,
    };
    let trained = train(spec, data, &opts)?;
    std::fs::create_dir_all(&dir).map_err(|e| RecipeError::io(&dir, e))?;
    // Internal invariant: results are strings, integers and floats (NaN becomes null).
    let json = serde_json::to_vec_pretty(&trained.result).expect("results serialise");
    write_atomic(&result_path, &json)?;
    Ok(trained.result)
}

/// Reads a run's `result.json`.
pub fn read_result(path: &Path) -> Result<RunResult, RecipeError> {
    let text = std::fs::read_to_string(path).map_err(|e| RecipeError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| RecipeError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// What a finished recipe wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outputs {
    pub dir: PathBuf,
    pub metrics_csv: PathBuf,
    pub summary_json: PathBuf,
    pub report_md: PathBuf,
    pub plots: Vec<PathBuf>,
    pub summary: Summary,
}

/// Writes a recipe's outputs from its runs' results.
pub fn finish(
    recipe: &Recipe,
    results: &[RunResult],
    out: &Path,
    env: &Environment,
) -> Result<Outputs, RecipeError> {
    std::fs::create_dir_all(out).map_err(|e| RecipeError::io(out, e))?;
    let records: Vec<Record> = results
        .iter()
        .flat_map(|r| r.records.iter().cloned())
        .collect();
    let metrics_csv = out.join("metrics.csv");
    write_csv(&metrics_csv, &records)?;
    // Internal invariant: the recipe was read from TOML, so it writes back as TOML.
    let recipe_toml = toml::to_string_pretty(recipe).expect("recipes serialise");
    write_atomic(&out.join("recipe.toml"), recipe_toml.as_bytes())?;
    let env_json = serde_json::to_vec_pretty(env).expect("environment serialises");
    write_atomic(&out.join("environment.json"), &env_json)?;
    let summary = Summary::new(recipe, results, &records);
    let summary_json = out.join("summary.json");
    write_atomic(
        &summary_json,
        // Internal invariant: strings and numbers only (NaN becomes null).
        &serde_json::to_vec_pretty(&summary).expect("summary serialises"),
    )?;
    let plots = crate::report::plots(recipe, &records, results, out)?;
    let report_md = out.join("report.md");
    let report = crate::report::markdown(recipe, &summary, &plots, env, out);
    write_atomic(&report_md, report.as_bytes())?;
    Ok(Outputs {
        dir: out.to_path_buf(),
        metrics_csv,
        summary_json,
        report_md,
        plots,
        summary,
    })
}

/// Runs every run of `recipe` in this process, one after another, then writes the outputs.
pub fn run_recipe(
    recipe: &Recipe,
    overrides: &Overrides,
    out: &Path,
    backend: Backend,
    resume: bool,
    progress: &dyn Progress,
) -> Result<Outputs, RecipeError> {
    run_recipe_with(recipe, overrides, out, backend, |specs| {
        let mut cache = DataCache::default();
        specs
            .iter()
            .map(|spec| run_one(spec, out, backend, resume, &mut cache, progress))
            .collect()
    })
}

/// Runs every run of `recipe` with `train_runs`, then writes the outputs into `out`.
///
/// `train_runs` gets the recipe's runs (with `overrides` applied) and returns their results in
/// the same order, each trained into [`run_dir`] as [`run_one`] does: [`run_recipe`] trains
/// them here one after another; the `stoke` command trains them in child processes and draws
/// progress bars.
pub fn run_recipe_with<E: From<RecipeError>>(
    recipe: &Recipe,
    overrides: &Overrides,
    out: &Path,
    backend: Backend,
    train_runs: impl FnOnce(&[RunSpec]) -> Result<Vec<RunResult>, E>,
) -> Result<Outputs, E> {
    let specs = recipe.runs(overrides)?;
    std::fs::create_dir_all(out).map_err(|e| RecipeError::io(out, e))?;
    let results = train_runs(&specs)?;
    assert_eq!(results.len(), specs.len(), "one result per run");
    Ok(finish(
        recipe,
        &results,
        out,
        &Environment::current(backend),
    )?)
}
