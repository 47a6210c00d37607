#!/usr/bin/env python3
"""FID feature extraction speed: LatteFlow's Inception (`latte fid`) against PyTorch running the same
network file (the pinned fid-inception asset, default_1.pt, the weights LatteFlow converts), on the same
299×299 images, same thread count, in one run.

    python3 scripts/bench_inception_torch.py [--latte .build/release/latte] [--threads 1] [--images 32] [--repeats 3]

The PyTorch side is the TorchScript module of that file run with the JIT's fusing and profiling turned
off (op by op, as eager mode runs: the file has no eager Python class to build). Inputs are 299×299, so
neither side resizes; LatteFlow's figure (`feature_images_per_second` of `latte fid --json`) still
includes its preprocessing (8-bit rounding, the identity resize), PyTorch's does not (its input is
prepared beforehand). Best of `repeats` after a warm-up on both sides. Prints one JSON object.
Needs torch, numpy and Pillow (not used by CI).
"""
import argparse, json, os, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--latte", default=".build/release/latte")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--images", type=int, default=32, help="images per set (two sets: 2× this many per latte run)")
p.add_argument("--batch", type=int, default=16)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--asset", default=os.path.join(os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow")),
                                               "fid-inception", "default_1.pt"))
args = p.parse_args()

import numpy as np
import PIL.Image
import torch


def images(rng, n):
    """Smooth structured RGB images (blobs on gradients), 8-bit."""
    yy, xx = np.mgrid[0:299, 0:299] / 298.0
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0.5, 8, 3)
        r = 0.5 + 0.4 * np.sin(a * xx + b * yy)
        g = 0.3 + 0.6 * np.exp(-((xx - rng.uniform()) ** 2 + (yy - rng.uniform()) ** 2) / (0.02 * c))
        bl = 0.2 + 0.7 * yy * (1 - xx)
        rgb = np.stack([r, g, bl], axis=-1) + 0.03 * rng.standard_normal((299, 299, 3))
        out.append(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))
    return out


rng = np.random.default_rng(0)
sets = [images(rng, args.images), images(rng, args.images)]

with tempfile.TemporaryDirectory() as tmp:
    dirs = []
    for s, imgs in enumerate(sets):
        d = os.path.join(tmp, f"set{s}")
        os.makedirs(d)
        for i, img in enumerate(imgs):
            PIL.Image.fromarray(img).save(os.path.join(d, f"{i:04d}.png"))
        dirs.append(d)
    env = dict(os.environ, LATTE_THREADS=str(args.threads))
    ours = []
    for _ in range(args.repeats):
        r = subprocess.run([args.latte, "fid", "--real", dirs[0], "--fake", dirs[1], "--json", "--batch-size", str(args.batch)],
                           env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"latte fid failed: {r.stderr[-2000:]}")
        ours.append(json.loads(r.stdout.strip().splitlines()[-1])["feature_images_per_second"])

torch.set_num_threads(args.threads)
torch._C._jit_set_profiling_executor(False)
torch._C._jit_set_texpr_fuser_enabled(False)
net = torch.jit.load(args.asset).eval()
x = torch.from_numpy(np.stack(sets[0] + sets[1]).astype(np.float32)).permute(0, 3, 1, 2).contiguous() / 128 - 1
x = x.clamp(-1, 0.9921875)


def run_torch():
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, x.shape[0], args.batch):
            net(x[i:i + args.batch])
    return x.shape[0] / (time.perf_counter() - t0)


with torch.no_grad():
    net(x[:2])  # warm-up
theirs = [run_torch() for _ in range(args.repeats)]
print(json.dumps({"threads": args.threads, "images": 2 * args.images, "latte_images_per_second": max(ours),
                  "torch_images_per_second": max(theirs), "ratio": max(ours) / max(theirs),
                  "latte_runs": ours, "torch_runs": theirs, "torch": torch.__version__}, sort_keys=True))
