package core

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The envelope of envector-keys 0.1 (the legacy dialect): read so that key sets made by
// that release still load, never written. It had "format" and "provider_meta" at the
// top level, string hashes, an associated data string of our own (also the AES-GCM
// associated data of its sealed keys) and an integrity digest over the main fields.

const (
	legacyADPrefix   = "envector-keys/v1"
	legacyKeyVersion = "1"
	legacySealAlg    = "AES-256-GCM"
)

type providerMeta struct {
	Type            string `json:"type"`
	ProviderVersion string `json:"provider_version"`
	VersionID       string `json:"version_id"`
	WrapAlg         string `json:"wrap_alg"`
}

type legacyWireParameter struct {
	Q                uint64  `json:"Q"`
	P                uint64  `json:"P"`
	DBScaleFactor    float64 `json:"DB_SCALE_FACTOR"`
	QueryScaleFactor float64 `json:"QUERY_SCALE_FACTOR"`
	Preset           string  `json:"preset"`
}

type legacyWireMetadata struct {
	Parameter legacyWireParameter `json:"parameter"`
	EvalMode  string              `json:"eval_mode"`
	Dim       string              `json:"dim"`
	Scheme    string              `json:"scheme"`
	LogN      int                 `json:"log_n"`
}

// associatedData is the string every digest and seal binds to: the key id, the role and
// the parameters. Sealing uses it as AES-GCM associated data, so a sealed blob moved to
// another key id or role, or given other parameters, does not unseal.
func legacyAssociatedData(kid string, r Role, p Parameters) []byte {
	return []byte(strings.Join([]string{
		legacyADPrefix, kid, r.Format(), r.info().roleText, p.Preset.name,
		strconv.FormatUint(p.Preset.q, 10), strconv.FormatUint(p.Preset.p, 10),
		string(p.EvalMode), FormatDimList(p.Dims), strconv.Itoa(logN),
	}, "\n"))
}

func (e *envelope) legacyAAD() string {
	return sha256b64(legacyAssociatedData(e.kid, e.role, e.params))
}

func (e *envelope) legacyIntegrity(aad string) string {
	return sha256b64([]byte(strings.Join([]string{
		e.kid, e.role.Format(), legacyKeyVersion, e.createdAt, e.expiresAt, e.state.Value, aad, e.hash,
	}, "\n")))
}

// The legacy wire types; pointers tell a missing field from an empty one.
type legacyWireEnvelope struct {
	KID           *string           `json:"kid"`
	Format        *string           `json:"format"`
	FormatVersion *int              `json:"format_version"`
	KeyVersion    *string           `json:"key_version"`
	Usage         *string           `json:"usage"`
	CreatedAt     *string           `json:"created_at"`
	ExpiresAt     *string           `json:"expires_at"`
	State         *keyState         `json:"state"`
	Requester     *Requester        `json:"requester"`
	ProviderMeta  *providerMeta     `json:"provider_meta"`
	AAD           *digest           `json:"aad"`
	Integrity     *digest           `json:"integrity"`
	Entries       []legacyWireEntry `json:"entries"`
}

type legacyWireEntry struct {
	Name     *string             `json:"name"`
	Role     *string             `json:"role"`
	Hash     *string             `json:"hash"`
	Metadata *legacyWireMetadata `json:"metadata"`
	KeyData  *string             `json:"key_data"`
	Alg      *string             `json:"alg"`
	IV       *string             `json:"iv"`
	Tag      *string             `json:"tag"`
}

