"""The LaTtE-Flow generation layer stack in PyTorch eager, shared by the timing scripts
(bench_sample_torch.py at the default model's geometry, bench_paper_torch.py at the paper's).

Mirrors Sources/LatteFlow: GenerationLayer (RMSNorm + adaLN shift/scale/gate from SiLU(temb); Q/K/V/O
with grouped-query attention over [prompt K/V ; image K/V], M-RoPE on the image tokens; pre-softmax
residual attention with a per-head tanh gate from each group's second layer on; SwiGLU MLP),
TimestepEmbedder, patch embedding, per-group output heads (LatentPatches; optionally ours' input skip),
optionally ours' absolute position table, and FlowSampler's prompt batching for guidance (conditional
rows, then null rows padded and masked). Random weights: timing does not depend on their values.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS, FREQS = 1e-6, 256


@dataclass
class Geometry:
    width: int            # generation width (= the backbone's hidden size at the paper's geometry)
    mlp: int
    query_heads: int
    kv_heads: int         # the backbone's K/V heads: the generator reads its keys and values
    head_dim: int
    layers: int
    theta: float          # M-RoPE base
    channels: int         # latent channels; patch 1
    side: int             # latent side: side² image tokens
    sections: tuple = (16, 24, 24)   # Qwen2-VL's M-RoPE sections, scaled to head_dim / 2 frequencies

    @property
    def tokens(self):
        return self.side * self.side


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
    def __init__(self, g, residual_gate):
        super().__init__()
        self.g = g
        W, HQ, HKV, D = g.width, g.query_heads, g.kv_heads, g.head_dim
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(W), RMSNorm(W)
        self.q_proj = torch.nn.Linear(W, HQ * D, bias=False)
        self.k_proj = torch.nn.Linear(W, HKV * D, bias=False)
        self.v_proj = torch.nn.Linear(W, HKV * D, bias=False)
        self.o_proj = torch.nn.Linear(HQ * D, W, bias=False)
        self.gate_proj = torch.nn.Linear(W, g.mlp, bias=False)
        self.up_proj = torch.nn.Linear(W, g.mlp, bias=False)
        self.down_proj = torch.nn.Linear(g.mlp, W, bias=False)
        self.adaLN_modulation = torch.nn.Linear(W, 6 * W)
        self.residual_gate = torch.nn.Linear(W, HQ) if residual_gate else None

    def forward(self, h, cond, pk, pv, prompt_bias, cos, sin, previous):
        W, HQ, HKV, D = self.g.width, self.g.query_heads, self.g.kv_heads, self.g.head_dim
        b, n, _ = h.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(cond).view(b, 1, 6 * W).chunk(6, dim=2)
        x = self.input_layernorm(h) * (scale1 + 1) + shift1
        q = rotate(self.q_proj(x).view(b, n, HQ, D).transpose(1, 2), cos, sin)
        k = rotate(self.k_proj(x).view(b, n, HKV, D).transpose(1, 2), cos, sin)
        v = self.v_proj(x).view(b, n, HKV, D).transpose(1, 2)
        t = pk.shape[2]
        keys, values = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)
        if HQ != HKV:  # each K/V head serves HQ / HKV consecutive query heads
            keys, values = keys.repeat_interleave(HQ // HKV, 1), values.repeat_interleave(HQ // HKV, 1)
        scores = q @ keys.transpose(-1, -2) * (1 / math.sqrt(D))
        if self.residual_gate is not None and previous is not None:
            gate = torch.tanh(self.residual_gate(cond)).view(b, HQ, 1, 1)
            prompt_part = prompt_bias.expand(b, HQ, n, t) if prompt_bias is not None else scores.new_zeros(b, HQ, n, t)
            scores = scores + torch.cat([prompt_part, gate * previous], dim=3)
        elif prompt_bias is not None:
            scores = scores + F.pad(prompt_bias, (0, n))
        attn = scores.softmax(-1) @ values
        merged = attn.transpose(1, 2).reshape(b, n, HQ * D)
        out = h + gate1 * self.o_proj(merged)
        y = self.post_attention_layernorm(out) * (scale2 + 1) + shift2
        out = out + gate2 * self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))
        return out, scores[..., t:]


class OutputHead(torch.nn.Module):
    def __init__(self, g, input_skip):
        super().__init__()
        W = g.width
        self.norm = RMSNorm(W)
        self.adaLN_modulation = torch.nn.Linear(W, 2 * W)
        self.linear = torch.nn.Linear(W, g.channels)
        self.skip = torch.nn.Linear(W, g.channels) if input_skip else None   # ours' input skip: + s(t) ⊙ x_t

    def forward(self, h, cond, tokens):
        shift, scale = self.adaLN_modulation(cond).view(h.shape[0], 1, 2 * h.shape[2]).chunk(2, dim=2)
        out = self.linear(self.norm(h) * (scale + 1) + shift)
        return out + self.skip(cond)[:, None] * tokens if self.skip is not None else out


def mrope_tables(g, length):
    """cos/sin [N, head_dim] of the image tokens after a prompt of `length` tokens: temporal id = length,
    height/width ids = length + row/column, the sections scaled to head_dim / 2 frequencies."""
    half = g.head_dim // 2
    ts, hs = g.sections[0] * half // 64, g.sections[1] * half // 64
    inv = g.theta ** (-torch.arange(half, dtype=torch.float64) * 2 / g.head_dim)
    rows = torch.arange(g.side).repeat_interleave(g.side).double()
    cols = torch.arange(g.side).repeat(g.side).double()
    pos = torch.stack([torch.zeros(g.tokens, dtype=torch.float64), rows, cols]) + length
    stream = torch.tensor([0] * ts + [1] * hs + [2] * (half - ts - hs))
    angles = torch.cat([pos[stream].T * inv] * 2, dim=1)
    return angles.cos().float(), angles.sin().float()


class Experts(torch.nn.Module):
    """K groups of layers (K = 1: the vanilla model); `velocity` runs the layers it is given, by default
    the owning group's."""

    def __init__(self, g, groups, input_skip=False, absolute_positions=False):
        super().__init__()
        self.g, self.groups, self.per_group = g, groups, g.layers // groups
        W = g.width
        self.patch_embed = torch.nn.Linear(g.channels, W)
        self.t1, self.t2 = torch.nn.Linear(FREQS, W), torch.nn.Linear(W, W)
        self.layers = torch.nn.ModuleList(GenerationLayer(g, l % self.per_group != 0) for l in range(g.layers))
        self.heads = torch.nn.ModuleList(OutputHead(g, input_skip) for _ in range(groups))
        # ours' absolute positions: a fixed table added after the patch embedding
        self.register_buffer("positions", torch.randn(g.tokens, W) * 0.02 if absolute_positions else None)
        with torch.no_grad():
            for q in self.parameters():
                q.normal_(0, 0.02)

    def group(self, t):
        return min(int(t * self.groups), self.groups - 1)

    def velocity(self, x, t, prompt, k, layers=None):
        g = self.g
        pk, pv, lengths = prompt
        b = x.shape[0]
        half = FREQS // 2
        f = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float64) / half)
        a = torch.tensor(t, dtype=torch.float64)[:, None] * 1000 * f
        cond = F.silu(self.t2(F.silu(self.t1(torch.cat([a.cos(), a.sin()], dim=1).float()))))
        tokens = x.permute(0, 2, 3, 1).reshape(b, g.tokens, g.channels)
        h = self.patch_embed(tokens)
        if self.positions is not None:
            h = h + self.positions
        tables = [mrope_tables(g, n) for n in lengths]
        cos = torch.stack([c for c, _ in tables])[:, None]
        sin = torch.stack([s for _, s in tables])[:, None]
        longest = pk[0].shape[2]
        bias = None
        if any(n < longest for n in lengths):
            bias = torch.zeros(b, 1, 1, longest)
            for i, n in enumerate(lengths):
                bias[i, ..., n:] = float("-inf")
        scores = None
        for l in layers if layers is not None else range(k * self.per_group, (k + 1) * self.per_group):
            h, scores = self.layers[l](h, cond, pk[l], pv[l], bias, cos, sin, scores)
        return self.heads[k](h, cond, tokens).view(b, g.side, g.side, g.channels).permute(0, 3, 1, 2)


