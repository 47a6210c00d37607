"""Reference outputs for DC-AE's layout ops (pixel shuffle/unshuffle shortcuts, channel RMSNorm).

Computed with torch exactly as diffusers' DCDownBlock2d / DCUpBlock2d / RMSNorm2d do; written to
Tests/LatteModelsTests/Fixtures/autoencoders/dc_ops/ops.safetensors. Run: python3 scripts/make_autoencoder_dc_fixtures.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
out_dir = os.path.join(os.path.dirname(__file__), "..", "Tests", "LatteModelsTests", "Fixtures", "autoencoders", "dc_ops")
os.makedirs(out_dir, exist_ok=True)

x = torch.randn(2, 6, 8, 4)
t = {"x": x}
t["unshuffle2"] = F.pixel_unshuffle(x, 2)
t["shuffle2"] = F.pixel_shuffle(t["unshuffle2"], 2)
# Down shortcut 6 -> 8 channels: unshuffle gives 24, groups of 3 averaged.
t["down_shortcut_8"] = F.pixel_unshuffle(x, 2).unflatten(1, (-1, 3)).mean(dim=2)
# Up shortcut 6 -> 3 channels: 3*4/6 = 2 repeats, then shuffle.
t["up_shortcut_3"] = F.pixel_shuffle(x.repeat_interleave(2, dim=1), 2)
weight, bias = torch.randn(6), torch.randn(6)
h = x.movedim(1, -1)
h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5) * weight + bias
t["rms_weight"], t["rms_bias"], t["rms"] = weight, bias, h.movedim(-1, 1)
save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(out_dir, "ops.safetensors"))

# One DC-AE ResBlock (rms_norm, silu) with random weights, including the norm's affine terms.
from diffusers.models.autoencoders.autoencoder_dc import ResBlock

block = ResBlock(8, 8, norm_type="rms_norm", act_fn="silu").eval()
with torch.no_grad():
    block.norm.weight.normal_()
    block.norm.bias.normal_()
    xb = torch.randn(1, 8, 6, 6)
    yb = block(xb)
weights = {k: v.contiguous() for k, v in block.state_dict().items()}
save_file(weights, os.path.join(out_dir, "resblock_weights.safetensors"))
save_file({"x": xb.contiguous(), "y": yb.contiguous()}, os.path.join(out_dir, "resblock_io.safetensors"))

# EfficientViTBlock's GLUMBConv (expand 4, rms_norm, residual) with random affine terms.
from diffusers.models.transformers.sana_transformer import GLUMBConv

torch.manual_seed(1)
glu = GLUMBConv(4, 4, norm_type="rms_norm").eval()
with torch.no_grad():
    glu.norm.weight.normal_()
    glu.norm.bias.normal_()
    xg = torch.randn(1, 4, 5, 5)
    yg = glu(xg)
save_file({k: v.contiguous() for k, v in glu.state_dict().items()}, os.path.join(out_dir, "glumbconv_weights.safetensors"))
save_file({"x": xg.contiguous(), "y": yg.contiguous()}, os.path.join(out_dir, "glumbconv_io.safetensors"))

# ---------------------------------------------------------------------------------------------
# Whole tiny AutoencoderDC models (random, weights widened so outputs are not near-trivial), each a
# diffusers folder (config.json + diffusion_pytorch_model.safetensors) plus io.safetensors holding
# input, latent (encode) and decoded (decode of that latent), all float32.
import json

from diffusers import AutoencoderDC


def widen(model, seed):
    """Random values for every norm's affine terms and BatchNorm statistics, larger conv weights:
    torch's default init makes DC-AE blocks nearly identity maps (RMSNorm weight 1, bias 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight") or name.endswith("norm_out.weight"):
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("norm.bias") or name.endswith("norm_out.bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.mul_(1.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


configs = {
    # Residual stages then an EfficientViT stage with one multiscale branch, pixel (un)shuffle
    # sampling, both latent shortcuts, rms_norm everywhere (diffusers' defaults in miniature).
    "dc_resvit": dict(
        in_channels=3, latent_channels=4, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[8, 16, 16], decoder_block_out_channels=[8, 16, 16],
        encoder_layers_per_block=[1, 1, 2], decoder_layers_per_block=[1, 1, 2],
        encoder_qkv_multiscales=[[], [], [3]], decoder_qkv_multiscales=[[], [], [3]],
        upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
        decoder_norm_types="rms_norm", decoder_act_fns="silu",
        encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="relu",
        scaling_factor=0.41407,
    ),
    # The SANA DC-AE layout in miniature: first stage without layers (conv_in/conv_out are sampling
    # blocks), strided-conv down / interpolate up, batch_norm + relu decoder stages then rms_norm +
    # silu, EfficientViT stages with two multiscale branches, no latent shortcuts.
    "dc_sana": dict(
        in_channels=3, latent_channels=8, attention_head_dim=4,
        encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[8, 16, 16, 16], decoder_block_out_channels=[8, 16, 16, 16],
        encoder_layers_per_block=[0, 1, 1, 1], decoder_layers_per_block=[0, 1, 2, 1],
        encoder_qkv_multiscales=[[], [], [3, 5], [5]], decoder_qkv_multiscales=[[], [], [3, 5], [5]],
        upsample_block_type="interpolate", downsample_block_type="conv",
        decoder_norm_types=["batch_norm", "batch_norm", "rms_norm", "rms_norm"],
        decoder_act_fns=["relu", "relu", "silu", "silu"],
        encoder_out_shortcut=False, decoder_in_shortcut=False, decoder_conv_act_fn="silu",
        scaling_factor=0.2,
    ),
    # The "in-1.0" release pattern: stage 0 without layers through pixel (un)shuffle sampling blocks,
    # EfficientViT stages without multiscale branches, BatchNorm inside a decoder attention stage,
    # GELU activations, both latent shortcuts.
    "dc_in": dict(
        in_channels=3, latent_channels=8, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "EfficientViTBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[8, 16, 16], decoder_block_out_channels=[8, 16, 16],
        encoder_layers_per_block=[0, 2, 1], decoder_layers_per_block=[0, 1, 2],
        encoder_qkv_multiscales=[[], [], []], decoder_qkv_multiscales=[[], [], [3]],
        upsample_block_type="pixel_shuffle", downsample_block_type="pixel_unshuffle",
        decoder_norm_types=["batch_norm", "batch_norm", "rms_norm"], decoder_act_fns=["gelu", "relu", "silu"],
        encoder_out_shortcut=True, decoder_in_shortcut=True, decoder_conv_act_fn="gelu",
        scaling_factor=1.0,
    ),
}
# Attention path per stage: linear when H·W > attention_head_dim, quadratic otherwise. dc_resvit at
# 32×32 runs stage 2 at 8×8 = 64 > 8 pixels (linear); dc_sana at 32×32 runs stage 3 at 4×4 = 16 > 4
# (linear) and its stage 3 at 2×2 = 4 ≤ 4 pixels (quadratic) when given 16×16 inputs, hence the
# second input size below.
sizes = {"dc_resvit": [(2, 32, 32)], "dc_sana": [(2, 32, 32), (1, 16, 16)], "dc_in": [(2, 32, 32)]}

for seed, (name, cfg) in enumerate(configs.items()):
    torch.manual_seed(100 + seed)
    model = AutoencoderDC(**cfg).eval()
    widen(model, 7)
    folder = os.path.join(out_dir, "..", name)
    model.save_pretrained(folder, safe_serialization=True)
    io = {}
    with torch.no_grad():
        for k, (n, h, w) in enumerate(sizes[name]):
            suffix = "" if k == 0 else f"_{h}"
            x = torch.randn(n, cfg["in_channels"], h, w)
            z = model.encode(x).latent
            y = model.decode(z).sample
            io["input" + suffix], io["latent" + suffix], io["decoded" + suffix] = x, z, y
            print(f"{name} {h}x{w}: latent {tuple(z.shape)} std {z.std():.3f}, decoded std {y.std():.3f}")
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(folder, "io.safetensors"))

