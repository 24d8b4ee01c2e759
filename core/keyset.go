package core

import (
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
	// ProviderType is recorded in provider_meta.type; zero = "LOCAL".
	ProviderType string
	// Now is the creation time; zero = the current time.
	Now time.Time
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
	rnd, err := newStreams(opts.Seed)
	if err != nil {
		return nil, err
	}
	defer rnd.wipe()

	coeffs, lk, err := makeLatticeKeys(params, rnd, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer wipeSecretKey(lk.sk)
	secData := encodeTernary(coeffs)
	wipeInt8(coeffs)
	encData, err := lk.pk.MarshalBinary()
	if err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "marshalling EncKey")
	}
	evalData, err := lk.evk.MarshalBinary()
	if err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "marshalling EvalKey")
	}

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
	provider := opts.ProviderType
	if provider == "" {
		provider = "LOCAL"
	}
	ks := &KeySet{id: opts.KeyID, params: params}
	add := func(r Role, data []byte) {
		ks.envs[r] = &envelope{
			kid: opts.KeyID, role: r, params: params,
			createdAt: created, expiresAt: now.AddDate(lifetimeYears, 0, 0).Format(timeLayout),
			state:     keyState{Value: StateActive, UpdatedAt: created},
			requester: req,
			provider:  providerMeta{Type: provider, ProviderVersion: "1"},
			keyData:   data,
		}
	}
	add(SecKey, secData)
	add(EncKey, encData)
	add(EvalKey, evalData)
	if !opts.NoMetadataKey {
		mk := make([]byte, 32)
		if _, err := io.ReadFull(rnd.prng(labelMetadata), mk); err != nil {
			return nil, Wrap(ErrInternal, "keygen", err, "MetadataKey")
		}
		add(MetadataKey, mk)
	}
	return ks, nil
}

// ParseKeySet builds a key set from envelopes (the bytes of key files or blobs), one per
// role. Every envelope is checked (DESIGN.md §5): its format must be its role's, its
// kid must be keyID, its digests must match, and all must share one set of
// parameters. Nothing is unsealed.
func ParseKeySet(keyID string, blobs map[Role][]byte, opts ParseOptions) (*KeySet, error) {
	if err := CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, Errorf(ErrInvalidArgument, "keyset", "no blobs given for key %q", keyID)
	}
	ks := &KeySet{id: keyID}
	first := true
	for _, r := range AllRoles {
		data, ok := blobs[r]
		if !ok {
			continue
		}
		e, err := parseEnvelope(data, r, keyID, opts)
		if err != nil {
			return nil, err
		}
		if first {
			ks.params, first = e.params, false
		} else if !ks.params.equal(e.params) {
			return nil, Errorf(ErrCorrupt, "keyset", "%s of key %q has parameters %s, the other keys %s: the keys are not from one key set", r, keyID, e.params, ks.params)
		}
		ks.envs[r] = e
	}
	for r := range blobs {
		if !r.valid() {
			return nil, Errorf(ErrInvalidArgument, "keyset", "unknown role %d", int(r))
		}
	}
	return ks, nil
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
	return ks.envs[r].marshal(), nil
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

// wipeNew zeroes the secrets out holds that ks does not share.
func (ks *KeySet) wipeNew(orig *KeySet) {
	for r, e := range ks.envs {
		if e != nil && e != orig.envs[r] && Role(r).Secret() {
			wipe(e.keyData)
		}
	}
}

// Wipe zeroes the key data of the secret roles this key set holds. Blobs already
// returned are the caller's. The key set must not be used afterwards.
func (ks *KeySet) Wipe() {
	for r, e := range ks.envs {
		if e != nil && Role(r).Secret() {
			wipe(e.keyData)
		}
	}
}

// EntryInfo describes one key of a set without its material.
type EntryInfo struct {
	Role      Role
	Format    string
	Sealed    bool
	DataSize  int    // bytes of key_data (ciphertext when sealed)
	Hash      string // base64 SHA-256 of key_data as stored, checked on parse
	CreatedAt string
	ExpiresAt string
	State     string
	Requester Requester
}

// Info describes each key the set holds, in role order.
func (ks *KeySet) Info() []EntryInfo {
	var out []EntryInfo
	for _, r := range ks.Roles() {
		e := ks.envs[r]
		out = append(out, EntryInfo{
			Role: r, Format: r.Format(), Sealed: e.sealed(), DataSize: len(e.keyData),
			Hash: e.hashValue(), CreatedAt: e.createdAt, ExpiresAt: e.expiresAt,
			State: e.state.Value, Requester: e.requester,
		})
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
