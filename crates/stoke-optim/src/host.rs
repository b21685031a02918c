//! The CPU fast path: one in-place pass over a parameter's raw buffer.
//!
//! Written as tensor ops, an optimizer step on an eager CPU backend (Flex, NdArray) runs one loop
//! per op and allocates a fresh buffer for most of them: Adam is about fifteen passes over memory.
//! Here each optimizer's one generic `update` (`arith.rs`) runs per coordinate instead, in a loop
//! ([`each`]) that reads `w`, `g` and the state once and writes `w` and the state once, in place,
//! split over the rayon pool's threads. It is the same function, with the same `f32` operations
//! in the same order, as the tensor-op path, so both give the same bits (`tests/fused.rs`).
//!
//! Burn exposes the buffers through `Tensor::try_into_primitive::<B>()` /
//! `Tensor::from_primitive::<B>()`. On any other device (wgpu, where Burn's fusion already
//! merges the element-wise chain into one kernel) the optimizers keep their tensor-op path.

// Burn 0.22 marks its NdArray backend deprecated; stoke keeps supporting it.
#![allow(deprecated)]

use burn::tensor::{DType, Tensor};

use crate::path::Rule;
use crate::state::Slots;

#[cfg(feature = "flex")]
use burn::backend::{Flex, flex::FlexTensor};
#[cfg(feature = "ndarray")]
use burn::backend::{NdArray, ndarray::NdArrayTensor};

/// Below this many elements per chunk a kernel runs on one thread (splitting costs more).
pub(crate) const GRAIN: usize = 1 << 15;

/// The slices one kernel call works on: the parameter, its gradient, and up to three state
/// buffers (unused ones are empty). All non-empty slices have the same length. The gradient is
/// `g_scale·g` (a global-norm clip factor or an accumulation's `1/n`, applied in the same pass).
pub struct Lanes<'a> {
    pub w: &'a mut [f32],
    pub g: &'a [f32],
    pub s: [&'a mut [f32]; 3],
    pub g_scale: f32,
    /// The weights' moving average `e` (empty when none is kept), updated from the new `w` in
    /// the same pass: `e ← lerp(e, w, ema_weight)`.
    pub ema: &'a mut [f32],
    pub ema_weight: f32,
}

fn cut(s: &mut [f32], mid: usize) -> (&mut [f32], &mut [f32]) {
    if s.is_empty() {
        (&mut [], &mut [])
    } else {
        s.split_at_mut(mid)
    }
}

impl<'a> Lanes<'a> {
    fn len(&self) -> usize {
        self.w.len()
    }

    fn split_at(self, mid: usize) -> (Lanes<'a>, Lanes<'a>) {
        let (w0, w1) = self.w.split_at_mut(mid);
        let (e0, e1) = cut(self.ema, mid);
        let ema_weight = self.ema_weight;
        let (g0, g1) = self.g.split_at(mid);
        let [a, b, c] = self.s;
        let ((a0, a1), (b0, b1), (c0, c1)) = (cut(a, mid), cut(b, mid), cut(c, mid));
        let g_scale = self.g_scale;
        (
            Lanes {
                w: w0,
                g: g0,
                s: [a0, b0, c0],
                g_scale,
                ema: e0,
                ema_weight,
            },
            Lanes {
                w: w1,
                g: g1,
                s: [a1, b1, c1],
                g_scale,
                ema: e1,
                ema_weight,
            },
        )
    }
}

/// Runs `kernel` over `lanes`, halving them recursively over the rayon pool while each half is
/// at least [`GRAIN`] long. One thread: a single call over everything.
pub(crate) fn for_chunks<F: Fn(Lanes<'_>) + Sync>(lanes: Lanes<'_>, kernel: &F) {
    let n = lanes.len();
    if n < 2 * GRAIN || rayon::current_num_threads() == 1 {
        kernel(lanes);
    } else {
        let (a, b) = lanes.split_at(n / 2);
        rayon::join(|| for_chunks(a, kernel), || for_chunks(b, kernel));
    }
}

