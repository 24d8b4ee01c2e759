package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/envector-keys/envector-keys/core"
)

// Local keeps each key set in <Root>/<key_id>/ as SecKey.json, EncKey.json,
// EvalKey.json and MetadataKey.json. Directories are 0700, secret files 0600, public
// files 0644. Save writes a temporary sibling directory, syncs it and renames it into
// place, so a crash leaves the whole key set or none, and never overwrites.
type Local struct {
	Root string
}

// NewLocal returns the local store rooted at root (default "./keys").
func NewLocal(root string) *Local {
	if root == "" {
		root = "./keys"
	}
	return &Local{Root: root}
}

// Dir returns the directory of key set keyID.
func (l *Local) Dir(keyID string) string { return filepath.Join(l.Root, keyID) }

func fileMode(r core.Role) os.FileMode {
	if r.Secret() {
		return 0o600
	}
	return 0o644
}

// CheckTarget fails with core.ErrExists if dir holds anything, and with
// core.ErrInvalidArgument if it is not a directory. An absent or empty directory is
// fine. It changes nothing.
func CheckTarget(dir string) error {
	op := "store.local"
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return core.Wrap(core.ErrIO, op, err, "checking %s", dir)
	}
	if !fi.IsDir() {
		return core.Errorf(core.ErrInvalidArgument, op, "%s is a file, not a directory; the output must be an empty or absent directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return core.Wrap(core.ErrIO, op, err, "opening %s", dir)
	}
	defer f.Close()
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return core.Errorf(core.ErrExists, op, "%s is not empty; keys are never overwritten (choose another key id or key path, or delete the old key set)", dir)
	}
	return nil
}

// Save writes every role of ks into <Root>/<key_id>/ at once (see Local).
func (l *Local) Save(ctx context.Context, ks *core.KeySet) error {
	return l.SaveTo(ctx, ks, l.Dir(ks.ID()))
}

// SaveTo is Save into an explicit directory dir (the CLI's <key_path> without a key id).
func (l *Local) SaveTo(_ context.Context, ks *core.KeySet, dir string) (err error) {
	op := "store.local.Save"
	if err := CheckTarget(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	cleanStale(parent)
	tmp, release, err := makeTempDir(dir)
	if err != nil {
		return core.Wrap(core.ErrIO, op, err, "creating a temporary directory in %s", parent)
	}
	defer release()
	defer func() {
		if err != nil {
			removeKeyDir(tmp)
		}
	}()
	// A generated MM EvalKey is made straight into its file, first: the secrets
	// record its digest.
	if err := writeKeySet(tmp, ks, nil, ""); err != nil {
		return err
	}
	// rename(2) replaces an empty directory and fails on a non-empty one, so a key set
	// saved meanwhile by someone else is never overwritten. (os.Rename refuses any
	// existing directory, so the system call is used directly.)
	if err := syscall.Rename(tmp, dir); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return core.Errorf(core.ErrExists, op, "%s is not empty; keys are never overwritten", dir)
		}
		return core.Wrap(core.ErrIO, op, err, "moving the key set into %s", dir)
	}
	if err := syncDir(parent); err != nil {
		return core.Wrap(core.ErrIO, op, err, "syncing %s", parent)
	}
	return nil
}

