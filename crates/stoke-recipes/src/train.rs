//! One training run: the mini-batch loop, evaluation, checkpoints, resume and divergence.
//!
//! This is a hand-written loop rather than Burn's `Learner`, because the recipes need four
//! things the Learner does not give: (1) the loss of every iteration checked for NaN/Inf, so a
//! diverging run stops at once with the epoch *and* iteration named (the learning-rate recipe
//! relies on it) instead of training on NaNs until the epoch ends; (2) per-iteration loss and
//! wall time for the batch-size recipe, cheaply, without a metrics renderer; (3) checkpoints
//! written atomically (temp file + rename) with the run's records, so `--resume` continues with
//! bit-identical weights; (4) exact control of random state (data order from
//! [`epoch_order`](stoke_text::batch::epoch_order), initial weights from
//! [`try_init_seeded`](TextClassifierConfig::try_init_seeded), dropout masks keyed by
//! (seed, epoch, iteration, row) through
//! [`dropout_for_step`](TextClassifier::dropout_for_step), all drawn on the host) so the
//! same seed on the same CPU backend gives the same numbers bit for bit, and another backend
//! follows the same trajectory up to float rounding. The model and
//! optimizers are ordinary Burn modules and `ModuleOptimizer`s, so a user who outgrows one
//! device can take them to the Learner unchanged (see `examples/learner.rs`).
//!
//! A run that names `devices` is handed to [`crate::learner`], which trains it data-parallel
//! through Burn's engine.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use stoke_text::batch::{
    LoaderOptions, TextItem, epoch_loader, eval_batch_size, iterations_per_epoch,
};
use stoke_text::dropout::step_seed;
use stoke_text::model::{TextClassifier, TextClassifierConfig};

use crate::checkpoint::{
    CheckpointState, STATE, load_best, load_optimizers, load_weights, read_checkpoint,
    remove_other_bests, remove_stale, write_best, write_checkpoint,
};
use crate::data::Prepared;
use crate::error::{CheckpointError, RecipeError};
use crate::metrics::{Metric, Record, Split};
use crate::recipe::{Injection, RunSpec};
use crate::step::Stepper;
use stoke_optim::Outcome;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RunStatus {
    /// All epochs done.
    Completed,
    /// A step's loss, or the validation loss after an epoch, became NaN or infinite.
    Diverged {
        epoch: usize,
        iteration: usize,
        message: String,
    },
    /// Stopped on request after `epoch` epochs; resume continues from there.
    Interrupted { epoch: usize },
}

/// The outcome of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// What was run.
    pub spec: RunSpec,
    /// Every measured value.
    pub records: Vec<Record>,
    /// How it ended.
    pub status: RunStatus,
    /// Optimizer steps per epoch, ⌈N / batch size⌉.
    pub iterations_per_epoch: usize,
    /// Trainable parameters of the model.
    pub parameters: usize,
    /// Texts in the training split.
    pub train_examples: usize,
    /// With early stopping: the epoch whose weights the run kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
}

/// Called as a run makes progress; every method has an empty default.
pub trait Progress: Sync {
    /// A run starts (or resumes) with `total` iterations to go in all.
    fn started(&self, _run: &RunSpec, _total_iterations: usize, _done: usize) {}
    /// One optimizer step is done.
    fn iteration(&self, _run: &RunSpec, _loss: f64) {}
    /// An epoch is done; `records` are its records.
    fn epoch(&self, _run: &RunSpec, _epoch: usize, _records: &[Record]) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}

/// Where and how a run trains.
pub struct TrainOptions<'a> {
    /// The device (not autodiff; the loop adds it).
    pub device: Device,
    /// Directory for this run's checkpoints (`None`: no checkpoints).
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `checkpoint_dir`, if there is one.
    pub resume: bool,
    /// Stop (as if interrupted) after this many epochs in total.
    pub stop_after_epoch: Option<usize>,
    /// Progress callbacks.
    pub progress: &'a dyn Progress,
}

/// The trained model of a finished run, with its configuration.
pub struct Trained {
    /// The weights the run evaluates: the last epoch's (their moving average with `ema`), or
    /// the best epoch's with early stopping.
    pub model: TextClassifier,
    pub config: TextClassifierConfig,
    pub result: RunResult,
}

