"""Both SDKs in one environment: pyenvector 1.6.3 installs the console script
`pyenvector-keygen`, our package installs `envector-keygen` (it was `pyenvector-keygen`
too, so one overwrote the other). A new virtual environment gets pyenvector (from the
wheels `make compat-deps` downloaded) and then a wheel of bindings/python built now;
each script must be its own program, and removing one package must leave the other's.

The tests of this module share that environment and run in file order; the last one
uninstalls our package.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import pytest

from compat_helpers import CLI, COMPAT_WHEELS, LIB, PKG, PYENVECTOR_VERSION, user_env

# What --version prints: the VERSION file of this checkout.
VERSION_LINE = f"envector-keygen {(Path(__file__).resolve().parents[2] / 'VERSION').read_text().strip()}\n".encode()


@dataclass(frozen=True)
class Venv:
    dir: Path
    our_wheel: Path

    @property
    def bin(self) -> Path:
        return self.dir / "bin"

    @property
    def python(self) -> str:
        return str(self.bin / "python")


def run(cmd: List[str], ok: bool = True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, env=user_env(), stdin=subprocess.DEVNULL, timeout=600, **kw)
    if ok:
        assert r.returncode == 0, (f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stdout.decode(errors='replace')}\n"
                                   f"{r.stderr.decode(errors='replace')}")
    return r


def pip(venv: Venv, *args: str) -> subprocess.CompletedProcess:
    """This interpreter's pip, installing into venv (pip --python: venv has no pip)."""
    return run([sys.executable, "-m", "pip", "--python", venv.python, "--disable-pip-version-check", *args])


def build_wheel(dest: Path, src: Path) -> Path:
    """A wheel of the package sources in src, with this checkout's library."""
    env = dict(user_env(), ENVECTOR_LIB=str(LIB))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps",
                        "--no-build-isolation", "--quiet", "-w", str(dest), str(src)], capture_output=True, env=env,
                       timeout=600)
    assert r.returncode == 0, f"pip wheel {src}: {r.stdout.decode(errors='replace')}\n{r.stderr.decode(errors='replace')}"
    wheels = sorted(dest.glob("envector_keys-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def package_sources(dest: Path) -> Path:
    """bindings/python without tests, builds or a bundled library (the tree is not touched)."""
    shutil.copytree(PKG, dest, ignore=shutil.ignore_patterns("build", "dist", "_lib", "__pycache__", "*.egg-info",
                                                              "tests", "bench", ".pytest_cache"))
    return dest


def console_scripts(venv: Venv) -> dict:
    """{distribution: [console script names]} of everything installed in venv."""
    code = ("import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: sorted(e.name for e in "
            "d.entry_points if e.group == 'console_scripts') for d in m.distributions()}))")
    return json.loads(run([venv.python, "-c", code]).stdout)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    wheels = sorted(COMPAT_WHEELS.glob(f"pyenvector-{PYENVECTOR_VERSION}-*.whl"))
    if not wheels:
        pytest.fail(f"no pyenvector {PYENVECTOR_VERSION} wheel in {COMPAT_WHEELS}: run `make compat-deps`", pytrace=False)
    root = tmp_path_factory.mktemp("scripts")
    our_wheel = build_wheel(root / "wheels", package_sources(root / "src"))
    v = Venv(root / "venv", our_wheel)
    run([sys.executable, "-m", "venv", "--without-pip", str(v.dir)])
    # pyenvector first, ours second: the order in which ours used to replace theirs.
    pip(v, "install", "--quiet", "--no-index", "--find-links", str(COMPAT_WHEELS), f"pyenvector=={PYENVECTOR_VERSION}")
    pip(v, "install", "--quiet", "--no-index", str(our_wheel))
    yield v
    shutil.rmtree(root, ignore_errors=True)


def test_envector_keygen_is_ours(venv: Venv) -> None:
    script = venv.bin / "envector-keygen"
    assert "from envector_keys._cli import run" in script.read_text(), script.read_text()
    assert run([str(script), "--version"]).stdout == VERSION_LINE
    # The same program as the Go binary: identical help.
    assert run([str(script), "--help"]).stdout == run([str(CLI), "--help"]).stdout
    # Through the library of the installed wheel, not this checkout's.
    where = run([venv.python, "-c", "import envector_keys as e; print(e.library_from)"]).stdout.decode().strip()
    assert where == "the package (envector_keys/_lib)"
    assert run([venv.python, "-m", "envector_keys", "--version"]).stdout == VERSION_LINE


def test_pyenvector_keygen_is_pyenvectors(venv: Venv) -> None:
    script = venv.bin / "pyenvector-keygen"
    assert "from pyenvector.cli.pyenvector_keygen import main" in script.read_text(), script.read_text()
    out = run([str(script), "--help"]).stdout.decode()
    assert out.startswith("usage: pyenvector-keygen") and "Generate a key for the enVector API (pyenvector SDK)" in out, out
    assert "envector-keygen generate" not in out


def test_no_two_packages_declare_one_script(venv: Venv) -> None:
    scripts = console_scripts(venv)
    assert scripts["envector-keys"] == ["envector-keygen"]
    assert "pyenvector-keygen" in scripts["pyenvector"]
    seen: dict = {}
    for dist, names in scripts.items():
        for n in names:
            assert n not in seen, f"console script {n} is declared by {seen[n]} and {dist}"
            seen[n] = dist


def test_removing_ours_leaves_pyenvectors_script_and_the_old_name_did_not(venv: Venv, tmp_path: Path) -> None:
    pip(venv, "uninstall", "--quiet", "--yes", "envector-keys")
    assert not (venv.bin / "envector-keygen").exists()
    out = run([str(venv.bin / "pyenvector-keygen"), "--help"]).stdout.decode()
    assert out.startswith("usage: pyenvector-keygen"), out

    # The control: our package with its old script name, installed after pyenvector,
    # replaces pyenvector's script, and uninstalling it leaves none.
    src = package_sources(tmp_path / "src")
    pyproject = src / "pyproject.toml"
    text = pyproject.read_text()
    old = re.sub(r'^envector-keygen = "envector_keys._cli:run"$', 'pyenvector-keygen = "envector_keys._cli:run"', text,
                 flags=re.M)
    assert old != text
    pyproject.write_text(old)
    pip(venv, "install", "--quiet", "--no-index", str(build_wheel(tmp_path / "wheels", src)))
    assert "from envector_keys._cli import run" in (venv.bin / "pyenvector-keygen").read_text()
    assert run([str(venv.bin / "pyenvector-keygen"), "--version"]).stdout == VERSION_LINE
    pip(venv, "uninstall", "--quiet", "--yes", "envector-keys")
    assert not (venv.bin / "pyenvector-keygen").exists()
