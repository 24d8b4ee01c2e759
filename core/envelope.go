package core

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The envelope is the JSON document that carries one key (DESIGN.md §5): every local key
// file and every remote blob is one. It is the envelope enVector's SDK (pyenvector 1.6.3,
// over CryptoLab's evi) writes and checks, so each SDK reads the other's files:
//
//	{"aad":{"type":"SHA256","value":...},"created_at":...,"entries":[{...}],
//	 "envector_keys":{...},"expires_at":...,"format_version":1,
//	 "integrity":{"type":"SHA256","value":...},"key_version":"1","kid":...,
//	 "requester":{"entity":...,"method":...,"type":...},
//	 "state":{"reason":null,"updated_at":...,"value":"active"},"usage":"vector_search"}
//
// one JSON object, keys sorted, compact. "envector_keys" is ours: enVector's SDK ignores
// members it does not know, and we keep there what its format does not say (the role,
// the eval mode and dims of the whole set, the key-data format) and the checks it does
// not make (a digest over every field, and for sealed secrets a MAC under the KEK).

const (
	envelopeFormatVersion = 1
	eviKeyVersion         = "1"
	digestType            = "SHA256"
	eviUsage              = "vector_search"
	timeLayout            = "2006-01-02T15:04:05Z"
	// keyLifetime is enVector's: expires_at = created_at + 43,800 hours (1,825 days).
	keyLifetime = 43800 * time.Hour

	extensionMember  = "envector_keys"
	extensionVersion = 1
	macType          = "HMAC-SHA256"

	// The seal algorithms the entries name.
	sealAlgSecKey   = "AES-KEK"     // SecKey: evi's AES-KEK blob
	sealAlgMetadata = "AES-256-GCM" // MetadataKey: evi's "EVIS" blob
)

// States of a key, as enVector's SDK writes them: preparing -> active -> deactivated
// -> destroyed. Only active, unexpired keys load for use; inspection sees all.
const (
	StatePreparing   = "preparing"
	StateActive      = "active"
	StateDeactivated = "deactivated"
	StateDestroyed   = "destroyed"
	// States of envector-keys 0.1 files, still read.
	StateSuspended   = "suspended"
	StateCompromised = "compromised"
)

var knownStates = []string{StatePreparing, StateActive, StateDeactivated, StateDestroyed, StateSuspended, StateCompromised}

// Dialect says who wrote an envelope.
type Dialect int

const (
	// DialectOurs is enVector's envelope with our "envector_keys" member: what this
	// release writes.
	DialectOurs Dialect = iota
	// DialectEVI is enVector's envelope as its SDK writes it, without our member: read,
	// checked the way enVector checks it.
	DialectEVI
	// DialectLegacy is the envelope of envector-keys 0.1 ("format", "provider_meta",
	// string hashes): read, never written.
	DialectLegacy
)

func (d Dialect) String() string {
	switch d {
	case DialectOurs:
		return "envector-keys (enVector envelope with envector-keys checks)"
	case DialectEVI:
		return "enVector SDK (enVector envelope, no envector-keys checks)"
	case DialectLegacy:
		return "envector-keys 0.1 (legacy envelope, read only)"
	}
	return "unknown"
}

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

// sealInfo is present on a sealed entry only.
type sealInfo struct {
	alg     string // sealAlgSecKey, sealAlgMetadata, or the legacy "AES-256-GCM"
	iv, tag []byte
}

