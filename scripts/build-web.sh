#!/usr/bin/env bash
# Builds the wasm module and its JS glue into www/pkg/.
# Installs what is missing: the wasm32 target and wasm-bindgen-cli at exactly the version in
# Cargo.lock (a mismatch makes the glue and the module disagree).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

WB_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if [ -z "$WB_VERSION" ]; then echo "cannot find wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WB_VERSION" ]; then
  echo "==> installing wasm-bindgen-cli $WB_VERSION"
  # Not --locked: one of its locked dependencies is no longer in the registry.
  cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

echo "==> building the wasm module (release)"
cargo build --release --lib --target wasm32-unknown-unknown
WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/tagtrain.wasm"

echo "==> generating JS glue"
rm -rf www/pkg
wasm-bindgen --target web --no-typescript --out-dir www/pkg "$WASM"

# wasm-opt (npm's binaryen; Debian's is too old and produces modules that fail to load) roughly
# halves the module. Only when installed by `npm ci`; the unoptimised module works the same.
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
# It takes minutes, so its output is kept (in the Cargo target dir) by the input's hash.
if [ "${TAGTRAIN_WASM_OPT:-1}" = "1" ] && [ -x "$WASM_OPT" ]; then
  CACHE="$CARGO_TARGET_DIR/tagtrain-wasm-opt"
  KEY="$(sha256sum www/pkg/tagtrain_bg.wasm | cut -d' ' -f1)-$("$WASM_OPT" --version | tr -cd '0-9.')"
  if [ -f "$CACHE/$KEY.wasm" ]; then
    echo "==> wasm-opt -Oz (cached)"
  else
    echo "==> wasm-opt -Oz"
    mkdir -p "$CACHE"
    "$WASM_OPT" -Oz --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-multivalue \
      www/pkg/tagtrain_bg.wasm -o "$CACHE/$KEY.tmp"
    mv "$CACHE/$KEY.tmp" "$CACHE/$KEY.wasm"
  fi
  cp "$CACHE/$KEY.wasm" www/pkg/tagtrain_bg.wasm
fi
ls -l www/pkg/tagtrain_bg.wasm
