"""Bad inputs: the right exception class, code and status, a message that says what is
wrong and what is accepted, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Type

import pytest

from helpers import SMALL, ek, kek_file, tree


def expect(fn: Callable[[], object], cls: Type[ek.EnvectorError], pattern: str) -> ek.EnvectorError:
    with pytest.raises(cls, match=pattern) as ei:
        fn()
    e = ei.value
    assert type(e).__name__ == cls.__name__ or isinstance(e, cls)
    assert isinstance(e, ek.EnvectorError)
    assert e.code.startswith("ENVECTOR_ERR_")
    assert isinstance(e.status, int)
    return e


def test_error_classes_map_the_c_status_codes() -> None:
    from envector_keys.errors import error_from_status

    table = [
        (ek.InvalidArgumentError, 1, "ENVECTOR_ERR_INVALID_ARGUMENT"),
        (ek.NotFoundError, 2, "ENVECTOR_ERR_NOT_FOUND"),
        (ek.AlreadyExistsError, 3, "ENVECTOR_ERR_ALREADY_EXISTS"),
        (ek.AuthenticationError, 4, "ENVECTOR_ERR_AUTH"),
        (ek.CorruptDataError, 5, "ENVECTOR_ERR_CORRUPT"),
        (ek.StorageIOError, 6, "ENVECTOR_ERR_IO"),
        (ek.RemoteStoreError, 7, "ENVECTOR_ERR_REMOTE"),
        (ek.InternalError, 8, "ENVECTOR_ERR_INTERNAL"),
        (ek.KeyInactiveError, 9, "ENVECTOR_ERR_KEY_INACTIVE"),
    ]
    for cls, status, code in table:
        e = error_from_status(status, "m")
        assert type(e) is cls
        assert (e.status, e.code, str(e)) == (status, code, "m")
        assert isinstance(e, ek.EnvectorError) and isinstance(e, Exception)
    unknown = error_from_status(42, "m")
    assert type(unknown) is ek.InternalError
    assert unknown.status == 42 and unknown.code == "ENVECTOR_ERR_INTERNAL"
    assert "unknown status 42" in str(unknown)
    assert issubclass(ek.ClosedError, ek.InvalidArgumentError)
    assert issubclass(ek.ForkedProcessError, ek.EnvectorError)
    assert issubclass(ek.InvalidArgumentError, ValueError)


BAD_KEY_OPTIONS = [
    ({"preset": "ip9"}, r'unknown preset "ip9"; accepted: ip0, ip1, ip2, ip3 \(default\)'),
    ({"preset": "ip4"}, r"preset ip4 is not supported"),
    ({"preset": "ip1", "eval_mode": "mm32"}, r"eval mode mm32 does not go with preset ip1; accepted with ip1: mm, rmp, flat, mms"),
    ({"dim_list": [33]}, r"dim 33 is not accepted; accepted: powers of two from 32 to 4096"),
    ({"dim_list": [8192]}, r"dim 8192 is not accepted"),
    ({"dim_list": []}, r"dim_list is empty"),
    ({"dim_list": "all"}, r"dim_list must be an array of integers"),
    ({"eval_mode": "xx"}, r'unknown eval mode "xx"; accepted: mm32 \(default with ip3\), mm \(default with ip1, ip2\), rmp'),
    ({"eval_mode": "mms32", "preset": "qf0"}, r"mms and mms32 with qf0 are read, not yet generated"),
    ({"seal_mode": "rsa"}, r'seal_mode "rsa" is not accepted; accepted: none, aes'),
    ({"seal_mode": "aes"}, r"seal_mode='aes' needs the KEK: give kek \(the KEK itself: 32 raw bytes.*\) or seal_kek_path"),
    ({"metadata_encryption": "yes"}, r"metadata_encryption must be True or False, not 'yes'"),
    ({"seed": "abc"}, r"seed must be a string of exactly 128 hexadecimal characters"),
    ({"seed": b"abc"}, r"seed must be 64 bytes \(or 128 hex characters\); got 3 bytes"),
    ({"key_id": "../escape"}, r'key id "../escape" is not accepted; accepted: 1 to 128 letters'),
]


@pytest.mark.parametrize("opts,pattern", BAD_KEY_OPTIONS, ids=[next(iter(o)) + "=" + repr(next(iter(o.values()))) for o, _ in BAD_KEY_OPTIONS])
def test_key_generator_bad_options_are_invalid_argument_and_nothing_is_written(tmp_path: Path, opts: dict, pattern: str) -> None:
    kw = {"key_id": "a", **SMALL, **opts}

    def gen() -> ek.KeyGenerator:
        return ek.KeyGenerator(key_path=tmp_path, **kw)

    expect(lambda: gen().generate_keys(), ek.InvalidArgumentError, pattern)
    expect(lambda: gen().generate_keys_stream(), ek.InvalidArgumentError, pattern)
    expect(lambda: ek.init(key_path=tmp_path, **kw), ek.InvalidArgumentError, pattern)
    assert tree(tmp_path) == [], "nothing written"


def test_argument_mistakes_caught_in_python(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="keyid"):
        ek.KeyGenerator(keyid="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="auto_key_setup_"):
        ek.init(key_id="x", auto_key_setup_=False)  # type: ignore[call-arg]
    expect(lambda: ek.KeyGenerator(), ek.InvalidArgumentError, r"KeyGenerator: key_id is required")
    expect(lambda: ek.KeyGenerator(key_id=""), ek.InvalidArgumentError, r"key_id is required .* got an empty string")
    expect(lambda: ek.init(), ek.InvalidArgumentError, r"init: key_id is required")
    expect(lambda: ek.init(key_id="x", register="http://server"), ek.InvalidArgumentError, r"register must be callable")  # type: ignore[arg-type]
    expect(lambda: ek.init(key_id="x", auto_key_setup="no"), ek.InvalidArgumentError, r"auto_key_setup must be True or False")  # type: ignore[arg-type]
    expect(lambda: ek.KeyGenerator(key_id="a", key_path=42), ek.InvalidArgumentError, r"key_path must be a path")  # type: ignore[arg-type]
    expect(lambda: ek.KeyGenerator(key_id="a", dim_list={32}).generate_keys_stream(), ek.InvalidArgumentError,
           r"options cannot be written as JSON")  # type: ignore[arg-type]
    expect(lambda: ek.KeyManager(key_store="gcs").list_keys(), ek.InvalidArgumentError, r'key_store "gcs" is not accepted; accepted: local, aws')
    expect(lambda: ek.KeyManager(key_store="aws").list_keys(), ek.InvalidArgumentError, r"no AWS region given")
    assert tree(tmp_path) == []


def test_kek_files_missing_malformed_31_bytes_never_truncated(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"

    def gen(p: Path, **kw: object) -> ek.KeyGenerator:
        return ek.KeyGenerator(key_path=key_path, key_id="a", seal_kek_path=p, **{"seal_mode": "aes", **SMALL, **kw})

    e = expect(lambda: gen(tmp_path / "no-such-kek").generate_keys(), ek.NotFoundError, "no-such-kek")
    assert e.code == "ENVECTOR_ERR_NOT_FOUND"
    bad = {
        "short31": b"\x01" * 31,
        "long": b"ab" * 33 + b"\n",
        "two-newlines": b"ab" * 32 + b"\n\n",
        "not-hex": b"zz" * 32 + b"\n",
    }
    for name, data in bad.items():
        p = tmp_path / name
        p.write_bytes(data)
        e = expect(lambda: gen(p).generate_keys(), ek.InvalidArgumentError, r"32 raw bytes.*64 hexadecimal.*base64")
        assert "abab" not in str(e) and "zzzz" not in str(e), "the KEK is not echoed"
    e = expect(lambda: gen(tmp_path / "short31").generate_keys_stream(), ek.InvalidArgumentError, r"a KEK of 31 bytes is not accepted")
    # A KEK file with seal_mode none is refused too: no plain keys by mistake.
    expect(lambda: gen(kek_file(tmp_path), seal_mode="none").generate_keys(), ek.InvalidArgumentError, "seal_mode")
    assert tree(key_path) == [], "nothing written"


def test_a_non_empty_output_directory_is_already_exists_and_untouched(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    e = expect(lambda: ek.KeyGenerator(key_path=tmp_path, key_id="idx", **SMALL).generate_keys(), ek.AlreadyExistsError, str(d))
    assert e.status == 3
    assert tree(tmp_path) == ["idx", "idx/notes.txt"]
    expect(lambda: ek.init(key_path=tmp_path, key_id="idx", **SMALL), ek.AlreadyExistsError, "idx")
    assert tree(tmp_path) == ["idx", "idx/notes.txt"]


def test_wrong_kek_on_verify_and_init_is_authentication_error_nothing_changed(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    kek = kek_file(tmp_path)
    ek.init(key_path=key_path, key_id="s", seal_mode="aes", seal_kek_path=kek, **SMALL)
    before = {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()}
    wrong = kek_file(tmp_path, "base64", "wrong")
    with ek.KeyManager(key_path=key_path, key_id="s") as km:
        e = expect(lambda: km.verify(seal_kek_path=wrong), ek.AuthenticationError, r"SecKey|MetadataKey")
        assert '"s"' in str(e), "the message names the key id"
        expect(lambda: km.verify(kek=b"\x00" * 31), ek.InvalidArgumentError, r"31 bytes")
        expect(lambda: km.verify(kek="k", seal_kek_path=kek), ek.InvalidArgumentError, r"not both")
        expect(lambda: km.verify(kek=42), ek.InvalidArgumentError, r"kek must be bytes or str")  # type: ignore[arg-type]
        expect(lambda: km.verify(seal_kek_path=tmp_path / "nope"), ek.NotFoundError, r"no KEK file at .*nope")
    expect(lambda: ek.init(key_path=key_path, key_id="s", seal_mode="aes", seal_kek_path=wrong), ek.AuthenticationError, "SecKey|MetadataKey")
    assert {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()} == before


def test_key_manager_refuses_corrupt_foreign_or_mislabelled_blobs(tmp_path: Path) -> None:
    keys = ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream()
    with ek.KeyManager(key_path=tmp_path, key_id="k") as km:
        flipped = bytearray(keys["eval_blob"])
        i = flipped.index(b'"key_data":"') + 40
        flipped[i] = 0x42 if flipped[i] == 0x41 else 0x41
        expect(lambda: km.save({**keys, "eval_blob": bytes(flipped)}), ek.CorruptDataError, "EvalKey")
        expect(lambda: km.save({**keys, "enc_blob": keys["eval_blob"]}), ek.CorruptDataError, "EncKey")
        expect(lambda: km.save({**keys, "sec_blob": b'{"kid": "k"} trailing'}), ek.CorruptDataError, "SecKey")
        expect(lambda: km.save(keys, key_id="other"), ek.CorruptDataError, r'"k", not "other"')
        expect(lambda: km.save({**keys, "sec_blob": "text"}), ek.InvalidArgumentError, r"sec_blob must be bytes")
        expect(lambda: km.save({}), ek.InvalidArgumentError, r"no key blob given")
        expect(lambda: km.save({"secBlob": keys["sec_blob"]}), ek.InvalidArgumentError, r"unknown key 'secBlob' in keys; accepted: sec_blob")
        expect(lambda: km.save([keys["sec_blob"]]), ek.InvalidArgumentError, r"keys must be a mapping")  # type: ignore[arg-type]
        expect(lambda: km.load(roles=["PrivateKey"]), ek.InvalidArgumentError,
               r"unknown role 'PrivateKey'; accepted: SecKey, EncKey, EvalKey, MetadataKey")
        expect(lambda: km.load(roles="EncKey"), ek.InvalidArgumentError, r"roles must be a non-empty list")  # type: ignore[arg-type]
        expect(lambda: km.load(roles=[]), ek.InvalidArgumentError, r"roles must be a non-empty list")
        expect(lambda: km.delete(immediate="yes"), ek.InvalidArgumentError, r"immediate must be True or False")  # type: ignore[arg-type]
    assert tree(tmp_path) == [], "nothing written"


def test_per_key_methods_without_a_key_id_say_so(tmp_path: Path) -> None:
    with ek.KeyManager(key_path=tmp_path) as km:
        for name, op in [("load", km.load), ("verify_key_id", km.verify_key_id), ("delete", km.delete), ("verify", km.verify),
                         ("save", lambda: km.save({}))]:
            expect(op, ek.InvalidArgumentError, rf"KeyManager\.{name}: key_id is required")
        expect(lambda: km.load(key_id="bad/id"), ek.InvalidArgumentError, r'key id "bad/id" is not accepted')
        expect(lambda: km.load(key_id="absent"), ek.NotFoundError, "absent")
    expect(lambda: ek.KeyManager(key_id=""), ek.InvalidArgumentError, "key_id is required")


def test_a_local_store_that_cannot_be_written_is_storage_io_error(tmp_path: Path) -> None:
    f = tmp_path / "not-a-directory"
    f.write_text("x")
    e = expect(lambda: ek.KeyGenerator(key_path=f, key_id="a", **SMALL).generate_keys(), ek.StorageIOError, "not a directory")
    assert str(f) in str(e) and e.code == "ENVECTOR_ERR_IO"
    assert f.read_text() == "x"


def test_messages_never_hold_the_seed(tmp_path: Path) -> None:
    seed = "ab" * 64
    e = expect(lambda: ek.KeyGenerator(key_id="a", seed=seed, dim_list=[33]).generate_keys_stream(), ek.InvalidArgumentError, "dim 33")
    assert seed not in str(e)
    assert json.dumps(seed) not in repr(e)


def test_messages_never_repeat_a_long_value(tmp_path: Path) -> None:
    """A key id, option value, role, blob name or path of ~1 MB (the options JSON is at
    most 1 MiB): whichever layer refuses it, the message is about 1 KB at most."""
    long = "k" * ((1 << 20) - 1024)
    longer = "k" * (1 << 20)  # a key id goes to the library as a C string, not JSON

    def short(fn: Callable[[], object], cls: Type[ek.EnvectorError] = ek.EnvectorError) -> None:
        with pytest.raises(cls) as ei:
            fn()
        m = str(ei.value)
        assert len(m) < 1100 and long[:600] not in m, f"a {len(m)}-character message: {m[:200]!r}..."

    def gen(**kw: object) -> ek.KeyGenerator:
        return ek.KeyGenerator(**{"key_path": tmp_path, "key_id": "a", **SMALL, **kw})  # type: ignore[arg-type]

    short(lambda: gen(key_id=long).generate_keys_stream(), ek.InvalidArgumentError)
    for opt in ("preset", "eval_mode", "seal_mode", "seed"):
        short(lambda: gen(**{opt: long}).generate_keys_stream(), ek.InvalidArgumentError)
    short(lambda: gen(dim_list=[long]).generate_keys_stream(), ek.InvalidArgumentError)
    short(lambda: gen(seal_mode="aes", seal_kek_path=tmp_path / long).generate_keys_stream())
    short(lambda: gen(key_path=tmp_path / long).generate_keys())
    short(lambda: ek.KeyManager(key_store=long).list_keys(), ek.InvalidArgumentError)
    short(lambda: ek.KeyManager(key_store="aws", region_name=long).list_keys(), ek.InvalidArgumentError)
    short(lambda: ek.KeyManager(key_path=tmp_path / long).list_keys())
    with ek.KeyManager(key_path=tmp_path) as km:
        short(lambda: km.load(key_id=longer), ek.InvalidArgumentError)
        short(lambda: km.verify_key_id(key_id=longer), ek.InvalidArgumentError)
        short(lambda: km.delete(key_id=longer), ek.InvalidArgumentError)
        short(lambda: km.load(key_id="a", roles=[long]), ek.InvalidArgumentError)
        short(lambda: km.load(key_id="a", roles=longer), ek.InvalidArgumentError)  # type: ignore[arg-type]
        short(lambda: km.save({long: b"{}"}, key_id="a"), ek.InvalidArgumentError)
        short(lambda: km.verify(key_id="a", seal_kek_path=tmp_path / long))
    assert tree(tmp_path) == [], "nothing written"