# ---------------------------------------------------------------------------------------------
# Full-size released DC-AE layouts (configs as diffusers' convert_dcae_to_diffusers.py builds them),
# instantiated on torch's meta device (no memory): the number of parameters and a digest of every
# checkpoint key with its shape, so the Swift test proves a real DC-AE folder's keys and shapes line up
# without shipping gigabytes. Digest: FNV-1a 64 over "key:[d0, d1, …]\n" lines sorted by key, BatchNorm
# counters (num_batches_tracked) left out as the loader drops them.
six = lambda a, b: [a] * 3 + [b] * 3
real_configs = {
    "diffusers-defaults": {},
    "dc-ae-f32c32-sana-1.0": dict(
        latent_channels=32, encoder_block_types=six("ResBlock", "EfficientViTBlock"),
        decoder_block_types=six("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024], decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
        encoder_layers_per_block=[2, 2, 2, 3, 3, 3], decoder_layers_per_block=[3, 3, 3, 3, 3, 3],
        encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
        downsample_block_type="conv", upsample_block_type="interpolate", decoder_norm_types="rms_norm",
        decoder_act_fns="silu", scaling_factor=0.41407),
    "dc-ae-f32c32-in-1.0": dict(
        latent_channels=32, encoder_block_types=six("ResBlock", "EfficientViTBlock"),
        decoder_block_types=six("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024], decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
        encoder_layers_per_block=[0, 4, 8, 2, 2, 2], decoder_layers_per_block=[0, 5, 10, 2, 2, 2],
        encoder_qkv_multiscales=[[]] * 6, decoder_qkv_multiscales=[[]] * 6,
        decoder_norm_types=six("batch_norm", "rms_norm"), decoder_act_fns=six("relu", "silu")),
}


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "x")


summary = {}
for name, cfg in real_configs.items():
    with torch.device("meta"):
        model = AutoencoderDC(**cfg)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    lines = "".join(f"{k}:[{', '.join(map(str, shapes[k]))}]\n" for k in sorted(shapes))
    count = sum(p.numel() for p in model.parameters()) + sum(
        b.numel() for k, b in model.named_buffers() if not k.endswith("num_batches_tracked"))
    full = dict(model.config)
    summary[name] = {"config": {k: v for k, v in full.items() if not k.startswith("_")},
                     "tensors": len(shapes), "elements": count, "digest": fnv1a64(lines)}
    print(f"{name}: {len(shapes)} tensors, {count / 1e6:.1f} M elements")
with open(os.path.join(out_dir, "..", "dc_released_layouts.json"), "w") as f:
    json.dump(summary, f, indent=1, sort_keys=True)
