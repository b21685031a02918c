//! `stoke bench train`: training throughput (examples per second) and peak memory of the text
//! classifier with each optimizer, on a bundled data set or on synthetic AG-News-sized data.
//!
//! Data are loaded and tokenised before anything is timed; each optimizer then trains a fresh
//! model for `warmup` iterations (not timed: first allocations, optimizer state) and `iterations`
//! timed iterations, each a full step: batching, forward, loss (plus the L2 penalty when `l2 >
//! 0`), backward, optimizer step ([`Stepper`], with a dense or row-sparse embedding update).
//! `scripts/bench_torch_textclf.py` runs the same model, sizes, batch size and optimizer in
//! PyTorch.

use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;
use stoke_text::batch::{LoaderOptions, TextItem, epoch_loader};
use stoke_text::model::TextClassifierConfig;

use stoke_optim::{MomentumConfig, OptimizerConfig, OptimizerSpec};
use stoke_recipes::RecipeError;
use stoke_recipes::step::{EmbeddingUpdate, Stepper};

/// Where the training texts come from.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchData {
    /// Tokenised training split of a bundled data set, default tokenizer.
    Bundled(String),
    /// `texts` texts of `tokens` ids each, drawn uniformly from `[0, 2^bucket_bits)`, `classes`
    /// labels (AG News: 120,000 texts, ~40 tokens, 4 classes).
    Synthetic {
        /// Number of texts.
        texts: usize,
        /// Ids per text.
        tokens: usize,
        /// log₂ of the number of embedding rows.
        bucket_bits: u32,
        /// Number of classes.
        classes: usize,
    },
}

impl BenchData {
    /// AG-News-sized synthetic data: 120,000 texts × 40 ids in 2^18 buckets, 4 classes.
    pub fn ag_news_sized() -> Self {
        BenchData::Synthetic {
            texts: 120_000,
            tokens: 40,
            bucket_bits: 18,
            classes: 4,
        }
    }

