//! # Optimizer paths on 2-D loss surfaces
//!
//! `stoke surfaces` runs stoke's real optimizers (the same [`burn::optim::Optimizer`]
//! implementations used for training, driven through a [`burn::optim::ModuleOptimizer`]) on a
//! two-element Burn parameter `(x, y)`, using the gradient of a built-in [`Surface`]:
//!
//! * [`Surface::Quadratic`] `½(x² + 100y²)`, ill-conditioned (κ = 100), the momentum article's
//!   setting;
//! * [`Surface::Rosenbrock`], [`Surface::Beale`], the [`Surface::Saddle`] `x² − y²`;
//! * [`Surface::NoisyQuadratic`], whose gradients average `batch` noisy per-sample gradients
//!   (stochastic versus averaged mini-batch gradients).
//!
//! [`run`] writes, into the output directory:
//!
//! * `contour.svg` / `contour.png`: contour lines with one path per optimizer, start and
//!   optimum marked;
//! * `loss.svg` / `loss.png`: `f − f*` against iteration, log scale;
//! * `trajectories.csv`: `surface,optimizer,spec,step,x,y,loss`;
//! * `surfaces.html`: the interactive page ([`write_page`]): one self-contained file with
//!   precomputed paths for a grid of step sizes α, momenta β and RMSProp decay rates.
//!
//! The default run per surface (which optimizers, how many steps) is the data file
//! `recipes/surfaces.toml` ([`SurfacesRecipe`]).

mod contour;
mod optimizer;
mod page;
mod plots;
mod surface;

use std::fs;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Deserialize;

pub use optimizer::{OptimizerSpec, trajectory, trajectory_from};
pub use page::{MAX_PAGE_BYTES, PageGrid, PageOptimizer, PageSummary, write_page};
pub use surface::{Bounds, NOISE_SIGMA, NOISY_CURVATURES, QUADRATIC_CURVATURES, Surface};

