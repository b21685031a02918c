//! A stoke optimizer inside Burn's `Learner` / `SupervisedTraining`.
//!
//! ```sh
//! cargo run -p stoke-examples --example learner
//! ```

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};
use stoke_examples::{Mlp, accuracy, spiral_tensors, spirals};
use stoke_optim::{AdamConfig, Backend};

#[derive(Clone, Debug)]
struct Point {
    x: [f32; 2],
    y: i64,
}

#[derive(Clone, Debug)]
struct Batch {
    x: Tensor<2>,
    y: Tensor<1, Int>,
}

#[derive(Clone)]
struct PointBatcher;

impl Batcher<Point, Batch> for PointBatcher {
    fn batch(&self, items: Vec<Point>, device: &Device) -> Batch {
        let flat: Vec<f32> = items.iter().flat_map(|p| p.x).collect();
        let ys: Vec<i64> = items.iter().map(|p| p.y).collect();
        Batch {
            x: Tensor::from_data(TensorData::new(flat, [items.len(), 2]), device),
            y: Tensor::from_data(TensorData::new(ys, [items.len()]), device),
        }
    }
}

/// The model wrapped for the Learner: a forward pass that also returns the loss.
#[derive(burn::module::Module, Debug)]
struct Classifier {
    mlp: Mlp,
}

impl Classifier {
    fn classify(&self, batch: Batch) -> ClassificationOutput {
        let logits = self.mlp.forward(batch.x);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.y.clone());
        ClassificationOutput::new(loss, logits, batch.y)
    }
}

impl TrainStep for Classifier {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let out = self.classify(batch);
        TrainOutput::new(self, out.loss.backward(), out)
    }
}

impl InferenceStep for Classifier {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        self.classify(batch)
    }
}

fn main() {
    let device = Backend::default_cpu().unwrap().device().unwrap();
    device.seed(11);
    let (xs, ys) = spirals(200);
    let points: Vec<Point> = xs
        .into_iter()
        .zip(ys)
        .map(|(x, y)| Point { x, y })
        .collect();
    let loader = |seed| {
        DataLoaderBuilder::new(PointBatcher)
            .batch_size(32)
            .shuffle(seed)
            .set_device(device.clone())
            .build(InMemDataset::new(points.clone()))
    };
    let dir = std::env::temp_dir().join("stoke-example-learner");
    let training = SupervisedTraining::new(&dir, loader(1), loader(2))
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(AccuracyMetric::new())
        .with_application_logger(None)
        .num_epochs(20);
    let model = Classifier {
        mlp: Mlp::new(32, &device.clone().autodiff()),
    };
    let learner = Learner::new(model, AdamConfig::new().init(), 0.01);
    let result = training.launch(learner);
    if let Some(error) = result.error {
        eprintln!("training failed: {error}");
        std::process::exit(1);
    }
    let (x, y) = spiral_tensors(200, &device);
    let acc = accuracy(result.model.mlp.forward(x), y);
    println!(
        "trained with stoke's Adam inside Burn's Learner: train accuracy {:.1}%; logs in {}",
        100.0 * acc,
        dir.display()
    );
}
