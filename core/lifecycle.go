package core

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The life of a key set, as enVector's SDK (evi 1.6.3) moves a key through it: preparing
// -> active -> deactivated -> destroyed, one step at a time, each with a non-empty
// reason; a destroyed secret keeps its envelope as a tombstone without key_data, iv, tag
// or hash. enVector's format has no "compromised" state: a compromise is recorded in the
// reason of a deactivation (or destruction). A key set changes state as a whole: all of
// its envelopes are rewritten, and a sealed set's MACs are made again, so the KEK is
// needed.

// nextState is the one state each state may move to.
var nextState = map[string]string{
	StatePreparing:   StateActive,
	StateActive:      StateDeactivated,
	StateDeactivated: StateDestroyed,
}

// compromisedPrefix starts the reason of a state change that records a compromise.
const compromisedPrefix = "compromised: "

// maxReasonLen bounds a state change's reason.
const maxReasonLen = 1024

// StateChange asks for a key set's state to change (see KeySet.ChangeState).
type StateChange struct {
	// To is the new state: StateActive (from preparing), StateDeactivated (from
	// active) or StateDestroyed (from deactivated).
	To string
	// Reason says why; required (1 to 1024 printable characters), as in enVector.
	Reason string
	// Compromised records that the keys are known or suspected to be exposed. enVector's
	// format has no such state, so the reason is recorded as "compromised: <reason>";
	// allowed with To deactivated or destroyed.
	Compromised bool
	// Actor is who makes the change; zero = the OS user, method "sdk".
	Actor Requester
	// Now is the time of the change; zero = the current time.
	Now time.Time
}

// State returns the key set's state (the one all its envelopes share) and the
// earliest expiry among them. A set whose envelopes disagree returns the states
// joined with "/" (such a set is not used; ChangeState can bring it back in step).
func (ks *KeySet) State() (state string, expiresAt time.Time) {
	var states []string
	for _, r := range ks.Roles() {
		e := ks.envs[r]
		if len(states) == 0 || states[len(states)-1] != e.state.Value {
			states = append(states, e.state.Value)
		}
		if t, err := time.Parse(time.RFC3339, e.expiresAt); err == nil && (expiresAt.IsZero() || t.Before(expiresAt)) {
			expiresAt = t
		}
	}
	return strings.Join(states, "/"), expiresAt
}

// CheckUsable fails with ErrInactive unless every envelope of the set is active and
// unexpired at now: the check every load for use makes (inspection skips it).
func (ks *KeySet) CheckUsable(now time.Time) error {
	for _, r := range ks.Roles() {
		e := ks.envs[r]
		if e.state.Value != StateActive {
			return Errorf(ErrInactive, "keyset", "the %s of key %q is %s, not active; only active keys are used", r, ks.id, e.state.Value)
		}
		if t, err := time.Parse(time.RFC3339, e.expiresAt); err == nil && !now.Before(t) {
			return Errorf(ErrInactive, "keyset", "the %s of key %q expired at %s; expired keys are not used", r, ks.id, e.expiresAt)
		}
	}
	return nil
}

// Version returns the key set's version under its key id (1 for a set that was never
// rotated, and for sets written before versions were recorded).
func (ks *KeySet) Version() int {
	for _, e := range ks.envs {
		if e != nil && e.set != nil {
			return e.set.version
		}
	}
	return 1
}

// SetID returns the random id that binds the set's envelopes together, or "" for a set
// written without one (by enVector's SDK, or by envector-keys before 0.3).
func (ks *KeySet) SetID() string {
	for _, e := range ks.envs {
		if e != nil && e.set != nil {
			return e.set.id
		}
	}
	return ""
}

