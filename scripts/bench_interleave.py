#!/usr/bin/env python3
"""Runs two benchmark programs in alternating blocks and reports their ratio.

Each program runs as `PROGRAM... -n BLOCK` and prints one JSON object
{"ns": [time of each iteration in nanoseconds]} (internal/benchbase, bench/keygen_c_host).
Blocks alternate (which side goes first rotates), so both see the same machine; the
report gives each side's median and the ratio of the medians, ours over baseline.

  bench_interleave.py --label "C ABI from C" [--blocks 8] [--block 10]
      [--baseline-env GOGC=200] OURS... -- BASELINE...
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def block(cmd, n, env):
    out = subprocess.run(cmd + ["-n", str(n)], env=env, check=True, capture_output=True, text=True)
    return [ns / 1e6 for ns in json.loads(out.stdout)["ns"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", required=True)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE",
                    help="set in the baseline's environment only (e.g. GOGC=200)")
    ap.add_argument("commands", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if "--" not in a.commands:
        ap.error("give OURS... -- BASELINE...")
    i = a.commands.index("--")
    ours_cmd, base_cmd = a.commands[:i], a.commands[i + 1:]
    if not ours_cmd or not base_cmd:
        ap.error("both OURS and BASELINE are needed")
    env = {k: v for k, v in os.environ.items() if k != "GOGC"}
    base_env = dict(env)
    for kv in a.baseline_env:
        k, sep, v = kv.partition("=")
        if not sep:
            ap.error(f"--baseline-env {kv!r}: expected NAME=VALUE")
        base_env[k] = v
    ours, base = [], []
    for b in range(a.blocks):
        sides = [lambda: ours.extend(block(ours_cmd, a.block, env)),
                 lambda: base.extend(block(base_cmd, a.block, base_env))]
        for s in (sides if b % 2 == 0 else sides[::-1]):
            s()
    mo, mb = statistics.median(ours), statistics.median(base)
    note = f" (baseline with {' '.join(a.baseline_env)})" if a.baseline_env else ""
    print(f"{a.label}: {mo:.2f} ms vs baseline {mb:.2f} ms, {len(ours)} iterations a side{note}: "
          f"ratio {mo / mb:.3f}x")


if __name__ == "__main__":
    sys.exit(main())
