//! `stoke train`: train a text classifier and save it with its metrics.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use serde::Serialize;
use stoke_recipes::autotune::{Tuned, autotune};
use stoke_recipes::early_stopping::{EarlyStopping, Monitor};
use stoke_recipes::metrics::{Metric, Split};
use stoke_recipes::recipe::{BatchSize, FullBatch, parse_section};
use stoke_recipes::runner::DataCache;
use stoke_recipes::train::{RunStatus, Silent, TrainOptions, train};
use stoke_recipes::{RunSpec, Settings};
use stoke_text::calibration::Temperature;
use stoke_text::evaluation::Evaluation;
use stoke_text::model::Pooling;
use stoke_text::saved::SavedClassifier;

use crate::args::Common;
use crate::args::data::{Columns, DataSource, recipe_data};
use crate::args::set::{Sets, optimizer};
use crate::output;
use crate::progress::{Bars, iterations};

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataSource,
    #[command(flatten)]
    columns: Columns,
    /// Optimizer: sgd, momentum, nesterov, rmsprop, adagrad, adam, adamw, adadelta.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate (0.0005, chosen on the validation splits with the 2^20 buckets: RESULTS.md).
    #[arg(long, default_value_t = 0.0005)]
    lr: f64,
    /// Optimizer or model fields: `--set momentum=0.9 --set model.dropout=0.5 --set tokenizer.char_max_n=3`
    /// (the model's defaults are the recipes' except `model.embed_dim=128` and the pooling:
    /// `model.bags=split model.tf=sublinear` when the median training text has 64 word features
    /// or more, a passage, else `one` and `raw`; the tokenizer hashes into 2^20 buckets);
    /// values are TOML: `--set 'tokenizer.features={ kind = "hashing", buckets = 16384 }'`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Learning-rate schedule: constant, step, exponential, cosine, one-cycle or plateau (its
    /// fields as `--set schedule.FIELD=VALUE`, e.g. `--set schedule.warmup_steps=100`).
    #[arg(long)]
    schedule: Option<String>,
    /// Clip the gradients to this global norm (as `torch.nn.utils.clip_grad_norm_`).
    #[arg(long, value_name = "C")]
    clip_norm: Option<f64>,
    /// Average the gradients of N batches into one step (needs `--embedding dense`).
    #[arg(long, value_name = "N")]
    accumulate: Option<usize>,
    /// Skip a step whose gradients are not finite instead of stopping the run.
    #[arg(long)]
    skip_nonfinite: bool,
    /// Evaluate with an exponential moving average of the weights of this decay (e.g. 0.999;
    /// needs `--embedding dense`).
    #[arg(long, value_name = "DECAY")]
    ema: Option<f64>,
    /// Passes over the training rows at most (early stopping usually ends sooner).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Stop after this many epochs without a better validation score and keep the best epoch's
    /// weights; 0: run every epoch and keep the last.
    #[arg(long, default_value_t = 2, value_name = "EPOCHS")]
    patience: usize,
    /// The validation score early stopping watches. Accuracy by default: its best epoch is
    /// later than the loss's, and better on every tuning set (RESULTS.md); the kept model's
    /// overconfidence is what the temperature then corrects.
    #[arg(long, value_enum, default_value_t = MonitorArg::ValidAccuracy)]
    monitor: MonitorArg,
    /// Texts per step, or `full`.
    #[arg(long, default_value = "32")]
    batch_size: String,
    /// β of the L2 penalty on the weights.
    #[arg(long, default_value_t = 0.0)]
    l2: f64,
    /// Embedding update: `sparse` (only the rows each batch uses: tens of times faster on a
    /// large table; L2 decays a row when it is used) or `dense` (every row every step).
    #[arg(long, default_value = "sparse")]
    embedding: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Train data-parallel on these devices through Burn's engine, e.g. `wgpu:discrete:0,wgpu:discrete:1`
    /// (flex, ndarray, wgpu[:default], wgpu:cpu, wgpu:discrete:N, wgpu:integrated:N,
    /// wgpu:virtual:N); `--batch-size` is then the batch of all devices together, and the
    /// embedding update is dense.
    #[arg(long, value_delimiter = ',', value_name = "D1,D2,...")]
    devices: Vec<String>,
    /// Search the learning rate, epochs, embedding size, n-grams, hash buckets, the pooling
    /// (`model.bags`, `model.tf`), dropout and L2 for this many
    /// seconds on the validation split (the given settings are the first trial), then keep the
    /// best trial's model, if it beats the given settings' validation accuracy by more than one
    /// standard error (else theirs); the trials and the winner's flags are printed on stderr.
    #[arg(long, value_name = "SECONDS")]
    autotune: Option<f64>,
    /// Keep the model's own probabilities: do not fit a temperature on the validation rows.
    #[arg(long)]
    no_calibration: bool,
    /// After every epoch, write a checkpoint (weights, optimizer state, schedule, records and
    /// early stopping's best weights) to `OUT/checkpoint`, so that `--resume` can continue the
    /// run if it is stopped. Off by default: an epoch's checkpoint holds the table three times
    /// over with Adam (weights and two moments: 1.5 GB at 2^20 buckets × 128).
    #[arg(long)]
    checkpoint: bool,
    /// Continue the run whose checkpoint is in `OUT/checkpoint` (same data and flags, with
    /// `--checkpoint`): it ends as the uninterrupted run would, bit for bit on the CPU backends.
    /// Without a checkpoint there, the run starts from the beginning.
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Stop after this epoch's checkpoint, as a kill would (for the resume tests): writes the
    /// metrics but no model.
    #[arg(long, hide = true, requires = "checkpoint", value_name = "EPOCH")]
    stop_after_epoch: Option<usize>,
    /// Where to write the model (model/), metrics.csv and result.json.
    #[arg(long, default_value = "out/train")]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

