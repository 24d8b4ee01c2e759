#!/usr/bin/env python3
"""generate_keys_stream() against the Go API, in the same run, interleaved in blocks so
both see the same machine.

The Go side is internal/benchbase (core.Generate, then KeySet.Blob of every role, with
the same options: preset ip0, eval mode rmp, dims 32..4096, MetadataKey), built once with
`go build` and run as `benchbase -n BLOCK -preset ip0 -eval_mode rmp` between the Python
blocks; it times each iteration itself (after one warm-up), so process start-up is not
counted. The Python side times each `KeyGenerator(key_id='bench', preset='ip0',
eval_mode='rmp').generate_keys_stream()`. (Not the defaults, ip3 with mm32 as enVector's
SDK: their 1.2 GB EvalKey takes ~15 s and ~5 GB of memory each time in memory.)

A third series makes the same C calls as generate_keys_stream() (envector_keygen,
envector_keyset_blobs, the frees) straight through ctypes, without copying the blobs
into bytes: it separates what the binding costs from what calling the library from a
non-Go host costs.

The library sets its garbage collector to GOGC=200 unless GOGC is set (capi/gc.go); the
baseline program runs with Go's default (100), whatever this process got. With
--baseline-gogc 200 the baseline gets GOGC=200 too, for a like-for-like figure.

    python bench/bench_stream.py [--blocks 8] [--block 10] [--baseline-gogc 200] [--json]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package of this checkout, unless installed

import envector_keys as ek  # noqa: E402
from envector_keys import _native as n  # noqa: E402

#: The key set timed: ip0, rmp, all dims (~0.1 s), the same on every side.
PRESET, EVAL_MODE = "ip0", "rmp"
OPTIONS = json.dumps({"key_id": "bench", "preset": PRESET, "eval_mode": EVAL_MODE}).encode()


def build_baseline(root: Path) -> Path:
    out = Path(tempfile.mkdtemp(prefix="envector-bench-")) / "benchbase"
    subprocess.run([os.environ.get("GO", "go"), "build", "-o", str(out), "./internal/benchbase"], cwd=root, check=True)
    return out


def go_block(binary: Path, count: int, gogc: Optional[str]) -> List[float]:
    env = dict(os.environ)
    env.pop("GOGC", None)  # the baseline runs with Go's defaults whatever this process got...
    if gogc is not None:
        env["GOGC"] = gogc  # ...unless asked
    out = subprocess.run([str(binary), "-n", str(count), "-preset", PRESET, "-eval_mode", EVAL_MODE], env=env, check=True, capture_output=True, text=True).stdout
    return [ns / 1e6 for ns in json.loads(out)["ns"]]


def py_block(gen: ek.KeyGenerator, count: int) -> List[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        gen.generate_keys_stream()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def bare_once() -> None:
    ks = n.KeysetP()
    if n.lib.envector_keygen(OPTIONS, ctypes.byref(ks), None) != 0:
        raise RuntimeError("envector_keygen failed")
    data = (n.BytesP * n.ROLE_COUNT)()
    lens = (ctypes.c_size_t * n.ROLE_COUNT)()
    if n.lib.envector_keyset_blobs(ks, data, lens, None) != 0:
        raise RuntimeError("envector_keyset_blobs failed")
    for r in range(n.ROLE_COUNT):
        n.lib.envector_bytes_free(data[r])
    n.lib.envector_keyset_free(ks)


def bare_block(count: int) -> List[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        bare_once()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    return times


def per_call_us(f: Callable[[], object], count: int) -> float:
    f()
    t0 = time.perf_counter_ns()
    for _ in range(count):
        f()
    return (time.perf_counter_ns() - t0) / count / 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--baseline-gogc", default=None, help="GOGC given to the Go baseline (default: unset, Go's 100)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    root = n.repository_root()
    if root is None:
        print("bench_stream.py runs in a checkout of envector-keys (it needs internal/benchbase)", file=sys.stderr)
        return 2
    binary = build_baseline(root)
    gen = ek.KeyGenerator(key_id="bench", preset=PRESET, eval_mode=EVAL_MODE)
    py_block(gen, 2)  # warm: library, allocator
    bare_block(2)
    go_block(binary, 1, args.baseline_gogc)
    py: List[float] = []
    go: List[float] = []
    bare: List[float] = []
    block_ratios = []
    sides: List[Callable[[], None]] = [
        lambda: py.extend(py_block(gen, args.block)),
        lambda: go.extend(go_block(binary, args.block, args.baseline_gogc)),
        lambda: bare.extend(bare_block(args.block)),
    ]
    for b in range(args.blocks):
        for i in range(len(sides)):  # rotate which side goes first
            sides[(b + i) % len(sides)]()
        block_ratios.append(statistics.median(py[-args.block:]) / statistics.median(go[-args.block:]))
    shutil.rmtree(binary.parent, ignore_errors=True)

    # One tiny call: stays in C (envector_version), enters Go (envector_error_code on a
    # value that is no error: Go looks it up and answers INVALID_ARGUMENT).
    bogus = ctypes.cast(ctypes.c_void_p(0x7FFFFFFF), n.ErrorP)
    c_us = per_call_us(lambda: n.lib.envector_version(), 200000)
    go_us = per_call_us(lambda: n.lib.envector_error_code(bogus), 50000)

    med_py, med_go, med_bare = statistics.median(py), statistics.median(go), statistics.median(bare)
    result = {
        "iterations": len(py),
        "blocks": args.blocks,
        "baseline_gogc": args.baseline_gogc or "default (100)",
        "library_gogc": os.environ.get("GOGC", "200 (capi/gc.go)"),
        "python_median_ms": med_py,
        "bare_c_calls_median_ms": med_bare,
        "go_median_ms": med_go,
        "ratio": med_py / med_go,
        "median_block_ratio": statistics.median(block_ratios),
        "bare_ratio": med_bare / med_go,
        "call_c_us": c_us,
        "call_go_us": go_us,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    base = f"GOGC={args.baseline_gogc}" if args.baseline_gogc else "Go's default GOGC"
    print(f"generate_keys_stream() vs Go API (core.Generate + Blob of every role), {PRESET}/{EVAL_MODE}, dims 32..4096, "
          f"{len(py)} iterations each in {args.blocks} interleaved blocks; baseline at {base}")
    print(f"  python  median {med_py:.2f} ms")
    print(f"  go      median {med_go:.2f} ms")
    print(f"  ratio python/go {result['ratio']:.3f}x (median of per-block ratios {result['median_block_ratio']:.3f}x; aim <= 1.1x)")
    print(f"  the same C calls without the binding (no copy into bytes): median {med_bare:.2f} ms = {result['bare_ratio']:.3f}x go")
    print("one call through ctypes:")
    print(f"  envector_version (stays in C)    {c_us:.3f} us")
    print(f"  envector_error_code (enters Go)  {go_us:.3f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
