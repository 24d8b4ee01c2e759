"""Helpers of the compatibility suite: where things are, the two SDKs side by side, and
enVector's envelope arithmetic (what evi recomputes when it loads a key).

Both SDKs run in this one process: pyenvector 1.6.3 (its native module `evi`) from the
compat virtual environment (`make compat-deps`), and our Python binding, envector_keys,
imported from bindings/python of this checkout with the library `make lib` built. The
Go CLI is bin/envector-keygen (`make bin`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "bindings" / "python"
CLI = ROOT / "bin" / "envector-keygen"
LIB = ROOT / "build" / "cmake" / "lib" / "libenvector.so.0"
COMPAT_WHEELS = ROOT / "build" / "compat-wheels"
PYENVECTOR_VERSION = "1.6.3"
HOW_TO_INSTALL = (
    "run `make compat-deps` at the repository root (a virtual environment build/compat-venv with "
    f"pyenvector=={PYENVECTOR_VERSION} from PyPI), then run the suite with build/compat-venv/bin/python "
    "(`make compat` does both)"
)

if str(PKG) not in sys.path:
    sys.path.insert(0, str(PKG))

#: Roles in file order, with evi's unwrap function and whether the role is a secret.
ROLES = ("SecKey", "EncKey", "EvalKey", "MetadataKey")
SECRET = ("SecKey", "MetadataKey")
UNWRAP = {
    "SecKey": "unwrap_sec_key_bytes",
    "EncKey": "unwrap_enc_key_bytes",
    "EvalKey": "unwrap_eval_key_bytes",
    "MetadataKey": "unwrap_metadata_key_bytes",
}
BLOB = {"SecKey": "sec_blob", "EncKey": "enc_blob", "EvalKey": "eval_blob", "MetadataKey": "metadata_blob"}
# The role word of evi's integrity value ("<kid>:<short>:integrity").
EVI_SHORT = {"SecKey": "sec", "EncKey": "enc", "EvalKey": "eval", "MetadataKey": "metadata"}


def key_data(envelope: bytes) -> bytes:
    """The key bytes (base64-decoded key_data) of an envelope, as stored."""
    return base64.b64decode(json.loads(envelope)["entries"][0]["key_data"], validate=True)


def canonical(doc: Any) -> bytes:
    """JSON as enVector and we write it: keys sorted, compact, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def evi_aad(doc: Dict[str, Any]) -> str:
    """enVector's aad value: SHA-256 of the canonical JSON of kid, usage, requester,
    created_at and expires_at (the members present)."""
    fields = {k: doc[k] for k in ("kid", "usage", "requester", "created_at", "expires_at") if k in doc}
    return b64sha256(canonical(fields))


def evi_integrity(kid: str, role: str) -> str:
    """enVector's integrity value: SHA-256 of "<kid>:<role>:integrity" (evi does not check it)."""
    return b64sha256(f"{kid}:{EVI_SHORT[role]}:integrity".encode("utf-8"))


def recompute_evi_digests(doc: Dict[str, Any], role: str) -> None:
    """Makes every digest enVector's format defines agree with doc again (aad, integrity,
    each entry's hash), leaving ours (envector_keys.digest and .mac) as they were."""
    if isinstance(doc.get("aad"), dict):
        doc["aad"]["value"] = evi_aad(doc)
    if isinstance(doc.get("integrity"), dict) and isinstance(doc.get("kid"), str):
        doc["integrity"]["value"] = evi_integrity(doc["kid"], role)
    for e in doc.get("entries") or []:
        if isinstance(e, dict) and "key_data" in e and isinstance(e.get("hash"), dict):
            e["hash"]["value"] = b64sha256(base64.b64decode(e["key_data"]))


def edited(envelope: bytes) -> Dict[str, Any]:
    """A deep copy of an envelope's JSON, to edit."""
    return copy.deepcopy(json.loads(envelope))


def run_cli(*args: str, stdin: Optional[bytes] = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """bin/envector-keygen with args; never raises on a non-zero exit."""
    return subprocess.run([str(CLI), *args], input=stdin if stdin is not None else b"", capture_output=True,
                          timeout=timeout)


def text(r: subprocess.CompletedProcess) -> str:
    """A CompletedProcess as text, for assertion messages."""
    return (f"exit {r.returncode}\n--- stdout\n{r.stdout.decode(errors='replace')}\n"
            f"--- stderr\n{r.stderr.decode(errors='replace')}")


def user_env() -> Dict[str, str]:
    """An environment pointing at nothing of this checkout (for installed packages)."""
    drop = ("ENVECTOR_LIB", "PYTHONPATH", "ENVECTOR_SOURCE_ROOT", "VIRTUAL_ENV", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def files(d: Path) -> List[str]:
    return sorted(p.name for p in d.iterdir())


def our_digest(doc: Dict[str, Any]) -> str:
    """Our unkeyed digest (envector_keys.digest): SHA-256 of the canonical JSON of the
    envelope with key_data empty and without the digest and MAC themselves."""
    d = copy.deepcopy(doc)
    for e in d.get("entries") or []:
        e["key_data"] = ""
    for k in ("digest", "mac"):
        d.get("envector_keys", {}).pop(k, None)
    return b64sha256(canonical(d))
