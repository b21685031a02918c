//! The CPU fast path (one in-place pass over the raw buffers, `src/host.rs`) and the tensor-op
//! path give the same bits, for every optimizer and option, on every CPU backend.
//!
//! The parameter has 300 000 coordinates, so the fast path splits it over the rayon pool's
//! threads; the learning rate changes half-way; one step has an all-zero gradient; gradients
//! span five decades.

mod common;

use burn::optim::Optimizer;
use burn::tensor::{Device, Tensor, TensorData};
use common::cpu_devices;
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, EpsilonPlacement, MomentumConfig, MomentumForm,
    RmsPropConfig,
};

const ROWS: usize = 300;
const COLS: usize = 1000;
const STEPS: usize = 8;

/// xorshift64*: a fixed stream of values in (-1, 1).
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn tensor(values: Vec<f32>, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [ROWS, COLS]), device)
}

fn bits(w: Tensor<2>) -> Vec<u32> {
    let data = w.into_data();
    data.as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

/// The parameter before and after `STEPS` steps, as bits.
fn trajectory<O: Optimizer>(optim: &O, device: &Device) -> (Vec<u32>, Vec<u32>) {
    let mut rng = Stream(0x5eed);
    let n = ROWS * COLS;
    let mut w = tensor((0..n).map(|_| rng.next() * 0.5).collect(), device);
    let start = bits(w.clone());
    let mut state = None;
    for step in 0..STEPS {
        let scale = 10f32.powi(step as i32 % 5 - 3);
        let g: Vec<f32> = if step == 3 {
            vec![0.0; n]
        } else {
            (0..n).map(|_| rng.next() * scale).collect()
        };
        let lr = if step < STEPS / 2 { 0.01 } else { 0.003 };
        let (next, s) = optim.step(lr, w, tensor(g, device), state);
        w = next;
        state = s;
    }
    (start, bits(w))
}

fn same_bits<O: Optimizer>(name: &str, fused: O, tensors: O) {
    for (backend, device) in cpu_devices() {
        let (start, a) = trajectory(&fused, &device);
        let (_, b) = trajectory(&tensors, &device);
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(
            differing,
            0,
            "{backend} {name}: {differing} of {} coordinates differ between the fused and the tensor-op step",
            a.len()
        );
        // The steps moved the parameter (two no-op paths would pass the comparison too).
        assert_ne!(a, start, "{backend} {name}: the parameter did not move");
    }
}

macro_rules! check {
    ($name:expr, $config:expr) => {{
        let config = $config;
        let fused = config.build();
        assert!(fused.fused(), "the fast path is on by default");
        same_bits($name, fused, config.build().with_fused(false));
    }};
}

#[test]
fn momentum_fused_equals_tensor_ops() {
    let pytorch = MomentumConfig::new().with_form(MomentumForm::PyTorch);
    check!(
        "sgd",
        MomentumConfig::new()
            .with_momentum(0.0)
            .with_weight_decay(0.01)
    );
    check!("classic", MomentumConfig::new());
    check!(
        "classic dampening wd",
        MomentumConfig::new()
            .with_dampening(0.3)
            .with_weight_decay(0.01)
    );
    check!(
        "classic nesterov",
        MomentumConfig::new().with_nesterov(true)
    );
    check!("pytorch", pytorch.clone());
    check!(
        "pytorch dampening wd",
        pytorch.clone().with_dampening(0.3).with_weight_decay(0.01)
    );
    check!("pytorch nesterov", pytorch.with_nesterov(true));
}

#[test]
fn rmsprop_fused_equals_tensor_ops() {
    check!("keras", RmsPropConfig::keras());
    check!("pytorch", RmsPropConfig::pytorch());
    check!("centered", RmsPropConfig::new().with_centered(true));
    check!("momentum", RmsPropConfig::new().with_momentum(0.9));
    check!(
        "centered momentum wd outside",
        RmsPropConfig::new()
            .with_centered(true)
            .with_momentum(0.5)
            .with_weight_decay(0.01)
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
    );
}

#[test]
fn adagrad_fused_equals_tensor_ops() {
    check!("inside", AdaGradConfig::new());
    check!(
        "outside lr_decay",
        AdaGradConfig::new()
            .with_epsilon_placement(EpsilonPlacement::OutsideSqrt)
            .with_lr_decay(0.1)
    );
    check!(
        "initial accumulator wd",
        AdaGradConfig::new()
            .with_initial_accumulator(0.1)
            .with_weight_decay(0.01)
    );
}

#[test]
fn adam_fused_equals_tensor_ops() {
    check!("adam", AdamConfig::new());
    check!("amsgrad", AdamConfig::new().with_amsgrad(true));
    check!("coupled wd", AdamConfig::new().with_weight_decay(0.01));
    check!("adamw amsgrad", AdamConfig::adamw().with_amsgrad(true));
}

#[test]
fn adadelta_fused_equals_tensor_ops() {
    check!("adadelta", AdaDeltaConfig::new());
    check!(
        "adadelta wd",
        AdaDeltaConfig::new().with_rho(0.95).with_weight_decay(0.01)
    );
}
