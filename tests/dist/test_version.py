"""One version for the library, the CLI and both packages: VERSION, and the places
scripts/set-version writes and scripts/check-version (make lint) reads. The scripts run on
a copy of those files, so the checkout is never changed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import ROOT, VERSION

PLACES = [
    "VERSION", "core/version.go", "include/envector.h", "bindings/python/pyproject.toml",
    "bindings/python/envector_keys/__init__.py", "bindings/node/package.json", "bindings/node/package-lock.json",
]


def copy(tmp: Path) -> Path:
    for f in PLACES + ["scripts/set-version", "scripts/check-version", "scripts/versionplaces.py"]:
        (tmp / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, tmp / f)
    return tmp


def script(root: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "scripts" / name), *args], capture_output=True, text=True)


def said(root: Path) -> List[str]:
    """What each place says, read independently of scripts/versionplaces.py."""
    h = (root / "include/envector.h").read_text()
    macro = lambda n: re.search(rf"^#define ENVECTOR_VERSION_{n} (\S+)$", h, re.M).group(1)  # noqa: E731
    lock = json.loads((root / "bindings/node/package-lock.json").read_text())
    return [
        (root / "VERSION").read_text(),
        re.search(r'^const Version = "(.*)"$', (root / "core/version.go").read_text(), re.M).group(1),
        ".".join(macro(n) for n in ("MAJOR", "MINOR", "PATCH")),
        json.loads(macro("STRING")),
        re.search(r'^version = "(.*)"$', (root / "bindings/python/pyproject.toml").read_text(), re.M).group(1),
        re.search(r'^__version__ = "(.*)"$', (root / "bindings/python/envector_keys/__init__.py").read_text(), re.M).group(1),
        json.loads((root / "bindings/node/package.json").read_text())["version"],
        lock["version"],
        lock["packages"][""]["version"],
    ]


def test_every_place_in_the_checkout_says_what_version_says() -> None:
    r = script(ROOT, "check-version")
    assert r.returncode == 0, r.stderr
    assert said(ROOT) == [VERSION + "\n"] + [VERSION] * 8
    # The CLI and the library say it too: internal/cli's Version is core.Version.
    assert re.search(r"^const Version = core\.Version$", (ROOT / "internal/cli/cli.go").read_text(), re.M)


def test_set_version_rewrites_every_place_and_check_version_then_passes(tmp_path: Path) -> None:
    root = copy(tmp_path)
    before = {f: (root / f).read_text() for f in PLACES}
    r = script(root, "set-version", "12.0.345")
    assert r.returncode == 0, r.stderr
    assert said(root) == ["12.0.345\n"] + ["12.0.345"] * 8
    for f in PLACES[1:]:  # only the version lines changed
        old, new = before[f].splitlines(), (root / f).read_text().splitlines()
        assert len(old) == len(new), f
        changed = [b for a, b in zip(old, new) if a != b]
        assert changed and all("12.0.345" in b or b.startswith("#define ENVECTOR_VERSION_") for b in changed), (f, changed)
    r = script(root, "check-version")
    assert r.returncode == 0 and "say 12.0.345" in r.stdout, r.stdout + r.stderr


def test_check_version_names_each_place_that_disagrees(tmp_path: Path) -> None:
    root = copy(tmp_path)
    py = root / "bindings/python/pyproject.toml"
    py.write_text(py.read_text().replace(f'version = "{VERSION}"', 'version = "9.9.9"'))
    h = root / "include/envector.h"
    h.write_text(re.sub(r"^#define ENVECTOR_VERSION_PATCH \S+$", "#define ENVECTOR_VERSION_PATCH 77", h.read_text(), flags=re.M))
    r = script(root, "check-version")
    assert r.returncode == 1
    errors = [ln for ln in r.stderr.splitlines() if "VERSION says" in ln]
    assert len(errors) == 2, r.stderr
    assert re.search(rf"bindings/python/pyproject.toml:\d+: \[project\] version is '9.9.9', VERSION says '{re.escape(VERSION)}'", r.stderr)
    assert re.search(r"include/envector.h:\d+: ENVECTOR_VERSION_PATCH is '77'", r.stderr)
    assert f"run scripts/set-version {VERSION}" in r.stderr


def test_set_version_refuses_what_is_not_a_version_and_changes_nothing(tmp_path: Path) -> None:
    root = copy(tmp_path)
    before = {f: (root / f).read_text() for f in PLACES}
    for bad in ("0.4", "v0.4.0", "0.04.0", "0.4.0-rc1", ""):
        r = script(root, "set-version", bad)
        assert r.returncode == 2, (bad, r.stderr)
        assert "MAJOR.MINOR.PATCH" in r.stderr, r.stderr
    assert {f: (root / f).read_text() for f in PLACES} == before
    (root / "VERSION").write_text("0.4\n")
    r = script(root, "check-version")
    assert r.returncode == 1 and "VERSION holds '0.4\\n'" in r.stderr, r.stderr
