#!/usr/bin/env python3
"""The LaTtE-Flow generation layer stack in PyTorch eager, timed as `latte bench sample` times ours
(which runs this script beside itself when Python has torch, passing its sizes, and prints ratios).

Mirrors Sources/LatteFlow: GenerationLayer (RMSNorm + adaLN shift/scale/gate from SiLU(temb); Q/K/V/O
with query heads of 64 and the backbone's 3 K/V heads of 64 (GQA); image queries attend to
[prompt K/V ; image K/V] with M-RoPE on the image tokens; pre-softmax residual attention with a per-head
tanh gate from each group's second layer on; SwiGLU MLP), TimestepEmbedder, patch embedding and
per-group output heads (LatentPatches), and FlowSampler's Euler steps with guidance as one batch of two
(conditional prompt, null prompt padded and masked), running only the owning group's layers per step.
Random weights and random prompt K/V: speed does not depend on them.

Prints one JSON object: seconds per image for K groups and for the vanilla K = 1 model (best of
--repeats after a warm-up, as ours), and training samples/s of one group (forward + backward + AdamW
on a batch whose times all fall in group 0).

    python3 scripts/bench_sample_torch.py --groups 5 --layers 30 --width 192 --steps 40 --threads 2
"""
import argparse, json, math, time

import torch
import torch.nn.functional as F

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
KV_HEADS, HEAD_DIM, CHANNELS, SIDE = 3, 64, 4, 8          # SmolLM2's K/V geometry; 8×8×4 latents, patch 1
N = SIDE * SIDE
W, HQ = args.width, args.width // HEAD_DIM
THETA, EPS, FREQS = 100_000.0, 1e-6, 256


class RMSNorm(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * self.weight


def rotate(x, cos, sin):
    a, b = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-b, a], dim=-1) * sin


class GenerationLayer(torch.nn.Module):
    def __init__(self, residual_gate):
        super().__init__()
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(W), RMSNorm(W)
        self.q_proj = torch.nn.Linear(W, HQ * HEAD_DIM, bias=False)
        self.k_proj = torch.nn.Linear(W, KV_HEADS * HEAD_DIM, bias=False)
        self.v_proj = torch.nn.Linear(W, KV_HEADS * HEAD_DIM, bias=False)
        self.o_proj = torch.nn.Linear(HQ * HEAD_DIM, W, bias=False)
        self.gate_proj = torch.nn.Linear(W, args.mlp_width, bias=False)
        self.up_proj = torch.nn.Linear(W, args.mlp_width, bias=False)
        self.down_proj = torch.nn.Linear(args.mlp_width, W, bias=False)
        self.adaLN_modulation = torch.nn.Linear(W, 6 * W)
        self.residual_gate = torch.nn.Linear(W, HQ) if residual_gate else None

    def forward(self, h, cond, pk, pv, prompt_bias, cos, sin, previous):
        b, n, _ = h.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(cond).view(b, 1, 6 * W).chunk(6, dim=2)
        x = self.input_layernorm(h) * (scale1 + 1) + shift1
        q = rotate(self.q_proj(x).view(b, n, HQ, HEAD_DIM).transpose(1, 2), cos, sin)
        k = rotate(self.k_proj(x).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2), cos, sin)
        v = self.v_proj(x).view(b, n, KV_HEADS, HEAD_DIM).transpose(1, 2)
        t = pk.shape[2]
        keys, values = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)
        if HQ != KV_HEADS:  # each K/V head serves HQ / KV_HEADS consecutive query heads
            keys, values = keys.repeat_interleave(HQ // KV_HEADS, 1), values.repeat_interleave(HQ // KV_HEADS, 1)
        scores = q @ keys.transpose(-1, -2) * (1 / math.sqrt(HEAD_DIM))
        if self.residual_gate is not None and previous is not None:
            gate = torch.tanh(self.residual_gate(cond)).view(b, HQ, 1, 1)
            prompt_part = prompt_bias.expand(b, HQ, n, t) if prompt_bias is not None else scores.new_zeros(b, HQ, n, t)
            scores = scores + torch.cat([prompt_part, gate * previous], dim=3)
        elif prompt_bias is not None:
            scores = scores + F.pad(prompt_bias, (0, n))
        attn = scores.softmax(-1) @ values
        merged = attn.transpose(1, 2).reshape(b, n, HQ * HEAD_DIM)
        out = h + gate1 * self.o_proj(merged)
        y = self.post_attention_layernorm(out) * (scale2 + 1) + shift2
        out = out + gate2 * self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))
        return out, scores[..., t:]


