//! Mini-batching with Burn's [`Batcher`] and [`DataLoaderBuilder`].
//!
//! A batch holds each text as a bag: its distinct ids, ascending, with a float `mask` that
//! counts how often each occurs (0 = padding), padded to the text with the most distinct ids.
//! The model's mean pooling weighs each row by its count, so the bag pools to the mean over
//! every occurrence, and padding never changes a text's representation. The repeats of a
//! passage's frequent character n-grams become one column each: on sotu a bag holds about two
//! thirds of the text's ids (841 distinct of 1,265 on average over 3,000 passages, counted with
//! a regex approximation of the tokenizer), and so shrinks the work of the gather, the pooling
//! and their backward pass.
//!
//! # Batch size and iterations
//!
//! Batch size 1 is stochastic gradient descent, `k` a mini-batch, and `N` (the number of
//! training rows) full-batch gradient descent. One epoch takes
//! `⌈N / batch_size⌉` iterations when the last, partial batch is kept (the default), and
//! `⌊N / batch_size⌋` with `drop_last` — see [`iterations_per_epoch`].
//!
//! # Shuffling
//!
//! [`epoch_order`] is a seeded permutation that differs per epoch (ChaCha8, stream =
//! epoch), identical on every machine. [`epoch_loader`] builds the Burn data loader for one
//! epoch in that order; a training loop calls it once per epoch.
//! For Burn's `Learner`, which wants one loader for all epochs, [`shuffled_loader`] uses
//! `DataLoaderBuilder::shuffle(seed)` (Burn reshuffles every epoch with its own seeded
//! generator, which keeps the last partial batch).

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::{Dataset, DatasetError};
use burn::prelude::*;

use crate::data::LabelledTexts;
use crate::tokenizer::Tokenizer;

/// One encoded text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextItem {
    /// Feature ids from [`Tokenizer::encode_grouped`](crate::tokenizer::Tokenizer::encode_grouped):
    /// word features, then character n-grams ([`encode_all`] sorts each part ascending: a bag
    /// has no order, and the batcher, which counts each part's ids by sorting them, then finds
    /// them sorted).
    pub ids: Vec<u32>,
    /// How many of `ids` (the first) are word features; the rest are character n-grams.
    pub words: usize,
    /// Class index.
    pub label: usize,
}

/// A padded batch.
#[derive(Clone, Debug)]
pub struct TextBatch {
    /// `[batch, max_len]`: each text's distinct ids, ascending, padded with id 0.
    pub tokens: Tensor<2, Int>,
    /// `[batch, max_len]`: how often the id occurs in the text (0.0 for padding).
    pub mask: Tensor<2>,
    /// `[batch, max_len]`: 1.0 where the id is a character n-gram, 0.0 for a word feature or
    /// padding. A text's word bag comes first, then its character bag; an id in both (a hash
    /// collision) has a column in each.
    pub char_ngram: Tensor<2>,
    /// `[batch]` class indices.
    pub labels: Tensor<1, Int>,
    /// The distinct ids of the batch, ascending (the embedding rows it uses).
    pub rows: Vec<u32>,
    /// `[batch, max_len]`: each id's position in [`rows`](Self::rows) (0 for padding).
    pub local: Tensor<2, Int>,
    /// The same columns on the host, for the pooling weights and the row-sparse step.
    pub host: HostColumns,
}

/// A batch's columns on the host, row-major `[batch, width]`: the values of
/// [`TextBatch::mask`] and [`TextBatch::char_ngram`], and the used columns grouped by their
/// row of [`TextBatch::rows`] (what [`TextBatch::local`] holds, read the other way).
#[derive(Clone, Debug, PartialEq)]
pub struct HostColumns {
    /// Columns per text (`max_len`).
    pub width: usize,
    /// How often each column's id occurs in its text (0 for padding).
    pub counts: Vec<f32>,
    /// Whether each column is a character n-gram.
    pub is_char: Vec<bool>,
    /// The used columns (count > 0) grouped by row: row `r`'s columns, ascending, are
    /// `by_row[row_starts[r]..row_starts[r + 1]]` (`row_starts` has one entry more than
    /// [`TextBatch::rows`]).
    pub by_row: Vec<u32>,
    /// Where each row's columns begin in `by_row`, then `by_row.len()`.
    pub row_starts: Vec<u32>,
}

