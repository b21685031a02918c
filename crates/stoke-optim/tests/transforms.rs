//! Global-norm clipping, skipping non-finite steps and averaged accumulation (`transform.rs`),
//! on every compiled-in backend.
//!
//! * Clipping replays `torch.nn.utils.clip_grad_norm_` (fixture recorded by
//!   `scripts/torch_transforms.py`): the global norm, the clipped gradients, and one SGD and one
//!   Adam step on them, both with the factor applied inside stoke's fused pass (a shared
//!   `GradScale`) and as tensor ops around any optimizer.
//! * Accumulating the gradients of 4 batches of 8 examples gives the step of one batch of the
//!   32: for a loss that is a mean over examples, `∇(1/32 Σ₃₂ ℓ) = (1/4) Σₖ ∇(1/8 Σ₈ ℓ)` exactly in
//!   real arithmetic (no BatchNorm, whose statistics depend on the batch), so only `f32`
//!   rounding separates them.
//! * A non-finite gradient at step k, skipped, leaves exactly the weights and optimizer state of
//!   a run without step k.

mod common;

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use common::devices;
use serde::Deserialize;
use stoke_optim::transform::global_norm;
use stoke_optim::{
    AdamConfig, Averaged, Chain, GradScale, MomentumConfig, MomentumForm, OptimizerSpec, Outcome,
    Transforms, ema_weights,
};

#[derive(Deserialize)]
struct Fixture {
    source: String,
    cases: Vec<ClipCase>,
    ema: Vec<EmaCase>,
}

/// `AveragedModel(get_ema_multi_avg_fn(decay))` over SGD with momentum 0.9 (PyTorch's form), lr
/// 0.1, on a 3×4 `w` and a 4-vector `b`: the averages after each step.
#[derive(Deserialize)]
struct EmaCase {
    decay: f64,
    init: Vec<Vec<f64>>,
    grads: Vec<Vec<Vec<f64>>>,
    ema: Vec<Vec<Vec<f64>>>,
}

#[derive(Deserialize)]
struct ClipCase {
    max_norm: f64,
    params: Vec<Vec<f64>>,
    grads: Vec<Vec<f64>>,
    total_norm: f64,
    clipped: Vec<Vec<f64>>,
    after: After,
}

#[derive(Deserialize)]
struct After {
    sgd: Vec<Vec<f64>>,
    adam: Vec<Vec<f64>>,
}

/// The fixture's three parameters: a 3×4 matrix, a 5-vector, and a 2-vector whose gradient is 0.
#[derive(Module, Debug)]
struct Three {
    a: Param<Tensor<2>>,
    b: Param<Tensor<1>>,
    c: Param<Tensor<1>>,
}

fn t1(v: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

fn t2(v: &[f64], device: &Device) -> Tensor<2> {
    t1(v, device).reshape([3, 4])
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    let d = t.into_data().convert::<f32>();
    d.as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&x| x as f64)
        .collect()
}

impl Three {
    fn new(v: &[Vec<f64>], device: &Device) -> Self {
        let device = &device.clone().autodiff();
        Self {
            a: Param::from_tensor(t2(&v[0], device)),
            b: Param::from_tensor(t1(&v[1], device)),
            c: Param::from_tensor(t1(&v[2], device)),
        }
    }

    fn grads(&self, v: &[Vec<f64>]) -> GradientsParams {
        let device = self.a.val().device().without_autodiff();
        let mut g = GradientsParams::new();
        g.register(self.a.id, t2(&v[0], &device));
        g.register(self.b.id, t1(&v[1], &device));
        g.register(self.c.id, t1(&v[2], &device));
        g
    }

    fn values(&self) -> Vec<Vec<f64>> {
        vec![
            values(self.a.val()),
            values(self.b.val()),
            values(self.c.val()),
        ]
    }
}

fn close(got: &[f64], want: &[f64], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * w.abs().max(1e-3);
        assert!((g - w).abs() <= tol, "{what}[{i}]: {g} vs {w}");
    }
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/transforms.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn clip(max_norm: f64) -> Transforms {
    Transforms {
        clip_norm: Some(max_norm),
        ..Transforms::default()
    }
}

