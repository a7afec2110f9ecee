//! Batch norm (training mode) forward + backward on the CPU backend: burn's own against a form
//! composed of reductions along contiguous axes. Run by hand, never in CI:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo bench --bench batch_norm -- [--batch 64]
//! ```

mod common;

use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Distribution, Tensor};
use common::{flag_value, median_ms};
use tagtrain::unstable::batch_norm_train_composed;

fn main() {
    let batch = flag_value("--batch", 64);
    let device = Device::flex().autodiff();
    println!("| channels | side | burn ms | composed ms | speed-up |");
    println!("|---|---|---|---|---|");
    for (channels, side) in [(16, 64), (64, 64), (32, 32), (128, 32), (64, 16), (256, 16)] {
        let x = Tensor::<4>::random(
            [batch, channels, side, side],
            Distribution::Normal(0.5, 2.0),
            &device,
        );
        let bn = BatchNormConfig::new(channels).init(&device);
        let step = |composed: bool| {
            let x = x.clone().require_grad();
            let y = if composed {
                batch_norm_train_composed(x.clone(), bn.gamma.val(), bn.beta.val(), 1e-5).0
            } else {
                bn.forward(x.clone())
            };
            let grads = (y.clone() * y).sum().backward();
            let _: f32 = x.grad(&grads).expect("input gradient").sum().into_scalar();
            let _: f32 = bn.gamma.grad(&grads).expect("gamma gradient").sum().into_scalar();
        };
        let burn_ms = median_ms(|| step(false));
        let ours_ms = median_ms(|| step(true));
        println!(
            "| {channels} | {side} | {burn_ms:.1} | {ours_ms:.1} | {:.2}× |",
            burn_ms / ours_ms
        );
    }
}
