package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

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

// rebuilt marshals a changed copy of an envelope with every digest of ours and
// enVector's recomputed (and, for a sealed secret, its MAC under kek), so that only the
// check under test can refuse it.
func rebuilt(t testing.TB, from *KeySet, r Role, kek *KEK, change func(e *envelope)) []byte {
	t.Helper()
	e := *from.envs[r]
	e.raw, e.macInput = nil, nil
	change(&e)
	e.hash = sha256b64(e.keyData)
	e.dataSize = int64(len(e.keyData))
	if e.sealed() && kek != nil {
		e.mac = envelopeMAC(kek, digestInput(e.document()))
	}
	b, err := e.marshal()
	require.NoError(t, err)
	return b
}

// forged edits an envelope's JSON and recomputes enVector's aad and our digest, as
// anyone who can write the file can: only a check that needs a secret (the MAC under
// the KEK) can tell.
func forged(t testing.TB, blob []byte, edit func(doc, entry map[string]any)) []byte {
	t.Helper()
	doc := decodeDoc(t, blob)
	edit(doc, entryOf(doc))
	req := doc["requester"].(map[string]any)
	doc["aad"].(map[string]any)["value"] = eviAAD(doc["kid"].(string), doc["usage"].(string),
		Requester{Entity: req["entity"].(string), Method: req["method"].(string), Type: req["type"].(string)},
		doc["created_at"].(string), doc["expires_at"].(string))
	entry := entryOf(doc)
	keyData := entry["key_data"]
	entry["key_data"] = ""
	ext := doc[extensionMember].(map[string]any)
	ext["digest"] = map[string]any{"type": digestType, "value": sha256b64(digestInput(doc))}
	entry["key_data"] = keyData
	return canonicalJSON(doc)
}

