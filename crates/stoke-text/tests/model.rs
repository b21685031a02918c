//! The classifier: pooling semantics, configuration checks, backends.

mod common;

use burn::data::dataloader::batcher::Batcher;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use common::{cpu, to_vec};
use stoke_text::batch::{TextBatcher, TextItem};
use stoke_text::model::{Bags, Pooling, TermFrequency, TextClassifier, TextClassifierConfig};
use stoke_text::saved::SavedClassifier;
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};

/// A text of word features only.
fn item(ids: &[u32], label: usize) -> TextItem {
    TextItem {
        ids: ids.to_vec(),
        words: ids.len(),
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
    // Alone, the text [3, 7, 7] is the bag {3: 1, 7: 2}, with no padding. Next to a text of 6
    // distinct ids it is padded with 4 masked zeros; its logits must not change.
    let alone = TextBatcher.batch(vec![item(&[3, 7, 7], 0)], &device);
    let padded = TextBatcher.batch(
        vec![item(&[3, 7, 7], 0), item(&[1, 2, 3, 4, 5, 6], 1)],
        &device,
    );
    assert_eq!(padded.tokens.dims(), [2, 6]);
    assert_eq!(
        to_vec(padded.mask.clone()),
        vec![1., 2., 0., 0., 0., 0., 1., 1., 1., 1., 1., 1.]
    );
    let a = to_vec(model.forward_batch(&alone));
    let b = to_vec(model.forward_batch(&padded));
    for k in 0..3 {
        assert!((a[k] - b[k]).abs() < 1e-6, "{a:?} vs {b:?}");
    }
    // EmbeddingBag(mean), by hand from the table: the bag [3, 7, 7] pools to (E3 + 2·E7)/3
    // and the bag [3] (padded with two masked zeros beside it) to E3. Bags of different
    // lengths tell the mean from the sum (E3 + 2·E7) and from a division by the padded length.
    let table = to_vec(model.embedding_weight());
    let row = |id: usize| &table[id * 8..(id + 1) * 8];
    let bags = TextBatcher.batch(vec![item(&[3, 7, 7], 0), item(&[3], 1)], &device);
    let pooled = to_vec(model.pool(&bags));
    for c in 0..8 {
        let want = [(row(3)[c] + 2.0 * row(7)[c]) / 3.0, row(3)[c]];
        for (b, want) in want.into_iter().enumerate() {
            let got = pooled[b * 8 + c];
            assert!(
                (got - want).abs() < 1e-6,
                "bag {b} dim {c}: {got} vs {want}"
            );
        }
    }
    // The mean of [3, 7, 7] is also the mean of the bag [7, 3, 7] (order does not matter).
    let shuffled = TextBatcher.batch(vec![item(&[7, 3, 7], 0)], &device);
    let p1 = to_vec(model.pool(&alone));
    let p2 = to_vec(model.pool(&shuffled));
    for (x, y) in p1.iter().zip(&p2) {
        assert!((x - y).abs() < 1e-6);
    }
    // An empty bag pools to zeros (and does not produce NaN).
    let empty = TextBatcher.batch(vec![item(&[], 0)], &device);
    assert!(to_vec(model.pool(&empty)).iter().all(|&v| v == 0.0));
    assert!(
        to_vec(model.forward_batch(&empty))
            .iter()
            .all(|v| v.is_finite())
    );
}

/// `tf = "sublinear"` weighs an id that occurs c times by 1 + ln c, by hand from the table:
/// the text [3, 7, 7] pools to (E3 + (1 + ln 2)·E7) / (2 + ln 2), padded or not, and the same
/// through the row-sparse path. Raw counts would give (E3 + 2·E7)/3; a padding column weighed
/// 1 + ln 1 = 1 instead of 0 would change the padded text.
#[test]
fn sublinear_term_frequency_weighs_a_count_by_one_plus_its_log() {
    let device = cpu();
    let model = TextClassifierConfig::new(50, 3)
        .with_embed_dim(4)
        .with_batch_norm(false)
        .with_dropout(0.0)
        .with_tf(TermFrequency::Sublinear)
        .init(&device);
    let table = to_vec(model.embedding_weight());
    let row = |id: usize| &table[id * 4..(id + 1) * 4];
    let padded = TextBatcher.batch(
        vec![item(&[7, 3, 7], 0), item(&[1, 2, 3, 4, 5, 6], 1)],
        &device,
    );
    let pooled = to_vec(model.pool(&padded));
    let w7 = 1.0 + 2f32.ln();
    for c in 0..4 {
        let want = (row(3)[c] + w7 * row(7)[c]) / (1.0 + w7);
        assert!(
            (pooled[c] - want).abs() < 1e-6,
            "dim {c}: {} vs {want}",
            pooled[c]
        );
    }
}

/// `bags = "split"`, by hand from the table: a text with the word feature 3 and the character
/// n-grams [7, 7, 9] has the columns 3 | 7, 9 (counts 1 | 2, 1) and pools to
/// E3 + (2·E7 + E9)/3, the same through the row-sparse path; one bag gives (E3 + 2·E7 + E9)/4.
/// A character n-gram that collides with a word (id 3 in both) has a column in each bag.
#[test]
fn split_bags_add_the_mean_of_the_words_to_the_mean_of_the_character_ngrams() {
    let device = cpu();
    let config = TextClassifierConfig::new(50, 3)
        .with_embed_dim(4)
        .with_batch_norm(false)
        .with_dropout(0.0);
    let split = config.clone().with_bags(Bags::Split).init(&device);
    let table = to_vec(split.embedding_weight());
    let one = config
        .init(&device)
        .load_record(split.clone().into_record());
    let row = |id: usize| &table[id * 4..(id + 1) * 4];
    let text = |ids: &[u32], words: usize| TextItem {
        ids: ids.to_vec(),
        words,
        label: 0,
    };
    let batch = TextBatcher.batch(
        vec![text(&[3, 7, 9, 7], 1), text(&[3, 3], 1), text(&[], 0)],
        &device,
    );
    assert_eq!(to_vec(batch.mask.clone())[..3], [1., 2., 1.]);
    assert_eq!(
        to_vec(batch.char_ngram.clone())[..6],
        [0., 1., 1., 0., 1., 0.]
    );
    let (s, o) = (to_vec(split.pool(&batch)), to_vec(one.pool(&batch)));
    for c in 0..4 {
        let (e3, e7, e9) = (row(3)[c], row(7)[c], row(9)[c]);
        let want = e3 + (2.0 * e7 + e9) / 3.0;
        assert!((s[c] - want).abs() < 1e-6, "dim {c}: {} vs {want}", s[c]);
        let want = (e3 + 2.0 * e7 + e9) / 4.0;
        assert!(
            (o[c] - want).abs() < 1e-6,
            "one bag, dim {c}: {} vs {want}",
            o[c]
        );
        // [3 | 3]: E3 in each bag.
        assert!((s[4 + c] - 2.0 * e3).abs() < 1e-6, "collision, dim {c}");
        assert_eq!(s[8 + c], 0.0, "an empty text pools to zeros");
    }
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
    let cfg = TextClassifierConfig::new(200, 3)
        .with_embed_dim(16)
        .with_hidden(32)
        .with_n_hidden(2)
        .with_dropout(0.0); // `init` seeds the mask streams from each backend's own generator
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

/// Every value `model` holds (weights, biases, BatchNorm's γ, β and running statistics), in
/// visiting order, as `f32` bits.
fn all_values(model: &TextClassifier) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .extend(param.val().into_data().iter::<f32>().map(f32::to_bits));
        }
    }
    let mut c = Collect(Vec::new());
    model.visit(&mut c);
    c.0
}

