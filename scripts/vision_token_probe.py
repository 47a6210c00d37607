#!/usr/bin/env python3
"""How much a classifier can read from the vision path's cached image tokens (docs/vision.md): the
cost estimate for the ≥ 88 % Fashion-MNIST "what is it" target. Reads a `VisionFeatureCache` file
(`latte train-vision` prints its path: tokens [N, T, 1280], the first N training images) and the labels,
holds out the last `--held-out` images, and trains on the rest (Adam, full batch, one thread):

  linear(mean)   logistic regression on the mean token (the encoder probe's features);
  linear(concat) logistic regression on the T tokens side by side;
  mlp            the projector's shape (Linear 1280→576, GELU, Linear 576→576) per token, the T outputs
                 side by side, then a linear readout: what the projector + a perfect LM readout could do.

Run on one core: `taskset -c 1 python3 scripts/vision_token_probe.py --tokens FILE`.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from safetensors.numpy import load_file

HOME = os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow"))


def labels(n):
    with gzip.open(os.path.join(HOME, "fashion-mnist", "train-labels-idx1-ubyte.gz")) as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=8)[:n].astype(np.int64)


def fit(model, x, y, xt, yt, epochs, lr, wd):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    best = 0.0
    for epoch in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 256):
            idx = perm[i:i + 256]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(xt).argmax(1) == yt).float().mean().item()
        best = max(best, acc)
    return acc, best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", required=True)
    p.add_argument("--held-out", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=30, help="epochs of the linear probes")
    p.add_argument("--mlp-epochs", type=int, default=8)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    t = torch.from_numpy(load_file(a.tokens)["tokens"].astype(np.float32))
    n, k, c = t.shape
    y = torch.from_numpy(labels(n))
    mean, std = t.mean((0, 1), keepdim=True), t.std((0, 1), keepdim=True) + 1e-6
    t = (t - mean) / std
    tr, te = slice(0, n - a.held_out), slice(n - a.held_out, n)
    print(f"{n} images × {k} tokens × {c}; training on {n - a.held_out}, held out {a.held_out}")

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Sequential(torch.nn.Linear(c, 576), torch.nn.GELU(), torch.nn.Linear(576, 576))
            self.read = torch.nn.Linear(576 * k, 10)

        def forward(self, x):
            return self.read(self.proj(x).flatten(1))

    for name, model, x, lr, wd, epochs in [
        ("linear(mean)", torch.nn.Linear(c, 10), t.mean(1), 1e-2, 1e-3, a.epochs),
        ("linear(concat)", torch.nn.Linear(c * k, 10), t.flatten(1), 1e-2, 1e-3, a.epochs),
        ("mlp", MLP(), t, 1e-3, 1e-2, a.mlp_epochs),
    ]:
        start = time.time()
        last, best = fit(model, x[tr], y[tr], x[te], y[te], epochs, lr, wd)
        print(f"{name:15s} held-out accuracy {last * 100:.1f} % (best epoch {best * 100:.1f} %), {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
