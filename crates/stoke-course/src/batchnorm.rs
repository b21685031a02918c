//! Section 3: BatchNorm's worked table. The course's column of activations and its ×10 copy go
//! through Burn's `BatchNorm` in training mode, configured as stoke-text's `TextClassifier`
//! configures the one in each hidden block (`BatchNormConfig::new(width)` with the model's
//! `bn_momentum`; the classifier keeps the module private, so the page builds the same one).
//!
//! ```text
//! μ = (1/n) Σ xᵢ     σ² = (1/n) Σ (xᵢ − μ)²  (biased: what BatchNorm divides by)
//! x̂ᵢ = (xᵢ − μ)/√(σ² + ε),  ε = 1e-5        s² = n/(n − 1)·σ²  (the sample variance)
//! running ← (1 − m)·running + m·batch        (Burn/PyTorch momentum m; Keras' is 1 − m)
//! ```
//!
//! The batch mean and biased variance are read from the module itself: with momentum 1 the
//! running statistics after one batch are exactly the batch's.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::{Value, json};
use stoke_text::model::ModelShape;

use crate::error::CourseError;

/// The course's column (11 activations of one unit over a batch: mean 0.58, first value 0.99,
/// normalised 1.32 with the sample standard deviation, as on the slide).
pub const COLUMN: [f32; 11] = [
    0.99, 0.69, 0.73, 0.26, 0.22, 0.27, 0.98, 0.56, 0.80, 0.16, 0.76,
];

fn values<const D: usize>(t: Tensor<D>) -> Result<Vec<f64>, CourseError> {
    t.into_data()
        .try_into_vec_as::<f64>()
        .map_err(CourseError::Tensor)
}

/// `[n, 2]`: the column and ten times the column.
pub fn input() -> Vec<f32> {
    COLUMN.iter().flat_map(|&x| [x, 10.0 * x]).collect()
}

fn batch_norm(momentum: f64, device: &Device) -> BatchNorm {
    BatchNormConfig::new(2).with_momentum(momentum).init(device)
}

/// One training-mode forward pass of the table, and the running statistics it leaves.
fn forward(momentum: f64, device: &Device) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>), CourseError> {
    let n = COLUMN.len();
    let bn = batch_norm(momentum, device);
    let x = Tensor::<2>::from_data(TensorData::new(input(), [n, 2]), device);
    let y = values(bn.forward(x))?;
    let mean = values(bn.running_mean.value_sync())?;
    let var = values(bn.running_var.value_sync())?;
    Ok((y, mean, var))
}

/// The section's data: the table in and out of BatchNorm, the batch statistics, the slide's
/// sample-std value beside BatchNorm's, and the running statistics after one batch for the
/// model's momentum and for Keras' default.
pub fn batchnorm() -> Result<Value, CourseError> {
    let device = stoke_surfaces::cpu_device()?.autodiff();
    let n = COLUMN.len() as f64;
    let (y, mean, var) = forward(1.0, &device)?;
    let sample_std: Vec<f64> = var.iter().map(|v| (v * n / (n - 1.0)).sqrt()).collect();
    let first = f64::from(COLUMN[0]);
    let model = ModelShape::default().bn_momentum;
    let keras = 0.99;
    let mut running = Vec::new();
    for (who, m) in [("burn", model), ("keras", 1.0 - keras)] {
        let (_, rm, rv) = forward(m, &device)?;
        running.push(json!({ "who": who, "momentum": m, "mean": rm, "var": rv }));
    }
    Ok(json!({
        "x": input().iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        "y": y,
        "rows": COLUMN.len(),
        "mean": mean,
        "var": var,
        "std": var.iter().map(|v| v.sqrt()).collect::<Vec<_>>(),
        "sample_std": sample_std,
        "first": first,
        "first_sample": (first - mean[0]) / sample_std[0],
        "first_biased": y[0],
        "epsilon": 1e-5,
        "model_momentum": model,
        "keras_momentum": keras,
        "running": running,
        "eval": eval_column(&device)?,
    }))
}

/// Evaluation mode (`valid()`) after the one batch at the model's momentum: the column again,
/// now normalised with the running statistics instead of the batch's.
fn eval_column(device: &Device) -> Result<Vec<f64>, CourseError> {
    let n = COLUMN.len();
    let bn = batch_norm(ModelShape::default().bn_momentum, device);
    let x = Tensor::<2>::from_data(TensorData::new(input(), [n, 2]), device);
    let _ = bn.forward(x.clone());
    let plain = device.clone().without_autodiff();
    let x = Tensor::<2>::from_data(TensorData::new(input(), [n, 2]), &plain);
    values(bn.valid().forward(x))
}
