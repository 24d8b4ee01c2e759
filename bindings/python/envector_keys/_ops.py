"""The operations of include/envector.h on handles: key sets and stores, each owned by
one Python object (see _native.Handle). They take and give handles, str and bytes; none
knows anything about keys beyond the header: role numbers, statuses, who frees what."""

from __future__ import annotations

import ctypes
import json
from ctypes import POINTER, byref, c_int, c_size_t
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, overload

from . import _native as n
from .errors import STATUS, ClosedError, InternalError, InvalidArgumentError, shown, shown_text

#: The KeyBlobs key of each role, in role order.
BLOB_KEYS: Tuple[str, ...] = ("sec_blob", "enc_blob", "eval_blob", "metadata_blob")

#: The keys of the envelopes a complete key set always holds.
RequiredBlobKey = Literal["sec_blob", "enc_blob", "eval_blob"]
#: The key of the envelope a key set holds only with metadata encryption.
BlobKey = Literal["sec_blob", "enc_blob", "eval_blob", "metadata_blob"]


class PartialKeyBlobs(Dict[str, Optional[bytes]]):
    """The envelopes of a key set, one per role, as bytes, None for a role not held or
    not asked for (``load(roles=...)``): ``sec_blob``, ``enc_blob``, ``eval_blob``,
    ``metadata_blob``. A dict whose repr shows sizes only, never key material."""

    def __repr__(self) -> str:
        parts = []
        for k, v in self.items():
            parts.append(f"{k}=None" if v is None else f"{k}=<{len(v)} bytes>")
        return f"KeyBlobs({', '.join(parts)})"

    __str__ = __repr__


class KeyBlobs(PartialKeyBlobs):
    """The envelopes of a whole key set (what generate_keys_stream() and load() without
    roles return): ``sec_blob``, ``enc_blob`` and ``eval_blob`` are bytes, always;
    ``metadata_blob`` is bytes, or None for a key set made with
    ``metadata_encryption=False``. A dict whose repr shows sizes only."""

    @overload
    def __getitem__(self, key: RequiredBlobKey) -> bytes: ...

    @overload
    def __getitem__(self, key: str) -> Optional[bytes]: ...

    def __getitem__(self, key: str) -> Optional[bytes]:
        return super().__getitem__(key)


def _handle_call(h: n.Handle, who: str, fn: Any, *args: Any, expect: Optional[int] = None) -> int:
    """n.call with h's pointer first. A call that failed with INVALID_ARGUMENT because
    another thread closed h meanwhile is a ClosedError."""
    try:
        return n.call(who, fn, h.ptr(who), *args, expect=expect)
    except ClosedError:
        raise
    except InvalidArgumentError as e:
        if h.closed:
            raise ClosedError(f"{who}: the {h._what} was closed during the operation") from e
        raise


