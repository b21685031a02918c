//! The L2-regularised loss: its gradient, its equivalence with coupled weight decay under SGD,
//! and what it leaves out.

mod common;

use burn::module::Module;
use burn::nn::loss::MseLoss;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use common::cpu_devices;
use stoke_optim::{Criterion, L2Regularized, L2Regularizer, MomentumConfig};

#[derive(Module, Debug)]
struct Net {
    first: Linear,
    norm: BatchNorm,
    second: Linear,
}

impl Net {
    fn new(device: &Device) -> Self {
        Self {
            first: LinearConfig::new(3, 4).init(device),
            norm: BatchNormConfig::new(4).init(device),
            second: LinearConfig::new(4, 1).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.second
            .forward(self.norm.forward(self.first.forward(x)).tanh())
    }
}

fn data(device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = (0..24).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
    let y: Vec<f32> = (0..8).map(|i| (i as f32 * 0.3).sin()).collect();
    (
        Tensor::from_data(TensorData::new(x, [8, 3]), device),
        Tensor::from_data(TensorData::new(y, [8, 1]), device),
    )
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn sum_sq<const D: usize>(t: Tensor<D>) -> f64 {
    values(t).iter().map(|&v| (v as f64) * (v as f64)).sum()
}

#[test]
fn penalty_gradient_is_two_beta_w() {
    for (backend, device) in cpu_devices() {
        let device = device.autodiff();
        let net = Net::new(&device);
        let beta = 0.03;
        let penalty = L2Regularizer::new(beta).penalty(&net).unwrap();
        let grads = GradientsParams::from_grads(penalty.backward(), &net);
        for linear in [&net.first, &net.second] {
            let g = grads
                .get::<2>(linear.weight.id)
                .expect("weights are penalised");
            let want: Vec<f32> = values(linear.weight.val())
                .iter()
                .map(|w| 2.0 * beta as f32 * w)
                .collect();
            for (a, b) in values(g).iter().zip(&want) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "{backend}: {a} vs 2βw = {b}"
                );
            }
            let bias = linear.bias.as_ref().unwrap();
            assert!(
                grads.get::<1>(bias.id).is_none(),
                "biases are not penalised by default"
            );
        }
        assert!(
            grads.get::<1>(net.norm.gamma.id).is_none(),
            "BatchNorm's gamma is not a weight"
        );

        // With a bias factor, biases get 2β_b·b.
        let penalty = L2Regularizer::new(0.0)
            .with_biases(0.5)
            .penalty(&net)
            .unwrap();
        let grads = GradientsParams::from_grads(penalty.backward(), &net);
        let bias = net.first.bias.as_ref().unwrap();
        for (a, b) in values(grads.get::<1>(bias.id).unwrap())
            .iter()
            .zip(values(bias.val()))
        {
            assert!((a - b).abs() <= 1e-6, "2·0.5·b = b: {a} vs {b}");
        }
    }
}

#[test]
fn penalty_value_sums_the_selected_parameters_and_never_the_running_statistics() {
    let (backend, device) = cpu_devices().remove(0);
    let device = device.autodiff();
    let net = Net::new(&device);
    let (x, _) = data(&device);
    // A training-mode forward pass moves the running mean/var away from 0/1.
    let _ = net.forward(x.clone());
    let running = sum_sq(net.norm.running_mean.value()) + sum_sq(net.norm.running_var.value());
    assert!(running > 0.0);

    let (bw, bb, bo) = (0.1, 0.2, 0.3);
    let reg = L2Regularizer::new(bw).with_biases(bb).with_others(bo);
    let want = bw * (sum_sq(net.first.weight.val()) + sum_sq(net.second.weight.val()))
        + bb * (sum_sq(net.first.bias.as_ref().unwrap().val())
            + sum_sq(net.second.bias.as_ref().unwrap().val()))
        + bo * (sum_sq(net.norm.gamma.val()) + sum_sq(net.norm.beta.val()));
    for (label, model) in [("train", net.clone()), ("valid", net.valid())] {
        let got = reg.penalty(&model).unwrap().into_scalar::<f32>() as f64;
        assert!(
            (got - want).abs() <= 1e-5 * want,
            "{backend} {label}: {got} vs {want}"
        );
    }

    // Excluding a module by path removes exactly its terms.
    let without_first = reg.clone().excluding("first");
    let got = without_first.penalty(&net).unwrap().into_scalar::<f32>() as f64;
    let first =
        bw * sum_sq(net.first.weight.val()) + bb * sum_sq(net.first.bias.as_ref().unwrap().val());
    assert!((got - (want - first)).abs() <= 1e-5 * want);
    assert!(L2Regularizer::new(0.0).penalty(&net).is_none());
}

