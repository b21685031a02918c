//! `stoke bench optim`: the time of one optimizer step over a realistic parameter set, next to
//! Burn's built-in equivalent and the memory-bandwidth floor, all measured in the same process.
//!
//! The parameter set is a text classifier's: one embedding table of `rows × 64` plus dense layers
//! `64×256 + 256 → BatchNorm(256) → 256×4 + 4`, `rows` chosen so the total is about `params`.
//! Every step gets fresh gradient buffers, made before the clock starts and freed after it
//! stops (as a backward pass would make them), and the device is synchronised before the clock
//! stops.
//!
//! The **floor** is a plain-Rust loop that reads and writes, in place and in one pass, exactly
//! the bytes an update must touch: it reads `w`, `g` and `k` state buffers and writes `w` and the
//! `k` state buffers, `(2 + k)·4 + (1 + k)·4` bytes per parameter (Adam: `k = 2`, 28 B), split
//! over the same threads as the fused optimizer steps. No implementation of the update can move
//! less memory, so `stoke_ms / floor_ms` is how far a step is from the hardware's limit.

use std::time::Instant;

use burn::optim::{Optimizer, momentum::MomentumConfig as BurnMomentumConfig};
use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use stoke_optim::transform::squared_norm;
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, Averaged, GradScale, MomentumConfig, MomentumForm,
    RmsPropConfig,
};

/// What to measure.
#[derive(Debug, Clone)]
pub struct OptimBenchOptions {
    /// About how many parameters (floats) to update per step.
    pub params: usize,
    /// Steps run and discarded before timing (state allocation, caches).
    pub warmup: usize,
    /// Timed steps; the median is reported.
    pub repeats: usize,
    /// Only the variants whose optimizer or variant name contains this (all when `None`).
    pub only: Option<String>,
    /// Whether the floor loop runs on the host rather than on the device measured (a GPU: the
    /// floor is still the CPU's loop, so stoke/floor says nothing about the device's limit).
    pub floor_on_host: bool,
}

impl Default for OptimBenchOptions {
    fn default() -> Self {
        Self {
            params: 10_000_000,
            warmup: 2,
            repeats: 7,
            only: None,
            floor_on_host: false,
        }
    }
}

/// One optimizer configuration, measured three ways plus its floor.
#[derive(Debug, Clone, Serialize)]
pub struct OptimBenchResult {
    /// `sgd`, `momentum`, `rmsprop`, `adagrad`, `adam`, `adadelta`.
    pub optimizer: String,
    /// `plain`, `momentum`, `centered`, `amsgrad`, `adamw`, `clip`, `clip+ema`.
    pub variant: String,
    /// Bytes the update must read and write per parameter (with a global-norm clip, the norm's
    /// read of the gradients too).
    pub bytes_per_param: usize,
    /// stoke's step as run by default (the fused in-place pass on a CPU backend), median ms.
    pub stoke_ms: f64,
    /// stoke's step as tensor ops (`with_fused(false)`, the path every other device uses).
    pub tensor_ops_ms: f64,
    /// Burn's built-in optimizer configured to compute the same update, if Burn has one.
    pub burn_ms: Option<f64>,
    /// The memory-bandwidth floor for `bytes_per_param`.
    pub floor_ms: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct OptimBenchReport {
    /// Parameters actually updated per step.
    pub params: usize,
    /// Threads of the rayon pool the steps ran in.
    pub threads: usize,
    /// The device, as Burn prints it.
    pub device: String,
    /// Whether `floor_ms` was measured on the host CPU, not on `device`.
    pub floor_on_host: bool,
    /// One row per optimizer configuration.
    pub results: Vec<OptimBenchResult>,
}

/// The parameter set: shapes of the rank-2 and rank-1 tensors.
struct Shapes {
    matrices: Vec<[usize; 2]>,
    vectors: Vec<usize>,
}

impl Shapes {
    const DIM: usize = 64;
    const HIDDEN: usize = 256;
    const CLASSES: usize = 4;

    fn for_total(params: usize) -> Self {
        let (d, h, c) = (Self::DIM, Self::HIDDEN, Self::CLASSES);
        let dense = d * h + h + 2 * h + h * c + c;
        let rows = params.saturating_sub(dense).div_ceil(d).max(1);
        Self {
            matrices: vec![[rows, d], [d, h], [h, c]],
            vectors: vec![h, h, h, c],
        }
    }

