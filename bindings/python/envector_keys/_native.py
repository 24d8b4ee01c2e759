"""libenvector through ctypes: where the library comes from, one declaration per function
of include/envector.h (argtypes and restype, with the header's exact shapes), the check
that this process is not a child forked after the library was loaded, and the helpers
that turn a failed call into an exception. No key logic.

Where the library comes from, in order:

1. ``$ENVECTOR_LIB``: the library file, or a directory holding ``libenvector.so.0``.
   When set it must exist: no silent fallback.
2. ``envector_keys/_lib/libenvector.so.0``: bundled into the wheel by ``pip install``.
3. ``<checkout>/build/cmake/lib/libenvector.so.0`` when the package is imported from a
   checkout of envector-keys (``bindings/python``): what ``make lib`` builds.
4. ``libenvector.so.0`` on the system library path (``make install``, ldconfig,
   ``LD_LIBRARY_PATH``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import weakref
from ctypes import (
    POINTER,
    byref,
    c_char,
    c_char_p,
    c_int,
    c_size_t,
    c_uint,
    c_uint8,
)
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Tuple, TypeVar

from .errors import ClosedError, EnvectorError, ForkedProcessError, InvalidArgumentError, error_from_status, shown_text

SONAME = "libenvector.so.0"
PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED = PACKAGE_DIR / "_lib" / SONAME
MODULE_LINE = "module github.com/envector-keys/envector-keys"

HOW_TO_FIX = (
    "Fix: `pip install bindings/python` from a checkout of envector-keys (it builds the "
    "library with Go 1.22+, or copies build/cmake/lib/libenvector.so.0 after `make lib`), "
    "or run `make lib` in the checkout this package is imported from, or set ENVECTOR_LIB "
    "to the path of libenvector.so.0, or install the library system-wide (`make install`)."
)

# Roles, as include/envector.h numbers them.
ROLES: Tuple[str, ...] = ("SecKey", "EncKey", "EvalKey", "MetadataKey")
ROLE_COUNT = 4
SECRET_ROLES = (0, 3)  # SecKey, MetadataKey
DELETE_IMMEDIATE = 1


def repository_root() -> Optional[Path]:
    """The envector-keys checkout holding this package (bindings/python), or None."""
    root = PACKAGE_DIR.parent.parent.parent
    try:
        gomod = (root / "go.mod").read_text(encoding="utf-8")
    except OSError:
        return None
    if any(line.strip() == MODULE_LINE for line in gomod.splitlines()) and (root / "capi").is_dir():
        return root
    return None


def candidates(env: Optional[Mapping[str, str]] = None) -> List[Tuple[str, str, bool]]:
    """The library files to try, in order: (path, where it comes from, required)."""
    e: Mapping[str, str] = os.environ if env is None else env
    lib_env = e.get("ENVECTOR_LIB")
    if lib_env:
        p = Path(os.path.abspath(os.path.expanduser(lib_env)))
        if p.is_dir():
            p = p / SONAME
        return [(str(p), "$ENVECTOR_LIB", True)]
    out = [(str(BUNDLED), "the package (envector_keys/_lib)", False)]
    root = repository_root()
    if root is not None:
        out.append((str(root / "build" / "cmake" / "lib" / SONAME), "the CMake build of this checkout", False))
    return out


def locate(env: Optional[Mapping[str, str]] = None) -> Tuple[str, str, List[str]]:
    """(path, where from, what was tried) of the library to load. Without a file, the
    system's: ctypes.util.find_library('envector'), else the bare SONAME."""
    tried: List[str] = []
    for path, origin, required in candidates(env):
        if os.path.isfile(path):
            return path, origin, tried
        if required:
            raise ImportError(
                f"envector-keys: ENVECTOR_LIB={os.environ.get('ENVECTOR_LIB')} is not a library file "
                f"(looked for {path}). {HOW_TO_FIX}"
            )
        tried.append(f"{path} ({origin})")
    found = ctypes.util.find_library("envector")
    return (found or SONAME), "the system library path", tried


