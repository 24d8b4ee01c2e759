#!/bin/sh
# Runs examples/keygen_sealed twice in a temp dir: first it makes the KEK file, then it
# reuses it; checks the files it leaves, and that a third run into the first key id is
# refused with the library's message (ENVECTOR_ERR_ALREADY_EXISTS).
set -eu
example=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$example" "$work/keys" demo "$work/kek.hex"
test "$(stat -c %a "$work/kek.hex")" = 600
test "$(wc -c < "$work/kek.hex")" -eq 65
for f in SecKey EncKey EvalKey MetadataKey; do test -s "$work/keys/demo/$f.json"; done
grep -q '"alg":"AES-KEK"' "$work/keys/demo/SecKey.json"
grep -q '"alg":"AES-256-GCM"' "$work/keys/demo/MetadataKey.json"
if grep -q '"alg"' "$work/keys/demo/EncKey.json"; then echo "EncKey is sealed" >&2; exit 1; fi

"$example" "$work/keys" demo2 "$work/kek.hex"   # the existing KEK
test -s "$work/keys/demo2/SecKey.json"
# The same key path and key id again: refused, and the example prints the library's own
# message (read after the call that set it), not the placeholder of a stale error.
if "$example" "$work/keys" demo "$work/kek.hex" >"$work/out" 2>"$work/err"; then
  echo "saving demo twice succeeded" >&2; exit 1
fi
cat "$work/err"
expect() {
  grep -Eq "$1" "$work/err" || { echo "the second run's message lacks /$1/: $(cat "$work/err")" >&2; exit 1; }
}
expect "^envector_store_save failed \(code 3\): "   # ENVECTOR_ERR_ALREADY_EXISTS
expect "$work/keys/demo\b"                          # names the key set...
expect "never overwritten|already exists"         # ...and says what is wrong
if grep -q "invalid envector_error" "$work/err"; then
  echo "the example printed the placeholder of an invalid error, not the error" >&2; exit 1
fi
test ! -s "$work/out"
test "$(wc -l < "$work/err")" -eq 1
echo "example_keygen_sealed: ok"