// writeFileSync creates path (never overwriting), lets write fill it through a buffer,
// and syncs it. Envelopes are streamed in: an EvalKey of any size is never built in
// memory as text.
func writeFileSync(path string, mode os.FileMode, write func(*os.File, *bufio.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(f, bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Load reads roles of key set keyID from <Root>/<key_id>/.
func (l *Local) Load(ctx context.Context, keyID string, roles ...core.Role) (*core.KeySet, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	return l.LoadWithOptions(ctx, keyID, core.ParseOptions{}, roles...)
}

// LoadWithOptions is Load with parse options (see Store.LoadWithOptions).
func (l *Local) LoadWithOptions(ctx context.Context, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	cleanStale(l.Root)
	return l.LoadFrom(ctx, l.Dir(keyID), keyID, opts, roles...)
}

// LoadFrom is Load from an explicit directory, with parse options.
func (l *Local) LoadFrom(_ context.Context, dir, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error) {
	sources, closeAll, err := l.openEnvelopes(dir, keyID, roles)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	ks, err := core.ReadKeySet(keyID, sources, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return ks, nil
}

// openEnvelopes opens the key files of roles of key set keyID in dir (nil: every role,
// SecKey, EncKey and EvalKey required), for LoadFrom and for Copy and ExportPublic.
// Every file is opened through one handle on the directory: a key set swapped in
// meanwhile (Update) is seen whole or not at all. The files are read as streams: an
// EvalKey of any size loads with one copy of its key bytes in memory (none when the
// caller only inspects). A missing required file is core.ErrNotFound naming every one
// missing. closeAll closes the files and the directory handle; on an error everything
// opened is already closed.
func (l *Local) openEnvelopes(dir, keyID string, roles []core.Role) (sources map[core.Role]core.EnvelopeSource, closeAll func(), err error) {
	op := "store.local.Load"
	want, required := rolesToLoad(roles)
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		var paths []string
		for _, r := range want {
			if required[r] {
				paths = append(paths, filepath.Join(dir, r.FileName()))
			}
		}
		return nil, nil, core.Errorf(core.ErrNotFound, op, "key set %q is incomplete or absent: missing %v", keyID, paths)
	}
	if err != nil {
		return nil, nil, core.Wrap(core.ErrIO, op, err, "opening %s", dir)
	}
	files := []io.Closer{root}
	closeAll = func() {
		for _, f := range files {
			f.Close()
		}
	}
	sources = map[core.Role]core.EnvelopeSource{}
	var missing []string
	for _, r := range want {
		path := filepath.Join(dir, r.FileName())
		f, err := root.Open(r.FileName())
		if errors.Is(err, fs.ErrNotExist) {
			if required[r] {
				missing = append(missing, path)
			}
			continue
		}
		if err != nil {
			closeAll()
			return nil, nil, core.Wrap(core.ErrIO, op, err, "reading %s", path)
		}
		files = append(files, f)
		fi, err := f.Stat()
		if err != nil {
			closeAll()
			return nil, nil, core.Wrap(core.ErrIO, op, err, "reading %s", path)
		}
		if !fi.Mode().IsRegular() {
			closeAll()
			return nil, nil, core.Errorf(core.ErrCorrupt, op, "%s is not a regular file", path)
		}
		sources[r] = core.EnvelopeSource{R: f, Size: fi.Size()}
	}
	if len(missing) > 0 {
		closeAll()
		return nil, nil, core.Errorf(core.ErrNotFound, op, "key set %q is incomplete or absent: missing %v", keyID, missing)
	}
	return sources, closeAll, nil
}

// Exists reports whether SecKey.json, EncKey.json and EvalKey.json are all present.
func (l *Local) Exists(_ context.Context, keyID string) (bool, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return false, err
	}
	cleanStale(l.Root)
	for _, r := range core.RequiredRoles {
		_, err := os.Stat(filepath.Join(l.Dir(keyID), r.FileName()))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, core.Wrap(core.ErrIO, "store.local.Exists", err, "checking %s", l.Dir(keyID))
		}
	}
	return true, nil
}

// Delete removes the key files of keyID (secret ones overwritten with zeros first), its
// earlier versions, and then its directory; an incomplete set is removed too. Other
// files in the directory are left alone (and the directory with them).
func (l *Local) Delete(_ context.Context, keyID string, _ DeleteOptions) error {
	op := "store.local.Delete"
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	cleanStale(l.Root)
	dir := l.Dir(keyID)
	if unlock, err := lockKeyDir(dir); err == nil {
		defer unlock()
	}
	removed := 0
	if _, err := os.Stat(l.versionsDir(keyID)); err == nil {
		if err := removeKeyDir(l.versionsDir(keyID)); err != nil {
			return core.Wrap(core.ErrIO, op, err, "removing %s", l.versionsDir(keyID))
		}
		removed++
	}
	for _, r := range core.AllRoles {
		if r.Secret() {
			zeroFile(filepath.Join(dir, r.FileName()))
		}
		err := os.Remove(filepath.Join(dir, r.FileName()))
		if err == nil {
			removed++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return core.Wrap(core.ErrIO, op, err, "removing %s", filepath.Join(dir, r.FileName()))
		}
	}
	if removed == 0 {
		return core.Errorf(core.ErrNotFound, op, "no key set %q in %s", keyID, l.Root)
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return core.Wrap(core.ErrIO, op, err, "the key files are removed but %s is not empty", dir)
	}
	return nil
}

// List returns the key ids of the directories under Root that hold at least one key
// file.
func (l *Local) List(_ context.Context) ([]string, error) {
	cleanStale(l.Root)
	entries, err := os.ReadDir(l.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, core.Wrap(core.ErrIO, "store.local.List", err, "reading %s", l.Root)
	}
	ids := []string{}
	for _, e := range entries {
		if !e.IsDir() || core.CheckKeyID(e.Name()) != nil {
			continue
		}
		for _, r := range core.AllRoles {
			if _, err := os.Stat(filepath.Join(l.Root, e.Name(), r.FileName())); err == nil {
				ids = append(ids, e.Name())
				break
			}
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// ListSets describes each key id under Root with at least one key file or kept
// version (see Store.ListSets).
func (l *Local) ListSets(_ context.Context) ([]Listing, error) {
	cleanStale(l.Root)
	entries, err := os.ReadDir(l.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return []Listing{}, nil
	}
	if err != nil {
		return nil, core.Wrap(core.ErrIO, "store.local.List", err, "reading %s", l.Root)
	}
	out := []Listing{}
	for _, e := range entries {
		if !e.IsDir() || core.CheckKeyID(e.Name()) != nil {
			continue
		}
		dir := filepath.Join(l.Root, e.Name())
		li := Listing{KeyID: e.Name(), Roles: rolesIn(dir), Versions: l.versions(e.Name())}
		if len(li.Roles) == 0 && len(li.Versions) == 0 {
			continue
		}
		li.Complete = completeRoles(li.Roles)
		out = append(out, li)
	}
	return out, nil
}

// rolesIn lists the roles whose key file is in dir.
func rolesIn(dir string) []core.Role {
	var roles []core.Role
	for _, r := range core.AllRoles {
		if _, err := os.Lstat(filepath.Join(dir, r.FileName())); err == nil {
			roles = append(roles, r)
		}
	}
	return roles
}

// versionsDir is where the earlier versions of key set keyID are kept:
// <Root>/<key_id>/versions/<n>/.
func (l *Local) versionsDir(keyID string) string { return filepath.Join(l.Dir(keyID), "versions") }

// versions lists the numbers of the earlier versions kept of key set keyID.
func (l *Local) versions(keyID string) []int {
	entries, _ := os.ReadDir(l.versionsDir(keyID))
	var out []int
	for _, e := range entries {
		if n, ok := versionNumber(e.Name()); ok && e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

var _ Store = (*Local)(nil)
