package core

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ParseOptions relax or narrow the envelope checks where a caller needs it.
type ParseOptions struct {
	// AllowInactive loads keys whose state is not active, or that have expired (for
	// inspection); by default only active, unexpired keys load, as enVector requires.
	AllowInactive bool
	// SkipKeyData checks the public keys' digests as they stream by but keeps none of
	// their bytes: memory stays small whatever the size of an EvalKey (inspection).
	// Such a key set can be described, not written, verified or used.
	SkipKeyData bool
}

// The wire types of the current envelope; pointers tell a missing field from an empty one.
type wireEnvelope struct {
	AAD           *digest        `json:"aad"`
	CreatedAt     *string        `json:"created_at"`
	Entries       []wireEntry    `json:"entries"`
	ExpiresAt     *string        `json:"expires_at"`
	FormatVersion *int           `json:"format_version"`
	Integrity     *digest        `json:"integrity"`
	KeyVersion    *string        `json:"key_version"`
	KID           *string        `json:"kid"`
	Requester     *Requester     `json:"requester"`
	State         *keyState      `json:"state"`
	Usage         *string        `json:"usage"`
	Extension     *wireExtension `json:"envector_keys"`
}

type digest struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type wireEntry struct {
	Name     *string       `json:"name"`
	Role     *string       `json:"role"`
	Hash     *digest       `json:"hash"`
	KeyData  *string       `json:"key_data"`
	Metadata *wireMetadata `json:"metadata"`
	Alg      *string       `json:"alg"`
	IV       *string       `json:"iv"`
	Tag      *string       `json:"tag"`
}

type wireMetadata struct {
	EvalMode  *string `json:"eval_mode"`
	Parameter *struct {
		DBScaleFactor    float64 `json:"DB_SCALE_FACTOR"`
		QueryScaleFactor float64 `json:"QUERY_SCALE_FACTOR"`
		P                uint64  `json:"P"`
		Q                uint64  `json:"Q"`
		Preset           string  `json:"preset"`
	} `json:"parameter"`
}

type wireExtension struct {
	Version   *int    `json:"version"`
	Role      *string `json:"role"`
	Preset    *string `json:"preset"`
	KeyFormat *string `json:"key_format"`
	EvalMode  *string `json:"eval_mode"`
	Dims      *string `json:"dims"`
	Digest    *digest `json:"digest"`
	MAC       *digest `json:"mac"`
	// The key set (see setBinding), and who made the last state change.
	SetID          *string           `json:"set_id"`
	SetVersion     *int              `json:"set_version"`
	SetDigests     map[string]string `json:"set_digests"`
	StateChangedBy *Requester        `json:"state_changed_by"`
}

// eviEvalModes are the eval modes enVector's metadata names.
var eviEvalModes = []string{"RMP", "FLAT", "SINGLE", "MM", "MM32", "MMS", "MMS32"}

// readEnvelope reads and checks one envelope from r in one pass (sizeHint: the stream's
// length, if known). want is the role the caller expects (from the file name or blob
// name); kid, when not empty, the key id. Every rejection says what was wrong; none
// quotes key material.
func readEnvelope(r io.Reader, sizeHint int64, want Role, kid string, opts ParseOptions) (*envelope, error) {
	op := "envelope.Parse(" + want.String() + ")"
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	keep := !opts.SkipKeyData || want.Secret()
	sr, err := splitEnvelope(r, keep, sizeHint)
	if err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			var ce *Error
			if errors.As(se.err, &ce) { // the store has said what failed
				return nil, ce
			}
			return nil, Wrap(ErrIO, op, se.err, "reading the envelope")
		}
		return nil, bad("%s", err.Error())
	}
	if sr.keyCount > 1 {
		wipe(sr.keyData)
		return nil, bad("%d key_data members; a key envelope holds exactly one", sr.keyCount)
	}
	if nameErr := checkMemberNames(sr.doc); nameErr != "" {
		wipe(sr.keyData)
		return nil, bad("not a valid key envelope (%s)", nameErr)
	}
	var tree map[string]any
	dec := json.NewDecoder(bytes.NewReader(sr.doc))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		wipe(sr.keyData)
		return nil, bad("not a valid key envelope (%s)", jsonErrorText(err))
	}
	var e *envelope
	if _, legacy := tree["format"]; legacy {
		e, err = parseLegacyEnvelope(sr, want, kid, opts)
	} else {
		e, err = parseEnvelopeTree(sr, tree, want, kid, opts)
	}
	if err != nil {
		wipe(sr.keyData)
		return nil, err
	}
	return e, nil
}

