"""The documented workflows against the local store: KeyGenerator (to disk and in
memory), KeyManager, init with auto key setup and register, sealing with a KEK file,
and keys that really belong together."""

from __future__ import annotations

import base64
import inspect
import json
import threading
from pathlib import Path

import pytest

from helpers import SMALL, ek, kek_file, tree

FILES = ["EncKey.json", "EvalKey.json", "MetadataKey.json", "SecKey.json"]


def entry(blob: bytes) -> dict:
    return json.loads(blob)["entries"][0]


def test_generate_keys_writes_the_key_set_and_key_manager_reads_it(tmp_path: Path) -> None:
    ek.KeyGenerator(key_path=tmp_path, key_id="idx", **SMALL).generate_keys()
    d = tmp_path / "idx"
    assert sorted(p.name for p in d.iterdir()) == FILES
    assert (d / "SecKey.json").stat().st_mode & 0o777 == 0o600
    assert (d / "MetadataKey.json").stat().st_mode & 0o777 == 0o600
    assert d.stat().st_mode & 0o777 == 0o700

    with ek.KeyManager(key_path=str(tmp_path), key_id="idx") as km:
        assert km.list_keys() == ["idx"]
        assert km.verify_key_id() is True
        assert km.verify_key_id("other") is False
        keys = km.load()
        for k, name in zip(["sec_blob", "enc_blob", "eval_blob", "metadata_blob"], ["SecKey", "EncKey", "EvalKey", "MetadataKey"]):
            assert isinstance(keys[k], bytes), k
            assert keys[k] == (d / f"{name}.json").read_bytes(), f"{k} is the file's bytes"
        assert json.loads(keys["sec_blob"])["kid"] == "idx"
        assert km.verify() is True

    # Never overwriting: a second generate_keys into the same directory fails, nothing changed.
    before = (d / "SecKey.json").read_bytes()
    with pytest.raises(ek.AlreadyExistsError) as ei:
        ek.KeyGenerator(key_path=tmp_path, key_id="idx", **SMALL).generate_keys()
    assert str(d) in str(ei.value)
    assert (d / "SecKey.json").read_bytes() == before
    assert tree(tmp_path) == ["idx"] + [f"idx/{f}" for f in FILES]


def test_generate_keys_stream_returns_the_four_envelopes_as_bytes() -> None:
    gen = ek.KeyGenerator(key_id="stream", **SMALL)
    keys = gen.generate_keys_stream()
    assert isinstance(keys, dict)
    assert list(keys) == ["sec_blob", "enc_blob", "eval_blob", "metadata_blob"]
    assert [json.loads(b)["entries"][0]["name"] for b in keys.values()] == ["seckey", "enckey", "evalkey", "metadatakey"]
    assert all(type(b) is bytes for b in keys.values())
    assert "alg" not in entry(keys["sec_blob"])  # not sealed
    # Two calls make two key sets.
    again = gen.generate_keys_stream()
    assert entry(again["sec_blob"])["key_data"] != entry(keys["sec_blob"])["key_data"]


def test_secrets_are_not_in_repr_or_str() -> None:
    keys = ek.KeyGenerator(key_id="r", **SMALL).generate_keys_stream()
    secret = entry(keys["sec_blob"])["key_data"]
    for text in (repr(keys), str(keys), repr(ek.InitResult("r", True, False, False, keys))):
        assert secret not in text
        assert "key_data" not in text
        assert f"sec_blob=<{len(keys['sec_blob'])} bytes>" in text
    seed = "ab" * 64
    gen = ek.KeyGenerator(key_id="r", seed=seed, **SMALL)
    assert seed not in repr(gen) and "seed" not in repr(gen)


def test_metadata_encryption_false_gives_no_metadata_key(tmp_path: Path) -> None:
    keys = ek.KeyGenerator(key_id="nometa", metadata_encryption=False, **SMALL).generate_keys_stream()
    assert keys["metadata_blob"] is None
    with ek.KeyManager(key_path=tmp_path, key_id="nometa") as km:
        km.save(keys)
        assert sorted(p.name for p in (tmp_path / "nometa").iterdir()) == ["EncKey.json", "EvalKey.json", "SecKey.json"]
        assert km.load()["metadata_blob"] is None