# ---- opaque handle types -----------------------------------------------------------------


class _envector_keyset(ctypes.Structure):
    """Opaque: envector_keyset."""


class _envector_store(ctypes.Structure):
    """Opaque: envector_store."""


class _envector_error(ctypes.Structure):
    """Opaque: envector_error."""


KeysetP = POINTER(_envector_keyset)
StoreP = POINTER(_envector_store)
ErrorP = POINTER(_envector_error)
BytesP = POINTER(c_uint8)
CharP = POINTER(c_char)  # a library-owned string we free ourselves (c_char_p would copy and lose it)

# name: (restype, argtypes), in header order.
DECLARATIONS = {
    # library
    "envector_version": (c_char_p, []),
    # errors
    "envector_error_code": (c_int, [ErrorP]),
    "envector_error_message": (c_char_p, [ErrorP]),
    "envector_error_free": (c_int, [ErrorP]),
    # memory returned by the library
    "envector_bytes_free": (c_int, [BytesP]),
    "envector_string_free": (c_int, [CharP]),
    "envector_string_list_free": (c_int, [POINTER(CharP)]),
    # key sets
    "envector_keygen": (c_int, [c_char_p, POINTER(KeysetP), POINTER(ErrorP)]),
    "envector_keyset_free": (c_int, [KeysetP]),
    "envector_keyset_blob": (c_int, [KeysetP, c_int, POINTER(BytesP), POINTER(c_size_t), POINTER(ErrorP)]),
    "envector_keyset_blobs": (c_int, [KeysetP, POINTER(BytesP), POINTER(c_size_t), POINTER(ErrorP)]),
    "envector_keyset_roles": (c_int, [KeysetP, POINTER(c_int), POINTER(c_size_t), POINTER(ErrorP)]),
    "envector_keyset_id": (c_int, [KeysetP, POINTER(CharP), POINTER(ErrorP)]),
    "envector_keyset_sealed": (c_int, [KeysetP, POINTER(c_int), POINTER(ErrorP)]),
    "envector_keyset_from_blobs": (
        c_int,
        [c_char_p, POINTER(c_int), POINTER(BytesP), POINTER(c_size_t), c_size_t, POINTER(KeysetP), POINTER(ErrorP)],
    ),
    "envector_seal": (c_int, [KeysetP, BytesP, c_size_t, POINTER(KeysetP), POINTER(ErrorP)]),
    "envector_unseal": (c_int, [KeysetP, BytesP, c_size_t, POINTER(KeysetP), POINTER(ErrorP)]),
    "envector_kek_check": (c_int, [BytesP, c_size_t, POINTER(ErrorP)]),
    "envector_keyset_verify": (c_int, [KeysetP, BytesP, c_size_t, POINTER(ErrorP)]),
    # metadata encryption
    "envector_metadata_encrypt": (
        c_int,
        [KeysetP, BytesP, c_size_t, BytesP, c_size_t, POINTER(CharP), POINTER(ErrorP)],
    ),
    "envector_metadata_decrypt": (
        c_int,
        [KeysetP, c_char_p, BytesP, c_size_t, POINTER(BytesP), POINTER(c_size_t), POINTER(ErrorP)],
    ),
    # stores
    "envector_store_open": (c_int, [c_char_p, POINTER(StoreP), POINTER(ErrorP)]),
    "envector_store_free": (c_int, [StoreP]),
    "envector_store_save": (c_int, [StoreP, KeysetP, POINTER(ErrorP)]),
    "envector_store_load": (c_int, [StoreP, c_char_p, POINTER(c_int), c_size_t, POINTER(KeysetP), POINTER(ErrorP)]),
    "envector_store_exists": (c_int, [StoreP, c_char_p, POINTER(c_int), POINTER(ErrorP)]),
    "envector_store_delete": (c_int, [StoreP, c_char_p, c_uint, POINTER(ErrorP)]),
    "envector_store_list": (c_int, [StoreP, POINTER(POINTER(CharP)), POINTER(c_size_t), POINTER(ErrorP)]),
    # key set lifecycle
    "envector_keyset_state_json": (c_int, [KeysetP, POINTER(CharP), POINTER(ErrorP)]),
    "envector_store_set_state": (c_int, [StoreP, c_char_p, c_char_p, BytesP, c_size_t, POINTER(ErrorP)]),
    "envector_store_reseal": (c_int, [StoreP, c_char_p, BytesP, c_size_t, BytesP, c_size_t, POINTER(ErrorP)]),
    "envector_store_rotate": (
        c_int,
        [StoreP, c_char_p, c_char_p, BytesP, c_size_t, POINTER(KeysetP), POINTER(ErrorP)],
    ),
    "envector_store_load_version": (
        c_int,
        [StoreP, c_char_p, c_int, POINTER(c_int), c_size_t, POINTER(KeysetP), POINTER(ErrorP)],
    ),
    "envector_store_list_sets": (c_int, [StoreP, POINTER(CharP), POINTER(ErrorP)]),
    # init
    "envector_init": (c_int, [c_char_p, BytesP, c_size_t, c_char_p, POINTER(CharP), POINTER(ErrorP)]),
    # command line
    "envector_cli_main": (c_int, [c_int, POINTER(c_char_p)]),
}


