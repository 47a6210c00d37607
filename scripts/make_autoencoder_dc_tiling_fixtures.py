"""Reference outputs for AutoencoderDC's tiled encode/decode (diffusers' enable_tiling path).

Loads the committed tiny random DC-AE Tests/LatteModelsTests/Fixtures/autoencoders/dc_resvit
(written by scripts/make_autoencoder_dc_fixtures.py; f = 4, a linear-attention stage at the latent
resolution) and writes Tests/LatteModelsTests/Fixtures/autoencoders/dc_tiling/io.safetensors:
  latent [1, 4, 14, 13] and its whole decode / tiled decode (tiles 32 px, stride 24 px: latent tiles of
  8 at stride 6, so rows and columns end in short tiles), and an image [1, 3, 56, 52] with its whole
  and tiled encode (same tiling). Run: python3 scripts/make_autoencoder_dc_tiling_fixtures.py
"""
import os

import torch
from diffusers import AutoencoderDC
from safetensors.torch import save_file

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "LatteModelsTests", "Fixtures", "autoencoders")
model = AutoencoderDC.from_pretrained(os.path.join(root, "dc_resvit")).eval()
torch.manual_seed(5)
z = torch.randn(1, 4, 14, 13)
x = torch.randn(1, 3, 56, 52)
io = {"latent": z, "image": x}
with torch.no_grad():
    io["decoded_whole"] = model.decode(z).sample
    io["encoded_whole"] = model.encode(x).latent
    model.enable_tiling(tile_sample_min_height=32, tile_sample_min_width=32,
                        tile_sample_stride_height=24, tile_sample_stride_width=24)
    io["decoded_tiled"] = model.decode(z).sample
    io["encoded_tiled"] = model.encode(x).latent
out_dir = os.path.join(root, "dc_tiling")
os.makedirs(out_dir, exist_ok=True)
save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out_dir, "io.safetensors"))
for k, v in io.items():
    print(k, tuple(v.shape))
print("decode tiled vs whole max |diff|", (io["decoded_tiled"] - io["decoded_whole"]).abs().max().item(),
      "mean", (io["decoded_tiled"] - io["decoded_whole"]).abs().mean().item())
print("encode tiled vs whole max |diff|", (io["encoded_tiled"] - io["encoded_whole"]).abs().max().item(),
      "mean", (io["encoded_tiled"] - io["encoded_whole"]).abs().mean().item())
