"""The public API: KeyGenerator, KeyManager, init, init_index_config, encrypt_metadata and
decrypt_metadata. Options are written as the library's options JSON and checked by the
library; nothing here knows what a valid preset, dim, KEK or token is."""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    overload,
)

from . import _native as n
from . import _ops as ops
from ._ops import KeyBlobs, PartialKeyBlobs
from .errors import (
    C_OPTIONS,
    STATUS,
    AlreadyExistsError,
    ClosedError,
    CorruptDataError,
    EnvectorError,
    InvalidArgumentError,
    NotFoundError,
    StorageIOError,
    rename_error,
    shown,
    shown_text,
    strip_c_prefix,
)

__all__ = [
    "KeyGenerator",
    "KeyManager",
    "KeyState",
    "KeySetListing",
    "InitResult",
    "KeyBlobs",
    "PartialKeyBlobs",
    "Preset",
    "EvalMode",
    "SealMode",
    "KeyStore",
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

#: enVector's parameter presets ('ip' is ip0, 'qf' is qf0; the library takes any case).
Preset = Literal[
    "ip3", "ip2", "ip1", "ip0", "ip", "qf0", "qf1", "qf",
    "IP3", "IP2", "IP1", "IP0", "IP", "QF0", "QF1", "QF",
]
#: enVector's eval modes (which go with which preset: see :class:`KeyGenerator`; any case).
EvalMode = Literal[
    "mm32", "mm", "mms", "mms32", "rmp", "flat", "single",
    "MM32", "MM", "MMS", "MMS32", "RMP", "FLAT", "SINGLE",
]
#: 'none' (no sealing) or 'aes' (SecKey and MetadataKey sealed under a KEK).
SealMode = Literal["none", "aes"]
#: 'local' (a directory) or 'aws' (S3 and Secrets Manager).
KeyStore = Literal["local", "aws"]


@contextmanager
def _named(who: str) -> Iterator[None]:
    """Runs the body of the public method ``who``: a library error raised in it names
    ``who`` and the options as this package spells them, not the C function and options
    (see errors.api_message)."""
    try:
        yield
    except EnvectorError as e:
        rename_error(e, who)
        raise


def _check_bool(who: str, name: str, value: Any, optional: bool = False) -> Optional[bool]:
    """value, which must be True or False (None too when optional): no truthy stand-ins
    such as "x" or 1, which would silently mean True."""
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{who}: {name} must be True or False, not {shown(value)}")
    return value


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


def _read_kek_file(who: str, path: Any, name: str = "seal_kek_path") -> bytearray:
    """The bytes of a KEK file in a bytearray the caller wipes (_wipe); the library parses
    them. No copy that cannot be wiped is made."""
    p = _path(who, name, path) or ""
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


_KEK_FORMS = "32 raw bytes, 64 hex characters or 44 base64 characters"


def _check_kek(who: str, kek: Any, name: str = "kek") -> None:
    """A KEK given in memory must be bytes-like or str (its form is checked by the library)."""
    if kek is None:
        return
    if not isinstance(kek, (str, bytes, bytearray, memoryview)):
        raise InvalidArgumentError(
            f"{who}: {name} must be bytes or str (the KEK: {_KEK_FORMS}), not {type(kek).__name__}"
        )
    if (kek.nbytes if isinstance(kek, memoryview) else len(kek)) == 0:
        raise InvalidArgumentError(f"{who}: {name} is empty; accepted: {_KEK_FORMS}")
    if isinstance(kek, str) and not _encodes(kek):
        raise InvalidArgumentError(f"{who}: {name} is not valid Unicode text; accepted: {_KEK_FORMS}")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def _kek_bytes(
    who: str, kek: Any, seal_kek_path: Any, names: Tuple[str, str] = ("kek", "seal_kek_path")
) -> Iterator[Optional[BytesLike]]:
    """The KEK of ``kek`` (in memory) or ``seal_kek_path`` (a file), or None for neither,
    as bytes the library reads. A copy made here (of a str, a read-only or strided
    memoryview, or the file's bytes) is a bytearray wiped when the block ends; the
    caller's own bytes, bytearray or writable memoryview are used as they are, and never
    wiped (they are the caller's)."""
    kek_name, path_name = names
    if kek is not None and seal_kek_path is not None:
        raise InvalidArgumentError(f"{who}: give {kek_name} or {path_name}, not both")
    _check_kek(who, kek, kek_name)
    owned: Optional[bytearray] = None
    data: Optional[BytesLike] = None
    if isinstance(kek, str):
        try:
            owned = bytearray(kek.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"{who}: {kek_name} is not valid Unicode text; accepted: {_KEK_FORMS}") from None
    elif isinstance(kek, memoryview):
        if kek.readonly or not kek.c_contiguous or kek.itemsize != 1:
            owned = bytearray(kek)  # copies the bytes straight into memory we can wipe
        else:
            data = kek
    elif isinstance(kek, (bytes, bytearray)):
        data = kek
    elif seal_kek_path is not None:
        owned = _read_kek_file(who, seal_kek_path, path_name)
    try:
        yield owned if owned is not None else data
    finally:
        _wipe(owned)


def _check_kek_form(who: str, kek: Optional[BytesLike], name: str = "kek") -> None:
    """Asks the library whether ``kek`` (the bytes of the KEK given as ``name``, from
    _kek_bytes) is a KEK in an accepted form (envector_kek_check), so that a malformed one
    is refused before work that ends in sealing under it, not after. The error names
    ``name``. Only the form is checked: a wrong KEK passes. None: nothing to check."""
    if kek is None:
        return
    try:
        ops.kek_check(kek)
    except EnvectorError as e:
        rename_error(e, who, {**C_OPTIONS, "kek": name})
        raise


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


def _seal_mode(who: str, seal_mode: Any, kek: Any, seal_kek_path: Any) -> Any:
    """The seal mode that KeyGenerator and init give the library: seal_mode as given, or,
    left out (None), 'aes' when a KEK is given (kek or seal_kek_path) and the library's
    default ('none') otherwise. A KEK with seal_mode 'none', and 'aes' without a KEK, are
    refused here, naming this package's options. Other values go to the library, which
    names what it accepts."""
    has_kek = kek is not None or seal_kek_path is not None
    if kek is not None and seal_kek_path is not None:
        raise InvalidArgumentError(f"{who}: give kek or seal_kek_path, not both")
    if seal_mode is None:
        return "aes" if has_kek else None
    mode = seal_mode.lower() if isinstance(seal_mode, str) else None
    if mode == "aes" and not has_kek:
        raise InvalidArgumentError(
            f"{who}: seal_mode='aes' needs the KEK: give kek (the KEK itself: {_KEK_FORMS}) "
            "or seal_kek_path (the file holding it)"
        )
    if mode == "none" and has_kek:
        given = "kek" if kek is not None else "seal_kek_path"
        raise InvalidArgumentError(
            f"{who}: seal_mode is 'none' but {given} is given: give seal_mode='aes' (or leave seal_mode out) "
            f"to seal under that KEK, or leave {given} out"
        )
    return seal_mode


# ---- KeyGenerator ----------------------------------------------------------------------------


class KeyGenerator:
    """Makes key sets: :meth:`generate_keys` writes one to ``<key_path>/<key_id>/`` (the
    local store), :meth:`generate_keys_stream` returns its envelopes as bytes. Holds no
    native resource.

    ``key_id`` is required. The other options are checked by the library when keys are
    made; its messages name them as this package does:

    - ``preset``: enVector's parameter preset, ``'ip3'`` (the default, as enVector's
      SDK), ``'ip2'``, ``'ip1'`` or ``'ip0'`` (``'ip'`` = ip0; any case).
    - ``eval_mode``: the evaluation keys. ``None`` (the default) takes the preset's
      default: ``'mm32'`` with ip3, ``'mm'`` with ip1 and ip2, ``'rmp'`` with ip0. Also
      accepted: ``'rmp'`` and ``'flat'`` with any preset, ``'single'`` (and ``'mm'``)
      with ip0. A pair that does not go together (ip1 with mm32, ip3 with mm) is an
      :class:`InvalidArgumentError` naming the modes the preset takes.
    - ``dim_list``: powers of two from 32 to 4096; default all of them.
    - ``metadata_encryption`` (True or False; default True) and ``seed`` (64 bytes or 128
      hex characters; tests only).
    - Sealing: ``seal_mode='aes'`` seals SecKey and MetadataKey under a KEK, given either
      as ``kek`` (the KEK itself, in memory: bytes, bytearray, memoryview or str, in the
      forms of :meth:`KeyManager.verify`: 32 raw bytes, 64 hex characters or 44 base64
      characters) or as ``seal_kek_path`` (a file holding it), not both. A KEK given
      without ``seal_mode`` means ``'aes'``; a KEK with ``seal_mode='none'``, or
      ``'aes'`` without one, is an :class:`InvalidArgumentError`. The form of ``kek`` is
      checked by the library when the KeyGenerator is made (a KEK file's when keys are
      made, before any is), so a malformed KEK is refused before any key is made; a wrong
      one is only found when the sealed keys are opened. With ``kek`` the keys are
      made in memory, sealed by the library, and only then returned or written: nothing
      is written unless sealing succeeded. The KeyGenerator keeps a reference to ``kek``
      (never shown in its repr) and copies it only for the length of a call, into memory
      wiped afterwards; a bytearray of yours is neither copied nor wiped.
    - ``lifetime_days``: how long the keys are usable (``expires_at``), in days; fractions
      allowed (``1/24`` is an hour); accepted: 1 hour to 100 years; default 1825 (5 years,
      as enVector). An expired key set is refused for use (:class:`KeyInactiveError`).

    The defaults (ip3, mm32, dims 32..4096) make a 1.2 GB EvalKey (0.9 GB of key data):
    :meth:`generate_keys` writes it in about 7 s with little memory;
    :meth:`generate_keys_stream` (and :func:`init`, which returns the keys) holds it in
    memory, about 15 s and 5 GB at peak. ``preset='ip0', eval_mode='rmp', dim_list=[32]``
    makes a small set (a 4.7 MB EvalKey) in milliseconds, for trying things out.
    """

    @overload
    def __init__(
        self,
        key_path: PathLike,
        key_id: str,
        dim_list: Optional[Sequence[int]] = None,
        preset: Preset = "ip3",
        eval_mode: Optional[EvalMode] = None,
        seal_mode: Optional[SealMode] = None,
        seal_kek_path: Optional[PathLike] = None,
        metadata_encryption: bool = True,
        seed: Optional[Union[str, BytesLike]] = None,
        lifetime_days: Optional[float] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        key_path: PathLike = "./keys",
        *,
        key_id: str,
        dim_list: Optional[Sequence[int]] = None,
        preset: Preset = "ip3",
        eval_mode: Optional[EvalMode] = None,
        seal_mode: Optional[SealMode] = None,
        seal_kek_path: Optional[PathLike] = None,
        metadata_encryption: bool = True,
        seed: Optional[Union[str, BytesLike]] = None,
        lifetime_days: Optional[float] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> None: ...

    def __init__(
        self,
        key_path: PathLike = "./keys",
        key_id: Optional[str] = None,
        dim_list: Optional[Sequence[int]] = None,
        preset: Preset = "ip3",
        eval_mode: Optional[EvalMode] = None,
        seal_mode: Optional[SealMode] = None,
        seal_kek_path: Optional[PathLike] = None,
        metadata_encryption: bool = True,
        seed: Optional[Union[str, BytesLike]] = None,
        lifetime_days: Optional[float] = None,
        kek: Optional[Union[str, BytesLike]] = None,
    ) -> None:
        who = "KeyGenerator"
        self.key_id: str = _require_key_id(who, key_id)
        self.key_path: str = _path(who, "key_path", key_path) or "./keys"
        _check_bool(who, "metadata_encryption", metadata_encryption)
        _check_kek(who, kek)
        mode = _seal_mode(who, seal_mode, kek, seal_kek_path)
        # With kek the library makes the keys unsealed, then seals them (envector_seal):
        # its form is checked now, not once the keys are made (a KEK file is read before).
        with _kek_bytes(who, kek, None) as k:
            _check_kek_form(who, k)
        self._kek = kek
        self._json = _options_json(
            who,
            {
                "key_id": key_id,
                "key_path": self.key_path,
                "dim_list": dim_list,
                "preset": preset,
                "eval_mode": eval_mode,
                # (a seal_mode other than 'aes' goes to the library, which refuses it)
                "seal_mode": "none" if kek is not None and str(mode).lower() == "aes" else mode,
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
        never overwriting (:class:`AlreadyExistsError` when that directory holds anything).
        With ``kek``, the keys are sealed before anything is written."""
        with _named("KeyGenerator.generate_keys"), _kek_bytes("KeyGenerator.generate_keys", self._kek, None) as k:
            ops.generate_to_store(self._json, k)

    def generate_keys_stream(self) -> KeyBlobs:
        """Generates the key set in memory (nothing is written) and returns its envelopes:
        ``{'sec_blob', 'enc_blob', 'eval_blob', 'metadata_blob'}`` as bytes
        (``metadata_blob`` None without metadata encryption). With ``seal_mode='aes'``
        (``kek`` or ``seal_kek_path``) the secret ones are sealed."""
        with _named("KeyGenerator.generate_keys_stream"), \
                _kek_bytes("KeyGenerator.generate_keys_stream", self._kek, None) as k:
            return ops.generate_stream(self._json, k)


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

    ``key_store='aws'`` takes ``region_name`` (required), ``bucket_name``,
    ``secret_prefix`` and ``aws_timeout_seconds``: the longest one AWS request may go
    without progress before it fails with :class:`RemoteStoreError` (seconds, fractions
    allowed, more than 0 and at most 3600; default 30).
    """

    def __init__(
        self,
        key_id: Optional[str] = None,
        key_store: KeyStore = "local",
        key_path: PathLike = "./keys",
        region_name: Optional[str] = None,
        bucket_name: Optional[str] = None,
        secret_prefix: Optional[str] = None,
        aws_timeout_seconds: Optional[float] = None,
    ) -> None:
        who = "KeyManager"
        if key_id is not None:
            _require_key_id(who, key_id)
        self.key_id: Optional[str] = key_id
        self.key_store: str = key_store
        self.key_path: Optional[str] = _path(who, "key_path", key_path)
        self._json = _options_json(
            who,
            {
                "key_store": key_store,
                "key_path": self.key_path,
                "region_name": region_name,
                "bucket_name": bucket_name,
                "secret_prefix": secret_prefix,
                "aws_timeout_seconds": _seconds(who, "aws_timeout_seconds", aws_timeout_seconds),
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
        with _named("KeyManager.open"):
            self._handle("open")
        return self

    def save(self, keys: Mapping[str, Optional[BytesLike]], key_id: Optional[str] = None) -> None:
        """Saves a key set (``{'sec_blob', 'enc_blob', 'eval_blob', 'metadata_blob'}``, as
        :meth:`KeyGenerator.generate_keys_stream` or :meth:`load` return it) under key_id:
        every envelope is checked, and the store writes all or nothing, never overwriting
        (:class:`AlreadyExistsError`)."""
        with _named("KeyManager.save"):
            kid = self._key_id("save", key_id)
            st = self._handle("save")
            with ops.from_blobs(kid.decode("utf-8"), keys, "KeyManager.save") as ks:
                st.save(ks)

    @overload
    def load(self, key_id: Optional[str] = None, roles: None = None) -> KeyBlobs: ...

    @overload
    def load(self, key_id: Optional[str], roles: Sequence[str]) -> PartialKeyBlobs: ...

    @overload
    def load(self, key_id: Optional[str] = None, *, roles: Sequence[str]) -> PartialKeyBlobs: ...

    def load(self, key_id: Optional[str] = None, roles: Optional[Sequence[str]] = None) -> PartialKeyBlobs:
        """Loads the key set for use: every role present (a :class:`KeyBlobs`: SecKey,
        EncKey and EvalKey are always there), or only ``roles`` (e.g. ``['EncKey',
        'EvalKey']``; a :class:`PartialKeyBlobs`, the others None). Each envelope is
        checked, and all must be of one key set; nothing is unsealed. A key set that is not
        active, or has expired, is refused (:class:`KeyInactiveError`; :meth:`load_version`
        reads it whatever its state)."""
        with _named("KeyManager.load"):
            kid = self._key_id("load", key_id)
            nums = _role_numbers("KeyManager.load", roles)
            ks = self._handle("load").load(kid, nums)
            assert ks is not None
            with ks:
                return ks.blobs() if nums is None else ks.partial_blobs()

    def delete(self, key_id: Optional[str] = None, immediate: bool = False) -> None:
        """Deletes the key set. ``immediate=True`` deletes AWS secrets without the recovery
        window (during which their names stay taken); the local store always deletes at once."""
        with _named("KeyManager.delete"):
            kid = self._key_id("delete", key_id)
            _check_bool("KeyManager.delete", "immediate", immediate)
            self._handle("delete").delete(kid, n.DELETE_IMMEDIATE if immediate else 0)

    def verify_key_id(self, key_id: Optional[str] = None) -> bool:
        """Whether the store holds a complete key set (SecKey, EncKey and EvalKey) under key_id."""
        with _named("KeyManager.verify_key_id"):
            kid = self._key_id("verify_key_id", key_id)
            return self._handle("verify_key_id").exists(kid)

    def list_keys(self) -> List[str]:
        """The key ids in the store, sorted."""
        with _named("KeyManager.list_keys"):
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
        who = "KeyManager.verify"
        with _named(who):
            kid = self._key_id("verify", key_id)
            _check_kek(who, kek)
            st = self._handle("verify")
            with _kek_bytes(who, kek, seal_kek_path) as k:
                ks = st.load(kid)
                assert ks is not None
                with ks:
                    ks.verify(k)
        return True

    # ---- lifecycle ------------------------------------------------------------------------

    def state(self, key_id: Optional[str] = None, *, version: int = 0) -> KeyState:
        """The state of the key set (the current version, or ``version``) whatever it is:
        also of a key set that :meth:`load` refuses (:class:`KeyInactiveError`). Only its
        EncKey (public) is read."""
        with _named("KeyManager.state"):
            return self._state("state", key_id, version)

    def _state(self, who: str, key_id: Optional[str], version: int) -> KeyState:
        kid = self._key_id(who, key_id)
        v = _version_number(f"KeyManager.{who}", version)
        with self._handle(who).load_version(kid, v, [n.ROLES.index("EncKey")]) as ks:
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
        with _named(who):
            kid = self._key_id("set_state", key_id)
            _check_bool(who, "compromised", compromised)
            _check_kek(who, kek)
            change = _json_bytes(who, "the change", {"to": to, "reason": reason, "compromised": compromised})
            st = self._handle("set_state")
            with _kek_bytes(who, kek, seal_kek_path) as k:
                st.set_state(kid, change, k)
            return self._state("set_state", kid.decode("utf-8"), 0)

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
        with _named(who):
            kid = self._key_id("reseal", key_id)
            if new_kek is None and new_seal_kek_path is None:
                raise InvalidArgumentError(f"{who}: the new KEK is required: new_kek or new_seal_kek_path")
            _check_kek(who, new_kek, "new_kek")
            _check_kek(who, kek)
            if kek is not None and seal_kek_path is not None:
                raise InvalidArgumentError(f"{who}: give kek or seal_kek_path, not both")
            st = self._handle("reseal")
            with _kek_bytes(who, new_kek, new_seal_kek_path, ("new_kek", "new_seal_kek_path")) as nk, \
                    _kek_bytes(who, kek, seal_kek_path) as ck:
                # The library names both KEKs of reseal "kek" when it parses them: the new
                # one is checked here first, so that its error names it.
                _check_kek_form(who, nk, "new_kek" if new_kek is not None else "new_seal_kek_path")
                st.reseal(kid, ck, nk)

    def rotate(
        self,
        key_id: Optional[str] = None,
        *,
        reason: Optional[str] = None,
        preset: Optional[Preset] = None,
        eval_mode: Optional[EvalMode] = None,
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
        ``metadata_encryption`` (True or False; default True), ``lifetime_days`` and ``seed``
        as for :class:`KeyGenerator`. A sealed key set needs its KEK (``seal_kek_path`` or
        ``kek``), which also seals the new one; a KEK given for an unsealed set seals the
        new one. The new EvalKey must be registered again where it is used."""
        who = "KeyManager.rotate"
        with _named(who):
            kid = self._key_id("rotate", key_id)
            _check_bool(who, "metadata_encryption", metadata_encryption, optional=True)
            _check_kek(who, kek)
            options = _options_json(
                who,
                {
                    "reason": reason, "preset": preset, "eval_mode": eval_mode, "dim_list": dim_list,
                    "metadata_encryption": metadata_encryption, "lifetime_days": lifetime_days, "seed": seed,
                },
            )
            st = self._handle("rotate")
            with _kek_bytes(who, kek, seal_kek_path) as k:
                ks = st.rotate(kid, options, k)
            with ks:
                return KeyState._from(ks.state())

    @overload
    def load_version(self, version: int, key_id: Optional[str] = None, roles: None = None) -> KeyBlobs: ...

    @overload
    def load_version(self, version: int, key_id: Optional[str], roles: Sequence[str]) -> PartialKeyBlobs: ...

    @overload
    def load_version(self, version: int, key_id: Optional[str] = None, *, roles: Sequence[str]) -> PartialKeyBlobs: ...

    def load_version(
        self, version: int, key_id: Optional[str] = None, roles: Optional[Sequence[str]] = None
    ) -> PartialKeyBlobs:
        """Loads version ``version`` of the key set, as :meth:`load` does, whatever its state
        (it is asked for by number): the current version or an earlier one kept by
        :meth:`rotate`; ``0`` is the current one, whatever its number. E.g. the MetadataKey
        of version 1 still decrypts metadata encrypted before a rotation. A destroyed set's
        secret envelopes hold no key data. :class:`NotFoundError` names the versions kept."""
        with _named("KeyManager.load_version"):
            kid = self._key_id("load_version", key_id)
            v = _version_number("KeyManager.load_version", version)
            nums = _role_numbers("KeyManager.load_version", roles)
            with self._handle("load_version").load_version(kid, v, nums) as ks:
                return ks.blobs() if nums is None else ks.partial_blobs()

    def list_sets(self) -> List[KeySetListing]:
        """What the store holds under each key id, sorted by key id: the roles present,
        whether complete, and the earlier versions kept (see :class:`KeySetListing`)."""
        with _named("KeyManager.list_sets"):
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
        _check_kek(who, kek)
        st = self._handle(who.rsplit(".", 1)[-1])
        with _kek_bytes(who, kek, seal_kek_path) as k:
            try:
                ks = st.load(kid_c, [_METADATA_ROLE])
            except NotFoundError as e:
                if st.exists(kid_c):
                    raise NotFoundError(
                        f"{who}: key set {shown(kid)} has no MetadataKey (it was made with metadata_encryption=False): "
                        f"{strip_c_prefix(str(e))}"
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
        with _named(who):
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
        with _named(who):
            tok = _token_bytes(who, token)
            ad = _aad_bytes(who, aad)
            want_json = bool(_check_bool(who, "as_json", as_json))
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
        with _named("InitResult.keys"), self._lock:  # type: ignore[attr-defined]
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
    aws = {"region_name", "bucket_name", "secret_prefix", "aws_timeout_seconds"}
    skip |= aws if settings["key_store"] == "local" else {"key_path"}
    info = {k: v for k, v in settings.items() if v is not None and k not in skip}
    info.setdefault("seal_mode", "none")
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
    """A number of seconds (int or float, as given; the library checks its range)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{who}: {name} must be a number of seconds, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgumentError(f"{who}: {name} must be a finite number of seconds, not {value}")
    return value


@overload
def init(
    *,
    key_id: str,
    auto_key_setup: bool = True,
    key_path: PathLike = "./keys",
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
    metadata_encryption: bool = True,
    seal_mode: Optional[SealMode] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    preset: Preset = "ip3",
    eval_mode: Optional[EvalMode] = None,
    dim_list: Optional[Sequence[int]] = None,
    seed: Optional[Union[str, BytesLike]] = None,
    register: None = None,
    address: str,
    lifetime_days: Optional[float] = None,
    token: Optional[Union[str, bytes]] = None,
    token_file: Optional[PathLike] = None,
    tls: Optional[bool] = None,
    ca_file: Optional[PathLike] = None,
    timeout: Optional[float] = None,
    register_timeout: Optional[float] = None,
) -> InitResult: ...


@overload
def init(
    *,
    key_id: str,
    auto_key_setup: bool = True,
    key_path: PathLike = "./keys",
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
    metadata_encryption: bool = True,
    seal_mode: Optional[SealMode] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    preset: Preset = "ip3",
    eval_mode: Optional[EvalMode] = None,
    dim_list: Optional[Sequence[int]] = None,
    seed: Optional[Union[str, BytesLike]] = None,
    register: Optional[RegisterFn] = None,
    address: None = None,
    lifetime_days: Optional[float] = None,
    token: Optional[Union[str, bytes]] = None,
    token_file: Optional[PathLike] = None,
    tls: Optional[bool] = None,
    ca_file: Optional[PathLike] = None,
    timeout: Optional[float] = None,
    register_timeout: Optional[float] = None,
) -> InitResult: ...


def init(
    *,
    key_id: Optional[str] = None,
    auto_key_setup: bool = True,
    key_path: PathLike = "./keys",
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
    metadata_encryption: bool = True,
    seal_mode: Optional[SealMode] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    preset: Preset = "ip3",
    eval_mode: Optional[EvalMode] = None,
    dim_list: Optional[Sequence[int]] = None,
    seed: Optional[Union[str, BytesLike]] = None,
    register: Optional[RegisterFn] = None,
    address: Optional[str] = None,
    lifetime_days: Optional[float] = None,
    token: Optional[Union[str, bytes]] = None,
    token_file: Optional[PathLike] = None,
    tls: Optional[bool] = None,
    ca_file: Optional[PathLike] = None,
    timeout: Optional[float] = None,
    register_timeout: Optional[float] = None,
) -> InitResult:
    """enVector's client start-up in one library call (``envector_init``): finds key set
    ``key_id`` in the store, or, with ``auto_key_setup`` (the default), generates it
    (sealed with ``seal_mode='aes'`` under the KEK of ``seal_kek_path`` or ``kek``; a KEK
    given without ``seal_mode`` means ``'aes'``, as for :class:`KeyGenerator`) and
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
    The store options are those of :class:`KeyManager` (``aws_timeout_seconds`` with
    ``key_store='aws'``). Options that are True or False take only a bool.
    """
    who = "init"
    with _named(who):
        return _init(
            who, key_id, auto_key_setup, register, address, tls, kek, token, seal_mode,
            {
                "key_store": key_store,
                "key_path": key_path,
                "region_name": region_name,
                "bucket_name": bucket_name,
                "secret_prefix": secret_prefix,
                "aws_timeout_seconds": _seconds(who, "aws_timeout_seconds", aws_timeout_seconds),
                "preset": preset,
                "eval_mode": eval_mode,
                "dim_list": dim_list,
                "metadata_encryption": metadata_encryption,
                "seal_kek_path": seal_kek_path,
                "lifetime_days": lifetime_days,
            },
            {
                "seed": seed,
                "token_file": token_file,
                "ca_file": ca_file,
                "timeout_seconds": _seconds(who, "timeout", timeout),
                "register_timeout_seconds": _seconds(who, "register_timeout", register_timeout),
            },
        )


_STORE_KEYS = ("key_store", "key_path", "region_name", "bucket_name", "secret_prefix", "aws_timeout_seconds")


def _init(
    who: str, key_id: Any, auto_key_setup: Any, register: Any, address: Any, tls: Any, kek: Any, token: Any,
    seal_mode: Any, key_settings: Dict[str, Any], other: Dict[str, Any],
) -> InitResult:
    kid = _require_key_id(who, key_id)
    if register is not None and not callable(register):
        raise InvalidArgumentError(f"{who}: register must be callable as register(key_id, eval_key, info)")
    _check_bool(who, "auto_key_setup", auto_key_setup)
    _check_bool(who, "metadata_encryption", key_settings["metadata_encryption"])
    _check_bool(who, "tls", tls, optional=True)
    if register is not None and address is not None:
        raise InvalidArgumentError(
            f"{who}: give address (the library registers the EvalKey with that server) or register "
            "(your own callback), not both"
        )
    _check_kek(who, kek)
    settings: Dict[str, Any] = {
        "key_id": kid,
        **key_settings,
        "seal_mode": _seal_mode(who, seal_mode, kek, key_settings["seal_kek_path"]),
    }
    options = _options_json(who, {**settings, **other, "auto_key_setup": auto_key_setup, "address": address, "tls": tls})
    store_json = _options_json(who, {k: settings[k] for k in _STORE_KEYS})
    tok = _server_token(who, token)
    with _kek_bytes(who, kek, None) as k:
        result = ops.init(options, k, tok)

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
                    note = (f"envector-keys: init: register failed and key set {shown(kid)} could not be removed: "
                            f"{strip_c_prefix(str(d))}")
                    warnings.warn(note, RuntimeWarning, stacklevel=3)
                    if hasattr(e, "add_note"):
                        e.add_note(note)
                raise
        registered = True
    return InitResult(kid, created, registered, bool(result["sealed"]), result=result, store_options=store_json)


#: :func:`init` under the enVector SDK's other name: the same function.
init_index_config = init


# ---- metadata encryption ---------------------------------------------------------------------


@overload
def encrypt_metadata(
    metadata: Metadata,
    key_path: PathLike,
    key_id: str,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> str: ...


@overload
def encrypt_metadata(
    metadata: Metadata,
    key_path: PathLike = "./keys",
    *,
    key_id: str,
    aad: Optional[Union[str, BytesLike]] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> str: ...


def encrypt_metadata(
    metadata: Metadata,
    key_path: PathLike = "./keys",
    key_id: Optional[str] = None,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
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
    who = "encrypt_metadata"
    with _named(who):
        _require_key_id(who, key_id)
        with KeyManager(key_id=key_id, key_store=key_store, key_path=key_path, region_name=region_name,
                        bucket_name=bucket_name, secret_prefix=secret_prefix,
                        aws_timeout_seconds=aws_timeout_seconds) as km:
            return km._encrypt_metadata(who, metadata, None, aad, seal_kek_path, kek)


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike,
    key_id: str,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[False] = False,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> str: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    *,
    key_id: str,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[False] = False,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> str: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike,
    key_id: str,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[True],
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> JSONValue: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    *,
    key_id: str,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: Literal[True],
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> JSONValue: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike,
    key_id: str,
    *,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: bool,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
) -> Union[str, JSONValue]: ...


@overload
def decrypt_metadata(
    token: Union[str, BytesLike],
    key_path: PathLike = "./keys",
    *,
    key_id: str,
    aad: Optional[Union[str, BytesLike]] = None,
    as_json: bool,
    seal_kek_path: Optional[PathLike] = None,
    kek: Optional[Union[str, BytesLike]] = None,
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
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
    key_store: KeyStore = "local",
    region_name: Optional[str] = None,
    bucket_name: Optional[str] = None,
    secret_prefix: Optional[str] = None,
    aws_timeout_seconds: Optional[float] = None,
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
    who = "decrypt_metadata"
    with _named(who):
        _require_key_id(who, key_id)
        with KeyManager(key_id=key_id, key_store=key_store, key_path=key_path, region_name=region_name,
                        bucket_name=bucket_name, secret_prefix=secret_prefix,
                        aws_timeout_seconds=aws_timeout_seconds) as km:
            return km._decrypt_metadata(who, token, None, aad, as_json, seal_kek_path, kek)
