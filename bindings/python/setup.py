"""The one build step pyproject.toml does not describe: libenvector.so.0 into the package.

`pip install bindings/python` runs it (build_py) and puts the library at
envector_keys/_lib/libenvector.so.0 of the wheel, which is platform-specific
(py3-none-<platform>). Where the library comes from:

- $ENVECTOR_LIB set: that file (or libenvector.so.0 in that directory) is copied; it
  must exist.
- otherwise, from the envector-keys checkout (the directory holding go.mod, found by
  walking up from this file, or $ENVECTOR_SOURCE_ROOT, or the path an sdist recorded):
  * build/cmake configured (`make lib` ran) and cmake present: that build is brought up
    to date (`cmake --build build/cmake --target envector_go`, a no-op when it is) and
    its library copied;
  * otherwise `go build -buildmode=c-shared ./capi` with the flags of CMakeLists.txt
    (-trimpath, SONAME libenvector.so.<major>, version script capi/envector.map).

The wheel's platform tag is manylinux_<X>_<Y>_<arch>, where glibc X.Y is the highest
GLIBC_X.Y symbol version the bundled library needs (`readelf -V`, binutils, which the
C toolchain that builds it brings): the wheel installs on any Linux with that glibc or
newer. Without readelf it is the plain linux_<arch> tag, for this machine only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 (with --no-build-isolation)
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
SONAME = "libenvector.so.0"
MODULE_LINE = "module github.com/envector-keys/envector-keys"
ROOT_RECORD = ".envector-source-root"  # written into an sdist: the checkout it came from


class BuildError(SystemExit):
    def __init__(self, msg: str) -> None:
        super().__init__(f"envector-keys build: {msg}")


def log(msg: str) -> None:
    print(f"envector-keys build: {msg}", file=sys.stderr, flush=True)


def is_checkout(d: Path) -> bool:
    try:
        gomod = (d / "go.mod").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.strip() == MODULE_LINE for line in gomod.splitlines()) and (d / "capi").is_dir()


def source_root() -> Path:
    """The envector-keys checkout to build the library from."""
    env = os.environ.get("ENVECTOR_SOURCE_ROOT")
    if env:
        p = Path(env).resolve()
        if not is_checkout(p):
            raise BuildError(f"ENVECTOR_SOURCE_ROOT={env} is not an envector-keys checkout (no go.mod naming the module, or no capi/)")
        return p
    for d in [HERE, *HERE.parents]:
        if is_checkout(d):
            return d
    record = HERE / ROOT_RECORD
    if record.is_file():
        p = Path(record.read_text(encoding="utf-8").strip())
        if is_checkout(p):
            return p
    raise BuildError(
        f"cannot find the envector-keys checkout (the directory holding go.mod) above {HERE}. "
        "Install from the checkout (`pip install bindings/python`), or set ENVECTOR_SOURCE_ROOT to the "
        "checkout, or ENVECTOR_LIB to a built libenvector.so.0."
    )


def soname(root: Path) -> str:
    header = (root / "include" / "envector.h").read_text(encoding="utf-8")
    m = re.search(r"^#define ENVECTOR_VERSION_MAJOR (\d+)", header, re.M)
    if not m:
        raise BuildError("include/envector.h has no ENVECTOR_VERSION_MAJOR")
    return f"libenvector.so.{m.group(1)}"


def run(cmd: list, cwd: Path, env: dict | None = None) -> None:
    log(" ".join(cmd))
    try:
        r = subprocess.run(cmd, cwd=str(cwd), env=env)
    except FileNotFoundError:
        raise BuildError(f"`{cmd[0]}` was not found") from None
    if r.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed with status {r.returncode}; see the messages above")


def copy_lib(src: Path, dest_dir: Path) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / SONAME
    if dest.exists() or dest.is_symlink():
        dest.unlink()
    shutil.copyfile(src.resolve(), dest)  # the file itself, not a symbolic link
    os.chmod(dest, 0o755)
    log(f"libenvector: {src.resolve()} -> {dest}")


def go_build(root: Path, dest_dir: Path) -> None:
    go = os.environ.get("GO", "go")
    if shutil.which(go) is None:
        raise BuildError(
            f"`{go}` was not found, and it is needed to build libenvector from {root}. Install Go 1.22 or "
            "later (https://go.dev/dl/), or run `make lib` in the checkout, or set ENVECTOR_LIB to an "
            "existing libenvector.so.0."
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / SONAME
    extld = f"-Wl,-soname,{soname(root)} -Wl,--version-script={root / 'capi' / 'envector.map'}"
    env = dict(os.environ, CGO_ENABLED="1")
    run([go, "build", "-buildmode=c-shared", "-trimpath", f"-ldflags=-extldflags '{extld}'", "-o", str(out), "./capi"],
        root, env)
    for h in dest_dir.glob("*.h"):  # cgo's own header: not needed
        h.unlink()
    os.chmod(out, 0o755)


def build_library(dest_dir: Path) -> None:
    lib = os.environ.get("ENVECTOR_LIB")
    if lib:
        p = Path(lib)
        if p.is_dir():
            p = p / SONAME
        if not p.is_file():
            raise BuildError(f"ENVECTOR_LIB={lib} is not a library file (looked for {p})")
        copy_lib(p, dest_dir)
        return
    root = source_root()
    cmake_dir = root / "build" / "cmake"
    configured = (cmake_dir / "build.ninja").is_file() or (cmake_dir / "Makefile").is_file()
    if configured and shutil.which("cmake"):
        run(["cmake", "--build", str(cmake_dir), "--target", "envector_go"], root)
        copy_lib(cmake_dir / "lib" / SONAME, dest_dir)
    else:
        go_build(root, dest_dir)


class BuildPyWithLibrary(build_py):
    """build_py, then libenvector.so.0 into <build_lib>/envector_keys/_lib."""

    def run(self) -> None:
        super().run()
        if not self.dry_run and not getattr(self, "editable_mode", False):
            build_library(Path(self.build_lib).resolve() / "envector_keys" / "_lib")


class BinaryDistribution(Distribution):
    """The package carries a native library: installed as platform-specific (platlib)."""

    def has_ext_modules(self) -> bool:
        return True


def glibc_needed(lib: Path) -> "tuple[int, int] | None":
    """The highest GLIBC_X.Y symbol version lib needs (its .gnu.version_r entries), from
    `readelf -V`; None when readelf is missing. Raises when lib needs no glibc version."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return None
    r = subprocess.run([readelf, "-V", "--wide", str(lib)], capture_output=True, text=True)
    if r.returncode != 0:
        raise BuildError(f"readelf -V {lib} failed: {r.stderr.strip()}")
    needs = r.stdout.split("Version needs section", 1)
    found = re.findall(r"Name: GLIBC_(\d+)\.(\d+)(?:\.\d+)?\b", needs[1]) if len(needs) == 2 else []
    if not found:
        raise BuildError(f"{lib} needs no GLIBC_ symbol version according to readelf -V; is it a libc-linked library?")
    return max((int(a), int(b)) for a, b in found)


