"""The AWS store (S3 for public keys, Secrets Manager for secret keys) against moto in
server mode: the real AWS SDK inside the library talks to a moto_server process on a
loopback port. The AWS_* variables pointing at it are set in os.environ after the
library was loaded, which the library sees when a store is opened. A missing
moto_server is a failure saying how to install it (`make deps`), never a skip."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from helpers import BUCKET, SMALL, Moto, ek, kek_file


def aws(moto: Moto, **extra: object) -> dict:
    return {"key_store": "aws", "region_name": moto.region, **extra}


def test_init_on_aws_generate_save_register_then_found_and_key_manager_workflow(moto: Moto) -> None:
    calls = []
    first = ek.init(**aws(moto), key_id="aws-1", register=lambda *a: calls.append(a), **SMALL)
    assert (first.created, first.registered, first.sealed) == (True, True, False)
    assert len(calls) == 1
    key_id, eval_key, info = calls[0]
    assert key_id == "aws-1" and eval_key == first.keys["eval_blob"]
    assert info["key_store"] == "aws" and info["region_name"] == moto.region and "key_path" not in info

    again = ek.init(**aws(moto), key_id="aws-1", register=lambda *a: calls.append("again"))
    assert again.created is False and len(calls) == 1
    assert again.keys == first.keys

    with ek.KeyManager(key_id="aws-1", **aws(moto)) as km:
        assert km.list_keys() == ["aws-1"]
        assert km.verify_key_id() is True
        assert km.verify_key_id("aws-2") is False
        pub = km.load(roles=["EncKey", "EvalKey"])
        assert pub["sec_blob"] is None and pub["eval_blob"] == first.keys["eval_blob"]
        assert km.verify() is True
        with pytest.raises(ek.AlreadyExistsError, match="already exists"):
            km.save(first.keys)

        # Deleting with the recovery window holds the secret names; immediate frees them.
        km.delete()
        assert km.list_keys() == []
        with pytest.raises(ek.AlreadyExistsError, match="scheduled for deletion"):
            km.save(first.keys)
        km.delete(immediate=True)
        km.save(first.keys)
        assert km.load() == first.keys
        km.delete(immediate=True)
        assert km.list_keys() == []


def test_sealing_with_a_kek_file_works_on_aws(moto: Moto, tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    r = ek.init(**aws(moto), key_id="sealed", seal_mode="aes", seal_kek_path=kek, **SMALL)
    assert r.sealed is True
    assert json.loads(r.keys["sec_blob"])["entries"][0]["alg"] == "AES-KEK"
    with ek.KeyManager(key_id="sealed", **aws(moto)) as km:
        assert km.verify(seal_kek_path=kek) is True
        with pytest.raises(ek.AuthenticationError):
            km.verify(seal_kek_path=kek_file(tmp_path, "base64", "wrong"))
    with pytest.raises(ek.AuthenticationError):
        ek.init(**aws(moto), key_id="sealed", seal_mode="aes", seal_kek_path=kek_file(tmp_path, "hex", "wrong2"))


def test_bucket_and_prefix_options_each_prefix_is_its_own_namespace(moto: Moto) -> None:
    moto.create_bucket("other-bucket")
    keys = ek.KeyGenerator(key_id="p1", **SMALL).generate_keys_stream()
    with ek.KeyManager(key_id="p1", **aws(moto, bucket_name="other-bucket", secret_prefix="team/a")) as a, \
            ek.KeyManager(key_id="p1", **aws(moto, bucket_name="other-bucket", secret_prefix="")) as none, \
            ek.KeyManager(key_id="p1", **aws(moto)) as default:
        a.save(keys)
        none.save(keys)
        assert a.list_keys() == ["p1"]
        assert none.list_keys() == ["p1"]
        assert default.list_keys() == []
        assert a.load()["sec_blob"] == keys["sec_blob"]


def test_auto_key_setup_false_on_aws_names_the_secret_and_the_object(moto: Moto) -> None:
    with pytest.raises(ek.NotFoundError) as ei:
        ek.init(**aws(moto), key_id="nothing-here", auto_key_setup=False)
    msg = str(ei.value)
    assert "auto key setup is off, so none is made" in msg
    assert "secret envector/keys/nothing-here/sec_blob" in msg, msg
    assert f"s3://{BUCKET}/envector/keys/nothing-here/enc_blob.json" in msg, msg
    with ek.KeyManager(**aws(moto)) as km:
        assert km.list_keys() == []


def test_a_missing_bucket_is_named_and_nothing_is_left_behind(moto: Moto) -> None:
    keys = ek.KeyGenerator(key_id="nb", **SMALL).generate_keys_stream()
    with ek.KeyManager(key_id="nb", **aws(moto, bucket_name="no-such-bucket")) as km:
        with pytest.raises(ek.NotFoundError, match=r'bucket "no-such-bucket" does not exist.*NoSuchBucket|NoSuchBucket.*no-such-bucket'):
            km.save(keys)
    # The secrets that save created first were removed: the same key set saves elsewhere.
    with ek.KeyManager(key_id="nb", **aws(moto)) as ok:
        ok.save(keys)
        assert ok.verify_key_id()


def test_aws_variables_changed_in_os_environ_are_seen_by_stores_opened_afterwards(moto: Moto) -> None:
    saved = os.environ["AWS_ENDPOINT_URL"]
    os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # nothing listens there (discard)
    try:
        with ek.KeyManager(**aws(moto)) as km:
            with pytest.raises(ek.RemoteStoreError, match=r"127\.0\.0\.1:9") as ei:
                km.list_keys()
            assert ei.value.code == "ENVECTOR_ERR_REMOTE"
    finally:
        os.environ["AWS_ENDPOINT_URL"] = saved
    with ek.KeyManager(**aws(moto)) as back:
        assert back.list_keys() == []


def test_register_failing_on_aws_removes_the_new_key_set_at_once(moto: Moto) -> None:
    def refuse(*a: object) -> None:
        raise ConnectionError("server refused")

    with pytest.raises(ConnectionError, match="server refused"):
        ek.init(**aws(moto), key_id="reg", register=refuse, **SMALL)
    with ek.KeyManager(key_id="reg", **aws(moto)) as km:
        assert km.verify_key_id() is False
        assert km.list_keys() == []
    # Deleted immediately: the secret names are free again, so a retry succeeds.
    r = ek.init(**aws(moto), key_id="reg", register=lambda *a: None, **SMALL)
    assert r.created and r.registered


def test_generate_keys_locally_then_save_to_aws_same_bytes(moto: Moto, tmp_path: Path) -> None:
    ek.KeyGenerator(key_path=tmp_path, key_id="both", **SMALL).generate_keys()
    with ek.KeyManager(key_path=tmp_path, key_id="both") as local, ek.KeyManager(key_id="both", **aws(moto)) as remote:
        keys = local.load()
        remote.save(keys)
        back = remote.load()
        assert back == keys
        assert back["sec_blob"] == (tmp_path / "both" / "SecKey.json").read_bytes()


class SilentEndpoint:
    """A loopback TCP endpoint that accepts connections and never answers (an AWS endpoint
    that hangs): every connection is held open, unread, until close()."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()
        self._thread.join(5)


