package core

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Generate makes key sets in enVector's own layout for every preset and eval mode this
// release offers (small dims; the MM modes are covered by evi_keys_test.go); each goes
// through its envelopes and back, and Verify proves that its keys belong together, sealed
// or not; a SecKey, EncKey or EvalKey of another set is caught.
func TestGenerateEVI(t *testing.T) {
	kek := newKEK(t)
	cases := []Parameters{
		{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{32, 64}},
		{Preset: PresetIP0, EvalMode: EvalModeFLAT, Dims: []int{32}},
		{Preset: PresetIP0, EvalMode: EvalModeSINGLE},
		{Preset: PresetIP1, EvalMode: EvalModeRMP, Dims: []int{32}},
		{Preset: PresetIP2, EvalMode: EvalModeFLAT, Dims: []int{32}},
		{Preset: PresetIP3, EvalMode: EvalModeRMP, Dims: []int{32}},
	}
	for _, p := range cases {
		name := p.Preset.String() + "/" + p.EvalMode.String()
		ks, err := Generate(GenerateOptions{KeyID: testKID, Parameters: p, Requester: testRequester, Now: testNow})
		require.NoError(t, err, name)
		require.Equal(t, AllRoles, ks.Roles(), name)
		sealed, err := ks.Seal(kek)
		require.NoError(t, err, name)
		for _, set := range []*KeySet{ks, sealed} {
			blobs := map[Role][]byte{}
			for _, r := range AllRoles {
				blobs[r] = mustBlob(t, set, r)
			}
			back, err := ParseKeySet(testKID, blobs, ParseOptions{})
			require.NoError(t, err, name)
			require.Equal(t, "evi", back.Parameters().Preset.KeyFormat(), name)
			require.Equal(t, p.EvalMode, back.Parameters().EvalMode, name)
			var given *KEK
			if set == sealed {
				given = kek
			} else {
				_, err := back.Verify(kek)
				require.ErrorIs(t, err, ErrInvalidArgument, "%s: a KEK proves nothing about an unsealed set", name)
			}
			rep, err := back.Verify(given)
			require.NoError(t, err, name)
			require.Equal(t, "evi", rep.KeyFormat)
			require.Equal(t, 1024, rep.HammingWeight, "%s: enVector's secrets have 1,024 non-zero coefficients", name)
			require.Positive(t, rep.GaloisKeys, name)
			require.LessOrEqual(t, rep.PublicKeyNoise, uint64(64), name)
			require.True(t, rep.MetadataKey)

			// What enVector reads: the entry metadata.
			var doc struct {
				Entries []struct {
					Metadata struct {
						EvalMode  string `json:"eval_mode"`
						Parameter struct {
							Preset string  `json:"preset"`
							Q      uint64  `json:"Q"`
							DB     float64 `json:"DB_SCALE_FACTOR"`
						} `json:"parameter"`
					} `json:"metadata"`
				} `json:"entries"`
			}
			require.NoError(t, json.Unmarshal(blobs[EvalKey], &doc))
			wantMode := string(p.EvalMode)
			if p.EvalMode == EvalModeSINGLE {
				wantMode = "NULL" // enVector's name for it
			}
			require.Equal(t, wantMode, doc.Entries[0].Metadata.EvalMode, name)
			require.Equal(t, p.Preset.Name(), doc.Entries[0].Metadata.Parameter.Preset, name)
			require.Equal(t, p.Preset.LogDBScale(), doc.Entries[0].Metadata.Parameter.DB, name)
			require.Equal(t, p.Preset.Q(), doc.Entries[0].Metadata.Parameter.Q, name)
		}

		// A key of another set with the same parameters is caught, naming the key.
		other, err := Generate(GenerateOptions{KeyID: testKID, Parameters: p})
		require.NoError(t, err, name)
		for _, r := range []Role{SecKey, EncKey, EvalKey} {
			mixed := map[Role][]byte{}
			for _, q := range RequiredRoles {
				from := ks
				if q == r {
					from = other
				}
				mixed[q] = mustBlob(t, from, q)
			}
			_, err := ParseKeySet(testKID, mixed, ParseOptions{})
			require.ErrorIs(t, err, ErrCorrupt, "%s with a foreign %s: the set binding tells", name, r)
			require.Contains(t, err.Error(), r.String(), name)
		}
	}
}

// With a seed, the MetadataKey is the one enVector's SDK derives from the same seed:
// HKDF-SHA256(seed, salt "metadatakey", info "envector-metadata-key").
func TestSeededMetadataKeyIsEnVectorsDerivation(t *testing.T) {
	seed := make([]byte, SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	ks, err := Generate(GenerateOptions{KeyID: "s", Seed: seed, Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeSINGLE}})
	require.NoError(t, err)
	want, err := hkdf.Key(sha256.New, seed, []byte("metadatakey"), "envector-metadata-key", 32)
	require.NoError(t, err)
	require.Equal(t, want, ks.envs[MetadataKey].keyData)
}

// A generated MM EvalKey (ip0: 4,096 automorphism keys, 444 MB) is made straight into its
// file by WriteBlobFile: the file reads back, verifies, and holds the same bytes as the
// key made in memory from the same key set.
func TestGeneratedMMEvalKeyStreamsIntoItsFile(t *testing.T) {
	ks, err := Generate(GenerateOptions{KeyID: "mm", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeMM, Dims: []int{32}}, NoMetadataKey: true})
	require.NoError(t, err)
	require.True(t, ks.envs[EvalKey].streamable(), "the MM EvalKey is not held in memory")
	dir := t.TempDir()
	for _, r := range ks.Roles() {
		f, err := os.Create(filepath.Join(dir, r.FileName()))
		require.NoError(t, err)
		n, err := ks.WriteBlobFile(r, f)
		require.NoError(t, err)
		fi, err := f.Stat()
		require.NoError(t, err)
		require.Equal(t, fi.Size(), n, r.String())
		require.NoError(t, f.Close())
	}
	info := ks.Info()[2]
	require.Equal(t, EvalKey, info.Role)
	require.Greater(t, info.DataSize, int64(400<<20))

	back, err := readSetDir(t, dir, "mm", ParseOptions{}, RequiredRoles...)
	require.NoError(t, err)
	rep, err := back.Verify(nil)
	require.NoError(t, err)
	require.Equal(t, 4096, rep.GaloisKeys)
	require.Equal(t, info.Hash, back.Info()[2].Hash, "the hash written in place is the key's")

	inMemory, err := ks.envs[EvalKey].data() // made again, into memory
	require.NoError(t, err)
	require.Equal(t, sha256b64(inMemory), back.Info()[2].Hash, "made in memory and into the file: the same bytes")
}
