//! The text classifier: embedding bag (mean) → hidden blocks → linear classifier.
//!
//! ```text
//! tokens [B, L], mask [B, L]
//!   → embedding table E [num_ids, embed_dim]
//!   → mean pooling  h_b = Σ_t w[b,t]·E[tokens[b,t]] / max(1, Σ_t w[b,t])   [B, embed_dim]
//!     w = mask (each id's count in the text; `tf = "raw"`) or 1 + ln mask (`tf = "sublinear"`);
//!     `bags = "split"`: the mean of the word features plus the mean of the character n-grams
//!   → n_hidden × ( Linear → BatchNorm (optional) → ReLU → Dropout(p) (optional) )
//!   → Linear → logits [B, n_classes]
//! ```
//!
//! The pooling has PyTorch `EmbeddingBag(mode="mean")` semantics: padding positions have
//! mask 0 and contribute nothing, so padding a text to any length leaves its output
//! unchanged; an empty bag pools to the zero vector.
//!
//! # BatchNorm and Dropout conventions (Burn's modules)
//!
//! * In training mode (model on an autodiff device, not `valid()`), BatchNorm normalises
//!   each feature with the batch mean and the **biased** batch variance
//!   `σ² = (1/n) Σ (x − μ)²`, then applies `γ·x̂ + β` (γ = 1, β = 0 at init), so each feature
//!   has mean 0 and standard deviation ≈ 1 over the batch. In eval mode (`model.valid()`)
//!   it uses the running statistics.
//! * Running statistics follow PyTorch's momentum convention:
//!   `running = (1 − momentum)·running + momentum·batch`. Keras writes the same update with
//!   `momentum` weighting the *old* value, so Keras `momentum = 0.99` is Burn
//!   `bn_momentum = 0.01`.
//! * Dropout is inverted dropout: in training each activation is zeroed with probability
//!   `p` and the survivors are multiplied by `1/(1 − p)`, so expectations are unchanged;
//!   in eval mode it is the identity. The masks come from the host generator
//!   ([`HostDropout`]), keyed by the step through [`TextClassifier::dropout_for_step`].
//!
//! # Random state
//!
//! [`TextClassifierConfig::try_init_seeded`] draws every initial weight on the host, so the
//! same seed starts the same model on every backend; the training loops take each step's
//! masks from [`TextClassifier::dropout_for_step`] (seed, epoch, iteration and row), so the
//! masks are the same too, on one device or several.

use burn::module::Param;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{BatchNorm, BatchNormConfig, Embedding, Initializer, Linear};
use burn::prelude::*;
use burn::tensor::Distribution;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::batch::{HostColumns, TextBatch, TextItem};
use crate::dropout::HostDropout;
use crate::error::{InvalidSetting, require};
use crate::rng;

/// The shape of a [`TextClassifier`]: every setting except the two sizes the data gives
/// (`num_ids`, `n_classes`). A recipe's `model = { … }` table is one of these; fields it leaves
/// out take the defaults below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelShape {
    /// Embedding width (default 64).
    pub embed_dim: usize,
    /// Width of each hidden block (default 128).
    pub hidden: usize,
    /// Number of hidden blocks (default 1; 0 = a linear classifier on the pooled embedding, as
    /// fastText).
    pub n_hidden: usize,
    /// Whether each hidden block has a BatchNorm after its Linear (default true).
    pub batch_norm: bool,
    /// Dropout probability after each hidden block's ReLU (default 0.2; 0 = no dropout layer).
    pub dropout: f64,
    /// Multiplies the default initialisation of every Linear layer (weights and biases are
    /// drawn from `U(−s·k, s·k)`, `k = 1/√d_input`, instead of `U(−k, k)`; default 1). The
    /// BatchNorm recipe uses 0.1 (weights ten times too small) as a deliberately bad
    /// initialisation.
    pub init_scale: f64,
    /// BatchNorm running-statistics momentum, Burn/PyTorch convention (default 0.1; Keras
    /// 0.99 = 0.01).
    pub bn_momentum: f64,
    /// Standard deviation σ of the embedding table's initialisation, `E[i, j] ~ N(0, σ²)`
    /// (default 0.01).
    ///
    /// The default starts every row near zero, as fastText does (`U(±1/dim)`), instead of
    /// Burn's and PyTorch's `N(0, 1)`: a row that training seldom or never updates (a rare
    /// n-gram, a hash bucket first seen at test time) then adds almost nothing to the pooled
    /// vector instead of unit-variance noise. On langid (Adam + L2, 2 epochs, three seeds) this
    /// raised validation accuracy from 0.948 to 0.961 (dense update) and from 0.937 to 0.967
    /// (row-sparse update); figures in `docs/performance.md`. Must be > 0: from an all-zero
    /// table the pooled input is the same for every text, BatchNorm passes back no gradient and
    /// the model does not learn.
    pub embed_init_std: f64,
    /// How an id's count in a text weighs its row in the mean pooling (default
    /// [`TermFrequency::Raw`]; `stoke train` picks it from its texts with [`Pooling::suited_to`]).
    pub tf: TermFrequency,
    /// One mean over every feature, or one per kind of feature (default [`Bags::One`];
    /// `stoke train` picks it from its texts with [`Pooling::suited_to`]).
    pub bags: Bags,
}

