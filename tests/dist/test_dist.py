"""The release files of `make dist`, as a user gets them: each installed or extracted in a
new place with Go off PATH, then used. Run by `make disttest` (after `make dist`)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import DIST, MEASURED, ROOT, SMALL_CLI, VERSION, glibc_needed, one, run, timed, user_env

ARCH = "x86_64"
WHEEL = f"envector_keys-{VERSION}-py3-none-manylinux_*_{ARCH}.whl"
TARBALL = f"envector-keys-{VERSION}.tgz"
CLI = f"envector-keygen-{VERSION}-linux-{ARCH}"
CLIB = f"libenvector-{VERSION}-linux-{ARCH}"
CMAKE_LIB = ROOT / "build" / "cmake" / "lib" / "libenvector.so.0"


def wheel_tag(wheel: Path) -> str:
    m = re.fullmatch(rf"envector_keys-{re.escape(VERSION)}-py3-none-(manylinux_(\d+)_(\d+)_{ARCH})\.whl", wheel.name)
    assert m, f"{wheel.name}: not envector_keys-{VERSION}-py3-none-manylinux_X_Y_{ARCH}.whl"
    return m.group(1)


def test_sha256sums_names_every_release_file_and_sha256sum_checks_them() -> None:
    sums = (DIST / "SHA256SUMS").read_text(encoding="ascii")
    lines = sums.splitlines()
    listed = {}
    for ln in lines:
        m = re.fullmatch(r"([0-9a-f]{64})  (\S+)", ln)
        assert m, f"SHA256SUMS: {ln!r} is not a sha256sum line"
        listed[m.group(2)] = m.group(1)
    expected = {one(WHEEL).name, TARBALL, f"{CLI}.tar.gz", f"{CLIB}.tar.gz"}
    assert set(listed) == expected
    assert sorted(p.name for p in DIST.iterdir()) == sorted(expected | {"SHA256SUMS"}), "dist/ holds other files"
    for name, digest in listed.items():
        assert hashlib.sha256((DIST / name).read_bytes()).hexdigest() == digest, name
    r = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=DIST, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": OK\n") == 4, r.stdout
    for p in sorted(DIST.iterdir()):
        if p.name != "SHA256SUMS":
            MEASURED.append(f"{p.name}: {p.stat().st_size / 1e6:.1f} MB")


def stripped_cmake_lib(tmp_path: Path) -> bytes:
    """build/cmake's library as make dist ships it: strip --strip-debug (symbols kept)."""
    out = tmp_path / "stripped.so"
    subprocess.run(["strip", "--strip-debug", "-o", str(out), str(CMAKE_LIB)], check=True)
    return out.read_bytes()


