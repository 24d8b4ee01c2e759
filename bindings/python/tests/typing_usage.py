"""Type-checked, never run: the public API used as an application would, checked by
`mypy --strict` in scripts/check (not collected by pytest). Lines marked
`# type: ignore[...]` must be refused by the type checker: under --strict an ignore that
is not needed is an error, so a type that grows too loose (a preset typed str, a blob
typed Optional[bytes]) fails the check as surely as one that grows too tight."""

from __future__ import annotations

from typing import List, Optional

import envector_keys as ek
from envector_keys import (
    EvalMode,
    InitResult,
    JSONValue,
    KeyBlobs,
    KeyGenerator,
    KeyManager,
    KeySetListing,
    KeyState,
    PartialKeyBlobs,
    Preset,
    SealMode,
    decrypt_metadata,
    encrypt_metadata,
    init,
    init_index_config,
)


def generate() -> None:
    gen = KeyGenerator("./keys", "idx", [32, 64], "ip0", "rmp")
    gen.generate_keys()
    keys: KeyBlobs = gen.generate_keys_stream()
    # The envelopes a key set always has are bytes; the MetadataKey may be absent.
    sec: bytes = keys["sec_blob"]
    enc: bytes = keys["enc_blob"]
    ev: bytes = keys["eval_blob"]
    meta: Optional[bytes] = keys["metadata_blob"]
    del sec, enc, ev, meta
    bad_meta: bytes = keys["metadata_blob"]  # type: ignore[assignment]
    del bad_meta

    preset: Preset = "ip3"
    mode: EvalMode = "mm32"
    seal: SealMode = "aes"
    KeyGenerator(key_id="k", preset=preset, eval_mode=mode, seal_mode=seal, seal_kek_path="/kek")
    KeyGenerator(key_id="k", preset="IP0", eval_mode="SINGLE", dim_list=(32,), metadata_encryption=False,
                 seed=bytes(64), lifetime_days=1 / 24)
    KeyGenerator(key_id="k", kek=bytes(32))
    KeyGenerator(key_id="k", kek=bytearray(32))
    KeyGenerator(key_id="k", kek=memoryview(bytes(32)))
    KeyGenerator(key_id="k", kek="00" * 32, seal_mode="aes")
    # Refused by the type checker, as they are at run time.
    KeyGenerator(key_id="k", preset="ip9")  # type: ignore[call-overload]
    KeyGenerator(key_id="k", eval_mode="mm64")  # type: ignore[call-overload]
    KeyGenerator(key_id="k", seal_mode="rsa")  # type: ignore[call-overload]
    KeyGenerator(key_id="k", metadata_encryption="yes")  # type: ignore[call-overload]
    KeyGenerator(key_id="k", kek=42)  # type: ignore[call-overload]
    KeyGenerator(key_path="./keys")  # type: ignore[call-overload]
    KeyGenerator()  # type: ignore[call-overload]


def manage() -> None:
    with KeyManager(key_id="idx", key_path="./keys") as km:
        full: KeyBlobs = km.load()
        sec: bytes = full["sec_blob"]
        part: PartialKeyBlobs = km.load(roles=["EncKey", "EvalKey"])
        part2: PartialKeyBlobs = km.load("idx", ["EncKey"])
        maybe: Optional[bytes] = part["eval_blob"]
        not_sure: bytes = part["eval_blob"]  # type: ignore[assignment]
        not_full: KeyBlobs = km.load(roles=["EncKey"])  # type: ignore[assignment]
        del sec, part2, maybe, not_sure, not_full
        km.save(full)
        km.save(part, key_id="other")
        km.delete(immediate=True)
        km.delete(immediate="yes")  # type: ignore[arg-type]
        ok: bool = km.verify(kek=b"k" * 32)
        ids: List[str] = km.list_keys()
        there: bool = km.verify_key_id("idx")
        del ok, ids, there
        st: KeyState = km.set_state("deactivated", "rotated out", compromised=False, kek="00" * 32)
        km.set_state("paused", "no")  # type: ignore[arg-type]
        km.set_state("deactivated", "x", compromised=1)  # type: ignore[arg-type]
        st = km.rotate(preset="ip0", eval_mode="rmp", dim_list=[32], metadata_encryption=True)
        km.rotate(preset="ip9")  # type: ignore[arg-type]
        km.reseal(b"n" * 32, kek=b"o" * 32)
        v1: KeyBlobs = km.load_version(1)
        v1_pub: PartialKeyBlobs = km.load_version(1, roles=["EncKey"])
        sets: List[KeySetListing] = km.list_sets()
        state: KeyState = km.state(version=1)
        del st, v1, v1_pub, sets, state
    aws = KeyManager(key_store="aws", region_name="us-east-1", bucket_name="b", secret_prefix="",
                     aws_timeout_seconds=2.5)
    aws.close()
    KeyManager(key_store="gcs")  # type: ignore[arg-type]
    KeyManager(key_store="aws", aws_timeout_seconds="30s")  # type: ignore[arg-type]


def start() -> None:
    r: InitResult = init(key_id="idx", preset="ip0", eval_mode="rmp", dim_list=[32], kek=bytes(32),
                         register=lambda key_id, eval_key, info: None)
    keys: KeyBlobs = r.keys
    ev: bytes = keys["eval_blob"]
    del ev
    init(key_id="idx", address="grpc://127.0.0.1:50051", token="t", tls=False, timeout=5, register_timeout=60)
    init_index_config(key_id="idx", key_store="aws", region_name="us-east-1", aws_timeout_seconds=10,
                      auto_key_setup=False)
    init(preset="ip0")  # type: ignore[call-overload]
    init(key_id="idx", address="grpc://h:1", register=lambda *a: None)  # type: ignore[call-overload]
    init(key_id="idx", auto_key_setup="no")  # type: ignore[call-overload]
    init(key_id="idx", tls="yes", address="h:1")  # type: ignore[call-overload]


def metadata() -> None:
    token: str = encrypt_metadata({"a": 1}, "./keys", "idx", aad="v")
    token = encrypt_metadata("text", key_id="idx", kek=bytes(32))
    text: str = decrypt_metadata(token, "./keys", "idx")
    text = decrypt_metadata(token, key_id="idx", aad=b"v")
    value: JSONValue = decrypt_metadata(token, key_id="idx", as_json=True)
    value = decrypt_metadata(token, "./keys", "idx", as_json=True)
    wrong: str = decrypt_metadata(token, key_id="idx", as_json=True)  # type: ignore[assignment]
    encrypt_metadata("text", "./keys")  # type: ignore[call-overload]
    with KeyManager(key_id="idx") as km:
        token = km.encrypt_metadata([1, 2])
        text = km.decrypt_metadata(token)
        value = km.decrypt_metadata(token, as_json=True)
    del text, value, wrong


def errors() -> None:
    try:
        generate()
    except ek.InvalidArgumentError as e:
        code: str = e.code
        status: int = e.status
        del code, status
    except ek.EnvectorError:
        pass
