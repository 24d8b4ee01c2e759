#!/bin/sh
# Runs examples/keygen_sealed twice in a temp dir: first it makes the KEK file, then it
# reuses it; checks the files it leaves and that a key id is never overwritten.
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
if "$example" "$work/keys" demo "$work/kek.hex" 2>"$work/err"; then
  echo "saving demo twice succeeded" >&2; exit 1
fi
grep -q "code 3" "$work/err"
echo "example_keygen_sealed: ok"
