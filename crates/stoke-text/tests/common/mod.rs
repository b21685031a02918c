#![allow(dead_code)]

use burn::prelude::*;

/// The CPU backend of this build: Flex (default), else the deprecated NdArray.
pub fn cpu() -> Device {
    #[cfg(feature = "flex")]
    {
        Device::flex()
    }
    #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
    #[allow(deprecated)]
    {
        Device::ndarray()
    }
    #[cfg(not(any(feature = "flex", feature = "ndarray")))]
    {
        Device::default()
    }
}

/// The wgpu device (software Vulkan on machines without a GPU).
#[cfg(feature = "wgpu")]
pub fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("stoke-text-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

use std::sync::Arc;
use std::time::Instant;

use stoke_text::batch::encode_all;
use stoke_text::data::{Bundled, load_bundled};
use stoke_text::model::TextClassifierConfig;
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};
use stoke_text::train::{TrainOptions, evaluate, train};

/// Outcome of [`run_bundled`].
#[derive(Debug, Clone)]
pub struct RunResult {
    pub valid: f64,
    pub test: f64,
    pub seconds: f64,
}

/// Fits the tokenizer on the training split, trains on it, and reports the validation
/// accuracy after the last epoch and the test accuracy.
pub fn run_bundled(
    which: Bundled,
    tok: TokenizerConfig,
    model: impl Fn(TextClassifierConfig) -> TextClassifierConfig,
    opts: TrainOptions,
) -> RunResult {
    let start = Instant::now();
    let splits = load_bundled(which).unwrap();
    let mut tokenizer = Tokenizer::new(tok).unwrap();
    tokenizer.fit(splits.train.examples.iter().map(|e| e.text.as_str()));
    let train_items = Arc::new(encode_all(&tokenizer, &splits.train));
    let valid_items = Arc::new(encode_all(&tokenizer, &splits.valid));
    let test_items = Arc::new(encode_all(&tokenizer, &splits.test));
    let prep = start.elapsed().as_secs_f64();
    let config = model(TextClassifierConfig::new(
        tokenizer.num_ids(),
        splits.train.classes.len(),
    ));
    let (m, reports) = train(&config, train_items, Some(valid_items), &opts, &cpu()).unwrap();
    let opts = &opts;
    let test = evaluate(&m, &test_items, 512).accuracy;
    for r in &reports {
        eprintln!(
            "{which}: epoch {} loss {:.4} valid {:.4} ({} it, {:.1}s)",
            r.epoch,
            r.train_loss,
            r.valid_accuracy.unwrap_or(0.0),
            r.iterations,
            r.seconds
        );
    }
    // The validation accuracy of the returned model: the best epoch with keep_best.
    let accs = reports.iter().filter_map(|r| r.valid_accuracy);
    let valid = if opts.keep_best {
        accs.fold(0.0, f64::max)
    } else {
        accs.last().unwrap_or(0.0)
    };
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "{which}: valid {valid:.4} test {test:.4} (data+tokenize {prep:.1}s, total {seconds:.1}s)"
    );
    RunResult {
        valid,
        test,
        seconds,
    }
}
