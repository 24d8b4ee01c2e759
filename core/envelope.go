package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The envelope is the JSON document that carries one key (see DESIGN.md §5): every
// local key file and every remote blob is one. Its shape follows the files the enVector
// SDK writes, so tools that read those read ours.

const (
	envelopeFormatVersion = 1
	keyVersion            = "1"
	adPrefix              = "envector-keys/v1"
	digestType            = "SHA256"
	sealAlg               = "AES-256-GCM"
	lifetimeYears         = 5
	timeLayout            = "2006-01-02T15:04:05Z"
)

// States of a key. Only active keys load unless the caller allows others.
const (
	StateActive      = "active"
	StateSuspended   = "suspended"
	StateCompromised = "compromised"
	StateDestroyed   = "destroyed"
)

// Requester records who made a key set and how.
type Requester struct {
	Entity string `json:"entity"`
	Method string `json:"method"`
	Type   string `json:"type"`
}

type keyState struct {
	Value     string  `json:"value"`
	Reason    *string `json:"reason"`
	UpdatedAt string  `json:"updated_at"`
}

type providerMeta struct {
	Type            string `json:"type"`
	ProviderVersion string `json:"provider_version"`
	VersionID       string `json:"version_id"`
	WrapAlg         string `json:"wrap_alg"`
}

type digest struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// scaleFactor is written with a decimal point ("24.0"), as the enVector SDK writes it.
type scaleFactor float64

func (s scaleFactor) MarshalJSON() ([]byte, error) {
	t := strconv.FormatFloat(float64(s), 'f', -1, 64)
	if !strings.ContainsAny(t, ".eE") {
		t += ".0"
	}
	return []byte(t), nil
}

type wireParameter struct {
	Q                uint64      `json:"Q"`
	P                uint64      `json:"P"`
	DBScaleFactor    scaleFactor `json:"DB_SCALE_FACTOR"`
	QueryScaleFactor scaleFactor `json:"QUERY_SCALE_FACTOR"`
	Preset           string      `json:"preset"`
}

type wireMetadata struct {
	Parameter wireParameter `json:"parameter"`
	EvalMode  string        `json:"eval_mode"`
	Dim       string        `json:"dim"`
	Scheme    string        `json:"scheme"`
	LogN      int           `json:"log_n"`
}

func metadataOf(p Parameters) wireMetadata {
	return wireMetadata{
		Parameter: wireParameter{
			Q: p.Preset.q, P: p.Preset.p,
			DBScaleFactor:    scaleFactor(p.Preset.logDBScale),
			QueryScaleFactor: scaleFactor(p.Preset.logQryScale),
			Preset:           p.Preset.name,
		},
		EvalMode: string(p.EvalMode),
		Dim:      FormatDimList(p.Dims),
		Scheme:   "ckks",
		LogN:     logN,
	}
}

// sealInfo is present on a sealed entry only.
type sealInfo struct {
	iv, tag []byte
}

// envelope is the parsed, checked form of one key's document. keyData holds the key
// bytes (or, sealed, their ciphertext) and must never be printed.
type envelope struct {
	kid       string
	role      Role
	params    Parameters
	createdAt string
	expiresAt string
	state     keyState
	requester Requester
	provider  providerMeta
	keyData   []byte
	seal      *sealInfo
}

func (e *envelope) sealed() bool { return e.seal != nil }

// associatedData is the string every digest and seal binds to: the key id, the role and
// the parameters. Sealing uses it as AES-GCM associated data, so a sealed blob moved to
// another key id or role, or given other parameters, does not unseal.
func associatedData(kid string, r Role, p Parameters) []byte {
	return []byte(strings.Join([]string{
		adPrefix, kid, r.Format(), r.info().roleText, p.Preset.name,
		strconv.FormatUint(p.Preset.q, 10), strconv.FormatUint(p.Preset.p, 10),
		string(p.EvalMode), FormatDimList(p.Dims), strconv.Itoa(logN),
	}, "\n"))
}

