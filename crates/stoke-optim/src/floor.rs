//! The memory-bandwidth floor of an optimizer step, for `stoke bench optim` (the `stoke-bench`
//! crate): a loop that reads `w`, `g` and `k` state buffers and writes `w` and the state, in
//! place and in one pass, split over the same threads and compiled with the same vector
//! instructions as the fused optimizer steps (`host.rs`). Not part of the library's API.

use crate::host::{Lanes, for_chunks, simd};

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