    fn total(&self) -> usize {
        self.matrices.iter().map(|[a, b]| a * b).sum::<usize>() + self.vectors.iter().sum::<usize>()
    }
}

/// Parameters and one set of gradients on a device.
struct Set {
    w2: Vec<Tensor<2>>,
    w1: Vec<Tensor<1>>,
    g2: Vec<Tensor<2>>,
    g1: Vec<Tensor<1>>,
}

impl Set {
    fn new(shapes: &Shapes, device: &Device) -> Self {
        let normal = |std| Distribution::Normal(0.0, std);
        Self {
            w2: shapes
                .matrices
                .iter()
                .map(|s| Tensor::random(*s, normal(0.1), device))
                .collect(),
            w1: shapes
                .vectors
                .iter()
                .map(|s| Tensor::random([*s], normal(0.1), device))
                .collect(),
            g2: shapes
                .matrices
                .iter()
                .map(|s| Tensor::random(*s, normal(1e-3), device))
                .collect(),
            g1: shapes
                .vectors
                .iter()
                .map(|s| Tensor::random([*s], normal(1e-3), device))
                .collect(),
        }
    }
}

impl Set {
    /// The global norm of the gradients.
    fn norm(&self) -> f64 {
        let sum: f64 = self.g2.iter().map(squared_norm).sum::<f64>()
            + self.g1.iter().map(squared_norm).sum::<f64>();
        sum.sqrt()
    }
}

/// A buffer of its own with the values of `t` (so a step may update it in place).
fn fresh<const D: usize>(t: &Tensor<D>) -> Tensor<D> {
    t.clone().mul_scalar(1.0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Something timed one round at a time, so that several can be measured in alternation and see
/// the same machine conditions (frequency, other load) in every round.
trait Timed {
    /// Milliseconds of one round (one optimizer step over the whole set, or one floor pass).
    fn round(&mut self) -> f64;
}

/// An optimizer stepping over its own copy of the parameter set.
struct Steps<'a, O: Optimizer> {
    optim: O,
    set: &'a Set,
    device: &'a Device,
    w2: Vec<Tensor<2>>,
    w1: Vec<Tensor<1>>,
    s2: Vec<Option<O::State<2>>>,
    s1: Vec<Option<O::State<1>>>,
    /// Global-norm clipping to `c` before each step, its factor handed to the optimizer's pass.
    clip: Option<(f64, GradScale)>,
}

impl<'a, O: Optimizer> Steps<'a, O> {
    fn new(optim: O, set: &'a Set, device: &'a Device) -> Self {
        Self {
            optim,
            set,
            device,
            w2: set.w2.iter().map(fresh).collect(),
            w1: set.w1.iter().map(fresh).collect(),
            s2: set.w2.iter().map(|_| None).collect(),
            s1: set.w1.iter().map(|_| None).collect(),
            clip: None,
        }
    }

    /// Clips to the global norm `c` first: one read of every gradient, then the factor
    /// `min(1, c/‖g‖)` applied through `scale`, which the optimizer must read.
    fn clipped(mut self, c: f64, scale: GradScale) -> Self {
        self.clip = Some((c, scale));
        self
    }
}

impl<O: Optimizer> Timed for Steps<'_, O> {
    fn round(&mut self) -> f64 {
        let (lr, device) = (1e-3, self.device);
        let g2: Vec<Tensor<2>> = self.set.g2.iter().map(fresh).collect();
        let g1: Vec<Tensor<1>> = self.set.g1.iter().map(fresh).collect();
        let _ = device.sync();
        let start = Instant::now();
        if let Some((c, scale)) = &self.clip {
            let sum: f64 =
                g2.iter().map(squared_norm).sum::<f64>() + g1.iter().map(squared_norm).sum::<f64>();
            scale.set((c / (sum.sqrt() + 1e-6)).min(1.0) as f32);
        }
        // Steps get handles to the gradients; the buffers are freed after the clock stops
        // (freeing them belongs to the backward pass that made them, not to the step).
        for (i, g) in g2.iter().enumerate() {
            // Move the parameter out so the step holds its only handle, as in a training loop.
            let w = std::mem::replace(&mut self.w2[i], Tensor::empty([0, 0], device));
            let (w, s) = self.optim.step(lr, w, g.clone(), self.s2[i].take());
            (self.w2[i], self.s2[i]) = (w, s);
        }
        for (i, g) in g1.iter().enumerate() {
            let w = std::mem::replace(&mut self.w1[i], Tensor::empty([0], device));
            let (w, s) = self.optim.step(lr, w, g.clone(), self.s1[i].take());
            (self.w1[i], self.s1[i]) = (w, s);
        }
        let _ = device.sync();
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        drop((g2, g1));
        elapsed
    }
}

/// The floor loop over `n` parameters with `k` state buffers.
struct Floor {
    w: Vec<f32>,
    g: Vec<f32>,
    state: Vec<Vec<f32>>,
    /// A first pass that reads `g` (a global-norm clip's norm).
    norm: bool,
}

impl Floor {
    fn new(n: usize, k: usize, norm: bool) -> Self {
        Self {
            w: vec![0.5; n],
            g: vec![1e-3; n],
            state: (0..k).map(|_| vec![0.1; n]).collect(),
            norm,
        }
    }