#[test]
fn global_norm_and_clipped_gradients_match_clip_grad_norm() {
    let f = fixture();
    for (backend, device) in devices() {
        for case in &f.cases {
            let what = format!("{backend} max_norm {} ({})", case.max_norm, f.source);
            let m = Three::new(&case.params, &device);
            let norm = global_norm(&m, &m.grads(&case.grads), None);
            close(&[norm], &[case.total_norm], 1e-6, &format!("{what}: norm"));
            // Around any optimizer: the gradients come back scaled.
            let mut chain = Chain::new(clip(case.max_norm)).unwrap();
            let (outcome, grads) = chain.prepare(&m, m.grads(&case.grads));
            let grads = grads.expect("a step");
            assert!(matches!(outcome, Outcome::Applied { .. }), "{what}");
            let got = [
                values(grads.get::<2>(m.a.id).unwrap()),
                values(grads.get::<1>(m.b.id).unwrap()),
                values(grads.get::<1>(m.c.id).unwrap()),
            ];
            for (i, (g, w)) in got.iter().zip(&case.clipped).enumerate() {
                close(g, w, 1e-6, &format!("{what}: clipped grad {i}"));
            }
        }
    }
}

/// One step of `optim` at `lr` on the case's gradients, clipped by `chain`.
fn step_after_clip(
    case: &ClipCase,
    device: &Device,
    lr: f64,
    mut optim: ModuleOptimizer,
    mut chain: Chain,
) -> Vec<Vec<f64>> {
    let m = Three::new(&case.params, device);
    let grads = m.grads(&case.grads);
    let (m, outcome) = chain.step(&mut optim, lr, m, grads);
    assert!(matches!(outcome, Outcome::Applied { .. }));
    m.values()
}

#[test]
fn sgd_and_adam_after_clipping_match_torch_fused_and_as_tensor_ops() {
    let f = fixture();
    for (backend, device) in devices() {
        for case in &f.cases {
            let what = format!("{backend} max_norm {}", case.max_norm);
            // Each optimizer built twice: reading the chain's shared scale, and plain.
            let sgd = |scale: &GradScale| -> (ModuleOptimizer, ModuleOptimizer) {
                let fused = MomentumConfig::sgd().build().with_grad_scale(scale.clone());
                (fused.into(), MomentumConfig::sgd().init())
            };
            let adam = |scale: &GradScale| -> (ModuleOptimizer, ModuleOptimizer) {
                let fused = AdamConfig::new().build().with_grad_scale(scale.clone());
                (fused.into(), AdamConfig::new().init())
            };
            let runs: [(&str, f64, _, &dyn Fn(&GradScale) -> _); 2] = [
                ("sgd", 0.1, &case.after.sgd, &sgd),
                ("adam", 0.01, &case.after.adam, &adam),
            ];
            for (name, lr, want, build) in runs {
                let scale = GradScale::new();
                let (fused, plain) = build(&scale);
                let t = clip(case.max_norm);
                let a = step_after_clip(case, &device, lr, fused, Chain::fused(t, scale).unwrap());
                let b = step_after_clip(case, &device, lr, plain, Chain::new(t).unwrap());
                for (i, ((x, y), w)) in a.iter().zip(&b).zip(want).enumerate() {
                    close(x, w, 1e-5, &format!("{what} {name} fused, param {i}"));
                    close(y, w, 1e-5, &format!("{what} {name} tensor ops, param {i}"));
                }
            }
        }
    }
}

/// Two parameters at zero whose gradients have norms 3 (`[2, 1, 2]`) and 4 (`[0, 4]`).
#[derive(Module, Debug)]
struct Two {
    a: Param<Tensor<1>>,
    b: Param<Tensor<1>>,
}

/// One SGD step at η = 1 from zero weights through the optimizer and chain that `spec` builds
/// (as the recipes' `Stepper` builds them): the weights come back as `−g` after clipping.
fn clipped_by(spec: &str, device: &Device) -> Vec<Vec<f64>> {
    let spec: OptimizerSpec = spec.parse().unwrap();
    let scale = GradScale::new();
    let mut optim = spec.try_init_scaled(&scale).unwrap();
    let mut chain = Chain::fused(spec.transforms, scale).unwrap();
    let ad = device.clone().autodiff();
    let m = Two {
        a: Param::from_tensor(t1(&[0.0; 3], &ad)),
        b: Param::from_tensor(t1(&[0.0; 2], &ad)),
    };
    let mut g = GradientsParams::new();
    g.register(m.a.id, t1(&[2.0, 1.0, 2.0], device));
    g.register(m.b.id, t1(&[0.0, 4.0], device));
    let (m, _) = chain.step(&mut optim, 1.0, m, g);
    let neg = |t: Tensor<1>| values(t).into_iter().map(|x| -x).collect();
    vec![neg(m.a.val()), neg(m.b.val())]
}