// envelope is the parsed, checked form of one key's document. keyData holds the key
// bytes (or, sealed, the sealed blob as stored) and must never be printed; it is nil when
// the envelope was read without its key data (ParseOptions.SkipKeyData).
type envelope struct {
	kid        string
	role       Role
	dialect    Dialect
	params     Parameters
	keyVersion string
	createdAt  string
	expiresAt  string
	state      keyState
	requester  Requester
	provider   providerMeta // legacy envelopes only
	keyData    []byte
	src        *evalSource // a generated EvalKey made on demand (keyData is nil)
	dataSize   int64       // bytes of key_data as stored
	hash       string      // base64 SHA-256 of key_data as stored; "" until lazy computes it
	lazy       *lazyDigest // computes hash once, for an envelope made here
	seal       *sealInfo
	mac        string // ours, on sealed secrets: base64 HMAC-SHA256 under a key from the KEK
	macInput   []byte // what mac covers, as read (nil: computed from the fields)
	dropped    bool   // read with SkipKeyData: keyData is nil
	// raw is the document as read, split around the key_data text, so that an envelope
	// read and written again keeps its bytes (and another SDK's layout); nil for an
	// envelope made or changed here.
	raw      *rawDocument
	readName string // the entry name as read (enVector names a sealed SecKey either way)

	// set binds the envelope to its key set (ours; nil in enVector's and older files).
	set *setBinding
	// setDigests, on a secret read from a file, are the digests of the set's public
	// envelopes it records (see setBinding.digests).
	setDigests map[Role]string
	// actor made the last state change (ours; nil when none was made).
	actor *Requester
	// docDigest is, as read, the SHA-256 of the envelope's canonical document (see
	// digestInput): what a secret of the set records about this envelope.
	docDigest string
	// macKey, on a secret sealed here, keys its MAC, which is computed when the
	// envelope is laid out (the set digests it covers may need a key made later).
	macKey []byte
	// tombstone: a destroyed secret, whose key_data, iv, tag and hash are erased.
	tombstone bool
}

// setBinding ties the envelopes of one key set together. Every envelope of a set made
// here carries the same random id and version; each secret also records the digest of
// each public envelope of its set (which covers every field of it, its key hash
// included). On a sealed secret the MAC covers all of it, so a public envelope edited
// without the KEK, or a secret from another set with the same key id, is refused.
type setBinding struct {
	id      string // 32 hex characters
	version int    // 1 for a new key set, one more for each rotation
	// digests returns the digests of the set's public envelopes (a secret's only); it
	// is called when the secret is laid out, after the public keys are made.
	digests func() map[Role]string
}

// publicDigests returns a function giving the digests of the public envelopes of envs.
func publicDigests(envs *[numRoles]*envelope) func() map[Role]string {
	return func() map[Role]string {
		out := map[Role]string{}
		for _, r := range []Role{EncKey, EvalKey} {
			if e := envs[r]; e != nil {
				out[r] = e.envelopeDigest()
			}
		}
		return out
	}
}

// envelopeDigest is the SHA-256 of the envelope's canonical document (see digestInput).
func (e *envelope) envelopeDigest() string {
	if e.docDigest != "" {
		return e.docDigest
	}
	return sha256b64(digestInput(e.document()))
}

// recordedDigests are the public digests a secret records: as read, or its set's.
func (e *envelope) recordedDigests() map[Role]string {
	if e.setDigests != nil {
		return e.setDigests
	}
	if e.set != nil && e.set.digests != nil && e.role.Secret() {
		return e.set.digests()
	}
	return nil
}

type rawDocument struct{ head, tail []byte }

// lazyDigest computes the SHA-256 of an envelope's key data once, when first needed, so
// that writing a large envelope can hash its key bytes while it encodes them.
type lazyDigest struct {
	once  sync.Once
	value string
	done  atomic.Bool
}

// hashValue returns the base64 SHA-256 of key_data as stored.
func (e *envelope) hashValue() string {
	if e.hash == "" && e.src != nil && e.keyData == nil {
		// Made into a hasher only, if not known yet: nothing of the key is held (a
		// secret's set digests need it before the key is written anywhere).
		h, _ := e.src.streamHash() // on an error, render reports it
		return h
	}
	if e.hash != "" || e.lazy == nil {
		return e.hash
	}
	e.lazy.once.Do(func() {
		e.lazy.value = sha256b64(e.keyData)
		e.lazy.done.Store(true)
	})
	return e.lazy.value
}

func (e *envelope) sealed() bool { return e.seal != nil }

