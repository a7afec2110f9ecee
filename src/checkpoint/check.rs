//! Checks a model file completely before anything is allocated from it.
//!
//! Model files travel: the predict package loads them from URLs in other people's pages, the
//! library keeps them in browser storage, people pass them around. Every number in one is user
//! data, as in a dataset zip. [`check_metadata`] holds the metadata to the limits and choices
//! that training itself uses ([`LIMITS`], the depths offered, the resize policies, the
//! normalisation's length and finiteness, thresholds in `[0, 1]`); [`check_tensors`] holds the
//! file's tensors (names, shapes, dtypes) to the architecture the metadata claims, reading only
//! the safetensors header (whose reader has already held every offset to the file's length).
//! Every reader of a model file passes through [`check_metadata`] before it builds anything;
//! `inspect` and the export for the web also run [`check_tensors`], and loading holds each
//! tensor to the same architecture as it reads it.

use burn::module::{ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use safetensors::tensor::Dtype;

use super::metadata::{FORMAT, ModelMetadata, TrainingSummary, VERSION};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::model::params::not_safetensors;
use crate::model::{NetworkConfig, ResNetKind};
use crate::options::LIMITS;

/// Deepest network a model file may claim: the page offers Small 11–56 and Large 26–101; the
/// CLI trains any Small depth of the form 9n + 2, and none of those past 200 would train in a
/// browser tab or on a laptop.
pub const MAX_DEPTH: usize = 200;
/// Widest stem a model file may claim (the page and the CLI train 16 or 64).
pub const MAX_BASE_WIDTH: usize = 256;
pub use crate::limits::MAX_LABEL_BYTES;

/// Reads only the metadata of a model file, checked field by field against the limits
/// training uses ([`check_metadata`]).
pub fn read_metadata(bytes: &[u8]) -> Result<ModelMetadata> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let info = header.metadata().as_ref().ok_or_else(|| {
        Error::model_file("the file has no __metadata__; it was not written by tagtrain")
    })?;
    if info.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(Error::model_file(format!(
            "__metadata__.format is not '{FORMAT}'; it was not written by tagtrain"
        )));
    }
    let json = info
        .get("tagtrain")
        .ok_or_else(|| Error::model_file("__metadata__ has no 'tagtrain' entry"))?;
    let metadata: ModelMetadata =
        serde_json::from_str(json).map_err(|e| Error::model_file(format!("metadata JSON: {e}")))?;
    check_metadata(&metadata)?;
    Ok(metadata)
}

/// Every metadata field against the limits training uses, naming the first that is wrong.
pub fn check_metadata(m: &ModelMetadata) -> Result<()> {
    let bad = |what: String| Err(Error::model_file(what));
    if m.format != FORMAT {
        return bad(format!("its format is '{}', not '{FORMAT}'", clip(&m.format)));
    }
    if m.version > VERSION {
        return bad(format!(
            "format version {} is newer than this tagtrain understands ({VERSION}); update tagtrain",
            m.version
        ));
    }
    check_labels(&m.labels)?;
    if m.thresholds.len() != m.labels.len() || m.architecture.num_labels() != m.labels.len() {
        return bad(format!(
            "label, threshold and output counts disagree ({} labels, {} thresholds, {} outputs)",
            m.labels.len(),
            m.thresholds.len(),
            m.architecture.num_labels()
        ));
    }
    if let Some((label, t)) =
        m.labels.iter().zip(&m.thresholds).find(|(_, t)| !(0.0..=1.0).contains(*t))
    {
        return bad(format!("the threshold of '{}' is {t}, not in [0, 1]", clip(label)));
    }
    let input = &m.input;
    let size = f64::from(input.image_size);
    if !LIMITS.image_size.contains(size) {
        return bad(format!(
            "input.imageSize is {}, not between {} and {} pixels",
            input.image_size, LIMITS.image_size.min, LIMITS.image_size.max
        ));
    }
    if !matches!(input.channels, 1 | 3) {
        return bad(format!("input.channels is {}, not 1 or 3", input.channels));
    }
    let norm = &input.normalization;
    if norm.mean.len() != input.channels || norm.std.len() != input.channels {
        return bad(format!(
            "input.normalization has {} means and {} standard deviations for {} channels",
            norm.mean.len(),
            norm.std.len(),
            input.channels
        ));
    }
    if norm.mean.iter().any(|v| !v.is_finite())
        || norm.std.iter().any(|v| !(v.is_finite() && *v > 0.0))
    {
        return bad("input.normalization holds a mean that is not finite or a standard deviation that is not positive".into());
    }
    if let Some(sound) = &input.sound {
        if input.channels != 1 {
            return bad(format!(
                "input.sound is set, and input.channels is {}, not 1",
                input.channels
            ));
        }
        sound.check().map_err(|e| Error::model_file(format!("input.sound: {e}")))?;
    }
    check_architecture(&m.architecture, input.channels)?;
    for run in m.training.iter().chain(&m.lineage) {
        check_run(run)?;
    }
    Ok(())
}

