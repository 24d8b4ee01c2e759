"""envector-keys: the key sets of enVector encrypted vector search, made, sealed, stored
(local directory or AWS) and verified by libenvector, the Go core behind the C ABI of
include/envector.h, called through ctypes; and the metadata beside each vector encrypted
with a key set's MetadataKey. No key logic is written in Python.

    from envector_keys import init, KeyGenerator, KeyManager
    from envector_keys import encrypt_metadata, decrypt_metadata

The library's Go runtime does not survive ``fork()`` without ``exec()``: in a child
forked after this package was imported every call raises :class:`ForkedProcessError`;
use the ``spawn`` or ``forkserver`` start method of :mod:`multiprocessing`.
"""

from __future__ import annotations

from . import _native
from ._api import (
    ROLES,
    EvalMode,
    InitResult,
    JSONValue,
    KeyBlobs,
    KeyGenerator,
    KeyManager,
    KeySetListing,
    KeyState,
    KeyStore,
    Metadata,
    PartialKeyBlobs,
    Preset,
    SealMode,
    decrypt_metadata,
    encrypt_metadata,
    init,
    init_index_config,
)
from .errors import (
    AlreadyExistsError,
    AuthenticationError,
    ClosedError,
    CorruptDataError,
    EnvectorError,
    ForkedProcessError,
    InternalError,
    InvalidArgumentError,
    KeyInactiveError,
    NotFoundError,
    RemoteStoreError,
    StorageIOError,
)

__version__ = "0.3.0"

#: The path of the loaded libenvector, and where it was found.
library_path: str = _native.library_path
library_from: str = _native.library_from


def library_version() -> str:
    """The version of the loaded libenvector, as "MAJOR.MINOR.PATCH"; the library a package ships with says its __version__."""
    return _native.version()


__all__ = [
    "KeyGenerator",
    "KeyManager",
    "KeyBlobs",
    "PartialKeyBlobs",
    "Preset",
    "EvalMode",
    "SealMode",
    "KeyStore",
    "KeyState",
    "KeySetListing",
    "InitResult",
    "init",
    "init_index_config",
    "encrypt_metadata",
    "decrypt_metadata",
    "Metadata",
    "JSONValue",
    "ROLES",
    "library_version",
    "library_path",
    "library_from",
    "EnvectorError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "AuthenticationError",
    "CorruptDataError",
    "StorageIOError",
    "RemoteStoreError",
    "InternalError",
    "KeyInactiveError",
    "ClosedError",
    "ForkedProcessError",
]
