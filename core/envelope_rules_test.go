package core

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func blobOf(t testing.TB, ks *KeySet, r Role) []byte {
	t.Helper()
	b, err := ks.Blob(r)
	require.NoError(t, err)
	return b
}

// secretTexts are forms of the key set's secrets that must never appear in messages.
func secretTexts(ks *KeySet) []string {
	var out []string
	for _, r := range []Role{SecKey, MetadataKey} {
		if e := ks.envs[r]; e != nil {
			d := e.keyData
			out = append(out, base64.StdEncoding.EncodeToString(d)[8:40], hex.EncodeToString(d)[16:64])
		}
	}
	return out
}

func TestEnvelopeRoundTripAndShape(t *testing.T) {
	ks := sharedKeySet(t, "a", allParameters[0])
	kek, err := GenerateKEK()
	require.NoError(t, err)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	for _, set := range []*KeySet{ks, sealed} {
		blobs := map[Role][]byte{}
		for _, r := range set.Roles() {
			blobs[r] = blobOf(t, set, r)
		}
		back, err := ParseKeySet("a", blobs, ParseOptions{})
		require.NoError(t, err)
		for r, b := range blobs {
			require.Equal(t, b, blobOf(t, back, r), "%s re-marshals to the same bytes", r)
		}
	}

	usage := map[Role]string{SecKey: "vector_search", EncKey: "vector_search", EvalKey: "evaluation", MetadataKey: "metadata_encryption"}
	for _, set := range []*KeySet{ks, sealed} {
		for _, r := range AllRoles {
			raw := blobOf(t, set, r)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(raw, &doc))
			require.Equal(t, "a", doc["kid"])
			require.Equal(t, r.Format(), doc["format"])
			require.EqualValues(t, 1, doc["format_version"])
			require.Equal(t, usage[r], doc["usage"])
			created, err := time.Parse(time.RFC3339, doc["created_at"].(string))
			require.NoError(t, err)
			expires, err := time.Parse(time.RFC3339, doc["expires_at"].(string))
			require.NoError(t, err)
			require.Equal(t, created.AddDate(5, 0, 0), expires)
			entry := doc["entries"].([]any)[0].(map[string]any)
			require.Equal(t, r.Format(), entry["name"])
			meta := entry["metadata"].(map[string]any)
			param := meta["parameter"].(map[string]any)
			require.Equal(t, "IP0", param["preset"])
			require.EqualValues(t, uint64(2251799813554177), param["Q"])
			require.Equal(t, "RMP", meta["eval_mode"])
			require.Equal(t, "32,64,128,256,512,1024,2048,4096", meta["dim"])
			require.Contains(t, string(raw), `"DB_SCALE_FACTOR":24.0`)
			prov := doc["provider_meta"].(map[string]any)
			if set == sealed && r.Secret() {
				require.Equal(t, "AES-256-GCM", entry["alg"])
				require.Equal(t, "AES-256-GCM", prov["wrap_alg"])
				iv, _ := base64.StdEncoding.DecodeString(entry["iv"].(string))
				tag, _ := base64.StdEncoding.DecodeString(entry["tag"].(string))
				require.Len(t, iv, 12)
				require.Len(t, tag, 16)
			} else {
				require.NotContains(t, entry, "alg")
				require.NotContains(t, entry, "iv")
				require.Equal(t, "", prov["wrap_alg"])
			}
		}
	}
}

