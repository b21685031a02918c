//! # stoke-text
//!
//! Labelled text for the stoke experiments: three bundled real data sets and loaders for
//! user files ([`data`]), a Unicode-aware tokenizer ([`tokenizer`]), mini-batching on
//! Burn's `Batcher` / `DataLoaderBuilder` ([`batch`]), an embedding-bag text classifier
//! ([`model`]), saving and loading ([`saved`]), metrics ([`metrics`]) and a small Adam
//! training loop ([`train`]).
//!
//! ## Conventions
//!
//! * **Backends.** Nothing names a backend type; everything takes a `burn::tensor::Device`
//!   (`Device::flex()` on the CPU, `Device::wgpu(DeviceKind::DefaultDevice)` with the
//!   `wgpu` feature). Train on `device.autodiff()`, infer with `model.valid()`.
//! * **Determinism.** Splits ([`data::split_stratified`]) and batch orders
//!   ([`batch::epoch_order`]) come from ChaCha8 with explicit seeds and are identical on
//!   every machine; hashed feature ids use FNV-1a and need no fitting. With the same seed
//!   and backend, CPU training runs are bit-identical.
//! * **Errors.** Bad input yields a [`data::DataError`] naming file, line and field, never
//!   a panic and never a silently dropped row. Invalid settings are rejected by the
//!   `validate` methods ([`ConfigError`]).
//! * **Labels** are class indices into a `classes: Vec<String>` list.
//!
//! ## Model
//!
//! `embedding [num_ids, embed_dim]` → mean pooling over each text's ids (EmbeddingBag mean;
//! padding is masked out) → `n_hidden` × (`Linear → BatchNorm? → ReLU → Dropout?`) →
//! `Linear` to the classes. BatchNorm uses Burn's module (PyTorch momentum convention:
//! Keras `momentum = 0.99` is Burn `0.01`; batch statistics with the biased variance in
//! training, running statistics in eval); Dropout is Burn's inverted dropout.
//!
#![doc = include_str!("../RESULTS.md")]
#![warn(missing_docs)]

pub mod batch;
pub mod data;
pub mod metrics;
pub mod model;
mod rng;
pub mod saved;
pub mod tokenizer;
pub mod train;

pub use tokenizer::ConfigError;
