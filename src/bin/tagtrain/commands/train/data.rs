//! Where `tagtrain train`'s images come from (issue #36): the zip is read from its file, never
//! whole into memory; its images are then decoded into memory before the first step, or
//! streamed (decoded per batch by threads ahead of the step), chosen by their size unless
//! `--stream` or `--in-memory` says. The choice is shown on stderr.

use anyhow::Context;
use tagtrain::data::MediaKind;
use tagtrain::data::stream::{StreamSettings, StreamStats, available_memory, default_cache_budget};
use tagtrain::{Dataset, DatasetSource, Limits, TrainingOptions};

use super::super::decode_with_progress;
use crate::args::Args;

/// The dataset zip at `path`, read from its file and checked.
pub(super) fn open_dataset_file(path: &str) -> anyhow::Result<DatasetSource> {
    DatasetSource::from_file(std::path::Path::new(path), &Limits::for_zip_file())
        .with_context(|| format!("{path} cannot be used as a dataset"))
}

/// The images of `source` at the run's size, in memory or streamed; `resumed_streamed` is a
/// resumed run's own choice (its run file's fingerprint depends on it).
pub(super) fn load_dataset(
    args: &Args,
    mut source: DatasetSource,
    options: &TrainingOptions,
    resumed_streamed: Option<bool>,
    quiet: bool,
) -> anyhow::Result<Dataset> {
    let available = available_memory();
    let (stream, why) = choose(args, &source, options, available, resumed_streamed)?;
    if !stream {
        eprintln!("data: decoded into memory ({why})");
        return decode_with_progress(source.len(), quiet, |progress| {
            source.decode(options.image_size, options.resize, progress)
        });
    }
    let cache = match args.value("cache-memory") {
        Some(text) => byte_count(text).ok_or_else(|| {
            args.usage_error(format!("--cache-memory: '{text}' is not a size like 512M or 4G"))
        })?,
        None => default_cache_budget(available),
    };
    let settings = StreamSettings::for_batches(options.batch_size, cache);
    eprintln!(
        "data: streamed from the zip ({why}); {} threads decode up to {} images ahead of the \
         step, decoded images cached up to {} (--cache-memory); duplicates are found by file \
         bytes only",
        settings.workers,
        settings.ahead,
        mib(cache)
    );
    Ok(source.stream(options.image_size, options.resize, settings)?)
}

/// Whether to stream, and why in words.
fn choose(
    args: &Args,
    source: &DatasetSource,
    options: &TrainingOptions,
    available: Option<u64>,
    resumed_streamed: Option<bool>,
) -> anyhow::Result<(bool, String)> {
    let sound = source.kind() == MediaKind::Sounds;
    match (args.flag("stream"), args.flag("in-memory")) {
        (true, true) => Err(args.usage_error("--stream and --in-memory: give one")),
        (true, false) if sound => Err(args.usage_error(
            "--stream: sound clips are decoded into memory only (their spectrograms are made \
             once); leave --stream out",
        )),
        (true, false) => Ok((true, "--stream".into())),
        (false, true) => Ok((false, "--in-memory".into())),
        _ if sound => Ok((false, "sound clips are decoded into memory".into())),
        _ => {
            if let Some(streamed) = resumed_streamed {
                let how = if streamed { "streamed" } else { "held in memory" };
                return Ok((streamed, format!("the resumed run {how} its images")));
            }
            let channels: u64 = if source.grayscale() { 1 } else { 3 };
            let side = u64::from(options.image_size);
            let pixels = source.len() as u64 * side * side * channels;
            let known = available.unwrap_or(8 << 30);
            let of = match available {
                Some(_) => format!("the {} available", mib(known)),
                None => format!("{} (the available memory is not known)", mib(known)),
            };
            Ok(if pixels > known / 2 {
                (true, format!("the decoded pixels, {}, would take over half of {of}", mib(pixels)))
            } else {
                (false, format!("the decoded pixels, {}, fit in half of {of}", mib(pixels)))
            })
        }
    }
}

/// `512M`, `4G`, `1.5G`, `300000` (bytes), `0`: binary units, K to T.
fn byte_count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let scale: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    Some((value * scale as f64) as u64)
}

/// `812 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / f64::from(1 << 20))
}

/// What the end of the run prints and `--report` writes of the loading: how long the steps
/// waited for streamed images, over `seconds` of training.
pub(super) struct DataWait {
    /// `stream` or `memory`.
    pub loading: &'static str,
    /// Seconds the steps waited for images (0 in memory).
    pub seconds: f64,
    /// Their share of the run's training time.
    pub share: f64,
}

impl DataWait {
    /// The wait between `before` (the loader's stats when the run started) and now.
    pub(super) fn measure(dataset: &Dataset, before: Option<StreamStats>, seconds: f64) -> Self {
        let Some(stream) = &dataset.stream else {
            return Self { loading: "memory", seconds: 0.0, share: 0.0 };
        };
        let now = stream.stats();
        let waited = now.waited_seconds - before.map_or(0.0, |b| b.waited_seconds);
        eprintln!(
            "data: the steps waited {waited:.1} s for images over {seconds:.1} s of training \
             ({:.1} %); the cache holds {} images ({} of {}), {} images read from it",
            100.0 * waited / seconds.max(1e-9),
            now.cached_images,
            mib(now.cache_bytes),
            mib(now.cache_budget),
            now.cache_hits
        );
        Self { loading: "stream", seconds: waited, share: waited / seconds.max(1e-9) }
    }
}

#[cfg(test)]
mod tests {
    use super::byte_count;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(byte_count("512M"), Some(512 << 20));
        assert_eq!(byte_count("4G"), Some(4 << 30));
        assert_eq!(byte_count("1.5GiB"), Some(3 << 29));
        assert_eq!(byte_count("0"), Some(0));
        assert_eq!(byte_count("300000"), Some(300_000));
        assert_eq!(byte_count("4X"), None);
        assert_eq!(byte_count("-1G"), None);
    }
}