/// `simd!(K, f, k, lanes)` calls the kernel `f` (a path to a function, e.g.
/// `kernel::<true, false, false>`, whose body is `#[inline(always)]`; `k: &K`) from a function
/// compiled for AVX-512 or AVX2 when the CPU has it, else as it is; `simd!((a: A, …) -> R
/// { body })` does the same for any body over the named arguments (the norm's sum of squares).
/// The kernels are plain loops
/// that the compiler vectorises, and wider vectors matter for the `sqrt` and division of the
/// adaptive ones, which on one thread take longer than the memory traffic. The kernel is called
/// by name inside each wide function, so it is inlined there and compiled for its features (a
/// kernel passed as an `impl Fn` value was called through a shim compiled for the baseline,
/// 4-wide SSE, whatever the caller's features). Only instruction selection changes: `sqrt` and
/// `/` are correctly rounded at every width and Rust never contracts `a * b + c` into a fused
/// multiply-add or reorders a sum, so the rounding of every operation, and the result, is the
/// same on every x86-64 CPU (`tests/fused.rs`).
macro_rules! simd {
    (($($a:ident: $t:ty),*) -> $r:ty $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f")]
            fn avx512($($a: $t),*) -> $r $body
            #[target_feature(enable = "avx2")]
            fn avx2($($a: $t),*) -> $r $body
            fn base($($a: $t),*) -> $r $body
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { avx512($($a),*) }
            } else if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { avx2($($a),*) }
            } else {
                base($($a),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $body
        }
    }};
    ($K:ty, $f:expr, $k:expr, $l:expr) => {{
        let (k, l): (&$K, $crate::host::Lanes<'_>) = ($k, $l);
        $crate::host::simd!((k: &$K, l: $crate::host::Lanes<'_>) -> () { ($f)(k, l) })
    }};
}
pub(crate) use simd;

/// Runs `kernel` on each listed row: `w` and the state buffers are `[rows, width]` tables,
/// `g` holds one row of `width` per entry of `rows`. The rows are scattered over tables far
/// larger than the caches, so the state rows a few entries ahead are prefetched while the
/// current one is updated.
fn for_rows<F: Fn(Lanes<'_>)>(lanes: Lanes<'_>, rows: &[u32], width: usize, kernel: &F) {
    const AHEAD: usize = 8;
    let Lanes {
        w,
        g,
        s: [a, b, c],
        g_scale,
        ema,
        ema_weight,
    } = lanes;
    fn window(s: &mut [f32], span: std::ops::Range<usize>) -> &mut [f32] {
        if s.is_empty() { &mut [] } else { &mut s[span] }
    }
    for (i, &r) in rows.iter().enumerate() {
        if let Some(&next) = rows.get(i + AHEAD) {
            let start = next as usize * width;
            for buf in [&*w, &*a, &*b, &*c, &*ema] {
                if let Some(row) = buf.get(start..start + width) {
                    prefetch(row);
                }
            }
        }
        let span = r as usize * width..(r as usize + 1) * width;
        kernel(Lanes {
            w: &mut w[span.clone()],
            g: &g[i * width..(i + 1) * width],
            s: [
                window(a, span.clone()),
                window(b, span.clone()),
                window(c, span.clone()),
            ],
            g_scale,
            ema: window(ema, span),
            ema_weight,
        });
    }
}

/// Asks the CPU to start loading `row` into the caches (a hint; no effect on results).
#[inline(always)]
pub fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in row.chunks(16) {
        // SAFETY: prefetching is a hint; the address is that of a live slice element.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                line.as_ptr().cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Calls `$kernel::<B₁, …, Bₖ>($k, $lanes)` through [`simd!`], with the const `bool` parameters
/// set to the runtime values `$flag₁ … $flagₖ`, so each combination of options gets a loop without
/// branches (which the compiler can vectorise). `$k` is a `&Constants`: the calling module's
/// type of that name.
macro_rules! specialize {
    ($kernel:ident [$($done:tt)*] [] ($k:expr, $l:expr)) => {
        $crate::host::simd!(Constants, $kernel::<$($done)*>, $k, $l)
    };
    ($kernel:ident [$($done:tt)*] [$flag:expr $(, $rest:expr)*] ($($args:expr),*)) => {
        if $flag {
            specialize!($kernel [$($done)* true,] [$($rest),*] ($($args),*))
        } else {
            specialize!($kernel [$($done)* false,] [$($rest),*] ($($args),*))
        }
    };
    ($kernel:ident [$($flag:expr),*] ($($args:expr),*)) => {
        specialize!($kernel [] [$($flag),*] ($($args),*))
    };
}
pub(crate) use specialize;

/// The per-coordinate loop of a fused kernel: for each coordinate, reads `w`, `g` and the state
/// slots rule `R` keeps, calls [`Rule::update`] at `X = f32`, and writes `w` and the state back.
/// Called from a kernel that sets the options in `k` from const parameters, the slots kept and
/// every branch on an option are constants, so the loop has no branches.
#[inline(always)]
pub(crate) fn each<R: Rule>(k: &R::Constants, l: Lanes<'_>) {
    // The moving average, when kept, in PyTorch's `lerp` form for its weight (see `ema.rs`).
    match (l.ema.is_empty(), l.ema_weight < 0.5) {
        (true, _) => each_with::<R, NO_EMA>(k, l),
        (false, true) => each_with::<R, EMA_FROM_START>(k, l),
        (false, false) => each_with::<R, EMA_FROM_END>(k, l),
    }
}

/// How [`each_with`] updates the moving average `e` from the new weight `w`, with weight `t`.
const NO_EMA: u8 = 0;
/// `e ← e + t·(w − e)`
const EMA_FROM_START: u8 = 1;
/// `e ← w − (w − e)·(1 − t)`
const EMA_FROM_END: u8 = 2;

#[inline(always)]
fn each_with<R: Rule, const EMA: u8>(k: &R::Constants, l: Lanes<'_>) {
    let layout = R::fresh(k, &0.0f32).layout();
    let (g_scale, t) = (l.g_scale, l.ema_weight);
    let n = l.w.len();
    let (w, g) = (&mut l.w[..n], &l.g[..n]);
    // Kept slots are cut to `n` so the loop has no bounds checks; the others are empty.
    let [a, b, c] = l.s;
    fn cut(s: &mut [f32], n: usize, kept: bool) -> &mut [f32] {
        if kept { &mut s[..n] } else { s }
    }
    let (a, b, c) = (
        cut(a, n, layout[0]),
        cut(b, n, layout[1]),
        cut(c, n, layout[2]),
    );
    let e = cut(l.ema, n, EMA != NO_EMA);
    for i in 0..n {
        let s = R::State::<f32>::from_slots([
            layout[0].then(|| a[i]),
            layout[1].then(|| b[i]),
            layout[2].then(|| c[i]),
        ]);
        // g ← s·g, the gradient's scale (1 unless clipped or averaged)
        let (wi, s) = R::update(k, w[i], g[i] * g_scale, s);
        w[i] = wi;
        let [x, y, z] = s.into_slots();
        if let (true, Some(x)) = (layout[0], x) {
            a[i] = x;
        }
        if let (true, Some(y)) = (layout[1], y) {
            b[i] = y;
        }
        if let (true, Some(z)) = (layout[2], z) {
            c[i] = z;
        }
        if EMA == EMA_FROM_START {
            e[i] = e[i] + t * (wi - e[i]);
        } else if EMA == EMA_FROM_END {
            e[i] = wi - (wi - e[i]) * (1.0 - t);
        }
    }
}

/// A float tensor's buffer on a CPU backend, owned, contiguous, `f32`.
enum Host {
    #[cfg(feature = "flex")]
    Flex(FlexTensor),
    /// Always the `F32` variant.
    #[cfg(feature = "ndarray")]
    NdArray(NdArrayTensor),
}

impl Host {
    /// The buffer of `t` if it is an `f32` tensor on a CPU backend, else `t` back. A strided
    /// view is first copied into a contiguous buffer.
    fn from_tensor<const D: usize>(t: Tensor<D>) -> Result<Self, Tensor<D>> {
        if t.dtype() != DType::F32 {
            return Err(t);
        }
        // `try_into_primitive` consumes its receiver even when it fails, so probe a clone (a
        // reference-count increment) and drop the original once the probe succeeds.
        #[cfg(feature = "flex")]
        if let Ok(p) = t.clone().try_into_primitive::<Flex>() {
            drop(t);
            if p.is_contiguous() {
                return Ok(Host::Flex(p));
            }
            return Self::from_tensor(contiguous(Tensor::<D>::from_primitive::<Flex>(p)));
        }
        #[cfg(feature = "ndarray")]
        if let Ok(p) = t.clone().try_into_primitive::<NdArray>() {
            drop(t);
            return match p {
                NdArrayTensor::F32(s) if s.view().is_standard_layout() => {
                    Ok(Host::NdArray(NdArrayTensor::F32(s)))
                }
                other => {
                    Self::from_tensor(contiguous(Tensor::<D>::from_primitive::<NdArray>(other)))
                }
            };
        }
        Err(t)
    }

    fn into_tensor<const D: usize>(self) -> Tensor<D> {
        match self {
            #[cfg(feature = "flex")]
            Host::Flex(p) => Tensor::from_primitive::<Flex>(p),
            #[cfg(feature = "ndarray")]
            Host::NdArray(p) => Tensor::from_primitive::<NdArray>(p),
        }
    }

    fn slice(&self) -> &[f32] {
        match self {
            #[cfg(feature = "flex")]
            Host::Flex(p) => p
                .as_slice::<f32>()
                .expect("contiguous f32 (checked on entry)"),
            #[cfg(feature = "ndarray")]
            Host::NdArray(NdArrayTensor::F32(s)) => s
                .view()
                .to_slice()
                .expect("standard layout (checked on entry)"),
            #[cfg(feature = "ndarray")]
            Host::NdArray(_) => unreachable!("only F32 tensors are taken"),
        }
    }

    /// The buffer, writable; a buffer shared with another tensor is copied first.
    fn slice_mut(&mut self) -> &mut [f32] {
        match self {
            #[cfg(feature = "flex")]
            Host::Flex(p) => {
                // Internal invariant: `from_tensor` keeps only contiguous Flex buffers.
                let (start, end) = p.layout().contiguous_offsets().expect("contiguous");
                &mut p.storage_mut::<f32>()[start..end]
            }
            #[cfg(feature = "ndarray")]
            Host::NdArray(NdArrayTensor::F32(s)) => s
                .ensure_owned()
                .as_slice_mut()
                .expect("standard layout (checked on entry)"),
            #[cfg(feature = "ndarray")]
            Host::NdArray(_) => unreachable!("only F32 tensors are taken"),
        }
    }
}

fn contiguous<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    let device = t.device();
    Tensor::from_data(t.into_data(), &device)
}

/// Whether `w` is an `f32` tensor on a CPU backend, whose buffer the fast path can update in
/// place. Only looks: a strided view is made contiguous later, by [`update`].
pub(crate) fn on_host<const D: usize>(w: &Tensor<D>) -> bool {
    if w.dtype() != DType::F32 {
        return false;
    }
    #[cfg(feature = "flex")]
    if w.clone().try_into_primitive::<Flex>().is_ok() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    if w.clone().try_into_primitive::<NdArray>().is_ok() {
        return true;
    }
    false
}

/// Calls `read` with the `f32` buffer of `t` (row-major) when `t` is an `f32` tensor on a CPU
/// backend (Flex or NdArray, without autodiff: pass `t.inner()`), reading it in place; `None`
/// on any other device. A strided view is copied into a contiguous buffer first.
pub fn with_host_slice<const D: usize, R>(
    t: &Tensor<D>,
    read: impl FnOnce(&[f32]) -> R,
) -> Option<R> {
    if !on_host(t) {
        return None;
    }
    let host = Host::from_tensor(t.clone()).ok()?;
    Some(read(host.slice()))
}

/// Calls `write` with the `f32` buffer of `t` (row-major), writable in place, when `t` is an `f32`
/// tensor on a CPU backend (without autodiff), and gives the tensor back; `Err(t)` untouched on
/// any other device. A buffer shared with another tensor, or a strided view, is copied first.
pub fn with_host_slice_mut<const D: usize>(
    t: Tensor<D>,
    write: impl FnOnce(&mut [f32]),
) -> Result<Tensor<D>, Tensor<D>> {
    if !on_host(&t) {
        return Err(t);
    }
    let mut host = Host::from_tensor(t)?;
    write(host.slice_mut());
    Ok(host.into_tensor())
}

/// `Σ x²` of a tensor on a CPU backend, read from its buffer and summed in `f64`; `None` on any
/// other device. The order of the additions depends only on the length (fixed halves down to
/// [`GRAIN`], eight running sums within), not on the number of threads, so the result is the same
/// bits at any thread count.
pub(crate) fn sum_squares<const D: usize>(t: &Tensor<D>) -> Option<f64> {
    if !on_host(t) {
        return None;
    }
    let host = Host::from_tensor(t.clone()).ok()?;
    Some(sum_sq(host.slice()))
}

/// `Σ x²` of a tensor on a CPU backend (as [`sum_squares`], the same bits) and, in the same
/// pass over its buffer, `k·x` written into `into` (a tensor shaped like `x`, taken over, or a
/// new one); `None` on any other device. For an L2 penalty `β Σ x²` and its gradient `2β·x`
/// (`k = 2β`) at the cost of one read of `x`.
pub fn scaled_with_sum_squares<const D: usize>(
    x: &Tensor<D>,
    k: f32,
    into: Option<Tensor<D>>,
) -> Option<(Tensor<D>, f64)> {
    if !on_host(x) {
        return None;
    }
    let src = Host::from_tensor(x.clone()).ok()?;
    let into = into.filter(|t| t.shape() == x.shape() && on_host(t));
    let mut dst = match into {
        Some(t) => Host::from_tensor(t).ok()?,
        None => Host::from_tensor(Tensor::<D>::zeros(x.shape(), &x.device())).ok()?,
    };
    let sum = sum_sq_into(src.slice(), Some((dst.slice_mut(), k)));
    Some((dst.into_tensor(), sum))
}

fn sum_sq(x: &[f32]) -> f64 {
    sum_sq_into(x, None)
}

/// [`sum_sq`], writing `k·x` into `out` on the way when given.
fn sum_sq_into(x: &[f32], out: Option<(&mut [f32], f32)>) -> f64 {
    if x.len() >= 2 * GRAIN {
        let mid = x.len() / 2;
        let (a, b) = x.split_at(mid);
        let (oa, ob) = match out {
            Some((o, k)) => {
                let (oa, ob) = o.split_at_mut(mid);
                (Some((oa, k)), Some((ob, k)))
            }
            None => (None, None),
        };
        let (a, b) = rayon::join(|| sum_sq_into(a, oa), || sum_sq_into(b, ob));
        return a + b;
    }
    // eight independent f64 lanes: one AVX-512 register, the same sums at every width
    let sum = simd!((x: &[f32]) -> f64 { sum_sq_leaf(x) });
    if let Some((o, k)) = out {
        // the leaf is at most 2·GRAIN floats: x is read again from the cache
        simd!((o: &mut [f32], x: &[f32], k: f32) -> () {
            o.iter_mut().zip(x).for_each(|(o, &x)| *o = k * x)
        });
    }
    sum
}

/// `Σ x²` of one leaf of [`sum_sq`]: eight running sums (element `i` into sum `i mod 8`), then
/// their total in order.
#[inline(always)]
fn sum_sq_leaf(x: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = x.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            acc[j] += (c[j] as f64) * (c[j] as f64);
        }
    }
    for (j, &v) in rest.iter().enumerate() {
        acc[j] += (v as f64) * (v as f64);
    }
    acc.iter().sum()
}