/// Trains the seeded classifier (two hidden blocks with BatchNorm and dropout 0.2) with stoke's
/// Adam for six mini-batches on `device`: its initial values and the six losses.
fn seeded_run(device: Device) -> (Vec<u32>, Vec<f64>) {
    let ad = device.autodiff();
    let cfg = TextClassifierConfig::new(200, 3)
        .with_embed_dim(16)
        .with_hidden(32)
        .with_n_hidden(2);
    let mut model = cfg.init_seeded(&ad, 17);
    let initial = all_values(&model);
    model.seed_dropout(5);
    let mut optim = stoke_optim::AdamConfig::new().init();
    let mut losses = Vec::new();
    for step in 0..6u32 {
        // Eight texts of 1–8 ids, different every step.
        let items = (0..8u32)
            .map(|i| {
                let ids: Vec<u32> = (0..=i)
                    .map(|t| (step * 37 + i * 11 + t * 7) % 200)
                    .collect();
                item(&ids, ((i + step) % 3) as usize)
            })
            .collect();
        let (loss, _) = model.loss(&TextBatcher.batch(items, &ad));
        losses.push(loss.clone().into_scalar::<f64>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.01, model, grads);
    }
    (initial, losses)
}

/// `b` follows `a`: bit-identical initial values and every loss within 1e-4 relative.
fn assert_same_trajectory(a: &(Vec<u32>, Vec<f64>), b: &(Vec<u32>, Vec<f64>), what: &str) {
    assert_eq!(a.0.len(), b.0.len(), "{what}: number of values");
    let differ = a.0.iter().zip(&b.0).filter(|(x, y)| x != y).count();
    assert_eq!(differ, 0, "{what}: {differ} initial values differ");
    for (step, (x, y)) in a.1.iter().zip(&b.1).enumerate() {
        let rel = (x - y).abs() / x.abs();
        assert!(
            rel <= 1e-4,
            "{what}: step {step} loss {x} vs {y} ({rel:.2e} relative)"
        );
    }
}

