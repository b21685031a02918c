//! What can go wrong in a surfaces run. Bad input is reported, never a panic.

use std::path::{Path, PathBuf};

use stoke_optim::{BackendError, SpecError};
use stoke_plot::{DrawError, FigureError};

/// What can go wrong in a surfaces run.
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
    /// Not a preset of the recipe.
    #[error("unknown preset '{name}'; the recipe's presets: {known}")]
    UnknownPreset {
        /// What was asked for.
        name: String,
        /// The recipe's preset names, comma-separated.
        known: String,
    },
    /// An optimizer description that does not parse or does not hold.
    #[error("optimizer '{spec}': {source}")]
    Optimizer {
        /// The description as given (or as printed, for a typed one).
        spec: String,
        /// The optimizer, field and rule.
        #[source]
        source: SpecError,
    },
    /// A `batch=` that is not a whole number ≥ 1.
    #[error("optimizer '{spec}': batch = {value}: must be a whole number >= 1")]
    Batch {
        /// The description as given.
        spec: String,
        /// The rejected value.
        value: String,
    },
    /// `steps = 0`.
    #[error("steps must be at least 1")]
    ZeroSteps,
    /// No optimizer to run.
    #[error("no optimizers given; give at least one, e.g. momentum:lr=0.003,momentum=0.9")]
    NoOptimizers,
    /// The recipe file is not TOML of the expected shape.
    #[error("surfaces recipe {path}: {source}")]
    RecipeToml {
        /// Where it came from.
        path: String,
        /// What the TOML reader said.
        #[source]
        source: toml::de::Error,
    },
    /// An entry of the recipe file is invalid.
    #[error("surfaces recipe {path}: {key}: {source}")]
    Recipe {
        /// Where it came from.
        path: String,
        /// `surface`, `surfaces.NAME` or `presets.NAME`.
        key: String,
        /// What is wrong with it.
        #[source]
        source: Box<SurfacesError>,
    },
    /// This build has no CPU backend.
    #[error("no CPU backend: this build has neither flex nor ndarray")]
    NoCpuBackend,
    /// The CPU backend's device could not be made.
    #[error("CPU device: {0}")]
    Device(#[source] BackendError),
    /// Reading a tensor back failed.
    #[error("reading a tensor: {0}")]
    Tensor(#[source] burn::tensor::DataError),
    /// Saving the optimizer's state (to read it back) failed.
    #[error("saving the optimizer state: {0}")]
    Record(#[source] burn::store::RecordError),
    /// Reading the optimizer's saved state back failed.
    #[error("reading the optimizer state: {0}")]
    State(#[source] burn::store::burn_pack::Error),
    /// Drawing a figure failed.
    #[error(transparent)]
    Plot(#[from] FigureError<DrawError>),
    /// The interactive page would exceed its size budget.
    #[error(
        "{}: the page would be {bytes} bytes, over the {max}-byte budget; use a smaller grid",
        path.display()
    )]
    PageTooLarge {
        /// The page's file.
        path: PathBuf,
        /// Its size.
        bytes: usize,
        /// The budget.
        max: usize,
    },
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Writing `trajectories.csv` failed.
    #[error("{}: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: csv::Error,
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
