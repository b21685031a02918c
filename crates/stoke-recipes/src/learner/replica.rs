//! The model as Burn's `Learner` trains it: [`TextClassifier`] with stoke's loss (cross-entropy
//! plus the L2 penalty), scaled for the device count, and a log of every step.
//!
//! # Scaling: a mean over devices
//!
//! Burn's `MultiDevice` engine **sums** the gradients of the `D` devices
//! (`GradientsAccumulator`). Device `j`, holding `n_j` of the step's `n = Σ_j n_j` texts,
//! backpropagates
//!
//! ```text
//! (n_j / n) · ℓ_j,   ℓ_j = (1/n_j) Σ_{i ∈ batch_j} CE_i + β Σ w²
//! ```
//!
//! so the summed gradient is `∇[(1/n) Σ_i CE_i + β Σ w²]`: the gradient of one batch of the
//! step's `n` texts, with the L2 term counted once. A full step has `n_j = b`, `n = B = Db`, a
//! weight of `1/D`; the weight also keeps a last, unevenly split step a mean over its texts. The learning rate, the L2 factor and every
//! optimizer's state then see what one device with batch `B` sees (up to the order of float
//! sums) — the `Mean` all-reduce of DDP, done in the loss, where it costs nothing.
//!
//! # BatchNorm and dropout
//!
//! Each device normalises with the statistics of its own `b` texts, not of all `B`, and takes
//! its own dropout masks: with BatchNorm or dropout the run is a different (equally valid)
//! experiment from the one-device run, not the same one
//! (`tests/tests/training/devices.rs` measures the BatchNorm difference).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::module::Module;
use burn::train::{InferenceStep, Interrupter, TrainOutput, TrainStep};
use stoke_optim::L2Regularizer;
use stoke_optim::transform::Chain;
use stoke_text::batch::TextBatch;
use stoke_text::model::TextClassifier;

use super::loader::ShardBatch;

/// One device's part of one step, as measured.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StepLog {
    pub epoch: usize,
    pub iteration: usize,
    /// Texts in the device's batch.
    pub n: usize,
    /// Its loss `ℓ_j` (with the L2 penalty).
    pub loss: f64,
    /// Correct predictions among them.
    pub correct: f64,
    /// Seconds since the run started, when the step's forward pass was done.
    pub at: f64,
}

/// The validation split's sums after one epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ValidLog {
    pub loss_sum: f64,
    pub correct: f64,
    pub n: usize,
}

/// What the steps of a run report, shared by all replicas.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub steps: Vec<StepLog>,
    /// Indexed by epoch − 1.
    pub valid: Vec<ValidLog>,
    /// The first non-finite loss: (epoch, iteration, value).
    pub diverged: Option<(usize, usize, f64)>,
}

/// The settings and log every replica shares.
pub(crate) struct Shared {
    pub l2: Option<L2Regularizer>,
    pub log: Mutex<Log>,
    pub start: Instant,
    pub interrupter: Interrupter,
    /// Early stopping, when the run asks for it.
    pub early: Option<super::early::Early>,
    /// The global-norm clip (`clip_norm`), applied to the gathered gradients before the step.
    pub clip: Option<Mutex<Chain>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("l2", &self.l2)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        // A replica that panicked while holding the log left it whole (pushes only).
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Waits for the work queued on the model's device. The engine hands tensors between threads
/// (each device's worker and the main thread, which gathers the gradients and steps); on wgpu
/// (with fusion), 2 devices on lavapipe drifted from the 1-device run by 1e-4 to 2e-2 relative
/// in 2 epochs, in each of 6 runs, without the wait after the optimizer step.
fn sync(model: &TextClassifier) {
    // An execution error here resurfaces at the next read of the same device, with its context.
    let _ = model.device().sync();
}

/// [`TextClassifier`] for Burn's `Learner`; see the [module docs](self).
#[derive(Module, Debug)]
pub struct Replica {
    pub(crate) model: TextClassifier,
    #[module(skip)]
    pub(crate) shared: Arc<Shared>,
}

impl Replica {
    /// The batch's loss `ℓ` (cross-entropy + L2) and the number of correct predictions.
    fn loss(&self, batch: &TextBatch) -> (burn::tensor::Tensor<1>, f64) {
        let (loss, logits) = self.model.loss(batch);
        let correct = stoke_text::metrics::accuracy(&logits, &batch.labels) * batch.len() as f64;
        let loss = match self.shared.l2.as_ref().and_then(|r| r.penalty(&self.model)) {
            Some(p) => loss.add(p),
            None => loss,
        };
        (loss, correct)
    }
}

impl TrainStep for Replica {
    type Input = ShardBatch;
    type Output = ();

    fn step(&self, item: ShardBatch) -> TrainOutput<()> {
        // This step's masks for this device's rows: those of the same rows on one device
        let at = Replica {
            model: (self.model.clone()).dropout_for_step(item.dropout_seed, item.row_offset),
            shared: self.shared.clone(),
        };
        let (loss, correct) = at.loss(&item.batch);
        let value = loss.clone().into_scalar::<f32>() as f64;
        let shared = &self.shared;
        {
            let mut log = shared.log();
            log.steps.push(StepLog {
                epoch: item.epoch,
                iteration: item.iteration,
                n: item.batch.len(),
                loss: value,
                correct,
                at: shared.start.elapsed().as_secs_f64(),
            });
            if !value.is_finite() && log.diverged.is_none() {
                log.diverged = Some((item.epoch, item.iteration, value));
                // The engine stops after this step; its epoch is neither validated nor
                // checkpointed, so the last good checkpoint is the previous epoch's.
                shared.interrupter.stop(Some("the loss is not finite"));
            }
        }
        let grads = loss.mul_scalar(item.weight).backward();
        sync(&self.model);
        TrainOutput::new(self, grads, ())
    }

    fn optimize(
        self,
        optim: &mut burn::optim::ModuleOptimizer,
        lr: burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate,
        grads: burn::optim::GradientsParams,
    ) -> Self {
        // ‖g‖ of the step's whole batch: the gradients of all devices, summed
        let shared = self.shared.clone();
        let grads = match &shared.clip {
            Some(clip) => {
                let prepared = clip
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .prepare(&self, grads);
                match prepared {
                    (_, Some(grads)) => grads,
                    (_, None) => return self,
                }
            }
            None => grads,
        };
        let stepped = optim.step(lr, self, grads);
        // Without this wait, a worker forks the model from the main device while the step's
        // work is still queued there (see `sync`).
        sync(&stepped.model);
        stepped
    }
}

impl InferenceStep for Replica {
    type Input = TextBatch;
    type Output = ();

    fn step(&self, batch: TextBatch) {
        // The validation loss is the cross-entropy alone, as in stoke's own loop.
        let (loss, logits) = self.model.loss(&batch);
        let correct = stoke_text::metrics::accuracy(&logits, &batch.labels) * batch.len() as f64;
        let loss = loss.into_scalar::<f32>() as f64;
        let mut log = self.shared.log();
        // Validation follows the epoch whose steps were logged last.
        let epoch = log.steps.last().map_or(1, |s| s.epoch);
        if log.valid.len() < epoch {
            log.valid.resize(epoch, ValidLog::default());
        }
        let v = &mut log.valid[epoch - 1];
        v.loss_sum += loss * batch.len() as f64;
        v.correct += correct;
        v.n += batch.len();
        if let Some(early) = &self.shared.early
            && let Err(e) = early.validated(epoch, &log.valid, &self.model)
        {
            let mut failed = early.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert(e);
            self.shared
                .interrupter
                .stop(Some("the best weights could not be kept"));
        }
    }
}
