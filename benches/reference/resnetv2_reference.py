"""PyTorch reference for tagtrain: the same ResNetV2 and training recipe, on the same data.

Run by hand or by benches/compare_pytorch.sh (never in CI):

    python3 -m venv benches/reference/.venv
    benches/reference/.venv/bin/pip install -r benches/reference/requirements.txt
    benches/reference/.venv/bin/python benches/reference/resnetv2_reference.py \
        --train A2_emoji_tags_train.zip --test A2_emoji_tags_test.zip \
        --image-size 64 --depth 11 --epochs 10 --json out.json

Mirrors the Rust code (src/model, src/train, src/data, src/thresholds.rs):
- ResNetV2 Small (depth 9n+2: 3x3 stem, 3 stages of n pre-activation bottlenecks, widths
  16/32/64, expansion 4) or Large (7x7/2 stem + max-pool, 4 stages), BN -> ReLU -> GAP -> Linear.
  PyTorch default initialisation, which Burn's defaults match.
- Images stretched to size x size (bilinear), alpha on white, RGB; per-channel mean/std of the
  training split; 20% validation by iterative stratification.
- BCE on logits; AdamW (betas 0.9/0.999, eps 1e-5 as Burn, weight decay on every parameter);
  each parameter's gradient clipped to norm 1; linear warm-up (min(total/20, 100) steps) then
  cosine to 1% of the peak; the last partial batch dropped.
- Augmentation: random crop with zero padding size/8 (normalised space), brightness/contrast
  jitter (x - m) * U(0.8, 1.2) + m + U(-0.2, 0.2); no flip unless --flip.
- Early stopping on validation mAP (patience 5), best weights kept; per-label thresholds tuned
  on validation to maximise F1 (halfway to the next lower score, as tagtrain does).
"""
import argparse
import csv
import io
import json
import math
import resource
import time
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import average_precision_score, f1_score


# --------------------------------------------------------------------------------------------
# Data

def load_zip(path, size):
    """Images (N, size, size, 3) uint8, targets (N, L) uint8 and label names of a dataset zip."""
    with zipfile.ZipFile(path) as z:
        names = {n.lower().lstrip("./"): n for n in z.namelist()}
        index = [n for n in z.namelist() if n.split("/")[-1] == "index.csv"][0]
        prefix = index[: -len("index.csv")]
        rows = list(csv.reader(io.StringIO(z.read(index).decode("utf-8-sig"))))
        header, rows = rows[0], [r for r in rows[1:] if r]
        labels = header[1:]
        images = np.zeros((len(rows), size, size, 3), np.uint8)
        targets = np.zeros((len(rows), len(labels)), np.uint8)
        for i, row in enumerate(rows):
            entry = names.get((prefix + row[0]).lower().lstrip("./"), prefix + row[0])
            img = Image.open(io.BytesIO(z.read(entry)))
            img = img.convert("RGBA")
            white = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, img).convert("RGB")
            images[i] = np.asarray(img.resize((size, size), Image.BILINEAR))
            targets[i] = [int(float(v)) for v in row[1:]]
    return images, targets, labels


def iterative_stratification(targets, fraction, rng):
    """Sechidis et al. (2011): validation indices keeping each label's share on both sides."""
    n, labels = targets.shape
    desired = np.array([1 - fraction, fraction]) * n
    desired_label = np.outer([1 - fraction, fraction], targets.sum(0)).astype(float)
    remaining = set(range(n))
    side = np.full(n, -1)
    while remaining:
        rem = np.array(sorted(remaining))
        counts = targets[rem].sum(0)
        if counts.sum() == 0:
            for i in rng.permutation(rem):
                s = int(np.argmax(desired))
                side[i] = s
                desired[s] -= 1
            break
        label = np.where(counts > 0, counts, np.inf).argmin()
        for i in rng.permutation(rem[targets[rem, label] == 1]):
            d = desired_label[:, label]
            best = np.flatnonzero(d == d.max())
            if len(best) > 1:
                best = best[desired[best] == desired[best].max()]
            s = int(rng.choice(best))
            side[i] = s
            desired_label[s] -= targets[i]
            desired[s] -= 1
            remaining.discard(i)
    return np.flatnonzero(side == 0), np.flatnonzero(side == 1)


# --------------------------------------------------------------------------------------------
# Model

class PreActBottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        out = width * 4
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, width, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(width), nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(width), nn.Conv2d(width, out, 1, bias=False)
        self.shortcut = nn.Conv2d(cin, out, 1, stride, bias=False) if stride != 1 or cin != out else None

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        short = self.shortcut(pre) if self.shortcut is not None else x
        y = self.conv1(pre)
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + short