func sha256b64(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func (e *envelope) aadValue() string { return sha256b64(associatedData(e.kid, e.role, e.params)) }

func (e *envelope) hashValue() string { return sha256b64(e.keyData) }

func (e *envelope) integrityValue(aad, hash string) string {
	return sha256b64([]byte(strings.Join([]string{
		e.kid, e.role.Format(), keyVersion, e.createdAt, e.expiresAt, e.state.Value, aad, hash,
	}, "\n")))
}

func (e *envelope) wrapAlg() string {
	if e.sealed() {
		return sealAlg
	}
	return ""
}

// marshal writes the envelope as indented JSON. Field order is fixed, and key_data is
// written straight as base64 (it needs no escaping). For a multi-MiB EvalKey the hash
// is computed on one goroutine while the base64 text is encoded in chunks on the
// others, straight into its place in the output: the header is laid out first with
// placeholders for the two digests (base64 SHA-256 has a fixed length) and written
// for real once the hash is known.
func (e *envelope) marshal() []byte {
	out, _ := e.marshalTo(func(n int) ([]byte, error) { return make([]byte, n), nil })
	return out
}

// marshalTo is marshal into the buffer alloc returns, which must have length n (memory
// owned by someone else, say C); an error from alloc is returned as is.
func (e *envelope) marshalTo(alloc func(n int) ([]byte, error)) ([]byte, error) {
	hashDone := make(chan string, 1)
	go func() { hashDone <- e.hashValue() }()
	placeholder := strings.Repeat("A", sha256B64Len)
	headLen := len(e.header(placeholder, placeholder))
	trailer := e.trailer()
	textLen := base64.StdEncoding.EncodedLen(len(e.keyData))
	out, err := alloc(headLen + textLen + len(trailer))
	if err != nil {
		<-hashDone
		return nil, err
	}
	if len(out) != headLen+textLen+len(trailer) {
		<-hashDone
		return nil, Errorf(ErrInternal, "envelope", "the buffer for the envelope is %d bytes, not %d", len(out), headLen+textLen+len(trailer))
	}
	encodeBase64Parallel(out[headLen:headLen+textLen], e.keyData)
	copy(out[headLen+textLen:], trailer)
	hash := <-hashDone
	head := e.header(hash, e.integrityValue(e.aadValue(), hash))
	if len(head) != headLen {
		panic("envelope header length changed") // both digests are base64 SHA-256
	}
	copy(out, head)
	return out, nil
}

// sha256B64Len is the length of a base64 SHA-256 digest.
const sha256B64Len = 44

// header writes the envelope up to the opening quote of key_data.
func (e *envelope) header(hash, integrity string) []byte {
	prov := e.provider
	prov.WrapAlg = e.wrapAlg()
	info := e.role.info()
	var b bytes.Buffer
	w := jsonFields{&b}
	b.WriteString("{\n")
	w.field("  ", "kid", e.kid, false)
	w.field("  ", "format", info.format, false)
	w.field("  ", "format_version", envelopeFormatVersion, false)
	w.field("  ", "key_version", keyVersion, false)
	w.field("  ", "usage", info.usage, false)
	w.field("  ", "created_at", e.createdAt, false)
	w.field("  ", "expires_at", e.expiresAt, false)
	w.field("  ", "state", e.state, false)
	w.field("  ", "requester", e.requester, false)
	w.field("  ", "provider_meta", prov, false)
	w.field("  ", "aad", digest{digestType, e.aadValue()}, false)
	w.field("  ", "integrity", digest{digestType, integrity}, false)
	b.WriteString("  \"entries\": [\n    {\n")
	w.field("      ", "name", info.format, false)
	w.field("      ", "role", info.roleText, false)
	w.field("      ", "hash", hash, false)
	w.field("      ", "metadata", metadataOf(e.params), false)
	b.WriteString("      \"key_data\": \"")
	return b.Bytes()
}

// trailer writes the envelope from the closing quote of key_data on.
func (e *envelope) trailer() []byte {
	var b bytes.Buffer
	w := jsonFields{&b}
	if e.sealed() {
		b.WriteString("\",\n")
		w.field("      ", "alg", sealAlg, false)
		w.field("      ", "iv", base64.StdEncoding.EncodeToString(e.seal.iv), false)
		w.field("      ", "tag", base64.StdEncoding.EncodeToString(e.seal.tag), true)
	} else {
		b.WriteString("\"\n")
	}
	b.WriteString("    }\n  ]\n}\n")
	return b.Bytes()
}

// jsonFields writes one `"name": value` line at a time.
type jsonFields struct{ b *bytes.Buffer }

func (w jsonFields) field(indent, name string, v any, last bool) {
	enc, err := json.Marshal(v)
	if err != nil { // only strings, numbers and structs of them reach here
		panic(err)
	}
	w.b.WriteString(indent)
	w.b.WriteString(strconv.Quote(name))
	w.b.WriteString(": ")
	w.b.Write(enc)
	if !last {
		w.b.WriteByte(',')
	}
	w.b.WriteByte('\n')
}

// encodeBase64Parallel writes the standard base64 of src into dst (of exactly
// EncodedLen(len(src)) bytes), in chunks of a multiple of 3 bytes on up to GOMAXPROCS
// goroutines.
func encodeBase64Parallel(dst, src []byte) {
	const minChunk = 3 * 64 << 10
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(src)/workers/3 + 1) * 3
	if workers == 1 || chunk < minChunk {
		base64.StdEncoding.Encode(dst, src)
		return
	}
	var wg sync.WaitGroup
	for off := 0; off < len(src); off += chunk {
		end := min(off+chunk, len(src))
		wg.Add(1)
		go func(off, end int) {
			defer wg.Done()
			base64.StdEncoding.Encode(dst[off/3*4:], src[off:end])
		}(off, end)
	}
	wg.Wait()
}

