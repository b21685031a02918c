//! Same seed, same backend → bit-identical training.
//!
//! Kept alone in its own test binary: Burn's CPU random generator is shared by the whole
//! process, so tests drawing random numbers on other threads of the same binary would
//! interleave with this one.

mod common;

use common::{cpu, to_vec};
use stoke_text::batch::TextItem;
use stoke_text::model::TextClassifierConfig;

fn item(ids: &[u32], label: usize) -> TextItem {
    TextItem {
        ids: ids.to_vec(),
        label,
    }
}

#[test]
fn same_seed_same_training_is_bit_identical() {
    use std::sync::Arc;
    use stoke_text::train::{TrainOptions, train};
    let items: Arc<Vec<TextItem>> = Arc::new(
        (0..40)
            .map(|i| item(&[(i % 7) as u32, (i % 5 + 7) as u32, 13], (i % 2) as usize))
            .collect(),
    );
    let cfg = TextClassifierConfig::new(16, 2)
        .with_embed_dim(8)
        .with_hidden(8);
    let opts = TrainOptions {
        epochs: 2,
        batch_size: 8,
        learning_rate: 0.01,
        seed: 5,
        drop_last: false,
        keep_best: false,
    };
    let run = || {
        let (m, r) = train(&cfg, items.clone(), None, &opts, &cpu()).unwrap();
        (to_vec(m.linear_weights()[0].clone()), r[1].train_loss)
    };
    let (a, la) = run();
    let (b, lb) = run();
    assert_eq!(a, b);
    assert_eq!(la.to_bits(), lb.to_bits());
}