func parseEnvelopeTree(sr *splitResult, tree map[string]any, want Role, kid string, opts ParseOptions) (*envelope, error) {
	op := "envelope.Parse(" + want.String() + ")"
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }

	var w wireEnvelope
	if err := json.Unmarshal(sr.doc, &w); err != nil {
		return nil, bad("not a valid key envelope (%s)", jsonErrorText(err))
	}
	// encoding/json matches names case-insensitively; enVector does not.
	missing := missingMembers(tree, "aad", "created_at", "entries", "expires_at", "format_version", "integrity", "key_version", "kid", "requester", "state", "usage")
	if len(missing) > 0 {
		return nil, bad("missing fields: %s", strings.Join(missing, ", "))
	}
	if *w.FormatVersion != envelopeFormatVersion {
		return nil, bad("unsupported format_version %d; accepted: %d", *w.FormatVersion, envelopeFormatVersion)
	}
	if kid != "" && *w.KID != kid {
		return nil, bad("the envelope belongs to key id %s, not %s", quoteShort(*w.KID), quoteShort(kid))
	}
	if err := CheckKeyID(*w.KID); err != nil {
		return nil, bad("kid: %s", err.(*Error).Msg)
	}
	if *w.Usage != eviUsage {
		return nil, bad("usage %s; accepted: %q", quoteShort(*w.Usage), eviUsage)
	}
	if len(w.Entries) != 1 {
		return nil, bad("%d entries; a key envelope holds exactly 1", len(w.Entries))
	}
	entryTree, _ := tree["entries"].([]any)[0].(map[string]any)
	we := w.Entries[0]
	// A destroyed secret is a tombstone: enVector erases its key_data, iv, tag and hash.
	tombstone := w.State != nil && w.State.Value == StateDestroyed && we.KeyData == nil && we.Hash == nil &&
		we.IV == nil && we.Tag == nil && we.Name != nil && (*we.Name == "seckey" || *we.Name == "seckey.sealed" || *we.Name == "metadatakey")
	required := []string{"name", "role", "hash", "key_data"}
	if tombstone {
		required = required[:2]
	}
	if missing := missingMembers(entryTree, required...); len(missing) > 0 {
		return nil, bad("missing fields: entries[0].%s", strings.Join(missing, ", entries[0]."))
	}
	role, ok := roleOfEntry(*we.Name)
	if !ok {
		return nil, bad("unknown entry name %s; accepted: seckey, seckey.sealed, enckey, evalkey, metadatakey", quoteShort(*we.Name))
	}
	if role != want {
		return nil, bad("this is a %s (entry %q), not a %s: was the file renamed or the blob moved?", role, *we.Name, want)
	}
	if *we.Role != role.info().roleText {
		return nil, bad("entry role %s does not fit a %s; expected %q", quoteShort(*we.Role), role, role.info().roleText)
	}
	if w.State == nil || !slices.Contains(knownStates, w.State.Value) {
		return nil, bad("unknown state; accepted: %s", strings.Join(knownStates[:4], ", "))
	}
	for _, t := range []struct{ name, v string }{{"created_at", *w.CreatedAt}, {"expires_at", *w.ExpiresAt}, {"state.updated_at", w.State.UpdatedAt}} {
		if _, err := time.Parse(time.RFC3339, t.v); err != nil {
			return nil, bad("%s %s is not a time of the form 2026-01-02T15:04:05Z", t.name, quoteShort(t.v))
		}
	}
	if err := checkUsable(op, w.State.Value, *w.ExpiresAt, opts); err != nil {
		return nil, err
	}

	// enVector's digests: the key bytes, then the associated data.
	if w.AAD.Type != digestType || w.Integrity.Type != digestType || (!tombstone && we.Hash.Type != digestType) {
		return nil, bad("unsupported digest type; accepted: %s", digestType)
	}
	if !tombstone && we.Hash.Value != sr.hash {
		return nil, bad("the key_data does not match its hash: the key bytes were altered or truncated")
	}
	if w.AAD.Value != eviAAD(*w.KID, *w.Usage, *w.Requester, *w.CreatedAt, *w.ExpiresAt) {
		return nil, bad("the aad digest does not match the key id, usage, requester and times: the envelope was edited")
	}
	if w.Integrity.Value != eviIntegrity(*w.KID, role) {
		return nil, bad("the integrity digest does not match the key id and role: the envelope was edited")
	}

	e := &envelope{
		kid: *w.KID, role: role, dialect: DialectEVI, keyVersion: *w.KeyVersion,
		createdAt: *w.CreatedAt, expiresAt: *w.ExpiresAt, state: *w.State, requester: *w.Requester,
		keyData: sr.keyData, dataSize: sr.size, hash: sr.hash, dropped: sr.keyData == nil && sr.size > 0,
		readName: *we.Name, tombstone: tombstone,
	}
	in := digestInput(tree)
	e.docDigest = sha256b64(in)
	var err error
	if tombstone {
		e.raw = &rawDocument{head: sr.doc}
		if we.Alg != nil {
			e.seal = &sealInfo{alg: *we.Alg}
		}
	} else {
		e.raw = &rawDocument{head: sr.doc[:sr.keyAt], tail: sr.doc[sr.keyAt:]}
		if sr.keyData == nil {
			e.dropped = true
		}
		if e.seal, err = sealOfEntry(op, role, we, e.keyData); err != nil {
			return nil, err
		}
	}

	// Parameters: ours from our member, enVector's from the entry metadata.
	if w.Extension != nil {
		e.dialect = DialectOurs
		if e.params, err = parametersOfExtension(op, role, w.Extension, we.Metadata); err != nil {
			return nil, err
		}
		if w.Extension.Digest == nil || w.Extension.Digest.Type != digestType || w.Extension.Digest.Value != e.docDigest {
			return nil, bad("the envector-keys digest does not match: the envelope was edited (a state changed by enVector's SDK, which does not update this digest, looks the same: change states with envector-keygen state)")
		}
		if err := readSetBinding(op, e, w.Extension); err != nil {
			return nil, err
		}
		switch {
		case e.sealed() && w.Extension.MAC == nil:
			return nil, bad("a sealed %s written by envector-keys carries a MAC; this one has none: the envelope was edited", role)
		case !e.sealed() && w.Extension.MAC != nil:
			return nil, bad("an unsealed %s carries a MAC: the envelope was edited", role)
		case e.sealed():
			if w.Extension.MAC.Type != macType {
				return nil, bad("unsupported MAC type; accepted: %s", macType)
			}
			e.mac = w.Extension.MAC.Value
			e.macInput = in
		}
	} else if e.params, err = parametersOfEVIEntry(op, role, we.Metadata, e); err != nil {
		return nil, err
	}
	if e.keyData != nil && !e.sealed() && !tombstone { // a sealed blob's layout was checked above
		if err := checkKeyData(role, e.params, e.keyData, false); err != nil {
			return nil, bad("%s", err.(*Error).Msg)
		}
	}
	return e, nil
}

