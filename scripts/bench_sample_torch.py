#!/usr/bin/env python3
"""The LaTtE-Flow generation layer stack in PyTorch eager, timed as `latte bench sample` times ours
(which runs this script beside itself when Python has torch, passing its sizes, and prints ratios).

The layers are scripts/torch_generator.py's (a mirror of Sources/LatteFlow) at the default model's
geometry: query heads of 64 and the backbone's 3 K/V heads of 64 (GQA); FlowSampler's Euler steps with
guidance as one batch of two (conditional prompt, null prompt padded and masked), running only the
owning group's layers per step. Random weights and random prompt K/V: speed does not depend on them.

Prints one JSON object: seconds per image for K groups and for the vanilla K = 1 model (best of
--repeats after a warm-up, as ours), and training samples/s of one group (forward + backward + AdamW
on a batch whose times all fall in group 0).

    python3 scripts/bench_sample_torch.py --groups 5 --layers 30 --width 192 --steps 40 --threads 2
"""
import argparse, json, math, time

import torch
import torch.nn.functional as F

from torch_generator import Experts, Geometry, batched_prompt, guided_sample

p = argparse.ArgumentParser()
p.add_argument("--groups", type=int, default=5)
p.add_argument("--layers", type=int, default=30)
p.add_argument("--width", type=int, default=192)
p.add_argument("--mlp-width", type=int, default=768)
p.add_argument("--steps", type=int, default=40)
p.add_argument("--guidance", type=float, default=3.0)
p.add_argument("--prompt-length", type=int, default=12)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--training-batch", type=int, default=16)
args = p.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
# SmolLM2's K/V geometry (3 heads of 64, M-RoPE base 100,000); 8×8×4 latents, patch 1
GEOMETRY = Geometry(width=args.width, mlp=args.mlp_width, query_heads=args.width // 64, kv_heads=3, head_dim=64,
                    layers=args.layers, theta=100_000.0, channels=4, side=8)
KV_HEADS, HEAD_DIM, CHANNELS, SIDE = GEOMETRY.kv_heads, GEOMETRY.head_dim, GEOMETRY.channels, GEOMETRY.side


def random_prompt(batch, length):
    pk = [torch.randn(batch, KV_HEADS, length, HEAD_DIM) for _ in range(args.layers)]
    pv = [torch.randn(batch, KV_HEADS, length, HEAD_DIM) for _ in range(args.layers)]
    return pk, pv, [length] * batch


def best_time(body):
    body()
    best = math.inf
    for _ in range(max(args.repeats, 1)):
        start = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - start)
    return best


def seconds_per_image(groups):
    model = Experts(GEOMETRY, groups)
    cond, null = random_prompt(1, args.prompt_length), random_prompt(1, 1)
    prompt = batched_prompt(cond[:2], null[:2], 1) if args.guidance != 1 else cond
    return best_time(lambda: guided_sample(model, prompt, 1, args.steps, args.guidance))


def training_samples_per_second():
    model = Experts(GEOMETRY, args.groups)
    b = args.training_batch
    prompt = random_prompt(b, args.prompt_length)
    data, noise = torch.randn(b, CHANNELS, SIDE, SIDE), torch.randn(b, CHANNELS, SIDE, SIDE)
    t = [i / b / args.groups for i in range(b)]                    # all in group 0
    tt = torch.tensor(t).view(b, 1, 1, 1)
    # Ours updates one packed arena of every parameter each step; zero (not None) gradients make
    # torch's AdamW do the same.
    for q in model.parameters():
        q.grad = torch.zeros_like(q)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=False)
        v = model.velocity(data * tt + noise * (1 - tt), t, prompt, 0)
        ((v - (data - noise)) ** 2).mean().backward()
        opt.step()

    return b / best_time(step)


experts = seconds_per_image(args.groups)
vanilla = seconds_per_image(1)
train = training_samples_per_second()
print(json.dumps({
    "torch_version": torch.__version__, "threads": torch.get_num_threads(), "groups": args.groups, "layers": args.layers,
    "width": args.width, "mlp_width": args.mlp_width, "steps": args.steps, "guidance": args.guidance,
    "prompt_tokens": args.prompt_length, "image_tokens": GEOMETRY.tokens, "training_batch": args.training_batch,
    "seconds_per_image_experts": experts, "seconds_per_image_vanilla": vanilla, "speedup": vanilla / experts,
    "training_samples_per_second_one_group": train,
}, sort_keys=True))
