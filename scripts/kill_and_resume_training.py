#!/usr/bin/env python3
"""Kills a training run with SIGKILL just after it logged a given step, runs the same command again
(which resumes from the last checkpoint), and prints which steps the killed run had logged.

    python3 scripts/kill_and_resume_training.py --kill-after 120 --run-dir DIR -- \\
        .build/release/latte train ... --run-dir DIR ...

Then compare DIR/log.jsonl with an uninterrupted run's (scripts/compare_training_logs.py). The run
folder must be fresh (or hold an earlier checkpoint of the same run) and be the one the command writes.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time


def last_step(log):
    try:
        with open(log) as f:
            lines = [l for l in f.read().split("\n") if l.strip()]
    except FileNotFoundError:
        return 0
    steps = []
    for l in lines:
        try:
            steps.append(int(json.loads(l)["step"]))
        except (ValueError, KeyError):
            pass  # a line being written
    return max(steps, default=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kill-after", type=int, required=True, help="SIGKILL once this step is logged")
    parser.add_argument("--run-dir", required=True, help="the command's run folder (log.jsonl is watched there)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the training command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        sys.exit("no training command given after --")
    log = os.path.join(args.run_dir, "log.jsonl")

    with open(os.path.join(args.run_dir + ".killed.out"), "w") as out:
        victim = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        while victim.poll() is None and last_step(log) < args.kill_after:
            time.sleep(0.01)
        if victim.poll() is not None:
            sys.exit(f"the run ended (status {victim.returncode}) before logging step {args.kill_after}")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    print(f"killed with SIGKILL (status {victim.returncode}) after step {last_step(log)} was logged")

    with open(os.path.join(args.run_dir + ".resumed.out"), "w") as out:
        resumed = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT)
    if resumed.returncode != 0:
        sys.exit(f"the resumed run failed with status {resumed.returncode} (see {args.run_dir}.resumed.out)")
    print(f"resumed run finished; its output is in {args.run_dir}.resumed.out")


if __name__ == "__main__":
    main()
