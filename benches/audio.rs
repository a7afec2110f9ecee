//! Sound decoding and spectrogram benchmark (issue #33; run by hand, never in CI):
//!
//! ```text
//! node scripts/make-sounds.mjs /tmp/sounds
//! cargo bench --bench audio -- /tmp/sounds/sounds_train.zip [--dump DIR] [--side 64]
//! ```
//!
//! Every audio entry of the zip goes through the product's path with the default
//! [`SoundSettings`] (the window set from the clips' median length): decode and mix to mono
//! (symphonia), resample to 16 kHz, take the centre window, log-mel, the `side × side` picture.
//! It prints clips per second for decoding alone and for the whole path.
//!
//! `--dump DIR` also writes, for every clip, the resampled window (`NAME.samples.f32`) and its
//! log-mel levels in dB (`NAME.db.f32`, bands × frames, lowest band first), little-endian f32,
//! and `DIR/settings.json`: what `benches/logmel_reference.py` compares with librosa.

use std::io::Read;
use std::time::Instant;

use tagtrain::Limits;
use tagtrain::data::audio::{Crop, SoundSettings, decode_audio, log_mel, resample, window_of};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let flag =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let Some(path) = args.iter().find(|a| a.ends_with(".zip")) else {
        eprintln!("usage: cargo bench --bench audio -- SOUNDS.zip [--dump DIR] [--side 64]");
        std::process::exit(2);
    };
    let side: usize = flag("--side").map_or(64, |s| s.parse().expect("--side is a number"));
    let dump = flag("--dump");

    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(path).expect("open the zip")).expect("a zip");
    let mut clips = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("an entry");
        let name = entry.name().expect("a UTF-8 name").to_string();
        if name.ends_with(".csv") || entry.is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("inflates");
        clips.push((name, bytes));
    }
    let limits = Limits::default();

    let started = Instant::now();
    let decoded: Vec<_> = clips
        .iter()
        .map(|(name, bytes)| decode_audio(name, bytes, &limits).expect("decodes"))
        .collect();
    let decode_s = started.elapsed().as_secs_f64();
    let audio_s: f64 = decoded.iter().map(|c| c.seconds()).sum();
    let mut lengths: Vec<f64> = decoded.iter().map(|c| c.seconds()).collect();
    lengths.sort_by(f64::total_cmp);
    let settings = SoundSettings::for_median_seconds(lengths[lengths.len() / 2]);

    let started = Instant::now();
    let mut checksum = 0u64;
    for (clip, (name, _)) in decoded.iter().zip(&clips) {
        let samples = resample(&clip.samples, clip.sample_rate, settings.sample_rate);
        let window = window_of(&samples, settings.clip_samples(), Crop::Centre);
        let spectrogram = log_mel(&window, &settings);
        let image = spectrogram.to_image(side);
        checksum += image.iter().map(|&p| u64::from(p)).sum::<u64>();
        if let Some(dir) = &dump {
            let stem = name.replace('/', "_");
            let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
            std::fs::create_dir_all(dir).expect("make the dump folder");
            std::fs::write(format!("{dir}/{stem}.samples.f32"), f32s(&window)).expect("write");
            std::fs::write(format!("{dir}/{stem}.db.f32"), f32s(&spectrogram.db)).expect("write");
        }
    }
    let spectrogram_s = started.elapsed().as_secs_f64();
    if let Some(dir) = &dump {
        let json = serde_json::to_string_pretty(&settings).expect("serialises");
        std::fs::write(format!("{dir}/settings.json"), json).expect("write");
    }

    let n = clips.len() as f64;
    println!(
        "{path}: {} clips, {audio_s:.1} s of audio (median {:.2} s)",
        clips.len(),
        lengths[lengths.len() / 2]
    );
    println!("settings: {}", serde_json::to_string(&settings).expect("serialises"));
    println!("decode + mix to mono: {decode_s:.3} s = {:.0} clips/s", n / decode_s);
    println!(
        "resample + window + log-mel + {side}×{side} picture: {spectrogram_s:.3} s = {:.0} clips/s",
        n / spectrogram_s
    );
    println!(
        "whole path: {:.0} clips/s ({:.0}× real time) [checksum {checksum}]",
        n / (decode_s + spectrogram_s),
        audio_s / (decode_s + spectrogram_s)
    );
}
