//! What a real training step puts around the optimizer, and Burn 0.22 lacks: clipping by the
//! **global** gradient norm, **skipping** a step whose gradients are not finite, and
//! **averaged** gradient accumulation. ([`Transforms`] also carries the decay of the weights'
//! moving average, which the optimizer itself keeps: [`crate::ema`].)
//!
//! With the gradients `gᵢ` of all parameters (and, for a row-sparse embedding update, of the
//! table's used rows) of `n` accumulated micro-batches `ḡᵢ = (1/n) Σₖ gᵢ⁽ᵏ⁾`:
//!
//! ```text
//! ‖ḡ‖ = √(Σᵢ Σⱼ ḡᵢⱼ²)                       the global norm: one read of every gradient
//! skip the step                              when ‖ḡ‖ is not finite (skip_nonfinite)
//! s = min(1, c / (‖ḡ‖ + 10⁻⁶))               with clip_norm = c, else s = 1
//! gᵢ ← (s/n)·Σₖ gᵢ⁽ᵏ⁾                         then the optimizer's step
//! ```
//!
//! The factor `s/n` is not a pass of its own: the stoke optimizers apply it to each gradient
//! inside their fused step through a shared [`GradScale`]; any other optimizer gets gradients
//! scaled by one tensor op per parameter. A skipped step leaves the weights, the optimizer
//! state and the accumulated gradients exactly as they were, as if its batch had not been
//! there (`optax.apply_if_finite` also skips; PyTorch's `GradScaler` skips and lowers its loss
//! scale).
//!
//! | stoke | PyTorch | optax | Keras |
//! |---|---|---|---|
//! | `clip_norm = c` | `torch.nn.utils.clip_grad_norm_(params, c)` (same `10⁻⁶`) | `clip_by_global_norm(c)` (no `10⁻⁶`) | `global_clipnorm = c` |
//! | `clip_tensor_norm = c` | `clip_grad_norm_` called on each parameter alone | `clip_by_block_rms` is the RMS form; none by the norm | `clipnorm = c` |
//! | `skip_nonfinite` | the skip of `GradScaler.step` | `apply_if_finite` | — |
//! | `accumulate = n` | sum `loss / n` over `n` backward passes | `MultiSteps(every_k_schedule = n)` | `gradient_accumulation_steps = n` |
//!
//! Burn's own `GradientClipping::Norm` clips each tensor by its own norm (Keras' `clipnorm`),
//! and its `GradientsAccumulator` sums without the `1/n`, so the step size and any L2 factor
//! grow with `n`.
//!
//! **Per-tensor clipping** (`clip_tensor_norm = c`) is Burn's `GradientClipping::Norm(c)`, run
//! by Burn's own `ModuleOptimizer` before each parameter's step:
//!
//! ```text
//! gᵢ ← gᵢ · min(1, c / (‖gᵢ‖ + ε_f32))        each parameter tensor i by its own norm
//! ```
//!
//! so two gradients of norms 3 and 4 with `c = 1` both come out with norm 1, where the global
//! clip (`clip_norm = 1`, `‖g‖ = 5`) gives 0.6 and 0.8 and keeps their direction. It is not a
//! part of [`Chain`]: [`OptimizerSpec::try_init_scaled`](crate::OptimizerSpec::try_init_scaled)
//! sets it on the `ModuleOptimizer` it builds (`ModuleOptimizer::with_grad_clipping`; around an
//! optimizer of your own, call that). Because it runs on the gradients the optimizer receives,
//! before the shared scale, it is rejected together with `clip_norm` or `accumulate > 1` (it
//! would clip the raw or summed gradients, not the ones stepped with).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Rules};
use crate::{GradScale, host};

/// PyTorch's `clip_grad_norm_` adds this to the norm before dividing.
const NORM_EPS: f64 = 1e-6;

/// The transforms of one training run; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Transforms {
    /// `c`: rescale the gradients so their global norm is at most `c`. `None`: no clipping.
    pub clip_norm: Option<f64>,
    /// `c`: rescale each parameter's gradient so its own norm is at most `c` (Burn's
    /// `GradientClipping::Norm`, set on the `ModuleOptimizer`; see the [module docs](self)).
    pub clip_tensor_norm: Option<f64>,
    /// Skip a step whose gradients are not all finite instead of applying it.
    pub skip_nonfinite: bool,
    /// `n`: average the gradients of `n` micro-batches into one step (1 = every batch steps).
    pub accumulate: usize,
    /// `d`: keep an exponential moving average of the weights with decay `d ∈ (0, 1)`, for
    /// evaluation (see [`crate::ema`]). `None`: no average.
    pub ema: Option<f64>,
}

impl Default for Transforms {
    fn default() -> Self {
        Self {
            clip_norm: None,
            clip_tensor_norm: None,
            skip_nonfinite: false,
            accumulate: 1,
            ema: None,
        }
    }
}

