//! Section 2: mini-batching. `N` rows in batches of `b` take `⌈N/b⌉` iterations an epoch (the
//! last batch smaller unless it is dropped), in the seeded order stoke's loader uses
//! (`stoke_text::batch::epoch_order`, counted by `iterations_per_epoch`).

use serde_json::{Value, json};
use stoke_text::batch::{epoch_order, iterations_per_epoch};

/// Largest `N` of the control.
pub const MAX_ROWS: usize = 40;
/// Largest `b` of the control.
pub const MAX_BATCH: usize = 16;

/// The course's example (15 rows, batch 3) and the control's table: for every `N ≤ 40` the
/// epoch's order, and for every `b ≤ 16` the iterations with and without the last partial batch.
pub fn minibatch(seed: u64) -> Value {
    let orders: Vec<Vec<usize>> = (1..=MAX_ROWS).map(|n| epoch_order(n, seed, 0)).collect();
    let counts: Vec<Vec<[usize; 2]>> = (1..=MAX_ROWS)
        .map(|n| {
            (1..=MAX_BATCH)
                .map(|b| {
                    [
                        iterations_per_epoch(n, b, false),
                        iterations_per_epoch(n, b, true),
                    ]
                })
                .collect()
        })
        .collect();
    json!({
        "rows": 15,
        "batch": 3,
        "seed": seed,
        "max_rows": MAX_ROWS,
        "max_batch": MAX_BATCH,
        "orders": orders,
        "counts": counts,
    })
}