def test_the_same_seed_gives_the_same_keys_and_options_pass_through() -> None:
    # Another preset than SMALL's (ip3 with rmp, small and fast), its name in either case.
    seed = bytes([7]) * 64
    a = ek.KeyGenerator(key_id="s", seed=seed, preset="ip3", eval_mode="rmp", dim_list=[32]).generate_keys_stream()
    b = ek.KeyGenerator(key_id="s", seed=seed.hex(), preset="IP3", eval_mode="RMP", dim_list=[32]).generate_keys_stream()
    assert entry(a["sec_blob"])["key_data"] == entry(b["sec_blob"])["key_data"]
    assert entry(a["enc_blob"])["key_data"] == entry(b["enc_blob"])["key_data"]
    assert entry(a["metadata_blob"])["key_data"] == entry(b["metadata_blob"])["key_data"]
    meta = entry(a["eval_blob"])["metadata"]
    assert meta["parameter"]["preset"] == "IP3"
    assert meta["parameter"]["Q"] == 1073692673
    assert meta["eval_mode"] == "RMP"
    ours = json.loads(a["eval_blob"])["envector_keys"]
    assert (ours["dims"], ours["preset"], ours["eval_mode"], ours["key_format"]) == ("32", "IP3", "RMP", "evi")
    # A SecKey in enVector's layout: 0x01, the preset name NUL-padded to 4 bytes, 2 bits a coefficient.
    sec = base64.b64decode(entry(a["sec_blob"])["key_data"])
    assert len(sec) == 1029 and sec[:5] == b"\x01IP3\x00"
    dims = json.loads(ek.KeyGenerator(key_id="d", dim_list=(64, 128), preset="ip0", eval_mode="single").generate_keys_stream()["enc_blob"])
    assert (dims["envector_keys"]["dims"], dims["envector_keys"]["eval_mode"]) == ("64,128", "SINGLE")


def test_the_defaults_are_ip3_and_mm32_checked_without_making_a_default_key_set(tmp_path: Path) -> None:
    # The defaults (ip3, mm32, dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey
    # (seconds, and GBs of memory in memory): never made here. Each default is shown on its own, with small keys or a refusal.
    for fn in (ek.KeyGenerator, ek.init):
        params = inspect.signature(fn).parameters
        assert params["preset"].default == "ip3", fn
        assert params["eval_mode"].default is None, f"{fn}: the library picks the preset's default eval mode"
        assert params["dim_list"].default is None, fn
    # The default preset is ip3: with a small eval mode it is what the keys are made with ...
    keys = ek.KeyGenerator(key_id="d", eval_mode="rmp", dim_list=[32]).generate_keys_stream()
    assert entry(keys["eval_blob"])["metadata"]["parameter"]["preset"] == "IP3"
    # ... and an eval mode ip3 does not take is refused, by KeyGenerator and init alike.
    for make in (lambda: ek.KeyGenerator(key_path=tmp_path, key_id="d", eval_mode="single").generate_keys(),
                 lambda: ek.init(key_path=tmp_path, key_id="d", eval_mode="single")):
        with pytest.raises(ek.InvalidArgumentError, match=r"eval mode single does not go with preset ip3; accepted with ip3: mm32, rmp, flat, mms32"):
            make()
    # The default eval mode is the preset's: rmp with ip0 (the only small one); the library
    # says mm32 is ip3's default.
    keys = ek.KeyGenerator(key_id="d", preset="ip0", dim_list=[32]).generate_keys_stream()
    assert json.loads(keys["eval_blob"])["envector_keys"]["eval_mode"] == "RMP"
    with pytest.raises(ek.InvalidArgumentError, match=r"accepted: mm32 \(default with ip3\), mm \(default with ip1, ip2\), rmp \(default with ip0\)"):
        ek.KeyGenerator(key_id="d", eval_mode="mm33").generate_keys_stream()
    # The default dims are all of them (single: a relinearization key only, however many dims).
    keys = ek.KeyGenerator(key_id="d", preset="ip0", eval_mode="single").generate_keys_stream()
    assert json.loads(keys["eval_blob"])["envector_keys"]["dims"] == "32,64,128,256,512,1024,2048,4096"
    assert tree(tmp_path) == []


