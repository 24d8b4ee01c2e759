package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustBlob(t testing.TB, ks *KeySet, r Role) []byte {
	t.Helper()
	b, err := ks.Blob(r)
	require.NoError(t, err)
	return b
}

// decodeDoc decodes an envelope into generic JSON, numbers kept exact.
func decodeDoc(t testing.TB, blob []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(blob))
	dec.UseNumber()
	var doc map[string]any
	require.NoError(t, dec.Decode(&doc))
	return doc
}

func entryOf(doc map[string]any) map[string]any {
	return doc["entries"].([]any)[0].(map[string]any)
}

// editDoc decodes blob, lets edit change the document (and its only entry) and encodes
// it again. Digests are left as they were.
func editDoc(t testing.TB, blob []byte, edit func(doc, entry map[string]any)) []byte {
	t.Helper()
	doc := decodeDoc(t, blob)
	edit(doc, entryOf(doc))
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	return out
}

// secretTexts are the base64 key_data of the unsealed secret roles of ks.
func secretTexts(ks *KeySet) []string {
	var out []string
	for _, r := range AllRoles {
		if r.Secret() && ks.Has(r) && !ks.envs[r].sealed() {
			out = append(out, base64.StdEncoding.EncodeToString(ks.envs[r].keyData))
		}
	}
	return out
}

// leaks reports whether msg holds any 8-character piece of one of the secret texts.
func leaks(msg string, secrets []string) bool {
	const w = 8
	for _, s := range secrets {
		for i := 0; i+w <= len(msg); i++ {
			if strings.Contains(s, msg[i:i+w]) {
				return true
			}
		}
	}
	return false
}

func parseOne(r Role, kid string, blob []byte, opts ParseOptions) (*KeySet, error) {
	return ParseKeySet(kid, map[Role][]byte{r: blob}, opts)
}

// Blob -> ParseKeySet -> Blob gives the same bytes, for every role, sealed or not,
// for both presets and eval modes.
func TestEnvelopeRoundTrip(t *testing.T) {
	kek, err := GenerateKEK()
	require.NoError(t, err)
	for _, p := range testParameters {
		ks := testKeySet(t, p, 0)
		sealed, err := ks.Seal(kek)
		require.NoError(t, err)
		for name, set := range map[string]*KeySet{"unsealed": ks, "sealed": sealed} {
			blobs := map[Role][]byte{}
			for _, r := range AllRoles {
				blobs[r] = mustBlob(t, set, r)
			}
			back, err := ParseKeySet(testKID, blobs, ParseOptions{})
			require.NoError(t, err, "%s %s", paramName(p), name)
			require.Equal(t, AllRoles, back.Roles())
			require.True(t, back.Parameters().equal(ks.Parameters()))
			require.Equal(t, name == "sealed", back.Sealed())
			for _, r := range AllRoles {
				require.Equal(t, blobs[r], mustBlob(t, back, r), "%s %s %s", paramName(p), name, r)
			}
		}
	}
}

