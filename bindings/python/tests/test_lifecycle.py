"""The key set lifecycle through KeyManager: state changes and the refused ones, a key set
that is not active refused for use (KeyInactiveError), reseal, rotation with earlier
versions, list_sets with versions and an incomplete set, and lifetime_days."""

from __future__ import annotations

import calendar
import json
import os
import time
from pathlib import Path

import pytest

from helpers import ek, kek_file, tree

#: The smallest key sets (ip0, a relinearization key only): milliseconds each.
TINY = {"preset": "ip0", "eval_mode": "single", "dim_list": [32]}


def make(key_path: Path, key_id: str, **kw: object) -> None:
    ek.KeyGenerator(key_path=key_path, key_id=key_id, **{**TINY, **kw}).generate_keys()


def key_data(envelope: object) -> object:
    assert isinstance(envelope, bytes)
    return json.loads(envelope)["entries"][0].get("key_data")


def epoch(t: str) -> int:
    return calendar.timegm(time.strptime(t, "%Y-%m-%dT%H:%M:%SZ"))


def test_key_inactive_error_is_mapped_from_status_9() -> None:
    from envector_keys.errors import STATUS, error_from_status

    e = error_from_status(9, "m")
    assert type(e) is ek.KeyInactiveError
    assert (e.status, e.code, STATUS["KEY_INACTIVE"]) == (9, "ENVECTOR_ERR_KEY_INACTIVE", 9)
    assert isinstance(e, ek.EnvectorError) and not isinstance(e, ek.InvalidArgumentError)
    assert "KeyInactiveError" in ek.__all__ and "KeyState" in ek.__all__ and "KeySetListing" in ek.__all__


def test_set_state_moves_one_step_at_a_time_and_a_deactivated_set_is_refused_for_use(tmp_path: Path) -> None:
    make(tmp_path, "life")
    with ek.KeyManager(key_path=tmp_path, key_id="life") as km:
        st = km.state()
        assert (st.state, st.version, st.reason, st.changed_by, st.compromised, st.active) == ("active", 1, None, None, False, True)
        assert st.set_id and st.expires_at and st.created_at
        keys = km.load()

        # Refused: a skipped step, back, the same state, no reason, a KEK for an unsealed set.
        with pytest.raises(ek.InvalidArgumentError, match="destroyed only from deactivated"):
            km.set_state("destroyed", "skip")
        with pytest.raises(ek.InvalidArgumentError, match='key "life" is already active'):
            km.set_state("active", "again")
        with pytest.raises(ek.InvalidArgumentError, match="a reason is required"):
            km.set_state("deactivated", "")
        with pytest.raises(ek.InvalidArgumentError, match="not sealed; give no KEK"):
            km.set_state("deactivated", "r", kek=os.urandom(32))
        with pytest.raises(ek.InvalidArgumentError, match="compromised must be True or False"):
            km.set_state("deactivated", "r", compromised="yes")
        assert km.state() == st and km.load() == keys

        now = km.set_state("deactivated", "rotated out")
        assert (now.state, now.reason, now.version, now.compromised) == ("deactivated", "rotated out", 1, False)
        assert now.changed_by is not None and now.changed_by["method"] == "sdk"
        assert km.state() == now
        with pytest.raises(ek.KeyInactiveError, match="deactivated, not active") as ei:
            km.load()
        assert (ei.value.code, ei.value.status) == ("ENVECTOR_ERR_KEY_INACTIVE", 9)
        with pytest.raises(ek.KeyInactiveError):
            km.load(roles=["EncKey"])
        with pytest.raises(ek.KeyInactiveError):
            km.verify()
        with pytest.raises(ek.KeyInactiveError):
            km.encrypt_metadata("m")
        # Asked for by number (0: the current one), it loads whatever its state.
        assert km.load_version(1) == km.load_version(0)
        for k in ("sec_blob", "enc_blob", "eval_blob", "metadata_blob"):
            assert key_data(km.load_version(1)[k]) == key_data(keys[k]), f"{k}: the same keys, another state"
        with pytest.raises(ek.InvalidArgumentError, match="active only from preparing"):
            km.set_state("active", "undo")
        # init finds it and says so; it never makes a new one over it.
        with pytest.raises(ek.KeyInactiveError):
            ek.init(key_path=tmp_path, key_id="life", **TINY)

        gone = km.set_state("destroyed", "leaked", compromised=True)
        assert (gone.state, gone.reason, gone.compromised) == ("destroyed", "compromised: leaked", True)
        tomb = km.load_version(1)
        assert key_data(tomb["sec_blob"]) is None and key_data(tomb["metadata_blob"]) is None
        assert key_data(tomb["enc_blob"]) == key_data(keys["enc_blob"])
        with pytest.raises(ek.KeyInactiveError, match="destroyed"):
            km.load()
        km.delete()
        with pytest.raises(ek.NotFoundError):
            km.set_state("deactivated", "r")
        with pytest.raises(ek.NotFoundError):
            km.state()
        assert tree(tmp_path) == []


