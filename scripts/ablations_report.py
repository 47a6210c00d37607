#!/usr/bin/env python3
"""Tables and figures of the ablation study (scripts/ablations.sh, docs/ablations.md), built from the
JSONs the study wrote under ABLATIONS_DIR; python3 with numpy only. The figures are drawn by the project
itself: this script writes chart specifications and runs `latte plot` on them.

    python3 scripts/ablations_report.py --dir ~/ablations --latte .build/release/latte [--publish REPO]

Writes DIR/report/report.md and DIR/report/ablation-*.png; with --publish, copies the figures into
REPO/docs/images/ and replaces the tables between the `<!-- BEGIN ablations:NAME -->` and
`<!-- END ablations:NAME -->` markers of REPO/docs/ablations.md. A value not measured yet shows as
"running"; nothing is estimated or filled in.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np

# name, label, what differs from the default recipe
ROWS = [
    ("k5", "K=5x6 (default)", "K = 5 groups × 6 layers, pre-softmax, uniform t"),
    ("k1", "K=1 vanilla", "K = 1: all 30 layers at every step"),
    ("k2", "K=2x15", "K = 2 × 15"),
    ("k3", "K=3x10", "K = 3 × 10"),
    ("k10", "K=10x3", "K = 10 × 3"),
    ("post", "post-softmax", "residual attention on the probabilities"),
    ("off", "no res. attn", "residual attention off"),
    ("lognormal", "logit-normal t", "t ~ logit-normal(0, 1)"),
    ("bounds", "boundaries", "boundaries 0, 0.3, 0.55, 0.75, 0.9, 1"),
]
LABEL = {name: label for name, label, _ in ROWS}
PROMPT_TOKENS = 6        # a class phrase with its start token (the attention term is ~1 % of a layer)
SAMPLER_CALLS = 29       # Heun, 15 steps: two network calls per step but the last
RUNNING = "running"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def forward_flops(c, prompt_tokens=PROMPT_TOKENS):
    """One sample through its owning group, as LatteBenchmarks' ExpertStepFLOPs counts it."""
    n = (c["latent_height"] // c["patch_size"]) * (c["latent_width"] // c["patch_size"])
    d, p = c["width"], c["patch_size"] ** 2 * c["latent_channels"]
    hq, hkv, dh, m = c["query_heads"], c["kv_heads"], c["head_dim"], c["mlp_width"]
    emb = 2 * (c.get("timestep_frequencies", 256) * d + d * d) + 2 * n * p * d
    layer = 2 * d * 6 * d + 2 * n * d * (2 * hq * dh + 2 * hkv * dh) + 4 * n * (prompt_tokens + n) * hq * dh + 6 * n * d * m
    head = 2 * d * 2 * d + 2 * n * d * p * (2 if c.get("input_skip") else 1)
    return emb + (c["layer_count"] // c["groups"]) * layer + head


class Study:
    def __init__(self, root, steps, batch):
        self.root, self.steps, self.batch = root, steps, batch

    def row_dir(self, row):
        return os.path.join(self.root, "rows", row)

    def eval(self, row, step, seed_set):
        return load(os.path.join(self.row_dir(row), "eval", f"step-{step}-{seed_set}.json"))

    def checkpoints(self, row):
        steps = set()
        for path in glob.glob(os.path.join(self.row_dir(row), "eval", "step-*-a.json")):
            steps.add(int(os.path.basename(path).split("-")[1]))
        return sorted(steps)

    def config(self, row):
        for path in sorted(glob.glob(os.path.join(self.row_dir(row), "models", "step-*", "generator.json"))):
            return load(path)
        return None

    def train_flops(self, row, step):
        c = self.config(row)
        return None if c is None else 3 * forward_flops(c) * self.batch * step

    def sample_flops(self, row):
        c = self.config(row)
        return None if c is None else forward_flops(c) * SAMPLER_CALLS * 2   # guidance: conditional and null rows

    def train_seconds(self, row, step):
        """Step time of the run's log up to `step` (checkpoints and exports left out); None if incomplete."""
        seconds = {}
        try:
            with open(os.path.join(self.row_dir(row), "run", "log.jsonl")) as f:
                for line in f:
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    if r.get("step", 0) <= step:
                        seconds[r["step"]] = r.get("seconds", 0.0)
        except OSError:
            return None
        return sum(seconds.values()) if len(seconds) >= step else None

    def final(self, row):
        a, b = self.eval(row, self.steps, "a"), self.eval(row, self.steps, "b")
        fids = [d["fid"] for d in (a, b) if d and "fid" in d]
        accs = [d["class_accuracy"] for d in (a, b) if d]
        return {"a": a, "b": b, "fids": fids, "accs": accs, "speed": load(os.path.join(self.row_dir(row), "eval", "speed.json")),
                "gates": load(os.path.join(self.row_dir(row), "eval", "gates.json"))}


def fmt(v, digits=2, suffix=""):
    return RUNNING if v is None else f"{v:.{digits}f}{suffix}"


def fid_cell(fids):
    if not fids:
        return RUNNING
    if len(fids) == 1:
        return f"{fids[0]:.2f}"
    return f"{np.mean(fids):.2f} ± {abs(fids[0] - fids[1]) / 2:.2f}"


def tables(study):
    out = {}
    # 1 and 2: convergence of the experts and the vanilla model, against steps and compute.
    lines = ["| step | K=5 FID | K=5 accuracy | K=5 training PFLOP | K=5 step time (h) | K=1 FID | K=1 accuracy | K=1 training PFLOP | K=1 step time (h) |",
             "|---|---|---|---|---|---|---|---|---|"]
    steps = sorted(set(study.checkpoints("k5")) | set(study.checkpoints("k1"))) or [study.steps]
    for s in steps:
        cells = [f"{s:,}"]
        for row in ("k5", "k1"):
            d = study.eval(row, s, "a")
            flops, secs = study.train_flops(row, s), study.train_seconds(row, s)
            cells += [fmt(d.get("fid") if d else None), fmt(d["class_accuracy"] * 100 if d else None, 1, " %"),
                      fmt(flops / 1e15 if flops else None, 2), fmt(secs / 3600 if secs else None, 2)]
        lines.append("| " + " | ".join(cells) + " |")
    out["convergence"] = "\n".join(lines)

    # 2–5: every final model, FID over both seed sets with the spread, speed and cost.
    lines = ["| row | change | FID (A, B: mean ± half the difference) | class accuracy | s/image batch 1 | s/image batch 16 | sampling GFLOP/image | training PFLOP | step time (h) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label, change in ROWS:
        f = study.final(name)
        speed = f["speed"] or {}
        sf, tf, secs = study.sample_flops(name), study.train_flops(name, study.steps), study.train_seconds(name, study.steps)
        lines.append("| " + " | ".join([label, change, fid_cell(f["fids"]),
                                        fmt(np.mean(f["accs"]) * 100 if f["accs"] else None, 1, " %"),
                                        fmt(speed.get("seconds_per_image_batch_1"), 3), fmt(speed.get("seconds_per_image_batch_16"), 3),
                                        fmt(sf / 1e9 if sf else None, 2), fmt(tf / 1e15 if tf else None, 2),
                                        fmt(secs / 3600 if secs else None, 2)]) + " |")
    out["final"] = "\n".join(lines)

    # 4: the gates — mean |γ| over heads and the times each layer acts, by position in its group.
    lines = ["| row | mean abs gate by position in the group (2nd, 3rd, …) | largest abs gate |", "|---|---|---|"]
    for name in ("k5", "post", "bounds", "k2", "k3", "k10", "k1"):
        g = study.final(name)["gates"]
        if not g:
            lines.append(f"| {LABEL[name]} | {RUNNING} | {RUNNING} |")
            continue
        by_position = {}
        largest = 0.0
        for layer in g["layers"]:
            active = [abs(v) for values, on in zip(layer["values"], layer["active"]) if on for v in values]
            if active:
                by_position.setdefault(layer["position_in_group"], []).extend(active)
                largest = max(largest, max(active))
        cells = ", ".join(f"{np.mean(by_position[p]):.3f}" for p in sorted(by_position)) or "no active gate"
        lines.append(f"| {LABEL[name]} | {cells} | {largest:.3f} |")
    out["gates"] = "\n".join(lines)

    # 6: steps × guidance of the committed default model.
    grid = {}
    for path in glob.glob(os.path.join(study.root, "grid", "steps-*-cfg-*.json")):
        parts = os.path.basename(path)[:-5].split("-")
        grid[(int(parts[1]), float(parts[3]))] = load(path)
    all_steps = sorted({s for s, _ in grid}) or [5, 10, 15, 25]
    all_cfg = sorted({c for _, c in grid}) or [1, 2, 3]
    lines = ["| null-prompt guidance \\ Heun steps | " + " | ".join(str(s) for s in all_steps) + " |", "|---" * (len(all_steps) + 1) + "|"]
    for c in all_cfg:
        cells = []
        for s in all_steps:
            d = grid.get((s, c))
            cells.append(RUNNING if not d else (f"{d['fid']:.2f} ({d['class_accuracy'] * 100:.1f} %)" if "fid" in d
                                               else f"no FID ({d['class_accuracy'] * 100:.1f} %)"))
        lines.append(f"| {c:g} | " + " | ".join(cells) + " |")
    out["grid"] = "\n".join(lines)
    return out, grid


def figures(study, grid):
    """Chart specifications, name → spec."""
    specs = {}

    def convergence(x_of, x_label, x_scale, metric, y_label):
        series = []
        for row in ("k5", "k1"):
            pts, ranges = [], []
            for s in study.checkpoints(row):
                d, x = study.eval(row, s, "a"), x_of(row, s)
                if d is None or x is None or metric(d) is None:
                    continue
                pts.append([x, metric(d)])
                b = study.eval(row, s, "b")
                ranges.append(sorted([metric(d), metric(b)]) if b is not None and metric(b) is not None else None)
            series.append({"name": LABEL[row], "points": pts, "ranges": ranges})
        return {"kind": "line", "title": f"{y_label} VS {x_label}", "x_label": x_label, "y_label": y_label, "x_scale": x_scale, "series": series}

    fid = lambda d: d.get("fid")
    acc = lambda d: d["class_accuracy"] * 100
    specs["ablation-convergence"] = convergence(lambda r, s: s, "TRAINING STEP", "linear", fid, "FID")
    specs["ablation-convergence-accuracy"] = convergence(lambda r, s: s, "TRAINING STEP", "linear", acc, "CLASS ACCURACY %")
    specs["ablation-compute"] = convergence(lambda r, s: study.train_flops(r, s), "TRAINING FLOP", "log", fid, "FID")
    def final_series(name, rows, x_of, style="points"):
        """The final models of `rows` as one series: x = x_of(row, final), y = mean FID of A and B, the
        whisker spanning A and B; rows not measured yet (or without an x) are left out."""
        pts, labels, ranges = [], [], []
        for row in rows:
            f = study.final(row)
            x = x_of(row, f)
            if not f["fids"] or x is None:
                continue
            pts.append([x, float(np.mean(f["fids"]))])
            labels.append(LABEL[row])
            ranges.append([min(f["fids"]), max(f["fids"])] if len(f["fids"]) == 2 else None)
        series = {"name": name, "points": pts, "ranges": ranges}
        if style == "points":
            series.update(labels=labels, style="points")
        return series

    # The other group sizes' final models on the same axis: is the experts' lead a property of K = 5 only?
    others = final_series("other K, 4,000 steps", ("k2", "k3", "k10"), lambda r, f: study.train_flops(r, study.steps))
    if others["points"]:
        specs["ablation-compute"]["series"].append(others)

    def final_points(x_of, x_label, x_scale, name):
        specs[name] = {"kind": "line", "title": f"FID VS {x_label}", "x_label": x_label, "y_label": "FID", "x_scale": x_scale,
                       "series": [final_series("final models", [row for row, _, _ in ROWS], x_of)]}

    final_points(lambda r, f: (f["speed"] or {}).get("seconds_per_image_batch_16"), "SECONDS PER IMAGE (BATCH 16)", "log", "ablation-speed")
    final_points(lambda r, f: study.sample_flops(r), "SAMPLING FLOP PER IMAGE", "log", "ablation-sampling-flops")

    groups = {"k1": 1, "k2": 2, "k3": 3, "k5": 5, "k10": 10}
    group_size = final_series("final models", groups, lambda r, f: groups[r], style="line")
    specs["ablation-group-size"] = {"kind": "line", "title": "FID VS GROUPS K (30 LAYERS IN ALL)", "x_label": "K", "y_label": "FID",
                                    "x_scale": "log", "series": [group_size]}

    series = []
    for c in sorted({c for _, c in grid}):
        pts = [[s, grid[(s, c)]["fid"]] for s in sorted(s for s, cc in grid if cc == c) if "fid" in grid[(s, c)]]
        series.append({"name": f"guidance {c:g}", "points": pts})
    specs["ablation-grid"] = {"kind": "line", "title": "DEFAULT MODEL: FID VS STEPS", "x_label": "HEUN STEPS", "y_label": "FID", "series": series}

    # The gates of each row as lines: at each t, the owning group's gated layers by position in the group.
    for row in ("k5", "post", "bounds"):
        g = study.final(row)["gates"]
        if not g:
            continue
        series = {}
        for layer in g["layers"]:
            for t, values, on in zip(g["times"], layer["values"], layer["active"]):
                if on:
                    series.setdefault(layer["position_in_group"], []).append([t, float(np.mean(values))])
        specs[f"ablation-gates-lines-{row}"] = {
            "kind": "line", "title": f"MEAN GATE OVER HEADS, {LABEL[row]}", "x_label": "T (0 = NOISE, 1 = DATA)", "y_label": "GATE",
            "series": [{"name": f"layer {p + 1} of group", "points": sorted(pts), "style": "line"} for p, pts in sorted(series.items())]}
    return specs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="the study's folder (ABLATIONS_DIR)")
    ap.add_argument("--latte", required=True, help="the latte binary (draws the figures)")
    ap.add_argument("--steps", type=int, default=4000, help="the training budget: the final checkpoint")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--publish", metavar="REPO", help="copy figures into REPO/docs/images and tables into REPO/docs/ablations.md")
    args = ap.parse_args()

    study = Study(args.dir, args.steps, args.batch)
    out_dir = os.path.join(args.dir, "report")
    os.makedirs(out_dir, exist_ok=True)
    tabs, grid = tables(study)
    pngs = []
    for name, spec in figures(study, grid).items():
        spec_path = os.path.join(out_dir, name + ".json")
        with open(spec_path, "w") as f:
            json.dump(spec, f, indent=1)
        png = os.path.join(out_dir, name + ".png")
        r = subprocess.run([args.latte, "plot", "--spec", spec_path, "--output", png], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"latte plot {spec_path} failed: {r.stderr.strip()}", file=sys.stderr)
            sys.exit(1)
        pngs.append(png)
    for row in ("k5", "post", "bounds", "k1"):
        heatmap = os.path.join(study.row_dir(row), "eval", "gates.png")
        if os.path.exists(heatmap):
            shutil.copyfile(heatmap, os.path.join(out_dir, f"ablation-gates-{row}.png"))
            pngs.append(os.path.join(out_dir, f"ablation-gates-{row}.png"))

    report = ["# Ablation study — results so far", "",
              f"From {args.dir}; regenerate with `scripts/ablations.sh report`. \"{RUNNING}\": not measured yet.", ""]
    for name, title in (("convergence", "Experts vs vanilla by training step (seed set A)"), ("final", "Every final model"),
                        ("gates", "Residual-attention gates"), ("grid", "Default model: steps × guidance (FID, class accuracy)")):
        report += [f"## {title}", "", tabs[name], ""]
    report += ["## Figures", ""] + [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in pngs]
    with open(os.path.join(out_dir, "report.md.tmp"), "w") as f:
        f.write("\n".join(report) + "\n")
    os.replace(os.path.join(out_dir, "report.md.tmp"), os.path.join(out_dir, "report.md"))

    if args.publish:
        images = os.path.join(args.publish, "docs", "images")
        for p in pngs:
            shutil.copyfile(p, os.path.join(images, os.path.basename(p)))
        doc_path = os.path.join(args.publish, "docs", "ablations.md")
        with open(doc_path) as f:
            doc = f.read()
        for name, table in tabs.items():
            begin, end = f"<!-- BEGIN ablations:{name} -->", f"<!-- END ablations:{name} -->"
            if begin in doc and end in doc:
                head, rest = doc.split(begin, 1)
                doc = head + begin + "\n" + table + "\n" + end + rest.split(end, 1)[1]
        with open(doc_path, "w") as f:
            f.write(doc)
        print(f"published {len(pngs)} figures to {images} and the tables to {doc_path}")


if __name__ == "__main__":
    main()