/// What the mean pooling averages over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bags {
    /// `h = Σ_i w_i·E[i] / Σ_i w_i` over all the text's features (fastText's average).
    #[default]
    One,
    /// `h = Σ_{i∈words} w_i·E[i] / Σ_{i∈words} w_i + Σ_{i∈chars} w_i·E[i] / Σ_{i∈chars} w_i`:
    /// word features and character n-grams each averaged in their own bag, so a sotu passage's
    /// ~1,100 character n-grams weigh as much as its ~130 word features, not nine times more
    /// (averages over 3,000 passages, counted with a regex approximation of the tokenizer).
    /// scikit-learn's union of a word and a character `TfidfVectorizer` does the same by
    /// normalising each block on its own.
    Split,
}

/// The pooling `stoke train` takes where `--set model.bags` / `model.tf` do not say, from the
/// length of the training texts: passages (a median of [`Pooling::PASSAGE_WORDS`] word features
/// or more) get split bags with sublinear tf, sentences and single words one bag with raw
/// counts.
///
/// In one bag a passage's many character n-grams drown its word features (sotu: ~1,100 against
/// ~130), and its common n-grams repeat dozens of times. A sentence has few of either. A
/// single word's word feature is that word's own row, learnt by heart in training and untrained
/// for a word first seen at test time: split, it would be half the pooled vector.
///
/// Validation accuracy (seed 1; sentiment-uci seeds 1–3), one bag raw → split sublinear, with
/// each set's median: sotu (109) 0.7742 → 0.7961, spam-assassin (389) 0.9901 → 0.9950, langid
/// (27) 0.9755 → 0.9752, sentiment-uci (19) 0.8644 → 0.8556, words (1) split raw 0.8581 →
/// 0.7837. RESULTS.md has every candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pooling {
    /// One bag or split bags.
    pub bags: Bags,
    /// Raw or sublinear counts.
    pub tf: TermFrequency,
    /// The median number of word features per text it was chosen from.
    pub median_words: usize,
}

impl Pooling {
    /// Median word features from which a text counts as a passage: 64, about 32 words (word
    /// unigrams and bigrams), between the sentence sets' 27 and sotu's 109.
    pub const PASSAGE_WORDS: usize = 64;

    /// The pooling for texts like `texts` (the training rows).
    pub fn suited_to(texts: &[TextItem]) -> Pooling {
        let median_words = median_words(texts);
        let (bags, tf) = if median_words >= Self::PASSAGE_WORDS {
            (Bags::Split, TermFrequency::Sublinear)
        } else {
            (Bags::One, TermFrequency::Raw)
        };
        Pooling {
            bags,
            tf,
            median_words,
        }
    }
}

/// The median number of word features of `texts` (the upper median; 0 for none).
fn median_words(texts: &[TextItem]) -> usize {
    let mut words: Vec<usize> = texts.iter().map(|t| t.words).collect();
    if words.is_empty() {
        return 0;
    }
    let mid = words.len() / 2;
    *words.select_nth_unstable(mid).1
}

/// The TOML name: `one`, `split`.
impl std::fmt::Display for Bags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bags::One => "one",
            Bags::Split => "split",
        })
    }
}

