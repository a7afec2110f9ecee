#!/usr/bin/env bash
# Side by side: tagtrain (native CLI, CPU) and the PyTorch reference (benches/reference/), same
# network, recipe, data and epochs, 2 threads each. Run by hand, never in CI:
#
#   benches/compare_pytorch.sh TRAIN.zip TEST.zip [EPOCHS] [DEPTHS] [IMAGE_SIZE]
#   e.g. benches/compare_pytorch.sh A2_emoji_tags_train.zip A2_emoji_tags_test.zip 10 "11 20" 64
#
# Prints a Markdown table: test mAP, micro/macro-F1 with tuned thresholds, training and
# prediction images/s, peak RSS. Needs /usr/bin/time (Debian package `time`) and the venv of
# benches/reference/requirements.txt (created here when missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRAIN="$(realpath "$1")"; TEST="$(realpath "$2")"
EPOCHS="${3:-10}"; DEPTHS="${4:-11 20}"; SIZE="${5:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
TAGTRAIN="${TAGTRAIN:-$CARGO_TARGET_DIR/release/tagtrain}"
VENV="$ROOT/benches/reference/.venv"
OUT="$(mktemp -d)"

[ -x "$TAGTRAIN" ] || (cd "$ROOT" && cargo build --release --bin tagtrain)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/benches/reference/requirements.txt"
fi
# Two threads each: torch's intra-op pool and rayon (burn's CPU backend).
export OMP_NUM_THREADS=2 RAYON_NUM_THREADS=2

peak_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF/1024}' "$1"; }

echo "| implementation | depth | epochs run (best) | test mAP | micro-F1 | macro-F1 | train img/s | predict img/s | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|"
for D in $DEPTHS; do
  /usr/bin/time -v "$TAGTRAIN" train "$TRAIN" -o "$OUT/d$D.safetensors" --epochs "$EPOCHS" --depth "$D" \
    --image-size "$SIZE" --seed 42 --device cpu --report "$OUT/train$D.json" --quiet 2> "$OUT/train$D.time" >/dev/null \
    || { cat "$OUT/train$D.time" >&2; exit 1; }
  /usr/bin/time -v "$TAGTRAIN" eval "$OUT/d$D.safetensors" "$TEST" --json > "$OUT/eval$D.json" 2> "$OUT/eval$D.time"
  python3 - "$OUT" "$D" "$(peak_mb "$OUT/train$D.time")" <<'PY'
import json, sys
out, d, rss = sys.argv[1], sys.argv[2], sys.argv[3]
t = json.load(open(f"{out}/train{d}.json")); e = json.load(open(f"{out}/eval{d}.json"))
print(f"| tagtrain (burn flex, CPU) | {d} | {t['epochsCompleted']} ({t['bestEpoch']}) | {e['map']:.4f} | {e['microF1']:.4f} "
      f"| {e['macroF1']:.4f} | {t['trainImagesPerSec']:.1f} | {e['imagesPerSec']:.1f} | {rss} |")
PY
  /usr/bin/time -v "$VENV/bin/python" "$ROOT/benches/reference/resnetv2_reference.py" --train "$TRAIN" --test "$TEST" \
    --epochs "$EPOCHS" --depth "$D" --image-size "$SIZE" --seed 42 --threads 2 --json "$OUT/ref$D.json" \
    > "$OUT/ref$D.log" 2> "$OUT/ref$D.time" || { cat "$OUT/ref$D.log" "$OUT/ref$D.time" >&2; exit 1; }
  python3 - "$OUT" "$D" <<'PY'
import json, sys
out, d = sys.argv[1], sys.argv[2]
r = json.load(open(f"{out}/ref{d}.json"))
print(f"| {r['implementation']} | {d} | {r['epochs_run']} ({r['best_epoch']}) | {r['test_map']:.4f} | {r['micro_f1']:.4f} "
      f"| {r['macro_f1']:.4f} | {r['train_images_per_sec']:.1f} | {r['predict_images_per_sec']:.1f} | {r['peak_rss_mb']:.0f} |")
PY
done
echo
echo "raw results in $OUT"
