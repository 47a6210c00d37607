#!/usr/bin/env python3
"""Prefill and decode speed of llama.cpp itself beside LatteFlow's `latte bench lm`, same file, same shapes,
same machine, one run: a P-token prompt in one batch, then D tokens decoded one at a time against the
KV cache (greedy), at each thread count. Two weight modes:

  quantized  the GGUF as it is (SmolLM2's Q4_1) vs `latte bench lm --quantized` (weights kept quantised)
  f32        llama.cpp on an F32 copy of the file (made once with llama.cpp's own `llama_model_quantize`,
             ALL_F32, next to this script's cache) vs `latte bench lm` (weights dequantised to float32)

llama.cpp is driven through its C API (llama-cpp-python's ctypes binding: `pip install llama-cpp-python`,
which builds llama.cpp from source for this CPU), not through the Python wrapper's sampling loop, so
per-token Python overhead is one ctypes call and an argmax. Each side runs in its own process in turn, a
thread count at a time, ours first; the best of --repeats counts on both sides. Prints one JSON object;
ratios are ours / llama.cpp in tokens/s (> 1: LatteFlow faster). Not used by CI.

    python3 scripts/bench_lm_llamacpp.py [--latte .build/release/latte] [--threads 1,2] [--modes quantized,f32]
"""
import argparse, json, os, subprocess, sys, time

p = argparse.ArgumentParser()
home = os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow"))
p.add_argument("--latte", default=".build/release/latte")
p.add_argument("--gguf", default=os.path.join(home, "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
p.add_argument("--threads", default="1,2")
p.add_argument("--modes", default="quantized,f32")
p.add_argument("--prompt-tokens", type=int, default=256)
p.add_argument("--decode-tokens", type=int, default=64)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--llama-only", action="store_true", help=argparse.SUPPRESS)  # the child process measuring llama.cpp
p.add_argument("--file", help=argparse.SUPPRESS)
args = p.parse_args()
threads = [int(t) for t in args.threads.split(",")]


def measure_llama(path):
    """llama.cpp's prefill and decode tokens/s on `path` at each thread count (in this process)."""
    import ctypes
    import numpy as np
    import llama_cpp as L

    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    model = L.llama_model_load_from_file(path.encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {path}")
    vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(model))
    rng = np.random.default_rng(7)
    prompt = [int(t) for t in rng.integers(0, vocab, args.prompt_tokens)]
    rows = []
    for t in threads:
        c = L.llama_context_default_params()
        c.n_ctx = args.prompt_tokens + args.decode_tokens + 16
        c.n_batch = c.n_ubatch = args.prompt_tokens
        c.n_threads = c.n_threads_batch = t
        ctx = L.llama_init_from_model(model, c)
        if not ctx:
            sys.exit("llama.cpp could not create a context")

        def decode(tokens):
            arr = (L.llama_token * len(tokens))(*tokens)
            if L.llama_decode(ctx, L.llama_batch_get_one(arr, len(tokens))) != 0:
                sys.exit("llama_decode failed")
            logits = L.llama_get_logits_ith(ctx, -1)
            return int(np.argmax(np.ctypeslib.as_array(logits, shape=(vocab,))))

        prefill_best, decode_best = float("inf"), 0.0
        for _ in range(args.repeats):
            L.llama_memory_clear(L.llama_get_memory(ctx), True)
            start = time.perf_counter()
            nxt = decode(prompt)
            prefill_best = min(prefill_best, time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(args.decode_tokens):
                nxt = decode([nxt])
            decode_best = max(decode_best, args.decode_tokens / (time.perf_counter() - start))
        rows.append({"threads": t, "prefill_tokens_per_second": args.prompt_tokens / prefill_best,
                     "decode_tokens_per_second": decode_best})
        L.llama_free(ctx)
    return {"llama_cpp_python": L.__version__ if hasattr(L, "__version__") else None, "file": path, "results": rows}


if args.llama_only:
    print(json.dumps(measure_llama(args.file)))
    sys.exit(0)

try:
    import llama_cpp  # noqa: F401  (checked here so a missing package is one clear line)
except ImportError:
    sys.exit("llama-cpp-python is not installed: pip install llama-cpp-python (builds llama.cpp from source)")
if not os.path.exists(args.gguf):
    sys.exit(f"{args.gguf}: missing; run `latte assets fetch smollm2` first")


def f32_copy(path):
    """An F32 GGUF of `path`, made once by llama.cpp's quantizer (requantising to ALL_F32)."""
    import llama_cpp as L
    out = os.path.join(home, "bench-cache", os.path.basename(path).rsplit(".", 2)[0] + ".F32.gguf")
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    q = L.llama_model_quantize_default_params()
    q.ftype = L.LLAMA_FTYPE_ALL_F32
    q.allow_requantize = True
    q.nthread = 1
    tmp = out + ".tmp"
    if L.llama_model_quantize(path.encode(), tmp.encode(), q) != 0:
        sys.exit(f"llama_model_quantize could not make an F32 copy of {path}")
    os.replace(tmp, out)
    return out


report = {"prompt_tokens": args.prompt_tokens, "decode_tokens": args.decode_tokens, "repeats": args.repeats, "modes": {}}
for mode in args.modes.split(","):
    if mode not in ("quantized", "f32"):
        sys.exit(f"unknown mode '{mode}': quantized or f32")
    ours_cmd = [args.latte, "bench", "lm", "--json", "--model", args.gguf, "--threads", args.threads,
                "--repeats", str(args.repeats), "--prompt-tokens", str(args.prompt_tokens),
                "--decode-tokens", str(args.decode_tokens)] + (["--quantized"] if mode == "quantized" else [])
    ours = json.loads(subprocess.check_output(ours_cmd))
    llama_file = args.gguf if mode == "quantized" else f32_copy(args.gguf)
    llama = json.loads(subprocess.check_output([sys.executable, __file__, "--llama-only", "--file", llama_file,
                                                "--threads", args.threads, "--repeats", str(args.repeats),
                                                "--prompt-tokens", str(args.prompt_tokens),
                                                "--decode-tokens", str(args.decode_tokens)]))
    by = {r["threads"]: r for r in llama["results"]}
    ratios = [{"threads": r["threads"],
               "prefill": r["prefill_tokens_per_second"] / by[r["threads"]]["prefill_tokens_per_second"],
               "decode": r["decode_tokens_per_second"] / by[r["threads"]]["decode_tokens_per_second"]}
              for r in ours["results"] if r["threads"] in by]
    report["modes"][mode] = {"ours": ours, "llama_cpp": llama, "ratios": ratios}
    for r in ratios:
        o, l = next(x for x in ours["results"] if x["threads"] == r["threads"]), by[r["threads"]]
        print(f"{mode:9s} threads {r['threads']}: prefill {o['prefill_tokens_per_second']:.1f} vs {l['prefill_tokens_per_second']:.1f} tok/s "
              f"({r['prefill']:.2f}x), decode {o['decode_tokens_per_second']:.1f} vs {l['decode_tokens_per_second']:.1f} ({r['decode']:.2f}x)",
              file=sys.stderr)
print(json.dumps(report, indent=1))
