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
    /// Burn's training engine stopped a multi-device run (a worker failed, a checkpoint could
    /// not be written, ...).
    #[error("{context}: training on several devices failed: {source}")]
    Engine {
        /// The run.
        context: String,
        #[source]
        source: std::sync::Arc<burn::train::TrainingError>,
    },
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
    /// A file whose bytes are not those written (its hash is not the one recorded).
    #[error(
        "changed or damaged since it was written (its FNV-1a hash is {got:016x}, the checkpoint recorded {want:016x})"
    )]
    Damaged { got: u64, want: u64 },
    /// A weight or optimizer file that `state.json` does not list.
    #[error("is not one of the files state.json lists (a file from another checkpoint?)")]
    Unlisted,
    /// An optimizer state that does not fit this run's optimizer and model.
    #[error(transparent)]
    Optimizer(#[from] stoke_optim::state::StateError),
    /// A row-optimizer buffer not shaped like the embedding table.
    #[error(
        "the table state's `{entry}` is {got:?}, but this model's table is {want:?} (a checkpoint of another model size?)"
    )]
    Table {
        entry: String,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    /// A burnpack file that does not parse.
    #[error("not a valid burnpack file: {0}")]
    Pack(#[from] burn::store::burn_pack::Error),
    /// `state.json` names an epoch the run does not have.
    #[error("names epoch {epoch}, but the run has epochs 1..={epochs}")]
    Epoch { epoch: usize, epochs: usize },
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
/// A write that fails leaves `path` as it was and no temporary file.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), RecipeError> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    if let Err(e) = std::fs::write(&tmp, bytes) {
        // A full disk leaves a partial file: remove it, so it takes no space.
        let _ = std::fs::remove_file(&tmp);
        return Err(RecipeError::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| RecipeError::io(path, e))
}
