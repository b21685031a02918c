//! Shared by the stoke-optim integration tests: the recorded PyTorch fixtures, a two-parameter
//! module to replay them on, and the comparison rule.
#![allow(dead_code)]

use burn::module::{Module, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use serde::Deserialize;
use stoke_optim::Backend;

/// One recorded configuration: `init`, then `grads[t]` applied with `lrs[t]` gives `params[t]`.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub config: serde_json::Value,
    pub torch: String,
    pub lrs: Vec<f64>,
    pub init: Named,
    pub grads: Vec<Named>,
    pub params: Vec<Named>,
}

/// Values of `w` (3×4, row-major) and `b` (4).
#[derive(Debug, Deserialize, Clone)]
pub struct Named {
    pub w: Vec<f64>,
    pub b: Vec<f64>,
}

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub optimizer: String,
    pub torch_version: String,
    pub steps: usize,
    pub cases: Vec<Case>,
}

pub fn fixture(name: &str) -> Fixture {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A config type built from the defaults with the fixture's fields laid over them.
pub fn config<C: serde::Serialize + serde::de::DeserializeOwned>(
    defaults: C,
    overrides: &serde_json::Value,
) -> C {
    let mut value = serde_json::to_value(defaults).unwrap();
    for (k, v) in overrides.as_object().unwrap() {
        assert!(
            value.get(k).is_some(),
            "fixture field {k} is not a config field"
        );
        value[k] = v.clone();
    }
    serde_json::from_value(value).unwrap()
}

/// The two parameters of the fixtures: ranks 2 and 1.
#[derive(Module, Debug)]
pub struct Pair {
    pub w: Param<Tensor<2>>,
    pub b: Param<Tensor<1>>,
}

impl Pair {
    /// On `device`'s autodiff form, as Burn's `ModuleOptimizer` expects.
    pub fn new(init: &Named, device: &Device) -> Self {
        let device = &device.clone().autodiff();
        Self {
            w: Param::from_tensor(w_tensor(&init.w, device)),
            b: Param::from_tensor(b_tensor(&init.b, device)),
        }
    }

    pub fn values(&self) -> Named {
        Named {
            w: to_f64(self.w.val().into_data()),
            b: to_f64(self.b.val().into_data()),
        }
    }

    /// One optimizer step with the given gradients (as `f32`, like any Burn gradient).
    pub fn step(self, optim: &mut ModuleOptimizer, lr: f64, grads: &Named) -> Self {
        let device = self.w.val().device().without_autodiff();
        let mut g = GradientsParams::new();
        g.register(self.w.id, w_tensor(&grads.w, &device));
        g.register(self.b.id, b_tensor(&grads.b, &device));
        optim.step(lr, self, g)
    }
}

fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn w_tensor(v: &[f64], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(f32s(v), [3, 4]), device)
}

fn b_tensor(v: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(f32s(v), [4]), device)
}

fn to_f64(d: TensorData) -> Vec<f64> {
    d.convert::<f32>()
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&x| x as f64)
        .collect()
}

/// Relative error allowed between stoke (f32) and a float64 reference.
pub const RTOL: f64 = 1e-4;

/// `|got − want| ≤ RTOL·max(|want|, 1e-2)` element-wise: relative, with a floor so parameters
/// that cross zero are compared at the scale of the others (they are initialised at ~0.5).
pub fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = RTOL * w.abs().max(1e-2);
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: stoke {g} vs reference {w} (|diff| {} > {tol})",
            (g - w).abs()
        );
    }
}

/// Replays a case's gradients through `optim` on `device` and checks every step.
pub fn replay(case: &Case, mut optim: ModuleOptimizer, device: &Device, label: &str) {
    let mut pair = Pair::new(&case.init, device);
    for (t, (grads, want)) in case.grads.iter().zip(&case.params).enumerate() {
        pair = pair.step(&mut optim, case.lrs[t], grads);
        let got = pair.values();
        let what = format!("{label} {} ({}) step {}", case.name, case.torch, t + 1);
        assert_close(&got.w, &want.w, &format!("{what} w"));
        assert_close(&got.b, &want.b, &format!("{what} b"));
    }
}

/// Every backend compiled into this test build, with its device.
pub fn devices() -> Vec<(Backend, Device)> {
    Backend::compiled()
        .into_iter()
        .map(|b| (b, b.device().unwrap()))
        .collect()
}

/// The CPU backends compiled in (ndarray, flex).
pub fn cpu_devices() -> Vec<(Backend, Device)> {
    devices().into_iter().filter(|(b, _)| b.is_cpu()).collect()
}
