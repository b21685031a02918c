//! Row-sparse steps (`RowStep::step_rows`) against the dense step.
//!
//! * every row listed every step: the same bits as the dense step, for every optimizer;
//! * SGD and AdaGrad with some rows: the same bits as the dense step with zero gradients on the
//!   other rows, on every backend (the exact case);
//! * Momentum, RMSProp, AdaDelta with some rows: each row follows the dense step run on that row
//!   alone with only the gradients of the steps that used it (the lazy case); Adam: unused rows
//!   and their moments do not move.

mod common;

use burn::optim::Optimizer;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use common::{cpu_devices, devices};
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, MomentumConfig, MomentumForm, RmsPropConfig,
    RowOptimizer, RowStep,
};

const N: usize = 12;
const D: usize = 5;

/// The rows each step uses (strictly increasing), and a value for gradient element (step,row,col).
fn schedule() -> Vec<Vec<u32>> {
    vec![
        vec![0, 3, 4, 9],
        vec![3, 7],
        vec![0, 1, 2, 3, 11],
        vec![],
        vec![4, 9, 10],
        vec![3, 4, 5],
    ]
}

fn grad_value(step: usize, row: usize, col: usize) -> f32 {
    let x = ((step * 31 + row * 7 + col * 3) % 17) as f32 - 8.0;
    x * 0.05 * (1 + step % 3) as f32
}

fn table(device: &Device) -> Tensor<2> {
    let v: Vec<f32> = (0..N * D)
        .map(|i| ((i * 13) % 29) as f32 * 0.03 - 0.4)
        .collect();
    Tensor::from_data(TensorData::new(v, [N, D]), device)
}

fn rows_grad(step: usize, rows: &[u32], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = rows
        .iter()
        .flat_map(|&r| (0..D).map(move |c| grad_value(step, r as usize, c)))
        .collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), D]), device)
}

fn dense_grad(step: usize, rows: &[u32], device: &Device) -> Tensor<2> {
    let mut v = vec![0.0f32; N * D];
    for &r in rows {
        for c in 0..D {
            v[r as usize * D + c] = grad_value(step, r as usize, c);
        }
    }
    Tensor::from_data(TensorData::new(v, [N, D]), device)
}

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn run_rows<O: RowStep>(o: &O, schedule: &[Vec<u32>], device: &Device) -> Vec<f32> {
    let (mut w, mut state) = (table(device), None);
    for (step, rows) in schedule.iter().enumerate() {
        let (next, s) = o
            .step_rows(0.05, w, rows, rows_grad(step, rows, device), state)
            .unwrap();
        (w, state) = (next, s);
    }
    values(w)
}