// Every damaged or misplaced envelope is refused with ErrCorrupt, a message that says
// what is wrong, and no piece of secret key material in the message.
func TestEnvelopeRejections(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	sec := mustBlob(t, ks, SecKey)
	meta := mustBlob(t, ks, MetadataKey)
	secrets := secretTexts(ks)
	require.Len(t, secrets, 2)
	// The detector works: a message quoting key material is caught.
	require.True(t, leaks("bad key "+secrets[0][100:110]+"...", secrets))
	require.True(t, leaks("bad key "+secrets[1][30:38], secrets))

	kek, err := GenerateKEK()
	require.NoError(t, err)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	sealedSec := mustBlob(t, sealed, SecKey)

	// flipBit flips one bit of the decoded key_data and re-encodes it, hashes untouched.
	flipBit := func(blob []byte) []byte {
		return editDoc(t, blob, func(_, e map[string]any) {
			data, err := base64.StdEncoding.DecodeString(e["key_data"].(string))
			require.NoError(t, err)
			data[len(data)/2] ^= 0x10
			e["key_data"] = base64.StdEncoding.EncodeToString(data)
		})
	}
	// rebuilt marshals a changed copy of an envelope: digests recomputed, so only the
	// check under test can refuse it.
	rebuilt := func(r Role, from *KeySet, change func(e *envelope)) []byte {
		e := *from.envs[r]
		change(&e)
		return e.marshal()
	}

	cases := []struct {
		name string
		role Role   // the role the caller asks for
		kid  string // the key id the caller asks for
		data []byte
		says []string
	}{
		{"flipped bit in SecKey", SecKey, testKID, flipBit(sec), []string{"does not match its hash"}},
		{"flipped bit in EncKey", EncKey, testKID, flipBit(mustBlob(t, ks, EncKey)), []string{"does not match its hash"}},
		{"flipped bit in EvalKey", EvalKey, testKID, flipBit(mustBlob(t, ks, EvalKey)), []string{"does not match its hash"}},
		{"flipped bit in MetadataKey", MetadataKey, testKID, flipBit(meta), []string{"does not match its hash"}},
		{"flipped bit in sealed SecKey", SecKey, testKID, flipBit(sealedSec), []string{"does not match its hash"}},
		{"truncated at half", SecKey, testKID, sec[:len(sec)/2], []string{"truncated"}},
		{"truncated at len-2", SecKey, testKID, sec[:len(sec)-2], []string{"truncated"}},
		{"empty", SecKey, testKID, nil, []string{"empty or truncated"}},
		{"not JSON", SecKey, testKID, []byte("SecKey.json"), []string{"not a valid key envelope"}},
		{"SecKey given as EncKey", EncKey, testKID, sec, []string{"renamed", "SecKey", "EncKey"}},
		{"EncKey given as SecKey", SecKey, testKID, mustBlob(t, ks, EncKey), []string{"renamed", "SecKey", "EncKey"}},
		{"MetadataKey given as SecKey", SecKey, testKID, meta, []string{"renamed", "MetadataKey"}},
		{"another key id", SecKey, "other-key", sec, []string{`key id "test-key", not "other-key"`}},
		{"trailing JSON", SecKey, testKID, append(slices.Clone(sec), "{}"...), []string{"after the JSON value"}},
		{"trailing text", SecKey, testKID, append(slices.Clone(sec), "x"...), []string{"after the JSON value"}},
		{"format_version 2", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["format_version"] = 2 }),
			[]string{"format_version 2", "accepted: 1"}},
		{"unknown format", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["format"] = "pgpkey" }),
			[]string{`unknown format "pgpkey"`, "accepted"}},
		{"missing created_at", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { delete(d, "created_at") }),
			[]string{"missing fields: created_at"}},
		{"missing entry hash", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { delete(e, "hash") }),
			[]string{"missing fields: entries[0].hash"}},
		{"bad base64", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["key_data"] = "!" + e["key_data"].(string)[1:] }),
			[]string{"key_data is not standard padded base64"}},
		{"unpadded base64", MetadataKey, testKID, editDoc(t, meta, func(_, e map[string]any) {
			e["key_data"] = strings.TrimRight(e["key_data"].(string), "=")
		}), []string{"key_data is not standard padded base64"}},
		{"dim edited", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) {
			e["metadata"].(map[string]any)["dim"] = "32,64,128,256,512,1024,2048"
		}), []string{"aad digest does not match"}},
		{"eval_mode edited", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) {
			e["metadata"].(map[string]any)["eval_mode"] = "MM"
		}), []string{"aad digest does not match"}},
		{"expires_at edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["expires_at"] = "2040-01-01T00:00:00Z" }),
			[]string{"integrity digest does not match"}},
		{"created_at edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["created_at"] = "2020-01-01T00:00:00Z" }),
			[]string{"integrity digest does not match"}},
		{"suspended", SecKey, testKID, rebuilt(SecKey, ks, func(e *envelope) { e.state.Value = StateSuspended }),
			[]string{"suspended, not active"}},
		{"compromised", SecKey, testKID, rebuilt(SecKey, ks, func(e *envelope) { e.state.Value = StateCompromised }),
			[]string{"compromised, not active"}},
		{"unknown state", SecKey, testKID, rebuilt(SecKey, ks, func(e *envelope) { e.state.Value = "paused" }),
			[]string{`unknown state "paused"`}},
		{"unknown top-level field", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["comment"] = "x" }),
			[]string{`unknown field "comment"`}},
		{"unknown entry field", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["kdf"] = "x" }),
			[]string{`unknown field "kdf"`}},
		// encoding/json matches names case-insensitively and keeps the last of two
		// repeated names; neither is accepted.
		{"case variant of kid", SecKey, testKID, rawEdit(t, sec, `"kid":`, `"KID":`), []string{`unknown field "KID"`, "matched exactly"}},
		{"case variant of key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":`, `"Key_Data":`), []string{`unknown field "Key_Data"`}},
		{"case variant in metadata", SecKey, testKID, rawEdit(t, sec, `"eval_mode":`, `"EVAL_MODE":`), []string{`unknown field "EVAL_MODE"`}},
		{"escaped field name", SecKey, testKID, rawEdit(t, sec, `"kid":`, `"k\u0069d":`), []string{"unknown field"}},
		{"repeated kid", SecKey, testKID, rawEdit(t, sec, `"kid":`, `"kid": "test-key", "kid":`), []string{`"kid" appears twice`}},
		{"repeated key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":`, `"key_data": "", "key_data":`), []string{`"key_data" appears twice`}},
		// JSON strings hold no raw control characters, and Go's base64 decoder skips
		// line breaks even in strict mode: neither gets through.
		{"raw line break in key_data", SecKey, testKID, rawEdit(t, sec, `"key_data": "`, "\"key_data\": \"\n"), []string{"key_data is not standard padded base64"}},
		{"escaped line break in key_data", SecKey, testKID, rawEdit(t, sec, `"key_data": "`, `"key_data": "\n`), []string{"key_data is not standard padded base64"}},
		{"padding inside EvalKey key_data", EvalKey, testKID, rawEdit(t, mustBlob(t, ks, EvalKey), `"key_data": "`, `"key_data": "AA==`), []string{"key_data is not standard padded base64"}},
		{"line breaks inside EvalKey key_data", EvalKey, testKID, lineBreaks(t, mustBlob(t, ks, EvalKey)), []string{"key_data is not standard padded base64"}},
		{"alg without iv and tag", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["alg"] = "AES-256-GCM" }),
			[]string{"needs all of alg, iv and tag"}},
		{"sealed without tag", SecKey, testKID, editDoc(t, sealedSec, func(_, e map[string]any) { delete(e, "tag") }),
			[]string{"needs all of alg, iv and tag"}},
		{"sealed EncKey", EncKey, testKID, rebuilt(EncKey, ks, func(e *envelope) {
			e.seal = &sealInfo{iv: make([]byte, 12), tag: make([]byte, 16)}
		}), []string{"public and is never sealed"}},
		{"short iv", SecKey, testKID, rebuilt(SecKey, sealed, func(e *envelope) {
			e.seal = &sealInfo{iv: make([]byte, 8), tag: e.seal.tag}
		}), []string{"iv of 8 bytes"}},
		{"wrap_alg without seal", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) {
			d["provider_meta"].(map[string]any)["wrap_alg"] = "AES-256-GCM"
		}), []string{"wrap_alg"}},
		{"two entries", SecKey, testKID, editDoc(t, sec, func(d, e map[string]any) { d["entries"] = []any{e, e} }),
			[]string{"2 entries"}},
		{"wrong Q", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) {
			e["metadata"].(map[string]any)["parameter"].(map[string]any)["Q"] = json.Number("1152921504606830593")
		}), []string{"do not match preset IP0"}},
		{"SecKey of wrong weight behind good digests", SecKey, testKID, rebuilt(SecKey, ks, func(e *envelope) {
			d := slices.Clone(e.keyData)
			for i := 8; i < len(d); i++ {
				if d[i] != 0 {
					d[i] = 0
					break
				}
			}
			e.keyData = d
		}), []string{"non-zero coefficients"}},
		{"MetadataKey of 16 bytes behind good digests", MetadataKey, testKID, rebuilt(MetadataKey, ks, func(e *envelope) {
			e.keyData = e.keyData[:16]
		}), []string{"MetadataKey data is 16 bytes"}},
	}
	for _, c := range cases {
		_, err := parseOne(c.role, c.kid, c.data, ParseOptions{})
		require.ErrorIs(t, err, ErrCorrupt, c.name)
		msg := err.Error()
		for _, s := range c.says {
			require.Contains(t, msg, s, c.name)
		}
		require.Contains(t, msg, c.role.String(), "%s: the message names the role asked for", c.name)
		require.False(t, leaks(msg, secrets), "%s: the message quotes key material: %s", c.name, msg)
	}

	// The originals parse, so each rejection above is due to its change.
	for _, r := range AllRoles {
		_, err := parseOne(r, testKID, mustBlob(t, ks, r), ParseOptions{})
		require.NoError(t, err, r.String())
	}
	_, err = parseOne(SecKey, testKID, sealedSec, ParseOptions{})
	require.NoError(t, err)
	// Trailing white space is not trailing data; a re-encoded but unchanged document parses.
	_, err = parseOne(SecKey, testKID, append(slices.Clone(sec), "\n\t \n"...), ParseOptions{})
	require.NoError(t, err)
	_, err = parseOne(SecKey, testKID, editDoc(t, sec, func(_, _ map[string]any) {}), ParseOptions{})
	require.NoError(t, err)
	// A JSON escape (`\u0041` for "A") leaves key_data the same.
	start := bytes.Index(sec, []byte(`"key_data": "`)) + len(`"key_data": "`)
	escaped := append(slices.Clone(sec[:start]), fmt.Sprintf(`\u%04x`, sec[start])...)
	escaped = append(escaped, sec[start+1:]...)
	_, err = parseOne(SecKey, testKID, escaped, ParseOptions{})
	require.NoError(t, err)
}

