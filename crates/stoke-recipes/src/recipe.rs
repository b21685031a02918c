//! A recipe is data: a TOML file naming the data set, model, optimizers and hyper-parameter
//! grid, epochs, batch size and seeds. The built-in recipes live in `recipes/*.toml`.
//!
//! ```toml
//! name = "momentum"
//! title = "Momentum γ"
//! claim = "Momentum speeds up gradient descent; too much makes it overshoot."
//! kind = "momentum"            # how the report reads the results
//! seeds = [1, 2]
//!
//! [defaults]                  # every run starts from these settings …
//! dataset = "sentiment-uci"
//! epochs = 8
//! batch_size = 32
//! optimizer = { name = "momentum", lr = 0.05 }
//! model = { embed_dim = 32, hidden = 64 }
//!
//! [[runs]]                    # … and each run overrides some of them
//! label = "γ = 0"
//! optimizer = { momentum = 0.0 }
//! ```
//!
//! Tables merge key by key (a run's `optimizer = { momentum = 0.0 }` keeps the default name and
//! learning rate). Every merged run is checked when the recipe is loaded: an unknown key, an
//! unknown optimizer or data set, or an out-of-range value is an error naming the recipe, the run
//! and the field.

use std::path::Path;

use serde::{Deserialize, Serialize};
use stoke_text::data::Bundled;
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::TokenizerConfig;

use crate::error::RecipeError;
use stoke_optim::OptimizerSpec;

/// How the report summarises a recipe's results in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RecipeKind {
    Optimizers,
    LearningRate,
    Momentum,
    BatchSize,
    Batchnorm,
    Dropout,
    L2,
    Overfitting,
    Schedules,
    Clipping,
    #[default]
    Custom,
}

/// A batch size: a number of texts, or the whole training set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchSize {
    /// `k` texts per step (1 = stochastic gradient descent).
    Size(usize),
    /// `"full"`: every training text in one step (full-batch gradient descent).
    Full(FullBatch),
}

/// The word `full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FullBatch {
    Full,
}

impl BatchSize {
    /// Texts per step for a training set of `n` texts.
    pub fn resolve(self, n: usize) -> usize {
        match self {
            BatchSize::Size(k) => k.min(n.max(1)),
            BatchSize::Full(_) => n.max(1),
        }
    }

    /// `"32"` or `"full"`.
    pub fn label(self) -> String {
        match self {
            BatchSize::Size(k) => k.to_string(),
            BatchSize::Full(_) => "full".into(),
        }
    }
}

/// Labelled text from a user's file instead of a bundled data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// CSV, TSV or JSONL, optionally gzip-compressed.
    pub path: String,
    /// Column (CSV/TSV) or key (JSONL) holding the text.
    #[serde(default = "default_text")]
    pub text: String,
    /// Column or key holding the label.
    #[serde(default = "default_label")]
    pub label: String,
    /// Skip invalid rows (and report them) instead of failing.
    #[serde(default)]
    pub skip_invalid: bool,
}

fn default_text() -> String {
    "text".into()
}

fn default_label() -> String {
    "label".into()
}

