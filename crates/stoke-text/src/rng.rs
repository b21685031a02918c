//! Seeded, platform-independent shuffles.
//!
//! Every shuffle in the crate goes through [`shuffle`], which draws from ChaCha8
//! (`rand_chacha`), a generator whose output stream is fixed by its specification and
//! identical on every machine, word size and operating system. Bounded integers are
//! drawn with Lemire's multiply-shift method, `j = (x · (i + 1)) >> 64` for a uniform
//! 64-bit `x`, whose bias is at most `(i + 1) / 2^64` (negligible for any data set
//! that fits in memory) and which never loops, so the number of draws is fixed too.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// A generator seeded from `seed` and a `stream` number, so that independent uses of
/// the same user seed (per class, per epoch) do not share a sequence.
pub(crate) fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
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
