package core

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"regexp"
	"strings"
	"time"
)

// KeySet is one key set: SecKey, EncKey and EvalKey, and MetadataKey when metadata
// encryption is on, all under one key id and one set of parameters. It may hold only
// some roles (a store can load a subset). Secret keys are kept in unexported fields,
// either unsealed or sealed under a KEK; String and every fmt verb show the key id,
// roles and seal state, never key material. A KeySet is immutable: Seal and Unseal
// return new ones, so it may be shared across goroutines.
type KeySet struct {
	id     string
	params Parameters
	envs   [numRoles]*envelope
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckKeyID accepts 1 to 128 characters of letters, digits, '.', '_' and '-', starting
// with a letter or digit, so a key id is safe as a directory name, an S3 key and a
// Secrets Manager name.
func CheckKeyID(id string) error {
	if !keyIDPattern.MatchString(id) {
		return Errorf(ErrInvalidArgument, "key id", "key id %q is not accepted; accepted: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// GenerateOptions choose what Generate makes. The zero value of every field is the
// default.
type GenerateOptions struct {
	KeyID      string     // required; see CheckKeyID
	Parameters Parameters // preset, eval mode, dims; zero = ip0, rmp, 32..4096
	// NoMetadataKey leaves out the MetadataKey (metadata_encryption = false).
	NoMetadataKey bool
	// Seed, when set, must be SeedSize (64) bytes: every random choice then comes from
	// it, and the same seed and options give byte-identical unsealed key data.
	Seed []byte
	// Requester is recorded in every envelope; zero = the OS user, method "sdk".
	Requester Requester
	// Now is the creation time; zero = the current time.
	Now time.Time
	// Lifetime is how long the keys are usable: expires_at = created_at + Lifetime.
	// Zero = enVector's 43,800 hours (5 years); accepted: 1 hour to 100 years.
	Lifetime time.Duration
	// Version is the key set's version under its key id: 1 for a new key id (zero
	// means 1), one more than the current one for a rotation (see store.Rotate).
	Version int
	// Progress, if set, is called after each CKKS key is made (from several goroutines,
	// one call at a time).
	Progress func(done, total int)
}

// DefaultRequester names the OS user.
func DefaultRequester(method string) Requester {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return Requester{Entity: name, Method: method, Type: "user"}
}

// Generate makes a new key set in memory: real CKKS keys made with lattigo v5 (the
// rotation keys in parallel, each from its own PRNG stream) and a random 32-byte
// MetadataKey, each wrapped in its envelope. Nothing is written anywhere.
func Generate(opts GenerateOptions) (*KeySet, error) {
	if err := CheckKeyID(opts.KeyID); err != nil {
		return nil, err
	}
	params, err := opts.Parameters.Check()
	if err != nil {
		return nil, err
	}
	if err := checkLifetime(opts.Lifetime); err != nil {
		return nil, err
	}
	if opts.Version < 0 {
		return nil, Errorf(ErrInvalidArgument, "keygen", "version %d; accepted: a positive number (0 means 1)", opts.Version)
	}
	rnd, err := newStreams(opts.Seed)
	if err != nil {
		return nil, err
	}
	defer rnd.wipe()

	secData, encData, evalData, evalSrc, err := generateEVIKeysLazy(params.Preset.name, string(params.EvalMode), params.Dims, rnd)
	if err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(1, 1)
	}
	ks, err := newKeySet(opts, params, secData, encData, evalData, rnd)
	if err != nil {
		return nil, err
	}
	if evalSrc != nil {
		e := *ks.envs[EvalKey]
		e.keyData, e.src, e.dataSize, e.lazy = nil, evalSrc, evalSrc.size, nil
		ks.envs[EvalKey] = &e
	}
	return ks, nil
}

// newKeySet wraps made keys in their envelopes, with a MetadataKey unless left out:
// 32 random bytes, or with a seed the key enVector's SDK derives from the same seed
// (HKDF-SHA256 with salt "metadatakey" and info "envector-metadata-key").
func newKeySet(opts GenerateOptions, params Parameters, secData, encData, evalData []byte, rnd *streams) (*KeySet, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Second)
	created := now.Format(timeLayout)
	req := opts.Requester
	if req == (Requester{}) {
		req = DefaultRequester("sdk")
	}
	ks := &KeySet{id: opts.KeyID, params: params}
	lifetime := opts.Lifetime
	if lifetime == 0 {
		lifetime = keyLifetime
	}
	var setID [16]byte
	if _, err := io.ReadFull(rnd.prng(labelSetID), setID[:]); err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "set id")
	}
	set := &setBinding{id: hex.EncodeToString(setID[:]), version: max(opts.Version, 1)}
	base := &envelope{
		kid: opts.KeyID, params: params, keyVersion: eviKeyVersion,
		createdAt: created, expiresAt: now.Add(lifetime).Format(timeLayout),
		state:     keyState{Value: StateActive, UpdatedAt: created},
		requester: req,
	}
	add := func(r Role, data []byte) {
		e := *base
		e.role = r
		ks.envs[r] = e.withKeyData(data, nil)
	}
	defer ks.bind(set)
	add(SecKey, secData)
	add(EncKey, encData)
	if evalData != nil {
		add(EvalKey, evalData)
	} else {
		add(EvalKey, []byte{}) // made on demand: Generate sets its source
	}
	if !opts.NoMetadataKey {
		mk := make([]byte, metadataKeySize)
		var err error
		if len(opts.Seed) == SeedSize {
			mk, err = hkdf.Key(sha256.New, opts.Seed, []byte("metadatakey"), "envector-metadata-key", metadataKeySize)
		} else {
			_, err = io.ReadFull(rnd.prng(labelMetadata), mk)
		}
		if err != nil {
			return nil, Wrap(ErrInternal, "keygen", err, "MetadataKey")
		}
		add(MetadataKey, mk)
	}
	return ks, nil
}

