//! Shared pieces of the examples: a small data set and model that need no files.
//!
//! Two interleaved spirals (a classic non-linear 2-class problem) and a two-layer perceptron.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// `n` points per class on two interleaved spirals, deterministic.
pub fn spirals(n: usize) -> (Vec<[f32; 2]>, Vec<i64>) {
    let mut xs = Vec::with_capacity(2 * n);
    let mut ys = Vec::with_capacity(2 * n);
    for class in 0..2 {
        for i in 0..n {
            let r = i as f32 / n as f32;
            let t = 1.75 * r * std::f32::consts::TAU + class as f32 * std::f32::consts::PI;
            xs.push([r * t.cos(), r * t.sin()]);
            ys.push(class as i64);
        }
    }
    (xs, ys)
}

/// The spirals as tensors on `device`.
pub fn spiral_tensors(n: usize, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let (xs, ys) = spirals(n);
    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    let x = Tensor::from_data(TensorData::new(flat, [xs.len(), 2]), device);
    let y = Tensor::from_data(TensorData::new(ys.clone(), [ys.len()]), device);
    (x, y)
}

/// A two-layer perceptron: `Linear(2, h) → ReLU → Linear(h, 2)`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub hidden: Linear,
    pub output: Linear,
    pub activation: Relu,
}

impl Mlp {
    pub fn new(hidden: usize, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(2, hidden).init(device),
            output: LinearConfig::new(hidden, 2).init(device),
            activation: Relu::new(),
        }
    }

    /// Logits, `[batch, 2]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output
            .forward(self.activation.forward(self.hidden.forward(x)))
    }
}

/// Fraction of rows whose arg-max logit is the label.
pub fn accuracy(logits: Tensor<2>, labels: Tensor<1, Int>) -> f64 {
    let n = labels.dims()[0] as f64;
    let correct: i64 = logits
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(labels)
        .int()
        .sum()
        .into_scalar();
    correct as f64 / n
}