// rawEdit replaces the one occurrence of old in an envelope's text.
func rawEdit(t testing.TB, blob []byte, old, new string) []byte {
	t.Helper()
	require.Equal(t, 1, bytes.Count(blob, []byte(old)), "%q occurs once", old)
	return bytes.Replace(blob, []byte(old), []byte(new), 1)
}

// lineBreaks breaks the key_data string into 76-character lines, as MIME base64 is.
func lineBreaks(t testing.TB, blob []byte) []byte {
	t.Helper()
	start := bytes.Index(blob, []byte(`"key_data": "`)) + len(`"key_data": "`)
	end := start + bytes.IndexByte(blob[start:], '"')
	out := slices.Clone(blob[:start])
	for i := start; i < end; i += 76 {
		out = append(append(out, blob[i:min(i+76, end)]...), '\n')
	}
	return append(out, blob[end:]...)
}

// Inactive keys load only when the caller asks, and the state is covered by integrity,
// so editing a compromised key back to active does not work.
func TestEnvelopeInactiveStates(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	for _, state := range []string{StateSuspended, StateCompromised, StateDestroyed} {
		e := *ks.envs[SecKey]
		e.state.Value = state
		blob := e.marshal()
		_, err := parseOne(SecKey, testKID, blob, ParseOptions{})
		require.ErrorIs(t, err, ErrCorrupt, state)
		require.Contains(t, err.Error(), state, state)

		back, err := parseOne(SecKey, testKID, blob, ParseOptions{AllowInactive: true})
		require.NoError(t, err, state)
		require.Equal(t, state, back.Info()[0].State)
		require.Equal(t, ks.envs[SecKey].keyData, back.envs[SecKey].keyData)

		reactivated := editDoc(t, blob, func(d, _ map[string]any) { d["state"].(map[string]any)["value"] = StateActive })
		_, err = parseOne(SecKey, testKID, reactivated, ParseOptions{AllowInactive: true})
		require.ErrorIs(t, err, ErrCorrupt, state)
		require.Contains(t, err.Error(), "integrity digest does not match", state)
	}
	// Editing an active key to suspended is caught too, even when inactive keys are allowed.
	edited := editDoc(t, mustBlob(t, ks, SecKey), func(d, _ map[string]any) { d["state"].(map[string]any)["value"] = StateSuspended })
	_, err := parseOne(SecKey, testKID, edited, ParseOptions{AllowInactive: true})
	require.ErrorIs(t, err, ErrCorrupt)
	require.Contains(t, err.Error(), "integrity digest does not match")
}