@pytest.mark.parametrize("preset,mode,accepted", [
    ("ip1", "mm32", "mm, rmp, flat, mms"),
    ("ip2", "mm32", "mm, rmp, flat, mms"),
    ("ip3", "mm", "mm32, rmp, flat, mms32"),
    ("ip3", "single", "mm32, rmp, flat, mms32"),
])
def test_a_preset_and_eval_mode_that_do_not_go_together_are_refused_naming_the_accepted_modes(
        tmp_path: Path, preset: str, mode: str, accepted: str) -> None:
    want = rf"eval mode {mode} does not go with preset {preset}; accepted with {preset}: {accepted}$"
    kw = dict(key_id="pair", preset=preset, eval_mode=mode, dim_list=[32])
    for make in (lambda: ek.KeyGenerator(key_path=tmp_path, **kw).generate_keys(),
                 lambda: ek.KeyGenerator(**kw).generate_keys_stream(),
                 lambda: ek.init(key_path=tmp_path, **kw)):
        with pytest.raises(ek.InvalidArgumentError, match=want) as ei:
            make()
        assert ei.value.code == "ENVECTOR_ERR_INVALID_ARGUMENT" and ei.value.status == 1
    assert tree(tmp_path) == [], "nothing written"


def test_another_envector_preset_ip2_with_flat_generates_saves_and_verifies(tmp_path: Path) -> None:
    ek.KeyGenerator(key_path=tmp_path, key_id="ip2", preset="ip2", eval_mode="flat", dim_list=[32]).generate_keys()
    with ek.KeyManager(key_path=tmp_path, key_id="ip2") as km:
        assert km.verify() is True
        keys = km.load()
    for blob in keys.values():
        ours = json.loads(blob)["envector_keys"]
        assert (ours["preset"], ours["eval_mode"], ours["dims"], ours["key_format"]) == ("IP2", "FLAT", "32", "evi")
    param = entry(keys["eval_blob"])["metadata"]["parameter"]
    assert (param["preset"], param["Q"], param["P"]) == ("IP2", 4294828033, 4294729729)
    assert entry(keys["eval_blob"])["metadata"]["eval_mode"] == "FLAT"


def test_key_manager_save_load_subset_delete_list(tmp_path: Path) -> None:
    keys = ek.KeyGenerator(key_id="k1", **SMALL).generate_keys_stream()
    with ek.KeyManager(key_path=tmp_path, key_id="k1") as km:
        assert km.list_keys() == []
        km.save(keys)
        with pytest.raises(ek.AlreadyExistsError):
            km.save(keys)
        pub = km.load(roles=["EncKey", "EvalKey"])
        assert pub["sec_blob"] is None and pub["metadata_blob"] is None
        assert pub["enc_blob"] == keys["enc_blob"] and pub["eval_blob"] == keys["eval_blob"]
        assert km.load(roles=["SecKey"])["sec_blob"] == keys["sec_blob"]

        keys0 = ek.KeyGenerator(key_id="k0", **SMALL).generate_keys_stream()
        km.save(keys0, key_id="k0")
        assert km.list_keys() == ["k0", "k1"]
        km.delete()
        assert km.list_keys() == ["k0"]
        assert km.verify_key_id() is False
        with pytest.raises(ek.NotFoundError):
            km.delete()
        with pytest.raises(ek.NotFoundError) as ei:
            km.load()
        assert str(tmp_path / "k1") in str(ei.value)
        assert km.verify_key_id("k0") is True
        km.delete(key_id="k0", immediate=True)  # immediate: the local store deletes at once anyway
        assert km.list_keys() == []
    assert tree(tmp_path) == []


