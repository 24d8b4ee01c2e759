package core

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var ip0Single = Parameters{Preset: PresetIP0, EvalMode: EvalModeSINGLE}

func newEVISet(t testing.TB) *KeySet {
	t.Helper()
	ks, err := Generate(GenerateOptions{KeyID: testKID, Parameters: ip0Single, Requester: testRequester, Now: time.Now()})
	require.NoError(t, err)
	return ks
}

func blobsOf(t testing.TB, ks *KeySet) map[Role][]byte {
	t.Helper()
	out := map[Role][]byte{}
	for _, r := range ks.Roles() {
		out[r] = mustBlob(t, ks, r)
	}
	return out
}

// docDigestOf is the digest a secret records of a public envelope: SHA-256 of its
// canonical document with key_data empty, without our digest and MAC.
func docDigestOf(t testing.TB, blob []byte) string {
	doc := decodeDoc(t, blob)
	entryOf(doc)["key_data"] = ""
	return sha256b64(digestInput(doc))
}

// Every field that means something, in every envelope of a sealed set, edited by
// someone without the KEK who recomputes every unkeyed digest (enVector's aad and hash,
// our digest, and for a public envelope the digests the secrets record of it): the set
// is refused as soon as the KEK is given (Authenticate, Unseal, Verify).
func TestSealedSetEditsNeedTheKEK(t *testing.T) {
	kek := newKEK(t)
	sealed, err := newEVISet(t).Seal(kek)
	require.NoError(t, err)
	good := blobsOf(t, sealed)
	back, err := ParseKeySet(testKID, good, ParseOptions{})
	require.NoError(t, err)
	require.NoError(t, back.Authenticate(kek), "unchanged, the set authenticates")

	set := func(path ...string) func(v any) func(doc, entry map[string]any) {
		return func(v any) func(doc, entry map[string]any) {
			return func(doc, _ map[string]any) {
				m := doc
				for _, p := range path[:len(path)-1] {
					m = m[p].(map[string]any)
				}
				m[path[len(path)-1]] = v
			}
		}
	}
	edits := map[string]func(doc, entry map[string]any){
		"created_at":         set("created_at")("2020-01-01T00:00:00Z"),
		"expires_at":         set("expires_at")("2099-01-01T00:00:00Z"),
		"key_version":        set("key_version")("7"),
		"requester.entity":   set("requester", "entity")("mallory"),
		"requester.method":   set("requester", "method")("api"),
		"requester.type":     set("requester", "type")("service"),
		"state.value":        set("state", "value")(StateDeactivated),
		"state.reason":       set("state", "reason")("rotated"),
		"state.updated_at":   set("state", "updated_at")("2030-01-01T00:00:00Z"),
		"provider_meta":      set("provider_meta")(map[string]any{"type": "local"}),
		"set_id":             set(extensionMember, "set_id")("00000000000000000000000000000000"),
		"set_version":        set(extensionMember, "set_version")(2),
		"state_changed_by":   set(extensionMember, "state_changed_by")(map[string]any{"entity": "x", "method": "y", "type": "z"}),
		"entries[0].role":    func(_, e map[string]any) { e["role"] = e["role"].(string) + " " },
		"entries[0].extra":   func(_, e map[string]any) { e["note"] = "added" },
		"metadata.eval_mode": func(_, e map[string]any) { setIfPresent(e, "metadata", "eval_mode", "FLAT") },
	}
	atParse, byMAC := 0, 0
	for _, role := range AllRoles {
		for name, edit := range edits {
			what := fmt.Sprintf("%s %s", role, name)
			blobs := map[Role][]byte{}
			for r, b := range good {
				blobs[r] = b
			}
			blobs[role] = forged(t, good[role], edit)
			if bytes.Equal(blobs[role], forged(t, good[role], func(_, _ map[string]any) {})) {
				continue // the field is not in this role's envelope
			}
			if !role.Secret() {
				// Make the secrets record the edited public envelope too.
				d := docDigestOf(t, blobs[role])
				for _, s := range []Role{SecKey, MetadataKey} {
					blobs[s] = forged(t, blobs[s], func(doc, _ map[string]any) {
						doc[extensionMember].(map[string]any)["set_digests"].(map[string]any)[role.String()] = d
					})
				}
			}
			ks, err := ParseKeySet(testKID, blobs, ParseOptions{AllowInactive: true})
			if err != nil {
				require.ErrorIs(t, err, ErrCorrupt, what) // refused before any KEK is needed
				atParse++
				continue
			}
			byMAC++
			err = ks.Authenticate(kek)
			require.ErrorIs(t, err, ErrAuth, what)
			_, err = ks.Unseal(kek)
			require.ErrorIs(t, err, ErrAuth, what)
			if ks.Complete() {
				_, err = ks.Verify(kek)
				require.Error(t, err, what)
			}
		}
	}
	t.Logf("%d edits refused when read, %d only by the MAC", atParse, byMAC)
	require.Greater(t, byMAC, 40, "most edits pass every unkeyed check: only the MAC can tell")
}