class ResNetV2(nn.Module):
    def __init__(self, depth, labels, in_channels=3):
        super().__init__()
        large = {26: [2, 2, 2, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}
        if depth in large:
            base, stages = 64, large[depth]
            self.stem = nn.Sequential(nn.Conv2d(in_channels, base, 7, 2, 3, bias=False), nn.MaxPool2d(3, 2, 1))
        else:
            assert depth >= 11 and (depth - 2) % 9 == 0, "Small depth must be 9n+2"
            base, stages = 16, [(depth - 2) // 9] * 3
            self.stem = nn.Conv2d(in_channels, base, 3, 1, 1, bias=False)
        units, channels = [], base
        for s, count in enumerate(stages):
            for u in range(count):
                units.append(PreActBottleneck(channels, base << s, 2 if s > 0 and u == 0 else 1))
                channels = (base << s) * 4
        self.units = nn.Sequential(*units)
        self.final_bn = nn.BatchNorm2d(channels)
        self.head = nn.Linear(channels, labels)

    def forward(self, x):
        x = self.units(self.stem(x))
        x = F.relu(self.final_bn(x)).mean((2, 3))
        return self.head(x)


# --------------------------------------------------------------------------------------------
# Training

def augment(x, flip, gen):
    b, _, h, w = x.shape
    pad = max(1, min(h, w) // 8)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    if flip:
        mask = (torch.rand(b, generator=gen) < 0.5).view(b, 1, 1, 1)
        x = torch.where(mask, x.flip(3), x)
    c = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=gen)
    bright = 0.4 * torch.rand(b, 1, 1, 1, generator=gen) - 0.2
    m = x.mean((1, 2, 3), keepdim=True)
    return (x - m) * c + m + bright


def to_tensor(images, mean, std):
    x = torch.from_numpy(images).float().div(255).permute(0, 3, 1, 2)
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


@torch.no_grad()
def probabilities(model, x, batch=64):
    model.eval()
    return torch.cat([torch.sigmoid(model(x[i:i + batch])) for i in range(0, len(x), batch)]).numpy()


def mean_ap(y, p):
    aps = [average_precision_score(y[:, j], p[:, j]) for j in range(y.shape[1]) if y[:, j].sum() > 0]
    return float(np.mean(aps)) if aps else 0.0


def tune_threshold(scores, truth):
    """Max-F1 threshold, halfway to the next lower distinct score (tagtrain's rule)."""
    if truth.sum() == 0:
        return 0.5
    values = np.unique(scores)[::-1]
    best, best_f1 = 0, -1.0
    for k, t in enumerate(values):
        pred = scores >= t
        tp = (pred & (truth == 1)).sum()
        f1 = 2 * tp / (pred.sum() + truth.sum())
        nearer = abs(t - 0.5) < abs(values[best] - 0.5)
        if f1 > best_f1 + 1e-12 or (abs(f1 - best_f1) <= 1e-12 and nearer):
            best, best_f1 = k, f1
    lower = values[best + 1] if best + 1 < len(values) else 0.0
    return (values[best] + lower) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--depth", type=int, default=11)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--valid-fraction", type=float, default=0.2)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--flip", action="store_true")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)

    images, targets, labels = load_zip(args.train, args.image_size)
    test_images, test_targets, test_labels = load_zip(args.test, args.image_size)
    assert test_labels == labels, "train and test zips must have the same label columns"
    train_idx, valid_idx = iterative_stratification(targets, args.valid_fraction, rng)
    px = images[train_idx].reshape(-1, 3).astype(np.float64) / 255
    mean = torch.tensor(px.mean(0), dtype=torch.float32)
    std = torch.tensor(np.maximum(px.std(0), 0.01), dtype=torch.float32)
    x_train = to_tensor(images[train_idx], mean, std)
    y_train = torch.from_numpy(targets[train_idx]).float()
    x_valid, y_valid = to_tensor(images[valid_idx], mean, std), targets[valid_idx]
    x_test = to_tensor(test_images, mean, std)

    model = ResNetV2(args.depth, len(labels))
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-5,
                              weight_decay=args.weight_decay)
    steps_per_epoch = max(1, len(train_idx) // args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = min(total // 20, 100)

    def lr_at(step):
        if warmup > 0 and step < warmup:
            return args.lr * (step + 1) / warmup
        t = min((step - warmup) / max(1, total - warmup), 1.0)
        low = args.lr * 0.01
        return low + (args.lr - low) * 0.5 * (1 + math.cos(math.pi * t))

    best = None
    stale, step, train_seconds, seen, epochs_run = 0, 0, 0.0, 0, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_idx), generator=gen)
        started = time.perf_counter()
        for k in range(steps_per_epoch):
            batch = order[k * args.batch_size:(k + 1) * args.batch_size]
            x = x_train[batch]
            if not args.no_augment:
                x = augment(x, args.flip, gen)
            loss = F.binary_cross_entropy_with_logits(model(x), y_train[batch])
            optim.zero_grad()
            loss.backward()
            for p in model.parameters():
                torch.nn.utils.clip_grad_norm_([p], 1.0)
            for group in optim.param_groups:
                group["lr"] = lr_at(step)
            optim.step()
            step += 1
            seen += len(batch)
        train_seconds += time.perf_counter() - started
        epochs_run = epoch
        probs = probabilities(model, x_valid)
        m = mean_ap(y_valid, probs)
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  valid mAP {m:.4f}", flush=True)
        if best is None or m > best[0]:
            best = (m, epoch, {k: v.clone() for k, v in model.state_dict().items()}, probs)
            stale = 0
        else:
            stale += 1
            if args.patience > 0 and stale >= args.patience:
                break

    valid_map, best_epoch, state, valid_probs = best
    model.load_state_dict(state)
    thresholds = np.array([tune_threshold(valid_probs[:, j], y_valid[:, j]) for j in range(len(labels))])
    started = time.perf_counter()
    test_probs = probabilities(model, x_test)
    predict_seconds = time.perf_counter() - started
    pred = (test_probs >= thresholds).astype(int)
    pred_half = (test_probs >= 0.5).astype(int)
    result = {
        "implementation": f"pytorch {torch.__version__}",
        "depth": args.depth,
        "image_size": args.image_size,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "valid_map": valid_map,
        "test_map": mean_ap(test_targets, test_probs),
        "micro_f1": f1_score(test_targets, pred, average="micro", zero_division=0),
        "macro_f1": f1_score(test_targets, pred, average="macro", zero_division=0),
        "micro_f1_at_0_5": f1_score(test_targets, pred_half, average="micro", zero_division=0),
        "macro_f1_at_0_5": f1_score(test_targets, pred_half, average="macro", zero_division=0),
        "train_images_per_sec": seen / train_seconds,
        "predict_images_per_sec": len(x_test) / predict_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
