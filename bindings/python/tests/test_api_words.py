"""Messages in the words of this package: an error names the Python method that was
called and the arguments as a Python caller spells them, never the C function or C
option behind it; and every option that is True or False takes only a bool."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, List, Tuple, Type

import pytest

from helpers import SMALL, ek, kek_file, tree

#: A C function of include/envector.h named in a message ("envector_keys", the envelope
#: member, is not one).
C_FUNCTION = re.compile(r"\benvector_(?!keys\b)[a-z]+(?:_[a-z]+)*")


def failure(fn: Callable[[], object], cls: Type[ek.EnvectorError]) -> str:
    with pytest.raises(cls) as ei:
        fn()
    return str(ei.value)


def test_library_errors_name_the_python_method_called_not_the_c_function(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    kek = kek_file(tmp_path)
    keys = ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream()
    sealed = ek.KeyGenerator(key_id="s", seal_kek_path=kek, **SMALL).generate_keys_stream()
    with ek.KeyManager(key_path=key_path, key_id="k") as km:
        km.save(keys)
        km.save(sealed, key_id="s")
        cases: List[Tuple[str, Callable[[], object], Type[ek.EnvectorError]]] = [
            ("KeyGenerator.generate_keys", lambda: ek.KeyGenerator(key_path, "a", [33]).generate_keys(),
             ek.InvalidArgumentError),
            ("KeyGenerator.generate_keys_stream", lambda: ek.KeyGenerator(key_id="a", preset="ip9").generate_keys_stream(),  # type: ignore[call-overload]
             ek.InvalidArgumentError),
            ("KeyManager.open", lambda: ek.KeyManager(key_store="gcs").open(), ek.InvalidArgumentError),  # type: ignore[arg-type]
            ("KeyManager.list_keys", lambda: ek.KeyManager(key_store="aws").list_keys(), ek.InvalidArgumentError),
            ("KeyManager.list_sets", lambda: ek.KeyManager(key_store="gcs").list_sets(), ek.InvalidArgumentError),  # type: ignore[arg-type]
            ("KeyManager.save", lambda: km.save(keys), ek.AlreadyExistsError),
            ("KeyManager.save", lambda: km.save({**keys, "sec_blob": b"{}"}, key_id="x"), ek.CorruptDataError),
            ("KeyManager.load", lambda: km.load(key_id="absent"), ek.NotFoundError),
            ("KeyManager.load", lambda: km.load(key_id="absent", roles=["EncKey"]), ek.NotFoundError),
            ("KeyManager.delete", lambda: km.delete(key_id="absent"), ek.NotFoundError),
            ("KeyManager.verify_key_id", lambda: km.verify_key_id("bad/id"), ek.InvalidArgumentError),
            ("KeyManager.verify", lambda: km.verify(kek=b"\x01" * 31), ek.InvalidArgumentError),
            ("KeyManager.verify", lambda: km.verify(key_id="s"), ek.InvalidArgumentError),
            ("KeyManager.verify", lambda: km.verify(key_id="s", kek=bytes(32)), ek.AuthenticationError),
            ("KeyManager.state", lambda: km.state(key_id="absent"), ek.NotFoundError),
            ("KeyManager.set_state", lambda: km.set_state(5, "r"), ek.InvalidArgumentError),  # type: ignore[arg-type]
            ("KeyManager.set_state", lambda: km.set_state("active", "r"), ek.InvalidArgumentError),
            ("KeyManager.reseal", lambda: km.reseal(b"\x01" * 31), ek.InvalidArgumentError),
            ("KeyManager.rotate", lambda: km.rotate(dim_list=[33]), ek.InvalidArgumentError),
            ("KeyManager.load_version", lambda: km.load_version(7), ek.NotFoundError),
            ("KeyManager.encrypt_metadata", lambda: km.encrypt_metadata("m", key_id="absent"), ek.NotFoundError),
            ("KeyManager.decrypt_metadata", lambda: km.decrypt_metadata("not a token"), ek.InvalidArgumentError),
            ("encrypt_metadata", lambda: ek.encrypt_metadata("m", key_path, "s", kek=bytes(32)), ek.AuthenticationError),
            ("decrypt_metadata", lambda: ek.decrypt_metadata("not a token", key_path, "k"), ek.InvalidArgumentError),
            ("init", lambda: ek.init(key_id="k", key_path=key_path, auto_key_setup=False, preset="ip4"),  # type: ignore[call-overload]
             ek.InvalidArgumentError),
            ("init", lambda: ek.init(key_id="absent", key_path=key_path, auto_key_setup=False), ek.NotFoundError),
            ("InitResult.keys", lambda: ek.InitResult("absent", True, False, False,
                                                      store_options=b'{"key_path": "%s"}' % str(key_path).encode()).keys,
             ek.NotFoundError),
        ]
        before = tree(key_path)
        for who, fn, cls in cases:
            msg = failure(fn, cls)
            assert msg.startswith(who + ": "), f"{who}: {msg}"
            assert not C_FUNCTION.search(msg), f"{who} names a C function: {msg}"
        assert tree(key_path) == before, "nothing written"


def test_options_are_named_as_python_spells_them(tmp_path: Path) -> None:
    # init's timeout and register_timeout are the library's timeout_seconds and
    # register_timeout_seconds; the other options have the same names in Python and C.
    address = "127.0.0.1:9"
    msg = failure(lambda: ek.init(key_id="x", key_path=tmp_path, address=address, timeout=-1), ek.InvalidArgumentError)
    assert msg.startswith("init: ") and "timeout must be a positive number of seconds" in msg, msg
    assert "timeout_seconds" not in msg
    msg = failure(lambda: ek.init(key_id="x", key_path=tmp_path, address=address, register_timeout=0), ek.InvalidArgumentError)
    assert "register_timeout must be a positive number of seconds" in msg and "register_timeout_seconds" not in msg, msg
    msg = failure(lambda: ek.init(key_id="x", key_path=tmp_path, timeout=5), ek.InvalidArgumentError)
    assert "timeout is given but no address" in msg and "leave timeout out" in msg, msg
    # The change of set_state: its fields are set_state's arguments.
    with ek.KeyManager(key_path=tmp_path, key_id="k") as km:
        km.save(ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream())
        msg = failure(lambda: km.set_state(["deactivated"], "r"), ek.InvalidArgumentError)  # type: ignore[arg-type]
        assert msg.startswith('KeyManager.set_state: to must be a string such as "deactivated"'), msg
        assert "change_json" not in msg
    assert tree(tmp_path) == ["k"] + [f"k/{f}" for f in ("EncKey.json", "EvalKey.json", "MetadataKey.json", "SecKey.json")]


def test_seal_mode_aes_without_a_kek_names_kek_and_seal_kek_path(tmp_path: Path) -> None:
    for who, fn in [
        ("KeyGenerator", lambda: ek.KeyGenerator(key_path=tmp_path, key_id="a", seal_mode="aes", **SMALL)),  # type: ignore[call-overload]
        ("init", lambda: ek.init(key_path=tmp_path, key_id="a", seal_mode="aes", **SMALL)),  # type: ignore[call-overload]
    ]:
        msg = failure(fn, ek.InvalidArgumentError)
        assert msg.startswith(f"{who}: seal_mode='aes' needs the KEK: give kek"), msg
        assert "seal_kek_path (the file holding it)" in msg
        assert "envector_seal" not in msg and not C_FUNCTION.search(msg)
    assert tree(tmp_path) == []


def test_the_librarys_own_c_wording_is_translated() -> None:
    # Messages the binding's own checks keep from ever arising, translated all the same.
    from envector_keys.errors import api_message

    msg = api_message(
        'envector_keygen: options: seal_mode "aes" needs seal_kek_path, the file of the 32-byte KEK (or generate '
        'with seal_mode "none" and seal the key set with envector_seal)', "KeyGenerator.generate_keys", 1)
    assert msg == ('KeyGenerator.generate_keys: options: seal_mode "aes" needs the KEK: give kek (the KEK itself: '
                   "32 raw bytes, 64 hex characters or 44 base64 characters) or seal_kek_path (the file holding it)")
    msg = api_message("envector_init: options: reason is not read by envector_init (it is envector_store_rotate's); "
                      "leave it out", "init", 1)
    assert msg == "init: options: reason is not read by init (it is KeyManager.rotate's); leave it out"
    assert api_message("envector_store_reseal: old_kek_len 99 is not accepted", "KeyManager.reseal", 1) == \
        "KeyManager.reseal: kek of 99 bytes is not accepted"
    # Quoted values, paths, dotted fields of a file and data errors keep their words.
    text = 'envector_store_load: key set "timeout_seconds" in /tmp/timeout_seconds: entries[0].timeout_seconds'
    assert api_message(text, "KeyManager.load", 2) == \
        'KeyManager.load: key set "timeout_seconds" in /tmp/timeout_seconds: entries[0].timeout_seconds'
    assert api_message("envector_store_load: unknown eval_mode x", "KeyManager.load", 5).endswith("unknown eval_mode x")
    # A setting named in every language: Python's name only.
    assert api_message("envector_store_open: slow (configurable: AWSConfig.Timeout in Go, aws_timeout_seconds in C and Python, "
                       "awsTimeoutSeconds in Node, --timeout in the CLI)", "KeyManager.open", 7) == \
        "KeyManager.open: slow (configurable: aws_timeout_seconds)"
    # A message of this package (not the library's) is left as it is.
    assert api_message("KeyManager.load: key_id is required", "KeyManager.load", 1) == "KeyManager.load: key_id is required"


# ---- booleans --------------------------------------------------------------------------------

NOT_BOOLS: List[Any] = ["x", "false", 1, 0, None, [True]]


def test_every_true_or_false_option_takes_only_a_bool_and_changes_nothing(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    kek = kek_file(tmp_path)
    with ek.KeyManager(key_path=key_path, key_id="k") as km:
        km.save(ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream())
        token = km.encrypt_metadata("m")
        before = {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()}
        calls: List[Tuple[str, str, Callable[[Any], object]]] = [
            ("KeyGenerator", "metadata_encryption",
             lambda v: ek.KeyGenerator(key_path=key_path, key_id="g", metadata_encryption=v, **SMALL).generate_keys()),
            ("init", "metadata_encryption",
             lambda v: ek.init(key_path=key_path, key_id="i", metadata_encryption=v, **SMALL)),
            ("init", "auto_key_setup", lambda v: ek.init(key_path=key_path, key_id="i", auto_key_setup=v, **SMALL)),
            ("KeyManager.delete", "immediate", lambda v: km.delete(immediate=v)),
            ("KeyManager.set_state", "compromised", lambda v: km.set_state("deactivated", "r", compromised=v)),
            ("KeyManager.decrypt_metadata", "as_json", lambda v: km.decrypt_metadata(token, as_json=v)),
            ("decrypt_metadata", "as_json", lambda v: ek.decrypt_metadata(token, key_path, "k", as_json=v)),
        ]
        for who, name, call in calls:
            for v in NOT_BOOLS:
                msg = failure(lambda: call(v), ek.InvalidArgumentError)
                assert msg.startswith(f"{who}: {name} must be True or False"), f"{name}={v!r}: {msg}"
        # Optional ones: None means the default, anything else but a bool is refused.
        for v in NOT_BOOLS[:-2]:
            msg = failure(lambda: km.rotate(metadata_encryption=v), ek.InvalidArgumentError)
            assert msg.startswith("KeyManager.rotate: metadata_encryption must be True or False"), msg
            msg = failure(lambda: ek.init(key_path=key_path, key_id="i", address="127.0.0.1:9", tls=v, **SMALL),
                          ek.InvalidArgumentError)
            assert msg.startswith("init: tls must be True or False"), msg
        after = {p: (key_path / p).read_bytes() for p in tree(key_path) if (key_path / p).is_file()}
        assert after == before, "nothing written"
        assert km.state().state == "active"
        # Real booleans still work.
        assert km.decrypt_metadata(token, as_json=False) == "m"
        ek.KeyGenerator(key_path=key_path, key_id="g", metadata_encryption=False, seal_kek_path=kek, **SMALL).generate_keys()
        assert km.load(key_id="g")["metadata_blob"] is None
        km.delete(key_id="g", immediate=True)
