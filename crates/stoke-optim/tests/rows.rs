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
use burn::tensor::{Device, Tensor, TensorData};
use common::{cpu_devices, devices};
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, MomentumConfig, MomentumForm, RmsPropConfig, RowStep,
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
        let (next, s) = o.step_rows(0.05, w, rows, rows_grad(step, rows, device), state);
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
        // Row 6 and 8 are never used: they keep their initial values.
        assert_eq!(got[6 * D..7 * D], start[6 * D..7 * D], "{backend} {name}");
        assert_ne!(got, start, "{backend} {name}: nothing moved");
    }
}

#[test]
fn lazy_optimizers_update_a_row_only_when_it_is_used() {
    lazy_rows_follow_their_own_steps("momentum", &MomentumConfig::new().build());
    lazy_rows_follow_their_own_steps("rmsprop", &RmsPropConfig::new().with_momentum(0.5).build());
    lazy_rows_follow_their_own_steps("adadelta", &AdaDeltaConfig::new().build());
}

#[test]
fn lazy_adam_leaves_unused_rows_and_moments_alone() {
    let adam = AdamConfig::new().build();
    for (backend, device) in cpu_devices() {
        let w = table(&device);
        let (w, state) = adam.step_rows(0.1, w, &[1, 4], rows_grad(0, &[1, 4], &device), None);
        let before = values(w.clone());
        let m_before = values(state.as_ref().unwrap().buffers.exp_avg.clone());
        let (w, state) = adam.step_rows(0.1, w, &[2], rows_grad(1, &[2], &device), state);
        let (after, m_after) = (values(w), values(state.unwrap().buffers.exp_avg));
        for r in (0..N).filter(|&r| r != 2) {
            let span = r * D..(r + 1) * D;
            assert_eq!(
                after[span.clone()],
                before[span.clone()],
                "{backend} w row {r}"
            );
            assert_eq!(m_after[span.clone()], m_before[span], "{backend} m row {r}");
        }
        assert_ne!(
            after[2 * D..3 * D],
            before[2 * D..3 * D],
            "{backend}: row 2 moved"
        );
    }
}

#[test]
#[should_panic(expected = "strictly increasing")]
fn unsorted_rows_are_refused() {
    let (_, device) = cpu_devices().remove(0);
    let sgd = MomentumConfig::new().with_momentum(0.0).build();
    let _ = sgd.step_rows(
        0.1,
        table(&device),
        &[3, 1],
        rows_grad(0, &[3, 1], &device),
        None,
    );
}