/// The same seed gives the same experiment on every backend: the initial weights and the
/// dropout masks are drawn on the host, so flex, ndarray and wgpu start from the same bits
/// and their losses differ only by float rounding. Within one backend a rerun is bit-identical
/// and another seed gives other weights.
#[test]
fn seeded_training_is_the_same_experiment_on_every_backend() {
    let flex = seeded_run(cpu());
    assert_eq!(
        flex,
        seeded_run(cpu()),
        "a rerun on the CPU backend is bit-identical"
    );
    assert!(flex.1.iter().all(|l| l.is_finite()), "{:?}", flex.1);
    let first = TextClassifierConfig::new(200, 3).init_seeded(&cpu(), 17);
    let other = TextClassifierConfig::new(200, 3).init_seeded(&cpu(), 18);
    assert_ne!(all_values(&first), all_values(&other), "seeds 17 and 18");
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)]
    assert_same_trajectory(&flex, &seeded_run(Device::ndarray()), "cpu vs ndarray");
    #[cfg(feature = "wgpu")]
    assert_same_trajectory(&flex, &seeded_run(common::wgpu()), "cpu vs wgpu");
}

/// A small saved classifier over a fitted vocabulary, in a fresh directory.
fn saved_classifier(tag: &str, embed_dim: usize) -> (std::path::PathBuf, SavedClassifier) {
    let device = cpu();
    device.seed(3);
    let mut tokenizer =
        Tokenizer::new(TokenizerConfig::vocabulary(1, 100).without_char_ngrams()).unwrap();
    tokenizer.fit(["good film", "bad film", "good plot"]);
    let config = TextClassifierConfig::new(tokenizer.num_ids(), 2)
        .with_embed_dim(embed_dim)
        .with_hidden(4);
    let saved = SavedClassifier {
        model: config.init(&device),
        tokenizer,
        classes: vec!["neg".into(), "pos".into()],
        config,
        temperature: Default::default(),
    };
    let dir = common::temp_dir(tag).join("model");
    saved.save(&dir).unwrap();
    (dir, saved)
}

/// Loads `dir`, which must fail; the message, checked to be one line naming `file`.
fn load_error(dir: &std::path::Path, file: &str) -> String {
    let err = SavedClassifier::load(dir, &cpu()).unwrap_err().to_string();
    assert!(!err.contains('\n'), "not one line: {err}");
    assert!(err.contains(file), "does not name {file}: {err}");
    err
}

fn edit(dir: &std::path::Path, file: &str, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, f(bytes)).unwrap();
}

fn edit_json(dir: &std::path::Path, file: &str, f: impl FnOnce(&mut serde_json::Value)) {
    edit(dir, file, |bytes| {
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    });
}