func b64sha256(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// The JSON has the shape of DESIGN.md §5, and its digests are the ones §5 defines
// (computed here independently, as another tool reading the files would).
func TestEnvelopeShape(t *testing.T) {
	kek, err := GenerateKEK()
	require.NoError(t, err)
	type want struct {
		format, roleText, usage string
	}
	wants := map[Role]want{
		SecKey:      {"seckey", "decryption key", "vector_search"},
		EncKey:      {"enckey", "encryption key", "vector_search"},
		EvalKey:     {"evalkey", "evaluation key", "evaluation"},
		MetadataKey: {"metadatakey", "metadata key", "metadata_encryption"},
	}
	for _, c := range []struct {
		p                 Parameters
		preset, q, pp     string
		dbScale, qryScale string
		mode, dim         string
	}{
		{ip0RMP, "IP0", "2251799813554177", "36028797014376449", "24.0", "24.0", "RMP", "32,64,128,256,512,1024,2048,4096"},
		{Parameters{Preset: PresetIP1, EvalMode: EvalModeMM, Dims: []int{256, 32}}, "IP1", "1152921504606830593", "1032193", "34.0", "24.0", "MM", "32,256"},
	} {
		ks := testKeySet(t, c.p, 0)
		sealed, err := ks.Seal(kek)
		require.NoError(t, err)
		for _, set := range []*KeySet{ks, sealed} {
			for _, r := range AllRoles {
				w := wants[r]
				raw := mustBlob(t, set, r)
				doc := decodeDoc(t, raw)
				where := c.preset + " " + r.String()
				require.Equal(t, testKID, doc["kid"], where)
				require.Equal(t, w.format, doc["format"], where)
				require.Equal(t, json.Number("1"), doc["format_version"], where)
				require.Equal(t, "1", doc["key_version"], where)
				require.Equal(t, w.usage, doc["usage"], where)
				require.Equal(t, "2026-11-22T08:06:30Z", doc["created_at"], where)
				require.Equal(t, "2031-11-22T08:06:30Z", doc["expires_at"], where)
				created, err := time.Parse(time.RFC3339, doc["created_at"].(string))
				require.NoError(t, err)
				expires, err := time.Parse(time.RFC3339, doc["expires_at"].(string))
				require.NoError(t, err)
				require.True(t, created.AddDate(5, 0, 0).Equal(expires), where)
				require.Equal(t, map[string]any{"value": "active", "reason": nil, "updated_at": "2026-11-22T08:06:30Z"}, doc["state"], where)
				require.Equal(t, map[string]any{"entity": "tester", "method": "test", "type": "user"}, doc["requester"], where)

				e := entryOf(doc)
				require.Equal(t, w.format, e["name"], where)
				require.Equal(t, w.roleText, e["role"], where)
				md := e["metadata"].(map[string]any)
				require.Equal(t, map[string]any{
					"Q": json.Number(c.q), "P": json.Number(c.pp),
					"DB_SCALE_FACTOR": json.Number(c.dbScale), "QUERY_SCALE_FACTOR": json.Number(c.qryScale),
					"preset": c.preset,
				}, md["parameter"], where)
				require.Equal(t, c.mode, md["eval_mode"], where)
				require.Equal(t, c.dim, md["dim"], where)
				require.Equal(t, "ckks", md["scheme"], where)
				require.Equal(t, json.Number("12"), md["log_n"], where)
				// The scale factors are written with a decimal point, as the SDK writes them.
				require.Regexp(t, regexp.MustCompile(`"DB_SCALE_FACTOR":\s*`+regexp.QuoteMeta(c.dbScale)+`[,}]`), string(raw), where)
				require.Regexp(t, regexp.MustCompile(`"QUERY_SCALE_FACTOR":\s*`+regexp.QuoteMeta(c.qryScale)+`[,}]`), string(raw), where)

				keyData, err := base64.StdEncoding.DecodeString(e["key_data"].(string))
				require.NoError(t, err)
				require.Equal(t, set.envs[r].keyData, keyData, where)
				hash := sha256.Sum256(keyData)
				require.Equal(t, base64.StdEncoding.EncodeToString(hash[:]), e["hash"], where)

				ad := strings.Join([]string{"envector-keys/v1", testKID, w.format, w.roleText, c.preset, c.q, c.pp, c.mode, c.dim, "12"}, "\n")
				aad := doc["aad"].(map[string]any)
				require.Equal(t, "SHA256", aad["type"], where)
				require.Equal(t, b64sha256(ad), aad["value"], where)
				integrity := doc["integrity"].(map[string]any)
				require.Equal(t, "SHA256", integrity["type"], where)
				require.Equal(t, b64sha256(strings.Join([]string{
					testKID, w.format, "1", "2026-11-22T08:06:30Z", "2031-11-22T08:06:30Z", "active", b64sha256(ad), e["hash"].(string),
				}, "\n")), integrity["value"], where)

				prov := doc["provider_meta"].(map[string]any)
				require.Equal(t, "LOCAL", prov["type"], where)
				require.Equal(t, "1", prov["provider_version"], where)
				if set == sealed && r.Secret() {
					require.Equal(t, "AES-256-GCM", e["alg"], where)
					require.Equal(t, "AES-256-GCM", prov["wrap_alg"], where)
					iv, err := base64.StdEncoding.DecodeString(e["iv"].(string))
					require.NoError(t, err)
					require.Len(t, iv, 12, where)
					tag, err := base64.StdEncoding.DecodeString(e["tag"].(string))
					require.NoError(t, err)
					require.Len(t, tag, 16, where)
					require.NotEqual(t, ks.envs[r].keyData, keyData, "%s: sealed key_data is ciphertext", where)
					require.Len(t, keyData, len(ks.envs[r].keyData), where)
				} else {
					for _, f := range []string{"alg", "iv", "tag"} {
						require.NotContains(t, e, f, where)
					}
					require.Equal(t, "", prov["wrap_alg"], where)
				}
			}
		}
	}
}

// fuzzSeeds are real blobs of every role, unsealed and sealed. The EvalKey is an mm
// one (relinearization key only), the smallest there is.
func fuzzSeeds(t testing.TB) [][]byte {
	ks := testKeySet(t, Parameters{Preset: PresetIP0, EvalMode: EvalModeMM, Dims: []int{32}}, 0)
	kek, err := GenerateKEK()
	require.NoError(t, err)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	var out [][]byte
	for _, r := range AllRoles {
		out = append(out, mustBlob(t, ks, r))
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		out = append(out, mustBlob(t, sealed, r))
	}
	return out
}

// Whatever parseEnvelope accepts marshals to bytes that parse again and marshal to the
// same bytes; parsing never panics and refuses only with ErrCorrupt.
func FuzzParseEnvelope(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		for _, r := range AllRoles {
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
		require.Equal(t, r, e.role)
		once := e.marshal()
		e2, err := parseEnvelope(once, r, e.kid, ParseOptions{AllowInactive: true})
		require.NoError(t, err)
		require.Equal(t, once, e2.marshal())
	})
}

// The fuzz seeds are accepted as they are, so the fuzzer starts from valid envelopes.
func TestFuzzSeedsParse(t *testing.T) {
	seeds := fuzzSeeds(t)
	require.Len(t, seeds, 6)
	for _, b := range seeds {
		var doc struct{ Format string }
		require.NoError(t, json.Unmarshal(b, &doc))
		r, ok := roleOfFormat(doc.Format)
		require.True(t, ok)
		_, err := parseEnvelope(b, r, testKID, ParseOptions{})
		require.NoError(t, err)
	}
}
