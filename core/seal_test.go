package core

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func newKEK(t testing.TB) *KEK {
	t.Helper()
	k, err := GenerateKEK()
	require.NoError(t, err)
	return k
}

func TestSealUnseal(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	before := map[Role][]byte{}
	for _, r := range AllRoles {
		before[r] = slices.Clone(ks.envs[r].keyData)
	}
	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	require.True(t, sealed.Sealed())
	require.False(t, ks.Sealed(), "Seal returns a new key set")

	for _, r := range []Role{EncKey, EvalKey} {
		require.False(t, sealed.envs[r].sealed(), r.String())
		require.Equal(t, mustBlob(t, ks, r), mustBlob(t, sealed, r), "%s is never sealed", r)
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		require.True(t, sealed.envs[r].sealed(), r.String())
		require.NotEqual(t, before[r], sealed.envs[r].keyData, "%s is encrypted", r)
		blob := mustBlob(t, sealed, r)
		require.NotContains(t, string(blob), base64.StdEncoding.EncodeToString(before[r]), "%s: the sealed blob holds no plain key", r)
		require.False(t, leaks(string(blob), []string{base64.StdEncoding.EncodeToString(before[r])}), r.String())
	}

	// A fresh nonce every time: sealing twice gives different ciphertexts.
	again, err := ks.Seal(kek)
	require.NoError(t, err)
	for _, r := range []Role{SecKey, MetadataKey} {
		require.NotEqual(t, sealed.envs[r].seal.iv, again.envs[r].seal.iv, r.String())
		require.NotEqual(t, sealed.envs[r].keyData, again.envs[r].keyData, r.String())
	}

	_, err = sealed.Seal(kek)
	require.ErrorIs(t, err, ErrInvalidArgument, "sealing a sealed set")
	require.Contains(t, err.Error(), "already sealed")
	_, err = ks.Seal(nil)
	require.ErrorIs(t, err, ErrInvalidArgument)

	// Unseal, in memory and through the blobs (as after a save and a load).
	blobs := map[Role][]byte{}
	for _, r := range AllRoles {
		blobs[r] = mustBlob(t, sealed, r)
	}
	loaded, err := ParseKeySet(testKID, blobs, ParseOptions{})
	require.NoError(t, err)
	for _, set := range []*KeySet{sealed, loaded} {
		back, err := set.Unseal(kek)
		require.NoError(t, err)
		require.False(t, back.Sealed())
		for _, r := range AllRoles {
			require.Equal(t, before[r], back.envs[r].keyData, r.String())
			require.Equal(t, mustBlob(t, ks, r), mustBlob(t, back, r), "%s: the unsealed blob is the original", r)
		}
	}
	for _, r := range AllRoles {
		require.Equal(t, before[r], ks.envs[r].keyData, "%s: Seal and Unseal leave the original alone", r)
	}

	// Verify unseals with the KEK; it needs the right one.
	_, err = sealed.Verify(kek)
	require.NoError(t, err)
	_, err = sealed.Verify(nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = sealed.Verify(newKEK(t))
	require.ErrorIs(t, err, ErrAuth)
}

func TestUnsealWrongKEK(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	wrong := newKEK(t)

	_, err = sealed.Unseal(wrong)
	require.ErrorIs(t, err, ErrAuth)
	require.Contains(t, err.Error(), `SecKey of key "test-key"`)

	// With the SecKey left out, the MetadataKey is the one named.
	meta, err := sealed.Subset(EncKey, MetadataKey)
	require.NoError(t, err)
	_, err = meta.Unseal(wrong)
	require.ErrorIs(t, err, ErrAuth)
	require.Contains(t, err.Error(), `MetadataKey of key "test-key"`)
	require.NotContains(t, err.Error(), "SecKey")

	// A KEK one bit away is just as wrong.
	near := *kek
	near.key[31] ^= 0x80
	_, err = sealed.Unseal(&near)
	require.ErrorIs(t, err, ErrAuth)
	_, err = sealed.Unseal(kek)
	require.NoError(t, err, "the right KEK still unseals")
}

// A sealed key is bound to its key id, role and parameters by our MAC, and its sealed
// bytes by AES-GCM: moved or edited (with every digest recomputed, so the envelope
// itself parses), it no longer unseals.
func TestSealedKeyBinding(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)

	reparse := func(e envelope, r Role) (*KeySet, error) {
		e.raw, e.macInput = nil, nil
		e.hash = sha256b64(e.keyData)
		b, err := e.marshal()
		require.NoError(t, err)
		return ParseKeySet(e.kid, map[Role][]byte{r: b}, ParseOptions{})
	}
	// sealedParts returns a copy of the sealed blob and its IV, tag and ciphertext
	// (slices of the copy).
	sealedParts := func(e *envelope) (blob, iv, tag, ct []byte) {
		blob = slices.Clone(e.keyData)
		var err error
		if e.role == SecKey {
			_, iv, tag, ct, err = parseSealedSecKey(blob)
		} else {
			iv, tag, ct, err = parseSealedMetadataKey(blob)
		}
		require.NoError(t, err)
		return
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		// Unchanged, it unseals: the failures below are due to the changes.
		same, err := reparse(*sealed.envs[r], r)
		require.NoError(t, err)
		_, err = same.Unseal(kek)
		require.NoError(t, err, r.String())

		for name, change := range map[string]func(e *envelope){
			"another key id": func(e *envelope) { e.kid = "other-key" },
			"other dims":     func(e *envelope) { e.params.Dims = []int{32, 64} },
			"other mode":     func(e *envelope) { e.params.EvalMode = EvalModeMM },
			"later expiry":   func(e *envelope) { e.expiresAt = "2099-01-01T00:00:00Z" },
			"ciphertext bit": func(e *envelope) {
				blob, _, _, ct := sealedParts(e)
				ct[0] ^= 1
				e.keyData = blob
			},
			"tag bit": func(e *envelope) {
				blob, iv, tag, _ := sealedParts(e)
				tag[15] ^= 1
				e.keyData, e.seal = blob, &sealInfo{alg: e.seal.alg, iv: iv, tag: tag}
			},
			"iv bit": func(e *envelope) {
				blob, iv, tag, _ := sealedParts(e)
				iv[0] ^= 1
				e.keyData, e.seal = blob, &sealInfo{alg: e.seal.alg, iv: iv, tag: tag}
			},
		} {
			e := *sealed.envs[r]
			// An editor without the KEK keeps the MAC as it was sealed.
			e.mac, e.macKey = macOf(e.macKey, digestInput(e.document())), nil
			change(&e)
			moved, err := reparse(e, r)
			require.NoError(t, err, "%s %s: the envelope itself is consistent", r, name)
			_, err = moved.Unseal(kek)
			require.ErrorIs(t, err, ErrAuth, "%s %s", r, name)
			require.Contains(t, err.Error(), r.String(), "%s %s", r, name)
		}
	}

	// Moving a sealed SecKey to the MetadataKey role (or back) fails on its layout.
	for _, c := range [][2]Role{{SecKey, MetadataKey}, {MetadataKey, SecKey}} {
		e := *sealed.envs[c[0]]
		e.role = c[1]
		_, err := reparse(e, c[1])
		require.ErrorIs(t, err, ErrCorrupt, "%s as %s", c[0], c[1])
		require.Contains(t, err.Error(), "seal", "%s as %s", c[0], c[1])
	}
}

