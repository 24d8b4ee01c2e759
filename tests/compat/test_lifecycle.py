"""The life of a key set across the two SDKs: states, reseal and rotation.

- Our state changes are enVector's: evi refuses our deactivated and destroyed files with
  its own state error, and our destroyed secrets are evi's tombstones (no key_data, iv,
  tag or hash), which evi reads as such.
- enVector's state changes of its own files are read here: inspect shows the state and
  reason, and a load for use is refused (exit status 3, "not active").
- enVector's state change of one of our files is refused here as an edit, naming it: our
  digest (and on sealed secrets our MAC) does not follow a change made without the KEK.
- Our reseal is enVector's KEK rotation: evi unwraps the resealed secrets with the new
  KEK to the same key bytes, and refuses the old KEK; our key_version count is accepted.
- Our rotation keeps the documented names for the current set, which evi loads; the
  earlier version is deactivated, and evi refuses it.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

import pytest

from compat_helpers import ROLES, SECRET, UNWRAP, key_data, run_cli, text

EVI_STATE = r"is in state '(deactivated|destroyed)'; unwrap is not allowed"
EXIT_INACTIVE = 3


def generate(root: Path, key_id: str, kek: Path) -> Path:
    r = run_cli("generate", "--key_path", str(root), "--key_id", key_id, "--preset", "ip0", "--eval_mode", "single",
                "--seal_mode", "aes", "--seal_key_path", str(kek), "--quiet")
    assert r.returncode == 0, text(r)
    return root / key_id


def unwrap(evi_km, role: str, blob: bytes, info):
    fn = getattr(evi_km, UNWRAP[role])
    return bytes(fn(blob, info)) if role in SECRET else bytes(fn(blob))


@pytest.fixture()
def kek(tmp_path: Path) -> Path:
    p = tmp_path / "kek.bin"
    p.write_bytes(secrets.token_bytes(32))
    p.chmod(0o600)
    return p


def seal_info_of(evi, path: Path):
    return evi.SealInfo(evi.SealMode.AES_KEK, list(path.read_bytes()))


def test_evi_refuses_our_deactivated_and_destroyed_sets(tmp_path: Path, kek: Path, evi_km) -> None:
    import evi

    d = generate(tmp_path / "keys", "k", kek)
    info = seal_info_of(evi, kek)
    before = {r: unwrap(evi_km, r, (d / f"{r}.json").read_bytes(), info) for r in ROLES}
    r = run_cli("state", "--key_path", str(tmp_path / "keys"), "--key_id", "k", "--to", "deactivated",
                "--reason", "suspected leak", "--compromised", "--seal_key_path", str(kek))
    assert r.returncode == 0, text(r)
    for role in ROLES:
        doc = json.loads((d / f"{role}.json").read_bytes())
        assert doc["state"]["value"] == "deactivated" and doc["state"]["reason"] == "compromised: suspected leak"
        with pytest.raises(RuntimeError, match=EVI_STATE):
            unwrap(evi_km, role, (d / f"{role}.json").read_bytes(), info)
    r = run_cli("state", "--key_path", str(tmp_path / "keys"), "--key_id", "k", "--to", "destroyed",
                "--reason", "retired", "--seal_key_path", str(kek))
    assert r.returncode == 0, text(r)
    for role in ROLES:
        blob = (d / f"{role}.json").read_bytes()
        entry = json.loads(blob)["entries"][0]
        if role in SECRET:
            assert not {"key_data", "iv", "tag", "hash"} & entry.keys(), f"{role}: a tombstone"
        else:
            assert key_data(blob) == before[role], f"{role}: public keys are kept, as enVector keeps them"
        with pytest.raises(RuntimeError, match=EVI_STATE):
            unwrap(evi_km, role, blob, info)


def test_we_read_states_enVector_changed_on_its_own_files(tmp_path: Path, sets) -> None:
    import evi

    theirs = sets["pyenvector-sealed"]
    root = tmp_path / "evi"
    d = root / theirs.key_id
    shutil.copytree(theirs.dir, d)
    km = evi.KeyManager(evi.KeyStorageConfig.make_local(evi.LocalConfig()))
    for role in ROLES:
        path = str(d / f"{role}.json")
        if role in SECRET:
            km.deactivate_sec_key(path, "rotated by evi")
        else:
            km.deactivate_pub_key(path, "rotated by evi")
    r = run_cli("inspect", "--key_path", str(root), "--key_id", theirs.key_id)
    assert r.returncode == 0, text(r)
    assert "deactivated" in r.stdout.decode()
    r = run_cli("state", "--key_path", str(root), "--key_id", theirs.key_id)
    assert r.returncode == 0, text(r)
    assert "deactivated" in r.stdout.decode() and "rotated by evi" in r.stdout.decode()
    r = run_cli("verify", "--key_path", str(root), "--key_id", theirs.key_id, "--seal_key_path", str(sets.kek))
    assert r.returncode == EXIT_INACTIVE, text(r)
    assert "not active" in r.stderr.decode()
    # evi's own tombstones read too.
    km.destroy_sec_key(str(d / "SecKey.json"), "gone")
    r = run_cli("inspect", "--key_path", str(root), "--key_id", theirs.key_id)
    assert r.returncode == 0, text(r)
    assert "destroyed" in r.stdout.decode()


def test_enVector_state_change_of_our_file_is_refused_as_an_edit(tmp_path: Path, kek: Path) -> None:
    import evi

    d = generate(tmp_path / "keys", "k", kek)
    km = evi.KeyManager(evi.KeyStorageConfig.make_local(evi.LocalConfig()))
    km.deactivate_sec_key(str(d / "SecKey.json"), "by evi")
    r = run_cli("inspect", "--key_path", str(tmp_path / "keys"), "--key_id", "k")
    assert r.returncode != 0, text(r)
    assert "the envector-keys digest does not match" in r.stderr.decode()
    assert "enVector's SDK" in r.stderr.decode() and "envector-keygen state" in r.stderr.decode()


def test_our_reseal_is_enVector_kek_rotation(tmp_path: Path, kek: Path, evi_km) -> None:
    import evi

    d = generate(tmp_path / "keys", "k", kek)
    old = {r: unwrap(evi_km, r, (d / f"{r}.json").read_bytes(), seal_info_of(evi, kek)) for r in SECRET}
    new = tmp_path / "kek2.bin"
    new.write_bytes(secrets.token_bytes(32))
    r = run_cli("reseal", "--key_path", str(tmp_path / "keys"), "--key_id", "k", "--seal_key_path", str(kek),
                "--new_seal_key_path", str(new))
    assert r.returncode == 0, text(r)
    for role in SECRET:
        blob = (d / f"{role}.json").read_bytes()
        assert json.loads(blob)["key_version"] == "2"
        assert unwrap(evi_km, role, blob, seal_info_of(evi, new)) == old[role], f"{role}: the same key under the new KEK"
        with pytest.raises(RuntimeError):
            unwrap(evi_km, role, blob, seal_info_of(evi, kek))


def test_our_rotation_keeps_documented_names(tmp_path: Path, kek: Path, evi_km) -> None:
    import evi

    d = generate(tmp_path / "keys", "k", kek)
    r = run_cli("rotate", "--key_path", str(tmp_path / "keys"), "--key_id", "k", "--seal_key_path", str(kek))
    assert r.returncode == 0, text(r)
    assert sorted(p.name for p in d.iterdir()) == ["EncKey.json", "EvalKey.json", "MetadataKey.json", "SecKey.json", "versions"]
    info = seal_info_of(evi, kek)
    for role in ROLES:
        unwrap(evi_km, role, (d / f"{role}.json").read_bytes(), info)  # the current set loads in evi
        with pytest.raises(RuntimeError, match=EVI_STATE):
            unwrap(evi_km, role, (d / "versions" / "1" / f"{role}.json").read_bytes(), info)
    r = run_cli("inspect", "--key_path", str(tmp_path / "keys"), "--key_id", "k", "--version", "1")
    assert r.returncode == 0, text(r)
    assert re.search(r"deactivated", r.stdout.decode())
