"""KeyGenerator with the KEK in memory (``kek``): the keys are made unsealed inside the
library, sealed there (envector_seal), and only then returned or written. A set sealed
this way opens with the same KEK in any form and from a file, refuses another, and its
public keys are those of the same keys unsealed."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any, Dict, List

import pytest

from helpers import SMALL, ek, tree

FILES = ["EncKey.json", "EvalKey.json", "MetadataKey.json", "SecKey.json"]


def entry(blob: Any) -> Dict[str, Any]:
    e: Dict[str, Any] = json.loads(blob)["entries"][0]
    return e


def forms(key: bytes) -> Dict[str, Any]:
    """The same KEK as each thing kek takes."""
    return {
        "bytes": key,
        "bytearray": bytearray(key),
        "memoryview": memoryview(key),  # read-only
        "hex str": key.hex(),
        "hex str + newline": key.hex() + "\n",
        "base64 str": base64.b64encode(key).decode(),
        "hex bytes": key.hex().encode(),
    }


@pytest.mark.parametrize("form", list(forms(bytes(32))))
def test_a_set_sealed_with_a_kek_in_memory_opens_with_it_and_its_file_and_refuses_another(tmp_path: Path, form: str) -> None:
    key = secrets.token_bytes(32)
    kek = forms(key)[form]
    keys = ek.KeyGenerator(key_id="m", kek=kek, **SMALL).generate_keys_stream()
    assert entry(keys["sec_blob"])["alg"] == "AES-KEK"
    assert entry(keys["metadata_blob"])["alg"] == "AES-256-GCM"
    assert "alg" not in entry(keys["enc_blob"]) and "alg" not in entry(keys["eval_blob"])
    kek_path = tmp_path / "kek.raw"
    kek_path.write_bytes(key)
    with ek.KeyManager(key_path=tmp_path / "keys", key_id="m") as km:
        km.save(keys)
        assert km.verify(kek=kek) is True
        assert km.verify(kek=key) is True
        assert km.verify(seal_kek_path=kek_path) is True
        with pytest.raises(ek.AuthenticationError, match=r'"m"'):
            km.verify(kek=secrets.token_bytes(32))
        with pytest.raises(ek.InvalidArgumentError, match="sealed"):
            km.verify()
        assert km.decrypt_metadata(km.encrypt_metadata("v", kek=kek), kek=kek_path.read_bytes()) == "v"


def test_generate_keys_with_a_kek_in_memory_writes_only_sealed_secrets(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    kek_path = tmp_path / "kek.hex"
    kek_path.write_text(key.hex() + "\n")
    ek.KeyGenerator(key_path=tmp_path / "keys", key_id="d", kek=key.hex(), **SMALL).generate_keys()
    d = tmp_path / "keys" / "d"
    assert sorted(p.name for p in d.iterdir()) == FILES
    assert entry((d / "SecKey.json").read_bytes())["alg"] == "AES-KEK"
    assert entry((d / "MetadataKey.json").read_bytes())["alg"] == "AES-256-GCM"
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    with ek.KeyManager(key_path=tmp_path / "keys", key_id="d") as km:
        assert km.verify(seal_kek_path=kek_path) is True
        assert km.verify(kek=bytearray(key)) is True
        with pytest.raises(ek.AuthenticationError):
            km.verify(kek=bytes(32))
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_sealing_leaves_the_public_keys_as_they_were(tmp_path: Path) -> None:
    # The same seed makes the same keys; sealed or not, EncKey and EvalKey are the same
    # bytes (made within one second: the envelopes record the time to the second).
    seed = bytes([9]) * 64
    for _ in range(5):
        plain = ek.KeyGenerator(key_id="p", seed=seed, **SMALL).generate_keys_stream()
        sealed = ek.KeyGenerator(key_id="p", seed=seed, kek=secrets.token_bytes(32), **SMALL).generate_keys_stream()
        if json.loads(plain["enc_blob"])["created_at"] == json.loads(sealed["enc_blob"])["created_at"]:
            break
    assert sealed["enc_blob"] == plain["enc_blob"]
    assert sealed["eval_blob"] == plain["eval_blob"]
    assert sealed["sec_blob"] != plain["sec_blob"]
    assert entry(sealed["sec_blob"])["key_data"] != entry(plain["sec_blob"])["key_data"]


def test_seal_mode_follows_the_kek_and_contradictions_are_refused_nothing_written(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    key = secrets.token_bytes(32)
    kek_path = tmp_path / "kek"
    kek_path.write_bytes(key)
    # A KEK without seal_mode means 'aes' (in memory or in a file); seal_mode='aes' (any case) too.
    for kw in ({"kek": key}, {"kek": key, "seal_mode": "aes"}, {"kek": key, "seal_mode": "AES"},  # type: ignore[dict-item]
               {"seal_kek_path": kek_path}):
        keys = ek.KeyGenerator(key_id="s", **kw, **SMALL).generate_keys_stream()  # type: ignore[call-overload]
        assert entry(keys["sec_blob"])["alg"] == "AES-KEK", kw
    r = ek.init(key_path=key_path, key_id="i", kek=key, **SMALL)
    assert r.sealed is True
    ek.KeyManager(key_path=key_path, key_id="i").delete()
    bad: List[Any] = [
        ({"kek": key, "seal_mode": "none"}, ek.InvalidArgumentError,
         r"^KeyGenerator: seal_mode is 'none' but kek is given: give seal_mode='aes' \(or leave seal_mode out\)"),
        ({"seal_kek_path": kek_path, "seal_mode": "none"}, ek.InvalidArgumentError, r"seal_mode is 'none' but seal_kek_path is given"),
        ({"kek": key, "seal_kek_path": kek_path}, ek.InvalidArgumentError, r"^KeyGenerator: give kek or seal_kek_path, not both"),
        ({"seal_mode": "aes"}, ek.InvalidArgumentError, r"^KeyGenerator: seal_mode='aes' needs the KEK: give kek .* or seal_kek_path"),
        ({"kek": 42}, ek.InvalidArgumentError, r"^KeyGenerator: kek must be bytes or str \(the KEK: 32 raw bytes, 64 hex"),
        ({"kek": ["k"]}, ek.InvalidArgumentError, r"kek must be bytes or str"),
    ]
    for kw, cls, pattern in bad:
        with pytest.raises(cls, match=pattern):
            ek.KeyGenerator(key_path=key_path, key_id="x", **kw, **SMALL)
        with pytest.raises(cls):
            ek.init(key_path=key_path, key_id="x", **kw, **SMALL)
    # A seal mode the library does not know is refused, KEK or not: never sealed silently.
    for kw in ({"kek": key, "seal_mode": "rsa"}, {"seal_mode": "rsa"}):
        with pytest.raises(ek.InvalidArgumentError, match=r'^KeyGenerator\.generate_keys: options: seal_mode "rsa" is not accepted'):
            ek.KeyGenerator(key_path=key_path, key_id="x", **kw, **SMALL).generate_keys()  # type: ignore[call-overload]
    assert tree(key_path) == [], "nothing written"


#: KEKs in no accepted form, as each thing kek takes: a wrong length, not hex, not base64.
SECRET = "ab" * 31  # 62 hex characters
MALFORMED: Dict[str, Any] = {
    "31 bytes": bytes(31),
    "33 bytes": b"\x01" * 33,
    "62 hex characters": SECRET,
    "not hex (str)": "zz" * 32,
    "not hex (bytes)": b"zz" * 32,
    "not hex (bytearray)": bytearray(b"zz" * 32),
    "not hex (memoryview)": memoryview(b"zz" * 32),
    "hex + two newlines": "ab" * 32 + "\n\n",
    "URL-safe base64": base64.urlsafe_b64encode(b"\xff" * 32).decode(),
    "base64 of 33 bytes": base64.b64encode(bytes(33)).decode(),
}


@pytest.mark.parametrize("form", list(MALFORMED))
def test_a_kek_in_no_accepted_form_is_refused_by_the_constructor_before_any_key_is_made(tmp_path: Path, form: str) -> None:
    # The defaults (ip3, mm32, every dim: ~15 s to make) with key_path set: the
    # constructor refuses the KEK, so no KeyGenerator exists to make or write anything.
    key_path = tmp_path / "keys"
    with pytest.raises(ek.InvalidArgumentError, match=r"^KeyGenerator: kek: .*accepted: exactly 32 raw bytes") as ei:
        ek.KeyGenerator(key_path=key_path, key_id="x", kek=MALFORMED[form])
    assert ei.value.code == "ENVECTOR_ERR_INVALID_ARGUMENT"
    assert SECRET not in str(ei.value) and "zzzz" not in str(ei.value) and "____" not in str(ei.value), "the KEK is not echoed"
    assert tree(key_path) == [] and not key_path.exists(), "nothing written"


def test_a_kek_checked_by_the_constructor_is_still_checked_when_sealing(tmp_path: Path) -> None:
    # A bytearray is used as it is, not copied: changed after the constructor, it is
    # refused when sealing (after the keys were made in memory), before anything is written.
    key_path = tmp_path / "keys"
    with pytest.raises(ek.InvalidArgumentError, match=r"^KeyGenerator: kek is empty; accepted: 32 raw bytes"):
        ek.KeyGenerator(key_path=key_path, key_id="x", kek=b"")
    for gen in (lambda g: g.generate_keys(), lambda g: g.generate_keys_stream()):
        kek = bytearray(b"ab" * 32)
        g = ek.KeyGenerator(key_path=key_path, key_id="x", kek=kek, **SMALL)
        kek[0:2] = b"zz"
        with pytest.raises(ek.InvalidArgumentError, match=r"^KeyGenerator\.generate_keys(_stream)?: kek: 64 characters that are not all hex"):
            gen(g)
    assert tree(key_path) == [], "nothing written"


def test_reseal_names_the_new_kek_when_it_is_malformed_and_changes_nothing(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    first = secrets.token_bytes(32)
    with ek.KeyManager(key_path=key_path, key_id="r") as km:
        km.save(ek.KeyGenerator(key_id="r", **SMALL).generate_keys_stream())
        before = {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()}
        for bad in (bytes(31), SECRET, "zz" * 32):
            with pytest.raises(ek.InvalidArgumentError, match=r"^KeyManager\.reseal: new_kek: .*accepted: exactly 32 raw bytes") as ei:
                km.reseal(bad)
            assert SECRET not in str(ei.value) and "zzzz" not in str(ei.value)
            with pytest.raises(ek.InvalidArgumentError, match=r"^KeyManager\.reseal: new_kek: "):
                km.reseal(new_kek=bad)
        bad_file = tmp_path / "bad.kek"
        bad_file.write_text("zz" * 32 + "\n")
        with pytest.raises(ek.InvalidArgumentError, match=r"^KeyManager\.reseal: new_seal_kek_path: 64 characters that are not all hex"):
            km.reseal(new_seal_kek_path=bad_file)
        assert {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()} == before, "unchanged"
        # Sealed: a malformed current KEK is still `kek`, a malformed new one `new_kek`.
        km.reseal(first)
        sealed = km.load()
        with pytest.raises(ek.InvalidArgumentError, match=r"^KeyManager\.reseal: kek: a KEK of 31 bytes is not accepted"):
            km.reseal(secrets.token_bytes(32), kek=bytes(31))
        with pytest.raises(ek.InvalidArgumentError, match=r"^KeyManager\.reseal: new_kek: a KEK of 31 bytes is not accepted"):
            km.reseal(bytes(31), kek=first)
        assert km.load() == sealed, "a refused reseal changes nothing"
        assert km.verify(kek=first) is True


def test_the_kek_is_not_shown_not_kept_in_copies_and_the_callers_buffer_is_not_wiped(tmp_path: Path) -> None:
    from envector_keys._api import _kek_bytes

    key = secrets.token_bytes(32)
    mine = bytearray(key)
    gen = ek.KeyGenerator(key_path=tmp_path, key_id="w", kek=mine, **SMALL)
    assert key.hex() not in repr(gen) and "kek=" not in repr(gen) and "bytearray" not in repr(gen)
    gen.generate_keys()
    assert mine == key, "the caller's bytearray is the caller's: not wiped"
    with ek.KeyManager(key_path=tmp_path, key_id="w") as km:
        assert km.verify(kek=mine) is True
        assert mine == key
        km.encrypt_metadata("m", kek=mine)
        km.rotate(kek=mine, **SMALL)
        assert mine == key
    # The copies made here (of a str, a read-only memoryview, a file) are wiped after use.
    kek_path = tmp_path / "kek"
    kek_path.write_bytes(key)
    for given, path in ((key.hex(), None), (memoryview(key), None), (None, kek_path)):
        with _kek_bytes("t", given, path) as k:
            assert k is not None and len(k) in (32, 64)
            copy = k
        assert isinstance(copy, bytearray) and not any(copy), f"{type(given).__name__}: the copy is wiped"
    with _kek_bytes("t", mine, None) as k:
        assert k is mine
    assert mine == key
