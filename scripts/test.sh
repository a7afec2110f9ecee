#!/usr/bin/env bash
# Runs every test: the code's habits (rustfmt, clippy with warnings as errors, documented public
# items), the Rust unit and integration tests (native, flex CPU backend), the page's JavaScript
# type-checked by tsc, then the browser end-to-end tests (headless Chromium, WebGPU on
# SwiftShader and the CPU fallback; the project's GPU kernels are compared with burn's there, in
# the page's own module: tests/e2e/backend_check.test.mjs).
# On a fresh machine it first installs what is missing: Chromium, sox and espeak-ng (Debian),
# the npm test tools, the wasm32 target and the pinned wasm-bindgen-cli.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  say "installing Debian's chromium"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# The sound tests synthesise their clips (scripts/make-sounds.mjs).
if ! command -v sox >/dev/null || ! command -v espeak-ng >/dev/null || ! command -v zip >/dev/null \
  || ! sox -h 2>/dev/null | grep -q "FILE FORMATS:.* mp3"; then
  say "installing Debian's sox, libsox-fmt-mp3, espeak-ng and zip"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sox libsox-fmt-mp3 espeak-ng zip >/dev/null
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

# Natively without the `gpu` feature: the native GPU stack (wgpu's Vulkan/Metal/DX12 backends,
# cubecl for them: ~17 core-minutes of a cold run, issue #31) is not built. Every line of the
# project's GPU code is still compiled and linted, by the web module's build (the same source for
# WebGPU), and its kernels are checked against burn's in the browser tests on WebGPU
# (tests/e2e/backend_check.test.mjs, the same comparisons as the native GPU tests, which
# `cargo test` with the default features runs where a machine has a Vulkan, Metal or DX12 GPU).
NATIVE=(--release --no-default-features --features train,sound,distributed)

say "cargo test --no-run (native; every target built and linted, warnings are errors)"
cargo test "${NATIVE[@]}" --all-targets --no-run

# The web module is built next, and its wasm-opt (one core, minutes) runs in the background
# while the other core runs the native tests and, after them, the predict package's build: the
# steps share the two cores instead of waiting in line (issue #31). Failures still stop the run:
# the background step's status is checked before the browser tests.
bash scripts/build-web.sh --bind-only
OPT_LOG="$(mktemp)"
optimise_wasm www/pkg/tagtrain_bg.wasm >"$OPT_LOG" 2>&1 &
OPT_PID=$!
# A failure below ends the run: take the background step with it.
trap 'kill "$OPT_PID" 2>/dev/null || true' EXIT
say "wasm-opt of the web module started in the background"

say "cargo test (native)"
cargo test "${NATIVE[@]}"

# The page's JavaScript, type-checked against the wasm module's .d.ts (written to www/pkg/ by
# wasm-bindgen) and the payload types generated from the Rust structs (www/types/; `cargo test`
# above failed if they were stale). The page, then the worker and the service worker.
say "tsc (the page, the worker, the example page's audio worklet)"
npx tsc -p .
npx tsc -p tsconfig.worker.json
npx tsc -p tsconfig.worklet.json

bash scripts/build-predict.sh --no-precache

say "waiting for the web module's wasm-opt"
if ! wait "$OPT_PID"; then
  cat "$OPT_LOG" >&2
  echo "error: wasm-opt of the web module failed" >&2
  exit 1
fi
cat "$OPT_LOG"
ls -l www/pkg/tagtrain_bg.wasm
node scripts/precache.mjs

say "browser end-to-end tests"
node --test --test-concurrency=1 tests/e2e/
say "all tests passed"