/// Everything one training run needs, after merging a run into the recipe's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A bundled data set: `sentiment-uci`, `langid` or `spam-assassin`.
    #[serde(default = "default_dataset")]
    pub dataset: String,
    /// A user file; when set it replaces `dataset` (split 80/10/10 with the run's seed).
    #[serde(default)]
    pub data: Option<DataFile>,
    /// Passes over the training set.
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: BatchSize,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerSpec,
    /// β of the L2 penalty `β Σ w²` added to the loss (weights only; 0 = none).
    #[serde(default)]
    pub l2: f64,
    /// The model's shape (`embed_dim`, `hidden`, `n_hidden`, `batch_norm`, `dropout`,
    /// `init_scale`, `bn_momentum`, `embed_init_std`); the data gives its sizes.
    #[serde(default)]
    pub model: ModelShape,
    /// The tokenizer (e.g. `features = { kind = "hashing", buckets = 16384 }`).
    #[serde(default)]
    pub tokenizer: TokenizerConfig,
    /// Use only the first `n` training texts (after the seeded split), e.g. to overfit.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Record the training loss of every iteration, not only per epoch.
    #[serde(default)]
    pub record_iterations: bool,
    /// How the embedding table is updated: `dense` (the default: every row, every step, the
    /// course's semantics) or `sparse` (only the rows each batch uses; see [`crate::step`]).
    #[serde(default)]
    pub embedding: crate::step::EmbeddingUpdate,
    /// A test seam: the steps at which one parameter's gradient is made NaN, e.g.
    /// `inject_nonfinite = [{ epoch = 2, iteration = 3 }]` (the 3rd batch of epoch 2). With
    /// `skip_nonfinite` the step is skipped and counted (`skipped_steps`); without it the NaN
    /// reaches the weights and the next loss stops the run, naming epoch and iteration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inject_nonfinite: Vec<Injection>,
    /// Stop when the validation score stops improving and keep the best epoch's weights
    /// (`early_stopping = { patience = 2, monitor = "valid_loss" }`; absent: run every epoch
    /// and keep the last, as the course's recipes do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<crate::early_stopping::EarlyStopping>,
    /// Train data-parallel on these devices through Burn's engine (`devices = ["wgpu:cpu",
    /// "wgpu:default"]`; see [`crate::learner`]); empty: stoke's own loop on the run's device.
    /// `batch_size` is then the batch of all devices together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<stoke_optim::DeviceName>,
}

/// One step of [`Settings::inject_nonfinite`]: the `iteration`-th batch (1-based) of `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    pub epoch: usize,
    pub iteration: usize,
}

fn default_dataset() -> String {
    "sentiment-uci".into()
}

impl Settings {
    /// The bundled data set, if no file is given.
    pub fn bundled(&self) -> Result<Option<Bundled>, RecipeError> {
        if self.data.is_some() {
            return Ok(None);
        }
        self.dataset
            .parse::<Bundled>()
            .map(Some)
            .map_err(RecipeError::Data)
    }

    /// Checks every value that can be checked without loading data.
    pub fn validate(&self) -> Result<(), RecipeError> {
        if self.epochs == 0 {
            return Err(RecipeError::invalid(
                "settings",
                "epochs",
                0,
                "must be at least 1",
            ));
        }
        if self.batch_size == BatchSize::Size(0) {
            return Err(RecipeError::invalid(
                "settings",
                "batch_size",
                0,
                "must be at least 1 (or \"full\")",
            ));
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return Err(RecipeError::invalid(
                "settings",
                "l2",
                self.l2,
                "must be finite and >= 0",
            ));
        }
        if self.train_subset == Some(0) {
            return Err(RecipeError::invalid(
                "settings",
                "train_subset",
                0,
                "must be at least 1",
            ));
        }
        for j in &self.inject_nonfinite {
            if !(1..=self.epochs).contains(&j.epoch) {
                return Err(RecipeError::invalid(
                    "settings",
                    "inject_nonfinite.epoch",
                    j.epoch,
                    format!("must be in 1..={} (the run's epochs)", self.epochs),
                ));
            }
            if j.iteration == 0 {
                return Err(RecipeError::invalid(
                    "settings",
                    "inject_nonfinite.iteration",
                    0,
                    "must be at least 1",
                ));
            }
        }
        if let Some(es) = &self.early_stopping
            && es.patience == 0
        {
            return Err(RecipeError::invalid(
                "settings",
                "early_stopping.patience",
                0,
                "must be at least 1",
            ));
        }
        self.bundled()?;
        self.optimizer.validate()?;
        let setting = |section| move |e| RecipeError::setting("settings", section, e);
        self.tokenizer.validate().map_err(setting("tokenizer"))?;
        self.model.validate().map_err(setting("model"))
    }
}

