//! Burn's BatchNorm and Dropout conventions, checked against the course.

mod common;

use burn::nn::{BatchNormConfig, DropoutConfig};
use burn::prelude::*;
use common::{cpu, to_vec};
use stoke_text::dropout::HostDropout;

/// Column 1 of the course's BatchNorm slide; column 5 is the same ×10.
const X: [f32; 11] = [
    0.99, 0.69, 0.73, 0.26, 0.22, 0.27, 0.98, 0.56, 0.80, 0.16, 0.76,
];

// Hand derivation (n = 11):
//   Σx  = 6.42                       → mean μ = 6.42 / 11 = 0.583636
//   Σx² = 4.6952                     → Σ(x − μ)² = 4.6952 − 6.42²/11 = 4.6952 − 3.746945 = 0.948255
//   sample variance     s² = 0.948255 / 10 = 0.0948255 → s = 0.307937
//   population variance σ² = 0.948255 / 11 = 0.0862050 → σ = 0.293607
//   first row (0.99):  (0.99 − μ)/s = 0.406364 / 0.307937 = 1.3196 (the slide's 1.32)
//                      (0.99 − μ)/σ = 0.406364 / 0.293607 = 1.3840 (BatchNorm: 1.38)
//   BatchNorm adds ε = 1e-5 to σ²: 0.406364 / √0.0862150 = 1.3840 (still 1.38).
//   For 10x: μ, s, σ scale by 10, so the normalised values are the same (ε's share shrinks).
const MEAN: f64 = 0.583636;
const SAMPLE_STD: f64 = 0.307937;
const POP_STD: f64 = 0.293607;

fn table() -> Vec<f32> {
    // [11, 2]: column 0 = x, column 1 = 10x.
    X.iter().flat_map(|&x| [x, 10.0 * x]).collect()
}

#[test]
fn hand_derivation_matches_the_data() {
    let n = X.len() as f64;
    let mean = X.iter().map(|&x| x as f64).sum::<f64>() / n;
    let ss = X.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>();
    assert!((mean - MEAN).abs() < 1e-6);
    assert!(((ss / (n - 1.0)).sqrt() - SAMPLE_STD).abs() < 1e-6);
    assert!(((ss / n).sqrt() - POP_STD).abs() < 1e-6);
    // The slide's 1.32 is the sample-std version.
    assert!(((0.99 - MEAN) / SAMPLE_STD - 1.32).abs() < 0.005);
}

#[test]
fn training_mode_uses_batch_statistics_with_biased_variance() {
    let device = cpu().autodiff();
    let bn = BatchNormConfig::new(2).init(&device);
    let x = Tensor::<2>::from_data(TensorData::new(table(), [11, 2]), &device);
    let y = to_vec(bn.forward(x));
    let col = |c: usize| (0..11).map(|r| y[2 * r + c] as f64).collect::<Vec<_>>();
    let (a, b) = (col(0), col(1));
    // The slide's first value is 1.32 (sample std); BatchNorm gives 1.38 (biased variance).
    assert!((a[0] - 1.3840).abs() < 1e-3, "x: {}", a[0]);
    assert!((b[0] - 1.3840).abs() < 1e-3, "10x: {}", b[0]);
    assert!((a[0] - 1.32).abs() > 0.05);
    for r in 0..11 {
        // Scale invariance: x and 10x normalise to the same values (up to ε).
        assert!((a[r] - b[r]).abs() < 1e-3, "row {r}: {} vs {}", a[r], b[r]);
        // Each value equals (x − μ)/σ from the hand derivation.
        let expected = (X[r] as f64 - MEAN) / (POP_STD.powi(2) + 1e-5).sqrt();
        assert!(
            (a[r] - expected).abs() < 1e-3,
            "row {r}: {} vs {expected}",
            a[r]
        );
    }
    for c in [a, b] {
        // mean 0 and population std 1 per feature over the batch.
        let m = c.iter().sum::<f64>() / 11.0;
        let sd = (c.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 11.0).sqrt();
        assert!(m.abs() < 1e-5, "mean {m}");
        assert!((sd - 1.0).abs() < 1e-3, "std {sd}");
    }
}