/// What can go wrong in a surfaces run. Bad input is reported, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum SurfacesError {
    /// Not a surface name.
    #[error("unknown surface '{name}'; known surfaces: {known}")]
    UnknownSurface {
        /// What was asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Not an optimizer name.
    #[error("unknown optimizer '{name}'; known optimizers: {known}")]
    UnknownOptimizer {
        /// What was asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A known optimizer with unusable settings.
    #[error("bad optimizer '{spec}': {reason}")]
    BadOptimizer {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `steps = 0`.
    #[error("steps must be at least 1")]
    ZeroSteps,
    /// No optimizer to run.
    #[error("no optimizers given; give at least one, e.g. momentum:lr=0.003,momentum=0.9")]
    NoOptimizers,
    /// The recipe file is not valid.
    #[error("surfaces recipe {path}: {reason}")]
    Recipe {
        /// Where it came from.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No CPU backend compiled in.
    #[error("no CPU backend: {0}")]
    Backend(String),
    /// Reading a tensor back failed.
    #[error("reading a tensor: {0}")]
    Tensor(String),
    /// Drawing a figure failed.
    #[error("plot {0}")]
    Plot(String),
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl SurfacesError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SurfacesError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The CPU device trajectories run on (flex when compiled in, else ndarray).
pub fn cpu_device() -> Result<Device, SurfacesError> {
    let backend = stoke_optim::Backend::default_cpu()
        .ok_or_else(|| SurfacesError::Backend("this build has no backend".into()))?;
    backend
        .device()
        .map_err(|e| SurfacesError::Backend(e.to_string()))
}

/// The bundled default run, `recipes/surfaces.toml`.
pub const DEFAULT_RECIPE: &str = include_str!("../../recipes/surfaces.toml");

/// The parsed surfaces recipe: a default surface and seed, and per surface the optimizers to
/// compare and the number of steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfacesRecipe {
    /// The surface `stoke surfaces` shows without `--surface`.
    pub surface: String,
    /// Seed of the noisy quadratic's gradient noise.
    pub seed: u64,
    /// Where the outputs go without `--out`.
    pub out: String,
    /// Per surface name: what to run.
    pub surfaces: std::collections::BTreeMap<String, SurfaceRun>,
}

/// One surface's default comparison.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceRun {
    /// Steps per optimizer.
    pub steps: usize,
    /// Optimizer specs, e.g. `"momentum:lr=0.003,momentum=0.9"`.
    pub optimizers: Vec<String>,
}

impl SurfacesRecipe {
    /// Parses a recipe from TOML text (`origin` names it in errors) and checks every surface
    /// name, optimizer spec and step count.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SurfacesError> {
        let bad = |reason: String| SurfacesError::Recipe {
            path: origin.to_string(),
            reason,
        };
        let recipe: SurfacesRecipe = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        recipe
            .surface
            .parse::<Surface>()
            .map_err(|e| bad(e.to_string()))?;
        for (name, run) in &recipe.surfaces {
            name.parse::<Surface>().map_err(|e| bad(e.to_string()))?;
            if run.steps == 0 {
                return Err(bad(format!("{name}: steps must be at least 1")));
            }
            if run.optimizers.is_empty() {
                return Err(bad(format!("{name}: no optimizers")));
            }
            for o in &run.optimizers {
                o.parse::<OptimizerSpec>()
                    .map_err(|e| bad(format!("{name}: {e}")))?;
            }
        }
        Ok(recipe)
    }

    /// Reads and parses a recipe file.
    pub fn load(path: &Path) -> Result<Self, SurfacesError> {
        let text = fs::read_to_string(path).map_err(|e| SurfacesError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The bundled `recipes/surfaces.toml`.
    pub fn bundled() -> Self {
        // Checked by the unit test `bundled_recipe_parses`.
        Self::parse(DEFAULT_RECIPE, "recipes/surfaces.toml")
            .unwrap_or_else(|e| panic!("bundled recipe is invalid: {e}"))
    }

    /// The options for `surface` from this recipe (its optimizers and steps; the recipe's
    /// seed and output directory). A surface missing from the recipe gets plain gradient
    /// descent and momentum at α = 0.001 for 300 steps.
    pub fn options_for(&self, surface: Surface) -> SurfacesOptions {
        let (steps, optimizers) = match self.surfaces.get(surface.name()) {
            Some(run) => (
                run.steps,
                run.optimizers
                    .iter()
                    .filter_map(|o| o.parse().ok())
                    .collect(),
            ),
            None => (
                300,
                vec![
                    OptimizerSpec::new("sgd")
                        .map(|s| s.with_lr(0.001))
                        .expect("sgd is known"),
                    OptimizerSpec::new("momentum")
                        .map(|s| s.with_lr(0.001))
                        .expect("momentum is known"),
                ],
            ),
        };
        SurfacesOptions {
            surface,
            optimizers,
            steps,
            seed: self.seed,
            out: PathBuf::from(&self.out),
            page: true,
        }
    }
}

/// What to run and where to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct SurfacesOptions {
    /// The surface.
    pub surface: Surface,
    /// The optimizers compared, all from the surface's start point.
    pub optimizers: Vec<OptimizerSpec>,
    /// Steps per optimizer (≥ 1).
    pub steps: usize,
    /// Seed of the noisy quadratic's gradient noise (the same for every optimizer).
    pub seed: u64,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Also write the interactive page `surfaces.html` (a few seconds of precomputation).
    pub page: bool,
}

impl Default for SurfacesOptions {
    /// The bundled recipe's default surface (the quadratic) with its optimizers.
    fn default() -> Self {
        let recipe = SurfacesRecipe::bundled();
        let surface = recipe.surface.parse().unwrap_or(Surface::Quadratic);
        recipe.options_for(surface)
    }
}

impl SurfacesOptions {
    /// The bundled recipe's run for `surface`.
    pub fn for_surface(surface: Surface) -> Self {
        SurfacesRecipe::bundled().options_for(surface)
    }
}

/// How one optimizer did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The legend label, unique within the run.
    pub label: String,
    /// The optimizer.
    pub spec: OptimizerSpec,
    /// Steps taken (fewer than asked when it diverged).
    pub steps_run: usize,
    /// Whether it left the surface's divergence bounds or became non-finite.
    pub diverged: bool,
    /// The last finite point.
    pub final_point: [f64; 2],
    /// `f` at the last point.
    pub final_loss: f64,
    /// The first step at which `f − f* ≤ TOLERANCE·(f(start) − f*)`, if reached (never for the
    /// saddle).
    pub steps_to_tolerance: Option<usize>,
}

/// The relative tolerance of [`RunSummary::steps_to_tolerance`]: the loss gap must fall to this
/// fraction of the starting gap.
pub const TOLERANCE: f64 = 1e-4;

/// What [`run`] wrote and measured.
#[derive(Debug, Clone)]
pub struct SurfacesReport {
    /// The surface.
    pub surface: Surface,
    /// `contour.svg`.
    pub contour_svg: PathBuf,
    /// `contour.png`.
    pub contour_png: PathBuf,
    /// `loss.svg`.
    pub loss_svg: PathBuf,
    /// `loss.png`.
    pub loss_png: PathBuf,
    /// `trajectories.csv`.
    pub csv: PathBuf,
    /// `surfaces.html`, when asked for.
    pub page: Option<PageSummary>,
    /// One per optimizer, in the order given.
    pub runs: Vec<RunSummary>,
}

/// The first index at which the loss gap falls to [`TOLERANCE`] of the starting gap.
pub fn steps_to_tolerance(surface: Surface, points: &[[f64; 2]]) -> Option<usize> {
    let fmin = surface.min_value()?;
    let start = points.first()?;
    let tol = TOLERANCE * (surface.value(start[0], start[1]) - fmin);
    points
        .iter()
        .position(|p| surface.value(p[0], p[1]) - fmin <= tol)
}

/// Runs every optimizer of `opts` on its surface and writes the figures, the CSV and (when
/// `opts.page`) the interactive page into `opts.out`.
pub fn run(opts: &SurfacesOptions) -> Result<SurfacesReport, SurfacesError> {
    if opts.steps == 0 {
        return Err(SurfacesError::ZeroSteps);
    }
    if opts.optimizers.is_empty() {
        return Err(SurfacesError::NoOptimizers);
    }
    for spec in &opts.optimizers {
        spec.validate()?;
    }
    let device = cpu_device()?;
    let surface = opts.surface;

    let mut paths = Vec::new();
    for spec in &opts.optimizers {
        paths.push(trajectory(surface, spec, opts.steps, opts.seed, &device)?);
    }

    // unique labels
    let mut labels: Vec<String> = Vec::new();
    for spec in &opts.optimizers {
        let base = spec.label();
        let n = labels
            .iter()
            .filter(|l| **l == base || l.starts_with(&format!("{base} #")))
            .count();
        labels.push(if n == 0 {
            base
        } else {
            format!("{base} #{}", n + 1)
        });
    }

    let runs: Vec<RunSummary> = opts
        .optimizers
        .iter()
        .zip(&paths)
        .zip(&labels)
        .map(|((spec, pts), label)| {
            let last = *pts.last().unwrap_or(&surface.start());
            RunSummary {
                label: label.clone(),
                spec: spec.clone(),
                steps_run: pts.len().saturating_sub(1),
                diverged: pts.len() < opts.steps + 1,
                final_point: last,
                final_loss: surface.value(last[0], last[1]),
                steps_to_tolerance: steps_to_tolerance(surface, pts),
            }
        })
        .collect();

    fs::create_dir_all(&opts.out).map_err(|e| SurfacesError::io(&opts.out, e))?;
    let file = |name: &str| opts.out.join(name);

    let names: Vec<&str> = opts.optimizers.iter().map(|s| s.name.as_str()).collect();
    let colors = plots::colors_for(&names);
    let plot_runs: Vec<plots::PlotRun> = runs
        .iter()
        .zip(&paths)
        .zip(colors)
        .map(|((r, pts), color)| plots::PlotRun {
            label: r.label.clone(),
            color,
            points: pts,
            diverged: r.diverged,
        })
        .collect();
    plots::contour_figure(
        &file("contour.svg"),
        &file("contour.png"),
        surface,
        &plot_runs,
        opts.steps,
    )?;
    plots::loss_figure(
        &file("loss.svg"),
        &file("loss.png"),
        surface,
        &plot_runs,
        opts.steps,
    )?;
    write_csv(&file("trajectories.csv"), surface, &runs, &paths)?;

    let page = if opts.page {
        Some(write_page(&file("surfaces.html"), &PageGrid::default())?)
    } else {
        None
    };

    Ok(SurfacesReport {
        surface,
        contour_svg: file("contour.svg"),
        contour_png: file("contour.png"),
        loss_svg: file("loss.svg"),
        loss_png: file("loss.png"),
        csv: file("trajectories.csv"),
        page,
        runs,
    })
}

/// `trajectories.csv`: one row per optimizer and step, `surface,optimizer,spec,step,x,y,loss`.
fn write_csv(
    path: &Path,
    surface: Surface,
    runs: &[RunSummary],
    paths: &[Vec<[f64; 2]>],
) -> Result<(), SurfacesError> {
    let to_io = |e: csv::Error| SurfacesError::io(path, std::io::Error::other(e));
    let mut w = csv::Writer::from_path(path).map_err(to_io)?;
    w.write_record(["surface", "optimizer", "spec", "step", "x", "y", "loss"])
        .map_err(to_io)?;
    for (run, pts) in runs.iter().zip(paths) {
        let spec = run.spec.to_string();
        for (k, p) in pts.iter().enumerate() {
            w.write_record([
                surface.name(),
                run.label.as_str(),
                spec.as_str(),
                &k.to_string(),
                &p[0].to_string(),
                &p[1].to_string(),
                &surface.value(p[0], p[1]).to_string(),
            ])
            .map_err(to_io)?;
        }
    }
    w.flush().map_err(|e| SurfacesError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_recipe_parses_and_covers_every_surface() {
        let r = SurfacesRecipe::parse(DEFAULT_RECIPE, "bundled").unwrap();
        for s in Surface::ALL {
            let o = r.options_for(s);
            assert!(r.surfaces.contains_key(s.name()), "{s} missing");
            assert!(!o.optimizers.is_empty() && o.steps > 0);
        }
        assert_eq!(SurfacesOptions::default().surface, Surface::Quadratic);
    }

    #[test]
    fn bad_recipes_are_reported() {
        let base = "surface = \"quadratic\"\nseed = 1\nout = \"o\"\n";
        for (extra, needle) in [
            (
                "[surfaces.cube]\nsteps = 5\noptimizers = [\"sgd\"]\n",
                "unknown surface",
            ),
            (
                "[surfaces.beale]\nsteps = 0\noptimizers = [\"sgd\"]\n",
                "steps",
            ),
            (
                "[surfaces.beale]\nsteps = 5\noptimizers = [\"newton\"]\n",
                "newton",
            ),
            ("[surfaces.beale]\nsteps = 5\n", "optimizers"),
        ] {
            let e = SurfacesRecipe::parse(&format!("{base}{extra}"), "t")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{extra}: {e}");
        }
    }
}
