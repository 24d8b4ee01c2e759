"""The public API: KeyGenerator, KeyManager, init, init_index_config, encrypt_metadata and
decrypt_metadata. Options are written as the library's options JSON and checked by the
library; nothing here knows what a valid preset, dim, KEK or token is."""

from __future__ import annotations

import json
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, TypeVar, Union, overload

from . import _native as n
from . import _ops as ops
from ._ops import KeyBlobs
from .errors import (
    STATUS,
    AlreadyExistsError,
    ClosedError,
    CorruptDataError,
    InvalidArgumentError,
    NotFoundError,
    StorageIOError,
    shown,
    shown_text,
)

__all__ = [
    "KeyGenerator",
    "KeyManager",
    "KeyState",
    "KeySetListing",
    "InitResult",
    "KeyBlobs",
    "init",
    "init_index_config",
    "encrypt_metadata",
    "decrypt_metadata",
    "Metadata",
    "JSONValue",
    "ROLES",
]

#: The roles of a key set, as ``load(roles=...)`` names them.
ROLES = n.ROLES

PathLike = Union[str, "os.PathLike[str]"]
BytesLike = Union[bytes, bytearray, memoryview]
RegisterFn = Callable[[str, bytes, Dict[str, Any]], Any]
#: What encrypt_metadata takes: text, UTF-8 bytes, or a dict or list (JSON-encoded).
Metadata = Union[str, bytes, bytearray, memoryview, Dict[str, Any], List[Any]]
#: What decrypt_metadata(..., as_json=True) returns: one JSON value.
JSONValue = Union[Dict[str, Any], List[Any], str, int, float, bool, None]
_T = TypeVar("_T")


def _path(who: str, name: str, value: Any) -> Optional[str]:
    if value is None:
        return None
    try:
        p: Union[str, bytes] = os.fspath(value)
    except TypeError:
        raise InvalidArgumentError(f"{who}: {name} must be a path (str or os.PathLike), not {type(value).__name__}") from None
    if isinstance(p, bytes):
        return os.fsdecode(p)
    return p


def _options_json(who: str, options: Mapping[str, Any]) -> bytes:
    """The options JSON of include/envector.h: the options that are not None; a
    bytes-like seed becomes hex. Values are checked by the library."""
    out: Dict[str, Any] = {}
    for k, v in options.items():
        if v is None:
            continue
        if k in ("key_path", "seal_kek_path", "token_file", "ca_file"):
            v = _path(who, k, v)
        elif k == "seed" and isinstance(v, (bytes, bytearray, memoryview)):
            v = bytes(v)
            if len(v) != 64:
                raise InvalidArgumentError(f"{who}: seed must be 64 bytes (or 128 hex characters); got {len(v)} bytes")
            v = v.hex()
        elif k == "dim_list" and isinstance(v, (tuple, range)):
            v = list(v)
        out[k] = v
    try:
        return json.dumps(out, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise InvalidArgumentError(f"{who}: options cannot be written as JSON: {shown_text(e)}") from e


def _require_key_id(who: str, key_id: Any) -> str:
    if not isinstance(key_id, str) or key_id == "":
        got = "an empty string" if key_id == "" else type(key_id).__name__
        raise InvalidArgumentError(f"{who}: key_id is required (a str such as 'my-index'), got {got}")
    return key_id


def _role_numbers(who: str, roles: Optional[Sequence[str]]) -> Optional[List[int]]:
    if roles is None:
        return None
    if isinstance(roles, (str, bytes)) or not isinstance(roles, Sequence) or len(roles) == 0:
        raise InvalidArgumentError(
            f"{who}: roles must be a non-empty list of role names ({', '.join(ROLES)}), e.g. ['EncKey', 'EvalKey']; "
            f"got {shown(roles)}"
        )
    out = []
    for r in roles:
        if r not in ROLES:
            raise InvalidArgumentError(f"{who}: unknown role {shown(r)}; accepted: {', '.join(ROLES)}")
        out.append(ROLES.index(r))
    return out


# ---- KEK input -------------------------------------------------------------------------------

_KEK_READ_LIMIT = 4096  # the accepted forms are at most 45 bytes; more is read only to be refused


def _read_kek_file(who: str, path: Any) -> bytearray:
    """The bytes of a KEK file in a bytearray the caller wipes (_wipe); the library parses
    them. No copy that cannot be wiped is made."""
    p = _path(who, "seal_kek_path", path) or ""
    buf = bytearray(_KEK_READ_LIMIT + 1)
    try:
        with open(p, "rb", buffering=0) as f:
            got = 0
            while got < len(buf):
                k = f.readinto(memoryview(buf)[got:])
                if not k:
                    break
                got += k
    except FileNotFoundError as e:
        _wipe(buf)
        raise NotFoundError(f"{who}: no KEK file at {shown_text(p)} ({e.strerror})") from None
    except OSError as e:
        _wipe(buf)
        raise StorageIOError(f"{who}: cannot read the KEK file {shown_text(p)}: {shown_text(e.strerror or e)}") from None
    del buf[got:]
    return buf


def _wipe(buf: Optional[bytearray]) -> None:
    if buf is not None:
        for i in range(len(buf)):
            buf[i] = 0


def _kek_input(who: str, kek: Any, seal_kek_path: Any) -> Optional[Any]:
    if kek is not None and seal_kek_path is not None:
        raise InvalidArgumentError(f"{who}: give kek or seal_kek_path, not both")
    if kek is not None:
        if isinstance(kek, str):
            return bytearray(kek.encode("utf-8"))
        if isinstance(kek, (bytes, bytearray, memoryview)):
            return kek
        raise InvalidArgumentError(
            f"{who}: kek must be bytes or str (the KEK: 32 raw bytes, 64 hex characters or 44 base64 "
            f"characters), not {type(kek).__name__}"
        )
    if seal_kek_path is not None:
        return _read_kek_file(who, seal_kek_path)
    return None


# ---- metadata input and output ---------------------------------------------------------------

_METADATA_ROLE = n.ROLES.index("MetadataKey")
_METADATA_TYPES = "str, UTF-8 bytes, or a dict or list (JSON-encoded)"


def _metadata_bytes(who: str, metadata: Any) -> Union[bytes, bytearray, memoryview]:
    """The bytes to encrypt: str as UTF-8, bytes-like as given (the library refuses
    what is not UTF-8), a dict or list as compact JSON (separators ',' and ':', non-ASCII
    characters kept, as enVector's SDK writes it). Messages never show the metadata."""
    if isinstance(metadata, str):
        try:
            return metadata.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidArgumentError(
                f"{who}: metadata is not valid Unicode text (a lone surrogate at index {e.start}); "
                f"accepted: {_METADATA_TYPES}"
            ) from None
    if isinstance(metadata, (bytes, bytearray, memoryview)):
        return metadata
    if isinstance(metadata, (dict, list)):
        try:
            text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"{who}: metadata cannot be written as JSON: {shown_text(e)}") from None
        return _metadata_bytes(who, text)
    raise InvalidArgumentError(f"{who}: metadata must be {_METADATA_TYPES}, not {type(metadata).__name__}")


