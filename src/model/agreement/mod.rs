//! Whether the project's own forms of a layer agree with burn's on a device: the GPU
//! convolution kernels ([`super::gpu_conv`]), the native CPU's convolutions as matrix products
//! ([`super::conv`]) and its stride-1 convolution kernels ([`super::cpu_conv`]), the subsample a strided pair of 1×1 convolutions shares, and the composed
//! batch norm ([`super::norm`]). Each computes what burn's own kernels compute, faster; each
//! comparison runs both on the same inputs and measures how far apart the forward values and
//! the gradients are.
//!
//! The tests run these on the CPU and, natively, on a GPU where the machine has one. The page
//! runs [`check`] on the person's own GPU ("Check the backend"): a WebGPU implementation that
//! computes a kernel wrongly shows there in words, instead of as a model that does not learn.
//! Every read is asynchronous, the only way a browser reads a GPU buffer.

use burn::module::Param;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::Serialize;

use super::conv::{conv1x1_batched, conv2d_as_matmul, forward_conv_pair, on_native_cpu};
use super::norm::{composed_on, forward_batch_norm, forward_batch_norm_relu};
use crate::error::{Error, Result};
use crate::rng::SeededRng;

/// A convolution's case: `(batch, in, out, side, kernel, stride, padding)`.
pub type Case = (usize, usize, usize, usize, usize, usize, usize);

/// A convolution form under test: `(input, weight, stride, padding) → output`.
pub type ConvForm = fn(Tensor<4>, Tensor<4>, usize, usize) -> Tensor<4>;

/// The largest difference the forward values and gradients may show, relative to the larger
/// of 1 and the reference's largest value (f32 sums in another order).
pub const TOLERANCE: f32 = 1e-4;

/// The running statistics are one multiply-add from the batch's: closer.
const STATISTICS_TOLERANCE: f32 = 1e-5;

/// `(batch, in, out, side, kernel, stride, padding)`: ResNetV2-Small's layer kinds (the
/// 3-channel stem, 1×1 and 3×3 units, strided 1×1s) and the edges of the GPU kernels' tiles:
/// batch 1, sides and channel counts the tiles do not divide, padding 0 and 2, odd strided
/// sides. Every one is computed by the project's kernels on a GPU.
#[cfg(feature = "gpu")]
pub const GPU_CASES: [Case; 10] = [
    (2, 3, 16, 9, 3, 1, 1),
    (1, 16, 16, 8, 3, 1, 1),
    (3, 12, 8, 7, 3, 1, 0),
    (1, 5, 7, 10, 3, 1, 1),
    (2, 4, 8, 6, 3, 1, 2),
    (2, 16, 64, 8, 1, 1, 0),
    (1, 6, 10, 5, 1, 1, 0),
    (2, 16, 32, 9, 1, 2, 0),
    (3, 8, 4, 7, 1, 2, 0),
    (1, 64, 16, 4, 1, 3, 0),
];

/// The layer shapes of ResNetV2-Small and the edge cases of the CPU's forms: batch 1, odd
/// sides, stride 2 with and without padding, padding 2, a side of 1 against a 3×3 kernel,
/// a 5×5 kernel, more images than threads.
pub const CPU_CASES: [Case; 13] = [
    (2, 3, 16, 9, 3, 1, 1),
    (1, 16, 16, 8, 3, 1, 1),
    (3, 8, 12, 7, 3, 2, 1),
    (2, 16, 64, 8, 1, 1, 0),
    (2, 16, 32, 9, 1, 2, 0),
    (1, 4, 6, 6, 3, 1, 0),
    (2, 5, 7, 10, 3, 2, 0),
    (1, 1, 2, 5, 1, 1, 0),
    (1, 8, 4, 7, 1, 2, 0),
    (2, 4, 8, 6, 3, 1, 2),
    (2, 3, 4, 1, 3, 1, 1),
    (2, 3, 5, 11, 5, 1, 2),
    (9, 8, 8, 12, 3, 1, 1),
];

/// One comparison of the project's form with burn's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The layer and its shape, e.g. "convolution 2×3→16 at 9², 3×3 /1 pad 1".
    pub case: String,
    /// What was compared: "forward", "input gradient", "weight gradient", "running mean", …
    pub quantity: String,
    /// The largest absolute difference relative to the larger of 1 and the reference's
    /// largest value (NaN when either side produced a NaN).
    pub error: f32,
    /// The largest `error` that agrees.
    pub tolerance: f32,
}

impl Comparison {
    /// Whether the two agree (a NaN never does).
    pub fn agrees(&self) -> bool {
        self.error <= self.tolerance
    }
}

