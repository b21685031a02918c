//! One training step of the text classifier — forward, loss (+ L2), backward, optimizer step —
//! with the embedding table updated densely or row-sparsely.
//!
//! Both updates pool the batch by hand ([`RowBag`]): its pooled vectors are a leaf of the
//! autodiff graph, so backward produces their gradient and [`RowBag::backward`] the gradient of
//! the rows the batch uses, `∂R [rows, D]`; Burn's autodiff never sees the table through the
//! lookup.
//!
//! **Dense** (the default of recipes, the course's semantics): the table is a parameter like any
//! other; [`TableGradient`] writes `∂R` into a whole-table gradient (`[num_ids, D]`, zero on the
//! rows the batch does not use, plus the L2 penalty's `2β·E` when there is one; see
//! [`crate::dense`]) and the optimizer updates every row; the L2 penalty covers every weight,
//! the table's share computed there, the others' through the loss. Without L2 this gives the
//! same bits as Burn's embedding backward did; with L2 a parameter's two contributions can be
//! summed with a different last bit, since the autodiff graph differs.
//!
//! **Sparse**: a [`RowOptimizer`] updates only the rows in `∂R` (exact for SGD and AdaGrad,
//! lazy for the others; see [`stoke_optim::rows`]). The L2 penalty covers the other weights
//! through the loss and adds `2β·w` to the gradient of each used row (the gradient of `β Σ w²`
//! over those rows), so rows decay when they are used. Nothing per step is as large as the
//! table.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};
use stoke_optim::{Chain, GradScale, L2Regularizer, Outcome, RowOptimizer};
use stoke_text::batch::TextBatch;
use stoke_text::model::TextClassifier;

use crate::RecipeError;
use crate::bag::RowBag;
use crate::dense::TableGradient;
use stoke_optim::OptimizerSpec;

/// How the embedding table is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddingUpdate {
    /// Full-table gradient and update.
    #[default]
    Dense,
    /// Only the rows each batch uses.
    Sparse,
}

impl std::str::FromStr for EmbeddingUpdate {
    type Err = RecipeError;

    fn from_str(s: &str) -> Result<Self, RecipeError> {
        match s {
            "dense" => Ok(Self::Dense),
            "sparse" => Ok(Self::Sparse),
            other => Err(RecipeError::invalid(
                "embedding update",
                "embedding",
                other,
                "must be dense or sparse",
            )),
        }
    }
}

/// The parameter path of the embedding table in [`TextClassifier`].
const TABLE: &str = "embedding.weight";

/// Optimizers and regulariser of a training run; see the [module docs](self).
pub struct Stepper {
    optim: ModuleOptimizer,
    table: Table,
    l2: Option<L2Regularizer>,
    beta: f64,
    /// Clipping, skipping and accumulation around both optimizers (their shared gradient scale).
    chain: Chain,
    /// Make one gradient of the next step NaN (the test seam of `inject_nonfinite`).
    poison: bool,
}

/// How the embedding table is updated: by the module optimizer from a whole-table gradient, or
/// by a row optimizer.
enum Table {
    Dense(TableGradient),
    Sparse(RowOptimizer),
}

/// What one step gives back.
pub struct Stepped {
    /// The updated model (unchanged when the loss was not finite).
    pub model: TextClassifier,
    /// The batch's loss with the L2 penalty: of all weights (dense; the table's share computed
    /// by [`TableGradient`]), or of all but the table (sparse: the table's share acts inside the
    /// update).
    pub loss: f64,
    /// The batch's logits (before the update).
    pub logits: Tensor<2>,
    /// Whether the step was applied, skipped (non-finite, with `skip_nonfinite`) or is still
    /// accumulating. A non-finite loss without `skip_nonfinite` is reported as skipped with
    /// that loss, the model unchanged.
    pub outcome: Outcome,
}

