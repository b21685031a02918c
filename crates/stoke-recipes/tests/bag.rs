//! The training step's hand-written embedding bag (`stoke_recipes::bag::RowBag`) against Burn:
//! its pooled vectors are the model's own pooling (Burn's embedding lookup and tensor ops), and
//! its row gradient is what Burn's autodiff gives the table's rows through that pooling. On the
//! CPU backend the host loops run, on wgpu the tensor-op equations. The dense update's whole-table
//! gradient built from the row gradient is Burn's table gradient, zeros included, with an L2
//! penalty's part, step after step.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use stoke_recipes::bag::RowBag;
use stoke_recipes::dense::{TableGradient, table_gradient};
use stoke_text::batch::{TextBatcher, TextItem};
use stoke_text::model::{Bags, TermFrequency, TextClassifierConfig};

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// Texts with repeated ids (counts 2 and 3), a word and a character bag, an id shared by both
/// bags of one text, ids shared between texts, and an empty text.
fn items() -> Vec<TextItem> {
    let item = |ids: &[u32], words: usize, label| TextItem {
        ids: ids.to_vec(),
        words,
        label,
    };
    vec![
        item(&[3, 7, 7, 40, 41, 41, 41], 3, 0),
        item(&[5, 40, 3, 3], 1, 1),
        item(&[], 0, 0),
        item(&[12, 29, 5, 29], 4, 1),
    ]
}

fn check(device: Device, tf: TermFrequency, bags: Bags) {
    let ad = device.clone().autodiff();
    let model = TextClassifierConfig::new(50, 2)
        .with_embed_dim(6)
        .with_tf(tf)
        .with_bags(bags)
        .init_seeded(&ad, 4);
    let batch = TextBatcher.batch(items(), &ad);
    let [b, d] = [4, 6];
    // Burn: the model's pooling over the whole table, and a loss Σ_bj c_bj·h_bj whose gradient
    // with respect to h is c; autodiff then gives the table's gradient through the pooling.
    let reference = model.pool(&batch);
    let c: Vec<f32> = (0..b * d)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
        .collect();
    let c = Tensor::<2>::from_data(TensorData::new(c, [b, d]), &ad);
    let grads = reference.clone().mul(c.clone()).sum().backward();
    let table_grad = to_vec(model.embedding_weight().grad(&grads).unwrap());

    let bag = RowBag::forward(&model, &batch);
    let (want, got) = (to_vec(reference), to_vec(bag.pooled()));
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(
            (w - g).abs() < 1e-6,
            "h[{i}]: {g} vs Burn's {w} ({tf:?}, {bags:?})"
        );
    }
    let rows = to_vec(bag.backward(c.clone().inner()));
    assert_eq!(rows.len(), batch.rows.len() * d);
    for (k, &r) in batch.rows.iter().enumerate() {
        for j in 0..d {
            let (w, g) = (table_grad[r as usize * d + j], rows[k * d + j]);
            assert!(
                (w - g).abs() < 1e-6,
                "∂E[{r}, {j}]: {g} vs Burn's {w} ({tf:?}, {bags:?})"
            );
        }
    }
    // Rows no text uses get no gradient from Burn either: the bag's rows are all of them.
    let used: f32 = rows.iter().map(|g| g.abs()).sum();
    let all: f32 = table_grad.iter().map(|g| g.abs()).sum();
    assert!((used - all).abs() < 1e-5 * all.max(1.0), "{used} vs {all}");

    // The dense update's whole-table gradient is Burn's, zeros included; with a base (an L2
    // part) it is base + Burn's, element by element.
    let dense = |base: Option<Tensor<2>>| {
        let dr = bag.backward(c.clone().inner());
        to_vec(table_gradient(dr, &batch.rows, 50, base))
    };
    let got = dense(None);
    assert_eq!(got.len(), table_grad.len());
    for (i, (w, g)) in table_grad.iter().zip(&got).enumerate() {
        assert!((w - g).abs() < 1e-6, "∂E flat[{i}]: {g} vs Burn's {w}");
    }
    let base: Vec<f32> = (0..50 * d).map(|i| (i % 13) as f32 * 0.25 - 1.5).collect();
    let on = Tensor::<2>::from_data(TensorData::new(base.clone(), [50, d]), &device);
    for (i, (g, (w, b))) in dense(Some(on))
        .iter()
        .zip(table_grad.iter().zip(&base))
        .enumerate()
    {
        assert!(
            (w + b - g).abs() < 1e-6,
            "base + ∂E flat[{i}]: {g} vs {b} + {w}"
        );
    }
}

/// The dense update's table gradient step after step (`TableGradient`, which reuses its buffer),
/// against Burn's autodiff of `Σ c·h + β Σ E²` on each batch: batches A, B, A, so that a buffer
/// still holding the last batch's rows is reused for one with other rows; without and with L2.
/// The penalty against `β Σ E²` summed here in f64.
fn dense_steps(device: Device) {
    let ad = device.autodiff();
    let model = TextClassifierConfig::new(50, 2)
        .with_embed_dim(6)
        .init_seeded(&ad, 7);
    let item = |ids: &[u32], label| TextItem {
        ids: ids.to_vec(),
        words: ids.len(),
        label,
    };
    let other = vec![
        item(&[1, 2, 2, 48], 0),
        item(&[9, 30], 1),
        item(&[2, 44, 45], 1),
    ];
    let d = 6;
    let table: Vec<f32> = to_vec(model.embedding_weight());
    for beta in [0.0, 0.05] {
        let mut steps = TableGradient::new(beta);
        for items in [items(), other.clone(), items()] {
            let b = items.len();
            let batch = TextBatcher.batch(items, &ad);
            let c: Vec<f32> = (0..b * d)
                .map(|i| ((i * 5 % 9) as f32 - 4.0) / 3.0)
                .collect();
            let c = Tensor::<2>::from_data(TensorData::new(c, [b, d]), &ad);
            let e = model.embedding_weight();
            let loss = model.pool(&batch).mul(c.clone()).sum();
            let loss = loss.add(e.clone().square().sum().mul_scalar(beta));
            let want = to_vec(e.grad(&loss.backward()).unwrap());

            let penalty = steps.penalty(&model.embedding_weight().inner());
            let sum: f64 = table.iter().map(|&x| x as f64 * x as f64).sum();
            // (f64 on the CPU backends; an f32 sum through tensor ops elsewhere)
            assert!(
                (penalty - beta * sum).abs() <= 1e-6 * sum,
                "β={beta}: {penalty}"
            );
            let dr = RowBag::forward(&model, &batch).backward(c.inner());
            let got = to_vec(steps.gradient(dr, &batch.rows, 50));
            for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                assert!(
                    (w - g).abs() < 1e-6,
                    "β={beta}: ∂E flat[{i}]: {g} vs Burn's {w}"
                );
            }
        }
    }
}

fn every_pooling(device: Device) {
    dense_steps(device.clone());
    for tf in [TermFrequency::Raw, TermFrequency::Sublinear] {
        for bags in [Bags::One, Bags::Split] {
            check(device.clone(), tf, bags);
        }
    }
}

#[cfg(feature = "flex")]
#[test]
fn host_loops_match_burn() {
    every_pooling(Device::flex());
}

#[cfg(feature = "ndarray")]
#[test]
#[allow(deprecated)]
fn host_loops_match_burn_on_ndarray() {
    every_pooling(Device::ndarray());
}

#[cfg(feature = "wgpu")]
#[test]
fn tensor_ops_match_burn_on_wgpu() {
    every_pooling(Device::wgpu(DeviceKind::DefaultDevice));
}
