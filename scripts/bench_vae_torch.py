#!/usr/bin/env python3
"""Encode and decode throughput (images/s, fp32, eager, random weights) of diffusers' AutoencoderKL,
the reference `latte bench vae` runs beside its own numbers with the same configs and thread count.

    python3 scripts/bench_vae_torch.py [--cases cases.json] [--threads 2] [--repeats 2]

cases.json is a list of {"name", "config" (AutoencoderKL config.json fields), "size", "batch"} or
{"name", "conv": [channels, size, batch]} (one 3×3 conv, padding 1, reported in GFLOP/s); without
it the two default cases are measured (the small Fashion-MNIST shape at 32×32 batch 64 and the SD-VAE
shape at 256×256 batch 1). Prints one JSON object. Timing is the best of `repeats` runs after a
warm-up, as BenchTiming.swift's bestTime. Needs torch and diffusers (not used by CI).
"""
import argparse, json, sys, time

p = argparse.ArgumentParser()
p.add_argument("--cases")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeats", type=int, default=2)
args = p.parse_args()

try:
    import torch
    import diffusers
    from diffusers import AutoencoderKL
except ImportError as e:
    sys.exit(f"diffusers reference unavailable: {e}")

DEFAULT_CASES = [
    {"name": "small", "size": 32, "batch": 64,
     "config": {"in_channels": 1, "out_channels": 1, "block_out_channels": [32, 64, 64], "layers_per_block": 1,
                "latent_channels": 4, "norm_num_groups": 8, "sample_size": 32}},
    {"name": "sd-vae", "size": 256, "batch": 1,
     "config": {"in_channels": 3, "out_channels": 3, "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2,
                "latent_channels": 4, "norm_num_groups": 32, "sample_size": 256}},
] + [{"name": f"conv3x3 {c}→{c} {s}×{s} batch {n}", "conv": [c, s, n]}
     for c, s, n in [(128, 256, 1), (256, 128, 1), (512, 64, 1), (32, 32, 64), (64, 16, 64)]]
KNOWN = {"in_channels", "out_channels", "block_out_channels", "layers_per_block", "latent_channels", "norm_num_groups",
         "sample_size", "scaling_factor", "shift_factor", "use_quant_conv", "use_post_quant_conv",
         "mid_block_add_attention", "act_fn", "down_block_types", "up_block_types"}


def best_time(repeats, body):
    body()
    best = float("inf")
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - start)
    return best


cases = json.load(open(args.cases)) if args.cases else DEFAULT_CASES
torch.set_num_threads(args.threads)
results, convs = [], []
for i, case in enumerate(cases):
    if "conv" in case:
        c, size, n = case["conv"]
        conv = torch.nn.Conv2d(c, c, 3, padding=1)
        x = torch.randn(n, c, size, size)
        with torch.inference_mode():
            t = best_time(args.repeats, lambda: conv(x))
        convs.append({"name": case["name"], "gflops": 2 * c * c * 9 * size * size * n / t / 1e9})
        continue
    cfg = {k: v for k, v in case["config"].items() if k in KNOWN and v is not None}
    n = len(cfg["block_out_channels"])
    # diffusers defaults to one block type; the per-block lists must match block_out_channels.
    cfg.setdefault("down_block_types", ["DownEncoderBlock2D"] * n)
    cfg.setdefault("up_block_types", ["UpDecoderBlock2D"] * n)
    torch.manual_seed(i + 1)
    model = AutoencoderKL(**cfg).eval()
    x = torch.randn(case["batch"], cfg.get("in_channels", 3), case["size"], case["size"])
    with torch.inference_mode():
        z = model.encode(x).latent_dist.mean
        enc = best_time(args.repeats, lambda: model.encode(x).latent_dist.mean)
        dec = best_time(args.repeats, lambda: model.decode(z).sample)
    results.append({"name": case["name"], "size": case["size"], "batch": case["batch"],
                    "encode_images_per_second": case["batch"] / enc, "decode_images_per_second": case["batch"] / dec})

print(json.dumps({"threads": torch.get_num_threads(), "repeats": args.repeats,
                  "versions": f"torch {torch.__version__}, diffusers {diffusers.__version__}", "results": results,
                  "conv2d": convs}))