    /// `synthetic` (AG-News-sized) or the name of a bundled data set.
    pub fn parse(name: &str) -> Self {
        match name {
            "synthetic" | "ag-news-sized" => Self::ag_news_sized(),
            other => BenchData::Bundled(other.to_string()),
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct TrainBenchOptions {
    /// The texts.
    pub data: BenchData,
    /// Optimizers (names as in recipes) and their learning rates.
    pub optimizers: Vec<OptimizerSpec>,
    /// Embedding updates to measure, each with every optimizer.
    pub embedding: Vec<EmbeddingUpdate>,
    /// Embedding width.
    pub embed_dim: usize,
    /// Hidden block width (one block: Linear → BatchNorm → ReLU → Dropout 0.2).
    pub hidden: usize,
    /// Texts per batch.
    pub batch_size: usize,
    /// β of the L2 penalty `β Σ w²` added to the loss (0 = none).
    pub l2: f64,
    /// Untimed iterations first.
    pub warmup: usize,
    /// Timed iterations.
    pub iterations: usize,
    /// Seed of the model initialisation and the batch order.
    pub seed: u64,
}

impl Default for TrainBenchOptions {
    fn default() -> Self {
        Self {
            data: BenchData::Bundled("langid".into()),
            optimizers: ["sgd", "momentum", "rmsprop", "adagrad", "adam", "adadelta"]
                .iter()
                .map(|n| at_default_lr(n).unwrap_or_else(|e| unreachable!("{e}")))
                .collect(),
            embedding: vec![EmbeddingUpdate::Sparse, EmbeddingUpdate::Dense],
            embed_dim: 64,
            hidden: 256,
            batch_size: 64,
            l2: 0.0,
            warmup: 10,
            iterations: 100,
            seed: 1,
        }
    }
}

/// The learning rate the benchmark trains `optimizer` at: 0.1 for the SGD family and AdaGrad,
/// 1 for AdaDelta (its η scales an already unit-scaled step), 1e-3 for RMSProp and Adam.
pub fn default_lr(optimizer: &OptimizerConfig) -> f64 {
    use OptimizerConfig::*;
    match optimizer {
        Sgd(_) | Momentum(_) | Nesterov(_) | AdaGrad(_) => 0.1,
        AdaDelta(_) => 1.0,
        RmsProp(_) | Adam(_) | AdamW(_) => 1e-3,
    }
}

/// `name` at its [`default_lr`].
pub fn at_default_lr(name: &str) -> Result<OptimizerSpec, RecipeError> {
    let optimizer = OptimizerConfig::named(name)?;
    let lr = default_lr(&optimizer);
    Ok(OptimizerSpec::new(optimizer, lr))
}

/// One optimizer's figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchResult {
    /// The optimizer's label.
    pub optimizer: String,
    /// How the embedding table was updated.
    pub embedding: EmbeddingUpdate,
    /// Training examples per second over the timed iterations.
    pub examples_per_s: f64,
    /// Mean milliseconds per iteration.
    pub ms_per_step: f64,
    /// Peak resident memory of the process during this optimizer's run, MiB.
    pub peak_rss_mib: f64,
    /// Resident memory before the model was built (data loaded), MiB.
    pub base_rss_mib: f64,
    /// What this path must hold, MiB ([`Footprint::bytes`]): parameters, the gradients it
    /// allocates, optimizer state and one batch.
    pub working_set_mib: f64,
    /// The most embedding rows one batch used (distinct ids).
    pub max_rows: usize,
    /// Mean training loss over the timed iterations (to see the run trains).
    pub mean_loss: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchReport {
    /// Data description.
    pub data: String,
    /// Training texts available (the iterations cycle through them).
    pub texts: usize,
    /// Model parameters.
    pub params: usize,
    /// Texts per batch.
    pub batch_size: usize,
    /// L2 β in the loss.
    pub l2: f64,
    /// Threads of the rayon pool.
    pub threads: usize,
    /// The device, as Burn prints it.
    pub device: String,
    /// One row per optimizer.
    pub results: Vec<TrainBenchResult>,
}

/// xorshift64*, for synthetic ids; each text's ids sorted, as
/// [`encode_all`](stoke_text::batch::encode_all) leaves a real text's.
fn synthetic(
    texts: usize,
    tokens: usize,
    bucket_bits: u32,
    classes: usize,
    seed: u64,
) -> Vec<TextItem> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..texts)
        .map(|_| {
            let mut ids: Vec<u32> = (0..tokens)
                .map(|_| (next() >> (64 - bucket_bits)) as u32)
                .collect();
            ids.sort_unstable();
            TextItem {
                words: tokens,
                ids,
                label: (next() % classes as u64) as usize,
            }
        })
        .collect()
}

/// What a training step must hold, for [`Footprint::bytes`].
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// How the table is updated.
    pub embedding: EmbeddingUpdate,
    /// Parameters (f32), the table's included.
    pub params: usize,
    /// Parameters of the embedding table.
    pub table: usize,
    /// Its width.
    pub embed_dim: usize,
    /// The most rows one batch uses (distinct ids).
    pub rows: usize,
    /// Texts per batch.
    pub batch: usize,
    /// Optimizer-state buffers of the parameters' size.
    pub state_copies: usize,
    /// One batch's ids, positions and weights.
    pub batch_bytes: usize,
    /// Whether an L2 penalty is on.
    pub l2: bool,
}

impl Footprint {
    /// Bytes: the parameters, the optimizer state, one batch, and the gradients the path
    /// allocates — the dense path a gradient of every parameter; the row-sparse path one of the
    /// dense layers (`params − table`), the pooled vectors and their gradient (`2 · batch ·
    /// embed_dim`), the gradient of the batch's rows (`rows · embed_dim`) and, with L2, those
    /// rows read for `2β·w` (`rows · embed_dim` more), never a full-table gradient.
    pub fn bytes(&self) -> usize {
        let (rows, pooled) = (self.rows * self.embed_dim, self.batch * self.embed_dim);
        let gradients = match self.embedding {
            EmbeddingUpdate::Dense => self.params,
            EmbeddingUpdate::Sparse => {
                self.params - self.table + 2 * pooled + rows + if self.l2 { rows } else { 0 }
            }
        };
        4 * (self.params * (1 + self.state_copies) + gradients) + self.batch_bytes
    }
}

