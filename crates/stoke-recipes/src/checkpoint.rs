//! A run's checkpoint: `model-E.bpk`, `optim-E.bpk` (and `table-optim-E.bpk` for a sparse
//! embedding update) and `state.json`, which names the epoch `E` and holds the run's records,
//! the schedule's position and the next learning rate. Written atomically, file by file, with
//! `state.json` last, so a crash at any point leaves the last complete checkpoint in force.

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
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
    /// The FNV-1a 64-bit hash of each weight and optimizer file of the checkpoint, by name
    /// (filled in by [`write_checkpoint`]; absent in older checkpoints, whose files are then
    /// only checked by decoding them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) files: BTreeMap<String, u64>,
    /// The FNV-1a 64-bit hash of this file as written without this field (filled in by
    /// [`write_checkpoint`]; absent in older checkpoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<u64>,
}

/// The run-state file's name.
pub(crate) const STATE: &str = "state.json";

/// FNV-1a, 64 bits: `h ← (h ⊕ b)·(2⁴⁰ + 2⁸ + 0xb3) mod 2⁶⁴` over the bytes `b`, from the
/// offset basis `0xcbf29ce484222325`. Not cryptographic: it finds damage, not forgery.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// `state` as JSON.
fn state_json(state: &CheckpointState) -> Vec<u8> {
    // Internal invariant: the state is plain data (numbers, strings, lists), which serde_json
    // always writes.
    // Internal invariant: strings, numbers and byte arrays only (NaN becomes null).
    serde_json::to_vec(state).expect("state serialises")
}

/// Reads `dir/state.json`, if there is one, and checks it: its own hash (a changed value that
/// is still valid JSON is caught too), and an epoch inside the run's.
pub(crate) fn read_checkpoint(dir: &Path) -> Result<Option<CheckpointState>, RecipeError> {
    let path = dir.join(STATE);
    if !path.exists() {
        return Ok(None);
    }
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: path.clone(),
        source,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| RecipeError::io(&path, e))?;
    let mut state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| fail(CheckpointError::State(e)))?;
    if let Some(want) = state.checksum.take() {
        // Floats read back exactly (serde_json's float_roundtrip) and are written shortest
        // first, so the text written is the text of the values read.
        let got = fnv1a64(&state_json(&state));
        if got != want {
            return Err(fail(CheckpointError::Damaged { got, want }));
        }
    }
    let epochs = state.spec.settings.epochs;
    if !(1..=epochs).contains(&state.epoch) {
        let epoch = state.epoch;
        return Err(fail(CheckpointError::Epoch { epoch, epochs }));
    }
    Ok(Some(state))
}

/// The bytes of the checkpoint's file `name`, checked against the hash `state` lists for it.
fn read_file(dir: &Path, name: &str, state: &CheckpointState) -> Result<Bytes, RecipeError> {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).map_err(|e| RecipeError::io(&path, e))?;
    if !state.files.is_empty() {
        let source = match state.files.get(name) {
            None => Some(CheckpointError::Unlisted),
            Some(&want) => {
                let got = fnv1a64(&bytes);
                (got != want).then_some(CheckpointError::Damaged { got, want })
            }
        };
        if let Some(source) = source {
            return Err(RecipeError::Checkpoint { path, source });
        }
    }
    Ok(Bytes::from_bytes_vec(bytes))
}

/// The weights of checkpoint `state` (`model-E.bpk`), in a model made from `config`; weights
/// of another shape or model are an error naming the file.
pub(crate) fn load_weights(
    dir: &Path,
    state: &CheckpointState,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let name = format!("model-{}.bpk", state.epoch);
    weights_from(
        &dir.join(&name),
        read_file(dir, &name, state)?,
        config,
        device,
    )
}

/// The weights in `bytes` (read from `path`), in a model made from `config`; bytes that are
/// not a record, or weights of another shape or model, are an error naming `path`.
pub(crate) fn weights_from(
    path: &Path,
    bytes: Bytes,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: path.to_path_buf(),
        source,
    };
    let record = ModuleRecord::from_bytes(bytes).map_err(|e| fail(e.into()))?;
    config
        .try_init(device)
        .map_err(|e| fail(e.into()))?
        .try_load_record(record)
        .map_err(|e| fail(e.into()))
}

