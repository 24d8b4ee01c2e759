"""Every place that states the version of envector-keys, for scripts/check-version and
scripts/set-version. The VERSION file at the repository root is the source; the library,
the CLI and both packages share it. CMake reads VERSION itself (CMakeLists.txt), so it
is no place of its own here.

Each place is a file and a regular expression whose group 1 is the version (or, for the
header's MAJOR/MINOR/PATCH macros, one number of it). Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = ROOT / "VERSION"
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


class VersionError(Exception):
    pass


@dataclass(frozen=True)
class Place:
    path: str  # relative to the repository root
    what: str  # what the line is, for messages
    pattern: str  # group 1: the value; must match exactly once
    value: Callable[[str], str]  # the value this place must hold for a version

    def regex(self) -> "re.Pattern[str]":
        return re.compile(self.pattern, re.M)


def _part(i: int) -> Callable[[str], str]:
    return lambda v: v.split(".")[i]


def _same(v: str) -> str:
    return v


PLACES: List[Place] = [
    Place("core/version.go", "const Version", r'^const Version = "([^"]*)"$', _same),
    Place("include/envector.h", "ENVECTOR_VERSION_MAJOR", r"^#define ENVECTOR_VERSION_MAJOR (\S+)$", _part(0)),
    Place("include/envector.h", "ENVECTOR_VERSION_MINOR", r"^#define ENVECTOR_VERSION_MINOR (\S+)$", _part(1)),
    Place("include/envector.h", "ENVECTOR_VERSION_PATCH", r"^#define ENVECTOR_VERSION_PATCH (\S+)$", _part(2)),
    Place("include/envector.h", "ENVECTOR_VERSION_STRING", r'^#define ENVECTOR_VERSION_STRING "([^"]*)"$', _same),
    Place("bindings/python/pyproject.toml", "[project] version", r'^version = "([^"]*)"$', _same),
    Place("bindings/python/envector_keys/__init__.py", "__version__", r'^__version__ = "([^"]*)"$', _same),
    Place("bindings/node/package.json", '"version"', r'^  "version": "([^"]*)",$', _same),
    # The lock file states the package's version twice: at the top and for "".
    Place("bindings/node/package-lock.json", 'top-level "version"', r'\A\{\n  "name": "envector-keys",\n  "version": "([^"]*)",$', _same),
    Place("bindings/node/package-lock.json", 'packages[""].version',
          r'^  "packages": \{\n    "": \{\n      "name": "envector-keys",\n      "version": "([^"]*)",$', _same),
]


def read_version() -> str:
    """The version in VERSION (MAJOR.MINOR.PATCH and a newline)."""
    try:
        text = VERSION_FILE.read_text(encoding="utf-8")
    except OSError as e:
        raise VersionError(f"cannot read {VERSION_FILE}: {e.strerror}") from None
    v = text[:-1] if text.endswith("\n") else text
    if not SEMVER.match(v) or "\n" in v:
        raise VersionError(f"VERSION holds {text!r}; it must be one line MAJOR.MINOR.PATCH (e.g. 0.3.0)")
    return v


def check_semver(v: str) -> str:
    if not SEMVER.match(v):
        raise VersionError(f"{v!r} is not a version: give MAJOR.MINOR.PATCH, three numbers without leading zeros (e.g. 0.3.0)")
    return v


def find(place: Place, text: str) -> List["re.Match[str]"]:
    return list(place.regex().finditer(text))


def disagreements(version: str) -> List[str]:
    """One message per place that does not say version."""
    out = []
    for p in PLACES:
        f = ROOT / p.path
        try:
            text = f.read_text(encoding="utf-8")
        except OSError as e:
            out.append(f"{p.path}: cannot read it ({e.strerror})")
            continue
        ms = find(p, text)
        want = p.value(version)
        if len(ms) != 1:
            out.append(f"{p.path}: {p.what}: expected one line matching /{p.pattern}/, found {len(ms)}")
        elif ms[0].group(1) != want:
            line = text.count("\n", 0, ms[0].start(1)) + 1
            out.append(f"{p.path}:{line}: {p.what} is {ms[0].group(1)!r}, VERSION says {want!r}")
    return out


def rewrite(version: str) -> List[Tuple[str, str, str, str]]:
    """Writes version into VERSION and every place; returns (path, what, old value, new
    value) for each place changed. Reads and checks every file before writing any."""
    check_semver(version)
    texts = {}
    changes = []
    for p in PLACES:
        text = texts.get(p.path)
        if text is None:
            text = (ROOT / p.path).read_text(encoding="utf-8")
        ms = find(p, text)
        if len(ms) != 1:
            raise VersionError(f"{p.path}: {p.what}: expected one line matching /{p.pattern}/, found {len(ms)}; nothing was changed")
        m = ms[0]
        new = p.value(version)
        if m.group(1) != new:
            changes.append((p.path, p.what, m.group(1), new))
            text = text[: m.start(1)] + new + text[m.end(1):]
        texts[p.path] = text
    for path, text in texts.items():
        (ROOT / path).write_text(text, encoding="utf-8")
    VERSION_FILE.write_text(version + "\n", encoding="utf-8")
    return changes
