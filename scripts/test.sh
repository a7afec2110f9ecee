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
  say "installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
  say "installing Node.js"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

say "npm ci (playwright-core, binaryen, typescript)"
npm ci --no-audit --no-fund

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  say "installing rustfmt and clippy"
  rustup component add rustfmt clippy
fi

say "cargo fmt --check"
cargo fmt --check

# Lint while building. clippy's driver stands in for rustc on this project's own crates (not
# on dependencies), so the builds the tests and the two web modules need are linted as they
# compile, with warnings as errors: `cargo clippy` would first type-check every dependency a
# second (and for wasm a third and fourth) time just to lint our code (issue #31: ~10 minutes
# of a cold run). Cargo tracks the wrapper, so a build without it (scripts/serve.sh) recompiles
# only our crate.
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

say "cargo test (native; every target built and linted, warnings are errors)"
cargo test --release --all-targets --no-run
cargo test --release

# The project's GPU paths against burn's (the convolution kernels of src/model/gpu_conv, the
# shared subsample of src/model/conv.rs, the composed batch norm of src/model/norm.rs),
# natively on SwiftShader: Chromium's software Vulkan driver and the loader it ships (this
# machine has no GPU). Only these tests see the driver; the others stay on the CPU backend.
SWIFTSHADER_ICD="${SWIFTSHADER_ICD:-/usr/lib/chromium/vk_swiftshader_icd.json}"
if [ ! -f "$SWIFTSHADER_ICD" ]; then
  echo "error: no SwiftShader Vulkan driver at $SWIFTSHADER_ICD (Debian's chromium ships it;" \
    "set SWIFTSHADER_ICD to another vk_swiftshader_icd.json)" >&2
  exit 1
fi
say "cargo test gpu_conv model::conv model::norm (native wgpu on SwiftShader)"
LD_LIBRARY_PATH="$(dirname "$SWIFTSHADER_ICD")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  VK_ICD_FILENAMES="$SWIFTSHADER_ICD" TAGTRAIN_REQUIRE_GPU=1 \
  cargo test --release --lib -- gpu_conv model::conv model::norm

bash scripts/build-web.sh

# The page's JavaScript, type-checked against the wasm module's .d.ts (just written to www/pkg/)
# and the payload types generated from the Rust structs (www/types/; `cargo test` above failed
# if they were stale). The page, then the worker and the service worker (other globals).
say "tsc (the page, the worker)"
npx tsc -p .
npx tsc -p tsconfig.worker.json

bash scripts/build-predict.sh

say "browser end-to-end tests"
node --test --test-concurrency=1 tests/e2e/
say "all tests passed"
