"""Test helpers: the package of this checkout, KEK files, file trees, and moto (a local S3
and Secrets Manager) in server mode.

The suite imports envector_keys from bindings/python (this checkout) with the library
the checkout built (build/cmake/lib, `make lib`), unless ENVECTOR_LIB says otherwise.
test_package.py installs the package into a new virtual environment, as a user does.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List

import pytest

PKG = Path(__file__).resolve().parent.parent
ROOT = PKG.parent.parent
sys.path.insert(0, str(PKG))

import envector_keys as ek  # noqa: E402  (the tests import it from here)

#: A small, fast key set (enVector's preset ip0, eval mode rmp, dim 32: ~50 ms, a 4.7 MB
#: EvalKey), for every test where the defaults are not the point. The defaults (ip3, mm32,
#: dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey (~7 s to disk; in memory ~15 s
#: and ~5 GB): tests never generate them (test_local.py checks the defaults without doing so).
SMALL: Dict[str, object] = {"preset": "ip0", "eval_mode": "rmp", "dim_list": [32]}
#: SMALL as the library's options JSON (for the ctypes layer), without the braces.
SMALL_JSON = '"preset": "ip0", "eval_mode": "rmp", "dim_list": [32]'
#: SMALL as envector-keygen flags.
SMALL_CLI: List[str] = ["--preset", "ip0", "--eval_mode", "rmp", "--dim", "32"]


def tree(d: Path) -> List[str]:
    """Every file and directory under d, relative, sorted (to show nothing was written)."""
    if not d.exists():
        return []
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def kek_file(d: Path, form: str = "hex", name: str = "") -> Path:
    """A new random KEK file in the given form ('hex', 'base64' or 'raw'); its path."""
    import base64

    key = secrets.token_bytes(32)
    p = d / (name or f"kek-{form}")
    data = {"raw": key, "hex": key.hex().encode() + b"\n", "base64": base64.b64encode(key) + b"\n"}[form]
    p.write_bytes(data)
    p.chmod(0o600)
    return p


def child_env(**extra: str) -> Dict[str, str]:
    """The environment of a child Python that imports this checkout's package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PKG), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


# ---- moto ----------------------------------------------------------------------------------

MOTO_INSTALL = (
    "install it at the repository root with `make deps` (python3 -m venv build/venv && "
    "build/venv/bin/pip install 'moto[server]>=5.1.14'), or set MOTO_SERVER to the path of moto_server"
)


def find_moto() -> str:
    """$MOTO_SERVER, else <repo>/build/venv/bin/moto_server, else moto_server on PATH."""
    env = os.environ.get("MOTO_SERVER")
    if env:
        if os.access(env, os.X_OK) and os.path.isfile(env):
            return env
        pytest.fail(f"MOTO_SERVER={env} is not an executable file; {MOTO_INSTALL}", pytrace=False)
    p = ROOT / "build" / "venv" / "bin" / "moto_server"
    if p.is_file():
        return str(p)
    found = shutil.which("moto_server")
    if found:
        return found
    pytest.fail(f"moto_server not found (not in $MOTO_SERVER, build/venv/bin or PATH); {MOTO_INSTALL}", pytrace=False)
    raise AssertionError("unreachable")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, timeout: float = 5.0) -> int:
    req = urllib.request.Request(url, method=method, data=b"" if method in ("PUT", "POST") else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class Moto:
    """A moto_server on a loopback port; AWS_* variables of this process point at it."""

    region = "us-east-1"

    def __init__(self, url: str, proc: subprocess.Popen) -> None:
        self.url = url
        self.proc = proc

    def create_bucket(self, name: str) -> None:
        status = _http("PUT", f"{self.url}/{name}")
        assert status == 200, f"creating bucket {name}: HTTP {status}"

    def reset(self) -> None:
        status = _http("POST", f"{self.url}/moto-api/reset")
        assert status == 200, f"resetting moto: HTTP {status}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()



AWS_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL",
    "AWS_EC2_METADATA_DISABLED", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)

BUCKET = "envector-key-storage"


def start_moto() -> Moto:
    """Starts moto_server on a free loopback port (three tries) and points this process's
    AWS_* variables at it: dummy credentials, nothing from the user's AWS configuration."""
    binary = find_moto()
    last = ""
    for _ in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if _http("GET", f"{url}/moto-api/", timeout=1) < 500:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0] or b""
            last = f"{binary} did not answer on {url} (exit {proc.returncode}):\n{out.decode(errors='replace')[-4000:]}"
            continue
        if proc.poll() is not None:
            out = proc.communicate()[0] or b""
            last = f"{binary} exited ({proc.returncode}):\n{out.decode(errors='replace')[-4000:]}"
            continue
        os.environ.update({
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": Moto.region,
            "AWS_REGION": Moto.region,
            "AWS_ENDPOINT_URL": url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        })
        for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
            os.environ.pop(k, None)
        return Moto(url, proc)
    pytest.fail(last, pytrace=False)
    raise AssertionError("unreachable")


# ---- envector-keyserver ----------------------------------------------------------------------

KEYSERVER_BUILD = "run `make bin` at the repository root, or set ENVECTOR_KEYSERVER to the path of envector-keyserver"


def find_keyserver() -> str:
    """$ENVECTOR_KEYSERVER, else <repo>/bin/envector-keyserver (`make bin`)."""
    p = os.environ.get("ENVECTOR_KEYSERVER") or str(ROOT / "bin" / "envector-keyserver")
    if not (os.path.isfile(p) and os.access(p, os.X_OK)):
        pytest.fail(f"envector-keyserver not found at {p}; {KEYSERVER_BUILD}", pytrace=False)
    return p


class KeyServer:
    """The reference key server (envector-keyserver) over <d>/srv on a free loopback port
    (--listen 127.0.0.1:0: the address is read from its first line of output), with a
    bearer token in <d>/token; its log (stderr) goes to <d>/server.log."""

    def __init__(self, d: Path, token: str = "s3cret-t0ken_for.Python") -> None:
        d.mkdir(parents=True, exist_ok=True)
        self.dir = d / "srv"
        self.token = token
        self.token_file = d / "token"
        self.token_file.write_text(token + "\n")
        self.log_file = d / "server.log"
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(
                [find_keyserver(), "--listen", "127.0.0.1:0", "--dir", str(self.dir), "--token_file", str(self.token_file)],
                stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode(errors="replace")
        if " serving " not in line:
            self.stop()
            pytest.fail(f"envector-keyserver did not start: {line!r} {self.log()}", pytrace=False)
        #: grpc://127.0.0.1:PORT
        self.address = line.split(" serving ", 1)[1].split(" ", 1)[0]

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stored(self, key_id: str) -> int:
        """How many times the server stored an EvalKey under key_id (its log says so)."""
        return self.log().count(f'register_key "{key_id}": registered')

    def uploads(self, key_id: str) -> int:
        """How many register_key calls for key_id the server answered."""
        return self.log().count(f'register_key "{key_id}"')

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


__all__ = ["ek", "PKG", "ROOT", "SMALL", "SMALL_JSON", "SMALL_CLI", "tree", "kek_file", "child_env", "Moto", "find_moto", "start_moto", "AWS_VARS",
           "BUCKET", "MOTO_INSTALL", "KeyServer", "find_keyserver"]
