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
//! * Normal: Box–Muller, `r = √(−2 ln(1 − u₁))`, `θ = 2π u₂` for two such uniforms
//!   (`1 − u₁ ∈ (0, 1]`, so the logarithm is finite) give the two independent draws
//!   `z₂ₖ = r cos θ` and `z₂ₖ₊₁ = r sin θ`, then `μ + σz`, computed in `f64` and rounded once to
//!   `f32`. Pair `k` reads the stream's words `4k … 4k + 3` past the start, so a long vector (a
//!   2^20 × 128 table) is drawn on two threads, each jumping to its first pair
//!   (`set_word_pos`), with the same values as one thread.
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

/// `n` draws of `u < p` (`u` as [`unit`], one 64-bit draw each, in order): the same booleans as
/// `n` calls of `unit(rng) < p`, with the stream's words read in blocks
/// (`fill_bytes` yields the words `next_u64` would, low word first) and compared as integers,
/// `⌊x / 2¹¹⌋ < ⌈p · 2⁵³⌉` (exact: `⌊x / 2¹¹⌋ · 2⁻⁵³ < p` for an integer below 2⁵³).
pub(crate) fn below(rng: &mut ChaCha8Rng, n: usize, p: f64) -> Vec<bool> {
    let threshold = threshold(p);
    let mut bytes = vec![0u8; 8 * n];
    rng.fill_bytes(&mut bytes);
    bytes
        .chunks_exact(8)
        .map(|x| {
            // Internal invariant: chunks_exact(8) yields 8-byte slices.
            let x = u64::from_le_bytes(x.try_into().expect("8 bytes"));
            (x >> 11) < threshold
        })
        .collect()
}

/// `⌈p · 2⁵³⌉`: the 53-bit integers `m` with `m · 2⁻⁵³ < p` are those below it.
fn threshold(p: f64) -> u64 {
    (p * (1u64 << 53) as f64).ceil() as u64
}

/// `n` draws of `U(low, high)`, `low + (high − low)·u`, rounded to `f32`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng, n: usize, low: f64, high: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (low + (high - low) * unit(rng)) as f32)
        .collect()
}