impl TextBatch {
    /// Number of texts in the batch.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether the batch holds no texts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Turns items into a [`TextBatch`] of bags (distinct ids with their counts; padding id 0,
/// count 0). A batch whose texts have no ids at all gets one masked column, so every text's
/// bag is empty and pools to zeros.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextBatcher;

impl Batcher<TextItem, TextBatch> for TextBatcher {
    fn batch(&self, items: Vec<TextItem>, device: &Device) -> TextBatch {
        let b = items.len();
        // Each text's word bag, then its character bag.
        let bags: Vec<[Vec<(u32, u32)>; 2]> = items
            .iter()
            .map(|i| {
                let (words, chars) = i.ids.split_at(i.words.min(i.ids.len()));
                [bag(words), bag(chars)]
            })
            .collect();
        let width = |[w, c]: &[Vec<(u32, u32)>; 2]| w.len() + c.len();
        let len = bags.iter().map(width).max().unwrap_or(0).max(1);
        let mut tokens = vec![0i64; b * len];
        let mut mask = vec![0f32; b * len];
        let mut char_ngram = vec![0f32; b * len];
        let mut labels = Vec::with_capacity(b);
        for (r, (item, [words, chars])) in items.iter().zip(&bags).enumerate() {
            let row = r * len;
            let columns = words
                .iter()
                .map(|e| (e, 0.0))
                .chain(chars.iter().map(|e| (e, 1.0)));
            for (c, (&(id, count), is_char)) in columns.enumerate() {
                tokens[row + c] = id as i64;
                mask[row + c] = count as f32;
                char_ngram[row + c] = is_char;
            }
            labels.push(item.label as i64);
        }
        // Every used column as (id, column), sorted: the batch's distinct ids come out
        // ascending, and each column's place among them on the way (no search per column).
        let keyed: Vec<u64> = tokens
            .iter()
            .zip(&mask)
            .enumerate()
            .filter(|(_, (_, m))| **m > 0.0)
            .map(|(c, (&id, _))| ((id as u64) << 32) | c as u64)
            .collect();
        let keyed = sort_by_id(keyed);
        let mut rows: Vec<u32> = Vec::with_capacity(keyed.len());
        let mut row_starts: Vec<u32> = Vec::with_capacity(keyed.len() + 1);
        let mut local = vec![0u32; b * len];
        let by_row: Vec<u32> = keyed.iter().map(|&key| key as u32).collect();
        for (at, key) in keyed.into_iter().enumerate() {
            let id = (key >> 32) as u32;
            if rows.last() != Some(&id) {
                rows.push(id);
                row_starts.push(at as u32);
            }
            local[key as u32 as usize] = rows.len() as u32 - 1;
        }
        if rows.is_empty() {
            rows.push(0); // the masked padding column still looks one row up
            row_starts.push(0);
        }
        row_starts.push(by_row.len() as u32);
        let host = HostColumns {
            width: len,
            counts: mask.clone(),
            is_char: char_ngram.iter().map(|&c| c > 0.0).collect(),
            by_row,
            row_starts,
        };
        let local: Vec<i64> = local.into_iter().map(i64::from).collect();
        TextBatch {
            tokens: Tensor::from_data(TensorData::new(tokens, [b, len]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, len]), device),
            char_ngram: Tensor::from_data(TensorData::new(char_ngram, [b, len]), device),
            labels: Tensor::from_data(TensorData::new(labels, [b]), device),
            rows,
            local: Tensor::from_data(TensorData::new(local, [b, len]), device),
            host,
        }
    }
}

/// Bits of an id sorted per pass of [`sort_by_id`].
const RADIX_BITS: u32 = 11;

/// `(id << 32) | column` keys, written in ascending column order, sorted by `(id, column)`: a
/// stable least-significant-digit radix sort on the id's 11-bit digits (two passes for ids
/// below 2²², the tokenizer's 2²⁰ buckets and more), so each id's columns keep their order.
/// The same order as `sort_unstable` on the keys, in `O(n)` instead of `O(n log n)` (langid's
/// batches of 32 texts hold some 9,000 used columns).
fn sort_by_id(mut keys: Vec<u64>) -> Vec<u64> {
    let top = keys.iter().map(|k| k >> 32).max().unwrap_or(0);
    let digits = (u64::BITS - top.leading_zeros()).div_ceil(RADIX_BITS);
    let mut out = vec![0u64; keys.len()];
    for digit in 0..digits {
        let shift = 32 + digit * RADIX_BITS;
        let bucket = |k: u64| ((k >> shift) & ((1 << RADIX_BITS) - 1)) as usize;
        // starts[d]: where keys of digit d begin in this pass's output
        let mut starts = vec![0usize; 1 << RADIX_BITS];
        keys.iter().for_each(|&k| starts[bucket(k)] += 1);
        let mut at = 0;
        for s in &mut starts {
            (*s, at) = (at, at + *s);
        }
        for &k in &keys {
            let d = bucket(k);
            out[starts[d]] = k;
            starts[d] += 1;
        }
        std::mem::swap(&mut keys, &mut out);
    }
    keys
}

