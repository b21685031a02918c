//! # stoke-optim
//!
//! The course's optimizers — Momentum, RMSProp, AdaGrad — plus Adam and AdaDelta, as plugins for
//! [Burn](https://burn.dev) 0.22, and an L2-regularised loss.
//!
//! Each optimizer implements [`burn::optim::Optimizer`] (Burn's per-tensor optimizer trait), so
//! its config's `init()` gives a [`burn::optim::ModuleOptimizer`] that drops into a hand-written
//! training loop or Burn's `Learner`, on any backend:
//!
//! ```no_run
//! # use burn::prelude::*; use burn::nn::{Linear, LinearConfig};
//! # use burn::optim::GradientsParams;
//! use stoke_optim::AdamConfig;
//! # let device = Device::default().autodiff();
//! # let mut model: Linear = LinearConfig::new(4, 1).init(&device);
//! # let x = Tensor::<2>::ones([8, 4], &device);
//! let mut optim = AdamConfig::new().init();
//! let loss = model.forward(x).powi_scalar(2).mean();
//! let grads = GradientsParams::from_grads(loss.backward(), &model);
//! model = optim.step(1e-3, model, grads);
//! ```
//!
//! | optimizer | file | default form |
//! |---|---|---|
//! | [`Momentum`] | `momentum.rs` | course/Keras `v ← γv + ηg; w ← w − v` ([`MomentumForm`]) |
//! | [`RmsProp`] | `rmsprop.rs` | course/Keras `E ← γE + (1−γ)g²; w ← w − ηg/√(E+ε)` ([`EpsilonPlacement`]) |
//! | [`AdaGrad`] | `adagrad.rs` | course/Keras `S ← S + g²; w ← w − ηg/√(S+ε)` |
//! | [`Adam`] | `adam.rs` | exactly `torch.optim.Adam` / `AdamW` |
//! | [`AdaDelta`] | `adadelta.rs` | exactly `torch.optim.Adadelta` |
//!
//! Every hyper-parameter is an `f64` field with a `with_<field>` setter. `validate()` /
//! `try_init()` / `try_build()` reject invalid values with a [`ConfigError`] naming the field and
//! the rule; `init()` and `build()` panic with the same message. Every optimizer is checked step
//! by step against PyTorch's `torch.optim` on recorded trajectories (`tests/torch_parity.rs`), and
//! its state saves and restores exactly (`tests/state.rs`).
//!
//! **Speed.** On a CPU backend (Flex, NdArray) each step is one in-place pass over the raw
//! buffers of the parameter, its gradient and its state (`host.rs`), split over the rayon pool's
//! threads and vectorised: within a few percent of the memory-bandwidth floor and 7–23× faster
//! than the same update as tensor ops or as Burn's built-in optimizers, with the same bits as
//! the tensor-op path (`tests/fused.rs`); every other device runs the tensor ops. [`RowStep`]
//! updates only the rows of an embedding table that a batch used ([`rows`]). `stoke bench
//! optim` (the `stoke-bench` crate) measures all of this; see `docs/performance.md`.

