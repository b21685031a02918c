//! Labelled text data: the bundled data sets, user files (CSV, TSV, JSONL, optionally
//! gzip-compressed), seeded stratified splits and data set summaries.
//!
//! # Errors, never panics, never silent drops
//!
//! Every problem in a user file is a [`DataError`] that names the file, the line (1-based,
//! counted in the decompressed text; for CSV/TSV the line on which the record starts) and,
//! where one is involved, the field. With [`LoadOptions::skip_invalid`] a bad row is
//! skipped instead and counted in the [`SkipReport`]; problems with the file as a whole
//! (unreadable, not gzip, empty, missing header column) are errors either way.

mod bundled;
mod file;
mod summary;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use bundled::{BUNDLED_SPLIT_SEED, Bundled, load_bundled};
pub use file::{Format, LoadOptions, Loaded, SKIP_REPORT_LINES, SkipReport, load_file};
pub use summary::{ClassSummary, LengthPercentiles, Summary, summarize};

/// One labelled text. `label` indexes [`LabelledTexts::classes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The raw text (not normalised; the tokenizer does that).
    pub text: String,
    /// Index into the class list of the owning [`LabelledTexts`].
    pub label: usize,
}

/// A named list of labelled texts with its class names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledTexts {
    /// Data set name (bundled name, or the file name for user data).
    pub name: String,
    /// Class names; `Example::label` indexes this list.
    pub classes: Vec<String>,
    /// The examples.
    pub examples: Vec<Example>,
}

impl LabelledTexts {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Number of examples in each class, indexed like `classes`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for e in &self.examples {
            counts[e.label] += 1;
        }
        counts
    }

    /// A copy holding only the examples at `indices` (in that order).
    pub fn select(&self, indices: &[usize]) -> LabelledTexts {
        LabelledTexts {
            name: self.name.clone(),
            classes: self.classes.clone(),
            examples: indices.iter().map(|&i| self.examples[i].clone()).collect(),
        }
    }
}

/// Train / validation / test parts of a data set. All three share one class list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Training part.
    pub train: LabelledTexts,
    /// Validation part (model selection, early stopping).
    pub valid: LabelledTexts,
    /// Test part (reported once at the end).
    pub test: LabelledTexts,
}

/// Seeded stratified split.
///
/// For each class `c` with `n_c` examples, the example indices of that class are shuffled
/// with ChaCha8 seeded by `seed` on stream `c` (see [`crate::rng`](crate)), then the first
/// `round(n_c · test_fraction)` go to `test`, the next `round(n_c · valid_fraction)` to
/// `valid`, and the rest to `train`. Each part keeps the original order of the examples, so
/// the result depends only on the data, the fractions and the seed — identical on every
/// machine. With 0.1 / 0.1 a class of 1,000 gives 800 / 100 / 100.
///
/// Fractions outside `[0, 1]` or summing to more than 1 are clamped so that the parts never
/// overlap (`test` first, then `valid` from what remains).
pub fn split_stratified(
    texts: &LabelledTexts,
    valid_fraction: f64,
    test_fraction: f64,
    seed: u64,
) -> Splits {
    let vf = if valid_fraction.is_finite() {
        valid_fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let tf = if test_fraction.is_finite() {
        test_fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut by_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, e) in texts.examples.iter().enumerate() {
        by_class.entry(e.label).or_default().push(i);
    }
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (class, mut idx) in by_class {
        let mut rng = crate::rng::rng(seed, class as u64);
        crate::rng::shuffle(&mut idx, &mut rng);
        let n = idx.len();
        let n_test = ((n as f64 * tf).round() as usize).min(n);
        let n_valid = ((n as f64 * vf).round() as usize).min(n - n_test);
        test.extend_from_slice(&idx[..n_test]);
        valid.extend_from_slice(&idx[n_test..n_test + n_valid]);
        train.extend_from_slice(&idx[n_test + n_valid..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    test.sort_unstable();
    Splits {
        train: texts.select(&train),
        valid: texts.select(&valid),
        test: texts.select(&test),
    }
}

/// Everything that can go wrong while loading labelled text. Each message names the file
/// (or bundled data set), the 1-based line and the field where they apply.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file starts like gzip but does not decompress.
    #[error("{path}: invalid gzip data: {source}")]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file (after decompression) holds no data rows.
    #[error("{path}: the file is empty (no data rows)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The format could not be told from the file name.
    #[error(
        "{path}: cannot tell the format from the extension; use .csv, .tsv, .jsonl or .ndjson (optionally + .gz) or set the format explicitly"
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// Bytes that are not UTF-8.
    #[error("{path}: line {line}{}: invalid UTF-8", field_suffix(.field))]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The field, when known.
        field: Option<String>,
    },
    /// A row that cannot be parsed (bad JSON, wrong number of CSV fields, ...).
    #[error("{path}: line {line}: malformed row: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        #[source]
        source: RowError,
    },
    /// The header lacks a requested column (CSV/TSV with header).
    #[error("{path}: line {line}: no column named \"{field}\" in the header (columns: {columns})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// Line of the header.
        line: usize,
        /// The requested column.
        field: String,
        /// The columns that exist, comma-separated.
        columns: String,
    },
    /// A row lacks a requested field.
    #[error("{path}: line {line}: field \"{field}\" is missing")]
    MissingField {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The field.
        field: String,
    },
    /// The text field is empty or only whitespace.
    #[error("{path}: line {line}: field \"{field}\" is empty")]
    EmptyText {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The text field.
        field: String,
    },
    /// A label that is neither a string nor an integer, or is empty.
    #[error("{path}: line {line}: field \"{field}\": invalid label {value}: {reason}")]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The label field.
        field: String,
        /// The offending value, as written.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A label outside the known class list (e.g. a class not seen in training).
    #[error(
        "{path}: line {line}: field \"{field}\": label \"{label}\" was not seen in training (known classes: {known})"
    )]
    UnknownLabel {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The label field.
        field: String,
        /// The label.
        label: String,
        /// The known classes, comma-separated.
        known: String,
    },
    /// The options themselves are inconsistent (e.g. a non-numeric column without header).
    #[error("{path}: invalid options: {message}")]
    Options {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A bundled data set is not in the documented shape (a build problem, not user input).
    #[error("bundled data set {name}: line {line}: {message}")]
    Bundled {
        /// Bundled data set name.
        name: String,
        /// 1-based line (or entry number for JSON arrays).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A bundled data set's JSON that does not parse (a build problem, not user input).
    #[error("bundled data set {name}: line {line}: {source}")]
    BundledJson {
        /// Bundled data set name.
        name: String,
        /// 1-based line.
        line: usize,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// An unknown bundled data set name.
    #[error("unknown bundled data set \"{name}\" (known: {known})")]
    UnknownBundled {
        /// The name asked for.
        name: String,
        /// Known names, comma-separated.
        known: String,
    },
}

/// Why a row of a user's file is malformed.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// The CSV/TSV reader rejects the row.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// A JSONL line that is not JSON.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A CSV/TSV row with another number of fields than the first.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields of the first row (or the header).
        expected: usize,
        /// Fields of this row.
        found: usize,
    },
    /// An empty JSONL line.
    #[error("blank line (expected one JSON object per line)")]
    BlankLine,
    /// A JSONL line that is JSON but not an object.
    #[error("expected a JSON object")]
    NotAnObject,
    /// A text field that is not a JSON string.
    #[error("field \"{field}\" must be a string, found {found}")]
    NotAString {
        /// The text field.
        field: String,
        /// The value found, as JSON.
        found: serde_json::Value,
    },
    /// With `skip_invalid`, every row was skipped.
    #[error("all {count} rows are invalid; the first: {first}")]
    AllInvalid {
        /// Rows skipped.
        count: usize,
        /// The first row's error.
        #[source]
        first: Box<DataError>,
    },
}

