//! # stoke-text
//!
//! Labelled text for the stoke experiments: three bundled real data sets and loaders for
//! user files ([`data`]), a Unicode-aware tokenizer ([`tokenizer`]), mini-batching on
//! Burn's `Batcher` / `DataLoaderBuilder` ([`batch`]), an embedding-bag text classifier
//! ([`model`]), saving and loading ([`saved`]) and metrics ([`metrics`]). Training is
//! `stoke_recipes::train` (with stoke's optimizers).
//!
//! ## Conventions
//!
//! * **Backends.** Nothing names a backend type; everything takes a `burn::tensor::Device`
//!   (`Device::flex()` on the CPU, `Device::wgpu(DeviceKind::DefaultDevice)` with the
//!   `wgpu` feature). Train on `device.autodiff()`, infer with `model.valid()`.
//! * **Determinism.** Splits ([`data::split_stratified`]), batch orders
//!   ([`batch::epoch_order`]), initial weights
//!   ([`TextClassifierConfig::init_seeded`](model::TextClassifierConfig::init_seeded)) and
//!   dropout masks ([`dropout::HostDropout`]) come from ChaCha8 with explicit seeds, drawn on
//!   the host, and are identical on every machine and backend; hashed feature ids use FNV-1a
//!   and need no fitting. With the same seed and backend, CPU training runs are bit-identical;
//!   across backends they differ only by float rounding.
//! * **Errors.** Bad input yields a [`data::DataError`] naming file, line and field, never
//!   a panic and never a silently dropped row. Invalid settings are rejected by the
//!   `validate` methods ([`InvalidSetting`] names the field and the rule).
//! * **Labels** are class indices into a `classes: Vec<String>` list.
//!
//! ## Model
//!
//! `embedding [num_ids, embed_dim]` → mean pooling over each text's ids (EmbeddingBag mean;
//! padding is masked out) → `n_hidden` × (`Linear → BatchNorm? → ReLU → Dropout?`) →
//! `Linear` to the classes. BatchNorm uses Burn's module (PyTorch momentum convention:
//! Keras `momentum = 0.99` is Burn `0.01`; batch statistics with the biased variance in
//! training, running statistics in eval); Dropout is inverted dropout with host-drawn masks
//! ([`dropout::HostDropout`]).
//!
//! ## Typical use
//!
//! ```ignore
//! use std::sync::Arc;
//! use burn::prelude::*;
//! use stoke_text::{batch, data, model::TextClassifierConfig, saved::SavedClassifier, tokenizer};
//!
//! let splits = data::load_bundled(data::Bundled::SentimentUci)?;      // fixed 80/10/10 split
//! let mut tok = tokenizer::Tokenizer::new(tokenizer::TokenizerConfig::default())?;
//! tok.fit(splits.train.examples.iter().map(|e| e.text.as_str()));      // no-op when hashing
//! let train_items = Arc::new(batch::encode_all(&tok, &splits.train));
//! let valid_items = Arc::new(batch::encode_all(&tok, &splits.valid));
//! let config = TextClassifierConfig::new(tok.num_ids(), splits.train.classes.len());
//! let device = Device::flex();
//! let model = config.init_seeded(&device.clone().autodiff(), 42);     // same weights on any backend
//! // One Burn DataLoader per epoch, seeded order that changes per epoch (stoke_recipes::train
//! // is this loop with stoke's optimizers, checkpoints and resume).
//! let opts = batch::LoaderOptions::new(32, 42);                        // .with_drop_last(true)
//! for epoch in 0..5 {
//!     for b in batch::epoch_loader(train_items.clone(), &opts, epoch, &device.clone().autodiff()).iter() {
//!         let (loss, _logits) = model.loss(&b?);
//!         // loss.backward(), optimizer step ...
//!     }
//! }
//! let temperature = Default::default(); // or calibration::Temperature::fit(valid logits, labels)
//! SavedClassifier { model: model.valid(), tokenizer: tok, classes: splits.train.classes, config, temperature }
//!     .save(std::path::Path::new("out/sentiment"))?;
//! ```
//!
#![doc = include_str!("../RESULTS.md")]
#![warn(missing_docs)]

pub mod batch;
pub mod calibration;
pub mod data;
pub mod dropout;
mod error;
pub mod evaluation;
pub mod metrics;
pub mod model;
mod rng;
pub mod saved;
pub mod tokenizer;

pub use error::InvalidSetting;
