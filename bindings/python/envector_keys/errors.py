"""Exception classes, one per status code of include/envector.h.

Every error this package raises is an :class:`EnvectorError` with ``code`` (the C macro
name, e.g. ``'ENVECTOR_ERR_NOT_FOUND'``) and ``status`` (its number). Messages come from
the library, in this package's words: they start with the method called
(``KeyManager.save: ...``), name the arguments as a Python caller writes them, say where
the error comes from and what is accepted, and never hold key material.
"""

from __future__ import annotations

import re
import reprlib
from typing import Dict, Mapping, Optional, Sequence, Tuple, Type

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


# ---- the library's messages in the words of this package (internal) -------------------
#
# Every message of the library starts with the C function that failed
# ("envector_store_save: ..."), and a few name another C function or a C argument. A user
# of this package called a method, and named its arguments: api_message() says that
# method, and names what the user wrote.

#: The method of this package behind each C function it calls, for a message that names
#: a C function in its text (its start is replaced by the method called).
C_FUNCTIONS: Dict[str, str] = {
    "envector_keygen": "KeyGenerator.generate_keys",
    "envector_seal": "KeyGenerator (with kek or seal_kek_path)",
    "envector_unseal": "KeyManager.verify",
    "envector_kek_check": "KeyGenerator (with kek)",
    "envector_keyset_verify": "KeyManager.verify",
    "envector_keyset_from_blobs": "KeyManager.save",
    "envector_keyset_blob": "KeyManager.load",
    "envector_keyset_blobs": "KeyManager.load",
    "envector_keyset_roles": "KeyManager.load",
    "envector_keyset_id": "KeyManager.load",
    "envector_keyset_sealed": "KeyManager.load",
    "envector_keyset_state_json": "KeyManager.state",
    "envector_metadata_encrypt": "encrypt_metadata",
    "envector_metadata_decrypt": "decrypt_metadata",
    "envector_store_open": "KeyManager",
    "envector_store_save": "KeyManager.save",
    "envector_store_load": "KeyManager.load",
    "envector_store_exists": "KeyManager.verify_key_id",
    "envector_store_delete": "KeyManager.delete",
    "envector_store_list": "KeyManager.list_keys",
    "envector_store_set_state": "KeyManager.set_state",
    "envector_store_reseal": "KeyManager.reseal",
    "envector_store_rotate": "KeyManager.rotate",
    "envector_store_load_version": "KeyManager.load_version",
    "envector_store_list_sets": "KeyManager.list_sets",
    "envector_init": "init",
}

#: Options the library names otherwise than this package's arguments (the others are
#: the same words).
C_OPTIONS: Dict[str, str] = {
    "timeout_seconds": "timeout",
    "register_timeout_seconds": "register_timeout",
    "old_kek": "kek",
}

#: Whole phrases of the library's messages that say how to do something in C.
C_PHRASES: Tuple[Tuple[str, str], ...] = (
    (
        'seal_mode "aes" needs seal_kek_path, the file of the 32-byte KEK (or generate with seal_mode "none" '
        'and seal the key set with envector_seal)',
        'seal_mode "aes" needs the KEK: give kek (the KEK itself: 32 raw bytes, 64 hex characters or 44 base64 '
        'characters) or seal_kek_path (the file holding it)',
    ),
)

#: A setting named in every language the library serves ("AWSConfig.Timeout in Go,
#: aws_timeout_seconds in C and Python, awsTimeoutSeconds in Node, --timeout in the CLI"):
#: the caller's language has one name for it.
_C_LANGUAGES = re.compile(r"\S+ in Go, (\S+) in C and Python, (\S+) in Node, \S+ in the CLI")

_C_PREFIX = re.compile(r"envector_[a-z]+(?:_[a-z]+)*: ")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_C_FUNCTION = re.compile(r"\benvector_(?!keys\b)[a-z]+(?:_[a-z]+)*\b")
#: A C length argument with its value: "kek_len 99 is not accepted".
_C_LENGTH = re.compile(r"\b((?:new_|old_)?kek)_len (\d+)")
#: A field of envector_store_set_state's change_json: 'change_json: "to" must be ...'.
_C_CHANGE = re.compile(r'\bchange_json: "(to|reason|compromised)"')


def _option_pattern(names: Sequence[str]) -> "re.Pattern[str]":
    # An option name as a word of the message: not part of a path, a dotted field
    # (entries[0].metadata.eval_mode), a longer name or a command-line flag (--key_id).
    alternatives = "|".join(sorted((re.escape(n) for n in names), key=len, reverse=True))
    return re.compile(r"(?<![\w./\\-])(" + alternatives + r")(?![\w/\\-])")


def api_message(
    message: str,
    who: str,
    status: int,
    functions: Mapping[str, str] = C_FUNCTIONS,
    options: Mapping[str, str] = C_OPTIONS,
    phrases: Sequence[Tuple[str, str]] = C_PHRASES,
    option_length: str = "{name} of {n} bytes",
) -> str:
    """message, a message of the library, as the caller of ``who`` reads it: ``who``
    instead of the C function it starts with, the caller's names for the options and
    arguments the library names (outside quoted values; not in messages about data
    that does not check out, whose field names are the files'), and no other C
    function."""
    m = _C_PREFIX.match(message)
    if m is None:
        return message
    text = message[m.end():]
    for c, ours in phrases:
        text = text.replace(c, ours)
    text = _C_LANGUAGES.sub(lambda x: x.group(1), text)
    rename = status != STATUS["CORRUPT"]
    if rename:
        text = _C_CHANGE.sub(lambda x: options.get(x.group(1), x.group(1)), text)
    opt = _option_pattern(list(options)) if rename and options else None

    def words(part: str) -> str:
        part = _C_FUNCTION.sub(lambda f: functions.get(f.group(0), "this package"), part)
        if not rename:
            return part
        part = _C_LENGTH.sub(lambda x: option_length.format(name=options.get(x.group(1), x.group(1)), n=x.group(2)), part)
        if opt is not None:
            part = opt.sub(lambda x: options[x.group(1)], part)
        return part

    out = []
    last = 0
    for q in _QUOTED.finditer(text):
        out.append(words(text[last:q.start()]))
        out.append(q.group(0))
        last = q.end()
    out.append(words(text[last:]))
    return f"{who}: {''.join(out)}"


def strip_c_prefix(message: str) -> str:
    """message without the C function it starts with (to quote it inside another)."""
    m = _C_PREFIX.match(message)
    return message[m.end():] if m else message


def rename_error(e: EnvectorError, who: str, options: Mapping[str, str] = C_OPTIONS) -> None:
    """Puts e's message in the words of a caller of ``who`` (see api_message), in place;
    ``options`` as for api_message."""
    if e.args and isinstance(e.args[0], str):
        new = api_message(e.args[0], who, e.status, options=options)
        if new != e.args[0]:
            e.args = (new,) + tuple(e.args[1:])
