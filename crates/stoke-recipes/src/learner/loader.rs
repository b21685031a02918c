//! The training data of a data-parallel run, shaped for Burn's `MultiDevice` engine.
//!
//! The engine splits the training loader into `D` contiguous slices (`split_dataloader`: slice
//! `j` is items `[j·⌊N/D⌋, (j+1)·⌊N/D⌋)`, the last takes the rest) and, at each step, takes the
//! next batch of every slice. To make step `k` of `D` devices see exactly the items of step `k`
//! of one device with the global batch `B = D·b`, each epoch's order `π` ([`epoch_order`], the
//! one of stoke's own loop) is **arranged** before the engine slices it: with `m = ⌊N/B⌋` full
//! steps and `r = N − mB` left over, slice `j` is
//!
//! ```text
//! π[kB + jb .. kB + (j+1)b]  for k = 0..m,   then   π[mB + j·⌊r/D⌋ ..]  (its share of the rest)
//! ```
//!
//! so its length is `mb + ⌊r/D⌋` (the last slice: the rest), which is where the engine cuts.
//! Each slice is batched by `b`. Every batch carries its epoch and iteration, so the model's
//! step can name them when the loss stops being finite, and its weight `n_j / Σ_i n_i`, its
//! share of the step's texts (see [`super::replica`]).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::tensor::Device;
use stoke_text::batch::{TextBatch, TextBatcher, TextItem, epoch_order};
use stoke_text::dropout::step_seed;

/// One device's batch of one step.
#[derive(Clone, Debug)]
pub struct ShardBatch {
    /// The texts.
    pub batch: TextBatch,
    /// 1-based epoch.
    pub epoch: usize,
    /// 1-based step within the epoch (the same on every device).
    pub iteration: usize,
    /// The batch's share of its step's texts, `n_j / Σ_i n_i` over the devices: `1/D` for a
    /// full step, and what makes a last, unevenly split step the mean over its texts too.
    pub weight: f64,
    /// The step's dropout seed ([`step_seed`] of the run's seed, epoch and iteration) and this
    /// batch's first row in the step's whole batch, so that its masks are those of the same
    /// rows on one device ([`stoke_text::dropout`]).
    pub dropout_seed: u64,
    pub row_offset: usize,
}

/// What every slice of one run shares.
struct Plan {
    items: Arc<Vec<TextItem>>,
    seed: u64,
    /// The global batch `B` (all devices together).
    batch: usize,
    /// `D`, the number of devices.
    shards: usize,
}

/// A training loader over the arranged order (see the [module docs](self)); one instance
/// serves all epochs: each [`iter`](DataLoader::iter) is the next epoch.
pub(crate) struct ShardLoader {
    plan: Arc<Plan>,
    /// Positions in the arranged order.
    range: Range<usize>,
    device: Device,
    /// The 0-based index of the epoch the next `iter` yields.
    next_epoch: Arc<AtomicUsize>,
}

impl ShardLoader {
    /// The loader of `items` for `shards` devices with global batch `batch` (a multiple of
    /// `shards`), starting at epoch `first_epoch + 1` (after a resume, the checkpoint's).
    pub(crate) fn new(
        items: Arc<Vec<TextItem>>,
        seed: u64,
        batch: usize,
        shards: usize,
        first_epoch: usize,
        device: &Device,
    ) -> Self {
        let n = items.len();
        ShardLoader {
            plan: Arc::new(Plan {
                items,
                seed,
                batch,
                shards,
            }),
            range: 0..n,
            device: device.clone(),
            next_epoch: Arc::new(AtomicUsize::new(first_epoch)),
        }
    }

    fn with(&self, range: Range<usize>, device: Device) -> Self {
        ShardLoader {
            plan: self.plan.clone(),
            range,
            device,
            next_epoch: Arc::new(AtomicUsize::new(self.next_epoch.load(Ordering::SeqCst))),
        }
    }
}

/// `order` rearranged so that `shards` contiguous slices, cut where Burn's
/// `split_dataloader` cuts, hold each step's share of every device (see the [module docs](self)).
pub(crate) fn arrange(order: &[usize], batch: usize, shards: usize) -> Vec<usize> {
    let (n, b) = (order.len(), batch / shards);
    let (full, rest) = (n / batch, &order[n / batch * batch..]);
    let per = rest.len() / shards;
    let mut out = Vec::with_capacity(n);
    for j in 0..shards {
        for k in 0..full {
            out.extend_from_slice(&order[k * batch + j * b..k * batch + (j + 1) * b]);
        }
        let end = if j + 1 == shards {
            rest.len()
        } else {
            (j + 1) * per
        };
        out.extend_from_slice(&rest[j * per..end]);
    }
    out
}

/// Where slice `shard`'s batch of step `iteration` (1-based) starts in the step's whole batch:
/// `j·b` in a full step, `j·⌊r/D⌋` in the last, partial one (see [`arrange`]).
fn row_offset(n: usize, batch: usize, shards: usize, shard: usize, iteration: usize) -> usize {
    if iteration <= n / batch {
        shard * (batch / shards)
    } else {
        shard * ((n - n / batch * batch) / shards)
    }
}

