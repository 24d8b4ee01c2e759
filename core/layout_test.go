package core

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// A crafted EncKey or EvalKey whose digests are consistent must be refused before
// lattigo reads it: lattigo allocates from the lengths in the data, and a length of 2^40
// would end the process.
func TestKeyLayoutRefusesChangedStructure(t *testing.T) {
	ks, err := generateLegacy(GenerateOptions{KeyID: "layout", Parameters: Parameters{Preset: legacyIP0, EvalMode: EvalModeRMP, Dims: []int{32, 64}}})
	require.NoError(t, err)
	layouts, err := layoutsOf(ks.params)
	require.NoError(t, err)

	for _, c := range []struct {
		role   Role
		layout *keyLayout
		decode func([]byte) error
	}{
		{EncKey, layouts.pk, func(b []byte) error { _, err := decodePublicKey(ks.params, b); return err }},
		{EvalKey, layouts.evk, func(b []byte) error { _, err := decodeEvalKeys(ks.params, b); return err }},
	} {
		data := ks.envs[c.role].keyData
		require.NoError(t, c.decode(data))
		require.NotEmpty(t, c.layout.structural)

		structuralBytes := 0
		for i := 0; i < len(c.layout.structural); i += 2 {
			for off := c.layout.structural[i]; off < c.layout.structural[i+1]; off++ {
				structuralBytes++
				bad := append([]byte(nil), data...)
				bad[off] ^= 0x40
				require.ErrorIs(t, c.decode(bad), ErrCorrupt, "%s: structural byte %d changed", c.role, off)
			}
		}
		require.Less(t, structuralBytes, len(data)/100, "%s: structure should be a small part of the key", c.role)

		// A huge length where the first length field is, behind consistent digests.
		bad := append([]byte(nil), data...)
		binary.LittleEndian.PutUint64(bad[c.layout.structural[0]:], 1<<40)
		e := ks.envs[c.role].withKeyData(bad, nil)
		blob, err := e.marshal()
		require.NoError(t, err)
		_, err = ParseKeySet("layout", map[Role][]byte{c.role: blob}, ParseOptions{})
		require.ErrorIs(t, err, ErrCorrupt, c.role.String())

		// A changed coefficient is still a well-formed key (verify is what rejects it).
		ok := append([]byte(nil), data...)
		ok[len(ok)-9] ^= 0x01
		require.NoError(t, c.decode(ok), "%s: coefficient byte changed", c.role)
	}
}
