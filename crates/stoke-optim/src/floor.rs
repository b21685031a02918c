//! The memory-bandwidth floor of an optimizer step, for `stoke bench optim` (the `stoke-bench`
//! crate): a loop that reads `w`, `g` and `k` state buffers and writes `w` and the state, in
//! place and in one pass, split over the same threads and compiled with the same vector
//! instructions as the fused optimizer steps (`host.rs`); with global-norm clipping, a first
//! pass that only reads `g` ([`norm_pass`]). Not part of the library's API.

use crate::host::{GRAIN, Lanes, for_chunks, simd};

/// One pass of the floor's loop over `w`, `g` and up to three state buffers (each as long as
/// `w`): `s ← 0.9·s + g` for each, then `w ← w − 1e-3·Σ s`.
pub fn pass(w: &mut [f32], g: &[f32], state: &mut [Vec<f32>]) {
    // Internal invariant: the bench seam's callers (stoke-bench) pass the optimizers' 0 to 3
    // state buffers; documented above.
    assert!(state.len() <= 3, "at most three state buffers");
    let k = state.len();
    let mut bufs = state.iter_mut().map(|s| s.as_mut_slice());
    let mut next = || bufs.next().unwrap_or(&mut []);
    let lanes = Lanes {
        w,
        g,
        s: [next(), next(), next()],
        g_scale: 1.0,
        ema: &mut [],
        ema_weight: 0.0,
    };
    for_chunks(lanes, &|l: Lanes<'_>| match k {
        0 => simd!((), floor_chunk::<0>, &(), l),
        1 => simd!((), floor_chunk::<1>, &(), l),
        2 => simd!((), floor_chunk::<2>, &(), l),
        _ => simd!((), floor_chunk::<3>, &(), l),
    });
}

/// The floor's loop with `K` state buffers: each `s ← 0.9·s + g`, then `w ← w − 1e-3·Σ s`.
#[inline(always)]
fn floor_chunk<const K: usize>(_: &(), l: Lanes<'_>) {
    let n = l.w.len();
    let [a, b, c] = l.s;
    let (w, g) = (&mut l.w[..n], &l.g[..n]);
    match K {
        0 => (0..n).for_each(|i| w[i] -= 1e-3 * g[i]),
        1 => {
            let a = &mut a[..n];
            for i in 0..n {
                a[i] = 0.9 * a[i] + g[i];
                w[i] -= 1e-3 * a[i];
            }
        }
        2 => {
            let (a, b) = (&mut a[..n], &mut b[..n]);
            for i in 0..n {
                a[i] = 0.9 * a[i] + g[i];
                b[i] = 0.9 * b[i] + g[i];
                w[i] -= 1e-3 * (a[i] + b[i]);
            }
        }
        _ => {
            let (a, b, c) = (&mut a[..n], &mut b[..n], &mut c[..n]);
            for i in 0..n {
                a[i] = 0.9 * a[i] + g[i];
                b[i] = 0.9 * b[i] + g[i];
                c[i] = 0.9 * c[i] + g[i];
                w[i] -= 1e-3 * (a[i] + b[i] + c[i]);
            }
        }
    }
}

/// The floor of the global norm's pass: `Σ g²` in `f32`, sixteen running sums, halved over the
/// rayon pool as the norm of the clipping transform is. A global-norm clip must read every
/// gradient once before the update can start (4 bytes per parameter more than the update's own
/// traffic), so its floor is this pass plus [`pass`].
pub fn norm_pass(g: &[f32]) -> f32 {
    if g.len() >= 2 * GRAIN && rayon::current_num_threads() > 1 {
        let (a, b) = g.split_at(g.len() / 2);
        let (a, b) = rayon::join(|| norm_pass(a), || norm_pass(b));
        return a + b;
    }
    simd!((g: &[f32]) -> f32 { squares_chunk(g) })
}

/// `Σ g²` of one chunk in sixteen running sums.
#[inline(always)]
fn squares_chunk(g: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let chunks = g.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..16 {
            acc[j] += c[j] * c[j];
        }
    }
    rest.iter().map(|v| v * v).sum::<f32>() + acc.iter().sum::<f32>()
}
