//! An exponential moving average of the weights, for evaluation: updated in the optimizer's own
//! fused pass, kept (and saved) with the optimizer's state.
//!
//! With the weights `wₜ` after step `t` and decay `d`:
//!
//! ```text
//! e₁ = w₁                                    the first step copies
//! eₜ = lerp(eₜ₋₁, wₜ, 1 − d)                  = eₜ₋₁ + (1 − d)·(wₜ − eₜ₋₁)
//! ```
//!
//! `lerp` is evaluated as PyTorch's `torch.lerp` does: `e + t·(w − e)` for `t < 0.5`, else
//! `w − (w − e)·(1 − t)`, so the averages equal `torch.optim.swa_utils.AveragedModel` with
//! `get_ema_multi_avg_fn(d)` (parameters only, `use_buffers=False`) bit for bit up to `f32`.
//! [`Averaged`] wraps a stoke optimizer; [`ema_weights`] reads the averages out of a saved
//! `ModuleOptimizer` into a copy of the model. BatchNorm's running statistics are buffers, not
//! parameters: the copy keeps the live model's.
//!
//! | stoke | PyTorch | Keras | optax |
//! |---|---|---|---|
//! | `ema = d` | `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(d))` | `use_ema=True, ema_momentum=d` | `ema(d, debias=False)` |

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{LearningRate, ModuleOptimizer, Optimizer, RecordState, StateSink, StateSource};
use burn::store::RecordError;
use burn::store::burn_pack::{Reader, Scalar};
use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{ConfigError, Rules};
use crate::path::{self, EmaStep, Rule};
use crate::state::ParamState;
use crate::state::{put, take};

/// `lerp(e, w, t)` as `torch.lerp` evaluates it (see the [module docs](self)).
pub(crate) fn lerp<const D: usize>(e: Tensor<D>, w: Tensor<D>, t: f32) -> Tensor<D> {
    if t < 0.5 {
        // e + t·(w − e)
        e.clone().add(w.sub(e).mul_scalar(t))
    } else {
        // w − (w − e)·(1 − t)
        w.clone().sub(w.sub(e).mul_scalar(1.0 - t))
    }
}

/// A stoke optimizer that also keeps the moving average of each parameter's weights.
#[derive(Clone, Debug)]
pub struct Averaged<O> {
    inner: O,
    decay: f64,
}

impl<O: Rule> Averaged<O> {
    /// `inner`, with the average of decay `d ∈ (0, 1)`.
    pub fn new(inner: O, decay: f64) -> Result<Self, ConfigError> {
        let r = Rules::new("Averaged");
        r.require(
            decay > 0.0 && decay < 1.0,
            "ema",
            decay,
            "must be in (0, 1)",
        )?;
        Ok(Self { inner, decay })
    }

    /// The decay `d`.
    pub fn decay(&self) -> f64 {
        self.decay
    }
}

/// The inner optimizer's state of one parameter, and its weights' average.
#[derive(Clone, Debug)]
pub struct AveragedState<S, const D: usize> {
    /// The wrapped optimizer's state (none for plain SGD).
    pub inner: Option<S>,
    /// `e`, the average of the weights.
    pub ema: Tensor<D>,
    /// Steps averaged so far.
    pub count: u64,
}

/// The leaf names of the average in a saved state (beside the inner optimizer's own).
const EMA: &str = "ema";
const COUNT: &str = "ema_count";

impl<S: RecordState, const D: usize> RecordState for AveragedState<S, D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(inner) = &self.inner {
            inner.state_flatten(prefix, out);
        }
        put(out, prefix, EMA, &self.ema);
        out.push_scalar(prefix, COUNT, Scalar::from(self.count));
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let ema = take(src, prefix, EMA, device)?;
        let count = u64::try_from(src.take_scalar(prefix, COUNT)?).ok()?;
        let inner = S::state_unflatten(prefix, src, device);
        Some(Self { inner, ema, count })
    }
}

impl<O: Rule + Optimizer> Optimizer for Averaged<O> {
    type State<const D: usize> = AveragedState<ParamState<O, D>, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (inner, ema, count) = match state {
            Some(s) => (s.inner, Some(s.ema), s.count),
            None => (None, None, 0),
        };
        // t = 1 − d
        let weight = (1.0 - self.decay) as f32;
        let step = EmaStep { ema, weight };
        let s = path::run(&self.inner, lr, w, g, inner, None, Some(step));
        // Internal invariant: `step_with` returns an average whenever it was given one.
        let ema = s.ema.expect("an average was asked for");
        let state = AveragedState {
            inner: s.state,
            ema,
            count: count + 1,
        };
        (s.w, Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AveragedState {
            inner: state.inner.map(|s| s.to_device(device)),
            ema: state.ema.to_device(device),
            count: state.count,
        }
    }
}

/// A copy of `model` whose parameters are the averages kept by `optim` (an optimizer built with
/// an `ema`); parameters without an average (not yet stepped) keep their weights.
pub fn ema_weights<M: Module>(optim: &ModuleOptimizer, model: M) -> Result<M, RecordError> {
    let reader = Reader::from_bytes(optim.into_bytes()?)?;
    let mut averages = HashMap::new();
    for t in reader.into_tensors()? {
        let (name, dtype, shape, _, bytes) = t.into_parts()?;
        if let Some(id) = name
            .strip_suffix(&format!(".{EMA}"))
            .and_then(|id| id.parse::<u64>().ok())
        {
            averages.insert(id, TensorData::from_bytes(bytes, shape, dtype));
        }
    }
    struct Load(HashMap<u64, TensorData>);
    impl ModuleMapper for Load {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match self.0.remove(&param.id.val()) {
                Some(data) => param.map(|w| Tensor::from_data(data, &w.device())),
                None => param,
            }
        }
    }
    Ok(model.map(&mut Load(averages)))
}
