//! The embedding bag of the training step (dense and row-sparse), forward and backward written
//! out, so that Burn's autodiff sees only the pooled vectors.
//!
//! ```text
//! forward   h_b   = Σ_t v_bt · E[x_bt]                         [B, D]
//! backward  ∂R_r  = Σ_{(b,t) : x_bt = rows_r} v_bt · ∂h_b        [rows, D]
//! ```
//!
//! `E` is the embedding table, `x_bt` the id in column `t` of text `b`, `v` the pooling weights
//! ([`TextClassifier::pool_weights`]: each column's share of its bag, 0 on padding) and `rows`
//! the batch's distinct ids ([`TextBatch::rows`]), whose gradient `∂R` the row-sparse optimizer
//! takes ([`crate::dense`] makes the whole table's gradient of it for a dense update). `h`
//! becomes a leaf of the autodiff graph; backward through the hidden blocks and the loss gives
//! `∂h`, and [`RowBag::backward`] turns it into `∂R`.
//!
//! Through Burn's ops the same function took a gather of the rows, a second gather into
//! `[B, L, D]`, a broadcast product and a sum, and as many passes backward, each allocating a
//! `[B, L, D]` buffer (655 KB at batch 64 × 40 ids × 64). On a CPU backend the loops here go
//! through the batch's rows in ascending order, grouped with their columns by the batcher
//! ([`HostColumns::by_row`](stoke_text::batch::HostColumns::by_row)): forward reads each used
//! row of the table once and adds it into the texts that hold it (a copy of the rows first
//! and sums from it took 5–6% longer on langid), and backward writes each row's gradient once
//! from its columns in ascending order. On any other device the same equations run as tensor
//! ops without autodiff.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use stoke_optim::{prefetch, with_host_slice};
use stoke_text::batch::TextBatch;
use stoke_text::model::TextClassifier;

/// How many columns ahead the forward loop prefetches a row.
const AHEAD: usize = 32;

/// The pooled vectors of one batch and what their backward pass needs; see the
/// [module docs](self).
pub struct RowBag {
    /// `h [B, D]`: a leaf that requires grad on an autodiff device.
    pooled: Tensor<2>,
    /// The pooling weights and column ids, on the host or as tensors.
    columns: Columns,
    /// Rows of the batch (`rows.len()`) and the embedding width.
    shape: [usize; 2],
}

/// The batch's columns: for each `(b, t)`, its weight `v_bt` and its row in
/// [`TextBatch::rows`].
enum Columns {
    /// Row-major `[B, L]` weights and the used columns grouped by row
    /// ([`HostColumns::by_row`](stoke_text::batch::HostColumns::by_row)), on the host (CPU
    /// backends).
    Host {
        weights: Vec<f32>,
        by_row: Vec<u32>,
        row_starts: Vec<u32>,
        width: usize,
    },
    /// `v [B, L]` and the flattened local ids `[B·L]`, on the table's device.
    Device {
        weights: Tensor<2>,
        local: Tensor<1, Int>,
    },
}

