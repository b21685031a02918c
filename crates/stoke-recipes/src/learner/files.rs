//! Burn's `Checkpointer` writing each record atomically (temp file + rename), as stoke's own
//! checkpoints are: a kill mid-write leaves the previous file or the new one, never half of one.

use std::path::PathBuf;

use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

/// `{dir}/{name}-{epoch}.bpk`, written atomically.
pub(crate) struct AtomicFiles {
    dir: PathBuf,
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