func setIfPresent(m map[string]any, outer, key string, v any) {
	if inner, ok := m[outer].(map[string]any); ok {
		inner[key] = v
	}
}

// A secret (or public key) of another key set with the same key id, sealed under the
// same KEK, is refused when loaded with the rest of the set: the set ids differ.
func TestSecretFromAnotherSetIsRefused(t *testing.T) {
	kek := newKEK(t)
	a, err := newEVISet(t).Seal(kek)
	require.NoError(t, err)
	b, err := newEVISet(t).Seal(kek)
	require.NoError(t, err)
	require.NotEqual(t, a.SetID(), b.SetID())
	for _, foreign := range AllRoles {
		blobs := blobsOf(t, a)
		blobs[foreign] = mustBlob(t, b, foreign)
		_, err := ParseKeySet(testKID, blobs, ParseOptions{})
		require.ErrorIs(t, err, ErrCorrupt, "foreign %s", foreign)
		require.Contains(t, err.Error(), "key set", "foreign %s", foreign)
		require.Contains(t, err.Error(), foreign.String(), "foreign %s", foreign)
	}
}

// Verify (and Authenticate) with a KEK refuse an unsealed set: a KEK proves nothing.
func TestKEKWithUnsealedSetIsRefused(t *testing.T) {
	ks := newEVISet(t)
	_, err := ks.Verify(newKEK(t))
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), "not sealed")
	require.ErrorIs(t, ks.Authenticate(newKEK(t)), ErrInvalidArgument)
}

