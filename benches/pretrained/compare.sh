#!/usr/bin/env bash
# A pretrained start against ResNetV2 from scratch on small training sets (issue #37). Run by
# hand, never in CI.
#
#   benches/pretrained/compare.sh TRAIN.zip TEST.zip OUT_DIR "N1 N2 …" EPOCHS [SIDE]
#
# For each N, cuts TRAIN.zip to N images (benches/pretrained/subset_zip.py, seed 0) and trains,
# with the same epochs and seed: ResNetV2 from scratch (the recommended depth and size), and
# EfficientNet-Lite0 from its ImageNet weights with the head alone (features computed once),
# the top of the backbone, and every layer (SIDE px, default 224; the backbone at 0.1 × the
# learning rate). Each model is evaluated on TEST.zip (`tagtrain eval`: test mAP, thresholds
# irrelevant). Prints a Markdown table: test mAP, training seconds, peak memory (`/usr/bin/time
# -f %M`). One thread each (RAYON_NUM_THREADS=1). VARIANTS="scratch head" runs only those.
# Needs the weights (scripts/fetch-pretrained.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TRAIN="$(realpath "$1")"; TEST="$(realpath "$2")"; OUT="$3"; SIZES="$4"; EPOCHS="$5"; SIDE="${6:-224}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
TAGTRAIN="${TAGTRAIN:-$CARGO_TARGET_DIR/release/tagtrain}"
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
mkdir -p "$OUT"

run() { # name data flags...
  local name="$1" data="$2"
  shift 2
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$TAGTRAIN" train "$data" -o "$OUT/$name.safetensors" \
    --epochs "$EPOCHS" --seed 1 --quiet "$@" > "$OUT/$name.log" 2>&1
  "$TAGTRAIN" eval "$OUT/$name.safetensors" "$TEST" --json > "$OUT/$name.eval.json" 2>> "$OUT/$name.log"
}

for n in $SIZES; do
  data="$OUT/train-$n.zip"
  python3 "$ROOT/benches/pretrained/subset_zip.py" "$TRAIN" "$data" "$n" --seed 0 > /dev/null
  for variant in ${VARIANTS:-scratch head top all}; do
    case "$variant" in
      scratch) run "scratch-$n" "$data" ;;
      *) run "$variant-$n" "$data" --pretrained --image-size "$SIDE" --train-layers "$variant" ;;
    esac
  done
done

python3 - "$OUT" "$SIZES" <<'PY'
import json, os, sys
out, sizes = sys.argv[1], sys.argv[2].split()
print("| training images | start | test mAP | Δ vs scratch | train s | peak MB |")
print("|---|---|---|---|---|---|")
for n in sizes:
    base = json.load(open(f"{out}/scratch-{n}.eval.json"))["map"]
    for name, label in [("scratch", "ResNetV2 from scratch"), ("head", "pretrained, head alone"),
                        ("top", "pretrained, top + head"), ("all", "pretrained, every layer")]:
        if not os.path.exists(f"{out}/{name}-{n}.eval.json"):
            continue
        m = json.load(open(f"{out}/{name}-{n}.eval.json"))["map"]
        seconds, kb = open(f"{out}/{name}-{n}.time").read().split()[-2:]
        delta = "" if name == "scratch" else f"{m - base:+.3f}"
        print(f"| {n} | {label} | {m:.3f} | {delta} | {float(seconds):.0f} | {int(kb) / 1024:.0f} |")
PY
