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


# ---- enVector's key data (evi's layout): the key-data tests -----------------------------------

#: log2 of evi's scale of an ITEM (a database vector) at either level, per preset: what a
#: decryption of evi's ciphertext must be scaled by.
EVI_ITEM_SCALE_LOG2 = {"IP0": 24.0, "IP1": 32.415, "IP2": 30.415, "IP3": 28.415, "QF0": 25.0, "QF1": 25.0}


def evis_archive(archive: "bytes | memoryview") -> Dict[str, Any]:
    """The files of an "EVIS" 0x01 archive (an EvalKey's key data): 'D' entries (u64 length,
    path) and 'F' entries (u64 length, path, i64 size, bytes), read strictly: anything
    that does not parse to the last byte raises ValueError. Given a memoryview, the files
    are views into it (no copies of a 0.9 GB key)."""
    if archive[:5] != b"EVIS\x01":
        raise ValueError(f"not an EVIS archive: starts with {archive[:5]!r}")
    out: Dict[str, bytes] = {}
    off = 5
    while off < len(archive):
        kind = archive[off:off + 1]
        if kind not in (b"D", b"F") or off + 9 > len(archive):
            raise ValueError(f"entry at byte {off}: kind {kind!r}")
        n = int.from_bytes(archive[off + 1:off + 9], "little")
        path = bytes(archive[off + 9:off + 9 + n]).decode("utf-8")
        off += 9 + n
        if kind == b"F":
            size = int.from_bytes(archive[off:off + 8], "little", signed=True)
            off += 8
            if size < 0 or off + size > len(archive):
                raise ValueError(f"{path}: size {size} past the end")
            if path in out:
                raise ValueError(f"{path}: twice")
            out[path] = archive[off:off + size]
            off += size
    if off != len(archive):
        raise ValueError("archive ends inside an entry")
    return out


def evikeys_rank(path: str) -> int:
    """The rank in a file name EVIKeys<rank>.bin."""
    assert path.startswith("EVIKeys") and path.endswith(".bin"), path
    return int(path[len("EVIKeys"):-len(".bin")])


def evi_rank_of_dim(mode: str, dim: int) -> int:
    """Which EVIKeys<rank>.bin holds the keys evi uses for a dimension: RMP the inner rank
    max(32, 2^floor(log2(dim)/2)), FLAT the dimension, SINGLE, MM and MM32 32."""
    mode = mode.upper()
    if mode == "RMP":
        return max(32, 1 << ((dim.bit_length() - 1) // 2))
    if mode == "FLAT":
        return dim
    return 32


def scale_fit(cts: List[List[int]], v: List[float]) -> "tuple[float, float]":
    """What our Go code decrypted (a list of ciphertexts, each a list of integer
    coefficients) against the vector v encrypted: the ciphertexts hold v in chunks of
    len(v)/len(cts) leading coefficients each. Returns log2 of the least-squares scale
    and the largest error after dividing by it (inf when the scale is 0)."""
    import math

    r = len(v) // len(cts)
    c = [float(x) for ct in cts for x in ct[:r]]
    delta = sum(x * y for x, y in zip(c, v)) / sum(y * y for y in v)
    if delta == 0:
        return float("-inf"), float("inf")
    return math.log2(abs(delta)), max(abs(x / delta - y) for x, y in zip(c, v))


class CoreHelper:
    """Our Go code's view of evi's bytes, through core's test binary (`go test -c ./core`)
    and its TestEVICrossHelper, driven by environment variables: "decrypt" decodes an evi
    SecKey and decrypts an evi ciphertext (evi.Query.serializeTo) with it."""

    def __init__(self, binary: Path, work: Path) -> None:
        self.binary = binary
        self.work = work

    def run(self, **env: str) -> str:
        e = dict(os.environ)
        e.update(env)
        r = subprocess.run([str(self.binary), "-test.run", "^TestEVICrossHelper$", "-test.v", "-test.count=1"],
                           cwd=str(ROOT / "core"), env=e, capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or "--- PASS: TestEVICrossHelper" not in r.stdout:
            raise AssertionError(f"core's TestEVICrossHelper ({env.get('EVI_CROSS')}) failed: exit {r.returncode}\n"
                                 f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r.stdout

    def decrypt(self, preset: str, sec_key: bytes, ciphertext: bytes) -> List[List[int]]:
        """The coefficients (per ciphertext) our Go code decrypts from evi's ciphertext
        with the raw evi SecKey sec_key."""
        import tempfile

        with tempfile.TemporaryDirectory(dir=self.work) as d:
            sec, ct, out = Path(d, "SecKey.bin"), Path(d, "ct.bin"), Path(d, "m.json")
            sec.write_bytes(sec_key)
            sec.chmod(0o600)
            ct.write_bytes(ciphertext)
            self.run(EVI_CROSS="decrypt", EVI_CROSS_PRESET=preset.upper(), EVI_CROSS_SECKEY=str(sec),
                     EVI_CROSS_CT=str(ct), EVI_CROSS_OUT=str(out))
            return json.loads(out.read_text())


def sha256_file(p: Path) -> str:
    """The hex SHA-256 of a file, read a block at a time (key files are up to 1.2 GB)."""
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()
