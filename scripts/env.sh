# Shared set-up for the scripts: sourced, not run.
# Cargo's target dir lives outside the clone so CI and later runs reuse the (slow) Burn build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tagtrain-target}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