/// `stoke train`'s embedding width, where `--set model.embed_dim=D` does not say: twice
/// [`ModelShape`](stoke_text::model::ModelShape)'s 64, which the course recipes keep. Chosen on
/// the validation splits only (`scripts/tune_defaults.py`, RESULTS.md): on sentiment-uci, seeds
/// 1–3, validation accuracy 0.856 against 0.841 at 64.
const TRAIN_EMBED_DIM: usize = 128;

/// `stoke train`'s hash buckets, where `--set tokenizer.features=…` does not say: 2^20
/// (fastText's 2·10^6 rounded to a power of two) rather than the recipes' 2^17. Chosen on the
/// validation splits only (`scripts/tune_defaults.py`, RESULTS.md): with η 0.0005, at or above
/// the 2^17 / η 0.002 defaults on four of the five tuning sets (langid 0.9755 against 0.9668,
/// words 0.8581 against 0.8389, sotu 0.7742 against 0.7603, spam-assassin equal) and 0.56 pt
/// below on sentiment-uci (seeds 1–3). The table is 512 MiB at 128 wide, but the row-sparse
/// step touches only the rows a batch uses.
const TRAIN_BUCKETS: i64 = 1 << 20;

/// `--monitor`: the score early stopping watches.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum MonitorArg {
    ValidLoss,
    ValidAccuracy,
}

/// What `stoke train --json` prints.
#[derive(Serialize)]
struct Trained<'a> {
    classes: &'a [String],
    model: &'a PathBuf,
    /// Epochs trained, and the one whose weights were kept (early stopping's best).
    epochs: usize,
    kept_epoch: usize,
    test_accuracy: f64,
    train_loss: f64,
    valid_accuracy: f64,
    /// `T` of `softmax(z / T)`, fitted on the validation rows (1 with `--no-calibration`).
    temperature: f64,
    /// Expected calibration error (15 bins) on the validation rows before and after `T`.
    valid_ece_uncalibrated: f64,
    valid_ece: f64,
}

impl TrainArgs {
    /// Whether `--set model.KEY=…` gives the model's `key`.
    fn sets_model(&self, key: &str) -> Result<bool> {
        Ok(Sets::parse(&self.set)?.model.contains_key(key))
    }

