//! Section 4: Dropout. Burn's `Dropout` (`TextClassifier`'s hidden blocks use
//! `stoke_text::dropout::HostDropout`, the same function with masks drawn on the host) in
//! training mode on a row of activations, seeded: each unit is kept with probability
//! `1 − p` and the kept ones are scaled by `1/(1 − p)`, so the expectation is unchanged:
//!
//! ```text
//! yᵢ = mᵢ·xᵢ/(1 − p),  mᵢ ~ Bernoulli(1 − p)      E[yᵢ] = (1 − p)·xᵢ/(1 − p) = xᵢ
//! ```
//!
//! In evaluation (`valid()`, or a device without autodiff) it is the identity.

use burn::module::Module;
use burn::nn::DropoutConfig;
use burn::tensor::{Tensor, TensorData};
use serde_json::{Value, json};

use crate::error::CourseError;

/// The activations shown (one row of ten units after a ReLU).
pub const UNITS: [f32; 10] = [0.8, 1.5, 0.0, 2.1, 0.4, 1.1, 0.9, 0.3, 1.7, 0.6];

/// The rates offered.
pub const RATES: [f64; 3] = [0.2, 0.5, 0.8];

/// Rows averaged for the expectation read-out.
const SAMPLES: usize = 4000;

/// For each rate: one sampled row (seeded), the factor, and the mean over many rows.
pub fn dropout(seed: u64) -> Result<Value, CourseError> {
    let device = stoke_surfaces::cpu_device()?.autodiff();
    let mut out = Vec::new();
    for &p in &RATES {
        device.seed(seed);
        let d = DropoutConfig::new(p).init();
        let row =
            Tensor::<2>::from_data(TensorData::new(UNITS.to_vec(), [1, UNITS.len()]), &device);
        let y = d
            .forward(row.clone())
            .into_data()
            .try_into_vec_as::<f64>()
            .map_err(CourseError::Tensor)?;
        let many = Tensor::<2>::from_data(
            TensorData::new(
                UNITS
                    .iter()
                    .copied()
                    .cycle()
                    .take(SAMPLES * UNITS.len())
                    .collect::<Vec<_>>(),
                [SAMPLES, UNITS.len()],
            ),
            &device,
        );
        let mean = d
            .forward(many)
            .mean_dim(0)
            .into_data()
            .try_into_vec_as::<f64>()
            .map_err(CourseError::Tensor)?;
        let eval = d
            .valid()
            .forward(Tensor::<2>::from_data(
                TensorData::new(UNITS.to_vec(), [1, UNITS.len()]),
                &device.clone().without_autodiff(),
            ))
            .into_data()
            .try_into_vec_as::<f64>()
            .map_err(CourseError::Tensor)?;
        out.push(json!({ "p": p, "y": y, "factor": 1.0 / (1.0 - p), "mean": mean, "eval": eval }));
    }
    Ok(json!({
        "x": UNITS.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
        "samples": SAMPLES,
        "rates": out,
    }))
}