// Every damaged or misplaced envelope is refused with ErrCorrupt, a message that says
// what is wrong, and no piece of secret key material in the message.
func TestEnvelopeRejections(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	sec := mustBlob(t, ks, SecKey)
	meta := mustBlob(t, ks, MetadataKey)
	eval := mustBlob(t, ks, EvalKey)
	secrets := secretTexts(ks)
	require.Len(t, secrets, 2)
	// The detector works: a message quoting key material is caught.
	require.True(t, leaks("bad key "+secrets[0][100:110]+"...", secrets))
	require.True(t, leaks("bad key "+secrets[1][30:38], secrets))

	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	sealedSec := mustBlob(t, sealed, SecKey)
	sealedMeta := mustBlob(t, sealed, MetadataKey)

	// flipBit flips one bit of the decoded key_data and re-encodes it, hashes untouched.
	flipBit := func(blob []byte) []byte {
		return editDoc(t, blob, func(_, e map[string]any) {
			data, err := base64.StdEncoding.DecodeString(e["key_data"].(string))
			require.NoError(t, err)
			data[len(data)/2] ^= 0x10
			e["key_data"] = base64.StdEncoding.EncodeToString(data)
		})
	}
	setState := func(v string) func(e *envelope) { return func(e *envelope) { e.state.Value = v } }

	cases := []struct {
		name string
		role Role   // the role the caller asks for
		kid  string // the key id the caller asks for
		data []byte
		says []string
	}{
		{"flipped bit in SecKey", SecKey, testKID, flipBit(sec), []string{"does not match its hash"}},
		{"flipped bit in EncKey", EncKey, testKID, flipBit(mustBlob(t, ks, EncKey)), []string{"does not match its hash"}},
		{"flipped bit in EvalKey", EvalKey, testKID, flipBit(eval), []string{"does not match its hash"}},
		{"flipped bit in MetadataKey", MetadataKey, testKID, flipBit(meta), []string{"does not match its hash"}},
		{"flipped bit in sealed SecKey", SecKey, testKID, flipBit(sealedSec), []string{"does not match its hash"}},
		{"truncated at half", SecKey, testKID, sec[:len(sec)/2], []string{"truncated"}},
		{"truncated at len-2", SecKey, testKID, sec[:len(sec)-2], []string{"truncated"}},
		{"empty", SecKey, testKID, nil, []string{"empty or truncated"}},
		{"not JSON", SecKey, testKID, []byte("SecKey.json"), []string{"not a key envelope"}},
		{"SecKey given as EncKey", EncKey, testKID, sec, []string{"renamed", "SecKey", "EncKey"}},
		{"EncKey given as SecKey", SecKey, testKID, mustBlob(t, ks, EncKey), []string{"renamed", "SecKey", "EncKey"}},
		{"MetadataKey given as SecKey", SecKey, testKID, meta, []string{"renamed", "MetadataKey"}},
		{"another key id", SecKey, "other-key", sec, []string{`key id "test-key", not "other-key"`}},
		{"trailing JSON", SecKey, testKID, append(slices.Clone(sec), "{}"...), []string{"after the JSON value"}},
		{"trailing text", SecKey, testKID, append(slices.Clone(sec), "x"...), []string{"after the JSON value"}},
		{"format_version 2", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["format_version"] = 2 }),
			[]string{"format_version 2", "accepted: 1"}},
		{"unknown entry name", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["name"] = "pgpkey" }),
			[]string{`unknown entry name "pgpkey"`, "accepted"}},
		{"entry role of another key", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["role"] = "encryption key" }),
			[]string{`entry role "encryption key" does not fit a SecKey`}},
		{"usage of envector-keys 0.1", EvalKey, testKID, editDoc(t, eval, func(d, _ map[string]any) { d["usage"] = "evaluation" }),
			[]string{`usage "evaluation"`, `accepted: "vector_search"`}},
		{"missing created_at", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { delete(d, "created_at") }),
			[]string{"missing fields: created_at"}},
		{"missing requester", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { delete(d, "requester") }),
			[]string{"missing fields: requester"}},
		{"missing entry hash", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { delete(e, "hash") }),
			[]string{"missing fields: entries[0].hash"}},
		{"no entries", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["entries"] = []any{} }),
			[]string{"0 entries"}},
		{"two entries", SecKey, testKID, editDoc(t, sec, func(d, e map[string]any) { d["entries"] = []any{e, e} }),
			[]string{"2 key_data members"}},
		{"hash of string form (0.1)", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["hash"] = "abc" }),
			[]string{`field "entries.hash" has the wrong type`}},
		{"bad base64", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["key_data"] = "!" + e["key_data"].(string)[1:] }),
			[]string{"key_data is not standard padded base64"}},
		{"unpadded base64", MetadataKey, testKID, editDoc(t, meta, func(_, e map[string]any) {
			e["key_data"] = strings.TrimRight(e["key_data"].(string), "=")
		}), []string{"key_data is not standard padded base64"}},
		// What enVector's aad covers: key id, usage, requester, created_at, expires_at.
		{"requester edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["requester"].(map[string]any)["entity"] = "mallory" }),
			[]string{"aad digest does not match"}},
		{"expires_at edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["expires_at"] = "2040-01-01T00:00:00Z" }),
			[]string{"aad digest does not match"}},
		{"created_at edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["created_at"] = "2020-01-01T00:00:00Z" }),
			[]string{"aad digest does not match"}},
		{"integrity edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["integrity"].(map[string]any)["value"] = b64sha256("x") }),
			[]string{"integrity digest does not match"}},
		// What only our digest covers.
		{"dims edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d[extensionMember].(map[string]any)["dims"] = "32,64" }),
			[]string{"envector-keys digest does not match"}},
		{"state reason edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["state"].(map[string]any)["reason"] = "x" }),
			[]string{"envector-keys digest does not match"}},
		{"key_version edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["key_version"] = "2" }),
			[]string{"envector-keys digest does not match"}},
		{"unknown field added", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d["comment"] = "x" }),
			[]string{"envector-keys digest does not match"}},
		{"eval_mode edited", EvalKey, testKID, editDoc(t, eval, func(_, e map[string]any) {
			e["metadata"].(map[string]any)["eval_mode"] = "MM"
		}), []string{"entries[0].metadata.eval_mode"}},
		{"wrong Q", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) {
			e["metadata"].(map[string]any)["parameter"].(map[string]any)["Q"] = json.Number("1152921504606830593")
		}), []string{"does not match preset IP0"}},
		{"our role edited", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d[extensionMember].(map[string]any)["role"] = "EncKey" }),
			[]string{`envector_keys names role "EncKey"`}},
		{"unknown key format", SecKey, testKID, editDoc(t, sec, func(d, _ map[string]any) { d[extensionMember].(map[string]any)["key_format"] = "seal" }),
			[]string{`key_format "seal"`}},
		{"unknown state", SecKey, testKID, rebuilt(t, ks, SecKey, nil, setState("paused")), []string{"unknown state"}},
		// encoding/json matches names case-insensitively and keeps the last of two
		// repeated names; neither is accepted.
		{"case variant of kid", SecKey, testKID, rawEdit(t, sec, `"kid":`, `"KID":`), []string{"missing fields: kid"}},
		{"case variant of key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":`, `"Key_Data":`), []string{"missing fields: entries[0].key_data"}},
		{"repeated kid", SecKey, testKID, rawEdit(t, sec, `"kid":`, `"kid": "test-key", "kid":`), []string{`"kid" appears twice`}},
		{"repeated key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":`, `"key_data": "", "key_data":`), []string{"2 key_data members"}},
		// JSON strings hold no raw control characters, and Go's base64 decoder skips
		// line breaks even in strict mode: neither gets through.
		{"raw line break in key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":"`, "\"key_data\":\"\n"), []string{"key_data is not standard padded base64"}},
		{"escaped line break in key_data", SecKey, testKID, rawEdit(t, sec, `"key_data":"`, `"key_data":"\n`), []string{"key_data is not standard padded base64"}},
		{"padding inside EvalKey key_data", EvalKey, testKID, rawEdit(t, eval, `"key_data":"`, `"key_data":"AA==`), []string{"key_data is not standard padded base64"}},
		{"line breaks inside EvalKey key_data", EvalKey, testKID, lineBreaks(t, eval), []string{"key_data is not standard padded base64"}},
		{"alg without iv and tag", SecKey, testKID, editDoc(t, sec, func(_, e map[string]any) { e["alg"] = "AES-KEK" }),
			[]string{"needs all of alg, iv and tag"}},
		{"sealed without tag", SecKey, testKID, editDoc(t, sealedSec, func(_, e map[string]any) { delete(e, "tag") }),
			[]string{"needs all of alg, iv and tag"}},
		{"sealed with another iv", MetadataKey, testKID, editDoc(t, sealedMeta, func(_, e map[string]any) { e["iv"] = base64.StdEncoding.EncodeToString(make([]byte, 12)) }),
			[]string{"iv and tag do not match the sealed key_data"}},
		{"sealed with another alg", SecKey, testKID, editDoc(t, sealedSec, func(_, e map[string]any) { e["alg"] = "AES-256-GCM" }),
			[]string{`seal algorithm "AES-256-GCM" is not supported for a SecKey`}},
		{"sealed without its MAC", SecKey, testKID, forged(t, sealedSec, func(d, _ map[string]any) { delete(d[extensionMember].(map[string]any), "mac") }),
			[]string{"carries a MAC; this one has none"}},
		{"sealed EncKey", EncKey, testKID, rebuilt(t, ks, EncKey, nil, func(e *envelope) {
			e.seal = &sealInfo{alg: sealAlgSecKey, iv: make([]byte, 12), tag: make([]byte, 16)}
		}), []string{"public and is never sealed"}},
		{"SecKey of wrong weight behind good digests", SecKey, testKID, rebuilt(t, ks, SecKey, nil, func(e *envelope) {
			d := slices.Clone(e.keyData)
			for i := 5; i < len(d); i++ {
				if d[i] != 0 {
					d[i] = 0
					break
				}
			}
			e.keyData = d
		}), []string{"non-zero coefficients"}},
		{"MetadataKey of 16 bytes behind good digests", MetadataKey, testKID, rebuilt(t, ks, MetadataKey, nil, func(e *envelope) {
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
	// White space anywhere outside strings is not data; a re-encoded but unchanged
	// document parses.
	_, err = parseOne(SecKey, testKID, append(slices.Clone(sec), "\n\t \n"...), ParseOptions{})
	require.NoError(t, err)
	var indented bytes.Buffer
	require.NoError(t, json.Indent(&indented, meta, "", "    "))
	_, err = parseOne(MetadataKey, testKID, indented.Bytes(), ParseOptions{})
	require.NoError(t, err)
	_, err = parseOne(SecKey, testKID, forged(t, sec, func(_, _ map[string]any) {}), ParseOptions{})
	require.NoError(t, err)
}

// An edit made and digested by someone without the KEK parses (our digest is not a
// signature) but does not unseal: the MAC under the KEK binds every field.
func TestSealedEnvelopeMAC(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	for _, r := range []Role{SecKey, MetadataKey} {
		blob := mustBlob(t, sealed, r)
		edits := map[string]func(d, e map[string]any){
			"requester": func(d, _ map[string]any) { d["requester"].(map[string]any)["entity"] = "mallory" },
			"expiry":    func(d, _ map[string]any) { d["expires_at"] = "2099-01-01T00:00:00Z" },
			"reason":    func(d, _ map[string]any) { d["state"].(map[string]any)["reason"] = "restored" },
			"version":   func(d, _ map[string]any) { d["key_version"] = "7" },
			"dims":      func(d, _ map[string]any) { d[extensionMember].(map[string]any)["dims"] = "32" },
			"field":     func(d, _ map[string]any) { d["note"] = "added" },
		}
		for name, edit := range edits {
			f := forged(t, blob, edit)
			set, err := parseOne(r, testKID, f, ParseOptions{})
			require.NoError(t, err, "%s %s: digests were recomputed, so it parses", r, name)
			_, err = set.Unseal(kek)
			require.ErrorIs(t, err, ErrAuth, "%s %s", r, name)
			require.Contains(t, err.Error(), "does not authenticate under this KEK", "%s %s", r, name)
		}
		// Untouched, it unseals to the same key bytes.
		set, err := parseOne(r, testKID, forged(t, blob, func(_, _ map[string]any) {}), ParseOptions{})
		require.NoError(t, err)
		plain, err := set.Unseal(kek)
		require.NoError(t, err)
		require.Equal(t, ks.envs[r].keyData, plain.envs[r].keyData)
	}
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
	start := bytes.Index(blob, []byte(`"key_data":"`)) + len(`"key_data":"`)
	end := start + bytes.IndexByte(blob[start:], '"')
	out := slices.Clone(blob[:start])
	for i := start; i < end; i += 76 {
		out = append(append(out, blob[i:min(i+76, end)]...), '\n')
	}
	return append(out, blob[end:]...)
}

// Keys that are not active, or expired, load only when the caller asks, and the state
// is covered by our digest, so editing a deactivated key back to active is caught.
func TestEnvelopeInactiveStates(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	for _, state := range []string{StatePreparing, StateDeactivated, StateDestroyed} {
		blob := rebuilt(t, ks, SecKey, nil, func(e *envelope) { e.state.Value = state })
		_, err := parseOne(SecKey, testKID, blob, ParseOptions{})
		require.ErrorIs(t, err, ErrInactive, state)
		require.Contains(t, err.Error(), state, state)

		back, err := parseOne(SecKey, testKID, blob, ParseOptions{AllowInactive: true})
		require.NoError(t, err, state)
		require.Equal(t, state, back.Info()[0].State)
		require.Equal(t, ks.envs[SecKey].keyData, back.envs[SecKey].keyData)

		reactivated := editDoc(t, blob, func(d, _ map[string]any) { d["state"].(map[string]any)["value"] = StateActive })
		_, err = parseOne(SecKey, testKID, reactivated, ParseOptions{AllowInactive: true})
		require.ErrorIs(t, err, ErrCorrupt, state)
		require.Contains(t, err.Error(), "envector-keys digest does not match", state)
	}
	expired := rebuilt(t, ks, SecKey, nil, func(e *envelope) { e.expiresAt = "2020-01-01T00:00:00Z" })
	_, err := parseOne(SecKey, testKID, expired, ParseOptions{})
	require.ErrorIs(t, err, ErrInactive)
	require.Contains(t, err.Error(), "expired")
	_, err = parseOne(SecKey, testKID, expired, ParseOptions{AllowInactive: true})
	require.NoError(t, err)
}

func b64sha256(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(h[:])
}

// The JSON is enVector's envelope, field for field, with its digests computed here
// independently, as enVector computes them; our member sits beside it.
func TestEnvelopeShape(t *testing.T) {
	kek := newKEK(t)
	type want struct{ name, roleText, short string }
	wants := map[Role]want{
		SecKey:      {"seckey", "decryption key", "sec"},
		EncKey:      {"enckey", "encryption key", "enc"},
		EvalKey:     {"evalkey", "evaluation key", "eval"},
		MetadataKey: {"metadatakey", "metadata key", "metadata"},
	}
	for _, c := range []struct {
		p                 Parameters
		preset, q, pp     string
		dbScale, qryScale string
		mode, dim         string
	}{
		{ip0RMP, "IP0", "2251799813554177", "36028797014376449", "24", "24", "RMP", "32,64,128,256,512,1024,2048,4096"},
		{Parameters{Preset: legacyIP1, EvalMode: EvalModeMM, Dims: []int{256, 32}}, "IP1", "1152921504606830593", "1032193", "34", "24", "MM", "32,256"},
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
				// One compact JSON object, keys sorted, as enVector writes it.
				var compact bytes.Buffer
				require.NoError(t, json.Compact(&compact, raw))
				require.Equal(t, compact.String(), string(raw), where)
				require.Equal(t, string(canonicalJSON(doc)), string(raw), "%s: keys sorted", where)

				require.Equal(t, testKID, doc["kid"], where)
				require.Equal(t, json.Number("1"), doc["format_version"], where)
				require.Equal(t, "1", doc["key_version"], where)
				require.Equal(t, "vector_search", doc["usage"], where)
				require.Equal(t, "2026-11-22T08:06:30Z", doc["created_at"], where)
				require.Equal(t, "2031-11-21T08:06:30Z", doc["expires_at"], "%s: created_at + 43,800 h", where)
				require.Equal(t, map[string]any{"value": "active", "reason": nil, "updated_at": "2026-11-22T08:06:30Z"}, doc["state"], where)
				require.Equal(t, map[string]any{"entity": "tester", "method": "test", "type": "user"}, doc["requester"], where)
				require.NotContains(t, doc, "format", where)
				require.NotContains(t, doc, "provider_meta", where)

				aadJSON := `{"created_at":"2026-11-22T08:06:30Z","expires_at":"2031-11-21T08:06:30Z","kid":"test-key","requester":{"entity":"tester","method":"test","type":"user"},"usage":"vector_search"}`
				require.Equal(t, map[string]any{"type": "SHA256", "value": b64sha256(aadJSON)}, doc["aad"], where)
				require.Equal(t, map[string]any{"type": "SHA256", "value": b64sha256(testKID + ":" + w.short + ":integrity")}, doc["integrity"], where)

				e := entryOf(doc)
				isSealed := set == sealed && r.Secret()
				if isSealed && r == SecKey {
					require.Equal(t, "seckey.sealed", e["name"], where)
				} else {
					require.Equal(t, w.name, e["name"], where)
				}
				require.Equal(t, w.roleText, e["role"], where)
				if r == MetadataKey {
					require.NotContains(t, e, "metadata", "%s: enVector writes no metadata on a MetadataKey", where)
				} else {
					mode := ""
					if r == EvalKey {
						mode = c.mode
					}
					require.Equal(t, map[string]any{
						"eval_mode": mode,
						"parameter": map[string]any{
							"Q": json.Number(c.q), "P": json.Number(c.pp),
							"DB_SCALE_FACTOR": json.Number(c.dbScale), "QUERY_SCALE_FACTOR": json.Number(c.qryScale),
							"preset": c.preset,
						},
					}, e["metadata"], where)
				}
				keyData, err := base64.StdEncoding.DecodeString(e["key_data"].(string))
				require.NoError(t, err)
				require.Equal(t, set.envs[r].keyData, keyData, where)
				hash := sha256.Sum256(keyData)
				require.Equal(t, map[string]any{"type": "SHA256", "value": base64.StdEncoding.EncodeToString(hash[:])}, e["hash"], where)

				ext := doc[extensionMember].(map[string]any)
				require.Equal(t, json.Number("1"), ext["version"], where)
				require.Equal(t, r.String(), ext["role"], where)
				require.Equal(t, c.preset, ext["preset"], where)
				require.Equal(t, "lattigo-v5", ext["key_format"], where)
				require.Equal(t, c.mode, ext["eval_mode"], where)
				require.Equal(t, c.dim, ext["dims"], where)
				require.Equal(t, "SHA256", ext["digest"].(map[string]any)["type"], where)
				if isSealed {
					require.Equal(t, "HMAC-SHA256", ext["mac"].(map[string]any)["type"], where)
				} else {
					require.NotContains(t, ext, "mac", where)
				}

				if !isSealed {
					for _, f := range []string{"alg", "iv", "tag"} {
						require.NotContains(t, e, f, where)
					}
					continue
				}
				iv, err := base64.StdEncoding.DecodeString(e["iv"].(string))
				require.NoError(t, err)
				tag, err := base64.StdEncoding.DecodeString(e["tag"].(string))
				require.NoError(t, err)
				require.Len(t, iv, 12, where)
				require.Len(t, tag, 16, where)
				plain := ks.envs[r].keyData
				var rest []byte
				if r == SecKey {
					require.Equal(t, "AES-KEK", e["alg"], where)
					header := "{\n    \"ParameterPreset\": \"" + c.preset + "\",\n    \"SealType\": \"AES-KEK\"\n}"
					require.True(t, bytes.HasPrefix(keyData, []byte(header)), where)
					rest = keyData[len(header):]
					require.Equal(t, []byte{0, 0, 0, 0}, rest[:4], where)
					rest = rest[4:]
				} else {
					require.Equal(t, "AES-256-GCM", e["alg"], where)
					require.Equal(t, []byte("EVIS\x01"), keyData[:5], where)
					rest = keyData[5:]
				}
				require.Equal(t, iv, rest[:12], where)
				require.Equal(t, tag, rest[12:28], where)
				n := int(rest[28]) | int(rest[29])<<8 | int(rest[30])<<16 | int(rest[31])<<24
				ct := rest[32:]
				require.Equal(t, len(plain), n, where)
				require.Len(t, ct, n, where)
				// AES-256-GCM under the KEK itself, no associated data: what enVector opens.
				gcm := kek.aead()
				opened, err := gcm.Open(nil, iv, append(slices.Clone(ct), tag...), nil)
				require.NoError(t, err, where)
				require.Equal(t, plain, opened, where)
			}
		}
	}
}