// parseLegacyEnvelope checks an envector-keys 0.1 envelope read by splitEnvelope.
func parseLegacyEnvelope(sr *splitResult, want Role, kid string, opts ParseOptions) (*envelope, error) {
	op := "envelope.Parse(" + want.String() + ")"
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }

	if nameErr := checkLegacyNames(sr.doc); nameErr != "" {
		return nil, bad("not a valid key envelope (%s)", nameErr)
	}
	var w legacyWireEnvelope
	dec := json.NewDecoder(bytes.NewReader(sr.doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, bad("not a valid key envelope (%s)", jsonErrorText(err))
	}

	var missing []string
	need := func(ok bool, name string) {
		if !ok {
			missing = append(missing, name)
		}
	}
	need(w.KID != nil, "kid")
	need(w.Format != nil, "format")
	need(w.FormatVersion != nil, "format_version")
	need(w.KeyVersion != nil, "key_version")
	need(w.Usage != nil, "usage")
	need(w.CreatedAt != nil, "created_at")
	need(w.ExpiresAt != nil, "expires_at")
	need(w.State != nil, "state")
	need(w.Requester != nil, "requester")
	need(w.ProviderMeta != nil, "provider_meta")
	need(w.AAD != nil, "aad")
	need(w.Integrity != nil, "integrity")
	need(w.Entries != nil, "entries")
	if len(missing) > 0 {
		return nil, bad("missing fields: %s", strings.Join(missing, ", "))
	}
	if *w.FormatVersion != envelopeFormatVersion {
		return nil, bad("unsupported format_version %d; accepted: %d", *w.FormatVersion, envelopeFormatVersion)
	}
	role, ok := roleOfFormat(*w.Format)
	if !ok {
		return nil, bad("unknown format %s; accepted: seckey, enckey, evalkey, metadatakey", quoteShort(*w.Format))
	}
	if role != want {
		return nil, bad("this is a %s (format %q), not a %s: was the file renamed or the blob moved?", role, *w.Format, want)
	}
	info := role.info()
	if kid != "" && *w.KID != kid {
		return nil, bad("the envelope belongs to key id %s, not %s", quoteShort(*w.KID), quoteShort(kid))
	}
	if err := CheckKeyID(*w.KID); err != nil {
		return nil, bad("kid: %s", err.(*Error).Msg)
	}
	if *w.KeyVersion != legacyKeyVersion {
		return nil, bad("unsupported key_version %s; accepted: %q", quoteShort(*w.KeyVersion), legacyKeyVersion)
	}
	if *w.Usage != info.usage {
		return nil, bad("usage %s does not fit a %s; expected %q", quoteShort(*w.Usage), role, info.usage)
	}
	for _, t := range []struct{ name, v string }{{"created_at", *w.CreatedAt}, {"expires_at", *w.ExpiresAt}, {"state.updated_at", w.State.UpdatedAt}} {
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return nil, bad("%s %s is not an RFC 3339 time", t.name, quoteShort(t.v))
		}
	}
	if !slices.Contains([]string{StateActive, StateSuspended, StateCompromised, StateDestroyed}, w.State.Value) {
		return nil, bad("unknown state %s; accepted: active, suspended, compromised, destroyed", quoteShort(w.State.Value))
	}
	if err := checkUsable(op, w.State.Value, *w.ExpiresAt, opts); err != nil {
		return nil, err
	}
	if w.AAD.Type != digestType || w.Integrity.Type != digestType {
		return nil, bad("unsupported digest type; accepted: %s", digestType)
	}
	if len(w.Entries) != 1 {
		return nil, bad("%d entries; a key envelope holds exactly 1", len(w.Entries))
	}
	we := w.Entries[0]
	missing = nil
	need(we.Name != nil, "entries[0].name")
	need(we.Role != nil, "entries[0].role")
	need(we.Hash != nil, "entries[0].hash")
	need(we.Metadata != nil, "entries[0].metadata")
	need(we.KeyData != nil, "entries[0].key_data")
	if len(missing) > 0 {
		return nil, bad("missing fields: %s", strings.Join(missing, ", "))
	}
	if *we.Name != info.format || *we.Role != info.roleText {
		return nil, bad("entry name %s / role %s do not fit a %s; expected %q / %q", quoteShort(*we.Name), quoteShort(*we.Role), role, info.format, info.roleText)
	}
	params, err := legacyParametersOf(*we.Metadata)
	if err != nil {
		return nil, bad("metadata: %s", err.(*Error).Msg)
	}

	e := &envelope{
		kid: *w.KID, role: role, dialect: DialectLegacy, params: params, keyVersion: *w.KeyVersion,
		createdAt: *w.CreatedAt, expiresAt: *w.ExpiresAt,
		state: *w.State, requester: *w.Requester, provider: *w.ProviderMeta,
		keyData: sr.keyData, dataSize: sr.size, hash: sr.hash, dropped: sr.keyData == nil,
		raw: &rawDocument{head: sr.doc[:sr.keyAt], tail: sr.doc[sr.keyAt:]},
	}

	// Sealed or not: alg, iv and tag come together, and wrap_alg says the same.
	switch {
	case we.Alg == nil && we.IV == nil && we.Tag == nil:
		if e.provider.WrapAlg != "" {
			return nil, bad("provider_meta.wrap_alg is %s but the entry is not sealed (no alg, iv, tag)", quoteShort(e.provider.WrapAlg))
		}
	case we.Alg != nil && we.IV != nil && we.Tag != nil:
		if !role.Secret() {
			return nil, bad("a %s is public and is never sealed, but this entry carries alg/iv/tag", role)
		}
		if *we.Alg != legacySealAlg || e.provider.WrapAlg != legacySealAlg {
			return nil, bad("seal algorithm %s (wrap_alg %s) is not supported; accepted: %s", quoteShort(*we.Alg), quoteShort(e.provider.WrapAlg), legacySealAlg)
		}
		iv, err1 := base64.StdEncoding.Strict().DecodeString(*we.IV)
		tag, err2 := base64.StdEncoding.Strict().DecodeString(*we.Tag)
		if err1 != nil || err2 != nil {
			return nil, bad("entries[0].iv or tag is not standard padded base64")
		}
		if len(iv) != gcmNonceSize || len(tag) != gcmTagSize {
			return nil, bad("iv of %d bytes and tag of %d bytes; accepted: %d and %d", len(iv), len(tag), gcmNonceSize, gcmTagSize)
		}
		e.seal = &sealInfo{alg: legacySealAlg, iv: iv, tag: tag}
	default:
		return nil, bad("a sealed entry needs all of alg, iv and tag; some are missing")
	}

	// Digests: the key bytes, the associated data, then the whole.
	if *we.Hash != e.hash {
		return nil, bad("the key_data does not match its hash: the key bytes were altered or truncated")
	}
	aad := e.legacyAAD()
	if w.AAD.Value != aad {
		return nil, bad("the aad digest does not match the key id, role and parameters: the envelope was edited")
	}
	if w.Integrity.Value != e.legacyIntegrity(aad) {
		return nil, bad("the integrity digest does not match: the envelope was edited")
	}
	if e.keyData != nil {
		if err := checkKeyData(role, params, e.keyData, e.sealed()); err != nil {
			return nil, bad("%s", err.(*Error).Msg)
		}
	}
	return e, nil
}