// decodeBase64Strict decodes standard padded base64 and nothing else: no line breaks
// (which Go's decoder skips even in strict mode), no padding before the end. Large
// inputs are decoded in chunks on up to GOMAXPROCS goroutines.
func decodeBase64Strict(src []byte) ([]byte, error) {
	errNotBase64 := errors.New("not standard padded base64")
	if len(src)%4 != 0 {
		return nil, errNotBase64
	}
	if len(src) == 0 {
		return []byte{}, nil
	}
	pad := 0
	if src[len(src)-1] == '=' {
		pad++
		if src[len(src)-2] == '=' {
			pad++
		}
	}
	dst := make([]byte, len(src)/4*3)
	const minChunk = 4 * 64 << 10
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(src)/workers/4 + 1) * 4
	if workers == 1 || chunk < minChunk {
		chunk = len(src)
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	for off := 0; off < len(src); off += chunk {
		end := min(off+chunk, len(src))
		want := (end - off) / 4 * 3
		if end == len(src) {
			want -= pad
		}
		wg.Add(1)
		go func(off, end, want int) {
			defer wg.Done()
			// A skipped byte or padding before the end shows as fewer bytes out.
			if n, err := base64.StdEncoding.Strict().Decode(dst[off/4*3:], src[off:end]); err != nil || n != want {
				failed.Store(true)
			}
		}(off, end, want)
	}
	wg.Wait()
	if failed.Load() {
		wipe(dst)
		return nil, errNotBase64
	}
	return dst[:len(dst)-pad], nil
}

// The wire types decode a document; pointers tell a missing field from an empty one.
type wireEnvelope struct {
	KID           *string       `json:"kid"`
	Format        *string       `json:"format"`
	FormatVersion *int          `json:"format_version"`
	KeyVersion    *string       `json:"key_version"`
	Usage         *string       `json:"usage"`
	CreatedAt     *string       `json:"created_at"`
	ExpiresAt     *string       `json:"expires_at"`
	State         *keyState     `json:"state"`
	Requester     *Requester    `json:"requester"`
	ProviderMeta  *providerMeta `json:"provider_meta"`
	AAD           *digest       `json:"aad"`
	Integrity     *digest       `json:"integrity"`
	Entries       []wireEntry   `json:"entries"`
}

type wireEntry struct {
	Name     *string       `json:"name"`
	Role     *string       `json:"role"`
	Hash     *string       `json:"hash"`
	Metadata *wireMetadata `json:"metadata"`
	KeyData  *string       `json:"key_data"`
	Alg      *string       `json:"alg"`
	IV       *string       `json:"iv"`
	Tag      *string       `json:"tag"`
}

