//! One typed description of an optimizer and its learning rate: what a recipe's
//! `optimizer = { name = "rmsprop", lr = 0.01, decay = 0.9 }`, the command line's
//! `--optimizer rmsprop --lr 0.01 --set decay=0.9` and the surfaces' `rmsprop:lr=0.01,decay=0.9`
//! all become, once, where the text enters. From there on it is carried typed.
//!
//! Every optimizer is named once, in [`OptimizerConfig::NAMES`]' table below (name → the config
//! with its defaults). Adding an optimizer is its file plus one variant and one table row.
//!
//! The text form is a flat map: `name`, `lr`, and any fields of the named optimizer's config,
//! laid over that name's defaults. An unknown name or field, a value of the wrong type and an
//! out-of-range value are rejected while parsing, with an error naming the optimizer, the field
//! and the rule:
//!
//! ```
//! use stoke_optim::OptimizerSpec;
//! let spec: OptimizerSpec = "rmsprop:lr=0.01,decay=0.95".parse().unwrap();
//! assert_eq!(spec.label(), "rmsprop(lr=0.01, decay=0.95)");
//! let e = "rmsprop:lr=0.01,decay=1.5".parse::<OptimizerSpec>().unwrap_err();
//! assert_eq!(e.to_string(), "optimizer rmsprop: RmsPropConfig.decay = 1.5: must be in [0, 1)");
//! ```
//!
//! Beside the learning rate stands its [`Schedule`] (constant unless given): the key `schedule`
//! holds a kind's name or a map with `kind` and the kind's fields, and `schedule.FIELD` keys lay
//! fields over it, so the recipe's
//! `optimizer = { name = "adam", lr = 0.01, schedule = { kind = "cosine", warmup_steps = 100 } }`,
//! the flags `--set schedule=cosine --set schedule.warmup_steps=100` and the shorthand below
//! are the same description:
//!
//! ```
//! use stoke_optim::{OptimizerSpec, Schedule};
//! let text = "adam:lr=0.01,schedule=cosine,schedule.warmup_steps=100";
//! let spec: OptimizerSpec = text.parse().unwrap();
//! assert_eq!(spec.schedule, Schedule::Cosine { warmup_steps: 100, min_lr: 0.0 });
//! assert_eq!(spec.label(), "adam(lr=0.01, schedule=cosine(warmup_steps=100))");
//! let mut scheduler = spec.scheduler(1000).unwrap(); // the running schedule of 1000 steps
//! assert!((scheduler.step() - 0.01 / 101.0).abs() < 1e-15); // η·(t + 1)/(W + 1) at t = 0
//! ```

use std::fmt;
use std::str::FromStr;

use burn::grad_clipping::GradientClipping;
use burn::optim::ModuleOptimizer;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::schedule::{Schedule, ScheduleError, Scheduler};
use crate::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, ConfigError, GradScale, MomentumConfig,
    RmsPropConfig, RowOptimizer, Transforms,
};

/// The config of one stoke optimizer, by the name it is known under.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimizerConfig {
    /// `sgd`: [`MomentumConfig::sgd`], `w ← w − η·g`.
    Sgd(MomentumConfig),
    /// `momentum`: [`MomentumConfig`] (γ = 0.9, the course's form).
    Momentum(MomentumConfig),
    /// `nesterov`: [`MomentumConfig`] with Nesterov's look-ahead.
    Nesterov(MomentumConfig),
    /// `rmsprop`: [`RmsPropConfig`].
    RmsProp(RmsPropConfig),
    /// `adagrad`: [`AdaGradConfig`].
    AdaGrad(AdaGradConfig),
    /// `adam`: [`AdamConfig`].
    Adam(AdamConfig),
    /// `adamw`: [`AdamConfig::adamw`] (decoupled weight decay 1e-2).
    AdamW(AdamConfig),
    /// `adadelta`: [`AdaDeltaConfig`].
    AdaDelta(AdaDeltaConfig),
}