    /// Bytes per parameter: read w, g and the state, write w and the state; read g once more
    /// for a norm.
    fn bytes_per_param(&self) -> usize {
        let k = self.state.len();
        4 * (2 + k) + 4 * (1 + k) + if self.norm { 4 } else { 0 }
    }
}

impl Timed for Floor {
    fn round(&mut self) -> f64 {
        let start = Instant::now();
        if self.norm {
            std::hint::black_box(stoke_optim::floor::norm_pass(&self.g));
        }
        stoke_optim::floor::pass(&mut self.w, &self.g, &mut self.state);
        let elapsed = start.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(&self.w);
        elapsed
    }
}

/// Median milliseconds per round of each of `timed`, run in alternation: `warmup` rounds
/// discarded, then `repeats` rounds.
fn alternate(timed: &mut [&mut dyn Timed], opts: &OptimBenchOptions) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(opts.repeats); timed.len()];
    for round in 0..opts.warmup + opts.repeats {
        for (t, times) in timed.iter_mut().zip(&mut times) {
            let ms = t.round();
            if round >= opts.warmup {
                times.push(ms);
            }
        }
    }
    times.into_iter().map(median).collect()
}

/// Adam clipped to the global norm `c` (the factor applied inside its pass), with the weights'
/// moving average when `ema`.
fn clipped<'a>(
    set: &'a Set,
    device: &'a Device,
    c: f64,
    ema: bool,
    fused: bool,
) -> Box<dyn Timed + 'a> {
    let scale = GradScale::new();
    let adam = AdamConfig::new()
        .build()
        .with_grad_scale(scale.clone())
        .with_fused(fused);
    match ema {
        false => Box::new(Steps::new(adam, set, device).clipped(c, scale)),
        true => {
            // Internal invariant: 0.999 is in (0, 1), the only rule `Averaged::new` checks.
            let optim = Averaged::new(adam, 0.999).expect("a valid decay");
            Box::new(Steps::new(optim, set, device).clipped(c, scale))
        }
    }
}

/// Collects the results of [`run`].
struct Measure<'o> {
    results: Vec<OptimBenchResult>,
    opts: &'o OptimBenchOptions,
    n: usize,
}

impl Measure<'_> {
    /// One configuration with `k` state buffers: stoke fused, stoke as tensor ops, Burn's
    /// built-in (if any) and the floor, measured in alternation.
    fn add<'a>(
        &mut self,
        optimizer: &str,
        variant: &str,
        k: usize,
        stoke: &dyn Fn(bool) -> Box<dyn Timed + 'a>,
        burn: Option<Box<dyn Timed + 'a>>,
    ) {
        self.add_floor(
            optimizer,
            variant,
            Floor::new(self.n, k, false),
            stoke,
            burn,
        );
    }

    /// The same against `floor`.
    fn add_floor<'a>(
        &mut self,
        optimizer: &str,
        variant: &str,
        mut floor: Floor,
        stoke: &dyn Fn(bool) -> Box<dyn Timed + 'a>,
        burn: Option<Box<dyn Timed + 'a>>,
    ) {
        if let Some(only) = &self.opts.only
            && !optimizer.contains(only.as_str())
            && !variant.contains(only.as_str())
        {
            return;
        }
        let (mut fused, mut ops) = (stoke(true), stoke(false));
        let mut burn = burn;
        let mut timed: Vec<&mut dyn Timed> = vec![&mut floor, fused.as_mut(), ops.as_mut()];
        if let Some(b) = burn.as_mut() {
            timed.push(b.as_mut());
        }
        let ms = alternate(&mut timed, self.opts);
        self.results.push(OptimBenchResult {
            optimizer: optimizer.into(),
            variant: variant.into(),
            bytes_per_param: floor.bytes_per_param(),
            stoke_ms: ms[1],
            tensor_ops_ms: ms[2],
            burn_ms: ms.get(3).copied(),
            floor_ms: ms[0],
        });
    }
}

