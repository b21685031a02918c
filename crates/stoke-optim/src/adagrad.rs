//! AdaGrad: per-coordinate step sizes that shrink with the sum of all squared gradients so far.
//!
//! With gradient `g` (plus `wd·w` when `weight_decay > 0`), learning rate `η`, step `t = 1, 2, …`:
//!
//! ```text
//! S ← S + g²                              S₀ = initial_accumulator
//! ηₜ = η / (1 + (t−1)·lr_decay)
//! w ← w − ηₜ·g / √(S + ε)                 (EpsilonPlacement::InsideSqrt: the course, Keras)
//! w ← w − ηₜ·g / (√S + ε)                 (EpsilonPlacement::OutsideSqrt: PyTorch)
//! ```
//!
//! The course's slide writes the sum up to step `t−1`; here, as in PyTorch, Keras and TensorFlow,
//! the accumulator already includes the current gradient when it divides it. That also keeps the
//! first step finite when `S₀ = 0` and ε is tiny: its size is `η·g/|g| = η` per coordinate.
//!
//! | stoke | PyTorch `Adagrad` | Keras `Adagrad` |
//! |---|---|---|
//! | `epsilon` | `eps` (1e-10), outside the root | `epsilon` (1e-7), inside the root |
//! | `initial_accumulator` | `initial_accumulator_value` (0) | `initial_accumulator_value` (0.1) |
//! | `lr_decay` | `lr_decay` | — |
//! | `weight_decay` (coupled L2) | `weight_decay` | — |

use burn::config::Config;
use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};

use crate::error::{ConfigError, Rules};
use crate::forms::EpsilonPlacement;
use crate::host::{Lanes, specialize, update};
use crate::state::{put, put_step, take, take_step};

/// Configuration of [`AdaGrad`].
#[derive(Config, Debug, PartialEq)]
pub struct AdaGradConfig {
    /// ε, keeps the denominator away from zero. `> 0`.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// Inside the square root (course, Keras) or outside (PyTorch).
    #[config(default = "EpsilonPlacement::InsideSqrt")]
    pub epsilon_placement: EpsilonPlacement,
    /// `S₀`, the accumulator's starting value. `≥ 0`.
    #[config(default = 0.0)]
    pub initial_accumulator: f64,
    /// Learning-rate decay per step, as PyTorch's `lr_decay`. `≥ 0`.
    #[config(default = 0.0)]
    pub lr_decay: f64,
    /// Coupled L2 weight decay: `g ← g + weight_decay·w`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
}

impl AdaGradConfig {
    /// `torch.optim.Adagrad`'s defaults: ε = 1e-10 outside the root, `S₀ = 0`.
    pub fn pytorch() -> Self {
        Self::new()
            .with_epsilon(1e-10)
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
            .with_initial_accumulator(0.0)
    }

    /// Keras' defaults: ε = 1e-7 inside the root, `S₀ = 0.1`.
    pub fn keras() -> Self {
        Self::new()
            .with_epsilon(1e-7)
            .with_epsilon_placement(EpsilonPlacement::InsideSqrt)
            .with_initial_accumulator(0.1)
    }

    /// Checks every field; the error names the field and the rule it breaks.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("AdaGradConfig");
        r.positive("epsilon", self.epsilon)?;
        r.non_negative("initial_accumulator", self.initial_accumulator)?;
        r.non_negative("lr_decay", self.lr_decay)?;
        r.non_negative("weight_decay", self.weight_decay)
    }
}

/// AdaGrad; see the [module docs](self) for the equations.
#[derive(Clone, Debug)]
pub struct AdaGrad {
    config: AdaGradConfig,
    fused: bool,
}

crate::constructors!(AdaGradConfig, AdaGrad);

/// The accumulated squared gradients of one parameter.
#[derive(Clone, Debug)]
pub struct AdaGradState<const D: usize> {
    /// `S`, the sum of squared gradients (plus `S₀`).
    pub sum: Tensor<D>,
    /// `t`, the number of steps taken.
    pub step: u64,
}