/// The TOML name: `raw`, `sublinear`.
impl std::fmt::Display for TermFrequency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TermFrequency::Raw => "raw",
            TermFrequency::Sublinear => "sublinear",
        })
    }
}

/// The weight `w(c)` of an id that occurs `c` times in a text, in the mean pooling
/// `Σ w(c_i)·E[i] / Σ w(c_i)` over the text's distinct ids `i`. scikit-learn's
/// `TfidfVectorizer(sublinear_tf=…)` names the same choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermFrequency {
    /// `w(c) = c`: every occurrence counts once, PyTorch's `EmbeddingBag(mode="mean")` and
    /// fastText's average.
    #[default]
    Raw,
    /// `w(c) = 1 + ln c` (`sublinear_tf=True`): a character n-gram that occurs 40 times in a
    /// passage weighs 4.7 rather than 40, so the many repeats of a long text's common n-grams
    /// do not drown its rarer words.
    Sublinear,
}

impl Default for ModelShape {
    fn default() -> Self {
        Self {
            embed_dim: 64,
            hidden: 128,
            n_hidden: 1,
            batch_norm: true,
            dropout: 0.2,
            init_scale: 1.0,
            bn_momentum: 0.1,
            embed_init_std: 0.01,
            tf: TermFrequency::Raw,
            bags: Bags::One,
        }
    }
}

impl ModelShape {
    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        require(
            self.embed_dim > 0,
            "embed_dim",
            self.embed_dim,
            "must be at least 1",
        )?;
        require(
            self.n_hidden == 0 || self.hidden > 0,
            "hidden",
            self.hidden,
            "must be at least 1 when n_hidden > 0",
        )?;
        require(
            (0.0..1.0).contains(&self.dropout),
            "dropout",
            self.dropout,
            "must be in [0, 1)",
        )?;
        require(
            self.init_scale.is_finite() && self.init_scale > 0.0,
            "init_scale",
            self.init_scale,
            "must be finite and > 0",
        )?;
        require(
            (0.0..=1.0).contains(&self.bn_momentum),
            "bn_momentum",
            self.bn_momentum,
            "must be in [0, 1]",
        )?;
        require(
            self.embed_init_std.is_finite() && self.embed_init_std > 0.0,
            "embed_init_std",
            self.embed_init_std,
            "must be finite and > 0",
        )
    }

    /// The config of a classifier of this shape over `num_ids` feature ids and `n_classes`
    /// classes.
    pub fn classifier(self, num_ids: usize, n_classes: usize) -> TextClassifierConfig {
        TextClassifierConfig {
            num_ids,
            n_classes,
            shape: self,
        }
    }
}

/// Settings of a [`TextClassifier`]: the sizes the data gives and a [`ModelShape`] (whose
/// fields it also reads as its own, e.g. `config.dropout`). Serialises flat, as
/// `config.json` of a [saved classifier](crate::saved).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextClassifierConfig {
    /// Embedding rows (= [`Tokenizer::num_ids`](crate::tokenizer::Tokenizer::num_ids)).
    pub num_ids: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Everything else.
    #[serde(flatten)]
    pub shape: ModelShape,
}

impl std::ops::Deref for TextClassifierConfig {
    type Target = ModelShape;

    fn deref(&self) -> &ModelShape {
        &self.shape
    }
}

/// `with_field(value)` setters of the [`ModelShape`] fields of a [`TextClassifierConfig`].
macro_rules! shape_setters {
    ($($setter:ident => $field:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`ModelShape::", stringify!($field), "`].")]
            pub fn $setter(mut self, $field: $ty) -> Self {
                self.shape.$field = $field;
                self
            }
        )*
    };
}

/// The largest embedding table, in parameters: 2³⁴ (64 GiB of `f32`).
const MAX_TABLE: u128 = 1 << 34;

impl TextClassifierConfig {
    /// `num_ids` feature ids, `n_classes` classes and the default [`ModelShape`].
    pub fn new(num_ids: usize, n_classes: usize) -> Self {
        ModelShape::default().classifier(num_ids, n_classes)
    }

