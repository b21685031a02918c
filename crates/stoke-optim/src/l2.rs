//! L2 regularisation as a term of the loss: `L' = L + β_w·Σ w² + β_b·Σ b²`.
//!
//! Its gradient adds `2β·w` to each penalised parameter's gradient, so plain gradient descent on
//! `L + β Σ w²` takes exactly the steps of gradient descent on `L` with coupled weight decay
//! `wd = 2β` (`g ← g + 2β·w`). For adaptive optimizers (AdaGrad, RMSProp, Adam, …) the two are
//! *not* the same as decoupled weight decay (AdamW), because the penalty's gradient is rescaled
//! per coordinate like any other gradient.
//!
//! Which parameters are penalised, as with Keras' `kernel_regularizer` / `bias_regularizer`:
//! - **weights**: trainable parameters of rank ≥ 2 (Linear, Conv and Embedding weights), factor
//!   `β_w` ([`L2Regularizer::new`]);
//! - **biases**: trainable rank-1 parameters named `bias`, factor `β_b` (0 unless
//!   [`L2Regularizer::with_biases`]);
//! - other vectors (e.g. BatchNorm's `gamma`/`beta`) only with [`L2Regularizer::with_others`];
//! - never BatchNorm's running statistics (buffers that are not trained), never frozen
//!   parameters, and never a parameter whose dotted path starts with an excluded prefix.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::{CrossEntropyLoss, MseLoss, Reduction};
use burn::tensor::{Int, Tensor};

use crate::error::{ConfigError, Rules};

/// `β Σ w²` over a module's parameters; see the [module docs](self) for which ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct L2Regularizer {
    /// β for weights (rank ≥ 2).
    pub weights: f64,
    /// β for biases (rank-1 parameters named `bias`).
    pub biases: f64,
    /// β for every other trainable parameter (e.g. normalisation scales and shifts).
    pub others: f64,
    /// Dotted parameter paths (or prefixes of them, e.g. `"embedding"`) that are never penalised.
    pub exclude: Vec<String>,
}

impl L2Regularizer {
    /// Penalise weights only, with factor `beta`.
    pub fn new(beta: f64) -> Self {
        Self {
            weights: beta,
            biases: 0.0,
            others: 0.0,
            exclude: Vec::new(),
        }
    }

    /// Also penalise biases, with factor `beta`.
    pub fn with_biases(mut self, beta: f64) -> Self {
        self.biases = beta;
        self
    }

    /// Also penalise other trainable vectors (e.g. BatchNorm's `gamma`, `beta`).
    pub fn with_others(mut self, beta: f64) -> Self {
        self.others = beta;
        self
    }

    /// Never penalise parameters whose path is `path` or starts with `path.`.
    pub fn excluding(mut self, path: impl Into<String>) -> Self {
        self.exclude.push(path.into());
        self
    }

    /// Every factor must be finite and ≥ 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = Rules::new("L2Regularizer");
        r.non_negative("weights", self.weights)?;
        r.non_negative("biases", self.biases)?;
        r.non_negative("others", self.others)
    }

    /// Whether no parameter is penalised.
    pub fn is_zero(&self) -> bool {
        self.weights == 0.0 && self.biases == 0.0 && self.others == 0.0
    }

    /// The factor for the parameter at `path` with `rank` dimensions (0 = not penalised).
    pub fn factor(&self, path: &[String], rank: usize) -> f64 {
        let dotted = path.join(".");
        let excluded = self.exclude.iter().any(|p| {
            dotted == *p || (dotted.starts_with(p.as_str()) && dotted[p.len()..].starts_with('.'))
        });
        if excluded {
            0.0
        } else if rank >= 2 {
            self.weights
        } else if path.last().is_some_and(|leaf| leaf == "bias") {
            self.biases
        } else {
            self.others
        }
    }

    /// `Σ β·Σ p²` over the module's penalised parameters, as a one-element tensor that carries
    /// gradients on an autodiff device; `None` when nothing is penalised.
    pub fn penalty<M: Module>(&self, module: &M) -> Option<Tensor<1>> {
        if self.is_zero() {
            return None;
        }
        let mut visitor = PenaltyVisitor {
            regularizer: self,
            path: Vec::new(),
            total: None,
        };
        module.visit(&mut visitor);
        visitor.total
    }
}

struct PenaltyVisitor<'a> {
    regularizer: &'a L2Regularizer,
    path: Vec<String>,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for PenaltyVisitor<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        // On an autodiff device, trained parameters require gradients and buffers (BatchNorm's
        // running statistics) do not. Off autodiff nothing does, so buffers are told by name.
        let trainable = if value.device().is_autodiff() {
            value.is_require_grad()
        } else {
            !self
                .path
                .last()
                .is_some_and(|leaf| leaf == "running_mean" || leaf == "running_var")
        };
        let beta = self.regularizer.factor(&self.path, D);
        if !trainable || beta == 0.0 {
            return;
        }
        // β·Σ p²
        let term = value.square().sum().mul_scalar(beta);
        self.total = Some(match self.total.take() {
            Some(total) => total.add(term),
            None => term,
        });
    }
}

/// A loss function stoke can wrap: something that maps an input to a one-element loss tensor.
pub trait Criterion<I> {
    /// The (mean) loss of `input`.
    fn loss(&self, input: I) -> Tensor<1>;
}

impl Criterion<(Tensor<2>, Tensor<1, Int>)> for CrossEntropyLoss {
    fn loss(&self, (logits, targets): (Tensor<2>, Tensor<1, Int>)) -> Tensor<1> {
        self.forward(logits, targets)
    }
}

impl<const D: usize> Criterion<(Tensor<D>, Tensor<D>)> for MseLoss {
    fn loss(&self, (prediction, target): (Tensor<D>, Tensor<D>)) -> Tensor<1> {
        self.forward(prediction, target, Reduction::Mean)
    }
}

impl<I, F: Fn(I) -> Tensor<1>> Criterion<I> for F {
    fn loss(&self, input: I) -> Tensor<1> {
        self(input)
    }
}

/// A loss plus an L2 penalty on a module: `forward` returns `loss + β Σ w²`, and gradients flow
/// through both terms.
#[derive(Debug, Clone)]
pub struct L2Regularized<L> {
    /// The data term.
    pub loss: L,
    /// The penalty term.
    pub regularizer: L2Regularizer,
}

impl<L> L2Regularized<L> {
    /// Wraps `loss`; fails if the regularizer has a negative or non-finite factor.
    pub fn try_new(loss: L, regularizer: L2Regularizer) -> Result<Self, ConfigError> {
        regularizer.validate()?;
        Ok(Self { loss, regularizer })
    }

    /// Wraps `loss`. Panics with the [`ConfigError`] message on an invalid regularizer.
    pub fn new(loss: L, regularizer: L2Regularizer) -> Self {
        // Documented panic (the constructor convention); `try_new` is the error path.
        Self::try_new(loss, regularizer).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `loss(input) + β Σ w²` over `module`'s penalised parameters.
    pub fn forward<M: Module, I>(&self, module: &M, input: I) -> Tensor<1>
    where
        L: Criterion<I>,
    {
        let loss = self.loss.loss(input);
        match self.regularizer.penalty(module) {
            Some(penalty) => loss.add(penalty),
            None => loss,
        }
    }
}