/// The one table of optimizer names: each name with its config's defaults.
const TABLE: [(&str, fn() -> OptimizerConfig); 8] = [
    ("sgd", || OptimizerConfig::Sgd(MomentumConfig::sgd())),
    ("momentum", || {
        OptimizerConfig::Momentum(MomentumConfig::new())
    }),
    ("nesterov", || {
        OptimizerConfig::Nesterov(MomentumConfig::new().with_nesterov(true))
    }),
    ("rmsprop", || OptimizerConfig::RmsProp(RmsPropConfig::new())),
    ("adagrad", || OptimizerConfig::AdaGrad(AdaGradConfig::new())),
    ("adam", || OptimizerConfig::Adam(AdamConfig::new())),
    ("adamw", || OptimizerConfig::AdamW(AdamConfig::adamw())),
    ("adadelta", || {
        OptimizerConfig::AdaDelta(AdaDeltaConfig::new())
    }),
];

/// What the description needs of every stoke optimizer config (implemented by
/// `constructors!`), so that one `match` reaches all of them.
#[doc(hidden)]
pub trait AnyConfig {
    /// The config's own `validate`.
    fn check(&self) -> Result<(), ConfigError>;
    /// The optimizer as a `ModuleOptimizer`, reading `scale` each step, keeping the weights'
    /// moving average of decay `ema` when given.
    fn module(&self, scale: &GradScale, ema: Option<f64>) -> Result<ModuleOptimizer, ConfigError>;
    /// The bare optimizer inside a [`RowOptimizer`], reading `scale` each step.
    fn rows(&self, scale: &GradScale) -> Result<RowOptimizer, ConfigError>;
    /// How many buffers of a parameter's size the optimizer keeps per parameter.
    fn state_buffers(&self) -> Result<usize, ConfigError>;
    /// The fields, as their serde form.
    fn fields(&self) -> Map<String, Value>;
    /// Replaces the config with `fields` read as one.
    fn set_fields(&mut self, fields: Map<String, Value>) -> Result<(), serde_json::Error>;
}

/// The config inside any variant, as `&dyn AnyConfig` (or `&mut`): the one `match` that reaches
/// every optimizer.
macro_rules! each_config {
    ($config:expr) => {{
        use OptimizerConfig::*;
        match $config {
            Sgd(c) | Momentum(c) | Nesterov(c) => c,
            RmsProp(c) => c,
            AdaGrad(c) => c,
            Adam(c) | AdamW(c) => c,
            AdaDelta(c) => c,
        }
    }};
}

impl OptimizerConfig {
    /// Every optimizer name, in table order.
    pub const NAMES: [&'static str; 8] = {
        let mut names = [""; 8];
        let mut i = 0;
        while i < TABLE.len() {
            names[i] = TABLE[i].0;
            i += 1;
        }
        names
    };

    /// The optimizer `name` with its defaults, or an error listing the known names.
    pub fn named(name: &str) -> Result<Self, SpecError> {
        TABLE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, defaults)| defaults())
            .ok_or_else(|| SpecError::UnknownOptimizer {
                name: name.to_string(),
                known: Self::NAMES.join(", "),
            })
    }

    /// The name this config is known under.
    pub fn name(&self) -> &'static str {
        let same = std::mem::discriminant(self);
        TABLE
            .iter()
            .find(|(_, defaults)| std::mem::discriminant(&defaults()) == same)
            .map(|(n, _)| *n)
            .unwrap_or_else(|| unreachable!("every variant has a row in TABLE"))
    }

    fn config(&self) -> &dyn AnyConfig {
        each_config!(self)
    }

    fn config_mut(&mut self) -> &mut dyn AnyConfig {
        each_config!(self)
    }

    /// Checks every field of the config.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.config().check()
    }

    /// A `ModuleOptimizer` updating every parameter of a module.
    pub fn try_init(&self) -> Result<ModuleOptimizer, ConfigError> {
        self.config().module(&GradScale::new(), None)
    }

    /// The same, applying the shared gradient scale `scale` in every step (see [`GradScale`]),
    /// and keeping the weights' moving average of decay `ema` when given (see [`crate::ema`]).
    pub fn try_init_scaled(
        &self,
        scale: &GradScale,
        ema: Option<f64>,
    ) -> Result<ModuleOptimizer, ConfigError> {
        self.config().module(scale, ema)
    }

    /// The same optimizer for the rows of one embedding table (see [`crate::rows`]).
    pub fn try_rows(&self) -> Result<RowOptimizer, ConfigError> {
        self.config().rows(&GradScale::new())
    }

    /// The same, applying the shared gradient scale `scale` in every step.
    pub fn try_rows_scaled(&self, scale: &GradScale) -> Result<RowOptimizer, ConfigError> {
        self.config().rows(scale)
    }

    /// How many buffers of a parameter's size the optimizer keeps as state for each parameter
    /// (0 for plain SGD, 1 for Momentum, 2 for Adam, 3 for AMSGrad).
    pub fn state_buffers(&self) -> Result<usize, ConfigError> {
        self.config().state_buffers()
    }

    /// The config's fields as `(field, value)` in serde form, e.g. `("decay", 0.9)`.
    pub fn fields(&self) -> Map<String, Value> {
        self.config().fields()
    }

    /// This name's defaults with `fields` laid over them, checked: an unknown field, a value
    /// of the wrong type and an out-of-range value are errors.
    fn with_fields(mut self, fields: Map<String, Value>) -> Result<Self, SpecError> {
        let optimizer = self.name();
        for (field, value) in fields {
            let mut all = self.fields();
            if !all.contains_key(&field) {
                let mut known: Vec<_> = all.keys().cloned().collect();
                known.sort();
                return Err(SpecError::UnknownField {
                    optimizer,
                    field,
                    known: known.join(", "),
                });
            }
            // One field at a time, so that a value of the wrong type is named.
            all.insert(field.clone(), value.clone());
            if let Err(source) = self.config_mut().set_fields(all) {
                return Err(SpecError::BadValue {
                    optimizer,
                    field,
                    value: value.to_string(),
                    source,
                });
            }
        }
        self.validate()
            .map_err(|source| SpecError::Invalid { optimizer, source })?;
        Ok(self)
    }
}

