//! AdaDelta: RMSProp whose numerator is a running RMS of past updates, so the step has the units
//! of the parameter and needs no learning rate (η = 1.0 is the usual choice).
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, decay `ρ`:
//!
//! ```text
//! E[g²]  ← ρ·E[g²] + (1−ρ)·g²                       E[g²]₀ = 0
//! Δ      = √(E[Δx²] + ε) / √(E[g²] + ε) · g          E[Δx²]₀ = 0
//! E[Δx²] ← ρ·E[Δx²] + (1−ρ)·Δ²
//! w      ← w − η·Δ
//! ```
//!
//! This is exactly `torch.optim.Adadelta` (ε inside both roots; η multiplies Δ).
//!
//! | stoke | PyTorch `Adadelta` | Keras `Adadelta` |
//! |---|---|---|
//! | `rho` | `rho` (0.9) | `rho` (0.95) |
//! | `epsilon` | `eps` (1e-6) | `epsilon` (1e-7) |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |
//! | learning rate | `lr` (1.0) | `learning_rate` (0.001) |

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::error::{ConfigError, Rules};
use crate::host::{Lanes, specialize, update};
use crate::rmsprop::ema;
use crate::state::{put, take};

/// Configuration of [`AdaDelta`].
#[derive(Config, Debug, PartialEq)]
pub struct AdaDeltaConfig {
    /// ρ, how much of each running average is kept each step. In `[0, 1)`.
    #[config(default = 0.9)]
    pub rho: f64,
    /// ε, inside both square roots. `> 0`.
    #[config(default = 1e-6)]
    pub epsilon: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl AdaDeltaConfig {
    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("AdaDeltaConfig");
        r.unit_interval("rho", self.rho)?;
        r.positive("epsilon", self.epsilon)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

/// AdaDelta; see the [module docs](self) for the equations.
#[derive(Clone, Debug)]
pub struct AdaDelta {
    config: AdaDeltaConfig,
    fused: bool,
}

crate::constructors!(AdaDeltaConfig, AdaDelta);

/// The two running averages of one parameter.
#[derive(Clone, Debug)]
pub struct AdaDeltaState<const D: usize> {
    /// `E[g²]`.
    pub square_avg: Tensor<D>,
    /// `E[Δx²]`.
    pub acc_delta: Tensor<D>,
}

impl<const D: usize> RecordState for AdaDeltaState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "square_avg", &self.square_avg);
        put(out, prefix, "acc_delta", &self.acc_delta);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            square_avg: take(src, prefix, "square_avg", device)?,
            acc_delta: take(src, prefix, "acc_delta", device)?,
        })
    }
}

impl AdaDelta {
    /// The tensor-op form of the step, for every device.
    fn step_tensors<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        mut g: Tensor<D>,
        state: Option<AdaDeltaState<D>>,
    ) -> (Tensor<D>, Option<AdaDeltaState<D>>) {
        let c = &self.config;
        if c.weight_decay != 0.0 {
            // g ← g + wd·w
            g = g.add(w.clone().mul_scalar(c.weight_decay));
        }
        let (square_avg, acc_delta) = match state {
            Some(s) => (Some(s.square_avg), s.acc_delta),
            None => (None, g.zeros_like()),
        };
        // E[g²] ← ρ·E[g²] + (1−ρ)·g²
        let square_avg = ema(square_avg, g.clone().square(), c.rho);
        // Δ = √(E[Δx²] + ε) / √(E[g²] + ε) · g
        let delta = acc_delta
            .clone()
            .add_scalar(c.epsilon)
            .sqrt()
            .div(square_avg.clone().add_scalar(c.epsilon).sqrt())
            .mul(g);
        // E[Δx²] ← ρ·E[Δx²] + (1−ρ)·Δ²
        let acc_delta = ema(Some(acc_delta), delta.clone().square(), c.rho);
        // w ← w − η·Δ
        let w = w.sub(delta.mul_scalar(lr));
        (
            w,
            Some(AdaDeltaState {
                square_avg,
                acc_delta,
            }),
        )
    }

    /// The same step as one in-place pass over CPU buffers (see `host.rs`): the same `f32`
    /// operations in the same order as [`step_tensors`](Self::step_tensors), per coordinate.
    /// A zero `E[g²]` gives the tensor path's first step exactly.
    pub(crate) fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdaDeltaState<D>>,
        rows: Option<&[u32]>,
    ) -> (Tensor<D>, Option<AdaDeltaState<D>>) {
        let c = &self.config;
        let (square_avg, acc_delta) = match state {
            Some(s) => (s.square_avg, s.acc_delta),
            None => (w.zeros_like(), w.zeros_like()),
        };
        let k = AdaDeltaCoefs {
            wd: c.weight_decay as f32,
            rho: c.rho as f32,
            keep: (1.0 - c.rho) as f32,
            eps: c.epsilon as f32,
            eta: lr as f32,
        };
        let decay = c.weight_decay != 0.0;
        let (w, mut buffers) = update(w, g, vec![square_avg, acc_delta], rows, |l: Lanes<'_>| {
            specialize!(adadelta_chunk[decay](&k, l))
        });
        let acc_delta = buffers.pop().expect("E[Δx²]");
        let square_avg = buffers.pop().expect("E[g²]");
        let state = AdaDeltaState {
            square_avg,
            acc_delta,
        };
        (w, Some(state))
    }
}

/// The `f32` constants of one step, each rounded from `f64` as the tensor ops round them.
struct AdaDeltaCoefs {
    wd: f32,
    rho: f32,
    keep: f32,
    eps: f32,
    eta: f32,
}

/// One chunk of the fused AdaDelta step (`DECAY`: weight decay on, as a loop of its own).
#[inline(always)]
fn adadelta_chunk<const DECAY: bool>(k: &AdaDeltaCoefs, l: Lanes<'_>) {
    let n = l.w.len();
    let [e, a, _] = l.s;
    let (w, g, e, a) = (&mut l.w[..n], &l.g[..n], &mut e[..n], &mut a[..n]);
    for i in 0..n {
        // g ← g + wd·w
        let gi = if DECAY { g[i] + w[i] * k.wd } else { g[i] };
        // E[g²] ← ρ·E[g²] + (1−ρ)·g²
        let ei = e[i] * k.rho + (gi * gi) * k.keep;
        e[i] = ei;
        // Δ = √(E[Δx²] + ε) / √(E[g²] + ε) · g;  E[Δx²] ← ρ·E[Δx²] + (1−ρ)·Δ²
        let delta = ((a[i] + k.eps).sqrt() / (ei + k.eps).sqrt()) * gi;
        a[i] = a[i] * k.rho + (delta * delta) * k.keep;
        // w ← w − η·Δ
        w[i] = w[i] - delta * k.eta;
    }
}

impl Optimizer for AdaDelta {
    type State<const D: usize> = AdaDeltaState<D>;

    crate::host::fused_step!();

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdaDeltaState {
            square_avg: state.square_avg.to_device(device),
            acc_delta: state.acc_delta.to_device(device),
        }
    }
}
