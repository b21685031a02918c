//! Which path a step takes: one fused pass over the CPU buffers (`host.rs`), or tensor ops on
//! any device. Both call the optimizer's one generic `update` (`arith.rs`).

use burn::optim::LearningRate;
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::arith::{Arith, Whole};
use crate::host::{self, Lanes};
use crate::state::{ParamState, Slots};

/// The moving average of a parameter's weights, for one step (see [`crate::ema`]).
pub struct EmaStep<const D: usize> {
    /// `e` before the step; `None` on the first step, which sets `e` to the new weights.
    pub ema: Option<Tensor<D>>,
    /// `t` of `e ← lerp(e, w, t)`, i.e. `1 − decay`.
    pub weight: f32,
}

/// What `run` gives back.
pub struct Stepped<const D: usize, S> {
    /// The new weights.
    pub w: Tensor<D>,
    /// The new optimizer state.
    pub state: Option<S>,
    /// The new moving average, when one was given.
    pub ema: Option<Tensor<D>>,
}

/// An optimizer's update rule, written once over any `Arith`: one coordinate in the fused CPU
/// loop, a whole tensor on every other path.
pub trait Rule {
    /// Whether the update reads the step count `t` (it is then saved with the state).
    const COUNTS_STEPS: bool;
    /// The options and `f32` constants of one step (computed once per step).
    type Constants: Copy + Sync;
    /// The per-parameter state, over buffers of `X`.
    type State<X: Clone + Send + Sync + 'static>: Slots<X> + Clone + Send + Sync + 'static;

    /// The constants of step `t` (1 for the first) at learning rate `η`.
    fn constants(&self, lr: LearningRate, t: u64) -> Self::Constants;

    /// The state before the first step.
    fn fresh<X: Arith>(k: &Self::Constants, w: &X) -> Self::State<X>;

    /// One step: the new `w` and state from `w`, the gradient `g` and the state.
    fn update<X: Arith>(k: &Self::Constants, w: X, g: X, s: Self::State<X>) -> (X, Self::State<X>);

    /// [`update`](Self::update) over one chunk of CPU buffers: `host::each` with constants
    /// whose options are made const (`specialize!`), so the loop has no branches.
    fn kernel(k: &Self::Constants, l: Lanes<'_>);

    /// Whether steps on a CPU buffer take the fused path, and the gradient scale to apply.
    fn knobs(&self) -> (bool, f32);
}

/// One step of `rule` on `w` (all of it, or only `rows` of a `[n, d]` table), updating the
/// weights' moving average `ema` from the new `w` in the same pass when one is given: every stoke
/// optimizer's `Optimizer::step` and `RowStep::step_rows`.
pub(crate) fn run<R: Rule, const D: usize>(
    rule: &R,
    lr: LearningRate,
    w: Tensor<D>,
    g: Tensor<D>,
    state: Option<ParamState<R, D>>,
    rows: Option<&[u32]>,
    ema: Option<EmaStep<D>>,
) -> Stepped<D, ParamState<R, D>> {
    let t = state.as_ref().map_or(1, |s| s.step + 1);
    let k = rule.constants(lr, t);
    let (fused, g_scale) = rule.knobs();
    let buffers = state.map(|s| s.buffers);
    let kernel = |l: Lanes<'_>| R::kernel(&k, l);
    let (w, buffers, ema) = step::<R, D>(fused, g_scale, &k, w, g, buffers, rows, ema, kernel);
    // A rule that keeps no buffer (plain gradient descent) keeps no state.
    let keeps = R::fresh(&k, &0.0f32).layout().contains(&true);
    let state = keeps.then_some(ParamState { buffers, step: t });
    Stepped { w, state, ema }
}

/// How many buffers of the parameter's size the rule keeps as state (0 for plain SGD, 3 for
/// AMSGrad).
pub(crate) fn state_buffers<R: Rule>(rule: &R) -> usize {
    let kept = R::fresh(&rule.constants(1.0, 1), &0.0f32).layout();
    kept.into_iter().filter(|&k| k).count()
}

/// One step of rule `R` on `w` with gradient `g`, from `state` (or [`Rule::fresh`]).
///
/// The gradient is taken as `g_scale·g` (see [`GradScale`](crate::GradScale)).
///
/// * On a CPU backend with `fused` on, `kernel` (which calls [`host::each`] with `R` and
///   constants whose options are const) runs in place over the raw buffers; with `rows`, on
///   those rows only.
/// * Anywhere else [`Rule::update`] runs once on whole tensors; with `rows`, `g` holds the listed
///   rows' gradients and is first scattered into a dense gradient (zeros elsewhere).
#[allow(clippy::too_many_arguments)]
pub(crate) fn step<R: Rule, const D: usize>(
    fused: bool,
    g_scale: f32,
    k: &R::Constants,
    w: Tensor<D>,
    g: Tensor<D>,
    state: Option<R::State<Tensor<D>>>,
    rows: Option<&[u32]>,
    ema: Option<EmaStep<D>>,
    kernel: impl Fn(Lanes<'_>) + Sync,
) -> (Tensor<D>, R::State<Tensor<D>>, Option<Tensor<D>>) {
    let state = match state {
        Some(s) => s,
        None => R::fresh(k, &Whole(w.clone())).convert(|x: Whole<D>| x.0),
    };
    // Internal invariant: a state is made by `Rule::fresh` from this parameter, or comes from
    // a load checked against it (`state::check_saved`, `RowStep::check_rows`), which refuse
    // another shape with an error. Only a state loaded around those checks (Burn's own
    // `ModuleOptimizer::from_bytes`) can stop here, and this names the fix.
    let dims = w.dims();
    assert!(
        state
            .clone()
            .into_slots()
            .iter()
            .flatten()
            .all(|b| b.dims() == dims),
        "an optimizer state's shape differs from its parameter's {dims:?}: load saved states \
         with stoke_optim::state::load_checked, which says what does not fit"
    );
    // On the first step the average starts as a copy of the new weights (below).
    let first = matches!(ema, Some(EmaStep { ema: None, .. }));
    let ema = ema.and_then(|e| Some((e.ema?, e.weight)));
    let (w, state, ema) = if fused && host::on_host(&w) {
        host::fused(w, g, state, g_scale, ema, rows, kernel)
    } else {
        let g = match rows {
            Some(rows) => scatter(&w, rows, g),
            None => g,
        };
        // g ← s·g (the fused loop always multiplies; ×1 changes no bit, so it is skipped here)
        let g = if g_scale == 1.0 {
            g
        } else {
            g.mul_scalar(g_scale)
        };
        let (w, state) = R::update(k, Whole(w), Whole(g), state.convert(Whole));
        let ema = ema.map(|(e, t)| crate::ema::lerp(e, w.0.clone(), t));
        (w.0, state.convert(|x: Whole<D>| x.0), ema)
    };
    let ema = if first { Some(w.clone()) } else { ema };
    (w, state, ema)
}

/// The dense gradient with `g_rows` at `rows` (along the first dimension) and zeros elsewhere.
fn scatter<const D: usize>(w: &Tensor<D>, rows: &[u32], g_rows: Tensor<D>) -> Tensor<D> {
    let device: Device = w.device();
    let ids: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [rows.len()]), &device);
    Tensor::<D>::zeros(w.shape(), &device).select_assign(0, ids, g_rows, IndexingUpdateOp::Add)
}
