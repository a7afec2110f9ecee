# Shared set-up for the scripts: sourced, not run.
# Cargo's target dir lives outside the clone so CI and later runs reuse the (slow) Burn build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# Steps are announced with the time since the outermost script started (BENCHMARKS.md records
# cold and warm runs of scripts/test.sh from these).
TAGTRAIN_T0="${TAGTRAIN_T0:-$(date +%s)}"
export TAGTRAIN_T0
say() {
  local t=$(($(date +%s) - TAGTRAIN_T0))
  printf '==> [%d:%02d] %s\n' $((t / 60)) $((t % 60)) "$*"
}

# wasm-opt -Oz of the wasm module FILE, in place (npm's binaryen; Debian's is too old and produces
# modules that fail to load). It takes minutes, so its output is kept in the Cargo target dir by
# the input's hash. Skipped when binaryen is not installed (by `npm ci`) or TAGTRAIN_WASM_OPT=0:
# the unoptimised module works the same.
optimise_wasm() {
  local file="$1" wasm_opt="$ROOT/node_modules/.bin/wasm-opt"
  if [ "${TAGTRAIN_WASM_OPT:-1}" != "1" ] || [ ! -x "$wasm_opt" ]; then return 0; fi
  local cache="$CARGO_TARGET_DIR/tagtrain-wasm-opt"
  local key
  key="$(sha256sum "$file" | cut -d' ' -f1)-$("$wasm_opt" --version | tr -cd '0-9.')"
  if [ -f "$cache/$key.wasm" ]; then
    say "wasm-opt -Oz $(basename "$file") (cached)"
  else
    say "wasm-opt -Oz $(basename "$file")"
    mkdir -p "$cache"
    "$wasm_opt" -Oz --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-simd "$file" -o "$cache/$key.tmp"
    mv "$cache/$key.tmp" "$cache/$key.wasm"
  fi
  cp "$cache/$key.wasm" "$file"
}
