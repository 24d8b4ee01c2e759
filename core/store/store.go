// Package store keeps key sets: on the local file system (Local) or in AWS (S3 for
// public keys, Secrets Manager for secret ones). Every store saves and loads the same
// envelope bytes, so a key set moves between stores unchanged.
package store

import (
	"context"
	"strconv"

	"github.com/envector-keys/envector-keys/core"
)

// Store is where key sets live.
type Store interface {
	// Exists reports whether key set keyID is complete here: SecKey, EncKey and EvalKey
	// are all present.
	Exists(ctx context.Context, keyID string) (bool, error)
	// Save stores every role ks holds, all or nothing. It never overwrites: if anything
	// of key set ks.ID() is already there, it fails with core.ErrExists and changes
	// nothing.
	Save(ctx context.Context, ks *core.KeySet) error
	// Load reads the given roles of key set keyID and checks each envelope; with no
	// roles it loads every role present, which must include SecKey, EncKey and EvalKey.
	// A missing role fails with core.ErrNotFound naming it. Nothing is unsealed.
	Load(ctx context.Context, keyID string, roles ...core.Role) (*core.KeySet, error)
	// LoadWithOptions is Load with parse options: opts.AllowInactive reads the current
	// set whatever its state (inspection), opts.SkipKeyData keeps no public key bytes.
	LoadWithOptions(ctx context.Context, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error)
	// Delete removes key set keyID. A missing key set is core.ErrNotFound.
	Delete(ctx context.Context, keyID string, opts DeleteOptions) error
	// List returns the key ids of the key sets here, sorted (complete or not).
	List(ctx context.Context) ([]string, error)
	// ListSets describes what is kept under each key id, sorted by key id: the roles
	// present at the current names, whether the set is complete, and the earlier
	// versions kept. A set left incomplete by a crash or a failed save is listed as
	// incomplete (Delete removes it).
	ListSets(ctx context.Context) ([]Listing, error)
	// Update replaces key set keyID, all or nothing, with what change makes of the
	// current one (read with opts, key data included): next becomes the current set,
	// and archive, when not nil, is kept as earlier version archive.Version(). Updates
	// of one key id run one at a time; a reader sees the old set or the new one, never
	// a mix; a failure, or a crash at any point, leaves the old set as it was.
	Update(ctx context.Context, keyID string, opts core.ParseOptions, change ChangeFunc) error
	// LoadVersion reads version n of key set keyID: the current one, or an earlier one
	// kept by Rotate (which loads whatever its state: it was asked for by number).
	LoadVersion(ctx context.Context, keyID string, n int, roles ...core.Role) (*core.KeySet, error)
}

// ChangeFunc makes the next key set (and the one to keep as an earlier version, or
// nil) from the current one, for Store.Update.
type ChangeFunc func(cur *core.KeySet) (next, archive *core.KeySet, err error)

// Listing describes what a store holds under one key id.
type Listing struct {
	KeyID    string
	Roles    []core.Role // the roles present at the current names, in role order
	Complete bool        // SecKey, EncKey and EvalKey are all present
	Versions []int       // earlier versions kept by Rotate, oldest first
}

// completeRoles reports whether roles include SecKey, EncKey and EvalKey.
func completeRoles(roles []core.Role) bool {
	n := 0
	for _, r := range roles {
		if !r.Secret() || r == core.SecKey {
			n++
		}
	}
	return n == len(core.RequiredRoles)
}

// DeleteOptions choose how a key set is deleted.
type DeleteOptions struct {
	// Immediate deletes remote secrets at once instead of scheduling them for deletion
	// after the store's recovery window. Local deletion is always immediate.
	Immediate bool
}

// rolesToLoad returns the roles Load reads: those asked for, or every role when none
// are; required says which must be present.
func rolesToLoad(roles []core.Role) (want []core.Role, required map[core.Role]bool) {
	required = map[core.Role]bool{}
	if len(roles) == 0 {
		for _, r := range core.RequiredRoles {
			required[r] = true
		}
		return core.AllRoles, required
	}
	for _, r := range roles {
		required[r] = true
	}
	return roles, required
}

// wipeSecretBlobs zeroes the envelopes of secret roles in blobs (read from a store,
// parsed, and no longer needed).
func wipeSecretBlobs(blobs map[core.Role][]byte) {
	for r, b := range blobs {
		if r.Secret() {
			clear(b)
		}
	}
}

// versionNumber reads the name of an earlier version's directory or prefix ("3"): a
// positive number written without sign or leading zeros.
func versionNumber(name string) (int, bool) {
	n, err := strconv.Atoi(name)
	return n, err == nil && n > 0 && strconv.Itoa(n) == name
}