/// An optimizer, its learning rate, the rate's schedule and the gradient transforms: the typed
/// form of `{ name = "adam", lr = 0.001, … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerSpec {
    /// The optimizer and its hyper-parameters.
    pub optimizer: OptimizerConfig,
    /// The learning rate η, the schedule's base (the start, or one-cycle's peak); finite and
    /// `> 0`.
    pub lr: f64,
    /// How η moves over the run (key `schedule`; [`Schedule::Constant`] unless given).
    pub schedule: Schedule,
    /// Global-norm clipping, Burn's per-tensor clipping, skipping non-finite steps, averaged
    /// accumulation and the weights' moving average (keys `clip_norm`, `clip_tensor_norm`,
    /// `skip_nonfinite`, `accumulate`, `ema` of the flat map; all off by default).
    pub transforms: Transforms,
}

impl OptimizerSpec {
    /// `optimizer` at the constant learning rate `lr` (checked by [`validate`](Self::validate)).
    pub fn new(optimizer: OptimizerConfig, lr: f64) -> Self {
        Self {
            optimizer,
            lr,
            schedule: Schedule::Constant,
            transforms: Transforms::default(),
        }
    }

    /// The same with the learning rate following `schedule`.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// The same with `transforms` around the optimizer.
    pub fn with_transforms(mut self, transforms: Transforms) -> Self {
        self.transforms = transforms;
        self
    }

    /// The optimizer `name` with its defaults, at learning rate `lr`.
    pub fn named(name: &str, lr: f64) -> Result<Self, SpecError> {
        let spec = Self::new(OptimizerConfig::named(name)?, lr);
        spec.validate()?;
        Ok(spec)
    }