def _load() -> Tuple[ctypes.CDLL, str, str]:
    path, origin, tried = locate()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        where = f" Looked in: {'; '.join(tried)}; then the system library path." if tried else ""
        raise ImportError(f"envector-keys: cannot load libenvector ({path}, from {origin}): {e}.{where} {HOW_TO_FIX}") from e
    for name, (restype, argtypes) in DECLARATIONS.items():
        try:
            f = getattr(lib, name)
        except AttributeError as e:
            raise ImportError(
                f"envector-keys: {path} has no {name}; the library is older than this package. {HOW_TO_FIX}"
            ) from e
        f.restype = restype
        f.argtypes = argtypes
    return lib, path, origin


lib, library_path, library_from = _load()

# ---- fork ----------------------------------------------------------------------------------
#
# The Go runtime does not survive fork() without exec(): its threads are not in the child,
# and a call into the library there hangs. Once the library is loaded, a child forked from
# this process is marked, and every call from it raises ForkedProcessError instead.

_loaded_pid = os.getpid()
_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)

FORK_MESSAGE = (
    "envector-keys: this process was forked (without exec) from the process that loaded "
    "libenvector, and the Go runtime inside the library does not survive fork(): a call "
    "from here would hang. Start worker processes with the 'spawn' or 'forkserver' method "
    "(multiprocessing.get_context('spawn'), or ProcessPoolExecutor(mp_context=...)), or "
    "import envector_keys only in the children."
)


def in_forked_child() -> bool:
    """Whether this process is a child forked after the library was loaded."""
    return _forked or os.getpid() != _loaded_pid


def check_process(who: str) -> None:
    """Raises ForkedProcessError in a forked child: every call into the library starts here."""
    if _forked or os.getpid() != _loaded_pid:
        raise ForkedProcessError(f"{who}: {FORK_MESSAGE}")


# ---- calls ---------------------------------------------------------------------------------


def take_error(who: str, status: int, err: Any) -> EnvectorError:
    """The exception of a failed call; frees the library's error object."""
    if not err:
        return error_from_status(status, f"{who}: failed with status {status}")
    try:
        raw = lib.envector_error_message(err)
        message = raw.decode("utf-8", "replace") if raw is not None else f"{who}: failed with status {status}"
    finally:
        lib.envector_error_free(err)
    return error_from_status(status, message)


def drop_error(err: Any) -> None:
    """Frees an error object unread (an expected status)."""
    if err:
        lib.envector_error_free(err)