@pytest.fixture
def silent_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentEndpoint]:
    """AWS_* pointing at a SilentEndpoint, with dummy credentials and nothing from the
    user's AWS configuration (as the moto tests set them)."""
    srv = SilentEndpoint()
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": srv.url, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        monkeypatch.delenv(k, raising=False)
    try:
        yield srv
    finally:
        srv.close()


def test_aws_timeout_seconds_bounds_a_call_to_an_endpoint_that_never_answers(silent_aws: SilentEndpoint, tmp_path: Path) -> None:
    keys = ek.KeyGenerator(key_id="t", **SMALL).generate_keys_stream()
    calls = [
        ("KeyManager.list_keys", lambda km: km.list_keys()),
        ("KeyManager.save", lambda km: km.save(keys)),
        ("KeyManager.load", lambda km: km.load()),
    ]
    for who, call in calls:
        with ek.KeyManager(key_id="t", key_store="aws", region_name="us-east-1", aws_timeout_seconds=1) as km:
            start = time.monotonic()
            with pytest.raises(ek.RemoteStoreError) as ei:
                call(km)
            elapsed = time.monotonic() - start
        print(f"{who} against a silent endpoint, aws_timeout_seconds=1: RemoteStoreError after {elapsed:.2f} s: {ei.value}")
        assert elapsed < 10, f"{who} took {elapsed:.1f} s"
        assert str(ei.value).startswith(f"{who}: "), str(ei.value)
        assert "within 1s" in str(ei.value), str(ei.value)
        assert "awsTimeoutSeconds" not in str(ei.value) and "AWSConfig" not in str(ei.value), "Python's name only"
        assert ei.value.code == "ENVECTOR_ERR_REMOTE"
    assert silent_aws.accepted >= len(calls), "the calls reached the silent endpoint"
    start = time.monotonic()
    with pytest.raises(ek.RemoteStoreError):
        ek.init(key_id="t", key_store="aws", region_name="us-east-1", aws_timeout_seconds=0.5, auto_key_setup=False)
    elapsed = time.monotonic() - start
    print(f"init against a silent endpoint, aws_timeout_seconds=0.5: RemoteStoreError after {elapsed:.2f} s")
    assert elapsed < 10


def test_aws_timeout_seconds_out_of_range_or_not_aws_is_refused(tmp_path: Path) -> None:
    for value, pattern in [(0, r"aws_timeout_seconds must be a positive number of seconds, at most 3600"),
                           (-1, r"positive number"), (3601, r"at most 3600"),
                           ("30s", r"aws_timeout_seconds must be a number of seconds, not str"),
                           (float("inf"), r"aws_timeout_seconds must be a finite number of seconds")]:
        with pytest.raises(ek.InvalidArgumentError, match=pattern):
            ek.KeyManager(key_store="aws", region_name="us-east-1", aws_timeout_seconds=value).open()  # type: ignore[arg-type]
    with pytest.raises(ek.InvalidArgumentError, match=r'aws_timeout_seconds applies to key_store "aws" only'):
        ek.KeyManager(key_path=tmp_path, aws_timeout_seconds=5).list_keys()
    assert list(tmp_path.iterdir()) == []