    /// The optimizer's name, e.g. `"adam"`.
    pub fn name(&self) -> &'static str {
        self.optimizer.name()
    }

    /// Checks the learning rate, every field and the schedule (as far as it does not depend
    /// on the run's length; [`scheduler`](Self::scheduler) checks the rest).
    pub fn validate(&self) -> Result<(), SpecError> {
        let optimizer = self.name();
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(SpecError::Lr {
                optimizer,
                lr: self.lr,
            });
        }
        self.transforms
            .validate()
            .and_then(|()| self.optimizer.validate())
            .map_err(|source| SpecError::Invalid { optimizer, source })?;
        self.schedule
            .validate(self.lr)
            .map_err(|source| SpecError::Schedule { optimizer, source })
    }

    /// The running learning-rate schedule of a run of `steps` optimizer steps (the length of a
    /// cosine schedule, and of one-cycle without its own `total_steps`).
    pub fn scheduler(&self, steps: usize) -> Result<Scheduler, SpecError> {
        self.validate()?;
        let optimizer = self.name();
        self.schedule
            .build(self.lr, steps)
            .map_err(|source| SpecError::Schedule { optimizer, source })
    }

    /// The `ModuleOptimizer` this describes, for a whole module.
    pub fn try_init(&self) -> Result<ModuleOptimizer, SpecError> {
        self.try_init_scaled(&GradScale::new())
    }

    /// The same optimizer for the rows of one embedding table (see [`crate::rows`]).
    pub fn try_rows(&self) -> Result<RowOptimizer, SpecError> {
        self.try_rows_scaled(&GradScale::new())
    }

    /// The `ModuleOptimizer`, applying the shared gradient scale `scale` (set by a [`Chain`]
    /// built with it, see [`crate::transform`]) inside its steps, and Burn's per-tensor
    /// clipping `GradientClipping::Norm(c)` before them when `clip_tensor_norm = c`.
    ///
    /// [`Chain`]: crate::Chain
    pub fn try_init_scaled(&self, scale: &GradScale) -> Result<ModuleOptimizer, SpecError> {
        self.validate()?;
        let optim = self
            .optimizer
            .try_init_scaled(scale, self.transforms.ema)
            .map_err(|source| SpecError::Invalid {
                optimizer: self.name(),
                source,
            })?;
        Ok(match self.transforms.clip_tensor_norm {
            Some(c) => optim.with_grad_clipping(GradientClipping::Norm(c as f32)),
            None => optim,
        })
    }

    /// The row optimizer, applying the shared gradient scale `scale` inside its steps.
    pub fn try_rows_scaled(&self, scale: &GradScale) -> Result<RowOptimizer, SpecError> {
        self.validate()?;
        self.optimizer
            .try_rows_scaled(scale)
            .map_err(|source| SpecError::Invalid {
                optimizer: self.name(),
                source,
            })
    }

    /// A short label: the name, the learning rate, each field that differs from the name's
    /// defaults and a schedule that is not constant, e.g. `momentum(lr=0.05, momentum=0.5)`,
    /// `adam(lr=0.01, schedule=one-cycle(pct_start=0.25))`.
    pub fn label(&self) -> String {
        let defaults = OptimizerConfig::named(self.name())
            .map(|c| c.fields())
            .unwrap_or_default();
        let mut parts = vec![format!("lr={}", self.lr)];
        for (field, value) in self.optimizer.fields() {
            if defaults.get(&field) != Some(&value) {
                parts.push(format!("{field}={}", plain(&value)));
            }
        }
        for (field, value) in self.transform_fields() {
            parts.push(format!("{field}={}", plain(&value)));
        }
        if self.schedule != Schedule::Constant {
            parts.push(format!("schedule={}", self.schedule.label()));
        }
        format!("{}({})", self.name(), parts.join(", "))
    }

    /// The transforms' keys that differ from their defaults, in serde form.
    fn transform_fields(&self) -> Map<String, Value> {
        let (Ok(Value::Object(set)), Ok(Value::Object(defaults))) = (
            serde_json::to_value(self.transforms),
            serde_json::to_value(Transforms::default()),
        ) else {
            unreachable!("Transforms serialises to a map")
        };
        set.into_iter()
            .filter(|(k, v)| defaults.get(k) != Some(v))
            .collect()
    }

    /// The description from its flat map form (`name`, `lr`, fields, and the schedule as
    /// `schedule` and `schedule.FIELD` keys).
    pub fn from_map(mut map: Map<String, Value>) -> Result<Self, SpecError> {
        let name = match map.remove("name") {
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(SpecError::Missing {
                    what: "name",
                    found: other.to_string(),
                });
            }
            None => {
                return Err(SpecError::Missing {
                    what: "name",
                    found: "nothing".into(),
                });
            }
        };
        let optimizer = OptimizerConfig::named(&name)?;
        let lr = match map.remove("lr") {
            Some(v) => v.as_f64().ok_or_else(|| SpecError::Missing {
                what: "lr",
                found: v.to_string(),
            })?,
            None => {
                return Err(SpecError::Missing {
                    what: "lr",
                    found: "nothing".into(),
                });
            }
        };
        let schedule = Schedule::take_from(&mut map).map_err(|source| SpecError::Schedule {
            optimizer: optimizer.name(),
            source,
        })?;
        let mut transforms = Map::new();
        for key in TRANSFORM_KEYS {
            if let Some(v) = map.remove(key) {
                transforms.insert(key.to_string(), v);
            }
        }
        let transforms: Transforms = serde_json::from_value(Value::Object(transforms.clone()))
            .map_err(|source| SpecError::BadValue {
                optimizer: optimizer.name(),
                field: transforms.keys().cloned().collect::<Vec<_>>().join(", "),
                value: Value::Object(transforms).to_string(),
                source,
            })?;
        let spec = Self::new(optimizer.with_fields(map)?, lr)
            .with_schedule(schedule)
            .with_transforms(transforms);
        spec.validate()?;
        Ok(spec)
    }

    /// The flat map form: `name`, `lr`, every field of the config, the transforms that are
    /// on, then `schedule` (as a map with `kind`) unless it is constant.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("name".into(), Value::from(self.name()));
        map.insert("lr".into(), Value::from(self.lr));
        map.extend(self.optimizer.fields());
        map.extend(self.transform_fields());
        if self.schedule != Schedule::Constant {
            map.insert("schedule".into(), Value::Object(self.schedule.to_map()));
        }
        map
    }
}

