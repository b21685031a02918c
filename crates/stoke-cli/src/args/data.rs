//! Data-file and saved-model arguments: a file (CSV, TSV or JSONL, optionally gzipped) or a
//! bundled data set, the columns to read, and a directory written by `stoke train`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::tensor::Device;
use clap::Args;
use stoke_recipes::recipe::DataFile;
use stoke_text::data::{Bundled, LabelledTexts, LoadOptions, load_bundled, load_file};
use stoke_text::saved::SavedClassifier;

use super::Common;

/// Which fields of a data file hold the text and the label.
#[derive(Args, Debug, Clone)]
pub struct Columns {
    /// Column (CSV/TSV) or key (JSONL) holding the text.
    #[arg(long, default_value = "text")]
    pub text_col: String,
    /// Column or key holding the label.
    #[arg(long, default_value = "label")]
    pub label_col: String,
    /// Skip invalid rows (and report them) instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// Where labelled data come from: `--data FILE|SET`, the same on `train`, `eval` and
/// `data-summary`; a first positional argument is accepted as its alias.
#[derive(Args, Debug, Clone)]
pub struct DataSource {
    /// A CSV/TSV/JSONL file (optionally gzip-compressed), or a bundled data set name
    /// (`sentiment-uci`, `langid`, `spam-assassin`).
    #[arg(
        long = "data",
        value_name = "FILE|SET",
        required_unless_present = "data_positional"
    )]
    data: Option<String>,
    /// The same as `--data`.
    #[arg(value_name = "FILE|SET", conflicts_with = "data")]
    data_positional: Option<String>,
}

impl DataSource {
    /// The file path or bundled data set name given.
    pub fn name(&self) -> &str {
        // clap requires one of the two (`required_unless_present`) and forbids both.
        self.data
            .as_deref()
            .or(self.data_positional.as_deref())
            .unwrap_or_default()
    }
}

/// Labelled data and how to read them.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    #[command(flatten)]
    pub source: DataSource,
    #[command(flatten)]
    pub columns: Columns,
    #[command(flatten)]
    pub common: Common,
}

impl DataArgs {
    /// The file path or bundled data set name given.
    pub fn data(&self) -> &str {
        self.source.name()
    }
}

/// A saved classifier.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// A directory written by `stoke train` (or its model/ subdirectory).
    #[arg(long)]
    pub model: PathBuf,
}

impl ModelArgs {
    /// Loads the classifier onto `device`.
    pub fn load(&self, device: &Device) -> Result<SavedClassifier> {
        let p = &self.model;
        let dir = if p.join("model").join("config.json").exists()
            || (!p.join("config.json").exists() && p.join("model").exists())
        {
            p.join("model")
        } else {
            p.to_path_buf()
        };
        Ok(SavedClassifier::load(&dir, device)?)
    }
}

/// The bundled data set `data` names, unless a file of that name exists.
fn bundled(data: &str) -> Option<Bundled> {
    data.parse::<Bundled>()
        .ok()
        .filter(|_| !Path::new(data).exists())
}

/// `data` as a recipe names it: a bundled data set's name, or a file to read.
pub fn recipe_data(data: &str, columns: &Columns) -> (Option<&'static str>, Option<DataFile>) {
    match bundled(data) {
        Some(b) => (Some(b.name()), None),
        None => (
            None,
            Some(DataFile {
                path: data.to_string(),
                text: columns.text_col.clone(),
                label: columns.label_col.clone(),
                skip_invalid: columns.skip_invalid,
            }),
        ),
    }
}

/// Every labelled text of `data` (a bundled set: all three splits). `classes` fixes the class
/// order of a file; skipped rows are reported on stderr.
pub fn load_texts(
    data: &str,
    columns: &Columns,
    classes: Option<Vec<String>>,
) -> Result<LabelledTexts> {
    if let Some(b) = bundled(data) {
        let s = load_bundled(b)?;
        let mut all = s.train.clone();
        all.examples.extend(s.valid.examples);
        all.examples.extend(s.test.examples);
        return Ok(all);
    }
    let mut opts = LoadOptions::default()
        .with_text_field(columns.text_col.clone())
        .with_label_field(columns.label_col.clone())
        .with_skip_invalid(columns.skip_invalid);
    if let Some(c) = classes {
        opts = opts.with_classes(c);
    }
    let loaded = load_file(Path::new(data), &opts)?;
    if loaded.skipped.count > 0 {
        eprintln!(
            "skipped {} invalid rows (first at lines {:?})",
            loaded.skipped.count, loaded.skipped.first_lines
        );
    }
    Ok(loaded.texts)
}