def batched_prompt(cond, null, n):
    """n conditional rows then n null rows (the null prompt padded to the prompt's length and masked),
    as FlowSampler batches guidance. cond, null: (per-layer keys, per-layer values) of batch 1."""
    length = cond[0][0].shape[2]
    pad = length - null[0][0].shape[2]
    pk = [torch.cat([c.expand(n, -1, -1, -1), F.pad(u, (0, 0, 0, pad)).expand(n, -1, -1, -1)]) for c, u in zip(cond[0], null[0])]
    pv = [torch.cat([c.expand(n, -1, -1, -1), F.pad(u, (0, 0, 0, pad)).expand(n, -1, -1, -1)]) for c, u in zip(cond[1], null[1])]
    return pk, pv, [length] * n + [null[0][0].shape[2]] * n


def guided_sample(model, prompt, n, steps, guidance, vanilla=False):
    """Euler steps from noise; guidance as one batch of 2n rows (`batched_prompt`), or n rows at 1."""
    g = model.g
    grid = [i / steps for i in range(steps + 1)]
    x = torch.randn(n, g.channels, g.side, g.side)
    with torch.no_grad():
        for t0, t1 in zip(grid, grid[1:]):
            k = model.group(t0)
            layers = range(g.layers) if vanilla else None
            if guidance != 1:
                v = model.velocity(torch.cat([x, x]), [t0] * (2 * n), prompt, k, layers)
                v = v[n:] + (v[:n] - v[n:]) * guidance
            else:
                v = model.velocity(x, [t0] * n, prompt, k, layers)
            x = x + v * (t1 - t0)
    return x