def _aad_bytes(who: str, aad: Any) -> Optional[Union[bytes, bytearray, memoryview]]:
    if aad is None or isinstance(aad, (bytes, bytearray, memoryview)):
        return aad
    if isinstance(aad, str):
        try:
            return aad.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{who}: aad is not valid Unicode text") from None
    raise InvalidArgumentError(f"{who}: aad must be str or bytes, not {type(aad).__name__}")


def _token_bytes(who: str, token: Any) -> bytes:
    if isinstance(token, str):
        try:
            b = token.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{who}: token is not valid Unicode text") from None
    elif isinstance(token, (bytes, bytearray, memoryview)):
        b = bytes(token)
    else:
        raise InvalidArgumentError(
            f"{who}: token must be str or bytes (what encrypt_metadata returned), not {type(token).__name__}"
        )
    if b"\0" in b:
        raise InvalidArgumentError(f"{who}: token holds a NUL character; a token is base64 text")
    return b


def _metadata_result(who: str, data: bytes, as_json: bool) -> Union[str, JSONValue]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptDataError(f"{who}: the metadata decrypted but is not UTF-8 text") from None
    if not as_json:
        return text
    try:
        value: JSONValue = json.loads(text)
    except json.JSONDecodeError as e:
        raise CorruptDataError(
            f"{who}: the metadata is not JSON ({e.msg} at index {e.pos}); decrypt it without as_json=True to get the text"
        ) from None
    return value


def _check_as_json(who: str, as_json: Any) -> bool:
    if not isinstance(as_json, bool):
        raise InvalidArgumentError(f"{who}: as_json must be True or False")
    return as_json


# ---- KeyGenerator ----------------------------------------------------------------------------


class KeyGenerator:
    """Makes key sets: :meth:`generate_keys` writes one to ``<key_path>/<key_id>/`` (the
    local store), :meth:`generate_keys_stream` returns its envelopes as bytes. Holds no
    native resource.

    ``key_id`` is required. The other options are checked by the library when keys are
    made; its messages name them as the C options do (``dim_list``):

    - ``preset``: enVector's parameter preset, ``'ip3'`` (the default, as enVector's
      SDK), ``'ip2'``, ``'ip1'`` or ``'ip0'`` (``'ip'`` = ip0; any case).
    - ``eval_mode``: the evaluation keys. ``None`` (the default) takes the preset's
      default: ``'mm32'`` with ip3, ``'mm'`` with ip1 and ip2, ``'rmp'`` with ip0. Also
      accepted: ``'rmp'`` and ``'flat'`` with any preset, ``'single'`` (and ``'mm'``)
      with ip0. A pair that does not go together (ip1 with mm32, ip3 with mm) is an
      :class:`InvalidArgumentError` naming the modes the preset takes.
    - ``dim_list``: powers of two from 32 to 4096; default all of them.
    - ``seal_mode`` (``'none'``, ``'aes'`` with ``seal_kek_path``), ``metadata_encryption``
      and ``seed`` (64 bytes or 128 hex characters; tests only).
    - ``lifetime_days``: how long the keys are usable (``expires_at``), in days; fractions
      allowed (``1/24`` is an hour); accepted: 1 hour to 100 years; default 1825 (5 years,
      as enVector). An expired key set is refused for use (:class:`KeyInactiveError`).

    The defaults (ip3, mm32, dims 32..4096) make a 1.2 GB EvalKey (0.9 GB of key data):
    :meth:`generate_keys` writes it in about 7 s with little memory;
    :meth:`generate_keys_stream` (and :func:`init`, which returns the keys) holds it in
    memory, about 15 s and 5 GB at peak. ``preset='ip0', eval_mode='rmp', dim_list=[32]``
    makes a small set (a 4.7 MB EvalKey) in milliseconds, for trying things out.
    """

    def __init__(
        self,
        key_path: PathLike = "./keys",
        key_id: Optional[str] = None,
        dim_list: Optional[Sequence[int]] = None,
        preset: str = "ip3",
        eval_mode: Optional[str] = None,
        seal_mode: str = "none",
        seal_kek_path: Optional[PathLike] = None,
        metadata_encryption: bool = True,
        seed: Optional[Union[str, BytesLike]] = None,
        lifetime_days: Optional[float] = None,
    ) -> None:
        self.key_id: str = _require_key_id("KeyGenerator", key_id)
        self.key_path: str = _path("KeyGenerator", "key_path", key_path) or "./keys"
        self._json = _options_json(
            "KeyGenerator",
            {
                "key_id": key_id,
                "key_path": self.key_path,
                "dim_list": dim_list,
                "preset": preset,
                "eval_mode": eval_mode,
                "seal_mode": seal_mode,
                "seal_kek_path": seal_kek_path,
                "metadata_encryption": metadata_encryption,
                "seed": seed,
                "lifetime_days": lifetime_days,
            },
        )

    def __repr__(self) -> str:
        return f"KeyGenerator(key_path={self.key_path!r}, key_id={self.key_id!r})"

    def generate_keys(self) -> None:
        """Generates the key set and saves it in ``<key_path>/<key_id>/``: all or nothing,
        never overwriting (:class:`AlreadyExistsError` when that directory holds anything)."""
        ops.generate_to_store(self._json)

    def generate_keys_stream(self) -> KeyBlobs:
        """Generates the key set in memory (nothing is written) and returns its envelopes:
        ``{'sec_blob', 'enc_blob', 'eval_blob', 'metadata_blob'}`` as bytes
        (``metadata_blob`` None without metadata encryption). With ``seal_mode='aes'``
        the secret ones are sealed."""
        return ops.generate_stream(self._json)


