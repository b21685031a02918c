//! Row-sparse steps: update only the rows of an embedding table that a batch used.
//!
//! A text batch touches a few thousand of an embedding table's rows (2¹⁸ in an AG-News-sized
//! model); a dense step reads and writes every row, its parameter, gradient and state, to
//! change those few. [`RowStep::step_rows`] takes the gradients of the used rows only (strictly
//! increasing row ids) and updates those rows and their optimizer state in place, with the same
//! per-coordinate arithmetic as the dense step.
//!
//! What this means per optimizer:
//!
//! * **SGD and AdaGrad: exact.** A row with zero gradient does not move under the dense step
//!   either (`w ← w − η·0`; `S ← S + 0`), so the row-sparse trajectory equals the dense one,
//!   bit for bit (`tests/rows.rs`). With `weight_decay > 0` the dense step also shrinks unused
//!   rows; the row-sparse step decays a row only when it is used ("lazy" decay).
//! * **Momentum, RMSProp, Adam, AdaDelta: lazy** (as PyTorch's `SparseAdam`): an unused row keeps
//!   its weights *and* its state; the dense step would still move it (by its velocity, or by
//!   `m/√v`). A row's state thus only decays on the steps that use it. Step counts (Adam's bias
//!   correction, AdaGrad's `lr_decay`) count the table's steps.
//!
//! On a CPU backend the rows are updated in place on the raw buffers; on any other device the
//! row gradients are scattered into a dense gradient and the dense step runs (exact for SGD and
//! AdaGrad, not lazy for the others).

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::store::burn_pack::{Reader, Tensor as PackTensor, Writer};
use burn::tensor::{Bytes, Device, Tensor, TensorData};

/// An optimizer that can update selected rows of a matrix.
pub trait RowStep: Optimizer {
    /// One step on `rows` of `w` (`[n, d]`) with their gradients `g_rows` (`[rows.len(), d]`,
    /// in the order of `rows`). `rows` must be strictly increasing and `< n`; other rows and
    /// their state are not touched (on a CPU backend; see the [module docs](self)).
    fn step_rows(
        &self,
        lr: LearningRate,
        w: Tensor<2>,
        rows: &[u32],
        g_rows: Tensor<2>,
        state: Option<Self::State<2>>,
    ) -> (Tensor<2>, Option<Self::State<2>>);
}

pub(crate) fn check_rows(w: &Tensor<2>, rows: &[u32], g_rows: &Tensor<2>) {
    let [n, d] = w.dims();
    assert!(
        rows.windows(2).all(|p| p[0] < p[1]),
        "step_rows: row ids must be strictly increasing"
    );
    assert!(
        rows.last().is_none_or(|&r| (r as usize) < n),
        "step_rows: a row id is ≥ the table's {n} rows"
    );
    assert_eq!(
        g_rows.dims(),
        [rows.len(), d],
        "step_rows: the gradient must have one row of width {d} per row id"
    );
}

/// Any [`RowStep`] optimizer together with the state of one table: what a training loop holds
/// for its embedding table, whichever optimizer was chosen at run time.
pub struct RowOptimizer {
    inner: Box<dyn Rows>,
}

trait Rows: Send {
    fn step(&mut self, lr: LearningRate, w: Tensor<2>, rows: &[u32], g: Tensor<2>) -> Tensor<2>;
    fn save(&self) -> Result<Bytes, RowStateError>;
    fn load(&mut self, bytes: Bytes, device: &Device) -> Result<(), RowStateError>;
}

/// Prefix of the state's entries in a saved file; a metadata key says whether there is one.
const PREFIX: &str = "table";
const HAS_STATE: &str = "has_state";

struct Held<O: RowStep> {
    optim: O,
    state: Option<O::State<2>>,
}

impl<O: RowStep + Send> Rows for Held<O>
where
    O::State<2>: Send,
{
    fn step(&mut self, lr: LearningRate, w: Tensor<2>, rows: &[u32], g: Tensor<2>) -> Tensor<2> {
        // Like ModuleOptimizer: the state follows the parameter's device (a loaded state may
        // have been placed elsewhere, e.g. on the autodiff form of the device).
        let state = self.state.take().map(|s| O::to_device(s, &w.device()));
        let (w, state) = self.optim.step_rows(lr, w, rows, g, state);
        self.state = state;
        w
    }

    fn save(&self) -> Result<Bytes, RowStateError> {
        let mut sink = StateSink::default();
        if let Some(state) = &self.state {
            state.state_flatten(PREFIX, &mut sink);
        }
        let tensors = sink
            .tensors
            .into_iter()
            .map(|(name, data)| {
                let (bytes, shape, dtype) = data.into_parts();
                PackTensor::new(name, dtype, shape, None, bytes)
            })
            .collect();
        let has = if self.state.is_some() { "1" } else { "0" };
        let mut writer = Writer::new(tensors).with_metadata(HAS_STATE, has);
        for (key, value) in sink.scalars {
            writer = writer.with_scalar(&key, value);
        }
        Ok(writer.into_bytes()?)
    }

    fn load(&mut self, bytes: Bytes, device: &Device) -> Result<(), RowStateError> {
        let reader = Reader::from_bytes(bytes)?;
        let has = reader.metadata().get(HAS_STATE).map(String::as_str) == Some("1");
        let mut src = StateSource::new(reader.scalars().clone());
        for t in reader.into_tensors()? {
            let (name, dtype, shape, _, bytes) = t.into_parts()?;
            src.insert_tensor(name, TensorData::from_bytes(bytes, shape, dtype));
        }
        self.state = match has {
            true => Some(
                O::State::<2>::state_unflatten(PREFIX, &mut src, device)
                    .ok_or(RowStateError::Mismatch)?,
            ),
            false => None,
        };
        Ok(())
    }
}

impl RowOptimizer {
    /// Holds `optim`, with no state yet.
    pub fn new<O: RowStep + Send + 'static>(optim: O) -> Self
    where
        O::State<2>: Send,
    {
        Self {
            inner: Box::new(Held { optim, state: None }),
        }
    }

    /// The optimizer state of the table, as burnpack bytes (empty before the first step).
    pub fn to_bytes(&self) -> Result<Bytes, RowStateError> {
        self.inner.save()
    }

    /// Restores the state saved by [`to_bytes`](Self::to_bytes), placing it on `device` (its
    /// form without autodiff: the table is updated outside the autodiff graph).
    pub fn load_bytes(&mut self, bytes: Bytes, device: &Device) -> Result<(), RowStateError> {
        self.inner.load(bytes, &device.clone().without_autodiff())
    }

    /// One step on `rows` of the table `w`; see [`RowStep::step_rows`].
    pub fn step(
        &mut self,
        lr: LearningRate,
        w: Tensor<2>,
        rows: &[u32],
        g_rows: Tensor<2>,
    ) -> Tensor<2> {
        self.inner.step(lr, w, rows, g_rows)
    }
}

/// A table's optimizer state that cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum RowStateError {
    /// The bytes are not a valid burnpack file.
    #[error("not a valid burnpack optimizer state: {0}")]
    Pack(#[from] burn::store::burn_pack::Error),
    /// A valid file whose entries do not form this optimizer's state.
    #[error("the saved table state does not fit this optimizer (an entry is missing)")]
    Mismatch,
}

impl std::fmt::Debug for RowOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowOptimizer")
    }
}