// ParseKeySet builds a key set from envelopes (the bytes of key files or blobs), one per
// role. Every envelope is checked (DESIGN.md §5): its entry must be its role's, its kid
// must be keyID, its digests must match, and all must share one set of parameters.
// Nothing is unsealed.
func ParseKeySet(keyID string, blobs map[Role][]byte, opts ParseOptions) (*KeySet, error) {
	sources := make(map[Role]EnvelopeSource, len(blobs))
	for r, b := range blobs {
		sources[r] = EnvelopeSource{R: bytes.NewReader(b), Size: int64(len(b))}
	}
	return ReadKeySet(keyID, sources, opts)
}

// EnvelopeSource is one envelope to read: a stream and, if known, its length in bytes.
type EnvelopeSource struct {
	R    io.Reader
	Size int64
}

// ReadKeySet is ParseKeySet reading each envelope from a stream in one pass: no
// envelope is held in memory as text, so a key file of any size the format allows
// (enVector's MM EvalKey is over 1 GiB) loads with one copy of its key bytes, or none
// with opts.SkipKeyData.
func ReadKeySet(keyID string, sources map[Role]EnvelopeSource, opts ParseOptions) (*KeySet, error) {
	if err := CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, Errorf(ErrInvalidArgument, "keyset", "no blobs given for key %q", keyID)
	}
	for r := range sources {
		if !r.valid() {
			return nil, Errorf(ErrInvalidArgument, "keyset", "unknown role %d", int(r))
		}
	}
	ks := &KeySet{id: keyID}
	fail := func(err error) (*KeySet, error) {
		ks.Wipe()
		return nil, err
	}
	var from Role
	for _, r := range AllRoles {
		src, ok := sources[r]
		if !ok {
			continue
		}
		e, err := readEnvelope(src.R, src.Size, r, keyID, opts)
		if err != nil {
			return fail(err)
		}
		ks.envs[r] = e
		merged, ok := mergeParameters(ks.params, e.params)
		if !ok {
			return fail(Errorf(ErrCorrupt, "keyset", "%s of key %q has parameters %s, the %s %s: the keys are not from one key set", r, keyID, e.params, from, ks.params))
		}
		if ks.params.Preset.name == "" {
			from = r
		}
		ks.params = merged
	}
	if err := ks.checkBinding(); err != nil {
		return fail(err)
	}
	return ks, nil
}

// bind gives every envelope of ks (a key set being made) the binding set, each
// secret recording the digests of ks's public envelopes.
func (ks *KeySet) bind(set *setBinding) {
	digests := publicDigests(&ks.envs)
	for r, e := range ks.envs {
		if e == nil {
			continue
		}
		b := &setBinding{id: set.id, version: set.version}
		if Role(r).Secret() {
			b.digests = digests
		}
		e.set, e.setDigests = b, nil
	}
}

