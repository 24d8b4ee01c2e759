"""Shared by the tests of `make dist`'s release files (tests/dist): where they are, the
version, and a user's environment without Go."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = (ROOT / "VERSION").read_text(encoding="utf-8").strip()
DIST = Path(os.environ.get("DIST_DIR", ROOT / "dist"))
# A small key set: enVector's preset ip0, eval mode rmp, dim 32 (~50 ms, a 4.7 MB EvalKey).
SMALL_CLI = ["--preset", "ip0", "--eval_mode", "rmp", "--dim", "32"]


def glibc_needed(lib: Path) -> str:
    """The highest GLIBC_X.Y version lib needs, by readelf -V (X.Y)."""
    out = subprocess.run(["readelf", "-V", "--wide", str(lib)], check=True, capture_output=True, text=True).stdout
    needs = out.split("Version needs section", 1)
    assert len(needs) == 2, f"{lib}: readelf -V shows no version needs section"
    found = {(int(a), int(b)) for a, b in re.findall(r"Name: GLIBC_(\d+)\.(\d+)(?:\.\d+)?\b", needs[1])}
    assert found, f"{lib}: needs no GLIBC_ version"
    return "%d.%d" % max(found)


def one(pattern: str) -> Path:
    """The one file of DIST matching pattern."""
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST} (run make dist), found {[f.name for f in found]}"
    return found[0]


@pytest.fixture(scope="session")
def nogo_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PATH without the go binary: each directory holding `go` is replaced by a directory
    of links to its other programs (so python, node, npm, tar stay reachable)."""
    shim_root = tmp_path_factory.mktemp("nogo-path")
    dirs: List[str] = []
    for i, d in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not d:
            continue
        if not os.path.exists(os.path.join(d, "go")):
            dirs.append(d)
            continue
        shim = shim_root / str(i)
        shim.mkdir()
        for name in os.listdir(d):
            src = os.path.join(d, name)
            if name not in ("go", "gofmt") and os.access(src, os.X_OK) and not os.path.isdir(src):
                (shim / name).symlink_to(src)
        dirs.append(str(shim))
    path = os.pathsep.join(dirs)
    assert shutil.which("go", path=path) is None, path
    return path


def user_env(path: Optional[str] = None) -> Dict[str, str]:
    """A user's environment: nothing pointing at this checkout; PATH as given."""
    drop = ("ENVECTOR_LIB", "ENVECTOR_SOURCE_ROOT", "PYTHONPATH", "VIRTUAL_ENV", "GOROOT", "GOFLAGS")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("npm_")}
    if path is not None:
        env["PATH"] = path
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONNOUSERSITE="1", npm_config_update_notifier="false",
               npm_config_audit="false", npm_config_fund="false")
    return env


def run(cmd: List[str], cwd: Path, env: Dict[str, str], stdin: bytes = b"", timeout: int = 300) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, timeout=timeout)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} (in {cwd}) failed with status {r.returncode}:\n{out}\n{r.stderr.decode(errors='replace')}"
    return out


# What the tests measured, printed at the end of the run (never asserted).
MEASURED: List[str] = []


def timed(label: str, cmd: List[str], cwd: Path, env: Dict[str, str]) -> str:
    """run, noting how long it took for the summary."""
    start = time.monotonic()
    out = run(cmd, cwd, env)
    MEASURED.append(f"{label}: {time.monotonic() - start:.1f} s")
    return out


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if MEASURED:
        terminalreporter.section("measured")
        for line in MEASURED:
            terminalreporter.write_line(line)
