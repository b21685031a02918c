//! An optimizer's per-parameter state: its buffers as typed slots ([`Slots`]), and the one
//! [`ParamState`] every stoke optimizer keeps, saves ([`RecordState`]) and moves between devices.
//!
//! Burn's `#[derive(RecordState)]` expands to paths that only resolve inside `burn-optim`, so the
//! state flattens itself here, by the names each optimizer gives its slots (the names PyTorch's
//! `state_dict` uses, so saved states stay readable across versions). [`check_saved`] checks a
//! saved module state against the optimizer and model it is loaded into.

use std::collections::BTreeMap;
use std::fmt;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer, RecordState, StateSink, StateSource};
use burn::store::burn_pack::{Reader, Scalar};
use burn::tensor::{Bytes, DType, Device, Tensor};

use crate::path::Rule;

pub(crate) fn put<const D: usize>(out: &mut StateSink, prefix: &str, leaf: &str, t: &Tensor<D>) {
    out.push_tensor(prefix, leaf, t.to_data());
}

pub(crate) fn take<const D: usize>(
    src: &mut StateSource,
    prefix: &str,
    leaf: &str,
    device: &Device,
) -> Option<Tensor<D>> {
    Some(Tensor::from_data(src.take_tensor(prefix, leaf)?, device))
}

pub(crate) fn put_step(out: &mut StateSink, prefix: &str, step: u64) {
    out.push_scalar(prefix, "step", Scalar::from(step));
}

pub(crate) fn take_step(src: &mut StateSource, prefix: &str) -> Option<u64> {
    u64::try_from(src.take_scalar(prefix, "step")?).ok()
}

/// An optimizer's per-parameter state as a struct of up to three buffers of `X`: the tensors of
/// one parameter, its CPU buffers, or the `f32` numbers of one coordinate. The implementation is
/// the one place that says which buffer sits in which slot; absent buffers (options that keep no
/// such state) are `None`.
pub trait Slots<X>: Sized {
    /// The name of each slot in a saved state (unused slots: `""`).
    const NAMES: [&'static str; 3];

    /// The buffers, slot by slot.
    fn into_slots(self) -> [Option<X>; 3];

    /// The state from [`into_slots`](Self::into_slots)'s slots.
    fn from_slots(slots: [Option<X>; 3]) -> Self;

    /// The same state over another kind of buffer.
    #[inline(always)]
    fn convert<Y, S: Slots<Y>>(self, mut f: impl FnMut(X) -> Y) -> S {
        S::from_slots(self.into_slots().map(|slot| slot.map(&mut f)))
    }

    /// The state from saved slots, or `None` when a slot this type always fills is missing.
    fn try_from_slots(slots: [Option<X>; 3]) -> Option<Self> {
        let filled = Self::filled_slots();
        let complete = slots
            .iter()
            .zip(filled)
            .all(|(slot, must)| !must || slot.is_some());
        complete.then(|| Self::from_slots(slots))
    }

    /// Which slots [`from_slots`](Self::from_slots) needs filled.
    fn filled_slots() -> [bool; 3];

    /// Which slots hold a buffer.
    #[inline(always)]
    fn layout(self) -> [bool; 3] {
        self.into_slots().map(|slot| slot.is_some())
    }
}

/// The buffer in a slot that [`Slots::into_slots`] always fills.
#[inline(always)]
pub(crate) fn filled<X>(slot: Option<X>) -> X {
    // Internal invariant: `from_slots` only ever receives what the same type's `into_slots` (or
    // `layout`) gave, and that fills this slot.
    slot.expect("a state slot its own type always fills")
}

/// A state with no buffers.
impl<X> Slots<X> for () {
    const NAMES: [&'static str; 3] = ["", "", ""];

    fn into_slots(self) -> [Option<X>; 3] {
        [None, None, None]
    }

    fn from_slots(_: [Option<X>; 3]) -> Self {}

    fn filled_slots() -> [bool; 3] {
        [false; 3]
    }
}

/// The state of one parameter under a stoke optimizer `R`: its buffers (`R`'s slots, e.g.
/// [`AdamMoments`](crate::adam::AdamMoments)) and `t`, the number of steps taken.
pub struct ParamState<R: Rule, const D: usize> {
    /// The optimizer's buffers of this parameter.
    pub buffers: R::State<Tensor<D>>,
    /// `t`, the number of steps taken (saved for the optimizers whose update reads it).
    pub step: u64,
}

impl<R: Rule, const D: usize> Clone for ParamState<R, D>
where
    R::State<Tensor<D>>: Clone,
{
    fn clone(&self) -> Self {
        Self {
            buffers: self.buffers.clone(),
            step: self.step,
        }
    }
}

impl<R: Rule, const D: usize> fmt::Debug for ParamState<R, D>
where
    R::State<Tensor<D>>: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamState")
            .field("buffers", &self.buffers)
            .field("step", &self.step)
            .finish()
    }
}

impl<R: Rule, const D: usize> ParamState<R, D> {
    /// The same state on `device`.
    pub(crate) fn to_device(self, device: &Device) -> Self {
        Self {
            buffers: self.buffers.convert(|t: Tensor<D>| t.to_device(device)),
            step: self.step,
        }
    }
}