// checkBinding refuses envelopes that are not of one key set: every envelope bound to
// a set must name the same set, and each public envelope must be the one every bound
// secret records. (Unkeyed on its own; under a sealed secret's MAC it is keyed.)
func (ks *KeySet) checkBinding() error {
	var first *envelope
	for _, r := range AllRoles {
		e := ks.envs[r]
		if e == nil || e.set == nil {
			continue
		}
		if first == nil {
			first = e
			continue
		}
		if e.set.id != first.set.id || e.set.version != first.set.version {
			return Wrap(ErrCorrupt, "keyset", errSetMismatch, "the %s of key %q belongs to key set %s version %d, the %s to key set %s version %d: the files are from different key sets (one was replaced or moved in)", r, ks.id, e.set.id, e.set.version, first.role, first.set.id, first.set.version)
		}
	}
	// Bound secrets are resealed together: their key versions agree.
	if s, m := ks.envs[SecKey], ks.envs[MetadataKey]; s != nil && m != nil && s.set != nil && m.set != nil && s.keyVersion != m.keyVersion {
		return Wrap(ErrCorrupt, "keyset", errSetMismatch, "the SecKey of key %q has key_version %s and its MetadataKey %s: they were not resealed together (one was replaced)", ks.id, quoteShort(s.keyVersion), quoteShort(m.keyVersion))
	}
	for _, sr := range []Role{SecKey, MetadataKey} {
		s := ks.envs[sr]
		if s == nil {
			continue
		}
		recorded := s.recordedDigests()
		for _, pr := range []Role{EncKey, EvalKey} {
			p := ks.envs[pr]
			if p == nil || recorded == nil {
				continue
			}
			if want, ok := recorded[pr]; !ok || want != p.envelopeDigest() {
				return Wrap(ErrCorrupt, "keyset", errSetMismatch, "the %s of key %q is not the one its %s was made with: it was edited (state, times, requester, parameters or key bytes) or comes from another key set", pr, ks.id, sr)
			}
		}
	}
	return nil
}

// checkLifetime accepts 1 hour to 100 years (zero: the default).
func checkLifetime(d time.Duration) error {
	if d != 0 && (d < time.Hour || d > 100*365*24*time.Hour) {
		return Errorf(ErrInvalidArgument, "keygen", "lifetime %s; accepted: 1 hour to 100 years (default 43800h, 5 years)", d)
	}
	return nil
}

// mergeParameters combines what two envelopes of one set say: enVector's envelopes
// name the eval mode on the EvalKey only, its MetadataKey names no preset, and a sealed
// SecKey of its key generator names the preset without its scales.
func mergeParameters(a, b Parameters) (Parameters, bool) {
	if a.Preset.name == "" && (a.Preset.keyFormat == "" || a.Preset.keyFormat == b.Preset.keyFormat) {
		return b, true // a knew nothing (a MetadataKey, a destroyed secret)
	}
	if b.Preset.name == "" {
		return a, b.Preset.keyFormat == "" || b.Preset.keyFormat == a.Preset.keyFormat
	}
	if a.Preset.name != b.Preset.name || a.Preset.q != b.Preset.q || a.Preset.p != b.Preset.p || a.Preset.keyFormat != b.Preset.keyFormat {
		return a, false
	}
	if a.Preset.keyFormat == keyFormatLattigo {
		return a, a.equal(b)
	}
	out := a
	if out.Preset.logDBScale == 0 && out.Preset.logQryScale == 0 {
		out.Preset = b.Preset
	} else if b.Preset.logDBScale != 0 && (b.Preset.logDBScale != a.Preset.logDBScale || b.Preset.logQryScale != a.Preset.logQryScale) {
		return a, false
	}
	switch {
	case out.EvalMode == "":
		out.EvalMode = b.EvalMode
	case b.EvalMode != "" && b.EvalMode != out.EvalMode:
		return a, false
	}
	if len(out.Dims) == 0 {
		out.Dims = b.Dims
	} else if len(b.Dims) > 0 && FormatDimList(b.Dims) != FormatDimList(out.Dims) {
		return a, false
	}
	return out, true
}

// ID returns the key id.
func (ks *KeySet) ID() string { return ks.id }

// Parameters returns the preset, eval mode and dims.
func (ks *KeySet) Parameters() Parameters {
	p := ks.params
	p.Dims = append([]int(nil), p.Dims...)
	return p
}

// Roles lists the roles the key set holds, in order.
func (ks *KeySet) Roles() []Role {
	var out []Role
	for _, r := range AllRoles {
		if ks.envs[r] != nil {
			out = append(out, r)
		}
	}
	return out
}

// Has reports whether the key set holds role r.
func (ks *KeySet) Has(r Role) bool { return r.valid() && ks.envs[r] != nil }

// Complete reports whether SecKey, EncKey and EvalKey are all present.
func (ks *KeySet) Complete() bool {
	for _, r := range RequiredRoles {
		if !ks.Has(r) {
			return false
		}
	}
	return true
}