func TestStateTransitions(t *testing.T) {
	kek := newKEK(t)
	actor := Requester{Entity: "ops", Method: "cli", Type: "user"}
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, sealedSet := range []bool{false, true} {
		ks := newEVISet(t)
		var k *KEK
		if sealedSet {
			k = kek
			var err error
			ks, err = ks.Seal(kek)
			require.NoError(t, err)
		}
		name := fmt.Sprintf("sealed=%v", sealedSet)
		state, _ := ks.State()
		require.Equal(t, StateActive, state)
		require.NoError(t, ks.CheckUsable(time.Now()))

		// Refused steps, each changing nothing.
		for _, c := range []StateChange{
			{To: StateDestroyed, Reason: "skip a step"},
			{To: StateActive, Reason: "already"},
			{To: StatePreparing, Reason: "back"},
			{To: "suspended", Reason: "not enVector's"},
			{To: StateDeactivated, Reason: ""},
			{To: StateDeactivated, Reason: "bad\x00reason"},
		} {
			_, err := ks.ChangeState(c, k)
			require.ErrorIs(t, err, ErrInvalidArgument, "%s %+v", name, c)
		}
		if sealedSet {
			_, err := ks.ChangeState(StateChange{To: StateDeactivated, Reason: "r"}, nil)
			require.ErrorIs(t, err, ErrInvalidArgument, "a sealed set needs its KEK")
			_, err = ks.ChangeState(StateChange{To: StateDeactivated, Reason: "r"}, newKEK(t))
			require.ErrorIs(t, err, ErrAuth, "and the right one")
		} else {
			_, err := ks.ChangeState(StateChange{To: StateDeactivated, Reason: "r"}, kek)
			require.ErrorIs(t, err, ErrInvalidArgument, "an unsealed set takes no KEK")
		}

		off, err := ks.ChangeState(StateChange{To: StateDeactivated, Reason: "leaked laptop", Compromised: true, Actor: actor, Now: at}, k)
		require.NoError(t, err, name)
		// Written and read back: the state, reason, time and actor are in every envelope.
		read, err := ParseKeySet(testKID, blobsOf(t, off), ParseOptions{AllowInactive: true})
		require.NoError(t, err, name)
		for _, info := range read.Info() {
			require.Equal(t, StateDeactivated, info.State, "%s %s", name, info.Role)
			require.Equal(t, "compromised: leaked laptop", info.StateReason)
			require.True(t, info.Compromised)
			require.Equal(t, "2027-01-02T03:04:05Z", info.StateUpdatedAt)
			require.Equal(t, &actor, info.StateChangedBy)
			require.Equal(t, ks.SetID(), info.SetID)
		}
		if sealedSet {
			require.NoError(t, read.Authenticate(kek), "the new MACs check")
		}
		// Not loaded for use, with its own error.
		_, err = ParseKeySet(testKID, blobsOf(t, off), ParseOptions{})
		require.ErrorIs(t, err, ErrInactive, name)
		require.ErrorIs(t, read.CheckUsable(time.Now()), ErrInactive)
		_, err = read.ChangeState(StateChange{To: StateActive, Reason: "undo"}, k)
		require.ErrorIs(t, err, ErrInvalidArgument, "deactivated never comes back")

		gone, err := read.ChangeState(StateChange{To: StateDestroyed, Reason: "retired", Actor: actor, Now: at}, k)
		require.NoError(t, err, name)
		tomb := blobsOf(t, gone)
		for _, r := range []Role{SecKey, MetadataKey} {
			entry := entryOf(decodeDoc(t, tomb[r]))
			for _, erased := range []string{"key_data", "iv", "tag", "hash"} {
				require.NotContains(t, entry, erased, "%s %s: a destroyed secret keeps no %s", name, r, erased)
			}
		}
		for _, r := range []Role{EncKey, EvalKey} {
			require.Equal(t, keyDataOf(t, good(t, ks, r)), keyDataOf(t, tomb[r]), "public keys are kept, as in enVector")
		}
		dead, err := ParseKeySet(testKID, tomb, ParseOptions{AllowInactive: true})
		require.NoError(t, err, name)
		state, _ = dead.State()
		require.Equal(t, StateDestroyed, state)
		if sealedSet {
			require.NoError(t, dead.Authenticate(kek))
			_, err = dead.Unseal(kek)
			require.ErrorIs(t, err, ErrInactive, "nothing to unseal")
		}
		_, err = dead.ChangeState(StateChange{To: StateDestroyed, Reason: "again"}, k)
		require.ErrorIs(t, err, ErrInvalidArgument)
		for r, b := range tomb {
			again, err := ParseKeySet(testKID, map[Role][]byte{r: b}, ParseOptions{AllowInactive: true})
			require.NoError(t, err)
			require.Equal(t, b, mustBlob(t, again, r), "a tombstone is written back as read")
		}
	}
}

func good(t testing.TB, ks *KeySet, r Role) []byte { return mustBlob(t, ks, r) }

func keyDataOf(t testing.TB, blob []byte) string {
	return entryOf(decodeDoc(t, blob))["key_data"].(string)
}

