//! What can go wrong writing the course page. Bad input is reported, never a panic.

use std::path::PathBuf;

/// What can go wrong writing the course page.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// `--lang` is neither `th` nor `en`.
    #[error("unknown language '{0}'; the page is written in th (Thai) or en (English)")]
    UnknownLang(String),
    /// Computing an optimizer race failed.
    #[error("race '{preset}': {source}")]
    Race {
        /// The preset.
        preset: String,
        /// What went wrong.
        #[source]
        source: stoke_surfaces::SurfacesError,
    },
    /// No CPU backend compiled in, or its device could not be made.
    #[error(transparent)]
    Device(#[from] stoke_surfaces::SurfacesError),
    /// Reading a tensor back failed.
    #[error("reading a tensor: {0}")]
    Tensor(#[source] burn::tensor::DataError),
    /// A recipe's `metrics.csv` could not be read.
    #[error("{}:{line}: {message}", path.display())]
    Metrics {
        /// The file.
        path: PathBuf,
        /// The line (1-based; 0 when the file could not be opened).
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// The page would exceed its size budget.
    #[error("the course page would be {0} bytes, over the 5 MB budget")]
    TooLarge(usize),
    /// Writing the page failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