fn run_dense<O: Optimizer>(o: &O, schedule: &[Vec<u32>], device: &Device) -> Vec<f32> {
    let (mut w, mut state) = (table(device), None);
    for (step, rows) in schedule.iter().enumerate() {
        let (next, s) = o.step(0.05, w, dense_grad(step, rows, device), state);
        (w, state) = (next, s);
    }
    values(w)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

macro_rules! all_rows_equal_dense {
    ($name:expr, $optim:expr) => {{
        let o = $optim;
        let every: Vec<Vec<u32>> = (0..6).map(|_| (0..N as u32).collect()).collect();
        for (backend, device) in cpu_devices() {
            let dense = run_dense(&o, &every, &device);
            assert_eq!(
                bits(&run_rows(&o, &every, &device)),
                bits(&dense),
                "{backend} {}: all rows listed must equal the dense step",
                $name
            );
            assert_ne!(dense, values(table(&device)), "{} did not move", $name);
        }
    }};
}

#[test]
fn listing_every_row_is_the_dense_step() {
    all_rows_equal_dense!("momentum", MomentumConfig::new().build());
    all_rows_equal_dense!(
        "momentum pytorch nesterov",
        MomentumConfig::new()
            .with_form(MomentumForm::PyTorch)
            .with_nesterov(true)
            .build()
    );
    all_rows_equal_dense!(
        "rmsprop centered",
        RmsPropConfig::new().with_centered(true).build()
    );
    all_rows_equal_dense!("adagrad", AdaGradConfig::new().build());
    all_rows_equal_dense!("adam amsgrad", AdamConfig::new().with_amsgrad(true).build());
    all_rows_equal_dense!("adadelta", AdaDeltaConfig::new().build());
}

#[test]
fn sgd_and_adagrad_rows_are_exact_on_every_backend() {
    let sgd = MomentumConfig::new().with_momentum(0.0).build();
    let adagrad = AdaGradConfig::pytorch().with_lr_decay(0.01).build();
    for (backend, device) in devices() {
        let s = schedule();
        assert_eq!(
            bits(&run_rows(&sgd, &s, &device)),
            bits(&run_dense(&sgd, &s, &device)),
            "{backend} sgd"
        );
        assert_eq!(
            bits(&run_rows(&adagrad, &s, &device)),
            bits(&run_dense(&adagrad, &s, &device)),
            "{backend} adagrad"
        );
    }
}

/// Row `r` of the lazy run equals the dense step on `[1, D]` fed only the steps that used `r`.
fn lazy_rows_follow_their_own_steps<O: RowStep>(name: &str, o: &O) {
    for (backend, device) in cpu_devices() {
        let s = schedule();
        let got = run_rows(o, &s, &device);
        let start = values(table(&device));
        for r in 0..N {
            let (mut w, mut state) = (
                Tensor::<2>::from_data(
                    TensorData::new(start[r * D..(r + 1) * D].to_vec(), [1, D]),
                    &device,
                ),
                None,
            );
            for (step, rows) in s.iter().enumerate() {
                if rows.contains(&(r as u32)) {
                    let g = rows_grad(step, &[r as u32], &device);
                    let (next, st) = o.step(0.05, w, g, state);
                    (w, state) = (next, st);
                }
            }
            assert_eq!(
                bits(&got[r * D..(r + 1) * D]),
                bits(&values(w)),
                "{backend} {name}: row {r}"
            );
        }
        // Rows 6 and 8 are never used: they keep their initial values.
        for r in [6, 8] {
            assert!(s.iter().all(|rows| !rows.contains(&(r as u32))));
            let span = r * D..(r + 1) * D;
            assert_eq!(got[span.clone()], start[span], "{backend} {name} row {r}");
        }
        assert_ne!(got, start, "{backend} {name}: nothing moved");
    }
}

#[test]
fn lazy_optimizers_update_a_row_only_when_it_is_used() {
    lazy_rows_follow_their_own_steps("momentum", &MomentumConfig::new().build());
    lazy_rows_follow_their_own_steps("rmsprop", &RmsPropConfig::new().with_momentum(0.5).build());
    lazy_rows_follow_their_own_steps("adadelta", &AdaDeltaConfig::new().build());
}

/// Adam's lazy step by hand (PyTorch's `SparseAdam`): a used row's moments start at 0, the
/// bias correction counts the table's steps `t`:
/// `m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − η·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)`.
fn adam_by_hand(w: f64, g: f64, m: f64, v: f64, t: i32, lr: f64) -> (f64, f64, f64) {
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let m = b1 * m + (1.0 - b1) * g;
    let v = b2 * v + (1.0 - b2) * g * g;
    let m_hat = m / (1.0 - f64::powi(b1, t));
    let v_hat = v / (1.0 - f64::powi(b2, t));
    (w - lr * m_hat / (v_hat.sqrt() + eps), m, v)
}

#[test]
fn lazy_adam_leaves_unused_rows_and_moments_alone() {
    let adam = AdamConfig::new().build();
    for (backend, device) in cpu_devices() {
        let w = table(&device);
        let start = values(w.clone());
        let (w, state) = adam
            .step_rows(0.1, w, &[1, 4], rows_grad(0, &[1, 4], &device), None)
            .unwrap();
        let before = values(w.clone());
        let m_before = values(state.as_ref().unwrap().buffers.exp_avg.clone());
        let (w, state) = adam
            .step_rows(0.1, w, &[2], rows_grad(1, &[2], &device), state)
            .unwrap();
        let state = state.unwrap();
        let (after, m_after) = (values(w), values(state.buffers.exp_avg.clone()));
        let v_after = values(state.buffers.exp_avg_sq.clone());
        for r in (0..N).filter(|&r| r != 2) {
            let span = r * D..(r + 1) * D;
            assert_eq!(
                after[span.clone()],
                before[span.clone()],
                "{backend} w row {r}"
            );
            assert_eq!(m_after[span.clone()], m_before[span], "{backend} m row {r}");
        }
        // The used rows' values against the hand derivation: rows 1 and 4 at t = 1, row 2
        // (first used at the table's second step) at t = 2 from zero moments.
        let close = |got: f32, want: f64, what: &str| {
            let tol = 1e-6 * want.abs().max(1.0);
            assert!(
                (got as f64 - want).abs() <= tol,
                "{backend} {what}: stoke {got} vs hand {want}"
            );
        };
        for (step, r, t) in [(0, 1, 1), (0, 4, 1), (1, 2, 2)] {
            for c in 0..D {
                let i = r * D + c;
                let g = grad_value(step, r, c) as f64;
                let (w, m, v) = adam_by_hand(start[i] as f64, g, 0.0, 0.0, t, 0.1);
                let w_got = if t == 1 { before[i] } else { after[i] };
                close(w_got, w, &format!("w[{r}, {c}]"));
                close(m_after[i], m, &format!("m[{r}, {c}]"));
                close(v_after[i], v, &format!("v[{r}, {c}]"));
            }
        }
        assert_eq!(state.step, 2, "{backend}: the table's steps are counted");
    }
}

#[test]
fn bad_rows_gradients_and_states_are_refused_with_an_error() {
    let (_, device) = cpu_devices().remove(0);
    let adam = AdamConfig::new().build();
    let step = |w: Tensor<2>, rows: &[u32], g: Tensor<2>, state| {
        adam.step_rows(0.1, w, rows, g, state)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let g = |rows: &[u32]| rows_grad(0, rows, &device);
    assert_eq!(
        step(table(&device), &[3, 1], g(&[3, 1]), None),
        "row ids must be strictly increasing: id 1 follows 3 at position 1"
    );
    assert_eq!(
        step(table(&device), &[2, 2], g(&[2, 2]), None),
        "row ids must be strictly increasing: id 2 follows 2 at position 1"
    );
    assert_eq!(
        step(table(&device), &[0, 12], g(&[0, 12]), None),
        "row id 12 is out of range: the table has 12 rows"
    );
    assert_eq!(
        step(table(&device), &[0, 1], g(&[0]), None),
        "the row gradient is [1, 5], but 2 row ids of a table of width 5 need [2, 5]"
    );
    let wide = Tensor::<2>::zeros([2, D + 1], &device);
    assert_eq!(
        step(table(&device), &[0, 1], wide, None),
        "the row gradient is [2, 6], but 2 row ids of a table of width 5 need [2, 5]"
    );
    // A state made on a table of another size.
    let small = Tensor::<2>::zeros([4, D], &device);
    let (_, other) = adam.step_rows(0.1, small, &[0], g(&[0]), None).unwrap();
    assert_eq!(
        step(table(&device), &[0], g(&[0]), other),
        "the optimizer state's `exp_avg` is [4, 5], but the table is [12, 5] (a state of another table?)"
    );
    // A gradient on another backend's device.
    if let Some((other, other_device)) = cpu_devices().get(1).cloned() {
        let msg = step(
            table(&device),
            &[0],
            rows_grad(0, &[0], &other_device),
            None,
        );
        assert!(
            msg.starts_with("the row gradient is on ") && msg.contains("but the table is on"),
            "{other}: {msg}"
        );
    }
}

/// Steps `o` through the schedule, with a refused step (unsorted rows) before each real one.
fn run_row_optimizer(o: &mut RowOptimizer, device: &Device) -> Vec<f32> {
    let mut w = table(device);
    for (step, rows) in schedule().iter().enumerate() {
        let refused = o.step(0.05, w.clone(), &[3, 1], rows_grad(step, &[3, 1], device));
        assert!(refused.is_err());
        w = o
            .step(0.05, w, rows, rows_grad(step, rows, device))
            .unwrap();
    }
    values(w)
}

#[test]
fn a_refused_step_keeps_the_row_optimizers_state_and_a_foreign_state_is_refused() {
    let (_, device) = cpu_devices().remove(0);
    let adam = || RowOptimizer::new(AdamConfig::new().build());
    // Refused steps change nothing: the same bits as the plain run.
    let plain = run_rows(&AdamConfig::new().build(), &schedule(), &device);
    let mut o = adam();
    assert_eq!(bits(&run_row_optimizer(&mut o, &device)), bits(&plain));

    // Another optimizer's state, another table's state, a damaged file: each refused.
    let saved = o.to_bytes().unwrap();
    let mut momentum = RowOptimizer::new(MomentumConfig::new().build());
    let err = momentum.load_bytes(saved.clone(), &device).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the saved table state has no `table.velocity` (a state saved by another optimizer?)"
    );
    let mut sgd = RowOptimizer::new(MomentumConfig::sgd().build());
    let err = sgd.load_bytes(saved.clone(), &device).unwrap_err();
    assert!(
        err.to_string()
            .contains("which this optimizer does not keep"),
        "{err}"
    );
    let truncated = Bytes::from_bytes_vec(saved[..saved.len() / 2].to_vec());
    let err = adam().load_bytes(truncated, &device).unwrap_err();
    assert!(err.to_string().starts_with("not a valid burnpack"), "{err}");

    let mut small = adam();
    small
        .step(
            0.05,
            Tensor::zeros([4, D], &device),
            &[0],
            rows_grad(0, &[0], &device),
        )
        .unwrap();
    let mut o = adam();
    o.load_bytes(small.to_bytes().unwrap(), &device).unwrap();
    let err = o
        .step(0.05, table(&device), &[0], rows_grad(0, &[0], &device))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the optimizer state's `exp_avg` is [4, 5], but the table is [12, 5] (a state of another table?)"
    );
}