/// Label names: present, unique, short, without control characters.
fn check_labels(labels: &[String]) -> Result<()> {
    let most = Limits::default().max_columns as usize;
    if labels.is_empty() || labels.len() > most {
        return Err(Error::model_file(format!(
            "it has {} labels; a model has 1 to {most}",
            labels.len()
        )));
    }
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() || label.len() > MAX_LABEL_BYTES || label.chars().any(char::is_control)
        {
            return Err(Error::model_file(format!(
                "label #{} ('{}') is empty, longer than {MAX_LABEL_BYTES} bytes or holds control characters",
                i + 1,
                clip(label)
            )));
        }
        if labels[..i].contains(label) {
            return Err(Error::model_file(format!("label '{}' appears twice", clip(label))));
        }
    }
    Ok(())
}

/// The network: for ResNetV2 a depth offered by training and a width within
/// [`MAX_BASE_WIDTH`]; the input's channels.
fn check_architecture(network: &NetworkConfig, channels: usize) -> Result<()> {
    if network.in_channels() != channels {
        return Err(Error::model_file(format!(
            "architecture.in_channels is {} but input.channels is {channels}",
            network.in_channels()
        )));
    }
    let Some(a) = network.resnet() else {
        return Ok(());
    };
    if a.depth > MAX_DEPTH || ResNetKind::for_depth(a.depth).ok() != Some(a.kind) {
        return Err(Error::model_file(format!(
            "architecture.depth is {} for ResNetV2 {:?}; tagtrain trains Small at 9n + 2 up to \
             {MAX_DEPTH} (11, 20, 29, 56, …) and Large at 26, 50 or 101",
            a.depth, a.kind
        )));
    }
    if let Some(width) = a.base_width
        && !(1..=MAX_BASE_WIDTH).contains(&width)
    {
        return Err(Error::model_file(format!(
            "architecture.base_width is {width}, not between 1 and {MAX_BASE_WIDTH}"
        )));
    }
    Ok(())
}

/// A recorded run: its options within the ranges training enforces.
fn check_run(run: &TrainingSummary) -> Result<()> {
    run.options
        .validate()
        .map_err(|e| Error::model_file(format!("a recorded training run: {e}")))?;
    if let Some(data) = &run.data {
        let digest = &data.labels_digest;
        if digest.len() != 16 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::model_file(format!(
                "a recorded training run's labelsDigest is '{}', not 16 hex digits",
                clip(digest)
            )));
        }
    }
    Ok(())
}

/// The file's tensors against `architecture`: every tensor it needs, with its shape, as
/// `f32`, and nothing else. Only the header is read; nothing is allocated from the file.
pub fn check_tensors(bytes: &[u8], architecture: &NetworkConfig) -> Result<()> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).map_err(not_safetensors)?;
    let stored = header.tensors();
    let expected = expected_tensors(architecture)?;
    for (name, shape) in &expected {
        let info = stored.get(name).ok_or_else(|| {
            Error::model_file(format!("tensor '{name}' is missing for {}", architecture.name()))
        })?;
        if info.dtype != Dtype::F32 {
            return Err(Error::model_file(format!(
                "tensor '{name}' is {:?}, expected F32",
                info.dtype
            )));
        }
        if &info.shape != shape {
            return Err(Error::model_file(format!(
                "tensor '{name}' has shape {:?}, the architecture needs {shape:?}",
                info.shape
            )));
        }
    }
    if let Some(extra) = stored.keys().find(|k| !expected.iter().any(|(n, _)| n == *k)) {
        return Err(Error::model_file(format!(
            "unexpected tensor '{}' for {}",
            clip(extra),
            architecture.name()
        )));
    }
    Ok(())
}

