//! Decoding the fixtures of `tests/fixtures/sounds/` (made by
//! `node scripts/make-sounds.mjs --fixtures tests/fixtures/sounds`): a 440 Hz tone at half scale
//! in every encoding tagtrain reads, and the hostile cases, each refused by name.

use super::*;
use crate::ErrorKind;

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_bytes!(concat!("../../../tests/fixtures/sounds/", $name)).as_slice())
    };
}

/// The tone's amplitude and the share of its energy at 440 Hz.
fn tone_level(clip: &Clip) -> (f64, f64) {
    let x = &clip.samples;
    let (a, b) = (x.len() / 4, 3 * x.len() / 4);
    let (mut s, mut c, mut e) = (0.0, 0.0, 0.0);
    for (i, v) in x.iter().enumerate().take(b).skip(a) {
        let t = 2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(clip.sample_rate);
        s += f64::from(*v) * t.sin();
        c += f64::from(*v) * t.cos();
        e += f64::from(*v).powi(2);
    }
    let n = (b - a) as f64;
    let amplitude = 2.0 * (s * s + c * c).sqrt() / n;
    (amplitude, amplitude * amplitude / 2.0 / (e / n))
}

#[test]
fn every_encoding_decodes_to_the_same_tone() {
    let cases = [
        (fixture!("tone_wav8_8k_mono.wav"), AudioFormat::Wav, 8_000, 1),
        (fixture!("tone_wav16_16k_stereo.wav"), AudioFormat::Wav, 16_000, 2),
        (fixture!("tone_wav24_44k_mono.wav"), AudioFormat::Wav, 44_100, 1),
        (fixture!("tone_wavf32_48k_stereo.wav"), AudioFormat::Wav, 48_000, 2),
        (fixture!("tone_flac_22k_mono.flac"), AudioFormat::Flac, 22_050, 1),
        (fixture!("tone_ogg_22k_stereo.ogg"), AudioFormat::Ogg, 22_050, 2),
        (fixture!("tone_mp3_44k_stereo.mp3"), AudioFormat::Mp3, 44_100, 2),
    ];
    for ((name, bytes), format, rate, channels) in cases {
        let clip = decode_audio(name, bytes, &Limits::default()).unwrap();
        assert_eq!(
            (clip.format, clip.sample_rate, clip.channels),
            (format, rate, channels),
            "{name}"
        );
        // 0.3 s (lossy codecs add a few ms of priming).
        assert!((clip.seconds() - 0.3).abs() < 0.06, "{name}: {} s", clip.seconds());
        let (amplitude, purity) = tone_level(&clip);
        assert!((amplitude - 0.5).abs() < 0.03, "{name}: amplitude {amplitude}");
        assert!(purity > 0.98, "{name}: only {purity} of the energy at 440 Hz");
    }
}

#[test]
fn the_same_tone_gives_the_same_picture_whatever_the_encoding() {
    let settings = SoundSettings { clip_seconds: 0.3, ..SoundSettings::default() };
    let image = |(name, bytes): (&str, &[u8])| {
        spectrogram_image(name, bytes, &settings, 32, Crop::Centre, &Limits::default()).unwrap()
    };
    let reference = image(fixture!("tone_wav16_16k_stereo.wav"));
    for other in [
        fixture!("tone_wav24_44k_mono.wav"),
        fixture!("tone_flac_22k_mono.flac"),
        fixture!("tone_wavf32_48k_stereo.wav"),
    ] {
        let picture = image(other);
        // Lossless encodings at other rates: the band of the tone equal within a level or two
        // (resampling and the rates' own quantisation), the rest near.
        let worst = reference.iter().zip(&picture).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        let mean =
            reference.iter().zip(&picture).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
                / reference.len() as f64;
        assert!(mean < 6.0, "{}: mean difference {mean}, worst {worst}", other.0);
    }
}

#[test]
fn hostile_files_are_refused_by_name_with_what_to_do() {
    let cases = [
        (fixture!("bad_cut.wav"), "cut short"),
        (fixture!("bad_hours.wav"), "length"),
        (fixture!("bad_rate.wav"), "sample rate"),
        (fixture!("bad_empty.wav"), "no sound"),
        (fixture!("bad_silent.flac"), "silent"),
        (fixture!("bad_text.mp3"), "MP3"),
        (fixture!("bad_plain_text.mp3"), "not a WAV, FLAC, Ogg Vorbis or MP3"),
        (fixture!("bad_no_audio_track.ogg"), "holds no Vorbis audio"),
        (fixture!("bad_damaged.mp3"), "damaged"),
        (fixture!("bad_damaged.ogg"), ""),
    ];
    for ((name, bytes), says) in cases {
        let err = decode_audio(name, bytes, &Limits::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("clip '{name}'")), "{name}: {text}");
        assert!(text.contains(says), "{name}: {text}");
        match err.kind() {
            ErrorKind::AudioDecode { .. } => {
                assert!(text.contains("replace it with a valid WAV"), "{name}: {text}")
            }
            ErrorKind::Limit { .. } => {}
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn the_limits_apply_to_what_the_header_declares() {
    let (name, bytes) = fixture!("tone_wav16_16k_stereo.wav");
    let short = Limits { max_clip_seconds: 0, ..Limits::default() };
    let err = decode_audio(name, bytes, &short).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Limit { what: "length (samples per channel)", .. }),
        "{err}"
    );
    let mono = Limits { max_audio_channels: 1, ..Limits::default() };
    let err = decode_audio(name, bytes, &mono).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Limit { what: "channel count", limit: 1, actual: 2, .. }),
        "{err}"
    );
    let slow = Limits { max_sample_rate: 8_000, ..Limits::default() };
    let err = decode_audio(name, bytes, &slow).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Limit { what: "sample rate (Hz)", actual: 16_000, .. }),
        "{err}"
    );
}

