#!/usr/bin/env bash
# Builds the web app and serves it on http://127.0.0.1:${PORT:-8080}/.
# On a fresh machine this also installs the wasm32 target and the pinned wasm-bindgen-cli.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
if ! command -v node >/dev/null; then
  echo "serve.sh needs Node.js (for the static server): apt-get install nodejs" >&2
  exit 1
fi
# binaryen's wasm-opt makes the module about half the size; optional for serving.
if { [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/tsc ]; } && command -v npm >/dev/null; then
  npm ci --no-audit --no-fund || echo "npm ci failed; serving the unoptimised module"
fi
bash scripts/build-web.sh
# The predict package and its example page (/example/).
bash scripts/build-predict.sh
exec node scripts/static-server.mjs "${PORT:-8080}"
