"""The package as a user gets it: a new virtual environment, `pip install` of
bindings/python from a clean clone of the repository (the files git tracks or would
track: no build/ directory, so the library is built with `go build` by setup.py), then
the README's example and the console script run there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from helpers import PKG, ROOT, SMALL_CLI, kek_file

EXAMPLE = PKG / "examples" / "quickstart.py"


def python_blocks(readme: Path) -> List[str]:
    """The ```python blocks of readme that import envector_keys."""
    text = readme.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    return [b for b in blocks if re.search(r"^\s*(from envector_keys import|import envector_keys)", b, re.M)]


def test_the_package_readme_example_is_examples_quickstart_py() -> None:
    own = python_blocks(PKG / "README.md")
    assert len(own) == 1, "bindings/python/README.md shows one Python example"
    assert own[0] == EXAMPLE.read_text(encoding="utf-8"), "bindings/python/README.md: the example differs from examples/quickstart.py"


def test_the_repository_readme_shows_examples_quickstart_py() -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    root = python_blocks(ROOT / "README.md")
    assert root, "README.md (repository root) has no ```python block importing envector_keys: paste examples/quickstart.py there"
    for b in root:
        assert b == example, "README.md: the Python example differs from bindings/python/examples/quickstart.py"


def user_env() -> Dict[str, str]:
    """A user's environment: nothing pointing at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENVECTOR_LIB", "PYTHONPATH", "ENVECTOR_SOURCE_ROOT", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def run(cmd: List[str], cwd: Path, stdin: bytes = b"", timeout: int = 600) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=user_env(), input=stdin, capture_output=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)} (in {cwd}) failed with status {r.returncode}:\n{r.stdout.decode()}\n{r.stderr.decode()}"
    return r.stdout.decode()


def clean_clone(dest: Path) -> Path:
    """The files of the working tree that git tracks or would track, copied to dest."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                         capture_output=True).stdout
    for name in out.decode().split("\0"):
        src = ROOT / name
        if not name or not src.is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name)
    assert (dest / "go.mod").is_file() and (dest / "bindings" / "python" / "setup.py").is_file()
    assert not (dest / "build").exists()
    return dest


def test_pip_install_in_a_new_venv_then_the_example_and_the_console_script_run(tmp_path: Path) -> None:
    clone = clean_clone(tmp_path / "clone")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--verbose", str(clone / "bindings" / "python")], cwd=tmp_path,
                       env=user_env(), capture_output=True, timeout=600)
    log = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    assert r.returncode == 0, f"pip install failed with status {r.returncode}:\n{log[-8000:]}"
    # No CMake build in a clean clone: setup.py built the library with go build, as CMakeLists.txt does.
    assert re.search(r"envector-keys build: go build -buildmode=c-shared -trimpath -ldflags=-extldflags "
                     r"'-Wl,-soname,libenvector\.so\.0 -Wl,--version-script=\S+/capi/envector\.map' -o \S+ \./capi", log), log[-8000:]
    # The library went into the wheel, not into the source tree.
    assert not (clone / "bindings" / "python" / "envector_keys" / "_lib").exists()

    work = tmp_path / "work"
    work.mkdir()
    where = run([py, "-c", "import envector_keys as ek, importlib.metadata as m; print(ek.library_from); print(ek.library_path); "
                 "print(m.distribution('envector-keys').read_text('WHEEL'))"], work)
    lines = where.splitlines()
    assert lines[0] == "the package (envector_keys/_lib)"
    assert lines[1].startswith(str(venv)) and lines[1].endswith("envector_keys/_lib/libenvector.so.0")
    assert "Root-Is-Purelib: false" in where
    tags = [ln.split(": ", 1)[1] for ln in lines if ln.startswith("Tag: ")]
    assert tags and all(t.startswith("py3-none-") and t != "py3-none-any" for t in tags), tags
    # manylinux_X_Y: glibc X.Y, the newest GLIBC_ symbol version the library needs (setup.py).
    if shutil.which("readelf"):
        needs = subprocess.run(["readelf", "-V", "--wide", lines[1]], capture_output=True, text=True).stdout
        glibc = max((int(a), int(b)) for a, b in re.findall(r"Name: GLIBC_(\d+)\.(\d+)", needs.split("Version needs section", 1)[1]))
        assert tags == [f"py3-none-manylinux_{glibc[0]}_{glibc[1]}_x86_64"], (tags, glibc)
    site = Path(lines[1]).parent.parent
    assert (site / "py.typed").is_file()
    soname = subprocess.run(["readelf", "-d", lines[1]], capture_output=True).stdout.decode() if shutil.which("readelf") else ""
    if soname:
        assert "libenvector.so.0" in soname

    shutil.copy(EXAMPLE, work / "quickstart.py")
    out = run([py, "quickstart.py"], work)
    assert re.search(r"^register my-index: EvalKey \d+ bytes$", out, re.M), out
    assert "created True, sealed True" in out
    assert re.search(r"^loaded sec_blob \d+ B, enc_blob \d+ B, eval_blob \d+ B, metadata_blob \d+ B$", out, re.M), out
    assert "verified; key sets: ['my-index']" in out

    # The console script: generate sealed with the KEK on standard input, then verify.
    script = str(venv / "bin" / "envector-keygen")
    assert run([script, "--version"], work).strip() == f"envector-keygen {(ROOT / 'VERSION').read_text().strip()}"
    kek = kek_file(tmp_path).read_bytes()
    out = run([script, "--key_path", "keys", "--key_id", "cli", *SMALL_CLI, "--seal_mode", "aes", "--seal_key_stdin"], work,
              stdin=kek)
    assert 'Key set "cli" written to keys/cli' in out
    out = run([script, "verify", "--key_path", "keys", "--key_id", "cli", "--seal_key_stdin"], work, stdin=kek)
    assert "verified" in out
    r = subprocess.run([script, "--bogus"], cwd=work, env=user_env(), capture_output=True, timeout=60)
    assert r.returncode == 2 and b"unknown flag --bogus" in r.stderr
