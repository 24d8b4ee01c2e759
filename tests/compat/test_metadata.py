"""Metadata encryption across the two SDKs: what one encrypts with a key set's MetadataKey
the other decrypts, with and without associated data, both ways. Ours runs as
`envector-keygen encrypt-metadata` / `decrypt-metadata` (the key from --key_path/--key_id,
unsealed with --seal_key_path when sealed); pyenvector's as
`pyenvector.utils.aes.encrypt_metadata` / `decrypt_metadata` given the MetadataKey.json
path (and the KEK file when sealed), as its SDK calls them."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pytest

from compat_helpers import run_cli, text
from conftest import KeySet, KeySets

SETS = ["ours", "ours-sealed", "pyenvector", "pyenvector-sealed"]
AADS = [None, "tenant-7/doc-42"]
DOES_NOT_DECRYPT = "metadata.Decrypt: the metadata does not decrypt"
# UTF-8 text that is not JSON (pyenvector's decrypt_metadata returns parsed JSON when it
# can): non-ASCII, quotes, a newline inside.
PLAINTEXT = 'patient 42 — 회의록 ✓ "draft" <b>&amp;</b>\nsecond line'


def key_args(sets: KeySets, ks: KeySet) -> List[str]:
    args = ks.cli_args()
    if ks.sealed:
        args += ["--seal_key_path", str(sets.kek)]
    return args


def aad_args(aad: Optional[str]) -> List[str]:
    return [] if aad is None else ["--aad", aad]


def pyenvector_kwargs(sets: KeySets, ks: KeySet, aad: Optional[str]) -> dict:
    return {"aad": None if aad is None else aad.encode("utf-8"), "kek": str(sets.kek) if ks.sealed else None}


def our_encrypt(sets: KeySets, ks: KeySet, tmp_path: Path, plaintext: str, aad: Optional[str]) -> str:
    src = tmp_path / "plaintext.txt"
    src.write_bytes(plaintext.encode("utf-8"))
    r = run_cli("encrypt-metadata", *key_args(sets, ks), *aad_args(aad), "--in", str(src))
    assert r.returncode == 0, text(r)
    out = r.stdout.decode("ascii")
    assert out.endswith("\n") and out.count("\n") == 1, f"the token and one newline: {out!r}"
    return out[:-1]


def our_decrypt(sets: KeySets, ks: KeySet, tmp_path: Path, token: str, aad: Optional[str]):
    src = tmp_path / "token.txt"
    src.write_text(token + "\n", encoding="ascii")
    return run_cli("decrypt-metadata", *key_args(sets, ks), *aad_args(aad), "--in", str(src))


@pytest.mark.parametrize("aad", AADS, ids=["no-aad", "aad"])
@pytest.mark.parametrize("which", SETS)
def test_ours_encrypts_pyenvector_decrypts(sets: KeySets, tmp_path: Path, which: str, aad: Optional[str]) -> None:
    from pyenvector.utils.aes import decrypt_metadata

    ks = sets[which]
    token = our_encrypt(sets, ks, tmp_path, PLAINTEXT, aad)
    got = decrypt_metadata(token, str(ks.file("MetadataKey")), **pyenvector_kwargs(sets, ks, aad))
    assert got == PLAINTEXT
    # The associated data is bound: pyenvector refuses the token under other aad.
    other = "tenant-8/doc-42" if aad is not None else "unexpected"
    with pytest.raises(Exception):
        decrypt_metadata(token, str(ks.file("MetadataKey")), **pyenvector_kwargs(sets, ks, other))


@pytest.mark.parametrize("aad", AADS, ids=["no-aad", "aad"])
@pytest.mark.parametrize("which", SETS)
def test_pyenvector_encrypts_ours_decrypts(sets: KeySets, tmp_path: Path, which: str, aad: Optional[str]) -> None:
    from pyenvector.utils.aes import encrypt_metadata

    ks = sets[which]
    token = encrypt_metadata(PLAINTEXT, str(ks.file("MetadataKey")), **pyenvector_kwargs(sets, ks, aad))
    r = our_decrypt(sets, ks, tmp_path, token, aad)
    assert r.returncode == 0, text(r)
    assert r.stdout == PLAINTEXT.encode("utf-8"), text(r)  # byte for byte

    # To a file: exactly the plaintext.
    out = tmp_path / "plaintext.out"
    src = tmp_path / "token.txt"
    r = run_cli("decrypt-metadata", *key_args(sets, ks), *aad_args(aad), "--in", str(src), "--out", str(out))
    assert r.returncode == 0, text(r)
    assert out.read_bytes() == PLAINTEXT.encode("utf-8")

    # Other associated data: refused, nothing printed.
    other = "tenant-8/doc-42" if aad is not None else "unexpected"
    r = our_decrypt(sets, ks, tmp_path, token, other)
    assert r.returncode == 5 and r.stdout == b"", text(r)
    assert DOES_NOT_DECRYPT in r.stderr.decode(), text(r)


def test_pyenvector_json_metadata_decrypts_in_ours(sets: KeySets, tmp_path: Path) -> None:
    """pyenvector encrypts a dict as its compact JSON; we print that JSON text."""
    import json

    from pyenvector.utils.aes import encrypt_metadata

    ks = sets["ours-sealed"]
    value = {"title": "회의록", "n": 3, "tags": ["a", "b"]}
    token = encrypt_metadata(value, str(ks.file("MetadataKey")), **pyenvector_kwargs(sets, ks, None))
    r = our_decrypt(sets, ks, tmp_path, token, None)
    assert r.returncode == 0, text(r)
    assert json.loads(r.stdout.decode("utf-8")) == value


def test_tokens_of_one_key_set_do_not_open_under_another(sets: KeySets, tmp_path: Path) -> None:
    from pyenvector.utils.aes import decrypt_metadata

    token = our_encrypt(sets, sets["ours"], tmp_path, PLAINTEXT, None)
    with pytest.raises(Exception):
        decrypt_metadata(token, str(sets["pyenvector"].file("MetadataKey")))
    r = our_decrypt(sets, sets["pyenvector"], tmp_path, token, None)
    assert r.returncode == 5 and r.stdout == b"" and DOES_NOT_DECRYPT in r.stderr.decode(), text(r)
