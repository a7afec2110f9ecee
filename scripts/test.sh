#!/usr/bin/env bash
# Runs every test: the code's habits (rustfmt, clippy with warnings as errors, documented public
# items), the Rust unit and integration tests (native, flex CPU backend; the GPU convolution
# kernels on SwiftShader's Vulkan), the page's JavaScript type-checked by tsc, then the browser
# end-to-end tests (headless Chromium, WebGPU on SwiftShader and the CPU fallback).
# On a fresh machine it first installs what is missing: Chromium (Debian), the npm test tools,
# the wasm32 target and the pinned wasm-bindgen-cli.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "==> installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
  echo "==> installing Node.js"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

echo "==> npm ci (playwright-core, binaryen, typescript)"
npm ci --no-audit --no-fund

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "==> installing rustfmt and clippy"
  rustup component add rustfmt clippy
fi

echo "==> cargo fmt --check"
cargo fmt --check

echo "==> cargo clippy (native, every target, warnings are errors)"
cargo clippy --release --all-targets -- -D warnings
# The browser front end (wasm.rs, device/browser.rs) only compiles for wasm32.
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
echo "==> cargo clippy (wasm32 library: the training page's, then the predict package's)"
cargo clippy --release --lib --target wasm32-unknown-unknown -- -D warnings
cargo clippy --release --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings

echo "==> cargo test (native)"
cargo test --release

# The project's GPU paths against burn's (the convolution kernels of src/model/gpu_conv, the
# shared subsample of src/model/conv.rs, the composed batch norm of src/model/norm.rs), natively on SwiftShader: Chromium's software Vulkan
# driver and the loader it ships (this machine has no GPU). Only these tests see the driver;
# the others stay on the CPU backend.
SWIFTSHADER_ICD="${SWIFTSHADER_ICD:-/usr/lib/chromium/vk_swiftshader_icd.json}"
if [ ! -f "$SWIFTSHADER_ICD" ]; then
  echo "error: no SwiftShader Vulkan driver at $SWIFTSHADER_ICD (Debian's chromium ships it;" \
    "set SWIFTSHADER_ICD to another vk_swiftshader_icd.json)" >&2
  exit 1
fi
echo "==> cargo test gpu_conv model::conv model::norm (native wgpu on SwiftShader)"
LD_LIBRARY_PATH="$(dirname "$SWIFTSHADER_ICD")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  VK_ICD_FILENAMES="$SWIFTSHADER_ICD" TAGTRAIN_REQUIRE_GPU=1 \
  cargo test --release --lib -- gpu_conv model::conv model::norm

bash scripts/build-web.sh

# The page's JavaScript, type-checked against the wasm module's .d.ts (just written to www/pkg/)
# and the payload types generated from the Rust structs (www/types/; `cargo test` above failed
# if they were stale). The page, then the worker and the service worker (other globals).
echo "==> tsc (the page, the worker)"
npx tsc -p .
npx tsc -p tsconfig.worker.json

bash scripts/build-predict.sh

echo "==> browser end-to-end tests"
node --test --test-concurrency=1 tests/e2e/