/// The distinct ids of `ids`, ascending, each with how often it occurs.
fn bag(ids: &[u32]) -> Vec<(u32, u32)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut bag: Vec<(u32, u32)> = Vec::with_capacity(sorted.len());
    for id in sorted {
        match bag.last_mut() {
            Some((last, count)) if *last == id => *count += 1,
            _ => bag.push((id, 1)),
        }
    }
    bag
}

/// Encodes every example (on up to 2 threads; the result is the same as sequentially), each
/// text's word features and character n-grams each sorted ascending.
pub fn encode_all(tokenizer: &Tokenizer, texts: &LabelledTexts) -> Vec<TextItem> {
    let strs: Vec<&str> = texts.examples.iter().map(|e| e.text.as_str()).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    tokenizer
        .encode_many(&strs, threads)
        .into_iter()
        .zip(&texts.examples)
        .map(|(mut encoded, e)| {
            let split = encoded.words.min(encoded.ids.len());
            let (words, chars) = encoded.ids.split_at_mut(split);
            words.sort_unstable();
            chars.sort_unstable();
            TextItem {
                ids: encoded.ids,
                words: encoded.words,
                label: e.label,
            }
        })
        .collect()
}

/// Iterations (batches) per epoch: `⌈n / batch_size⌉`, or `⌊n / batch_size⌋` with
/// `drop_last`. 0 when `batch_size` is 0.
pub fn iterations_per_epoch(n: usize, batch_size: usize, drop_last: bool) -> usize {
    if batch_size == 0 {
        0
    } else if drop_last {
        n / batch_size
    } else {
        n.div_ceil(batch_size)
    }
}

/// The seeded order of `n` items in epoch `epoch`: a Fisher–Yates permutation of `0..n`
/// drawn from ChaCha8 seeded with `seed` on stream `epoch`. Same seed and epoch → same
/// order on every machine; different epochs → (almost surely) different orders.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = crate::rng::rng(seed, epoch as u64);
    crate::rng::shuffle(&mut order, &mut rng);
    order
}

/// A Burn [`Dataset`] over shared items, read in a given order.
#[derive(Clone, Debug)]
pub struct TextDataset {
    items: Arc<Vec<TextItem>>,
    order: Option<Arc<Vec<usize>>>,
}

impl TextDataset {
    /// All items, in their order.
    pub fn new(items: Arc<Vec<TextItem>>) -> Self {
        TextDataset { items, order: None }
    }

