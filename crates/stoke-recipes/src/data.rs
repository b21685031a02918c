//! Turns a run's data settings into encoded train / valid / test items.

use std::path::Path;
use std::sync::Arc;

use stoke_text::batch::{TextItem, encode_all};
use stoke_text::data::{LoadOptions, Splits, load_bundled, load_file, split_stratified};
use stoke_text::tokenizer::Tokenizer;

use crate::error::RecipeError;
use crate::recipe::{DataFile, Settings};

/// The seed of the 80/10/10 split of a user's file: fixed, so that runs with different seeds
/// see the same split (the bundled sets have their own fixed split).
pub const FILE_SPLIT_SEED: u64 = 0x5704e;

/// Encoded data, ready for batching.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Data set name.
    pub name: String,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// The fitted tokenizer.
    pub tokenizer: Tokenizer,
    /// Encoded training texts.
    pub train: Arc<Vec<TextItem>>,
    /// Encoded validation texts.
    pub valid: Arc<Vec<TextItem>>,
    /// Encoded test texts.
    pub test: Arc<Vec<TextItem>>,
}

/// The key under which prepared data can be shared between runs.
pub fn cache_key(settings: &Settings) -> String {
    format!(
        "{:?}|{:?}|{}|{:?}",
        settings.dataset,
        settings.data,
        serde_json::to_string(&settings.tokenizer).unwrap_or_default(),
        settings.train_subset
    )
}

/// The train / valid / test texts of a run's data: a user's file split 80 / 10 / 10 with
/// [`FILE_SPLIT_SEED`], or a bundled set's own fixed split. `stoke split` writes exactly these.
pub fn splits(settings: &Settings) -> Result<Splits, RecipeError> {
    Ok(match (&settings.data, settings.bundled()?) {
        (Some(file), _) => split_file(file)?,
        (None, Some(bundled)) => load_bundled(bundled)?,
        (None, None) => unreachable!("bundled() is Some when no file is given"),
    })
}

/// A user's file, split 80 / 10 / 10 with [`FILE_SPLIT_SEED`].
pub fn split_file(file: &DataFile) -> Result<Splits, RecipeError> {
    let opts = LoadOptions::default()
        .with_text_field(file.text.clone())
        .with_label_field(file.label.clone())
        .with_skip_invalid(file.skip_invalid);
    let loaded = load_file(Path::new(&file.path), &opts)?;
    Ok(split_stratified(&loaded.texts, 0.1, 0.1, FILE_SPLIT_SEED))
}

/// Loads, splits, fits the tokenizer on the training split, and encodes all three splits.
pub fn prepare(settings: &Settings) -> Result<Prepared, RecipeError> {
    let splits = splits(settings)?;
    let mut train = splits.train;
    if let Some(n) = settings.train_subset {
        train.examples.truncate(n);
    }
    let mut tokenizer = Tokenizer::new(settings.tokenizer.clone())
        .map_err(|e| RecipeError::setting("settings", "tokenizer", e))?;
    tokenizer.fit(train.examples.iter().map(|e| e.text.as_str()));
    Ok(Prepared {
        name: train.name.clone(),
        classes: train.classes.clone(),
        train: Arc::new(encode_all(&tokenizer, &train)),
        valid: Arc::new(encode_all(&tokenizer, &splits.valid)),
        test: Arc::new(encode_all(&tokenizer, &splits.test)),
        tokenizer,
    })
}
