//! Data-parallel training on several devices through Burn's own engine: `Learner` +
//! `SupervisedTraining` with `ExecutionStrategy::MultiDevice` (one worker thread per device; the
//! gradients are gathered on the first device, which runs stoke's optimizer step).
//!
//! A run whose recipe (or `stoke train --devices`) names `devices` comes here from
//! [`crate::train::train`]. What it shares with stoke's own loop: the model
//! ([`TextClassifier`]), the optimizers (the same [`OptimizerSpec`]; on a GPU they take the
//! tensor path), the L2 penalty, the data order ([`epoch_order`], [`loader`] arranges it for the
//! devices), the result ([`Trained`], `metrics.csv` rows of the same metrics), a stop at the
//! first non-finite loss naming epoch and iteration, and atomic checkpoints ([`files`]).
//!
//! What differs, and why:
//! * **Scaling.** Each device's loss is weighted by its share of the step's texts, `1/D` for a
//!   full step ([`replica`]), so `D` devices with batch `b` take the step of one device with
//!   batch `B = D·b`. `batch_size` is the global `B`; it
//!   must be a multiple of `D`.
//! * **The embedding update is dense.** The engine gathers parameter gradients only; the
//!   row-sparse update's gradient comes from the pooled vectors' leaf ([`crate::bag`]), which
//!   it does not see. A run asking
//!   for `embedding = "sparse"` trains densely and [`notes`] says so.
//! * **Gradient transforms.** `clip_norm` clips the gathered gradients (of all devices) by their
//!   global norm before the step, as the own loop clips one device's; Burn's per-tensor
//!   `clip_tensor_norm` works too.
//! * **Not supported** (refused with the field named): `skip_nonfinite`, `accumulate` and `ema`
//!   (they keep state between the engine's steps that its checkpoints do not hold), the
//!   `plateau` schedule (the engine steps a scheduler per step and never hands it a validation
//!   metric) and `inject_nonfinite`.
//! * **Early stopping** is the own loop's rule on the replicas' validation sums, stopped through
//!   Burn's early-stopping hook; the result is the best epoch's weights ([`early`]).
//! * **Resume** continues from the latest epoch whose four checkpoint files are all there
//!   ([`files`]); its records are rebuilt from the journal of every step.
//! * **Bits.** The initial weights are the own loop's (host-drawn from the seed), and each
//!   device draws its dropout masks keyed by the step and its rows' place in the step's whole
//!   batch ([`stoke_text::dropout`]), so same seed and devices → the same numbers, and 1 and
//!   `D` devices agree up to float summation order, with dropout too (the test checks 1e-4
//!   relative). BatchNorm is the exception: each device normalises its own share.

mod early;
mod files;
mod loader;
mod quiet;
mod replica;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::module::Module;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::{ExecutionStrategy, Interrupter, Learner, MultiDeviceOptim, SupervisedTraining};
use stoke_optim::schedule::Scheduler;
use stoke_optim::transform::{Chain, Transforms};
use stoke_optim::{DeviceName, L2Regularizer, OptimizerSpec};
use stoke_text::batch::{eval_batch_size, iterations_per_epoch, sequential_loader};
use stoke_text::model::TextClassifier;

use crate::data::Prepared;
use crate::error::RecipeError;
use crate::metrics::{Metric, Split};
use crate::recipe::RunSpec;
use crate::step::EmbeddingUpdate;
use crate::train::{RunResult, RunStatus, TrainOptions, Trained, evaluate, recorder};

pub use loader::ShardBatch;
pub use replica::Replica;

/// What a run on `devices` does differently from what its settings ask, one line each (for
/// the command's output).
pub fn notes(spec: &RunSpec) -> Vec<String> {
    let s = &spec.settings;
    let mut notes = Vec::new();
    if s.devices.len() > 1 && s.embedding == EmbeddingUpdate::Sparse {
        notes.push(format!(
            "{}: embedding = \"sparse\" is trained densely on {} devices (Burn's multi-device \
             engine gathers parameter gradients only, not the batch's rows' gradient)",
            spec.id(),
            s.devices.len()
        ));
    }
    notes
}

