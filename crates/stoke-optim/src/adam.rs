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
use burn::optim::LearningRate;

use crate::arith::Arith;
use crate::error::{ConfigError, Rules};
use crate::host::{self, Lanes, specialize};
use crate::path::Rule;
use crate::state::{Slots, filled};

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

crate::optimizer! {
    /// Adam / AdamW; see the [module docs](self) for the equations.
    Adam(AdamConfig);
    /// The state of one parameter: [`AdamMoments`] and the step count `t`.
    AdamState
}

/// `m`, `v` and `v̂` of one parameter (tensors), of its CPU buffers, or of one coordinate.
#[derive(Clone, Debug)]
pub struct AdamMoments<X> {
    /// `m`, the running mean of `g`.
    pub exp_avg: X,
    /// `v`, the running mean of `g²`.
    pub exp_avg_sq: X,
    /// `v̂`, the largest `v` so far (AMSGrad only).
    pub max_exp_avg_sq: Option<X>,
}

impl<X> Slots<X> for AdamMoments<X> {
    const NAMES: [&'static str; 3] = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    fn into_slots(self) -> [Option<X>; 3] {
        [
            Some(self.exp_avg),
            Some(self.exp_avg_sq),
            self.max_exp_avg_sq,
        ]
    }

    fn from_slots([m, v, v_max]: [Option<X>; 3]) -> Self {
        let (exp_avg, exp_avg_sq) = (filled(m), filled(v));
        let max_exp_avg_sq = v_max;
        AdamMoments {
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
        }
    }

    fn filled_slots() -> [bool; 3] {
        [true, true, false]
    }
}

/// The options and `f32` constants of one step `t`.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub struct Constants {
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
    const COUNTS_STEPS: bool = true;
    type Constants = Constants;
    type State<X: Clone + Send + Sync + 'static> = AdamMoments<X>;

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
    fn fresh<X: Arith>(k: &Constants, w: &X) -> AdamMoments<X> {
        AdamMoments {
            exp_avg: w.zero_like(),
            exp_avg_sq: w.zero_like(),
            max_exp_avg_sq: k.amsgrad.then(|| w.zero_like()),
        }
    }

    /// The update of the [module docs](self).
    #[inline(always)]
    fn update<X: Arith>(
        k: &Constants,
        mut w: X,
        mut g: X,
        s: AdamMoments<X>,
    ) -> (X, AdamMoments<X>) {
        let AdamMoments {
            exp_avg: m,
            exp_avg_sq: v,
            max_exp_avg_sq: v_max,
        } = s;
        if k.coupled {
            // g ← g + wd·w
            g = g + w.clone() * k.wd;
        }
        if k.decoupled {
            // w ← w·(1 − η·wd)
            w = w * k.shrink;
        }
        // m ← β₁·m + (1−β₁)·g
        let m = m * k.b1 + g.clone() * k.nb1;
        // v ← β₂·v + (1−β₂)·g²
        let v = v * k.b2 + g.square() * k.nb2;
        // v̂ ← max(v̂, v), AMSGrad only; it then replaces v below
        let v_max = v_max.map(|v_max| v_max.max(v.clone()));
        let second = v_max.clone().unwrap_or_else(|| v.clone());
        // w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
        let w = w - m.clone() / (second.sqrt() / k.bc2 + k.eps) * k.size;
        let s = AdamMoments {
            exp_avg: m,
            exp_avg_sq: v,
            max_exp_avg_sq: v_max,
        };
        (w, s)
    }

    fn kernel(k: &Constants, l: Lanes<'_>) {
        specialize!(kernel[k.coupled, k.decoupled, k.amsgrad](k, l))
    }

    fn knobs(&self) -> (bool, f32) {
        (self.fused, self.grad_scale.get())
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