    /// The run these flags describe.
    fn spec(&self) -> Result<RunSpec> {
        if let Some(seconds) = self.autotune
            && !(seconds.is_finite() && seconds > 0.0)
        {
            bail!("--autotune {seconds}: must be a positive number of seconds");
        }
        if self.autotune.is_some() && self.checkpoint {
            bail!("--checkpoint: an --autotune search writes no checkpoints (its trials are short)")
        }
        let mut sets = Sets::parse(&self.set)?;
        sets.model
            .entry("embed_dim")
            .or_insert((TRAIN_EMBED_DIM as i64).into());
        sets.tokenizer.entry("features").or_insert_with(|| {
            let mut hashing = toml::Table::new();
            hashing.insert("kind".into(), "hashing".into());
            hashing.insert("buckets".into(), TRAIN_BUCKETS.into());
            hashing.into()
        });
        // The transform flags are sugar for the optimizer description's own keys.
        if let Some(kind) = &self.schedule {
            sets.optimizer
                .insert("schedule".into(), kind.clone().into());
        }
        if let Some(c) = self.clip_norm {
            sets.optimizer.insert("clip_norm".into(), c.into());
        }
        if let Some(n) = self.accumulate {
            sets.optimizer
                .insert("accumulate".into(), (n as i64).into());
        }
        if self.skip_nonfinite {
            sets.optimizer.insert("skip_nonfinite".into(), true.into());
        }
        if let Some(d) = self.ema {
            sets.optimizer.insert("ema".into(), d.into());
        }
        let batch_size = if self.batch_size == "full" {
            BatchSize::Full(FullBatch::Full)
        } else {
            BatchSize::Size(self.batch_size.parse().map_err(|_| {
                anyhow!(
                    "--batch-size {}: expected a number or 'full'",
                    self.batch_size
                )
            })?)
        };
        let (dataset, data) = recipe_data(self.data.name(), &self.columns);
        let settings = Settings {
            // The run spec names the real source: the bundled set, or the file.
            dataset: dataset.map_or_else(|| self.data.name().to_string(), Into::into),
            data,
            epochs: self.epochs,
            batch_size,
            optimizer: optimizer(&self.optimizer, self.lr, &sets.optimizer)?,
            l2: self.l2,
            model: parse_section("model", sets.model)?,
            tokenizer: parse_section("tokenizer", sets.tokenizer)?,
            train_subset: None,
            record_iterations: false,
            embedding: self.embedding.parse()?,
            inject_nonfinite: Vec::new(),
            devices: self
                .devices
                .iter()
                .map(|d| d.parse().map_err(|e| anyhow!("--devices: {e}")))
                .collect::<Result<_>>()?,
            early_stopping: (self.patience > 0).then(|| EarlyStopping {
                patience: self.patience,
                monitor: match self.monitor {
                    MonitorArg::ValidLoss => Monitor::ValidLoss,
                    MonitorArg::ValidAccuracy => Monitor::ValidAccuracy,
                },
            }),
        };
        settings.validate()?;
        Ok(RunSpec {
            config: "train".into(),
            seed: self.seed,
            settings,
        })
    }
}

/// `--autotune SECONDS`: the search, its trials reported on stderr.
fn tune(
    spec: &RunSpec,
    seconds: f64,
    device: Device,
    cache: &mut DataCache,
    quiet: bool,
) -> Result<Tuned> {
    let opts = TrainOptions {
        device,
        checkpoint_dir: None,
        resume: false,
        stop_after_epoch: None,
        progress: &Silent,
    };
    let mut n = 0;
    let tuned = autotune(
        spec,
        Duration::from_secs_f64(seconds),
        usize::MAX,
        &opts,
        cache,
        |t| {
            n += 1;
            if !quiet {
                eprintln!(
                    "trial {n}: valid accuracy {:.4}, loss {:.4} in {:.1} s: {}",
                    t.valid_accuracy,
                    t.valid_loss,
                    t.seconds,
                    t.candidate.flags()
                );
            }
        },
    )?;
    let best = &tuned.trials[tuned.best];
    eprintln!(
        "autotune: best of {} trials (valid accuracy {:.4}): {}",
        tuned.trials.len(),
        best.valid_accuracy,
        best.candidate.flags()
    );
    if let [only] = &tuned.trials[..] {
        eprintln!(
            "autotune: the given settings' run took {:.1} s of the {seconds} s budget, so no \
             other trial ran: a budget of several runs searches",
            only.seconds
        );
    }
    Ok(tuned)
}

