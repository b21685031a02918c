//! A time-boxed search for a run's settings on the validation split (fastText's
//! `-autotune-validation`): seeded random search over the learning rate, epochs, embedding size,
//! word and character n-grams, hash buckets, the pooling (one bag or split bags, raw or
//! sublinear term frequency), dropout and L2, starting from the given settings themselves.
//!
//! The score of a trial is the validation accuracy of the epoch it keeps (the best epoch with
//! early stopping, else the last; validation loss breaks ties); the test split is never looked
//! at. A trial replaces the given settings only when it beats their validation accuracy `p₀` by
//! more than one standard error of it (the one-standard-error rule):
//!
//! ```text
//! se = √(p₀ (1 − p₀) / n)        n validation texts
//! winner = the best-scoring trial with accuracy > p₀ + se, else the given settings
//! ```
//!
//! Without the margin, the best of tens of trials on a few hundred validation texts beats the
//! defaults by chance: on sentiment-uci (300 validation texts) the best of 95 trials scored
//! 0.8700 on validation and 0.7933 on the test split, against the defaults' 0.8367
//! (`scripts/baselines.py`, before the margin).
//!
//! Trials are drawn from a ChaCha stream seeded by the run's seed, so the same
//! budget-independent sequence of candidates is tried on every machine; a faster machine tries
//! more of them within the same budget. The winner is printed
//! as the flags that reproduce it ([`Trial::flags`]).
//!
//! | here | fastText | scikit-learn |
//! |---|---|---|
//! | `budget` | `-autotune-duration` (seconds) | — |
//! | validation accuracy | `-autotune-metric f1` (default) | `RandomizedSearchCV(scoring="accuracy")` with a fixed split (`PredefinedSplit`) |
//! | the searched keys | `lr`, `epoch`, `dim`, `wordNgrams`, `minn`/`maxn`, `bucket` | `param_distributions` |

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::Serialize;

use crate::error::RecipeError;
use crate::metrics::{Metric, Split};
use crate::recipe::{RunSpec, Settings};
use crate::runner::DataCache;
use crate::train::{Silent, TrainOptions, Trained, train};
use stoke_text::model::{Bags, TermFrequency};
use stoke_text::tokenizer::Features;

/// The values one trial tries (the rest of the settings stay as given).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    /// The optimizer's learning rate η.
    pub lr: f64,
    /// Passes over the training split.
    pub epochs: usize,
    /// Embedding width.
    pub embed_dim: usize,
    /// Word bigrams on or off.
    pub word_bigrams: bool,
    /// Character n-gram lengths `(min, max)`; `(0, 0)`: none.
    pub char_ngrams: (usize, usize),
    /// Dropout probability after each hidden block.
    pub dropout: f64,
    /// β of the L2 penalty.
    pub l2: f64,
    /// Hash buckets (embedding rows); `None` when the settings use a vocabulary, which stays.
    pub buckets: Option<usize>,
    /// One bag or a word bag plus a character bag.
    pub bags: Bags,
    /// The pooling's weight of a count.
    pub tf: TermFrequency,
}

impl Candidate {
    /// The values `settings` already has.
    pub fn of(settings: &Settings) -> Self {
        Candidate {
            lr: settings.optimizer.lr,
            epochs: settings.epochs,
            embed_dim: settings.model.embed_dim,
            word_bigrams: settings.tokenizer.word_bigrams,
            char_ngrams: (settings.tokenizer.char_min_n, settings.tokenizer.char_max_n),
            dropout: settings.model.dropout,
            l2: settings.l2,
            buckets: match settings.tokenizer.features {
                Features::Hashing { buckets } => Some(buckets),
                Features::Vocabulary { .. } | Features::WordsAndHashing { .. } => None,
            },
            bags: settings.model.bags,
            tf: settings.model.tf,
        }
    }

    /// `settings` with these values.
    pub fn apply(&self, settings: &Settings) -> Settings {
        let mut s = settings.clone();
        s.optimizer.lr = self.lr;
        s.epochs = self.epochs;
        s.model.embed_dim = self.embed_dim;
        s.tokenizer.word_bigrams = self.word_bigrams;
        (s.tokenizer.char_min_n, s.tokenizer.char_max_n) = self.char_ngrams;
        s.model.dropout = self.dropout;
        s.l2 = self.l2;
        if let Some(buckets) = self.buckets {
            s.tokenizer.features = Features::Hashing { buckets };
        }
        (s.model.bags, s.model.tf) = (self.bags, self.tf);
        s
    }

