"""The default key set, as pyenvector 1.6.3 makes it by default: preset ip3, eval mode
mm32, every dim (an 889 MB EvalKey: 4,096 automorphism keys), made by our CLI with no
preset, mode or dim flags, against evi:

- evi unwraps our EvalKey envelope (checking its hash over the streamed 1.19 GB file),
  parses the EVIKeys32.bin of its archive and writes it back byte for byte; our archive holds
  what evi's own generator writes for IP3/MM32 (its size and metadata-eval.json);
- evi encrypts with our EncKey and decrypts with our SecKey, and our Go code decrypts
  evi's ciphertext; a SecKey of another set does not decrypt; pyenvector's Key API loads
  the set as ip3/mm32 and its MM encryptor takes our EncKey;
- `envector-keygen verify` proves the set, and names the EvalKey when SecKey and EncKey
  of another default set with the same key id are swapped in (so the 4,096 MM keys are
  what fails).

One set (plus the other one, made while evi unwraps the first) for the whole module: it
takes ~15 s to make on our side and evi ~30 s to unwrap.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from compat_helpers import CLI, EVI_ITEM_SCALE_LOG2, evis_archive, run_cli, scale_fit, sha256_file, text
from conftest import KeySet, evi

KEY_ID = "mm32"
DIMS = [32, 64, 128, 256, 512, 1024, 2048, 4096]
# What evi 1.6.3's own MultiKeyGenerator writes for IP3/MM32 (any dims): one EVIKeys32.bin
# of 889,192,468 bytes (header, 4,096 keys of 2 digits x 4 primes, a trailer).
EVI_MM32_FILE = "EVIKeys32.bin"
EVI_MM32_SIZE = 889_192_468
OK, WRONG = 1e-3, 0.1


@dataclass
class MM32:
    ours: KeySet
    other: KeySet  # another default set with the same key id
    sec: bytes
    enc: bytes
    eval: bytes  # the archive, as evi unwraps it


@pytest.fixture(scope="module")
def mm32(tmp_path_factory: pytest.TempPathFactory, both_sdks: None, evi_km: Any) -> Iterator[MM32]:
    root = tmp_path_factory.mktemp("evi-mm32")
    ours = KeySet("ours-mm32", root / "ours", KEY_ID, False, "ours")
    other = KeySet("other-mm32", root / "other", KEY_ID, False, "ours")
    r = run_cli(*ours.cli_args(), "--quiet", timeout=600)  # the defaults: ip3, mm32, every dim
    assert r.returncode == 0, text(r)
    # The other set is made while evi unwraps ours.
    gen = subprocess.Popen([str(CLI), *other.cli_args(), "--quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        m = MM32(ours, other, bytes(evi_km.unwrap_sec_key_bytes(ours.envelope("SecKey"))),
                 bytes(evi_km.unwrap_enc_key_bytes(ours.envelope("EncKey"))),
                 bytes(evi_km.unwrap_eval_key_bytes(ours.envelope("EvalKey"))))
    finally:
        out, err = gen.communicate(timeout=600)
    assert gen.returncode == 0, f"envector-keygen {' '.join(other.cli_args())}: exit {gen.returncode}\n{err.decode()}"
    yield m
    shutil.rmtree(root, ignore_errors=True)


def test_defaults_make_what_evi_writes_for_ip3_mm32(mm32: MM32) -> None:
    files = evis_archive(memoryview(mm32.eval))
    assert sorted(files) == [EVI_MM32_FILE, "metadata-eval.json"]
    meta = bytes(files["metadata-eval.json"])
    assert json.loads(meta) == {"EvalMode": "MM32", "ParameterPreset": "IP3", "Ranks": DIMS}
    assert meta == (json.dumps({"EvalMode": "MM32", "ParameterPreset": "IP3", "Ranks": DIMS}, indent=4) + "\n").encode()
    assert len(files[EVI_MM32_FILE]) == EVI_MM32_SIZE
    assert files[EVI_MM32_FILE][:6] == b"\x03EVIS\x01"
    assert mm32.sec[:5] == b"\x01IP3\x00" and mm32.enc[:10] == b"\x02IP3\x00EVIS\x01"


def test_evi_parses_our_mm32_key_and_writes_it_back_byte_identical(mm32: MM32, tmp_path: Path) -> None:
    body = evis_archive(memoryview(mm32.eval))[EVI_MM32_FILE]
    ctx = evi.Context(evi.ParameterPreset.IP3, evi.DeviceType.CPU, 32, evi.EvalMode.MM32)
    kp = evi.KeyPack(ctx)
    kp.load_eval_key_stream(bytes(body))
    out = tmp_path / EVI_MM32_FILE
    kp.save_eval_key_file(str(out))
    del kp
    try:
        assert out.stat().st_size == len(body)
        assert sha256_file(out) == hashlib.sha256(body).hexdigest(), "evi parsed our MM32 keys into something else"
    finally:
        out.unlink()
    # (That evi's parse refuses a file cut short is shown on the small sets: a second
    # 0.9 GB parse would cost the suite ~8 s.) And the EncKey:
    kp = evi.KeyPack(ctx)
    kp.load_enc_key_stream(mm32.enc)
    kp.save_enc_key_file(str(tmp_path / "EncKey.bin"))
    assert (tmp_path / "EncKey.bin").read_bytes() == mm32.enc


def test_evi_and_our_go_code_decrypt_with_our_sec_key(mm32: MM32, evi_km: Any, core_helper: Any) -> None:
    # evi encrypts in RMP contexts only (an MM context refuses); the EncKey is the same.
    ctx = evi.Context(evi.ParameterPreset.IP3, evi.DeviceType.CPU, 32, evi.EvalMode.RMP)
    kp = evi.KeyPack(ctx)
    kp.load_enc_key_stream(mm32.enc)
    other = bytes(evi_km.unwrap_sec_key_bytes(mm32.other.envelope("SecKey")))
    rng = random.Random("mm32")
    v = [rng.uniform(-1, 1) for _ in range(32)]
    none = evi.SealInfo(evi.SealMode.NONE)
    for et, lvl in (("ITEM", 0), ("ITEM", 1), ("QUERY", 0)):
        q = evi.Encryptor(ctx).encrypt(v, kp, getattr(evi.EncodeType, et), lvl)
        m = list(evi.Decryptor(ctx).decrypt(q, evi.SecretKey(mm32.sec, none)))
        assert max(abs(a - b) for a, b in zip(m, v)) < OK, f"{et} level {lvl}"
        m = list(evi.Decryptor(ctx).decrypt(q, evi.SecretKey(other, none)))
        assert max(abs(a - b) for a, b in zip(m, v)) > WRONG, f"{et} level {lvl}: another set's SecKey decrypts it"
        if et == "ITEM":
            ct = evi.Query.serializeTo(q)
            scale, err = scale_fit(core_helper.decrypt("IP3", mm32.sec, ct), v)
            assert err < OK and abs(scale - EVI_ITEM_SCALE_LOG2["IP3"]) < 0.01, f"level {lvl}: 2^{scale:.4f}, {err:.3g}"
            _, err = scale_fit(core_helper.decrypt("IP3", other, ct), v)
            assert err > WRONG, f"level {lvl}: another set's SecKey decrypts it in our Go code"


def test_pyenvector_key_api_loads_our_default_set_and_encrypts_for_the_server(mm32: MM32) -> None:
    """pyenvector's Key API takes our set as ip3/mm32 (the preset read from our envelopes)
    and its MM encryptor (encrypt_row, the rows its client sends) takes our EncKey. In an
    MM mode pyenvector decrypts nothing client-side: decryption is shown above."""
    from pyenvector import errors
    from pyenvector.key import Key

    # EvalKey left out: pyenvector's client only sends it to the server.
    load = ["enc", "sec", "metadata"]
    key = Key.from_local(str(mm32.ours.key_path), KEY_ID, preset="ip3", eval_mode="mm32", load=load,
                         metadata_encryption=True)
    assert key.can_encrypt and key.can_decrypt
    rng = random.Random("pyenvector mm32")
    rows = [[rng.uniform(-1, 1) for _ in range(32)] for _ in range(3)]
    block = key.of(32).encrypt_row(rows)
    assert block.num_vectors == 3 and all(bytes(d)[:5] == b"EVIS\x06" for d in block.data)
    with pytest.raises(errors.KeyConfigurationError, match="preset mismatch"):
        Key.from_local(str(mm32.ours.key_path), KEY_ID, preset="ip1", eval_mode="mm", load=load, metadata_encryption=True)


def test_our_verify_proves_our_default_set(mm32: MM32) -> None:
    r = run_cli("verify", *mm32.ours.cli_args(), timeout=600)
    assert r.returncode == 0 and "verified" in r.stdout.decode(), text(r)


def test_our_verify_names_mm32_eval_keys_of_another_set(mm32: MM32, tmp_path: Path) -> None:
    """SecKey and EncKey of the other set (they belong together), EvalKey of ours: only the
    MM keys can tell."""
    mixed = KeySet("mixed", tmp_path, KEY_ID, False, "ours")
    mixed.dir.mkdir()
    for role in ("SecKey", "EncKey", "MetadataKey"):
        shutil.copyfile(mm32.other.file(role), mixed.file(role))
    os.link(mm32.ours.file("EvalKey"), mixed.file("EvalKey"))  # 1.19 GB: not copied
    try:
        r = run_cli("verify", *mixed.cli_args(), timeout=600)
    finally:
        shutil.rmtree(mixed.dir)  # pytest keeps tmp_path: the link would keep 1.19 GB alive
    err = r.stderr.decode()
    assert r.returncode == 1 and "EvalKey" in err and "verified" not in r.stdout.decode(), text(r)
    assert "panic" not in err and "goroutine" not in err, text(r)
