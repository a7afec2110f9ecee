//! Convolution forward + backward per layer shape, burn's own against the matrix-product forms
//! of `tagtrain::unstable::conv` (one product over the batch; for 1×1 layers also one product
//! per image), on the CPU backend. Run by hand, never in CI:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo bench --bench conv -- [--side 64] [--batch 64] [--depth 11]
//! ```
//!
//! For each distinct convolution of ResNetV2-Small at that depth and image side (the stem,
//! each unit's 1×1 / 3×3 / 1×1 and its projection), times one forward pass and the backward
//! pass of `sum(output · upstream)` for both forms, and prints milliseconds per layer (the
//! median of several repetitions) and the speed-up. The input gradient is computed except for
//! the stem (whose input, the images, needs none), as in training.

mod common;

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor};
use common::{flag_value, median_ms};
use tagtrain::unstable::conv::{BATCHED_FROM_PIXELS, conv1x1_batched, conv2d_as_matmul};

/// One convolution: `(name, in, out, side, kernel, stride, padding)`.
type Layer = (String, usize, usize, usize, usize, usize, usize);

/// The convolutions of ResNetV2-Small (stem width 16, stage widths 16·2^s, 4× expansion,
/// stride 2 on the first 1×1 and the projection of each later stage's first unit).
fn small_layers(depth: usize, side: usize) -> Vec<Layer> {
    let units = (depth - 2) / 9;
    let mut layers = vec![("stem 3×3".to_string(), 3, 16, side, 3, 1, 1)];
    let (mut channels, mut side) = (16, side);
    for stage in 0..3 {
        let width = 16 << stage;
        for unit in 0..units {
            let stride = if stage > 0 && unit == 0 { 2 } else { 1 };
            let out = width * 4;
            let out_side = side.div_ceil(stride);
            let name = |what: &str| format!("s{stage}u{unit} {what}");
            layers.push((name("1×1 reduce"), channels, width, side, 1, stride, 0));
            layers.push((name("3×3"), width, width, out_side, 3, 1, 1));
            layers.push((name("1×1 expand"), width, out, out_side, 1, 1, 0));
            if stride != 1 || channels != out {
                layers.push((name("projection"), channels, out, side, 1, stride, 0));
            }
            channels = out;
            side = out_side;
        }
    }
    // Units after the first of a stage repeat its shapes; time each shape once.
    let mut seen = Vec::new();
    layers.retain(|l| {
        let key = (l.1, l.2, l.3, l.4, l.5);
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    layers
}

/// The ways a layer can be computed.
#[derive(Clone, Copy)]
enum Form {
    /// burn's `conv2d` and its default backward.
    Burn,
    /// `conv2d_as_matmul`: one product over the whole batch.
    OneProduct,
    /// `conv1x1_batched`: one product per image (1×1 layers only).
    PerImage,
}

fn main() {
    let (side, batch, depth) =
        (flag_value("--side", 64), flag_value("--batch", 64), flag_value("--depth", 11));
    let device = Device::flex().autodiff();
    println!("ResNetV2-Small-{depth}, {side} px, batch {batch}, burn flex, forward + backward");
    println!(
        "| layer | in → out | side | burn ms | one product ms | per image ms | training uses | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let (mut total_burn, mut total_ours) = (0.0, 0.0);
    for (name, cin, cout, side, kernel, stride, padding) in small_layers(depth, side) {
        let x =
            Tensor::<4>::random([batch, cin, side, side], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random(
            [cout, cin, kernel, kernel],
            Distribution::Normal(0.0, 0.1),
            &device,
        );
        let input_grad = !name.starts_with("stem");
        let step = |form: Form| {
            let x = if input_grad { x.clone().require_grad() } else { x.clone() };
            let w = w.clone().require_grad();
            let y = match form {
                Form::OneProduct => conv2d_as_matmul(x.clone(), w.clone(), stride, padding),
                Form::PerImage => conv1x1_batched(x.clone(), w.clone(), stride),
                Form::Burn => conv2d(
                    x.clone(),
                    w.clone(),
                    None,
                    ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1),
                ),
            };
            let grads = y.sum().backward();
            // Reading both gradients waits for every kernel.
            let _: f32 = w.grad(&grads).expect("weight gradient").sum().into_scalar();
            if input_grad {
                let _: f32 = x.grad(&grads).expect("input gradient").sum().into_scalar();
            }
        };
        let burn_ms = median_ms(|| step(Form::Burn));
        let ours_ms = median_ms(|| step(Form::OneProduct));
        let per_image_ms = (kernel == 1).then(|| median_ms(|| step(Form::PerImage)));
        // What `forward_conv` picks for this layer.
        let (used, used_ms) = match per_image_ms {
            Some(ms) if side * side >= BATCHED_FROM_PIXELS => ("per image", ms),
            Some(_) => ("one product", ours_ms),
            None => ("burn", burn_ms),
        };
        total_burn += burn_ms;
        total_ours += used_ms;
        let per_image = per_image_ms.map_or("—".to_string(), |ms| format!("{ms:.1}"));
        println!(
            "| {name} | {cin} → {cout} | {side} | {burn_ms:.1} | {ours_ms:.1} | {per_image} | {used} | {:.2}× |",
            burn_ms / used_ms
        );
    }
    println!(
        "| **all** | | | {total_burn:.1} | | | {total_ours:.1} | {:.2}× |",
        total_burn / total_ours
    );
}
