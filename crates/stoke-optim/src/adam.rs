//! Adam (and AdamW): momentum on the gradient plus RMSProp's per-coordinate scaling, both with
//! bias correction.
//!
//! With gradient `g`, learning rate `η`, step `t = 1, 2, …`:
//!
//! ```text
//! g ← g + wd·w                       coupled L2 (torch.optim.Adam), when not decoupled
//! w ← w·(1 − η·wd)                   decoupled weight decay (torch.optim.AdamW)
//! m ← β₁·m + (1−β₁)·g                m₀ = 0
//! v ← β₂·v + (1−β₂)·g²               v₀ = 0
//! v̂ ← max(v̂, v)                      AMSGrad only (v̂₀ = 0); it then replaces v below
//! w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
//! ```
//!
//! The last line is `w ← w − η·m̂/(√v̂ + ε)` with `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`, arranged as
//! PyTorch computes it. ε is outside the root, as in PyTorch and Keras.
//!
//! | stoke | PyTorch `Adam`/`AdamW` | Keras `Adam` |
//! |---|---|---|
//! | `beta_1`, `beta_2` | `betas` | `beta_1`, `beta_2` |
//! | `epsilon` (1e-8) | `eps` (1e-8) | `epsilon` (1e-7; Keras adds it to `√v̂` without bias-correcting ε) |
//! | `amsgrad` | `amsgrad` | `amsgrad` |
//! | `weight_decay`, `decoupled_weight_decay = false` | `Adam(weight_decay)` | — |
//! | `weight_decay`, `decoupled_weight_decay = true` | `AdamW(weight_decay)` (default 1e-2) | `AdamW` |
//!
//! Burn's own `AdamConfig` defaults to ε = 1e-5.

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::host::{self, Lanes, specialize};
use crate::path::{self, EmaStep, Rule, Stepped, Stepping};
use crate::state::{Slots, filled, move_opt, put, put_step, take, take_step};

/// Configuration of [`Adam`].
#[derive(Config, Debug, PartialEq)]
pub struct AdamConfig {
    /// β₁, decay of the first moment. In `[0, 1)`.
    #[config(default = 0.9)]
    pub beta_1: f64,
    /// β₂, decay of the second moment. In `[0, 1)`.
    #[config(default = 0.999)]
    pub beta_2: f64,
    /// ε, added to `√v̂`. `> 0`.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Divide by the largest second moment seen so far (AMSGrad).
    #[config(default = false)]
    pub amsgrad: bool,
    /// Weight decay: coupled L2 (`g + wd·w`), or decoupled (AdamW) with `decoupled_weight_decay`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Apply `weight_decay` as AdamW does: `w ← w·(1 − η·wd)` before the Adam step.
    #[config(default = false)]
    pub decoupled_weight_decay: bool,
}

impl AdamConfig {
    /// `torch.optim.AdamW`'s defaults: Adam with decoupled weight decay 1e-2.
    pub fn adamw() -> Self {
        Self::new()
            .with_weight_decay(1e-2)
            .with_decoupled_weight_decay(true)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("AdamConfig");
        r.unit_interval("beta_1", self.beta_1)?;
        r.unit_interval("beta_2", self.beta_2)?;
        r.positive("epsilon", self.epsilon)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

/// Adam / AdamW; see the [module docs](self) for the equations.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    fused: bool,
    grad_scale: crate::GradScale,
}

crate::constructors!(AdamConfig, Adam);

/// The moments of one parameter.
#[derive(Clone, Debug)]
pub struct AdamState<const D: usize> {
    /// `m`, the running mean of `g`.
    pub exp_avg: Tensor<D>,
    /// `v`, the running mean of `g²`.
    pub exp_avg_sq: Tensor<D>,
    /// `v̂`, the largest `v` so far (AMSGrad only).
    pub max_exp_avg_sq: Option<Tensor<D>>,
    /// `t`, the number of steps taken.
    pub step: u64,
}

impl<const D: usize> RecordState for AdamState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "exp_avg", &self.exp_avg);
        put(out, prefix, "exp_avg_sq", &self.exp_avg_sq);
        if let Some(t) = &self.max_exp_avg_sq {
            put(out, prefix, "max_exp_avg_sq", t);
        }
        put_step(out, prefix, self.step);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            exp_avg: take(src, prefix, "exp_avg", device)?,
            exp_avg_sq: take(src, prefix, "exp_avg_sq", device)?,
            max_exp_avg_sq: take(src, prefix, "max_exp_avg_sq", device),
            step: take_step(src, prefix)?,
        })
    }
}

/// `m`, `v` and `v̂` of one parameter (tensors), of its CPU buffers, or of one coordinate.
pub(crate) struct Moments<X> {
    m: X,
    v: X,
    v_max: Option<X>,
}

impl<X> Slots<X> for Moments<X> {
    fn into_slots(self) -> [Option<X>; 3] {
        [Some(self.m), Some(self.v), self.v_max]
    }