/// A copy of `model` that shares nothing with it. A module's `clone` shares BatchNorm's running
/// statistics (Burn's `RunningState` is one value behind every clone), so training on would
/// move a kept copy's statistics too.
pub(crate) fn snapshot(
    model: &TextClassifier,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let fresh = config
        .try_init(device)
        .map_err(|e| RecipeError::setting("early_stopping", "model", e))?;
    Ok(fresh.load_record(model.clone().into_record()))
}

/// The status of a run stopped because `what` became `value` (NaN or infinite) at `iteration`
/// of `epoch`, `step` overall: the last good checkpoint is the previous epoch's.
fn diverged(
    id: &str,
    what: &str,
    value: f64,
    epoch: usize,
    iteration: usize,
    step: usize,
) -> RunStatus {
    let message = format!(
        "{id}: {what} became {value} at epoch {epoch}, iteration {iteration} (step {step} \
         overall); stopped, last good checkpoint is epoch {}",
        epoch - 1
    );
    RunStatus::Diverged {
        epoch,
        iteration,
        message,
    }
}

/// Mean loss and accuracy of `model` (in eval mode) over `items`.
pub fn evaluate(
    model: &TextClassifier,
    items: &std::sync::Arc<Vec<TextItem>>,
    device: &Device,
) -> (f64, f64) {
    if items.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let model = model.valid();
    let batch = eval_batch_size(items, model.embedding_weight().dims()[1]);
    let loader = epoch_loader(items.clone(), &LoaderOptions::sequential(batch), 0, device);
    let (mut loss, mut correct, mut n) = (0.0f64, 0.0f64, 0usize);
    for batch in loader.iter() {
        // Internal invariant: the items are in memory; the loader only batches them.
        let batch = batch.expect("in-memory data loads");
        let size = batch.len();
        let (l, logits) = model.loss(&batch);
        loss += l.into_scalar::<f32>() as f64 * size as f64;
        correct += stoke_text::metrics::accuracy(&logits, &batch.labels) * size as f64;
        n += size;
    }
    (loss / n as f64, correct / n as f64)
}

/// Makes the records of `spec`'s run: `record(epoch, iteration, split, metric, value)`.
pub(crate) fn recorder(spec: &RunSpec) -> impl Fn(usize, usize, Split, Metric, f64) -> Record + '_ {
    let id = spec.id();
    move |epoch, iteration, split, metric, value| Record {
        run: id.clone(),
        config: spec.config.clone(),
        seed: spec.seed,
        epoch,
        iteration,
        split,
        metric,
        value,
    }
}