impl<const D: usize> RecordState for AdaGradState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        put(out, prefix, "sum", &self.sum);
        put_step(out, prefix, self.step);
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        Some(Self {
            sum: take(src, prefix, "sum", device)?,
            step: take_step(src, prefix)?,
        })
    }
}

impl AdaGrad {
    /// The tensor-op form of the step, for every device.
    fn step_tensors<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        mut g: Tensor<D>,
        state: Option<AdaGradState<D>>,
    ) -> (Tensor<D>, Option<AdaGradState<D>>) {
        let c = &self.config;
        if c.weight_decay != 0.0 {
            // g ← g + wd·w
            g = g.add(w.clone().mul_scalar(c.weight_decay));
        }
        let (sum, step) = match state {
            Some(s) => (s.sum, s.step + 1),
            None => (g.zeros_like().add_scalar(c.initial_accumulator), 1),
        };
        // S ← S + g²
        let sum = sum.add(g.clone().square());
        let lr_t = self.decayed(lr, step);
        // w ← w − ηₜ·g / √(S + ε)   or   w − ηₜ·g / (√S + ε)
        let denominator = c.epsilon_placement.denominator(sum.clone(), c.epsilon);
        let w = w.sub(g.div(denominator).mul_scalar(lr_t));
        (w, Some(AdaGradState { sum, step }))
    }

    /// ηₜ = η / (1 + (t−1)·lr_decay)
    fn decayed(&self, lr: LearningRate, step: u64) -> f64 {
        lr / (1.0 + (step - 1) as f64 * self.config.lr_decay)
    }

    /// The same step as one in-place pass over CPU buffers (see `host.rs`): the same `f32`
    /// operations in the same order as [`step_tensors`](Self::step_tensors), per coordinate.
    pub(crate) fn step_host<const D: usize>(
        &self,
        lr: LearningRate,
        w: Tensor<D>,
        g: Tensor<D>,
        state: Option<AdaGradState<D>>,
        rows: Option<&[u32]>,
    ) -> (Tensor<D>, Option<AdaGradState<D>>) {
        let c = &self.config;
        let (sum, step) = match state {
            Some(s) => (s.sum, s.step + 1),
            None => (w.zeros_like().add_scalar(c.initial_accumulator), 1),
        };
        let k = AdaGradCoefs {
            wd: c.weight_decay as f32,
            eps: c.epsilon as f32,
            eta: self.decayed(lr, step) as f32,
        };
        let decay = c.weight_decay != 0.0;
        let inside = c.epsilon_placement == EpsilonPlacement::InsideSqrt;
        let (w, mut sum) = update(
            w,
            g,
            vec![sum],
            rows,
            |l: Lanes<'_>| specialize!(adagrad_chunk[decay, inside](&k, l)),
        );
        let sum = sum.pop().expect("S");
        (w, Some(AdaGradState { sum, step }))
    }
}

/// The `f32` constants of one step, each rounded from `f64` as the tensor ops round them.
struct AdaGradCoefs {
    wd: f32,
    eps: f32,
    /// ηₜ
    eta: f32,
}

/// One chunk of the fused AdaGrad step; the options are const so each combination is a loop
/// without branches.
#[inline(always)]
fn adagrad_chunk<const DECAY: bool, const INSIDE: bool>(k: &AdaGradCoefs, l: Lanes<'_>) {
    let n = l.w.len();
    let [s, _, _] = l.s;
    let (w, g, s) = (&mut l.w[..n], &l.g[..n], &mut s[..n]);
    for i in 0..n {
        // g ← g + wd·w
        let gi = if DECAY { g[i] + w[i] * k.wd } else { g[i] };
        // S ← S + g²;  w ← w − ηₜ·g / √(S + ε)  or  w − ηₜ·g / (√S + ε)
        let si = s[i] + gi * gi;
        s[i] = si;
        let den = if INSIDE {
            (si + k.eps).sqrt()
        } else {
            si.sqrt() + k.eps
        };
        w[i] = w[i] - (gi / den) * k.eta;
    }
}

impl Optimizer for AdaGrad {
    type State<const D: usize> = AdaGradState<D>;

    crate::host::fused_step!();

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        AdaGradState {
            sum: state.sum.to_device(device),
            step: state.step,
        }
    }
}