#[test]
fn per_tensor_clipping_is_burns_and_differs_from_the_global_clip() {
    for (backend, device) in devices() {
        // clip_tensor_norm = 1: each gradient by its own norm, g·min(1, 1/‖g‖):
        // [2, 1, 2]/3 and [0, 4]/4, both of norm 1.
        let per = clipped_by("sgd:lr=1,clip_tensor_norm=1", &device);
        close(
            &per[0],
            &[2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0],
            1e-6,
            &format!("{backend} a"),
        );
        close(&per[1], &[0.0, 1.0], 1e-6, &format!("{backend} b"));
        // clip_norm = 1: both by the global norm √(3² + 4²) = 5: norms 0.6 and 0.8.
        let global = clipped_by("sgd:lr=1,clip_norm=1", &device);
        close(
            &global[0],
            &[0.4, 0.2, 0.4],
            1e-5,
            &format!("{backend} global a"),
        );
        close(
            &global[1],
            &[0.0, 0.8],
            1e-5,
            &format!("{backend} global b"),
        );
        // Unclipped, the step is the gradient itself.
        let none = clipped_by("sgd:lr=1", &device);
        close(
            &none[1],
            &[0.0, 4.0],
            1e-6,
            &format!("{backend} unclipped b"),
        );
    }
}

/// y = sum of inputs, regressed by a linear layer without BatchNorm: a mean-squared loss.
fn batch(start: usize, n: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (start * 3..(start + n) * 3)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
        .collect();
    let y: Vec<f32> = x
        .chunks(3)
        .map(|r| r.iter().sum::<f32>() * 0.5 + 0.1)
        .collect();
    (
        Tensor::from_data(TensorData::new(x, [n, 3]), device),
        Tensor::from_data(TensorData::new(y, [n, 1]), device),
    )
}

fn mse_grads(model: &Linear, x: Tensor<2>, y: Tensor<2>) -> GradientsParams {
    let loss = model.forward(x).sub(y).powi_scalar(2).mean();
    GradientsParams::from_grads(loss.backward(), model)
}

fn weights(model: &Linear) -> Vec<f64> {
    let mut v = values(model.weight.val());
    v.extend(values(model.bias.as_ref().unwrap().val()));
    v
}

#[test]
fn four_accumulated_batches_of_8_step_as_one_batch_of_32() {
    for (backend, device) in devices() {
        let ad = device.clone().autodiff();
        let fresh = || LinearConfig::new(3, 1).init(&ad);
        let init = fresh();
        let record = init.clone().into_record();
        // One batch of 32, three steps.
        let mut big = fresh().load_record(record.clone());
        let mut optim = MomentumConfig::sgd().init();
        for step in 0..3 {
            let (x, y) = batch(step * 32, 32, &ad);
            let g = mse_grads(&big, x, y);
            big = optim.step(0.1, big, g);
        }
        // The same 96 examples as 4 × 8 per step, accumulated and averaged.
        let mut small = fresh().load_record(record);
        let mut optim = MomentumConfig::sgd().init();
        let mut chain = Chain::new(Transforms {
            accumulate: 4,
            ..Transforms::default()
        })
        .unwrap();
        let mut steps = 0;
        for micro in 0..12 {
            let (x, y) = batch(micro * 8, 8, &ad);
            let g = mse_grads(&small, x, y);
            let (m, outcome) = chain.step(&mut optim, 0.1, small, g);
            small = m;
            if matches!(outcome, Outcome::Applied { .. }) {
                steps += 1;
            } else {
                assert!(
                    matches!(outcome, Outcome::Accumulating { micro: 1..=3 }),
                    "{outcome:?}"
                );
            }
        }
        assert_eq!(steps, 3, "{backend}");
        // Exact in reals; in f32 the sums of 8 and of 32 terms round differently, at the ulp of
        // the largest terms, so the error is bounded relative to the weights' scale (‖·‖∞), not
        // to each (possibly near-zero) weight.
        let (got, want) = (weights(&small), weights(&big));
        let scale = want.iter().fold(0f64, |m, w| m.max(w.abs()));
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-6 * scale,
                "{backend} accumulated[{i}]: {g} vs {w} (scale {scale})"
            );
        }
        // Burn's GradientsAccumulator sums: the same 4 batches would step 4× as far, so the
        // weights above must differ from the start by the big batch's step, not 4 times it.
        assert!(
            weights(&small)
                .iter()
                .zip(weights(&init))
                .any(|(a, b)| (a - b).abs() > 1e-4),
            "{backend}: the accumulated run moved"
        );
    }
}

