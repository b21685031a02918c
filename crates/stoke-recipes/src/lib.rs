//! # stoke-recipes
//!
//! The course's experiments as data. A [`Recipe`] (TOML; the built-ins live in
//! `recipes/`) names the data set, model, optimizers, hyper-parameter grid, epochs, batch size
//! and seeds; [`runner`] trains every (configuration, seed) run with [`train`] and writes
//! `metrics.csv` (long format), `summary.json`, the recipe as run, the environment, plots
//! ([`report`]) and `report.md`.

pub mod autotune;
pub mod bag;
mod checkpoint;
pub mod data;
pub mod dense;
pub mod early_stopping;
pub mod environment;
pub mod error;
pub mod learner;
pub mod metrics;
pub mod recipe;
pub mod report;
pub mod runner;
pub mod step;
pub mod summary;
pub mod train;
pub mod verdict;

pub use error::RecipeError;
pub use recipe::{Overrides, Recipe, RunSpec, Settings};
pub use runner::{Outputs, run_recipe};
pub use stoke_optim::OptimizerSpec;
