package core

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readSetDir parses the given roles of a key set directory.
func readSetDir(t *testing.T, dir, keyID string, opts ParseOptions, roles ...Role) (*KeySet, error) {
	t.Helper()
	blobs := map[Role][]byte{}
	for _, r := range roles {
		b, err := os.ReadFile(filepath.Join(dir, r.FileName()))
		require.NoError(t, err)
		blobs[r] = b
	}
	return ParseKeySet(keyID, blobs, opts)
}

// Files written by enVector's own SDK (pyenvector 1.6.3, ip1/rmp, dim 32; its EvalKey
// is left out of the repository for size, and covered by the compatibility suite in
// tests/compat, which runs pyenvector itself): they load, say who wrote them, unseal
// with the same raw KEK file, and are written again byte for byte as read.
func TestReadsEnVectorSDKFiles(t *testing.T) {
	roles := []Role{SecKey, EncKey, MetadataKey}
	kekBytes, err := os.ReadFile("testdata/evi-1.6.3/kek.bin")
	require.NoError(t, err)
	kek, err := ParseKEK(kekBytes)
	require.NoError(t, err)

	plain, err := readSetDir(t, "testdata/evi-1.6.3/plain", "pyk", ParseOptions{}, roles...)
	require.NoError(t, err)
	require.False(t, plain.Sealed())
	p := plain.Parameters()
	require.Equal(t, "IP1", p.Preset.Name())
	require.Equal(t, uint64(17179754497), p.Preset.Q())
	require.Equal(t, uint64(17179672577), p.Preset.P())
	require.Equal(t, 50.20749742380613, p.Preset.LogDBScale())
	require.Equal(t, "evi", p.Preset.KeyFormat())
	for _, info := range plain.Info() {
		require.Equal(t, DialectEVI, info.Dialect, info.Role.String())
		require.Equal(t, "user@tenantA", info.Requester.Entity)
	}
	sec := plain.envs[SecKey].keyData
	require.Len(t, sec, 1029)
	require.Equal(t, []byte{1, 'I', 'P', '1', 0}, sec[:5])
	for _, r := range roles {
		b, err := os.ReadFile(filepath.Join("testdata/evi-1.6.3/plain", r.FileName()))
		require.NoError(t, err)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, b))
		require.Equal(t, compact.String(), string(mustBlob(t, plain, r)), "%s is written again as read", r)
	}
	_, err = plain.Verify(nil)
	require.ErrorIs(t, err, ErrNotFound, "its EvalKey is not in the repository")

	sealed, err := readSetDir(t, "testdata/evi-1.6.3/sealed", "pyk", ParseOptions{}, roles...)
	require.NoError(t, err)
	require.True(t, sealed.Sealed())
	info := sealed.Info()
	require.Equal(t, "seckey", info[0].Format, "its key generator names a sealed SecKey seckey, without alg")
	require.Equal(t, "AES-KEK", info[0].SealAlg)
	require.Equal(t, "AES-256-GCM", info[2].SealAlg)

	other := newKEK(t)
	_, err = sealed.Unseal(other)
	require.ErrorIs(t, err, ErrAuth)
	opened, err := sealed.Unseal(kek)
	require.NoError(t, err)
	require.Len(t, opened.envs[SecKey].keyData, 1029)
	require.Equal(t, []byte{1, 'I', 'P', '1', 0}, opened.envs[SecKey].keyData[:5])
	require.Len(t, opened.envs[MetadataKey].keyData, 32)

	// Unsealed here, it is written in our envelope (with the set's scales) and reads back.
	blobs := map[Role][]byte{}
	for _, r := range roles {
		blobs[r] = mustBlob(t, opened, r)
	}
	back, err := ParseKeySet("pyk", blobs, ParseOptions{})
	require.NoError(t, err)
	require.Equal(t, DialectOurs, back.Info()[0].Dialect)
	require.Equal(t, opened.envs[SecKey].keyData, back.envs[SecKey].keyData)
	require.Equal(t, 50.20749742380613, back.Parameters().Preset.LogDBScale())

	// Sealed again here, enVector's layout with our MAC.
	resealed, err := back.Seal(kek)
	require.NoError(t, err)
	blob := mustBlob(t, resealed, SecKey)
	again, err := ParseKeySet("pyk", map[Role][]byte{SecKey: blob}, ParseOptions{})
	require.NoError(t, err)
	reopened, err := again.Unseal(kek)
	require.NoError(t, err)
	require.Equal(t, opened.envs[SecKey].keyData, reopened.envs[SecKey].keyData)
}

