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

use crate::error::{ConfigError, Rules};
use crate::host::{Lanes, specialize, update};
use crate::rmsprop::ema;
use crate::state::{move_opt, put, put_step, take, take_step};

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

impl Adam {
    /// The tensor-op form of the step, for every device.
    fn step_tensors<const D: usize>(
        &self,
        lr: LearningRate,
        mut w: Tensor<D>,
        mut g: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let c = &self.config;
        if c.weight_decay != 0.0 {
            if c.decoupled_weight_decay {
                // w ← w·(1 − η·wd)
                w = w.mul_scalar(1.0 - lr * c.weight_decay);
            } else {
                // g ← g + wd·w
                g = g.add(w.clone().mul_scalar(c.weight_decay));
            }
        }
        let (m, v, v_max, step) = match state {
            Some(s) => (
                Some(s.exp_avg),
                Some(s.exp_avg_sq),
                s.max_exp_avg_sq,
                s.step + 1,
            ),
            None => (None, None, None, 1),
        };
        // m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²
        let m = ema(m, g.clone(), c.beta_1);
        let v = ema(v, g.square(), c.beta_2);
        // v̂ ← max(v̂, v)
        let v_max = c.amsgrad.then(|| match v_max {
            Some(v_max) => v_max.max_pair(v.clone()),
            None => v.clone(),
        });
        let (bias_2_sqrt, step_size) = self.corrections(lr, step);
        // w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
        let second = v_max.clone().unwrap_or_else(|| v.clone());
        let denominator = second.sqrt().div_scalar(bias_2_sqrt).add_scalar(c.epsilon);
        let w = w.sub(m.clone().div(denominator).mul_scalar(step_size));
        let state = AdamState {
            exp_avg: m,
            exp_avg_sq: v,
            max_exp_avg_sq: v_max,
            step,
        };
        (w, Some(state))
    }

    /// `(√(1−β₂ᵗ), η/(1−β₁ᵗ))`, the bias corrections of step `t`.
    fn corrections(&self, lr: LearningRate, step: u64) -> (f64, f64) {
        let t = step as i32;
        let bias_1 = 1.0 - self.config.beta_1.powi(t);
        let bias_2_sqrt = (1.0 - self.config.beta_2.powi(t)).sqrt();
        (bias_2_sqrt, lr / bias_1)
    }

    /// The same step as one in-place pass over CPU buffers (see `host.rs`): the same `f32`
    /// operations in the same order as [`step_tensors`](Self::step_tensors), per coordinate.
    pub(crate) fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdamState<D>>,
        rows: Option<&[u32]>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let c = &self.config;
        let zeros = || w.zeros_like();
        // Zero moments give the same first step as the tensor path's `(1−β)·g`.
        let (m, v, v_max, step) = match state {
            Some(s) => (s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq, s.step + 1),
            None => (zeros(), zeros(), None, 1),
        };
        let v_max = c.amsgrad.then(|| v_max.unwrap_or_else(zeros));
        let (bias_2_sqrt, step_size) = self.corrections(lr, step);
        let decay = c.weight_decay != 0.0;
        let (coupled, decoupled, amsgrad) = (
            decay && !c.decoupled_weight_decay,
            decay && c.decoupled_weight_decay,
            c.amsgrad,
        );
        let k = AdamCoefs {
            wd: c.weight_decay as f32,
            shrink: (1.0 - lr * c.weight_decay) as f32,
            b1: c.beta_1 as f32,
            nb1: (1.0 - c.beta_1) as f32,
            b2: c.beta_2 as f32,
            nb2: (1.0 - c.beta_2) as f32,
            bc2: bias_2_sqrt as f32,
            eps: c.epsilon as f32,
            size: step_size as f32,
        };
        let mut buffers = vec![m, v];
        buffers.extend(v_max);
        let (w, mut buffers) = update(
            w,
            g,
            buffers,
            rows,
            |l: Lanes<'_>| specialize!(adam_chunk[coupled, decoupled, amsgrad](&k, l)),
        );
        let max_exp_avg_sq = amsgrad.then(|| buffers.pop().expect("v̂"));
        let exp_avg_sq = buffers.pop().expect("v");
        let exp_avg = buffers.pop().expect("m");
        let state = AdamState {
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq,
            step,
        };
        (w, Some(state))
    }
}

/// The `f32` constants of one Adam step, each rounded from `f64` as the tensor ops round them.
struct AdamCoefs {
    wd: f32,
    shrink: f32,
    b1: f32,
    nb1: f32,
    b2: f32,
    nb2: f32,
    bc2: f32,
    eps: f32,
    size: f32,
}

/// One chunk of the fused Adam step; the options are const so each combination is a loop
/// without branches.
#[inline(always)]
fn adam_chunk<const COUPLED: bool, const DECOUPLED: bool, const AMSGRAD: bool>(
    k: &AdamCoefs,
    l: Lanes<'_>,
) {
    let n = l.w.len();
    let [m, v, v_max] = l.s;
    let (w, g, m, v) = (&mut l.w[..n], &l.g[..n], &mut m[..n], &mut v[..n]);
    let v_max = if AMSGRAD { &mut v_max[..n] } else { v_max };
    for i in 0..n {
        let (mut gi, mut wi) = (g[i], w[i]);
        if COUPLED {
            // g ← g + wd·w
            gi = gi + wi * k.wd;
        }
        if DECOUPLED {
            // w ← w·(1 − η·wd)
            wi = wi * k.shrink;
        }
        // m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²
        let mi = m[i] * k.b1 + gi * k.nb1;
        let vi = v[i] * k.b2 + (gi * gi) * k.nb2;
        m[i] = mi;
        v[i] = vi;
        let second = if AMSGRAD {
            // v̂ ← max(v̂, v), as max_pair: the new value only where the old one is lower
            let x = if v_max[i] < vi { vi } else { v_max[i] };
            v_max[i] = x;
            x
        } else {
            vi
        };
        // w ← w − η/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
        w[i] = wi - (mi / (second.sqrt() / k.bc2 + k.eps)) * k.size;
    }
}

impl Optimizer for Adam {
    type State<const D: usize> = AdamState<D>;

    crate::host::fused_step!();

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdamState {
            exp_avg: state.exp_avg.to_device(device),
            exp_avg_sq: state.exp_avg_sq.to_device(device),
            max_exp_avg_sq: move_opt(state.max_exp_avg_sq, device),
            step: state.step,
        }
    }
}
