"""Fork safety: the Go runtime inside libenvector does not survive fork() without exec(),
so a call from a forked child would hang. The binding detects the child and raises
ForkedProcessError at once, naming the fix; the spawn start method works; a child whose
parent never loaded the library loads it fresh."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Tuple

import pytest

from helpers import SMALL, child_env, ek

TIMEOUT = 60


def child_generate(q: Any) -> None:
    try:
        keys = ek.KeyGenerator(key_id="child", **SMALL).generate_keys_stream()
        q.put(("ok", len(keys["eval_blob"])))
    except BaseException as e:  # report whatever happens
        q.put((type(e).__name__, str(e)))


def child_inherited_manager(q: Any, km: ek.KeyManager) -> None:
    out = []
    try:
        km.list_keys()
        out.append("list_keys: no error")
    except ek.ForkedProcessError as e:
        out.append(f"list_keys: {type(e).__name__}")
    km.close()  # the parent's handle: closing it here must neither call into Go nor hang
    out.append(f"closed {km.closed}")
    q.put(out)


def run_child(method: str, target: Any, *args: Any) -> Tuple[Any, float]:
    ctx = mp.get_context(method)
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(q, *args))
    t0 = time.monotonic()
    p.start()
    try:
        result = q.get(timeout=TIMEOUT)
    finally:
        p.join(TIMEOUT)
        if p.is_alive():
            p.kill()
            pytest.fail(f"the {method} child did not finish in {TIMEOUT} s (hung in the library?)")
    assert p.exitcode == 0
    return result, time.monotonic() - t0


def test_a_forked_child_gets_forked_process_error_promptly() -> None:
    assert ek.library_version()  # the library is loaded in this (parent) process
    (kind, message), took = run_child("fork", child_generate)
    assert kind == "ForkedProcessError", message
    assert "fork" in message and "'spawn'" in message and "'forkserver'" in message
    assert took < 30
    # The parent is unaffected.
    assert ek.KeyGenerator(key_id="parent", **SMALL).generate_keys_stream()["sec_blob"]


def test_a_forked_child_cannot_use_an_inherited_key_manager_and_closes_it_quietly(tmp_path: Path) -> None:
    with ek.KeyManager(key_path=tmp_path).open() as km:
        out, _ = run_child("fork", child_inherited_manager, km)
        assert out == ["list_keys: ForkedProcessError", "closed True"]
        assert km.list_keys() == [], "the parent's handle is still good"


def test_the_spawn_start_method_works() -> None:
    (kind, size), _ = run_child("spawn", child_generate)
    assert kind == "ok", size
    assert size > 100_000


def test_os_fork_child_raises_and_the_error_is_an_envector_error() -> None:
    ek.library_version()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once, without Python's cleanup
        try:
            os.close(r)
            try:
                ek.KeyManager(key_path="/nonexistent").list_keys()
                msg = b"no error"
            except ek.EnvectorError as e:
                msg = f"{type(e).__name__} {isinstance(e, ek.ForkedProcessError)} {e.code}".encode()
            os.write(w, msg)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert got == b"ForkedProcessError True ENVECTOR_ERR_INVALID_ARGUMENT"


def test_a_child_forked_before_the_library_was_loaded_may_load_it() -> None:
    script = f"SMALL = {SMALL!r}\n" + textwrap.dedent("""
        import os, sys
        assert "envector_keys" not in sys.modules
        pid = os.fork()
        if pid == 0:
            import envector_keys as ek
            keys = ek.KeyGenerator(key_id="fresh", **SMALL).generate_keys_stream()
            os._exit(0 if keys["sec_blob"] else 3)
        _, status = os.waitpid(pid, 0)
        print("child status", os.waitstatus_to_exitcode(status))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, env=child_env(), timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().strip() == "child status 0"
