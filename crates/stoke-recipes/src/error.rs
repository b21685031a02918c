//! Errors of the recipes crate: one line each, naming the cause.

use std::path::PathBuf;

/// Anything that stops a recipe or a training run before it starts or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// TOML that does not parse or does not fit the schema (a recipe file, a `--set` section).
    #[error("{origin}: {}", one_line(.source))]
    Toml {
        /// The file, or what the text is.
        origin: String,
        #[source]
        source: toml::de::Error,
    },
    /// A value that breaks a rule, named by its field.
    #[error("{context}: {field} = {value}: {rule}")]
    Invalid {
        context: String,
        field: String,
        value: String,
        rule: String,
    },
    /// Any other error of one run of a recipe, with the run named.
    #[error("{context}: {source}")]
    InRun {
        /// `recipe NAME, run 'LABEL'`.
        context: String,
        #[source]
        source: Box<RecipeError>,
    },
    /// An optimizer description that does not parse or hold.
    #[error(transparent)]
    Optimizer(#[from] stoke_optim::SpecError),
    /// A recipe name that is neither built in nor a file.
    #[error("unknown recipe '{name}'; built-in recipes: {known} (or give a path to a .toml file)")]
    UnknownRecipe { name: String, known: String },
    /// An optimizer hyper-parameter that the optimizer rejects.
    #[error(transparent)]
    Config(#[from] stoke_optim::ConfigError),
    /// A backend that is unknown or not compiled in.
    #[error(transparent)]
    Backend(#[from] stoke_optim::BackendError),
    /// Data that could not be loaded.
    #[error(transparent)]
    Data(#[from] stoke_text::data::DataError),
    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `metrics.csv` that could not be read; `line` is the file's line, when known.
    #[error("{}: {}{source}", path.display(), line.map_or(String::new(), |l| format!("line {l}: ")))]
    Csv {
        path: PathBuf,
        line: Option<usize>,
        #[source]
        source: csv::Error,
    },
    /// A JSON file (a run's `result.json`) that could not be read back.
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A checkpoint that could not be written or read back.
    #[error("checkpoint {}: {source}", path.display())]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: CheckpointError,
    },
    /// A plot that could not be drawn.
    #[error("plot {}: {source}", path.display())]
    Plot {
        path: PathBuf,
        #[source]
        source: PlotError,
    },
}

/// Why a checkpoint could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// `state.json` does not parse.
    #[error(transparent)]
    State(#[from] serde_json::Error),
    /// Weights or optimizer state that Burn could not encode or decode.
    #[error(transparent)]
    Record(#[from] burn::store::RecordError),
    /// The embedding table's row-optimizer state could not be encoded or decoded.
    #[error(transparent)]
    Rows(#[from] stoke_optim::RowStateError),
    /// The checkpoint's model settings are invalid.
    #[error("model settings: {0}")]
    Model(#[from] stoke_text::InvalidSetting),
    /// The learning-rate schedule's saved state does not fit this run's schedule.
    #[error(transparent)]
    Schedule(stoke_optim::schedule::ScheduleStateError),
    /// The checkpoint belongs to a run with other settings.
    #[error("was written by a run with other settings; remove it or drop --resume")]
    OtherRun,
}

/// Why a plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to plot: every value is NaN, infinite or (on a log axis) not positive.
    #[error("no finite values to plot")]
    NoFiniteValues,
    /// The drawing backend failed.
    #[error(transparent)]
    Draw(Box<dyn std::error::Error + Send + Sync>),
}

impl PlotError {
    /// The backend error `e`.
    pub(crate) fn draw(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        PlotError::Draw(Box::new(e))
    }
}

/// A TOML error's message on one line (runs of white space become one space).
fn one_line(e: &toml::de::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl RecipeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RecipeError::Io {
            path: path.into(),
            source,
        }
    }

    /// `context: section.field = value: rule` for a model or tokenizer setting.
    pub fn setting(
        context: impl Into<String>,
        section: &str,
        e: stoke_text::InvalidSetting,
    ) -> Self {
        RecipeError::Invalid {
            context: context.into(),
            field: format!("{section}.{}", e.field),
            value: e.value,
            rule: e.rule.into(),
        }
    }

    pub(crate) fn invalid(
        context: impl Into<String>,
        field: impl Into<String>,
        value: impl ToString,
        rule: impl Into<String>,
    ) -> Self {
        RecipeError::Invalid {
            context: context.into(),
            field: field.into(),
            value: value.to_string(),
            rule: rule.into(),
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), RecipeError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).map_err(|e| RecipeError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| RecipeError::io(path, e))
}