// Sealed reports whether any secret key of the set is sealed.
func (ks *KeySet) Sealed() bool {
	for _, e := range ks.envs {
		if e != nil && e.sealed() {
			return true
		}
	}
	return false
}

// Blob returns role r's envelope as JSON: the bytes of its key file or remote blob.
// For an unsealed secret role these bytes hold the secret in the clear.
func (ks *KeySet) Blob(r Role) ([]byte, error) {
	if !ks.Has(r) {
		return nil, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r].marshal()
}

// WriteBlob streams role r's envelope to w, as Blob would return it, without building it
// in memory; it returns the bytes written. A generated MM or MM32 EvalKey whose bytes
// are not in memory is made straight into w, a few MiB at a time: as the envelope's head
// holds the key's hash, the key is first made once into a hasher only (unless its hash
// is already known), then again into w, so generation costs twice the CPU (WriteBlobFile
// makes it once, writing the head again at the end).
func (ks *KeySet) WriteBlob(r Role, w io.Writer) (int64, error) {
	if !ks.Has(r) {
		return 0, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r].writeStreamed(w)
}

// WriteBlobFile is WriteBlob into a file at its current offset. A generated MM or MM32
// EvalKey (about 0.9 GB) whose bytes are not in memory is made straight into the file,
// a few MiB at a time; the envelope's head is written again at the end, once the key's
// hash is known, so f must also be writable at that offset.
func (ks *KeySet) WriteBlobFile(r Role, f *os.File) (int64, error) {
	if !ks.Has(r) {
		return 0, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r].writeToFile(f)
}

// BlobSize returns the length of role r's envelope as Blob would return it, without
// making a generated EvalKey's bytes.
func (ks *KeySet) BlobSize(r Role) (int64, error) {
	if !ks.Has(r) {
		return 0, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r].blobSize()
}

// BlobTo is Blob written straight into memory the caller provides: alloc(n) must
// return a buffer of exactly n bytes (C memory, say), which BlobTo fills and returns.
// No other copy of the envelope is made. An error from alloc is returned as is.
func (ks *KeySet) BlobTo(r Role, alloc func(n int) ([]byte, error)) ([]byte, error) {
	if !ks.Has(r) {
		return nil, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r].marshalTo(alloc)
}

// Subset returns a key set with only the given roles, which must all be present.
func (ks *KeySet) Subset(roles ...Role) (*KeySet, error) {
	out := &KeySet{id: ks.id, params: ks.params}
	for _, r := range roles {
		if !ks.Has(r) {
			return nil, Errorf(ErrNotFound, "keyset", "key %q holds no %s", ks.id, r)
		}
		out.envs[r] = ks.envs[r]
	}
	return out, nil
}

// Seal returns a copy whose SecKey and MetadataKey are encrypted with AES-256-GCM under
// kek, bound to the key id, role and parameters. EncKey and EvalKey are never sealed.
func (ks *KeySet) Seal(kek *KEK) (*KeySet, error) {
	return ks.mapSecrets(kek, sealEnvelope)
}

// Unseal returns a copy whose sealed keys are decrypted. A wrong KEK, or a sealed key
// moved from another key id or role, fails with ErrAuth, naming key id and role.
func (ks *KeySet) Unseal(kek *KEK) (*KeySet, error) {
	return ks.mapSecrets(kek, unsealEnvelope)
}

func (ks *KeySet) mapSecrets(kek *KEK, f func(*envelope, *KEK) (*envelope, error)) (*KeySet, error) {
	if kek == nil {
		return nil, Errorf(ErrInvalidArgument, "seal", "no KEK given")
	}
	out := &KeySet{id: ks.id, params: ks.params, envs: ks.envs}
	for _, r := range AllRoles {
		if e := ks.envs[r]; e != nil && r.Secret() {
			if e.params.Preset.name == "" || e.params.Preset.logDBScale == 0 {
				c := *e // what the set knows (scales, eval mode) is written with the key
				c.params = ks.params
				e = &c
			}
			ne, err := f(e, kek)
			if err != nil {
				out.wipeNew(ks)
				return nil, err
			}
			out.envs[r] = ne
		}
	}
	return out, nil
}

