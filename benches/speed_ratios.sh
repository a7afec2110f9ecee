#!/usr/bin/env bash
# Training speed in one go, as ratios (issues #13 and #35). Run by hand on a quiet machine, never
# in CI:
#
#   benches/speed_ratios.sh A2_TRAIN.zip A2_TEST.zip REFERENCE_DIR [--quick]
#   e.g. benches/speed_ratios.sh ../shared/datasets/A2_emoji_tags_{train,test}.zip ../shared/reference
#
# 1. Native: tagtrain's CLI (burn-flex, 2 threads) against the independent PyTorch reference
#    (REFERENCE_DIR/train.py, 2 threads), Small-11, A2 at 64 px, batch 64. Both count training
#    images/s over their epochs' optimisation steps with augmentation, validation excluded:
#    tagtrain's `trainImagesPerSec` over one epoch, the reference's median `epoch_images_per_s`
#    over its epochs after the first. Then tagtrain's CLI on ONE thread at the CPU page's
#    settings (A2, 32 px, batch 64, Small-11, one epoch) for row 4.
# 2. The page (headless Chromium): the CPU page and the WebGPU page (SwiftShader here, a
#    software GPU) on the page's sample (www/sample, 60 images) at 32 px, batch 16, and A2 at
#    32 and 64 px, batch 64; Small-11; through benches/browser_train_speed.mjs (the page's own
#    images/s, averaged since the first step).
# 3. TF.js 4.22's WebGL backend training the same network (Small-11, same parameter count) on
#    A2's first images at 32 px, batch 64, as many steps as the WebGPU page's A2 32 px row, in
#    the same headless Chromium: benches/browser_tfjs_speed.mjs (images/s after 2 warm-up steps;
#    plain Adam, no augmentation; it installs TF.js into benches/tfjs/node_modules on first use).
#    Prints the WebGPU page's A2 32 px figure over it, both from this run.
# 4. The CPU page's A2 32 px, batch 64 figure over the native CLI's on one thread (same network,
#    size and batch; the page's wasm runs on one thread too).
#
# Prints Markdown rows. `--quick` runs fewer page steps. Needs the web module built
# (scripts/build-web.sh), npm's registry reachable the first time (TF.js), and the reference's
# Python (torch, numpy, pillow, scikit-learn): $PYTHON, default ~/.cache/ref-venv/bin/python,
# else python3.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRAIN="$(realpath "$1")"; TEST="$(realpath "$2")"; REF="$(realpath "$3")"; QUICK="${4:-}"
SAMPLE="$(ls "$ROOT"/www/sample/*.zip | head -1)"
source "$ROOT/scripts/env.sh"
TAGTRAIN="$CARGO_TARGET_DIR/release/tagtrain"
PYTHON="${PYTHON:-$HOME/.cache/ref-venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$HOME/.cache/torch-venv/bin/python"
[ -x "$PYTHON" ] || PYTHON=python3
OUT="$(mktemp -d)"
# The CPU backend's code is the same with or without the GPU backend; without it the build skips
# wgpu and cubecl (the features scripts/test.sh builds the CLI with).
(cd "$ROOT" && cargo build --release --bin tagtrain --quiet --no-default-features \
  --features train,sound,distributed)
[ -f "$ROOT/www/pkg/tagtrain_bg.wasm" ] || bash "$ROOT/scripts/build-web.sh"

export OMP_NUM_THREADS=2 RAYON_NUM_THREADS=2
"$TAGTRAIN" train "$TRAIN" -o "$OUT/m.safetensors" --epochs 1 --depth 11 --image-size 64 \
  --batch-size 64 --valid-fraction 0.1 --seed 1 --patience 0 --report "$OUT/tagtrain.json" --quiet
"$PYTHON" "$REF/train.py" --train "$TRAIN" --test "$TEST" --depth 11 --epochs 3 --image-size 64 \
  --threads 2 --seed 0 --out "$OUT/reference.json" > "$OUT/reference.log"
NATIVE="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trainImagesPerSec"])' "$OUT/tagtrain.json")"
TORCH="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["train_throughput"]["epoch_images_per_s_median"])' "$OUT/reference.json")"
python3 -c "n, t = $NATIVE, $TORCH; print(f'| native, A2 64 px, Small-11, batch 64, 2 threads | tagtrain {n:.1f} images/s | PyTorch {t:.1f} images/s | {n / t:.2f}× |')"
RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 "$TAGTRAIN" train "$TRAIN" -o "$OUT/m1.safetensors" --epochs 1 \
  --depth 11 --image-size 32 --batch-size 64 --valid-fraction 0.1 --seed 1 --patience 0 \
  --report "$OUT/tagtrain-1thread.json" --quiet
NATIVE1="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["trainImagesPerSec"])' "$OUT/tagtrain-1thread.json")"
python3 -c "n = $NATIVE1; print(f'| native, A2 32 px, Small-11, batch 64, 1 thread | tagtrain {n:.1f} images/s |')"

steps32=12; steps64=6
[ "$QUICK" = --quick ] && { steps32=4; steps64=3; }
page() { # DEVICE_FLAG ZIP SIZE STEPS [MORE ARGS]
  node "$ROOT/benches/browser_train_speed.mjs" "$2" $1 --size "$3" --steps "$4" "${@:5}" | tee -a "$OUT/pages.md"
}
for flag in "" --webgpu; do
  # The sample's 60 images make 2–3 steps an epoch at batch 16 (after validation).
  page "$flag" "$SAMPLE" 32 9 --batch 16 --epochs 10
  page "$flag" "$TRAIN" 32 "$steps32" --batch 64
  page "$flag" "$TRAIN" 64 "$steps64" --batch 64
done
# TF.js's WebGL backend, the same network and settings as the WebGPU page's A2 32 px row.
node "$ROOT/benches/browser_tfjs_speed.mjs" "$TRAIN" --backend webgl --size 32 --batch 64 \
  --steps "$steps32" | tee "$OUT/tfjs.md"
python3 - "$OUT/pages.md" "$OUT/tfjs.md" "$(basename "$TRAIN")" "$NATIVE1" <<'PY'
import re, sys
pages, tfjs, train, native1 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def figure(path, *parts):
    """images/s of the first row of PATH that is about TRAIN and holds every one of PARTS."""
    for line in open(path):
        if line.startswith(f"| {train} |") and all(p in line for p in parts):
            return float(re.search(r"\| ([\d.]+) images/s", line).group(1))
    sys.exit(f"no row with {parts} for {train} in {path}")
gpu = figure(pages, "WebGPU page", " 32 px ")
tf = figure(tfjs, "TF.js", "WebGL", " 32 px ")
print(f"WebGPU page, A2 32 px: {gpu:.2f} images/s = {gpu / tf:.2f}× TF.js WebGL ({tf:.2f} images/s, same run)")
cpu = figure(pages, "CPU page", " 32 px ", "batch 64")
print(f"CPU page vs native CLI, one thread, same settings (A2 32 px, batch 64, Small-11): "
      f"{cpu:.1f} images/s = {cpu / native1:.2f}× native ({native1:.1f} images/s)")
PY
echo "raw results in $OUT"
