//! The classifier: pooling semantics, configuration checks, backends.

mod common;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use common::{cpu, to_vec};
use stoke_text::batch::{TextBatcher, TextItem};
use stoke_text::model::TextClassifierConfig;

fn item(ids: &[u32], label: usize) -> TextItem {
    TextItem {
        ids: ids.to_vec(),
        label,
    }
}

#[test]
fn mean_pooling_is_embedding_bag_mean_and_padding_does_not_matter() {
    let device = cpu();
    device.seed(1);
    let model = TextClassifierConfig::new(50, 3)
        .with_embed_dim(8)
        .with_batch_norm(false)
        .with_dropout(0.0)
        .init(&device);
    // Alone, the text [3, 7, 7] has no padding. Next to a text of 6 ids it is padded with
    // 3 masked zeros; its logits must not change.
    let alone = TextBatcher.batch(vec![item(&[3, 7, 7], 0)], &device);
    let padded = TextBatcher.batch(
        vec![item(&[3, 7, 7], 0), item(&[1, 2, 3, 4, 5, 6], 1)],
        &device,
    );
    assert_eq!(padded.tokens.dims(), [2, 6]);
    assert_eq!(
        to_vec(padded.mask.clone()),
        vec![1., 1., 1., 0., 0., 0., 1., 1., 1., 1., 1., 1.]
    );
    let a = to_vec(model.forward_batch(&alone));
    let b = to_vec(model.forward_batch(&padded));
    for k in 0..3 {
        assert!((a[k] - b[k]).abs() < 1e-6, "{a:?} vs {b:?}");
    }
    // EmbeddingBag(mean) of [3, 7, 7] = (E3 + 2·E7)/3, which is also the mean of the bag
    // [7, 3, 7] (order does not matter).
    let shuffled = TextBatcher.batch(vec![item(&[7, 3, 7], 0)], &device);
    let p1 = to_vec(model.pool(alone.tokens.clone(), alone.mask.clone()));
    let p2 = to_vec(model.pool(shuffled.tokens, shuffled.mask));
    for (x, y) in p1.iter().zip(&p2) {
        assert!((x - y).abs() < 1e-6);
    }
    // An empty bag pools to zeros (and does not produce NaN).
    let empty = TextBatcher.batch(vec![item(&[], 0)], &device);
    assert!(
        to_vec(model.pool(empty.tokens.clone(), empty.mask.clone()))
            .iter()
            .all(|&v| v == 0.0)
    );
    assert!(
        to_vec(model.forward_batch(&empty))
            .iter()
            .all(|v| v.is_finite())
    );
}

#[test]
fn loss_is_mean_cross_entropy() {
    let device = cpu();
    let model = TextClassifierConfig::new(20, 2)
        .with_n_hidden(0)
        .with_dropout(0.0)
        .init(&device);
    let batch = TextBatcher.batch(vec![item(&[1, 2], 0), item(&[3], 1)], &device);
    let (loss, logits) = model.loss(&batch);
    // −(1/2) [log softmax(z_0)[0] + log softmax(z_1)[1]], computed here in f64.
    let z = to_vec(logits);
    let lse = |a: f32, b: f32| {
        let m = a.max(b) as f64;
        m + ((a as f64 - m).exp() + (b as f64 - m).exp()).ln()
    };
    let expected = -0.5 * ((z[0] as f64 - lse(z[0], z[1])) + (z[3] as f64 - lse(z[2], z[3])));
    assert!((loss.into_scalar::<f32>() as f64 - expected).abs() < 1e-5);
}

#[test]
fn invalid_configs_are_rejected() {
    let ok = TextClassifierConfig::new(100, 2);
    assert!(ok.validate().is_ok());
    assert_eq!(ok.embed_dim, 64);
    assert_eq!(ok.hidden, 128);
    assert_eq!(ok.n_hidden, 1);
    assert!(ok.batch_norm);
    assert_eq!(ok.dropout, 0.2);
    assert_eq!(ok.init_scale, 1.0);
    assert_eq!(ok.bn_momentum, 0.1);
    assert_eq!(ok.embed_init_std, 0.01);
    for bad in [
        TextClassifierConfig::new(0, 2),
        TextClassifierConfig::new(10, 1),
        ok.clone().with_embed_dim(0),
        ok.clone().with_hidden(0),
        ok.clone().with_dropout(1.0),
        ok.clone().with_dropout(-0.1),
        ok.clone().with_dropout(f64::NAN),
        ok.clone().with_init_scale(0.0),
        ok.clone().with_init_scale(f64::INFINITY),
        ok.clone().with_bn_momentum(1.5),
        ok.clone().with_embed_init_std(0.0),
        ok.clone().with_embed_init_std(-0.01),
        ok.clone().with_embed_init_std(f64::NAN),
    ] {
        assert!(bad.validate().is_err(), "{bad:?} accepted");
        assert!(bad.try_init(&cpu()).is_err());
    }
    // hidden = 0 is fine without hidden blocks.
    assert!(
        ok.clone()
            .with_hidden(0)
            .with_n_hidden(0)
            .validate()
            .is_ok()
    );
}