/// The keys of [`Transforms`] in the flat map, beside `name` and `lr`.
const TRANSFORM_KEYS: [&str; 5] = [
    "clip_norm",
    "clip_tensor_norm",
    "skip_nonfinite",
    "accumulate",
    "ema",
];

/// A value as a person writes it: strings without quotes.
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Serialize for OptimizerSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for OptimizerSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        Self::from_map(map).map_err(D::Error::custom)
    }
}

/// `name[:key=value,...]`, e.g. `momentum:lr=0.003,momentum=0.9`: the same flat map, written on
/// one line. A value is an integer, a number, `true`/`false`, or else a string (`form=PyTorch`).
/// The schedule is `schedule=KIND` plus `schedule.FIELD=value` keys, e.g.
/// `adam:lr=0.01,schedule=one-cycle,schedule.pct_start=0.25`.
impl FromStr for OptimizerSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, SpecError> {
        let (name, rest) = s.split_once(':').unwrap_or((s, ""));
        let mut map = Map::new();
        map.insert("name".into(), Value::from(name.trim().to_ascii_lowercase()));
        for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| SpecError::Shorthand {
                text: s.to_string(),
                part: pair.to_string(),
            })?;
            map.insert(key.trim().to_string(), shorthand_value(value.trim()));
        }
        Self::from_map(map)
    }
}

fn shorthand_value(v: &str) -> Value {
    if let Ok(b) = v.parse::<bool>() {
        return Value::Bool(b);
    }
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    match v.parse::<f64>() {
        Ok(x) => Value::from(x),
        Err(_) => Value::String(v.to_string()),
    }
}