// withKeyData returns a copy of e that holds data (for a new, sealed or unsealed key).
func (e *envelope) withKeyData(data []byte, seal *sealInfo) *envelope {
	c := *e
	c.keyData, c.seal, c.dropped, c.raw, c.mac, c.macInput, c.readName = data, seal, false, nil, "", nil, ""
	c.docDigest, c.macKey, c.tombstone = "", nil, false
	c.dataSize = int64(len(data))
	c.hash, c.lazy = "", &lazyDigest{}
	c.dialect = DialectOurs
	if c.keyVersion == "" {
		c.keyVersion = eviKeyVersion
	}
	return &c
}

func sha256b64(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// canonicalJSON writes v the way enVector canonicalizes: object keys sorted (Go sorts
// map keys), compact, UTF-8 without HTML escaping.
func canonicalJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // only maps, strings, numbers reach here
		panic(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// eviAAD is enVector's aad value: base64 SHA-256 of the canonical JSON of the key id,
// usage, requester and the two times. enVector recomputes it when it loads a key.
func eviAAD(kid, usage string, req Requester, createdAt, expiresAt string) string {
	return sha256b64(canonicalJSON(map[string]any{
		"kid": kid, "usage": usage, "created_at": createdAt, "expires_at": expiresAt,
		"requester": map[string]any{"entity": req.Entity, "type": req.Type, "method": req.Method},
	}))
}

// eviIntegrity is enVector's integrity value: base64 SHA-256 of "<kid>:<role>:integrity"
// (sec, enc, eval, metadata). It depends on the key id only; enVector does not check it.
func eviIntegrity(kid string, r Role) string {
	return sha256b64([]byte(kid + ":" + r.info().eviShort + ":integrity"))
}

// wireParameter and wireEntryMetadata are an entry's "metadata" in enVector's form.
func entryMetadata(r Role, p Parameters) map[string]any {
	evalMode := ""
	if r == EvalKey {
		evalMode = metadataEvalMode(p)
	}
	return map[string]any{
		"eval_mode": evalMode,
		"parameter": map[string]any{
			"DB_SCALE_FACTOR": p.Preset.logDBScale, "QUERY_SCALE_FACTOR": p.Preset.logQryScale,
			"P": p.Preset.p, "Q": p.Preset.q, "preset": p.Preset.name,
		},
	}
}

// metadataEvalMode is the eval mode as enVector's envelope names it: SINGLE is "NULL"
// there (and in its metadata-eval.json); lattigo-layout sets keep their own names.
func metadataEvalMode(p Parameters) string {
	if p.EvalMode == EvalModeSINGLE && p.Preset.keyFormat == keyFormatEVI {
		return "NULL"
	}
	return string(p.EvalMode)
}

// entryName is the entry's name: enVector names a sealed SecKey "seckey.sealed".
func (e *envelope) entryName() string {
	if e.readName != "" {
		return e.readName
	}
	if e.role == SecKey && e.sealed() {
		return "seckey.sealed"
	}
	return e.role.Format()
}

// document returns the envelope as a JSON tree with an empty key_data and without our
// digest and MAC: the input of both (see digestInput).
func (e *envelope) document() map[string]any { return e.documentWith("") }

// hashOr is the key data's hash, or placeholder (of the same length) when one is given.
func (e *envelope) hashOr(placeholder string) string {
	if placeholder != "" {
		return placeholder
	}
	return e.hashValue()
}

// documentWith is document with the hash replaced by placeholder when one is given.
func (e *envelope) documentWith(placeholder string) map[string]any {
	entry := map[string]any{"name": e.entryName(), "role": e.role.info().roleText}
	if !e.tombstone { // a destroyed secret keeps neither key_data, iv, tag nor hash
		entry["hash"] = map[string]any{"type": digestType, "value": e.hashOr(placeholder)}
		entry["key_data"] = ""
	}
	if e.role != MetadataKey {
		entry["metadata"] = entryMetadata(e.role, e.params)
	}
	if e.sealed() {
		entry["alg"] = e.seal.alg
		if !e.tombstone {
			entry["iv"] = base64.StdEncoding.EncodeToString(e.seal.iv)
			entry["tag"] = base64.StdEncoding.EncodeToString(e.seal.tag)
		}
	}
	ext := map[string]any{
		"version":    extensionVersion,
		"role":       e.role.String(),
		"preset":     e.params.Preset.name,
		"key_format": e.params.Preset.keyFormat,
		"eval_mode":  string(e.params.EvalMode),
		"dims":       FormatDimList(e.params.Dims),
	}
	if e.set != nil {
		ext["set_id"] = e.set.id
		ext["set_version"] = e.set.version
		if d := e.recordedDigests(); d != nil {
			m := map[string]any{}
			for r, v := range d {
				m[r.String()] = v
			}
			ext["set_digests"] = m
		}
	}
	if e.actor != nil {
		ext["state_changed_by"] = map[string]any{"entity": e.actor.Entity, "method": e.actor.Method, "type": e.actor.Type}
	}
	return map[string]any{
		"aad":            map[string]any{"type": digestType, "value": eviAAD(e.kid, eviUsage, e.requester, e.createdAt, e.expiresAt)},
		"created_at":     e.createdAt,
		"entries":        []any{entry},
		"expires_at":     e.expiresAt,
		"format_version": envelopeFormatVersion,
		"integrity":      map[string]any{"type": digestType, "value": eviIntegrity(e.kid, e.role)},
		"key_version":    e.keyVersion,
		"kid":            e.kid,
		"requester":      map[string]any{"entity": e.requester.Entity, "method": e.requester.Method, "type": e.requester.Type},
		"state":          map[string]any{"value": e.state.Value, "reason": e.state.Reason, "updated_at": e.state.UpdatedAt},
		"usage":          eviUsage,
		extensionMember:  ext,
	}
}

// digestInput is what our digest and MAC cover: the canonical JSON of the whole
// envelope with key_data empty (its hash stands for it) and without the digest and MAC
// themselves. Every field enVector writes and every field of ours is in it.
func digestInput(doc map[string]any) []byte {
	ext, _ := doc[extensionMember].(map[string]any)
	saved := map[string]any{}
	for _, k := range []string{"digest", "mac"} {
		if v, ok := ext[k]; ok {
			saved[k] = v
			delete(ext, k)
		}
	}
	out := canonicalJSON(doc)
	for k, v := range saved {
		ext[k] = v
	}
	return out
}

// envelopeMAC is the MAC of a sealed secret's envelope under a key derived from the KEK.
func envelopeMAC(kek *KEK, input []byte) string {
	key := kek.macKey()
	defer wipe(key)
	return macOf(key, input)
}

func macOf(key, input []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(input)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// render lays the envelope out: the bytes before the key_data text and after it.
func (e *envelope) render() (head, tail []byte, err error) { return e.renderWith("") }

// renderWith is render with a placeholder of a hash's length in place of the key data's
// hash (and so of the digest and MAC, which have fixed lengths too), when one is given.
func (e *envelope) renderWith(placeholder string) (head, tail []byte, err error) {
	if e.raw != nil && !e.dropped {
		return e.raw.head, e.raw.tail, nil
	}
	if e.dropped {
		return nil, nil, Errorf(ErrInvalidArgument, "envelope", "the %s of key %q was read without its key data (inspection only) and cannot be written", e.role, e.kid)
	}
	if e.dialect == DialectLegacy {
		return nil, nil, Errorf(ErrInternal, "envelope", "a changed legacy envelope is never written")
	}
	doc := e.documentWith(placeholder)
	ext := doc[extensionMember].(map[string]any)
	in := digestInput(doc)
	ext["digest"] = map[string]any{"type": digestType, "value": sha256b64(in)}
	switch {
	case e.macKey != nil:
		ext["mac"] = map[string]any{"type": macType, "value": macOf(e.macKey, in)}
	case e.mac != "":
		ext["mac"] = map[string]any{"type": macType, "value": e.mac}
	}
	full := canonicalJSON(doc)
	if e.tombstone {
		return full, nil, nil
	}
	const marker = `"key_data":"`
	i := bytes.Index(full, []byte(marker+`"`))
	if i < 0 || bytes.Count(full, []byte(marker)) != 1 {
		return nil, nil, Errorf(ErrInternal, "envelope", "key_data could not be placed")
	}
	i += len(marker)
	return full[:i], full[i:], nil
}

// size returns the length of the envelope as written.
func (e *envelope) size(head, tail []byte) int {
	n := len(e.keyData)
	if e.keyData == nil && e.src != nil {
		n = int(e.src.size)
	}
	return len(head) + base64.StdEncoding.EncodedLen(n) + len(tail)
}

// marshal returns the envelope as written.
func (e *envelope) marshal() ([]byte, error) {
	return e.marshalTo(func(n int) ([]byte, error) { return make([]byte, n), nil })
}

// marshalTo writes the envelope into the buffer alloc returns, which must have length n
// (memory owned by someone else, say C); an error from alloc is returned as is.
//
// A large key not hashed yet is hashed on one goroutine while its base64 text is
// encoded on the others, straight into its place: the envelope is first laid out with
// a placeholder hash (base64 SHA-256 digests and MACs have fixed lengths), and its
// head and tail written for real once the hash is known.
func (e *envelope) marshalTo(alloc func(n int) ([]byte, error)) ([]byte, error) {
	if e.keyData == nil && e.src != nil {
		data, err := e.data()
		if err != nil {
			return nil, err
		}
		c := *e
		c.keyData, c.hash, c.lazy = data, e.hashValue(), nil
		return c.marshalTo(alloc)
	}
	placeholder := ""
	var hashed chan struct{}
	if e.raw == nil && e.hash == "" && e.lazy != nil && !e.lazy.done.Load() && len(e.keyData) >= 64<<10 {
		placeholder = strings.Repeat("A", sha256B64Len)
		hashed = make(chan struct{})
		go func() {
			defer close(hashed)
			e.hashValue()
		}()
	}
	head, tail, err := e.renderWith(placeholder)
	if err != nil {
		if hashed != nil {
			<-hashed
		}
		return nil, err
	}
	n := e.size(head, tail)
	out, err := alloc(n)
	if err == nil && len(out) != n {
		err = Errorf(ErrInternal, "envelope", "the buffer for the envelope is %d bytes, not %d", len(out), n)
	}
	if err != nil {
		if hashed != nil {
			<-hashed
		}
		return nil, err
	}
	encodeBase64Parallel(out[len(head):n-len(tail)], e.keyData)
	if hashed != nil {
		<-hashed
		realHead, realTail, err := e.render()
		if err != nil {
			return nil, err
		}
		if len(realHead) != len(head) || len(realTail) != len(tail) {
			return nil, Errorf(ErrInternal, "envelope", "the envelope's layout changed with its hash")
		}
		head, tail = realHead, realTail
	}
	copy(out, head)
	copy(out[n-len(tail):], tail)
	return out, nil
}

// sha256B64Len is the length of a base64 SHA-256 digest.
const sha256B64Len = 44

// writeTo streams the envelope to w without building it in memory: the key_data text
// is encoded a block at a time.
func (e *envelope) writeTo(w io.Writer) (int64, error) {
	if e.keyData == nil && e.src != nil {
		data, err := e.data()
		if err != nil {
			return 0, err
		}
		c := *e
		c.keyData, c.hash, c.lazy = data, e.hashValue(), nil
		return c.writeTo(w)
	}
	head, tail, err := e.render()
	if err != nil {
		return 0, err
	}
	var n int64
	m, err := w.Write(head)
	n += int64(m)
	if err != nil {
		return n, err
	}
	const block = 3 << 18 // 768 KiB of key bytes, 1 MiB of text
	buf := make([]byte, base64.StdEncoding.EncodedLen(block))
	for off := 0; off < len(e.keyData); off += block {
		end := min(off+block, len(e.keyData))
		t := buf[:base64.StdEncoding.EncodedLen(end-off)]
		base64.StdEncoding.Encode(t, e.keyData[off:end])
		m, err = w.Write(t)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	m, err = w.Write(tail)
	n += int64(m)
	return n, err
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