/// Runs every configuration on `device`, in the current rayon pool (see
/// `rayon::ThreadPool::install` to choose the number of threads).
pub fn run(device: &Device, opts: &OptimBenchOptions) -> OptimBenchReport {
    let shapes = Shapes::for_total(opts.params);
    let n = shapes.total();
    let set = Set::new(&shapes, device);
    let mut m = Measure {
        results: Vec::new(),
        opts,
        n,
    };
    macro_rules! stoke {
        ($config:expr) => {
            &|fused| Box::new(Steps::new($config.build().with_fused(fused), &set, device))
        };
    }
    macro_rules! burn {
        ($config:expr) => {
            Some(Box::new(Steps::new($config.build(), &set, device)))
        };
    }
    use burn::optim as b;

    let sgd = MomentumConfig::new().with_momentum(0.0);
    m.add("sgd", "plain", 0, stoke!(sgd), burn!(b::SgdConfig::new()));
    let momentum = MomentumConfig::new().with_form(MomentumForm::PyTorch);
    let burn_momentum = BurnMomentumConfig::new().with_dampening(0.0);
    m.add(
        "momentum",
        "momentum",
        1,
        stoke!(momentum),
        burn!(b::SgdConfig::new().with_momentum(Some(burn_momentum.clone()))),
    );
    let rms = RmsPropConfig::pytorch();
    let burn_rms = b::RmsPropConfig::new()
        .with_momentum(0.0)
        .with_epsilon(1e-8);
    m.add("rmsprop", "plain", 1, stoke!(rms), burn!(burn_rms));
    m.add(
        "rmsprop",
        "centered",
        2,
        stoke!(rms.clone().with_centered(true)),
        burn!(burn_rms.clone().with_centered(true)),
    );
    m.add(
        "rmsprop",
        "momentum",
        2,
        stoke!(rms.clone().with_momentum(0.9)),
        burn!(burn_rms.clone().with_momentum(0.9)),
    );
    m.add(
        "adagrad",
        "plain",
        1,
        stoke!(AdaGradConfig::pytorch()),
        burn!(b::AdaGradConfig::new().with_epsilon(1e-10)),
    );
    let burn_adam = b::AdamConfig::new().with_epsilon(1e-8);
    m.add(
        "adam",
        "plain",
        2,
        stoke!(AdamConfig::new()),
        burn!(burn_adam),
    );
    m.add(
        "adam",
        "amsgrad",
        3,
        stoke!(AdamConfig::new().with_amsgrad(true)),
        burn!(burn_adam.clone().with_amsgrad(true)),
    );
    m.add(
        "adam",
        "adamw",
        2,
        stoke!(AdamConfig::adamw()),
        burn!(
            b::AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(1e-2)
        ),
    );
    // Global-norm clipping (to half the gradients' norm, so the factor is applied): the norm is
    // one extra read of the gradients, which the floor reads too, and the factor rides in the
    // Adam pass. Burn has no global clipping (its `GradientClipping::Norm` is per tensor). With
    // `ema`, the weights' moving average is updated in the same pass too (one more buffer read
    // and written: the floor of k = 3 buffers has the same bytes).
    let c = 0.5 * set.norm();
    m.add_floor(
        "adam",
        "clip",
        Floor::new(n, 2, true),
        &|f| clipped(&set, device, c, false, f),
        None,
    );
    m.add_floor(
        "adam",
        "clip+ema",
        Floor::new(n, 3, true),
        &|f| clipped(&set, device, c, true, f),
        None,
    );
    m.add("adadelta", "plain", 2, stoke!(AdaDeltaConfig::new()), None);
    OptimBenchReport {
        params: n,
        threads: rayon::current_num_threads(),
        device: format!("{device:?}"),
        floor_on_host: opts.floor_on_host,
        results: m.results,
    }
}
