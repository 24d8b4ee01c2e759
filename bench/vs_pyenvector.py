#!/usr/bin/env python3
"""Key generation beside enVector's own generator, in one run: CPU time, wall time and peak
memory of each generator as a child process.

Cases (every dim, 32 to 4096, metadata encryption on, no sealing, into a fresh empty
directory that is deleted after each run):

  ip3-mm32  ours:   bin/envector-keygen --key_path D --key_id k --preset ip3 --eval_mode mm32
            theirs: pyenvector-keygen --key-path D --key-id k --preset ip3 --eval-mode mm32
                      --metadata-encryption true --seal-mode none      (pyenvector 1.6.3)
  ip0-rmp   ours:   bin/envector-keygen --key_path D --key_id k --preset ip0 --eval_mode rmp
            theirs: pyenvector refuses ip0 (its API and its pyenvector-keygen take ip1-ip4), so
                    the baseline is evi itself, the native module under pyenvector, driven by
                    this script (`vs_pyenvector.py evi-driver`, run by the compat venv's
                    python): evi.MultiKeyGenerator over one evi.Context per dim (IP0, RMP, CPU)
                    writes SecKey.bin, EncKey.bin and EvalKey.bin; evi.KeyManager.wrap_sec_key,
                    wrap_enc_key and wrap_eval_key turn them into the SecKey/EncKey/EvalKey.json
                    envelopes (the .bin files removed), and wrap_metadata_key_bytes makes
                    MetadataKey.json from 32 random bytes: the four files ours writes. It does
                    not do what pyenvector's KeyGenerator adds around evi (argument checks,
                    loguru logging, its pure-Python steps) and keeps no lock or atomic rename.
                    A third row, the driver with `--import-only` (python start and `import
                    evi`, no keys), shows what of the baseline is interpreter start-up.

Rounds alternate which side goes first. Each child is timed with os.wait4: CPU = its
ru_utime + ru_stime (the child and any children it waited for), peak memory = its
ru_maxrss; wall = time from spawn to reaping. The report prints every round, the median
per metric and the ratio ours/theirs of the medians. Needs `make bin` and `make
compat-deps` (build/compat-venv with pyenvector 1.6.3); `make bench` runs it.

  python3 bench/vs_pyenvector.py [--rounds 3] [--rounds-ip0-rmp 10] [--cases ip3-mm32,ip0-rmp]
      [--ours bin/envector-keygen] [--venv build/compat-venv] [--work build/vs-pyenvector]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
DIMS = [32, 64, 128, 256, 512, 1024, 2048, 4096]
ROLES = ("SecKey", "EncKey", "EvalKey", "MetadataKey")


# ---- the evi driver (runs under the compat venv's python) -------------------------------------


def evi_driver(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(prog="vs_pyenvector.py evi-driver")
    ap.add_argument("--key-path", required=True)
    ap.add_argument("--key-id", required=True)
    ap.add_argument("--preset", default="ip0")
    ap.add_argument("--eval-mode", default="rmp")
    ap.add_argument("--dim", type=int, nargs="+", default=DIMS)
    ap.add_argument("--import-only", action="store_true", help="import evi and stop")
    a = ap.parse_args(argv)
    import evi  # noqa: F401  (what an evi user pays before any key)

    if a.import_only:
        return 0
    out = Path(a.key_path) / a.key_id
    out.mkdir(parents=True)
    ctxs = [evi.Context(getattr(evi.ParameterPreset, a.preset.upper()), evi.DeviceType.CPU, d,
                        getattr(evi.EvalMode, a.eval_mode.upper())) for d in a.dim]
    evi.MultiKeyGenerator(ctxs, str(out), evi.SealInfo(evi.SealMode.NONE)).generate_keys()
    km = evi.KeyManager()
    for role, wrap in (("SecKey", km.wrap_sec_key), ("EncKey", km.wrap_enc_key), ("EvalKey", km.wrap_eval_key)):
        b = out / f"{role}.bin"
        wrap(a.key_id, str(b), str(out / f"{role}.json"))
        b.unlink()
    (out / "MetadataKey.json").write_bytes(bytes(km.wrap_metadata_key_bytes(a.key_id, os.urandom(32))))
    return 0


# ---- measuring --------------------------------------------------------------------------------


class Run:
    def __init__(self, cpu: float, wall: float, rss_kib: int, eval_bytes: Optional[int]) -> None:
        self.cpu, self.wall, self.rss_kib, self.eval_bytes = cpu, wall, rss_kib, eval_bytes


def measure(argv: List[str], work: Path, key_dir_args, expect_files: bool) -> Run:
    """Runs argv (with key_dir_args(D) appended, D a fresh empty directory) as a child;
    checks it wrote the four key files into D/k unless expect_files is False; deletes D."""
    d = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    log = work / "child.log"
    try:
        cmd = argv + key_dir_args(d)
        with open(log, "wb") as err:
            t0 = time.perf_counter()
            pid = os.posix_spawn(cmd[0], cmd, dict(os.environ), file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
            _, status, ru = os.wait4(pid, 0)
            wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{' '.join(cmd)}: exit {code}\n{log.read_text(errors='replace')[-3000:]}")
        eval_bytes = None
        if expect_files:
            got = sorted(p.name for p in (d / "k").iterdir())
            if got != sorted(f"{r}.json" for r in ROLES):
                raise SystemExit(f"{' '.join(cmd)}: wrote {got}, not the four key files")
            eval_bytes = (d / "k" / "EvalKey.json").stat().st_size
        return Run(ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss, eval_bytes)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        log.unlink(missing_ok=True)


def fmt_rounds(xs: List[float], f: str) -> str:
    return " ".join(format(x, f) for x in xs)


def report(title: str, sides: Dict[str, List[Run]], commands: Dict[str, str], ours: str, theirs: str,
           extra: Optional[str] = None) -> None:
    print(f"\n== {title}")
    for name, cmd in commands.items():
        print(f"  {name}: {cmd}")
    print(f"  {'':<34} {'CPU s (user+sys)':>18} {'wall s':>10} {'peak RSS MiB':>13}  EvalKey.json bytes")
    med: Dict[str, Dict[str, float]] = {}
    for name, runs in sides.items():
        m = {"cpu": statistics.median(r.cpu for r in runs), "wall": statistics.median(r.wall for r in runs),
             "rss": statistics.median(r.rss_kib for r in runs) / 1024}
        med[name] = m
        ev = {r.eval_bytes for r in runs}
        print(f"  {name:<34} {m['cpu']:>18.2f} {m['wall']:>10.2f} {m['rss']:>13.1f}  "
              f"{'-' if ev == {None} else ','.join(str(e) for e in sorted(ev))}")
        print(f"  {'  rounds':<34} cpu [{fmt_rounds([r.cpu for r in runs], '.2f')}]  wall "
              f"[{fmt_rounds([r.wall for r in runs], '.2f')}]  MiB [{fmt_rounds([r.rss_kib / 1024 for r in runs], '.0f')}]")
    o, t = med[ours], med[theirs]
    print(f"  {'ratio ours/theirs (medians)':<34} {o['cpu'] / t['cpu']:>17.3f}x {o['wall'] / t['wall']:>9.3f}x "
          f"{o['rss'] / t['rss']:>12.3f}x")
    if extra and extra in med:
        x = med[extra]
        cpu, wall = t["cpu"] - x["cpu"], t["wall"] - x["wall"]
        if cpu > 0 and wall > 0:
            print(f"  {'ratio ours/(theirs - import only)':<34} {o['cpu'] / cpu:>17.3f}x {o['wall'] / wall:>9.3f}x")


def main() -> int:
    if sys.argv[1:2] == ["evi-driver"]:
        return evi_driver(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of ip3-mm32 (default 3)")
    ap.add_argument("--rounds-ip0-rmp", type=int, default=10, help="rounds of ip0-rmp, ~1 s each (default 10)")
    ap.add_argument("--cases", default="ip3-mm32,ip0-rmp")
    ap.add_argument("--ours", default=str(ROOT / "bin" / "envector-keygen"))
    ap.add_argument("--venv", default=str(ROOT / "build" / "compat-venv"))
    ap.add_argument("--work", default=str(ROOT / "build" / "vs-pyenvector"))
    a = ap.parse_args()
    ours = str(Path(a.ours).resolve())
    venv = Path(a.venv).resolve()
    py, pk = str(venv / "bin" / "python"), str(venv / "bin" / "pyenvector-keygen")
    for p in (ours, py, pk):
        if not os.access(p, os.X_OK):
            raise SystemExit(f"{p} is missing: run `make bin compat-deps`")
    work = Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cases = [c.strip() for c in a.cases.split(",") if c.strip()]
    load = os.getloadavg()
    print(f"vs_pyenvector: {a.rounds} rounds of ip3-mm32, {a.rounds_ip0_rmp} of ip0-rmp, alternating; {os.cpu_count()} CPUs; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; work dir {work}")
    me = str(Path(__file__).resolve())

    def ours_args(preset: str, mode: str):
        return lambda d: ["--key_path", str(d), "--key_id", "k", "--preset", preset, "--eval_mode", mode, "--quiet"]

    for case in cases:
        if case == "ip3-mm32":
            sides = {
                "ours (envector-keygen)": ([ours], ours_args("ip3", "mm32"), True),
                "pyenvector-keygen 1.6.3": ([pk], lambda d: ["--key-path", str(d), "--key-id", "k", "--preset", "ip3",
                                                          "--eval-mode", "mm32", "--metadata-encryption", "true",
                                                          "--seal-mode", "none"], True),
            }
        elif case == "ip0-rmp":
            sides = {
                "ours (envector-keygen)": ([ours], ours_args("ip0", "rmp"), True),
                "evi driver (keygen + wrap)": ([py, me, "evi-driver"], lambda d: ["--key-path", str(d), "--key-id", "k",
                                                                                 "--preset", "ip0", "--eval-mode", "rmp"],
                                               True),
                "evi driver, import only": ([py, me, "evi-driver", "--import-only"],
                                            lambda d: ["--key-path", str(d), "--key-id", "k"], False),
            }
        else:
            raise SystemExit(f"unknown case {case!r}: ip3-mm32, ip0-rmp")
        runs: Dict[str, List[Run]] = {n: [] for n in sides}
        names = list(sides)
        for r in range(a.rounds_ip0_rmp if case == "ip0-rmp" else a.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for n in order:
                argv, args, files = sides[n]
                runs[n].append(measure(argv, work, args, files))
                print(f"  {case} round {r + 1} {n}: cpu {runs[n][-1].cpu:.2f} s, wall {runs[n][-1].wall:.2f} s, "
                      f"peak {runs[n][-1].rss_kib / 1024:.0f} MiB", flush=True)
        commands = {n: " ".join(sides[n][0] + sides[n][1](Path("D"))) for n in names}
        title = {"ip3-mm32": "ip3/mm32, dims 32-4096 (pyenvector's default)",
                 "ip0-rmp": "ip0/rmp, dims 32-4096"}[case]
        theirs = names[1]
        report(title, runs, commands, names[0], theirs, extra="evi driver, import only" if case == "ip0-rmp" else None)
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