// preparing -> active is the one step into use.
func TestPreparingToActive(t *testing.T) {
	ks := newEVISet(t)
	prep := &KeySet{id: ks.id, params: ks.params}
	for _, r := range ks.Roles() {
		e := *ks.envs[r]
		e.state.Value = StatePreparing
		prep.envs[r] = &e
	}
	prep.bind(&setBinding{id: ks.SetID(), version: 1})
	_, err := ParseKeySet(testKID, blobsOf(t, prep), ParseOptions{})
	require.ErrorIs(t, err, ErrInactive)
	on, err := prep.ChangeState(StateChange{To: StateActive, Reason: "ready"}, nil)
	require.NoError(t, err)
	_, err = ParseKeySet(testKID, blobsOf(t, on), ParseOptions{})
	require.NoError(t, err)
}

func TestReseal(t *testing.T) {
	k1, k2 := newKEK(t), newKEK(t)
	plain := newEVISet(t)
	sealed, err := plain.Reseal(nil, k1) // seal an unsealed set
	require.NoError(t, err)
	require.True(t, sealed.Sealed())
	resealed, err := sealed.Reseal(k1, k2)
	require.NoError(t, err)

	read, err := ParseKeySet(testKID, blobsOf(t, resealed), ParseOptions{})
	require.NoError(t, err)
	for _, info := range read.Info() {
		want := "1"
		if info.Role.Secret() {
			want = "3" // sealed once, resealed once
		}
		require.Equal(t, want, info.KeyVersion, info.Role.String())
	}
	_, err = read.Unseal(k1)
	require.ErrorIs(t, err, ErrAuth, "the old KEK no longer opens it")
	open, err := read.Unseal(k2)
	require.NoError(t, err)
	for _, r := range []Role{SecKey, MetadataKey} {
		require.Equal(t, plain.envs[r].keyData, open.envs[r].keyData, "the keys do not change")
	}
	for _, r := range []Role{EncKey, EvalKey} {
		require.True(t, bytes.Equal(good(t, plain, r), mustBlob(t, read, r)), "public envelopes are untouched")
	}
	_, err = read.Verify(k2)
	require.NoError(t, err)

	_, err = read.Reseal(nil, k1)
	require.ErrorIs(t, err, ErrInvalidArgument, "a sealed set needs its current KEK")
	_, err = read.Reseal(k1, k2)
	require.ErrorIs(t, err, ErrAuth, "and the right one")
	_, err = plain.Reseal(k1, k2)
	require.ErrorIs(t, err, ErrInvalidArgument, "an unsealed set has no current KEK")
	off, err := read.ChangeState(StateChange{To: StateDeactivated, Reason: "r"}, k2)
	require.NoError(t, err)
	_, err = off.Reseal(k2, k1)
	require.ErrorIs(t, err, ErrInactive, "only an active set is resealed")
}

func TestLifetimeOption(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	ks, err := Generate(GenerateOptions{KeyID: testKID, Parameters: ip0Single, Now: now, Lifetime: 48 * time.Hour})
	require.NoError(t, err)
	_, exp := ks.State()
	require.Equal(t, now.Add(48*time.Hour), exp)
	require.ErrorIs(t, ks.CheckUsable(now.Add(49*time.Hour)), ErrInactive)
	for _, bad := range []time.Duration{time.Minute, -time.Hour, 101 * 365 * 24 * time.Hour} {
		_, err := Generate(GenerateOptions{KeyID: testKID, Parameters: ip0Single, Lifetime: bad})
		require.ErrorIs(t, err, ErrInvalidArgument, bad.String())
	}
	ks, err = Generate(GenerateOptions{KeyID: testKID, Parameters: ip0Single, Now: now})
	require.NoError(t, err)
	_, exp = ks.State()
	require.Equal(t, now.Add(43800*time.Hour), exp, "default: enVector's 5 years")
}