// Key sets written by envector-keys 0.1 (its own envelope, lattigo key data, the EVSK
// SecKey, AES-GCM with our associated data) still load, verify and unseal; written
// again they take the current envelope.
func TestReadsLegacyFiles(t *testing.T) {
	kek, err := ReadKEKFile("testdata/legacy/kek.hex")
	require.NoError(t, err)
	set, err := readSetDir(t, "testdata/legacy/legacy-sealed", "legacy-sealed", ParseOptions{}, AllRoles...)
	require.NoError(t, err)
	for _, info := range set.Info() {
		require.Equal(t, DialectLegacy, info.Dialect)
	}
	require.True(t, set.Sealed())
	rep, err := set.Verify(kek)
	require.NoError(t, err)
	require.Positive(t, rep.GaloisKeys)
	_, err = set.Unseal(newKEK(t))
	require.ErrorIs(t, err, ErrAuth)

	opened, err := set.Unseal(kek)
	require.NoError(t, err)
	resealed, err := opened.Seal(kek)
	require.NoError(t, err)
	blobs := map[Role][]byte{}
	for _, r := range AllRoles {
		blobs[r] = mustBlob(t, resealed, r)
	}
	// Public envelopes read from a legacy file are written as read; secrets resealed
	// here take the current envelope.
	_, err = ParseKeySet("legacy-sealed", blobs, ParseOptions{})
	require.NoError(t, err)
	again, err := ParseKeySet("legacy-sealed", map[Role][]byte{SecKey: blobs[SecKey], MetadataKey: blobs[MetadataKey]}, ParseOptions{})
	require.NoError(t, err)
	require.Equal(t, DialectOurs, again.Info()[0].Dialect)

	mm, err := readSetDir(t, "testdata/legacy/legacy-ip1-mm", "legacy-ip1-mm", ParseOptions{}, SecKey, EncKey, EvalKey)
	require.NoError(t, err)
	require.Equal(t, "IP1", mm.Parameters().Preset.Name())
	require.Equal(t, EvalModeMM, mm.Parameters().EvalMode)
	_, err = mm.Verify(nil)
	require.NoError(t, err)
}

// A large envelope (here an EvalKey of enVector's layout, over the 64 MiB cap of
// earlier releases) streams in: parsed from a reader, its digest checked, its key data
// kept once, or not at all when only inspected; and it is written out streaming.
func TestLargeEnvelopeStreams(t *testing.T) {
	const body = 80 << 20
	var archive bytes.Buffer
	archive.WriteString(eviMagic)
	archive.WriteByte('F')
	binary.Write(&archive, binary.LittleEndian, uint64(len("EVIKeys32.bin")))
	archive.WriteString("EVIKeys32.bin")
	binary.Write(&archive, binary.LittleEndian, int64(body))
	payload := make([]byte, body)
	_, err := rand.Read(payload[:1<<20])
	require.NoError(t, err)
	archive.Write(payload)

	preset, err := eviPreset("IP3", 1073692673, 1073668097, 47, 11.4149706)
	require.NoError(t, err)
	e := (&envelope{
		kid: "big", role: EvalKey, keyVersion: "1",
		params:    Parameters{Preset: preset, EvalMode: "MM32"},
		createdAt: "2026-12-01T00:00:00Z", expiresAt: "2031-11-30T00:00:00Z",
		state:     keyState{Value: StateActive, UpdatedAt: "2026-12-01T00:00:00Z"},
		requester: testRequester,
	}).withKeyData(archive.Bytes(), nil)
	path := filepath.Join(t.TempDir(), "EvalKey.json")
	f, err := os.Create(path)
	require.NoError(t, err)
	n, err := e.writeTo(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Greater(t, n, int64(100<<20))

	for _, skip := range []bool{true, false} {
		f, err := os.Open(path)
		require.NoError(t, err)
		ks, err := ReadKeySet("big", map[Role]EnvelopeSource{EvalKey: {R: f, Size: n}}, ParseOptions{SkipKeyData: skip})
		f.Close()
		require.NoError(t, err, "skip %v", skip)
		info := ks.Info()[0]
		require.Equal(t, int64(archive.Len()), info.DataSize)
		require.Equal(t, sha256b64(archive.Bytes()), info.Hash)
		if skip {
			require.Nil(t, ks.envs[EvalKey].keyData)
			_, err := ks.Blob(EvalKey)
			require.ErrorIs(t, err, ErrInvalidArgument, "a key set read for inspection is not written")
		} else {
			require.True(t, bytes.Equal(archive.Bytes(), ks.envs[EvalKey].keyData))
			kd := ks.envs[EvalKey].keyData
			require.Less(t, cap(kd)-len(kd), 4096, "the buffer is sized once, from the file size")
		}
	}

	// Truncated anywhere in key_data, it is refused.
	f, err = os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = ReadKeySet("big", map[Role]EnvelopeSource{EvalKey: {R: io.LimitReader(f, n/2)}}, ParseOptions{SkipKeyData: true})
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "truncated")
}
