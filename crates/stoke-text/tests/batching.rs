//! Mini-batching: batch sizes 1, k and N, iterations per epoch, seeded shuffles.

mod common;

use std::sync::Arc;

use common::{cpu, to_vec};
use stoke_text::batch::{
    LoaderOptions, TextItem, epoch_loader, epoch_order, eval_batch_size, iterations_per_epoch,
};

fn items(n: usize) -> Arc<Vec<TextItem>> {
    // Item i has i+1 ids (all equal to i) and label i, so a batch tells which rows it holds.
    Arc::new(
        (0..n)
            .map(|i| TextItem {
                ids: vec![i as u32; i % 4 + 1],
                words: i % 4 + 1,
                label: i,
            })
            .collect(),
    )
}

/// (batch sizes, labels in loader order) of one epoch.
fn run_epoch(n: usize, opts: &LoaderOptions, epoch: usize) -> (Vec<usize>, Vec<usize>) {
    let loader = epoch_loader(items(n), opts, epoch, &cpu());
    let (mut sizes, mut labels) = (Vec::new(), Vec::new());
    for batch in loader.iter() {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        let l: Vec<usize> = batch
            .labels
            .into_data()
            .iter::<i64>()
            .map(|v| v as usize)
            .collect();
        // Mask rows sum to each item's id count.
        let [b, len] = batch.mask.dims();
        let mask = to_vec(batch.mask);
        for r in 0..b {
            let count = mask[r * len..(r + 1) * len].iter().sum::<f32>() as usize;
            assert_eq!(count, l[r] % 4 + 1);
        }
        labels.extend(l);
    }
    (sizes, labels)
}

#[test]
fn fifteen_rows_batch_three_is_five_iterations() {
    // The course's example: ⌈15 / 3⌉ = 5.
    assert_eq!(iterations_per_epoch(15, 3, false), 5);
    let (sizes, _) = run_epoch(15, &LoaderOptions::new(3, 1), 0);
    assert_eq!(sizes, vec![3; 5]);
}

#[test]
fn sgd_minibatch_and_full_batch() {
    let n = 10;
    // SGD: batch 1 → 10 iterations of one row.
    assert_eq!(run_epoch(n, &LoaderOptions::new(1, 1), 0).0, vec![1; 10]);
    // Mini-batch 4: ⌈10/4⌉ = 3 iterations, the last partial batch (2 rows) kept.
    assert_eq!(iterations_per_epoch(n, 4, false), 3);
    assert_eq!(run_epoch(n, &LoaderOptions::new(4, 1), 0).0, vec![4, 4, 2]);
    // drop_last: ⌊10/4⌋ = 2 iterations.
    assert_eq!(iterations_per_epoch(n, 4, true), 2);
    assert_eq!(
        run_epoch(n, &LoaderOptions::new(4, 1).with_drop_last(true), 0).0,
        vec![4, 4]
    );
    // Full batch: one iteration with every row.
    assert_eq!(run_epoch(n, &LoaderOptions::new(n, 1), 0).0, vec![10]);
}

#[test]
fn every_row_once_per_epoch_in_a_seeded_order_that_changes_per_epoch() {
    let opts = LoaderOptions::new(4, 99);
    let (_, e0) = run_epoch(13, &opts, 0);
    let (_, e0_again) = run_epoch(13, &opts, 0);
    let (_, e1) = run_epoch(13, &opts, 1);
    assert_eq!(e0, e0_again, "same seed and epoch must give the same order");
    assert_ne!(e0, e1, "the order must change between epochs");
    for order in [&e0, &e1] {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..13).collect::<Vec<_>>());
    }
    assert_eq!(e0, epoch_order(13, 99, 0));
    assert_ne!(epoch_order(13, 99, 0), epoch_order(13, 100, 0));
    // Unshuffled loaders keep the order.
    assert_eq!(
        run_epoch(7, &LoaderOptions::sequential(3), 5).1,
        (0..7).collect::<Vec<_>>()
    );
}

/// Batches made on a background thread are the calling thread's, in the same order: epoch 3
/// of 3,000 texts in batches of 2 is `epoch_order(3000, 5, 3)` cut every 2 — 1,500 batches,
/// far more than the 100 Burn's loader queues, so a second worker would interleave its half.
#[test]
fn background_batches_are_the_same_batches_in_the_same_order() {
    let opts = LoaderOptions::new(2, 5).with_background(true);
    let (sizes, labels) = run_epoch(3000, &opts, 3);
    assert!(labels == epoch_order(3000, 5, 3), "the order differs");
    assert_eq!(sizes, vec![2; 1500]);
}

/// Evaluation batches stay within 2²⁴ embedding elements: 512 texts of sentiment-uci's longest
/// (926 features) at embedding 128 would be 512·926·128·4 B = 242 MB, which lavapipe refused to
/// allocate; 2²⁴ / (926·128) = 141.5, so 141 texts. Short texts keep 512.
#[test]
fn evaluation_batches_bound_the_embeddings_they_materialise() {
    let item = |n: usize| TextItem {
        ids: vec![1; n],
        words: n,
        label: 0,
    };
    assert_eq!(eval_batch_size(&[item(3), item(926)], 128), 141);
    assert_eq!(eval_batch_size(&[item(3), item(20)], 128), 512);
    assert_eq!(eval_batch_size(&[item(1 << 20)], 128), 1);
    assert_eq!(eval_batch_size(&[], 128), 512);
}
