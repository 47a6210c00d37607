#!/usr/bin/env python3
"""Reference prompt keys (after RoPE) and values of the tiny LLaMA fixtures, from transformers' KV cache,
for the backbone-protocol test (Tests/LatteModelsTests/LLaMABackboneTests.swift). Reads the checkpoints
scripts/make_llama_fixtures.py wrote; writes kv-reference.safetensors beside each.

    HF_HUB_OFFLINE=1 python3 scripts/make_llama_kv_fixtures.py
"""
import os
import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from transformers import LlamaForCausalLM

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "LatteModelsTests", "Fixtures", "llama")
for name in ["tiny-gqa-untied", "tiny-llama3-rope"]:
    folder = os.path.join(root, name)
    model = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    ids = torch.from_numpy(load_file(os.path.join(folder, "reference.safetensors"))["input_ids"].astype(np.int64))
    with torch.no_grad():
        cache = model(ids, use_cache=True).past_key_values
    out = {"input_ids": ids.numpy().astype(np.int32)}
    for i in range(model.config.num_hidden_layers):
        layer = cache.layers[i] if hasattr(cache, "layers") else None
        k, v = (layer.keys, layer.values) if layer is not None else cache[i]
        out[f"keys.{i}"] = k.float().numpy().copy()
        out[f"values.{i}"] = v.float().numpy().copy()
    save_file(out, os.path.join(folder, "kv-reference.safetensors"))
    print(name, {k: v.shape for k, v in out.items()})