#[test]
fn hostile_saved_classifiers_get_one_line_errors_naming_the_file() {
    let (dir, saved) = saved_classifier("hostile", 8);
    let loaded = SavedClassifier::load(&dir, &cpu()).unwrap();
    assert_eq!(
        loaded.predict(&["good film"]),
        saved.predict(&["good film"])
    );
    let made = std::cell::RefCell::new(vec![dir.clone()]);
    let fresh = |tag: &str| {
        let (dir, _) = saved_classifier(tag, 8);
        made.borrow_mut().push(dir.clone());
        dir
    };
    let unhashed = |tag: &str| {
        let dir = fresh(tag);
        std::fs::remove_file(dir.join("checksums.json")).unwrap();
        dir
    };
    let mut messages = Vec::new();
    let mut expect = |dir: &std::path::Path, file: &str, what: &str| {
        let err = load_error(dir, file);
        assert!(err.contains(what), "{file}: expected {what:?} in {err}");
        messages.push(err);
    };

    // With checksums.json: any changed byte of any file, and a truncation.
    for file in ["model.bpk", "config.json", "tokenizer.json", "classes.json"] {
        let dir = fresh("flip");
        edit(&dir, file, |mut b| {
            let i = b.len() / 2;
            b[i] ^= 0x04;
            b
        });
        expect(&dir, file, "changed or damaged since it was saved");
        let dir = fresh("cut");
        edit(&dir, file, |b| b[..b.len() - 3].to_vec());
        expect(&dir, file, "changed or damaged since it was saved");
    }
    let dir = fresh("sums");
    edit(&dir, "checksums.json", |b| b[..b.len() / 2].to_vec());
    expect(&dir, "checksums.json", "EOF while parsing");
    let dir = fresh("sums-extra");
    edit_json(&dir, "checksums.json", |v| {
        v["weights.bin"] = "fnv1a-64:0000000000000000".into()
    });
    expect(
        &dir,
        "checksums.json",
        "\"weights.bin\", which is not a file",
    );
    let dir = fresh("sums-bad");
    edit_json(&dir, "checksums.json", |v| v["model.bpk"] = "crc:12".into());
    expect(&dir, "checksums.json", "is not fnv1a-64:<16 hex digits>");

    // Without checksums.json (edited by hand, or saved before it existed): every file is still
    // checked by what it must hold.
    let dir = unhashed("model-cut");
    edit(&dir, "model.bpk", |b| b[..b.len() - 3].to_vec());
    expect(&dir, "model.bpk", "Record I/O error");
    let dir = unhashed("model-header");
    edit(&dir, "model.bpk", |mut b| {
        b[1] ^= 0xff;
        b
    });
    expect(&dir, "model.bpk", "Record I/O error");
    // Another model size's weights (embed_dim 16 instead of 8).
    let (other, _) = saved_classifier("other-size", 16);
    made.borrow_mut().push(other.clone());
    let dir = unhashed("model-size");
    std::fs::copy(other.join("model.bpk"), dir.join("model.bpk")).unwrap();
    expect(&dir, "model.bpk", "(weights of another model size?)");
    // Weights that are not finite.
    let dir = unhashed("model-nan");
    SavedClassifier {
        model: saved
            .model
            .clone()
            .map_embedding(|t| t.mul_scalar(f32::NAN)),
        ..SavedClassifier::load(&dir, &cpu()).unwrap()
    }
    .save(&dir)
    .unwrap();
    expect(
        &dir,
        "model.bpk",
        "`embedding.weight` holds a value that is not finite",
    );
    // config.json: truncated, a setting out of range, another size than the weights, num_ids
    // other than the vocabulary's.
    let dir = unhashed("config-cut");
    edit(&dir, "config.json", |b| b[..b.len() / 2].to_vec());
    expect(&dir, "config.json", "EOF while parsing");
    let dir = unhashed("config-dropout");
    edit_json(&dir, "config.json", |v| v["dropout"] = 1.5.into());
    expect(&dir, "config.json", "dropout = 1.5");
    let dir = unhashed("config-dim");
    edit_json(&dir, "config.json", |v| v["embed_dim"] = 16.into());
    expect(&dir, "model.bpk", "(weights of another model size?)");
    // A huge hidden layer is refused before anything of its size is allocated.
    let dir = unhashed("config-huge");
    edit_json(&dir, "config.json", |v| {
        v["hidden"] = 1_000_000_000_000u64.into()
    });
    expect(&dir, "model.bpk", "(weights of another model size?)");
    // The same number of values in other shapes: the weights' own shape check.
    let same_count = (1..64)
        .flat_map(|e| (1..64).map(move |h| (e, h)))
        .find(|&(e, h)| {
            let c = saved.config.clone().with_embed_dim(e).with_hidden(h);
            (e, h) != (8, 4) && c.saved_values() == saved.config.saved_values()
        });
    if let Some((e, h)) = same_count {
        let dir = unhashed("config-swap");
        edit_json(&dir, "config.json", |v| {
            v["embed_dim"] = e.into();
            v["hidden"] = h.into();
        });
        expect(&dir, "model.bpk", "shape mismatch");
    }
    let dir = unhashed("config-ids");
    let n = saved.config.num_ids;
    edit_json(&dir, "config.json", |v| v["num_ids"] = (n - 1).into());
    let want = format!("gives {n} ids but config.json says num_ids = {}", n - 1);
    expect(&dir, "tokenizer.json", &want);
    // tokenizer.json: more vocabulary than num_ids (ids ≥ num_ids), a repeated entry, a
    // vocabulary in hashing mode, truncated.
    let dir = unhashed("vocab-long");
    edit_json(&dir, "tokenizer.json", |v| {
        v["vocabulary"]
            .as_array_mut()
            .unwrap()
            .push("w:extra".into())
    });
    let want = format!("gives {} ids but config.json says num_ids = {n}", n + 1);
    expect(&dir, "tokenizer.json", &want);
    let dir = unhashed("vocab-repeat");
    edit_json(&dir, "tokenizer.json", |v| {
        let first = v["vocabulary"][0].clone();
        v["vocabulary"][2] = first;
    });
    expect(&dir, "tokenizer.json", "repeats an earlier entry");
    let dir = unhashed("vocab-hashing");
    edit_json(&dir, "tokenizer.json", |v| {
        v["config"]["features"] = serde_json::json!({"kind": "hashing", "buckets": 4})
    });
    expect(&dir, "tokenizer.json", "must be empty in hashing mode");
    // A field name with a newline in it: the parser quotes it, the message stays one line.
    let dir = unhashed("tokenizer-newline");
    edit(&dir, "tokenizer.json", |b| {
        String::from_utf8(b)
            .unwrap()
            .replacen("\"max_chars\"", "\"max\\nchars\"", 1)
            .into_bytes()
    });
    expect(&dir, "tokenizer.json", "unknown field `max\\nchars`");
    let dir = unhashed("tokenizer-cut");
    edit(&dir, "tokenizer.json", |b| b[..b.len() - 2].to_vec());
    expect(&dir, "tokenizer.json", "EOF while parsing");
    // classes.json: another class count.
    let dir = unhashed("classes");
    edit_json(&dir, "classes.json", |v| {
        v.as_array_mut().unwrap().push("maybe".into())
    });
    expect(
        &dir,
        "classes.json",
        "has 3 classes but config.json says n_classes = 2",
    );
    let dir = unhashed("missing");
    std::fs::remove_file(dir.join("model.bpk")).unwrap();
    expect(&dir, "model.bpk", "No such file");
    for m in &messages {
        println!("{m}");
    }
    println!("{} hostile saved classifiers refused", messages.len());
    for dir in made.into_inner() {
        std::fs::remove_dir_all(dir.parent().unwrap()).ok();
    }
}

