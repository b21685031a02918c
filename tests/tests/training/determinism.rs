//! Same seed, same backend → bit-identical training through the engine.

use std::sync::Arc;

use stoke_recipes::data::Prepared;
use stoke_recipes::metrics::{Metric, Split};
use stoke_tests::bundled::{Setup, train_on};
use stoke_tests::in_own_process;
use stoke_text::batch::TextItem;
use stoke_text::model::ModelShape;
use stoke_text::tokenizer::{Tokenizer, TokenizerConfig};

fn item(ids: &[u32], label: usize) -> TextItem {
    TextItem {
        ids: ids.to_vec(),
        words: ids.len(),
        label,
    }
}

#[test]
fn same_seed_same_training_is_bit_identical() {
    in_own_process(
        module_path!(),
        "same_seed_same_training_is_bit_identical",
        || {
            let items: Arc<Vec<TextItem>> = Arc::new(
                (0..40)
                    .map(|i| item(&[(i % 7) as u32, (i % 5 + 7) as u32, 13], (i % 2) as usize))
                    .collect(),
            );
            let tokenizer = Tokenizer::new(TokenizerConfig::hashing(16)).unwrap();
            assert!(tokenizer.num_ids() >= 14, "the items' ids fit the table");
            let data = Prepared {
                name: "hand-made".into(),
                classes: vec!["a".into(), "b".into()],
                tokenizer,
                train: items.clone(),
                valid: items,
                test: Arc::new(Vec::new()),
            };
            let setup = Setup {
                model: ModelShape {
                    embed_dim: 8,
                    hidden: 8,
                    ..ModelShape::default()
                },
                seed: 5,
                ..Setup::hand_made(TokenizerConfig::hashing(16))
            };
            let run = || {
                let t = train_on(&setup, &data);
                let loss = t
                    .result
                    .records
                    .iter()
                    .find(|r| r.epoch == 2 && r.split == Split::Train && r.metric == Metric::Loss)
                    .expect("epoch 2's training loss")
                    .value;
                let weights: Vec<f32> = t.model.linear_weights()[0]
                    .clone()
                    .into_data()
                    .iter::<f32>()
                    .collect();
                (weights, loss)
            };
            let (a, la) = run();
            let (b, lb) = run();
            assert_eq!(a, b);
            assert_eq!(la.to_bits(), lb.to_bits());
        },
    );
}