class KeySet(n.Handle):
    """A key set handle (envector_keyset), freed by close()."""

    _free_name = "envector_keyset_free"
    _what = "key set"

    def _call(self, who: str, fn: Any, *args: Any, expect: Optional[int] = None) -> int:
        return _handle_call(self, who, fn, *args, expect=expect)

    def blob(self, role: int) -> Optional[bytes]:
        """The envelope of role, or None when the key set does not hold it."""
        data = n.BytesP()
        length = c_size_t(0)
        st = self._call("envector_keyset_blob", n.lib.envector_keyset_blob, role, byref(data), byref(length),
                        expect=STATUS["NOT_FOUND"])
        if st != 0:
            return None
        return n.copy_bytes(data, length.value)

    def blobs(self) -> KeyBlobs:
        """Every role's envelope of a whole key set (SecKey, EncKey and EvalKey held; an
        InternalError otherwise), read in one call (envector_keyset_blobs)."""
        out = KeyBlobs(self.partial_blobs())
        missing = [k for k in BLOB_KEYS[:3] if out[k] is None]
        if missing:
            raise InternalError(f"envector_keyset_blobs: the key set holds no {', '.join(missing)}")
        return out

    def partial_blobs(self) -> PartialKeyBlobs:
        """Every role's envelope (None for a role not held), read in one call
        (envector_keyset_blobs); each buffer is copied and freed at once."""
        data = (n.BytesP * n.ROLE_COUNT)()
        lens = (c_size_t * n.ROLE_COUNT)()
        self._call("envector_keyset_blobs", n.lib.envector_keyset_blobs, data, lens)
        # The addresses as ints: an element of a ctypes array of pointers shares the
        # array's memory.
        addrs = [ctypes.cast(data[r], ctypes.c_void_p).value for r in range(n.ROLE_COUNT)]
        out = PartialKeyBlobs()
        try:
            for r in range(n.ROLE_COUNT):
                a, addrs[r] = addrs[r], None  # freed by copy_bytes from here on
                out[BLOB_KEYS[r]] = n.copy_bytes(ctypes.cast(a, n.BytesP), lens[r]) if a else None
        finally:
            for a in addrs:  # only after a failed copy: free what is left
                if a:
                    n.lib.envector_bytes_free(ctypes.cast(a, n.BytesP))
        return out

    def roles(self) -> List[str]:
        """The roles held, in role order."""
        out = (c_int * n.ROLE_COUNT)()
        count = c_size_t(0)
        self._call("envector_keyset_roles", n.lib.envector_keyset_roles, out, byref(count))
        return [n.ROLES[out[i]] for i in range(count.value)]

    def key_id(self) -> str:
        out = n.CharP()
        self._call("envector_keyset_id", n.lib.envector_keyset_id, byref(out))
        return n.copy_string(out)

    def sealed(self) -> bool:
        out = c_int(0)
        self._call("envector_keyset_sealed", n.lib.envector_keyset_sealed, byref(out))
        return out.value == 1

    def seal(self, kek: Any) -> "KeySet":
        """A new key set with the secret keys sealed under kek."""
        ptr, length, _keep = n.in_buffer(kek, "kek")
        out = n.KeysetP()
        self._call("envector_seal", n.lib.envector_seal, ptr, length, byref(out))
        return KeySet(out)

    def unseal(self, kek: Any) -> "KeySet":
        """A new, unsealed key set (AuthenticationError for a wrong KEK)."""
        ptr, length, _keep = n.in_buffer(kek, "kek")
        out = n.KeysetP()
        self._call("envector_unseal", n.lib.envector_unseal, ptr, length, byref(out))
        return KeySet(out)

    def verify(self, kek: Any = None) -> None:
        """Proves the keys belong together (CorruptDataError otherwise)."""
        if kek is None:
            self._call("envector_keyset_verify", n.lib.envector_keyset_verify, None, 0)
            return
        ptr, length, _keep = n.in_buffer(kek, "kek")
        self._call("envector_keyset_verify", n.lib.envector_keyset_verify, ptr, length)

    def state(self) -> Dict[str, Any]:
        """The key set's life (envector_keyset_state_json), as a dict."""
        out = n.CharP()
        self._call("envector_keyset_state_json", n.lib.envector_keyset_state_json, byref(out))
        value: Dict[str, Any] = json.loads(n.copy_string(out))
        return value

    def metadata_encrypt(self, plaintext: Any, aad: Any = None) -> str:
        """The token of plaintext (bytes-like UTF-8 text) under the key set's MetadataKey,
        with associated data aad (bytes-like, or None)."""
        ptr, length, _keep = n.in_buffer(plaintext, "metadata")
        aptr, alen, _akeep = (None, 0, None) if aad is None else n.in_buffer(aad, "aad")
        out = n.CharP()
        self._call("envector_metadata_encrypt", n.lib.envector_metadata_encrypt, ptr, length, aptr, alen,
                   byref(out))
        return n.copy_string(out)

    def metadata_decrypt(self, token: bytes, aad: Any = None) -> bytes:
        """The metadata of token (bytes without NUL) under the key set's MetadataKey, with
        associated data aad (bytes-like, or None). The library's buffer is zeroed when
        freed; the bytes returned cannot be."""
        aptr, alen, _akeep = (None, 0, None) if aad is None else n.in_buffer(aad, "aad")
        data = n.BytesP()
        length = c_size_t(0)
        self._call("envector_metadata_decrypt", n.lib.envector_metadata_decrypt, token, aptr, alen, byref(data),
                   byref(length))
        return n.copy_bytes(data, length.value)


def kek_check(kek: Any) -> None:
    """Whether kek (bytes-like) is a KEK in a form envector_seal accepts
    (envector_kek_check): InvalidArgumentError otherwise. The form only: a wrong KEK
    passes."""
    ptr, length, _keep = n.in_buffer(kek, "kek")
    n.call("envector_kek_check", n.lib.envector_kek_check, ptr, length)