    shape_setters! {
        with_embed_dim => embed_dim: usize,
        with_hidden => hidden: usize,
        with_n_hidden => n_hidden: usize,
        with_batch_norm => batch_norm: bool,
        with_dropout => dropout: f64,
        with_init_scale => init_scale: f64,
        with_bn_momentum => bn_momentum: f64,
        with_embed_init_std => embed_init_std: f64,
        with_tf => tf: TermFrequency,
        with_bags => bags: Bags,
    }

    /// Rejects settings that cannot work: the sizes, the shape and the table size, each rule
    /// naming its field.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        require(
            self.num_ids > 0,
            "num_ids",
            self.num_ids,
            "must be at least 1",
        )?;
        require(
            self.n_classes >= 2,
            "n_classes",
            self.n_classes,
            "must be at least 2",
        )?;
        self.shape.validate()?;
        let params = self.num_ids as u128 * self.embed_dim as u128;
        require(
            params <= MAX_TABLE,
            "num_ids × embed_dim",
            format!("{} × {}", self.num_ids, self.embed_dim),
            "the embedding table must have at most 2^34 parameters",
        )
    }

    /// The number of values a saved model of this config holds (`into_record`: every weight,
    /// bias and BatchNorm statistic), computed without building it:
    /// `num_ids·embed_dim + Σ_blocks (d_in·hidden + hidden + [BN] 4·hidden) + d·n_classes + n_classes`
    /// (BatchNorm keeps γ, β and the running mean and variance). A loader compares it with the
    /// file before allocating a model of a size the file does not back.
    pub fn saved_values(&self) -> u128 {
        let (hidden, classes) = (self.hidden as u128, self.n_classes as u128);
        let norm = if self.batch_norm { 4 * hidden } else { 0 };
        let mut width = self.embed_dim as u128;
        let mut total = self.num_ids as u128 * width;
        if self.n_hidden > 0 {
            let first = width * hidden + hidden + norm;
            let rest = hidden * hidden + hidden + norm;
            total += first + (self.n_hidden as u128 - 1) * rest;
            width = hidden;
        }
        total + width * classes + classes
    }

    /// Builds the model on `device` (use `device.autodiff()` to train), or says why not, with
    /// Burn's initialisers on the device's own generator (so `device.seed(n)` picks the
    /// weights, but two backends seeded alike start from different ones). The draws are lazy:
    /// a model built only to load a record into draws no weights. Use
    /// [`try_init_seeded`](Self::try_init_seeded) for weights that do not depend on the backend.
    pub fn try_init(&self, device: &Device) -> Result<TextClassifier, InvalidSetting> {
        self.validate()?;
        let dropout_seed = Tensor::<1>::random([2], Distribution::Uniform(0.0, 1.0), device)
            .into_data()
            .iter::<f32>()
            .fold(0u64, |acc, u| (acc << 32) | u.to_bits() as u64);
        self.assemble(device, &mut Draws::Device, dropout_seed)
    }

    /// Builds the model on `device` from `seed`, or says why not. Every initial value is drawn
    /// on the host from ChaCha8 (the crate's generator) and uploaded, so the same seed gives
    /// bit-identical weights on every backend. The distributions are Burn's defaults for these
    /// layers (as in [`try_init`](Self::try_init)), in this order on one stream:
    ///
    /// ```text
    /// embedding    E[i, j] ~ N(0, σ²),                    σ = embed_init_std
    /// each Linear  W[i, j], b[j] ~ U(−a, a),  a = √3 · g · 1/√d_in = s/√d_in
    ///              (Burn's KaimingUniform with gain g = s/√3, fan = d_in, s = init_scale),
    ///              the hidden blocks in order, then the output layer; W row-major [d_in, d_out]
    /// BatchNorm    γ = 1, β = 0, running mean 0, running variance 1
    /// ```
    ///
    /// The dropout layers' mask streams start from `seed` too; see
    /// [`TextClassifier::seed_dropout`].
    pub fn try_init_seeded(
        &self,
        device: &Device,
        seed: u64,
    ) -> Result<TextClassifier, InvalidSetting> {
        self.validate()?;
        let mut draws = Draws::Host(rng::rng(seed, rng::WEIGHT_STREAM));
        self.assemble(device, &mut draws, seed)
    }

    /// The model of this (validated) config with its initial values from `draws` and its
    /// dropout streams from `dropout_seed`.
    fn assemble(
        &self,
        device: &Device,
        draws: &mut Draws,
        dropout_seed: u64,
    ) -> Result<TextClassifier, InvalidSetting> {
        let table = Law::Normal(self.embed_init_std);
        let embedding = Embedding {
            weight: draws.param([self.num_ids, self.embed_dim], table, device),
        };
        let mut linear = |d_in: usize, d_out: usize| {
            let law = Law::Uniform(self.init_scale / (d_in as f64).sqrt());
            Linear {
                weight: draws.param([d_in, d_out], law, device),
                bias: Some(draws.param([d_out], law, device)),
            }
        };
        let mut blocks = Vec::with_capacity(self.n_hidden);
        let mut width = self.embed_dim;
        for k in 0..self.n_hidden {
            let dropout = match self.dropout > 0.0 {
                true => Some(HostDropout::new(self.dropout, dropout_seed, k as u64)?),
                false => None,
            };
            blocks.push(HiddenBlock {
                linear: linear(width, self.hidden),
                norm: self.batch_norm.then(|| {
                    BatchNormConfig::new(self.hidden)
                        .with_momentum(self.bn_momentum)
                        .init(device)
                }),
                dropout,
            });
            width = self.hidden;
        }
        let output = linear(width, self.n_classes);
        Ok(TextClassifier {
            embedding,
            blocks,
            output,
            tf: self.tf,
            bags: self.bags,
        })
    }

    /// [`try_init_seeded`](Self::try_init_seeded), panicking on invalid settings (see
    /// [`init`](Self::init)).
    pub fn init_seeded(&self, device: &Device, seed: u64) -> TextClassifier {
        unwrap_valid(self.try_init_seeded(device, seed))
    }

    /// Builds the model on `device`.
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails; use [`try_init`](Self::try_init) to get the
    /// error instead.
    pub fn init(&self, device: &Device) -> TextClassifier {
        unwrap_valid(self.try_init(device))
    }
}