// ParseOptions relax the envelope checks where a caller needs it.
type ParseOptions struct {
	// AllowInactive loads keys whose state is suspended, compromised or destroyed
	// (for inspection); by default only active keys load.
	AllowInactive bool
}

// parseEnvelope decodes and checks one document. want is the role the caller expects
// (from the file name or blob name); kid, when not empty, the key id. Every rejection
// says what was wrong; none quotes key material.
func parseEnvelope(data []byte, want Role, kid string, opts ParseOptions) (*envelope, error) {
	op := "envelope.Parse(" + want.String() + ")"
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }

	keyStart, keyEnd, nameErr := scanEnvelope(data)
	if nameErr != "" {
		return nil, bad("not a valid key envelope (%s)", nameErr)
	}
	doc := data
	if keyStart >= 0 { // encoding/json reads the document with an empty key_data
		doc = make([]byte, 0, len(data)-(keyEnd-keyStart))
		doc = append(append(doc, data[:keyStart]...), data[keyEnd:]...)
	}

	var w wireEnvelope
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, bad("the document is empty or truncated; expected one JSON key envelope")
		}
		return nil, bad("not a valid key envelope (%s)", jsonErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("unexpected data after the JSON value; a key file holds exactly one envelope")
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
		return nil, bad("unknown format %q; accepted: seckey, enckey, evalkey, metadatakey", *w.Format)
	}
	if role != want {
		return nil, bad("this is a %s (format %q), not a %s: was the file renamed or the blob moved?", role, *w.Format, want)
	}
	info := role.info()
	if kid != "" && *w.KID != kid {
		return nil, bad("the envelope belongs to key id %q, not %q", *w.KID, kid)
	}
	if err := CheckKeyID(*w.KID); err != nil {
		return nil, bad("kid: %s", err.(*Error).Msg)
	}
	if *w.KeyVersion != keyVersion {
		return nil, bad("unsupported key_version %q; accepted: %q", *w.KeyVersion, keyVersion)
	}
	if *w.Usage != info.usage {
		return nil, bad("usage %q does not fit a %s; expected %q", *w.Usage, role, info.usage)
	}
	for _, t := range []struct{ name, v string }{{"created_at", *w.CreatedAt}, {"expires_at", *w.ExpiresAt}, {"state.updated_at", w.State.UpdatedAt}} {
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return nil, bad("%s %q is not an RFC 3339 time", t.name, t.v)
		}
	}
	switch w.State.Value {
	case StateActive:
	case StateSuspended, StateCompromised, StateDestroyed:
		if !opts.AllowInactive {
			return nil, bad("the key is %s, not active; only active keys are loaded", w.State.Value)
		}
	default:
		return nil, bad("unknown state %q; accepted: active, suspended, compromised, destroyed", w.State.Value)
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
		return nil, bad("entry name %q / role %q do not fit a %s; expected %q / %q", *we.Name, *we.Role, role, info.format, info.roleText)
	}
	params, err := parametersOf(*we.Metadata)
	if err != nil {
		return nil, bad("metadata: %s", err.(*Error).Msg)
	}

	e := &envelope{
		kid: *w.KID, role: role, params: params,
		createdAt: *w.CreatedAt, expiresAt: *w.ExpiresAt,
		state: *w.State, requester: *w.Requester, provider: *w.ProviderMeta,
	}
	keyDataB64 := []byte(*we.KeyData)
	if keyStart >= 0 {
		if len(keyDataB64) != 0 { // cannot happen: the scanner and encoding/json disagree
			return nil, bad("entries[0].key_data could not be located")
		}
		keyDataB64 = data[keyStart:keyEnd]
	}
	if e.keyData, err = decodeBase64Strict(keyDataB64); err != nil {
		return nil, bad("entries[0].key_data is not standard padded base64")
	}

	// Sealed or not: alg, iv and tag come together, and wrap_alg says the same.
	switch {
	case we.Alg == nil && we.IV == nil && we.Tag == nil:
		if e.provider.WrapAlg != "" {
			return nil, bad("provider_meta.wrap_alg is %q but the entry is not sealed (no alg, iv, tag)", e.provider.WrapAlg)
		}
	case we.Alg != nil && we.IV != nil && we.Tag != nil:
		if !role.Secret() {
			return nil, bad("a %s is public and is never sealed, but this entry carries alg/iv/tag", role)
		}
		if *we.Alg != sealAlg || e.provider.WrapAlg != sealAlg {
			return nil, bad("seal algorithm %q (wrap_alg %q) is not supported; accepted: %s", *we.Alg, e.provider.WrapAlg, sealAlg)
		}
		iv, err1 := decodeBase64Strict([]byte(*we.IV))
		tag, err2 := decodeBase64Strict([]byte(*we.Tag))
		if err1 != nil || err2 != nil {
			return nil, bad("entries[0].iv or tag is not standard padded base64")
		}
		if len(iv) != gcmNonceSize || len(tag) != gcmTagSize {
			return nil, bad("iv of %d bytes and tag of %d bytes; accepted: %d and %d", len(iv), len(tag), gcmNonceSize, gcmTagSize)
		}
		e.seal = &sealInfo{iv: iv, tag: tag}
	default:
		return nil, bad("a sealed entry needs all of alg, iv and tag; some are missing")
	}

	// Digests: the key bytes, the associated data, then the whole.
	hash := e.hashValue()
	if *we.Hash != hash {
		return nil, bad("the key_data does not match its hash: the key bytes were altered or truncated")
	}
	aad := e.aadValue()
	if w.AAD.Value != aad {
		return nil, bad("the aad digest does not match the key id, role and parameters: the envelope was edited")
	}
	if w.Integrity.Value != e.integrityValue(aad, hash) {
		return nil, bad("the integrity digest does not match: the envelope was edited")
	}
	if err := checkKeyData(role, params, e.keyData, e.sealed()); err != nil {
		return nil, bad("%s", err.(*Error).Msg)
	}
	return e, nil
}

