#!/usr/bin/env python3
"""HF `tokenizers` side of `latte bench tokenizer`: load time and single-threaded encode throughput on the
same text file, printed as one JSON line. The GGUF reference is built as in tokenizer_reference.py (its
load time includes reading the GGUF with the `gguf` package, so compare encode speeds, not loads)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizer_reference import load_minilm, tokenizer_from_gguf  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--text", required=True)
    a = ap.parse_args()
    t0 = time.perf_counter()
    tok = tokenizer_from_gguf(a.tokenizer) if a.tokenizer.endswith(".gguf") else load_minilm(a.tokenizer)
    load = time.perf_counter() - t0
    text = open(a.text, encoding="utf-8").read()
    mb = len(text.encode("utf-8")) / 1e6
    t0 = time.perf_counter()
    ids = tok.encode(text, add_special_tokens=False).ids
    cold = time.perf_counter() - t0
    warm = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        tok.encode(text, add_special_tokens=False)
        warm = min(warm, time.perf_counter() - t0)
    print(json.dumps({"load_s": load, "encode_cold_mb_s": mb / cold, "encode_warm_mb_s": mb / warm,
                      "tokens": len(ids)}))


if __name__ == "__main__":
    main()