// checkUsable refuses a key that is not active or has expired, unless the caller only
// inspects.
func checkUsable(op, state, expiresAt string, opts ParseOptions) error {
	if opts.AllowInactive {
		return nil
	}
	if state != StateActive {
		return Errorf(ErrInactive, op, "the key is %s, not active; only active keys are loaded for use (inspect shows it)", state)
	}
	if t, err := time.Parse(time.RFC3339, expiresAt); err == nil && !time.Now().Before(t) {
		return Errorf(ErrInactive, op, "the key expired at %s; expired keys are not loaded for use (inspect shows it)", expiresAt)
	}
	return nil
}

func roleOfEntry(name string) (Role, bool) {
	if name == "seckey.sealed" {
		return SecKey, true
	}
	return roleOfFormat(name)
}

func roleOfFormat(format string) (Role, bool) {
	for _, r := range AllRoles {
		if r.Format() == format {
			return r, true
		}
	}
	return 0, false
}

func missingMembers(obj map[string]any, names ...string) []string {
	var out []string
	for _, n := range names {
		if v, ok := obj[n]; !ok || v == nil {
			out = append(out, n)
		}
	}
	return out
}

// sealOfEntry works out whether an entry is sealed, and checks that what the entry says
// (alg, iv, tag) agrees with the sealed blob in key_data. enVector writes a sealed SecKey
// two ways: "seckey.sealed" with alg, iv and tag (wrap_sec_key_bytes), and "seckey" with
// only the blob (its key generator's files).
func sealOfEntry(op string, role Role, we wireEntry, data []byte) (*sealInfo, error) {
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	hasFields := we.Alg != nil || we.IV != nil || we.Tag != nil
	if hasFields && (we.Alg == nil || we.IV == nil || we.Tag == nil) {
		return nil, bad("a sealed entry needs all of alg, iv and tag; some are missing")
	}
	if !role.Secret() {
		if hasFields {
			return nil, bad("a %s is public and is never sealed, but this entry carries alg/iv/tag", role)
		}
		return nil, nil
	}
	var info *sealInfo
	var err error
	switch role {
	case SecKey:
		sealedName := *we.Name == "seckey.sealed"
		if !sealedName && !hasFields && !bytes.HasPrefix(data, []byte("{")) {
			return nil, nil // plain
		}
		if hasFields && *we.Alg != sealAlgSecKey {
			return nil, bad("seal algorithm %s is not supported for a SecKey; accepted: %s", quoteShort(*we.Alg), sealAlgSecKey)
		}
		if sealedName && !hasFields {
			return nil, bad("a seckey.sealed entry needs alg, iv and tag")
		}
		var iv, tag []byte
		if _, iv, tag, _, err = parseSealedSecKey(data); err != nil {
			return nil, bad("%s", err.Error())
		}
		info = &sealInfo{alg: sealAlgSecKey, iv: iv, tag: tag}
	case MetadataKey:
		if !hasFields && !(len(data) != metadataKeySize && bytes.HasPrefix(data, []byte(eviMagic))) {
			return nil, nil
		}
		if hasFields && *we.Alg != sealAlgMetadata {
			return nil, bad("seal algorithm %s is not supported for a MetadataKey; accepted: %s", quoteShort(*we.Alg), sealAlgMetadata)
		}
		var iv, tag []byte
		if iv, tag, _, err = parseSealedMetadataKey(data); err != nil {
			return nil, bad("%s", err.Error())
		}
		info = &sealInfo{alg: sealAlgMetadata, iv: iv, tag: tag}
	}
	if hasFields {
		iv, err1 := base64.StdEncoding.Strict().DecodeString(*we.IV)
		tag, err2 := base64.StdEncoding.Strict().DecodeString(*we.Tag)
		if err1 != nil || err2 != nil {
			return nil, bad("entries[0].iv or tag is not standard padded base64")
		}
		if !bytes.Equal(iv, info.iv) || !bytes.Equal(tag, info.tag) {
			return nil, bad("entries[0].iv and tag do not match the sealed key_data: the envelope was edited")
		}
	}
	return info, nil
}