/// Every comparison [`check`] made on a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AgreementReport {
    /// How many comparisons were made.
    pub compared: usize,
    /// The largest relative difference of all (NaN if any was).
    pub largest_error: f32,
    /// The comparisons that disagree; empty when the device computes as burn does.
    pub disagreements: Vec<Comparison>,
}

impl AgreementReport {
    fn of(comparisons: &[Comparison]) -> Self {
        let largest_error = comparisons
            .iter()
            .map(|c| c.error)
            .fold(0.0, |a: f32, e| if a.is_nan() || e.is_nan() { f32::NAN } else { a.max(e) });
        AgreementReport {
            compared: comparisons.len(),
            largest_error,
            disagreements: comparisons.iter().filter(|c| !c.agrees()).cloned().collect(),
        }
    }
}

/// Compares, on `device`, every form the project uses there instead of burn's: the GPU's
/// convolution kernels (and whether each of [`GPU_CASES`] reaches them), the native CPU's
/// matrix products, the strided pair's shared subsample and the composed batch norm. On a
/// device that uses none (the browser's CPU backend), the pair and burn's batch norm are still
/// compared, which checks little: say so where it is shown.
///
/// # Errors
///
/// When the backend fails to read a result back (a lost device).
pub async fn check(device: &Device) -> Result<AgreementReport> {
    let mut comparisons = Vec::new();
    #[cfg(feature = "gpu")]
    if super::gpu_conv::on_gpu(device) {
        for (batch, cin, cout, side, kernel, stride, padding) in GPU_CASES {
            if !super::gpu_conv::supports(device, kernel, stride, padding) {
                // Burn's kernels compared with themselves would agree: a routing mistake.
                comparisons.push(Comparison {
                    case: convolution_case((batch, cin, cout, side, kernel, stride, padding)),
                    quantity: "computed by the project's kernels".into(),
                    error: f32::NAN,
                    tolerance: TOLERANCE,
                });
            }
        }
        comparisons.extend(convolution(device, super::gpu_conv::conv2d, &GPU_CASES).await?);
    }
    if on_native_cpu(device) {
        comparisons.extend(convolution(device, conv2d_as_matmul, &CPU_CASES).await?);
        let unpadded_1x1: Vec<Case> =
            CPU_CASES.into_iter().filter(|&(.., k, _, padding)| k == 1 && padding == 0).collect();
        let per_image: ConvForm = |x, w, stride, _| conv1x1_batched(x, w, stride);
        comparisons.extend(convolution(device, per_image, &unpadded_1x1).await?);
    }
    if super::cpu_conv::supports(device, 3, 1, 1) {
        let stride_one: Vec<Case> = CPU_CASES
            .into_iter()
            .filter(|&(.., k, stride, padding)| {
                super::cpu_conv::supports(device, k, stride, padding)
            })
            .collect();
        let kernels: ConvForm = |x, w, _, padding| super::cpu_conv::conv2d(x, w, padding);
        comparisons.extend(convolution(device, kernels, &stride_one).await?);
    }
    comparisons.extend(strided_pair(device).await?);
    comparisons.extend(batch_norm(device).await?);
    Ok(AgreementReport::of(&comparisons))
}

/// Forward values, and the gradients of both inputs under a random upstream gradient, of
/// `form` against burn's own convolution on `device`, for each of `cases`.
///
/// # Errors
///
/// When the backend fails to read a result back.
pub async fn convolution(
    device: &Device,
    form: ConvForm,
    cases: &[Case],
) -> Result<Vec<Comparison>> {
    let device = device.clone().autodiff();
    let mut comparisons = Vec::new();
    for &case in cases {
        let (batch, cin, cout, side, kernel, stride, padding) = case;
        let x = random([batch, cin, side, side], &device);
        let w = random([cout, cin, kernel, kernel], &device);
        let options = ConvOptions::new([stride; 2], [padding; 2], [1, 1], 1);

        let (x1, w1) = (x.clone().require_grad(), w.clone().require_grad());
        let ours = form(x1.clone(), w1.clone(), stride, padding);
        let (x2, w2) = (x.clone().require_grad(), w.clone().require_grad());
        let theirs = conv2d(x2.clone(), w2.clone(), None, options);
        let name = convolution_case(case);
        if ours.dims() != theirs.dims() {
            let quantity = format!("output shape {:?} against {:?}", ours.dims(), theirs.dims());
            comparisons.push(Comparison { case: name, quantity, error: f32::NAN, tolerance: 0.0 });
            continue;
        }
        let forward = relative_error(ours.clone(), theirs.clone()).await?;
        comparisons.push(compared(&name, "forward", forward, TOLERANCE));

        let upstream = random(ours.dims(), &device);
        let ours_grads = (ours * upstream.clone()).sum().backward();
        let theirs_grads = (theirs * upstream).sum().backward();
        for (quantity, a, b) in [
            ("input gradient", x1.grad(&ours_grads), x2.grad(&theirs_grads)),
            ("weight gradient", w1.grad(&ours_grads), w2.grad(&theirs_grads)),
        ] {
            comparisons.push(compared(&name, quantity, gradient_error(a, b).await?, TOLERANCE));
        }
    }
    Ok(comparisons)
}

