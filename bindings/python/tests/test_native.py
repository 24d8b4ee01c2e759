"""The ctypes layer: one declaration per function of include/envector.h with its shape,
handles with one owner each, buffers copied and freed, and where the library is found."""

from __future__ import annotations

import ctypes
import gc
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import PKG, ROOT, SMALL_JSON, child_env, ek
from envector_keys import _native as n
from envector_keys import _ops as ops


def header_functions() -> dict:
    """name -> (return type, [parameter types]) of every ENVECTOR_API function."""
    text = (ROOT / "include" / "envector.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(r"ENVECTOR_API\s+([^;]+?)\b(envector_\w+)\s*\(([^)]*)\)\s*;", text, re.S):
        params = [] if m.group(3).strip() == "void" else [" ".join(p.split()) for p in m.group(3).split(",")]
        out[m.group(2)] = (" ".join(m.group(1).split()), params)
    return out


# The ctypes type each C parameter of the header must be declared as: (base, pointer depth).
def ctype_of(c: str):  # type: ignore[no-untyped-def]
    tokens = [t for t in re.findall(r"\w+|\*|\[\w*\]", c) if t not in ("const", "struct")]
    stars = 0
    if tokens[-1].startswith("["):  # int out_roles[ENVECTOR_ROLE_COUNT]: a pointer
        tokens.pop()
        stars += 1
    words = [t for t in tokens if t != "*"]
    if len(words) >= 2 and tokens[-1] != "*":
        tokens.pop()  # the parameter's name
    stars += tokens.count("*")
    base = [t for t in tokens if t != "*"]
    assert len(base) == 1, c
    table = {
        "int": ctypes.c_int, "unsigned": ctypes.c_uint, "size_t": ctypes.c_size_t, "uint8_t": ctypes.c_uint8,
        "char": ctypes.c_char, "envector_keyset": n._envector_keyset, "envector_store": n._envector_store,
        "envector_error": n._envector_error,
    }
    return table[base[0]], stars


def declared_shape(t):  # type: ignore[no-untyped-def]
    stars = 0
    while hasattr(t, "_type_") and not isinstance(t._type_, str):
        t = t._type_
        stars += 1
    if t is ctypes.c_char_p:
        return ctypes.c_char, stars + 1
    return t, stars


def test_every_header_function_is_declared_with_its_shape() -> None:
    header = header_functions()
    assert len(header) >= 26
    assert set(header) == set(n.DECLARATIONS), "a declaration per function of include/envector.h, no more"
    for name, (ret, params) in header.items():
        restype, argtypes = n.DECLARATIONS[name]
        f = getattr(n.lib, name)
        assert f.restype is restype and f.argtypes == argtypes, name
        assert len(argtypes) == len(params), name
        for c, t in zip(params, argtypes):
            assert declared_shape(t) == ctype_of(c), f"{name}: {c} declared as {t}"
        assert declared_shape(restype) == ctype_of(ret + " x"), f"{name}: returns {ret}"


def test_handles_have_one_owner_close_is_idempotent_and_use_after_close_is_clear() -> None:
    ks = ops.keygen(b'{"key_id": "h", ' + SMALL_JSON.encode() + b'}')
    assert ks.key_id() == "h"
    assert ks.roles() == ["SecKey", "EncKey", "EvalKey", "MetadataKey"]
    assert ks.sealed() is False
    assert ks.blob(1) == ks.blobs()["enc_blob"]
    ptr = ks.ptr("test")
    ks.close()
    ks.close()
    assert ks.closed
    with pytest.raises(ek.ClosedError, match="envector_keyset_id: the key set is closed"):
        ks.key_id()
    # The library refuses the freed handle too (no crash): a double free is an error status.
    assert n.lib.envector_keyset_free(ptr) == 1
    err = n.ErrorP()
    assert n.lib.envector_keyset_sealed(ptr, ctypes.byref(ctypes.c_int()), ctypes.byref(err)) == 1
    assert b"ks" in n.lib.envector_error_message(err)
    assert n.lib.envector_error_free(err) == 0
    assert n.lib.envector_error_free(err) == 1, "an error freed twice is refused, not a crash"
    # A handle of the other type is refused by ctypes before the call.
    with ek.KeyManager(key_path="/nonexistent").open() as km:
        with pytest.raises(ctypes.ArgumentError):
            n.lib.envector_keyset_free(km._store.ptr("x"))  # type: ignore[union-attr]


def test_the_finalizer_frees_a_handle_nobody_closed_only_as_a_fallback() -> None:
    ks = ops.keygen(b'{"key_id": "f", ' + SMALL_JSON.encode() + b'}')
    ptr = ks.ptr("test")
    fin = ks._finalizer
    assert fin.alive
    del ks
    gc.collect()
    assert not fin.alive
    assert n.lib.envector_keyset_free(ptr) == 1, "already freed by the finalizer"
    with ops.keygen(b'{"key_id": "f", ' + SMALL_JSON.encode() + b'}') as ks2:
        fin2 = ks2._finalizer
    assert not fin2.alive, "close() detached the finalizer"


def test_seal_unseal_and_verify_through_the_c_abi() -> None:
    kek = bytes(range(32))
    with ops.keygen(b'{"key_id": "s", ' + SMALL_JSON.encode() + b'}') as plain, plain.seal(kek) as sealed:
        assert sealed.sealed() is True and plain.sealed() is False
        with pytest.raises(ek.InvalidArgumentError, match="(?i)kek|sealed"):
            sealed.verify()
        sealed.verify(bytearray(kek))
        with pytest.raises(ek.AuthenticationError, match="SecKey"):
            sealed.unseal(b"\x01" * 32)
        with sealed.unseal(memoryview(kek)) as back:
            assert back.blobs()["sec_blob"] == plain.blobs()["sec_blob"]
        with pytest.raises(ek.InvalidArgumentError, match="already sealed|sealed"):
            sealed.seal(kek)
        blobs = sealed.blobs()
        with ops.from_blobs("s", blobs, "test") as rebuilt:
            assert rebuilt.sealed() is True and rebuilt.blobs() == blobs


def test_the_library_is_found_in_order_and_a_missing_one_says_how_to_build_it(tmp_path: Path) -> None:
    code = "import envector_keys as ek; print(ek.library_from, '|', ek.library_path)"
    lib = Path(n.library_path).resolve()
    # $ENVECTOR_LIB: a directory holding libenvector.so.0, or the file.
    (tmp_path / "libenvector.so.0").symlink_to(lib)
    for value in (str(tmp_path), str(tmp_path / "libenvector.so.0")):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, env=child_env(ENVECTOR_LIB=value), timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        assert r.stdout.decode().split(" | ") == ["$ENVECTOR_LIB", str(tmp_path / "libenvector.so.0") + "\n"]
    # Set to a missing file: an ImportError that says so and how to fix it, no fallback.
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, env=child_env(ENVECTOR_LIB=str(tmp_path / "none.so")),
                       timeout=60)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert "ImportError" in err and "ENVECTOR_LIB=" in err and "make lib" in err and "pip install bindings/python" in err
    # Not set: this checkout's build (the package here has no bundled _lib).
    if not n.BUNDLED.exists():
        assert ek.library_from == "the CMake build of this checkout" or "ENVECTOR_LIB" in ek.library_from
    assert n.candidates({})[0][0] == str(PKG / "envector_keys" / "_lib" / "libenvector.so.0")
    assert n.candidates({})[1][0] == str(ROOT / "build" / "cmake" / "lib" / "libenvector.so.0")