// parametersOfExtension reads the parameters from our member, checked against the entry
// metadata enVector reads.
func parametersOfExtension(op string, role Role, x *wireExtension, md *wireMetadata) (Parameters, error) {
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	if x.Version == nil || x.Role == nil || x.Preset == nil || x.KeyFormat == nil || x.EvalMode == nil || x.Dims == nil {
		return Parameters{}, bad("missing fields in envector_keys; it needs version, role, preset, key_format, eval_mode, dims")
	}
	if *x.Version != extensionVersion {
		return Parameters{}, bad("envector_keys version %d; accepted: %d", *x.Version, extensionVersion)
	}
	if *x.Role != role.String() {
		return Parameters{}, bad("envector_keys names role %s in a %s: the envelope was edited", quoteShort(*x.Role), role)
	}
	var p Parameters
	switch *x.KeyFormat {
	case keyFormatLattigo:
		preset, ok := legacyPreset(*x.Preset)
		if !ok {
			return p, bad("unknown preset %s; accepted: IP0, IP1", quoteShort(*x.Preset))
		}
		mode := EvalMode(*x.EvalMode)
		if mode != EvalModeRMP && mode != EvalModeMM {
			return p, bad("unknown eval_mode %s; accepted: RMP, MM", quoteShort(*x.EvalMode))
		}
		dims, err := ParseDimList(*x.Dims)
		if err != nil || FormatDimList(dims) != *x.Dims {
			return p, bad("dims %s are not a canonical dim list (sorted, comma-separated powers of two from 32 to 4096)", quoteShort(*x.Dims))
		}
		p = Parameters{Preset: preset, EvalMode: mode, Dims: dims}
	case keyFormatEVI:
		// enVector's keys, carried in our envelope (read from its SDK, then unsealed,
		// sealed or moved here): the preset's scales come from the entry metadata.
		for _, pr := range eviPresets {
			if pr.name == *x.Preset {
				p.Preset = pr
			}
		}
		if md != nil && md.Parameter != nil {
			m := md.Parameter
			preset, err := eviPreset(m.Preset, m.Q, m.P, m.DBScaleFactor, m.QueryScaleFactor)
			if err != nil {
				return p, bad("entries[0].metadata: %s", err.(*Error).Msg)
			}
			p.Preset = preset
		}
		if p.Preset.name == "" || p.Preset.name != *x.Preset {
			return p, bad("unknown preset %s; accepted: IP0, IP1, IP2, IP3, QF0, QF1", quoteShort(*x.Preset))
		}
		if *x.EvalMode != "" && !slices.Contains(eviEvalModes, *x.EvalMode) {
			return p, bad("unknown eval_mode %s; accepted: %s", quoteShort(*x.EvalMode), strings.Join(eviEvalModes, ", "))
		}
		p.EvalMode = EvalMode(*x.EvalMode)
		if *x.Dims != "" {
			dims, err := ParseDimList(*x.Dims)
			if err != nil || FormatDimList(dims) != *x.Dims {
				return p, bad("dims %s are not a canonical dim list (sorted, comma-separated powers of two from 32 to 4096)", quoteShort(*x.Dims))
			}
			p.Dims = dims
		}
		if role != MetadataKey && role != EvalKey && md != nil && md.EvalMode != nil && *md.EvalMode == "" {
			return p, nil // enVector leaves eval_mode empty outside the EvalKey
		}
	default:
		return p, bad("key_format %s; accepted: %s, %s", quoteShort(*x.KeyFormat), keyFormatLattigo, keyFormatEVI)
	}
	if role != MetadataKey {
		if md == nil || md.Parameter == nil || md.EvalMode == nil {
			return p, bad("missing fields: entries[0].metadata (eval_mode, parameter)")
		}
		m := md.Parameter
		if m.Preset != p.Preset.name || m.Q != p.Preset.q || m.P != p.Preset.p || m.DBScaleFactor != p.Preset.logDBScale || m.QueryScaleFactor != p.Preset.logQryScale {
			return p, bad("entries[0].metadata.parameter does not match preset %s", p.Preset.name)
		}
		wantMode := ""
		if role == EvalKey {
			wantMode = metadataEvalMode(p)
		}
		if *md.EvalMode != wantMode {
			return p, bad("entries[0].metadata.eval_mode %s; expected %q", quoteShort(*md.EvalMode), wantMode)
		}
	}
	return p, nil
}

