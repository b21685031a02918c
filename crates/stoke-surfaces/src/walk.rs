//! Stepping a two-element Burn parameter `(x, y)` with stoke's real
//! [`ModuleOptimizer`](burn::optim::ModuleOptimizer)s, from the surface's gradients: one path
//! per start point.

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use stoke_optim::Outcome;

use crate::error::SurfacesError;
use crate::racer::Racer;
use crate::surface::Surface;

/// The CPU device trajectories run on (flex when compiled in, else ndarray).
pub fn cpu_device() -> Result<Device, SurfacesError> {
    let backend = stoke_optim::Backend::default_cpu().ok_or(SurfacesError::NoCpuBackend)?;
    backend.device().map_err(SurfacesError::Device)
}

/// The parameter being optimized: `2·n` numbers, `(x, y)` pairs of `n` independent runs.
#[derive(Module, Debug)]
struct Points {
    w: Param<Tensor<1>>,
}

/// One independent walk across a surface, inside a batch of walks that share a [`Racer`]:
/// where it starts, and the seed of its gradient noise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk {
    pub surface: Surface,
    pub start: [f64; 2],
    pub seed: u64,
}

impl Walk {
    /// A walk on `surface` from `start` with noise seed `seed`.
    pub fn at(surface: Surface, start: [f64; 2], seed: u64) -> Self {
        Self {
            surface,
            start,
            seed,
        }
    }
}

/// Runs every walk for `steps` steps with one
/// [`ModuleOptimizer`](burn::optim::ModuleOptimizer) stepping one Burn parameter that holds all
/// walks' `(x, y)` pairs. Every stoke optimizer is element-wise (each number's update reads only
/// its own gradient and state), so this is the same as running the walks one by one, just with
/// fewer tensor operations. The learning rate of each step comes from the racer's
/// [`Scheduler`](stoke_optim::Scheduler) (one schedule step per applied optimizer step), and the
/// gradients pass through stoke's [`Chain`] of the racer's transforms first (global-norm
/// clipping, skipping, accumulation), as in training. A global norm is not element-wise, and a
/// plateau schedule reads each walk's own loss, so with either the walks run one by one.
///
/// Each walk's result holds the start and one point per step, and ends early (shorter than
/// `steps + 1`) at the first point that is not finite or leaves the surface's
/// [`divergence_bounds`](Surface::divergence_bounds); that point is not included.
pub(crate) fn run_walks(
    racer: &Racer,
    walks: &[Walk],
    steps: usize,
    device: &Device,
) -> Result<Vec<Vec<[f64; 2]>>, SurfacesError> {
    walk_traced(racer, walks, steps, device, None)
}

/// [`run_walks`], and with `trace` (one walk only) what each applied step saw.
fn walk_traced(
    racer: &Racer,
    walks: &[Walk],
    steps: usize,
    device: &Device,
    mut trace: Option<&mut Vec<StepTrace>>,
) -> Result<Vec<Vec<[f64; 2]>>, SurfacesError> {
    assert!(
        trace.is_none() || walks.len() == 1,
        "a trace follows one walk"
    );
    if steps == 0 {
        return Err(SurfacesError::ZeroSteps);
    }
    let mut scheduler = racer.scheduler(steps)?;
    if walks.len() > 1 && (!racer.spec.transforms.is_identity() || scheduler.needs_metric()) {
        return walks
            .iter()
            .map(|w| Ok(run_walks(racer, std::slice::from_ref(w), steps, device)?.remove(0)))
            .collect();
    }
    let (mut optim, mut chain) = racer.chained_optimizer()?;
    // The parameter lives on the autodiff flavour of the device, as in training
    // (`ModuleOptimizer` reads its autodiff context); gradients are plain tensors.
    let plain = device.clone().without_autodiff();
    let tracked = plain.clone().autodiff();
    let n = walks.len();
    let mut rngs: Vec<ChaCha8Rng> = walks
        .iter()
        .map(|w| ChaCha8Rng::seed_from_u64(w.seed))
        .collect();
    let init: Vec<f32> = walks
        .iter()
        .flat_map(|w| [w.start[0] as f32, w.start[1] as f32])
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
            .map_err(SurfacesError::Tensor)?;
        for (i, walk) in walks.iter().enumerate() {
            if !live[i] {
                grad[2 * i] = 0.0;
                grad[2 * i + 1] = 0.0;
                continue;
            }
            let p = [w[2 * i], w[2 * i + 1]];
            let inside = p[0].is_finite()
                && p[1].is_finite()
                && walk.surface.divergence_bounds().contains(p);
            if !inside {
                live[i] = false;
                grad[2 * i] = 0.0;
                grad[2 * i + 1] = 0.0;
                continue;
            }
            paths[i].push(p);
            let g = walk.surface.gradient(p[0], p[1], racer.batch, &mut rngs[i]);
            grad[2 * i] = g[0] as f32;
            grad[2 * i + 1] = g[1] as f32;
        }
        if step == steps || !live.iter().any(|&l| l) {
            break;
        }
        // the loss a plateau schedule reads: f at the walk's point (one walk, see above)
        if let ([walk], Some(p)) = (walks, paths[0].last()) {
            scheduler.report(walk.surface.value(p[0], p[1]));
        }
        let mut grads = GradientsParams::new();
        grads.register::<1>(
            model.w.id,
            Tensor::from_data(TensorData::new(grad.clone(), [2 * n]), &plain),
        );
        match chain.prepare(&model, grads) {
            (Outcome::Applied { clip, .. }, Some(grads)) => {
                let lr = scheduler.step();
                model = optim.step(lr, model, grads);
                if let Some(trace) = trace.as_deref_mut() {
                    trace.push(StepTrace {
                        gradient: [f64::from(grad[0]), f64::from(grad[1])],
                        lr,
                        clip,
                        state: optimizer_state(&optim)?,
                    });
                }
            }
            (outcome, _) => {
                if let Some(trace) = trace.as_deref_mut() {
                    let last = trace.last().map(|t| t.state.clone()).unwrap_or_default();
                    trace.push(StepTrace {
                        gradient: [f64::from(grad[0]), f64::from(grad[1])],
                        lr: 0.0,
                        clip: match outcome {
                            Outcome::Skipped { .. } => 0.0,
                            _ => 1.0,
                        },
                        state: last,
                    });
                }
            }
        }
    }
    Ok(paths)
}

