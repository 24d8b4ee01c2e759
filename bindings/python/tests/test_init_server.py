"""init with address: the library's init flow (envector_init) against the reference key
server, envector-keyserver (`make bin`), started per test on a free loopback port. The
server's log says how many EvalKeys it stored."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import SMALL, KeyServer, Moto, child_env, ek, kek_file, tree


def test_init_registers_once_then_finds_it_registered(tmp_path: Path, keyserver: KeyServer) -> None:
    key_path = tmp_path / "keys"
    opts = dict(key_path=key_path, key_id="idx", address=keyserver.address, token=keyserver.token, **SMALL)
    first = ek.init(**opts)
    assert (first.created, first.registered, first.loaded, first.sealed) == (True, True, True, False)
    assert first.address == keyserver.address and first.unloaded == [] and first.warnings == []
    assert (first.preset, first.eval_mode, first.dim_list) == ("ip0", "rmp", [32])
    assert first.registration_info["eval_key_sha256"] == first.eval_key_sha256
    assert (keyserver.dir / "idx" / "EvalKey.bin").stat().st_size == first.eval_key_size
    assert keyserver.stored("idx") == 1
    assert keyserver.token not in repr(first)

    # Again (the token from a file): found, held by the server with the same SHA-256:
    # not sent again, loaded already.
    again = ek.init_index_config(**{**opts, "token": None, "token_file": keyserver.token_file})
    assert (again.created, again.registered, again.loaded) == (False, False, False)
    assert again.eval_key_sha256 == first.eval_key_sha256
    assert keyserver.uploads("idx") == 1, keyserver.log()
    # The keys are read from the store when asked for.
    assert again.keys["eval_blob"] == (key_path / "idx" / "EvalKey.json").read_bytes()


def test_init_with_a_wrong_token_is_an_authentication_error_and_undoes_the_new_key_set(
        tmp_path: Path, keyserver: KeyServer) -> None:
    key_path = tmp_path / "keys"
    with pytest.raises(ek.AuthenticationError) as ei:
        ek.init(key_path=key_path, key_id="k", address=keyserver.address, token="not-the-token", **SMALL)
    msg = str(ei.value)
    assert ei.value.code == "ENVECTOR_ERR_AUTH" and ei.value.status == 4
    assert 'key set "k" was made by this call and its EvalKey could not be registered with' in msg, msg
    assert "it was deleted from the store again; the next init starts clean" in msg, msg
    assert "server refused (Unauthenticated): the bearer token is not accepted" in msg, msg
    assert "not-the-token" not in msg
    assert tree(key_path) == []

    # A key set found is never deleted.
    ek.init(key_path=key_path, key_id="k", **SMALL)
    before = tree(key_path)
    with pytest.raises(ek.AuthenticationError) as ei:
        ek.init(key_path=key_path, key_id="k", address=keyserver.address, token="not-the-token")
    assert "deleted" not in str(ei.value)
    assert tree(key_path) == before
    assert keyserver.uploads("k") == 0


def test_init_auto_key_setup_false_on_a_missing_set(tmp_path: Path, keyserver: KeyServer) -> None:
    key_path = tmp_path / "keys"
    with pytest.raises(ek.NotFoundError, match=r'there is no key set "gone" and auto key setup is off, so none is made: create it first'):
        ek.init(key_path=key_path, key_id="gone", auto_key_setup=False, address=keyserver.address, token=keyserver.token)
    assert tree(key_path) == []
    assert "register_key" not in keyserver.log()


def test_init_refuses_a_server_holding_another_evalkey_under_the_key_id(tmp_path: Path, keyserver: KeyServer) -> None:
    srv = dict(address=keyserver.address, token=keyserver.token)
    theirs = ek.init(key_path=tmp_path / "a", key_id="taken", **srv, **SMALL)
    with pytest.raises(ek.AlreadyExistsError, match=r"deleted from the store again.*registered with another EvalKey"):
        ek.init(key_path=tmp_path / "b", key_id="taken", **srv, **SMALL)
    assert tree(tmp_path / "b") == []
    assert keyserver.stored("taken") == 1
    assert theirs.created


def test_init_option_mistakes(tmp_path: Path, keyserver: KeyServer) -> None:
    tmp_path = tmp_path / "keys"
    with pytest.raises(ek.InvalidArgumentError, match="give address .* or register .*, not both"):
        ek.init(key_path=tmp_path, key_id="x", address=keyserver.address, register=lambda *a: None)
    with pytest.raises(ek.InvalidArgumentError, match="a token is given but no address"):
        ek.init(key_path=tmp_path, key_id="x", token=keyserver.token)
    with pytest.raises(ek.InvalidArgumentError, match="token or as token_file, not both"):
        ek.init(key_path=tmp_path, key_id="x", address=keyserver.address, token="t", token_file=keyserver.token_file)
    with pytest.raises(ek.InvalidArgumentError, match='scheme "https"'):
        ek.init(key_path=tmp_path, key_id="x", address="https://x:1")
    with pytest.raises(ek.InvalidArgumentError, match="tls must be True or False"):
        ek.init(key_path=tmp_path, key_id="x", address=keyserver.address, tls="yes")  # type: ignore[arg-type]
    with pytest.raises(ek.InvalidArgumentError, match="timeout must be a number of seconds"):
        ek.init(key_path=tmp_path, key_id="x", address=keyserver.address, timeout="10s")  # type: ignore[arg-type]
    with pytest.raises(ek.NotFoundError, match="token_file"):
        ek.init(key_path=tmp_path, key_id="x", address=keyserver.address, token_file=tmp_path / "none")
    assert tree(tmp_path) == []


def test_init_sealed_with_kek_bytes_and_registered(tmp_path: Path, keyserver: KeyServer) -> None:
    kek = bytes(range(32))
    srv = dict(address=keyserver.address, token=keyserver.token)
    r = ek.init(key_path=tmp_path, key_id="s", seal_mode="aes", kek=kek, **srv, **SMALL)
    assert (r.created, r.sealed, r.registered) == (True, True, True)
    with pytest.raises(ek.AuthenticationError):
        ek.init(key_path=tmp_path, key_id="s", seal_mode="aes", kek=bytes(32), **srv)
    with pytest.raises(ek.InvalidArgumentError, match="init: give kek or seal_kek_path, not both"):
        ek.init(key_path=tmp_path, key_id="s", seal_mode="aes", kek=kek, seal_kek_path=kek_file(tmp_path), **srv)
    ok = ek.init(key_path=tmp_path, key_id="s", seal_mode="aes", kek=kek.hex(), **srv)
    assert (ok.created, ok.registered, ok.sealed) == (False, False, True)


CHILD = """
import json, sys
import envector_keys as ek
r = ek.init(key_path=sys.argv[1], key_id="race", address=sys.argv[2], token_file=sys.argv[3],
            preset="ip0", eval_mode="single", dim_list=[32])
