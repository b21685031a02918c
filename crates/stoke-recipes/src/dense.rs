//! The embedding table's gradient for a dense update, built from the gradient of the rows a
//! batch uses ([`RowBag::backward`](crate::bag::RowBag::backward)) and the table's L2 penalty:
//!
//! ```text
//! penalty   β Σ E²                                              (added to the loss)
//! ∂E_i    = 2β·E_i + ∂R_r    where i = rows_r  (the batch's rows)
//! ∂E_i    = 2β·E_i           elsewhere          (0 without L2)
//! ```
//!
//! This is the gradient Burn's autodiff gives the table through an embedding lookup and `β Σ E²`
//! (`tests/bag.rs` checks it step after step, with and without L2), without what it allocates on
//! the way: a `[B, L, D]` gradient of the looked-up rows, a zeroed table for the lookup's backward
//! and table-sized intermediates for the penalty's. On a CPU backend each step writes into the last
//! step's buffer, once the optimizer has read it: without L2 only the last batch's rows are zeroed
//! again; with L2 one pass over `E` gives both `β Σ E²` and `2β·E`
//! ([`stoke_optim::scaled_with_sum_squares`]). A fresh table-sized buffer every step cost a dense
//! Momentum step 27% of its time in the kernel clearing its pages. On any other device the same
//! equations run as tensor ops.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;
use stoke_optim::{scaled_with_sum_squares, with_host_slice, with_host_slice_mut};

/// Builds each dense step's table gradient, reusing the last one's buffer; see the
/// [module docs](self).
pub struct TableGradient {
    /// β of the table's penalty `β Σ E²` (0 = none).
    beta: f64,
    /// The last gradient handed out, and the rows it holds without L2.
    last: Option<(Tensor<2>, Vec<u32>)>,
    /// `2β·E`, or zeros, for the step under way ([`penalty`](Self::penalty) makes it).
    base: Option<Tensor<2>>,
}

impl TableGradient {
    /// With the table's L2 factor `beta` (0 = none).
    pub fn new(beta: f64) -> Self {
        Self {
            beta,
            last: None,
            base: None,
        }
    }

    /// Starts a step on `table` (`[num_ids, D]`, without autodiff): returns the penalty `β Σ E²`
    /// (0 without L2, summed in `f64`) and prepares `2β·E` (or zeros) for
    /// [`gradient`](Self::gradient).
    pub fn penalty(&mut self, table: &Tensor<2>) -> f64 {
        let last = self.last.take().filter(|(t, _)| t.dims() == table.dims());
        if self.beta == 0.0 {
            self.base = last.and_then(|(t, rows)| zero_rows(t, &rows));
            return 0.0;
        }
        let k = (2.0 * self.beta) as f32;
        let into = last.map(|(t, _)| t);
        let (base, sum) = scaled_with_sum_squares(table, k, into).unwrap_or_else(|| {
            // ∂(β Σ E²)/∂E = 2β·E, and Σ E², as tensor ops
            let sum = table.clone().square().sum().into_scalar::<f32>() as f64;
            (table.clone().mul_scalar(k), sum)
        });
        self.base = Some(base);
        self.beta * sum
    }

    /// The table gradient of the step [`penalty`](Self::penalty) started, from the gradient of
    /// its batch's rows `dr [rows, D]` (`rows`: the batch's distinct ids, each < `num_ids`).
    pub fn gradient(&mut self, dr: Tensor<2>, rows: &[u32], num_ids: usize) -> Tensor<2> {
        let grad = table_gradient(dr, rows, num_ids, self.base.take());
        if with_host_slice(&grad, |_| ()).is_some() {
            // a second handle: the optimizer reads the gradient and never writes it, so after
            // the step this one owns the buffer alone again and the next step writes into it
            let held = if self.beta == 0.0 {
                rows.to_vec()
            } else {
                Vec::new()
            };
            self.last = Some((grad.clone(), held));
        }
        grad
    }
}

/// The gradient of the whole table `∂E [num_ids, D]` from that of the batch's rows `∂R [rows, D]`
/// ([`RowBag::backward`](crate::bag::RowBag::backward)):
///
/// ```text
/// ∂E_i = base_i + ∂R_r   where i = rows_r,      ∂E_i = base_i   elsewhere
/// ```
///
/// `base` is the table's gradient from the rest of the loss (an L2 penalty's `2β·E`), zeros when
/// there is none; `rows` are the batch's distinct ids, each < `num_ids`. On a CPU backend the
/// rows are added in place into `base`, or copied into a zeroed buffer (fresh pages, no fill
/// pass); on any other device it is a `select_assign`.
pub fn table_gradient(
    dr: Tensor<2>,
    rows: &[u32],
    num_ids: usize,
    base: Option<Tensor<2>>,
) -> Tensor<2> {
    let [n, d] = dr.dims();
    debug_assert_eq!(n, rows.len());
    let device = dr.device();
    let scatter = |full: &mut [f32], dr: &[f32]| {
        for (&i, dr) in rows.iter().zip(dr.chunks_exact(d)) {
            let e = &mut full[i as usize * d..(i as usize + 1) * d];
            // ∂E_i = base_i + ∂R_r
            e.iter_mut().zip(dr).for_each(|(e, &g)| *e += g);
        }
    };
    let base = match base {
        Some(base) => base,
        None => {
            let zeroed = with_host_slice(&dr, |dr| {
                let mut full = vec![0f32; num_ids * d];
                scatter(&mut full, dr);
                full
            });
            if let Some(full) = zeroed {
                return Tensor::from_data(TensorData::new(full, [num_ids, d]), &device);
            }
            Tensor::zeros([num_ids, d], &device)
        }
    };
    let dr_host = with_host_slice(&dr, <[f32]>::to_vec);
    let base = match dr_host {
        Some(dr) => match with_host_slice_mut(base, |full| scatter(full, &dr)) {
            Ok(full) => return full,
            Err(base) => base,
        },
        None => base,
    };
    let ids: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [n]), &device);
    base.select_assign(0, ids, dr, IndexingUpdateOp::Add)
}

/// `grad` with the rows `rows` set to zero, in place, when it is a host buffer (copied first if
/// another tensor shares it); `None` on any other device. Applied to the last step's
/// [`table_gradient`] without a base, whose only nonzero rows are that batch's, it gives a zeroed
/// table buffer for the next step at the cost of those rows.
fn zero_rows(grad: Tensor<2>, rows: &[u32]) -> Option<Tensor<2>> {
    let [_, d] = grad.dims();
    with_host_slice_mut(grad, |full| {
        for &i in rows {
            full[i as usize * d..(i as usize + 1) * d].fill(0.0);
        }
    })
    .ok()
}