    /// The `stoke train` flags that set these values, as a shell reads them (the buckets' TOML
    /// table in single quotes).
    pub fn flags(&self) -> String {
        let buckets = self.buckets.map_or(String::new(), |b| {
            format!(" --set 'tokenizer.features={{kind=\"hashing\",buckets={b}}}'")
        });
        format!(
            "--lr {} --epochs {} --l2 {} --set model.embed_dim={} --set model.dropout={} \
             --set tokenizer.word_bigrams={} --set tokenizer.char_min_n={} --set tokenizer.char_max_n={} \
             --set model.bags={} --set model.tf={}{}",
            self.lr,
            self.epochs,
            self.l2,
            self.embed_dim,
            self.dropout,
            self.word_bigrams,
            self.char_ngrams.0,
            self.char_ngrams.1,
            self.bags,
            self.tf,
            buckets
        )
    }
}

/// A uniform pick from `xs`.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[(rng.next_u64() % xs.len() as u64) as usize]
}

/// The `i`-th random candidate around `base`: η log-uniform in `[η/10, 10η]` (clipped to the
/// optimizer's valid range by the settings' own validation), the rest from small grids.
fn draw(rng: &mut ChaCha8Rng, base: &Candidate) -> Candidate {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    // η·10^(2u − 1), rounded to three significant digits so the printed flag reproduces it.
    let lr = round3(base.lr * 10f64.powf(2.0 * u - 1.0));
    Candidate {
        lr,
        epochs: pick(rng, &[2, 3, 5, 8, 12]),
        embed_dim: pick(rng, &[16, 32, 64, 128]),
        word_bigrams: pick(rng, &[false, true]),
        char_ngrams: pick(rng, &[(0, 0), (1, 3), (2, 4), (2, 5), (3, 6)]),
        dropout: pick(rng, &[0.0, 0.2, 0.5]),
        l2: pick(rng, &[0.0, 1e-7, 1e-6, 1e-5]),
        // fastText's `bucket`; more rows, fewer collisions between n-grams (on sotu, word
        // n-grams only: validation accuracy 0.7590 with 2^17 buckets, 0.7825 with 2^20).
        buckets: base
            .buckets
            .map(|_| pick(rng, &[1 << 17, 1 << 18, 1 << 20])),
        // On sotu (validation, seed 1) split bags with sublinear tf score 0.7961 against one
        // bag's 0.7742; on words split bags lose 7.4 pt: a choice per data set, which
        // `stoke train` makes from the texts' length (`Pooling`) and the search revisits.
        bags: pick(rng, &[Bags::One, Bags::Split]),
        tf: pick(rng, &[TermFrequency::Raw, TermFrequency::Sublinear]),
    }
}

fn round3(x: f64) -> f64 {
    let digits = 2 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// One tried candidate and what it scored.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// What was tried.
    pub candidate: Candidate,
    /// Validation accuracy of the kept epoch (`NaN` if the run diverged).
    pub valid_accuracy: f64,
    /// Validation loss of the kept epoch.
    pub valid_loss: f64,
    /// Wall time of the trial, data preparation included.
    pub seconds: f64,
}

impl Trial {
    /// `(accuracy, −loss)`, larger is better; a diverged trial is worst.
    fn score(&self) -> (f64, f64) {
        let finite = |x: f64| if x.is_finite() { x } else { f64::NEG_INFINITY };
        (finite(self.valid_accuracy), finite(-self.valid_loss))
    }
}

/// The validation accuracy and loss of the epoch a run keeps: `best_epoch` with early
/// stopping, else the last validated epoch (`NaN` when there is none).
fn kept_scores(records: &[crate::metrics::Record], best_epoch: Option<usize>) -> (f64, f64) {
    let valid = records.iter().filter(|r| r.split == Split::Valid);
    let epoch = best_epoch.or_else(|| valid.clone().map(|r| r.epoch).max());
    let value = |metric: Metric| {
        valid
            .clone()
            .find(|r| Some(r.epoch) == epoch && r.metric == metric)
            .map_or(f64::NAN, |r| r.value)
    };
    (value(Metric::Accuracy), value(Metric::Loss))
}

/// One standard error of the validation accuracy `p` over `n` texts, `√(p(1 − p)/n)`.
fn standard_error(p: f64, n: usize) -> f64 {
    (p * (1.0 - p) / n.max(1) as f64).sqrt()
}

