#!/usr/bin/env python3
"""Checks that two training logs (log.jsonl of `latte train`, `train-vae`, ...) hold the same steps with
the same values, digit for digit as printed: loss, per-group losses (g0, g1, ...), lr, grad_norm, applied
and any other column, except the wall-clock `seconds`.

    python3 scripts/compare_training_logs.py BASELINE/log.jsonl NEW/log.jsonl

Numbers are compared as the strings the logs print (shortest round-trip float32), so "identical" means
bit-identical floats. A step logged twice in one file (only possible in a log that was not trimmed on
resume) is an error. Exit status 0 when everything matches, 1 otherwise.
"""
import json
import sys


def read(path):
    """Step -> {column: printed value}, and the steps in file order."""
    steps, order = {}, []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            # Keep every number as the text the log printed.
            record = json.loads(line, parse_float=str, parse_int=str)
            if "step" not in record:
                continue
            step = int(record["step"])
            if step in steps:
                sys.exit(f"{path}:{number}: step {step} is logged twice")
            steps[step] = {k: v for k, v in record.items() if k != "seconds"}
            order.append(step)
    return steps, order


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a_path, b_path = sys.argv[1], sys.argv[2]
    a, a_order = read(a_path)
    b, b_order = read(b_path)
    problems = []
    if a_order != sorted(a_order) or b_order != sorted(b_order):
        problems.append("steps are not in increasing order")
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        problems.append(f"different steps: only in the first {only_a[:10]}{'…' if len(only_a) > 10 else ''}, "
                        f"only in the second {only_b[:10]}{'…' if len(only_b) > 10 else ''}")
    values = 0
    for step in sorted(set(a) & set(b)):
        ra, rb = a[step], b[step]
        for column in sorted(set(ra) | set(rb)):
            values += 1
            if ra.get(column) != rb.get(column):
                problems.append(f"step {step} {column}: {ra.get(column)} vs {rb.get(column)}")
    common = sorted(set(a) & set(b))
    span = f"steps {common[0]}…{common[-1]}" if common else "no common steps"
    if problems:
        print(f"DIFFERENT: {len(problems)} problem(s) over {len(common)} common steps ({span})")
        for p in problems[:20]:
            print("  " + p)
        sys.exit(1)
    columns = sorted(set().union(*(set(r) for r in a.values()))) if a else []
    print(f"IDENTICAL: {len(common)} steps ({span}), {values} values, columns {', '.join(columns)} (seconds ignored)")
    last = a[common[-1]] if common else None
    if last:
        print(f"  last step {common[-1]}: loss {last.get('loss')}, lr {last.get('lr')}, grad_norm {last.get('grad_norm')}")


if __name__ == "__main__":
    main()