/// Restores the optimizer state of checkpoint `state`: `optim-E.bpk` (the module's optimizer,
/// checked against it and `model` first) and, for a sparse embedding update,
/// `table-optim-E.bpk` (the table's row optimizer, its buffers checked against the table of
/// `config`).
pub(crate) fn load_optimizers(
    dir: &Path,
    state: &CheckpointState,
    stepper: &mut Stepper,
    model: &TextClassifier,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<(), RecipeError> {
    let fail = |name: &str, source: CheckpointError| RecipeError::Checkpoint {
        path: dir.join(name),
        source,
    };
    let name = format!("optim-{}.bpk", state.epoch);
    let optim = read_file(dir, &name, state)?;
    stoke_optim::state::check_saved(stepper.module_optimizer(), model, &optim)
        .map_err(|e| fail(&name, e.into()))?;
    stepper
        .load_module_optimizer(optim)
        .map_err(|e| fail(&name, e.into()))?;
    if let Some(rows) = stepper.rows_mut() {
        let name = format!("table-optim-{}.bpk", state.epoch);
        let bytes = read_file(dir, &name, state)?;
        rows.load_bytes(bytes.clone(), device)
            .map_err(|e| fail(&name, e.into()))?;
        // The row optimizer checks its buffers against each other; against the table, here.
        let want = vec![config.num_ids, config.shape.embed_dim];
        let pack = burn::store::burn_pack::Reader::from_bytes(bytes);
        for t in pack
            .and_then(|r| r.into_tensors())
            .map_err(|e| fail(&name, e.into()))?
        {
            if t.shape.to_vec() != want {
                let (entry, got) = (t.name.clone(), t.shape.to_vec());
                let want = want.clone();
                return Err(fail(&name, CheckpointError::Table { entry, got, want }));
            }
        }
    }
    Ok(())
}

/// Writes `model-E.bpk`, `optim-E.bpk` (and `table-optim-E.bpk` for a sparse embedding
/// update), then `state.json` with their hashes (and that of early stopping's `best`
/// weights, `best-E.bpk`) and its own (each through a temp file and a rename), then removes the previous epochs' files ([`remove_stale`]). `state.json` names
/// the epoch, so a crash at any point leaves the last complete checkpoint in force; a write
/// that fails (a full disk, a read-only directory) is an error naming the file and leaves the
/// previous checkpoint as it was.
pub(crate) fn write_checkpoint(
    dir: &Path,
    model: &TextClassifier,
    stepper: &Stepper,
    mut state: CheckpointState,
    best: Option<(usize, &TextClassifier)>,
) -> Result<(), RecipeError> {
    std::fs::create_dir_all(dir).map_err(|e| RecipeError::io(dir, e))?;
    let epoch = state.epoch;
    let fail = |source: CheckpointError| RecipeError::Checkpoint {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = vec![
        (
            format!("model-{epoch}.bpk"),
            model
                .clone()
                .into_record()
                .into_bytes()
                .map_err(|e| fail(e.into()))?,
        ),
        (
            format!("optim-{epoch}.bpk"),
            stepper
                .module_optimizer()
                .into_bytes()
                .map_err(|e| fail(e.into()))?,
        ),
    ];
    if let Some(rows) = stepper.rows() {
        let bytes = rows.to_bytes().map_err(|e| fail(e.into()))?;
        files.push((format!("table-optim-{epoch}.bpk"), bytes));
    }
    for (name, bytes) in files {
        write_atomic(&dir.join(&name), &bytes)?;
        state.files.insert(name, fnv1a64(&bytes));
    }
    if let Some((epoch, model)) = best {
        // Written by `write_best` when it became the best; the same bytes.
        let bytes = model.clone().into_record().into_bytes();
        let bytes = bytes.map_err(|e| fail(e.into()))?;
        state.files.insert(best_file(epoch), fnv1a64(&bytes));
    }
    state.checksum = None;
    state.checksum = Some(fnv1a64(&state_json(&state)));
    write_atomic(&dir.join(STATE), &state_json(&state))?;
    remove_stale(dir, epoch);
    Ok(())
}

/// Early stopping's best weights of epoch `epoch`: `best-E.bpk`.
pub(crate) fn best_file(epoch: usize) -> String {
    format!("best-{epoch}.bpk")
}

/// Writes the best epoch's (evaluation) weights, atomically; called before the epoch's
/// `state.json`, so a crash in between leaves the previous best file (named by the records
/// `state.json` holds) in place.
pub(crate) fn write_best(
    dir: &Path,
    epoch: usize,
    model: &TextClassifier,
) -> Result<(), RecipeError> {
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

/// Removes the best-weights files of epochs up to `up_to` other than `keep` (after the
/// checkpoint of epoch `up_to` names `keep`); a later epoch's file may be newer than that
/// checkpoint.
pub(crate) fn remove_other_bests(dir: &Path, keep: usize, up_to: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let epoch = name
            .strip_prefix("best-")
            .and_then(|rest| rest.strip_suffix(".bpk"))
            .and_then(|e| e.parse::<usize>().ok());
        if epoch.is_some_and(|e| e != keep && e <= up_to) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads early stopping's best weights of epoch `epoch`, checked against the hash `state` lists.
pub(crate) fn load_best(
    dir: &Path,
    state: &CheckpointState,
    epoch: usize,
    config: &TextClassifierConfig,
    device: &Device,
) -> Result<TextClassifier, RecipeError> {
    let bytes = read_file(dir, &best_file(epoch), state)?;
    weights_from(&dir.join(best_file(epoch)), bytes, config, device)
}

/// Removes what a checkpoint other than epoch `epoch`'s left in `dir`: the weight and optimizer
/// files of other epochs, and temporary files of writes that never finished. A process killed
/// between writing `state.json` and removing the previous epoch's files, or half-way through a
/// file, leaves them; the next checkpoint or resume clears them. Best effort: a file that
/// cannot be removed only takes space.
pub(crate) fn remove_stale(dir: &Path, epoch: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let other_epoch = ["model-", "optim-", "table-optim-"].iter().any(|prefix| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(".bpk"))
                .and_then(|e| e.parse::<usize>().ok())
                .is_some_and(|e| e != epoch)
        });
        if other_epoch || name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
