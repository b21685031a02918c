//! Saving and loading a trained classifier with its tokenizer, classes and settings.
//!
//! A saved classifier is one directory:
//!
//! | file | content |
//! |---|---|
//! | `model.bpk` | the weights (and BatchNorm running statistics), Burn's burnpack format |
//! | `config.json` | the [`TextClassifierConfig`] |
//! | `tokenizer.json` | the [`Tokenizer`] (settings and, in vocabulary mode, the vocabulary) |
//! | `classes.json` | the class names, in label order |
//!
//! [`SavedClassifier::save`] writes everything into a fresh sibling directory and then
//! renames it into place, so a reader never sees a half-written classifier.

use std::path::{Path, PathBuf};

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::Serialize;

use crate::InvalidSetting;
use crate::batch::{TextBatcher, TextItem};
use crate::model::{TextClassifier, TextClassifierConfig};
use crate::tokenizer::Tokenizer;

/// File names inside a saved classifier directory.
pub const MODEL_FILE: &str = "model.bpk";
/// See [`MODEL_FILE`].
pub const CONFIG_FILE: &str = "config.json";
/// See [`MODEL_FILE`].
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// See [`MODEL_FILE`].
pub const CLASSES_FILE: &str = "classes.json";

/// Errors of [`SavedClassifier::save`] and [`SavedClassifier::load`]; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Reading or writing a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON file is not valid.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The weights file could not be written or does not fit the model.
    #[error("{path}: {source}")]
    Weights {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: burn::store::RecordError,
    },
    /// A saved setting breaks its rule.
    #[error("{path}: {source}")]
    Setting {
        /// The file holding the setting.
        path: PathBuf,
        /// The rule it breaks.
        source: InvalidSetting,
    },
    /// The saved parts are inconsistent with each other.
    #[error("{path}: {message}")]
    Inconsistent {
        /// The directory.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
}

/// One prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Prediction {
    /// The most probable class.
    pub label: String,
    /// Its index.
    pub index: usize,
    /// `(class, softmax probability)` for every class, in class order.
    pub probabilities: Vec<(String, f32)>,
}

/// A trained classifier with everything needed to use it on raw text.
#[derive(Debug)]
pub struct SavedClassifier {
    /// The model.
    pub model: TextClassifier,
    /// The tokenizer it was trained with.
    pub tokenizer: Tokenizer,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// The model's settings.
    pub config: TextClassifierConfig,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SaveError + '_ {
    move |source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SaveError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| SaveError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text).map_err(io(path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SaveError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| SaveError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `config.json`. A model saved before `embed_init_std` existed has no such field; its
/// table was initialised from `N(0, 1)`, which is what the field then records (the loaded
/// weights replace the initial ones either way).
fn read_config(path: &Path) -> Result<TextClassifierConfig, SaveError> {
    let mut value: serde_json::Value = read_json(path)?;
    if let Some(fields) = value.as_object_mut() {
        fields
            .entry("embed_init_std")
            .or_insert(serde_json::Value::from(1.0));
    }
    serde_json::from_value(value).map_err(|source| SaveError::Json {
        path: path.to_path_buf(),
        source,
    })
}

impl SavedClassifier {
    /// Checks that the parts fit together: class count, embedding rows, valid settings.
    pub fn check(&self, dir: &Path) -> Result<(), SaveError> {
        let bad = |message: String| SaveError::Inconsistent {
            path: dir.to_path_buf(),
            message,
        };
        let setting = |file: &str| {
            let path = dir.join(file);
            move |source| SaveError::Setting { path, source }
        };
        self.config.validate().map_err(setting(CONFIG_FILE))?;
        self.tokenizer
            .config()
            .validate()
            .map_err(setting(TOKENIZER_FILE))?;
        if self.classes.len() != self.config.n_classes {
            return Err(bad(format!(
                "classes.json has {} classes but config.json says n_classes = {}",
                self.classes.len(),
                self.config.n_classes
            )));
        }
        if self.tokenizer.num_ids() != self.config.num_ids {
            return Err(bad(format!(
                "the tokenizer produces {} ids but config.json says num_ids = {}",
                self.tokenizer.num_ids(),
                self.config.num_ids
            )));
        }
        Ok(())
    }

    /// Writes the classifier to `dir` (created or replaced), atomically: the files go to a
    /// temporary sibling directory which is then renamed to `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), SaveError> {
        self.check(dir)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "classifier".into());
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let tmp = parent.join(format!(".{name}.tmp-{unique}"));
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let result = (|| {
            let weights = tmp.join(MODEL_FILE);
            self.model
                .clone()
                .save_file(&weights)
                .map_err(|source| SaveError::Weights {
                    path: weights.clone(),
                    source,
                })?;
            write_json(&tmp.join(CONFIG_FILE), &self.config)?;
            write_json(&tmp.join(TOKENIZER_FILE), &self.tokenizer)?;
            write_json(&tmp.join(CLASSES_FILE), &self.classes)?;
            if dir.exists() {
                let old = parent.join(format!(".{name}.old-{unique}"));
                std::fs::rename(dir, &old).map_err(io(dir))?;
                std::fs::rename(&tmp, dir).map_err(io(dir))?;
                std::fs::remove_dir_all(&old).map_err(io(&old))?;
            } else {
                std::fs::rename(&tmp, dir).map_err(io(dir))?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    /// Reads a classifier written by [`save`](Self::save) onto `device` (use the plain device
    /// for inference, `device.autodiff()` to train further).
    pub fn load(dir: &Path, device: &Device) -> Result<Self, SaveError> {
        let config = read_config(&dir.join(CONFIG_FILE))?;
        let tokenizer: Tokenizer = read_json(&dir.join(TOKENIZER_FILE))?;
        let classes: Vec<String> = read_json(&dir.join(CLASSES_FILE))?;
        let weights = dir.join(MODEL_FILE);
        if !weights.is_file() {
            return Err(SaveError::Io {
                path: weights,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let model = config
            .try_init(device)
            .map_err(|source| SaveError::Setting {
                path: dir.join(CONFIG_FILE),
                source,
            })?;
        let loaded = SavedClassifier {
            model,
            tokenizer,
            classes,
            config,
        };
        loaded.check(dir)?;
        let model = loaded
            .model
            .try_load_file(&weights)
            .map_err(|source| SaveError::Weights {
                path: weights.clone(),
                source,
            })?;
        Ok(SavedClassifier { model, ..loaded })
    }

    /// Class probabilities of raw texts (eval mode: BatchNorm running statistics, no dropout).
    pub fn predict(&self, texts: &[&str]) -> Vec<Prediction> {
        let model = self.model.clone().valid();
        let device = model.device();
        let encoded = self.tokenizer.encode_many(texts, 1);
        let mut out = Vec::with_capacity(texts.len());
        for chunk in encoded.chunks(256) {
            let items = chunk
                .iter()
                .map(|ids| TextItem {
                    ids: ids.clone(),
                    label: 0,
                })
                .collect();
            let batch = TextBatcher.batch(items, &device);
            let probs = burn::tensor::activation::softmax(model.forward_batch(&batch), 1);
            let k = self.classes.len();
            let values: Vec<f32> = probs.into_data().iter::<f32>().collect();
            for row in values.chunks(k) {
                let index = row
                    .iter()
                    .enumerate()
                    .fold(0, |best, (i, &p)| if p > row[best] { i } else { best });
                out.push(Prediction {
                    label: self.classes[index].clone(),
                    index,
                    probabilities: self
                        .classes
                        .iter()
                        .cloned()
                        .zip(row.iter().copied())
                        .collect(),
                });
            }
        }
        out
    }
}
