#!/usr/bin/env python3
"""The paper's configuration end to end in PyTorch eager, timed as `latte bench sample --config paper`
times ours (which runs this script after its own side with --torch, passing its sizes, and prints ratios).

Same geometry, random weights (speed does not depend on their values):
  - backbone: transformers' Qwen2-VL text model (Qwen2VLTextModel) of Qwen2-VL-2B's shape — 28 layers,
    hidden 1536, 12 query / 2 K/V heads of 128, MLP 8960, M-RoPE [16, 24, 24], vocabulary 151936, f32 —
    prefilling a prompt and the null prompt (its per-layer keys/values are the generator's prompt K/V);
  - generator: the LaTtE-Flow layer stack of scripts/bench_sample_torch.py at the same geometry
    (K = 4 groups × 7 layers, width 1536, MLP 8960, no q/k/v bias, with ours' input skip and absolute
    position table), guided Euler steps on 32 × 8 × 8 latents;
  - decoder: diffusers' AutoencoderDC in the dc-ae-f32c32-in-1.0 layout, 32 × 8 × 8 → 3 × 256 × 256.
Phases run one after another and each model is deleted before the next is built (f32 2B ≈ 6 GB).
Vanilla (all 28 layers each step) runs --short-steps steps and experts at batch > 1 --batched-steps,
both extrapolated to --steps, as ours. Prints one JSON object.

    python3 scripts/bench_paper_torch.py --threads 1 --batch 1,4
    python3 scripts/bench_paper_torch.py --tiny --threads 1        # seconds: the same code paths, small
"""
import argparse, gc, json, math, resource, time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=40)
p.add_argument("--short-steps", type=int, default=8)
p.add_argument("--batched-steps", type=int, default=40)
p.add_argument("--guidance", type=float, default=3.0)
p.add_argument("--prompt-length", type=int, default=12)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batch", default="1,4")
p.add_argument("--tiny", action="store_true")
args = p.parse_args()
batches = [int(b) for b in args.batch.split(",")]

torch.set_num_threads(args.threads)
torch.manual_seed(0)
if args.tiny:
    LAYERS, HIDDEN, MLP, HQ, KV_HEADS, VOCAB, GROUPS = 4, 256, 512, 2, 1, 1024, 2
else:
    LAYERS, HIDDEN, MLP, HQ, KV_HEADS, VOCAB, GROUPS = 28, 1536, 8960, 12, 2, 151936, 4
HEAD_DIM, CHANNELS, SIDE = HIDDEN // HQ, 32, 8
N, W = SIDE * SIDE, HIDDEN
THETA, EPS, FREQS, SECTIONS = 1_000_000.0, 1e-6, 256, [16, 24, 24]


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---- backbone ---------------------------------------------------------------------------------------

def prefill():
    from transformers import Qwen2VLTextConfig, Qwen2VLTextModel
    cfg = Qwen2VLTextConfig(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=MLP, num_hidden_layers=LAYERS,
                            num_attention_heads=HQ, num_key_value_heads=KV_HEADS, rms_norm_eps=1e-6,
                            rope_theta=THETA, rope_scaling={"type": "mrope", "mrope_section": SECTIONS},
                            tie_word_embeddings=True)
    cfg._attn_implementation = "sdpa"
    model = Qwen2VLTextModel(cfg).float().eval()
    params = sum(q.numel() for q in model.parameters())
    g = torch.Generator().manual_seed(7)
    start = 1 if args.tiny else 151644
    tokens = torch.tensor([[start] + torch.randint(0, min(VOCAB, 150000), (args.prompt_length - 1,), generator=g).tolist()])
    null = torch.tensor([[start]])

    @torch.no_grad()
    def run():
        out = []
        for ids in (tokens, null):
            cache = model(input_ids=ids, use_cache=True).past_key_values
            out.append(([cache.layers[l].keys for l in range(LAYERS)], [cache.layers[l].values for l in range(LAYERS)]))
        return out

    run()
    best = math.inf
    for _ in range(2):
        t0 = time.perf_counter()
        caches = run()
        best = min(best, time.perf_counter() - t0)
    del model
    gc.collect()
    return best, params, caches