/// One section of [`Settings`] (`model`, `tokenizer`) read from a TOML table, as the command
/// line's `--set section.key=value` gives it: fields it leaves out take their defaults; an
/// unknown field or a value of the wrong type is an error naming `section` and the field.
pub fn parse_section<T: serde::de::DeserializeOwned>(
    section: &str,
    table: toml::Table,
) -> Result<T, RecipeError> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|source| RecipeError::Toml {
            origin: format!("settings {section}"),
            source,
        })
}

/// A recipe as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Short name, also the output directory's name.
    pub name: String,
    /// Title used in plots and the report.
    pub title: String,
    /// The course's claim this recipe tests.
    pub claim: String,
    /// How the report reads the results.
    #[serde(default)]
    pub kind: RecipeKind,
    /// Seeds; every configuration runs once per seed (mean ± std in the report).
    pub seeds: Vec<u64>,
    /// Settings shared by every run.
    pub defaults: toml::Table,
    /// The configurations compared: each a `label` plus overrides of `defaults`.
    pub runs: Vec<toml::Table>,
}

/// One configuration of a recipe, merged and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// The label shown in plots, tables and file names.
    pub label: String,
    /// Its settings.
    pub settings: Settings,
}

/// One training run: a configuration and a seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The configuration's label.
    pub config: String,
    /// The seed (data order, initialisation, dropout).
    pub seed: u64,
    /// The settings.
    pub settings: Settings,
}

impl RunSpec {
    /// A name safe for a directory: `label-seed`, non-alphanumerics replaced by `_`.
    pub fn id(&self) -> String {
        let clean: String = self
            .config
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{clean}-seed{}", self.seed)
    }
}

/// Command-line overrides applied to every run of a recipe (`--epochs`, `--seed`, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub epochs: Option<usize>,
    pub seeds: Option<Vec<u64>>,
    pub train_subset: Option<usize>,
    pub dataset: Option<String>,
}

const BUILTINS: [(&str, &str); 10] = [
    ("optimizers", include_str!("../recipes/optimizers.toml")),
    (
        "learning-rate",
        include_str!("../recipes/learning-rate.toml"),
    ),
    ("momentum", include_str!("../recipes/momentum.toml")),
    ("batch-size", include_str!("../recipes/batch-size.toml")),
    ("batchnorm", include_str!("../recipes/batchnorm.toml")),
    ("dropout", include_str!("../recipes/dropout.toml")),
    ("l2", include_str!("../recipes/l2.toml")),
    ("overfitting", include_str!("../recipes/overfitting.toml")),
    ("schedules", include_str!("../recipes/schedules.toml")),
    ("clipping", include_str!("../recipes/clipping.toml")),
];

/// The names of the built-in recipes.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