# ---- key set lifecycle -----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyState:
    """The life of a key set, as its envelopes record it (no key material).

    - ``state``: ``'preparing'``, ``'active'``, ``'deactivated'`` or ``'destroyed'``
      (envelopes that disagree give their states joined with ``'/'``).
    - ``version``: the key set's version under its key id (1 until rotated).
    - ``expires_at``, ``created_at``, ``updated_at``: RFC 3339 times, UTC
      (``updated_at``: the last state change, or the creation).
    - ``set_id``: the random id binding the set's envelopes (None for files without one).
    - ``reason``, ``changed_by`` (``{'entity', 'method', 'type'}``): the last state change
      (None when none was made); ``compromised``: whether it recorded a compromise.
    """

    state: str
    version: int
    expires_at: Optional[str]
    created_at: Optional[str]
    set_id: Optional[str]
    reason: Optional[str]
    compromised: bool
    updated_at: Optional[str]
    changed_by: Optional[Dict[str, str]]

    @property
    def active(self) -> bool:
        """Whether the state is ``'active'`` (expiry is not considered)."""
        return self.state == "active"

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "KeyState":
        return cls(
            state=d["state"], version=d["version"], expires_at=d.get("expires_at"), created_at=d.get("created_at"),
            set_id=d.get("set_id"), reason=d.get("reason"), compromised=bool(d.get("compromised")),
            updated_at=d.get("updated_at"), changed_by=d.get("changed_by"),
        )


@dataclass(frozen=True)
class KeySetListing:
    """What a store holds under one key id (:meth:`KeyManager.list_sets`): the roles present
    at the current names (in role order), whether the set is complete (SecKey, EncKey and
    EvalKey present; :meth:`KeyManager.delete` removes an incomplete one), and the earlier
    versions kept by :meth:`KeyManager.rotate`, oldest first (the current one is not
    listed)."""

    key_id: str
    roles: List[str]
    complete: bool
    versions: List[int]


#: The states :meth:`KeyManager.set_state` moves a key set to.
StateName = Literal["active", "deactivated", "destroyed"]


