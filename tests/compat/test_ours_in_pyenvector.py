"""Our key files in enVector's SDK: pyenvector 1.6.3's unwrap functions (evi's
KeyManager, which pyenvector's KeyManager calls) load every role of our envelopes, plain
and sealed under the same raw 32-byte KEK file, and give exactly our key bytes."""

from __future__ import annotations

import base64
import json

import pytest

from compat_helpers import ROLES, SECRET, UNWRAP, key_data
from conftest import KeySets, binding_key_bytes


@pytest.mark.parametrize("role", ROLES)
def test_evi_unwraps_our_plain_envelopes_to_our_key_bytes(sets: KeySets, evi_km, role: str) -> None:
    ks = sets["ours"]
    env = ks.envelope(role)
    got = bytes(getattr(evi_km, UNWRAP[role])(env))
    assert got == key_data(env), f"{role}: evi's key bytes differ from our key_data"
    # ... which are what our binding loads.
    assert got == binding_key_bytes(ks)[role]
    if role == "SecKey":  # evi's SecKey layout: 0x01, "IP1\0", 4096 2-bit codes
        assert len(got) == 1029 and got[:5] == b"\x01IP1\x00"
    if role == "MetadataKey":
        assert len(got) == 32


@pytest.mark.parametrize("role", ROLES)
def test_evi_unwraps_our_sealed_envelopes_to_our_unsealed_key_bytes(sets: KeySets, evi_km, seal_info, role: str) -> None:
    ks = sets["ours-sealed"]
    env = ks.envelope(role)
    fn = getattr(evi_km, UNWRAP[role])
    got = bytes(fn(env, seal_info)) if role in SECRET else bytes(fn(env))
    ours = binding_key_bytes(ks, kek=sets.kek.read_bytes())[role]  # our library's unseal
    assert got == ours, f"{role}: evi's unsealed bytes differ from ours"
    # The same seed made the plain set: the same keys, byte for byte.
    assert got == key_data(sets["ours"].envelope(role))
    entry = json.loads(env)["entries"][0]
    if role == "SecKey":
        assert (entry["name"], entry["alg"]) == ("seckey.sealed", "AES-KEK")
        assert key_data(env) != ours
    elif role == "MetadataKey":
        assert (entry["name"], entry["alg"]) == ("metadatakey", "AES-256-GCM")
        blob = key_data(env)
        assert blob[:5] == b"EVIS\x01" and base64.b64decode(entry["iv"]) in blob and ours not in blob
    else:
        assert "alg" not in entry and key_data(env) == ours


WRONG_KEK = {
    "SecKey": "Failed to unseal secret key: AES-GCM tag verification failed",
    "MetadataKey": "Failed to decrypt sealed metadata key with provided KEK",
}


@pytest.mark.parametrize("role", SECRET)
def test_evi_refuses_our_sealed_secrets_under_another_kek(sets: KeySets, evi_km, wrong_seal_info, role: str) -> None:
    with pytest.raises(RuntimeError) as e:
        getattr(evi_km, UNWRAP[role])(sets["ours-sealed"].envelope(role), wrong_seal_info)
    assert WRONG_KEK[role] in str(e.value), str(e.value)


@pytest.mark.parametrize("which", ["ours", "ours-sealed"])
def test_pyenvector_key_manager_unwraps_our_key_stream(sets: KeySets, seal_info, which: str) -> None:
    """pyenvector's own KeyManager.unwrap_key_stream (what its SDK runs on blobs from a
    store) takes our four envelopes at once."""
    from pyenvector.crypto.key_manager import KeyManager

    ks = sets[which]
    blobs = {"sec_blob": ks.envelope("SecKey"), "enc_blob": ks.envelope("EncKey"), "eval_blob": ks.envelope("EvalKey"),
             "metadata_blob": ks.envelope("MetadataKey")}
    got = KeyManager().unwrap_key_stream(blobs, seal_info=seal_info if ks.sealed else None)
    plain = sets["ours"]  # the same keys, unsealed
    for role, k in (("SecKey", "sec_blob"), ("EncKey", "enc_blob"), ("EvalKey", "eval_blob"), ("MetadataKey", "metadata_blob")):
        assert bytes(got[k]) == key_data(plain.envelope(role)), f"{which} {role}"


def test_pyenvector_resolves_our_metadata_key_files(sets: KeySets) -> None:
    """pyenvector's metadata functions find the key in our MetadataKey.json, plain and
    sealed (with the KEK file), as they do in their own."""
    from pyenvector.utils.aes import resolve_metadata_key

    want = key_data(sets["ours"].envelope("MetadataKey"))
    assert resolve_metadata_key(str(sets["ours"].file("MetadataKey"))) == want
    assert resolve_metadata_key(str(sets["ours-sealed"].file("MetadataKey")), kek=str(sets.kek)) == want
