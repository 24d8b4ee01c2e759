#!/usr/bin/env python3
"""The README's tested code blocks. A block is tested when the line before its fence
(blank lines allowed between) is a marker:

    <!-- readme-test: NAME [cwd=DIR] [python=PATH] [file=NAME] [by=install_test] -->

- NAME: unique, letters, digits, '-' and '_'.
- the fence's language says how it runs: sh/bash (bash -euo pipefail), python (with
  python=PATH, a path relative to the work directory, e.g. a venv an earlier block made),
  js (node, in cwd so that require/import finds the project's node_modules); with
  file=NAME the block is not run but written to NAME in cwd (a CMakeLists.txt, say).
- cwd=DIR: where it runs, relative to the work directory (default: the work directory).
- by=install_test: run by tests/install_test.sh (the C lines need the checkout), not by
  tests/readme/test_readme.py.

    tests/readme/readme_blocks.py list            # NAME and attributes of each block
    tests/readme/readme_blocks.py extract NAME    # the block's text, as in the README
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- readme-test: (.*?) -->$")
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
KEYS = {"cwd", "python", "file", "by"}
LANGS = {"sh", "bash", "python", "js", "cmake", "c", "text"}


class ReadmeError(Exception):
    pass


@dataclass
class Block:
    name: str
    lang: str
    text: str
    line: int  # of the marker
    attrs: Dict[str, str] = field(default_factory=dict)


def parse(text: str, where: str = "README.md") -> List[Block]:
    lines = text.split("\n")
    blocks: List[Block] = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            if "readme-test" in lines[i]:
                raise ReadmeError(f"{where}:{i + 1}: {lines[i]!r} is not a marker: write <!-- readme-test: NAME [key=value ...] -->")
            i += 1
            continue
        words = m.group(1).split()
        if not words or not NAME.match(words[0]):
            raise ReadmeError(f"{where}:{i + 1}: the marker needs a NAME of letters, digits, '-' and '_' first")
        attrs = {}
        for w in words[1:]:
            k, eq, v = w.partition("=")
            if not eq or k not in KEYS or not v:
                raise ReadmeError(f"{where}:{i + 1}: {w!r}: attributes are key=value with key one of {sorted(KEYS)}")
            attrs[k] = v
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = re.match(r"^```([A-Za-z0-9]*)$", lines[j]) if j < len(lines) else None
        if not fence or fence.group(1) not in LANGS:
            raise ReadmeError(f"{where}:{i + 1}: marker {words[0]!r} is not followed by a fenced block of one of {sorted(LANGS)}")
        k = j + 1
        while k < len(lines) and lines[k] != "```":
            k += 1
        if k == len(lines):
            raise ReadmeError(f"{where}:{j + 1}: the block of {words[0]!r} is not closed")
        if any(b.name == words[0] for b in blocks):
            raise ReadmeError(f"{where}:{i + 1}: a second block named {words[0]!r}")
        blocks.append(Block(words[0], fence.group(1), "\n".join(lines[j + 1:k]) + "\n", i + 1, attrs))
        i = k + 1
    return blocks


def blocks() -> List[Block]:
    return parse(README.read_text(encoding="utf-8"))


def get(name: str) -> Block:
    for b in blocks():
        if b.name == name:
            return b
    raise ReadmeError(f"README.md has no block marked <!-- readme-test: {name} -->")


def main(argv: List[str]) -> int:
    try:
        if argv == ["list"]:
            for b in blocks():
                print(b.name, b.lang, " ".join(f"{k}={v}" for k, v in b.attrs.items()))
            return 0
        if len(argv) == 2 and argv[0] == "extract":
            sys.stdout.write(get(argv[1]).text)
            return 0
    except ReadmeError as e:
        print(f"readme_blocks: {e}", file=sys.stderr)
        return 1
    print("usage: readme_blocks.py list | extract NAME", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