pub fn run(a: TrainArgs) -> Result<()> {
    let backend = a.common.backend()?;
    let mut spec = a.spec()?;
    let mut cache = DataCache::default();
    for note in stoke_recipes::learner::notes(&spec) {
        eprintln!("note: {note}");
    }
    // The pooling suited to the training texts' length, where --set does not choose it.
    let (bags_given, tf_given) = (a.sets_model("bags")?, a.sets_model("tf")?);
    if !(bags_given && tf_given) {
        let pooling = Pooling::suited_to(&cache.get(&spec)?.train);
        let model = &mut spec.settings.model;
        if !bags_given {
            model.bags = pooling.bags;
        }
        if !tf_given {
            model.tf = pooling.tf;
        }
        if !a.common.quiet {
            eprintln!(
                "note: model.bags={} model.tf={} (the median training text has {} word \
                 features; {} or more: split bags, sublinear tf)",
                model.bags,
                model.tf,
                pooling.median_words,
                Pooling::PASSAGE_WORDS
            );
        }
    }
    let trained = match a.autotune {
        None => {
            let data = cache.get(&spec)?;
            let bars = Bars::new(iterations(&spec, data.train.len()), a.common.quiet);
            let opts = TrainOptions {
                device: backend.device()?,
                checkpoint_dir: a.checkpoint.then(|| a.out.join("checkpoint")),
                resume: a.resume,
                stop_after_epoch: a.stop_after_epoch,
                progress: &bars,
            };
            let trained = train(&spec, data, &opts)?;
            bars.done(&spec);
            bars.finish();
            trained
        }
        Some(seconds) => {
            let tuned = tune(
                &spec,
                seconds,
                backend.device()?,
                &mut cache,
                a.common.quiet,
            )?;
            spec = tuned.spec;
            tuned.trained
        }
    };
    let data = cache.get(&spec)?;
    std::fs::create_dir_all(&a.out)?;
    stoke_recipes::metrics::write_csv(&a.out.join("metrics.csv"), &trained.result.records)?;
    std::fs::write(
        a.out.join("result.json"),
        serde_json::to_vec_pretty(&trained.result)?,
    )?;
    if let RunStatus::Interrupted { epoch } = trained.result.status {
        output::line(&format!(
            "stopped after epoch {epoch}: --resume continues from {}",
            a.out.join("checkpoint").display()
        ));
        return Ok(());
    }
    let mut saved = SavedClassifier {
        model: trained.model.valid(),
        tokenizer: data.tokenizer.clone(),
        classes: data.classes.clone(),
        config: trained.config.clone(),
        temperature: Temperature::default(),
    };
    // Temperature scaling on the validation rows (the test rows stay unseen).
    let valid_logits = saved.logits(&data.valid);
    let valid_labels: Vec<usize> = data.valid.iter().map(|i| i.label).collect();
    let ece = |t: Temperature| {
        let p: Vec<Vec<f64>> = valid_logits.iter().map(|z| t.probabilities(z)).collect();
        Evaluation::new(&valid_labels, &p, &data.classes, None).map_or(f64::NAN, |e| e.ece)
    };
    let valid_ece_uncalibrated = ece(saved.temperature);
    if !a.no_calibration {
        saved.temperature = Temperature::fit(&valid_logits, &valid_labels);
    }
    let model_dir = a.out.join("model");
    saved.save(&model_dir)?;
    if let RunStatus::Diverged { message, .. } = &trained.result.status {
        bail!("{message}");
    }
    // The epoch whose weights were kept: the best with early stopping, else the last.
    let records = &trained.result.records;
    let trained_epochs = records.iter().map(|r| r.epoch).max().unwrap_or(0);
    let best_epoch = trained.result.best_epoch;
    let kept = best_epoch.unwrap_or(trained_epochs);
    let last = |split: Split, metric: Metric| {
        records
            .iter()
            .rev()
            .find(|r| r.split == split && r.metric == metric && r.epoch <= kept)
            .map_or(f64::NAN, |r| r.value)
    };
    let result = Trained {
        classes: &data.classes,
        model: &model_dir,
        epochs: trained_epochs,
        kept_epoch: kept,
        test_accuracy: records
            .iter()
            .find(|r| r.split == Split::Test && r.metric == Metric::Accuracy)
            .map_or(f64::NAN, |r| r.value),
        train_loss: last(Split::Train, Metric::Loss),
        valid_accuracy: last(Split::Valid, Metric::Accuracy),
        temperature: saved.temperature.0,
        valid_ece_uncalibrated,
        valid_ece: ece(saved.temperature),
    };
    if a.common.json {
        return output::json(&result);
    }
    output::line(&format!(
        "trained {} epochs{}: train loss {:.4}, valid accuracy {:.3}, test accuracy {:.3}\n\
         calibration: temperature {:.3}, validation ECE {:.3} -> {:.3}\nmodel: {}",
        trained_epochs,
        best_epoch.map_or(String::new(), |e| format!(" (kept epoch {e})")),
        result.train_loss,
        result.valid_accuracy,
        result.test_accuracy,
        result.temperature,
        result.valid_ece_uncalibrated,
        result.valid_ece,
        model_dir.display()
    ));
    Ok(())
}