/// The trajectory of one optimizer on one surface from the surface's start point: the start and
/// one point per step (`steps + 1` points), shorter if it diverged: it ends before the first
/// point that is not finite or leaves the surface's
/// [`divergence_bounds`](Surface::divergence_bounds).
///
/// The parameter is a Burn `Param<Tensor<1>>` of two elements on `device`, updated by the
/// racer's real stoke [`ModuleOptimizer`](burn::optim::ModuleOptimizer) from the surface's
/// gradient (seeded noise on the noisy quadratic). Deterministic for a seed.
pub fn trajectory(
    surface: Surface,
    racer: &Racer,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<[f64; 2]>, SurfacesError> {
    trajectory_from(surface, surface.start(), racer, steps, seed, device)
}

/// What one step of a traced walk saw (see [`trace_from`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepTrace {
    /// The surface's gradient at the point the step started from, before any transform.
    pub gradient: [f64; 2],
    /// The learning rate of the step, from the racer's schedule (0 when no step was applied:
    /// accumulating, or skipped).
    pub lr: f64,
    /// The clip factor `s = min(1, c/(‖g‖ + 10⁻⁶))` stoke's `Chain` applied (1 unclipped).
    pub clip: f64,
    /// The optimizer's state after the step, as it saves it: each buffer by its PyTorch name
    /// (`momentum_buffer`, `square_avg`, `sum`, `exp_avg`, `exp_avg_sq`, …) with its `(x, y)`
    /// values, and scalars (e.g. Adam's step count) as `[value, value]`.
    pub state: Vec<(String, [f64; 2])>,
}

/// The optimizer's saved state (its [`OptimizerRecord`](burn::optim::OptimizerRecord) read
/// back): one entry per buffer of the single two-element parameter, name without the
/// parameter-id prefix, in name order.
fn optimizer_state(optim: &ModuleOptimizer) -> Result<Vec<(String, [f64; 2])>, SurfacesError> {
    use burn::store::burn_pack::{DType, Reader, Scalar};
    let bytes = optim.into_bytes().map_err(SurfacesError::Record)?;
    let reader = Reader::from_bytes(bytes).map_err(SurfacesError::State)?;
    let field = |name: &str| name.split_once('.').map_or(name, |(_, f)| f).to_string();
    let mut out: Vec<(String, [f64; 2])> = Vec::new();
    for (name, v) in reader.scalars() {
        let v = match v {
            Scalar::Int(i) => *i as f64,
            Scalar::UInt(u) => *u as f64,
            Scalar::Float(f) => *f,
            Scalar::Bool(b) => f64::from(u8::from(*b)),
        };
        if !name.ends_with("__rank") {
            out.push((field(name), [v, v]));
        }
    }
    for t in reader.into_tensors().map_err(SurfacesError::State)? {
        let (name, dtype, _, _, data) = t.into_parts().map_err(SurfacesError::State)?;
        let values: Vec<f64> = match dtype {
            DType::F64 => data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
            _ => data
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap_or([0; 4]))))
                .collect(),
        };
        if let [x, y] = values[..] {
            out.push((field(&name), [x, y]));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Like [`trajectory_from`], also returning what each step saw: the gradient, the scheduled
/// rate, the clip factor and the optimizer's state after it (one [`StepTrace`] per step taken,
/// so one fewer than the points).
pub fn trace_from(
    surface: Surface,
    start: [f64; 2],
    racer: &Racer,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<(Vec<[f64; 2]>, Vec<StepTrace>), SurfacesError> {
    let mut trace = Vec::new();
    let walks = [Walk::at(surface, start, seed)];
    let points = walk_traced(racer, &walks, steps, device, Some(&mut trace))?.remove(0);
    trace.truncate(points.len().saturating_sub(1));
    Ok((points, trace))
}

/// Like [`trajectory`], from another start point.
pub fn trajectory_from(
    surface: Surface,
    start: [f64; 2],
    racer: &Racer,
    steps: usize,
    seed: u64,
    device: &Device,
) -> Result<Vec<[f64; 2]>, SurfacesError> {
    let walks = [Walk::at(surface, start, seed)];
    Ok(run_walks(racer, &walks, steps, device)?.remove(0))
}