/// Resident set size now and its peak (`VmRSS`, `VmHWM`), MiB; zeros where /proc is missing.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak (`VmHWM`) to the current RSS (Linux; ignored elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs each optimizer on `device` in the current rayon pool.
pub fn run(device: &Device, opts: &TrainBenchOptions) -> Result<TrainBenchReport, RecipeError> {
    let (items, classes, num_ids, data) = match &opts.data {
        BenchData::Bundled(name) => {
            let settings = stoke_recipes::Settings {
                dataset: name.clone(),
                data: None,
                epochs: 1,
                batch_size: stoke_recipes::recipe::BatchSize::Size(opts.batch_size),
                optimizer: OptimizerSpec::new(OptimizerConfig::Sgd(MomentumConfig::sgd()), 0.1),
                l2: 0.0,
                model: Default::default(),
                tokenizer: Default::default(),
                train_subset: None,
                record_iterations: false,
                embedding: Default::default(),
                inject_nonfinite: Vec::new(),
                early_stopping: None,
                devices: Vec::new(),
            };
            let prepared = stoke_recipes::data::prepare(&settings)?;
            let num_ids = prepared.tokenizer.num_ids();
            let classes = prepared.classes.len();
            (prepared.train, classes, num_ids, name.clone())
        }
        BenchData::Synthetic {
            texts,
            tokens,
            bucket_bits,
            classes,
        } => (
            Arc::new(synthetic(
                *texts,
                *tokens,
                *bucket_bits,
                *classes,
                opts.seed,
            )),
            *classes,
            1usize << bucket_bits,
            format!(
                "synthetic: {texts} texts × {tokens} ids, 2^{bucket_bits} buckets, {classes} classes"
            ),
        ),
    };
    let config = TextClassifierConfig::new(num_ids, classes)
        .with_embed_dim(opts.embed_dim)
        .with_hidden(opts.hidden);
    let invalid = |e| RecipeError::setting("bench train", "model", e);
    config.validate().map_err(invalid)?;
    let ad = device.clone().autodiff();
    let mut results = Vec::new();
    let mut params = 0;
    let runs = opts
        .embedding
        .iter()
        .flat_map(|e| opts.optimizers.iter().map(move |o| (*e, o)));
    for (embedding, spec) in runs {
        let mut stepper = Stepper::new(spec, opts.l2, embedding)?;
        let (base_rss, _) = rss_mib();
        let mut model = config.try_init_seeded(&ad, opts.seed).map_err(invalid)?;
        params = burn::module::Module::num_params(&model);
        // as `stoke train`: batches made on a background thread when there is a second thread
        let loader_opts = LoaderOptions::new(opts.batch_size, opts.seed)
            .with_background(rayon::current_num_threads() > 1);
        let total = opts.warmup + opts.iterations;
        let (mut loss_sum, mut done, mut epoch, mut rows) = (0.0, 0usize, 0usize, 0usize);
        let mut start = Instant::now();
        reset_peak_rss();
        'epochs: loop {
            let loader = epoch_loader(items.clone(), &loader_opts, epoch, &ad);
            for batch in loader.iter() {
                let batch = batch.map_err(|e| RecipeError::Invalid {
                    context: "bench train".into(),
                    field: "data loader".into(),
                    value: data.clone(),
                    rule: e.to_string(),
                })?;
                if done == opts.warmup {
                    start = Instant::now();
                }
                rows = rows.max(batch.rows.len());
                let stepped = stepper.step(model, &batch, spec.lr);
                model = stepped.model;
                if done >= opts.warmup {
                    loss_sum += stepped.loss;
                }
                done += 1;
                if done == total {
                    break 'epochs;
                }
            }
            epoch += 1;
        }
        let _ = ad.sync();
        let seconds = start.elapsed().as_secs_f64();
        let (_, peak_rss) = rss_mib();
        let state_copies = spec.optimizer.state_buffers()?;
        // parameters + gradients + state (f32), and one batch padded to the longest text: ids
        // and their positions in the batch's rows (i64) and the mask (f32) per position
        let longest = items.iter().map(|i| i.ids.len()).max().unwrap_or(1);
        let batch_bytes = opts.batch_size * longest * 20;
        let table = num_ids * opts.embed_dim;
        let bytes = Footprint {
            embedding,
            params,
            table,
            embed_dim: opts.embed_dim,
            rows,
            batch: opts.batch_size,
            state_copies,
            batch_bytes,
            l2: opts.l2 > 0.0,
        }
        .bytes();
        let working_set = bytes as f64 / (1024.0 * 1024.0);
        results.push(TrainBenchResult {
            optimizer: spec.label(),
            embedding,
            examples_per_s: (opts.iterations * opts.batch_size) as f64 / seconds,
            ms_per_step: seconds * 1e3 / opts.iterations as f64,
            peak_rss_mib: peak_rss,
            base_rss_mib: base_rss,
            working_set_mib: working_set,
            max_rows: rows,
            mean_loss: loss_sum / opts.iterations as f64,
        });
        drop(model);
    }
    Ok(TrainBenchReport {
        data,
        texts: items.len(),
        params,
        batch_size: opts.batch_size,
        l2: opts.l2,
        threads: rayon::current_num_threads(),
        device: format!("{device:?}"),
        results,
    })
}