func roleOfFormat(format string) (Role, bool) {
	for _, r := range AllRoles {
		if r.Format() == format {
			return r, true
		}
	}
	return 0, false
}

// parametersOf checks the entry metadata against the presets and returns the parameters.
func parametersOf(m wireMetadata) (Parameters, error) {
	op := "envelope"
	preset, err := ParsePreset(m.Parameter.Preset)
	if err != nil || m.Parameter.Preset == "" {
		return Parameters{}, Errorf(ErrCorrupt, op, "unknown preset %q; accepted: IP0, IP1", m.Parameter.Preset)
	}
	if m.Parameter.Q != preset.q || m.Parameter.P != preset.p ||
		float64(m.Parameter.DBScaleFactor) != float64(preset.logDBScale) ||
		float64(m.Parameter.QueryScaleFactor) != float64(preset.logQryScale) {
		return Parameters{}, Errorf(ErrCorrupt, op, "Q, P or scale factors do not match preset %s", preset.name)
	}
	if m.Scheme != "ckks" || m.LogN != logN {
		return Parameters{}, Errorf(ErrCorrupt, op, "scheme %q with log_n %d; accepted: ckks with log_n %d", m.Scheme, m.LogN, logN)
	}
	mode, err := ParseEvalMode(m.EvalMode)
	if err != nil || m.EvalMode == "" {
		return Parameters{}, Errorf(ErrCorrupt, op, "unknown eval_mode %q; accepted: RMP, MM", m.EvalMode)
	}
	dims, err := ParseDimList(m.Dim)
	if err != nil {
		return Parameters{}, Errorf(ErrCorrupt, op, "dim %q: %s", m.Dim, err.(*Error).Msg)
	}
	if FormatDimList(dims) != m.Dim {
		return Parameters{}, Errorf(ErrCorrupt, op, "dim %q is not in canonical form (sorted, comma-separated, no repeats)", m.Dim)
	}
	return Parameters{Preset: preset, EvalMode: mode, Dims: dims}, nil
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("JSON syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type (%s)", te.Field, te.Value)
	}
	// Unknown-field errors name the field only; nothing from the key material.
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field") {
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return "malformed JSON"
}