/// A pair of strided 1×1 convolutions reading one input ([`forward_conv_pair`], which shares
/// the subsample where both run the same form) against each module's own forward: outputs and
/// the input's gradient.
///
/// # Errors
///
/// When the backend fails to read a result back.
pub async fn strided_pair(device: &Device) -> Result<Vec<Comparison>> {
    let device = device.clone().autodiff();
    let first = Conv2dConfig::new([4, 3], [1, 1]).with_stride([2, 2]).init(&device);
    let second = Conv2dConfig::new([4, 5], [1, 1]).with_stride([2, 2]).init(&device);
    let unstrided = Conv2dConfig::new([4, 5], [1, 1]).init(&device);
    let mut comparisons = Vec::new();
    for (side, other) in [(33, &second), (33, &unstrided), (9, &second)] {
        let x = random([2, 4, side, side], &device);
        let (x1, x2) = (x.clone().require_grad(), x.clone().require_grad());
        let (a, b) = forward_conv_pair(&first, Some(other), x1.clone());
        let Some(b) = b else {
            return Err(Error::backend("the strided pair gave no second output"));
        };
        let (c, d) = (first.forward(x2.clone()), other.forward(x2.clone()));
        let name = format!("strided 1×1 pair at {side}², second stride {}", other.stride[0]);
        let first_error = relative_error(a.clone(), c.clone()).await?;
        comparisons.push(compared(&name, "first output", first_error, TOLERANCE));
        let second_error = relative_error(b.clone(), d.clone()).await?;
        comparisons.push(compared(&name, "second output", second_error, TOLERANCE));
        let upstream = (random(a.dims(), &device), random(b.dims(), &device));
        let ours = (a * upstream.0.clone()).sum() + (b * upstream.1.clone()).sum();
        let theirs = (c * upstream.0).sum() + (d * upstream.1).sum();
        let (ga, gb) = (ours.backward(), theirs.backward());
        let error = gradient_error(x1.grad(&ga), x2.grad(&gb)).await?;
        comparisons.push(compared(&name, "input gradient", error, TOLERANCE));
    }
    Ok(comparisons)
}

/// The batch norm in training as the model applies it against burn's module: alone
/// ([`forward_batch_norm`]: composed on the native CPU and a GPU) and followed by a ReLU
/// ([`forward_batch_norm_relu`]: the fused kernels on the CPU backend, natively and in the
/// page). For each, the output, the gradients of the input, gamma and beta, and the running
/// statistics after the step.
///
/// # Errors
///
/// When the backend fails to read a result back.
pub async fn batch_norm(device: &Device) -> Result<Vec<Comparison>> {
    let device = device.clone().autodiff();
    let alone = if composed_on(&device) { "composed batch norm" } else { "batch norm" };
    let fused = if super::bn_relu::supports(&device) { "fused " } else { "" };
    let mut comparisons = Vec::new();
    for [batch, channels, side] in [[4, 3, 5], [1, 8, 4], [2, 16, 1]] {
        let shape = format!("{batch}×{channels}×{side}²");
        let case = [batch, channels, side];
        let (ours, theirs): (NormForm, NormForm) = (forward_batch_norm, |n, x| n.forward(x));
        comparisons
            .extend(norm_case(&format!("{alone} {shape}"), case, ours, theirs, &device).await?);
        let (ours, theirs): (NormForm, NormForm) =
            (forward_batch_norm_relu, |n, x| relu(n.forward(x)));
        let name = format!("{fused}batch norm + ReLU {shape}");
        comparisons.extend(norm_case(&name, case, ours, theirs, &device).await?);
    }
    Ok(comparisons)
}

/// A batch norm's forward in training: the project's form or burn's module (with a ReLU after
/// or not).
type NormForm = fn(&BatchNorm, Tensor<4>) -> Tensor<4>;