def test_the_wheel_is_tagged_for_the_glibc_its_library_needs_and_auditwheel_agrees(tmp_path: Path) -> None:
    wheel = one(WHEEL)
    tag = wheel_tag(wheel)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert "envector_keys/_lib/libenvector.so.0" in names
        assert f"envector_keys-{VERSION}.dist-info/licenses/LICENSE" in names or f"envector_keys-{VERSION}.dist-info/LICENSE" in names, names
        meta = z.read(f"envector_keys-{VERSION}.dist-info/WHEEL").decode()
        z.extract("envector_keys/_lib/libenvector.so.0", tmp_path)
    lib = tmp_path / "envector_keys" / "_lib" / "libenvector.so.0"
    # The library of the CMake build without its debug information (the C archive and the
    # npm package hold the same), needing that glibc.
    assert lib.read_bytes() == stripped_cmake_lib(tmp_path), "the wheel's library is not build/cmake's, stripped of debug information"
    sections = subprocess.run(["readelf", "-S", "--wide", str(lib)], check=True, capture_output=True, text=True).stdout
    assert ".debug_" not in sections and ".gopclntab" in sections and ".dynsym" in sections, sections
    need = glibc_needed(lib)
    assert tag == f"manylinux_{need.replace('.', '_')}_{ARCH}", f"{wheel.name}: the library needs GLIBC_{need}"
    assert f"Tag: py3-none-{tag}\n" in meta and "Root-Is-Purelib: false" in meta, meta
    # auditwheel (PyPA's checker) reads the ELF files itself.
    r = subprocess.run([str(Path(sys.executable).parent / "auditwheel"), "show", str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    said = " ".join(r.stdout.split())
    assert f'is consistent with the following platform tag: "{tag}"' in said, r.stdout
    assert "libc.so.6" in said and f"GLIBC_{need}" in said, r.stdout
    MEASURED.append(f"wheel tag: {tag} (library needs GLIBC_{need}; auditwheel agrees)")


def test_the_wheel_installs_without_go_then_makes_and_verifies_keys(tmp_path: Path, nogo_path: str) -> None:
    wheel = one(WHEEL)
    env = user_env(nogo_path)
    run([sys.executable, "-m", "venv", str(tmp_path / "venv")], tmp_path, env)
    py = str(tmp_path / "venv" / "bin" / "python")
    out = timed("pip install of the wheel into a new venv, go off PATH", [py, "-m", "pip", "install", "--no-index", str(wheel)],
                tmp_path, env)
    assert f"Successfully installed envector-keys-{VERSION}" in out, out
    work = tmp_path / "work"
    work.mkdir()
    script = f"""
import shutil, sys
assert shutil.which("go") is None, shutil.which("go")
import envector_keys as ek
assert ek.__version__ == {VERSION!r}, ek.__version__
assert ek.library_version() == {VERSION!r}, ek.library_version()
assert ek.library_from == "the package (envector_keys/_lib)", ek.library_from
assert ek.library_path.startswith(sys.prefix), (ek.library_path, sys.prefix)
ek.KeyGenerator(key_path="keys", key_id="small", preset="ip0", eval_mode="rmp", dim_list=[32]).generate_keys()
with ek.KeyManager(key_path="keys", key_id="small") as km:
    km.verify()
    print("verified", km.list_keys())
"""
    assert run([py, "-c", script], work, env).strip() == "verified ['small']"
    cli = str(tmp_path / "venv" / "bin" / "envector-keygen")
    assert run([cli, "--version"], work, env) == f"envector-keygen {VERSION}\n"
    assert 'Key set "cli" written to keys/cli' in run([cli, "--key_path", "keys", "--key_id", "cli", *SMALL_CLI], work, env)
    assert 'Key set "cli" in keys/cli verified' in run([cli, "verify", "--key_path", "keys", "--key_id", "cli"], work, env)


NODE_CHECK_CJS = r"""
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ek = require('envector-keys');
assert.equal(ek.libraryVersion(), process.argv[2]);
assert.equal(fs.realpathSync(ek.libraryPath), fs.realpathSync(path.join('node_modules', 'envector-keys', 'native', 'libenvector.so.0')));
(async () => {
  await new ek.KeyGenerator({ keyPath: 'keys', keyId: 'cjs', preset: 'ip0', evalMode: 'rmp', dimList: [32] }).generateKeys();
  const km = new ek.KeyManager({ keyPath: 'keys', keyId: 'cjs' });
  try {
    const keys = await km.load();
    assert.deepEqual(Object.keys(keys).sort(), ['encBlob', 'evalBlob', 'metadataBlob', 'secBlob']);
    await km.verify();
  } finally {
    km.close();
  }
  console.log('cjs ok');
})().catch((e) => { console.error(e); process.exitCode = 1; });
"""

NODE_CHECK_ESM = r"""
import assert from 'node:assert/strict';
import { KeyGenerator, KeyManager, NotFoundError } from 'envector-keys';
await new KeyGenerator({ keyPath: 'keys', keyId: 'esm', preset: 'ip0', evalMode: 'rmp', dimList: [32] }).generateKeys();
const km = new KeyManager({ keyPath: 'keys', keyId: 'esm' });
try {
  const keys = await km.load();
  assert.ok(keys.evalBlob.length > 0 && keys.secBlob.length > 0);
  await assert.rejects(km.load({ keyId: 'no-such-set' }), NotFoundError);
} finally {
  km.close();
}
console.log('esm ok');
"""


def test_the_npm_tarball_installs_without_go_or_a_build_then_require_and_import_work(tmp_path: Path, nogo_path: str) -> None:
    tarball = DIST / TARBALL
    with tarfile.open(tarball) as t:
        names = t.getnames()
        pkg = json.load(t.extractfile("package/package.json"))  # type: ignore[arg-type]
        native = t.extractfile("package/native/libenvector.so.0")
        assert native is not None, names
        assert native.read() == stripped_cmake_lib(tmp_path), "the npm package's library is not the one make dist ships"
    assert "package/LICENSE" in names, names
    assert pkg["version"] == VERSION
    env = user_env(nogo_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "private": True}))
    out = timed("npm install of the tarball into a new project, go off PATH",
                ["npm", "install", "--prefer-offline", "--foreground-scripts", str(tarball)], project, env)
    # The install script found the bundled library and loaded it: nothing built.
    assert re.search(rf"envector-keys install: libenvector {re.escape(VERSION)} from \S+/node_modules/envector-keys/native/libenvector\.so\.0", out), out
    for built in ("go build", "cmake --build", "gyp", "not in a checkout"):
        assert built not in out, f"{built!r} during npm install:\n{out}"
    check = 'const {execSync}=require("node:child_process"); try { execSync("command -v go"); process.exit(1) } catch { }'
    run(["node", "-e", check], project, env)  # go is off PATH for node too
    (project / "check.cjs").write_text(NODE_CHECK_CJS)
    (project / "check.mjs").write_text(NODE_CHECK_ESM)
    assert run(["node", "check.cjs", VERSION], project, env).strip() == "cjs ok"
    assert run(["node", "check.mjs"], project, env).strip() == "esm ok"


