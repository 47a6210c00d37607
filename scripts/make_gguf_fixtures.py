#!/usr/bin/env python3
"""Reference fixtures for LatteFormats' GGUF reader, produced with the `gguf` Python package.

    pip install gguf==0.19.0 numpy
    python3 scripts/make_gguf_fixtures.py [--smollm2 PATH]

Writes into Tests/LatteFormatsTests/Fixtures/gguf/:

- types.gguf + types.json: a small synthetic GGUF v3 file with metadata of every value type (nested
  arrays included) and one tensor of each dequantisable ggml type. Q8_0/Q4_0/Q4_1 are
  quantised by gguf.quants; gguf.quants cannot quantise K-quants, so Q4_K/Q6_K blocks are random bytes
  with finite f16 scales, which exercises every bit of their layouts. Expected values come from
  gguf.quants.dequantize and are stored as float32 bit patterns (exact, and NaN/Inf survive JSON).
- aligned64.gguf + aligned64.json: general.alignment = 64 and odd-sized tensors, to test padding.
- qk_permutation.json: LLaMA Q/K rows in HF order and in llama.cpp's permuted order, permuted with
  the formula of llama.cpp's converter (reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2)).
- smollm2_reference.json: metadata, every tensor's type and shape, and first/last values plus sums of
  a few dequantised tensors of the real SmolLM2 asset (`latte assets fetch smollm2`). Skipped with a
  message when the asset is absent.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

OUT = Path(__file__).resolve().parent.parent / "Tests" / "LatteFormatsTests" / "Fixtures" / "gguf"


def bits(a: np.ndarray) -> list:
    return np.ascontiguousarray(a, dtype=np.float32).reshape(-1).view(np.uint32).tolist()


def finite_f16(rng, n, lo, hi):
    """Random finite half-precision scales, returned as their raw little-endian bytes."""
    return rng.uniform(lo, hi, size=n).astype(np.float16).view(np.uint8).reshape(n, 2)


def random_k_blocks(rng, qtype, n_blocks):
    block_bytes = gguf.GGML_QUANT_SIZES[qtype][1]
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    if qtype == QT.Q4_K:  # f16 d at 0, f16 dmin at 2
        raw[:, 0:2] = finite_f16(rng, n_blocks, -0.05, 0.05)
        raw[:, 2:4] = finite_f16(rng, n_blocks, 0.0, 0.02)
    elif qtype == QT.Q6_K:  # f16 d at 208
        raw[:, 208:210] = finite_f16(rng, n_blocks, -0.02, 0.02)
    return raw


def write_types_file(rng):
    path = OUT / "types.gguf"
    w = gguf.GGUFWriter(str(path), arch="latte-test")
    meta = {}

    def add(key, kind, value, adder):
        adder(key, value)
        meta[key] = {"type": kind, "value": value}

    add("test.uint8", "uint8", 200, w.add_uint8)
    add("test.int8", "int8", -100, w.add_int8)
    add("test.uint16", "uint16", 60000, w.add_uint16)
    add("test.int16", "int16", -30000, w.add_int16)
    add("test.uint32", "uint32", 4_000_000_000, w.add_uint32)
    add("test.int32", "int32", -2_000_000_000, w.add_int32)
    add("test.uint64", "uint64", 18_000_000_000_000_000_000, w.add_uint64)
    add("test.int64", "int64", -9_000_000_000_000_000_000, w.add_int64)
    w.add_float32("test.float32", 0.1)
    meta["test.float32"] = {"type": "float32", "value": float(np.float32(0.1))}
    add("test.float64", "float64", 2.718281828459045, w.add_float64)
    add("test.bool.true", "bool", True, w.add_bool)
    add("test.bool.false", "bool", False, w.add_bool)
    add("test.string", "string", "héllo, wörld ✓ 🐱", w.add_string)
    add("test.array.strings", "array[string]", ["a", "bb", "", "ü"], w.add_array)
    add("test.array.ints", "array[int32]", [1, -2, 3], w.add_array)
    add("test.array.floats", "array[float32]", [0.5, -1.25, 3.0], w.add_array)
    add("test.array.nested", "array[array]", [[1, 2], [3], [4, 5, 6]], w.add_array)
    # The writer drops empty strings and refuses empty arrays; the Swift tests build those by hand.

    tensors = []

    def add_tensor(name, qtype, data_or_blocks, expected, shape):
        if qtype in (QT.F32,):
            w.add_tensor(name, data_or_blocks)
        elif qtype in (QT.F16,):
            w.add_tensor(name, data_or_blocks, raw_dtype=QT.F16)
        else:
            w.add_tensor(name, data_or_blocks, raw_dtype=qtype)
        tensors.append({"name": name, "type": qtype.name, "shape": list(shape), "expected_bits": bits(expected)})

    rows, cols = 2, 256
    x = rng.standard_normal((rows, cols)).astype(np.float32) * 0.5
    x[0, :4] = [0.0, -0.0, 1e-7, -65504.0]  # half subnormal, exact zero signs, half max
    add_tensor("t.f32", QT.F32, x, x, x.shape)
    h = x.astype(np.float16)
    add_tensor("t.f16", QT.F16, h, h.astype(np.float32), h.shape)
    b = quants.quantize(x, QT.BF16)
    add_tensor("t.bf16", QT.BF16, b, quants.dequantize(b, QT.BF16), x.shape)
    for qt in (QT.Q8_0, QT.Q4_0, QT.Q4_1):
        q = quants.quantize(x, qt)
        add_tensor("t." + qt.name.lower(), qt, q, quants.dequantize(q, qt), x.shape)
    for qt in (QT.Q4_K, QT.Q6_K):
        blocks = random_k_blocks(rng, qt, rows * cols // 256).reshape(rows, -1)
        add_tensor("t." + qt.name.lower(), qt, blocks, quants.dequantize(blocks, qt), (rows, cols))
    y = rng.standard_normal((2, 3, 32)).astype(np.float32)  # three dimensions: dims stored reversed
    add_tensor("t.f32.3d", QT.F32, y, y, y.shape)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # Cross-check the file with the package's own reader before trusting it as a fixture.
    r = gguf.GGUFReader(str(path))
    for t in tensors:
        rt = r.get_tensor(len([u for u in tensors[: tensors.index(t)]]))
        assert rt.name == t["name"] and rt.tensor_type.name == t["type"], (rt.name, t["name"])
        assert bits(quants.dequantize(rt.data, rt.tensor_type)) == t["expected_bits"], t["name"]
    doc = {
        "generator": f"scripts/make_gguf_fixtures.py with gguf {gguf_version()}",
        "version": 3,
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "metadata": meta,
        "tensors": tensors,
    }
    (OUT / "types.json").write_text(json.dumps(doc, ensure_ascii=False) + "\n")
    print(f"wrote {path.name} ({path.stat().st_size} bytes), types.json")


def write_aligned_file(rng):
    path = OUT / "aligned64.gguf"
    w = gguf.GGUFWriter(str(path), arch="latte-test")
    w.add_custom_alignment(64)
    tensors = []
    for i, n in enumerate([3, 5, 32, 7]):
        x = rng.standard_normal(n).astype(np.float32)
        w.add_tensor(f"a.{i}", x)
        tensors.append({"name": f"a.{i}", "type": "F32", "shape": [n], "expected_bits": bits(x)})
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    r = gguf.GGUFReader(str(path))
    for rt, t in zip(r.tensors, tensors):
        t["data_offset"] = int(rt.data_offset)  # absolute, as the reader computes it
    doc = {"alignment": int(r.alignment), "data_offset": int(r.data_offset), "tensors": tensors}
    (OUT / "aligned64.json").write_text(json.dumps(doc) + "\n")
    print(f"wrote {path.name} ({path.stat().st_size} bytes), aligned64.json")


def write_qk_permutation():
    """llama.cpp's converter permutes LLaMA's Q/K rows so RoPE rotates adjacent pairs; HF rotates halves."""
    cases = []
    for heads, head_dim, cols in [(3, 8, 2), (2, 4, 3), (1, 64, 1)]:
        rows = heads * head_dim
        hf = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)
        permuted = hf.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)
        cases.append({"heads": heads, "rows": rows, "cols": cols,
                      "hf": hf.reshape(-1).tolist(), "gguf": permuted.reshape(-1).tolist()})
    (OUT / "qk_permutation.json").write_text(json.dumps({"cases": cases}) + "\n")
    print("wrote qk_permutation.json")


def gguf_version():
    try:
        from importlib.metadata import version
        return version("gguf")
    except Exception:
        return "?"


def summarise(values: np.ndarray) -> dict:
    v = values.reshape(-1).astype(np.float32)
    d = v.astype(np.float64)
    return {"count": int(v.size), "first": v[:8].tolist(), "last": v[-8:].tolist(),
            "sum": float(d.sum()), "sum_of_squares": float((d * d).sum())}


def write_smollm2_reference(path: Path):
    if not path.exists():
        print(f"skipping smollm2_reference.json: {path} is absent (run `latte assets fetch smollm2`)")
        return
    r = gguf.GGUFReader(str(path))
    keys = ["general.architecture", "general.name", "general.file_type", "general.quantization_version",
            "llama.block_count", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
            "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
            "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size", "llama.rope.dimension_count",
            "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.chat_template"]
    meta = {k: r.fields[k].contents() for k in keys}
    arrays = {}
    for k in ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"]:
        c = r.fields[k].contents()
        arrays[k] = {"count": len(c), "first": c[:5], "last": c[-3:]}
    tensors = [{"name": t.name, "type": t.tensor_type.name,
                "shape": [int(s) for s in reversed(t.shape.tolist())],  # row-major, outermost first
                "offset": int(t.data_offset - r.data_offset)} for t in r.tensors]
    picks = ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight",
             "output_norm.weight", "blk.0.attn_norm.weight"]
    by_name = {t.name: t for t in r.tensors}
    dequantised = {}
    for name in picks:
        t = by_name[name]
        v = quants.dequantize(t.data, t.tensor_type)
        s = summarise(v)
        s["type"] = t.tensor_type.name
        # One whole row from the middle, for the row-range API.
        row = v.shape[0] // 2 if v.ndim == 2 else 0
        s["row_index"] = int(row)
        s["row_sum"] = float(v.reshape(v.shape[0], -1)[row].astype(np.float64).sum()) if v.ndim == 2 else s["sum"]
        dequantised[name] = s
    doc = {
        "generator": f"scripts/make_gguf_fixtures.py with gguf {gguf_version()}",
        "file": path.name, "file_size": path.stat().st_size,
        "version": 3, "tensor_count": len(r.tensors), "kv_count": len(r.fields) - 3,
        "alignment": int(r.alignment), "data_offset": int(r.data_offset),
        "metadata": meta, "arrays": arrays, "tensors": tensors, "dequantised": dequantised,
    }
    (OUT / "smollm2_reference.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print("wrote smollm2_reference.json")


def main():
    home = Path(os.environ.get("LATTE_HOME", Path.home() / ".cache" / "latteflow"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smollm2", type=Path, default=home / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261126)
    write_types_file(rng)
    write_aligned_file(rng)
    write_qk_permutation()
    write_smollm2_reference(args.smollm2)


if __name__ == "__main__":
    sys.exit(main())