    /// The items at `order` (indices into `items`), in that order.
    pub fn with_order(items: Arc<Vec<TextItem>>, order: Vec<usize>) -> Self {
        TextDataset {
            items,
            order: Some(Arc::new(order)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("index {index} is out of range for a data set of {len} items")]
struct OutOfRange {
    index: usize,
    len: usize,
}

impl Dataset<TextItem> for TextDataset {
    fn get(&self, index: usize) -> Result<TextItem, DatasetError> {
        let i = match &self.order {
            Some(o) => o.get(index).copied(),
            None => Some(index),
        };
        i.and_then(|i| self.items.get(i).cloned()).ok_or_else(|| {
            DatasetError::new(OutOfRange {
                index,
                len: self.len(),
            })
        })
    }

    fn len(&self) -> usize {
        self.order.as_ref().map_or(self.items.len(), |o| o.len())
    }
}

/// How to cut an epoch into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoaderOptions {
    /// Texts per batch (1 = SGD, N = full batch). Must be at least 1.
    pub batch_size: usize,
    /// Shuffle seed (ignored when `shuffle` is false).
    pub seed: u64,
    /// Shuffle with [`epoch_order`]; otherwise keep the items' order.
    pub shuffle: bool,
    /// Drop the last, partial batch.
    pub drop_last: bool,
    /// Make the batches on one background thread (Burn's `num_workers(1)`), which builds the
    /// next batches while the caller trains on this one; otherwise on the calling thread. The
    /// batches and their order are the same either way (one worker, one queue).
    pub background: bool,
}

impl LoaderOptions {
    /// Shuffled batches of `batch_size`, last partial batch kept.
    pub fn new(batch_size: usize, seed: u64) -> Self {
        LoaderOptions {
            batch_size,
            seed,
            shuffle: true,
            drop_last: false,
            background: false,
        }
    }

    /// Batches in the items' order (for evaluation).
    pub fn sequential(batch_size: usize) -> Self {
        LoaderOptions {
            batch_size,
            seed: 0,
            shuffle: false,
            drop_last: false,
            background: false,
        }
    }

    /// Sets `drop_last`.
    pub fn with_drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets `background`.
    pub fn with_background(mut self, background: bool) -> Self {
        self.background = background;
        self
    }
}

/// Burn's data loader for epoch `epoch`: items in [`epoch_order`] (or in order), the last
/// partial batch dropped if asked, batched by [`TextBatcher`] on `device`. It yields
/// [`iterations_per_epoch`] batches, made on a background thread if `opts.background`. A
/// `batch_size` of 0 is treated as 1.
pub fn epoch_loader(
    items: Arc<Vec<TextItem>>,
    opts: &LoaderOptions,
    epoch: usize,
    device: &Device,
) -> Arc<dyn DataLoader<TextBatch>> {
    let n = items.len();
    let bs = opts.batch_size.max(1);
    let mut order = if opts.shuffle {
        epoch_order(n, opts.seed, epoch)
    } else {
        (0..n).collect()
    };
    order.truncate(
        iterations_per_epoch(n, bs, opts.drop_last)
            .saturating_mul(bs)
            .min(n),
    );
    DataLoaderBuilder::new(TextBatcher)
        .batch_size(bs)
        .num_workers(usize::from(opts.background))
        .set_device(device.clone())
        .build(TextDataset::with_order(items, order))
}

/// One loader for all epochs (for Burn's `Learner`): Burn's own seeded reshuffle every
/// epoch (`DataLoaderBuilder::shuffle`), last partial batch kept.
pub fn shuffled_loader(
    items: Arc<Vec<TextItem>>,
    batch_size: usize,
    seed: u64,
    device: &Device,
) -> Arc<dyn DataLoader<TextBatch>> {
    DataLoaderBuilder::new(TextBatcher)
        .batch_size(batch_size.max(1))
        .shuffle(seed)
        .set_device(device.clone())
        .build(TextDataset::new(items))
}

/// The most elements of the `[batch, len, embed_dim]` embeddings an evaluation batch
/// materialises: 2²⁴ `f32` (64 MiB), half of wgpu's default largest storage binding (128 MiB),
/// so evaluation fits on any device.
const EVAL_ELEMENTS: usize = 1 << 24;

/// The batch size to evaluate `items` with: up to 512 texts, fewer when their longest text
/// would make the `[batch, len, embed_dim]` embeddings exceed 2²⁴ elements (with embedding 128,
/// 512 texts of 926 features are 242 MB, which lavapipe refuses to allocate). The results do not
/// depend on it beyond float summation order.
pub fn eval_batch_size(items: &[TextItem], embed_dim: usize) -> usize {
    let longest = items.iter().map(|i| i.ids.len()).max().unwrap_or(1).max(1);
    (EVAL_ELEMENTS / (longest * embed_dim.max(1))).clamp(1, 512)
}

/// One loader in the items' order (for evaluation or Burn's validation split).
pub fn sequential_loader(
    items: Arc<Vec<TextItem>>,
    batch_size: usize,
    device: &Device,
) -> Arc<dyn DataLoader<TextBatch>> {
    DataLoaderBuilder::new(TextBatcher)
        .batch_size(batch_size.max(1))
        .set_device(device.clone())
        .build(TextDataset::new(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{below, rng};
    use rand_core::RngCore;

    /// `sort_by_id` orders keys as the standard library's sort does, for ids of one, two and
    /// three radix digits (below 2¹¹, 2²², 2³²), repeated ids included (their columns ascending
    /// on input, as the batcher writes them).
    #[test]
    fn sort_by_id_is_the_sort_of_the_keys() {
        let mut r = rng(3, 0);
        for (n, top) in [
            (0, 1u64),
            (1, 5),
            (9_000, 1 << 11),
            (9_000, 1 << 20),
            (2_000, 1 << 32),
        ] {
            let keys: Vec<u64> = (0..n as u64)
                .map(|column| ((r.next_u64() % top) << 32) | column)
                .collect();
            let mut want = keys.clone();
            want.sort_unstable();
            assert!(sort_by_id(keys) == want, "n = {n}, ids below {top}");
        }
        // few distinct ids: long runs of one id across the batch
        let ids = below(&mut r, 5_000, 0.5);
        let keys: Vec<u64> = ids
            .iter()
            .enumerate()
            .map(|(c, &b)| (u64::from(b) << 32) | c as u64)
            .collect();
        let mut want = keys.clone();
        want.sort_unstable();
        assert!(sort_by_id(keys) == want, "two ids");
    }
}
