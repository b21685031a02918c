//! Which optimizer to run (`momentum:lr=0.003,momentum=0.9`), and stepping a two-element Burn
//! parameter with stoke's real [`ModuleOptimizer`]s.

use std::fmt;
use std::str::FromStr;

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stoke_optim::{AdaDeltaConfig, AdaGradConfig, AdamConfig, MomentumConfig, RmsPropConfig};

use super::SurfacesError;
use super::surface::Surface;

/// One optimizer and its hyper-parameters, as given on the command line:
/// `name[:key=value,...]`, e.g. `momentum:lr=0.003,momentum=0.9` or `rmsprop:lr=0.01,decay=0.9`.
///
/// | name | optimizer | `momentum` means | `decay` means |
/// |---|---|---|---|
/// | `sgd` | [`MomentumConfig::sgd`]: `w ← w − α·g` | — (must be 0) | — |
/// | `momentum` | [`MomentumConfig`], course form: `v ← β·v + α·g; w ← w − v` | β (0.9) | — |
/// | `rmsprop` | [`RmsPropConfig`]: `E ← γE + (1−γ)g²; w ← w − αg/√(E+ε)` | μ (0) | γ (0.9) |
/// | `adagrad` | [`AdaGradConfig`]: `S ← S + g²; w ← w − αg/√(S+ε)` | — | — |
/// | `adam` | [`AdamConfig`] | β₁ (0.9) | β₂ (0.999) |
/// | `adadelta` | [`AdaDeltaConfig`] (α defaults to 1) | — | ρ (0.9) |
///
/// Keys: `lr` (or `alpha`), `momentum` (or `beta`), `decay` (or `rho`, `gamma`), `batch`
/// (mini-batch size for the noisy quadratic's gradients, default 1).
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerSpec {
    /// One of [`OptimizerSpec::NAMES`].
    pub name: String,
    /// The learning rate α, `> 0`.
    pub lr: f64,
    /// β for momentum, μ for RMSProp, β₁ for Adam; unused (0) otherwise.
    pub momentum: f64,
    /// γ for RMSProp, β₂ for Adam, ρ for AdaDelta; unused (0) otherwise.
    pub decay: f64,
    /// How many noisy samples are averaged into one gradient on the noisy quadratic (≥ 1).
    pub batch: usize,
}

/// Which of `momentum`/`decay` an optimizer reads.
fn uses(name: &str) -> (bool, bool) {
    match name {
        "momentum" | "rmsprop" | "adam" => (true, name != "momentum"),
        "adadelta" => (false, true),
        _ => (false, false),
    }
}

impl OptimizerSpec {
    /// The optimizer names understood.
    pub const NAMES: [&'static str; 6] =
        ["sgd", "momentum", "rmsprop", "adagrad", "adam", "adadelta"];

    /// The optimizer with its default hyper-parameters (see the table above for what they are).
    pub fn new(name: &str) -> Result<Self, SurfacesError> {
        let name = name.trim().to_ascii_lowercase();
        let (lr, momentum, decay) = match name.as_str() {
            "sgd" => (0.003, 0.0, 0.0),
            "momentum" => (0.003, 0.9, 0.0),
            "rmsprop" => (0.01, 0.0, 0.9),
            "adagrad" => (0.1, 0.0, 0.0),
            "adam" => (0.01, 0.9, 0.999),
            "adadelta" => (1.0, 0.0, 0.9),
            _ => {
                return Err(SurfacesError::UnknownOptimizer {
                    name,
                    known: Self::NAMES.join(", "),
                });
            }
        };
        Ok(Self {
            name,
            lr,
            momentum,
            decay,
            batch: 1,
        })
    }

    /// Sets the learning rate α.
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = lr;
        self
    }

    /// Sets `momentum` (β, μ or β₁).
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets `decay` (γ, β₂ or ρ).
    pub fn with_decay(mut self, decay: f64) -> Self {
        self.decay = decay;
        self
    }

    /// Sets the mini-batch size used on the noisy quadratic.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// A short legend label, e.g. `momentum α=0.003 β=0.9`.
    pub fn label(&self) -> String {
        let mut s = format!("{} α={}", self.name, fmt_num(self.lr));
        let (m, d) = uses(&self.name);
        let (mname, dname) = match self.name.as_str() {
            "rmsprop" => ("μ", "γ"),
            "adam" => ("β₁", "β₂"),
            "adadelta" => ("", "ρ"),
            _ => ("β", ""),
        };
        if m && !(self.name == "rmsprop" && self.momentum == 0.0) {
            s += &format!(" {mname}={}", fmt_num(self.momentum));
        }
        if d {
            s += &format!(" {dname}={}", fmt_num(self.decay));
        }
        if self.batch != 1 {
            s += &format!(" batch={}", self.batch);
        }
        s
    }