def _version_number(who: str, version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 2**31 - 1:
        raise InvalidArgumentError(
            f"{who}: version must be a version number (1, 2, ...), or 0 for the current one; got {shown(version)}"
        )
    return version


def _json_bytes(who: str, what: str, value: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise InvalidArgumentError(f"{who}: {what} cannot be written as JSON: {shown_text(e)}") from e


# ---- KeyManager ------------------------------------------------------------------------------


class KeyManager:
    """A key store (local directory or AWS) and, optionally, the key id its methods work
    on (each also takes ``key_id``).

    The store is opened on first use (so ``AWS_*`` variables set before then are seen)
    and freed by :meth:`close`, which is idempotent; a KeyManager is a context manager.
    Using it after close raises :class:`ClosedError`. One KeyManager may be used from
    several threads at once.
    """

    def __init__(
        self,
        key_id: Optional[str] = None,
        key_store: str = "local",
        key_path: PathLike = "./keys",
        region_name: Optional[str] = None,
        bucket_name: Optional[str] = None,
        secret_prefix: Optional[str] = None,
    ) -> None:
        if key_id is not None:
            _require_key_id("KeyManager", key_id)
        self.key_id: Optional[str] = key_id
        self.key_store: str = key_store
        self.key_path: Optional[str] = _path("KeyManager", "key_path", key_path)
        self._json = _options_json(
            "KeyManager",
            {
                "key_store": key_store,
                "key_path": self.key_path,
                "region_name": region_name,
                "bucket_name": bucket_name,
                "secret_prefix": secret_prefix,
            },
        )
        self._store: Optional[ops.Store] = None
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._store is not None else "not opened")
        where = f"key_path={self.key_path!r}" if self.key_store == "local" else f"key_store={self.key_store!r}"
        return f"KeyManager(key_id={self.key_id!r}, {where}, {state})"

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _handle(self, who: str) -> ops.Store:
        st = self._store
        if st is not None and not self._closed:
            return st
        with self._lock:
            if self._closed:
                raise ClosedError(f"KeyManager.{who}: the KeyManager is closed")
            if self._store is None:
                self._store = ops.store_open(self._json, owner="KeyManager")
            return self._store

    def _key_id(self, who: str, key_id: Optional[str]) -> bytes:
        kid = _require_key_id(f"KeyManager.{who}", key_id if key_id is not None else self.key_id)
        return ops.encode_id(kid, f"KeyManager.{who}")

    def open(self) -> "KeyManager":
        """Opens the store now (otherwise the first operation does); returns self."""
        self._handle("open")
        return self

    def save(self, keys: Mapping[str, Optional[BytesLike]], key_id: Optional[str] = None) -> None:
        """Saves a key set (``{'sec_blob', 'enc_blob', 'eval_blob', 'metadata_blob'}``, as
        :meth:`KeyGenerator.generate_keys_stream` or :meth:`load` return it) under key_id:
        every envelope is checked, and the store writes all or nothing, never overwriting
        (:class:`AlreadyExistsError`)."""
        kid = self._key_id("save", key_id)
        st = self._handle("save")
        with ops.from_blobs(kid.decode("utf-8"), keys, "KeyManager.save") as ks:
            st.save(ks)

    def load(self, key_id: Optional[str] = None, roles: Optional[Sequence[str]] = None) -> KeyBlobs:
        """Loads the key set for use: every role present, or ``roles`` (e.g. ``['EncKey',
        'EvalKey']``; the others are None). Each envelope is checked, and all must be of one
        key set; nothing is unsealed. A key set that is not active, or has expired, is
        refused (:class:`KeyInactiveError`; :meth:`load_version` reads it whatever its state)."""
        kid = self._key_id("load", key_id)
        nums = _role_numbers("KeyManager.load", roles)
        ks = self._handle("load").load(kid, nums)
        assert ks is not None
        with ks:
            return ks.blobs()

    def delete(self, key_id: Optional[str] = None, immediate: bool = False) -> None:
        """Deletes the key set. ``immediate=True`` deletes AWS secrets without the recovery
        window (during which their names stay taken); the local store always deletes at once."""
        kid = self._key_id("delete", key_id)
        if not isinstance(immediate, bool):
            raise InvalidArgumentError("KeyManager.delete: immediate must be True or False")
        self._handle("delete").delete(kid, n.DELETE_IMMEDIATE if immediate else 0)

    def verify_key_id(self, key_id: Optional[str] = None) -> bool:
        """Whether the store holds a complete key set (SecKey, EncKey and EvalKey) under key_id."""
        kid = self._key_id("verify_key_id", key_id)
        return self._handle("verify_key_id").exists(kid)

    def list_keys(self) -> List[str]:
        """The key ids in the store, sorted."""
        return self._handle("list_keys").list()

    def verify(
        self,
        key_id: Optional[str] = None,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> bool:
        """Loads the key set and proves its keys belong together: EncKey encrypts what
        SecKey decrypts, and every evaluation key is a key under SecKey. A sealed key set
        needs its KEK (``seal_kek_path`` or ``kek``). Returns True, or raises
        (:class:`CorruptDataError`, :class:`AuthenticationError`, ...)."""
        kid = self._key_id("verify", key_id)
        st = self._handle("verify")
        k = _kek_input("KeyManager.verify", kek, seal_kek_path)
        try:
            ks = st.load(kid)
            assert ks is not None
            with ks:
                ks.verify(k)
        finally:
            if isinstance(k, bytearray):
                _wipe(k)
        return True

    # ---- lifecycle ------------------------------------------------------------------------

    def state(self, key_id: Optional[str] = None, *, version: int = 0) -> KeyState:
        """The state of the key set (the current version, or ``version``) whatever it is:
        also of a key set that :meth:`load` refuses (:class:`KeyInactiveError`). Only its
        EncKey (public) is read."""
        kid = self._key_id("state", key_id)
        v = _version_number("KeyManager.state", version)
        with self._handle("state").load_version(kid, v, [n.ROLES.index("EncKey")]) as ks:
            return KeyState._from(ks.state())

    def set_state(
        self,
        to: StateName,
        reason: str,
        key_id: Optional[str] = None,
        *,
        compromised: bool = False,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> KeyState:
        """Moves the key set to state ``to``, one step at a time: ``'active'`` (from
        preparing), ``'deactivated'`` (from active: refused for use from then on) or
        ``'destroyed'`` (from deactivated: erases the secret keys; the public ones stay).
        ``reason`` (required, as in enVector) is recorded in every envelope with the time
        and the OS user; ``compromised=True`` records a compromise (the reason becomes
        ``'compromised: <reason>'``; with deactivated or destroyed). A sealed key set needs
        its KEK (``seal_kek_path`` or ``kek``); an unsealed one refuses one. All or nothing.
        Returns the state as stored now.

        Errors: :class:`InvalidArgumentError` (a step skipped or back, the state it is
        already in, no reason, a sealed set without its KEK), :class:`AuthenticationError`
        (wrong KEK), :class:`NotFoundError`."""
        who = "KeyManager.set_state"
        kid = self._key_id("set_state", key_id)
        if not isinstance(compromised, bool):
            raise InvalidArgumentError(f"{who}: compromised must be True or False")
        change = _json_bytes(who, "the change", {"to": to, "reason": reason, "compromised": compromised})
        st = self._handle("set_state")
        k = _kek_input(who, kek, seal_kek_path)
        try:
            st.set_state(kid, change, k)
        finally:
            if isinstance(k, bytearray):
                _wipe(k)
        return self.state(kid.decode("utf-8"))

    def reseal(
        self,
        new_kek: Optional[Union[str, BytesLike]] = None,
        key_id: Optional[str] = None,
        *,
        new_seal_kek_path: Optional[PathLike] = None,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> None:
        """Seals the secret keys of the key set under a new KEK (``new_kek``, or the file
        ``new_seal_kek_path``): a sealed set is unsealed with its current KEK first
        (``seal_kek_path`` or ``kek``); an unsealed set is sealed for the first time (give
        no current KEK). The keys do not change, nor do the public keys. Only an active
        key set is resealed (:class:`KeyInactiveError`). All or nothing.

        Errors: :class:`AuthenticationError` (wrong current KEK),
        :class:`InvalidArgumentError` (a sealed set without its current KEK, an unsealed
        one with one, a KEK in no accepted form)."""
        who = "KeyManager.reseal"
        kid = self._key_id("reseal", key_id)
        if new_kek is None and new_seal_kek_path is None:
            raise InvalidArgumentError(f"{who}: the new KEK is required: new_kek or new_seal_kek_path")
        if new_kek is not None and new_seal_kek_path is not None:
            raise InvalidArgumentError(f"{who}: give new_kek or new_seal_kek_path, not both")
        st = self._handle("reseal")
        nk = _kek_input(who, new_kek, new_seal_kek_path)
        try:
            ck = _kek_input(who, kek, seal_kek_path)
            try:
                st.reseal(kid, ck, nk)
            finally:
                if isinstance(ck, bytearray):
                    _wipe(ck)
        finally:
            if isinstance(nk, bytearray):
                _wipe(nk)

    def rotate(
        self,
        key_id: Optional[str] = None,
        *,
        reason: Optional[str] = None,
        preset: Optional[str] = None,
        eval_mode: Optional[str] = None,
        dim_list: Optional[Sequence[int]] = None,
        metadata_encryption: Optional[bool] = None,
        lifetime_days: Optional[float] = None,
        seed: Optional[Union[str, BytesLike]] = None,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> KeyState:
        """Makes a new key set under the same key id, version n+1, and makes it the current
        one; the current one is kept as earlier version n, deactivated if it was active
        (with ``reason``, default ``'superseded by version N+1'``), readable with
        :meth:`load_version` and :meth:`state` until the key id is deleted. All or nothing.
        Returns the new set's state.

        ``preset``, ``eval_mode`` and ``dim_list`` as for :class:`KeyGenerator`; none given:
        the current set's parameters (any given: the others take their defaults).
        ``metadata_encryption`` (default True), ``lifetime_days`` and ``seed`` as for
        :class:`KeyGenerator`. A sealed key set needs its KEK (``seal_kek_path`` or
        ``kek``), which also seals the new one; a KEK given for an unsealed set seals the
        new one. The new EvalKey must be registered again where it is used."""
        who = "KeyManager.rotate"
        kid = self._key_id("rotate", key_id)
        options = _options_json(
            who,
            {
                "reason": reason, "preset": preset, "eval_mode": eval_mode, "dim_list": dim_list,
                "metadata_encryption": metadata_encryption, "lifetime_days": lifetime_days, "seed": seed,
            },
        )
        st = self._handle("rotate")
        k = _kek_input(who, kek, seal_kek_path)
        try:
            ks = st.rotate(kid, options, k)
        finally:
            if isinstance(k, bytearray):
                _wipe(k)
        with ks:
            return KeyState._from(ks.state())

    def load_version(
        self, version: int, key_id: Optional[str] = None, roles: Optional[Sequence[str]] = None
    ) -> KeyBlobs:
        """Loads version ``version`` of the key set, as :meth:`load` does, whatever its state
        (it is asked for by number): the current version or an earlier one kept by
        :meth:`rotate`; ``0`` is the current one, whatever its number. E.g. the MetadataKey
        of version 1 still decrypts metadata encrypted before a rotation. A destroyed set's
        secret envelopes hold no key data. :class:`NotFoundError` names the versions kept."""
        kid = self._key_id("load_version", key_id)
        v = _version_number("KeyManager.load_version", version)
        nums = _role_numbers("KeyManager.load_version", roles)
        with self._handle("load_version").load_version(kid, v, nums) as ks:
            return ks.blobs()

    def list_sets(self) -> List[KeySetListing]:
        """What the store holds under each key id, sorted by key id: the roles present,
        whether complete, and the earlier versions kept (see :class:`KeySetListing`)."""
        return [
            KeySetListing(key_id=d["key_id"], roles=list(d["roles"]), complete=bool(d["complete"]),
                          versions=list(d["versions"]))
            for d in self._handle("list_sets").list_sets()
        ]

    def _with_metadata_key(
        self, who: str, key_id: Optional[str], seal_kek_path: Any, kek: Any, use: Callable[[ops.KeySet], _T]
    ) -> _T:
        """Loads only the MetadataKey of the key set, unseals it with the KEK when it is
        sealed, and gives it to use()."""
        kid = _require_key_id(who, key_id if key_id is not None else self.key_id)
        kid_c = ops.encode_id(kid, who)
        st = self._handle(who.rsplit(".", 1)[-1])
        k = _kek_input(who, kek, seal_kek_path)
        try:
            try:
                ks = st.load(kid_c, [_METADATA_ROLE])
            except NotFoundError as e:
                if st.exists(kid_c):
                    raise NotFoundError(
                        f"{who}: key set {shown(kid)} has no MetadataKey (it was made with metadata_encryption=False): {e}"
                    ) from e
                raise
            assert ks is not None
            with ks:
                if not ks.sealed():
                    return use(ks)
                if k is None:
                    raise InvalidArgumentError(
                        f"{who}: the MetadataKey of key set {shown(kid)} is sealed; give its KEK with seal_kek_path or kek"
                    )
                with ks.unseal(k) as plain:
                    return use(plain)
        finally:
            if isinstance(k, bytearray):
                _wipe(k)

    def encrypt_metadata(
        self,
        metadata: Metadata,
        key_id: Optional[str] = None,
        *,
        aad: Optional[Union[str, BytesLike]] = None,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> str:
        """Encrypts one metadata value with the key set's MetadataKey and returns enVector's
        token (standard base64 text), as :func:`encrypt_metadata` does. Only the MetadataKey
        is loaded; a sealed one needs its KEK (``seal_kek_path`` or ``kek``)."""
        return self._encrypt_metadata("KeyManager.encrypt_metadata", metadata, key_id, aad, seal_kek_path, kek)

    def _encrypt_metadata(
        self, who: str, metadata: Any, key_id: Optional[str], aad: Any, seal_kek_path: Any, kek: Any
    ) -> str:
        data = _metadata_bytes(who, metadata)
        ad = _aad_bytes(who, aad)
        return self._with_metadata_key(who, key_id, seal_kek_path, kek, lambda ks: ks.metadata_encrypt(data, ad))

    @overload
    def decrypt_metadata(
        self,
        token: Union[str, BytesLike],
        key_id: Optional[str] = None,
        *,
        aad: Optional[Union[str, BytesLike]] = None,
        as_json: Literal[False] = False,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> str: ...

    @overload
    def decrypt_metadata(
        self,
        token: Union[str, BytesLike],
        key_id: Optional[str] = None,
        *,
        aad: Optional[Union[str, BytesLike]] = None,
        as_json: Literal[True],
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> JSONValue: ...

    @overload
    def decrypt_metadata(
        self,
        token: Union[str, BytesLike],
        key_id: Optional[str] = None,
        *,
        aad: Optional[Union[str, BytesLike]] = None,
        as_json: bool,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> Union[str, JSONValue]: ...

    def decrypt_metadata(
        self,
        token: Union[str, BytesLike],
        key_id: Optional[str] = None,
        *,
        aad: Optional[Union[str, BytesLike]] = None,
        as_json: bool = False,
        seal_kek_path: Optional[PathLike] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> Union[str, JSONValue]:
        """Decrypts a metadata token (of :meth:`encrypt_metadata` or enVector's SDK) with the
        key set's MetadataKey and returns the text, or with ``as_json=True`` the JSON value
        it holds, as :func:`decrypt_metadata` does."""
        return self._decrypt_metadata("KeyManager.decrypt_metadata", token, key_id, aad, as_json, seal_kek_path, kek)

    def _decrypt_metadata(
        self, who: str, token: Any, key_id: Optional[str], aad: Any, as_json: Any, seal_kek_path: Any, kek: Any
    ) -> Union[str, JSONValue]:
        tok = _token_bytes(who, token)
        ad = _aad_bytes(who, aad)
        want_json = _check_as_json(who, as_json)
        data = self._with_metadata_key(who, key_id, seal_kek_path, kek, lambda ks: ks.metadata_decrypt(tok, ad))
        return _metadata_result(who, data, want_json)

    def close(self) -> None:
        """Frees the store handle. Idempotent; later calls raise :class:`ClosedError`.
        Operations already under way on other threads finish (the library waits for
        them) or raise ClosedError."""
        with self._lock:
            self._closed = True
            st, self._store = self._store, None
        if st is not None:
            st.close()

    def __enter__(self) -> "KeyManager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- init ------------------------------------------------------------------------------------


class InitResult:
    """What :func:`init` found or did (the result of ``envector_init``; no key material).

    - ``key_id``, ``created`` (this call made and saved the key set), ``sealed``,
      ``version`` (1 until rotated);
    - ``preset``, ``eval_mode``, ``dim_list``, ``metadata_encryption``: as the key set
      records them (a key set found keeps its own, whatever the arguments say);
    - ``eval_key_sha256`` (hex) and ``eval_key_size``: the raw EvalKey, as a server's
      register_key receives it;
    - ``registered``: the EvalKey was sent to the server (``address``) now, or the
      ``register`` callback was called; ``loaded``: it was loaded there now;
      ``unloaded``: the other keys unloaded there; ``address``: the server, or None;
      ``warnings``: the server's warnings (successes with a message);
    - ``registration_info``: what ``register`` receives (see :func:`init`);
    - ``keys``: the key set's envelopes (a :class:`KeyBlobs`), read from the store on first
      access, not before (an ip3/mm32 EvalKey is 1.2 GB).
    """

    __slots__ = ("key_id", "created", "registered", "sealed", "version", "preset", "eval_mode", "dim_list",
                 "metadata_encryption", "eval_key_sha256", "eval_key_size", "address", "loaded", "unloaded",
                 "warnings", "registration_info", "_keys", "_store_json", "_lock")

    def __init__(
        self,
        key_id: str,
        created: bool,
        registered: bool,
        sealed: bool,
        keys: Optional[KeyBlobs] = None,
        *,
        result: Optional[Mapping[str, Any]] = None,
        store_options: Optional[bytes] = None,
    ) -> None:
        r: Mapping[str, Any] = result or {}
        endpoint: Mapping[str, Any] = r.get("endpoint") or {}
        fields: Dict[str, Any] = {
            "key_id": key_id,
            "created": created,
            "registered": registered,
            "sealed": sealed,
            "version": r.get("version", 1),
            "preset": r.get("preset"),
            "eval_mode": r.get("eval_mode"),
            "dim_list": list(r.get("dim_list", [])),
            "metadata_encryption": r.get("metadata_encryption"),
            "eval_key_sha256": r.get("eval_key_sha256"),
            "eval_key_size": r.get("eval_key_size"),
            "address": endpoint.get("address"),
            "loaded": bool(endpoint.get("loaded", False)),
            "unloaded": list(endpoint.get("unloaded", [])),
            "warnings": list(r.get("warnings", [])),
            "registration_info": dict(r.get("registration_info", {})),
            "_keys": keys,
            "_store_json": store_options,
            "_lock": threading.Lock(),
        }
        for k, v in fields.items():
            object.__setattr__(self, k, v)

    key_id: str
    created: bool
    registered: bool
    sealed: bool
    version: int
    preset: Optional[str]
    eval_mode: Optional[str]
    dim_list: List[int]
    metadata_encryption: Optional[bool]
    eval_key_sha256: Optional[str]
    eval_key_size: Optional[int]
    address: Optional[str]
    loaded: bool
    unloaded: List[str]
    warnings: List[str]
    registration_info: Dict[str, Any]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"InitResult is read-only: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"InitResult is read-only: cannot delete {name}")

    @property
    def keys(self) -> KeyBlobs:
        """The key set's envelopes, read from the store on first access (then kept)."""
        with self._lock:  # type: ignore[attr-defined]
            if self._keys is None:  # type: ignore[attr-defined]
                if self._store_json is None:  # type: ignore[attr-defined]
                    raise InvalidArgumentError("InitResult.keys: this result names no store to read the keys from")
                with ops.store_open(self._store_json) as st:  # type: ignore[attr-defined]
                    ks = st.load(ops.encode_id(self.key_id, "InitResult.keys"))
                    assert ks is not None
                    with ks:
                        object.__setattr__(self, "_keys", ks.blobs())
            keys: KeyBlobs = self._keys  # type: ignore[attr-defined]
            return keys

    def __repr__(self) -> str:
        keys = "" if self._keys is None else f", keys={self._keys!r}"  # type: ignore[attr-defined]
        return (
            f"InitResult(key_id={self.key_id!r}, created={self.created}, registered={self.registered}, "
            f"sealed={self.sealed}, preset={self.preset!r}, eval_mode={self.eval_mode!r}, dim_list={self.dim_list!r}, "
            f"address={self.address!r}, loaded={self.loaded}{keys})"
        )


def _register_info(settings: Dict[str, Any]) -> Dict[str, Any]:
    """The key settings given to register: those in effect for the store used, no seed."""
    skip = {"key_id"}
    skip |= {"region_name", "bucket_name", "secret_prefix"} if settings["key_store"] == "local" else {"key_path"}
    info = {k: v for k, v in settings.items() if v is not None and k not in skip}
    if "key_path" in info:
        info["key_path"] = _path("init", "key_path", info["key_path"])
    if "seal_kek_path" in info:
        info["seal_kek_path"] = _path("init", "seal_kek_path", info["seal_kek_path"])
    if "dim_list" in info:
        info["dim_list"] = list(info["dim_list"])
    return info


def _server_token(who: str, token: Any) -> Optional[bytes]:
    """The bearer token as the library takes it (NUL-terminated UTF-8); the library checks it."""
    if token is None:
        return None
    if isinstance(token, str):
        try:
            b = token.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{who}: token is not valid Unicode text") from None
    elif isinstance(token, (bytes, bytearray, memoryview)):
        b = bytes(token)
    else:
        raise InvalidArgumentError(f"{who}: token must be str or bytes (the server's bearer token), not {type(token).__name__}")
    if b"\0" in b:
        raise InvalidArgumentError(f"{who}: token holds a NUL character; accepted: 1 to 4096 visible ASCII characters")
    return b


def _seconds(who: str, name: str, value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{who}: {name} must be a number of seconds, not {type(value).__name__}")
    return float(value)


def init(
    *,
    key_id: Optional[str] = None,
    auto_key_setup: bool = True,
    key_path: PathLike = "./keys",
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    metadata_encryption: bool = True,
    seal_mode: str = "none",
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    preset: str = "ip3",
    eval_mode: Optional[str] = None,
    dim_list: Optional[Sequence[int]] = None,
    seed: Optional[Union[str, BytesLike]] = None,
    register: Optional[RegisterFn] = None,
    lifetime_days: Optional[float] = None,
    address: Optional[str] = None,
    token: Optional[Union[str, bytes]] = None,
    token_file: Optional[PathLike] = None,
    tls: Optional[bool] = None,
    ca_file: Optional[PathLike] = None,
    timeout: Optional[float] = None,
    register_timeout: Optional[float] = None,
) -> InitResult:
    """enVector's client start-up in one library call (``envector_init``): finds key set
    ``key_id`` in the store, or, with ``auto_key_setup`` (the default), generates it
    (sealed with ``seal_mode='aes'`` under the KEK of ``seal_kek_path`` or ``kek``) and
    saves it; then, with ``address``, makes that enVector server hold and use its EvalKey:
    registers it only if the server has no key of that id (one it has must be the same
    EvalKey: :class:`AlreadyExistsError` otherwise), unloads the other keys and loads it.

    - ``address``: ``host:port``, ``grpc://host:port`` or ``grpcs://host:port``; ``token``
      or ``token_file``: the server's bearer token (never shown in a message); ``tls``
      (also chosen by ``grpcs://``), ``ca_file`` (PEM certificates to trust instead of the
      system's), ``timeout`` (seconds, each call; default 30) and ``register_timeout`` (the
      upload; default 1800).
    - If the registration fails and this call made the key set, the set is deleted again
      (AWS secrets at once), so that the next call starts clean, and the error says so;
      a wrong token is an :class:`AuthenticationError`. A key set found is never deleted.
    - If another process saved the same key set meanwhile, its keys are used.
    - With ``auto_key_setup=False`` a missing key set is a :class:`NotFoundError` whose
      message names where it was looked for and how to make one.
    - A sealed key set found must open under the KEK given (:class:`AuthenticationError`);
      found with no KEK, or an unsealed one found with a KEK, is an
      :class:`InvalidArgumentError`.
    - A key set that exists but is not active (deactivated, destroyed) or has expired is a
      :class:`KeyInactiveError`; it is never replaced here (see :meth:`KeyManager.rotate`).

    ``register(key_id, eval_key, info)``, instead of ``address``, is called after a new key
    set was saved (not for one found), with its EvalKey envelope, e.g. to register it
    some other way; if it raises, the new key set is deleted and the exception propagates.
    ``info`` holds the key settings given or defaulted here (``key_store``, ``key_path``
    or the AWS names, ``metadata_encryption``, ``seal_mode``, ``seal_kek_path``,
    ``lifetime_days`` when given; never ``seed``) and the key set's ``registration_info``:
    ``key_id``, ``preset``, ``eval_mode``, ``dim_list`` (as made), ``envector_preset``,
    ``envector_eval_mode`` (enVector's names), ``created``, ``sealed``,
    ``eval_key_sha256`` and ``eval_key_size``.

    ``preset``, ``eval_mode`` and ``dim_list`` are those of :class:`KeyGenerator`: by
    default ip3 with mm32 and dims 32..4096 (as enVector's SDK): a 1.2 GB EvalKey (about
    15 s to make). ``lifetime_days`` is that of :class:`KeyGenerator` (default 5 years).
    """
    who = "init"
    kid = _require_key_id(who, key_id)
    if register is not None and not callable(register):
        raise InvalidArgumentError(f"{who}: register must be callable as register(key_id, eval_key, info)")
    if not isinstance(auto_key_setup, bool):
        raise InvalidArgumentError(f"{who}: auto_key_setup must be True or False")
    if register is not None and address is not None:
        raise InvalidArgumentError(
            f"{who}: give address (the library registers the EvalKey with that server) or register "
            "(your own callback), not both"
        )
    if tls is not None and not isinstance(tls, bool):
        raise InvalidArgumentError(f"{who}: tls must be True or False")
    settings: Dict[str, Any] = {
        "key_id": kid,
        "key_store": key_store,
        "key_path": key_path,
        "region_name": region_name,
        "bucket_name": bucket_name,
        "secret_prefix": secret_prefix,
        "preset": preset,
        "eval_mode": eval_mode,
        "dim_list": dim_list,
        "metadata_encryption": metadata_encryption,
        "seal_mode": seal_mode,
        "seal_kek_path": seal_kek_path,
        "lifetime_days": lifetime_days,
    }
    options = _options_json(who, {
        **settings,
        "seed": seed,
        "auto_key_setup": auto_key_setup,
        "address": address,
        "token_file": token_file,
        "tls": tls,
        "ca_file": ca_file,
        "timeout_seconds": _seconds(who, "timeout", timeout),
        "register_timeout_seconds": _seconds(who, "register_timeout", register_timeout),
    })
    store_keys = ("key_store", "key_path", "region_name", "bucket_name", "secret_prefix")
    store_json = _options_json(who, {k: settings[k] for k in store_keys})
    tok = _server_token(who, token)
    k = _kek_input(who, kek, None)
    try:
        result = ops.init(options, k, tok)
    finally:
        if isinstance(k, bytearray) and k is not kek:
            _wipe(k)

    created = bool(result["created"])
    registered = bool((result.get("endpoint") or {}).get("registered", False))
    if register is not None and created:
        with ops.store_open(store_json) as st:
            kid_c = ops.encode_id(kid, who)
            try:
                loaded = st.load(kid_c, [ROLES.index("EvalKey")])
                assert loaded is not None
                with loaded as ks:
                    eval_key = ks.blob(ROLES.index("EvalKey"))
                assert eval_key is not None
                info = {**_register_info(settings), **result["registration_info"]}
                register(kid, eval_key, info)
            except BaseException as e:
                # Undo, so that the next init makes and registers a key set again.
                try:
                    st.delete(kid_c, n.DELETE_IMMEDIATE)
                except Exception as d:
                    note = f"envector-keys: init: register failed and key set {shown(kid)} could not be removed: {d}"
                    warnings.warn(note, RuntimeWarning, stacklevel=2)
                    if hasattr(e, "add_note"):
                        e.add_note(note)
                raise
        registered = True
    return InitResult(kid, created, registered, bool(result["sealed"]), result=result, store_options=store_json)


#: :func:`init` under the enVector SDK's other name: the same function.
init_index_config = init


# ---- metadata encryption ---------------------------------------------------------------------


def encrypt_metadata(
    metadata: Metadata,
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
) -> str:
    """Encrypts one metadata value with the MetadataKey of key set ``key_id`` and returns
    the token enVector stores beside the vector: standard base64 of the JSON
    ``{"encrypted_data", "iv", "tag"}`` (AES-256-GCM, a fresh random 12-byte IV), which
    enVector's SDK decrypts, as it does the other way round.

    ``metadata`` is a ``str`` (encrypted as UTF-8), UTF-8 ``bytes``, or a ``dict`` or
    ``list``, written as compact JSON (separators ``','`` and ``':'``, non-ASCII kept,
    as enVector's SDK writes it; NaN and infinities are refused). ``aad`` (``str`` or
    ``bytes``), if given, is bound to the token without being encrypted: decrypting needs
    the same value. The store is named as for :class:`KeyManager`; only the MetadataKey is
    loaded, and a sealed one needs its KEK (``seal_kek_path`` or ``kek``).

    Errors: :class:`InvalidArgumentError` (metadata of another type or not UTF-8, a sealed
    MetadataKey without its KEK), :class:`NotFoundError` (no such key set, or one made with
    ``metadata_encryption=False``), :class:`AuthenticationError` (wrong KEK).
    """
    with KeyManager(key_id=key_id, key_store=key_store, key_path=key_path, region_name=region_name,
                    bucket_name=bucket_name, secret_prefix=secret_prefix) as km:
        return km._encrypt_metadata("encrypt_metadata", metadata, None, aad, seal_kek_path, kek)


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[False] = False,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
) -> str: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[True],
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
) -> JSONValue: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: bool,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
) -> Union[str, JSONValue]: ...


def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: bool = False,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: str = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
) -> Union[str, JSONValue]:
    """Decrypts a metadata token (of :func:`encrypt_metadata` or enVector's SDK: the base64
    token or its JSON form) with the MetadataKey of key set ``key_id`` and the ``aad`` it
    was encrypted with, and returns the metadata as ``str``; with ``as_json=True``, the
    JSON value it holds (what a ``dict`` or ``list`` given to encrypt_metadata comes back
    as).

    Errors: :class:`AuthenticationError` (another key set's MetadataKey, other ``aad``, an
    altered token, or a wrong KEK), :class:`InvalidArgumentError` (a token of another
    shape, a sealed MetadataKey without its KEK), :class:`NotFoundError` (no such key set,
    or one without a MetadataKey), :class:`CorruptDataError` (the metadata is not UTF-8
    text, or with ``as_json=True`` not JSON).
    """
    with KeyManager(key_id=key_id, key_store=key_store, key_path=key_path, region_name=region_name,
                    bucket_name=bucket_name, secret_prefix=secret_prefix) as km:
        return km._decrypt_metadata("decrypt_metadata", token, None, aad, as_json, seal_kek_path, kek)