impl RowBag {
    /// `h_b = Σ_t v_bt · E[x_bt]` for every text of `batch`, from `model`'s table.
    pub fn forward(model: &TextClassifier, batch: &TextBatch) -> RowBag {
        let table = model.embedding_weight().inner();
        let device = model.device();
        let [_, d] = table.dims();
        let [b, l] = batch.local.dims();
        let host = with_host_slice(&table, |e| {
            let v = model.pool_weights_host(batch);
            let (ids, cols) = (&batch.rows, &batch.host);
            // One sweep through the table in ascending row order, each used row read once and
            // added into the texts whose columns hold it
            let mut h = vec![0f32; b * d];
            for (r, &id) in ids.iter().enumerate() {
                if let Some(&next) = ids.get(r + AHEAD) {
                    prefetch(&e[next as usize * d..(next as usize + 1) * d]);
                }
                let row = &e[id as usize * d..(id as usize + 1) * d];
                let columns = cols.row_starts[r] as usize..cols.row_starts[r + 1] as usize;
                for &c in &cols.by_row[columns] {
                    let (c, w) = (c as usize, v[c as usize]);
                    if w == 0.0 {
                        continue; // an id of an empty bag
                    }
                    let hb = &mut h[c / l * d..(c / l + 1) * d];
                    // h_b += v_bt · E[x_bt]
                    hb.iter_mut().zip(row).for_each(|(h, &e)| *h += w * e);
                }
            }
            (h, v)
        });
        let (pooled, columns) = match host {
            Some((h, weights)) => (
                Tensor::from_data(TensorData::new(h, [b, d]), &table.device()),
                Columns::Host {
                    weights,
                    by_row: batch.host.by_row.clone(),
                    row_starts: batch.host.row_starts.clone(),
                    width: l,
                },
            ),
            None => {
                let weights = model.pool_weights(batch).inner();
                let local = batch.local.clone().inner().reshape([b * l]);
                // E[x_bt] = R[local_bt], R = E[rows]
                let emb = model
                    .rows_of_table(batch)
                    .select(0, local.clone())
                    .reshape([b, l, d]);
                // h_b = Σ_t v_bt · E[x_bt]
                let h = emb
                    .mul(weights.clone().reshape([b, l, 1]))
                    .sum_dim(1)
                    .reshape([b, d]);
                (h, Columns::Device { weights, local })
            }
        };
        let pooled = if device.is_autodiff() {
            pooled.autodiff().require_grad()
        } else {
            pooled
        };
        RowBag {
            pooled,
            columns,
            shape: [batch.rows.len(), d],
        }
    }

    /// The pooled vectors `h [B, D]`, to pass to [`TextClassifier::loss_pooled`]; on an
    /// autodiff device a leaf whose gradient [`backward`](Self::backward) takes.
    pub fn pooled(&self) -> Tensor<2> {
        self.pooled.clone()
    }

    /// The gradient of the batch's rows `∂R [rows, D]` from the gradient of the pooled vectors
    /// `∂h [B, D]` (without autodiff), on the table's device.
    pub fn backward(&self, dh: Tensor<2>) -> Tensor<2> {
        let [rows, d] = self.shape;
        let dh = dh.inner();
        let device = dh.device();
        match &self.columns {
            Columns::Host {
                weights,
                by_row,
                row_starts,
                width,
            } => {
                let dh = host_floats(dh);
                let mut g = vec![0f32; rows * d];
                for (r, gr) in g.chunks_exact_mut(d).enumerate() {
                    let columns = row_starts[r] as usize..row_starts[r + 1] as usize;
                    for &c in &by_row[columns] {
                        let (c, v) = (c as usize, weights[c as usize]);
                        if v == 0.0 {
                            continue;
                        }
                        // ∂R_r += v_bt · ∂h_b, the columns of row r in ascending order
                        let dhb = &dh[c / width * d..(c / width + 1) * d];
                        gr.iter_mut().zip(dhb).for_each(|(g, &dh)| *g += v * dh);
                    }
                }
                Tensor::from_data(TensorData::new(g, [rows, d]), &device)
            }
            Columns::Device { weights, local } => {
                let [b, l] = weights.dims();
                // ∂E[x_bt] = v_bt · ∂h_b, then summed into the row of x_bt
                let de = dh
                    .reshape([b, 1, d])
                    .mul(weights.clone().reshape([b, l, 1]))
                    .reshape([b * l, d]);
                Tensor::zeros([rows, d], &device).select_assign(
                    0,
                    local.clone(),
                    de,
                    IndexingUpdateOp::Add,
                )
            }
        }
    }
}

/// The values of a float tensor as host `f32`s.
fn host_floats(t: Tensor<2>) -> Vec<f32> {
    with_host_slice(&t, <[f32]>::to_vec).unwrap_or_else(|| {
        t.into_data()
            .try_into_vec_as::<f32>()
            .expect("a float tensor converts to f32")
    })
}