impl Transforms {
    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("Transforms");
        if let Some(c) = self.clip_norm {
            r.positive("clip_norm", c)?;
        }
        if let Some(c) = self.clip_tensor_norm {
            r.positive("clip_tensor_norm", c)?;
            r.require(
                self.clip_norm.is_none(),
                "clip_tensor_norm",
                c,
                "cannot be combined with clip_norm (choose per-tensor or global clipping)",
            )?;
            r.require(
                self.accumulate == 1,
                "clip_tensor_norm",
                c,
                "needs accumulate = 1 (Burn would clip the summed gradients)",
            )?;
        }
        if let Some(d) = self.ema {
            r.require(d > 0.0 && d < 1.0, "ema", d, "must be in (0, 1)")?;
        }
        r.require(
            self.accumulate >= 1,
            "accumulate",
            self.accumulate,
            "must be at least 1",
        )
    }

    /// Whether every transform is off.
    pub fn is_identity(&self) -> bool {
        *self == Self::default()
    }
}

/// What one micro-batch's gradients led to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Added to the accumulation; no step yet.
    Accumulating {
        /// Micro-batches accumulated so far in this window.
        micro: usize,
    },
    /// Not finite: nothing changed (with `skip_nonfinite`).
    Skipped {
        /// The micro-batch's global norm, NaN or infinite.
        norm: f64,
    },
    /// A step was (or, from [`Chain::prepare`], is to be) applied.
    Applied {
        /// The global norm `‖ḡ‖` before clipping, when it was computed (clipping or skipping on).
        norm: Option<f64>,
        /// The clip factor `s` (1 when not clipped).
        clip: f64,
    },
}

/// The transforms of [`Transforms`] around an optimizer, with their state (the accumulated
/// gradients and counters). Use [`Chain::step`] with a `ModuleOptimizer`, or [`Chain::prepare`]
/// when the optimizer step is your own.
#[derive(Debug)]
pub struct Chain {
    transforms: Transforms,
    /// The handle the optimizers read, when they are stoke optimizers built with it.
    scale: Option<GradScale>,
    /// Accumulated gradient sums of this window, and how many micro-batches they hold.
    sum: Option<GradientsParams>,
    micro: usize,
    /// Steps applied and skipped so far.
    applied: u64,
    skipped: u64,
}

impl Chain {
    /// The transforms around any optimizer: the scale is applied to the gradients as tensor ops.
    pub fn new(transforms: Transforms) -> Result<Self, ConfigError> {
        transforms.validate()?;
        Ok(Self {
            transforms,
            scale: None,
            sum: None,
            micro: 0,
            applied: 0,
            skipped: 0,
        })
    }

    /// The transforms around stoke optimizers built with `scale` (e.g.
    /// [`OptimizerSpec::try_init_scaled`](crate::OptimizerSpec::try_init_scaled)): the clip factor
    /// and `1/n` are applied inside their fused pass.
    pub fn fused(transforms: Transforms, scale: GradScale) -> Result<Self, ConfigError> {
        Ok(Self {
            scale: Some(scale),
            ..Self::new(transforms)?
        })
    }

    /// The transforms.
    pub fn transforms(&self) -> &Transforms {
        &self.transforms
    }

    /// Steps applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Steps skipped so far (non-finite gradients).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Micro-batches in the current accumulation window (0 right after a step).
    pub fn pending(&self) -> usize {
        self.micro
    }

    /// Takes one micro-batch's gradients `grads` of `module`'s parameters. Returns the gradients
    /// to step with, when it is time to step.
    pub fn prepare<M: Module>(
        &mut self,
        module: &M,
        grads: GradientsParams,
    ) -> (Outcome, Option<GradientsParams>) {
        self.prepare_with(module, grads, None)
    }

    /// [`prepare`](Self::prepare) with gradients kept outside `grads` as well: an embedding
    /// table's used rows `rows`, counted in the norm and scaled in place when no fused optimizer
    /// applies the scale. Only without accumulation (the rows differ from batch to batch):
    /// with `accumulate > 1` it is an error and nothing changes.
    pub fn prepare_rows<M: Module>(
        &mut self,
        module: &M,
        grads: GradientsParams,
        rows: &mut Tensor<2>,
    ) -> Result<(Outcome, Option<GradientsParams>), ConfigError> {
        let n = self.transforms.accumulate;
        Rules::new("Transforms").require(
            n == 1,
            "accumulate",
            n,
            "must be 1 when row gradients outside the module's are given",
        )?;
        Ok(self.prepare_with(module, grads, Some(rows)))
    }

    fn prepare_with<M: Module>(
        &mut self,
        module: &M,
        grads: GradientsParams,
        extra: Option<&mut Tensor<2>>,
    ) -> (Outcome, Option<GradientsParams>) {
        let n = self.transforms.accumulate;
        // ‖g‖ of this micro-batch, when a transform needs it
        let alone = (self.transforms.skip_nonfinite
            || (n == 1 && self.transforms.clip_norm.is_some()))
        .then(|| global_norm(module, &grads, extra.as_deref()));
        if let Some(norm) = alone
            && self.transforms.skip_nonfinite
            && !norm.is_finite()
        {
            self.skipped += 1;
            return (Outcome::Skipped { norm }, None);
        }
        let sum = match self.sum.take() {
            Some(sum) => add_into(module, sum, grads),
            None => grads,
        };
        self.micro += 1;
        if self.micro < n {
            self.sum = Some(sum);
            let micro = self.micro;
            return (Outcome::Accumulating { micro }, None);
        }
        let micro = std::mem::take(&mut self.micro);
        self.finish(module, sum, micro, alone, extra)
    }

