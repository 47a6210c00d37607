#!/usr/bin/env python3
"""Reference fixtures for Qwen2-VL (Tests/LatteModelsTests/Fixtures/qwen2vl).

- processor/: random RGB PNGs of several sizes and aspect ratios and the pixel_values / image_grid_thw of
  transformers' Qwen2VLImageProcessorPil (the Pillow backend: bicubic resize of the uint8 image) for them,
  covering smart_resize's round, upscale (min_pixels) and downscale (max_pixels) branches.
- tiny-*/: tiny random Qwen2VLForConditionalGeneration checkpoints (odd widths, GQA, different
  mrope_section splits, both config.json layouts) with their preprocessor_config.json, input images, and
  fp32 references: vision tower output, 3-row rope positions and delta, full logits for a text-only and an
  image+text prompt, and a greedy continuation of the image+text prompt.

Developer machines only (CI never runs this):
    pip install torch transformers pillow safetensors
    HF_HUB_OFFLINE=1 python3 scripts/make_qwen2vl_fixtures.py
"""
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

OUT = Path(__file__).resolve().parent.parent / "Tests/LatteModelsTests/Fixtures/qwen2vl"
IMAGE, VIDEO, VSTART, VEND = 100, 101, 98, 99


def random_png(path, width, height, seed):
    """Noise over a smooth gradient: noise stresses the resampling filter, the gradient keeps structure."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([255 * x / max(width - 1, 1), 255 * y / max(height - 1, 1),
                     np.full((height, width), 128.0)], axis=-1)
    pixels = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(path)
    return Image.open(path).convert("RGB")


# (name, width, height, min_pixels, max_pixels): which smart_resize branch each one takes.
PROCESSOR_CASES = [
    ("round-97x61", 97, 61, 56 * 56, 28 * 28 * 1280),      # rounds to 112×56 (2.5 → 2, banker's rounding)
    ("upscale-33x20", 33, 20, 56 * 56, 28 * 28 * 1280),    # below min_pixels: scaled up
    ("downscale-200x90", 200, 90, 56 * 56, 28 * 28 * 8),   # above max_pixels: scaled down
    ("tall-45x300", 45, 300, 56 * 56, 28 * 28 * 12),       # aspect ratio 1:6.7, downscaled
    ("exact-56x84", 56, 84, 56 * 56, 28 * 28 * 1280),      # already a multiple of 28
]


def make_processor_fixtures():
    folder = OUT / "processor"
    folder.mkdir(parents=True, exist_ok=True)
    tensors, cases = {}, []
    for i, (name, w, h, lo, hi) in enumerate(PROCESSOR_CASES):
        image = random_png(folder / f"{name}.png", w, h, seed=100 + i)
        processor = Qwen2VLImageProcessorPil(min_pixels=lo, max_pixels=hi)
        out = processor(images=[image], return_tensors="pt")
        tensors[f"{name}.pixel_values"] = out["pixel_values"].float().contiguous()
        tensors[f"{name}.grid"] = out["image_grid_thw"].to(torch.int64).contiguous()
        cases.append({"name": name, "min_pixels": lo, "max_pixels": hi})
        print(name, tuple(out["pixel_values"].shape), out["image_grid_thw"].tolist())
    save_file(tensors, str(folder / "reference.safetensors"))
    (folder / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")


TINY = {
    # GQA 5:1, untied, sections 2+2+2 of head_dim 12, quick_gelu vision MLP; transformers 5.x config layout.
    "tiny-a": dict(
        text=dict(hidden_size=60, num_attention_heads=5, num_key_value_heads=1, intermediate_size=70,
                  num_hidden_layers=2, vocab_size=113, rms_norm_eps=1e-6,
                  rope_parameters={"rope_type": "default", "rope_theta": 1000.0, "mrope_section": [2, 2, 2]}),
        vision=dict(depth=2, embed_dim=36, num_heads=3, mlp_ratio=2, hidden_act="quick_gelu"),
        tie=False, flat=False, images=[(70, 50), (100, 40)], max_pixels=28 * 28 * 16),
    # GQA 3:1, tied, sections 1+4+2 of head_dim 14, tanh-GELU vision MLP; the older flat config layout
    # (the real Qwen2-VL-2B-Instruct's: text keys at the top, rope_scaling {type: mrope, mrope_section}).
    "tiny-b": dict(
        text=dict(hidden_size=84, num_attention_heads=6, num_key_value_heads=2, intermediate_size=50,
                  num_hidden_layers=3, vocab_size=109, rms_norm_eps=1e-5,
                  rope_parameters={"rope_type": "default", "rope_theta": 5000.0, "mrope_section": [1, 4, 2]}),
        vision=dict(depth=3, embed_dim=40, num_heads=2, mlp_ratio=3, hidden_act="gelu_pytorch_tanh"),
        tie=True, flat=True, images=[(90, 61)], max_pixels=28 * 28 * 24),
}


def flatten_config(folder):
    """Rewrites a saved config.json in the pre-5.x flat layout of the Hub's Qwen2-VL checkpoints."""
    path = folder / "config.json"
    c = json.loads(path.read_text())
    text = c.pop("text_config")
    rope = text.pop("rope_parameters")
    for k in ("model_type", "layer_types", "dtype"):
        text.pop(k, None)
    c.update(text)
    c["rope_theta"] = rope["rope_theta"]
    c["rope_scaling"] = {"type": "mrope", "mrope_section": rope["mrope_section"]}
    v = c["vision_config"]
    v["in_chans"] = v.pop("in_channels")
    v.pop("rope_parameters", None)
    v.pop("model_type", None)
    path.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")


