#!/usr/bin/env python3
"""How many injected label flips `tagtrain label-errors` finds, and what cleanlab finds on the same
out-of-sample probabilities (issue #34).

For each noise rate: flips a share of one dataset's labels (a seeded choice, written down), runs
`tagtrain label-errors NOISY.zip --json --probabilities P.csv` (k-fold cross-validation, then
confident learning), and scores its list against the flips: the precision and recall of the top-k
suspects (k = the number of flips) and of the whole list. Then cleanlab 2.x on the very same
probabilities and noisy labels (one-vs-rest per label, as its multi-label finder works): the same
scores, so the two confident-learning implementations are compared on equal inputs. cleanlab is a
benchmark dependency only, never the product's.

Noise model, per label: round(rate × its positives) flips, half of them a present label made
absent (a missing tag) and half an absent one made present (a wrong tag), on distinct images.

    python3 benches/label_errors.py DATA.zip --rates 0.05 0.1 0.2 [--tagtrain PATH] [--folds 4] \
        [--epochs 8] [--image-size 32] [--work DIR]

Needs numpy and cleanlab (`pip install cleanlab`); tagtrain built with
`cargo build --release --bin tagtrain`.
"""
import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import time
import zipfile

import numpy as np


def read_index(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        name = min((n for n in z.namelist() if n.lower().endswith("index.csv")), key=lambda n: n.count("/"))
        rows = list(csv.reader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    return name, rows[0], rows[1:]


def inject(zip_path, out_path, rate, seed):
    """Writes a copy of the zip with flipped labels; returns the flips as (image, label, given)."""
    index_name, header, rows = read_index(zip_path)
    rng = random.Random(seed)
    label_columns = [c for c, name in enumerate(header) if c > 0 and name not in ("split", "group")]
    flips = []
    for c in label_columns:
        positives = [r for r, row in enumerate(rows) if row[c] == "1"]
        negatives = [r for r, row in enumerate(rows) if row[c] == "0"]
        count = round(rate * len(positives))
        to_absent = rng.sample(positives, count // 2)
        to_present = rng.sample(negatives, count - count // 2)
        for r in to_absent:
            rows[r][c] = "0"
            flips.append((rows[r][0], header[c], 0))
        for r in to_present:
            rows[r][c] = "1"
            flips.append((rows[r][0], header[c], 1))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header] + rows)
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(out_path, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = text.getvalue().encode() if info.filename == index_name else src.read(info)
            dst.writestr(info, data)
    return flips, header, rows


def scores(found, flips):
    """Precision and recall of the top-k (k = flips) and of the whole list."""
    truth = set(flips)
    k = len(truth)
    top = found[:k]
    hit_top = sum(1 for f in top if f in truth)
    hit_all = sum(1 for f in found if f in truth)
    return {
        "listed": len(found),
        "top_k_precision": hit_top / max(len(top), 1),
        "top_k_recall": hit_top / max(k, 1),
        "list_precision": hit_all / max(len(found), 1),
        "list_recall": hit_all / max(k, 1),
    }


def cleanlab_suspects(prob_path, header, rows, filter_by):
    """cleanlab's per-label issues on the same probabilities, merged by self-confidence."""
    from cleanlab.filter import find_label_issues

    with open(prob_path) as f:
        reader = csv.reader(f)
        prob_header = next(reader)
        probs = {row[0]: [float(x) for x in row[1:]] for row in reader}
    labels = prob_header[1:]
    columns = {name: c for c, name in enumerate(header)}
    images = [row[0] for row in rows]
    p = np.array([probs[image] for image in images])
    y = np.array([[int(row[columns[label]]) for label in labels] for row in rows])
    found = []
    for j, label in enumerate(labels):
        pj = np.stack([1 - p[:, j], p[:, j]], axis=1)
        issues = find_label_issues(labels=y[:, j], pred_probs=pj, filter_by=filter_by)
        for i in np.flatnonzero(issues):
            given = int(y[i, j])
            found.append((1 - pj[i, given], images[i], label, given))
    found.sort(key=lambda f: -f[0])
    return [(image, label, given) for _, image, label, given in found]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tagtrain", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "tagtrain"))
    parser.add_argument("--folds", default="4")
    parser.add_argument("--epochs", default="8")
    parser.add_argument("--image-size", default="32")
    parser.add_argument("--work", default="/tmp/tagtrain-label-noise")
    parser.add_argument("--extra", default="", help="more flags for `tagtrain label-errors`, e.g. --pretrained")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    results = []
    for rate in args.rates:
        noisy = os.path.join(args.work, f"noisy_{rate}.zip")
        flips, header, rows = inject(args.data, noisy, rate, args.seed)
        with open(os.path.join(args.work, f"flips_{rate}.csv"), "w") as f:
            csv.writer(f).writerows([("image", "label", "given")] + flips)
        prob_path = os.path.join(args.work, f"probabilities_{rate}.csv")
        started = time.time()
        out = subprocess.run(
            [args.tagtrain, "label-errors", noisy, "--json", "--folds", args.folds, "--epochs", args.epochs,
             "--image-size", args.image_size, "--probabilities", prob_path] + args.extra.split(),
            check=True, capture_output=True, text=True)
        seconds = time.time() - started
        ours = [(s["image"], s["label"], s["given"]) for s in json.loads(out.stdout)]
        flips = [(image, label, given) for image, label, given in flips]
        row = {"rate": rate, "flips": len(flips), "seconds": round(seconds, 1),
               "tagtrain": scores(ours, flips)}
        for filter_by in ("confident_learning", "prune_by_noise_rate"):
            row[f"cleanlab {filter_by}"] = scores(cleanlab_suspects(prob_path, header, rows, filter_by), flips)
        results.append(row)
        print(json.dumps(row), flush=True)
    print("\n| noise | flips | method | listed | top-k precision | top-k recall | list precision | list recall |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        for method in ("tagtrain", "cleanlab confident_learning", "cleanlab prune_by_noise_rate"):
            s = row[method]
            print(f"| {row['rate']:.0%} | {row['flips']} | {method} | {s['listed']} | {s['top_k_precision']:.3f} | "
                  f"{s['top_k_recall']:.3f} | {s['list_precision']:.3f} | {s['list_recall']:.3f} |")
    print("\nseconds per tagtrain run:", ", ".join(f"{r['rate']:.0%}: {r['seconds']}" for r in results))


if __name__ == "__main__":
    sys.exit(main())
