"""Exception classes, one per status code of include/envector.h.

Every error this package raises is an :class:`EnvectorError` with ``code`` (the C macro
name, e.g. ``'ENVECTOR_ERR_NOT_FOUND'``) and ``status`` (its number). Messages come from
the library: they say where the error comes from and what is accepted, and never hold
key material.
"""

from __future__ import annotations

import reprlib
from typing import Dict, Optional, Type

__all__ = [
    "STATUS",
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
    "error_from_status",
]

#: The status codes of include/envector.h.
STATUS: Dict[str, int] = {
    "OK": 0,
    "INVALID_ARGUMENT": 1,
    "NOT_FOUND": 2,
    "ALREADY_EXISTS": 3,
    "AUTH": 4,
    "CORRUPT": 5,
    "IO": 6,
    "REMOTE": 7,
    "INTERNAL": 8,
    "KEY_INACTIVE": 9,
}


class EnvectorError(Exception):
    """The base class of every error this package raises.

    ``code`` is the C macro name of the status (e.g. ``'ENVECTOR_ERR_NOT_FOUND'``) and
    ``status`` its number.
    """

    code: str = "ENVECTOR_ERR_INTERNAL"
    status: int = STATUS["INTERNAL"]

    def __init__(self, message: str, *, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message, as given by the library."""
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(EnvectorError, ValueError):
    """The caller passed something not accepted (``ENVECTOR_ERR_INVALID_ARGUMENT``)."""

    code = "ENVECTOR_ERR_INVALID_ARGUMENT"
    status = STATUS["INVALID_ARGUMENT"]


class NotFoundError(EnvectorError):
    """A key set, role, file, object or secret is absent (``ENVECTOR_ERR_NOT_FOUND``)."""

    code = "ENVECTOR_ERR_NOT_FOUND"
    status = STATUS["NOT_FOUND"]


class AlreadyExistsError(EnvectorError):
    """The target holds keys already; nothing was overwritten (``ENVECTOR_ERR_ALREADY_EXISTS``)."""

    code = "ENVECTOR_ERR_ALREADY_EXISTS"
    status = STATUS["ALREADY_EXISTS"]


class AuthenticationError(EnvectorError):
    """Unsealing failed (wrong KEK, or sealed data altered), or AWS refused the
    credentials (``ENVECTOR_ERR_AUTH``)."""

    code = "ENVECTOR_ERR_AUTH"
    status = STATUS["AUTH"]


class CorruptDataError(EnvectorError):
    """Data does not parse or does not check out (``ENVECTOR_ERR_CORRUPT``)."""

    code = "ENVECTOR_ERR_CORRUPT"
    status = STATUS["CORRUPT"]


class StorageIOError(EnvectorError):
    """The local file system failed (``ENVECTOR_ERR_IO``)."""

    code = "ENVECTOR_ERR_IO"
    status = STATUS["IO"]


class RemoteStoreError(EnvectorError):
    """A remote store (AWS) failed (``ENVECTOR_ERR_REMOTE``)."""

    code = "ENVECTOR_ERR_REMOTE"
    status = STATUS["REMOTE"]


class InternalError(EnvectorError):
    """A bug or broken invariant inside the library (``ENVECTOR_ERR_INTERNAL``), or a
    status this package does not know (``status`` then keeps its number)."""

    code = "ENVECTOR_ERR_INTERNAL"
    status = STATUS["INTERNAL"]


class KeyInactiveError(EnvectorError):
    """The key set is not active (preparing, deactivated or destroyed) or has expired, so it
    is refused for use (``ENVECTOR_ERR_KEY_INACTIVE``); the message says which.
    :meth:`KeyManager.state` and :meth:`KeyManager.load_version` read it whatever its state."""

    code = "ENVECTOR_ERR_KEY_INACTIVE"
    status = STATUS["KEY_INACTIVE"]


class ClosedError(InvalidArgumentError):
    """Use of an object after ``close()``."""


class ForkedProcessError(EnvectorError, RuntimeError):
    """The library was used in a child process made by ``fork()`` without ``exec()``.

    The Go runtime inside libenvector does not survive ``fork()``: a call from the child
    would hang. Start worker processes with the ``spawn`` or ``forkserver`` method of
    :mod:`multiprocessing` (``multiprocessing.get_context('spawn')``), or load the
    library only in the children. Its ``code`` is ``ENVECTOR_ERR_INVALID_ARGUMENT``: the
    header forbids such calls.
    """

    code = "ENVECTOR_ERR_INVALID_ARGUMENT"
    status = STATUS["INVALID_ARGUMENT"]


_BY_STATUS: Dict[int, Type[EnvectorError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        AuthenticationError,
        CorruptDataError,
        StorageIOError,
        RemoteStoreError,
        InternalError,
        KeyInactiveError,
    )
}


def error_from_status(status: int, message: str) -> EnvectorError:
    """The exception of a C status; an unknown status is an :class:`InternalError`
    that keeps the number (the header: treat unknown codes like INTERNAL)."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls(message)
    return InternalError(f"{message} (unknown status {status})", status=status)


# ---- values in messages (internal) -----------------------------------------------------

#: How much of a value a message shows: a str its first SHOWN characters and "...", as
#: the library shows a quoted value; other values a repr of about that size.
SHOWN = 40
#: How much of a path or of another error's text a message shows.
SHOWN_TEXT = 256

_repr = reprlib.Repr()
_repr.maxstring = SHOWN + 2
_repr.maxother = SHOWN
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 6
_repr.maxlevel = 2


def shown(value: object) -> str:
    """``repr(value)`` for a message, cut: a str shows at most its first 40 characters,
    then ``...``; so no value of any length (a 1 MB key id) fills a message."""
    if isinstance(value, str):
        return repr(value[:SHOWN]) + ("..." if len(value) > SHOWN else "")
    text = _repr.repr(value)
    return text if len(text) <= 2 * SHOWN else text[: 2 * SHOWN] + "..."


def shown_text(text: object) -> str:
    """``str(text)`` for a message (a path, another error's message), cut to its first
    256 characters, then ``...``."""
    t = str(text)
    return t if len(t) <= SHOWN_TEXT else t[:SHOWN_TEXT] + "..."