def keygen(options_json: bytes) -> KeySet:
    """A new key set made from the options JSON (envector_keygen)."""
    out = n.KeysetP()
    n.call("envector_keygen", n.lib.envector_keygen, options_json, byref(out))
    return KeySet(out)


def from_blobs(key_id: str, keys: Mapping[str, Any], who: str) -> KeySet:
    """A key set handle built from KeyBlobs (every envelope checked by the library)."""
    if not isinstance(keys, Mapping):
        raise InvalidArgumentError(
            f"{who}: keys must be a mapping like {{'sec_blob': ..., 'enc_blob': ..., 'eval_blob': ..., "
            f"'metadata_blob': ...}} (what generate_keys_stream() or load() return), not {type(keys).__name__}"
        )
    unknown = [k for k in keys if k not in BLOB_KEYS]
    if unknown:
        raise InvalidArgumentError(f"{who}: unknown key {shown(unknown[0])} in keys; accepted: {', '.join(BLOB_KEYS)}")
    roles: List[int] = []
    bufs: List[Tuple[Any, int, Any]] = []
    for r, k in enumerate(BLOB_KEYS):
        b = keys.get(k)
        if b is None:
            continue
        if not isinstance(b, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError(f"{who}: {k} must be bytes (the envelope), not {type(b).__name__}")
        roles.append(r)
        bufs.append(n.in_buffer(b, k))
    if not roles:
        raise InvalidArgumentError(f"{who}: no key blob given; expected some of {', '.join(BLOB_KEYS)}")
    count = len(roles)
    role_arr = (c_int * count)(*roles)
    blob_arr = (n.BytesP * count)(*[b[0] for b in bufs])
    len_arr = (c_size_t * count)(*[b[1] for b in bufs])
    out = n.KeysetP()
    n.call("envector_keyset_from_blobs", n.lib.envector_keyset_from_blobs, encode_id(key_id, who), role_arr,
           blob_arr, len_arr, count, byref(out))
    return KeySet(out)


def encode_id(key_id: str, who: str) -> bytes:
    if not isinstance(key_id, str):
        raise InvalidArgumentError(f"{who}: key_id must be a str such as 'my-index', not {type(key_id).__name__}")
    try:
        return key_id.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgumentError(f"{who}: key_id is not valid UTF-8: {shown_text(e)}") from e


def _roles_arg(roles: Optional[Sequence[int]]) -> Tuple[Any, int]:
    """The roles argument of the load calls: a C int array and its length; (None, 0) for
    every role present."""
    if not roles:
        return None, 0
    return (c_int * len(roles))(*roles), len(roles)


class Store(n.Handle):
    """A store handle (envector_store), freed by close()."""

    _free_name = "envector_store_free"
    _what = "store"

    def __init__(self, ptr: Any, owner: str = "store") -> None:
        super().__init__(ptr)
        self._what = owner

    def _call(self, who: str, fn: Any, *args: Any, expect: Optional[int] = None) -> int:
        return _handle_call(self, who, fn, *args, expect=expect)

    def save(self, ks: KeySet) -> None:
        self._call("envector_store_save", n.lib.envector_store_save, ks.ptr("envector_store_save"))

    def load(self, key_id: bytes, roles: Optional[Sequence[int]] = None, expect: Optional[int] = None) -> Optional[KeySet]:
        """Loads key set key_id (every role present, or roles). With expect (a status),
        that status gives None."""
        out = n.KeysetP()
        arr, count = _roles_arg(roles)
        st = self._call("envector_store_load", n.lib.envector_store_load, key_id, arr, count, byref(out), expect=expect)
        if st != 0:
            return None
        return KeySet(out)

    def exists(self, key_id: bytes) -> bool:
        out = c_int(0)
        self._call("envector_store_exists", n.lib.envector_store_exists, key_id, byref(out))
        return out.value == 1

    def delete(self, key_id: bytes, flags: int = 0) -> None:
        self._call("envector_store_delete", n.lib.envector_store_delete, key_id, flags)

    def list(self) -> List[str]:
        ids = POINTER(n.CharP)()
        count = c_size_t(0)
        self._call("envector_store_list", n.lib.envector_store_list, byref(ids), byref(count))
        try:
            return [ctypes.string_at(ids[i]).decode("utf-8") for i in range(count.value)]
        finally:
            n.lib.envector_string_list_free(ids)

    def set_state(self, key_id: bytes, change_json: bytes, kek: Any = None) -> None:
        """Moves key set key_id to another state (change_json: {"to", "reason",
        "compromised"}); kek (bytes-like) for a sealed set, None otherwise."""
        ptr, length, _keep = _kek_arg(kek)
        self._call("envector_store_set_state", n.lib.envector_store_set_state, key_id, change_json, ptr, length)

    def reseal(self, key_id: bytes, old_kek: Any, new_kek: Any) -> None:
        """Seals key set key_id under new_kek (unsealing with old_kek; None to seal an
        unsealed set)."""
        optr, olen, _okeep = _kek_arg(old_kek)
        nptr, nlen, _nkeep = n.in_buffer(new_kek, "new KEK")
        self._call("envector_store_reseal", n.lib.envector_store_reseal, key_id, optr, olen, nptr, nlen)

    def rotate(self, key_id: bytes, options_json: bytes, kek: Any = None) -> KeySet:
        """Rotates key set key_id; returns the new key set (version n+1)."""
        ptr, length, _keep = _kek_arg(kek)
        out = n.KeysetP()
        self._call("envector_store_rotate", n.lib.envector_store_rotate, key_id, options_json, ptr, length,
                   byref(out))
        return KeySet(out)

    def load_version(self, key_id: bytes, version: int, roles: Optional[Sequence[int]] = None) -> KeySet:
        """Loads version `version` of key set key_id whatever its state (0: the current
        one), every role present or roles."""
        out = n.KeysetP()
        arr, count = _roles_arg(roles)
        self._call("envector_store_load_version", n.lib.envector_store_load_version, key_id, version, arr, count,
                   byref(out))
        return KeySet(out)

    def list_sets(self) -> List[Dict[str, Any]]:
        """What the store holds under each key id (envector_store_list_sets), as dicts."""
        out = n.CharP()
        self._call("envector_store_list_sets", n.lib.envector_store_list_sets, byref(out))
        value: List[Dict[str, Any]] = json.loads(n.copy_string(out))
        return value


def _kek_arg(kek: Any) -> Tuple[Any, int, Any]:
    """(pointer, length, keep-alive) of an optional KEK: NULL and 0 for None."""
    if kek is None:
        return None, 0, None
    return n.in_buffer(kek, "kek")


def store_open(options_json: bytes, owner: str = "store") -> Store:
    out = n.StoreP()
    n.call("envector_store_open", n.lib.envector_store_open, options_json, byref(out))
    return Store(out, owner)


def init(options_json: bytes, kek: Any = None, token: Optional[bytes] = None) -> Dict[str, Any]:
    """envector_init: the init flow in one call; its result JSON as a dict (no secrets)."""
    kp, kn, keep = _kek_arg(kek)
    out = n.CharP()
    n.call("envector_init", n.lib.envector_init, options_json, kp, kn, token, byref(out))
    del keep
    value: Dict[str, Any] = json.loads(n.copy_string(out))
    return value


def generate_stream(options_json: bytes, kek: Any = None) -> KeyBlobs:
    """A new key set in memory, as envelopes; with kek (bytes-like), its secret keys
    sealed under kek (envector_seal) before they leave the library."""
    with keygen(options_json) as ks:
        if kek is None:
            return ks.blobs()
        with ks.seal(kek) as sealed:
            return sealed.blobs()


def generate_to_store(options_json: bytes, kek: Any = None) -> None:
    """A new key set saved in the store the same options name; with kek (bytes-like),
    sealed under kek first (envector_seal). Nothing is written unless generation (and
    sealing) succeeded, and the store writes all or nothing."""
    with keygen(options_json) as ks:
        if kek is None:
            with store_open(options_json) as st:
                st.save(ks)
            return
        with ks.seal(kek) as sealed, store_open(options_json) as st:
            st.save(sealed)


__all__ = ["BLOB_KEYS", "KeyBlobs", "PartialKeyBlobs", "KeySet", "Store", "kek_check", "keygen", "from_blobs", "store_open",
           "generate_stream", "generate_to_store", "init"]
