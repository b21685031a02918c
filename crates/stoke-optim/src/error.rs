//! Validation of hyper-parameters, shared by every optimizer config.

/// A hyper-parameter that breaks its rule, found when a config is validated or built.
///
/// The message names the config, the field, the offending value and the rule, e.g.
/// `RmsPropConfig.decay = 1.2: must be in [0, 1)`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{config}.{field} = {value}: {rule}")]
pub struct ConfigError {
    /// The config type, e.g. `"AdamConfig"`.
    pub config: &'static str,
    /// The field that is out of range, e.g. `"beta_1"`.
    pub field: &'static str,
    /// The rejected value, as written by `Display`.
    pub value: String,
    /// The rule the value breaks.
    pub rule: &'static str,
}

/// Collects the checks of one config so each rule is written once.
pub(crate) struct Rules {
    config: &'static str,
}

impl Rules {
    pub(crate) fn new(config: &'static str) -> Self {
        Self { config }
    }

    fn fail(&self, field: &'static str, value: impl ToString, rule: &'static str) -> ConfigError {
        ConfigError {
            config: self.config,
            field,
            value: value.to_string(),
            rule,
        }
    }

    /// `0 ≤ v < 1`: decay rates and momentum coefficients.
    pub(crate) fn unit_interval(&self, field: &'static str, v: f64) -> Result<(), ConfigError> {
        if (0.0..1.0).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(field, v, "must be in [0, 1)"))
        }
    }

    /// `0 ≤ v ≤ 1`: dampening.
    pub(crate) fn closed_unit_interval(
        &self,
        field: &'static str,
        v: f64,
    ) -> Result<(), ConfigError> {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(field, v, "must be in [0, 1]"))
        }
    }

    /// `v ≥ 0` and finite: weight decay, accumulator start values, learning-rate decay.
    pub(crate) fn non_negative(&self, field: &'static str, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(self.fail(field, v, "must be finite and >= 0"))
        }
    }

    /// `v > 0` and finite: ε.
    pub(crate) fn positive(&self, field: &'static str, v: f64) -> Result<(), ConfigError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(self.fail(field, v, "must be finite and > 0"))
        }
    }

    /// A rule that ties two fields together.
    pub(crate) fn require(
        &self,
        ok: bool,
        field: &'static str,
        value: impl ToString,
        rule: &'static str,
    ) -> Result<(), ConfigError> {
        if ok {
            Ok(())
        } else {
            Err(self.fail(field, value, rule))
        }
    }
}
