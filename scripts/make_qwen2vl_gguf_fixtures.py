#!/usr/bin/env python3
"""GGUF fixtures for Qwen2-VL (Tests/LatteModelsTests/Fixtures/qwen2vl/tiny-gguf), made by llama.cpp's own
converter so the loader is checked against the layout llama.cpp writes, not against our reading of it.

- hf/: a tiny random Qwen2VLForConditionalGeneration (widths that are whole 32-value blocks, so Q8_0 /
  Q4_1 apply: hidden 64, 2 heads of 32 with 1 K/V head, MLP 96, 2 layers; vision 3 blocks of width 64:
  the converter maps the merger's `mlp.2` through its block-number table, so depth must exceed 2)
  with a tiny byte-level BPE tokenizer in Qwen2's style (Qwen2's split regex, ChatML and vision special
  tokens), saved as f32 safetensors, plus an image.
- lm-f32.gguf, lm-q8_0.gguf: `convert_hf_to_gguf.py hf --outtype f32|q8_0` (architecture qwen2vl).
- mmproj-f32.gguf: `convert_hf_to_gguf.py hf --mmproj --outtype f32` (architecture clip, v.* / mm.*).

The converter is run from llama.cpp's sources as the llama-cpp-python sdist vendors them:
    pip download --no-deps --no-binary :all: llama-cpp-python   # then unpack; no build is needed
    pip install torch transformers tokenizers safetensors pillow numpy sentencepiece
    python3 scripts/make_qwen2vl_gguf_fixtures.py --llama-cpp /path/to/llama-cpp-python-X/vendor/llama.cpp

One thing is patched at run time, not in llama.cpp's files: the converter names the BPE pre-tokenizer by
hashing how the tokenizer splits a test string, and only knows the hashes of published tokenizers. This
tiny tokenizer uses Qwen2's split but has its own merges, so its hash is unknown; the script makes
`get_vocab_base_pre` answer "qwen2", which is what the converter writes for the real Qwen2-VL.
Developer machines only (CI never runs this).
"""
import argparse
import json
import os
import runpy
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from PIL import Image
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, Regex
from transformers import PreTrainedTokenizerFast, Qwen2VLConfig, Qwen2VLForConditionalGeneration

OUT = Path(__file__).resolve().parent.parent / "Tests/LatteModelsTests/Fixtures/qwen2vl/tiny-gguf"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
# Qwen2-VL's chat template (what its tokenizer_config.json carries), so the GGUF gets one too.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CORPUS = [
    "What is in this picture? A small red square on a blue background.",
    "The quick brown fox jumps over the lazy dog. 0123456789",
    "You are a helpful assistant. Describe the image in one sentence.",
    "Hello, world! How are you today? I'm fine, thanks.",
] * 20


def make_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=SPECIALS, clean_up_tokenization_spaces=False)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def make_hf(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer(folder)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    vocab = (len(tok) + 31) // 32 * 32
    config = Qwen2VLConfig(
        text_config=dict(hidden_size=64, num_attention_heads=2, num_key_value_heads=1, intermediate_size=96,
                         num_hidden_layers=2, vocab_size=vocab, rms_norm_eps=1e-6, max_position_embeddings=512,
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [4, 6, 6]}),
        vision_config=dict(depth=3, embed_dim=64, num_heads=2, mlp_ratio=2, hidden_act="quick_gelu", hidden_size=64,
                           in_channels=3, patch_size=14, spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], tie_word_embeddings=False)
    torch.manual_seed(21)
    model = Qwen2VLForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # Visible biases and norm weights, so a loader that drops or misplaces one fails the tests.
            if "norm" in name or "ln_q" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.1 if p.ndim > 1 else 0.05))
    model.save_pretrained(folder, safe_serialization=True)
    # The Hub's checkpoints (and the converter) use the flat `model.*` / `visual.*` keys; transformers 5
    # saves `model.language_model.*` / `model.visual.*`, which both sides map too.
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "min_pixels": 56 * 56, "max_pixels": 28 * 28 * 16, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "image_processor_type": "Qwen2VLImageProcessor"}, indent=1) + "\n")
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:60, 0:90]
    pixels = np.clip(np.stack([x * 2.5, y * 4, np.full_like(x, 120)], -1) + rng.normal(0, 30, (60, 90, 3)), 0, 255)
    Image.fromarray(pixels.astype(np.uint8), "RGB").save(folder.parent / "image0.png")
    for f in ["generation_config.json"]:
        (folder / f).unlink(missing_ok=True)


def convert(llama_cpp: Path, hf: Path, out: Path, outtype: str, mmproj: bool):
    """llama.cpp's convert_hf_to_gguf.py main(), with only the pre-tokenizer name patched (see above)."""
    sys.path[:0] = [str(llama_cpp), str(llama_cpp / "gguf-py")]
    import conversion.base as base
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"
    argv = [str(llama_cpp / "convert_hf_to_gguf.py"), str(hf), "--outfile", str(out), "--outtype", outtype]
    if mmproj:
        argv.append("--mmproj")
    saved = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(str(llama_cpp / "convert_hf_to_gguf.py"), run_name="__main__")
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        sys.argv = saved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp", required=True, type=Path, help="llama.cpp's source folder (convert_hf_to_gguf.py, gguf-py)")
    args = ap.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    make_hf(OUT / "hf")
    convert(args.llama_cpp, OUT / "hf", OUT / "lm-f32.gguf", "f32", mmproj=False)
    convert(args.llama_cpp, OUT / "hf", OUT / "lm-q8_0.gguf", "q8_0", mmproj=False)
    convert(args.llama_cpp, OUT / "hf", OUT / "mmproj-f32.gguf", "f32", mmproj=True)
    for p in sorted(OUT.rglob("*")):
        if p.is_file():
            print(f"{p.relative_to(OUT)}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
