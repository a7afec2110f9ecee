//! The subcommands, one per file, and what they share: flags declared once for several
//! commands, reading files, opening datasets and models, choosing the device, printing JSON.

mod apply_changes;
mod eval;
mod inspect;
mod label_errors;
mod predict;
mod train;

use anyhow::Context;
use serde::Serialize;
use tagtrain::{BackendPreference, ComputeDevice, DatasetSource, Limits, Predictor};

use crate::args::{Args, Command};
use crate::flag::Flag;
use crate::progress::Progress;

/// Every command, in the order the usage text lists them.
pub const COMMANDS: &[Command] = &[
    train::COMMAND,
    eval::COMMAND,
    predict::COMMAND,
    inspect::COMMAND,
    label_errors::COMMAND,
    apply_changes::COMMAND,
];

/// The command named `name`.
pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|command| command.name == name)
}

/// `--json`: machine-readable output, serialised from the library's own (camelCase) types.
const JSON: Flag = Flag::switch("json", "print JSON (camelCase keys, as the library names them)");

/// `--tta`: test-time augmentation.
const TTA: Flag = Flag::switch(
    "tta",
    "average each prediction over shifted copies of the image (5–6 passes; the thresholds \
     were tuned without)",
);

/// `--device`: which backend computes.
const DEVICE: Flag = Flag::valued(
    "device",
    "cpu|gpu|cuda[:N]",
    "the backend (gpu: wgpu on Vulkan, Metal or DX12; cuda: an NVIDIA GPU, in a build with \
         --features cuda)",
)
.with_default(|| "cpu".into())
.sets("device");

/// The bytes of `path`, or an error naming it.
fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {path}"))
}

/// `--pretrained-weights`: where `--pretrained` reads EfficientNet-Lite0's ImageNet weights.
const PRETRAINED_WEIGHTS: Flag = Flag::valued(
    "pretrained-weights",
    "FILE",
    "the converted ImageNet weights (scripts/fetch-pretrained.sh writes them)",
)
.with_default(|| tagtrain::efficientnet::cached_weights_path().display().to_string());

/// The bytes of the ImageNet weights `--pretrained` starts from (`--pretrained-weights`).
fn read_pretrained_weights(args: &Args) -> anyhow::Result<Vec<u8>> {
    let path = args.value_or_default(PRETRAINED_WEIGHTS.name);
    std::fs::read(&*path).with_context(|| {
        format!(
            "--pretrained needs EfficientNet-Lite0's ImageNet weights at {path}: run \
             scripts/fetch-pretrained.sh (or give --pretrained-weights FILE)"
        )
    })
}

/// The dataset zip at `path`, checked.
fn open_dataset(path: &str) -> anyhow::Result<DatasetSource> {
    dataset_from_bytes(path, read(path)?)
}

/// The dataset zip `bytes`, read from `path`, checked; its problems are said to be in `path`.
fn dataset_from_bytes(path: &str, bytes: Vec<u8>) -> anyhow::Result<DatasetSource> {
    DatasetSource::from_zip(bytes, &Limits::default())
        .with_context(|| format!("{path} cannot be used as a dataset"))
}

/// The model file at `path`, loaded onto `compute`.
fn open_model(path: &str, compute: &ComputeDevice) -> anyhow::Result<Predictor> {
    let mut predictor = Predictor::from_bytes(&read(path)?, &compute.device)
        .with_context(|| format!("{path} cannot be used as a model"))?;
    predictor
        .fit_to_buffers(compute.max_buffer_bytes)
        .with_context(|| format!("{path} cannot run on this GPU"))?;
    Ok(predictor)
}

/// The device `--device` asks for, initialised; a fallback is noted on stderr.
fn device(args: &Args) -> anyhow::Result<ComputeDevice> {
    peer_device(args, 0)
}

/// The device of peer `k` of a data-parallel run in this process (`--devices`): with
/// `--device cuda:N`, the GPU N + k; any other device is shared.
fn peer_device(args: &Args, k: usize) -> anyhow::Result<ComputeDevice> {
    let preference = BackendPreference::parse(&args.value_or_default(DEVICE.name))
        .map_err(|e| args.usage_error_from(e))?
        .for_peer(k);
    let compute = pollster::block_on(ComputeDevice::init(preference, true));
    if let Some(notice) = &compute.notice {
        eprintln!("note: {notice}");
    }
    Ok(compute)
}

/// Runs `decode` (one of [`DatasetSource`]'s decoding methods, given a progress callback) of
/// `total` images behind a "decoding" bar.
fn decode_with_progress<T>(
    total: usize,
    quiet: bool,
    decode: impl FnOnce(&mut dyn FnMut(usize, usize)) -> tagtrain::Result<T>,
) -> anyhow::Result<T> {
    let mut bar = Progress::new("decoding", total, quiet);
    let decoded = decode(&mut |done, _| bar.update(done, ""))?;
    bar.finish();
    Ok(decoded)
}

/// Prints `value` on stdout as pretty JSON.
fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