/// Runs `kernel` in place over `w`, `g` and the state `S` (each buffer shaped like `w`); returns
/// the updated `w` and state. Call only when [`on_host`]`(&w)`.
///
/// With `rows`, `w` and the state are tables of rows (the last dimension) and `g` holds the
/// gradients of those rows only, in order: the kernel then runs on each listed row and nothing
/// else is read or written.
pub(crate) fn fused<S: Slots<Tensor<D>>, const D: usize>(
    w: Tensor<D>,
    g: Tensor<D>,
    state: S,
    g_scale: f32,
    ema: Option<(Tensor<D>, f32)>,
    rows: Option<&[u32]>,
    kernel: impl Fn(Lanes<'_>) + Sync,
) -> (Tensor<D>, S, Option<Tensor<D>>) {
    let width = w.dims()[D - 1];
    let host = |t: Tensor<D>| {
        Host::from_tensor(t).unwrap_or_else(|_| {
            // Internal invariant: the optimizers create their state on the parameter's device,
            // and `ModuleOptimizer`/`RowOptimizer` move a loaded state there before stepping.
            panic!("a gradient or state tensor is not on its parameter's CPU device")
        })
    };
    let mut w = host(w);
    let g = host(g);
    let mut state = state.into_slots().map(|slot| slot.map(host));
    let ema_weight = ema.as_ref().map_or(0.0, |(_, t)| *t);
    let mut ema = ema.map(|(e, _)| host(e));
    {
        let [a, b, c] = &mut state;
        fn slice(s: &mut Option<Host>) -> &mut [f32] {
            s.as_mut().map_or(&mut [][..], Host::slice_mut)
        }
        let lanes = Lanes {
            w: w.slice_mut(),
            g: g.slice(),
            s: [slice(a), slice(b), slice(c)],
            g_scale,
            ema: slice(&mut ema),
            ema_weight,
        };
        // Internal invariants, checked where the shapes enter, so none of these can fire:
        // `RowStep::step_rows` refuses bad rows and gradient shapes with a `RowStepError`;
        // Burn's `ModuleOptimizer` pairs each parameter with its own gradient; `path::step`
        // checked the state's shape against this parameter.
        assert!(
            lanes
                .s
                .iter()
                .chain([&lanes.ema])
                .all(|s| s.is_empty() || s.len() == lanes.len()),
            "parameter and state shapes differ"
        );
        match rows {
            None => {
                assert_eq!(
                    lanes.g.len(),
                    lanes.len(),
                    "parameter and gradient shapes differ"
                );
                for_chunks(lanes, &kernel);
            }
            Some(rows) => {
                assert_eq!(
                    lanes.g.len(),
                    rows.len() * width,
                    "one gradient row per listed row"
                );
                let n_rows = lanes.len() / width.max(1);
                assert!(
                    rows.iter().all(|&r| (r as usize) < n_rows),
                    "row out of range"
                );
                for_rows(lanes, rows, width, &kernel);
            }
        }
    }
    (
        w.into_tensor(),
        S::from_slots(state.map(|slot| slot.map(Host::into_tensor))),
        ema.map(Host::into_tensor),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;

    fn cpu_backends() -> Vec<Backend> {
        Backend::compiled()
            .into_iter()
            .filter(|b| b.is_cpu())
            .collect()
    }

    #[test]
    fn cpu_tensors_take_the_fast_path() {
        let backends = cpu_backends();
        assert!(!backends.is_empty(), "no CPU backend compiled in");
        for backend in backends {
            let device = backend.device().unwrap();
            let w = Tensor::<2>::ones([3, 4], &device);
            assert!(on_host(&w), "{backend:?}");
            // A transposed view is copied into a contiguous buffer, not refused.
            assert!(on_host(&w.swap_dims(0, 1)), "{backend:?} transposed");
        }
    }

    #[test]
    fn a_shared_buffer_is_copied_not_overwritten() {
        for backend in cpu_backends() {
            let device = backend.device().unwrap();
            let w = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
            let kept = w.clone();
            let g = Tensor::<1>::from_floats([1.0, 1.0, 1.0], &device);
            let (w, (), _) = fused(w, g, (), 1.0, None, None, |l: Lanes<'_>| {
                for (w, g) in l.w.iter_mut().zip(l.g) {
                    *w -= g;
                }
            });
            let got: Vec<f32> = w.into_data().try_to_vec::<f32>().unwrap();
            let old: Vec<f32> = kept.into_data().try_to_vec::<f32>().unwrap();
            assert_eq!(got, [0.0, 1.0, 2.0], "{backend:?}");
            assert_eq!(
                old,
                [1.0, 2.0, 3.0],
                "{backend:?}: the caller's copy changed"
            );
        }
    }

    #[test]
    fn long_buffers_are_split_over_threads_without_gaps() {
        let n = 5 * GRAIN + 7;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut w = vec![0.0f32; n];
        let g: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let mut s0 = vec![1.0f32; n];
        let calls = std::sync::atomic::AtomicUsize::new(0);
        pool.install(|| {
            let lanes = Lanes {
                w: &mut w,
                g: &g,
                s: [&mut s0, &mut [], &mut []],
                g_scale: 1.0,
                ema: &mut [],
                ema_weight: 0.0,
            };
            for_chunks(lanes, &|l: Lanes<'_>| {
                calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let [s, _, _] = l.s;
                for ((w, g), s) in l.w.iter_mut().zip(l.g).zip(s.iter_mut()) {
                    *w = *g;
                    *s += 1.0;
                }
            });
        });
        assert!(calls.into_inner() > 1, "the buffer was not split");
        assert!(w.iter().enumerate().all(|(i, &x)| x == i as f32));
        assert!(s0.iter().all(|&x| x == 2.0));
    }
}
