#!/usr/bin/env python3
"""Reference fixtures for LatteModels' AutoencoderKL (Tests/LatteModelsTests/Fixtures/autoencoders/).

Builds two tiny random diffusers AutoencoderKL models, redraws every parameter N(0, 0.2²) so that
norm affines and biases are not trivially 1/0, and writes for each a diffusers folder
(config.json + diffusion_pytorch_model.safetensors) plus io.safetensors holding the input image,
the expected mean and log-variance (after quant_conv and the clamp) and the decode of the mean, fp32.

Needs torch and diffusers (not CI): pip install diffusers; HF_HUB_OFFLINE=1 python3 scripts/make_autoencoder_fixtures.py
"""
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from diffusers import AutoencoderKL
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests/LatteModelsTests/Fixtures/autoencoders"

CASES = {
    "kl_quant": dict(use_quant_conv=True, use_post_quant_conv=True, scaling_factor=0.5),
    "kl_noquant_shift": dict(use_quant_conv=False, use_post_quant_conv=False, scaling_factor=1.25, shift_factor=0.1),
}


def main():
    for seed, (name, extra) in enumerate(CASES.items()):
        torch.manual_seed(seed)
        model = AutoencoderKL(
            in_channels=3, out_channels=3,
            down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
            block_out_channels=[8, 16], layers_per_block=1, latent_channels=4, norm_num_groups=4,
            sample_size=16, **extra).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn_like(p) * 0.2)
            x = torch.randn(2, 3, 16, 16)
            dist = model.encode(x).latent_dist
            decoded = model.decode(dist.mean).sample
            # Tiled decoding of a 12×12 latent with 8×8 latent tiles (16×16 in pixels; diffusers'
            # tile sizes come from sample_size), next to the whole decode of the same latent.
            z = torch.randn(1, 4, 12, 12)
            whole = model.decode(z).sample
            model.enable_tiling()
            tiled = model.decode(z).sample
            model.disable_tiling()
        folder = OUT / name
        model.save_pretrained(folder, safe_serialization=True)
        save_file({"input": x.contiguous(), "mean": dist.mean.contiguous(), "logvar": dist.logvar.contiguous(),
                   "decoded": decoded.contiguous(),
                   "tile_latent": z.contiguous(), "tile_whole": whole.contiguous(), "tile_tiled": tiled.contiguous()}, str(folder / "io.safetensors"))
        print(name, "mean", tuple(dist.mean.shape), "decoded", tuple(decoded.shape),
              "tiled vs whole max |diff|", float((tiled - whole).abs().max()), "whole std", float(whole.std()))


if __name__ == "__main__":
    main()
