"""Every field enVector checks when it loads a key, edited in one of our files, is refused
by pyenvector 1.6.3 (evi's unwrap) and by us (our binding's load), each with its own
message.

Two variants of each edit:
- "stale": only the field changes; every digest is left as it was.
- "evi-digests-recomputed" (where that means something): the edit, then enVector's own
  digests made to agree again (aad over kid, usage, requester and the times; integrity;
  the entry hash over key_data), as anyone editing the file could do. Ours (the
  envector_keys digest and, on sealed secrets, the MAC under the KEK) are left stale.
  Where evi then accepts the file, only our digest stands between the edit and its use:
  those cases assert evi's acceptance and our refusal, to show what each SDK catches.

Then the limits of each check: fields no check of enVector's covers (state.reason,
updated_at, key_version, integrity, format_version, the entry role, our member) edited:
evi loads the file, we refuse it; and on a sealed secret, every unkeyed digest recomputed
(ours too): both load it, but our unseal refuses it (the MAC under the KEK).

Edited files: our plain SecKey, our sealed SecKey ("seckey.sealed", AES-KEK) and our
sealed MetadataKey (AES-256-GCM).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

from compat_helpers import SECRET, UNWRAP, canonical, edited, recompute_evi_digests
from conftest import KeySets, ek

ACCEPTED = "ACCEPTED"  # evi loads the edited file

# What each SDK says.
EVI_AAD = r"Key envelope aad verification failed"
EVI_USAGE = r"Key envelope usage mismatch: expected 'vector_search', got 'evaluation'"
EVI_EXPIRED = r"Key envelope state is 'expired' \(expires_at='2020-01-01T00:00:00Z'\)"
EVI_HASH = r"Key entry hash verification failed"
EVI_STATE = r"Key '[^']+' is in state 'deactivated'; unwrap is not allowed"
EVI_NO_REQUESTER = r"Key envelope is missing 'requester' object"
EVI_NO_ENTRIES = r"Key envelope is missing non-empty 'entries' array"

OURS_AAD = r"the aad digest does not match the key id, usage, requester and times: the envelope was edited"
OURS_USAGE = r'usage "evaluation"; accepted: "vector_search"'
OURS_EXPIRED = r"the key expired at 2020-01-01T00:00:00Z; expired keys are not loaded for use"
OURS_HASH = r"the key_data does not match its hash: the key bytes were altered or truncated"
OURS_STATE = r"the key is deactivated, not active; only active keys are loaded for use"
OURS_NO_REQUESTER = r"missing fields: requester"
OURS_NO_ENTRIES = r"0 entries; a key envelope holds exactly 1"
OURS_DIGEST = r"the envector-keys digest does not match: the envelope was edited"


def set_(path: List[str], value: Any) -> Callable[[Dict[str, Any]], None]:
    def edit(doc: Dict[str, Any]) -> None:
        d = doc
        for k in path[:-1]:
            d = d[k]
        d[path[-1]] = value
    return edit


def drop(name: str) -> Callable[[Dict[str, Any]], None]:
    return lambda doc: doc.pop(name)


def change_key_bytes(doc: Dict[str, Any]) -> None:
    """One bit of key_data: in a plain SecKey a zero coefficient becomes +1 (a valid
    SecKey still); in a sealed blob the last ciphertext byte changes."""
    e = doc["entries"][0]
    data = bytearray(base64.b64decode(e["key_data"]))
    if data[:1] == b"\x01":  # evi's plain SecKey: 2-bit codes, 00 = 0, 01 = +1
        i = len(data) - 1
        while data[i] & 0x03:
            i -= 1
        data[i] |= 0x01
    else:
        data[-1] ^= 0x01
    e["key_data"] = base64.b64encode(bytes(data)).decode("ascii")


@dataclass(frozen=True)
class Case:
    id: str
    edit: Callable[[Dict[str, Any]], None]
    evi: str  # evi's message when every digest is stale
    ours: str  # ours, likewise
    # With evi's digests recomputed (None: not meaningful for this field). evi's outcome
    # may depend on the file: a dict by file id, with "*" as the default.
    evi_recomputed: Optional[Dict[str, str]] = None
    ours_recomputed: str = OURS_DIGEST


CASES = [
    # Covered by evi's aad.
    Case("kid", set_(["kid"], "renamed-set"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    Case("usage", set_(["usage"], "evaluation"), EVI_USAGE, OURS_USAGE, {"*": EVI_USAGE}, OURS_USAGE),
    Case("requester.entity", set_(["requester", "entity"], "mallory"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    Case("requester.method", set_(["requester", "method"], "api"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    Case("requester.type", set_(["requester", "type"], "service"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    Case("created_at", set_(["created_at"], "2026-01-01T00:00:00Z"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    Case("expires_at-later", set_(["expires_at"], "2099-01-01T00:00:00Z"), EVI_AAD, OURS_AAD, {"*": ACCEPTED}),
    # expires_at in the future: checked before any digest, by both.
    Case("expires_at-past", set_(["expires_at"], "2020-01-01T00:00:00Z"), EVI_EXPIRED, OURS_EXPIRED,
         {"*": EVI_EXPIRED}, OURS_EXPIRED),
    # The entry hash against key_data.
    Case("key_data", change_key_bytes, EVI_HASH, OURS_HASH,
         {"ours:SecKey": ACCEPTED, "ours-sealed:SecKey": r"Failed to unseal secret key: AES-GCM tag verification failed",
          "ours-sealed:MetadataKey": r"Failed to decrypt sealed metadata key with provided KEK"}),
    Case("hash", set_(["entries", 0, "hash", "value"], base64.b64encode(bytes(32)).decode()), EVI_HASH, OURS_HASH),
    # Not covered by any digest of evi's: checked as values.
    Case("state.value", set_(["state", "value"], "deactivated"), EVI_STATE, OURS_STATE),
    Case("requester-missing", drop("requester"), EVI_NO_REQUESTER, OURS_NO_REQUESTER,
         {"*": EVI_NO_REQUESTER}, OURS_NO_REQUESTER),
    Case("entries-empty", set_(["entries"], []), EVI_NO_ENTRIES, OURS_NO_ENTRIES),
]

FILES = [("ours", "SecKey"), ("ours-sealed", "SecKey"), ("ours-sealed", "MetadataKey")]

PARAMS = []
for _c in CASES:
    for _set, _role in FILES:
        PARAMS.append(pytest.param(_c, _set, _role, "stale", id=f"{_c.id}-{_set}-{_role}-stale"))
        if _c.evi_recomputed is not None:
            PARAMS.append(pytest.param(_c, _set, _role, "recomputed", id=f"{_c.id}-{_set}-{_role}-evi-digests-recomputed"))


def evi_outcome(evi_km: Any, role: str, envelope: bytes, seal: Any) -> str:
    fn = getattr(evi_km, UNWRAP[role])
    try:
        out = fn(envelope, seal) if seal is not None else fn(envelope)
    except Exception as e:  # evi raises RuntimeError("[InvalidInputError] ...")
        return f"refused: {e}"
    assert len(bytes(out)) > 0
    return ACCEPTED


def our_outcome(tmp_path: Path, kid: str, role: str, envelope: bytes) -> str:
    """Our binding's load of the edited file, alone in <tmp>/<kid>/ (kid: the file's own
    kid, so the key id the store expects is the one the file claims)."""
    (tmp_path / kid).mkdir(parents=True)
    (tmp_path / kid / f"{role}.json").write_bytes(envelope)
    try:
        with ek.KeyManager(key_path=tmp_path, key_id=kid) as km:
            km.load(roles=[role])
    except (ek.CorruptDataError, ek.KeyInactiveError) as e:  # damaged, or not active: not used
        return f"refused: {e}"
    except ek.EnvectorError as e:  # refused, but not as corrupt data: reported as such
        return f"refused with {type(e).__name__}: {e}"
    return ACCEPTED


@pytest.mark.parametrize("case,which,role,variant", PARAMS)
def test_an_edited_field_is_refused(sets: KeySets, evi_km, seal_info, tmp_path: Path, case: Case, which: str, role: str,
                                    variant: str) -> None:
    ks = sets[which]
    doc = edited(ks.envelope(role))
    case.edit(doc)
    if variant == "recomputed":
        recompute_evi_digests(doc, role)
    envelope = canonical(doc)
    seal = seal_info if ks.sealed and role in SECRET else None

    if variant == "stale":
        want_evi, want_ours = case.evi, case.ours
    else:
        assert case.evi_recomputed is not None
        want_evi = case.evi_recomputed.get(f"{which}:{role}", case.evi_recomputed.get("*"))
        want_ours = case.ours_recomputed

    got_evi = evi_outcome(evi_km, role, envelope, seal)
    kid = doc.get("kid") if isinstance(doc.get("kid"), str) else ks.key_id
    got_ours = our_outcome(tmp_path, kid, role, envelope)

    if want_evi == ACCEPTED:
        assert got_evi == ACCEPTED, f"evi: expected to accept (only our digest catches this edit), got {got_evi}"
    else:
        assert got_evi.startswith("refused: ") and re.search(want_evi, got_evi), f"evi: expected /{want_evi}/, got {got_evi}"
    assert got_ours.startswith("refused: ") and re.search(want_ours, got_ours), f"ours: expected /{want_ours}/, got {got_ours}"
    assert f"envelope.Parse({role})" in got_ours, got_ours


def test_the_unedited_files_load_in_both(sets: KeySets, evi_km, seal_info, tmp_path: Path) -> None:
    """The control: the files the cases edit, as written, load in both SDKs."""
    for which, role in FILES:
        ks = sets[which]
        env = canonical(json.loads(ks.envelope(role)))
        assert env == ks.envelope(role), f"{which} {role}: our files are canonical JSON"
        assert evi_outcome(evi_km, role, env, seal_info if ks.sealed and role in SECRET else None) == ACCEPTED
        assert our_outcome(tmp_path / f"{which}-{role}", ks.key_id, role, env) == ACCEPTED


@pytest.mark.parametrize("role", SECRET)
def test_a_sealed_secret_with_every_unkeyed_digest_recomputed_fails_our_mac(sets: KeySets, evi_km, seal_info,
                                                                          tmp_path: Path, role: str) -> None:
    """Recompute our digest too (it is plain SHA-256, not a signature): the edited file
    then loads in both SDKs, but ours refuses to unseal it, because the MAC under the KEK
    no longer matches; evi unseals it."""
    from compat_helpers import our_digest

    ks = sets["ours-sealed"]
    doc = edited(ks.envelope(role))
    doc["requester"]["entity"] = "mallory"
    recompute_evi_digests(doc, role)
    doc["envector_keys"]["digest"]["value"] = our_digest(doc)
    envelope = canonical(doc)
    assert evi_outcome(evi_km, role, envelope, seal_info) == ACCEPTED
    assert our_outcome(tmp_path / "load", ks.key_id, role, envelope) == ACCEPTED  # parsed: every digest agrees

    d = tmp_path / "set" / ks.key_id
    d.mkdir(parents=True)
    for r in ("SecKey", "EncKey", "EvalKey", "MetadataKey"):
        (d / f"{r}.json").write_bytes(envelope if r == role else ks.envelope(r))
    from conftest import KeySet, binding_key_bytes

    with pytest.raises(ek.AuthenticationError) as e:
        binding_key_bytes(KeySet("edited", tmp_path / "set", ks.key_id, True, "ours"), kek=sets.kek.read_bytes())
    msg = str(e.value)
    assert f'the {role} of key "{ks.key_id}" does not authenticate under this KEK' in msg and "was edited" in msg, msg


# Fields no check of enVector's covers: evi loads the edited file as it is; ours refuses.
UNCHECKED_BY_EVI = [
    ("state.reason", set_(["state", "reason"], "rotated"), OURS_DIGEST),
    ("state.updated_at", set_(["state", "updated_at"], "2026-01-01T00:00:00Z"), OURS_DIGEST),
    ("key_version", set_(["key_version"], "2"), OURS_DIGEST),
    ("integrity", set_(["integrity", "value"], base64.b64encode(bytes(32)).decode()),
     r"the integrity digest does not match the key id and role: the envelope was edited"),
    ("format_version", set_(["format_version"], 2), r"unsupported format_version 2; accepted: 1"),
    ("entry-role", set_(["entries", 0, "role"], "encryption key"), r'entry role "encryption key" does not fit a \w+Key'),
    ("envector_keys.dims", set_(["envector_keys", "dims"], "64"), OURS_DIGEST),
    ("envector_keys.role", set_(["envector_keys", "role"], "EncKey"), r'envector_keys names role "EncKey" in a \w+Key'),
    # Removed from a sealed secret, or one made up on a plain key.
    ("envector_keys.mac", lambda d: toggle_mac(d),
     r"(a sealed \w+Key written by envector-keys carries a MAC; this one has none|"
     r"an unsealed \w+Key carries a MAC: the envelope was edited)"),
]


def toggle_mac(doc: Dict[str, Any]) -> None:
    ext = doc["envector_keys"]
    if "mac" in ext:
        del ext["mac"]
    else:
        ext["mac"] = {"type": "HMAC-SHA256", "value": base64.b64encode(bytes(32)).decode()}


@pytest.mark.parametrize("which,role", FILES, ids=[f"{w}-{r}" for w, r in FILES])
@pytest.mark.parametrize("name,edit,want_ours", UNCHECKED_BY_EVI, ids=[c[0] for c in UNCHECKED_BY_EVI])
def test_an_edit_evi_does_not_check_is_refused_by_ours(sets: KeySets, evi_km, seal_info, tmp_path: Path, name: str,
                                                       edit: Callable[[Dict[str, Any]], None], want_ours: str, which: str,
                                                       role: str) -> None:
    ks = sets[which]
    doc = edited(ks.envelope(role))
    edit(doc)
    envelope = canonical(doc)
    got_evi = evi_outcome(evi_km, role, envelope, seal_info if ks.sealed and role in SECRET else None)
    assert got_evi == ACCEPTED, f"evi: expected to accept (it does not check {name}), got {got_evi}"
    got_ours = our_outcome(tmp_path, ks.key_id, role, envelope)
    assert got_ours.startswith("refused: ") and re.search(want_ours, got_ours), f"ours: expected /{want_ours}/, got {got_ours}"