    /// Ends an accumulation window early: the gradients of its `m < n` micro-batches, averaged
    /// over `m`, to step with (`None` when nothing is pending). A training loop calls it at the
    /// end of an epoch, so that no window spans a checkpoint.
    pub fn flush<M: Module>(&mut self, module: &M) -> Option<(Outcome, GradientsParams)> {
        let sum = self.sum.take()?;
        let micro = std::mem::take(&mut self.micro);
        let (outcome, grads) = self.finish(module, sum, micro, None, None);
        grads.map(|g| (outcome, g))
    }

    /// The step of a window of `micro` micro-batches whose gradients sum to `sum` (`alone`: the
    /// norm of the only one, when known).
    fn finish<M: Module>(
        &mut self,
        module: &M,
        sum: GradientsParams,
        micro: usize,
        alone: Option<f64>,
        mut extra: Option<&mut Tensor<2>>,
    ) -> (Outcome, Option<GradientsParams>) {
        // ‖ḡ‖ = ‖Σₖ g⁽ᵏ⁾‖ / n
        let norm = match (alone, micro) {
            (Some(norm), 1) => Some(norm),
            _ => self
                .transforms
                .clip_norm
                .map(|_| global_norm(module, &sum, extra.as_deref()) / micro as f64),
        };
        // s = min(1, c / (‖ḡ‖ + 10⁻⁶))
        let clip = match (self.transforms.clip_norm, norm) {
            (Some(c), Some(norm)) if norm.is_finite() => (c / (norm + NORM_EPS)).min(1.0),
            _ => 1.0,
        };
        // g ← (s/n)·Σₖ g⁽ᵏ⁾, the factor rounded to f32 once
        let factor = (clip / micro as f64) as f32;
        let grads = match &self.scale {
            Some(scale) => {
                scale.set(factor);
                sum
            }
            None => {
                if let Some(extra) = extra.as_deref_mut()
                    && factor != 1.0
                {
                    *extra = extra.clone().mul_scalar(factor);
                }
                scale_all(module, sum, factor)
            }
        };
        self.applied += 1;
        (Outcome::Applied { norm, clip }, Some(grads))
    }

    /// [`prepare`](Self::prepare), then `optim.step(lr, module, grads)` when it is time to step;
    /// the module comes back unchanged otherwise.
    pub fn step<M: Module>(
        &mut self,
        optim: &mut ModuleOptimizer,
        lr: f64,
        module: M,
        grads: GradientsParams,
    ) -> (M, Outcome) {
        match self.prepare(&module, grads) {
            (outcome, Some(grads)) => (optim.step(lr, module, grads), outcome),
            (outcome, None) => (module, outcome),
        }
    }
}

/// `√(Σᵢ ‖gᵢ‖²)` over the gradients of `module`'s parameters in `grads`, and `extra`: one read of
/// each gradient, summed in `f64` (NaN or ∞ when any gradient is not finite).
pub fn global_norm<M: Module>(
    module: &M,
    grads: &GradientsParams,
    extra: Option<&Tensor<2>>,
) -> f64 {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: f64,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.total += squared_norm(&g);
            }
        }
    }
    let mut v = SumSquares { grads, total: 0.0 };
    module.visit(&mut v);
    let extra = extra.map_or(0.0, squared_norm);
    (v.total + extra).sqrt()
}

/// `‖t‖² = Σ x²` of one tensor in `f64`: one read of the CPU buffer on a CPU backend (the same
/// bits at any thread count), tensor ops elsewhere.
pub fn squared_norm<const D: usize>(t: &Tensor<D>) -> f64 {
    match host::sum_squares(t) {
        Some(s) => s,
        None => t.clone().square().sum().into_scalar::<f64>(),
    }
}

/// `a + b`, parameter by parameter (a parameter with a gradient in only one of them keeps it).
fn add_into<M: Module>(
    module: &M,
    mut a: GradientsParams,
    mut b: GradientsParams,
) -> GradientsParams {
    struct Add<'a> {
        a: &'a mut GradientsParams,
        b: &'a mut GradientsParams,
    }
    impl ModuleVisitor for Add<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let sum = match (self.a.remove::<D>(param.id), self.b.remove::<D>(param.id)) {
                (Some(x), Some(y)) => x.add(y),
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return,
            };
            self.a.register(param.id, sum);
        }
    }
    module.visit(&mut Add {
        a: &mut a,
        b: &mut b,
    });
    a
}

/// Every gradient times `s` (skipped when `s = 1`, which changes no bit).
fn scale_all<M: Module>(module: &M, mut grads: GradientsParams, s: f32) -> GradientsParams {
    if s == 1.0 {
        return grads;
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        s: f32,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, g.mul_scalar(self.s));
            }
        }
    }
    module.visit(&mut Scale {
        grads: &mut grads,
        s,
    });
    grads
}