// parametersOfEVIEntry reads the parameters enVector records: the preset from the entry
// metadata (a sealed SecKey without metadata names it in its sealed header; a
// MetadataKey names none) and, on an EvalKey, the eval mode. Dims are not recorded.
func parametersOfEVIEntry(op string, role Role, md *wireMetadata, e *envelope) (Parameters, error) {
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	var p Parameters
	switch {
	case md != nil && md.Parameter != nil:
		m := md.Parameter
		preset, err := eviPreset(m.Preset, m.Q, m.P, m.DBScaleFactor, m.QueryScaleFactor)
		if err != nil {
			return p, bad("entries[0].metadata: %s", err.(*Error).Msg)
		}
		p.Preset = preset
		if md.EvalMode != nil && *md.EvalMode != "" {
			mode := *md.EvalMode
			if mode == "NULL" { // enVector's name for SINGLE
				mode = string(EvalModeSINGLE)
			}
			if !slices.Contains(eviEvalModes, mode) {
				return p, bad("unknown eval_mode %s; accepted: %s, NULL", quoteShort(*md.EvalMode), strings.Join(eviEvalModes, ", "))
			}
			p.EvalMode = EvalMode(mode)
		}
	case e.tombstone:
		// A destroyed secret without metadata names no preset: its key data is gone.
		p.Preset = Preset{keyFormat: keyFormatEVI}
	case role == SecKey && e.sealed():
		name, _, _, _, _ := parseSealedSecKey(e.keyData)
		for _, pr := range eviPresets {
			if pr.name == name {
				p.Preset = pr
			}
		}
		if p.Preset.name == "" {
			return p, bad("the sealed SecKey names preset %s; accepted: IP0, IP1, IP2, IP3, QF0, QF1", quoteShort(name))
		}
	case role == MetadataKey:
		p.Preset = Preset{keyFormat: keyFormatEVI}
	default:
		return p, bad("missing fields: entries[0].metadata")
	}
	return p, nil
}

