//! A run's checkpoint: `model-E.bpk`, `optim-E.bpk` (and `table-optim-E.bpk` for a sparse
//! embedding update) and `state.json`, which names the epoch `E` and holds the run's records,
//! the schedule's position and the next learning rate. Written atomically, file by file, with
//! `state.json` last, so a crash at any point leaves the last complete checkpoint in force.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use stoke_text::model::{TextClassifier, TextClassifierConfig};

use crate::error::{CheckpointError, RecipeError, write_atomic};
use crate::metrics::Record;
use crate::recipe::RunSpec;
use crate::step::Stepper;

/// The run-state file written with each checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckpointState {
    pub(crate) epoch: usize,
    pub(crate) iteration: usize,
    pub(crate) wall_time: f64,
    pub(crate) spec: RunSpec,
    pub(crate) records: Vec<Record>,
    /// The learning rate of the next step (absent in checkpoints of constant-rate runs written
    /// before schedules existed: the spec's `lr`).
    #[serde(default)]
    pub(crate) lr: Option<f64>,
    /// The schedule's position or counters (Burn's scheduler record, as burnpack bytes).
    #[serde(default)]
    pub(crate) schedule: Option<Vec<u8>>,
}

/// The run-state file's name.
pub(crate) const STATE: &str = "state.json";

pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<CheckpointState>, RecipeError> {
    let path = dir.join(STATE);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| RecipeError::io(&path, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| RecipeError::Checkpoint {
            path,
            source: e.into(),
        })
}

pub(crate) fn load_weights(
    dir: &Path,
    epoch: usize,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let read = |name: String| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| RecipeError::io(&path, e))
    };
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: dir.to_path_buf(),
        source,
    };
    let model_bytes = read(format!("model-{epoch}.bpk"))?;
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(model_bytes))
        .map_err(|e| fail(e.into()))?;
    let model = config
        .try_init(device)
        .map_err(|e| fail(e.into()))?
        .load_record(record);
    Ok(model)
}

/// Restores the optimizer state of checkpoint `epoch`: `optim-E.bpk` (the module's optimizer)
/// and, for a sparse embedding update, `table-optim-E.bpk` (the table's row optimizer).
pub(crate) fn load_optimizers(
    dir: &Path,
    epoch: usize,
    stepper: &mut Stepper,
    device: &Device,
) -> Result<(), RecipeError> {
    let read = |name: String| {
        let path = dir.join(name);
        std::fs::read(&path)
            .map(burn::tensor::Bytes::from_bytes_vec)
            .map_err(|e| RecipeError::io(&path, e))
    };
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: dir.to_path_buf(),
        source,
    };
    let optim = read(format!("optim-{epoch}.bpk"))?;
    stepper
        .load_module_optimizer(optim)
        .map_err(|e| fail(e.into()))?;
    if let Some(rows) = stepper.rows_mut() {
        rows.load_bytes(read(format!("table-optim-{epoch}.bpk"))?, device)
            .map_err(|e| fail(e.into()))?;
    }
    Ok(())
}

/// Writes `model-E.bpk`, `optim-E.bpk` (and `table-optim-E.bpk` for a sparse embedding
/// update), then `state.json` (each through a temp file and a rename), then removes the
/// previous epoch's files. `state.json` names the epoch, so a crash
/// at any point leaves the last complete checkpoint in force.
pub(crate) fn write_checkpoint(
    dir: &Path,
    model: &TextClassifier,
    stepper: &Stepper,
    state: &CheckpointState,
) -> Result<(), RecipeError> {
    std::fs::create_dir_all(dir).map_err(|e| RecipeError::io(dir, e))?;
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: dir.to_path_buf(),
        source,
    };
    let model_bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| fail(e.into()))?;
    write_atomic(
        &dir.join(format!("model-{}.bpk", state.epoch)),
        &model_bytes,
    )?;
    let optim_bytes = stepper
        .module_optimizer()
        .into_bytes()
        .map_err(|e| fail(e.into()))?;
    write_atomic(
        &dir.join(format!("optim-{}.bpk", state.epoch)),
        &optim_bytes,
    )?;
    if let Some(rows) = stepper.rows() {
        let bytes = rows.to_bytes().map_err(|e| fail(e.into()))?;
        write_atomic(
            &dir.join(format!("table-optim-{}.bpk", state.epoch)),
            &bytes,
        )?;
    }
    let json = serde_json::to_vec(state).expect("state serialises");
    write_atomic(&dir.join(STATE), &json)?;
    if state.epoch > 1 {
        for name in [
            format!("model-{}.bpk", state.epoch - 1),
            format!("optim-{}.bpk", state.epoch - 1),
            format!("table-optim-{}.bpk", state.epoch - 1),
        ] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    }
    Ok(())
}

/// Early stopping's best weights of epoch `epoch`: `best-E.bpk`.
fn best_file(epoch: usize) -> String {
    format!("best-{epoch}.bpk")
}

/// Writes the best epoch's (evaluation) weights, atomically; called before the epoch's
/// `state.json`, so a crash in between leaves the previous best file (named by the records
/// `state.json` holds) in place.
pub(crate) fn write_best(dir: &Path, epoch: usize, model: &TextClassifier) -> Result<(), RecipeError> {
    std::fs::create_dir_all(dir).map_err(|e| RecipeError::io(dir, e))?;
    let bytes = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| RecipeError::Checkpoint {
            path: dir.join(best_file(epoch)),
            source: e.into(),
        })?;
    write_atomic(&dir.join(best_file(epoch)), &bytes)
}

/// Removes the best-weights files of epochs other than `keep` (after `state.json` names it).
pub(crate) fn remove_other_bests(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("best-") && name.ends_with(".bpk") && name != best_file(keep) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads early stopping's best weights of epoch `epoch`.
pub(crate) fn load_best(
    dir: &Path,
    epoch: usize,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let path = dir.join(best_file(epoch));
    let bytes = std::fs::read(&path).map_err(|e| RecipeError::io(&path, e))?;
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: path.clone(),
        source,
    };
    let record = ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
        .map_err(|e| fail(e.into()))?;
    config
        .try_init(device)
        .map_err(|e| fail(e.into()))?
        .try_load_record(record)
        .map_err(|e| fail(e.into()))
}
