package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func rmpKeySet(t *testing.T) *KeySet {
	t.Helper()
	ks, err := Generate(GenerateOptions{KeyID: "raw", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{32, 64}}})
	require.NoError(t, err)
	return ks
}

func TestKeyData(t *testing.T) {
	ks := rmpKeySet(t)
	for _, r := range []Role{EncKey, EvalKey} {
		var buf bytes.Buffer
		n, err := ks.WriteKeyData(r, &buf)
		require.NoError(t, err)
		require.EqualValues(t, buf.Len(), n)
		// The raw bytes are the envelope's key_data, decoded.
		entry := entryOf(decodeDoc(t, mustBlob(t, ks, r)))
		want, err := base64.StdEncoding.DecodeString(entry["key_data"].(string))
		require.NoError(t, err)
		require.Equal(t, want, buf.Bytes(), r.String())
		size, sum, err := ks.KeyDataDigest(r)
		require.NoError(t, err)
		require.EqualValues(t, len(want), size)
		require.Equal(t, sha256.Sum256(want), sum)
	}

	// Read back without key data: the digest is known, the bytes are not.
	blobs := map[Role][]byte{}
	for _, r := range ks.Roles() {
		blobs[r] = mustBlob(t, ks, r)
	}
	light, err := ParseKeySet("raw", blobs, ParseOptions{SkipKeyData: true})
	require.NoError(t, err)
	_, sum, err := light.KeyDataDigest(EvalKey)
	require.NoError(t, err)
	_, want, _ := ks.KeyDataDigest(EvalKey)
	require.Equal(t, want, sum)
	_, err = light.WriteKeyData(EvalKey, io.Discard)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorContains(t, err, "without its key data")

	// Never a secret.
	for _, r := range []Role{SecKey, MetadataKey} {
		_, err := ks.WriteKeyData(r, io.Discard)
		require.ErrorIs(t, err, ErrInvalidArgument)
		_, _, err = ks.KeyDataDigest(r)
		require.ErrorIs(t, err, ErrInvalidArgument)
	}
	pub, err := ks.Subset(EncKey)
	require.NoError(t, err)
	_, err = pub.WriteKeyData(EvalKey, io.Discard)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestCheckEvalKeyData(t *testing.T) {
	var gen bytes.Buffer
	_, err := rmpKeySet(t).WriteKeyData(EvalKey, &gen)
	require.NoError(t, err)
	evalIP3, err := os.ReadFile("testdata/evi-keys/ip3-rmp-32/EvalKey.bin") // made by evi
	require.NoError(t, err)
	evalSingle, err := os.ReadFile("testdata/evi-keys/ip0-single/EvalKey.bin")
	require.NoError(t, err)
	good := gen.Bytes()

	for _, c := range []struct {
		name, preset, mode string
		data               []byte
	}{
		{"ours ip0/rmp", "IP0", "RMP", good},
		{"lower case", "ip0", "rmp", good},
		{"evi's ip3/rmp", "IP3", "RMP", evalIP3},
		{"evi's ip0/single", "IP0", "SINGLE", evalSingle},
		{"single as NULL", "IP0", "NULL", evalSingle},
	} {
		require.NoError(t, CheckEvalKeyData(bytes.NewReader(c.data), c.preset, c.mode), c.name)
	}

	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, c := range []struct {
		name, preset, mode string
		data               []byte
		kind               Kind
		msg                string
	}{
		{"unknown preset", "IP9", "RMP", good, ErrInvalidArgument, "unknown preset \"IP9\""},
		{"mode not of the preset", "IP0", "MM32", good, ErrInvalidArgument, "MM32"},
		{"other preset", "IP1", "RMP", good, ErrCorrupt, "metadata names preset \"IP0\""},
		{"other mode", "IP0", "FLAT", good, ErrCorrupt, "eval mode \"RMP\""},
		{"empty", "IP0", "RMP", nil, ErrCorrupt, "not an EVIS archive"},
		{"truncated", "IP0", "RMP", good[:len(good)-100], ErrCorrupt, "truncated"},
		{"trailing bytes", "IP0", "RMP", append(bytes.Clone(good), 'F'), ErrCorrupt, "truncated"},
		{"not an archive", "IP0", "RMP", edit(func(b []byte) []byte { b[0] = 'X'; return b }), ErrCorrupt, "not an EVIS archive"},
		{"key file header", "IP0", "RMP", edit(func(b []byte) []byte {
			i := bytes.Index(b, []byte("EVIKeys32.bin")) + len("EVIKeys32.bin") + 8
			b[i+6] ^= 1 // a bit width
			return b
		}), ErrCorrupt, "does not start with 0x03 EVIS 0x01"},
		{"ip3 key said ip0", "IP0", "RMP", evalIP3, ErrCorrupt, "metadata names preset \"IP3\""},
	} {
		err := CheckEvalKeyData(bytes.NewReader(c.data), c.preset, c.mode)
		require.ErrorIs(t, err, c.kind, c.name)
		require.ErrorContains(t, err, c.msg, c.name)
	}

	failing := io.MultiReader(bytes.NewReader(good[:1000]), iotest.ErrReader(errors.New("disk on fire")))
	err = CheckEvalKeyData(failing, "IP0", "RMP")
	require.ErrorIs(t, err, ErrIO)
	require.ErrorContains(t, err, "disk on fire")
}