    /// Checks the name, α, the batch size, that unused fields are 0, and the optimizer's own
    /// rules (e.g. momentum in `[0, 1)`).
    pub fn validate(&self) -> Result<(), SurfacesError> {
        self.module_optimizer().map(|_| ())
    }

    /// A fresh [`ModuleOptimizer`] of stoke's optimizer for this spec (momentum in the course's
    /// [`Classic`](stoke_optim::MomentumForm::Classic) form).
    pub fn module_optimizer(&self) -> Result<ModuleOptimizer, SurfacesError> {
        let bad = |reason: String| SurfacesError::BadOptimizer {
            spec: self.to_string(),
            reason,
        };
        if !Self::NAMES.contains(&self.name.as_str()) {
            return Err(SurfacesError::UnknownOptimizer {
                name: self.name.clone(),
                known: Self::NAMES.join(", "),
            });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(bad(format!("lr must be finite and > 0, got {}", self.lr)));
        }
        if self.batch == 0 {
            return Err(bad("batch must be >= 1".into()));
        }
        let (m, d) = uses(&self.name);
        if !m && self.momentum != 0.0 {
            return Err(bad(format!("{} takes no momentum", self.name)));
        }
        if !d && self.decay != 0.0 {
            return Err(bad(format!("{} takes no decay", self.name)));
        }
        let built = match self.name.as_str() {
            "sgd" => MomentumConfig::sgd().try_init(),
            "momentum" => MomentumConfig::new()
                .with_momentum(self.momentum)
                .try_init(),
            "rmsprop" => RmsPropConfig::new()
                .with_decay(self.decay)
                .with_momentum(self.momentum)
                .try_init(),
            "adagrad" => AdaGradConfig::new().try_init(),
            "adam" => AdamConfig::new()
                .with_beta_1(self.momentum)
                .with_beta_2(self.decay)
                .try_init(),
            _ => AdaDeltaConfig::new().with_rho(self.decay).try_init(),
        };
        built.map_err(|e| bad(e.to_string()))
    }
}

/// Formats a hyper-parameter compactly (`0.003`, `0.9`, `1e-5`).
pub(crate) fn fmt_num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:e}")
    } else {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

impl fmt::Display for OptimizerSpec {
    /// The canonical `name:lr=…,momentum=…,decay=…[,batch=…]` form, which parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:lr={}", self.name, self.lr)?;
        let (m, d) = uses(&self.name);
        if m || self.momentum != 0.0 {
            write!(f, ",momentum={}", self.momentum)?;
        }
        if d || self.decay != 0.0 {
            write!(f, ",decay={}", self.decay)?;
        }
        if self.batch != 1 {
            write!(f, ",batch={}", self.batch)?;
        }
        Ok(())
    }
}

impl FromStr for OptimizerSpec {
    type Err = SurfacesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, rest) = s.split_once(':').unwrap_or((s, ""));
        let mut spec = OptimizerSpec::new(name)?;
        let bad = |reason: String| SurfacesError::BadOptimizer {
            spec: s.to_string(),
            reason,
        };
        for kv in rest.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad(format!("'{kv}' is not key=value")))?;
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "batch" {
                spec.batch = v
                    .parse()
                    .map_err(|_| bad(format!("batch '{v}' is not a whole number")))?;
                continue;
            }
            let x: f64 = v
                .parse()
                .map_err(|_| bad(format!("{k} '{v}' is not a number")))?;
            match k.as_str() {
                "lr" | "alpha" => spec.lr = x,
                "momentum" | "beta" | "beta1" | "mu" => spec.momentum = x,
                "decay" | "rho" | "gamma" | "beta2" => spec.decay = x,
                _ => {
                    return Err(bad(format!(
                        "unknown key '{k}'; known keys: lr, momentum, decay, batch"
                    )));
                }
            }
        }
        spec.validate()?;
        Ok(spec)
    }
}

/// The parameter being optimized: `2·n` numbers, `(x, y)` pairs of `n` independent runs.
#[derive(Module, Debug)]
struct Points {
    w: Param<Tensor<1>>,
}

/// One independent run inside a batch of runs that share an optimizer spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lane {
    pub surface: Surface,
    pub start: [f64; 2],
    pub seed: u64,
}

