package core

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// A Report prints as a sentence of what was measured (not as Go's &{...}), and holds
// nothing of the keys.
func TestReportString(t *testing.T) {
	ks, err := Generate(GenerateOptions{KeyID: "rep", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{32}}})
	require.NoError(t, err)
	defer ks.Wipe()
	rep, err := ks.Verify(nil)
	require.NoError(t, err)
	s := fmt.Sprint(rep)
	t.Log(s)
	require.Equal(t, s, rep.String(), "a *Report prints the same")
	require.Regexp(t, regexp.MustCompile(`^keys belong together \(evi layout\): EncKey noise \d+; \d+ key-switching keys, largest noise \d+; secret Hamming weight \d+; EvalKey files \S+.*; MetadataKey present$`), s)
	require.Contains(t, s, fmt.Sprintf("%d key-switching keys, largest noise %d", rep.GaloisKeys, rep.GaloisNoise))
	sec, err := ks.Blob(SecKey)
	require.NoError(t, err)
	fields := regexp.MustCompile(`"key_data"\s*:\s*"([^"]{16})`).FindAllSubmatch(sec, -1)
	require.NotEmpty(t, fields)
	for _, field := range fields {
		require.NotContains(t, s, string(field[1]), "no key material")
	}

	old := Report{KeyFormat: "lattigo-v5", EncryptionError: 0.000327, PublicKeyNoise: 13, RelinNoise: 12, GaloisKeys: 9, GaloisNoise: 13, HammingWeight: 2048}
	require.Equal(t, "keys belong together (lattigo-v5 layout): encryption error 0.000327; EncKey noise 13; relinearization key noise 12; 9 key-switching keys, largest noise 13; secret Hamming weight 2048; no MetadataKey", fmt.Sprintf("%v", &old))
}
