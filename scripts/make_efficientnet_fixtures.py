#!/usr/bin/env python3
"""Reference fixtures for Tests/LatteEvalTests/EfficientNetLiteTests.swift: EfficientNet-Lite0's head map
for the two FID fixture images (fid_image_0.png 28x28 grey, fid_image_1.png 32x32 RGB), resized to the
encoder's input size, computed by scripts/efficientnet_lite0_reference.py (plain torch) from the pinned
asset's state dict. Needs torch, numpy and pillow. Run from the repository root after
`latte assets fetch efficientnet-lite0`:

    python3 scripts/make_efficientnet_fixtures.py [--weights PATH.pth] [--size 64]

Writes Tests/LatteEvalTests/Fixtures/efficientnet_features.safetensors: "image0" [1, 1280, h, w] and
"image1" [1, 1280, h, w] float32, plus "logits0" [1, 1000] (the ImageNet head, a whole-network check of
the reference itself: not used by the Swift test, which has no classifier).
"""
import argparse
import os
import sys

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from efficientnet_lite0_reference import EfficientNetLite0  # noqa: E402
from make_fid_fixtures import write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
FIXTURES = os.path.join(ROOT, "Tests", "LatteEvalTests", "Fixtures")
HOME = os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow"))


def load(name):
    a = np.asarray(PIL.Image.open(os.path.join(FIXTURES, name)), dtype=np.float32) / 255
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return torch.from_numpy(a.copy()).unsqueeze(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=os.path.join(HOME, "efficientnet-lite0", "efficientnet-lite0-57934424.pth"))
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    net = EfficientNetLite0(torch.load(args.weights, map_location="cpu"))
    out = {}
    with torch.no_grad():
        for i, name in enumerate(["fid_image_0.png", "fid_image_1.png"]):
            x = F.interpolate(load(name), size=(args.size, args.size), mode="bilinear", align_corners=False)
            x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x
            out[f"image{i}"] = net.features(x)["head"].numpy()
            if i == 0:
                out["logits0"] = net.logits(x).numpy()
    write_safetensors(os.path.join(FIXTURES, "efficientnet_features.safetensors"), out)
    print({k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
