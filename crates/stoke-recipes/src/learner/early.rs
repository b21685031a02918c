//! Early stopping on the engine's path: the rule of [`crate::early_stopping`] (stop once
//! `patience` epochs have not improved on the best validation score; the result is the best
//! epoch's weights), read from the validation sums the replicas log.
//!
//! ```text
//! epoch E validated (its sums hold all n_valid texts)
//!   → best(E) = argbest_{1 ≤ e ≤ E} score(e)           EarlyStopping::best_epoch
//!   → best(E) = E: keep a copy of the weights validated, and write best-E.bpk (with a
//!     checkpoint directory) before epoch E's checkpoint
//!   → after the checkpoint of epoch E, Burn's engine asks Stop::should_stop:
//!     stop ⇔ E − best(E) ≥ patience                   EarlyStopping::stops_after
//! ```
//!
//! The stop goes through Burn's own hook (`SupervisedTraining::early_stopping`), which the
//! engine consults after each epoch's checkpoint, so the last epoch trained is checkpointed as
//! in the own loop. A resumed run finds its best epoch in the journal's validation sums and its
//! weights in `best-B.bpk`; [`prune`] removes the files of epochs that are no longer the best
//! once a checkpoint names a newer one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use burn::tensor::{Bytes, Device};
use burn::train::EarlyStoppingStrategy;
use burn::train::metric::store::EventStoreClient;
use stoke_text::model::{TextClassifier, TextClassifierConfig};

use super::replica::ValidLog;
use crate::checkpoint::{best_file, remove_other_bests, weights_from, write_best};
use crate::early_stopping::EarlyStopping;
use crate::error::RecipeError;
use crate::metrics::{Metric, Record, Split};
use crate::train::snapshot;

/// Early stopping's state in a run through the engine; see the [module docs](self).
pub(crate) struct Early {
    pub rule: EarlyStopping,
    /// The run id (for the error messages and the records the rule reads).
    pub run: String,
    /// Texts in the validation split: an epoch's validation is whole when its sums hold them.
    pub n_valid: usize,
    pub config: TextClassifierConfig,
    /// Where the kept weights' copies are made.
    pub device: Device,
    /// The checkpoint directory, where `best-E.bpk` is written.
    pub dir: Option<PathBuf>,
    /// The best epoch so far and a copy of its weights that shares nothing with the model
    /// trained on.
    pub best: Mutex<Option<(usize, TextClassifier)>>,
    /// The first error writing the best weights; the run stops on it.
    pub failed: Mutex<Option<RecipeError>>,
}

impl Early {
    /// The best epoch among the epochs whose validation is whole in `valid` (indexed by
    /// epoch − 1).
    pub fn best_of(&self, valid: &[ValidLog]) -> Option<usize> {
        let whole = valid
            .iter()
            .enumerate()
            .filter(|(_, v)| v.n == self.n_valid);
        let records: Vec<Record> = whole
            .flat_map(|(i, v)| {
                let n = v.n as f64;
                [
                    (Metric::Loss, v.loss_sum / n),
                    (Metric::Accuracy, v.correct / n),
                ]
                .map(|(metric, value)| Record {
                    run: self.run.clone(),
                    config: String::new(),
                    seed: 0,
                    epoch: i + 1,
                    iteration: 0,
                    split: Split::Valid,
                    metric,
                    value,
                })
            })
            .collect();
        self.rule.best_epoch(&records, &self.run)
    }

    /// After a validation batch of `epoch` (the sums so far in `valid`) with `model`: when the
    /// epoch's validation is whole and it is the best, keeps a copy of `model` (and writes it).
    /// Returns an error to stop the run on.
    pub fn validated(
        &self,
        epoch: usize,
        valid: &[ValidLog],
        model: &TextClassifier,
    ) -> Result<(), RecipeError> {
        let whole = valid.get(epoch - 1).is_some_and(|v| v.n == self.n_valid);
        if !whole || self.best_of(valid) != Some(epoch) {
            return Ok(());
        }
        let kept = snapshot(model, &self.config, &self.device)?;
        if let Some(dir) = &self.dir {
            write_best(dir, epoch, &kept)?;
        }
        *self.best.lock().unwrap_or_else(|p| p.into_inner()) = Some((epoch, kept));
        Ok(())
    }

    /// Before a resumed run: its best epoch from the journal's sums and that epoch's weights,
    /// from `best-B.bpk` in `dir` (checked to fit the model).
    pub fn resume(&self, dir: &Path, valid: &[ValidLog]) -> Result<(), RecipeError> {
        let Some(epoch) = self.best_of(valid) else {
            return Ok(());
        };
        let path = dir.join(best_file(epoch));
        let bytes = std::fs::read(&path).map_err(|e| RecipeError::io(&path, e))?;
        let kept = weights_from(
            &path,
            Bytes::from_bytes_vec(bytes),
            &self.config,
            &self.device,
        )?;
        *self.best.lock().unwrap_or_else(|p| p.into_inner()) = Some((epoch, kept));
        Ok(())
    }

    /// The best epoch and its weights, at the end of the run.
    pub fn take(&self) -> Option<(usize, TextClassifier)> {
        self.best.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// After epoch `epoch`'s checkpoint (whose validation sums are `valid`) is written: removes the
/// best-weights files of epochs up to `epoch` other than the best one. Later epochs' files are
/// left: the engine may have validated the next epoch before this checkpoint was written.
pub(crate) fn prune(early: &Early, dir: &Path, epoch: usize, valid: &[ValidLog]) {
    if let Some(best) = early.best_of(valid) {
        remove_other_bests(dir, best, epoch);
    }
}

/// Burn's early-stopping hook over [`Early`]: asked after each epoch's checkpoint.
#[derive(Clone)]
pub(crate) struct Stop(pub std::sync::Arc<super::replica::Shared>);

impl EarlyStoppingStrategy for Stop {
    fn should_stop(&mut self, epoch: usize, _: &EventStoreClient) -> bool {
        let shared = &self.0;
        let Some(early) = &shared.early else {
            return false;
        };
        let best = early.best_of(&shared.log().valid);
        early.rule.stops_after(epoch, best)
    }
}