    fn from_slots([m, v, v_max]: [Option<X>; 3]) -> Self {
        let (m, v) = (filled(m), filled(v));
        Moments { m, v, v_max }
    }
}

/// The options and `f32` constants of one step `t`.
#[derive(Clone, Copy)]
pub(crate) struct Constants {
    coupled: bool,
    decoupled: bool,
    amsgrad: bool,
    /// wd
    wd: f32,
    /// 1 − η·wd
    shrink: f32,
    /// β₁, 1 − β₁, β₂, 1 − β₂
    b1: f32,
    nb1: f32,
    b2: f32,
    nb2: f32,
    /// √(1−β₂ᵗ)
    bc2: f32,
    /// ε
    eps: f32,
    /// η/(1−β₁ᵗ)
    size: f32,
}

impl Rule for Adam {
    type Constants = Constants;
    type State<X> = Moments<X>;

    /// The constants of step `t` at learning rate `η`.
    fn constants(&self, lr: LearningRate, t: u64) -> Constants {
        let c = &self.config;
        let decay = c.weight_decay != 0.0;
        let t = t as i32;
        Constants {
            coupled: decay && !c.decoupled_weight_decay,
            decoupled: decay && c.decoupled_weight_decay,
            amsgrad: c.amsgrad,
            wd: c.weight_decay as f32,
            shrink: (1.0 - lr * c.weight_decay) as f32,
            b1: c.beta_1 as f32,
            nb1: (1.0 - c.beta_1) as f32,
            b2: c.beta_2 as f32,
            nb2: (1.0 - c.beta_2) as f32,
            bc2: (1.0 - c.beta_2.powi(t)).sqrt() as f32,
            eps: c.epsilon as f32,
            size: (lr / (1.0 - c.beta_1.powi(t))) as f32,
        }
    }

    /// The state before the first step: `m₀ = v₀ = 0` (and `v̂₀ = 0` with AMSGrad).
    #[inline(always)]
    fn fresh<X: Arith>(k: &Constants, w: &X) -> Moments<X> {
        Moments {
            m: w.zero_like(),
            v: w.zero_like(),
            v_max: k.amsgrad.then(|| w.zero_like()),
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(k: &Constants, mut w: X, mut g: X, s: Moments<X>) -> (X, Moments<X>) {
        if k.coupled {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        if k.decoupled {
            // w ← w·(1 − η·wd)
            w = w * k.shrink;
        }
        // m ← β₁·m + (1−β₁)·g
        let m = s.m * k.b1 + g.clone() * k.nb1;
        // v ← β₂·v + (1−β₂)·g²
        let v = s.v * k.b2 + g.square() * k.nb2;
        // v̂ ← max(v̂, v), AMSGrad only; it then replaces v below
        let v_max = s.v_max.map(|v_max| v_max.max(v.clone()));
        let second = v_max.clone().unwrap_or_else(|| v.clone());
        // w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
        let w = w - m.clone() / (second.sqrt() / k.bc2 + k.eps) * k.size;
        (w, Moments { m, v, v_max })
    }
}

/// [`update`] over one chunk of CPU buffers, for one combination of options.
#[inline(always)]
fn kernel<const COUPLED: bool, const DECOUPLED: bool, const AMSGRAD: bool>(
    k: &Constants,
    l: Lanes<'_>,
) {
    let k = &Constants {
        coupled: COUPLED,
        decoupled: DECOUPLED,
        amsgrad: AMSGRAD,
        ..*k
    };
    host::each::<Adam>(k, l);
}

impl Stepping for Adam {
    fn step_with<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdamState<D>>,
        rows: Option<&[u32]>,
        ema: Option<EmaStep<D>>,
    ) -> Stepped<D, AdamState<D>> {
        let t = state.as_ref().map_or(1, |s| s.step + 1);
        let k = self.constants(lr, t);
        let s = state.map(|s| Moments {
            m: s.exp_avg,
            v: s.exp_avg_sq,
            v_max: s.max_exp_avg_sq,
        });
        let (w, s, ema) = path::step::<Self, D>(
            self.fused,
            self.grad_scale.get(),
            &k,
            w,
            g,
            s,
            rows,
            ema,
            |l| specialize!(kernel[k.coupled, k.decoupled, k.amsgrad](&k, l)),
        );
        let state = AdamState {
            exp_avg: s.m,
            exp_avg_sq: s.v,
            max_exp_avg_sq: s.v_max,
            step: t,
        };
        Stepped {
            w,
            state: Some(state),
            ema,
        }
    }
}

impl Optimizer for Adam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let s = self.step_with(lr, w, g, state, None, None);
        (s.w, s.state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState {
            exp_avg: state.exp_avg.to_device(device),
            exp_avg_sq: state.exp_avg_sq.to_device(device),
            max_exp_avg_sq: move_opt(state.max_exp_avg_sq, device),
            step: state.step,
        }
    }
}
