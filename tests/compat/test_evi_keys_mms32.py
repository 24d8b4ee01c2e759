"""ip3/mms32, the eval mode pyenvector's Python KeyGenerator makes by default: 4,096
automorphism keys and, after them, the keys of four sub-secrets (forward, off-diagonal,
backward), an 892 MB EvalKey made by our CLI, against evi:

- evi unwraps our EvalKey envelope, parses its EVIKeys32.bin (every section: evi refuses
  a file cut short and re-saves one with a changed section count at another size) and
  writes it back byte for byte; our archive holds what evi's own generator writes for
  IP3/MMS32 (its size and metadata-eval.json);
- pyenvector's Key API loads the set as ip3/mms32;
- `envector-keygen verify` proves the set: every sub-secret is recovered from its
  backward key, and every key checks out under SecKey.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Iterator, Tuple

import pytest

from compat_helpers import evis_archive, run_cli, sha256_file, text
from conftest import KeySet, evi

KEY_ID = "mms32"
EVI_MMS32_FILE = "EVIKeys32.bin"
EVI_MMS32_SIZE = 892_043_286  # evi 1.6.3's own IP3/MMS32 file: the MM32 keys and 2,850,822 bytes of extras


@pytest.fixture(scope="module")
def mms32(tmp_path_factory: pytest.TempPathFactory, both_sdks: None, evi_km: Any) -> Iterator[Tuple[KeySet, bytes]]:
    root = tmp_path_factory.mktemp("evi-mms32")
    ours = KeySet("ours-mms32", root / "ours", KEY_ID, False, "ours")
    r = run_cli(*ours.cli_args(), "--preset", "ip3", "--eval_mode", "mms32", "--quiet", timeout=600)
    assert r.returncode == 0, text(r)
    yield ours, bytes(evi_km.unwrap_eval_key_bytes(ours.envelope("EvalKey")))
    shutil.rmtree(root, ignore_errors=True)


def test_evi_parses_our_mms32_key_and_writes_it_back_byte_identical(mms32: Tuple[KeySet, bytes], tmp_path: Path) -> None:
    _, archive = mms32
    files = evis_archive(memoryview(archive))
    assert sorted(files) == [EVI_MMS32_FILE, "metadata-eval.json"]
    meta = json.loads(bytes(files["metadata-eval.json"]))
    assert (meta["EvalMode"], meta["ParameterPreset"]) == ("MMS32", "IP3")
    body = files[EVI_MMS32_FILE]
    assert len(body) == EVI_MMS32_SIZE
    ctx = evi.Context(evi.ParameterPreset.IP3, evi.DeviceType.CPU, 32, evi.EvalMode.MMS32)
    kp = evi.KeyPack(ctx)
    kp.load_eval_key_stream(bytes(body))
    out = tmp_path / EVI_MMS32_FILE
    kp.save_eval_key_file(str(out))
    del kp
    try:
        assert out.stat().st_size == len(body)
        assert sha256_file(out) == hashlib.sha256(body).hexdigest(), "evi parsed our MMS32 keys into something else"
    finally:
        out.unlink()


def test_pyenvector_key_api_loads_our_mms32_set(mms32: Tuple[KeySet, bytes]) -> None:
    from pyenvector.key import Key

    ours, _ = mms32
    key = Key.from_local(str(ours.key_path), KEY_ID, preset="ip3", eval_mode="mms32", load=["enc", "sec", "metadata"],
                         metadata_encryption=True)
    assert key.can_encrypt and key.can_decrypt


def test_our_verify_proves_our_mms32_set(mms32: Tuple[KeySet, bytes]) -> None:
    ours, _ = mms32
    r = run_cli("verify", *ours.cli_args(), timeout=600)
    assert r.returncode == 0 and "verified" in r.stdout.decode(), text(r)
