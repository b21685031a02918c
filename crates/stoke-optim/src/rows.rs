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

use crate::path::Rule;
use crate::state::{ParamState, Slots};

/// An optimizer that can update selected rows of a matrix.
pub trait RowStep: Optimizer {
    /// One step on `rows` of `w` (`[n, d]`) with their gradients `g_rows` (`[rows.len(), d]`,
    /// in the order of `rows`). `rows` must be strictly increasing and `< n`; other rows and
    /// their state are not touched (on a CPU backend; see the [module docs](self)).
    ///
    /// Rows out of order or out of range, a gradient of another shape or device, or a state
    /// whose buffers do not have `w`'s shape and device are refused with a [`RowStepError`]
    /// before anything is read.
    fn step_rows(
        &self,
        lr: LearningRate,
        w: Tensor<2>,
        rows: &[u32],
        g_rows: Tensor<2>,
        state: Option<Self::State<2>>,
    ) -> Result<(Tensor<2>, Option<Self::State<2>>), RowStepError>;

    /// The checks of [`step_rows`](Self::step_rows), without stepping: `Ok` when it would
    /// accept these inputs.
    fn check_rows(
        &self,
        w: &Tensor<2>,
        rows: &[u32],
        g_rows: &Tensor<2>,
        state: Option<&Self::State<2>>,
    ) -> Result<(), RowStepError>;
}

/// Why a row-sparse step was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowStepError {
    /// Two neighbouring row ids are not strictly increasing.
    #[error("row ids must be strictly increasing: id {next} follows {prev} at position {at}")]
    Unsorted {
        /// Position of the second id in `rows`.
        at: usize,
        /// The id before it.
        prev: u32,
        /// The id that is not larger.
        next: u32,
    },
    /// A row id is not a row of the table.
    #[error("row id {row} is out of range: the table has {rows} rows")]
    OutOfRange {
        /// The id.
        row: u32,
        /// The table's row count.
        rows: usize,
    },
    /// The gradient does not hold one row of the table's width per row id.
    #[error(
        "the row gradient is {got:?}, but {ids} row ids of a table of width {width} need [{ids}, {width}]"
    )]
    GradientShape {
        /// The gradient's shape.
        got: [usize; 2],
        /// The number of row ids.
        ids: usize,
        /// The table's width.
        width: usize,
    },
    /// A buffer of the optimizer state does not have the table's shape.
    #[error(
        "the optimizer state's `{slot}` is {got:?}, but the table is {table:?} (a state of another table?)"
    )]
    StateShape {
        /// The buffer's name in a saved state.
        slot: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// The table's shape.
        table: [usize; 2],
    },
    /// The gradient or a state buffer is on another device than the table.
    #[error("the {what} is on {got}, but the table is on {table}")]
    Device {
        /// `"row gradient"` or the state buffer's name.
        what: &'static str,
        /// Its device.
        got: String,
        /// The table's device.
        table: String,
    },
}

/// Checks a row-sparse step's inputs (see [`RowStep::step_rows`]).
pub(crate) fn check_rows<R: Rule>(
    w: &Tensor<2>,
    rows: &[u32],
    g_rows: &Tensor<2>,
    state: Option<&ParamState<R, 2>>,
) -> Result<(), RowStepError> {
    let [n, d] = w.dims();
    if let Some((at, p)) = rows.windows(2).enumerate().find(|(_, p)| p[0] >= p[1]) {
        return Err(RowStepError::Unsorted {
            at: at + 1,
            prev: p[0],
            next: p[1],
        });
    }
    if let Some(&row) = rows.iter().find(|&&r| r as usize >= n) {
        return Err(RowStepError::OutOfRange { row, rows: n });
    }
    if g_rows.dims() != [rows.len(), d] {
        return Err(RowStepError::GradientShape {
            got: g_rows.dims(),
            ids: rows.len(),
            width: d,
        });
    }
    let table = w.device().without_autodiff();
    let same_device = |what: &'static str, t: &Tensor<2>| {
        let got = t.device().without_autodiff();
        match got == table {
            true => Ok(()),
            false => Err(RowStepError::Device {
                what,
                got: format!("{got:?}"),
                table: format!("{table:?}"),
            }),
        }
    };
    same_device("row gradient", g_rows)?;
    let Some(state) = state else { return Ok(()) };
    let names = <R::State<Tensor<2>> as Slots<Tensor<2>>>::NAMES;
    for (slot, buffer) in names.into_iter().zip(state.buffers.clone().into_slots()) {
        let Some(buffer) = buffer else { continue };
        if buffer.dims() != [n, d] {
            return Err(RowStepError::StateShape {
                slot,
                got: buffer.dims().to_vec(),
                table: [n, d],
            });
        }
        same_device(slot, &buffer)?;
    }
    Ok(())
}

/// Any [`RowStep`] optimizer together with the state of one table: what a training loop holds
/// for its embedding table, whichever optimizer was chosen at run time.
pub struct RowOptimizer {
    inner: Box<dyn Rows>,
}

/// The new table, or why the step was refused.
type Step = Result<Tensor<2>, RowStepError>;

