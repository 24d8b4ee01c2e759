"""Many threads using the binding at once: ctypes releases the GIL during each call, and
the library is thread-safe."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from helpers import SMALL, SMALL_CLI, child_env, ek, kek_file


def test_eight_threads_generate_save_load_and_verify_at_once(tmp_path: Path) -> None:
    shared = ek.KeyManager(key_path=tmp_path)
    barrier = threading.Barrier(8)

    def work(i: int) -> str:
        barrier.wait()
        kid = f"t{i}"
        if i % 2:
            # Another small set than SMALL: ip3 with rmp, two dims.
            keys = ek.KeyGenerator(key_id=kid, preset="ip3", eval_mode="rmp", dim_list=[32, 64]).generate_keys_stream()
            shared.save(keys, key_id=kid)
        else:
            ek.KeyGenerator(key_path=tmp_path, key_id=kid, **SMALL).generate_keys()
        with ek.KeyManager(key_path=tmp_path, key_id=kid) as own:
            loaded = own.load()
            assert own.verify() is True
        assert shared.load(key_id=kid) == loaded
        assert shared.verify_key_id(kid)
        return json.loads(loaded["sec_blob"])["entries"][0]["hash"]["value"]

    with shared, ThreadPoolExecutor(8) as pool:
        hashes = list(pool.map(work, range(8)))
        assert len(set(hashes)) == 8, "every key set has its own SecKey"
        assert shared.list_keys() == sorted(f"t{i}" for i in range(8))
        assert all(pool.map(lambda i: shared.verify(key_id=f"t{i}"), range(8)))


def test_one_key_manager_closed_while_other_threads_use_it(tmp_path: Path) -> None:
    ek.KeyGenerator(key_path=tmp_path, key_id="k", **SMALL).generate_keys()
    km = ek.KeyManager(key_path=tmp_path, key_id="k").open()
    outcomes = []
    start = threading.Barrier(5)

    def use() -> None:
        start.wait()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the KeyManager is closed
            try:
                km.load(roles=["EncKey"])
                outcomes.append("ok")
            except ek.ClosedError:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    start.wait()
    km.close()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert set(outcomes) <= {"ok", "closed"}
    assert outcomes.count("closed") == 4, "each thread meets the closed KeyManager (ClosedError, nothing else)"


def test_calls_release_the_gil(tmp_path: Path) -> None:
    # A thread blocks inside the library (the console script reading the KEK from standard
    # input, a pipe) while the main thread writes the KEK into that pipe: if the GIL were
    # held during the call, the main thread could not run and this would deadlock.
    kek = kek_file(tmp_path)
    script = f"""
import os, sys, threading
r, w = os.pipe()
os.dup2(r, 0)
os.close(r)
from envector_keys._cli import main
status = []
t = threading.Thread(target=lambda: status.append(main(['--key_path', {str(tmp_path / 'keys')!r}, '--key_id', 'g',
    *{SMALL_CLI!r}, '--seal_mode', 'aes', '--seal_key_stdin', '--quiet'])))
t.start()
t.join(0.5)
assert t.is_alive(), 'the library call should be waiting for standard input'
os.write(w, open({str(kek)!r}, 'rb').read())
os.close(w)
t.join(60)
print('status', status)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, env=child_env(), timeout=90)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().strip() == "status [0]"
    with ek.KeyManager(key_path=tmp_path / "keys", key_id="g") as km:
        assert km.verify(seal_kek_path=kek) is True
