"""Fixtures and rules of the compatibility suite.

- pyenvector 1.6.3 must import (with its native module evi), and so must our binding
  with the library of this checkout: otherwise every test fails, naming what is missing
  and how to install it. Nothing is ever skipped, and a run in which no test ran fails.
- The key sets both SDKs read are made once per session, small (IP1, rmp, dim 32):
  ours plain and ours sealed (the same seed, so the same keys, the secret ones sealed),
  pyenvector's plain and sealed, all sealed ones under one raw 32-byte KEK file.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from compat_helpers import CLI, HOW_TO_INSTALL, LIB, PKG, PYENVECTOR_VERSION, ROLES, run_cli, text

# ---- the two SDKs ------------------------------------------------------------------------------

IMPORT_ERRORS: List[str] = []

try:
    import evi  # pyenvector's native module; it warns about RLIMIT_MEMLOCK on stderr
    import pyenvector  # noqa: F401
    from importlib.metadata import version as _dist_version

    if _dist_version("pyenvector") != PYENVECTOR_VERSION:
        IMPORT_ERRORS.append(f"pyenvector {_dist_version('pyenvector')} is installed; this suite needs "
                             f"{PYENVECTOR_VERSION}: {HOW_TO_INSTALL}")
except Exception as e:  # ImportError, or anything the native module raises
    evi = None  # type: ignore[assignment]
    IMPORT_ERRORS.append(f"pyenvector {PYENVECTOR_VERSION} cannot be imported ({type(e).__name__}: {e}): {HOW_TO_INSTALL}")

try:
    import envector_keys as ek
except Exception as e:
    ek = None  # type: ignore[assignment]
    IMPORT_ERRORS.append(f"our Python binding cannot be imported from {PKG} ({type(e).__name__}: {e}); "
                         "run `make build` first")


@pytest.fixture(scope="session", autouse=True)
def both_sdks() -> None:
    """Every test needs pyenvector 1.6.3, our binding over this checkout's library, and
    bin/envector-keygen: their absence is a failure, never a skip."""
    problems = list(IMPORT_ERRORS)
    if ek is not None and Path(ek.library_path).resolve() != LIB.resolve():
        problems.append(f"envector_keys loaded {ek.library_path} ({ek.library_from}), not this checkout's {LIB}; "
                        "unset ENVECTOR_LIB and run `make lib`")
    if not os.access(CLI, os.X_OK):
        problems.append(f"{CLI} is missing: run `make build`")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def evi_km() -> Any:
    """evi's KeyManager: the unwrap/wrap functions pyenvector's KeyManager calls."""
    return evi.KeyManager()


@pytest.fixture(scope="session")
def seal_info(sets: "KeySets") -> Any:
    """evi's seal description for the suite's KEK (the same raw 32-byte file as ours)."""
    return evi.SealInfo(evi.SealMode.AES_KEK, list(sets.kek.read_bytes()))


@pytest.fixture(scope="session")
def wrong_seal_info(sets: "KeySets") -> Any:
    return evi.SealInfo(evi.SealMode.AES_KEK, list(sets.wrong_kek.read_bytes()))


# ---- the key sets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySet:
    """One key set on disk: <key_path>/<key_id>/{SecKey,EncKey,EvalKey,MetadataKey}.json."""

    name: str
    key_path: Path
    key_id: str
    sealed: bool
    writer: str  # "ours" or "pyenvector"

    @property
    def dir(self) -> Path:
        return self.key_path / self.key_id

    def file(self, role: str) -> Path:
        return self.dir / f"{role}.json"

    def envelope(self, role: str) -> bytes:
        return self.file(role).read_bytes()

    def cli_args(self) -> List[str]:
        return ["--key_path", str(self.key_path), "--key_id", self.key_id]


@dataclass(frozen=True)
class KeySets:
    root: Path
    kek: Path  # 32 raw bytes: the same KEK to both SDKs (pyenvector takes a file's first 32 bytes)
    wrong_kek: Path
    by_name: Dict[str, KeySet]

    def __getitem__(self, name: str) -> KeySet:
        return self.by_name[name]


SEED = "5eed" * 32  # 64 bytes: our plain and sealed sets hold the same keys


@pytest.fixture(scope="session")
def sets(tmp_path_factory: pytest.TempPathFactory, both_sdks: None) -> Iterator[KeySets]:
    root = tmp_path_factory.mktemp("compat")
    kek = root / "kek.bin"
    kek.write_bytes(secrets.token_bytes(32))
    kek.chmod(0o600)
    wrong = root / "wrong-kek.bin"
    wrong.write_bytes(secrets.token_bytes(32))
    wrong.chmod(0o600)

    ours = root / "ours"
    made = {
        "ours": KeySet("ours", ours, "ours", False, "ours"),
        "ours-sealed": KeySet("ours-sealed", ours, "ourss", True, "ours"),
        "pyenvector": KeySet("pyenvector", root / "theirs", "pyk", False, "pyenvector"),
        "pyenvector-sealed": KeySet("pyenvector-sealed", root / "theirs", "pyks", True, "pyenvector"),
    }
    for ks in made.values():
        if ks.writer == "ours":
            args = [*ks.cli_args(), "--preset", "ip1", "--eval_mode", "rmp", "--dim", "32", "--seed", SEED, "--quiet"]
            if ks.sealed:
                args += ["--seal_mode", "aes", "--seal_key_path", str(kek)]
            r = run_cli(*args)
            assert r.returncode == 0, f"envector-keygen {' '.join(args)}: {text(r)}"
        else:
            from pyenvector.crypto.key_manager import KeyGenerator

            kw: Dict[str, Any] = dict(seal_mode="aes", seal_kek_path=str(kek)) if ks.sealed else {}
            # pyenvector writes into key_path itself: give it <key_path>/<key_id>, the
            # layout enVector's docs and our store use.
            KeyGenerator(key_path=str(ks.dir), key_id=ks.key_id, dim_list=[32], preset="ip1", eval_mode="rmp",
                         metadata_encryption=True, **kw).generate_keys()
        got = sorted(p.name for p in ks.dir.iterdir())
        assert got == sorted(f"{r}.json" for r in ROLES), f"{ks.name}: {got}"
    yield KeySets(root=root, kek=kek, wrong_kek=wrong, by_name=made)
    shutil.rmtree(root, ignore_errors=True)


# ---- suite rules -------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # No test collected or run is a failure (pytest's exit 5), never a silent pass.
    if exitstatus == 5:
        session.exitstatus = 1


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("skip") or item.get_closest_marker("skipif") or item.get_closest_marker("xfail"):
            raise pytest.UsageError(f"{item.nodeid}: tests of the compatibility suite are never skipped or xfailed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and call.excinfo is not None and not hasattr(rep, "wasxfail"):
        # pytest.skip() or importorskip inside a test or fixture: a failure here.
        rep.outcome = "failed"
        rep.longrepr = f"skipped at run time, which this suite does not allow: {call.excinfo.value}"


# ---- our side's key bytes ---------------------------------------------------------------------


def binding_key_bytes(ks: KeySet, kek: "bytes | None" = None) -> Dict[str, bytes]:
    """The key bytes of every role of ks as our binding gives them: the library loads the
    set (every envelope checked) and, with kek, unseals it (envector_unseal, the call
    KeyManager and init use inside; the binding has no public unseal), then each
    envelope's key_data."""
    import json

    from envector_keys import _ops

    from compat_helpers import BLOB, key_data

    with _ops.store_open(json.dumps({"key_store": "local", "key_path": str(ks.key_path)}).encode()) as st:
        loaded = st.load(ks.key_id.encode())
        assert loaded is not None
        with loaded:
            if kek is None:
                blobs = loaded.blobs()
            else:
                with loaded.unseal(kek) as plain:
                    assert not plain.sealed()
                    blobs = plain.blobs()
    return {role: key_data(blobs[BLOB[role]]) for role in ROLES}


# ---- our Go code on evi's bytes (the key-data tests) ------------------------------------------


@pytest.fixture(scope="session")
def core_helper(tmp_path_factory: pytest.TempPathFactory, both_sdks: None) -> Any:
    """core's test binary, built from this checkout (`go test -c ./core`): our Go code
    decrypting evi's ciphertexts (compat_helpers.CoreHelper)."""
    import subprocess

    from compat_helpers import ROOT, CoreHelper

    work = tmp_path_factory.mktemp("core-helper")
    binary = work / "core.test"
    go = os.environ.get("GO", "go")
    try:
        r = subprocess.run([go, "test", "-c", "-o", str(binary), "./core"], cwd=str(ROOT), capture_output=True,
                           text=True, timeout=600)
    except FileNotFoundError:
        pytest.fail(f"the Go toolchain ({go}) is not on PATH: it builds core's test binary", pytrace=False)
    if r.returncode != 0:
        pytest.fail(f"go test -c ./core failed (exit {r.returncode}):\n{r.stdout}\n{r.stderr}", pytrace=False)
    return CoreHelper(binary, work)