/// The distribution of a parameter's initial values.
#[derive(Clone, Copy)]
enum Law {
    /// `N(0, σ²)`.
    Normal(f64),
    /// `U(−a, a)`.
    Uniform(f64),
}

/// Where a model's initial values come from.
enum Draws {
    /// The host's ChaCha8 stream, uploaded ([`TextClassifierConfig::try_init_seeded`]).
    Host(ChaCha8Rng),
    /// Burn's initialisers on the device's own generator, drawn lazily
    /// ([`TextClassifierConfig::try_init`]).
    Device,
}

impl Draws {
    /// A parameter of `shape` drawn from `law` (row-major on the host).
    fn param<const D: usize>(
        &mut self,
        shape: [usize; D],
        law: Law,
        device: &Device,
    ) -> Param<Tensor<D>> {
        match self {
            Draws::Host(stream) => {
                let n = shape.iter().product();
                let values = match law {
                    Law::Normal(std) => rng::normal(stream, n, 0.0, std),
                    Law::Uniform(a) => rng::uniform(stream, n, -a, a),
                };
                Param::from_data(TensorData::new(values, shape), device)
            }
            Draws::Device => match law {
                Law::Normal(std) => Initializer::Normal { mean: 0.0, std },
                Law::Uniform(a) => Initializer::Uniform { min: -a, max: a },
            }
            .init(shape, device),
        }
    }
}