#[test]
fn init_scale_multiplies_linear_initialisation() {
    // Kaiming-uniform with gain s/√3 draws from U(−s/√d_in, s/√d_in). With d_in = 64:
    // scale 1 → bound 0.125, scale 10 → bound 1.25.
    let device = cpu();
    let weights = |scale: f64| {
        device.seed(3);
        let m = TextClassifierConfig::new(10, 2)
            .with_embed_dim(64)
            .with_hidden(256)
            .with_init_scale(scale)
            .init(&device);
        to_vec(m.linear_weights()[0].clone())
    };
    let (w1, w10) = (weights(1.0), weights(10.0));
    let max = |w: &[f32]| w.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(max(&w1) <= 0.125 + 1e-6 && max(&w1) > 0.12);
    assert!(max(&w10) <= 1.25 + 1e-5 && max(&w10) > 1.2);
}

#[test]
fn embedding_rows_start_from_normal_with_embed_init_std() {
    // 2,000 × 64 = 128,000 draws of N(0, σ²): the sample standard deviation is within
    // σ·(1 ± 0.01) (its own standard error is σ/√(2n) ≈ 0.002σ) and the mean within
    // 4σ/√n ≈ 0.011σ of zero.
    let device = cpu();
    for sigma in [0.01f64, 1.0] {
        device.seed(5);
        let m = TextClassifierConfig::new(2000, 2)
            .with_embed_init_std(sigma)
            .init(&device);
        let w = to_vec(m.embedding_weight());
        let n = w.len() as f64;
        let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((sd / sigma - 1.0).abs() < 0.01, "σ {sigma}: sample sd {sd}");
        assert!(mean.abs() < 0.011 * sigma, "σ {sigma}: sample mean {mean}");
    }
}

/// The same weights on the CPU backend and on wgpu give the same logits, loss and
/// gradients (≤ 1e-4).
#[cfg(feature = "wgpu")]
#[test]
fn cpu_and_wgpu_agree_on_forward_and_backward() {
    use burn::module::Module;
    let cfg = TextClassifierConfig::new(200, 3)
        .with_embed_dim(16)
        .with_hidden(32)
        .with_n_hidden(2)
        .with_dropout(0.0); // dropout masks come from each backend's own RNG
    let run = |device: Device, record: Option<burn::store::ModuleRecord>| {
        let ad = device.autodiff();
        ad.seed(11);
        let mut model = cfg.init(&ad);
        if let Some(r) = record {
            model = model.load_record(r);
        }
        let items = vec![
            item(&[1, 5, 9, 9, 120], 0),
            item(&[2, 3], 1),
            item(&[199, 0, 44, 45, 46, 47, 48], 2),
            item(&[7], 1),
        ];
        let batch = TextBatcher.batch(items, &ad);
        let (loss, logits) = model.loss(&batch);
        let grads = loss.backward();
        let mut g = Vec::new();
        g.extend(to_vec(model.embedding_weight().grad(&grads).unwrap()));
        for w in model.linear_weights() {
            g.extend(to_vec(w.grad(&grads).unwrap()));
        }
        let record = model.into_record();
        (to_vec(logits), g, record)
    };
    let (cpu_logits, cpu_grads, record) = run(cpu(), None);
    let (gpu_logits, gpu_grads, _) = run(common::wgpu(), Some(record));
    assert_eq!(cpu_grads.len(), gpu_grads.len());
    let max_diff =
        |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        max_diff(&cpu_logits, &gpu_logits) <= 1e-4,
        "logits differ by {}",
        max_diff(&cpu_logits, &gpu_logits)
    );
    assert!(
        max_diff(&cpu_grads, &gpu_grads) <= 1e-4,
        "gradients differ by {}",
        max_diff(&cpu_grads, &gpu_grads)
    );
    assert!(cpu_grads.iter().any(|&g| g != 0.0));
}