class OutputHead(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = RMSNorm(W)
        self.adaLN_modulation = torch.nn.Linear(W, 2 * W)
        self.linear = torch.nn.Linear(W, CHANNELS)

    def forward(self, h, cond):
        shift, scale = self.adaLN_modulation(cond).view(h.shape[0], 1, 2 * W).chunk(2, dim=2)
        return self.linear(self.norm(h) * (scale + 1) + shift)


def mrope_tables(length):
    """cos/sin [N, headDim] of image tokens after a prompt of `length` tokens: temporal id = length,
    height/width ids = length + row/column, Qwen2-VL's [16, 24, 24] sections scaled to 64 dims."""
    half = HEAD_DIM // 2
    ts = half // 4
    hs = (half - ts) // 2
    inv = THETA ** (-torch.arange(half, dtype=torch.float64) * 2 / HEAD_DIM)
    rows = torch.arange(SIDE).repeat_interleave(SIDE).double()
    cols = torch.arange(SIDE).repeat(SIDE).double()
    pos = torch.stack([torch.zeros(N, dtype=torch.float64), rows, cols]) + length
    stream = torch.tensor([0] * ts + [1] * hs + [2] * (half - ts - hs))
    angles = pos[stream].T * inv                      # [N, half]
    angles = torch.cat([angles, angles], dim=1)
    return angles.cos().float(), angles.sin().float()


class Experts(torch.nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups, self.per_group = groups, args.layers // groups
        self.patch_embed = torch.nn.Linear(CHANNELS, W)
        self.t1, self.t2 = torch.nn.Linear(FREQS, W), torch.nn.Linear(W, W)
        self.layers = torch.nn.ModuleList(GenerationLayer(l % self.per_group != 0) for l in range(args.layers))
        self.heads = torch.nn.ModuleList(OutputHead() for _ in range(groups))
        with torch.no_grad():
            for q in self.parameters():
                q.normal_(0, 0.02)

    def group(self, t):
        return min(int(t * self.groups), self.groups - 1)

    def velocity(self, x, t, prompt, k):
        pk, pv, lengths = prompt
        b = x.shape[0]
        half = FREQS // 2
        f = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float64) / half)
        a = torch.tensor(t, dtype=torch.float64)[:, None] * 1000 * f
        cond = F.silu(self.t2(F.silu(self.t1(torch.cat([a.cos(), a.sin()], dim=1).float()))))
        h = self.patch_embed(x.permute(0, 2, 3, 1).reshape(b, N, CHANNELS))
        tables = [mrope_tables(n) for n in lengths]
        cos = torch.stack([c for c, _ in tables])[:, None]
        sin = torch.stack([s for _, s in tables])[:, None]
        longest = pk[0].shape[2]
        bias = None
        if any(n < longest for n in lengths):
            bias = torch.zeros(b, 1, 1, longest)
            for i, n in enumerate(lengths):
                bias[i, ..., n:] = float("-inf")
        scores = None
        for l in range(k * self.per_group, (k + 1) * self.per_group):
            h, scores = self.layers[l](h, cond, pk[l], pv[l], bias, cos, sin, scores)
        return self.heads[k](h, cond).view(b, SIDE, SIDE, CHANNELS).permute(0, 3, 1, 2)


def random_prompt(batch, length, pad_to=None):
    pad = (pad_to or length) - length
    pk = [F.pad(torch.randn(batch, KV_HEADS, length, HEAD_DIM), (0, 0, 0, pad)) for _ in range(args.layers)]
    pv = [F.pad(torch.randn(batch, KV_HEADS, length, HEAD_DIM), (0, 0, 0, pad)) for _ in range(args.layers)]
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
    model = Experts(groups)
    cond, null = random_prompt(1, args.prompt_length), random_prompt(1, 1, pad_to=args.prompt_length)
    guided = args.guidance != 1
    prompt = ([torch.cat([c, u]) for c, u in zip(cond[0], null[0])], [torch.cat([c, u]) for c, u in zip(cond[1], null[1])],
              cond[2] + null[2]) if guided else cond
    grid = [i / args.steps for i in range(args.steps + 1)]

    @torch.no_grad()
    def sample():
        x = torch.randn(1, CHANNELS, SIDE, SIDE)
        for t0, t1 in zip(grid, grid[1:]):
            k = model.group(t0)
            if guided:
                v = model.velocity(torch.cat([x, x]), [t0, t0], prompt, k)
                v = v[1:] + (v[:1] - v[1:]) * args.guidance
            else:
                v = model.velocity(x, [t0], prompt, k)
            x = x + v * (t1 - t0)
        return x

    return best_time(sample)


def training_samples_per_second():
    model = Experts(args.groups)
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
    "prompt_tokens": args.prompt_length, "image_tokens": N, "training_batch": args.training_batch,
    "seconds_per_image_experts": experts, "seconds_per_image_vanilla": vanilla, "speedup": vanilla / experts,
    "training_samples_per_second_one_group": train,
}, sort_keys=True))