def test_a_sealed_set_needs_its_kek_and_a_wrong_one_changes_nothing(tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    keys_dir = tmp_path / "keys"
    make(keys_dir, "sealed", seal_mode="aes", seal_kek_path=kek)
    with ek.KeyManager(key_path=keys_dir, key_id="sealed") as km:
        with pytest.raises(ek.InvalidArgumentError, match="sealed; changing its state needs the KEK"):
            km.set_state("deactivated", "done")
        with pytest.raises(ek.AuthenticationError, match='"sealed"') as ei:
            km.set_state("deactivated", "done", kek=os.urandom(32))
        assert ei.value.code == "ENVECTOR_ERR_AUTH"
        assert km.state().state == "active"
        assert km.set_state("deactivated", "done", seal_kek_path=kek).state == "deactivated"
        with pytest.raises(ek.InvalidArgumentError, match="give kek or seal_kek_path, not both"):
            km.set_state("destroyed", "x", kek=b"k", seal_kek_path=kek)
        assert km.set_state("destroyed", "done", kek=kek.read_text().strip()).state == "destroyed"


def test_reseal_then_load_and_unseal_with_the_new_kek(tmp_path: Path) -> None:
    make(tmp_path, "rs")
    first, second = kek_file(tmp_path, "raw", "first"), kek_file(tmp_path, "base64", "second")
    with ek.KeyManager(key_path=tmp_path, key_id="rs") as km:
        before = km.load()
        with pytest.raises(ek.InvalidArgumentError, match="the new KEK is required"):
            km.reseal()
        with pytest.raises(ek.InvalidArgumentError, match="not sealed; give no current KEK"):
            km.reseal(os.urandom(32), kek=os.urandom(32))
        km.reseal(new_seal_kek_path=first)  # sealed for the first time
        after = km.load()
        assert after["enc_blob"] == before["enc_blob"] and after["eval_blob"] == before["eval_blob"]
        assert b"AES-KEK" in after["sec_blob"]
        assert km.verify(seal_kek_path=first) is True
        assert km.decrypt_metadata(km.encrypt_metadata("x", seal_kek_path=first), seal_kek_path=first) == "x"

        with pytest.raises(ek.InvalidArgumentError, match="needs the current KEK"):
            km.reseal(new_seal_kek_path=second)
        with pytest.raises(ek.AuthenticationError):
            km.reseal(new_seal_kek_path=second, kek=os.urandom(32))
        assert km.load() == after, "a refused reseal changes nothing"
        km.reseal(new_seal_kek_path=second, seal_kek_path=first)
        with pytest.raises(ek.AuthenticationError):
            km.verify(seal_kek_path=first)
        assert km.verify(seal_kek_path=second) is True
        assert km.state().state == "active"

        km.set_state("deactivated", "retired", seal_kek_path=second)
        with pytest.raises(ek.KeyInactiveError):
            km.reseal(new_seal_kek_path=first, seal_kek_path=second)


def test_rotate_then_load_version_1_and_the_current_version_2(tmp_path: Path) -> None:
    make(tmp_path, "rot")
    with ek.KeyManager(key_path=tmp_path) as km:
        v1 = km.load(key_id="rot")
        new = km.rotate("rot", reason="scheduled", lifetime_days=30)
        assert (new.state, new.version, new.reason) == ("active", 2, None)
        assert epoch(new.expires_at or "") - epoch(new.created_at or "") == 30 * 86400

        current = km.load(key_id="rot")
        assert current["sec_blob"] != v1["sec_blob"]
        assert km.state("rot") == new
        assert km.load_version(2, key_id="rot") == current
        old = km.load_version(1, key_id="rot")
        for k in ("sec_blob", "enc_blob", "eval_blob", "metadata_blob"):
            assert key_data(old[k]) == key_data(v1[k]), f"{k}: version 1 keeps its keys"
            assert key_data(old[k]) != key_data(current[k]), f"{k}: version 2 has new ones"
        assert km.state("rot", version=1).state == "deactivated"
        assert km.state("rot", version=1).reason == "scheduled"
        assert km.verify(key_id="rot") is True
        part = km.load_version(1, key_id="rot", roles=["MetadataKey"])
        assert part["sec_blob"] is None and key_data(part["metadata_blob"]) == key_data(v1["metadata_blob"])

        with pytest.raises(ek.NotFoundError, match="no version 3.*the current one is 2"):
            km.load_version(3, key_id="rot")
        for bad in (-1, 1.0, True, "1"):
            with pytest.raises(ek.InvalidArgumentError, match="version must be a version number"):
                km.load_version(bad, key_id="rot")

        # Other parameters; a rotation of the new current one.
        third = km.rotate("rot", preset="ip0", eval_mode="rmp", dim_list=[32], metadata_encryption=False)
        assert third.version == 3
        assert km.load(key_id="rot")["metadata_blob"] is None
        assert km.state("rot", version=2).reason == "superseded by version 3"
        assert km.list_sets() == [ek.KeySetListing(key_id="rot", roles=["SecKey", "EncKey", "EvalKey"], complete=True, versions=[1, 2])]
        with pytest.raises(ek.InvalidArgumentError, match="lifetime_days must be a positive number"):
            km.rotate("rot", lifetime_days=0)
        with pytest.raises(ek.NotFoundError):
            km.rotate("absent")


def test_rotate_a_sealed_set_needs_its_kek_and_seals_the_new_one(tmp_path: Path) -> None:
    kek = kek_file(tmp_path)
    make(tmp_path / "k", "srot", seal_mode="aes", seal_kek_path=kek)
    with ek.KeyManager(key_path=tmp_path / "k", key_id="srot") as km:
        with pytest.raises(ek.InvalidArgumentError, match="rotating needs the KEK"):
            km.rotate()
        with pytest.raises(ek.AuthenticationError):
            km.rotate(kek=os.urandom(32))
        assert km.list_sets()[0].versions == []
        assert km.rotate(seal_kek_path=kek).version == 2
        assert b"AES-KEK" in km.load()["sec_blob"]
        assert km.verify(seal_kek_path=kek) is True


def test_list_sets_shows_versions_and_an_incomplete_set(tmp_path: Path) -> None:
    with ek.KeyManager(key_path=tmp_path) as km:
        assert km.list_sets() == []
        make(tmp_path, "a")
        make(tmp_path, "b")
        km.rotate("a")
        (tmp_path / "b" / "EvalKey.json").unlink()
        sets = km.list_sets()
        assert sets == [
            ek.KeySetListing(key_id="a", roles=["SecKey", "EncKey", "EvalKey", "MetadataKey"], complete=True, versions=[1]),
            ek.KeySetListing(key_id="b", roles=["SecKey", "EncKey", "MetadataKey"], complete=False, versions=[]),
        ]
        assert "roles=['SecKey'" in repr(sets[0])
        assert km.list_keys() == ["a", "b"]
        assert km.verify_key_id("b") is False
        with pytest.raises(ek.NotFoundError, match="EvalKey"):
            km.load(key_id="b")
        km.delete(key_id="b")
        km.delete(key_id="a")
        assert km.list_sets() == [] and tree(tmp_path) == []


def test_lifetime_days_sets_expires_at(tmp_path: Path) -> None:
    keys = ek.KeyGenerator(key_id="lt", lifetime_days=0.5, **TINY).generate_keys_stream()
    with ek.KeyManager(key_path=tmp_path, key_id="lt") as km:
        km.save(keys)
        st = km.state()
        assert epoch(st.expires_at or "") - epoch(st.created_at or "") == 12 * 3600
    r = ek.init(key_path=tmp_path, key_id="init-lt", lifetime_days=365, **TINY)
    assert r.created
    with ek.KeyManager(key_path=tmp_path, key_id="init-lt") as km:
        st = km.state()
        assert epoch(st.expires_at or "") - epoch(st.created_at or "") == 365 * 86400
    for bad, pattern in ((0, "must be a positive number"), (-3, "must be a positive number"), ("30", "must be a positive number"),
                         (36501, "accepted: 1 hour to 100 years"), (0.01, "accepted: 1 hour to 100 years")):
        with pytest.raises(ek.InvalidArgumentError, match=pattern):
            ek.KeyGenerator(key_path=tmp_path, key_id="bad", lifetime_days=bad, **TINY).generate_keys()
    assert not (tmp_path / "bad").exists()