// checkMemberNames walks a (small) JSON document and reports a member name repeated
// within one object: encoding/json keeps the last silently, and the digests would then
// cover something else than what a reader sees.
func checkMemberNames(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		object bool
		names  map[string]bool
		atName bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "" // encoding/json reports syntax errors itself
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.atName = true
				}
				stack = append(stack, &frame{object: t == '{', names: map[string]bool{}, atName: t == '{'})
				continue
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].atName = true
				}
				if len(stack) == 0 {
					return ""
				}
				continue
			}
		case string:
			if top != nil && top.object && top.atName {
				if top.names[t] {
					return "the field " + quoteShort(t) + " appears twice in one object"
				}
				top.names[t] = true
				top.atName = false
				continue
			}
		}
		if top != nil && top.object {
			top.atName = true
		}
	}
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

// readSetBinding reads our key-set binding and the state's actor from our member.
func readSetBinding(op string, e *envelope, x *wireExtension) error {
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	if x.StateChangedBy != nil {
		a := *x.StateChangedBy
		e.actor = &a
	}
	if x.SetID == nil && x.SetVersion == nil && x.SetDigests == nil {
		return nil // written before key sets were bound
	}
	if x.SetID == nil || x.SetVersion == nil || !setIDPattern.MatchString(*x.SetID) || *x.SetVersion < 1 {
		return bad("envector_keys.set_id must be 32 lowercase hex characters and set_version a positive integer, both present")
	}
	e.set = &setBinding{id: *x.SetID, version: *x.SetVersion}
	if !e.role.Secret() {
		if x.SetDigests != nil {
			return bad("a public %s records no set digests: the envelope was edited", e.role)
		}
		return nil
	}
	if x.SetDigests == nil {
		return bad("a %s bound to a key set records the digests of its public keys; this one has none: the envelope was edited", e.role)
	}
	e.setDigests = map[Role]string{}
	for name, v := range x.SetDigests {
		r, ok := roleByName(name)
		if !ok || r.Secret() || len(v) != sha256B64Len {
			return bad("envector_keys.set_digests names %s; accepted: EncKey and EvalKey, each a base64 SHA-256", quoteShort(name))
		}
		e.setDigests[r] = v
	}
	return nil
}

var setIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func roleByName(name string) (Role, bool) {
	for _, r := range AllRoles {
		if r.String() == name {
			return r, true
		}
	}
	return 0, false
}