#[test]
fn eval_mode_uses_running_statistics_and_keras_momentum_maps() {
    // Keras: moving = moving · 0.99 + batch · (1 − 0.99). Burn/PyTorch: running =
    // (1 − m) · running + m · batch. They agree for m = 1 − 0.99 = 0.01.
    // Start: running mean 0, running var 1. After one training batch of column x:
    //   running mean = 0.99·0 + 0.01·0.583636 = 0.00583636
    //   running var  = 0.99·1 + 0.01·0.0862050 = 0.990862 (biased batch variance)
    let device = cpu().autodiff();
    let bn = BatchNormConfig::new(1).with_momentum(0.01).init(&device);
    let x = Tensor::<2>::from_data(TensorData::new(X.to_vec(), [11, 1]), &device);
    let _ = bn.forward(x);
    let rm = to_vec(bn.running_mean.value_sync())[0] as f64;
    let rv = to_vec(bn.running_var.value_sync())[0] as f64;
    assert!((rm - 0.00583636).abs() < 1e-6, "running mean {rm}");
    assert!((rv - 0.990862).abs() < 1e-5, "running var {rv}");

    // Eval mode: y = (x − running mean) / √(running var + ε), independent of the batch.
    let bn = bn.valid();
    let plain = cpu();
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.99f32, 0.16], [2, 1]), &plain);
    let y = to_vec(bn.forward(x));
    for (v, x) in y.iter().zip([0.99f64, 0.16]) {
        let expected = (x - 0.00583636) / (0.990862f64 + 1e-5).sqrt();
        assert!((*v as f64 - expected).abs() < 1e-5, "{v} vs {expected}");
    }
}

/// 100,000 ones, the input of the dropout checks.
fn ones(device: &Device) -> Tensor<2> {
    Tensor::<2>::ones([100, 1000], device)
}

/// `y` is inverted dropout with p = 0.3 applied to [`ones`].
fn assert_inverted_dropout_of_ones(y: &[f32]) {
    let (p, n) = (0.3, y.len());
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    let frac = zeros as f64 / n as f64;
    // Binomial(n, 0.3): std of the fraction = √(0.3·0.7/1e5) = 0.00145; allow 5 std.
    assert!((frac - p).abs() < 0.0073, "zeroed fraction {frac}");
    // Survivors are scaled by 1/(1 − p) = 1/0.7 = 1.4285714.
    for &v in y.iter().filter(|&&v| v != 0.0) {
        assert!((v as f64 - 1.0 / 0.7).abs() < 1e-5, "kept value {v}");
    }
    // So the mean stays ≈ 1: 0.7 · 1/0.7 = 1 (std of the mean ≈ 0.0021; allow 5 std).
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    assert!((mean - 1.0).abs() < 0.011, "mean {mean}");
}

#[test]
fn dropout_is_inverted_and_identity_in_eval() {
    let p = 0.3;
    let device = cpu().autodiff();
    device.seed(7);
    let dropout = DropoutConfig::new(p).init();
    assert_inverted_dropout_of_ones(&to_vec(dropout.forward(ones(&device))));

    // Eval mode (valid(), or a device without autodiff): the identity.
    let plain = cpu();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![1.0f32, -2.0, 3.5, 0.25], [2, 2]),
        &plain,
    );
    assert_eq!(to_vec(dropout.valid().forward(x.clone())), to_vec(x));
}

/// stoke's dropout: the same statistics as Burn's, masks from the host stream (restarted by
/// `reseed`, one stream per layer, advanced by every clone), the identity in eval.
#[test]
fn host_dropout_is_inverted_and_replays_its_seeded_masks() {
    let device = cpu().autodiff();
    let dropout = HostDropout::new(0.3, 7, 0).unwrap();
    let first = to_vec(dropout.forward(ones(&device)));
    assert_inverted_dropout_of_ones(&first);
    let second = to_vec(dropout.forward(ones(&device)));
    assert_ne!(first, second, "each forward draws a new mask");
    // A clone draws from the same stream: after `reseed` its first mask is `first`, and the
    // original then continues with `second`.
    dropout.reseed(7, 0);
    let copy = dropout.clone();
    assert_eq!(to_vec(copy.forward(ones(&device))), first);
    assert_eq!(to_vec(dropout.forward(ones(&device))), second);
    // Layer 1 of the same seed has a stream of its own.
    let layer1 = HostDropout::new(0.3, 7, 1).unwrap();
    assert_ne!(to_vec(layer1.forward(ones(&device))), first);

    let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 3.5], [1, 3]), &cpu());
    assert_eq!(to_vec(dropout.valid().forward(x.clone())), to_vec(x));
    for bad in [1.0, -0.1, f64::NAN] {
        let err = HostDropout::new(bad, 7, 0).unwrap_err().to_string();
        assert!(err.contains("dropout"), "{err}");
    }
}
