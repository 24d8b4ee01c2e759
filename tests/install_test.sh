#!/bin/sh
# Installs the build tree to a temp prefix (cmake --install), checks what is there, then
# builds tests/install_consumer outside the source tree twice, against that prefix
# only: with find_package(envector) and with `pkg-config --cflags --libs envector`.
# Runs both programs.
set -eu
build=$1 consumer=$2 cmake=$3 cc=$4 generator=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

"$cmake" --install "$build" --prefix "$prefix" > "$work/install.log"
libdir=$(cd "$prefix" && ls -d lib lib64 lib/*-linux-gnu 2>/dev/null | while read d; do
  [ -e "$prefix/$d/libenvector.so" ] && echo "$d"; done | head -n 1)
test -n "$libdir" || { echo "no libenvector.so under $prefix" >&2; cat "$work/install.log" >&2; exit 1; }
for f in "$libdir/libenvector.so" "$libdir/libenvector.so.0" include/envector.h \
         "$libdir/pkgconfig/envector.pc" "$libdir/cmake/envector/envectorConfig.cmake" \
         "$libdir/cmake/envector/envectorConfigVersion.cmake"; do
  test -e "$prefix/$f" || { echo "not installed: $f" >&2; exit 1; }
done
test -L "$prefix/$libdir/libenvector.so" && test -L "$prefix/$libdir/libenvector.so.0"
if find "$prefix" -name '*.so.*.h' | grep -q .; then echo "cgo's header was installed" >&2; exit 1; fi

# Outside the source tree: a copy of the consumer project.
cp -r "$consumer" "$work/src"

# 1. CMake: find_package(envector) from the prefix.
"$cmake" -S "$work/src" -B "$work/build" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
"$cmake" --build "$work/build" > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
"$work/build/consumer"

# 2. pkg-config, with the prefix moved: envector.pc is relocatable.
mv "$prefix" "$work/moved"
prefix="$work/moved"
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs envector)
libpath=$(pkg-config --variable=libdir envector)
header_version=$(sed -n 's/^#define ENVECTOR_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/envector.h")
test "$(pkg-config --modversion envector)" = "$header_version"
# shellcheck disable=SC2086
"$cc" -Wall -Werror -o "$work/consumer-pc" "$work/src/consumer.c" $flags -Wl,-rpath,"$libpath"
"$work/consumer-pc"
echo "install_consumer: find_package and pkg-config ($flags): ok"
