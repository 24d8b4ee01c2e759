"""Metadata encryption with a key set's MetadataKey: encrypt_metadata / decrypt_metadata
(module functions and KeyManager methods) against the local store, plain and sealed,
with associated data; the refusals (wrong aad, key set or KEK, altered or malformed
token, non-UTF-8 metadata, no MetadataKey); the token format, checked with an
independent AES-GCM; and one round trip in AWS (moto)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict

import pytest

from helpers import SMALL, Moto, ek, kek_file

META: Dict[str, Any] = {"title": "secret-title", "저자": "김", "tags": ["a", "b"], "n": 3}
COMPACT = '{"title":"secret-title","저자":"김","tags":["a","b"],"n":3}'  # enVector's SDK's JSON


def make(tmp_path: Path, key_id: str, **kw: Any) -> None:
    ek.KeyGenerator(key_path=tmp_path, key_id=key_id, **SMALL, **kw).generate_keys()


def token_doc(token: str) -> Dict[str, str]:
    return json.loads(base64.b64decode(token, validate=True))


def raw_metadata_key(tmp_path: Path, key_id: str) -> bytes:
    doc = json.loads((tmp_path / key_id / "MetadataKey.json").read_bytes())
    return base64.b64decode(doc["entries"][0]["key_data"])


def test_round_trip_of_dicts_lists_text_and_bytes(tmp_path: Path) -> None:
    make(tmp_path, "idx")
    for value, text in [
        (META, COMPACT),
        ([1, "둘", None, {"k": True}], '[1,"둘",null,{"k":true}]'),
        ("plain text, 한글", "plain text, 한글"),
        (COMPACT.encode("utf-8"), COMPACT),
        (bytearray(b"from a bytearray"), "from a bytearray"),
        (memoryview(b"from a memoryview"), "from a memoryview"),
        ("", ""),
    ]:
        token = ek.encrypt_metadata(value, tmp_path, "idx")
        assert isinstance(token, str) and token.isascii() and "\n" not in token
        doc = token_doc(token)
        assert sorted(doc) == ["encrypted_data", "iv", "tag"]
        assert len(base64.b64decode(doc["iv"])) == 12 and len(base64.b64decode(doc["tag"])) == 16
        assert len(base64.b64decode(doc["encrypted_data"])) == len(text.encode("utf-8"))
        out = ek.decrypt_metadata(token, tmp_path, "idx")
        assert out == text and type(out) is str
        # The token as bytes, with a final newline (as read from a file), and its JSON form.
        assert ek.decrypt_metadata(token.encode() + b"\n", tmp_path, "idx") == text
        assert ek.decrypt_metadata(json.dumps(doc), tmp_path, "idx") == text
    # as_json gives back the value a dict or list was.
    token = ek.encrypt_metadata(META, str(tmp_path), key_id="idx")
    assert ek.decrypt_metadata(token, tmp_path, "idx", as_json=True) == META
    # A fresh IV each time.
    assert ek.encrypt_metadata(META, tmp_path, "idx") != token


def test_key_manager_methods_use_its_key_id_and_store(tmp_path: Path) -> None:
    make(tmp_path, "idx")
    make(tmp_path, "idx2")
    with ek.KeyManager(key_path=tmp_path, key_id="idx") as km:
        token = km.encrypt_metadata(META, aad="vec-1")
        assert km.decrypt_metadata(token, aad="vec-1", as_json=True) == META
        assert km.decrypt_metadata(token, aad=b"vec-1") == COMPACT  # str aad is its UTF-8 bytes
        other = km.encrypt_metadata("x", "idx2")
        assert ek.decrypt_metadata(other, tmp_path, "idx2") == "x"
    with pytest.raises(ek.ClosedError):
        km.encrypt_metadata("x")
    with pytest.raises(ek.InvalidArgumentError, match="key_id is required"):
        ek.KeyManager(key_path=tmp_path).encrypt_metadata("x")


def test_associated_data_must_match(tmp_path: Path) -> None:
    make(tmp_path, "idx")
    token = ek.encrypt_metadata(META, tmp_path, "idx", aad="vec-17")
    assert ek.decrypt_metadata(token, tmp_path, "idx", aad="vec-17", as_json=True) == META
    for wrong in ("vec-18", None, b""):
        with pytest.raises(ek.AuthenticationError, match="does not decrypt") as ei:
            ek.decrypt_metadata(token, tmp_path, "idx", aad=wrong)
        assert "secret-title" not in str(ei.value)
    plain = ek.encrypt_metadata(META, tmp_path, "idx")
    with pytest.raises(ek.AuthenticationError):
        ek.decrypt_metadata(plain, tmp_path, "idx", aad="vec-17")
    with pytest.raises(ek.InvalidArgumentError, match="aad must be str or bytes"):
        ek.encrypt_metadata(META, tmp_path, "idx", aad=17)  # type: ignore[arg-type]


def test_another_key_sets_metadata_key_does_not_decrypt(tmp_path: Path) -> None:
    make(tmp_path, "a")
    make(tmp_path, "b")
    token = ek.encrypt_metadata(META, tmp_path, "a")
    with pytest.raises(ek.AuthenticationError, match="another MetadataKey") as ei:
        ek.decrypt_metadata(token, tmp_path, "b")
    assert ei.value.code == "ENVECTOR_ERR_AUTH"
    assert "secret-title" not in str(ei.value)


def test_altered_and_malformed_tokens(tmp_path: Path) -> None:
    make(tmp_path, "idx")
    doc = token_doc(ek.encrypt_metadata(META, tmp_path, "idx"))
    for field in ("encrypted_data", "iv", "tag"):
        altered = dict(doc)
        v = altered[field]
        altered[field] = ("B" if v[0] == "A" else "A") + v[1:]
        token = base64.b64encode(json.dumps(altered).encode()).decode()
        with pytest.raises(ek.AuthenticationError, match="altered"):
            ek.decrypt_metadata(token, tmp_path, "idx")
    for bad in ("not a token!", "", "e30=", '{"iv": "AAAA"}', json.dumps({**doc, "extra": "1"})):
        with pytest.raises(ek.InvalidArgumentError, match="token") as ei:
            ek.decrypt_metadata(bad, tmp_path, "idx")
        assert ei.value.code == "ENVECTOR_ERR_INVALID_ARGUMENT"
    with pytest.raises(ek.InvalidArgumentError, match="token holds a NUL character"):
        ek.decrypt_metadata("abc\0def", tmp_path, "idx")
    with pytest.raises(ek.InvalidArgumentError, match="token must be str or bytes"):
        ek.decrypt_metadata(12, tmp_path, "idx")  # type: ignore[call-overload]


def test_metadata_that_is_not_utf8_text_or_json_is_refused(tmp_path: Path) -> None:
    make(tmp_path, "idx")
    with pytest.raises(ek.InvalidArgumentError, match="not UTF-8 text"):
        ek.encrypt_metadata(b"caf\xe9", tmp_path, "idx")
    with pytest.raises(ek.InvalidArgumentError, match="lone surrogate"):
        ek.encrypt_metadata("bad \ud800", tmp_path, "idx")
    for other in (3, ("a", "b"), {"a"}, None):
        with pytest.raises(ek.InvalidArgumentError, match="metadata must be str, UTF-8 bytes, or a dict or list"):
            ek.encrypt_metadata(other, tmp_path, "idx")  # type: ignore[arg-type]
    with pytest.raises(ek.InvalidArgumentError, match="cannot be written as JSON"):
        ek.encrypt_metadata({"x": float("nan")}, tmp_path, "idx")
    with pytest.raises(ek.InvalidArgumentError, match="cannot be written as JSON"):
        ek.encrypt_metadata({"x": object()}, tmp_path, "idx")
    # Decrypted text that is not JSON, with as_json; as_json must be a bool.
    token = ek.encrypt_metadata("not json", tmp_path, "idx")
    with pytest.raises(ek.CorruptDataError, match="the metadata is not JSON") as ei:
        ek.decrypt_metadata(token, tmp_path, "idx", as_json=True)
    assert "not json" not in str(ei.value)
    with pytest.raises(ek.InvalidArgumentError, match="as_json must be True or False"):
        ek.decrypt_metadata(token, tmp_path, "idx", as_json="yes")  # type: ignore[call-overload]


def test_sealed_metadata_key_needs_its_kek(tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    ek.init(key_path=tmp_path / "keys", key_id="sealed", seal_mode="aes", seal_kek_path=kek, **SMALL)
    keys = tmp_path / "keys"
    with pytest.raises(ek.InvalidArgumentError, match="MetadataKey of key set 'sealed' is sealed; give its KEK"):
        ek.encrypt_metadata(META, keys, "sealed")
    token = ek.encrypt_metadata(META, keys, "sealed", seal_kek_path=kek, aad="v")
    assert ek.decrypt_metadata(token, keys, "sealed", seal_kek_path=str(kek), aad="v", as_json=True) == META
    # The KEK in memory, as text or bytes.
    assert ek.decrypt_metadata(token, keys, "sealed", kek=kek.read_text(), aad="v") == COMPACT
    assert ek.decrypt_metadata(token, keys, "sealed", kek=bytearray(kek.read_bytes()), aad="v") == COMPACT
    with pytest.raises(ek.InvalidArgumentError, match="sealed"):
        ek.decrypt_metadata(token, keys, "sealed", aad="v")
    wrong = kek_file(tmp_path, name="wrong")
    with pytest.raises(ek.AuthenticationError, match='MetadataKey of key "sealed" does not unseal: wrong KEK') as ei:
        ek.decrypt_metadata(token, keys, "sealed", seal_kek_path=wrong, aad="v")
    assert "secret-title" not in str(ei.value)
    with pytest.raises(ek.NotFoundError, match="no KEK file"):
        ek.encrypt_metadata(META, keys, "sealed", seal_kek_path=tmp_path / "none")
    with pytest.raises(ek.InvalidArgumentError, match="give kek or seal_kek_path, not both"):
        ek.encrypt_metadata(META, keys, "sealed", seal_kek_path=kek, kek=kek.read_text())
    # A KEK given for an unsealed key set is not needed, and not in the way.
    make(tmp_path / "keys", "plain")
    assert ek.decrypt_metadata(ek.encrypt_metadata("t", keys, "plain", seal_kek_path=kek), keys, "plain") == "t"


def test_key_set_without_metadata_key(tmp_path: Path) -> None:
    make(tmp_path, "nometa", metadata_encryption=False)
    with pytest.raises(ek.NotFoundError, match=r"key set 'nometa' has no MetadataKey \(it was made with metadata_encryption=False\)"):
        ek.encrypt_metadata(META, tmp_path, "nometa")
    make(tmp_path, "idx")
    token = ek.encrypt_metadata(META, tmp_path, "idx")
    with pytest.raises(ek.NotFoundError, match="has no MetadataKey"):
        ek.decrypt_metadata(token, tmp_path, "nometa")
    with pytest.raises(ek.NotFoundError) as ei:
        ek.decrypt_metadata(token, tmp_path, "absent")
    assert "has no MetadataKey" not in str(ei.value) and "absent" in str(ei.value)


def test_the_token_is_enVectors_format_read_and_written_by_plain_aes_gcm(tmp_path: Path) -> None:
    # An independent AES-256-GCM (pyca/cryptography, which moto brings into build/venv)
    # with the raw MetadataKey opens our tokens, and makes tokens we open.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    make(tmp_path, "idx")
    key = raw_metadata_key(tmp_path, "idx")
    assert len(key) == 32
    doc = token_doc(ek.encrypt_metadata(META, tmp_path, "idx", aad="vec-1"))
    ct, iv, tag = (base64.b64decode(doc[k]) for k in ("encrypted_data", "iv", "tag"))
    assert AESGCM(key).decrypt(iv, ct + tag, b"vec-1").decode() == COMPACT

    iv = bytes(range(12))
    sealed = AESGCM(key).encrypt(iv, "외부 SDK".encode(), None)
    theirs = json.dumps({"encrypted_data": base64.b64encode(sealed[:-16]).decode(),
                         "iv": base64.b64encode(iv).decode(), "tag": base64.b64encode(sealed[-16:]).decode()})
    assert ek.decrypt_metadata(base64.b64encode(theirs.encode()), tmp_path, "idx") == "외부 SDK"
    assert ek.decrypt_metadata(theirs, tmp_path, "idx") == "외부 SDK"


def test_metadata_with_a_key_set_in_aws(moto: Moto, tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    keys = ek.KeyGenerator(key_id="m1", seal_mode="aes", seal_kek_path=kek, **SMALL).generate_keys_stream()
    aws: Dict[str, Any] = {"key_store": "aws", "region_name": moto.region}
    with ek.KeyManager(key_id="m1", **aws) as km:
        km.save(keys)
        token = km.encrypt_metadata(META, aad="v", seal_kek_path=kek)
    assert ek.decrypt_metadata(token, key_id="m1", aad="v", as_json=True, seal_kek_path=kek, **aws) == META
    with pytest.raises(ek.NotFoundError, match="metadata_blob"):
        ek.encrypt_metadata(META, key_id="m2", **aws)