def test_the_cli_archive_holds_a_static_binary_that_runs(tmp_path: Path, nogo_path: str) -> None:
    archive = DIST / f"{CLI}.tar.gz"
    with tarfile.open(archive) as t:
        members = {m.name: m for m in t.getmembers()}
        assert sorted(members) == [CLI, f"{CLI}/LICENSE", f"{CLI}/README.md", f"{CLI}/envector-keygen"]
        assert all(m.uid == 0 and m.gid == 0 for m in members.values())
        assert members[f"{CLI}/envector-keygen"].mode & 0o111 == 0o111
        t.extractall(tmp_path)
    binary = tmp_path / CLI / "envector-keygen"
    kind = run(["file", "-b", str(binary)], tmp_path, user_env())
    assert "statically linked" in kind, kind
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    assert "not a dynamic executable" in ldd.stdout + ldd.stderr, ldd
    assert f"envector-keygen {VERSION}" in (tmp_path / CLI / "README.md").read_text()
    assert (tmp_path / CLI / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    env = user_env(nogo_path)
    assert run([str(binary), "--version"], tmp_path, env) == f"envector-keygen {VERSION}\n"
    assert 'Key set "small" written to keys/small' in run([str(binary), "--key_path", "keys", "--key_id", "small", *SMALL_CLI], tmp_path, env)
    assert 'Key set "small" in keys/small verified' in run([str(binary), "verify", "--key_path", "keys", "--key_id", "small"], tmp_path, env)


def test_the_c_library_archive_is_the_install_tree_and_a_program_builds_against_it(tmp_path: Path) -> None:
    archive = DIST / f"{CLIB}.tar.gz"
    with tarfile.open(archive) as t:
        members = {m.name[len(CLIB) + 1:]: m for m in t.getmembers() if m.name != CLIB}
        t.extractall(tmp_path)
    files = {n for n, m in members.items() if not m.isdir()}
    assert files == {
        "share/doc/envector/LICENSE", "include/envector.h", f"lib/libenvector.so.{VERSION}", "lib/libenvector.so.0", "lib/libenvector.so",
        "lib/pkgconfig/envector.pc", "lib/cmake/envector/envectorConfig.cmake", "lib/cmake/envector/envectorConfigVersion.cmake",
    }, files
    assert members["lib/libenvector.so.0"].issym() and members["lib/libenvector.so.0"].linkname == f"libenvector.so.{VERSION}"
    assert members["lib/libenvector.so"].issym() and members["lib/libenvector.so"].linkname == "libenvector.so.0"
    prefix = tmp_path / CLIB
    assert (prefix / "lib" / f"libenvector.so.{VERSION}").read_bytes() == stripped_cmake_lib(tmp_path)
    soname = run(["readelf", "-d", str(prefix / "lib" / "libenvector.so.0")], tmp_path, user_env())
    assert "Library soname: [libenvector.so.0]" in soname
    # Anywhere it is extracted: envector.pc finds its prefix from its own place.
    env = dict(user_env(), PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    assert run(["pkg-config", "--modversion", "envector"], tmp_path, env).strip() == VERSION
    flags = run(["pkg-config", "--cflags", "--libs", "envector"], tmp_path, env).split()
    app = tmp_path / "app"
    run(["cc", "-Wall", "-Werror", "-o", str(app), str(ROOT / "tests" / "install_consumer" / "app.c"), *flags,
         f"-Wl,-rpath,{prefix / 'lib'}"], tmp_path, env)
    assert f"libenvector {VERSION} works" in run([str(app)], tmp_path, env)


def test_packing_again_gives_the_same_bytes(tmp_path: Path) -> None:
    """make dist into another directory gives the same files byte for byte (archive times
    from SOURCE_DATE_EPOCH, sorted entries, fixed owners, gzip -n), so the same SHA256SUMS.
    (The library and the CLI are not compiled again: ninja finds them up to date.)"""
    again = tmp_path / "dist"
    env = {k: v for k, v in user_env().items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    timed("make dist again (nothing to compile)", ["make", "--no-print-directory", "dist", f"DIST={again}"], ROOT, env)
    assert (again / "SHA256SUMS").read_text() == (DIST / "SHA256SUMS").read_text()