print(json.dumps({"created": r.created, "registered": r.registered, "sha": r.eval_key_sha256}))
"""


def test_init_from_two_processes_at_once_one_key_set_registered_once(tmp_path: Path, keyserver: KeyServer) -> None:
    key_path = tmp_path / "keys"
    args = [sys.executable, "-c", CHILD, str(key_path), keyserver.address, str(keyserver.token_file)]
    start = time.monotonic()
    procs = [subprocess.Popen(args, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    elapsed = time.monotonic() - start
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err.decode(errors="replace")
    results = [json.loads(out) for out, _ in outs]
    assert sorted(r["created"] for r in results) == [False, True], results
    assert results[0]["sha"] == results[1]["sha"]
    assert ek.KeyManager(key_path=key_path).list_keys() == ["race"]
    assert keyserver.stored("race") == 1, keyserver.log()
    print(f"two processes ran init in {elapsed:.2f} s")


def test_init_on_aws_with_a_wrong_token_deletes_the_new_key_set_at_once(moto: Moto, keyserver: KeyServer) -> None:
    aws = dict(key_store="aws", region_name=moto.region)
    with pytest.raises(ek.AuthenticationError, match="deleted from the store again"):
        ek.init(**aws, key_id="reg", address=keyserver.address, token="wrong-token", **SMALL)
    with ek.KeyManager(**aws) as km:
        assert km.list_keys() == []
    # Deleted without the recovery window: the secret names are free, a retry succeeds.
    r = ek.init(**aws, key_id="reg", address=keyserver.address, token=keyserver.token, **SMALL)
    assert (r.created, r.registered) == (True, True)
    assert keyserver.stored("reg") == 1