#[test]
fn sniffing_tells_audio_from_images_and_text() {
    assert_eq!(AudioFormat::sniff(fixture!("tone_flac_22k_mono.flac").1), Some(AudioFormat::Flac));
    assert_eq!(AudioFormat::sniff(fixture!("tone_mp3_44k_stereo.mp3").1), Some(AudioFormat::Mp3));
    assert_eq!(AudioFormat::sniff(b"\x89PNG\r\n\x1a\n"), None);
    assert_eq!(AudioFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), None, "a JPEG");
    assert_eq!(AudioFormat::sniff(b"image,a,b\n"), None);
    assert_eq!(AudioFormat::sniff(&[]), None);
}

/// A 16 kHz clip of `seconds`, silent but for a 1 kHz tone over `tone` (start, end seconds).
fn clip_with_tone(seconds: f64, tone: (f64, f64)) -> Clip {
    let rate = 16_000u32;
    let samples = (0..(seconds * f64::from(rate)).round() as usize)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let on = t >= tone.0 && t < tone.1;
            if on { (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as f32 } else { 0.0 }
        })
        .collect();
    Clip { samples, sample_rate: rate, channels: 1, format: AudioFormat::Wav }
}

/// Mean level of columns `cols` of a `side`-row picture `width` wide.
fn columns_mean(picture: &[u8], width: usize, cols: std::ops::Range<usize>) -> f64 {
    let rows = picture.len() / width;
    let sum: u64 =
        (0..rows).flat_map(|y| cols.clone().map(move |x| u64::from(picture[y * width + x]))).sum();
    sum as f64 / (rows * cols.len()) as f64
}

#[test]
fn a_long_clip_is_kept_over_more_time_for_training_crops() {
    let settings = SoundSettings { clip_seconds: 1.0, ..SoundSettings::default() };
    let (side, reach) = (32, 16);
    // 3 s, the tone in the first second only: the centre window (1–2 s) is silent, the strip's
    // left half-window (0.5–1 s) is not.
    let clip = clip_with_tone(3.0, (0.0, 1.0));
    let (centre, strip) = clip_pictures(&clip, &settings, side, reach);
    assert_eq!(
        centre,
        clip_image(&clip, &settings, side, Crop::Centre),
        "the centre is the window prediction sees"
    );
    let strip = strip.expect("a reach gives a strip");
    let width = side + 2 * reach;
    assert_eq!(strip.pixels.len(), side * width);
    assert_eq!(strip.span, reach, "a clip a window longer each side may move the whole reach");
    let (left, middle) =
        (columns_mean(&strip.pixels, width, 2..reach - 2), columns_mean(&centre, side, 0..side));
    // One band of 32 rows holds the tone: its columns' mean rises by a 32nd of its level.
    assert!(left > middle + 5.0, "the time before the window holds the tone: {left} vs {middle}");
    // The strip's middle columns draw the same window as the centre picture (but the edge
    // columns, whose frames reach past the window).
    let clip = clip_with_tone(3.0, (1.2, 1.6));
    let (centre, strip) = clip_pictures(&clip, &settings, side, reach);
    let strip = strip.unwrap().pixels;
    for y in 0..side {
        for x in 2..side - 2 {
            let (a, b) = (centre[y * side + x], strip[y * width + reach + x]);
            assert!(a.abs_diff(b) <= 2, "row {y} column {x}: window {a}, strip {b}");
        }
    }

    // A clip 0.2 s longer than the window may move 0.1 s each way: 3 columns of 32 a second.
    let (_, strip) = clip_pictures(&clip_with_tone(1.2, (0.0, 1.2)), &settings, side, reach);
    assert_eq!(strip.unwrap().span, 3);
    // A short clip keeps its padded window: nothing to crop.
    let (_, strip) = clip_pictures(&clip_with_tone(0.5, (0.0, 0.5)), &settings, side, reach);
    assert_eq!(strip.unwrap().span, 0);
    let (_, none) = clip_pictures(&clip, &settings, side, 0);
    assert_eq!(none, None);
}

#[test]
fn channels_mix_to_their_mean_and_bad_channels_are_refused() {
    assert_eq!(mix_to_mono(&[vec![1.0, 2.0], vec![3.0, -4.0]]).unwrap(), vec![2.0, -1.0]);
    assert_eq!(mix_to_mono(&[vec![0.5, 0.25]]).unwrap(), vec![0.5, 0.25]);
    let err = mix_to_mono(&[]).unwrap_err();
    assert!(err.to_string().contains("no channels"), "{err}");
    let err = mix_to_mono(&[vec![0.0; 3], vec![0.0; 2]]).unwrap_err();
    assert!(err.to_string().contains("channel 1 2"), "{err}");
}