/// Declares a stoke optimizer `$optim` of config `$config` and what every one shares: the
/// constructors `try_build`/`build` (the bare optimizer, for `ModuleOptimizer::with_group`) and
/// `try_init`/`init` (a whole-module `ModuleOptimizer`), all gated by the config's `validate`;
/// the `fused` and `grad_scale` knobs; and its Burn `Optimizer` and `RowStep` impls, both the
/// optimizer's [`path::Rule`] run by `path::run` (its dispatch: fused CPU pass or tensor ops).
#[macro_export]
#[doc(hidden)]
macro_rules! optimizer {
    (
        $(#[$meta:meta])* $optim:ident($config:ident);
        $(#[$state_meta:meta])* $state:ident
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $optim {
            config: $config,
            fused: bool,
            grad_scale: $crate::GradScale,
        }

        $(#[$state_meta])*
        pub type $state<const D: usize> = $crate::state::ParamState<$optim, D>;

        impl burn::optim::Optimizer for $optim {
            type State<const D: usize> = $crate::state::ParamState<$optim, D>;

            fn step<const D: usize>(
                &self,
                lr: burn::optim::LearningRate,
                w: burn::tensor::Tensor<D>,
                g: burn::tensor::Tensor<D>,
                state: Option<Self::State<D>>,
            ) -> (burn::tensor::Tensor<D>, Option<Self::State<D>>) {
                let s = $crate::path::run(self, lr, w, g, state, None, None);
                (s.w, s.state)
            }

            fn to_device<const D: usize>(
                state: Self::State<D>,
                device: &burn::tensor::Device,
            ) -> Self::State<D> {
                state.to_device(device)
            }
        }

        impl $crate::RowStep for $optim {
            fn step_rows(
                &self,
                lr: burn::optim::LearningRate,
                w: burn::tensor::Tensor<2>,
                rows: &[u32],
                g_rows: burn::tensor::Tensor<2>,
                state: Option<Self::State<2>>,
            ) -> Result<(burn::tensor::Tensor<2>, Option<Self::State<2>>), $crate::RowStepError>
            {
                $crate::rows::check_rows(&w, rows, &g_rows, state.as_ref())?;
                let s = $crate::path::run(self, lr, w, g_rows, state, Some(rows), None);
                Ok((s.w, s.state))
            }

            fn check_rows(
                &self,
                w: &burn::tensor::Tensor<2>,
                rows: &[u32],
                g_rows: &burn::tensor::Tensor<2>,
                state: Option<&Self::State<2>>,
            ) -> Result<(), $crate::RowStepError> {
                $crate::rows::check_rows(w, rows, g_rows, state)
            }
        }

        impl $config {
            /// The bare optimizer, for `ModuleOptimizer::with_group`, or the first rule it breaks.
            pub fn try_build(&self) -> Result<$optim, $crate::ConfigError> {
                self.validate()?;
                Ok($optim {
                    config: self.clone(),
                    fused: true,
                    grad_scale: $crate::GradScale::new(),
                })
            }

            /// The bare optimizer. Panics with the `ConfigError` message on an invalid config.
            pub fn build(&self) -> $optim {
                // Documented panic (Burn's `init()` convention); `try_build` is the error path.
                self.try_build().unwrap_or_else(|e| panic!("{e}"))
            }

            /// A `ModuleOptimizer` that updates every parameter of a module, or the first rule
            /// broken.
            pub fn try_init(&self) -> Result<burn::optim::ModuleOptimizer, $crate::ConfigError> {
                Ok(self.try_build()?.into())
            }

            /// A `ModuleOptimizer`. Panics with the `ConfigError` message on an invalid config.
            pub fn init(&self) -> burn::optim::ModuleOptimizer {
                self.build().into()
            }
        }

        impl $crate::spec::AnyConfig for $config {
            fn check(&self) -> Result<(), $crate::ConfigError> {
                self.validate()
            }

            fn module(
                &self,
                scale: &$crate::GradScale,
                ema: Option<f64>,
            ) -> Result<burn::optim::ModuleOptimizer, $crate::ConfigError> {
                let optim = self.try_build()?.with_grad_scale(scale.clone());
                Ok(match ema {
                    Some(d) => $crate::Averaged::new(optim, d)?.into(),
                    None => optim.into(),
                })
            }

            fn rows(
                &self,
                scale: &$crate::GradScale,
            ) -> Result<$crate::RowOptimizer, $crate::ConfigError> {
                let optim = self.try_build()?.with_grad_scale(scale.clone());
                Ok($crate::RowOptimizer::new(optim))
            }

            fn state_buffers(&self) -> Result<usize, $crate::ConfigError> {
                Ok($crate::path::state_buffers(&self.try_build()?))
            }

            fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::Object(fields)) => fields,
                    // Internal invariant: a config is a struct of numbers, bools and unit enums.
                    _ => unreachable!("a config serialises to a map"),
                }
            }

            fn set_fields(
                &mut self,
                fields: serde_json::Map<String, serde_json::Value>,
            ) -> Result<(), serde_json::Error> {
                *self = serde_json::from_value(serde_json::Value::Object(fields))?;
                Ok(())
            }
        }

        impl $optim {
            /// The validated configuration.
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// Whether steps on a CPU backend (Flex, NdArray) run as one in-place pass over the
            /// raw buffers (the default; see `host.rs`) instead of as tensor ops. Both give the
            /// same bits; `false` is for comparing the two.
            pub fn with_fused(mut self, fused: bool) -> Self {
                self.fused = fused;
                self
            }

            /// Applies the shared gradient scale `s` (`g ← s·g`, see [`GradScale`]) in every
            /// step, instead of a fresh handle at 1.
            ///
            /// [`GradScale`]: $crate::GradScale
            pub fn with_grad_scale(mut self, scale: $crate::GradScale) -> Self {
                self.grad_scale = scale;
                self
            }

            /// The gradient-scale handle this optimizer reads each step.
            pub fn grad_scale(&self) -> &$crate::GradScale {
                &self.grad_scale
            }

            /// Whether the CPU fast path is on (see [`with_fused`](Self::with_fused)).
            pub fn fused(&self) -> bool {
                self.fused
            }
        }
    };
}

pub mod adadelta;
pub mod adagrad;
pub mod adam;
mod arith;
pub mod device;
pub mod ema;
mod error;
#[doc(hidden)]
pub mod floor;
mod forms;
mod host;
pub mod l2;
pub mod momentum;
#[doc(hidden)]
pub mod path;
pub mod rmsprop;
pub mod rows;
mod scale;
pub mod schedule;
pub mod spec;
pub mod state;
pub mod transform;

pub use adadelta::{AdaDelta, AdaDeltaConfig, AdaDeltaState};
pub use adagrad::{AdaGrad, AdaGradConfig, AdaGradState};
pub use adam::{Adam, AdamConfig, AdamState};
pub use device::{Backend, BackendError, DeviceName, DeviceNameError, WgpuAdapter};
pub use ema::{Averaged, AveragedState, ema_weights};
pub use error::ConfigError;
pub use forms::{EpsilonPlacement, MomentumForm};
pub use host::{prefetch, scaled_with_sum_squares, with_host_slice, with_host_slice_mut};
pub use l2::{Criterion, L2Regularized, L2Regularizer};
pub use momentum::{Momentum, MomentumConfig, MomentumState};
pub use rmsprop::{RmsProp, RmsPropConfig, RmsPropState};
pub use rows::{RowOptimizer, RowStateError, RowStep, RowStepError};
pub use scale::GradScale;
pub use schedule::{
    OneCycleConfig, OneCycleLr, PlateauConfig, ReduceLrOnPlateau, Schedule, ScheduleError,
    Scheduler, StepwiseLr,
};
pub use spec::{OptimizerConfig, OptimizerSpec, SpecError};
pub use transform::{Chain, Outcome, Transforms};

/// The README's code blocks, compiled and run as doc tests (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