class PlatformWheel(bdist_wheel):
    """The wheel carries a native library: platform-specific, for any Python 3 (the
    library is loaded with ctypes, so no Python ABI is involved), tagged
    manylinux_<glibc>_<arch> from what the library needs."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, plat = super().get_tag()
        if plat.startswith("linux_"):
            arch = plat[len("linux_"):]
            lib = Path(self.get_finalized_command("build_py").build_lib) / "envector_keys" / "_lib" / SONAME
            if lib.is_file():
                need = glibc_needed(lib)
                if need is None:
                    log(f"readelf not found: the wheel is tagged {plat} (this machine only), not manylinux")
                else:
                    plat = f"manylinux_{need[0]}_{need[1]}_{arch}"
        return "py3", "none", plat


class SdistWithRoot(sdist):
    """An sdist records the checkout it came from, so that a wheel built from it (in a
    temporary directory) still finds go.mod and capi/."""

    def make_release_tree(self, base_dir, files):  # type: ignore[no-untyped-def]
        super().make_release_tree(base_dir, files)
        try:
            root = source_root()
        except SystemExit:
            return
        Path(base_dir, ROOT_RECORD).write_text(str(root) + "\n", encoding="utf-8")


setup(distclass=BinaryDistribution, cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel, "sdist": SdistWithRoot})