impl Recipe {
    /// Parses a recipe from TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, RecipeError> {
        let recipe: Recipe = toml::from_str(text).map_err(|source| RecipeError::Toml {
            origin: origin.to_string(),
            source,
        })?;
        recipe.configurations()?;
        Ok(recipe)
    }

    /// A built-in recipe by name, or a recipe file by path.
    pub fn load(name_or_path: &str) -> Result<Self, RecipeError> {
        if let Some((_, text)) = BUILTINS.iter().find(|(n, _)| *n == name_or_path) {
            return Self::from_toml(text, &format!("recipes/{name_or_path}.toml"));
        }
        let path = Path::new(name_or_path);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| RecipeError::io(path, e))?;
            return Self::from_toml(&text, name_or_path);
        }
        Err(RecipeError::UnknownRecipe {
            name: name_or_path.to_string(),
            known: builtin_names().join(", "),
        })
    }

    /// The merged, checked configurations, in file order.
    pub fn configurations(&self) -> Result<Vec<Configuration>, RecipeError> {
        let run_context = |label: &str| format!("recipe {}, run '{label}'", self.name);
        let context = |label: &str, e: RecipeError| match e {
            RecipeError::Invalid {
                field, value, rule, ..
            } => RecipeError::Invalid {
                context: run_context(label),
                field,
                value,
                rule,
            },
            other => RecipeError::InRun {
                context: run_context(label),
                source: Box::new(other),
            },
        };
        if self.seeds.is_empty() {
            return Err(RecipeError::invalid(
                format!("recipe {}", self.name),
                "seeds",
                "[]",
                "needs at least one seed",
            ));
        }
        if self.runs.is_empty() {
            return Err(RecipeError::invalid(
                format!("recipe {}", self.name),
                "runs",
                "[]",
                "needs at least one run",
            ));
        }
        let mut out: Vec<Configuration> = Vec::new();
        for (i, run) in self.runs.iter().enumerate() {
            let mut run = run.clone();
            let label = match run.remove("label") {
                Some(toml::Value::String(s)) => s,
                _ => format!("run {}", i + 1),
            };
            if out.iter().any(|c| c.label == label) {
                return Err(RecipeError::invalid(
                    format!("recipe {}", self.name),
                    "label",
                    &label,
                    "labels must be unique",
                ));
            }
            let mut merged = self.defaults.clone();
            merge(&mut merged, run);
            let settings: Settings =
                toml::Value::Table(merged)
                    .try_into()
                    .map_err(|source| RecipeError::Toml {
                        origin: run_context(&label),
                        source,
                    })?;
            settings.validate().map_err(|e| context(&label, e))?;
            out.push(Configuration { label, settings });
        }
        Ok(out)
    }

    /// Every (configuration, seed) pair, with `overrides` applied.
    pub fn runs(&self, overrides: &Overrides) -> Result<Vec<RunSpec>, RecipeError> {
        let seeds = overrides
            .seeds
            .clone()
            .unwrap_or_else(|| self.seeds.clone());
        let mut out = Vec::new();
        for c in self.configurations()? {
            let mut settings = c.settings.clone();
            if let Some(e) = overrides.epochs {
                settings.epochs = e;
            }
            if let Some(n) = overrides.train_subset {
                settings.train_subset = Some(settings.train_subset.map_or(n, |m| m.min(n)));
            }
            if let Some(d) = &overrides.dataset {
                settings.dataset = d.clone();
            }
            settings.validate()?;
            for &seed in &seeds {
                out.push(RunSpec {
                    config: c.label.clone(),
                    seed,
                    settings: settings.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// Lays `over` onto `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_recipe_loads_and_checks() {
        for name in builtin_names() {
            let r = Recipe::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.name, name);
            assert!(
                r.configurations().unwrap().len() >= 2,
                "{name} compares at least two configurations"
            );
        }
    }

    fn recipe(runs: &str) -> String {
        format!(
            "name = \"t\"\ntitle = \"T\"\nclaim = \"c\"\nseeds = [1]\n[defaults]\nepochs = 2\nbatch_size = 8\noptimizer = {{ name = \"sgd\", lr = 0.1 }}\n{runs}"
        )
    }

    #[test]
    fn runs_merge_into_defaults_key_by_key() {
        let r = Recipe::from_toml(&recipe("[[runs]]\nlabel = \"a\"\noptimizer = { name = \"momentum\", momentum = 0.5 }\n[[runs]]\nlabel = \"b\"\nbatch_size = \"full\"\n"), "t").unwrap();
        let c = r.configurations().unwrap();
        assert_eq!(c[0].settings.optimizer.name(), "momentum");
        assert_eq!(c[0].settings.optimizer.lr, 0.1, "lr kept from the defaults");
        assert_eq!(c[1].settings.batch_size.resolve(100), 100);
        assert_eq!(c[0].settings.batch_size.resolve(100), 8);
    }

    #[test]
    fn bad_recipes_name_the_run_and_field() {
        let e = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"x\"\noptimizer = { lr = -0.1 }\n"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("run 'x'") && e.contains("lr"), "{e}");
        let e = Recipe::from_toml(&recipe("[[runs]]\nlabel = \"x\"\nepochz = 3\n"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("epochz"), "{e}");
        let e = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"x\"\nmodel = { dropout = 1.5 }\n"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("dropout"), "{e}");
        let e = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"x\"\noptimizer = { name = \"lbfgs\" }\n"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lbfgs") && e.contains("adam"), "{e}");
        let e = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"x\"\ndataset = \"mnist\"\n"),
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("mnist"), "{e}");
        let e = Recipe::load("no-such-recipe").unwrap_err().to_string();
        assert!(e.contains("optimizers") && e.contains("overfitting"), "{e}");
    }

    fn error_of(run: &str) -> String {
        Recipe::from_toml(&recipe(&format!("[[runs]]\nlabel = \"x\"\n{run}\n")), "t")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn model_and_tokenizer_tables_are_typed_with_defaults() {
        let r = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"a\"\nmodel = { dropout = 0.5 }\ntokenizer = { features = { kind = \"hashing\", buckets = 512 } }\n[[runs]]\nlabel = \"b\"\n"),
            "t",
        )
        .unwrap();
        let c = r.configurations().unwrap();
        let (a, b) = (&c[0].settings, &c[1].settings);
        assert_eq!(a.model.dropout, 0.5);
        assert_eq!(a.model.embed_dim, 64, "unset fields keep the default");
        assert_eq!(b.model, ModelShape::default());
        assert_eq!(a.tokenizer, TokenizerConfig::hashing(512));
        assert_eq!(b.tokenizer, TokenizerConfig::default());
    }

    #[test]
    fn bad_model_and_tokenizer_settings_name_the_field() {
        for (run, needles) in [
            ("model = { dropuot = 0.5 }", &["run 'x'", "dropuot"][..]),
            ("model = { num_ids = 5 }", &["num_ids"]),
            ("model = { hidden = \"wide\" }", &["hidden"]),
            (
                "model = { embed_init_std = 0.0 }",
                &["model.embed_init_std", "> 0"],
            ),
            ("model = { n_hidden = 2, hidden = 0 }", &["model.hidden"]),
            ("tokenizer = { bukets = 5 }", &["bukets"]),
            (
                "tokenizer = { features = { kind = \"hashing\", buckets = 0 } }",
                &["run 'x'", "tokenizer.features.buckets = 0"],
            ),
            (
                "tokenizer = { char_min_n = 3, char_max_n = 2 }",
                &["tokenizer.char_max_n = 2"],
            ),
        ] {
            let e = error_of(run);
            for n in needles {
                assert!(e.contains(n), "{run}: expected '{n}' in: {e}");
            }
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn a_section_from_the_command_line_is_typed_or_names_the_field() {
        let mut t = toml::Table::new();
        t.insert("dropout".into(), 0.5.into());
        let m: ModelShape = parse_section("model", t.clone()).unwrap();
        assert_eq!(
            m,
            ModelShape {
                dropout: 0.5,
                ..ModelShape::default()
            }
        );
        t.insert("dropuot".into(), 0.5.into());
        let e = parse_section::<ModelShape>("model", t)
            .unwrap_err()
            .to_string();
        assert!(e.contains("model") && e.contains("dropuot"), "{e}");
        let e = parse_section::<TokenizerConfig>(
            "tokenizer",
            toml::from_str("features = { kind = \"hashing\", bukets = 16384 }").unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tokenizer") && e.contains("buckets"), "{e}");
    }

    #[test]
    fn errors_keep_their_source() {
        use std::error::Error;
        let e = Recipe::from_toml("name = 3", "t.toml").unwrap_err();
        assert!(
            e.source().is_some_and(|s| s.is::<toml::de::Error>()),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("t.toml: "), "{e}");
        let e = Recipe::from_toml(
            &recipe("[[runs]]\nlabel = \"x\"\ndataset = \"mnist\"\n"),
            "t",
        )
        .unwrap_err();
        // The run's own error, boxed inside the one that names the run.
        let inner = e
            .source()
            .and_then(|s| s.downcast_ref::<Box<RecipeError>>());
        assert!(
            matches!(inner.map(|b| &**b), Some(RecipeError::Data(_))),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("recipe t, run 'x': "), "{e}");
    }
}
