//! Parameter groups: AdamW with weight decay on the weights, none on the biases.
//!
//! ```sh
//! cargo run -p stoke-examples --example param_groups
//! ```

use burn::module::ParamGroup;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use stoke_examples::{Mlp, spiral_tensors};
use stoke_optim::{AdamConfig, Backend};

fn main() {
    let device = Backend::default_cpu().unwrap().device().unwrap().autodiff();
    device.seed(3);
    let mut model = Mlp::new(16, &device);
    let bias_before = model.hidden.bias.as_ref().unwrap().val();

    // The first optimizer is the fallback for every parameter; the group overrides it for biases.
    let mut optim = AdamConfig::adamw()
        .with_weight_decay(0.5)
        .init()
        .with_group(
            ParamGroup::from_predicate("bias"),
            AdamConfig::new().build(),
            None,
        );

    let ce = CrossEntropyLossConfig::new().init(&device);
    let (x, y) = spiral_tensors(50, &device);
    for _ in 0..50 {
        let loss = ce.forward(model.forward(x.clone()), y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(0.01, model, grads);
    }
    let norm = |t: burn::tensor::Tensor<2>| t.square().sum().sqrt().into_scalar::<f32>();
    println!(
        "hidden weight norm after AdamW(wd=0.5): {:.4}",
        norm(model.hidden.weight.val())
    );
    let moved = model
        .hidden
        .bias
        .as_ref()
        .unwrap()
        .val()
        .sub(bias_before)
        .abs()
        .max()
        .into_scalar::<f32>();
    println!("biases trained without decay; largest bias change: {moved:.4}");
}