impl Stepper {
    /// The optimizer of `spec` for the whole model, or for all but the table plus a row-sparse
    /// one for the table; `l2` is β of `β Σ w²` (0 = none).
    pub fn new(
        spec: &OptimizerSpec,
        l2: f64,
        update: EmbeddingUpdate,
    ) -> Result<Self, RecipeError> {
        let mut reg = (l2 > 0.0).then(|| L2Regularizer::new(l2));
        let n = spec.transforms.accumulate;
        if update == EmbeddingUpdate::Sparse && spec.transforms.ema.is_some() {
            return Err(RecipeError::invalid(
                format!("optimizer {}", spec.name()),
                "ema",
                spec.transforms.ema.unwrap_or_default(),
                "needs embedding = \"dense\" (a row-sparse step leaves unused rows' averages behind)",
            ));
        }
        if let (EmbeddingUpdate::Sparse, Some(c)) = (update, spec.transforms.clip_tensor_norm) {
            return Err(RecipeError::invalid(
                format!("optimizer {}", spec.name()),
                "clip_tensor_norm",
                c,
                "needs embedding = \"dense\" (the row optimizer is not Burn's ModuleOptimizer)",
            ));
        }
        if update == EmbeddingUpdate::Sparse && n > 1 {
            return Err(RecipeError::invalid(
                format!("optimizer {}", spec.name()),
                "accumulate",
                n,
                "needs embedding = \"dense\" (the rows a batch uses differ from batch to batch)",
            ));
        }
        // One gradient scale for both optimizers: the clip factor and 1/n act in their passes.
        let scale = GradScale::new();
        // The table's penalty acts in its own gradient (either update), not through the loss.
        reg = reg.map(|r| r.excluding(TABLE));
        let table = match update {
            EmbeddingUpdate::Dense => Table::Dense(TableGradient::new(l2)),
            EmbeddingUpdate::Sparse => Table::Sparse(spec.try_rows_scaled(&scale)?),
        };
        Ok(Self {
            optim: spec.try_init_scaled(&scale)?,
            table,
            l2: reg,
            beta: l2,
            chain: Chain::fused(spec.transforms, scale)?,
            poison: false,
        })
    }

    /// The optimizer of the dense parameters (all of them when the update is dense).
    pub fn module_optimizer(&self) -> &ModuleOptimizer {
        &self.optim
    }

    /// Restores the dense parameters' optimizer state from `ModuleOptimizer::into_bytes`.
    pub fn load_module_optimizer(
        &mut self,
        bytes: burn::tensor::Bytes,
    ) -> Result<(), burn::store::RecordError> {
        // `from_bytes` takes the optimizer by value; a stateless SGD holds the place meanwhile.
        let placeholder = ModuleOptimizer::from(stoke_optim::MomentumConfig::sgd().build());
        let optim = std::mem::replace(&mut self.optim, placeholder);
        self.optim = optim.from_bytes(bytes)?;
        Ok(())
    }

    /// The model to evaluate: with an `ema`, a copy holding the weights' moving averages;
    /// else the model itself.
    pub fn for_evaluation(&self, model: &TextClassifier) -> Result<TextClassifier, RecipeError> {
        if self.chain.transforms().ema.is_none() {
            return Ok(model.clone());
        }
        stoke_optim::ema_weights(&self.optim, model.clone()).map_err(|source| {
            RecipeError::Checkpoint {
                path: "optimizer state (weight averages)".into(),
                source: source.into(),
            }
        })
    }

    /// The embedding table's row optimizer, when the update is sparse.
    pub fn rows(&self) -> Option<&RowOptimizer> {
        match &self.table {
            Table::Sparse(rows) => Some(rows),
            Table::Dense(_) => None,
        }
    }

    /// The same, to restore its state.
    pub fn rows_mut(&mut self) -> Option<&mut RowOptimizer> {
        match &mut self.table {
            Table::Sparse(rows) => Some(rows),
            Table::Dense(_) => None,
        }
    }

    /// A test seam (recipes' `inject_nonfinite`): the next [`step`](Self::step) makes the
    /// gradient of one parameter (the output layer's) NaN after backward, as an overflow
    /// would, so that skipping (or its absence) can be seen in a real run.
    pub fn inject_nonfinite(&mut self) {
        self.poison = true;
    }