def make_tiny(name, spec, seed):
    torch.manual_seed(seed)
    text = dict(spec["text"], bos_token_id=None, eos_token_id=None, max_position_embeddings=256)
    config = Qwen2VLConfig(text_config=text, vision_config=dict(spec["vision"], hidden_size=text["hidden_size"]),
                           image_token_id=IMAGE, video_token_id=VIDEO, vision_start_token_id=VSTART,
                           vision_end_token_id=VEND, tie_word_embeddings=spec["tie"])
    model = Qwen2VLForConditionalGeneration(config).eval()
    # transformers' init gives nearly flat logits: redraw wider so greedy choices are not ties.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname or "ln_q" in pname:
                p.copy_((1 if pname.endswith("weight") else 0) + 0.1 * torch.randn_like(p))
            elif pname.endswith("bias"):
                p.normal_(0, 0.2)
            else:
                p.normal_(0, 0.5 if "embed_tokens" in pname else 1.5 / p[0].numel() ** 0.5)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "generation_config.json").unlink(missing_ok=True)
    if spec["flat"]:
        flatten_config(folder)
    processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=spec["max_pixels"])
    processor.save_pretrained(folder)

    images = [random_png(folder / f"image{i}.png", w, h, seed=seed + 10 + i) for i, (w, h) in enumerate(spec["images"])]
    vision_in = processor(images=images, return_tensors="pt")
    pixel_values, grid = vision_in["pixel_values"], vision_in["image_grid_thw"]

    # Token ids: random text (never the vision specials), then each image as start, pads, end.
    g = torch.Generator().manual_seed(seed + 1)
    vocab = text["vocab_size"]
    def words(n):
        return [int(t) for t in torch.randint(0, VSTART, (n,), generator=g)]
    ids = words(5)
    for t, h, w in grid.tolist():
        ids += [VSTART] + [IMAGE] * (t * h * w // 4) + [VEND] + words(3)
    ids += words(2)
    mm_ids = torch.tensor([ids])
    mm_types = (mm_ids == IMAGE).to(torch.int32)
    text_ids = torch.randint(0, vocab, (2, 13), generator=g)

    with torch.no_grad():
        vision_out = model.model.visual(pixel_values, grid_thw=grid).pooler_output.float()
        positions, deltas = model.model.get_rope_index(mm_ids, mm_token_type_ids=mm_types, image_grid_thw=grid)
        text_logits = model(input_ids=text_ids).logits.float()
        mm_logits = model(input_ids=mm_ids, pixel_values=pixel_values, image_grid_thw=grid,
                          mm_token_type_ids=mm_types).logits.float()
        greedy = model.generate(input_ids=mm_ids, pixel_values=pixel_values, image_grid_thw=grid,
                                mm_token_type_ids=mm_types, attention_mask=torch.ones_like(mm_ids),
                                max_new_tokens=10, do_sample=False, pad_token_id=0,
                                eos_token_id=None)[0, mm_ids.shape[1]:]
    save_file({
        "pixel_values": pixel_values.float().contiguous(), "image_grid_thw": grid.to(torch.int64).contiguous(),
        "vision_output": vision_out.contiguous(),
        "mm_ids": mm_ids.to(torch.int64).contiguous(), "mm_positions": positions.to(torch.int64).contiguous(),
        "mm_rope_deltas": deltas.to(torch.int64).reshape(-1).contiguous(), "mm_logits": mm_logits.contiguous(),
        "text_ids": text_ids.to(torch.int64).contiguous(), "text_logits": text_logits.contiguous(),
        "greedy_tokens": greedy.to(torch.int64).contiguous(),
    }, str(folder / "reference.safetensors"))
    print(name, "grid", grid.tolist(), "mm", tuple(mm_logits.shape), "delta", deltas.tolist(), "greedy", greedy.tolist())


# The Hub's Qwen2-VL-2B-Instruct config.json (flat layout, as published), for a structural test: the
# parameter keys and shapes transformers builds from it (on the meta device, no weights) must be ours.
QWEN2VL_2B_CONFIG = {
    "architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "vision_start_token_id": 151652, "vision_end_token_id": 151653,
    "vision_token_id": 151654, "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu",
    "hidden_size": 1536, "initializer_range": 0.02, "intermediate_size": 8960, "max_position_embeddings": 32768,
    "max_window_layers": 28, "model_type": "qwen2_vl", "num_attention_heads": 12, "num_hidden_layers": 28,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
    "tie_word_embeddings": True, "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": True,
    "use_sliding_window": False,
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
                      "hidden_size": 1536, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
                      "temporal_patch_size": 2},
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936,
}


def make_2b_structure():
    folder = OUT / "qwen2vl-2b-structure"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(QWEN2VL_2B_CONFIG, indent=2) + "\n")
    config = Qwen2VLConfig.from_pretrained(folder)
    with torch.device("meta"):
        model = Qwen2VLForConditionalGeneration(config)
    # save_pretrained's keys (the Hub layout), without the tied head's duplicate.
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    mapping = getattr(model, "_checkpoint_conversion_mapping", None) or {}
    saved = {}
    for k, v in shapes.items():
        for pattern, target in mapping.items():
            import re
            k = re.sub(pattern, target, k)
        saved[k] = v
    saved = {k.replace("model.language_model.", "model.").replace("model.visual.", "visual."): v for k, v in saved.items()}
    saved.pop("lm_head.weight", None)
    (folder / "parameters.json").write_text(json.dumps(dict(sorted(saved.items()))) + "\n")
    print("2B structure:", len(saved), "tensors,", sum(int(np.prod(v)) for v in saved.values()), "parameters")


if __name__ == "__main__":
    make_2b_structure()
    make_processor_fixtures()
    for i, (name, spec) in enumerate(TINY.items()):
        make_tiny(name, spec, seed=4321 + 31 * i)