/// The model, or the documented panic of the convenience forms (see `try_init`).
fn unwrap_valid(model: Result<TextClassifier, InvalidSetting>) -> TextClassifier {
    match model {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// The pooling weights `v [B, L]` of a batch's columns, row-major: `v_bt = w_bt / max(1, Σ_t
/// w_bt)` with `w = tf(count)` (0 on padding), and with [`Bags::Split`] the sum within the word
/// columns and within the character columns each (so each bag's weights add up to 1). The pooled
/// vector is then `h_b = Σ_t v_bt · e_bt`.
fn pool_weights(columns: &HostColumns, tf: TermFrequency, bags: Bags) -> Vec<f32> {
    let w = |c: f32| match tf {
        TermFrequency::Raw => c, // w = c
        // w = 1 + ln c on the ids (c ≥ 1), 0 on the padding
        TermFrequency::Sublinear if c > 0.0 => 1.0 + c.ln(),
        TermFrequency::Sublinear => 0.0,
    };
    let mut v: Vec<f32> = columns.counts.iter().map(|&c| w(c)).collect();
    let width = columns.width.max(1);
    for (text, is_char) in v
        .chunks_exact_mut(width)
        .zip(columns.is_char.chunks_exact(width))
    {
        // Σ w per bag: [words, chars] (one bag: everything in the first)
        let bag = |t: usize| usize::from(bags == Bags::Split && is_char[t]);
        let mut total = [0f32; 2];
        for (t, w) in text.iter().enumerate() {
            total[bag(t)] += w;
        }
        // v = w / max(1, Σ w) over its bag's columns; an empty bag adds nothing
        for (t, w) in text.iter_mut().enumerate() {
            *w /= total[bag(t)].max(1.0);
        }
    }
    v
}

/// `h_b = Σ_t v_bt · e_bt` for embeddings `[B, L, D]` and weights `v [B, L]`: a broadcast
/// product summed over the columns, whose backward is the broadcast product `∂e = v·∂h` (`v`
/// comes from the host and is never tracked; not batched matrix products of inner size 1, which
/// the `words` profile found slow). `[B, D]`.
fn weighted_sum(emb: Tensor<3>, v: Tensor<2>) -> Tensor<2> {
    let [b, l, d] = emb.dims();
    emb.mul(v.reshape([b, l, 1])).sum_dim(1).reshape([b, d])
}

/// `Linear → BatchNorm? → ReLU → Dropout?`
#[derive(Module, Debug)]
pub struct HiddenBlock {
    linear: Linear,
    norm: Option<BatchNorm>,
    dropout: Option<HostDropout>,
}

impl HiddenBlock {
    /// Applies the block to `[batch, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = self.linear.forward(x);
        if let Some(norm) = &self.norm {
            x = norm.forward(x);
        }
        x = burn::tensor::activation::relu(x);
        if let Some(dropout) = &self.dropout {
            x = dropout.forward(x);
        }
        x
    }
}

/// Embedding bag (mean) + MLP text classifier. See the [module docs](self).
#[derive(Module, Debug)]
pub struct TextClassifier {
    embedding: Embedding,
    blocks: Vec<HiddenBlock>,
    output: Linear,
    /// The pooling's weight of an id's count (a setting, not saved with the weights).
    #[module(skip)]
    tf: TermFrequency,
    /// One bag or one per kind of feature (a setting, not saved with the weights).
    #[module(skip)]
    bags: Bags,
}

impl TextClassifier {
    /// EmbeddingBag(mean) of a batch: `h_b = Σ_t w_bt · E[x_bt] / max(1, Σ_t w_bt)` over its
    /// columns (per bag with [`Bags::Split`]; see the [module docs](self)). `[B, embed_dim]`.
    pub fn pool(&self, batch: &TextBatch) -> Tensor<2> {
        self.pool_embedded(self.embedding.forward(batch.tokens.clone()), batch)
    }

    /// The pooling of the batch's looked-up rows `[B, L, embed_dim]`.
    fn pool_embedded(&self, emb: Tensor<3>, batch: &TextBatch) -> Tensor<2> {
        weighted_sum(emb, self.pool_weights(batch))
    }

    /// The embedding rows `batch` uses ([`TextBatch::rows`]), `[rows, embed_dim]`, without
    /// autodiff.
    pub fn rows_of_table(&self, batch: &TextBatch) -> Tensor<2> {
        let table = self.embedding.weight.val().inner();
        let ids: Vec<i64> = batch.rows.iter().map(|&r| r as i64).collect();
        let n = ids.len();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &table.device());
        table.select(0, ids)
    }

    /// The weights `v [B, L]` of the mean pooling, `h_b = Σ_t v_bt · E[x_bt]`: each column's
    /// share of its text's bag (`w / Σ w` with `w` the count, or `1 + ln` count with sublinear
    /// tf; per bag with [`Bags::Split`]), 0 on padding. A function of the batch alone, never
    /// tracked by autodiff; the row-sparse step pools with it by hand.
    pub fn pool_weights(&self, batch: &TextBatch) -> Tensor<2> {
        let v = self.pool_weights_host(batch);
        let shape = batch.mask.dims();
        Tensor::from_data(TensorData::new(v, shape), &batch.mask.device())
    }

    /// [`pool_weights`](Self::pool_weights) on the host, row-major `[B, L]`.
    pub fn pool_weights_host(&self, batch: &TextBatch) -> Vec<f32> {
        pool_weights(&batch.host, self.tf, self.bags)
    }

    /// Mean cross-entropy and logits of the batch from its pooled embeddings `[B, embed_dim]`
    /// (see [`forward_pooled`](Self::forward_pooled)).
    pub fn loss_pooled(&self, pooled: Tensor<2>, batch: &TextBatch) -> (Tensor<1>, Tensor<2>) {
        let logits = self.forward_pooled(pooled);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.labels.clone());
        (loss, logits)
    }

    /// Replaces the embedding table by `update(table)`; the table is passed by value and
    /// without autodiff, so an in-place update needs no copy.
    pub fn map_embedding(mut self, update: impl FnOnce(Tensor<2>) -> Tensor<2>) -> Self {
        self.embedding.weight = self.embedding.weight.map(|t| {
            let (autodiff, require_grad) = (t.is_autodiff(), t.is_require_grad());
            let t = update(t.inner());
            match (autodiff, require_grad) {
                (true, true) => t.autodiff().require_grad(),
                (true, false) => t.autodiff(),
                _ => t,
            }
        });
        self
    }

    /// Logits from pooled embeddings `[batch, embed_dim]` ([`pool`](Self::pool), or the
    /// row-sparse step's own pooling): the hidden blocks and the output.
    pub fn forward_pooled(&self, mut x: Tensor<2>) -> Tensor<2> {
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.output.forward(x)
    }

    /// Logits `[batch, n_classes]` for a batch.
    pub fn forward_batch(&self, batch: &TextBatch) -> Tensor<2> {
        self.forward_pooled(self.pool(batch))
    }

    /// Mean cross-entropy of the batch, `−(1/B) Σ_b log softmax(z_b)[y_b]`, and the logits.
    pub fn loss(&self, batch: &TextBatch) -> (Tensor<1>, Tensor<2>) {
        self.loss_pooled(self.pool(batch), batch)
    }

    /// Restarts the mask stream of every dropout layer from `seed` (layer `k` draws from stream
    /// `k` of it; see [`HostDropout`]), in this model and every clone of it: for a model used
    /// on its own (stoke's training loops use [`TextClassifier::dropout_for_step`]).
    pub fn seed_dropout(&self, seed: u64) {
        for (k, block) in self.blocks.iter().enumerate() {
            if let Some(dropout) = &block.dropout {
                dropout.reseed(seed, k as u64);
            }
        }
    }

    /// This model with every dropout layer drawing the masks of one training step, keyed by
    /// `seed` ([`step_seed`](crate::dropout::step_seed) of the run's seed, epoch and iteration)
    /// and the batch's first row in its step (`row_offset`: 0 on one device, the device's share
    /// before it on several); see [`HostDropout::for_step`]. The weights are the same parameters.
    pub fn dropout_for_step(mut self, seed: u64, row_offset: usize) -> Self {
        for (k, block) in self.blocks.iter_mut().enumerate() {
            if let Some(dropout) = &block.dropout {
                block.dropout = Some(dropout.for_step(seed, k as u64, row_offset));
            }
        }
        self
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.embedding.weight.val().device()
    }

    /// The embedding table `[num_ids, embed_dim]` (for inspection, e.g. its gradient).
    pub fn embedding_weight(&self) -> Tensor<2> {
        self.embedding.weight.val()
    }

    /// The parameter id of the embedding table, under which its gradient is registered.
    pub fn embedding_id(&self) -> burn::module::ParamId {
        self.embedding.weight.id
    }

    /// The weights `[d_in, d_out]` of every Linear layer: the hidden blocks in order, then
    /// the output layer.
    pub fn linear_weights(&self) -> Vec<Tensor<2>> {
        self.blocks
            .iter()
            .map(|b| b.linear.weight.val())
            .chain(std::iter::once(self.output.weight.val()))
            .collect()
    }

    /// Number of output classes.
    pub fn n_classes(&self) -> usize {
        self.output.weight.val().dims()[1]
    }
}
