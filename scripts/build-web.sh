#!/usr/bin/env bash
# Builds the wasm module and its JS glue into www/pkg/, optimises it with wasm-opt and lists the
# files the service worker keeps offline. Fetches the pretrained weights the page serves
# (www/pretrained/, scripts/fetch-pretrained.sh) when missing.
# Installs what is missing: the wasm32 target and wasm-bindgen-cli at exactly the version in
# Cargo.lock (a mismatch makes the glue and the module disagree).
#
#   --bind-only   stop after wasm-bindgen: no wasm-opt, no precache list. scripts/test.sh runs
#                 the single-threaded wasm-opt itself, beside the predict package's build.
set -euo pipefail
BIND_ONLY=0
if [ "${1:-}" = "--bind-only" ]; then BIND_ONLY=1; fi
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

say "pretrained weights (scripts/fetch-pretrained.sh)"
bash scripts/fetch-pretrained.sh

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "installing the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

WB_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if [ -z "$WB_VERSION" ]; then echo "cannot find wasm-bindgen in Cargo.lock" >&2; exit 1; fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION"
  # Not --locked: one of its locked dependencies is no longer in the registry. Not linted either
  # (scripts/test.sh lints this project's crates through RUSTC_WORKSPACE_WRAPPER).
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

say "building the wasm module (release)"
cargo build --release --lib --target wasm32-unknown-unknown
WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/tagtrain.wasm"

say "generating JS glue (and its .d.ts, which tsc checks the page against)"
rm -rf www/pkg
wasm-bindgen --target web --out-dir www/pkg "$WASM"
# wasm-ld wraps every export in a call to all constructors unless the module calls them itself
# (src/wasm/mod.rs, `start`): the wrappers' names say so while the name section is still there.
if grep -q "command_export" www/pkg/tagtrain_bg.wasm; then
  echo "www/pkg/tagtrain_bg.wasm: its exports re-run the linker's constructors on every call (command_export wrappers); src/wasm/mod.rs's start must call __wasm_call_ctors" >&2
  exit 1
fi
if [ "$BIND_ONLY" = 1 ]; then exit 0; fi

optimise_wasm www/pkg/tagtrain_bg.wasm
ls -l www/pkg/tagtrain_bg.wasm

# The service worker's list of files to keep offline, with their hashes (www/precache.js).
node scripts/precache.mjs
