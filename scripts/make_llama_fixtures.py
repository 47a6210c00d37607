#!/usr/bin/env python3
"""Reference fixtures for the LLaMA family (Tests/LatteModelsTests/Fixtures/llama).

Tiny random LlamaForCausalLM checkpoints from transformers, with odd sizes and GQA ratios, and their
full fp32 logits and greedy continuations; plus, when the SmolLM2 GGUF asset is in the cache, the
top-5 next-token ids and greedy continuations of transformers loading that same GGUF file.

Developer machines only (CI never runs this):
    pip install torch transformers accelerate gguf safetensors
    HF_HUB_OFFLINE=1 python3 scripts/make_llama_fixtures.py
"""
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

OUT = Path(__file__).resolve().parent.parent / "Tests/LatteModelsTests/Fixtures/llama"

TINY = {
    # GQA 3:1, untied, rope theta 500.
    "tiny-gqa-untied": dict(num_key_value_heads=2, tie_word_embeddings=False,
                            rope_parameters={"rope_type": "default", "rope_theta": 500.0}),
    # Plain multi-head attention, tied output embedding, default theta.
    "tiny-mha-tied": dict(num_key_value_heads=6, tie_word_embeddings=True),
    # Llama-3 frequency scaling, GQA 2:1, tied.
    "tiny-llama3-rope": dict(num_key_value_heads=3, tie_word_embeddings=True,
                             rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 4.0,
                                              "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                              "original_max_position_embeddings": 8}),
}


def make_tiny(name, overrides, seed):
    torch.manual_seed(seed)
    config = LlamaConfig(hidden_size=72, num_hidden_layers=3, num_attention_heads=6, head_dim=12,
                         intermediate_size=100, vocab_size=97, rms_norm_eps=1e-5, max_position_embeddings=64,
                         **overrides)
    model = LlamaForCausalLM(config).eval()
    # transformers' init gives nearly flat logits: redraw wider so greedy choices are not ties.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if "norm" in pname:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.normal_(0, 0.5 if "embed" in pname else 0.5 / p.shape[-1] ** 0.5 * 3)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    for extra in ("generation_config.json",):
        (folder / extra).unlink(missing_ok=True)

    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(0, config.vocab_size, (2, 11), generator=g)
    with torch.no_grad():
        logits = model(input_ids=ids).logits.float()
        greedy = model.generate(ids[:1, :5], max_new_tokens=12, do_sample=False,
                                pad_token_id=0, eos_token_id=None)[0, 5:]
    save_file({"input_ids": ids.to(torch.int64).contiguous(), "logits": logits.contiguous(),
               "greedy_prompt": ids[:1, :5].to(torch.int64).clone(),
               "greedy_tokens": greedy.to(torch.int64).contiguous()},
              str(folder / "reference.safetensors"))
    print(name, "logits", tuple(logits.shape), "greedy", greedy.tolist())


# SmolLM2 prompts: token ids from our tokenizer's rule. transformers' GGUF tokenizer splits digits
# wrongly (ASSETS.md), so these prompts avoid digits, and the Swift test checks our ids equal these.
SMOL_PROMPTS = [
    ("raw-capital", "The capital of France is"),
    ("raw-story", "Once upon a time, there was a little"),
    ("chat-sky", "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                 "<|im_end|>\n<|im_start|>user\nWhy is the sky blue?<|im_end|>\n<|im_start|>assistant\n"),
]


def make_smollm2():
    home = Path(os.environ.get("LATTE_HOME", Path.home() / ".cache/latteflow"))
    gguf = home / "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.exists():
        print("SmolLM2 asset absent; skipping its fixture", file=sys.stderr)
        return
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32).eval()
    out = []
    for name, text in SMOL_PROMPTS:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            last = model(input_ids=x).logits[0, -1].float()
            greedy = model.generate(x, max_new_tokens=16, do_sample=False, eos_token_id=None,
                                    pad_token_id=2)[0, len(ids):].tolist()
        top5 = torch.topk(last, 5).indices.tolist()
        out.append({"name": name, "text": text, "ids": ids, "top5": top5,
                    "top5_logits": [float(last[i]) for i in top5], "greedy16": greedy,
                    "greedy16_text": tok.decode(greedy)})
        print(name, top5, repr(tok.decode(greedy)))
    (OUT / "smollm2-reference.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    for i, (name, overrides) in enumerate(TINY.items()):
        make_tiny(name, overrides, seed=1234 + 17 * i)
    make_smollm2()
