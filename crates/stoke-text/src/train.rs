//! A small, deterministic training loop (Burn's Adam) and evaluation.
//!
//! Recipes that compare optimizers write their own loop; this one is what the tests and a
//! quick `stoke train` need. With the same seed and backend, CPU runs are bit-identical:
//! the seed fixes the initialisation and dropout masks (`Device::seed`) and the batch order
//! ([`epoch_order`](crate::batch::epoch_order)).

use std::sync::Arc;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use serde::Serialize;

use crate::ConfigError;
use crate::batch::{LoaderOptions, TextItem, epoch_loader};
use crate::metrics::{ConfusionMatrix, predictions};
use crate::model::{TextClassifier, TextClassifierConfig};

/// Settings of [`train`].
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TrainOptions {
    /// Passes over the training data.
    pub epochs: usize,
    /// Texts per batch (1 = SGD, N = full batch).
    pub batch_size: usize,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Seed of initialisation, dropout and batch order.
    pub seed: u64,
    /// Drop the last partial batch of each epoch.
    pub drop_last: bool,
    /// With validation items: return the model of the epoch with the best validation
    /// accuracy (the earliest on ties) instead of the last one (early-stopping model
    /// selection; training still runs all epochs).
    pub keep_best: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 5,
            batch_size: 64,
            learning_rate: 1e-2,
            seed: 42,
            drop_last: false,
            keep_best: true,
        }
    }
}

impl TrainOptions {
    /// Rejects settings that cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.epochs == 0 {
            return Err(ConfigError("epochs must be at least 1".into()));
        }
        if self.batch_size == 0 {
            return Err(ConfigError("batch_size must be at least 1".into()));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ConfigError(format!(
                "learning_rate must be finite and > 0, got {}",
                self.learning_rate
            )));
        }
        Ok(())
    }
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Validation accuracy after the epoch (when validation items were given).
    pub valid_accuracy: Option<f64>,
    /// Optimizer steps taken.
    pub iterations: usize,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Result of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evaluation {
    /// Accuracy.
    pub accuracy: f64,
    /// Mean cross-entropy per text.
    pub loss: f64,
    /// Confusion matrix (`counts[true][predicted]`).
    pub confusion: ConfusionMatrix,
}

/// Trains a fresh model with Burn's Adam (default betas, ε = 1e-5).
///
/// Returns the model (still on the autodiff device; call `.valid()` for inference) — the
/// last one, or with `keep_best` and validation items the best on validation — and one
/// report per epoch.
pub fn train(
    config: &TextClassifierConfig,
    train_items: Arc<Vec<TextItem>>,
    valid_items: Option<Arc<Vec<TextItem>>>,
    opts: &TrainOptions,
    device: &Device,
) -> Result<(TextClassifier, Vec<EpochReport>), ConfigError> {
    opts.validate()?;
    if train_items.is_empty() {
        return Err(ConfigError("no training items".into()));
    }
    if let Some(bad) = train_items.iter().find(|i| i.label >= config.n_classes) {
        return Err(ConfigError(format!(
            "a training item has label {} but n_classes = {}",
            bad.label, config.n_classes
        )));
    }
    let ad = device.clone().autodiff();
    ad.seed(opts.seed);
    let mut model = config.try_init(&ad)?;
    let mut optim = AdamConfig::new().init();
    let loader_opts = LoaderOptions::new(opts.batch_size, opts.seed).with_drop_last(opts.drop_last);
    let mut reports = Vec::with_capacity(opts.epochs);
    let mut best: Option<(f64, TextClassifier)> = None;
    for epoch in 0..opts.epochs {
        let start = Instant::now();
        let loader = epoch_loader(train_items.clone(), &loader_opts, epoch, &ad);
        let (mut loss_sum, mut iterations) = (0.0, 0usize);
        for batch in loader.iter() {
            let batch = batch.map_err(|e| ConfigError(format!("data loader: {e}")))?;
            let (loss, _) = model.loss(&batch);
            loss_sum += loss.clone().into_scalar::<f32>() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(opts.learning_rate, model, grads);
            iterations += 1;
        }
        let valid_accuracy = valid_items
            .as_ref()
            .map(|v| evaluate(&model, v, 512).accuracy);
        if let (true, Some(acc)) = (opts.keep_best, valid_accuracy) {
            if best.as_ref().is_none_or(|(b, _)| acc > *b) {
                best = Some((acc, model.clone()));
            }
        }
        reports.push(EpochReport {
            epoch,
            train_loss: loss_sum / iterations.max(1) as f64,
            valid_accuracy,
            iterations,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    match best {
        Some((_, m)) => Ok((m, reports)),
        None => Ok((model, reports)),
    }
}

/// Accuracy, mean loss and confusion matrix of `model` (in eval mode) on `items`.
pub fn evaluate(
    model: &TextClassifier,
    items: &Arc<Vec<TextItem>>,
    batch_size: usize,
) -> Evaluation {
    let model = model.clone().valid();
    let device = model.device();
    let n_classes = model.n_classes();
    let loader = crate::batch::sequential_loader(items.clone(), batch_size, &device);
    let (mut labels, mut predicted) = (
        Vec::with_capacity(items.len()),
        Vec::with_capacity(items.len()),
    );
    let mut loss_sum = 0.0;
    for batch in loader.iter().flatten() {
        let (loss, logits) = model.loss(&batch);
        loss_sum += loss.into_scalar::<f32>() as f64 * batch.len() as f64;
        predicted.extend(predictions(&logits));
        labels.extend(batch.labels.into_data().iter::<i64>().map(|v| v as usize));
    }
    let confusion = ConfusionMatrix::new(&labels, &predicted, n_classes);
    Evaluation {
        accuracy: confusion.accuracy(),
        loss: loss_sum / items.len().max(1) as f64,
        confusion,
    }
}
