//! One surfaces run: every optimizer from the surface's start point, its summary, the two
//! figures and `trajectories.csv`.

use std::fs;
use std::path::{Path, PathBuf};

use stoke_optim::OptimizerConfig;

use crate::error::SurfacesError;
use crate::page::{PageGrid, PageSummary, write_page};
use crate::plots;
use crate::racer::Racer;
use crate::recipe::SurfacesOptions;
use crate::surface::Surface;
use crate::walk::{cpu_device, trajectory};

/// How one optimizer did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The legend label, unique within the run.
    pub label: String,
    /// The optimizer.
    pub racer: Racer,
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
    for racer in &opts.optimizers {
        racer.validate()?;
    }
    let device = cpu_device()?;
    let surface = opts.surface;

    let mut paths = Vec::new();
    for racer in &opts.optimizers {
        paths.push(trajectory(surface, racer, opts.steps, opts.seed, &device)?);
    }

    // unique labels
    let mut labels: Vec<String> = Vec::new();
    for racer in &opts.optimizers {
        let base = racer.label();
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
        .map(|((racer, pts), label)| {
            let last = *pts.last().unwrap_or(&surface.start());
            RunSummary {
                label: label.clone(),
                racer: racer.clone(),
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

    let optimizers: Vec<&OptimizerConfig> =
        opts.optimizers.iter().map(|r| &r.spec.optimizer).collect();
    let colors = plots::colors_for(&optimizers);
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
    let figure = |view| plots::RunFigure {
        view,
        surface,
        runs: &plot_runs,
        steps: opts.steps,
    };
    let [contour_svg, contour_png] =
        stoke_plot::save(&figure(plots::View::Contour), &file("contour"))?;
    let [loss_svg, loss_png] = stoke_plot::save(&figure(plots::View::Loss), &file("loss"))?;
    write_csv(&file("trajectories.csv"), surface, &runs, &paths)?;

    let page = if opts.page {
        Some(write_page(&file("surfaces.html"), &PageGrid::default())?)
    } else {
        None
    };

    Ok(SurfacesReport {
        surface,
        contour_svg,
        contour_png,
        loss_svg,
        loss_png,
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
    let failed = |source| SurfacesError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_path(path).map_err(failed)?;
    w.write_record(["surface", "optimizer", "spec", "step", "x", "y", "loss"])
        .map_err(failed)?;
    for (run, pts) in runs.iter().zip(paths) {
        let spec = run.racer.to_string();
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
            .map_err(failed)?;
        }
    }
    w.flush().map_err(|e| SurfacesError::io(path, e))
}
