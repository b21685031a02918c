//! Which optimizer a surfaces run races: stoke's one typed [`OptimizerSpec`], plus the one
//! setting that belongs to the surfaces, the mini-batch size of the noisy quadratic.

use std::fmt;
use std::str::FromStr;

use burn::optim::ModuleOptimizer;
use serde_json::Value;
use stoke_optim::{Chain, GradScale, OptimizerConfig, OptimizerSpec, Scheduler, SpecError};

use crate::error::SurfacesError;

/// An optimizer on a surface: the optimizer and its learning rate, and how many noisy samples
/// are averaged into one gradient on [`Surface::NoisyQuadratic`](crate::Surface::NoisyQuadratic).
///
/// Its text form is stoke's optimizer shorthand with one extra key, `batch` (default 1), which
/// is split off before the rest is read as an [`OptimizerSpec`]: the fields are the stoke
/// config's own (`momentum` is Momentum's γ, `decay` RMSProp's γ, `beta_1`/`beta_2` Adam's
/// β₁/β₂, `rho` AdaDelta's ρ), and `lr` is required.
///
/// ```
/// use stoke_surfaces::Racer;
/// let r: Racer = "sgd:lr=0.05,batch=32".parse().unwrap();
/// assert_eq!((r.spec.lr, r.batch), (0.05, 32));
/// assert_eq!(r.to_string(), "sgd:lr=0.05,batch=32");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Racer {
    /// The optimizer and its learning rate.
    pub spec: OptimizerSpec,
    /// Samples averaged into one gradient on the noisy quadratic (≥ 1; ignored elsewhere).
    pub batch: usize,
}

impl Racer {
    /// `spec` with single-sample gradients.
    pub fn new(spec: OptimizerSpec) -> Self {
        Self { spec, batch: 1 }
    }

    /// Sets the mini-batch size used on the noisy quadratic.
    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch;
        self
    }

    /// A legend label: the optimizer's own label, and the batch size when it is not 1, e.g.
    /// `sgd(lr=0.05), batch 32`.
    pub fn label(&self) -> String {
        match self.batch {
            1 => self.spec.label(),
            b => format!("{}, batch {b}", self.spec.label()),
        }
    }

    /// Checks the batch size, the learning rate and every field of the optimizer.
    pub fn validate(&self) -> Result<(), SurfacesError> {
        if self.batch == 0 {
            return Err(SurfacesError::Batch {
                spec: self.to_string(),
                value: "0".into(),
            });
        }
        self.spec.validate().map_err(|source| self.error(source))
    }

    /// A fresh [`ModuleOptimizer`] of the described stoke optimizer.
    pub fn module_optimizer(&self) -> Result<ModuleOptimizer, SurfacesError> {
        self.validate()?;
        self.spec.try_init().map_err(|source| self.error(source))
    }

    /// The described optimizer and stoke's [`Chain`] of its transforms around it, sharing one
    /// [`GradScale`], so that the clip factor is applied inside the optimizer's fused step (as
    /// the training loop does).
    pub(crate) fn chained_optimizer(&self) -> Result<(ModuleOptimizer, Chain), SurfacesError> {
        self.validate()?;
        let scale = GradScale::new();
        let optim = self
            .spec
            .try_init_scaled(&scale)
            .map_err(|source| self.error(source))?;
        let chain = Chain::fused(self.spec.transforms, scale).map_err(|source| {
            self.error(SpecError::Invalid {
                optimizer: self.spec.name(),
                source,
            })
        })?;
        Ok((optim, chain))
    }

    /// The learning-rate schedule of a walk of `steps` steps.
    pub(crate) fn scheduler(&self, steps: usize) -> Result<Scheduler, SurfacesError> {
        self.validate()?;
        self.spec
            .scheduler(steps)
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: SpecError) -> SurfacesError {
        SurfacesError::Optimizer {
            spec: self.to_string(),
            source,
        }
    }
}