#[test]
fn sgd_on_l2_loss_equals_sgd_with_coupled_weight_decay_two_beta() {
    for (backend, device) in cpu_devices() {
        let device = device.autodiff();
        let beta = 0.05;
        let (x, y) = data(&device);
        // Weights and biases both penalised: weight decay applies to every parameter.
        let reg = L2Regularizer::new(beta).with_biases(beta).with_others(beta);
        let regularized = L2Regularized::new(MseLoss::new(), reg);
        let plain = MseLoss::new();

        let start = Net::new(&device);
        let mut a = start.clone();
        let mut b = start;
        let mut opt_a = MomentumConfig::sgd().init();
        let mut opt_b = MomentumConfig::sgd().with_weight_decay(2.0 * beta).init();
        for _ in 0..25 {
            let la = regularized.forward(&a, (a.forward(x.clone()), y.clone()));
            let ga = GradientsParams::from_grads(la.backward(), &a);
            a = opt_a.step(0.1, a, ga);
            let lb = plain.loss((b.forward(x.clone()), y.clone()));
            let gb = GradientsParams::from_grads(lb.backward(), &b);
            b = opt_b.step(0.1, b, gb);
        }
        for (wa, wb) in [
            (a.first.weight.val(), b.first.weight.val()),
            (a.second.weight.val(), b.second.weight.val()),
        ] {
            for (p, q) in values(wa).iter().zip(values(wb)) {
                assert!(
                    (p - q).abs() <= 1e-5 * q.abs().max(0.1),
                    "{backend}: {p} vs {q}"
                );
            }
        }
    }
}

#[test]
fn l2_shrinks_weights_compared_with_no_penalty() {
    let (_, device) = cpu_devices().remove(0);
    let device = device.autodiff();
    let (x, y) = data(&device);
    let start = Net::new(&device);
    let train = |beta: f64| {
        let loss = L2Regularized::new(MseLoss::new(), L2Regularizer::new(beta));
        let mut net = start.clone();
        let mut opt = MomentumConfig::sgd().init();
        for _ in 0..40 {
            let l = loss.forward(&net, (net.forward(x.clone()), y.clone()));
            let g = GradientsParams::from_grads(l.backward(), &net);
            net = opt.step(0.1, net, g);
        }
        sum_sq(net.first.weight.val()) + sum_sq(net.second.weight.val())
    };
    let (free, penalised) = (train(0.0), train(0.5));
    assert!(
        penalised < 0.8 * free,
        "Σw² with β=0.5: {penalised}, without: {free}"
    );
}

#[test]
fn negative_or_nan_factors_are_rejected() {
    let err = L2Regularized::try_new(MseLoss::new(), L2Regularizer::new(-1.0)).unwrap_err();
    assert_eq!(err.field, "weights");
    assert!(
        L2Regularizer::new(0.1)
            .with_biases(f64::NAN)
            .validate()
            .is_err()
    );
}

/// `scaled_with_sum_squares` (the dense text step's one pass for a table's penalty and its
/// gradient), on a tensor long enough to be split over threads (> 2 × 2^15 elements, an odd
/// length so the halves are uneven), into a fresh buffer and into a given one: `k·x` exactly,
/// and `Σ x²` within f64 rounding of the sum here. Bug caught: the output halves paired with
/// the wrong input halves, or a given buffer written at an offset.
#[test]
fn scaled_with_sum_squares_writes_k_x_and_sums_x_squared() {
    for (backend, device) in cpu_devices() {
        let n = 3 * (1 << 15) + 17;
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 8.0)
            .collect();
        let want: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
        let t = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, 1]), &device);
        let given = Tensor::<2>::ones([n, 1], &device);
        for into in [None, Some(given)] {
            let (out, sum) = stoke_optim::scaled_with_sum_squares(&t, 0.25, into).unwrap();
            assert!(
                (sum - want).abs() <= 1e-12 * want,
                "{backend}: {sum} vs {want}"
            );
            let out = values(out);
            for (i, (&o, &v)) in out.iter().zip(&x).enumerate() {
                assert_eq!(o, 0.25 * v, "{backend}: element {i}");
            }
        }
    }
}
