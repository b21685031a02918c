//! One training run on a bundled data set through stoke's engine (`stoke_recipes::train`), with
//! its validation and test accuracy.

use std::time::Instant;

use stoke_recipes::data::{Prepared, prepare};
use stoke_recipes::metrics::{Metric, Split};
use stoke_recipes::recipe::{BatchSize, Settings};
use stoke_recipes::step::EmbeddingUpdate;
use stoke_recipes::train::{RunStatus, Silent, TrainOptions, Trained, evaluate, train};
use stoke_recipes::{OptimizerSpec, RunSpec};
use stoke_text::data::Bundled;
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::TokenizerConfig;

use crate::{cpu, optimizer};

/// Everything a run is: data, tokenizer, model, optimizer and schedule.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The bundled set (its fixed 80/10/10 split).
    pub dataset: Bundled,
    /// The tokenizer, fitted on the training split.
    pub tokenizer: TokenizerConfig,
    /// The model (its sizes come from the data and the tokenizer).
    pub model: ModelShape,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerSpec,
    /// β of the L2 penalty `β Σ w²` (0 = none).
    pub l2: f64,
    /// How the embedding table is updated.
    pub embedding: EmbeddingUpdate,
    /// Passes over the training split; the model after the last one is evaluated.
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: usize,
    /// Seed of initialisation, dropout and batch order.
    pub seed: u64,
}

impl Setup {
    /// A run for hand-made data given to [`train_on`] (the dataset is then only a label): Adam
    /// with η = 0.01, no L2, dense embedding update, 2 epochs of batch 8, seed 1, the default
    /// model — replace what a test needs.
    pub fn hand_made(tokenizer: TokenizerConfig) -> Setup {
        Setup {
            dataset: Bundled::SentimentUci,
            tokenizer,
            model: ModelShape::default(),
            optimizer: optimizer("adam", 0.01),
            l2: 0.0,
            embedding: EmbeddingUpdate::Dense,
            epochs: 2,
            batch_size: 8,
            seed: 1,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Validation accuracy after each epoch (index 0 = epoch 1).
    pub valid_by_epoch: Vec<f64>,
    /// Validation accuracy of the final model.
    pub valid: f64,
    /// Test accuracy of the final model.
    pub test: f64,
    /// Wall time of the whole run (data, tokenizer, training, evaluation).
    pub seconds: f64,
}

/// The engine's settings for `setup`.
pub fn settings(setup: &Setup) -> Settings {
    Settings {
        dataset: setup.dataset.to_string(),
        data: None,
        epochs: setup.epochs,
        batch_size: BatchSize::Size(setup.batch_size),
        optimizer: setup.optimizer.clone(),
        l2: setup.l2,
        model: setup.model.clone(),
        tokenizer: setup.tokenizer.clone(),
        train_subset: None,
        record_iterations: false,
        embedding: setup.embedding,
        inject_nonfinite: Vec::new(),
        early_stopping: None,
        devices: Vec::new(),
    }
}

/// Training on the CPU device (for runs that name no devices), silently, without checkpoints.
pub fn on_cpu() -> TrainOptions<'static> {
    TrainOptions {
        device: cpu(),
        checkpoint_dir: None,
        resume: false,
        stop_after_epoch: None,
        progress: &Silent,
    }
}

/// Trains `setup` on `data` (prepared by [`run`], or made by hand: then `setup.dataset` is only
/// a label) on the CPU, to the end.
pub fn train_on(setup: &Setup, data: &Prepared) -> Trained {
    let spec = RunSpec {
        config: setup.dataset.to_string(),
        seed: setup.seed,
        settings: settings(setup),
    };
    let trained = train(&spec, data, &on_cpu()).expect("training runs");
    assert_eq!(trained.result.status, RunStatus::Completed, "{setup:?}");
    trained
}

/// Trains `setup` on its bundled set and evaluates the final model on the validation and test
/// splits.
pub fn run(setup: &Setup) -> Outcome {
    let start = Instant::now();
    let data = prepare(&settings(setup)).expect("bundled data prepares");
    let prepared = start.elapsed().as_secs_f64();
    let trained = train_on(setup, &data);
    let valid_by_epoch: Vec<f64> = trained
        .result
        .records
        .iter()
        .filter(|r| r.epoch >= 1 && r.split == Split::Valid && r.metric == Metric::Accuracy)
        .map(|r| r.value)
        .collect();
    let (_, valid) = evaluate(&trained.model, &data.valid, &cpu());
    let (_, test) = evaluate(&trained.model, &data.test, &cpu());
    let seconds = start.elapsed().as_secs_f64();
    let curve: Vec<String> = valid_by_epoch.iter().map(|a| format!("{a:.4}")).collect();
    eprintln!(
        "{} ({} / {} / {} texts): {} valid by epoch [{}]; final valid {valid:.4} test {test:.4} \
         (data + tokenizer {prepared:.1} s, total {seconds:.1} s)",
        setup.dataset,
        data.train.len(),
        data.valid.len(),
        data.test.len(),
        trained.result.spec.settings.optimizer.label(),
        curve.join(", ")
    );
    Outcome {
        valid_by_epoch,
        valid,
        test,
        seconds,
    }
}
