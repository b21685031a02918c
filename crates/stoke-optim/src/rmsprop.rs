//! RMSProp: divide each gradient by a running root-mean-square of its recent values.
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, decay `γ`:
//!
//! ```text
//! E ← γ·E + (1−γ)·g²                        E₀ = 0        (the slide writes (1−γ)g² + γE)
//! ḡ ← γ·ḡ + (1−γ)·g,   V = E − ḡ²            only when centered, else V = E
//! u = g / √(V + ε)       (EpsilonPlacement::InsideSqrt: the course, Keras)
//! u = g / (√V + ε)       (EpsilonPlacement::OutsideSqrt: PyTorch)
//! b ← μ·b + u,  w ← w − η·b                  when momentum μ > 0   (b₀ = 0)
//! w ← w − η·u                                otherwise
//! ```
//!
//! | stoke | PyTorch `RMSprop` | Keras `RMSprop` |
//! |---|---|---|
//! | `decay` (γ) | `alpha` (0.99) | `rho` (0.9) |
//! | `epsilon` | `eps` (1e-8), outside the root | `epsilon` (1e-7), inside the root |
//! | `centered` | `centered` | `centered` |
//! | `momentum` | `momentum` | `momentum` |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |
//!
//! [`RmsPropConfig::pytorch`] and [`RmsPropConfig::keras`] set the library defaults. Burn's own
//! `RmsPropConfig` defaults to momentum 0.9 and ε = 1e-5 outside the root.

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::error::{ConfigError, Rules};
use crate::forms::EpsilonPlacement;
use crate::host::{Lanes, specialize, update};
use crate::state::{move_opt, put, take};

/// Configuration of [`RmsProp`].
#[derive(Config, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// γ, how much of the running mean square is kept each step. In `[0, 1)`.
    #[config(default = 0.9)]
    pub decay: f64,
    /// ε, keeps the denominator away from zero. `> 0`.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Inside the square root (course, Keras) or outside (PyTorch).
    #[config(default = "EpsilonPlacement::InsideSqrt")]
    pub epsilon_placement: EpsilonPlacement,
    /// Divide by the running variance `E − ḡ²` instead of the mean square `E`.
    #[config(default = false)]
    pub centered: bool,
    /// μ, momentum on the normalised step. In `[0, 1)`.
    #[config(default = 0.0)]
    pub momentum: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl RmsPropConfig {
    /// `torch.optim.RMSprop`'s defaults: γ = 0.99, ε = 1e-8 outside the root.
    pub fn pytorch() -> Self {
        Self::new()
            .with_decay(0.99)
            .with_epsilon(1e-8)
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
    }

    /// Keras' defaults: γ (`rho`) = 0.9, ε = 1e-7 inside the root.
    pub fn keras() -> Self {
        Self::new()
            .with_decay(0.9)
            .with_epsilon(1e-7)
            .with_epsilon_placement(EpsilonPlacement::InsideSqrt)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("RmsPropConfig");
        r.unit_interval("decay", self.decay)?;
        r.positive("epsilon", self.epsilon)?;
        r.unit_interval("momentum", self.momentum)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

/// RMSProp; see the [module docs](self) for the equations.
#[derive(Clone, Debug)]
pub struct RmsProp {
    config: RmsPropConfig,
    fused: bool,
}

crate::constructors!(RmsPropConfig, RmsProp);

/// Running averages of one parameter.
#[derive(Clone, Debug)]
pub struct RmsPropState<const D: usize> {
    /// `E`, the running mean of `g²`.
    pub square_avg: Tensor<D>,
    /// `ḡ`, the running mean of `g` (centered only).
    pub grad_avg: Option<Tensor<D>>,
    /// `b`, the momentum buffer (momentum > 0 only).
    pub momentum_buffer: Option<Tensor<D>>,
}

impl<const D: usize> RecordState for RmsPropState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "square_avg", &self.square_avg);
        if let Some(t) = &self.grad_avg {
            put(out, prefix, "grad_avg", t);
        }
        if let Some(t) = &self.momentum_buffer {
            put(out, prefix, "momentum_buffer", t);
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            square_avg: take(src, prefix, "square_avg", device)?,
            grad_avg: take(src, prefix, "grad_avg", device),
            momentum_buffer: take(src, prefix, "momentum_buffer", device),
        })
    }
}

/// `γ·avg + (1−γ)·x`, starting from `(1−γ)·x` (a zero average) on the first step.
pub(crate) fn ema<const D: usize>(avg: Option<Tensor<D>>, x: Tensor<D>, gamma: f64) -> Tensor<D> {
    let fresh = x.mul_scalar(1.0 - gamma);
    match avg {
        Some(avg) => avg.mul_scalar(gamma).add(fresh),
        None => fresh,
    }
}

