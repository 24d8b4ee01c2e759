package core

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// benchParameters is the key set the in-memory benchmarks use: enVector's ip0 with rmp
// keys for dims 32..4096 (EncKey 106 KiB, EvalKey 10 MiB). The default set (ip3, mm32)
// is measured through the CLI beside enVector's own key generator: bench/vs_pyenvector.py.
var benchParameters = Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP}

// BenchmarkKeySetEnvelopes makes the ip0/rmp key set and every role's envelope JSON in
// memory, two ways in the same run:
//   - envector: Generate, then Blob for every role (our envelope: digests, our member);
//   - bare: the same Generate, then for every role SHA-256 and base64 of the key bytes
//     and encoding/json of a map holding them: the straightforward envelope, with no
//     canonical layout, no parallel encoding and none of our checks.
//
// Key generation dominates both; the ratio is what our envelopes cost over the
// straightforward ones.
func BenchmarkKeySetEnvelopes(b *testing.B) {
	b.Run("envector", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ks, err := Generate(GenerateOptions{KeyID: "bench", Parameters: benchParameters})
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
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ks, err := Generate(GenerateOptions{KeyID: "bench", Parameters: benchParameters})
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range ks.Roles() {
				data := ks.envs[r].keyData
				h := sha256.Sum256(data)
				if _, err := json.Marshal(map[string]any{
					"kid": "bench", "usage": "vector_search",
					"entries": []any{map[string]any{"name": r.Format(), "hash": base64.StdEncoding.EncodeToString(h[:]), "key_data": base64.StdEncoding.EncodeToString(data)}},
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkParseKeySet reads the ip0/rmp key set's four envelopes back two ways in the
// same run:
//   - envector: ParseKeySet, with every check (names, enVector's digests, ours, the
//     structure of the key data);
//   - bare: encoding/json into a generic document and base64 of key_data, no checks.
func BenchmarkParseKeySet(b *testing.B) {
	ks, err := Generate(GenerateOptions{KeyID: "bench", Parameters: benchParameters})
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
			for _, blob := range blobs {
				var doc struct {
					Entries []struct {
						KeyData string `json:"key_data"`
					} `json:"entries"`
				}
				if err := json.Unmarshal(blob, &doc); err != nil {
					b.Fatal(err)
				}
				if _, err := base64.StdEncoding.DecodeString(doc.Entries[0].KeyData); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