trait Rows: Send {
    fn step(&mut self, lr: LearningRate, w: Tensor<2>, rows: &[u32], g: Tensor<2>) -> Step;
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
    fn step(&mut self, lr: LearningRate, w: Tensor<2>, rows: &[u32], g: Tensor<2>) -> Step {
        // Like ModuleOptimizer: the state follows the parameter's device (a loaded state may
        // have been placed elsewhere, e.g. on the autodiff form of the device).
        self.state = self.state.take().map(|s| O::to_device(s, &w.device()));
        // Checked before the state is handed over, so a refused step keeps it.
        self.optim.check_rows(&w, rows, &g, self.state.as_ref())?;
        let (w, state) = self.optim.step_rows(lr, w, rows, g, self.state.take())?;
        self.state = state;
        Ok(w)
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
        let has = match reader.metadata().get(HAS_STATE).map(String::as_str) {
            Some("1") => true,
            Some("0") => false,
            other => return Err(RowStateError::Marker(other.map(str::to_owned))),
        };
        let scalars: Vec<String> = reader.scalars().keys().cloned().collect();
        let mut src = StateSource::new(reader.scalars().clone());
        let mut entries = Vec::new();
        for t in reader.into_tensors()? {
            let (name, dtype, shape, _, bytes) = t.into_parts()?;
            entries.push(Entry {
                name: name.clone(),
                shape: shape.to_vec(),
                dtype,
            });
            src.insert_tensor(name, TensorData::from_bytes(bytes, shape, dtype));
        }
        if !has {
            if let Some(e) = entries.first() {
                return Err(RowStateError::Unexpected(e.name.clone()));
            }
            self.state = None;
            return Ok(());
        }
        self.check_entries(&entries, scalars, device)?;
        let state = O::State::<2>::state_unflatten(PREFIX, &mut src, device)
            .ok_or_else(|| RowStateError::Missing("a buffer".into()))?;
        self.state = Some(state);
        Ok(())
    }
}

/// One tensor of a saved table state.
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: burn::tensor::DType,
}

impl<O: RowStep + Send> Held<O>
where
    O::State<2>: Send,
{
    /// The saved entries must be exactly those of this optimizer's state (as a one-row step
    /// on a `[1, 1]` table makes them), each a 2-D table of one shape and this optimizer's
    /// dtype; the state's shape against the table's is checked by the next step.
    fn check_entries(
        &self,
        entries: &[Entry],
        scalars: Vec<String>,
        device: &Device,
    ) -> Result<(), RowStateError> {
        let w = Tensor::<2>::zeros([1, 1], device);
        let g = Tensor::<2>::zeros([1, 1], device);
        // Internal invariant: one in-range row with a [1, 1] gradient on the table's device.
        let (_, reference) = self
            .optim
            .step_rows(0.0, w, &[0], g, None)
            .expect("a one-row step on a [1, 1] table is valid");
        let mut sink = StateSink::default();
        if let Some(state) = &reference {
            state.state_flatten(PREFIX, &mut sink);
        }
        for (name, data) in &sink.tensors {
            let Some(e) = entries.iter().find(|e| &e.name == name) else {
                return Err(RowStateError::Missing(name.clone()));
            };
            if e.dtype != data.dtype() {
                return Err(RowStateError::DType {
                    entry: name.clone(),
                    got: format!("{:?}", e.dtype),
                    want: format!("{:?}", data.dtype()),
                });
            }
        }
        for e in entries {
            if !sink.tensors.iter().any(|(name, _)| name == &e.name) {
                return Err(RowStateError::Unexpected(e.name.clone()));
            }
            let first = &entries[0].shape;
            if e.shape.len() != 2 || &e.shape != first {
                return Err(RowStateError::Shape {
                    entry: e.name.clone(),
                    got: e.shape.clone(),
                    first: first.clone(),
                });
            }
        }
        let want: Vec<&String> = sink.scalars.iter().map(|(k, _)| k).collect();
        for name in &scalars {
            if !want.contains(&name) {
                return Err(RowStateError::Unexpected(name.clone()));
            }
        }
        if let Some(name) = want.into_iter().find(|k| !scalars.contains(k)) {
            return Err(RowStateError::Missing(name.clone()));
        }
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

    /// One step on `rows` of the table `w`; see [`RowStep::step_rows`]. A refused step (see
    /// [`RowStepError`]) changes nothing, the state included.
    pub fn step(
        &mut self,
        lr: LearningRate,
        w: Tensor<2>,
        rows: &[u32],
        g_rows: Tensor<2>,
    ) -> Result<Tensor<2>, RowStepError> {
        self.inner.step(lr, w, rows, g_rows)
    }
}

/// A table's optimizer state that cannot be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum RowStateError {
    /// The bytes are not a valid burnpack file.
    #[error("not a valid burnpack optimizer state: {0}")]
    Pack(#[from] burn::store::burn_pack::Error),
    /// The file does not say whether it holds a state.
    #[error("not a table optimizer state: its `has_state` marker is {0:?}, not \"0\" or \"1\"")]
    Marker(Option<String>),
    /// An entry this optimizer keeps is absent.
    #[error("the saved table state has no `{0}` (a state saved by another optimizer?)")]
    Missing(String),
    /// An entry this optimizer does not keep.
    #[error(
        "the saved table state has `{0}`, which this optimizer does not keep (a state saved by another optimizer?)"
    )]
    Unexpected(String),
    /// A buffer is not a 2-D table of the same shape as the others.
    #[error(
        "the saved table state's `{entry}` is {got:?}, but a table state is 2-D and shaped like its first buffer, {first:?}"
    )]
    Shape {
        /// The entry.
        entry: String,
        /// Its shape.
        got: Vec<usize>,
        /// The first entry's shape.
        first: Vec<usize>,
    },
    /// A buffer of another element type.
    #[error("the saved table state's `{entry}` is {got}, but this optimizer keeps {want}")]
    DType {
        /// The entry.
        entry: String,
        /// Its dtype.
        got: String,
        /// The dtype this optimizer keeps.
        want: String,
    },
}

impl std::fmt::Debug for RowOptimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowOptimizer")
    }
}
