//! `stoke surfaces`: optimizer paths on 2-D loss surfaces (also `stoke run surfaces`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use stoke_surfaces::{Racer, RunSummary, Surface, SurfacesRecipe};

use crate::args::Common;
use crate::output;

#[derive(Args, Debug, Default)]
pub struct SurfacesArgs {
    /// quadratic, rosenbrock, beale, saddle or noisy-quadratic (default: the recipe's, the quadratic).
    #[arg(long)]
    pub surface: Option<String>,
    /// A named comparison of the recipe, e.g. `step-size` (α too large alone, clipped, decayed);
    /// its surface, optimizers and steps, written to OUT/NAME.
    #[arg(long, conflicts_with = "surface")]
    pub preset: Option<String>,
    /// Optimizers to compare, e.g. `sgd:lr=0.003 momentum:lr=0.003,momentum=0.9 rmsprop:lr=0.01`;
    /// with a schedule and clipping: `sgd:lr=0.021,clip_norm=1`,
    /// `sgd:lr=0.021,schedule=step,schedule.step_size=20,schedule.gamma=0.9`.
    #[arg(long, num_args = 1..)]
    pub optimizers: Vec<String>,
    /// Steps per optimizer.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Seed of the noisy quadratic's gradient noise.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default: out/surfaces).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A surfaces recipe file (default: the built-in recipes/surfaces.toml).
    #[arg(long)]
    pub recipe: Option<PathBuf>,
    /// Skip the interactive page.
    #[arg(long)]
    pub no_page: bool,
    #[command(flatten)]
    pub common: Common,
}

/// What `stoke surfaces --json` prints.
#[derive(Serialize)]
struct Paths<'a> {
    out: &'a PathBuf,
    page: Option<&'a PathBuf>,
    runs: Vec<PathRun<'a>>,
    surface: &'a str,
}

/// One optimizer's path in [`Paths`].
#[derive(Serialize)]
struct PathRun<'a> {
    diverged: bool,
    final_loss: f64,
    final_point: [f64; 2],
    label: &'a str,
    steps_run: usize,
    steps_to_tolerance: Option<usize>,
}

impl<'a> From<&'a RunSummary> for PathRun<'a> {
    fn from(r: &'a RunSummary) -> Self {
        Self {
            diverged: r.diverged,
            final_loss: r.final_loss,
            final_point: r.final_point,
            label: &r.label,
            steps_run: r.steps_run,
            steps_to_tolerance: r.steps_to_tolerance,
        }
    }
}

pub fn run(a: SurfacesArgs) -> Result<()> {
    let recipe = match &a.recipe {
        Some(p) => SurfacesRecipe::load(p)?,
        None => SurfacesRecipe::bundled(),
    };
    let mut opts = match (&a.preset, a.surface.as_deref()) {
        (Some(preset), _) => recipe.options_for_preset(preset)?,
        (None, Some(name)) => recipe.options_for(name.parse::<Surface>()?),
        (None, None) => recipe.options_for(recipe.surface),
    };
    let surface = opts.surface;
    if !a.optimizers.is_empty() {
        opts.optimizers = a
            .optimizers
            .iter()
            .map(|o| o.parse::<Racer>())
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
    let report = stoke_surfaces::run(&opts)?;
    if a.common.json {
        return output::json(&Paths {
            out: &opts.out,
            page: report.page.as_ref().map(|p| &p.path),
            runs: report.runs.iter().map(PathRun::from).collect(),
            surface: surface.name(),
        });
    }
    output::line(&format!("{} ({} steps):", surface.name(), opts.steps));
    for r in &report.runs {
        let outcome = if r.diverged {
            format!("diverged after {} steps", r.steps_run)
        } else {
            r.steps_to_tolerance
                .map_or("did not reach the tolerance".into(), |n| {
                    format!("reached the tolerance in {n} steps")
                })
        };
        output::line(&format!(
            "  {:<40} final loss {:<12.4e} {outcome}",
            r.label, r.final_loss
        ));
    }
    output::line(&format!(
        "plots: {} {}\ntrajectories: {}",
        report.contour_png.display(),
        report.loss_png.display(),
        report.csv.display()
    ));
    if let Some(p) = &report.page {
        output::line(&format!(
            "interactive page: {} ({} KB)",
            p.path.display(),
            p.bytes / 1024
        ));
    }
    Ok(())
}