/// Adam on `model` over `batches`, with the gradients of batch `nan_at` replaced by NaN (when
/// given); returns the weights and the optimizer state as bytes (the same parameter ids in every
/// run, as every run starts from a clone of one model).
fn adam_run(
    model: &Linear,
    batches: &[usize],
    nan_at: Option<usize>,
    skip: bool,
) -> Option<(Vec<f64>, Vec<(String, String)>)> {
    let mut model = model.clone();
    let ad = model.weight.val().device();
    let mut optim = AdamConfig::new().init();
    let mut chain = Chain::new(Transforms {
        skip_nonfinite: skip,
        ..Transforms::default()
    })
    .unwrap();
    for (i, &b) in batches.iter().enumerate() {
        let (x, y) = batch(b * 8, 8, &ad);
        let mut g = mse_grads(&model, x, y);
        if nan_at == Some(i) {
            let w = g.remove::<2>(model.weight.id).unwrap();
            g.register(model.weight.id, w.mul_scalar(f32::NAN));
        }
        let (m, outcome) = chain.step(&mut optim, 0.01, model, g);
        model = m;
        if nan_at == Some(i) && skip {
            assert!(
                matches!(outcome, Outcome::Skipped { norm } if norm.is_nan()),
                "{outcome:?}"
            );
        }
    }
    let w = weights(&model);
    if w.iter().any(|x| !x.is_finite()) {
        return None;
    }
    Some((w, state_entries(optim.into_bytes().unwrap())))
}

/// The entries of a saved optimizer state, in name order: every tensor's bytes and every scalar.
fn state_entries(bytes: burn::tensor::Bytes) -> Vec<(String, String)> {
    use burn::store::burn_pack::Reader;
    let reader = Reader::from_bytes(bytes).unwrap();
    let mut out: Vec<(String, String)> = reader
        .scalars()
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    for t in reader.into_tensors().unwrap() {
        let (name, _, shape, _, data) = t.into_parts().unwrap();
        out.push((name, format!("{shape:?} {:?}", data.to_vec())));
    }
    out.sort();
    out
}

#[test]
fn a_skipped_nonfinite_step_is_as_if_it_never_happened() {
    for (backend, device) in devices() {
        let model = LinearConfig::new(3, 1).init(&device.clone().autodiff());
        let all = [0, 1, 2, 3, 4, 5];
        let skipped = adam_run(&model, &all, Some(3), true).expect("finite with skip");
        let without = adam_run(&model, &[0, 1, 2, 4, 5], None, true).unwrap();
        assert_eq!(skipped.0, without.0, "{backend}: weights");
        assert_eq!(skipped.1, without.1, "{backend}: optimizer state");
        // Without skipping, the NaN reaches the weights.
        assert!(
            adam_run(&model, &all, Some(3), false).is_none(),
            "{backend}"
        );
    }
}

