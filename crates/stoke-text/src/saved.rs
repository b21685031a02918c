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
//! | `checksums.json` | the FNV-1a 64-bit hash of each file above, written last |
//! | `calibration.json` | the [`Temperature`] dividing the logits (absent: 1, the model's own probabilities) |
//!
//! [`SavedClassifier::save`] writes everything into a fresh sibling directory and then
//! renames it into place, so a reader never sees a half-written classifier.
//!
//! [`SavedClassifier::load`] trusts nothing it reads: a file whose hash is not the saved one
//! (truncated, a flipped bit), invalid JSON, a setting that breaks its rule, parts that do not
//! fit each other (class count, vocabulary size against `num_ids`), weights of another shape
//! or that are not finite: each is a one-line [`SaveError`] naming the file. A directory
//! without `checksums.json` (saved before it existed) is checked without the hashes.

use std::path::{Path, PathBuf};

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use serde::Serialize;

use crate::InvalidSetting;
use crate::batch::{TextBatcher, TextItem, eval_batch_size};
use crate::calibration::Temperature;
use crate::error::one_line;
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
/// See [`MODEL_FILE`].
pub const CHECKSUMS_FILE: &str = "checksums.json";

/// The files `checksums.json` covers.
const HASHED: [&str; 5] = [
    MODEL_FILE,
    CONFIG_FILE,
    TOKENIZER_FILE,
    CLASSES_FILE,
    CALIBRATION_FILE,
];
/// See [`MODEL_FILE`].
pub const CALIBRATION_FILE: &str = "calibration.json";

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
    /// A JSON file is not valid, or does not hold what it should. The parser's message can
    /// quote the file (a field name, a value); its control characters are escaped, so the
    /// message stays one line.
    #[error("{path}: {}", one_line(source))]
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
    /// A file is not the one that was saved: its hash differs from `checksums.json`'s.
    #[error(
        "{path}: changed or damaged since it was saved (its FNV-1a hash is {got:016x}, checksums.json says {want:016x})"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The file's hash.
        got: u64,
        /// The saved hash.
        want: u64,
    },
    /// A weight loaded from `model.bpk` is NaN or infinite.
    #[error("{path}: `{param}` holds a value that is not finite (NaN or ±∞)")]
    NonFinite {
        /// The weights file.
        path: PathBuf,
        /// The parameter's path in the model, e.g. `embedding.weight`.
        param: String,
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
    /// Divides the logits before the softmax of [`predict`](Self::predict) (fitted on
    /// validation rows by `stoke train`; [`Temperature::default`] leaves them as they are).
    pub temperature: Temperature,
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

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, SaveError> {
    serde_json::from_slice(bytes).map_err(|source| SaveError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Parses `config.json`. A model saved before `embed_init_std` existed has no such field; its
/// table was initialised from `N(0, 1)`, which is what the field then records (the loaded
/// weights replace the initial ones either way).
fn parse_config(path: &Path, bytes: &[u8]) -> Result<TextClassifierConfig, SaveError> {
    let mut value: serde_json::Value = parse_json(path, bytes)?;
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

/// FNV-1a, 64 bits: `h ← (h ⊕ b)·p` over the bytes `b`, from the offset basis. For a fixed byte
/// each step is a bijection of `h` (xor, then a product with an odd number modulo 2⁶⁴), so two
/// files of one length that differ in any byte (a flipped bit, a changed value) always hash
/// differently; a truncated or extended file almost surely does.
fn fnv1a64(bytes: &[u8]) -> u64 {
    const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

const HASH_PREFIX: &str = "fnv1a-64:";

/// `checksums.json`: each hashed file's name and `fnv1a-64:<16 hex digits>`.
fn write_checksums(dir: &Path) -> Result<(), SaveError> {
    let mut sums = std::collections::BTreeMap::new();
    for file in HASHED {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        sums.insert(file, format!("{HASH_PREFIX}{:016x}", fnv1a64(&bytes)));
    }
    write_json(&dir.join(CHECKSUMS_FILE), &sums)
}

/// The hashes `checksums.json` lists (none when the file is absent), each file named once and
/// known.
fn read_checksums(dir: &Path) -> Result<Vec<(&'static str, u64)>, SaveError> {
    let path = dir.join(CHECKSUMS_FILE);
    let bytes = match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(io(&path))?,
    };
    let sums: std::collections::BTreeMap<String, String> = parse_json(&path, &bytes)?;
    let bad = |message: String| SaveError::Inconsistent {
        path: path.clone(),
        message,
    };
    let mut out = Vec::new();
    for (file, sum) in &sums {
        let Some(known) = HASHED.into_iter().find(|f| f == file) else {
            return Err(bad(format!(
                "lists {file:?}, which is not a file of a saved classifier"
            )));
        };
        let hash = sum
            .strip_prefix(HASH_PREFIX)
            .filter(|h| h.len() == 16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                bad(format!(
                    "{file}: {sum:?} is not {HASH_PREFIX}<16 hex digits>"
                ))
            })?;
        out.push((known, hash));
    }
    Ok(out)
}

/// The number of values the tensors of a burnpack file hold, read from its header (nothing
/// is allocated for them).
fn saved_values(bytes: burn::tensor::Bytes) -> Result<u128, burn::store::burn_pack::Error> {
    let reader = burn::store::burn_pack::Reader::from_bytes(bytes)?;
    let mut total = 0u128;
    for t in reader.into_tensors()? {
        let (_, _, shape, _, _) = t.into_parts()?;
        total += shape.iter().map(|&d| d as u128).product::<u128>();
    }
    Ok(total)
}

/// Finds the first float parameter with a value that is not finite.
#[derive(Default)]
struct FirstNonFinite {
    path: Vec<String>,
    found: Option<String>,
}

impl burn::module::ModuleVisitor for FirstNonFinite {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let finite = || param.val().to_data().iter::<f32>().all(f32::is_finite);
        if self.found.is_none() && !finite() {
            self.found = Some(self.path.join("."));
        }
    }
}

/// See [`SavedClassifier::check`].
fn check_parts(
    config: &TextClassifierConfig,
    tokenizer: &Tokenizer,
    classes: &[String],
    dir: &Path,
) -> Result<(), SaveError> {
    let bad = |message: String| SaveError::Inconsistent {
        path: dir.to_path_buf(),
        message,
    };
    let setting = |file: &str| {
        let path = dir.join(file);
        move |source| SaveError::Setting { path, source }
    };
    config.validate().map_err(setting(CONFIG_FILE))?;
    tokenizer
        .config()
        .validate()
        .map_err(setting(TOKENIZER_FILE))?;
    if classes.len() != config.n_classes {
        return Err(bad(format!(
            "classes.json has {} classes but config.json says n_classes = {}",
            classes.len(),
            config.n_classes
        )));
    }
    if tokenizer.num_ids() != config.num_ids {
        return Err(bad(format!(
            "tokenizer.json gives {} ids but config.json says num_ids = {} (the embedding's rows)",
            tokenizer.num_ids(),
            config.num_ids
        )));
    }
    Ok(())
}

/// A temperature must be a positive number.
fn check_temperature(t: Temperature, dir: &Path) -> Result<(), SaveError> {
    if t.0.is_finite() && t.0 > 0.0 {
        Ok(())
    } else {
        Err(SaveError::Inconsistent {
            path: dir.join(CALIBRATION_FILE),
            message: format!("temperature {} is not a positive number", t.0),
        })
    }
}

impl SavedClassifier {
    /// Checks that the parts fit together: class count, embedding rows, valid settings.
    pub fn check(&self, dir: &Path) -> Result<(), SaveError> {
        check_parts(&self.config, &self.tokenizer, &self.classes, dir)?;
        check_temperature(self.temperature, dir)
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
            write_json(&tmp.join(CALIBRATION_FILE), &self.temperature)?;
            write_checksums(&tmp)?;
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
    /// for inference, `device.autodiff()` to train further), checking every file (see the
    /// [module docs](self)).
    pub fn load(dir: &Path, device: &Device) -> Result<Self, SaveError> {
        let sums = read_checksums(dir)?;
        let read = |file: &str| {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            if let Some(&(_, want)) = sums.iter().find(|(f, _)| *f == file) {
                let got = fnv1a64(&bytes);
                if got != want {
                    return Err(SaveError::Checksum { path, got, want });
                }
            }
            Ok((path, bytes))
        };
        let (path, bytes) = read(CONFIG_FILE)?;
        let config = parse_config(&path, &bytes)?;
        let (path, bytes) = read(TOKENIZER_FILE)?;
        let tokenizer: Tokenizer = parse_json(&path, &bytes)?;
        let (path, bytes) = read(CLASSES_FILE)?;
        let classes: Vec<String> = parse_json(&path, &bytes)?;
        // Saved before calibration existed: the model's own probabilities.
        let temperature = if dir.join(CALIBRATION_FILE).exists() {
            let (path, bytes) = read(CALIBRATION_FILE)?;
            parse_json(&path, &bytes)?
        } else {
            Temperature::default()
        };
        check_temperature(temperature, dir)?;
        let (weights, bytes) = read(MODEL_FILE)?;
        // The settings are checked before a model of their size is made.
        check_parts(&config, &tokenizer, &classes, dir)?;
        let weights_error = |source| SaveError::Weights {
            path: weights.clone(),
            source,
        };
        let bytes = burn::tensor::Bytes::from_bytes_vec(bytes);
        let held = saved_values(bytes.clone()).map_err(|e| weights_error(e.into()))?;
        if held != config.saved_values() {
            return Err(SaveError::Inconsistent {
                path: dir.to_path_buf(),
                message: format!(
                    "model.bpk holds {held} values but config.json describes a model of {} (weights of another model size?)",
                    config.saved_values()
                ),
            });
        }
        let record = burn::store::ModuleRecord::from_bytes(bytes).map_err(weights_error)?;
        let model = config
            .try_init(device)
            .map_err(|source| SaveError::Setting {
                path: dir.join(CONFIG_FILE),
                source,
            })?
            .try_load_record(record)
            .map_err(weights_error)?;
        let mut first = FirstNonFinite::default();
        model.visit(&mut first);
        if let Some(param) = first.found {
            return Err(SaveError::NonFinite {
                path: weights,
                param,
            });
        }
        Ok(SavedClassifier {
            model,
            tokenizer,
            classes,
            config,
            temperature,
        })
    }

    /// The logits of encoded rows (eval mode: BatchNorm running statistics, no dropout).
    pub fn logits(&self, items: &[TextItem]) -> Vec<Vec<f64>> {
        let model = self.model.clone().valid();
        let device = model.device();
        let k = self.classes.len();
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(eval_batch_size(items, self.config.embed_dim).min(256)) {
            let batch = TextBatcher.batch(chunk.to_vec(), &device);
            let values: Vec<f32> = model
                .forward_batch(&batch)
                .into_data()
                .iter::<f32>()
                .collect();
            out.extend(
                values
                    .chunks(k)
                    .map(|row| row.iter().map(|&v| f64::from(v)).collect()),
            );
        }
        out
    }

    /// Class probabilities `softmax(z / T)` of raw texts.
    pub fn predict(&self, texts: &[&str]) -> Vec<Prediction> {
        let items: Vec<TextItem> = self
            .tokenizer
            .encode_many(texts, 1)
            .into_iter()
            .map(|e| TextItem {
                ids: e.ids,
                words: e.words,
                label: 0,
            })
            .collect();
        self.logits(&items)
            .iter()
            .map(|z| {
                let row = self.temperature.probabilities(z);
                let index = row
                    .iter()
                    .enumerate()
                    .fold(0, |best, (i, &p)| if p > row[best] { i } else { best });
                Prediction {
                    label: self.classes[index].clone(),
                    index,
                    probabilities: self
                        .classes
                        .iter()
                        .cloned()
                        .zip(row.iter().map(|&p| p as f32))
                        .collect(),
                }
            })
            .collect()
    }
}
