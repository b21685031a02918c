//! Seeded, platform-independent random draws: shuffles, initial weights and dropout masks.
//!
//! Every random number the crate uses is drawn on the host from ChaCha8
//! (`rand_chacha`), a generator whose output stream is fixed by its specification and
//! identical on every machine, word size and operating system. Bounded integers are
//! drawn with Lemire's multiply-shift method, `j = (x · (i + 1)) >> 64` for a uniform
//! 64-bit `x`, whose bias is at most `(i + 1) / 2^64` (negligible for any data set
//! that fits in memory) and which never loops, so the number of draws is fixed too.
//!
//! Because the draws happen on the host and reach a device only as data
//! (`Tensor::from_data`), a model's initial weights and its dropout masks are the same on
//! every backend (flex, ndarray, wgpu, …) for the same seed.
//!
//! # Real numbers
//!
//! * Uniform on `[0, 1)`: `u = ⌊x / 2¹¹⌋ · 2⁻⁵³` for a uniform 64-bit `x` (the top 53 bits,
//!   every value exactly representable in `f64`).
//! * Normal: Box–Muller, `z = √(−2 ln(1 − u₁)) · cos(2π u₂)` for two such uniforms
//!   (`1 − u₁ ∈ (0, 1]`, so the logarithm is finite), then `μ + σz`, computed in `f64` and
//!   rounded once to `f32`.
//!
//! # Streams
//!
//! A ChaCha8 stream is picked by a seed and a 64-bit stream number. The data streams (per class
//! for the split, per epoch for the shuffle) use small numbers under the user's seed; the model
//! streams sit at the top of the range so that the same seed never gives two uses one sequence:
//! [`WEIGHT_STREAM`] for the initial weights and [`DROPOUT_STREAM`]` + k` for the masks of the
//! `k`-th dropout layer.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A generator seeded from `seed` and a `stream` number, so that independent uses of
/// the same user seed (per class, per epoch) do not share a sequence.
pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The stream of a model's initial weights (see the module docs).
pub(crate) const WEIGHT_STREAM: u64 = 1 << 63;

/// The first stream of a model's dropout masks: layer `k` draws from `DROPOUT_STREAM + k`.
pub(crate) const DROPOUT_STREAM: u64 = (1 << 63) + (1 << 32);

/// Uniform on `[0, 1)` from the top 53 bits of one 64-bit draw.
pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `n` draws of `U(low, high)`, `low + (high − low)·u`, rounded to `f32`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, low: f64, high: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (low + (high - low) * unit(rng)) as f32)
        .collect()
}

/// `n` draws of `N(mean, std²)` by Box–Muller (see the module docs), rounded to `f32`.
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f64, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let radius = (-2.0 * (1.0 - unit(rng)).ln()).sqrt();
            let angle = std::f64::consts::TAU * unit(rng);
            (mean + std * radius * angle.cos()) as f32
        })
        .collect()
}

/// Uniform integer in `0..=max` (Lemire's multiply-shift, see the module docs).
fn below_inclusive(rng: &mut ChaCha8Rng, max: usize) -> usize {
    let x = rng.next_u64() as u128;
    ((x * (max as u128 + 1)) >> 64) as usize
}

/// Fisher–Yates shuffle: for `i = n-1 … 1`, swap `v[i]` with `v[j]`, `j ~ U{0..=i}`.
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = below_inclusive(rng, i);
        v.swap(i, j);
    }
}