func TestParseKEKForms(t *testing.T) {
	// Bytes chosen so that standard base64 has '+' and '/' and the raw form does not end
	// in a newline.
	raw := bytes.Repeat([]byte{0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, 0x10, 0x0a}, 4)
	raw[31] = 0x42
	require.Len(t, raw, KEKSize)
	b64 := base64.StdEncoding.EncodeToString(raw)
	require.Len(t, b64, 44)
	require.True(t, strings.ContainsAny(b64, "+/"))
	hx := hex.EncodeToString(raw)

	ref, err := ParseKEK(raw)
	require.NoError(t, err)
	ks, err := testKeySet(t, ip0RMP, 0).Subset(SecKey, MetadataKey)
	require.NoError(t, err)
	sealedRef, err := ks.Seal(ref)
	require.NoError(t, err)
	// Another key does not unseal, so the comparisons below mean something.
	_, err = sealedRef.Unseal(newKEK(t))
	require.ErrorIs(t, err, ErrAuth)

	for name, in := range map[string]string{
		"raw":       string(raw),
		"raw+nl":    string(raw) + "\n",
		"hex":       hx,
		"HEX":       strings.ToUpper(hx),
		"hex+nl":    hx + "\n",
		"HEX+nl":    strings.ToUpper(hx) + "\n",
		"base64":    b64,
		"base64+nl": b64 + "\n",
	} {
		k, err := ParseKEK([]byte(in))
		require.NoError(t, err, name)
		_, err = sealedRef.Unseal(k)
		require.NoError(t, err, "%s: sealed with the raw form, unsealed with this one", name)
		sealedK, err := ks.Seal(k)
		require.NoError(t, err, name)
		_, err = sealedK.Unseal(ref)
		require.NoError(t, err, "%s: sealed with this form, unsealed with the raw one", name)
	}

	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(b64)
	require.NotEqual(t, b64, urlSafe)
	for name, in := range map[string]string{
		"empty":                       "",
		"31 raw bytes":                string(raw[:31]),
		"33 raw bytes":                string(raw) + "x",
		"64 raw bytes":                string(raw) + string(raw),
		"64 chars, some not hex":      hx[:40] + "zzzzgggg" + hx[48:],
		"65 hex chars":                hx + "a",
		"hex + two newlines":          hx + "\n\n",
		"raw + two newlines":          string(raw) + "\n\n",
		"base64 + two newlines":       b64 + "\n\n",
		"hex + CRLF":                  hx + "\r\n",
		"url-safe base64":             urlSafe,
		"misplaced padding":           base64.StdEncoding.EncodeToString(raw[:31])[:43] + "x",
		"base64 + space":              b64 + " ",
		"unpadded base64 of 33 bytes": base64.RawStdEncoding.EncodeToString(append(append([]byte{}, raw...), 7)),
	} {
		_, err := ParseKEK([]byte(in))
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		msg := err.Error()
		require.Contains(t, msg, "accepted", name)
		require.Contains(t, msg, "64 hexadecimal characters", "%s: the message names the accepted forms", name)
		require.False(t, leaks(msg, []string{in, hx, strings.ToUpper(hx), b64, string(raw)}), "%s: the message quotes the input: %s", name, msg)
	}

	// Files and readers.
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.kek")
	_, err = ReadKEKFile(missing)
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), missing)

	_, err = ReadKEK(bytes.NewReader(bytes.Repeat([]byte("a"), 10000)))
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), "accepted")
	k, err := ReadKEK(strings.NewReader(hx + "\n"))
	require.NoError(t, err)
	_, err = sealedRef.Unseal(k)
	require.NoError(t, err)

	good := filepath.Join(dir, "good.kek")
	require.NoError(t, os.WriteFile(good, []byte(b64+"\n"), 0o600))
	k, err = ReadKEKFile(good)
	require.NoError(t, err)
	_, err = sealedRef.Unseal(k)
	require.NoError(t, err)

	bad := filepath.Join(dir, "bad.kek")
	require.NoError(t, os.WriteFile(bad, []byte(hx[:63]+"\n"), 0o600))
	_, err = ReadKEKFile(bad)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), bad)
	require.False(t, leaks(err.Error(), []string{hx}), err.Error())
}