# ---- generator (scripts/bench_sample_torch.py's layers at this geometry) ---------------------------

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
        self.gate_proj = torch.nn.Linear(W, MLP, bias=False)
        self.up_proj = torch.nn.Linear(W, MLP, bias=False)
        self.down_proj = torch.nn.Linear(MLP, W, bias=False)
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
        if HQ != KV_HEADS:
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
        self.skip = torch.nn.Linear(W, CHANNELS)      # ours' input skip: + s(t) ⊙ x_t

    def forward(self, h, cond, tokens):
        shift, scale = self.adaLN_modulation(cond).view(h.shape[0], 1, 2 * W).chunk(2, dim=2)
        return self.linear(self.norm(h) * (scale + 1) + shift) + self.skip(cond)[:, None] * tokens


def mrope_tables(length):
    half = HEAD_DIM // 2
    ts, hs = SECTIONS[0] * half // 64, SECTIONS[1] * half // 64
    inv = THETA ** (-torch.arange(half, dtype=torch.float64) * 2 / HEAD_DIM)
    rows = torch.arange(SIDE).repeat_interleave(SIDE).double()
    cols = torch.arange(SIDE).repeat(SIDE).double()
    pos = torch.stack([torch.zeros(N, dtype=torch.float64), rows, cols]) + length
    stream = torch.tensor([0] * ts + [1] * hs + [2] * (half - ts - hs))
    angles = torch.cat([pos[stream].T * inv] * 2, dim=1)
    return angles.cos().float(), angles.sin().float()


class Experts(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.per_group = LAYERS // GROUPS
        self.patch_embed = torch.nn.Linear(CHANNELS, W)
        self.t1, self.t2 = torch.nn.Linear(FREQS, W), torch.nn.Linear(W, W)
        self.layers = torch.nn.ModuleList(GenerationLayer(l % self.per_group != 0) for l in range(LAYERS))
        self.heads = torch.nn.ModuleList(OutputHead() for _ in range(GROUPS))
        # ours' absolute positions: a fixed table added after the patch embedding (values do not matter here)
        self.register_buffer("positions", torch.randn(N, W) * 0.02)
        with torch.no_grad():
            for q in self.parameters():
                q.normal_(0, 0.02)

    def group(self, t):
        return min(int(t * GROUPS), GROUPS - 1)

    def velocity(self, x, t, prompt, layers, k):
        pk, pv, lengths = prompt
        b = x.shape[0]
        half = FREQS // 2
        f = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float64) / half)
        a = torch.tensor(t, dtype=torch.float64)[:, None] * 1000 * f
        cond = F.silu(self.t2(F.silu(self.t1(torch.cat([a.cos(), a.sin()], dim=1).float()))))
        tokens = x.permute(0, 2, 3, 1).reshape(b, N, CHANNELS)
        h = self.patch_embed(tokens) + self.positions
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
        for l in layers:
            h, scores = self.layers[l](h, cond, pk[l], pv[l], bias, cos, sin, scores)
        return self.heads[k](h, cond, tokens).view(b, SIDE, SIDE, CHANNELS).permute(0, 3, 1, 2)


def batched_prompt(cond, null, n):
    """n conditional rows then n null rows (padded to the prompt's length and masked), as FlowSampler."""
    length = cond[0][0].shape[2]
    pad = length - null[0][0].shape[2]
    pk = [torch.cat([c.expand(n, -1, -1, -1), F.pad(u, (0, 0, 0, pad)).expand(n, -1, -1, -1)]) for c, u in zip(cond[0], null[0])]
    pv = [torch.cat([c.expand(n, -1, -1, -1), F.pad(u, (0, 0, 0, pad)).expand(n, -1, -1, -1)]) for c, u in zip(cond[1], null[1])]
    return pk, pv, [length] * n + [null[0][0].shape[2]] * n