/// Runs every lane for `steps` steps with one [`ModuleOptimizer`] stepping one Burn parameter
/// that holds all lanes' `(x, y)` pairs. Every stoke optimizer is element-wise (each number's
/// update reads only its own gradient and state), so this is the same as running the lanes one
/// by one, just with fewer tensor operations.
///
/// Each lane's result holds the start and one point per step, and ends early (shorter than
/// `steps + 1`) at the first point that is not finite or leaves the surface's
/// [`divergence_bounds`](Surface::divergence_bounds); that point is not included.
pub(crate) fn run_lanes(
    spec: &OptimizerSpec,
    lanes: &[Lane],
    steps: usize,
    device: &Device,
) -> Result<Vec<Vec<[f64; 2]>>, SurfacesError> {
    if steps == 0 {
        return Err(SurfacesError::ZeroSteps);
    }
    let mut optim = spec.module_optimizer()?;
    // The parameter lives on the autodiff flavour of the device, as in training
    // (`ModuleOptimizer` reads its autodiff context); gradients are plain tensors.
    let plain = device.clone().without_autodiff();
    let tracked = plain.clone().autodiff();
    let n = lanes.len();
    let mut rngs: Vec<ChaCha8Rng> = lanes
        .iter()
        .map(|l| ChaCha8Rng::seed_from_u64(l.seed))
        .collect();
    let init: Vec<f32> = lanes
        .iter()
        .flat_map(|l| [l.start[0] as f32, l.start[1] as f32])
        .collect();
    let mut model = Points {
        w: Param::from_tensor(Tensor::from_data(TensorData::new(init, [2 * n]), &tracked)),
    };
    let mut paths: Vec<Vec<[f64; 2]>> = vec![Vec::with_capacity(steps + 1); n];
    let mut live = vec![true; n];
    let mut grad = vec![0f32; 2 * n];
    for step in 0..=steps {
        let w = model
            .w
            .val()
            .into_data()
            .try_into_vec_as::<f64>()
            .map_err(|e| SurfacesError::Tensor(format!("{e:?}")))?;
        for (i, lane) in lanes.iter().enumerate() {
            if !live[i] {
                grad[2 * i] = 0.0;
                grad[2 * i + 1] = 0.0;
                continue;
            }
            let p = [w[2 * i], w[2 * i + 1]];
            let inside = p[0].is_finite()
                && p[1].is_finite()
                && lane.surface.divergence_bounds().contains(p);
            if !inside {
                live[i] = false;
                grad[2 * i] = 0.0;
                grad[2 * i + 1] = 0.0;
                continue;
            }
            paths[i].push(p);
            let g = lane.surface.gradient(p[0], p[1], spec.batch, &mut rngs[i]);
            grad[2 * i] = g[0] as f32;
            grad[2 * i + 1] = g[1] as f32;
        }
        if step == steps || !live.iter().any(|&l| l) {
            break;
        }
        let mut grads = GradientsParams::new();
        grads.register::<1>(
            model.w.id,
            Tensor::from_data(TensorData::new(grad.clone(), [2 * n]), &plain),
        );
        model = optim.step(spec.lr, model, grads);
    }
    Ok(paths)
}

/// The trajectory of one optimizer on one surface from the surface's start point: the start and
/// one point per step (`steps + 1` points), shorter if it diverged (see [`run_lanes`]).
///
/// The parameter is a Burn `Param<Tensor<1>>` of two elements on `device`, updated by the spec's
/// real stoke [`ModuleOptimizer`] from the surface's gradient (seeded noise on the noisy
/// quadratic). Deterministic for a seed.
pub fn trajectory(
    surface: Surface,
    spec: &OptimizerSpec,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<[f64; 2]>, SurfacesError> {
    trajectory_from(surface, surface.start(), spec, steps, seed, device)
}

/// Like [`trajectory`], from another start point.
pub fn trajectory_from(
    surface: Surface,
    start: [f64; 2],
    spec: &OptimizerSpec,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<[f64; 2]>, SurfacesError> {
    let lane = Lane {
        surface,
        start,
        seed,
    };
    Ok(run_lanes(spec, &[lane], steps, device)?.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_print_and_reject_bad_input() {
        let s: OptimizerSpec = "momentum:lr=0.003,momentum=0.9".parse().unwrap();
        assert_eq!((s.lr, s.momentum), (0.003, 0.9));
        assert_eq!(s.to_string().parse::<OptimizerSpec>().unwrap(), s);
        let r: OptimizerSpec = "RMSProp:alpha=0.01,rho=0.99".parse().unwrap();
        assert_eq!((r.name.as_str(), r.decay), ("rmsprop", 0.99));
        let a: OptimizerSpec = "adam".parse().unwrap();
        assert_eq!((a.momentum, a.decay), (0.9, 0.999));
        for (bad, needle) in [
            ("lbfgs", "lbfgs"),
            ("sgd:lr=0", "lr must be"),
            ("sgd:lr=-1", "lr must be"),
            ("sgd:lr=abc", "not a number"),
            ("sgd:momentum=0.9", "takes no momentum"),
            ("momentum:momentum=1.5", "momentum"),
            ("sgd:foo=1", "unknown key"),
            ("sgd:batch=0", "batch"),
            ("sgd:lr", "key=value"),
        ] {
            let e = bad.parse::<OptimizerSpec>().unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}