/// `n` draws of `N(mean, std²)` by Box–Muller (see the module docs), rounded to `f32`; the
/// generator ends past every pair's words, as if drawn one pair after another.
pub(crate) fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f64, std: f64) -> Vec<f32> {
    /// Stream words one pair reads: two 64-bit uniforms.
    const WORDS_PER_PAIR: u128 = 4;
    /// Below this many values one thread is quicker than starting another.
    const PER_THREAD: usize = 1 << 20;
    let mut out = vec![0f32; n];
    let start = rng.get_word_pos();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 2)
        .min(n.div_ceil(PER_THREAD).max(1));
    // Chunks of an even length, so that each starts at a pair.
    let chunk = n.div_ceil(threads).next_multiple_of(2).max(2);
    let fill = |first: usize, part: &mut [f32]| {
        let mut r = rng.clone();
        r.set_word_pos(start + WORDS_PER_PAIR * (first / 2) as u128);
        for pair in part.chunks_mut(2) {
            let radius = (-2.0 * (1.0 - unit(&mut r)).ln()).sqrt();
            let (sin, cos) = (std::f64::consts::TAU * unit(&mut r)).sin_cos();
            pair[0] = (mean + std * radius * cos) as f32;
            if let Some(second) = pair.get_mut(1) {
                *second = (mean + std * radius * sin) as f32;
            }
        }
    };
    std::thread::scope(|scope| {
        for (i, part) in out.chunks_mut(chunk).enumerate() {
            scope.spawn(move || fill(i * chunk, part));
        }
    });
    rng.set_word_pos(start + WORDS_PER_PAIR * n.div_ceil(2) as u128);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The module docs' Box–Muller, one pair after another on one generator.
    fn one_pair_at_a_time(rng: &mut ChaCha8Rng, n: usize, mean: f64, std: f64) -> Vec<f32> {
        let mut out = Vec::with_capacity(n + 1);
        while out.len() < n {
            let u1 = unit(rng);
            let u2 = unit(rng);
            let r = (-2.0 * (1.0 - u1).ln()).sqrt();
            let theta = 2.0 * std::f64::consts::PI * u2;
            out.push((mean + std * r * theta.cos()) as f32);
            out.push((mean + std * r * theta.sin()) as f32);
        }
        out.truncate(n);
        out
    }

    /// Split over threads or not, the draws and the generator's next word are those of the
    /// sequential definition (an odd length, past the two-thread threshold, ends on a cosine).
    #[test]
    fn normal_draws_are_the_sequential_box_muller_pairs() {
        for n in [0, 1, 6, (1 << 21) + 3] {
            let (mut a, mut b) = (rng(9, WEIGHT_STREAM), rng(9, WEIGHT_STREAM));
            a.next_u32(); // an odd start: pairs need not sit on 64-bit words
            b.next_u32();
            let got = normal(&mut a, n, 0.5, 2.0);
            let want = one_pair_at_a_time(&mut b, n, 0.5, 2.0);
            assert!(got == want, "n = {n}: the draws differ");
            assert_eq!(
                a.next_u64(),
                b.next_u64(),
                "n = {n}: the generator's next word"
            );
        }
    }

    /// `below` is `unit(rng) < p` draw by draw, and leaves the generator where those draws do:
    /// from an odd word position (a 64-bit draw straddling two words), across block
    /// boundaries (ChaCha8 blocks are 16 words; 1,000 draws span 125 of them). Bug caught: the
    /// words read high first, or a word too many consumed.
    #[test]
    fn below_is_unit_draws_compared_one_by_one() {
        for p in [0.5, 0.8, 0.0, 1.0] {
            for n in [0, 1, 7, 1000] {
                let (mut a, mut b) = (rng(5, DROPOUT_STREAM), rng(5, DROPOUT_STREAM));
                a.next_u32();
                b.next_u32();
                let got = below(&mut a, n, p);
                let want: Vec<bool> = (0..n).map(|_| unit(&mut b) < p).collect();
                assert_eq!(got, want, "p = {p}, n = {n}");
                assert_eq!(a.next_u32(), b.next_u32(), "p = {p}, n = {n}: next word");
            }
        }
    }

    /// The integer comparison agrees with the `f64` one on the integers around the threshold,
    /// for a `p` whose `p · 2⁵³` is an integer (0.5: the comparison must stay strict) and ones
    /// for which it is not. Bug caught: the threshold rounded down, or `≤` for `<`.
    #[test]
    fn the_threshold_splits_the_53_bit_integers_where_unit_does() {
        for p in [0.5, 0.8, 0.1, 1.0 / 3.0, 0.999_999] {
            let t = threshold(p);
            for m in t.saturating_sub(2)..t + 2 {
                let as_unit = m as f64 * (1.0 / (1u64 << 53) as f64) < p;
                assert_eq!(m < t, as_unit, "p = {p}, m = {m}, threshold {t}");
            }
        }
    }

    /// 400,000 draws: mean within 4σ/√n of μ, standard deviation within 1% of σ (its standard
    /// error is σ/√(2n) ≈ 0.1%), and a pair's cosine and sine members uncorrelated (|ρ| < 4/√n').
    #[test]
    fn normal_draws_have_the_mean_spread_and_independence_asked_for() {
        let (mean, std, n) = (0.25, 0.01, 400_000);
        let z: Vec<f64> = normal(&mut rng(3, 7), n, mean, std)
            .into_iter()
            .map(|v| (v as f64 - mean) / std)
            .collect();
        let m = z.iter().sum::<f64>() / n as f64;
        let sd = (z.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!(m.abs() < 4.0 / (n as f64).sqrt(), "mean {m}");
        assert!((sd - 1.0).abs() < 0.01, "sd {sd}");
        let pairs = n / 2;
        let rho = z.chunks(2).map(|p| p[0] * p[1]).sum::<f64>() / pairs as f64;
        assert!(
            rho.abs() < 4.0 / (pairs as f64).sqrt(),
            "cos·sin correlation {rho}"
        );
    }
}
