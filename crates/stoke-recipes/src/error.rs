//! Errors of the recipes crate: one line each, naming the cause.

use std::path::PathBuf;

/// Anything that stops a recipe or a training run before it starts or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// A recipe file that is not valid TOML or does not fit the schema.
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// A value that breaks a rule, named by its field.
    #[error("{context}: {field} = {value}: {rule}")]
    Invalid {
        context: String,
        field: String,
        value: String,
        rule: String,
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
    /// A checkpoint that could not be written or read back.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// A plot that could not be drawn.
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
}

impl RecipeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RecipeError::Io {
            path: path.into(),
            source,
        }
    }

    /// `context: section.field = value: rule` for a model or tokenizer setting.
    pub(crate) fn setting(
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