@pytest.mark.parametrize("form", ["hex", "base64", "raw"])
def test_sealing_with_a_kek_file(tmp_path: Path, form: str) -> None:
    kek = kek_file(tmp_path, form)
    key_path = tmp_path / "keys"
    ek.KeyGenerator(key_path=key_path, key_id="sealed", seal_mode="aes", seal_kek_path=kek, **SMALL).generate_keys()
    sec = json.loads((key_path / "sealed" / "SecKey.json").read_bytes())
    assert sec["entries"][0]["alg"] == "AES-KEK"
    assert sec["entries"][0]["name"] == "seckey.sealed"
    assert "alg" not in json.loads((key_path / "sealed" / "EvalKey.json").read_bytes())["entries"][0]

    with ek.KeyManager(key_path=key_path, key_id="sealed") as km:
        assert km.verify(seal_kek_path=kek) is True
        assert km.verify(kek=kek.read_bytes()) is True
        assert km.verify(kek=bytearray(kek.read_bytes())) is True
        if form != "raw":
            assert km.verify(kek=kek.read_text()) is True
        with pytest.raises(ek.InvalidArgumentError, match="(?i)kek"):
            km.verify()
        with pytest.raises(ek.AuthenticationError) as ei:
            km.verify(seal_kek_path=kek_file(tmp_path, form, "wrong"))
        assert ei.value.code == "ENVECTOR_ERR_AUTH" and ei.value.status == 4
        assert "sealed" in str(ei.value)


def test_generate_keys_stream_with_seal_mode_aes_returns_sealed_secrets(kek: Path) -> None:
    keys = ek.KeyGenerator(key_id="sx", seal_mode="aes", seal_kek_path=str(kek), **SMALL).generate_keys_stream()
    assert entry(keys["sec_blob"])["alg"] == "AES-KEK"
    assert entry(keys["metadata_blob"])["alg"] == "AES-256-GCM"
    assert "alg" not in entry(keys["enc_blob"])


def test_a_foreign_sec_key_is_refused_as_another_key_sets(tmp_path: Path) -> None:
    a = ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream()
    b = ek.KeyGenerator(key_id="k", **SMALL).generate_keys_stream()
    with ek.KeyManager(key_path=tmp_path / "a", key_id="k") as km:
        km.save(a)
        assert km.verify() is True
    # Same key id and parameters, but the SecKey is another set's: the envelopes of a key set
    # are bound together (its set id), so the mix is refused as soon as it is read, and
    # nothing is written.
    with ek.KeyManager(key_path=tmp_path / "mixed", key_id="k") as km:
        with pytest.raises(ek.CorruptDataError, match="the files are from different key sets") as ei:
            km.save({**a, "sec_blob": b["sec_blob"]})
        assert ei.value.code == "ENVECTOR_ERR_CORRUPT"
        assert "SecKey" in str(ei.value)
    assert tree(tmp_path / "mixed") == []
    # The same for a file of another key set moved into a stored one: load and verify refuse it.
    (tmp_path / "a" / "k" / "SecKey.json").write_bytes(b["sec_blob"])  # type: ignore[arg-type]
    with ek.KeyManager(key_path=tmp_path / "a", key_id="k") as km:
        for op in (km.load, km.verify):
            with pytest.raises(ek.CorruptDataError, match="the files are from different key sets"):
                op()


def test_init_auto_key_setup_makes_saves_and_registers_once(tmp_path: Path) -> None:
    key_path = tmp_path / "keys"
    kek = kek_file(tmp_path)
    calls = []

    def register(key_id: str, eval_key: bytes, info: dict) -> None:
        calls.append((key_id, eval_key, info))

    opts = dict(key_path=key_path, key_id="auto", seal_mode="aes", seal_kek_path=kek, register=register, **SMALL)
    first = ek.init(**opts)
    assert (first.key_id, first.created, first.registered, first.sealed) == ("auto", True, True, True)
    assert len(calls) == 1
    key_id, eval_key, info = calls[0]
    assert key_id == "auto"
    assert type(eval_key) is bytes and eval_key == first.keys["eval_blob"]
    assert json.loads(eval_key)["entries"][0]["name"] == "evalkey"
    assert info == {
        "key_store": "local", "key_path": str(key_path), **SMALL,
        "metadata_encryption": True, "seal_mode": "aes", "seal_kek_path": str(kek), "sealed": True,
        "key_id": "auto", "envector_preset": "IP0", "envector_eval_mode": "RMP", "created": True,
        "eval_key_sha256": first.eval_key_sha256, "eval_key_size": first.eval_key_size,
    }
    assert info == {**info, **first.registration_info}
    assert (first.preset, first.eval_mode, first.dim_list, first.version) == ("ip0", "rmp", [32], 1)
    assert first.address is None and first.loaded is False
    assert first.keys["sec_blob"] == (key_path / "auto" / "SecKey.json").read_bytes()
    with pytest.raises(Exception):
        first.created = False  # type: ignore[misc]  # frozen

    again = ek.init_index_config(**opts)
    assert (again.created, again.registered, again.sealed) == (False, False, True)
    assert len(calls) == 1, "register is not called for an existing key set"
    assert again.keys == first.keys

    # A wrong KEK for the existing sealed key set fails now, not at first use.
    with pytest.raises(ek.AuthenticationError):
        ek.init(**{**opts, "seal_kek_path": kek_file(tmp_path, "hex", "other")})
    # A sealed key set found with no KEK is refused: init checks that the KEK opens it.
    with pytest.raises(ek.InvalidArgumentError, match=r'the secret keys of key set "auto" are sealed: give the KEK'):
        ek.init(key_path=key_path, key_id="auto")
    # With auto_key_setup False, existing keys are simply found.
    found = ek.init(key_path=key_path, key_id="auto", auto_key_setup=False, seal_mode="aes", seal_kek_path=kek)
    assert found.created is False and found.sealed is True
    assert len(calls) == 1