// WipeUnshared is Wipe, except for key data one of keep holds too (a set made from ks by
// ChangeState, say, shares its key bytes): that stays for keep's owner.
func (ks *KeySet) WipeUnshared(keep ...*KeySet) {
	for r, e := range ks.envs {
		if e == nil || !Role(r).Secret() {
			continue
		}
		shared := false
		for _, k := range keep {
			if k != nil && k.envs[r] != nil && len(e.keyData) > 0 && len(k.envs[r].keyData) > 0 && &k.envs[r].keyData[0] == &e.keyData[0] {
				shared = true
			}
		}
		if !shared {
			wipe(e.keyData)
			wipe(e.macKey)
		}
	}
}

// wipeNew zeroes the secrets out holds that ks does not share.
func (ks *KeySet) wipeNew(orig *KeySet) {
	for r, e := range ks.envs {
		if e != nil && e != orig.envs[r] && Role(r).Secret() {
			wipe(e.keyData)
		}
	}
}

// Wipe zeroes the key data of the secret roles this key set holds, and the MAC keys of
// its sealed ones. Blobs already returned are the caller's. The key set must not be
// used afterwards.
func (ks *KeySet) Wipe() {
	for r, e := range ks.envs {
		if e != nil && Role(r).Secret() {
			wipe(e.keyData)
			wipe(e.macKey)
		}
	}
}

// EntryInfo describes one key of a set without its material.
type EntryInfo struct {
	Role       Role
	Format     string  // the entry name: seckey, seckey.sealed, enckey, evalkey, metadatakey
	Dialect    Dialect // who wrote the envelope
	KeyFormat  string  // the key data's layout: "lattigo-v5" or "evi"
	Sealed     bool
	SealAlg    string // "AES-KEK" (SecKey), "AES-256-GCM" (MetadataKey), or "" when not sealed
	DataSize   int64  // bytes of key_data (the sealed blob when sealed)
	Hash       string // base64 SHA-256 of key_data as stored, checked on parse
	KeyVersion string
	CreatedAt  string
	ExpiresAt  string
	State      string
	Requester  Requester
	// StateReason and StateUpdatedAt are the reason and time of the last state change
	// ("" and the creation time when none was made); StateChangedBy who made it.
	StateReason    string
	StateUpdatedAt string
	StateChangedBy *Requester
	// Compromised: the last state change recorded a compromise (StateChange.Compromised).
	Compromised bool
	// SetID and SetVersion bind the envelopes of one key set (SetID "" when the
	// envelope carries no binding: enVector's files, older ones).
	SetID      string
	SetVersion int
	Tombstone  bool // a destroyed secret: its key data was erased
}

// Info describes each key the set holds, in role order.
func (ks *KeySet) Info() []EntryInfo {
	var out []EntryInfo
	for _, r := range ks.Roles() {
		e := ks.envs[r]
		info := EntryInfo{
			Role: r, Format: e.entryName(), Dialect: e.dialect, KeyFormat: ks.params.Preset.keyFormat,
			Sealed: e.sealed(), DataSize: e.dataSize, Hash: e.hashValue(), KeyVersion: e.keyVersion,
			CreatedAt: e.createdAt, ExpiresAt: e.expiresAt, State: e.state.Value, Requester: e.requester,
		}
		if e.sealed() {
			info.SealAlg = e.seal.alg
		}
		if e.state.Reason != nil {
			info.StateReason = *e.state.Reason
			info.Compromised = strings.HasPrefix(info.StateReason, compromisedPrefix)
		}
		info.StateUpdatedAt, info.Tombstone = e.state.UpdatedAt, e.tombstone
		if e.actor != nil {
			a := *e.actor
			info.StateChangedBy = &a
		}
		if e.set != nil {
			info.SetID, info.SetVersion = e.set.id, e.set.version
		}
		out = append(out, info)
	}
	return out
}

// String shows the key id, parameters, roles and seal state; never key material.
func (ks KeySet) String() string {
	var roles []string
	for _, r := range ks.Roles() {
		s := r.String()
		if ks.envs[r].sealed() {
			s += "(sealed)"
		}
		roles = append(roles, s)
	}
	return fmt.Sprintf("KeySet(%s %s [%s])", ks.id, ks.params, strings.Join(roles, " "))
}

// Format makes every fmt verb print String, for a KeySet value as for a pointer.
func (ks KeySet) Format(f fmt.State, _ rune) { io.WriteString(f, ks.String()) }

// errSetMismatch is the cause of the errors that say envelopes of different key sets
// (or of one set in the middle of a change) were read together.
var errSetMismatch = errors.New("the envelopes are not of one key set")

// IsSetMismatch reports whether err says that envelopes of different key sets, or of
// one key set read while it was being replaced, were read together: reading again may
// succeed.
func IsSetMismatch(err error) bool { return errors.Is(err, errSetMismatch) }