impl<R: Rule + 'static, const D: usize> RecordState for ParamState<R, D>
where
    R::State<Tensor<D>>: Clone + Send + Sync + 'static,
{
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let names = <R::State<Tensor<D>> as Slots<Tensor<D>>>::NAMES;
        for (name, slot) in names.into_iter().zip(self.buffers.clone().into_slots()) {
            if let Some(t) = slot {
                put(out, prefix, name, &t);
            }
        }
        if R::COUNTS_STEPS {
            put_step(out, prefix, self.step);
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let names = <R::State<Tensor<D>> as Slots<Tensor<D>>>::NAMES;
        let slots = names.map(|name| match name {
            "" => None,
            name => take(src, prefix, name, device),
        });
        let step = match R::COUNTS_STEPS {
            true => take_step(src, prefix)?,
            // Not saved: a saved state has taken at least one step, which is all such an
            // optimizer reads of it (PyTorch-form momentum's first step).
            false => 1,
        };
        let buffers = <R::State<Tensor<D>> as Slots<Tensor<D>>>::try_from_slots(slots)?;
        Some(Self { buffers, step })
    }
}

/// What is wrong with a module's saved optimizer state (`ModuleOptimizer::into_bytes`), found
/// by [`check_saved`] before anything is loaded. Burn's `ModuleOptimizer::from_bytes` itself
/// skips a parameter whose state does not unflatten (it restarts fresh, silently) and keeps one
/// of another shape (the next step then fails); this says what is wrong instead.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The bytes are not a valid burnpack file (truncated, damaged, or another kind of file).
    #[error("not a valid burnpack optimizer state: {0}")]
    Pack(#[from] burn::store::burn_pack::Error),
    /// The state could not be restored or the reference state written.
    #[error("optimizer state: {0}")]
    Record(#[from] burn::store::RecordError),
    /// An entry whose name does not start with a parameter id.
    #[error("entry `{0}` does not belong to a parameter (not a module optimizer state?)")]
    Stray(String),
    /// A tensor that does not carry the id of the parameter its name starts with.
    #[error(
        "entry `{entry}` carries parameter id {param:?}, not the one its name starts with (a damaged state?)"
    )]
    ParamId {
        /// The entry's full name.
        entry: String,
        /// The id it carries.
        param: Option<u64>,
    },
    /// A state for a parameter the module does not have.
    #[error(
        "it holds a state for parameter id {0}, which this model does not have (a state saved for another model?)"
    )]
    UnknownParam(u64),
    /// An entry this optimizer keeps for the parameter is absent.
    #[error("parameter `{param}`: no `{entry}` (a state saved by another optimizer?)")]
    Missing {
        /// The parameter's path in the module.
        param: String,
        /// The entry, without the parameter id.
        entry: String,
    },
    /// An entry this optimizer does not keep.
    #[error(
        "parameter `{param}`: `{entry}` is not part of this optimizer's state (a state saved by another optimizer?)"
    )]
    Unexpected {
        /// The parameter's path in the module.
        param: String,
        /// The entry, without the parameter id.
        entry: String,
    },
    /// A buffer whose shape is not the parameter's.
    #[error(
        "parameter `{param}`: `{entry}` is {got:?}, but the parameter is {want:?} (a state saved for another model size?)"
    )]
    Shape {
        /// The parameter's path in the module.
        param: String,
        /// The entry, without the parameter id.
        entry: String,
        /// Its shape.
        got: Vec<usize>,
        /// The shape this optimizer keeps (the parameter's).
        want: Vec<usize>,
    },
    /// A buffer of another element type, or a scalar of another kind or value.
    #[error("parameter `{param}`: `{entry}` is {got}, but this optimizer keeps {want}")]
    Kind {
        /// The parameter's path in the module.
        param: String,
        /// The entry, without the parameter id.
        entry: String,
        /// What it is.
        got: String,
        /// What this optimizer keeps.
        want: String,
    },
    /// No state at all, for an optimizer that keeps one.
    #[error("it holds no state, but this optimizer keeps a state for every parameter it steps")]
    Empty,
}

/// The entries of one parameter's saved state, by name without the `{id}.` prefix.
#[derive(Default)]
struct Entries {
    tensors: BTreeMap<String, (Vec<usize>, DType)>,
    scalars: BTreeMap<String, Scalar>,
}

/// The saved entries of each parameter, by parameter id.
fn entries(bytes: Bytes) -> Result<BTreeMap<u64, Entries>, StateError> {
    let reader = Reader::from_bytes(bytes)?;
    let mut out: BTreeMap<u64, Entries> = BTreeMap::new();
    let split = |name: &str| {
        name.split_once('.')
            .and_then(|(id, leaf)| Some((id.parse::<u64>().ok()?, leaf.to_owned())))
            .ok_or_else(|| StateError::Stray(name.to_owned()))
    };
    for (name, value) in reader.scalars() {
        let (id, leaf) = split(name)?;
        out.entry(id).or_default().scalars.insert(leaf, *value);
    }
    for t in reader.into_tensors()? {
        let (name, dtype, shape, param, _) = t.into_parts()?;
        let (id, leaf) = split(&name)?;
        // Burn's `load_record` expects every tensor to carry its parameter's id (it panics
        // otherwise), the one its name starts with.
        if param != Some(id) {
            return Err(StateError::ParamId { entry: name, param });
        }
        out.entry(id)
            .or_default()
            .tensors
            .insert(leaf, (shape.to_vec(), dtype));
    }
    Ok(out)
}

