#!/usr/bin/env python3
"""Prefill and decode speed of SmolLM2 in transformers (PyTorch eager, fp32, the same GGUF dequantised)
beside LatteFlow's `latte bench lm`, with the same shapes: a 256-token prompt in one batch, then 64 tokens
decoded one at a time against the KV cache. Prints one JSON object; ratios are ours / PyTorch in tokens/s
(> 1 means LatteFlow is faster). Needs `pip install torch transformers gguf` (not used by CI).

    python3 scripts/bench_lm_torch.py [--latte .build/release/latte] [--threads 1,2] [--skip-ours]
"""
import argparse, json, os, resource, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--latte", default=".build/release/latte")
p.add_argument("--gguf", default=os.path.join(os.environ.get("LATTE_HOME", os.path.expanduser("~/.cache/latteflow")),
                                              "smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"))
p.add_argument("--threads", default="1,2")
p.add_argument("--prompt-tokens", type=int, default=256)
p.add_argument("--decode-tokens", type=int, default=64)
p.add_argument("--repeats", type=int, default=2)
p.add_argument("--skip-ours", action="store_true", help="measure PyTorch only")
args = p.parse_args()
threads = [int(t) for t in args.threads.split(",")]
if not os.path.exists(args.gguf):
    sys.exit(f"{args.gguf}: missing; run `latte assets fetch smollm2` first")

ours = None
if not args.skip_ours:
    # Run first, in its own process, so its peak memory is its own.
    ours = json.loads(subprocess.check_output([args.latte, "bench", "lm", "--json", "--model", args.gguf,
                                               "--threads", args.threads, "--repeats", str(args.repeats),
                                               "--prompt-tokens", str(args.prompt_tokens),
                                               "--decode-tokens", str(args.decode_tokens)]))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf),
                                             torch_dtype=torch.float32).eval()
vocab = model.config.vocab_size
g = torch.Generator().manual_seed(7)
prompt = torch.randint(0, vocab, (1, args.prompt_tokens), generator=g)

rows = []
with torch.inference_mode():
    for t in threads:
        torch.set_num_threads(t)
        prefill_best, decode_best = float("inf"), 0.0
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = model(prompt, use_cache=True)
            prefill_best = min(prefill_best, time.perf_counter() - start)
            past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            start = time.perf_counter()
            for _ in range(args.decode_tokens):
                out = model(nxt, past_key_values=past, use_cache=True)
                past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            decode_best = max(decode_best, args.decode_tokens / (time.perf_counter() - start))
        rows.append({"threads": t, "prefill_tokens_per_second": args.prompt_tokens / prefill_best,
                     "decode_tokens_per_second": decode_best})

pytorch = {"torch": torch.__version__, "results": rows,
           "peak_resident_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
report = {"ours": ours, "pytorch": pytorch}
if ours:
    by = {r["threads"]: r for r in ours["results"]}
    report["ratios"] = [{"threads": r["threads"],
                         "prefill": by[r["threads"]]["prefill_tokens_per_second"] / r["prefill_tokens_per_second"],
                         "decode": by[r["threads"]]["decode_tokens_per_second"] / r["decode_tokens_per_second"]}
                        for r in rows if r["threads"] in by]
print(json.dumps(report, indent=1))