    /// One step on `batch` with learning rate `lr`. A non-finite loss leaves the model as it was.
    pub fn step(&mut self, model: TextClassifier, batch: &TextBatch, lr: f64) -> Stepped {
        let bag = RowBag::forward(&model, batch);
        let (loss, logits) = model.loss_pooled(bag.pooled(), batch);
        let loss = match self.l2.as_ref().and_then(|r| r.penalty(&model)) {
            Some(p) => loss.add(p),
            None => loss,
        };
        // β Σ E² of a dense update (its gradient is made below, after backward)
        let table_penalty = match &mut self.table {
            Table::Dense(table) => table.penalty(&model.embedding_weight().inner()),
            Table::Sparse(_) => 0.0,
        };
        let value = loss.clone().into_scalar::<f32>() as f64 + table_penalty;
        if !value.is_finite() && !self.chain.transforms().skip_nonfinite {
            let outcome = Outcome::Skipped { norm: value };
            return Stepped {
                model,
                loss: value,
                logits,
                outcome,
            };
        }
        let mut grads = loss.backward();
        if std::mem::take(&mut self.poison) {
            poison_last(&model, &mut grads);
        }
        // Internal invariant: `RowBag::forward` makes the pooled vectors a leaf that requires
        // grad (the model is on an autodiff device to be trained).
        let dh = bag
            .pooled()
            .grad_remove(&mut grads)
            .expect("the pooled vectors are a leaf");
        // ∂R: the gradient of the batch's rows
        let mut g = bag.backward(dh);
        let (outcome, model) = match &mut self.table {
            Table::Sparse(table_optim) => {
                if self.beta > 0.0 {
                    // ∂(β Σ w²)/∂w = 2β·w on the used rows
                    g = g.add(model.rows_of_table(batch).mul_scalar(2.0 * self.beta));
                }
                let params = GradientsParams::from_grads(grads, &model);
                // Internal invariant: `new` refuses a row-sparse update with accumulate > 1.
                let prepared = self
                    .chain
                    .prepare_rows(&model, params, &mut g)
                    .expect("no accumulation with a row-sparse update");
                match prepared {
                    (outcome, Some(params)) => {
                        let model = self.optim.step(lr, model, params);
                        // Internal invariant: a batch's rows are its distinct ids, sorted,
                        // each < num_ids (the table's rows; the tokenizer makes no other), and
                        // `g` is `RowBag::backward`'s [rows, width] gradient of them.
                        let model = model.map_embedding(|table| {
                            table_optim
                                .step(lr, table, &batch.rows, g)
                                .expect("a batch's rows fit its table")
                        });
                        (outcome, model)
                    }
                    (outcome, None) => (outcome, model),
                }
            }
            Table::Dense(table) => {
                let mut params = GradientsParams::from_grads(grads, &model);
                let (id, [num_ids, _]) = (model.embedding_id(), model.embedding_weight().dims());
                params.register(id, table.gradient(g, &batch.rows, num_ids));
                match self.chain.prepare(&model, params) {
                    (outcome, Some(params)) => (outcome, self.optim.step(lr, model, params)),
                    (outcome, None) => (outcome, model),
                }
            }
        };
        Stepped {
            model,
            loss: value,
            logits,
            outcome,
        }
    }

    /// Applies a pending accumulation window (fewer micro-batches than `accumulate`, averaged
    /// over those), as at the end of an epoch; the model is unchanged when none is pending.
    /// Says whether a step was applied.
    pub fn flush(&mut self, model: TextClassifier, lr: f64) -> (TextClassifier, bool) {
        match self.chain.flush(&model) {
            Some((_, params)) => (self.optim.step(lr, model, params), true),
            None => (model, false),
        }
    }
}

/// Makes the gradient of the last parameter of `model` that has one (the output layer's, so
/// the next loss is NaN whatever the activations do with a NaN) NaN.
fn poison_last(model: &TextClassifier, grads: &mut burn::tensor::Gradients) {
    struct Last<'a> {
        grads: &'a burn::tensor::Gradients,
        id: Option<ParamId>,
    }
    impl ModuleVisitor for Last<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.val().grad(self.grads).is_some() {
                self.id = Some(param.id);
            }
        }
    }
    struct Poison<'a> {
        grads: &'a mut burn::tensor::Gradients,
        id: ParamId,
    }
    impl ModuleVisitor for Poison<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.id == self.id
                && let Some(g) = param.val().grad_remove(self.grads)
            {
                param.val().grad_replace(self.grads, g.add_scalar(f32::NAN));
            }
        }
    }
    let mut last = Last { grads, id: None };
    model.visit(&mut last);
    if let Some(id) = last.id {
        model.visit(&mut Poison { grads, id });
    }
}
