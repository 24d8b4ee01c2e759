#!/bin/sh
# Runs a program under valgrind memcheck for the leak check of the C-side buffers:
#   valgrind.sh VALGRIND SUPPRESSIONS LIBENVECTOR PROGRAM [ARGS...]
# valgrind.supp says why each suppression is there. Two kinds are generated here,
# because memcheck suppressions cannot say "Go code" or take a wildcard in a system
# call's parameter name:
#  - errors in Go assembly routines that have no package prefix (gogo, memeqbody,
#    gcWriteBarrier, ...): one entry per such function of LIBENVECTOR, which is every
#    function name without a dot except those of capi/envector.c (envector_*,
#    envectorc_*, and its static helpers), so our C stays checked;
#  - system calls Go makes on buffers in its own stacks ("read(buf)"): one entry per
#    parameter name this valgrind knows (the strings of its memcheck tool), limited to
#    Go frames or C called by Go.
set -eu
valgrind=$1 supp=$2 lib=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

nm --defined-only "$lib" | awk '$2 ~ /^[tT]$/ && $3 !~ /[.:]/ { print $3 }' |
  grep -v -E '^(envector_.*|envectorc_.*|buffer_.*|live_.*|wipe|finish)$' | sort -u |
  awk '{ for (n = 1; n <= 32; n *= 2)
           printf "{\n   go-asm-%s-addr%d\n   Memcheck:Addr%d\n   fun:%s\n}\n", $0, n, n, $0 }' \
  > "$work/asm.supp"

: > "$work/params.supp"
libexec=$(dirname "$(dirname "$(readlink -f "$(command -v "$valgrind")")")")
for tool in "${VALGRIND_LIB:-/nonexistent}"/memcheck-*-linux "$libexec"/libexec/valgrind/memcheck-*-linux \
            "$libexec"/lib/valgrind/memcheck-*-linux /usr/libexec/valgrind/memcheck-*-linux; do
  if [ -f "$tool" ]; then
    strings "$tool" | grep -E '^[a-z_0-9]+\([A-Za-z_0-9]+\)$' | sort -u |
      awk '{ printf "{\n   go-syscall-param-%d\n   Memcheck:Param\n   %s\n   fun:*.*\n}\n", NR, $0;
             printf "{\n   c-called-by-go-param-%d\n   Memcheck:Param\n   %s\n   ...\n   fun:_cgo_*_Cfunc_*\n}\n", NR, $0 }' \
      > "$work/params.supp"
    break
  fi
done

status=0
"$valgrind" --tool=memcheck --leak-check=full --undef-value-errors=no \
  --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible \
  --error-exitcode=1 --num-callers=30 --suppressions="$supp" \
  --suppressions="$work/asm.supp" --suppressions="$work/params.supp" "$@" || status=$?
exit "$status"
