"""The key data itself, in enVector's own (evi) layout, against evi (pyenvector 1.6.3's
native module), per preset and eval mode on small configurations:

- evi loads our key set: evi unwraps our EncKey and EvalKey envelopes (checking their
  hashes), parses our EncKey and every EVIKeys<rank>.bin file of our EvalKey archive and
  writes each back byte for byte (evi's stream loaders accept some garbage silently: only
  a byte-identical re-save proves that evi parsed our bytes); evi's loader of a key
  directory (KeyPack(context, dir)) takes our set; our archive holds the files, sizes and
  metadata evi's own generator writes for the same preset, mode and dims;
- a vector evi encrypts with our EncKey decrypts with our SecKey, in evi (plain, and
  sealed: evi unseals our SecKey with the KEK) and in our Go code; one evi encrypts with
  its own EncKey decrypts in our Go code with its SecKey; a SecKey of another set does not
  decrypt, in either;
- every EvalKey check evi offers client-side passes on ours (the envelope hash, the parse
  of every packed polynomial, which rejects a file cut short) and pyenvector's Key API
  (ip1-ip3 rmp; it refuses ip0 and flat) encrypts and decrypts with our set and reads its
  eval mode from our envelope;
- `envector-keygen verify` proves our sets, evi's own sets (wrapped into envelopes by
  evi's KeyManager) and pyenvector's fixture sets, and, when one key file of another set
  with the same key id is swapped in, exits 1 naming it.

The large default case, ip3/mm32, is test_evi_keys_mm32.py.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from compat_helpers import (
    EVI_ITEM_SCALE_LOG2,
    evi_rank_of_dim,
    evikeys_rank,
    evis_archive,
    key_data,
    run_cli,
    scale_fit,
    text,
)
from conftest import KeySet, KeySets, binding_key_bytes, evi

# ---- the configurations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    preset: str  # as the CLI spells it: ip0..ip3
    mode: str  # rmp, flat, single
    dims: Tuple[int, ...]

    @property
    def id(self) -> str:
        return f"{self.preset}-{self.mode}-{'-'.join(map(str, self.dims))}"

    @property
    def P(self) -> str:
        return self.preset.upper()

    @property
    def named(self) -> str:
        """The preset the key files name: evi writes QF1's keys as QF0's."""
        return "QF0" if self.P == "QF1" else self.P

    @property
    def M(self) -> str:
        return self.mode.upper()

    def context(self, dim: int) -> Any:
        return evi.Context(getattr(evi.ParameterPreset, self.P), evi.DeviceType.CPU, dim, getattr(evi.EvalMode, self.M))

    def levels(self) -> List[int]:
        """The levels an ITEM is encrypted at: IP0 has one prime below its aux prime."""
        return [0] if self.P == "IP0" else [0, 1]


CASES = [
    Case("ip0", "rmp", (32,)),
    Case("ip0", "flat", (32,)),
    Case("ip0", "single", (32,)),
    Case("ip1", "rmp", (32,)),
    Case("ip1", "flat", (32,)),
    Case("ip2", "rmp", (32,)),
    Case("ip2", "flat", (32,)),
    Case("ip3", "rmp", (32,)),
    Case("ip3", "flat", (32,)),
    # QF1 is QF0 in evi (its keys and envelopes say QF0)
    Case("qf0", "rmp", (32,)),
    Case("qf1", "flat", (32,)),
    # several dims: RMP's two inner ranks (EVIKeys32.bin, EVIKeys64.bin), FLAT one file per dim
    Case("ip1", "rmp", (32, 1024, 4096)),
    Case("ip3", "flat", (32, 64)),
]
# pyenvector's Key API takes ip1-ip4 with rmp, mm, mms, mm32, mms32 only.
PYENVECTOR_API_CASES = [c for c in CASES if c.mode == "rmp" and c.preset.startswith("ip") and c.preset != "ip0" and c.dims == (32,)]

SEED = "a1" * 64  # our set, plain and sealed: the same keys
OTHER_SEED = "b2" * 64  # another set of the same configuration and key id
KEY_ID = "k"  # every set of a case has this key id: a swapped file passes the envelope's id checks
KEY_ROLES = ("SecKey", "EncKey", "EvalKey")


def _no_seal() -> Any:
    return evi.SealInfo(evi.SealMode.NONE)


@dataclass
class Made:
    """Everything made for one case: our sets (plain and sealed, and another set of each),
    evi's own sets (raw .bin files and the same wrapped into envelopes by evi), and our
    raw key bytes as evi unwraps them."""

    case: Case
    root: Path
    sets: Dict[str, KeySet]  # ours, ours-sealed, other, other-sealed, evi, evi-other
    raw: Dict[str, Dict[str, bytes]]  # set name -> role -> raw key bytes (unsealed)

    def files(self, name: str) -> Dict[str, bytes]:
        return evis_archive(self.raw[name]["EvalKey"])


def _evi_generate(case: Case, raw_dir: Path, key_path: Path, evi_km: Any) -> Dict[str, bytes]:
    """evi's own key set for case (its native MultiKeyGenerator, unsealed), and the same
    wrapped by evi's KeyManager into <key_path>/k/{SecKey,EncKey,EvalKey}.json."""
    raw_dir.mkdir(parents=True)
    evi.MultiKeyGenerator([case.context(d) for d in case.dims], str(raw_dir), _no_seal()).generate_keys()
    raw = {role: (raw_dir / f"{role}.bin").read_bytes() for role in KEY_ROLES}
    d = key_path / KEY_ID
    d.mkdir(parents=True)
    wrap = {"SecKey": evi_km.wrap_sec_key_bytes, "EncKey": evi_km.wrap_enc_key_bytes,
            "EvalKey": evi_km.wrap_eval_key_bytes}
    for role in KEY_ROLES:
        (d / f"{role}.json").write_bytes(bytes(wrap[role](KEY_ID, raw[role])))
    return raw


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory, sets: KeySets, evi_km: Any,
         seal_info: Any) -> Iterator[Callable[[Case], Made]]:
    """A factory: the sets of a case, made on first use (each takes well under a second)."""
    root = tmp_path_factory.mktemp("evi-keys")
    cache: Dict[str, Made] = {}
    unwrap = {"SecKey": evi_km.unwrap_sec_key_bytes, "EncKey": evi_km.unwrap_enc_key_bytes,
              "EvalKey": evi_km.unwrap_eval_key_bytes}

    def make(case: Case) -> Made:
        if case.id in cache:
            return cache[case.id]
        base = root / case.id
        ks: Dict[str, KeySet] = {}
        raw: Dict[str, Dict[str, bytes]] = {}
        for name, seed, sealed in (("ours", SEED, False), ("ours-sealed", SEED, True), ("other", OTHER_SEED, False),
                                   ("other-sealed", OTHER_SEED, True)):
            s = KeySet(name, base / name, KEY_ID, sealed, "ours")
            args = [*s.cli_args(), "--preset", case.preset, "--eval_mode", case.mode, "--dim",
                    *map(str, case.dims), "--seed", seed, "--quiet"]
            if sealed:
                args += ["--seal_mode", "aes", "--seal_key_path", str(sets.kek)]
            r = run_cli(*args)
            assert r.returncode == 0, f"envector-keygen {' '.join(args)}: {text(r)}"
            ks[name] = s
            # evi's unwrap functions: each checks the envelope (hash, aad, layout); the
            # sealed SecKey is unsealed with the suite's KEK.
            roles = KEY_ROLES if name.startswith("ours") else ("SecKey",)  # of the others only SecKey is used
            raw[name] = {role: bytes(unwrap[role](s.envelope(role), seal_info) if sealed and role == "SecKey"
                                     else unwrap[role](s.envelope(role))) for role in roles}
        for name in ("evi", "evi-other"):
            ks[name] = KeySet(name, base / name, KEY_ID, False, "evi")
            raw[name] = _evi_generate(case, base / f"{name}-bin", base / name, evi_km)
        cache[case.id] = Made(case, base, ks, raw)
        return cache[case.id]

    yield make
    shutil.rmtree(root, ignore_errors=True)  # ~0.3 GB


