"""pyenvector 1.6.3's key files in our SDK: `envector-keygen inspect` reads them and says
who wrote them; our binding loads (and, sealed, unseals with the same raw KEK file) key
bytes equal to what evi unwraps; a wrong KEK is an authentication failure."""

from __future__ import annotations

import json
import re

import pytest

from compat_helpers import BLOB, ROLES, SECRET, UNWRAP, key_data, run_cli, text
from conftest import KeySets, binding_key_bytes, ek

THEIRS = ["pyenvector", "pyenvector-sealed"]
EVI_DIALECT = "envelope: enVector SDK"
EVI_KEYS = "key data: enVector's own (evi) layout"


@pytest.mark.parametrize("which", THEIRS)
def test_inspect_reads_pyenvector_files_and_names_the_dialect(sets: KeySets, which: str) -> None:
    ks = sets[which]
    r = run_cli("inspect", *ks.cli_args())
    assert r.returncode == 0, text(r)
    out = r.stdout.decode()
    assert f'Key set "{ks.key_id}"' in out and EVI_DIALECT in out and EVI_KEYS in out, out
    assert re.search(r"preset IP1\b", out, re.I), out
    for role in ROLES:
        line = next((ln for ln in out.splitlines() if ln.split()[:1] == [role]), None)
        assert line is not None, f"no {role} line:\n{out}"
        if role == "SecKey":
            assert ("sealed AES-KEK" if ks.sealed else "plain (not sealed)") in line, line
        elif role == "MetadataKey":
            assert ("sealed AES-256-GCM" if ks.sealed else "plain (not sealed)") in line, line
        else:
            assert "plain" in line and "sealed" not in line, line


def test_inspect_names_our_own_dialect_too(sets: KeySets) -> None:
    r = run_cli("inspect", *sets["ours"].cli_args())
    assert r.returncode == 0, text(r)
    assert "envelope: envector-keys" in r.stdout.decode() and EVI_DIALECT not in r.stdout.decode(), text(r)


@pytest.mark.parametrize("role", ROLES)
def test_binding_loads_pyenvector_plain_files_to_evis_key_bytes(sets: KeySets, evi_km, role: str) -> None:
    ks = sets["pyenvector"]
    env = ks.envelope(role)
    want = bytes(getattr(evi_km, UNWRAP[role])(env))
    with ek.KeyManager(key_path=ks.key_path, key_id=ks.key_id) as km:
        blobs = km.load()
    # Loaded as stored: the same JSON (pyenvector indents its MetadataKey.json, and our
    # library returns that one compact), byte for byte where the file is compact.
    blob = blobs[BLOB[role]]
    assert json.loads(blob) == json.loads(env)
    if not env.startswith(b"{\n"):
        assert blob == env
    assert key_data(blob) == want
    assert binding_key_bytes(ks)[role] == want


@pytest.mark.parametrize("role", ROLES)
def test_binding_unseals_pyenvector_sealed_files_to_evis_key_bytes(sets: KeySets, evi_km, seal_info, role: str) -> None:
    ks = sets["pyenvector-sealed"]
    env = ks.envelope(role)
    fn = getattr(evi_km, UNWRAP[role])
    want = bytes(fn(env, seal_info)) if role in SECRET else bytes(fn(env))
    got = binding_key_bytes(ks, kek=sets.kek.read_bytes())[role]
    assert got == want, f"{role}: our unsealed bytes differ from evi's"
    if role in SECRET:
        assert key_data(env) != want  # it was sealed on disk
    if role == "SecKey":
        assert len(got) == 1029 and got[:5] == b"\x01IP1\x00"


@pytest.mark.parametrize("which", THEIRS)
def test_verify_with_the_right_kek_proves_pyenvectors_keys(sets: KeySets, which: str) -> None:
    """With the right KEK (or none needed) verify unseals pyenvector's set and proves its
    keys belong together, from the CLI and from the binding."""
    ks = sets[which]
    kek = ["--seal_key_path", str(sets.kek)] if ks.sealed else []
    r = run_cli("verify", *ks.cli_args(), *kek)
    assert r.returncode == 0, text(r)
    assert "key-switching keys in EVIKeys" in r.stdout.decode(), text(r)
    with ek.KeyManager(key_path=ks.key_path, key_id=ks.key_id) as km:
        assert km.verify(seal_kek_path=sets.kek if ks.sealed else None) is True


@pytest.mark.parametrize("which", ["pyenvector-sealed", "ours-sealed"])
def test_verify_with_a_wrong_kek_is_an_authentication_failure(sets: KeySets, which: str) -> None:
    ks = sets[which]
    wrong = sets.wrong_kek
    r = run_cli("verify", *ks.cli_args(), "--seal_key_path", str(wrong))
    err = r.stderr.decode()
    assert r.returncode == 5, text(r)  # authentication failed
    assert "does not unseal: wrong KEK" in err and f'"{ks.key_id}"' in err, text(r)
    with ek.KeyManager(key_path=ks.key_path, key_id=ks.key_id) as km:
        with pytest.raises(ek.AuthenticationError, match="does not unseal: wrong KEK"):
            km.verify(seal_kek_path=wrong)


def test_binding_unseal_with_a_wrong_kek_is_an_authentication_failure(sets: KeySets) -> None:
    with pytest.raises(ek.AuthenticationError, match=r'SecKey of key "pyks" does not unseal: wrong KEK'):
        binding_key_bytes(sets["pyenvector-sealed"], kek=sets.wrong_kek.read_bytes())