// No fmt verb shows key material: not of a KeySet (pointer or value, alone or inside
// the caller's own struct), not of a KEK.
func TestSecretsNeverPrinted(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	require.False(t, ks.Sealed())
	kek := newKEK(t)

	var secrets []string
	for _, data := range [][]byte{ks.envs[SecKey].keyData, ks.envs[MetadataKey].keyData, kek.key[:]} {
		secrets = append(secrets,
			base64.StdEncoding.EncodeToString(data),
			hex.EncodeToString(data), strings.ToUpper(hex.EncodeToString(data)),
			string(data), fmt.Sprint(data))
	}
	// The detector catches a direct print of the key data.
	require.True(t, leaks(fmt.Sprintf("%x", ks.envs[SecKey].keyData), secrets))
	require.True(t, leaks(fmt.Sprintf("%v", ks.envs[MetadataKey].keyData), secrets))
	require.True(t, leaks(fmt.Sprintf("%X", kek.key), secrets))

	type holder struct {
		Keys  KeySet
		PKeys *KeySet
		KEK   KEK
		PKEK  *KEK
	}
	values := map[string]any{
		"*KeySet": ks, "KeySet": *ks, "*KEK": kek, "KEK": *kek,
		"holder": holder{*ks, ks, *kek, kek}, "slice": []any{ks, kek},
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for name, v := range values {
			out := fmt.Sprintf(verb, v)
			require.False(t, leaks(out, secrets), "%s of %s shows key material: %.200s", verb, name, out)
		}
	}
	require.Contains(t, fmt.Sprint(ks), testKID, "the key set still says which it is")
	require.Contains(t, fmt.Sprint(ks), "SecKey")
	require.Equal(t, "KEK(redacted)", fmt.Sprint(kek))
}

// Weakness tells a random KEK from typed text or a pattern, whatever its form, and
// never shows the key; a nil KEK can be wiped (callers defer Wipe on an optional KEK).
func TestKEKWeakness(t *testing.T) {
	random := make([]byte, KEKSize)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	password := "correct horse battery staple!!!!"
	for _, c := range []struct {
		name, data, want string
	}{
		{"random raw", string(random), ""},
		{"random hex", hex.EncodeToString(random), ""},
		{"random base64", base64.StdEncoding.EncodeToString(random) + "\n", ""},
		{"password raw", password, "32 characters of text"},
		{"password hex", hex.EncodeToString([]byte(password)), "all printable text"},
		{"pattern", strings.Repeat("\x00\xff", 16), "only 2 distinct values"},
	} {
		k, err := ParseKEK([]byte(c.data))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := k.Weakness()
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: Weakness() = %q, want %q", c.name, got, c.want)
		}
		if strings.Contains(got, password[:8]) {
			t.Errorf("%s: Weakness shows the key: %q", c.name, got)
		}
	}
	var none *KEK
	none.Wipe()
}
