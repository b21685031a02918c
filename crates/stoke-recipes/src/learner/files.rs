//! Burn's `Checkpointer` writing each record atomically (temp file + rename), as stoke's own
//! checkpoints are: a kill mid-write leaves the previous file or the new one, never half of one.
//!
//! Epoch `N`'s checkpoint is four files: `log-N.json` (the run's spec and every step's
//! measurements so far, from which its records are rebuilt; written first), then Burn's
//! `model-N.bpk`, `optim-N.bpk` and `scheduler-N.bpk`. A resume takes the latest epoch that has
//! all four.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use serde::{Deserialize, Serialize};

use super::replica::{Shared, StepLog, ValidLog};
use crate::error::{CheckpointError, RecipeError};
use crate::recipe::RunSpec;

/// `{dir}/{name}-{epoch}.bpk`, written atomically.
pub(crate) struct AtomicFiles {
    pub(crate) dir: PathBuf,
    name: &'static str,
}

impl AtomicFiles {
    pub(crate) fn new(dir: PathBuf, name: &'static str) -> Self {
        AtomicFiles { dir, name }
    }

    pub(crate) fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFiles {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        std::fs::create_dir_all(&self.dir).map_err(CheckpointerError::IOError)?;
        crate::error::write_atomic(&self.path(epoch), &bytes)
            .map_err(|e| CheckpointerError::Unknown(e.to_string()))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = std::fs::read(self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

/// What `log-N.json` holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct Journal {
    pub spec: RunSpec,
    pub steps: Vec<StepLog>,
    pub valid: Vec<ValidLog>,
}

fn journal_path(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("log-{epoch}.json"))
}

/// The model's checkpointer: writes the run's journal, then the model.
pub(crate) struct WithJournal {
    pub files: AtomicFiles,
    pub shared: Arc<Shared>,
    pub spec: RunSpec,
}

impl Checkpointer<ModuleRecord> for WithJournal {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        let journal = {
            let log = self.shared.log();
            Journal {
                spec: self.spec.clone(),
                // The checkpoint is written while the next epoch may have started.
                steps: log
                    .steps
                    .iter()
                    .filter(|l| l.epoch <= epoch)
                    .copied()
                    .collect(),
                valid: log.valid.iter().take(epoch).copied().collect(),
            }
        };
        let fail = |e: String| CheckpointerError::Unknown(e);
        let bytes = serde_json::to_vec(&journal).map_err(|e| fail(e.to_string()))?;
        std::fs::create_dir_all(&self.files.dir).map_err(CheckpointerError::IOError)?;
        crate::error::write_atomic(&journal_path(&self.files.dir, epoch), &bytes)
            .map_err(|e| fail(e.to_string()))?;
        self.files.save(epoch, record)?;
        if let Some(early) = &self.shared.early {
            super::early::prune(early, &self.files.dir, epoch, &journal.valid);
        }
        Ok(())
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::delete(&self.files, epoch)?;
        match std::fs::remove_file(journal_path(&self.files.dir, epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        self.files.restore(epoch)
    }
}

/// The latest epoch in `dir` with all four files, and its journal (checked to be `spec`'s).
pub(crate) fn latest(dir: &Path, spec: &RunSpec) -> Result<Option<(usize, Journal)>, RecipeError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let complete = |e: usize| {
        ["model", "optim", "scheduler"]
            .iter()
            .all(|n| dir.join(format!("{n}-{e}.bpk")).is_file())
    };
    let epoch = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("log-")?.strip_suffix(".json")?.parse().ok())
        .filter(|&e| complete(e))
        .max();
    let Some(epoch) = epoch else {
        return Ok(None);
    };
    let path = journal_path(dir, epoch);
    let bytes = std::fs::read(&path).map_err(|e| RecipeError::io(&path, e))?;
    let fail = |source| RecipeError::Checkpoint {
        path: path.clone(),
        source,
    };
    let journal: Journal =
        serde_json::from_slice(&bytes).map_err(|e| fail(CheckpointError::State(e)))?;
    if journal.spec != *spec {
        return Err(fail(CheckpointError::OtherRun));
    }
    if journal.valid.len() != epoch || journal.steps.iter().any(|s| s.epoch > epoch) {
        return Err(fail(CheckpointError::Epoch {
            epoch,
            epochs: journal.valid.len(),
        }));
    }
    Ok(Some((epoch, journal)))
}