/// Three AMSGrad steps on a 1000-element parameter with gradient scale `s`, as bits.
fn scaled_run(device: &Device, s: f32, fused: bool) -> Vec<u32> {
    let scale = GradScale::new();
    scale.set(s);
    let optim = AdamConfig::new()
        .with_amsgrad(true)
        .build()
        .with_grad_scale(scale)
        .with_fused(fused);
    let wave = |f: fn(f32) -> f32| -> Tensor<1> {
        let v: Vec<f32> = (0..1000).map(|i| f(i as f32 * 0.7)).collect();
        Tensor::from_data(TensorData::new(v, [1000]), device)
    };
    let (mut w, g) = (wave(f32::sin), wave(f32::cos));
    let mut state = None;
    for _ in 0..3 {
        let (next, s) = burn::optim::Optimizer::step(&optim, 0.01, w, g.clone(), state);
        w = next;
        state = s;
    }
    let d = w.into_data();
    d.as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn the_scale_inside_the_fused_pass_gives_the_tensor_paths_bits() {
    for (backend, device) in common::cpu_devices() {
        let fused = scaled_run(&device, 0.37, true);
        assert_eq!(fused, scaled_run(&device, 0.37, false), "{backend}");
        assert_ne!(
            fused,
            scaled_run(&device, 1.0, true),
            "{backend}: the scale is applied"
        );
    }
}

/// Row gradients outside the module's cannot be accumulated (the rows differ from batch to
/// batch): an error naming `accumulate`, not a panic, and the chain is left as it was.
#[test]
fn row_gradients_with_accumulation_are_an_error() {
    let device = devices()[0].1.clone();
    let m = Two {
        a: Param::from_tensor(t1(&[0.0; 3], &device.clone().autodiff())),
        b: Param::from_tensor(t1(&[0.0; 2], &device.clone().autodiff())),
    };
    let grads = || {
        let mut g = GradientsParams::new();
        g.register(m.a.id, t1(&[2.0, 1.0, 2.0], &device));
        g
    };
    let mut rows: Tensor<2> = t1(&[1.0, 2.0], &device).reshape([1, 2]);
    let mut chain = Chain::new(Transforms {
        accumulate: 2,
        ..Transforms::default()
    })
    .unwrap();
    let e = chain.prepare_rows(&m, grads(), &mut rows).unwrap_err();
    assert!(e.to_string().contains("accumulate = 2"), "{e}");
    assert_eq!(chain.pending(), 0);
    let mut chain = Chain::new(clip(1.0)).unwrap();
    let (outcome, _) = chain.prepare_rows(&m, grads(), &mut rows).unwrap();
    // ‖(2, 1, 2, 1, 2)‖ = √14: the rows count in the global norm.
    let Outcome::Applied {
        norm: Some(norm), ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!((norm - 14f64.sqrt()).abs() < 1e-6, "{norm}");
}

#[test]
fn invalid_transforms_are_rejected_naming_the_field() {
    for (t, field) in [
        (clip(0.0), "clip_norm"),
        (clip(-1.0), "clip_norm"),
        (clip(f64::NAN), "clip_norm"),
        (
            Transforms {
                accumulate: 0,
                ..Transforms::default()
            },
            "accumulate",
        ),
    ] {
        let e = Chain::new(t).unwrap_err().to_string();
        assert!(e.contains(field), "{e}");
    }
}

fn named(v: &[Vec<f64>]) -> common::Named {
    common::Named {
        w: v[0].clone(),
        b: v[1].clone(),
    }
}

/// SGD with momentum (PyTorch's form) inside an `Averaged`, as a `ModuleOptimizer`.
fn averaged(decay: f64, fused: bool) -> ModuleOptimizer {
    let sgd = MomentumConfig::new()
        .with_form(MomentumForm::PyTorch)
        .build()
        .with_fused(fused);
    Averaged::new(sgd, decay).unwrap().into()
}

#[test]
fn weight_averages_match_averaged_model_and_survive_a_save() {
    let f = fixture();
    for (backend, device) in devices() {
        for case in &f.ema {
            for fused in [true, false] {
                let what = format!("{backend} decay {} fused {fused}", case.decay);
                let mut optim = averaged(case.decay, fused);
                let mut m = common::Pair::new(&named(&case.init), &device);
                for (t, (g, want)) in case.grads.iter().zip(&case.ema).enumerate() {
                    m = m.step(&mut optim, 0.1, &named(g));
                    let e = ema_weights(&optim, m.clone()).unwrap().values();
                    close(&e.w, &want[0], 1e-5, &format!("{what} step {}: w", t + 1));
                    close(&e.b, &want[1], 1e-5, &format!("{what} step {}: b", t + 1));
                    if t == 2 {
                        // Saved and restored mid-run, the averages and the momentum go on.
                        let bytes = optim.into_bytes().unwrap();
                        optim = averaged(case.decay, fused).from_bytes(bytes).unwrap();
                    }
                }
                // The averages differ from the weights (they lag behind).
                let e = ema_weights(&optim, m.clone()).unwrap().values();
                assert_ne!(e.w, m.values().w, "{what}");
            }
        }
    }
}

#[test]
fn an_invalid_decay_is_rejected() {
    for d in [0.0, 1.0, -0.5, f64::NAN] {
        let e = Averaged::new(MomentumConfig::sgd().build(), d).unwrap_err();
        assert!(e.to_string().contains("ema"), "{e}");
    }
}