/// A value as it is written in the shorthand: strings without quotes.
fn shorthand(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl fmt::Display for Racer {
    /// `name:lr=…[,field=value…][,clip_norm=…][,schedule=KIND,schedule.FIELD=…][,batch=…]`
    /// with the fields that differ from the name's defaults; it parses back to the same racer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.spec.name();
        write!(f, "{name}:lr={}", self.spec.lr)?;
        let defaults = OptimizerConfig::named(name)
            .map(|c| c.fields())
            .unwrap_or_default();
        for (key, value) in self.spec.to_map() {
            match (key.as_str(), value) {
                ("name" | "lr", _) => {}
                ("schedule", Value::Object(schedule)) => {
                    for (field, v) in schedule {
                        match field.as_str() {
                            "kind" => write!(f, ",schedule={}", shorthand(&v))?,
                            _ => write!(f, ",schedule.{field}={}", shorthand(&v))?,
                        }
                    }
                }
                (_, value) if defaults.get(&key) != Some(&value) => {
                    write!(f, ",{key}={}", shorthand(&value))?
                }
                _ => {}
            }
        }
        if self.batch != 1 {
            write!(f, ",batch={}", self.batch)?;
        }
        Ok(())
    }
}

impl FromStr for Racer {
    type Err = SurfacesError;

    /// `name:key=value,...`: `batch=B` is taken out, the rest is an [`OptimizerSpec`].
    fn from_str(s: &str) -> Result<Self, SurfacesError> {
        let (name, rest) = s.split_once(':').unwrap_or((s, ""));
        let mut batch = 1;
        let mut others = Vec::new();
        for pair in rest.split(',') {
            match pair.split_once('=') {
                Some((key, value)) if key.trim() == "batch" => {
                    batch = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|&b| b > 0)
                        .ok_or_else(|| SurfacesError::Batch {
                            spec: s.to_string(),
                            value: value.trim().to_string(),
                        })?;
                }
                _ => others.push(pair),
            }
        }
        let spec = format!("{name}:{}", others.join(","))
            .parse::<OptimizerSpec>()
            .map_err(|source| SurfacesError::Optimizer {
                spec: s.to_string(),
                source,
            })?;
        Ok(Racer { spec, batch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racers_parse_print_and_reject_bad_input() {
        let s: Racer = "momentum:lr=0.003,momentum=0.5".parse().unwrap();
        let OptimizerConfig::Momentum(m) = &s.spec.optimizer else {
            panic!("{s:?}")
        };
        assert_eq!((s.spec.lr, m.momentum, s.batch), (0.003, 0.5, 1));
        assert_eq!(s.to_string().parse::<Racer>().unwrap(), s);
        let r: Racer = "RMSProp:lr=0.01,decay=0.99,batch=4".parse().unwrap();
        let OptimizerConfig::RmsProp(c) = &r.spec.optimizer else {
            panic!("{r:?}")
        };
        assert_eq!((r.spec.name(), c.decay, r.batch), ("rmsprop", 0.99, 4));
        assert_eq!(r.to_string().parse::<Racer>().unwrap(), r);
        let a: Racer = "adam:lr=0.01".parse().unwrap();
        let OptimizerConfig::Adam(c) = &a.spec.optimizer else {
            panic!("{a:?}")
        };
        assert_eq!((c.beta_1, c.beta_2), (0.9, 0.999));
        // the schedule and the transforms print and parse back
        let t: Racer = "sgd:lr=0.021,clip_norm=1,schedule=step,schedule.step_size=30,batch=2"
            .parse()
            .unwrap();
        assert_eq!(t.spec.transforms.clip_norm, Some(1.0));
        assert_eq!(t.to_string().parse::<Racer>().unwrap(), t);
        for (bad, needle) in [
            ("lbfgs:lr=0.1", "lbfgs"),
            ("sgd:lr=0", "lr = 0: must be"),
            ("sgd:lr=-1", "lr = -1: must be"),
            ("sgd:lr=abc", "'lr'"),
            ("sgd", "'lr'"),
            ("momentum:lr=0.1,momentum=1.5", "momentum"),
            ("sgd:lr=0.1,foo=1", "unknown field 'foo'"),
            ("sgd:lr=0.1,batch=0", "batch"),
            ("sgd:lr=0.1,batch=two", "batch = two"),
            ("sgd:lr", "key=value"),
        ] {
            let e = bad.parse::<Racer>().unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn labels_name_the_batch_only_when_it_is_not_one() {
        let r: Racer = "sgd:lr=0.05".parse().unwrap();
        assert_eq!(r.label(), "sgd(lr=0.05)");
        assert_eq!(r.with_batch(32).label(), "sgd(lr=0.05), batch 32");
    }
}
