//! # stoke-surfaces
//!
//! Optimizer paths on 2-D loss surfaces. `stoke surfaces` runs stoke's real optimizers (the
//! same [`burn::optim::Optimizer`] implementations used for training, driven through a
//! [`burn::optim::ModuleOptimizer`]) on a two-element Burn parameter `(x, y)`, using the
//! gradient of a built-in [`Surface`]:
//!
//! * [`Surface::Quadratic`] `½(x² + 100y²)`, ill-conditioned (κ = 100), the momentum article's
//!   setting;
//! * [`Surface::Rosenbrock`], [`Surface::Beale`], the [`Surface::Saddle`] `x² − y²`;
//! * [`Surface::NoisyQuadratic`], whose gradients average `batch` noisy per-sample gradients
//!   (stochastic versus averaged mini-batch gradients).
//!
//! Each optimizer is a [`Racer`]: stoke's one typed [`stoke_optim::OptimizerSpec`] (text form
//! `momentum:lr=0.003,momentum=0.9`, the stoke config's own field names) and the mini-batch
//! size `batch` of the noisy quadratic. The description's learning-rate `schedule` and its
//! transforms (`clip_norm`, …) act as in training: each step's rate comes from
//! [`OptimizerSpec::scheduler`](stoke_optim::OptimizerSpec::scheduler) and the gradients pass
//! through stoke's [`Chain`](stoke_optim::Chain) first, so `sgd:lr=0.021,clip_norm=1` is clipped
//! to a global norm of 1. The recipe's named `[presets]` (e.g. `step-size`) are further
//! comparisons. [`run`] writes, into the output directory:
//!
//! * `contour.svg` / `contour.png`: contour lines with one path per optimizer, start and
//!   optimum marked;
//! * `loss.svg` / `loss.png`: `f − f*` against iteration, log scale;
//! * `trajectories.csv`: `surface,optimizer,spec,step,x,y,loss`;
//! * `surfaces.html`: the interactive page ([`write_page`]): one self-contained file with
//!   precomputed paths for a grid of step sizes α and a second hyper-parameter per optimizer.
//!
//! The default run per surface (which optimizers, how many steps) is the data file
//! `recipes/surfaces.toml` ([`SurfacesRecipe`]).

mod contour;
mod error;
mod page;
mod plots;
mod racer;
mod recipe;
mod run;
mod surface;
mod walk;

pub use error::SurfacesError;
pub use page::{
    MAX_PAGE_BYTES, PageGrid, PageOptimizer, PageSummary, Slider, surface_figure, write_page,
};
pub use racer::Racer;
pub use recipe::{DEFAULT_RECIPE, Preset, SurfaceRun, SurfacesOptions, SurfacesRecipe};
pub use run::{RunSummary, SurfacesReport, TOLERANCE, run, steps_to_tolerance};
pub use surface::{Bounds, NOISE_SIGMA, NOISY_CURVATURES, QUADRATIC_CURVATURES, Surface};
pub use walk::{StepTrace, cpu_device, trace_from, trajectory, trajectory_from};
