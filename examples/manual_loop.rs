//! A hand-written training loop with each stoke optimizer and an L2-regularised loss.
//!
//! ```sh
//! cargo run -p stoke-examples --example manual_loop
//! ```

use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, ModuleOptimizer};
use stoke_examples::{Mlp, accuracy, spiral_tensors};
use stoke_optim::{
    AdaDeltaConfig, AdaGradConfig, AdamConfig, Backend, L2Regularized, L2Regularizer,
    MomentumConfig, RmsPropConfig,
};

fn main() {
    let backend = Backend::default_cpu().expect("no backend compiled in");
    let device = backend.device().unwrap().autodiff();
    let runs: Vec<(&str, ModuleOptimizer, f64)> = vec![
        ("SGD", MomentumConfig::sgd().init(), 0.5),
        ("Momentum", MomentumConfig::new().init(), 0.1),
        ("RMSProp", RmsPropConfig::new().init(), 0.01),
        ("AdaGrad", AdaGradConfig::new().init(), 0.1),
        ("Adam", AdamConfig::new().init(), 0.01),
        ("AdaDelta", AdaDeltaConfig::new().init(), 1.0),
    ];
    let loss = L2Regularized::new(
        CrossEntropyLossConfig::new().init(&device),
        L2Regularizer::new(1e-4),
    );
    let (x, y) = spiral_tensors(100, &device);
    println!("backend: {backend}; 200 points on two spirals; 300 full-batch steps");
    for (name, mut optim, lr) in runs {
        device.seed(7);
        let mut model = Mlp::new(32, &device);
        let mut last = f32::NAN;
        for _ in 0..300 {
            let logits = model.forward(x.clone());
            let l = loss.forward(&model, (logits, y.clone()));
            last = l.clone().into_scalar();
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        let acc = accuracy(model.forward(x.clone()), y.clone());
        println!(
            "{name:>9} (lr {lr:<5}): loss {last:.4}, train accuracy {:.1}%",
            100.0 * acc
        );
    }
}