// Each damaged envelope is refused with ErrCorrupt and a message that says what is
// wrong, and never echoes secret key material.
func TestEnvelopeRejections(t *testing.T) {
	ks := sharedKeySet(t, "a", allParameters[0])
	sec := blobOf(t, ks, SecKey)
	edit := func(from, to string) []byte {
		require.Contains(t, string(sec), from)
		return []byte(strings.Replace(string(sec), from, to, 1))
	}
	keyText := base64.StdEncoding.EncodeToString(ks.envs[SecKey].keyData)
	flipped := append([]byte(nil), ks.envs[SecKey].keyData...)
	flipped[100] ^= 0x04

	cases := []struct {
		name string
		data []byte
		role Role
		kid  string
		says string
	}{
		{"flipped bit", edit(keyText, base64.StdEncoding.EncodeToString(flipped)), SecKey, "a", "does not match its hash"},
		{"truncated half", sec[:len(sec)/2], SecKey, "a", "truncated"},
		{"truncated end", sec[:len(sec)-3], SecKey, "a", "truncated"},
		{"empty", nil, SecKey, "a", "empty or truncated"},
		{"renamed", blobOf(t, ks, EncKey), SecKey, "a", "was the file renamed"},
		{"other key id", sec, SecKey, "b", `belongs to key id "a", not "b"`},
		{"trailing data", append(append([]byte(nil), sec...), []byte("{}")...), SecKey, "a", "after the JSON value"},
		{"format version", edit(`"format_version": 1`, `"format_version": 2`), SecKey, "a", "unsupported format_version 2; accepted: 1"},
		{"unknown format", edit(`"format": "seckey"`, `"format": "pgpkey"`), SecKey, "a", `unknown format "pgpkey"`},
		{"missing field", edit(`"created_at"`, `"created_on"`), SecKey, "a", "unknown field"},
		{"bad base64", edit(keyText[:8], "!!!!!!!!"), SecKey, "a", "not standard padded base64"},
		{"dims edited", edit(`"dim":"32,64,128,256,512,1024,2048,4096"`, `"dim":"32,64,128,256,512,1024,2048"`), SecKey, "a", "aad digest does not match"},
		{"expiry edited", edit(`"expires_at": "`, `"expires_at": "1`), SecKey, "a", "RFC 3339"},
		{"suspended", edit(`"value":"active"`, `"value":"suspended"`), SecKey, "a", "suspended, not active"},
		{"half sealed", edit(`"key_data"`, `"alg": "AES-256-GCM", "key_data"`), SecKey, "a", "needs all of alg, iv and tag"},
		{"not JSON", []byte("SecKey"), SecKey, "a", "not a valid key envelope"},
	}
	for _, c := range cases {
		_, err := ParseKeySet(c.kid, map[Role][]byte{c.role: c.data}, ParseOptions{})
		require.ErrorIs(t, err, ErrCorrupt, c.name)
		require.Contains(t, err.Error(), c.says, c.name)
		for _, s := range secretTexts(ks) {
			require.NotContains(t, err.Error(), s, c.name)
		}
	}

	// A missing field (rather than a renamed one) is named.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(sec, &doc))
	delete(doc, "created_at")
	noCreated, _ := json.Marshal(doc)
	_, err := ParseKeySet("a", map[Role][]byte{SecKey: noCreated}, ParseOptions{})
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "missing fields: created_at")

	// An edited field covered only by integrity.
	e := *ks.envs[SecKey]
	e.expiresAt = "2040-01-01T00:00:00Z"
	edited := bytes.Replace(sec, []byte(ks.envs[SecKey].expiresAt), []byte(e.expiresAt), 1)
	_, err = ParseKeySet("a", map[Role][]byte{SecKey: edited}, ParseOptions{})
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "integrity digest does not match")

	// Inactive keys load for inspection only when asked.
	suspended := edit(`"value":"active"`, `"value":"suspended"`)
	e = *ks.envs[SecKey]
	e.state.Value = StateSuspended
	suspended = e.marshal()
	_, err = ParseKeySet("a", map[Role][]byte{SecKey: suspended}, ParseOptions{AllowInactive: true})
	require.NoError(t, err)
}

func TestSealUnseal(t *testing.T) {
	ks := sharedKeySet(t, "a", allParameters[0])
	kek, err := GenerateKEK()
	require.NoError(t, err)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	require.True(t, sealed.Sealed())
	for _, r := range []Role{EncKey, EvalKey} {
		require.Equal(t, blobOf(t, ks, r), blobOf(t, sealed, r), "%s is never sealed", r)
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		require.NotEqual(t, ks.envs[r].keyData, sealed.envs[r].keyData)
	}
	_, err = sealed.Seal(kek)
	require.ErrorIs(t, err, ErrInvalidArgument)

	back, err := sealed.Unseal(kek)
	require.NoError(t, err)
	for _, r := range AllRoles {
		require.Equal(t, ks.envs[r].keyData, back.envs[r].keyData, r.String())
	}
	_, err = sealed.Verify(kek)
	require.NoError(t, err)

	wrong, err := GenerateKEK()
	require.NoError(t, err)
	_, err = sealed.Unseal(wrong)
	require.ErrorIs(t, err, ErrAuth)
	require.Contains(t, err.Error(), `SecKey of key "a"`)
	_, err = sealed.Verify(wrong)
	require.ErrorIs(t, err, ErrAuth)
	_, err = sealed.Verify(nil)
	require.ErrorIs(t, err, ErrInvalidArgument)

	// Moved to another key id, or given other parameters: digests recomputed, so the
	// envelope parses, but the seal's associated data no longer matches.
	for name, mutate := range map[string]func(e *envelope){
		"other key id": func(e *envelope) { e.kid = "b" },
		"other dims":   func(e *envelope) { e.params.Dims = []int{32} },
	} {
		e := *sealed.envs[SecKey]
		mutate(&e)
		moved, err := ParseKeySet(e.kid, map[Role][]byte{SecKey: e.marshal()}, ParseOptions{})
		require.NoError(t, err, name)
		_, err = moved.Unseal(kek)
		require.ErrorIs(t, err, ErrAuth, name)
	}
}

