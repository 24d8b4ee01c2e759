"""The envector-keygen console script of the Python package: the envector-keygen
command line, run by the library (envector_cli_main): the same flags, output and exit
statuses, not a second implementation. (It is not called pyenvector-keygen: enVector's
own SDK, pyenvector, installs a script of that name, and in one environment one would
overwrite the other.)"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Runs envector-keygen with argv (default sys.argv[1:]) and returns its exit status,
    the command line's:

    - 0: success;
    - 1: failure (any other error);
    - 2: usage error (an unknown flag or command, a flag value not accepted);
    - 3: the key set is not active (preparing, deactivated or destroyed) or has expired;
    - 4: not found (a key set, key file, store directory, bucket, object, secret or
      server key);
    - 5: authentication failed: a wrong KEK or altered sealed data (or metadata token),
      or AWS (or the server) refused the credentials (or token);
    - 6: already exists (keys are never overwritten).

    The library reads standard input (for --seal_key_stdin) and writes standard output
    and error itself."""
    from . import _native as n

    args = sys.argv[1:] if argv is None else list(argv)
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "envector-keygen"
    if prog in ("__main__.py", "-c", "-m"):
        prog = "envector-keygen"
    n.check_process("envector-keygen")
    encoded = [os.fsencode(a) for a in [prog, *args]]
    arr = (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)
    # Python's buffered output first, so that it comes before the library's.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    return int(n.lib.envector_cli_main(len(encoded), arr))


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