/// Whether trial `new` becomes the winner in place of `best`, given the first trial (the given
/// settings) and `n` validation texts: it must beat the first's accuracy by more than one
/// standard error, and score above `best`.
fn replaces(first: &Trial, best: &Trial, new: &Trial, n: usize) -> bool {
    let p = first.valid_accuracy;
    let clears = !p.is_finite() || new.valid_accuracy > p + standard_error(p, n);
    clears && new.score() > best.score()
}

/// The search's result: every trial, the winner's index and its trained model.
pub struct Tuned {
    /// In the order tried; the first is the given settings.
    pub trials: Vec<Trial>,
    /// Index of the best trial.
    pub best: usize,
    /// The best trial's run spec and trained model (not retrained).
    pub spec: RunSpec,
    /// Its training.
    pub trained: Trained,
}

/// Searches for `budget` from `spec`'s settings: the first trial is `spec` itself, then seeded
/// random candidates until the budget is spent (a trial that starts within it finishes) or
/// `max_trials` are done. Data sets are prepared through `cache` (the candidates that change the
/// tokenizer each prepare their own). `each` is told of every finished trial.
pub fn autotune(
    spec: &RunSpec,
    budget: Duration,
    max_trials: usize,
    opts: &TrainOptions,
    cache: &mut DataCache,
    mut each: impl FnMut(&Trial),
) -> Result<Tuned, RecipeError> {
    spec.settings.validate()?;
    let start = Instant::now();
    let base = Candidate::of(&spec.settings);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0xa070_70e0);
    let mut trials: Vec<Trial> = Vec::new();
    let mut best: Option<(usize, RunSpec, Trained)> = None;
    while trials.len() < max_trials.max(1) && (trials.is_empty() || start.elapsed() < budget) {
        let candidate = if trials.is_empty() {
            base.clone()
        } else {
            draw(&mut rng, &base)
        };
        let settings = candidate.apply(&spec.settings);
        // A candidate the settings' own rules refuse is skipped, not tried.
        if settings.validate().is_err() {
            continue;
        }
        let trial_spec = RunSpec {
            settings,
            ..spec.clone()
        };
        let t0 = Instant::now();
        let data = cache.get(&trial_spec)?;
        let options = TrainOptions {
            device: opts.device.clone(),
            checkpoint_dir: None,
            resume: false,
            stop_after_epoch: None,
            progress: &Silent,
        };
        let trained = train(&trial_spec, data, &options)?;
        let (valid_accuracy, valid_loss) =
            kept_scores(&trained.result.records, trained.result.best_epoch);
        let trial = Trial {
            candidate,
            valid_accuracy,
            valid_loss,
            seconds: t0.elapsed().as_secs_f64(),
        };
        each(&trial);
        let n_valid = data.valid.len();
        let better = best
            .as_ref()
            .is_none_or(|(i, _, _)| replaces(&trials[0], &trials[*i], &trial, n_valid));
        trials.push(trial);
        if better {
            best = Some((trials.len() - 1, trial_spec, trained));
        }
        // Keep only the data of the tokenizer settings in use, not one copy per candidate.
        if cache.len() > 2 {
            *cache = DataCache::default();
        }
    }
    // Internal invariant: the loop runs the first trial unconditionally (`trials.is_empty()`;
    // its settings, the caller's, passed `validate` above), and that sets `best`.
    let (best, spec, trained) = best.expect("the first trial always runs");
    Ok(Tuned {
        trials,
        best,
        spec,
        trained,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The candidate the tests start from.
    fn base() -> Candidate {
        Candidate {
            lr: 0.002,
            epochs: 5,
            embed_dim: 64,
            word_bigrams: true,
            char_ngrams: (2, 5),
            dropout: 0.2,
            l2: 0.0,
            buckets: Some(1 << 17),
            bags: Bags::One,
            tf: TermFrequency::Raw,
        }
    }

    fn trial(valid_accuracy: f64, valid_loss: f64) -> Trial {
        Trial {
            candidate: base(),
            valid_accuracy,
            valid_loss,
            seconds: 0.0,
        }
    }

    #[test]
    fn a_trial_must_beat_the_given_settings_by_one_standard_error() {
        // p₀ = 0.87 on n = 300: se = √(0.87 · 0.13 / 300) = 0.019416, so the bar is 0.889416.
        let first = trial(0.87, 0.40);
        assert!(!replaces(&first, &first, &trial(0.88, 0.30), 300));
        assert!(!replaces(&first, &first, &trial(0.889, 0.30), 300));
        assert!(replaces(&first, &first, &trial(0.8900, 0.30), 300));
        // on 30,000 texts the bar is 0.87 + 0.0019416: 0.875 clears it
        assert!(replaces(&first, &first, &trial(0.875, 0.30), 30_000));
        // past the bar, the better score wins; equal accuracy goes to the lower loss
        let best = trial(0.90, 0.35);
        assert!(!replaces(&first, &best, &trial(0.895, 0.20), 300));
        assert!(replaces(&first, &best, &trial(0.90, 0.30), 300));
        // a diverged first trial (NaN) is beaten by any finite one
        assert!(replaces(
            &trial(f64::NAN, f64::NAN),
            &trial(f64::NAN, f64::NAN),
            &first,
            300
        ));
    }

    #[test]
    fn a_trial_scores_the_epoch_it_keeps() {
        use crate::metrics::Record;
        let record = |epoch, metric, value| Record {
            run: "r".into(),
            config: "c".into(),
            seed: 1,
            epoch,
            iteration: 0,
            split: Split::Valid,
            metric,
            value,
        };
        let mut records = Vec::new();
        for (epoch, acc, loss) in [
            (1, 0.80, 0.5),
            (2, 0.86, 0.4),
            (3, 0.84, 0.45),
            (4, 0.83, 0.5),
        ] {
            records.push(record(epoch, Metric::Accuracy, acc));
            records.push(record(epoch, Metric::Loss, loss));
        }
        // early stopping kept epoch 2, whose scores count; without it, the last epoch's
        assert_eq!(kept_scores(&records, Some(2)), (0.86, 0.4));
        assert_eq!(kept_scores(&records, None), (0.83, 0.5));
        assert!(kept_scores(&[], None).0.is_nan());
    }

    #[test]
    fn rounding_keeps_three_significant_digits() {
        assert_eq!(round3(0.0123456), 0.0123);
        assert_eq!(round3(2.0049), 2.0);
        assert_eq!(round3(0.000987654), 0.000988);
    }

    #[test]
    fn the_draws_are_seeded_and_stay_in_range() {
        let base = base();
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..50).map(|_| draw(&mut rng, &base)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        for c in run(7) {
            assert!((0.0002..=0.02).contains(&c.lr), "{c:?}");
        }
        // every grid value turns up in 50 draws of a 5-value grid (missing one: p ≈ 5·0.8⁵⁰)
        let dims: std::collections::BTreeSet<usize> = run(7).iter().map(|c| c.embed_dim).collect();
        assert_eq!(dims.len(), 4);
        let buckets: std::collections::BTreeSet<_> = run(7).iter().map(|c| c.buckets).collect();
        assert_eq!(buckets.len(), 3, "{buckets:?}");
        let pooling: std::collections::BTreeSet<_> = run(7)
            .iter()
            .map(|c| (c.bags == Bags::Split, c.tf == TermFrequency::Sublinear))
            .collect();
        assert_eq!(pooling.len(), 4, "{pooling:?}");
        // a vocabulary is never swapped for hashing
        let vocabulary = Candidate {
            buckets: None,
            ..base.clone()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert!((0..50).all(|_| draw(&mut rng, &vocabulary).buckets.is_none()));
    }

    #[test]
    fn the_buckets_and_the_pooling_round_trip_through_the_settings_and_the_flags() {
        let mut settings: Settings = toml::from_str(
            "epochs = 5\nbatch_size = 32\noptimizer = { name = \"adam\", lr = 0.002 }",
        )
        .unwrap();
        let c = Candidate {
            buckets: Some(1 << 20),
            bags: Bags::Split,
            tf: TermFrequency::Sublinear,
            ..Candidate::of(&settings)
        };
        settings = c.apply(&settings);
        assert_eq!(
            settings.tokenizer.features,
            Features::Hashing { buckets: 1 << 20 }
        );
        assert_eq!(
            (settings.model.bags, settings.model.tf),
            (Bags::Split, TermFrequency::Sublinear)
        );
        assert_eq!(Candidate::of(&settings), c);
        assert!(
            c.flags()
                .contains(" --set model.bags=split --set model.tf=sublinear "),
            "{}",
            c.flags()
        );
        assert!(
            c.flags()
                .ends_with(" --set 'tokenizer.features={kind=\"hashing\",buckets=1048576}'"),
            "{}",
            c.flags()
        );
    }
}