/// The number of texts in step `iteration` (1-based) of all slices together, the slices cut
/// where Burn's `split_dataloader` cuts `n` items into `shards` and batched by `size`.
fn step_texts(n: usize, shards: usize, size: usize, iteration: usize) -> usize {
    let cut = n / shards;
    (0..shards)
        .map(|j| if j + 1 == shards { n - j * cut } else { cut })
        .map(|len| len.saturating_sub((iteration - 1) * size).min(size))
        .sum()
}

impl DataLoader<ShardBatch> for ShardLoader {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<ShardBatch> + 'a> {
        let epoch = self.next_epoch.fetch_add(1, Ordering::SeqCst);
        let p = &self.plan;
        let order = epoch_order(p.items.len(), p.seed, epoch);
        let arranged = arrange(&order, p.batch, p.shards);
        // Burn's `split_dataloader` cuts slice `j` at `j·⌊N/D⌋`
        let cut = (p.items.len() / p.shards).max(1);
        Box::new(ShardIter {
            shard: (self.range.start / cut).min(p.shards - 1),
            plan: p.clone(),
            items: p.items.clone(),
            indices: arranged[self.range.clone()].to_vec(),
            size: (p.batch / p.shards).max(1),
            device: self.device.clone(),
            epoch: epoch + 1,
            done: 0,
            iteration: 0,
        })
    }

    fn num_items(&self) -> usize {
        self.range.len()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<ShardBatch>> {
        Arc::new(self.with(self.range.clone(), device.clone()))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<ShardBatch>> {
        let base = self.range.start;
        let end = (base + end).min(self.range.end);
        Arc::new(self.with((base + start).min(end)..end, self.device.clone()))
    }
}

/// One epoch of one slice.
struct ShardIter {
    /// `j`: which device's slice this is.
    shard: usize,
    plan: Arc<Plan>,
    items: Arc<Vec<TextItem>>,
    indices: Vec<usize>,
    size: usize,
    device: Device,
    epoch: usize,
    done: usize,
    iteration: usize,
}

impl Iterator for ShardIter {
    type Item = Result<ShardBatch, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done >= self.indices.len() {
            return None;
        }
        let end = (self.done + self.size).min(self.indices.len());
        let texts: Vec<TextItem> = self.indices[self.done..end]
            .iter()
            .map(|&i| self.items[i].clone())
            .collect();
        self.done = end;
        self.iteration += 1;
        let p = &self.plan;
        let step = step_texts(p.items.len(), p.shards, self.size, self.iteration);
        let offset = row_offset(p.items.len(), p.batch, p.shards, self.shard, self.iteration);
        Some(Ok(ShardBatch {
            dropout_seed: step_seed(p.seed, self.epoch, self.iteration),
            row_offset: offset,
            weight: texts.len() as f64 / step.max(1) as f64,
            batch: TextBatcher.batch(texts, &self.device),
            epoch: self.epoch,
            iteration: self.iteration,
        }))
    }
}

impl DataLoaderIterator<ShardBatch> for ShardIter {
    fn progress(&self) -> Progress {
        Progress::new(self.done, self.indices.len(), Some("items".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where Burn's `split_dataloader` cuts `n` items into `d` slices.
    fn burn_cuts(n: usize, d: usize) -> Vec<Range<usize>> {
        (0..d)
            .map(|j| j * (n / d)..if j + 1 == d { n } else { (j + 1) * (n / d) })
            .collect()
    }

    #[test]
    fn each_step_of_the_slices_holds_the_items_of_one_big_batch() {
        // n = 22, B = 8, D = 2: steps {0..8}, {8..16}, then the rest {16..22} split 3 + 3.
        let order: Vec<usize> = (0..22).collect();
        let arranged = arrange(&order, 8, 2);
        let cuts = burn_cuts(22, 2);
        let slices: Vec<&[usize]> = cuts.iter().map(|r| &arranged[r.clone()]).collect();
        let steps = |s: &[usize]| s.chunks(4).map(<[usize]>::to_vec).collect::<Vec<_>>();
        let (a, b) = (steps(slices[0]), steps(slices[1]));
        assert_eq!(a.len(), 3);
        assert_eq!(b.len(), 3);
        for k in 0..3 {
            let mut step: Vec<usize> = a[k].iter().chain(&b[k]).copied().collect();
            step.sort();
            let want: Vec<usize> = (k * 8..((k + 1) * 8).min(22)).collect();
            assert_eq!(step, want, "step {k}");
        }
    }

    #[test]
    fn a_steps_texts_are_counted_over_all_slices() {
        // n = 17, D = 2, b = 4: slices of 8 and 9 texts; steps 4+4, 4+4, 0+1.
        let steps: Vec<usize> = (1..=3).map(|i| step_texts(17, 2, 4, i)).collect();
        assert_eq!(steps, [8, 8, 1]);
        assert_eq!(step_texts(17, 1, 8, 3), 1);
    }

    #[test]
    fn arranging_keeps_every_item_once() {
        for (n, batch, d) in [(10, 2, 2), (11, 6, 3), (5, 4, 4), (64, 16, 4)] {
            let order: Vec<usize> = (0..n).rev().collect();
            let mut arranged = arrange(&order, batch, d);
            arranged.sort();
            assert_eq!(
                arranged,
                (0..n).collect::<Vec<_>>(),
                "n={n} B={batch} D={d}"
            );
        }
    }
}