@pytest.fixture(params=CASES, ids=[c.id for c in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def _vector(case: Case, salt: str = "") -> List[float]:
    rng = random.Random(f"{case.id}{salt}")
    return [rng.uniform(-1, 1) for _ in range(case.dims[0])]


def _max_error(got: Any, v: List[float]) -> float:
    got = list(got)
    assert len(got) >= len(v), f"decrypted {len(got)} values, encrypted {len(v)}"
    return max(abs(a - b) for a, b in zip(got, v))


def _enc_pack(case: Case, enc_key: bytes) -> Tuple[Any, Any]:
    """An evi context of the case's first dim and a KeyPack holding enc_key."""
    ctx = case.context(case.dims[0])
    kp = evi.KeyPack(ctx)
    kp.load_enc_key_stream(enc_key)
    return ctx, kp


# Decryptions: within OK of the vector when the keys belong together, off by more than
# WRONG when they do not (a wrong secret leaves noise of the order of the modulus).
OK, WRONG = 1e-3, 0.1

# ---- evi loads our key set ---------------------------------------------------------------------


def test_evi_loads_our_enc_key_and_writes_it_back_byte_identical(made, case: Case, tmp_path: Path) -> None:
    m = made(case)
    enc = m.raw["ours"]["EncKey"]
    assert enc == key_data(m.sets["ours"].envelope("EncKey")), "evi's unwrap changed our key bytes"
    assert m.raw["ours-sealed"]["EncKey"] == enc, "the same seed made another EncKey in the sealed set"
    assert enc[:10] == b"\x02" + case.named.encode().ljust(4, b"\0") + b"EVIS\x01", enc[:10]
    assert len(enc) == len(m.raw["evi"]["EncKey"]), "evi's own EncKey of this preset has another size"
    kp = evi.KeyPack(case.context(case.dims[0]))
    kp.load_enc_key_stream(enc)
    out = tmp_path / "EncKey.bin"
    kp.save_enc_key_file(str(out))
    assert out.read_bytes() == enc, "evi parsed our EncKey into something else"


def test_our_eval_key_archive_holds_what_evis_own_generator_writes(made, case: Case) -> None:
    """Same files, same sizes, and metadata-eval.json byte for byte, as evi's own
    MultiKeyGenerator writes for this preset, eval mode and dims."""
    m = made(case)
    ours, theirs = m.files("ours"), m.files("evi")
    assert {p: len(b) for p, b in ours.items()} == {p: len(b) for p, b in theirs.items()}
    assert ours["metadata-eval.json"] == theirs["metadata-eval.json"]
    meta = json.loads(ours["metadata-eval.json"])
    assert meta["ParameterPreset"] == case.named
    ranks = sorted({evi_rank_of_dim(case.mode, d) for d in case.dims})
    assert sorted(evikeys_rank(p) for p in ours if p != "metadata-eval.json") == ranks
    assert m.raw["ours-sealed"]["EvalKey"] == m.raw["ours"]["EvalKey"]


@pytest.mark.parametrize("role", KEY_ROLES)
def test_our_envelopes_describe_the_keys_as_evi_does(made, case: Case, role: str) -> None:
    """The entry of each envelope (name, role, metadata: eval mode, preset, primes, scales)
    is what evi's KeyManager writes when it wraps evi's own key of the same configuration."""
    m = made(case)
    ours = json.loads(m.sets["ours"].envelope(role))["entries"][0]
    theirs = json.loads(m.sets["evi"].envelope(role))["entries"][0]
    for field in ("name", "role", "metadata"):
        assert ours.get(field) == theirs.get(field), f"{role} entry {field}: ours {ours.get(field)!r}, evi's {theirs.get(field)!r}"


def test_evi_parses_every_evikeys_file_of_our_eval_key_and_writes_it_back_byte_identical(made, case: Case,
                                                                                        tmp_path: Path) -> None:
    m = made(case)
    raw = m.raw["ours"]["EvalKey"]
    assert raw == key_data(m.sets["ours"].envelope("EvalKey"))
    files = m.files("ours")
    out = tmp_path / "resaved.bin"
    for path, body in sorted(files.items()):
        if path == "metadata-eval.json":
            continue
        assert body[:6] == b"\x03EVIS\x01", f"{path}: {body[:6]!r}"
        rank = evikeys_rank(path)
        dim = next(d for d in (*case.dims, rank) if evi_rank_of_dim(case.mode, d) == rank)
        kp = evi.KeyPack(case.context(dim))
        kp.load_eval_key_stream(body)
        kp.save_eval_key_file(str(out))
        assert out.read_bytes() == body, f"{path}: evi parsed it into something else"
        # evi's one client-side check of key-switching keys, the parse of every packed
        # polynomial, is live: it refuses the same file cut short.
        with pytest.raises(Exception, match="(?i)truncat"):
            evi.KeyPack(case.context(dim)).load_eval_key_stream(body[:-5])


def test_evi_key_directory_loader_takes_our_set(made, case: Case, tmp_path: Path) -> None:
    """KeyPack(context, dir) reads EncKey.bin and the EvalKey.bin archive of a key
    directory (our keys, unwrapped by evi) and picks the EVIKeys file of the context."""
    m = made(case)
    raw = m.raw["ours"]
    d = tmp_path / "keys"
    d.mkdir()
    (d / "EncKey.bin").write_bytes(raw["EncKey"])
    (d / "EvalKey.bin").write_bytes(raw["EvalKey"])
    files = m.files("ours")
    for dim in case.dims:
        kp = evi.KeyPack(case.context(dim), str(d))
        kp.save_enc_key_file(str(tmp_path / "enc.bin"))
        kp.save_eval_key_file(str(tmp_path / "eval.bin"))
        assert (tmp_path / "enc.bin").read_bytes() == raw["EncKey"], f"dim {dim}"
        want = files[f"EVIKeys{evi_rank_of_dim(case.mode, dim)}.bin"]
        assert (tmp_path / "eval.bin").read_bytes() == want, f"dim {dim}: evi's loader took other keys from our archive"


# ---- encryption across the two SDKs ------------------------------------------------------------


@pytest.mark.parametrize("which", ["ours", "ours-sealed"])
def test_evi_encrypts_with_our_enc_key_and_our_sec_key_decrypts_in_evi_and_in_go(
        made, case: Case, which: str, sets: KeySets, seal_info: Any, core_helper: Any) -> None:
    m = made(case)
    ks = m.sets[which]
    ctx, kp = _enc_pack(case, m.raw[which]["EncKey"])
    if ks.sealed:
        # evi unseals our sealed SecKey itself; our library unseals it for our Go code.
        ours_evi = evi.SecretKey(key_data(ks.envelope("SecKey")), seal_info)
        ours_go = binding_key_bytes(ks, kek=sets.kek.read_bytes())["SecKey"]
        assert ours_go == m.raw[which]["SecKey"] == m.raw["ours"]["SecKey"]
    else:
        ours_evi = evi.SecretKey(m.raw[which]["SecKey"], _no_seal())
        ours_go = m.raw[which]["SecKey"]
    other = m.raw["other"]["SecKey"]
    other_evi = evi.SecretKey(other, _no_seal())
    v = _vector(case)
    enc = evi.Encryptor(ctx)
    dec = evi.Decryptor(ctx)
    for et, lvl in [*(("ITEM", lvl) for lvl in case.levels()), ("QUERY", 0)]:
        q = enc.encrypt(v, kp, getattr(evi.EncodeType, et), lvl)
        err = _max_error(dec.decrypt(q, ours_evi), v)
        assert err < OK, f"{et} level {lvl}: evi decrypts with our SecKey off by {err:.3g}"
        err = _max_error(dec.decrypt(q, other_evi), v)
        assert err > WRONG, f"{et} level {lvl}: another set's SecKey decrypts it in evi (off by {err:.3g})"
        if et != "ITEM":
            continue
        ct = evi.Query.serializeTo(q)
        scale, err = scale_fit(core_helper.decrypt(case.P, ours_go, ct), v)
        assert err < OK and abs(scale - EVI_ITEM_SCALE_LOG2[case.P]) < 0.01, \
            f"level {lvl}: our Go code decrypts with our SecKey at scale 2^{scale:.4f}, off by {err:.3g}"
        _, err = scale_fit(core_helper.decrypt(case.P, other, ct), v)
        assert err > WRONG, f"level {lvl}: another set's SecKey decrypts it in our Go code (off by {err:.3g})"


def test_go_decrypts_what_evi_encrypts_under_evis_own_keys(made, case: Case, core_helper: Any) -> None:
    m = made(case)
    theirs = m.raw["evi"]
    ctx, kp = _enc_pack(case, theirs["EncKey"])
    v = _vector(case, "evi")
    for lvl in case.levels():
        q = evi.Encryptor(ctx).encrypt(v, kp, evi.EncodeType.ITEM, lvl)
        assert _max_error(evi.Decryptor(ctx).decrypt(q, evi.SecretKey(theirs["SecKey"], _no_seal())), v) < OK
        ct = evi.Query.serializeTo(q)
        scale, err = scale_fit(core_helper.decrypt(case.P, theirs["SecKey"], ct), v)
        assert err < OK and abs(scale - EVI_ITEM_SCALE_LOG2[case.P]) < 0.01, \
            f"level {lvl}: our Go code decrypts evi's ciphertext with evi's SecKey at scale 2^{scale:.4f}, off by {err:.3g}"
        _, err = scale_fit(core_helper.decrypt(case.P, m.raw["ours"]["SecKey"], ct), v)
        assert err > WRONG, f"level {lvl}: our SecKey decrypts evi's ciphertext under evi's keys (off by {err:.3g})"


@pytest.mark.parametrize("which", ["pyenvector", "pyenvector-sealed"])
def test_go_decrypts_under_pyenvectors_fixture_keys(sets: KeySets, evi_km: Any, which: str, core_helper: Any) -> None:
    """pyenvector's own IP1/rmp sets (its KeyGenerator): evi encrypts with its EncKey, our
    library loads (and unseals) its SecKey, our Go code decrypts."""
    ks = sets[which]
    enc = bytes(evi_km.unwrap_enc_key_bytes(ks.envelope("EncKey")))
    sec = binding_key_bytes(ks, kek=sets.kek.read_bytes() if ks.sealed else None)["SecKey"]
    case = Case("ip1", "rmp", (32,))
    ctx, kp = _enc_pack(case, enc)
    v = _vector(case, which)
    for lvl in case.levels():
        ct = evi.Query.serializeTo(evi.Encryptor(ctx).encrypt(v, kp, evi.EncodeType.ITEM, lvl))
        scale, err = scale_fit(core_helper.decrypt("IP1", sec, ct), v)
        assert err < OK and abs(scale - EVI_ITEM_SCALE_LOG2["IP1"]) < 0.01, f"level {lvl}: 2^{scale:.4f}, off by {err:.3g}"


# ---- pyenvector's Key API on our sets ----------------------------------------------------------


@pytest.mark.parametrize("which", ["ours", "ours-sealed"])
@pytest.mark.parametrize("api_case", PYENVECTOR_API_CASES, ids=[c.id for c in PYENVECTOR_API_CASES])
def test_pyenvector_key_api_encrypts_and_decrypts_with_our_set(made, api_case: Case, which: str, sets: KeySets) -> None:
    from pyenvector import errors
    from pyenvector.key import Key, KeyProtectionStrategy

    m = made(api_case)
    ks = m.sets[which]
    prot = KeyProtectionStrategy.aes_kek(kek_path=str(sets.kek)) if ks.sealed else None
    key = Key.from_local(str(ks.key_path), KEY_ID, preset=api_case.preset, eval_mode=api_case.mode,
                         metadata_encryption=True, protection=prot)
    assert key.can_encrypt and key.can_decrypt and key.can_register
    # What pyenvector registers on the server (and hashes): our EvalKey's key bytes.
    assert key.eval_key_raw() == m.raw["ours"]["EvalKey"]
    cipher = key.of(api_case.dims[0])
    v = _vector(api_case, "pyenvector")
    for et in ("item", "query"):
        err = _max_error(cipher.decrypt(cipher.encrypt(v, et)), v)
        assert err < OK, f"{et}: off by {err:.3g}"
    # pyenvector reads the eval mode from our EvalKey envelope and refuses another.
    wrong = "mm32" if api_case.preset == "ip3" else "mm"
    with pytest.raises(errors.KeyConfigurationError, match="eval_mode mismatch"):
        Key.from_local(str(ks.key_path), KEY_ID, preset=api_case.preset, eval_mode=wrong, protection=prot)


# ---- our verify --------------------------------------------------------------------------------


def _verify(ks: KeySet, sets: KeySets) -> Any:
    kek = ["--seal_key_path", str(sets.kek)] if ks.sealed else []
    return run_cli("verify", *ks.cli_args(), *kek)


@pytest.mark.parametrize("which", ["ours", "ours-sealed", "evi"])
def test_our_verify_proves_the_set(made, case: Case, which: str, sets: KeySets) -> None:
    """Ours (plain and sealed) and evi's own set of the case, wrapped by evi's KeyManager."""
    ks = made(case).sets[which]
    r = _verify(ks, sets)
    assert r.returncode == 0 and "verified" in r.stdout.decode(), text(r)


@pytest.mark.parametrize("which", ["pyenvector", "pyenvector-sealed"])
def test_our_verify_proves_pyenvectors_fixture_sets(sets: KeySets, which: str) -> None:
    r = _verify(sets[which], sets)
    assert r.returncode == 0 and "verified" in r.stdout.decode(), text(r)


@pytest.mark.parametrize("role", KEY_ROLES)
@pytest.mark.parametrize("which", ["ours", "ours-sealed", "evi"])
def test_our_verify_names_a_key_of_another_set(made, case: Case, which: str, role: str, sets: KeySets,
                                               tmp_path: Path) -> None:
    """One file swapped for the same role of another set of the same configuration and
    key id (so no id check can tell): verify exits 1 and names the key."""
    m = made(case)
    ks = m.sets[which]
    other = m.sets[{"ours": "other", "ours-sealed": "other-sealed", "evi": "evi-other"}[which]]
    mixed = KeySet(f"{which}+{role}", tmp_path, KEY_ID, ks.sealed, ks.writer)
    shutil.copytree(ks.dir, mixed.dir)
    shutil.copyfile(other.file(role), mixed.file(role))
    try:
        r = _verify(mixed, sets)
    finally:
        shutil.rmtree(mixed.dir)  # 99 copies of a few MB each: not left behind
    err = r.stderr.decode()
    assert r.returncode == 1, text(r)
    assert role in err and "verified" not in r.stdout.decode(), text(r)
    assert "panic" not in err and "goroutine" not in err, text(r)