/// The names and shapes of the network's tensors, from a lazily initialised network (its
/// weights are never drawn).
fn expected_tensors(architecture: &NetworkConfig) -> Result<Vec<(String, Vec<usize>)>> {
    let model = architecture.init(&Device::flex())?;
    let mut shapes = Shapes::default();
    model.visit_inner(&mut shapes);
    Ok(shapes.tensors)
}

/// Collects each float parameter's module path and shape without initialising it.
#[derive(Default)]
struct Shapes {
    path: Vec<String>,
    tensors: Vec<(String, Vec<usize>)>,
}

impl ModuleVisitor for Shapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.tensors.push((self.path.join("."), param.lazy_shape().to_vec()));
    }
}

/// At most 60 characters of a value from the file, for a message.
fn clip(text: &str) -> String {
    let mut out: String = text.chars().take(60).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{InputSpec, ModelMetadata};
    use crate::data::{Normalization, ResizePolicy};

    fn good() -> ModelMetadata {
        ModelMetadata {
            labels: vec!["a".into(), "b".into()],
            thresholds: vec![0.5, 0.5],
            input: InputSpec {
                image_size: 32,
                channels: 3,
                resize: ResizePolicy::Stretch,
                normalization: Normalization { mean: vec![0.5; 3], std: vec![0.25; 3] },
                sound: None,
            },
            architecture: crate::ResNetV2Config::new(ResNetKind::Small, 11, 2).into(),
            ..ModelMetadata::default()
        }
    }

    fn refused(edit: impl FnOnce(&mut ModelMetadata), words: &str) {
        let mut m = good();
        edit(&mut m);
        let err = check_metadata(&m).expect_err(words).to_string();
        assert!(err.contains(words), "{err}");
    }

    #[test]
    fn a_trained_models_metadata_passes() {
        check_metadata(&good()).unwrap();
    }

    #[test]
    fn each_field_out_of_range_is_named() {
        refused(|m| m.input.image_size = 100_000, "input.imageSize is 100000");
        refused(
            |m| m.architecture.resnet_mut().unwrap().depth = 100_001,
            "architecture.depth is 100001",
        );
        refused(
            |m| m.architecture.resnet_mut().unwrap().base_width = Some(1 << 20),
            "base_width is 1048576",
        );
        refused(|m| m.input.channels = 7, "input.channels is 7");
        refused(|m| m.architecture.resnet_mut().unwrap().in_channels = 1, "in_channels is 1");
        refused(|m| m.thresholds[1] = f32::NAN, "the threshold of 'b' is NaN");
        refused(|m| m.thresholds[0] = 1.5, "not in [0, 1]");
        refused(|m| m.thresholds.push(0.5), "counts disagree");
        refused(|m| m.input.normalization.std[2] = 0.0, "not positive");
        refused(|m| m.input.normalization.mean = vec![0.5], "1 means");
        refused(|m| m.labels[1] = "a".into(), "'a' appears twice");
        refused(|m| m.labels[1] = "line\nbreak".into(), "control characters");
        refused(|m| m.version = VERSION + 1, "newer than this tagtrain");
        refused(|m| m.format = "other".into(), "format is 'other'");
        let sound = crate::data::audio::SoundSettings { hop: 0, ..Default::default() };
        refused(
            |m| m.input.sound = Some(sound.clone()),
            "input.sound is set, and input.channels is 3",
        );
        refused(
            |m| {
                m.input.channels = 1;
                m.input.normalization = Normalization { mean: vec![0.5], std: vec![0.25] };
                m.input.sound = Some(sound);
            },
            "option 'sound.hop'",
        );
    }

    #[test]
    fn tensor_shapes_come_from_the_architecture_without_drawing_weights() {
        let config: NetworkConfig = crate::ResNetV2Config::new(ResNetKind::Small, 11, 2).into();
        let tensors = expected_tensors(&config).unwrap();
        let head = tensors.iter().find(|(n, _)| n == "head.weight").unwrap();
        assert_eq!(head.1, vec![config.features().unwrap(), 2]);
        assert!(tensors.iter().any(|(n, _)| n == "stem.weight"));
    }
}
