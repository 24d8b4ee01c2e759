#!/bin/sh
# Checks the built library: it exports exactly the functions envector.h declares
# (nothing of Go, cgo or the internal envectorgo_* side), has the SONAME
# libenvector.so.<major>, and the links libenvector.so -> .so.<major> -> .so.<version>.
set -eu
libdir=$1 header=$2 version=$3 soversion=$4
lib="$libdir/libenvector.so.$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

test "$(readlink "$libdir/libenvector.so.$soversion")" = "libenvector.so.$version"
test "$(readlink "$libdir/libenvector.so")" = "libenvector.so.$soversion"
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
test "$soname" = "libenvector.so.$soversion" || { echo "SONAME is '$soname'" >&2; exit 1; }

grep '^ENVECTOR_API' "$header" | grep -o 'envector_[a-z_]*(' | tr -d '(' | sort -u > "$work/declared"
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u > "$work/exported"
if ! diff -u "$work/declared" "$work/exported" >&2; then
  echo "the library's symbols (+) differ from the header's functions (-)" >&2
  exit 1
fi
echo "symbols: $(wc -l < "$work/exported") functions, as in envector.h; SONAME $soname: ok"
