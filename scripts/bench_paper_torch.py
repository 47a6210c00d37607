#!/usr/bin/env python3
"""The paper's configuration end to end in PyTorch eager, timed as `latte bench sample --config paper`
times ours (which runs this script after its own side with --torch, passing its sizes, and prints ratios).

Same geometry, random weights (speed does not depend on their values):
  - backbone: transformers' Qwen2-VL text model (Qwen2VLTextModel) of Qwen2-VL-2B's shape — 28 layers,
    hidden 1536, 12 query / 2 K/V heads of 128, MLP 8960, M-RoPE [16, 24, 24], vocabulary 151936, f32 —
    prefilling a prompt and the null prompt (its per-layer keys/values are the generator's prompt K/V);
  - generator: the LaTtE-Flow layer stack of scripts/torch_generator.py at the same geometry
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

from torch_generator import Experts, Geometry, batched_prompt, guided_sample

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
if args.guidance == 1:
    p.error("--guidance 1: this benchmark times guided sampling (a batch of conditional and null rows), as ours")
batches = [int(b) for b in args.batch.split(",")]

torch.set_num_threads(args.threads)
torch.manual_seed(0)
if args.tiny:
    LAYERS, HIDDEN, MLP, HQ, KV_HEADS, VOCAB, GROUPS = 4, 256, 512, 2, 1, 1024, 2
else:
    LAYERS, HIDDEN, MLP, HQ, KV_HEADS, VOCAB, GROUPS = 28, 1536, 8960, 12, 2, 151936, 4
HEAD_DIM, CHANNELS, SIDE = HIDDEN // HQ, 32, 8
W = HIDDEN
THETA, SECTIONS = 1_000_000.0, [16, 24, 24]


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


# ---- generator: scripts/torch_generator.py's layers at this geometry, with ours' input skip and
# absolute position table ------------------------------------------------------------------------------

GEOMETRY = Geometry(width=W, mlp=MLP, query_heads=HQ, kv_heads=KV_HEADS, head_dim=HEAD_DIM, layers=LAYERS,
                    theta=THETA, channels=CHANNELS, side=SIDE, sections=tuple(SECTIONS))


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

    model = Experts(GEOMETRY, GROUPS, input_skip=True, absolute_positions=True).eval()
    result["generator_parameters"] = sum(q.numel() for q in model.parameters())
    guided_sample(model, batched_prompt(cond, null, 1), 1, 1, args.guidance)   # warm-up
    rows, latents = [], {}
    for n in batches:
        prompt = batched_prompt(cond, null, n)
        ran = args.steps if n == 1 else args.batched_steps
        s, latents[n] = timed(lambda: guided_sample(model, prompt, n, ran, args.guidance))
        sv, _ = timed(lambda: guided_sample(model, prompt, n, args.short_steps, args.guidance, vanilla=True))
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