// unsealLegacyEnvelope opens a key sealed by envector-keys 0.1: AES-256-GCM with the
// legacy associated data. The result is an unsealed envelope of the current dialect.
func unsealLegacyEnvelope(e *envelope, kek *KEK) (*envelope, error) {
	ct := make([]byte, 0, len(e.keyData)+gcmTagSize)
	ct = append(append(ct, e.keyData...), e.seal.tag...)
	plain, err := kek.aead().Open(nil, e.seal.iv, ct, legacyAssociatedData(e.kid, e.role, e.params))
	if err != nil {
		return nil, Errorf(ErrAuth, "unseal", "%s of key %q does not unseal: wrong KEK, or the sealed data was altered or moved", e.role, e.kid)
	}
	if err := checkKeyData(e.role, e.params, plain, false); err != nil {
		wipe(plain)
		return nil, err
	}
	return e.withKeyData(plain, nil), nil
}

// legacyParametersOf checks a legacy entry's metadata against this release's presets.
func legacyParametersOf(m legacyWireMetadata) (Parameters, error) {
	op := "envelope"
	preset, ok := legacyPreset(m.Parameter.Preset)
	if !ok {
		return Parameters{}, Errorf(ErrCorrupt, op, "unknown preset %s; accepted: IP0, IP1", quoteShort(m.Parameter.Preset))
	}
	if m.Parameter.Q != preset.q || m.Parameter.P != preset.p ||
		m.Parameter.DBScaleFactor != preset.logDBScale || m.Parameter.QueryScaleFactor != preset.logQryScale {
		return Parameters{}, Errorf(ErrCorrupt, op, "Q, P or scale factors do not match preset %s", preset.name)
	}
	if m.Scheme != "ckks" || m.LogN != logN {
		return Parameters{}, Errorf(ErrCorrupt, op, "scheme %s with log_n %d; accepted: ckks with log_n %d", quoteShort(m.Scheme), m.LogN, logN)
	}
	mode := EvalMode(m.EvalMode)
	if mode != EvalModeRMP && mode != EvalModeMM {
		return Parameters{}, Errorf(ErrCorrupt, op, "unknown eval_mode %s; accepted: RMP, MM", quoteShort(m.EvalMode))
	}
	dims, err := ParseDimList(m.Dim)
	if err != nil {
		return Parameters{}, Errorf(ErrCorrupt, op, "dim %s: %s", quoteShort(m.Dim), err.(*Error).Msg)
	}
	if FormatDimList(dims) != m.Dim {
		return Parameters{}, Errorf(ErrCorrupt, op, "dim %s is not in canonical form (sorted, comma-separated, no repeats)", quoteShort(m.Dim))
	}
	return Parameters{Preset: preset, EvalMode: mode, Dims: dims}, nil
}

// checkLegacyNames reports a member name that is not exactly one of the legacy
// envelope's (encoding/json matches names case-insensitively).
func checkLegacyNames(doc []byte) string {
	var tree any
	if json.Unmarshal(doc, &tree) != nil {
		return ""
	}
	names := legacyFieldNames()
	var walk func(v any) string
	walk = func(v any) string {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if !names[k] {
					return "unknown field " + quoteShort(k) + " (field names are matched exactly, in lower case except Q, P, DB_SCALE_FACTOR and QUERY_SCALE_FACTOR)"
				}
				if msg := walk(c); msg != "" {
					return msg
				}
			}
		case []any:
			for _, c := range t {
				if msg := walk(c); msg != "" {
					return msg
				}
			}
		}
		return ""
	}
	return walk(tree)
}

// legacyFieldNames is every JSON member name of the legacy wire types, read from their
// struct tags so that it cannot drift from them.
var legacyFieldNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				names[tag] = true
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(legacyWireEnvelope{}))
	return names
})

// quoteShort quotes a value for an error, cut to 40 bytes: a crafted document should
// not fill a log line.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strings.ToValidUTF8(strconv.Quote(s), "?")
}