/// Collects each float parameter's path and a zero gradient of its shape.
struct Params {
    path: Vec<String>,
    paths: BTreeMap<u64, String>,
    zeros: GradientsParams,
}

impl ModuleVisitor for Params {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_owned());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.paths.insert(param.id.val(), self.path.join("."));
        self.zeros
            .register(param.id, param.val().inner().zeros_like());
    }
}

/// Checks that `bytes`, a saved `ModuleOptimizer` state, fits `optim` (the optimizer it is to
/// be loaded into) and `module` (the model it steps): every parameter in it is one of
/// `module`'s, and holds exactly the entries `optim` keeps for that parameter, each of the
/// parameter's shape and `optim`'s element type. The entries `optim` keeps are those of one
/// step of a copy of `optim` with zero gradients and `η = 0` on a copy of `module`, so any
/// optimizer (stoke's, an averaged one, Burn's own) is checked by the same rule.
///
/// Parameters absent from the file (e.g. an embedding table stepped by a
/// [`RowOptimizer`](crate::RowOptimizer)) are not an error, but a file with no state at all
/// is, when `optim` keeps one.
pub fn check_saved<M: Module>(
    optim: &ModuleOptimizer,
    module: &M,
    bytes: &Bytes,
) -> Result<(), StateError> {
    let saved = entries(bytes.clone())?;
    let mut params = Params {
        path: Vec::new(),
        paths: BTreeMap::new(),
        zeros: GradientsParams::new(),
    };
    module.visit(&mut params);
    if let Some(&id) = saved.keys().find(|id| !params.paths.contains_key(id)) {
        return Err(StateError::UnknownParam(id));
    }
    let mut reference = optim.clone();
    // `module.clone()` shares its buffers; a step on a shared buffer copies it first.
    let _ = reference.step(0.0, module.clone(), params.zeros);
    let want = entries(reference.into_bytes()?)?;
    if saved.is_empty() && !want.is_empty() {
        return Err(StateError::Empty);
    }
    for (id, got) in &saved {
        // Internal invariant: every saved id is one of the module's (checked above).
        let param = &params.paths[id];
        let empty = Entries::default();
        let want = want.get(id).unwrap_or(&empty);
        compare(param, got, want)?;
    }
    Ok(())
}

/// [`check_saved`], then the state loaded into `optim`.
pub fn load_checked<M: Module>(
    optim: ModuleOptimizer,
    module: &M,
    bytes: Bytes,
) -> Result<ModuleOptimizer, StateError> {
    check_saved(&optim, module, &bytes)?;
    Ok(optim.from_bytes(bytes)?)
}

/// One parameter's saved entries `got` against those the optimizer keeps, `want`.
fn compare(param: &str, got: &Entries, want: &Entries) -> Result<(), StateError> {
    let named = |entry: &String| (param.to_owned(), entry.clone());
    let kind = |entry: &String, got: &dyn fmt::Debug, want: &dyn fmt::Debug| {
        let (param, entry) = named(entry);
        let (got, want) = (format!("{got:?}"), format!("{want:?}"));
        StateError::Kind {
            param,
            entry,
            got,
            want,
        }
    };
    let mut names = got.tensors.keys().chain(got.scalars.keys());
    if let Some(entry) =
        names.find(|e| !want.tensors.contains_key(*e) && !want.scalars.contains_key(*e))
    {
        let (param, entry) = named(entry);
        return Err(StateError::Unexpected { param, entry });
    }
    for (entry, (shape, dtype)) in &want.tensors {
        let Some((got_shape, got_dtype)) = got.tensors.get(entry) else {
            let (param, entry) = named(entry);
            return Err(StateError::Missing { param, entry });
        };
        if got_shape != shape {
            let (param, entry) = named(entry);
            let (got, want) = (got_shape.clone(), shape.clone());
            return Err(StateError::Shape {
                param,
                entry,
                got,
                want,
            });
        }
        if got_dtype != dtype {
            return Err(kind(entry, got_dtype, dtype));
        }
    }
    for (entry, value) in &want.scalars {
        let Some(got_value) = got.scalars.get(entry) else {
            let (param, entry) = named(entry);
            return Err(StateError::Missing { param, entry });
        };
        // The kind of every scalar, and the value of the rank (the others are counts).
        let same = match entry.as_str() {
            RANK => got_value == value,
            _ => std::mem::discriminant(got_value) == std::mem::discriminant(value),
        };
        if !same {
            return Err(kind(entry, got_value, value));
        }
    }
    Ok(())
}

/// The scalar in which `ModuleOptimizer` saves a parameter's rank.
const RANK: &str = "__rank";