def test_init_auto_key_setup_false_without_keys_names_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ek.NotFoundError) as ei:
        ek.init(key_path=tmp_path, key_id="missing", auto_key_setup=False)
    e = ei.value
    assert e.code == "ENVECTOR_ERR_NOT_FOUND" and e.status == 2
    assert "auto key setup is off, so none is made: create it first" in str(e)
    assert str(tmp_path / "missing" / "SecKey.json") in str(e), str(e)
    assert tree(tmp_path) == []


def test_init_a_failing_register_leaves_no_key_set_so_a_retry_starts_clean(tmp_path: Path) -> None:
    class Unavailable(Exception):
        pass

    def boom(*args: object) -> None:
        raise Unavailable("search server unavailable")

    with pytest.raises(Unavailable, match="search server unavailable"):
        ek.init(key_path=tmp_path, key_id="r", register=boom, **SMALL)
    assert tree(tmp_path) == []
    registered = []
    ok = ek.init(key_path=tmp_path, key_id="r", register=lambda *a: registered.append(a[0]), **SMALL)
    assert ok.created and ok.registered and registered == ["r"]


def test_init_two_threads_at_once_one_makes_and_registers_the_other_uses_it(tmp_path: Path) -> None:
    registered = []
    results = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = ek.init(key_path=tmp_path, key_id="race", register=lambda *a: registered.append(a[0]), **SMALL)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = results
    assert a is not None and b is not None
    assert sorted([a.created, b.created]) == [False, True]
    assert registered == ["race"]
    assert a.keys == b.keys


def test_init_without_register_and_without_metadata_key(tmp_path: Path) -> None:
    r = ek.init(key_path=tmp_path, key_id="plain", metadata_encryption=False, **SMALL)
    assert (r.created, r.registered, r.sealed) == (True, False, False)
    assert r.keys["metadata_blob"] is None
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == ["EncKey.json", "EvalKey.json", "SecKey.json"]


def test_key_manager_close_is_idempotent_and_use_after_close_is_a_closed_error(tmp_path: Path) -> None:
    km = ek.KeyManager(key_path=tmp_path)
    assert km.list_keys() == []
    assert km.closed is False
    km.close()
    km.close()
    assert km.closed is True
    assert "closed" in repr(km)
    for op in (km.list_keys, km.open, lambda: km.load(key_id="x"), lambda: km.verify_key_id("x"),
               lambda: km.delete(key_id="x"), lambda: km.verify(key_id="x")):
        with pytest.raises(ek.ClosedError, match="KeyManager is closed"):
            op()
    assert issubclass(ek.ClosedError, ek.InvalidArgumentError)
    # One that never opened its store closes too; a context manager closes on exit.
    never = ek.KeyManager(key_path=tmp_path)
    never.close()
    with pytest.raises(ek.ClosedError):
        never.verify_key_id("x")
    with ek.KeyManager(key_path=tmp_path).open() as km2:
        assert km2.list_keys() == []
    assert km2.closed


def test_library_version_path_and_roles() -> None:
    assert ek.library_version() == (Path(__file__).resolve().parents[3] / "VERSION").read_text().strip()
    assert "libenvector.so" in ek.library_path
    assert ek.ROLES == ("SecKey", "EncKey", "EvalKey", "MetadataKey")
