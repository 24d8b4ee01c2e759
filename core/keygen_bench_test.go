package core

import (
	"crypto/rand"
	"testing"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
)

// BenchmarkDefaultKeySet makes the default key set (ip0, rmp, dims 32..4096, with
// MetadataKey) two ways in the same run:
//   - envector: Generate, then every role's envelope JSON, in memory;
//   - bare-lattigo: lattigo's own KeyGenerator making the same keys one after another,
//     each marshalled with MarshalBinary, plus 32 random bytes.
//
// The README reports envector/bare-lattigo.
func BenchmarkDefaultKeySet(b *testing.B) {
	b.Run("envector", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ks, err := Generate(GenerateOptions{KeyID: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range ks.Roles() {
				if _, err := ks.Blob(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("bare-lattigo", func(b *testing.B) {
		b.ReportAllocs()
		p, err := Parameters{}.Check()
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			params, err := p.Preset.ckksParameters()
			if err != nil {
				b.Fatal(err)
			}
			kgen := rlwe.NewKeyGenerator(params)
			sk := kgen.GenSecretKeyNew()
			pk := kgen.GenPublicKeyNew(sk)
			rlk := kgen.GenRelinearizationKeyNew(sk)
			gks := kgen.GenGaloisKeysNew(p.galoisElements(params), sk)
			evk := rlwe.NewMemEvaluationKeySet(rlk, gks...)
			for _, m := range []interface{ MarshalBinary() ([]byte, error) }{sk, pk, evk} {
				if _, err := m.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
			mk := make([]byte, 32)
			if _, err := rand.Read(mk); err != nil {
				b.Fatal(err)
			}
		}
	})
}
