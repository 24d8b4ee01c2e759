package store

import (
	"context"
	"fmt"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

// The life of a stored key set: state changes, reseal and rotation, each one
// Store.Update, so all or nothing in every store.

// SetState moves stored key set keyID to another state (see core.KeySet.ChangeState);
// a sealed set needs its KEK. It returns the set as stored now.
func SetState(ctx context.Context, st Store, keyID string, c core.StateChange, kek *core.KEK) (*core.KeySet, error) {
	var out *core.KeySet
	err := st.Update(ctx, keyID, core.ParseOptions{AllowInactive: true}, func(cur *core.KeySet) (*core.KeySet, *core.KeySet, error) {
		next, err := cur.ChangeState(c, kek)
		out = next
		return next, nil, err
	})
	return out, err
}

// Reseal seals the secret keys of stored key set keyID under newKEK (see
// core.KeySet.Reseal): oldKEK is the current KEK, nil for a set not sealed yet. The
// public keys are left as they are. It returns the set as stored now.
func Reseal(ctx context.Context, st Store, keyID string, oldKEK, newKEK *core.KEK) (*core.KeySet, error) {
	var out *core.KeySet
	// The public keys are left as they are: their bytes are checked as they stream by
	// and not kept (an MM EvalKey is 0.9 GB).
	err := st.Update(ctx, keyID, core.ParseOptions{SkipKeyData: true}, func(cur *core.KeySet) (*core.KeySet, *core.KeySet, error) {
		next, err := cur.Reseal(oldKEK, newKEK)
		out = next
		return next, nil, err
	})
	return out, err
}

// RotateOptions choose what Rotate makes.
type RotateOptions struct {
	// Generate makes the new key set; KeyID and Version are set by Rotate, zero
	// Parameters mean the current set's, and the new set has a MetadataKey only if the
	// current one has.
	Generate core.GenerateOptions
	// KEK seals the new set and authenticates the current one; required when the
	// current set is sealed, and then the new one is sealed too.
	KEK *core.KEK
	// Reason is recorded in the earlier version as it is deactivated; "" = "superseded
	// by version N".
	Reason string
	// Actor is who rotates; zero = the OS user.
	Actor core.Requester
}

// Rotate makes a new key set for key id keyID and makes it the current one (version n+1
// at the usual names), keeping the current one as earlier version n, deactivated (if it
// was active), readable with LoadVersion until the key id is deleted. It returns the
// new set.
func Rotate(ctx context.Context, st Store, keyID string, opts RotateOptions) (*core.KeySet, error) {
	var out *core.KeySet
	err := st.Update(ctx, keyID, core.ParseOptions{AllowInactive: true}, func(cur *core.KeySet) (*core.KeySet, *core.KeySet, error) {
		if cur.Sealed() {
			if opts.KEK == nil {
				return nil, nil, core.Errorf(core.ErrInvalidArgument, "rotate", "the secret keys of key %q are sealed; rotating needs the KEK (the new set is sealed under it too)", keyID)
			}
			if err := cur.Authenticate(opts.KEK); err != nil {
				return nil, nil, err
			}
		}
		g := opts.Generate
		g.KeyID = keyID
		if g.Parameters.Preset == (core.Preset{}) && g.Parameters.EvalMode == "" && len(g.Parameters.Dims) == 0 {
			g.Parameters = cur.Parameters()
		}
		g.Version = cur.Version() + 1
		if !cur.Has(core.MetadataKey) {
			g.NoMetadataKey = true // as the current set: metadata encryption stays as it was
		}
		next, err := core.Generate(g)
		if err != nil {
			return nil, nil, err
		}
		if opts.KEK != nil {
			sealed, err := next.Seal(opts.KEK)
			next.Wipe()
			if err != nil {
				return nil, nil, err
			}
			next = sealed
		}
		archive := cur
		if state, _ := cur.State(); state == core.StateActive {
			reason := opts.Reason
			if reason == "" {
				reason = fmt.Sprintf("superseded by version %d", g.Version)
			}
			var kek *core.KEK
			if cur.Sealed() {
				kek = opts.KEK
			}
			if archive, err = cur.ChangeState(core.StateChange{To: core.StateDeactivated, Reason: reason, Actor: opts.Actor, Now: time.Now()}, kek); err != nil {
				return nil, nil, err
			}
		}
		out = next
		return next, archive, nil
	})
	return out, err
}

// applyChange runs change on cur for a store's Update and checks that what it made is
// of cur's key id.
func applyChange(op string, cur *core.KeySet, change ChangeFunc) (next, archive *core.KeySet, err error) {
	if next, archive, err = change(cur); err != nil {
		return nil, nil, err
	}
	if next == nil || next.ID() != cur.ID() || (archive != nil && archive.ID() != cur.ID()) {
		return nil, nil, core.Errorf(core.ErrInternal, op, "the new key set is not key %q", cur.ID())
	}
	return next, archive, nil
}

// checkKept refuses to keep archive as an earlier version beside next when a version as
// new as either is kept already (the kept versions were edited): versions only grow.
func checkKept(op, keyID string, kept []int, archive, next *core.KeySet) error {
	for _, n := range kept {
		if n >= archive.Version() || n >= next.Version() {
			return core.Errorf(core.ErrCorrupt, op, "key set %q already keeps version %d, not older than the current one (%d): the kept versions were edited", keyID, n, archive.Version())
		}
	}
	return nil
}
