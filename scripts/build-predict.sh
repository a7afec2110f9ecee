#!/usr/bin/env bash
# Builds the predict-only package (@tagtrain/predict, issue #10) into www/predict/pkg/: the same
# Rust core without training (no autodiff, optimiser or session) and without the GPU backend,
# then packs it with `npm pack`. Run after scripts/build-web.sh (which installs the tools).
#
#   --no-precache   leave the service worker's list alone (scripts/test.sh writes it once the
#                   web module's wasm-opt, running beside this build, is done).
set -euo pipefail
PRECACHE=1
if [ "${1:-}" = "--no-precache" ]; then PRECACHE=0; fi
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

CARGO_VERSION="$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)"
PACKAGE_VERSION="$(node -p 'require("./www/predict/package.json").version')"
if [ "$CARGO_VERSION" != "$PACKAGE_VERSION" ]; then
  echo "www/predict/package.json has version $PACKAGE_VERSION, Cargo.toml $CARGO_VERSION: make them equal" >&2
  exit 1
fi

# The `predict` profile: release with link-time optimisation, one codegen unit and size-minded
# optimisation levels (Cargo.toml), which keep the package with sound within its budget below.
say "building the predict-only wasm module (profile predict, --no-default-features --features sound)"
cargo build --profile predict --lib --target wasm32-unknown-unknown --no-default-features --features sound
WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/predict/tagtrain.wasm"

say "generating its JS glue"
rm -rf www/predict/pkg
wasm-bindgen --target web --no-typescript --out-name tagtrain_predict --out-dir www/predict/pkg "$WASM"

optimise_wasm www/predict/pkg/tagtrain_predict_bg.wasm

say "tsc: the package's types against tests/predict-types/usage.ts"
node_modules/.bin/tsc -p tests/predict-types

say "npm pack"
PACK_DIR="$CARGO_TARGET_DIR/predict-pack"
mkdir -p "$PACK_DIR"
(cd www/predict && npm pack --silent --pack-destination "$PACK_DIR" >/dev/null)
TARBALL="$PACK_DIR/tagtrain-predict-$CARGO_VERSION.tgz"
size() { stat -c %s "$1"; }
gz() { gzip -9c "$1" | wc -c; }
WASM_OUT=www/predict/pkg/tagtrain_predict_bg.wasm
JS_RAW=$(( $(size www/predict/pkg/tagtrain_predict.js) + $(size www/predict/index.js) ))
JS_GZ=$(( $(gz www/predict/pkg/tagtrain_predict.js) + $(gz www/predict/index.js) ))
TOTAL_GZ=$(( $(gz $WASM_OUT) + JS_GZ ))
echo "predict package: wasm $(size $WASM_OUT) B raw, $(gz $WASM_OUT) B gzip; JS $JS_RAW B raw, $JS_GZ B gzip;" \
  "wasm + JS $TOTAL_GZ B gzip; tarball $(size "$TARBALL") B ($TARBALL)"
# The budget of issue #10: what a page downloads to predict, gzip.
BUDGET=1000000
if [ "$TOTAL_GZ" -gt "$BUDGET" ]; then
  echo "the predict package is $TOTAL_GZ B gzip, over its budget of $BUDGET B" >&2
  exit 1
fi

# The service worker's list of files to keep offline, with their hashes (www/precache.js).
if [ "$PRECACHE" = 1 ]; then node scripts/precache.mjs; fi