impl RmsProp {
    /// The tensor-op form of the step, for every device.
    fn step_tensors<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        mut g: Tensor<D>,
        state: Option<RmsPropState<D>>,
    ) -> (Tensor<D>, Option<RmsPropState<D>>) {
        let c = &self.config;
        if c.weight_decay != 0.0 {
            // g ← g + wd·w
            g = g.add(w.clone().mul_scalar(c.weight_decay));
        }
        let (square_avg, grad_avg, buffer) = match state {
            Some(s) => (Some(s.square_avg), s.grad_avg, s.momentum_buffer),
            None => (None, None, None),
        };
        // E ← γ·E + (1−γ)·g²
        let square_avg = ema(square_avg, g.clone().square(), c.decay);
        let (variance, grad_avg) = if c.centered {
            // ḡ ← γ·ḡ + (1−γ)·g;  V = E − ḡ²
            let grad_avg = ema(grad_avg, g.clone(), c.decay);
            (
                square_avg.clone().sub(grad_avg.clone().square()),
                Some(grad_avg),
            )
        } else {
            (square_avg.clone(), None)
        };
        // u = g / √(V + ε)  or  g / (√V + ε)
        let u = g.div(c.epsilon_placement.denominator(variance, c.epsilon));
        let (step, momentum_buffer) = if c.momentum > 0.0 {
            // b ← μ·b + u
            let b = match buffer {
                Some(b) => b.mul_scalar(c.momentum).add(u),
                None => u,
            };
            (b.clone(), Some(b))
        } else {
            (u, None)
        };
        // w ← w − η·step
        let w = w.sub(step.mul_scalar(lr));
        let state = RmsPropState {
            square_avg,
            grad_avg,
            momentum_buffer,
        };
        (w, Some(state))
    }

    /// The same step as one in-place pass over CPU buffers (see `host.rs`): the same `f32`
    /// operations in the same order as [`step_tensors`](Self::step_tensors), per coordinate.
    /// Zero-initialised averages give the tensor path's first step exactly.
    pub(crate) fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<RmsPropState<D>>,
        rows: Option<&[u32]>,
    ) -> (Tensor<D>, Option<RmsPropState<D>>) {
        let c = &self.config;
        let (centered, with_momentum) = (c.centered, c.momentum > 0.0);
        let zeros = || w.zeros_like();
        let (square_avg, grad_avg, buffer) = match state {
            Some(s) => (s.square_avg, s.grad_avg, s.momentum_buffer),
            None => (zeros(), None, None),
        };
        let mut buffers = vec![square_avg];
        if centered {
            buffers.push(grad_avg.unwrap_or_else(zeros));
        }
        if with_momentum {
            buffers.push(buffer.unwrap_or_else(zeros));
        }
        let k = RmsPropCoefs {
            wd: c.weight_decay as f32,
            gamma: c.decay as f32,
            keep: (1.0 - c.decay) as f32,
            eps: c.epsilon as f32,
            mu: c.momentum as f32,
            eta: lr as f32,
        };
        let decay = c.weight_decay != 0.0;
        let inside = c.epsilon_placement == EpsilonPlacement::InsideSqrt;
        let (w, mut buffers) = update(
            w,
            g,
            buffers,
            rows,
            |l: Lanes<'_>| specialize!(rmsprop_chunk[decay, centered, with_momentum, inside](&k, l)),
        );
        let momentum_buffer = with_momentum.then(|| buffers.pop().expect("b"));
        let grad_avg = centered.then(|| buffers.pop().expect("ḡ"));
        let square_avg = buffers.pop().expect("E");
        let state = RmsPropState {
            square_avg,
            grad_avg,
            momentum_buffer,
        };
        (w, Some(state))
    }
}

/// The `f32` constants of one step, each rounded from `f64` as the tensor ops round them.
struct RmsPropCoefs {
    wd: f32,
    gamma: f32,
    keep: f32,
    eps: f32,
    mu: f32,
    eta: f32,
}

/// One chunk of the fused RMSProp step; the options are const so each combination is a loop
/// without branches. State buffers: `E`, then `ḡ` when centered, then `b` with momentum.
#[inline(always)]
fn rmsprop_chunk<
    const DECAY: bool,
    const CENTERED: bool,
    const MOMENTUM: bool,
    const INSIDE: bool,
>(
    k: &RmsPropCoefs,
    l: Lanes<'_>,
) {
    let n = l.w.len();
    let [e, a, b] = l.s;
    let (gbar, b) = if CENTERED { (a, b) } else { (b, a) };
    let (w, g, e) = (&mut l.w[..n], &l.g[..n], &mut e[..n]);
    let gbar = if CENTERED { &mut gbar[..n] } else { gbar };
    let b = if MOMENTUM { &mut b[..n] } else { b };
    for i in 0..n {
        // g ← g + wd·w
        let gi = if DECAY { g[i] + w[i] * k.wd } else { g[i] };
        // E ← γ·E + (1−γ)·g²
        let ei = e[i] * k.gamma + (gi * gi) * k.keep;
        e[i] = ei;
        // V = E − ḡ² with ḡ ← γ·ḡ + (1−γ)·g, when centered
        let var = if CENTERED {
            let gb = gbar[i] * k.gamma + gi * k.keep;
            gbar[i] = gb;
            ei - gb * gb
        } else {
            ei
        };
        // u = g / √(V + ε)  or  g / (√V + ε)
        let u = gi
            / if INSIDE {
                (var + k.eps).sqrt()
            } else {
                var.sqrt() + k.eps
            };
        // b ← μ·b + u;  w ← w − η·b  (or w − η·u)
        let step = if MOMENTUM {
            let bi = b[i] * k.mu + u;
            b[i] = bi;
            bi
        } else {
            u
        };
        w[i] = w[i] - step * k.eta;
    }
}

impl Optimizer for RmsProp {
    type State<const D: usize> = RmsPropState<D>;

    crate::host::fused_step!();

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        RmsPropState {
            square_avg: state.square_avg.to_device(device),
            grad_avg: move_opt(state.grad_avg, device),
            momentum_buffer: move_opt(state.momentum_buffer, device),
        }
    }
}