def sample(model, prompt, n, steps, vanilla):
    grid = [i / steps for i in range(steps + 1)]
    x = torch.randn(n, CHANNELS, SIDE, SIDE)
    with torch.no_grad():
        for t0, t1 in zip(grid, grid[1:]):
            k = model.group(t0)
            layers = range(LAYERS) if vanilla else range(k * model.per_group, (k + 1) * model.per_group)
            v = model.velocity(torch.cat([x, x]), [t0] * (2 * n), prompt, layers, k)
            v = v[n:] + (v[:n] - v[n:]) * args.guidance
            x = x + v * (t1 - t0)
    return x


def timed(body):
    t0 = time.perf_counter()
    out = body()
    return time.perf_counter() - t0, out


def dcae_config():
    if args.tiny:
        channels, layers = [8, 16, 32, 32, 64, 64], [0, 1, 1, 1, 1, 1]
    else:
        channels, layers = [128, 256, 512, 512, 1024, 1024], None
    blocks = ["ResBlock"] * 3 + ["EfficientViTBlock"] * 3
    return dict(in_channels=3, latent_channels=32, attention_head_dim=32, encoder_block_types=blocks, decoder_block_types=blocks,
                encoder_block_out_channels=channels, decoder_block_out_channels=channels,
                encoder_layers_per_block=layers or [0, 4, 8, 2, 2, 2], decoder_layers_per_block=layers or [0, 5, 10, 2, 2, 2],
                encoder_qkv_multiscales=[[]] * 6, decoder_qkv_multiscales=[[]] * 6,
                upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
                decoder_norm_types=["batch_norm"] * 3 + ["rms_norm"] * 3, decoder_act_fns=["relu"] * 3 + ["silu"] * 3,
                scaling_factor=1.0)


def main():
    result = {"torch_version": torch.__version__, "threads": torch.get_num_threads(), "steps": args.steps,
              "short_steps": args.short_steps, "guidance": args.guidance, "prompt_tokens": args.prompt_length,
              "config": "paper-tiny" if args.tiny else "paper"}
    result["prefill_seconds"], result["backbone_parameters"], (cond, null) = prefill()

    model = Experts().eval()
    result["generator_parameters"] = sum(q.numel() for q in model.parameters())
    sample(model, batched_prompt(cond, null, 1), 1, 1, False)          # warm-up
    rows, latents = [], {}
    for n in batches:
        prompt = batched_prompt(cond, null, n)
        ran = args.steps if n == 1 else args.batched_steps
        s, latents[n] = timed(lambda: sample(model, prompt, n, ran, False))
        sv, _ = timed(lambda: sample(model, prompt, n, args.short_steps, True))
        rows.append({"batch": n, "experts_step_seconds": s * args.steps / ran, "experts_steps_run": ran,
                     "vanilla_step_seconds": sv * args.steps / args.short_steps, "vanilla_steps_run": args.short_steps})
    del model
    gc.collect()

    from diffusers import AutoencoderDC
    dc = AutoencoderDC(**dcae_config()).float().eval()
    result["decoder_parameters"] = sum(q.numel() for q in dc.decoder.parameters())
    with torch.no_grad():
        dc.decode(latents[batches[0]])                                 # warm-up
        for row in rows:
            s, images = timed(lambda: dc.decode(latents[row["batch"]]).sample)
            row["decode_seconds"] = s
            row["seconds_per_image"] = (row["experts_step_seconds"] + result["prefill_seconds"] + s) / row["batch"]
            row["seconds_per_image_vanilla"] = (row["vanilla_step_seconds"] + result["prefill_seconds"] + s) / row["batch"]
            result["image"] = list(images.shape[1:])
    result["rows"] = rows
    result["peak_rss_bytes"] = peak_rss()
    print(json.dumps(result, sort_keys=True))


main()