/// `Pooling::suited_to` looks at the median text's word features, from 64 on a passage:
/// medians worked by hand (the upper median of an even count).
#[test]
fn the_pooling_follows_the_median_texts_length() {
    let texts = |words: &[usize]| -> Vec<TextItem> {
        words
            .iter()
            .map(|&w| TextItem {
                ids: vec![1; w + 3], // three character n-grams after the words
                words: w,
                label: 0,
            })
            .collect()
    };
    let pooled = |words: &[usize]| {
        let p = Pooling::suited_to(&texts(words));
        (p.bags, p.tf, p.median_words)
    };
    let passage = (Bags::Split, TermFrequency::Sublinear);
    let sentence = (Bags::One, TermFrequency::Raw);
    // One long text among single words: the mean (67) is a passage's, the median (1) is not.
    assert_eq!(pooled(&[1, 1, 200]), (sentence.0, sentence.1, 1));
    assert_eq!(pooled(&[100, 63, 64]), (passage.0, passage.1, 64));
    assert_eq!(pooled(&[63, 100, 63]), (sentence.0, sentence.1, 63));
    // [10, 70, 80, 90] → the upper median, 80.
    assert_eq!(pooled(&[90, 10, 80, 70]), (passage.0, passage.1, 80));
    assert_eq!(pooled(&[]), (sentence.0, sentence.1, 0));
}