fn field_suffix(field: &Option<String>) -> String {
    match field {
        Some(f) => format!(", field \"{f}\""),
        None => String::new(),
    }
}

impl DataError {
    /// The 1-based line the error refers to, if it refers to one.
    pub fn line(&self) -> Option<usize> {
        match self {
            DataError::InvalidUtf8 { line, .. }
            | DataError::Malformed { line, .. }
            | DataError::MissingColumn { line, .. }
            | DataError::MissingField { line, .. }
            | DataError::EmptyText { line, .. }
            | DataError::BadLabel { line, .. }
            | DataError::UnknownLabel { line, .. }
            | DataError::Bundled { line, .. }
            | DataError::BundledJson { line, .. } => Some(*line),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(counts: &[usize]) -> LabelledTexts {
        let mut examples = Vec::new();
        for (c, &n) in counts.iter().enumerate() {
            for i in 0..n {
                examples.push(Example {
                    text: format!("c{c} #{i}"),
                    label: c,
                });
            }
        }
        LabelledTexts {
            name: "toy".into(),
            classes: (0..counts.len()).map(|c| format!("c{c}")).collect(),
            examples,
        }
    }

    #[test]
    fn stratified_split_sizes_and_disjointness() {
        // 1000 and 30 examples: 0.1 of 1000 = 100 (test), 100 (valid), 800 (train);
        // 0.1 of 30 = 3, 3, 24.
        let t = toy(&[1000, 30]);
        let s = split_stratified(&t, 0.1, 0.1, 7);
        assert_eq!(s.test.class_counts(), vec![100, 3]);
        assert_eq!(s.valid.class_counts(), vec![100, 3]);
        assert_eq!(s.train.class_counts(), vec![800, 24]);
        let mut all: Vec<&str> = s
            .train
            .examples
            .iter()
            .chain(&s.valid.examples)
            .chain(&s.test.examples)
            .map(|e| e.text.as_str())
            .collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 1030, "parts overlap or lose rows");
    }

    #[test]
    fn stratified_split_is_seeded() {
        let t = toy(&[50, 50]);
        let a = split_stratified(&t, 0.2, 0.2, 1);
        let b = split_stratified(&t, 0.2, 0.2, 1);
        let c = split_stratified(&t, 0.2, 0.2, 2);
        assert_eq!(a, b);
        assert_ne!(a.test, c.test);
    }

    #[test]
    fn malformed_rows_keep_the_parser_error() {
        use std::error::Error;
        let dir = std::env::temp_dir().join(format!("stoke-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.jsonl");
        std::fs::write(&path, "{\"text\": \"a\", \"label\": 1}\n{\"text\": \n").unwrap();
        let e = load_file(&path, &LoadOptions::default()).unwrap_err();
        let row = e.source().and_then(|s| s.downcast_ref::<RowError>());
        assert!(matches!(row, Some(RowError::Json(_))), "{e:?}");
        assert!(
            row.unwrap()
                .source()
                .is_some_and(|s| s.is::<serde_json::Error>())
        );
        // Every row skipped: the error names the first bad line and carries its error.
        std::fs::write(&path, "[1]\n\"x\"\n").unwrap();
        let e = load_file(&path, &LoadOptions::default().with_skip_invalid(true)).unwrap_err();
        assert_eq!(e.line(), Some(1), "{e}");
        let Some(RowError::AllInvalid { count: 2, first }) =
            e.source().and_then(|s| s.downcast_ref::<RowError>())
        else {
            panic!("{e:?}");
        };
        assert!(
            matches!(**first, DataError::Malformed { line: 1, .. }),
            "{first}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
