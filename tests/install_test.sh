#!/bin/sh
# The README's C lines, exactly (tests/readme/readme_blocks.py extracts the blocks marked
# by=install_test), against a temporary prefix: HOME is a temporary directory, so
# $HOME/.local is one.
#   1. c-install (in the checkout): make install PREFIX=$HOME/.local; what it installs;
#      a second make install rebuilds nothing.
#   2. c-pkg-config and c-cmake (with c-cmakelists as CMakeLists.txt) in a project outside
#      the tree, with tests/install_consumer/app.c; both programs run. Then the prefix is
#      moved: pkg-config and find_package still find it (both are relocatable).
#   3. Without GoogleTest: a scratch build directory configured with
#      -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON says so in one STATUS line; make lib builds
#      the library and the example there, make install installs, make ctest fails saying why.
# Run by `make installtest` (part of `make test`).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=$(cat "$root/VERSION")
py=${PYTHON:-python3}

block() { "$py" "$root/tests/readme/readme_blocks.py" extract "$1" > "$2"; }
fail() { echo "install_test: $*" >&2; exit 1; }
# Runs a script file in a directory, showing its output when it fails.
runin() {
  dir=$1 script=$2 log=$3
  (cd "$dir" && bash -euo pipefail "$script") > "$log" 2>&1 || { cat "$log" >&2; fail "$(basename "$script") failed in $dir"; }
}

# Go keeps its caches and settings where they are when HOME changes.
GOCACHE=$(go env GOCACHE) GOMODCACHE=$(go env GOMODCACHE) GOPATH=$(go env GOPATH) GOENV=$(go env GOENV)
export GOCACHE GOMODCACHE GOPATH GOENV
unset MAKEFLAGS MAKELEVEL MFLAGS
export HOME="$work/home"
mkdir -p "$HOME"
prefix=$HOME/.local

# ---- 1. make install PREFIX=$HOME/.local -------------------------------------------------
block c-install "$work/c-install.sh"
runin "$root" "$work/c-install.sh" "$work/install.log"
for f in "lib/libenvector.so.$version" lib/libenvector.so.0 lib/libenvector.so include/envector.h \
         lib/pkgconfig/envector.pc lib/cmake/envector/envectorConfig.cmake \
         lib/cmake/envector/envectorConfigVersion.cmake bin/envector-keygen share/doc/envector/LICENSE; do
  test -e "$prefix/$f" || { cat "$work/install.log" >&2; fail "make install did not install $f"; }
done
test "$(readlink "$prefix/lib/libenvector.so.0")" = "libenvector.so.$version" || fail "libenvector.so.0 is not a link to libenvector.so.$version"
test "$(readlink "$prefix/lib/libenvector.so")" = libenvector.so.0 || fail "libenvector.so is not a link to libenvector.so.0"
if find "$prefix" -name '*.h' ! -name envector.h | grep -q .; then fail "another header (cgo's?) was installed"; fi
test "$("$prefix/bin/envector-keygen" --version)" = "envector-keygen $version" || fail "bin/envector-keygen --version is not $version"
# Up to date: the second time nothing is built.
runin "$root" "$work/c-install.sh" "$work/install2.log"
grep -q "ninja: no work to do" "$work/install2.log" || { cat "$work/install2.log" >&2; fail "a second make install rebuilt something"; }
echo "install_test: make install PREFIX=\$HOME/.local: ok"

# ---- 2. the README's pkg-config and CMake lines, in a project of its own ----------------
app=$work/app
mkdir "$app"
cp "$root/tests/install_consumer/app.c" "$app/"
block c-cmakelists "$app/CMakeLists.txt"
block c-pkg-config "$work/c-pkg-config.sh"
block c-cmake "$work/c-cmake.sh"
runin "$app" "$work/c-pkg-config.sh" "$work/pc.log"
grep -q "^app: libenvector $version works$" "$work/pc.log" || { cat "$work/pc.log" >&2; fail "the pkg-config build did not run"; }
readelf -d "$app/app" | grep -q "R.*PATH.*\[$prefix/lib\]" || fail "the pkg-config build has no rpath $prefix/lib"
runin "$app" "$work/c-cmake.sh" "$work/cmake.log"
grep -q "^app: libenvector $version works$" "$work/cmake.log" || { cat "$work/cmake.log" >&2; fail "the CMake build did not run"; }
echo "install_test: README's pkg-config and find_package lines: ok"

# The prefix moved: envector.pc and the CMake package find it from their own place.
mv "$prefix" "$work/moved"
moved=$work/moved
test "$(PKG_CONFIG_PATH=$moved/lib/pkgconfig pkg-config --variable=libdir envector)" -ef "$moved/lib" || fail "envector.pc does not follow a moved prefix"
test "$(PKG_CONFIG_PATH=$moved/lib/pkgconfig pkg-config --modversion envector)" = "$version" || fail "pkg-config --modversion is not $version"
cmake -S "$app" -B "$work/app-moved" -DCMAKE_PREFIX_PATH="$moved" > "$work/moved.log" 2>&1 &&
  cmake --build "$work/app-moved" >> "$work/moved.log" 2>&1 || { cat "$work/moved.log" >&2; fail "find_package from a moved prefix"; }
"$work/app-moved/app" | grep -q "^app: libenvector $version works$" || fail "the program built against the moved prefix"
echo "install_test: a moved prefix (pkg-config, find_package): ok"

# ---- 3. without GoogleTest ---------------------------------------------------------------
nogt=$work/nogtest
cmake -S "$root" -B "$nogt" -G Ninja -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON \
  > "$work/nogt.log" 2>&1 || { cat "$work/nogt.log" >&2; fail "configure without GoogleTest failed"; }
test "$(grep -c '^-- GoogleTest not found: the C/C++ tests are not built' "$work/nogt.log")" -eq 1 ||
  { cat "$work/nogt.log" >&2; fail "configure without GoogleTest: no (or more than one) STATUS line saying the tests are not built"; }
make -C "$root" --no-print-directory lib CMAKE_DIR="$nogt" > "$work/nogt-lib.log" 2>&1 || { cat "$work/nogt-lib.log" >&2; fail "make lib without GoogleTest"; }
test -x "$nogt/examples/keygen_sealed" && test -e "$nogt/lib/libenvector.so.0" || fail "make lib without GoogleTest: no library or example"
if make -C "$root" --no-print-directory ctest CMAKE_DIR="$nogt" > "$work/nogt-ctest.log" 2>&1; then
  cat "$work/nogt-ctest.log" >&2; fail "make ctest passed in a build without tests"
fi
grep -q "make ctest: the C/C++ tests were not built in $nogt: CMake found no GoogleTest" "$work/nogt-ctest.log" ||
  { cat "$work/nogt-ctest.log" >&2; fail "make ctest without tests: not the message saying why"; }
make -C "$root" --no-print-directory install CMAKE_DIR="$nogt" PREFIX="$work/p2" > "$work/nogt-install.log" 2>&1 ||
  { cat "$work/nogt-install.log" >&2; fail "make install without GoogleTest"; }
test -x "$work/p2/bin/envector-keygen" && test -e "$work/p2/lib/libenvector.so.$version" || fail "make install without GoogleTest: files missing"
echo "install_test: without GoogleTest: configure, make lib, make install: ok; make ctest fails saying why: ok"
echo "install_test: ok"