def call(who: str, fn: Callable[..., int], *args: Any, expect: Optional[int] = None) -> int:
    """Calls fn(*args, &err). Returns 0, or `expect` when that status came back (its
    error freed unread); raises the mapped exception otherwise."""
    check_process(who)
    err = ErrorP()
    try:
        status = fn(*args, byref(err))
    except ctypes.ArgumentError as e:  # a value ctypes cannot convert: the caller's mistake
        raise InvalidArgumentError(f"{who}: {shown_text(e)}") from e
    if status == 0:
        return 0
    if expect is not None and status == expect:
        drop_error(err)
        return status
    raise take_error(who, status, err)


def copy_bytes(ptr: Any, length: int) -> bytes:
    """Copies a library buffer into bytes and frees it at once (envector_bytes_free
    zeroes buffers that held secrets)."""
    try:
        return ctypes.string_at(ptr, length)
    finally:
        lib.envector_bytes_free(ptr)


def copy_string(ptr: Any) -> str:
    """Copies a library string into str and frees it at once."""
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.envector_string_free(ptr)


def in_buffer(data: Any, what: str) -> Tuple[Any, int, Any]:
    """(pointer, length, keep-alive) for bytes-like input the library only reads; no copy
    for bytes, bytearray or a writable memoryview."""
    if isinstance(data, bytes):
        keep: Any = data
        ptr = ctypes.cast(c_char_p(data), BytesP)
        return ptr, len(data), keep
    if isinstance(data, (bytearray, memoryview)):
        view = memoryview(data)
        if view.readonly or not view.contiguous or view.itemsize != 1:
            b = bytes(view)
            return ctypes.cast(c_char_p(b), BytesP), len(b), b
        n = view.nbytes
        if n == 0:
            return BytesP(), 0, None
        arr = (c_uint8 * n).from_buffer(view)
        return ctypes.cast(arr, BytesP), n, (arr, view)
    raise InvalidArgumentError(f"{what} must be bytes, bytearray or memoryview, not {type(data).__name__}")


def version() -> str:
    """The version of the loaded libenvector, as "MAJOR.MINOR.PATCH" (a static string in C)."""
    raw = lib.envector_version()
    return raw.decode("ascii") if raw else ""


# ---- handles -------------------------------------------------------------------------------


def _free_fallback(name: str, fn: Callable[[Any], int], ptr: Any) -> None:
    # A handle nobody closed, freed when its owner is collected (or at exit). Never in a
    # forked child: the call would hang there.
    if in_forked_child():
        return
    try:
        fn(ptr)
    except Exception:  # pragma: no cover - nothing to report to at collection time
        pass


_H = TypeVar("_H", bound="Handle")


class Handle:
    """The one owner of one library handle (a key set or a store).

    ``close()`` frees it and is idempotent; the object is a context manager; a
    ``weakref.finalize`` frees a handle nobody closed, only as a fallback. Using it after
    ``close()`` raises :class:`ClosedError`.
    """

    _free_name = ""
    _what = "handle"

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr
        self._lock = threading.Lock()
        free = getattr(lib, self._free_name)
        self._finalizer = weakref.finalize(self, _free_fallback, self._free_name, free, ptr)

    @property
    def closed(self) -> bool:
        """Whether close() was called."""
        return self._ptr is None

    def ptr(self, who: str) -> Any:
        """The handle, or ClosedError when closed."""
        p = self._ptr
        if p is None:
            raise ClosedError(f"{who}: the {self._what} is closed")
        return p

    def close(self) -> None:
        """Frees the handle (once no call on another thread uses it: the library waits).
        Idempotent."""
        with self._lock:
            p, self._ptr = self._ptr, None
        if p is None:
            return
        self._finalizer.detach()
        if in_forked_child():
            return  # the parent's handle; calling into Go here would hang
        getattr(lib, self._free_name)(p)

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
