"""The README's install and quick-start lines run as written (`make readmetest`, after
`make dist`): every block marked <!-- readme-test: NAME --> (tests/readme/readme_blocks.py
says how to mark one), in README order, in one temporary work directory holding a `dist`
link to the checkout's dist/, with HOME in it (so ~/.local is temporary) and Go off PATH
(the release files need none). The C lines (by=install_test) are run by
tests/install_test.sh, which needs the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import readme_blocks as rb
from conftest import MEASURED

ROOT = rb.ROOT
HARNESS = [b for b in rb.blocks() if b.attrs.get("by") != "install_test"]
# The blocks a new user meets first: each must stay marked.
REQUIRED = {"install-check", "install-python", "install-node", "install-cli", "install-c", "quickstart-cli", "quickstart-python",
            "quickstart-node"}
BY_INSTALL_TEST = {"c-install", "c-pkg-config", "c-cmakelists", "c-cmake"}


def nogo_path(shim_root: Path) -> str:
    """PATH without the go binary: a directory holding `go` is replaced by one of links to
    its other programs."""
    dirs: List[str] = []
    for i, d in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if d and os.path.exists(os.path.join(d, "go")):
            shim = shim_root / f"path{i}"
            shim.mkdir(parents=True)
            for name in os.listdir(d):
                src = os.path.join(d, name)
                if name not in ("go", "gofmt") and os.access(src, os.X_OK) and not os.path.isdir(src):
                    (shim / name).symlink_to(src)
            d = str(shim)
        if d:
            dirs.append(d)
    return os.pathsep.join(dirs)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    w = tmp_path_factory.mktemp("readme")
    assert (ROOT / "dist" / "SHA256SUMS").is_file(), "no dist/: run make dist first"
    (w / "dist").symlink_to(ROOT / "dist")
    (w / "bin").symlink_to(ROOT / "bin")  # the CLI section's bin/envector-keygen (make bin)
    (w / "home").mkdir()
    yield w
    shutil.rmtree(w, ignore_errors=True)  # the CLI quick start's 1.2 GB EvalKey: not kept by pytest


@pytest.fixture(scope="module")
def env(work: Path) -> Dict[str, str]:
    npm_cache = subprocess.run(["npm", "config", "get", "cache"], capture_output=True, text=True, check=True).stdout.strip()
    drop = ("ENVECTOR_LIB", "ENVECTOR_SOURCE_ROOT", "PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    e = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("npm_")}
    e.update(
        HOME=str(work / "home"),
        PATH=nogo_path(work / "shims"),
        npm_config_cache=npm_cache,  # the user's npm cache, not the new HOME's
        npm_config_prefer_offline="true",
        npm_config_update_notifier="false",
        npm_config_audit="false",
        npm_config_fund="false",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
    )
    assert shutil.which("go", path=e["PATH"]) is None
    return e


def test_marker_syntax_errors_name_the_line() -> None:
    ok = rb.parse("x\n<!-- readme-test: a-1 cwd=app -->\n\n```sh\necho hi\n```\n")
    assert [(b.name, b.lang, b.text, b.attrs) for b in ok] == [("a-1", "sh", "echo hi\n", {"cwd": "app"})]
    for bad, says in [
        ("<!-- readme-test: a -->\ntext\n", "not followed by a fenced block"),
        ("<!-- readme-test: a colour=red -->\n```sh\n```\n", "'colour=red': attributes are key=value"),
        ("<!-- readme-test: a -->\n```sh\necho\n", "is not closed"),
        ("<!-- readme-test: a -->\n```sh\n```\n<!-- readme-test: a -->\n```sh\n```\n", "a second block named 'a'"),
        ("<!-- readme-test a -->\n", "is not a marker"),
    ]:
        with pytest.raises(rb.ReadmeError, match=says):
            rb.parse(bad)


def test_the_install_and_quickstart_blocks_are_marked() -> None:
    names = {b.name for b in rb.blocks()}
    assert REQUIRED <= names, f"README.md lost the markers of {sorted(REQUIRED - names)}"
    assert BY_INSTALL_TEST <= names, f"README.md lost the markers of {sorted(BY_INSTALL_TEST - names)}"
    script = (ROOT / "tests" / "install_test.sh").read_text()
    for b in rb.blocks():
        if b.attrs.get("by") == "install_test":
            assert f"block {b.name} " in script, f"tests/install_test.sh does not run README block {b.name}"
    # The quick starts are the examples the binding suites run.
    assert rb.get("quickstart-python").text == (ROOT / "bindings/python/examples/quickstart.py").read_text()
    assert rb.get("quickstart-node").text == (ROOT / "bindings/node/examples/quickstart.js").read_text()


@pytest.mark.parametrize("name", [b.name for b in HARNESS])
def test_readme_block_runs(name: str, work: Path, env: Dict[str, str]) -> None:
    b = rb.get(name)
    cwd = work / b.attrs.get("cwd", ".")
    assert cwd.is_dir(), f"block {name}: cwd {cwd} does not exist (an earlier block makes it)"
    if "file" in b.attrs:
        (cwd / b.attrs["file"]).write_text(b.text)
        return
    if b.lang in ("sh", "bash"):
        f = work / f"readme-{name}.sh"
        f.write_text(b.text)
        cmd = ["bash", "-euo", "pipefail", str(f)]
    elif b.lang == "python":
        assert "python" in b.attrs, f"block {name}: a python block needs python=PATH (the venv an install block made)"
        f = work / f"readme-{name}.py"
        f.write_text(b.text)
        cmd = [str(work / b.attrs["python"]), str(f)]
    elif b.lang == "js":
        f = cwd / f"readme-{name}.js"
        f.write_text(b.text)
        cmd = ["node", str(f)]
    else:
        pytest.fail(f"block {name}: a {b.lang} block runs only with file=NAME")
    start = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - start
    MEASURED.append(f"README block {name}: {took:.1f} s")
    assert r.returncode == 0, f"README.md:{b.line}: block {name} failed with status {r.returncode}:\n{b.text}\n--- output:\n{r.stdout}\n{r.stderr}"
