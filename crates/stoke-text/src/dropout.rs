//! Inverted dropout whose masks come from stoke's seeded host generator, so a run draws the
//! same masks on every backend.
//!
//! In training (an autodiff input and the layer's `training` flag set), for an input `x` with
//! `n` elements and drop probability `p`:
//!
//! ```text
//! mᵢ = 1 if uᵢ < 1 − p else 0,   uᵢ ~ U[0, 1) from ChaCha8     (mᵢ ~ Bernoulli(1 − p))
//! yᵢ = xᵢ · mᵢ/(1 − p)                                           (E[yᵢ] = xᵢ)
//! ```
//!
//! and the identity otherwise (`valid()`, a device without autodiff, or `p = 0`), as Burn's
//! `Dropout`. The mask is drawn on the host, `n` uniforms in row-major order, and uploaded with
//! `Tensor::from_data`.
//!
//! # The mask stream
//!
//! Each layer owns a ChaCha8 stream that every training forward advances by exactly `n` draws.
//! [`HostDropout::reseed`] restarts it. This serves a model used on its own; stoke's training
//! loops key each step's masks instead (next section), so that a resumed run, and a run on
//! several devices, draws the same masks with nothing extra in the checkpoint.
//!
//! The stream is shared by the clones of a layer (as Burn's device generator is shared by
//! everything on a device): a clone's forward advances the original's masks too, so no two
//! forwards of one model ever reuse a mask.
//!
//! # Masks keyed by the step
//!
//! Training loops use [`HostDropout::for_step`] instead: a layer with a private stream
//! `(step_seed(seed, epoch, iteration), layer)` whose first forward starts `row_offset` rows into
//! it. Element `(r, c)` of a `[B, width]` input is then drawn from uniform number
//! `(row_offset + r)·width + c` of its step's stream, a function of the step and of the text's
//! row in the step's whole batch only. So a step split over `D` devices (device `j` holding rows
//! `row_offset_j ..`, in any thread order) draws exactly the masks of the same step on one
//! device, and every run and resumed run draws the same masks.
//!
//! # Records
//!
//! The fields that take part in the module tree are those of Burn's `Dropout` (`prob` and the
//! `training` flag, neither persisted), so a model saved with either layer loads into the other.

use std::sync::{Arc, Mutex, PoisonError};

use burn::module::{Content, DisplaySettings, Flag, Module, ModuleDisplay, Param};
use burn::tensor::{Tensor, TensorData};
use rand_chacha::ChaCha8Rng;

use crate::error::{InvalidSetting, require};
use crate::rng;

/// Inverted dropout with host-drawn masks; see the [module docs](self).
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct HostDropout {
    /// The probability `p` of zeroing an element, in `[0, 1)`.
    pub prob: f64,
    /// Whether to behave as during training (cleared by `freeze`, as Burn's `Dropout`).
    pub training: Param<Flag>,
    #[module(skip)]
    masks: MaskStream,
}

/// The generator of a layer's masks, shared by its clones, and the rows its next forward skips.
#[derive(Clone)]
struct MaskStream(Arc<Mutex<(ChaCha8Rng, usize)>>);

impl std::fmt::Debug for MaskStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskStream")
    }
}

impl MaskStream {
    /// `f` with the generator; a panic in another holder leaves a valid generator behind.
    fn with<T>(&self, f: impl FnOnce(&mut (ChaCha8Rng, usize)) -> T) -> T {
        let mut rng = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut rng)
    }

    fn new(rng: ChaCha8Rng, skip_rows: usize) -> Self {
        MaskStream(Arc::new(Mutex::new((rng, skip_rows))))
    }
}

impl HostDropout {
    /// A layer dropping with probability `prob`, drawing its masks from stream `layer` of
    /// `seed`; `prob` must be in `[0, 1)`.
    pub fn new(prob: f64, seed: u64, layer: u64) -> Result<Self, InvalidSetting> {
        require(
            (0.0..1.0).contains(&prob),
            "dropout",
            prob,
            "must be in [0, 1)",
        )?;
        Ok(Self {
            prob,
            training: Param::from_bool(true),
            masks: MaskStream::new(stream(seed, layer), 0),
        })
    }

    /// This layer drawing the masks of one training step: stream `layer` of `seed` (see
    /// [`step_seed`]), its first forward starting `row_offset` rows in; see the
    /// [module docs](self#masks-keyed-by-the-step). The copy shares nothing with `self`'s stream.
    pub fn for_step(&self, seed: u64, layer: u64, row_offset: usize) -> Self {
        Self {
            prob: self.prob,
            training: self.training.clone(),
            masks: MaskStream::new(stream(seed, layer), row_offset),
        }
    }

    /// Restarts the masks at the beginning of stream `layer` of `seed`, for this layer and
    /// every clone of it.
    pub fn reseed(&self, seed: u64, layer: u64) {
        self.masks.with(|m| *m = (stream(seed, layer), 0));
    }

    /// Applies dropout to `input` (any shape); see the [module docs](self).
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        if !self.training.is_enabled() || !input.device().is_autodiff() || self.prob == 0.0 {
            return input;
        }
        let keep = 1.0 - self.prob;
        let scale = (1.0 / keep) as f32;
        let shape = input.shape();
        let n = shape.num_elements();
        let mask: Vec<f32> = self.masks.with(|(rng, skip_rows)| {
            if *skip_rows > 0 {
                // `skip_rows` rows of `width` uniforms, each one `next_u64`: two 32-bit words
                let width = n / shape.dims::<D>()[0].max(1);
                let words = 2 * (*skip_rows as u128) * width as u128;
                rng.set_word_pos(rng.get_word_pos() + words);
                *skip_rows = 0;
            }
            rng::below(rng, n, keep)
                .into_iter()
                .map(|kept| if kept { scale } else { 0.0 })
                .collect()
        });
        let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &input.device());
        input * mask
    }
}

/// The seed of the masks of iteration `iteration` (1-based) of epoch `epoch` of a run seeded
/// `seed` (SplitMix64's finaliser over the three, so nearby steps get unrelated streams).
pub fn step_seed(seed: u64, epoch: usize, iteration: usize) -> u64 {
    let mut x = seed
        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (iteration as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The mask generator of dropout layer `layer` under `seed`.
fn stream(seed: u64, layer: u64) -> ChaCha8Rng {
    rng::rng(seed, rng::DROPOUT_STREAM + layer)
}

impl ModuleDisplay for HostDropout {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }

    fn custom_content(&self, content: Content) -> Option<Content> {
        let content = content.add("prob", &self.prob);
        match self.training.is_enabled() {
            true => content.optional(),
            false => content.add("training", &self.training).optional(),
        }
    }
}