// fuzzSeeds are real blobs of every role, unsealed and sealed. The EvalKey is an mm
// one (relinearization key only), the smallest there is.
func fuzzSeeds(t testing.TB) [][]byte {
	ks := testKeySet(t, Parameters{Preset: legacyIP0, EvalMode: EvalModeMM, Dims: []int{32}}, 0)
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

func parseBytes(data []byte, r Role, kid string, opts ParseOptions) (*envelope, error) {
	return readEnvelope(bytes.NewReader(data), int64(len(data)), r, kid, opts)
}

// Whatever the parser accepts marshals to bytes that parse again and marshal to the
// same bytes; parsing never panics and refuses only with ErrCorrupt.
func FuzzParseEnvelope(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		for _, r := range AllRoles {
			f.Add(b, uint8(r))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, role uint8) {
		r := Role(role % uint8(numRoles))
		e, err := parseBytes(data, r, "", ParseOptions{AllowInactive: true})
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		require.Equal(t, r, e.role)
		once, err := e.marshal()
		require.NoError(t, err)
		e2, err := parseBytes(once, r, e.kid, ParseOptions{AllowInactive: true})
		require.NoError(t, err)
		twice, err := e2.marshal()
		require.NoError(t, err)
		require.Equal(t, once, twice)
	})
}

// The fuzz seeds are accepted as they are, so the fuzzer starts from valid envelopes.
func TestFuzzSeedsParse(t *testing.T) {
	seeds := fuzzSeeds(t)
	require.Len(t, seeds, 6)
	for _, b := range seeds {
		var doc struct {
			Extension struct{ Role string } `json:"envector_keys"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		r, err := ParseRole(doc.Extension.Role)
		require.NoError(t, err)
		_, err = parseBytes(b, r, testKID, ParseOptions{})
		require.NoError(t, err)
	}
}
