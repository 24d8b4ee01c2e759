"""The package's console script, envector-keygen: the envector-keygen command line run by
the library (envector_cli_main), here as `python -m envector_keys` (test_package.py runs
the installed console script; tests/compat installs it beside pyenvector's
pyenvector-keygen). Generating and sealing with a KEK file and with the KEK on standard
input, and the same output and exit statuses as the Go binary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Optional

import pytest

from helpers import PKG, ROOT, SMALL_CLI, child_env, ek, kek_file, tree


def pykeygen(*args: str, stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "envector_keys", *args], input=stdin if stdin is not None else b"",
                          capture_output=True, env=child_env(), timeout=120)


@pytest.fixture(scope="module")
def go_keygen() -> Iterator[str]:
    """The Go envector-keygen of this checkout, built once (the reference for output and
    exit statuses)."""
    with tempfile.TemporaryDirectory(prefix="envector-cli-") as d:
        out = os.path.join(d, "envector-keygen")
        subprocess.run([os.environ.get("GO", "go"), "build", "-o", out, "./cmd/envector-keygen"], cwd=ROOT, check=True)
        yield out


def sealed(blob_file: Path) -> bool:
    return json.loads(blob_file.read_bytes())["entries"][0].get("alg") in ("AES-KEK", "AES-256-GCM")


def test_generate_and_seal_with_a_kek_file(tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    keys = tmp_path / "keys"
    r = pykeygen("generate", "--key_path", str(keys), "--key_id", "k1", "--preset", "ip0", "--eval_mode", "rmp",
                 "--dim", "32", "64", "--seal_mode", "aes", "--seal_key_path", str(kek))
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert f'Key set "k1" written to {keys / "k1"}' in out
    assert "sealed AES-KEK" in out
    assert kek.read_text().strip() not in out + r.stderr.decode()
    assert sealed(keys / "k1" / "SecKey.json") and sealed(keys / "k1" / "MetadataKey.json")
    assert not sealed(keys / "k1" / "EvalKey.json")

    r = pykeygen("verify", "--key-path", str(keys), "--key-id", "k1", "--seal-key-path", str(kek))
    assert r.returncode == 0, r.stderr.decode()
    assert "verified" in r.stdout.decode()
    # The library's API agrees.
    with ek.KeyManager(key_path=keys, key_id="k1") as km:
        assert km.verify(seal_kek_path=kek) is True
        assert json.loads(km.load()["eval_blob"])["envector_keys"]["dims"] == "32,64"


def test_generate_and_seal_with_the_kek_on_standard_input(tmp_path: Path) -> None:
    kek = kek_file(tmp_path, "base64")
    keys = tmp_path / "keys"
    r = pykeygen("--key_path", str(keys), "--key_id", "s1", *SMALL_CLI, "--seal_mode", "aes", "--seal_key_stdin",
                 stdin=kek.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    assert sealed(keys / "s1" / "SecKey.json")

    r = pykeygen("verify", "--key_path", str(keys), "--key_id", "s1", "--seal_key_stdin", stdin=kek.read_bytes())
    assert r.returncode == 0, r.stderr.decode()
    assert "sealed keys unsealed with the KEK" in r.stdout.decode()
    with ek.KeyManager(key_path=keys, key_id="s1") as km:
        assert km.verify(kek=kek.read_bytes()) is True

    wrong = kek_file(tmp_path, "base64", "wrong").read_bytes()
    r = pykeygen("verify", "--key_path", str(keys), "--key_id", "s1", "--seal_key_stdin", stdin=wrong)
    assert r.returncode == 5, "authentication failed"
    assert "s1" in r.stderr.decode() and wrong.strip().decode() not in r.stderr.decode()

    # A KEK of 31 bytes on standard input: refused, naming the accepted forms; nothing written.
    r = pykeygen("--key_path", str(keys), "--key_id", "s2", *SMALL_CLI, "--seal_mode", "aes", "--seal_key_stdin",
                 stdin=b"\x01" * 31)
    assert r.returncode == 1
    assert "standard input" in r.stderr.decode() and "32 raw bytes" in r.stderr.decode()
    assert not (keys / "s2").exists()


def test_list_inspect_delete_and_a_non_empty_output_directory(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    assert pykeygen("--key_path", str(keys), "--key_id", "a", *SMALL_CLI, "--quiet").returncode == 0
    r = pykeygen("list", "--key_path", str(keys))
    assert r.returncode == 0 and r.stdout.decode().split() == ["a"]
    r = pykeygen("inspect", "--key_path", str(keys), "--key_id", "a")
    assert r.returncode == 0 and "EvalKey" in r.stdout.decode()
    before = tree(keys)
    r = pykeygen("--key_path", str(keys), "--key_id", "a", *SMALL_CLI)
    assert r.returncode == 6 and "a" in r.stderr.decode(), "already exists"

    assert tree(keys) == before
    assert pykeygen("delete", "--key_path", str(keys), "--key_id", "a", "--yes").returncode == 0
    assert tree(keys) == []


@pytest.mark.parametrize("args", [
    ["--help"],
    ["verify", "--help"],
    ["--version"],
    ["--no-such-flag"],
    ["bogus"],
    ["generate", "--dim"],
    ["generate", "--key_store", "aws", "--key_id", "x"],
    ["generate", "--seed", "abc", "--key_id", "x"],
    ["verify", "--key_path", "/nonexistent-envector", "--key_id", "x"],
], ids=lambda a: " ".join(a))
def test_same_output_and_exit_status_as_the_go_binary(go_keygen: str, args: list) -> None:
    want = subprocess.run([go_keygen, *args], capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
    got = pykeygen(*args)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    assert got.returncode in range(7)


def test_exit_statuses(tmp_path: Path) -> None:
    # As _cli.main's docstring says: 0 ok, 1 failure, 2 usage, 3 not active, 4 not found,
    # 5 authentication failed, 6 already exists.
    keys = tmp_path / "keys"
    kek = kek_file(tmp_path)
    assert pykeygen("--version").returncode == 0
    assert pykeygen("--nope").returncode == 2
    assert pykeygen("verify", "--key_path", str(keys), "--key_id", "none").returncode == 4
    assert pykeygen("--key_path", str(keys), "--key_id", "a", *SMALL_CLI, "--seal_mode", "aes", "--seal_key_path", str(kek),
                    "--quiet").returncode == 0
    assert pykeygen("--key_path", str(keys), "--key_id", "a", *SMALL_CLI, "--quiet").returncode == 6
    wrong = kek_file(tmp_path, "hex", "wrong")
    assert pykeygen("verify", "--key_path", str(keys), "--key_id", "a", "--seal_key_path", str(wrong)).returncode == 5
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert pykeygen("--key_path", str(not_a_dir), "--key_id", "b", *SMALL_CLI, "--quiet").returncode == 1
    with ek.KeyManager(key_path=keys, key_id="a") as km:
        km.set_state("deactivated", "retired", seal_kek_path=kek)
    assert pykeygen("verify", "--key_path", str(keys), "--key_id", "a", "--seal_key_path", str(kek)).returncode == 3


def test_the_console_script_is_envector_keygen_not_pyenvector_keygen() -> None:
    """enVector's SDK (pyenvector) installs `pyenvector-keygen`; ours is `envector-keygen`,
    so that both install in one environment (tests/compat installs both)."""
    text = (PKG / "pyproject.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[project\.scripts\]\n(.*?)(?=^\[|\Z)", text, flags=re.S | re.M)
    assert section is not None, "pyproject.toml has no [project.scripts]"
    scripts = dict(re.findall(r'^([A-Za-z0-9_.-]+)\s*=\s*"([^"]+)"', section.group(1), flags=re.M))
    assert scripts == {"envector-keygen": "envector_keys._cli:run"}
    assert "entry_points" not in (PKG / "setup.py").read_text(encoding="utf-8")
    # ... which runs the envector-keygen command line.
    r = pykeygen("--version")
    assert (r.returncode, r.stdout) == (0, f"envector-keygen {(ROOT / 'VERSION').read_text().strip()}\n".encode()), r