// Authenticate checks, under kek, the MAC of every sealed secret of the set: each
// covers every field of its envelope and, through the set digests (checked when the set
// was read), every field of the set's public envelopes. A set with no sealed secret
// fails: a KEK proves nothing about it. Nothing is unsealed.
func (ks *KeySet) Authenticate(kek *KEK) error {
	if kek == nil {
		return Errorf(ErrInvalidArgument, "authenticate", "no KEK given")
	}
	if !ks.Sealed() {
		return Errorf(ErrInvalidArgument, "authenticate", "the secret keys of key %q are not sealed, so a KEK proves nothing about them; give no KEK for an unsealed key set", ks.id)
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		if e := ks.envs[r]; e != nil && e.sealed() {
			if err := e.checkMAC(kek); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkReason(op, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return Errorf(ErrInvalidArgument, op, "a reason is required (as in enVector); say why the state changes")
	}
	if len(reason) > maxReasonLen {
		return Errorf(ErrInvalidArgument, op, "the reason is %d bytes; accepted: at most %d", len(reason), maxReasonLen)
	}
	for _, c := range reason {
		if !unicode.IsPrint(c) {
			return Errorf(ErrInvalidArgument, op, "the reason holds a control character; accepted: printable text")
		}
	}
	return nil
}

// ChangeState returns a copy of the key set in state c.To. Every envelope must be in
// the state before it (envelopes already in c.To are changed too, with the new reason,
// so a set moved part way by enVector's SDK comes back in step). A sealed set needs its
// KEK: every MAC is checked first and made again. Moving to destroyed erases the secret
// keys' data (the returned set's secrets are tombstones); public keys keep theirs, as
// in enVector. A legacy (0.1) set cannot change state.
func (ks *KeySet) ChangeState(c StateChange, kek *KEK) (*KeySet, error) {
	op := "state"
	from := ""
	for s, next := range nextState {
		if next == c.To {
			from = s
		}
	}
	if from == "" {
		return nil, Errorf(ErrInvalidArgument, op, "state %q cannot be moved to; accepted: active (from preparing), deactivated (from active), destroyed (from deactivated)", c.To)
	}
	if err := checkReason(op, c.Reason); err != nil {
		return nil, err
	}
	reason := c.Reason
	if c.Compromised {
		if c.To == StateActive {
			return nil, Errorf(ErrInvalidArgument, op, "a compromised key set cannot be activated; deactivate it (then destroy it)")
		}
		reason = compromisedPrefix + reason
	}
	if len(ks.Roles()) == 0 {
		return nil, Errorf(ErrInvalidArgument, op, "key %q holds no keys", ks.id)
	}
	moved := 0
	for _, r := range ks.Roles() {
		e := ks.envs[r]
		switch {
		case e.dialect == DialectLegacy:
			return nil, Errorf(ErrInvalidArgument, op, "the %s of key %q is in the read-only 0.1 format; its state cannot change (save the set again in the current format first)", r, ks.id)
		case e.dropped:
			return nil, Errorf(ErrInvalidArgument, op, "the %s of key %q was read without its key data (inspection only) and cannot be rewritten", r, ks.id)
		case e.state.Value == from:
			moved++
		case e.state.Value != c.To:
			return nil, Errorf(ErrInvalidArgument, op, "the %s of key %q is %s; a key set moves to %s only from %s (the order is preparing, active, deactivated, destroyed)", r, ks.id, e.state.Value, c.To, from)
		}
	}
	if moved == 0 {
		return nil, Errorf(ErrInvalidArgument, op, "key %q is already %s", ks.id, c.To)
	}
	var macKey []byte
	switch {
	case ks.Sealed() && kek == nil:
		return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are sealed; changing its state needs the KEK (its envelopes are authenticated under it)", ks.id)
	case ks.Sealed():
		if err := ks.Authenticate(kek); err != nil {
			return nil, err
		}
		macKey = kek.macKey()
		defer wipe(macKey)
	case kek != nil:
		return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are not sealed; give no KEK", ks.id)
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	actor := c.Actor
	if actor == (Requester{}) {
		actor = DefaultRequester("sdk")
	}
	out := &KeySet{id: ks.id, params: ks.params}
	for _, r := range ks.Roles() {
		e := *ks.envs[r]
		e.state = keyState{Value: c.To, Reason: &reason, UpdatedAt: now.UTC().Format(timeLayout)}
		e.actor = &actor
		e.raw, e.readName, e.dialect, e.docDigest, e.mac, e.macInput = nil, ks.envs[r].readName, DialectOurs, "", "", nil
		if r.Secret() {
			if e.sealed() {
				e.macKey = append([]byte(nil), macKey...)
			}
			if c.To == StateDestroyed {
				e.tombstone, e.keyData, e.dataSize, e.hash, e.lazy = true, nil, 0, "", nil
				if e.seal != nil {
					e.seal = &sealInfo{alg: e.seal.alg}
				}
			}
		}
		if e.params.Preset.name == "" || e.params.Preset.logDBScale == 0 {
			e.params = ks.params // what the set knows is written with each key
		}
		out.envs[r] = &e
	}
	set := &setBinding{version: ks.Version(), id: ks.SetID()}
	if set.id == "" {
		id, err := newSetID()
		if err != nil {
			return nil, err
		}
		set.id = id
	}
	out.bind(set)
	return out, nil
}

func newSetID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Wrap(ErrInternal, "keyset", err, "the OS random source failed")
	}
	return hex.EncodeToString(b[:]), nil
}

// Reseal returns a copy whose SecKey and MetadataKey are sealed under newKEK: unsealed
// under oldKEK first (which checks their MACs), or sealed for the first time when the set
// is not sealed (oldKEK nil). The keys themselves do not change; the public envelopes are
// shared with ks unchanged. Each resealed envelope's key_version goes up by one, as
// enVector's SDK counts re-wrappings. Only an active set is resealed (as in enVector).
func (ks *KeySet) Reseal(oldKEK, newKEK *KEK) (*KeySet, error) {
	op := "reseal"
	if newKEK == nil {
		return nil, Errorf(ErrInvalidArgument, op, "no new KEK given")
	}
	if !ks.Has(SecKey) {
		return nil, Errorf(ErrNotFound, op, "key %q holds no SecKey to reseal", ks.id)
	}
	for _, r := range ks.Roles() {
		if e := ks.envs[r]; e.state.Value != StateActive {
			return nil, Errorf(ErrInactive, op, "the %s of key %q is %s; only an active key set is resealed", r, ks.id, e.state.Value)
		}
		if ks.envs[r].dialect == DialectLegacy && r.Secret() && oldKEK == nil {
			return nil, Errorf(ErrInvalidArgument, op, "the %s of key %q is in the read-only 0.1 format", r, ks.id)
		}
	}
	plain := ks
	switch {
	case ks.Sealed() && oldKEK == nil:
		return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are sealed; resealing needs the current KEK too", ks.id)
	case ks.Sealed():
		var err error
		if plain, err = ks.Unseal(oldKEK); err != nil {
			return nil, err
		}
		defer plain.wipeNew(ks)
	case oldKEK != nil:
		return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are not sealed; give no current KEK to seal them", ks.id)
	}
	next := &KeySet{id: ks.id, params: ks.params, envs: plain.envs}
	var newSet *setBinding
	if ks.SetID() == "" {
		// A set without a binding (enVector's) is bound now: its secrets record the
		// public envelopes as they are.
		id, err := newSetID()
		if err != nil {
			return nil, err
		}
		newSet = &setBinding{id: id, version: 1}
	}
	for _, r := range []Role{SecKey, MetadataKey} {
		e := next.envs[r]
		if e == nil {
			continue
		}
		v, err := strconv.Atoi(e.keyVersion)
		if err != nil || v < 1 {
			return nil, Errorf(ErrCorrupt, op, "the %s of key %q has key_version %q; expected a positive integer", r, ks.id, e.keyVersion)
		}
		c := *e
		c.keyVersion = strconv.Itoa(v + 1)
		if newSet != nil {
			c.set, c.setDigests = newSet, publicDigests(&ks.envs)()
		}
		next.envs[r] = &c
	}
	return next.Seal(newKEK)
}

// SameEnvelope reports whether role r of ks is the very envelope other holds (shared,
// unchanged: a public key left as it was by Reseal), so a store can keep its bytes.
func (ks *KeySet) SameEnvelope(other *KeySet, r Role) bool {
	return r.valid() && ks.envs[r] != nil && other != nil && ks.envs[r] == other.envs[r]
}
