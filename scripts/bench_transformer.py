#!/usr/bin/env python3
"""Runs the same pre-norm transformer in PyTorch eager and in LatteFlow (`latte bench transformer`)
side by side and prints both times and the ratio (ours / PyTorch; < 1 means LatteFlow is faster).

    python3 scripts/bench_transformer.py [--threads 2] [--latte .build/release/latte]
"""
import argparse, json, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--latte", default=".build/release/latte")
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--layers", type=int, default=12)
args = p.parse_args()
L, D, H, F, T = args.layers, 768, 12, 3072, 256

ours = json.loads(subprocess.check_output([args.latte, "bench", "transformer", "--json", "--threads", str(args.threads),
                                           "--repeats", str(args.repeats), "--layers", str(L)]))
try:
    import torch
    import torch.nn.functional as Fn
except ImportError:
    print(json.dumps({"ours": ours, "pytorch": None, "note": "PyTorch not installed"}))
    sys.exit(0)

torch.set_num_threads(args.threads)
torch.manual_seed(0)

class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
        self.qkv, self.o = torch.nn.Linear(D, 3 * D), torch.nn.Linear(D, D)
        self.up, self.down = torch.nn.Linear(D, F), torch.nn.Linear(F, D)
    def forward(self, h):
        b, t, d = h.shape
        q, k, v = self.qkv(self.n1(h)).view(b, t, 3, H, d // H).permute(2, 0, 3, 1, 4)
        a = Fn.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, d)
        h = h + self.o(a)
        return h + self.down(Fn.gelu(self.up(self.n2(h))))

model = torch.nn.Sequential(*[Block() for _ in range(L)], torch.nn.LayerNorm(D))
x = torch.randn(1, T, D)

def best(fn):
    fn()
    times = []
    for _ in range(args.repeats):
        s = time.perf_counter(); fn(); times.append(time.perf_counter() - s)
    return min(times) * 1000

def fwd():
    with torch.no_grad():
        model(x).sum().item()

def fwd_bwd():
    model.zero_grad(set_to_none=True)
    model(x).pow(2).mean().backward()

torch_f, torch_fb = best(fwd), best(fwd_bwd)
print(json.dumps({
    "threads": args.threads, "layers": L,
    "ours_forward_ms": round(ours["forward_ms"], 1), "pytorch_forward_ms": round(torch_f, 1),
    "forward_ratio": round(ours["forward_ms"] / torch_f, 3),
    "ours_forward_backward_ms": round(ours["forward_backward_ms"], 1), "pytorch_forward_backward_ms": round(torch_fb, 1),
    "forward_backward_ratio": round(ours["forward_backward_ms"] / torch_fb, 3),
    "pytorch": torch.__version__,
}))
