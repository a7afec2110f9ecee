"""tagtrain's log-mel spectrogram against librosa's (issue #33): the same numbers, and the speed.

A benchmark tool, not part of the product:

    python3 -m venv ~/.cache/audio-ref-venv && ~/.cache/audio-ref-venv/bin/pip install librosa numpy
    node scripts/make-sounds.mjs /tmp/sounds
    cargo bench --bench audio -- /tmp/sounds/sounds_train.zip --dump /tmp/sounds/dump
    ~/.cache/audio-ref-venv/bin/python benches/logmel_reference.py /tmp/sounds/train /tmp/sounds/dump

1. Agreement. For every clip tagtrain dumped, librosa computes the mel power spectrogram of the
   same resampled window (`librosa.feature.melspectrogram`: periodic Hann, `center=True` with
   zero padding, power 2, the Slaney mel scale, filters of peak 1 (`norm=None`)), scaled like
   tagtrain's (a full-scale sine at a bin's centre is 0 dB) and in dB with the same floor. It
   prints the largest and mean difference in dB over the cells louder than -80 dB (quieter ones
   are float32 rounding of near-silence) and over all cells.
2. Speed. librosa's own path on the original files (`librosa.load(path, sr=16000, mono=True)`,
   which decodes with soundfile or audioread and resamples with soxr, then the centre window
   and the mel spectrogram): clips per second, to set beside `cargo bench --bench audio`.
"""

import json
import os
import sys
import time

import librosa
import numpy as np


def reference_db(samples, s):
    n_fft = s["window"]
    power = librosa.feature.melspectrogram(
        y=samples.astype(np.float64), sr=s["sampleRate"], n_fft=n_fft, hop_length=s["hop"],
        window="hann", center=True, pad_mode="constant", power=2.0, n_mels=s["melBands"],
        fmin=s["minHz"], fmax=s["maxHz"], htk=False, norm=None)
    half_sum = np.sum(np.hanning(n_fft + 1)[:-1]) / 2.0  # the periodic Hann window's sum / 2
    return 10.0 * np.log10(np.maximum(power / half_sum**2, 1e-10))


def centre_window(y, n):
    if len(y) >= n:
        start = (len(y) - n) // 2
        return y[start:start + n]
    return np.concatenate([y, np.zeros(n - len(y), dtype=y.dtype)])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: logmel_reference.py CLIPS_DIR DUMP_DIR")
    clips_dir, dump_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(dump_dir, "settings.json")) as f:
        s = json.load(f)
    stems = sorted(n[: -len(".samples.f32")] for n in os.listdir(dump_dir) if n.endswith(".samples.f32"))
    worst_loud, worst_all, sums, cells = 0.0, 0.0, 0.0, 0
    for stem in stems:
        samples = np.fromfile(os.path.join(dump_dir, stem + ".samples.f32"), dtype="<f4")
        ours = np.fromfile(os.path.join(dump_dir, stem + ".db.f32"), dtype="<f4").astype(np.float64)
        ref = reference_db(samples, s)
        ours = ours.reshape(ref.shape)
        diff = np.abs(ours - ref)
        loud = ref > -80.0
        worst_loud = max(worst_loud, float(diff[loud].max()) if loud.any() else 0.0)
        worst_all = max(worst_all, float(diff.max()))
        sums += float(diff[loud].sum())
        cells += int(loud.sum())
    print(f"librosa {librosa.__version__}: {len(stems)} clips, {s}")
    print(f"agreement over cells above -80 dB: largest difference {worst_loud:.4f} dB, "
          f"mean {sums / max(cells, 1):.5f} dB ({cells} cells); over all cells: {worst_all:.4f} dB")

    files = sorted(n for n in os.listdir(clips_dir) if not n.endswith(".csv"))
    n = int(round(s["clipSeconds"] * s["sampleRate"]))
    # Once untimed: librosa compiles some of its kernels (numba) on first use.
    reference_db(centre_window(librosa.load(os.path.join(clips_dir, files[0]), sr=s["sampleRate"])[0], n), s)
    started = time.perf_counter()
    for name in files:
        y, _ = librosa.load(os.path.join(clips_dir, name), sr=s["sampleRate"], mono=True)
        reference_db(centre_window(y, n), s)
    elapsed = time.perf_counter() - started
    print(f"librosa's path (load + resample + mel + dB): {len(files)} clips in {elapsed:.2f} s = "
          f"{len(files) / elapsed:.0f} clips/s")


if __name__ == "__main__":
    main()