/// Trains one run on prepared data.
pub fn train(spec: &RunSpec, data: &Prepared, opts: &TrainOptions) -> Result<Trained, RecipeError> {
    if !spec.settings.devices.is_empty() {
        return crate::learner::train(spec, data, opts);
    }
    let s = &spec.settings;
    let id = spec.id();
    let device = opts.device.clone();
    let train_device = device.clone().autodiff();
    let n = data.train.len();
    let batch_size = s.batch_size.resolve(n);
    let per_epoch = iterations_per_epoch(n, batch_size, false);
    if let Some(j) = s.inject_nonfinite.iter().find(|j| j.iteration > per_epoch) {
        return Err(RecipeError::invalid(
            &id,
            "inject_nonfinite.iteration",
            j.iteration,
            format!("must be within the epoch's {per_epoch} iterations"),
        ));
    }
    let config = s
        .model
        .clone()
        .classifier(data.tokenizer.num_ids(), data.classes.len());
    // One schedule step per applied optimizer step; no accumulation window spans an epoch.
    let steps = s.epochs * per_epoch.div_ceil(s.optimizer.transforms.accumulate);
    let mut scheduler = s.optimizer.scheduler(steps)?;
    // The rate of the next step (taken from the schedule one step ahead).
    let mut lr = scheduler.step();

    let mut model: TextClassifier = config
        .try_init_seeded(&train_device, spec.seed)
        .map_err(|e| RecipeError::setting(&id, "model", e))?;
    let mut stepper = Stepper::new(&s.optimizer, s.l2, s.embedding)?;
    let parameters = model.num_params();
    // With early stopping: the best epoch so far and its (evaluation) weights.
    let mut best: Option<(usize, TextClassifier)> = None;

    let record = recorder(spec);

    // Resume from the last complete checkpoint, if asked and present.
    let (mut start_epoch, mut iteration, mut wall_time, mut records) = (0, 0, 0.0, Vec::new());
    if let (true, Some(dir)) = (opts.resume, &opts.checkpoint_dir)
        && let Some(state) = read_checkpoint(dir)?
    {
        if state.spec != *spec {
            return Err(RecipeError::Checkpoint {
                path: dir.join(STATE),
                source: CheckpointError::OtherRun,
            });
        }
        model = load_weights(dir, &state, &config, &train_device)?;
        load_optimizers(dir, &state, &mut stepper, &model, &config, &train_device)?;
        if let Some(bytes) = &state.schedule {
            let fail = |source: CheckpointError| RecipeError::Checkpoint {
                path: dir.join(STATE),
                source,
            };
            let record = burn::optim::lr_scheduler::LrSchedulerRecord::from_bytes(
                burn::tensor::Bytes::from_bytes_vec(bytes.clone()),
            )
            .map_err(|e| fail(e.into()))?;
            scheduler
                .load_record(record)
                .map_err(|e| fail(CheckpointError::Schedule(e)))?;
        }
        lr = state.lr.unwrap_or(lr);
        if let Some(b) = s
            .early_stopping
            .and_then(|es| es.best_epoch(&state.records, &id))
        {
            best = Some((
                b,
                if b == state.epoch {
                    snapshot(&stepper.for_evaluation(&model)?, &config, &train_device)?
                } else {
                    load_best(dir, &state, b, &config, &train_device)?
                },
            ));
        }
        // A kill after the last checkpoint's state.json can leave older files behind.
        remove_stale(dir, state.epoch);
        (start_epoch, iteration, wall_time, records) =
            (state.epoch, state.iteration, state.wall_time, state.records);
    }
    if start_epoch == 0 {
        // Epoch 0: the untrained model, so curves start where training starts.
        let (vl, va) = evaluate(&model, &data.valid, &device);
        records.push(record(0, 0, Split::Valid, Metric::Loss, vl));
        records.push(record(0, 0, Split::Valid, Metric::Accuracy, va));
    }
    opts.progress
        .started(spec, s.epochs * per_epoch, start_epoch * per_epoch);

    let mut status = RunStatus::Completed;
    'epochs: for epoch in start_epoch + 1..=s.epochs {
        // With a second thread, the next batches are made while this one trains (the same
        // batches in the same order); with one, on this thread, so that a 1-thread run uses one.
        let background = rayon::current_num_threads() > 1;
        let loader = epoch_loader(
            data.train.clone(),
            &LoaderOptions::new(batch_size, spec.seed).with_background(background),
            epoch - 1,
            &train_device,
        );
        let epoch_start = Instant::now();
        let (mut loss_sum, mut correct, mut seen, mut skipped) = (0.0f64, 0.0f64, 0usize, 0usize);
        for (i, batch) in loader.iter().enumerate() {
            // Internal invariant: the items are in memory; the loader only batches them.
            let batch = batch.expect("in-memory data loads");
            let size = batch.len();
            if s.inject_nonfinite.contains(&Injection {
                epoch,
                iteration: i + 1,
            }) {
                stepper.inject_nonfinite();
            }
            // The masks of this step: a function of (seed, epoch, iteration) and of each text's
            // row in the batch, as on several devices (`learner`)
            let model_at = model.dropout_for_step(step_seed(spec.seed, epoch, i + 1), 0);
            let stepped = stepper.step(model_at, &batch, lr);
            let (value, logits) = (stepped.loss, stepped.logits);
            model = stepped.model;
            if matches!(stepped.outcome, Outcome::Applied { .. }) {
                lr = scheduler.step();
            }
            if s.optimizer.transforms.skip_nonfinite
                && matches!(stepped.outcome, Outcome::Skipped { .. })
            {
                // As if the batch had not been there: no step, nothing recorded but the count.
                skipped += 1;
                continue;
            }
            if !value.is_finite() {
                status = diverged(&id, "loss", value, epoch, i + 1, iteration + 1);
                break 'epochs;
            }
            iteration += 1;
            loss_sum += value * size as f64;
            correct += stoke_text::metrics::accuracy(&logits, &batch.labels) * size as f64;
            seen += size;
            opts.progress.iteration(spec, value);
            if s.record_iterations {
                let t = wall_time + epoch_start.elapsed().as_secs_f64();
                records.push(record(epoch, iteration, Split::Train, Metric::Loss, value));
                records.push(record(epoch, iteration, Split::Train, Metric::WallTime, t));
            }
        }
        // No accumulation window spans the end of an epoch (and so a checkpoint).
        let flushed;
        (model, flushed) = stepper.flush(model, lr);
        if flushed {
            lr = scheduler.step();
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        wall_time += seconds;
        let (vl, va) = evaluate(&stepper.for_evaluation(&model)?, &data.valid, &device);
        if !vl.is_finite() && !data.valid.is_empty() {
            // The epoch's last step made the weights non-finite (its own loss was computed
            // before it): no checkpoint of these weights.
            status = diverged(&id, "validation loss", vl, epoch, per_epoch, iteration);
            break 'epochs;
        }
        if scheduler.needs_metric() {
            // A plateau schedule reads the epoch's validation loss.
            scheduler.report(vl);
            lr = scheduler.step();
        }
        let first = records.len();
        records.push(record(
            epoch,
            iteration,
            Split::Train,
            Metric::Loss,
            loss_sum / seen as f64,
        ));
        records.push(record(
            epoch,
            iteration,
            Split::Train,
            Metric::Accuracy,
            correct / seen as f64,
        ));
        records.push(record(epoch, iteration, Split::Valid, Metric::Loss, vl));
        records.push(record(epoch, iteration, Split::Valid, Metric::Accuracy, va));
        records.push(record(epoch, iteration, Split::Train, Metric::Lr, lr));
        records.push(record(
            epoch,
            iteration,
            Split::Train,
            Metric::WallTime,
            wall_time,
        ));
        records.push(record(
            epoch,
            iteration,
            Split::Train,
            Metric::ExamplesPerSec,
            seen as f64 / seconds.max(1e-9),
        ));
        if s.optimizer.transforms.skip_nonfinite {
            let value = skipped as f64;
            records.push(record(
                epoch,
                iteration,
                Split::Train,
                Metric::SkippedSteps,
                value,
            ));
        }
        opts.progress.epoch(spec, epoch, &records[first..]);
        let mut stop_early = false;
        let mut new_best = false;
        if let Some(es) = &s.early_stopping {
            let b = es.best_epoch(&records, &id);
            if b == Some(epoch) {
                let kept = snapshot(&stepper.for_evaluation(&model)?, &config, &train_device)?;
                best = Some((epoch, kept));
                new_best = true;
            }
            stop_early = es.stops_after(epoch, b);
        }
        if let Some(dir) = &opts.checkpoint_dir {
            let schedule =
                scheduler
                    .to_record()
                    .into_bytes()
                    .map_err(|e| RecipeError::Checkpoint {
                        path: dir.join(STATE),
                        source: e.into(),
                    })?;
            let state = CheckpointState {
                epoch,
                iteration,
                wall_time,
                spec: spec.clone(),
                records: records.clone(),
                lr: Some(lr),
                schedule: Some(schedule.to_vec()),
                files: Default::default(),
                checksum: None,
            };
            if let (true, Some((e, m))) = (new_best, &best) {
                write_best(dir, *e, m)?;
            }
            let kept = best.as_ref().map(|(e, m)| (*e, m));
            write_checkpoint(dir, &model, &stepper, state, kept)?;
            if let Some((e, _)) = &best {
                remove_other_bests(dir, *e, epoch);
            }
        }
        if stop_early {
            break;
        }
        if opts.stop_after_epoch == Some(epoch) && epoch < s.epochs {
            status = RunStatus::Interrupted { epoch };
            break;
        }
    }
    let best_epoch = best.as_ref().map(|(e, _)| *e);
    let model = match best {
        Some((_, m)) => m,
        None => stepper.for_evaluation(&model)?,
    };
    if status == RunStatus::Completed {
        let last = records.iter().map(|r| r.epoch).max().unwrap_or(s.epochs);
        let (tl, ta) = evaluate(&model, &data.test, &device);
        records.push(record(last, iteration, Split::Test, Metric::Loss, tl));
        records.push(record(last, iteration, Split::Test, Metric::Accuracy, ta));
    }
    let result = RunResult {
        spec: spec.clone(),
        records,
        status,
        iterations_per_epoch: per_epoch,
        parameters,
        train_examples: n,
        best_epoch,
    };
    Ok(Trained {
        model,
        config,
        result,
    })
}
