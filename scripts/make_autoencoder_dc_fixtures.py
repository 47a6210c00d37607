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