/// The settings a run through the engine cannot honour, as an error naming the field.
fn check(spec: &RunSpec) -> Result<(), RecipeError> {
    let s = &spec.settings;
    let id = spec.id();
    let refuse = |field: &str, value: String, why: &str| {
        Err(RecipeError::invalid(&id, field, value, why.to_string()))
    };
    let names = |d: &[DeviceName]| {
        d.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut seen = HashSet::new();
    if let Some(d) = s.devices.iter().find(|d| !seen.insert(**d)) {
        return refuse(
            "devices",
            names(&s.devices),
            &format!(
                "lists {d} twice (flex and ndarray have one device each; two wgpu devices are e.g. wgpu:cpu,wgpu:default)"
            ),
        );
    }
    if s.devices
        .iter()
        .any(|d| d.backend() != s.devices[0].backend())
    {
        return refuse("devices", names(&s.devices), "must all be of one backend");
    }
    let t = &s.optimizer.transforms;
    let unsupported = [
        ("skip_nonfinite", t.skip_nonfinite.then_some("true".into())),
        (
            "accumulate",
            (t.accumulate > 1).then(|| t.accumulate.to_string()),
        ),
        ("ema", t.ema.map(|d| d.to_string())),
    ];
    if let Some((field, Some(value))) = unsupported.into_iter().find(|(_, v)| v.is_some()) {
        return refuse(
            &format!("optimizer.{field}"),
            value,
            "is not available with devices (Burn's engine steps the optimizer itself and \
             checkpoints no state of it between steps)",
        );
    }
    if !s.inject_nonfinite.is_empty() {
        return refuse(
            "inject_nonfinite",
            "set".into(),
            "is not available with devices",
        );
    }
    Ok(())
}

/// The run's learning rate for every optimizer step: Burn's scheduler of the spec.
fn stepwise(
    spec: &OptimizerSpec,
    steps: usize,
    id: &str,
) -> Result<stoke_optim::schedule::StepwiseLr, RecipeError> {
    match spec.scheduler(steps)? {
        Scheduler::Stepwise(s) => Ok(s),
        Scheduler::Plateau(_) => Err(RecipeError::invalid(
            id,
            "optimizer.schedule",
            "plateau",
            "is not available with devices (Burn's engine never hands a scheduler the validation loss)",
        )),
    }
}

/// Trains one run data-parallel on `spec.settings.devices`; see the [module docs](self).
pub fn train(spec: &RunSpec, data: &Prepared, opts: &TrainOptions) -> Result<Trained, RecipeError> {
    check(spec)?;
    let s = &spec.settings;
    let id = spec.id();
    let devices = s
        .devices
        .iter()
        .map(|d| d.device())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RecipeError::invalid(&id, "devices", e.to_string(), "must be available"))?;
    let d = devices.len();
    let n = data.train.len();
    let batch = s.batch_size.resolve(n);
    if !batch.is_multiple_of(d) {
        return Err(RecipeError::invalid(
            &id,
            "batch_size",
            batch,
            format!(
                "must be a multiple of the {d} devices (it is the batch of all devices together)"
            ),
        ));
    }
    let per_epoch = iterations_per_epoch(n, batch, false);
    let config = s
        .model
        .clone()
        .classifier(data.tokenizer.num_ids(), data.classes.len());
    let schedule = stepwise(&s.optimizer, s.epochs * per_epoch, &id)?;
    let mut lrs = schedule.clone();
    let main = devices[0].clone();
    let train_main = main.clone().autodiff();
    let model: TextClassifier = config
        .try_init_seeded(&train_main, spec.seed)
        .map_err(|e| RecipeError::setting(&id, "model", e))?;
    let parameters = model.num_params();
    let l2 = (s.l2 > 0.0).then(|| L2Regularizer::new(s.l2));
    // Resume from the latest complete checkpoint, if asked and present.
    let resumed = match (opts.resume, &opts.checkpoint_dir) {
        (true, Some(dir)) => files::latest(dir, spec)?,
        _ => None,
    };
    let done = resumed.as_ref().map_or(0, |(epoch, _)| *epoch);
    let mut log = replica::Log::default();
    if let Some((_, journal)) = resumed {
        (log.steps, log.valid) = (journal.steps, journal.valid);
    }
    // Wall time goes on from where the checkpointed run left it.
    let before = std::time::Duration::from_secs_f64(log.steps.last().map_or(0.0, |l| l.at));
    let early = s.early_stopping.map(|rule| early::Early {
        rule,
        run: id.clone(),
        n_valid: data.valid.len(),
        config: config.clone(),
        device: main.clone(),
        dir: opts.checkpoint_dir.clone(),
        best: Mutex::new(None),
        failed: Mutex::new(None),
    });
    if let (Some(early), Some(dir), true) = (&early, &opts.checkpoint_dir, done > 0) {
        early.resume(dir, &log.valid)?;
    }
    let interrupter = Interrupter::new();
    let shared = Arc::new(replica::Shared {
        l2,
        log: Mutex::new(log),
        start: Instant::now()
            .checked_sub(before)
            .unwrap_or_else(Instant::now),
        interrupter: interrupter.clone(),
        early,
        clip: s
            .optimizer
            .transforms
            .clip_norm
            .map(|c| {
                let clip = Transforms {
                    clip_norm: Some(c),
                    ..Transforms::default()
                };
                Chain::new(clip).map(Mutex::new)
            })
            .transpose()?,
    });
    let last_epoch = opts.stop_after_epoch.map_or(s.epochs, |e| e.min(s.epochs));
    let training = {
        let dir = match &opts.checkpoint_dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!("stoke-learner-{}", std::process::id())),
        };
        let train_loader = Arc::new(loader::ShardLoader::new(
            data.train.clone(),
            spec.seed,
            batch,
            d,
            done,
            &train_main,
        ));
        let valid_loader = sequential_loader(
            data.valid.clone(),
            eval_batch_size(&data.valid, config.embed_dim),
            &main,
        );
        let mut t = SupervisedTraining::<Replica>::new(&dir, train_loader, valid_loader)
            .with_training_strategy(
                ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice).into(),
            )
            .num_epochs(last_epoch)
            .with_application_logger(None)
            .renderer(Box::new(quiet::Quiet))
            .with_interrupter(interrupter)
            // Two, so that a kill while epoch N's files are written leaves epoch N − 1 whole.
            .with_checkpointing_strategy(KeepLastNCheckpoints::new(2));
        if opts.checkpoint_dir.is_some() {
            let files = |name| files::AtomicFiles::new(dir.clone(), name);
            let model = files::WithJournal {
                files: files("model"),
                shared: shared.clone(),
                spec: spec.clone(),
            };
            t = t.with_custom_checkpointers(model, files("optim"), files("scheduler"));
        }
        if done > 0 {
            t = t.checkpoint(done);
        }
        if shared.early.is_some() {
            t = t.early_stopping(early::Stop(shared.clone()));
        }
        t
    };
    let record = recorder(spec);
    let mut records = Vec::new();
    let (vl, va) = evaluate(&model, &data.valid, &main);
    records.push(record(0, 0, Split::Valid, Metric::Loss, vl));
    records.push(record(0, 0, Split::Valid, Metric::Accuracy, va));
    let replica = Replica {
        model,
        shared: shared.clone(),
    };
    let learner = Learner::new(replica, s.optimizer.try_init()?, schedule);
    let result = training.launch(learner);
    let log = std::mem::take(&mut *shared.log.lock().unwrap_or_else(|p| p.into_inner()));
    if let (None, Some(error)) = (log.diverged, result.error) {
        return Err(RecipeError::Engine {
            context: id,
            source: error,
        });
    }
    if let Some(e) = shared
        .early
        .as_ref()
        .and_then(|e| e.failed.lock().ok()?.take())
    {
        return Err(e);
    }
    // With early stopping, the best epoch's weights; else the last epoch's.
    let best = shared.early.as_ref().and_then(early::Early::take);
    let best_epoch = best.as_ref().map(|(e, _)| *e);
    let model = best.map_or(result.model.model, |(_, m)| m);
    let mut status = RunStatus::Completed;
    let (mut iteration, mut wall) = (0usize, 0.0f64);
    for epoch in 1..=s.epochs {
        let steps: Vec<_> = log.steps.iter().filter(|l| l.epoch == epoch).collect();
        if steps.is_empty() {
            break;
        }
        if let Some((e, i, value)) = log.diverged.filter(|(e, _, _)| *e == epoch) {
            let message = format!(
                "{id}: loss became {value} at epoch {e}, iteration {i} (step {} overall); \
                 stopped, last good checkpoint is epoch {}",
                (e - 1) * per_epoch + i,
                e - 1
            );
            status = RunStatus::Diverged {
                epoch: e,
                iteration: i,
                message,
            };
            break;
        }
        iteration += steps.iter().map(|l| l.iteration).max().unwrap_or(0);
        let seen: usize = steps.iter().map(|l| l.n).sum();
        let loss = steps.iter().map(|l| l.loss * l.n as f64).sum::<f64>() / seen as f64;
        let correct = steps.iter().map(|l| l.correct).sum::<f64>() / seen as f64;
        let end = steps.iter().map(|l| l.at).fold(wall, f64::max);
        let seconds = end - wall;
        wall = end;
        let v = log.valid.get(epoch - 1).copied().unwrap_or_default();
        let mut lr = 0.0;
        for _ in 0..per_epoch {
            lr = burn::optim::lr_scheduler::LrScheduler::step(&mut lrs);
        }
        let (split, at) = (Split::Train, iteration);
        records.push(record(epoch, at, split, Metric::Loss, loss));
        records.push(record(epoch, at, split, Metric::Accuracy, correct));
        records.push(record(
            epoch,
            at,
            Split::Valid,
            Metric::Loss,
            v.loss_sum / v.n as f64,
        ));
        records.push(record(
            epoch,
            at,
            Split::Valid,
            Metric::Accuracy,
            v.correct / v.n as f64,
        ));
        records.push(record(epoch, at, split, Metric::Lr, lr));
        records.push(record(epoch, at, split, Metric::WallTime, wall));
        let speed = seen as f64 / seconds.max(1e-9);
        records.push(record(epoch, at, split, Metric::ExamplesPerSec, speed));
        if epoch > done {
            opts.progress
                .epoch(spec, epoch, &records[records.len() - 7..]);
        }
    }
    let trained = log.steps.iter().map(|l| l.epoch).max().unwrap_or(0);
    if status == RunStatus::Completed && last_epoch < s.epochs && trained == last_epoch {
        status = RunStatus::Interrupted { epoch: last_epoch };
    }
    if status == RunStatus::Completed {
        let last = records.iter().map(|r| r.epoch).max().unwrap_or(s.epochs);
        let (tl, ta) = evaluate(&model, &data.test, &main);
        records.push(record(last, iteration, Split::Test, Metric::Loss, tl));
        records.push(record(last, iteration, Split::Test, Metric::Accuracy, ta));
    }
    Ok(Trained {
        model,
        config,
        result: RunResult {
            spec: spec.clone(),
            records,
            status,
            iterations_per_epoch: per_epoch,
            parameters,
            train_examples: n,
            best_epoch,
        },
    })
}