func TestKEKForms(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(0x80 + i)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	hx := hex.EncodeToString(raw)
	ks := sharedKeySet(t, "a", allParameters[1])
	ref, err := ParseKEK(raw)
	require.NoError(t, err)
	sealed, err := ks.Seal(ref)
	require.NoError(t, err)

	for name, in := range map[string]string{
		"raw": string(raw), "raw+nl": string(raw) + "\n", "hex": hx, "HEX+nl": strings.ToUpper(hx) + "\n",
		"base64": b64, "base64+nl": b64 + "\n",
	} {
		k, err := ParseKEK([]byte(in))
		require.NoError(t, err, name)
		_, err = sealed.Unseal(k)
		require.NoError(t, err, "%s gives the same key", name)
	}
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(b64)
	for name, in := range map[string]string{
		"31 raw": string(raw[:31]), "33 raw": string(raw) + "x", "empty": "",
		"hex with junk": hx[:62] + "zz", "65 hex": hx + "0", "two newlines": hx + "\n\n",
		"url-safe base64": urlSafe, "64 raw bytes": string(raw) + string(raw),
	} {
		if name == "url-safe base64" && urlSafe == b64 {
			continue
		}
		_, err := ParseKEK([]byte(in))
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.Contains(t, err.Error(), "accepted: exactly 32 raw bytes, 64 hexadecimal characters, or 44 characters of standard base64", name)
		require.NotContains(t, err.Error(), hx[:16], name)
	}

	dir := t.TempDir()
	_, err = ReadKEKFile(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, ErrNotFound)
	_, err = ReadKEK(bytes.NewReader(make([]byte, 10000)))
	require.ErrorIs(t, err, ErrInvalidArgument)
	path := filepath.Join(dir, "kek")
	require.NoError(t, os.WriteFile(path, []byte(hx+"\n"), 0o600))
	k, err := ReadKEKFile(path)
	require.NoError(t, err)
	_, err = sealed.Unseal(k)
	require.NoError(t, err)
}

// No fmt verb of a KeySet or KEK shows key material.
func TestSecretsNeverPrinted(t *testing.T) {
	ks := sharedKeySet(t, "a", allParameters[0])
	kek, err := GenerateKEK()
	require.NoError(t, err)
	secrets := append(secretTexts(ks), hex.EncodeToString(kek.key[:])[:32], base64.StdEncoding.EncodeToString(kek.key[:])[:20])
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
		for _, v := range []any{ks, *ks, kek, *kek} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				require.NotContains(t, strings.ToLower(out), strings.ToLower(s), "%s of %T", verb, v)
			}
		}
	}
	require.Contains(t, ks.String(), "SecKey")
	require.Equal(t, "KEK(redacted)", fmt.Sprint(kek))
}

// Whatever the parser accepts re-marshals to bytes it accepts again, identically; the
// parser never panics.
func FuzzParseEnvelope(f *testing.F) {
	ks, err := Generate(GenerateOptions{KeyID: "fz", Parameters: Parameters{Dims: []int{32}}})
	require.NoError(f, err)
	kek, err := GenerateKEK()
	require.NoError(f, err)
	sealed, err := ks.Seal(kek)
	require.NoError(f, err)
	// The small envelopes (a few KiB): the fuzzer mutates the JSON around them; the
	// multi-KiB lattigo keys are covered by TestKeyLayoutRefusesChangedStructure.
	for _, set := range []*KeySet{ks, sealed} {
		for _, r := range []Role{SecKey, MetadataKey} {
			b, _ := set.Blob(r)
			f.Add(b, uint8(r))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, role uint8) {
		r := Role(role % uint8(numRoles))
		e, err := parseEnvelope(data, r, "", ParseOptions{AllowInactive: true})
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		once := e.marshal()
		e2, err := parseEnvelope(once, r, "", ParseOptions{AllowInactive: true})
		require.NoError(t, err)
		require.Equal(t, once, e2.marshal())
	})
}
