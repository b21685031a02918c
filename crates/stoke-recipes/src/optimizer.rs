//! Optimizers by name, as a recipe or the command line names them: `{ name = "rmsprop",
//! lr = 0.01, decay = 0.9 }`. Every other key is a field of the optimizer's stoke config.

use std::collections::BTreeMap;

use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, MomentumConfig, MomentumForm, RmsPropConfig,
    RowOptimizer,
};

use crate::error::RecipeError;

/// The optimizers a recipe can name.
pub const OPTIMIZERS: [&str; 8] = [
    "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw", "adadelta",
];

/// An optimizer and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerSpec {
    /// One of [`OPTIMIZERS`].
    pub name: String,
    /// The learning rate η (constant over the run).
    pub lr: f64,
    /// Fields of the optimizer's config (`momentum`, `decay`, `epsilon`, `weight_decay`, …).
    #[serde(flatten)]
    pub params: BTreeMap<String, toml::Value>,
}

/// `$body` with `$config` bound to the stoke config that `$spec.name` names (its defaults with the
/// spec's fields laid over them); an unknown name returns the error listing the known ones.
macro_rules! by_name {
    ($spec:expr, $config:ident => $body:expr) => {
        match $spec.name.as_str() {
            "sgd" => {
                let $config = $spec.config(MomentumConfig::sgd())?;
                $body
            }
            "momentum" => {
                let $config = $spec.config(MomentumConfig::new())?;
                $body
            }
            "nesterov" => {
                let $config = $spec.config(MomentumConfig::new().with_nesterov(true))?;
                $body
            }
            "rmsprop" => {
                let $config = $spec.config(RmsPropConfig::new())?;
                $body
            }
            "adagrad" => {
                let $config = $spec.config(AdaGradConfig::new())?;
                $body
            }
            "adam" => {
                let $config = $spec.config(AdamConfig::new())?;
                $body
            }
            "adamw" => {
                let $config = $spec.config(AdamConfig::adamw())?;
                $body
            }
            "adadelta" => {
                let $config = $spec.config(AdaDeltaConfig::new())?;
                $body
            }
            other => {
                return Err(RecipeError::UnknownOptimizer {
                    name: other.to_string(),
                    known: OPTIMIZERS.join(", "),
                });
            }
        }
    };
}

impl OptimizerSpec {
    /// `name` with learning rate `lr` and the config's defaults.
    pub fn new(name: &str, lr: f64) -> Self {
        Self {
            name: name.to_string(),
            lr,
            params: BTreeMap::new(),
        }
    }

    /// Sets one config field.
    pub fn with(mut self, key: &str, value: impl Into<toml::Value>) -> Self {
        self.params.insert(key.to_string(), value.into());
        self
    }

    /// A short label such as `momentum(lr=0.05, momentum=0.9)`.
    pub fn label(&self) -> String {
        let mut parts = vec![format!("lr={}", self.lr)];
        parts.extend(self.params.iter().map(|(k, v)| format!("{k}={v}")));
        format!("{}({})", self.name, parts.join(", "))
    }

    /// Checks the name, the learning rate and every field, without building anything.
    pub fn validate(&self) -> Result<(), RecipeError> {
        self.build().map(|_| ())
    }

    /// The Burn optimizer this spec describes.
    pub fn build(&self) -> Result<ModuleOptimizer, RecipeError> {
        self.check_lr()?;
        Ok(by_name!(self, config => config.try_init()?))
    }

    /// The same optimizer as a row-sparse one, for an embedding table (see `stoke_optim::rows`).
    pub fn build_rows(&self) -> Result<RowOptimizer, RecipeError> {
        self.check_lr()?;
        Ok(by_name!(self, config => RowOptimizer::new(config.try_build()?)))
    }

    fn check_lr(&self) -> Result<(), RecipeError> {
        if self.lr.is_finite() && self.lr > 0.0 {
            return Ok(());
        }
        Err(RecipeError::invalid(
            format!("optimizer {}", self.name),
            "lr",
            self.lr,
            "must be finite and > 0",
        ))
    }

    /// The defaults of config `C` with this spec's fields laid over them; an unknown field is an
    /// error that lists the known ones.
    fn config<C: Serialize + serde::de::DeserializeOwned>(
        &self,
        defaults: C,
    ) -> Result<C, RecipeError> {
        let mut value = serde_json::to_value(defaults).expect("configs serialise");
        let fields = value.as_object_mut().expect("configs are structs");
        for (key, v) in &self.params {
            if !fields.contains_key(key) {
                let mut known: Vec<_> = fields.keys().cloned().collect();
                known.sort();
                return Err(RecipeError::invalid(
                    format!("optimizer {}", self.name),
                    key,
                    v,
                    format!("unknown field; known fields: {}", known.join(", ")),
                ));
            }
            let json = serde_json::to_value(v).expect("toml values serialise");
            fields.insert(key.clone(), json);
        }
        serde_json::from_value(value).map_err(|e| {
            RecipeError::invalid(
                format!("optimizer {}", self.name),
                "field",
                "?",
                e.to_string(),
            )
        })
    }
}

/// The momentum form named in a recipe (`form = "PyTorch"`) must parse; used in docs and tests.
pub fn momentum_forms() -> [MomentumForm; 2] {
    [MomentumForm::Classic, MomentumForm::PyTorch]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_optimizer_builds() {
        for name in OPTIMIZERS {
            OptimizerSpec::new(name, 0.01).build().unwrap();
        }
    }

    #[test]
    fn unknown_names_fields_and_bad_values_are_clear_errors() {
        let e = OptimizerSpec::new("adamax", 0.1)
            .build()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("adamax") && e.contains("rmsprop"), "{e}");
        let e = OptimizerSpec::new("momentum", 0.1)
            .with("momentm", 0.9)
            .build()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("momentm") && e.contains("dampening"), "{e}");
        let e = OptimizerSpec::new("rmsprop", 0.1)
            .with("decay", 1.5)
            .build()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("decay") && e.contains("[0, 1)"), "{e}");
        let e = OptimizerSpec::new("sgd", -1.0)
            .build()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("lr") && e.contains("> 0"), "{e}");
        let e = OptimizerSpec::new("momentum", 0.1)
            .with("form", "Keras")
            .build()
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("optimizer momentum"), "{e}");
        OptimizerSpec::new("momentum", 0.1)
            .with("form", "PyTorch")
            .build()
            .unwrap();
    }
}