impl fmt::Display for OptimizerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// An optimizer description that cannot be read or does not hold.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not an optimizer name.
    #[error("unknown optimizer '{name}'; known optimizers: {known}")]
    UnknownOptimizer {
        /// What was asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Not a field of the named optimizer's config.
    #[error("optimizer {optimizer}: unknown field '{field}'; known fields: {known}")]
    UnknownField {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The field given.
        field: String,
        /// Its config's fields, comma-separated.
        known: String,
    },
    /// A value of the wrong type for its field.
    #[error("optimizer {optimizer}: {field} = {value}: {source}")]
    BadValue {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The field.
        field: String,
        /// The value given.
        value: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// A field value out of its range.
    #[error("optimizer {optimizer}: {source}")]
    Invalid {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The field, value and rule.
        #[source]
        source: ConfigError,
    },
    /// A learning rate that is not finite and positive.
    #[error("optimizer {optimizer}: lr = {lr}: must be finite and > 0")]
    Lr {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The rejected learning rate.
        lr: f64,
    },
    /// A schedule that cannot be read or does not hold.
    #[error("optimizer {optimizer}: {source}")]
    Schedule {
        /// The optimizer's name.
        optimizer: &'static str,
        /// The kind, field and rule.
        #[source]
        source: ScheduleError,
    },
    /// `name` or `lr` absent or of the wrong type.
    #[error("optimizer description needs '{what}' (found {found})")]
    Missing {
        /// `name` or `lr`.
        what: &'static str,
        /// What stood there instead.
        found: String,
    },
    /// A `name:key=value,…` part without `=`.
    #[error("'{text}': '{part}' is not key=value")]
    Shorthand {
        /// The whole text.
        text: String,
        /// The part without `=`.
        part: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_its_own_variant_and_round_trips() {
        for name in OptimizerConfig::NAMES {
            let spec = OptimizerSpec::named(name, 0.01).unwrap();
            assert_eq!(spec.name(), name);
            spec.try_init().unwrap();
            spec.try_rows().unwrap();
            let back = OptimizerSpec::from_map(spec.to_map()).unwrap();
            assert_eq!(back, spec, "{name}");
        }
    }

    #[test]
    fn fields_lie_over_the_names_defaults() {
        // adamw's defaults (decoupled, wd 1e-2) stay when only β₁ is given.
        let spec: OptimizerSpec = "adamw:lr=0.001,beta_1=0.8".parse().unwrap();
        let OptimizerConfig::AdamW(c) = &spec.optimizer else {
            panic!("{spec:?}")
        };
        assert_eq!((c.beta_1, c.weight_decay), (0.8, 1e-2));
        assert!(c.decoupled_weight_decay);
        assert_eq!(spec.label(), "adamw(lr=0.001, beta_1=0.8)");
        let spec: OptimizerSpec = "momentum:lr=0.1,form=PyTorch,nesterov=true"
            .parse()
            .unwrap();
        assert_eq!(
            spec.label(),
            "momentum(lr=0.1, form=PyTorch, nesterov=true)"
        );
    }

    #[test]
    fn transforms_sit_beside_the_learning_rate() {
        let spec: OptimizerSpec = "adam:lr=0.01,clip_norm=1,accumulate=4,skip_nonfinite=true"
            .parse()
            .unwrap();
        let t = spec.transforms;
        assert_eq!(
            (t.clip_norm, t.accumulate, t.skip_nonfinite),
            (Some(1.0), 4, true)
        );
        assert_eq!(
            spec.label(),
            "adam(lr=0.01, accumulate=4, clip_norm=1.0, skip_nonfinite=true)"
        );
        assert_eq!(OptimizerSpec::from_map(spec.to_map()).unwrap(), spec);
        // Off by default, and then absent from the map (recipes' outputs are unchanged).
        let plain = OptimizerSpec::named("adam", 0.01).unwrap();
        assert!(!plain.to_map().contains_key("accumulate"));
        rejected(&[
            ("adam:lr=0.01,clip_norm=0", &["clip_norm", "> 0"]),
            ("adam:lr=0.01,accumulate=0", &["accumulate", "at least 1"]),
            ("adam:lr=0.01,accumulate=2.5", &["accumulate"]),
            ("adam:lr=0.01,ema=1", &["ema", "(0, 1)"]),
            (
                "adam:lr=0.01,clip_tensor_norm=0",
                &["clip_tensor_norm", "> 0"],
            ),
            (
                "adam:lr=0.01,clip_tensor_norm=1,clip_norm=1",
                &["clip_tensor_norm", "clip_norm"],
            ),
            (
                "adam:lr=0.01,clip_tensor_norm=1,accumulate=2",
                &["clip_tensor_norm", "accumulate = 1"],
            ),
        ]);
    }

    /// Each text fails to parse with a message holding all its needles.
    fn rejected(cases: &[(&str, &[&str])]) {
        for (text, needles) in cases {
            let msg = text.parse::<OptimizerSpec>().unwrap_err().to_string();
            assert!(needles.iter().all(|n| msg.contains(n)), "{text}: {msg}");
        }
    }

    #[test]
    fn bad_descriptions_name_the_optimizer_field_and_rule() {
        rejected(&[
            ("adamax:lr=0.1", &["adamax", "rmsprop"]),
            ("momentum:lr=0.1,momentm=0.9", &["momentm", "dampening"]),
            (
                "momentum:lr=0.1,form=Keras",
                &["optimizer momentum", "form"],
            ),
            ("adam:lr=0.1,amsgrad=0.5", &["amsgrad"]),
            ("sgd:lr=0", &["lr", "> 0"]),
            ("sgd", &["lr"]),
            (
                "nesterov:lr=0.1,momentum=0",
                &["Nesterov momentum needs momentum > 0"],
            ),
            ("sgd:lr", &["key=value"]),
        ]);
    }
}