/// [`batch_norm`]'s six comparisons of `ours` against `theirs` on one `[batch, channels, side]`.
async fn norm_case(
    name: &str,
    [batch, channels, side]: [usize; 3],
    ours: NormForm,
    theirs: NormForm,
    device: &Device,
) -> Result<Vec<Comparison>> {
    // Not the initial ones and zeros, so that a swapped gamma and beta shows; two separate
    // modules, since clones share their running statistics.
    let mut rng = SeededRng::new((batch * 100 + channels * 10 + side) as u64);
    let gamma = fixed([channels], &mut rng, (0.5, 2.0), device);
    let beta = fixed([channels], &mut rng, (-1.5, 1.5), device);
    let module = || {
        let mut norm = BatchNormConfig::new(channels).init(device);
        norm.gamma = Param::from_tensor(gamma.clone());
        norm.beta = Param::from_tensor(beta.clone());
        norm
    };
    let (our_norm, their_norm) = (module(), module());
    let x = fixed([batch, channels, side, side], &mut rng, (-3.5, 6.5), device);
    let upstream = fixed([batch, channels, side, side], &mut rng, (-1.5, 1.5), device);

    let (x1, x2) = (x.clone().require_grad(), x.clone().require_grad());
    let a = ours(&our_norm, x1.clone());
    let b = theirs(&their_norm, x2.clone());
    let mut comparisons =
        vec![compared(name, "output", relative_error(a.clone(), b.clone()).await?, TOLERANCE)];
    let ga = (a * upstream.clone()).sum().backward();
    let gb = (b * upstream).sum().backward();
    let input = gradient_error(x1.grad(&ga), x2.grad(&gb)).await?;
    comparisons.push(compared(name, "input gradient", input, TOLERANCE));
    for (quantity, p, q) in [
        ("gamma gradient", our_norm.gamma.grad(&ga), their_norm.gamma.grad(&gb)),
        ("beta gradient", our_norm.beta.grad(&ga), their_norm.beta.grad(&gb)),
    ] {
        comparisons.push(compared(name, quantity, gradient_error(p, q).await?, TOLERANCE));
    }
    for (quantity, p, q) in [
        ("running mean", our_norm.running_mean.value(), their_norm.running_mean.value()),
        ("running variance", our_norm.running_var.value(), their_norm.running_var.value()),
    ] {
        let error = relative_error(p, q).await?;
        comparisons.push(compared(name, quantity, error, STATISTICS_TOLERANCE));
    }
    Ok(comparisons)
}

/// Panics, listing every disagreement, unless all of `comparisons` agree (the tests' form).
#[cfg(test)]
pub fn assert_all_agree(comparisons: &[Comparison]) {
    assert!(!comparisons.is_empty(), "nothing was compared");
    let disagreements: Vec<String> = comparisons
        .iter()
        .filter(|c| !c.agrees())
        .map(|c| {
            format!("{}: {} differs by {} (at most {})", c.case, c.quantity, c.error, c.tolerance)
        })
        .collect();
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

fn convolution_case((batch, cin, cout, side, kernel, stride, padding): Case) -> String {
    format!(
        "convolution {batch}×{cin}→{cout} at {side}², {kernel}×{kernel} /{stride} pad {padding}"
    )
}

fn compared(case: &str, quantity: &str, error: f32, tolerance: f32) -> Comparison {
    Comparison { case: case.into(), quantity: quantity.into(), error, tolerance }
}

/// A tensor of standard normal values.
fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// A tensor of `shape` drawn uniformly from `low..high` by a seeded generator of our own: the
/// same values whichever tests run beside it (the CPU backend's generator is one for the
/// process, so its draws depend on what else draws). A batch norm over two values per channel
/// is ill-conditioned when the two nearly meet, and random draws found such pairs now and then.
fn fixed<const D: usize>(
    shape: [usize; D],
    rng: &mut SeededRng,
    (low, high): (f32, f32),
    device: &Device,
) -> Tensor<D> {
    let values: Vec<f32> =
        (0..shape.iter().product::<usize>()).map(|_| low + (high - low) * rng.unit()).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Largest absolute difference, relative to the larger of 1 and `expected`'s largest value,
/// read back in one asynchronous read. NaN when the shapes differ.
pub async fn relative_error<const D: usize>(actual: Tensor<D>, expected: Tensor<D>) -> Result<f32> {
    if actual.dims() != expected.dims() {
        return Ok(f32::NAN);
    }
    let scale = expected.clone().abs().max();
    let difference = (actual - expected).abs().max();
    let data = Tensor::cat(vec![scale, difference], 0)
        .into_data_async()
        .await
        .map_err(|e| Error::backend(format!("reading a comparison back: {e:?}")))?;
    let values = data.try_to_vec::<f32>().map_err(|e| Error::backend(format!("{e:?}")))?;
    Ok(values[1] / values[0].max(1.0))
}

/// [`relative_error`] of two gradients; NaN when either is missing.
async fn gradient_error<const D: usize>(
    ours: Option<Tensor<D>>,
    theirs: Option<Tensor<D>>,
) -> Result<f32> {
    match (ours, theirs) {
        (Some(a), Some(b)) => relative_error(a, b).await,
        _ => Ok(f32::NAN),
    }
}

#[cfg(test)]
mod tests;
