#!/usr/bin/env bash
# Data-parallel scaling on this machine (issue #36): the same run of `tagtrain train` as
#   1. one process on 1 thread (what one peer has),
#   2. one process on 2 threads (the machine, undivided),
#   3. two peers as threads of one process (--devices 2, sharing the 2 threads),
#   4. two peers as processes on 127.0.0.1 (--peers, 1 thread each),
#   5. one process on 1 thread taking each batch in two passes (--accumulate 2: the peers'
#      arithmetic without the exchange),
# each with its training images/s (`trainImagesPerSec` of --report: validation excluded), peak
# memory (/usr/bin/time -f %M; both processes for 4) and the exchanges' bytes and time.
#
#   benches/data_parallel.sh DATA.zip [EPOCHS] [IMAGE_SIZE] [BATCH]
#   e.g. benches/data_parallel.sh ../shared/datasets/A2_emoji_tags_train.zip 2 64 64
#
# Run it on a quiet machine; BENCHMARKS.md ("Bigger than one machine") records its output.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"
cd "$ROOT"
DATA="$(realpath "$1")"
EPOCHS="${2:-2}" SIZE="${3:-64}" BATCH="${4:-64}"
# The build the tests use (the CPU backend; the default features add the native GPU stack).
cargo build --release --quiet --bin tagtrain --no-default-features --features train,sound,distributed
BIN="$CARGO_TARGET_DIR/release/tagtrain"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
COMMON=(train "$DATA" --epochs "$EPOCHS" --image-size "$SIZE" --batch-size "$BATCH" --seed 1
  --patience 0 --quiet)

# run NAME THREADS [FLAGS…]: one process; its report and peak memory land in $OUT.
run() {
  local name="$1" threads="$2"
  shift 2
  RAYON_NUM_THREADS="$threads" /usr/bin/time -f %M -o "$OUT/$name.mem" \
    "$BIN" "${COMMON[@]}" -o "$OUT/$name.safetensors" --report "$OUT/$name.json" "$@" \
    2> "$OUT/$name.log"
}

run alone-1 1
run alone-2 2
run threads 2 --devices 2
P0=$((20000 + RANDOM % 20000))
PEERS="127.0.0.1:$P0,127.0.0.1:$((P0 + 1))"
RAYON_NUM_THREADS=1 /usr/bin/time -f %M -o "$OUT/rank1.mem" \
  "$BIN" "${COMMON[@]}" -o "$OUT/rank1.safetensors" --peers "$PEERS" --rank 1 2> "$OUT/rank1.log" &
RANK1=$!
run processes 1 --peers "$PEERS" --rank 0
wait "$RANK1"
run accumulate 1 --accumulate 2

python3 - "$OUT" "$(basename "$DATA")" "$EPOCHS" "$SIZE" "$BATCH" <<'EOF'
import json, sys
out, data, epochs, size, batch = sys.argv[1:]
rows = [
    ("one process, 1 thread", "alone-1", []),
    ("one process, 2 threads", "alone-2", []),
    ("2 peers: threads of one process (--devices 2), 2 threads", "threads", []),
    ("2 peers: processes on 127.0.0.1, 1 thread each", "processes", ["rank1"]),
    ("one process, 1 thread, --accumulate 2", "accumulate", []),
]
print(f"{data}, {epochs} epochs at {size} px, batch {batch}, ResNetV2 (the recommended depth)")
print()
print("| run | training images/s | vs 1 thread | peak memory | exchanges | MB per step out / in | share of the run in exchanges |")
print("|---|---|---|---|---|---|---|")
base = json.load(open(f"{out}/alone-1.json"))["trainImagesPerSec"]
for title, name, others in rows:
    report = json.load(open(f"{out}/{name}.json"))
    speed = report["trainImagesPerSec"]
    mem = [int(open(f"{out}/{n}.mem").read().split()[-1]) / 1024 for n in [name] + others]
    mem_text = " + ".join(f"{m:.0f} MB" for m in mem)
    peers = report.get("peers")
    if peers:
        steps = report["steps"]
        per_step = f"{peers['bytesOut'] / steps / 1e6:.2f} / {peers['bytesIn'] / steps / 1e6:.2f}"
        share = f"{100 * peers['seconds'] / report['seconds']:.1f} %"
        exchanges = str(peers["exchanges"])
    else:
        per_step = share = exchanges = "-"
    print(f"| {title} | {speed:.1f} | {speed / base:.2f}× | {mem_text} | {exchanges} | {per_step} | {share} |")
final = {name: json.load(open(f"{out}/{name}.json"))["finalMap"] for _, name, _ in rows}
print()
print("validation mAP: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items()))
EOF
