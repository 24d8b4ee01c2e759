package core

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
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

// BenchmarkParseDefaultKeySet reads the default key set's four envelopes back two ways
// in the same run:
//   - envector: ParseKeySet, with every check (names, digests, key structure);
//   - bare: encoding/json into a generic document, base64 of key_data, and lattigo's
//     UnmarshalBinary for EncKey and EvalKey, with no checks at all.
//
// The README reports envector/bare.
func BenchmarkParseDefaultKeySet(b *testing.B) {
	ks, err := Generate(GenerateOptions{KeyID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	blobs := map[Role][]byte{}
	for _, r := range ks.Roles() {
		if blobs[r], err = ks.Blob(r); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("envector", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := ParseKeySet("bench", blobs, ParseOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			for r, blob := range blobs {
				var doc struct {
					Entries []struct {
						KeyData string `json:"key_data"`
					} `json:"entries"`
				}
				if err := json.Unmarshal(blob, &doc); err != nil {
					b.Fatal(err)
				}
				data, err := base64.StdEncoding.DecodeString(doc.Entries[0].KeyData)
				if err != nil {
					b.Fatal(err)
				}
				switch r {
				case EncKey:
					err = new(rlwe.PublicKey).UnmarshalBinary(data)
				case EvalKey:
					err = new(rlwe.MemEvaluationKeySet).UnmarshalBinary(data)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
