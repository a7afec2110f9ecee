#!/usr/bin/env bash
# Does the `group` column make validation honest? Run by hand, never in CI. The emoji set draws
# every emoji twice (two vendors); a random image-level split puts one drawing in training and
# the other in validation, and validation then rewards memory. This trains the same run twice on
# the train zip, once as it is and once with a `group` column (the emoji's code point, from the
# provenance file), and measures both models on the held-out test zip:
#
#   benches/grouped_split.sh A2_emoji_tags_train.zip A2_emoji_tags_test.zip [EPOCHS] [IMAGE_SIZE]
#
# Prints a Markdown table: validation mAP (what the run reports), test mAP, and their gap.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRAIN="$(realpath "$1")"; TEST="$(realpath "$2")"
EPOCHS="${3:-8}"; SIZE="${4:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
TAGTRAIN="${TAGTRAIN:-$CARGO_TARGET_DIR/release/tagtrain}"
OUT="$(mktemp -d)"
[ -x "$TAGTRAIN" ] || (cd "$ROOT" && cargo build --release --bin tagtrain)
export RAYON_NUM_THREADS=2

# The train zip with a `group` column: each row's `unified` code from <zip>.provenance.csv.
python3 - "$TRAIN" "$TRAIN.provenance.csv" "$OUT/grouped.zip" <<'PY'
import csv, io, sys, zipfile
train, provenance, out = sys.argv[1:]
group = {r["image"]: r["unified"] for r in csv.DictReader(open(provenance, newline=""))}
with zipfile.ZipFile(train) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
    for info in src.infolist():
        data = src.read(info)
        if info.filename == "index.csv":
            rows = list(csv.reader(io.StringIO(data.decode())))
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\n")
            w.writerow([rows[0][0], "group", *rows[0][1:]])
            for r in rows[1:]:
                w.writerow([r[0], group[r[0]], *r[1:]])
            data = text.getvalue().encode()
        dst.writestr(info.filename, data)
PY

echo "| split | validation mAP (best epoch) | test mAP | validation − test |"
echo "|---|---|---|---|"
for variant in image grouped; do
  data="$TRAIN"; [ "$variant" = grouped ] && data="$OUT/grouped.zip"
  "$TAGTRAIN" train "$data" -o "$OUT/$variant.safetensors" --epochs "$EPOCHS" --depth 11 \
    --image-size "$SIZE" --seed 1 --patience 0 --report "$OUT/$variant.json" --quiet 2>/dev/null
  valid=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['finalMap'])" "$OUT/$variant.json")
  "$TAGTRAIN" eval "$OUT/$variant.safetensors" "$TEST" --json > "$OUT/$variant-test.json"
  test=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['map'])" "$OUT/$variant-test.json")
  python3 -c "import sys; v,t=map(float,sys.argv[2:]); print(f'| {sys.argv[1]} | {v:.4f} | {t:.4f} | {v-t:+.4f} |')" \
    "$variant (${EPOCHS} epochs, ${SIZE} px)" "$valid" "$test"
done
rm -rf "$OUT"
