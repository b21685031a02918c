//! # stoke-course
//!
//! The course as one explorable, self-contained page (`stoke course`): no network, every
//! number and path computed by stoke's own code when the page is written, never re-computed
//! in the browser.
//!
//! 1. [`race`]: optimizers racing on 2-D loss surfaces (stoke's optimizers, schedules and
//!    clipping through [`stoke_surfaces::trace_from`]), with play / pause / single step / reset,
//!    an iteration scrubber, the loss against the iteration on a log scale, and the selected
//!    optimizer's update equations with its state at the scrubbed step;
//! 2. [`minibatch`]: `N` rows in batches of `b` → `⌈N/b⌉` iterations an epoch, in stoke's
//!    loader's order;
//! 3. [`batchnorm`]: the course's worked table through Burn's BatchNorm in training mode, sample
//!    versus biased standard deviation, running statistics and the two momentum conventions;
//! 4. [`dropout`]: a sampled mask and the `1/(1 − p)` scaling;
//! 5. [`curves`]: the `l2` and `overfitting` recipes' loss curves from their `metrics.csv`;
//!
//! in Thai or English ([`Lang`]). Test hooks live in a hidden element (`#test-state`), never on
//! screen; every control is a labelled, keyboard-reachable form element.

pub mod batchnorm;
pub mod curves;
pub mod dropout;
mod error;
mod lang;
pub mod minibatch;
mod page;
pub mod race;

pub use error::CourseError;
pub use lang::Lang;
pub use page::{CourseOptions, CourseSummary, MAX_COURSE_BYTES, course_data, render, write_course};
