#!/usr/bin/env bash
# The recipe against the independent PyTorch reference (issue #14). Run by hand, never in CI.
#
#   benches/recipe_ablation.sh TRAIN.zip TEST.zip OUT_DIR SIZE EPOCHS DEPTH [VARIANT...]
#
# Trains the independent reference (../shared/reference/train.py, its own defaults: lr 2e-3,
# batch 64, weight decay 5e-4, 10 % validation, He init, crop with 4 px padding, no jitter)
# and tagtrain once per VARIANT, two runs at a time with one thread each (the 2-core machine's
# best throughput; accuracy does not depend on it), then prints a Markdown table: test mAP (the
# test zip, thresholds irrelevant), the last epoch's training loss, validation mAP. A VARIANT is
# `name=flags`, the flags passed to `tagtrain train` after the common ones (`--epochs --depth
# --image-size --seed 1 --patience 0`); `name=` alone is tagtrain's defaults, and `name@BIN=flags`
# runs the tagtrain binary BIN instead (another commit's build, e.g. for its initialisation).
# Grayscale data (1-channel PNGs) runs the reference with --grayscale.
#
# The reference needs a venv with torch, numpy, pillow and scikit-learn:
#   python3 -m venv ~/.cache/ref-venv && ~/.cache/ref-venv/bin/pip install torch numpy pillow scikit-learn
# (REF_PYTHON overrides the interpreter, REFERENCE the script.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRAIN="$(realpath "$1")"; TEST="$(realpath "$2")"; OUT="$3"; SIZE="$4"; EPOCHS="$5"; DEPTH="$6"
shift 6
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
TAGTRAIN="${TAGTRAIN:-$CARGO_TARGET_DIR/release/tagtrain}"
REF_PYTHON="${REF_PYTHON:-$HOME/.cache/ref-venv/bin/python}"
REFERENCE="${REFERENCE:-$ROOT/../shared/reference/train.py}"
mkdir -p "$OUT"
[ -x "$TAGTRAIN" ] || (cd "$ROOT" && cargo build --release --bin tagtrain)
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1

GRAY=()
if unzip -p "$TRAIN" "$(unzip -Z1 "$TRAIN" | grep -m1 -i '\.png$')" | python3 -c \
    'import sys; d=sys.stdin.buffer.read(); sys.exit(0 if d[25] in (0, 4) else 1)'; then
  GRAY=(--grayscale)
fi

run_reference() {
  "$REF_PYTHON" "$REFERENCE" --train "$TRAIN" --test "$TEST" --depth "$DEPTH" --epochs "$EPOCHS" \
    --image-size "$SIZE" --threads 1 --seed 0 "${GRAY[@]}" --out "$OUT/reference.json" > "$OUT/reference.log" 2>&1
}

run_variant() { # name[@bin] flags...
  local name="${1%%@*}" bin="$TAGTRAIN"
  [[ "$1" == *@* ]] && bin="${1#*@}"
  shift
  # shellcheck disable=SC2086
  "$bin" train "$TRAIN" -o "$OUT/$name.safetensors" --epochs "$EPOCHS" --depth "$DEPTH" --image-size "$SIZE" \
    --seed 1 --patience 0 --quiet --report "$OUT/$name.report.json" "$@" > "$OUT/$name.log" 2>&1
  "$bin" eval "$OUT/$name.safetensors" "$TEST" --json > "$OUT/$name.eval.json" 2>> "$OUT/$name.log"
}

jobs_running() { jobs -rp | wc -l; }
run_reference &
for variant in "$@"; do
  while [ "$(jobs_running)" -ge 2 ]; do sleep 2; done
  name="${variant%%=*}"; flags="${variant#*=}"
  # shellcheck disable=SC2086
  run_variant "$name" $flags &
done
wait

python3 - "$OUT" "$@" <<'PY'
import json, re, sys
out, variants = sys.argv[1], sys.argv[2:]
EPOCH = re.compile(r"^epoch\s+(\d+)\s+train loss ([0-9.]+)\s+valid loss \S+\s+mAP ([0-9.]+)", re.M)
r = json.load(open(f"{out}/reference.json"))
print("| run | test mAP | last epoch's train loss | validation mAP (last epoch) |")
print("|---|---|---|---|")
print(f"| PyTorch reference | {r['test']['mAP']:.4f} | {r['epochs'][-1]['loss']:.4f} | {r['epochs'][-1]['val_mAP']:.4f} |")
for v in variants:
    name, flags = v.split("=", 1)
    name = name.split("@", 1)[0]
    e = json.load(open(f"{out}/{name}.eval.json"))
    _, loss, val_map = EPOCH.findall(open(f"{out}/{name}.log").read())[-1]
    print(f"| {name} `{flags or 'defaults'}` | {e['map']:.4f} | {float(loss):.4f} | {float(val_map):.4f} |")
PY
