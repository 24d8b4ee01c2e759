package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

// Copying a key set from one store to another, and exporting its public keys.
//
// A copy is of the envelopes, the bytes of the key files or blobs, unchanged: sealed
// secrets stay sealed (no KEK is needed), every digest, MAC and set binding still
// checks at the destination, the key id is the same and so is the state (a deactivated
// set is copied deactivated). Only the current set is copied: the earlier versions
// Rotate keeps stay at the source (CopyResult.Versions names them), as a version kept
// in one store is not a version of a set saved anew in another.
//
// Into a local store the envelopes stream: each is parsed and checked as it is read
// (the same checks as loading with core.ParseOptions.SkipKeyData) and written into a
// temporary sibling of the destination directory, which is renamed into place only
// when every check has passed and is removed (secret files zeroed) otherwise; memory
// stays a few buffers whatever the size. Into AWS the key set is loaded whole and
// checked first, then saved (AWS.Save, all or nothing): the EvalKey's key bytes are in
// memory meanwhile (0.9 GB for an MM or MM32 set).

// CopyOptions say where Copy and ExportPublic read the key set.
type CopyOptions struct {
	// SourceDir, for a local source, is the directory the key set is read from instead
	// of <Root>/<key_id>: a set kept straight in a directory named after its key id
	// (the CLI's --key_path without --key_id).
	SourceDir string
}

// CopyResult describes a copy.
type CopyResult struct {
	// KeySet is the key set as read from the source. Copied into a local store it
	// holds no public key bytes (Info, State and Sealed work; Blob does not). The
	// caller may Wipe it.
	KeySet *core.KeySet
	// Versions are the earlier versions kept at the source, which were not copied.
	Versions []int
}

// Copy copies key set keyID from src into dst (a *Local or an *AWS) byte for byte (see
// above). The source is checked before the destination holds anything: a tampered or
// incomplete set is refused and nothing is written. The destination is never
// overwritten: a key set there, or anything of one, is core.ErrExists and nothing
// changes; the copy is written all or nothing. The same place for source and
// destination (see SameLocation) is core.ErrInvalidArgument.
func Copy(ctx context.Context, src Store, keyID string, dst Store, opts CopyOptions) (*CopyResult, error) {
	op := "store.Copy"
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if same, where := SameLocation(src, dst, keyID, opts); same {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "the destination is the source (%s); copy to another directory, bucket or prefix", where)
	}
	versions, err := sourceVersions(ctx, src, keyID, opts)
	if err != nil {
		return nil, err
	}
	var ks *core.KeySet
	switch d := dst.(type) {
	case *Local:
		cleanStale(d.Root) // as Save does: what dead writers left in the store
		ks, err = streamToDir(ctx, src, keyID, opts.SourceDir, nil, d.Dir(keyID), core.ParseOptions{AllowInactive: true, SkipKeyData: true}, 0o700)
	case *AWS:
		ks, err = copyToAWS(ctx, src, keyID, d, opts)
	default:
		return nil, core.Errorf(core.ErrInvalidArgument, op, "copying into a %T is not supported; accepted: the local store or the AWS store", dst)
	}
	if err != nil {
		return nil, err
	}
	return &CopyResult{KeySet: ks, Versions: versions}, nil
}

// ExportPublic writes the EncKey and EvalKey envelopes of key set keyID in src, byte for
// byte, as EncKey.json and EvalKey.json into dir (mode 0755, files 0644), for a search
// server. No secret key is read or written. dir is created; it must be empty or absent
// and is never overwritten (core.ErrExists). Both envelopes are checked as they stream
// (digests, one key set) and the set must be usable: an inactive or expired one is
// core.ErrInactive. Nothing is left in dir unless both check out.
func ExportPublic(ctx context.Context, src Store, keyID, dir string, opts CopyOptions) (*core.KeySet, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if err := CheckTarget(dir); errors.Is(err, core.ErrExists) {
		return nil, core.Errorf(core.ErrExists, "store.ExportPublic", "%s is not empty; nothing is overwritten: give a directory that is empty or absent", dir)
	}
	return streamToDir(ctx, src, keyID, opts.SourceDir, []core.Role{core.EncKey, core.EvalKey}, dir, core.ParseOptions{SkipKeyData: true}, 0o755)
}

// SameLocation reports whether a copy of key set keyID from src (read as opts says)
// into dst would be written where it is read: the same directory, or in AWS the same
// bucket and prefix (bucket names are global: another region is the same bucket).
// where names the place.
func SameLocation(src, dst Store, keyID string, opts CopyOptions) (same bool, where string) {
	switch s := src.(type) {
	case *Local:
		d, ok := dst.(*Local)
		if !ok {
			return false, ""
		}
		from := opts.SourceDir
		if from == "" {
			from = s.Dir(keyID)
		}
		return sameDir(from, d.Dir(keyID)), d.Dir(keyID)
	case *AWS:
		d, ok := dst.(*AWS)
		if !ok {
			return false, ""
		}
		return s.bucket == d.bucket && s.prefix == d.prefix, fmt.Sprintf("s3://%s/%s/", d.bucket, d.join(keyID))
	}
	return false, ""
}

// sameDir reports whether paths a and b name one directory (symbolic links followed).
func sameDir(a, b string) bool {
	if resolvePath(a) == resolvePath(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// resolvePath returns p absolute, with the symbolic links of p, or of its parent when
// p does not exist, resolved.
func resolvePath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(r, filepath.Base(abs))
	}
	return abs
}

// sourceVersions lists the earlier versions kept of key set keyID at the source.
func sourceVersions(ctx context.Context, src Store, keyID string, opts CopyOptions) ([]int, error) {
	switch s := src.(type) {
	case *Local:
		dir := opts.SourceDir
		if dir == "" {
			dir = s.Dir(keyID)
		}
		return (&Local{Root: filepath.Dir(dir)}).versions(filepath.Base(dir)), nil
	case *AWS:
		return s.keptVersions(ctx, "store.Copy", keyID)
	}
	return nil, nil
}

// copyToAWS loads key set keyID whole (every envelope checked) and saves it into dst.
func copyToAWS(ctx context.Context, src Store, keyID string, dst *AWS, opts CopyOptions) (*core.KeySet, error) {
	// Fail before reading a set of up to a gigabyte if the destination is taken.
	if err := dst.CheckAbsent(ctx, keyID); err != nil {
		return nil, err
	}
	popts := core.ParseOptions{AllowInactive: true}
	var ks *core.KeySet
	var err error
	if l, ok := src.(*Local); ok && opts.SourceDir != "" {
		ks, err = l.LoadFrom(ctx, opts.SourceDir, keyID, popts)
	} else {
		ks, err = src.LoadWithOptions(ctx, keyID, popts)
	}
	if err != nil {
		return nil, err
	}
	if err := dst.Save(ctx, ks); err != nil {
		ks.Wipe()
		return nil, err
	}
	return ks, nil
}

// streamToDir writes the envelopes of roles (nil: every role present, of which SecKey,
// EncKey and EvalKey are required) of key set keyID in src into directory dir, byte for
// byte, each checked as it streams (see the comment at the top). dir must be empty or
// absent; it gets mode, and so do the directories made for it, which are removed again
// on failure.
func streamToDir(ctx context.Context, src Store, keyID, srcDir string, roles []core.Role, dir string, popts core.ParseOptions, mode os.FileMode) (ks *core.KeySet, err error) {
	op := "store.Copy"
	if err := CheckTarget(dir); err != nil {
		return nil, err
	}
	parent := filepath.Dir(dir)
	made, err := mkdirParents(parent, mode)
	if err != nil {
		return nil, core.Wrap(core.ErrIO, op, err, "creating %s", parent)
	}
	defer func() {
		if err != nil {
			removeEmptyDirs(made)
		}
	}()
	_, remote := src.(*AWS)
	for attempt := 0; ; attempt++ {
		var tmp string
		var release func()
		tmp, release, ks, err = streamIntoTemp(ctx, src, keyID, srcDir, roles, dir, popts)
		if err == nil {
			defer release()
			if err = placeDir(tmp, dir, mode); err != nil {
				ks.Wipe()
				return nil, err
			}
			return ks, nil
		}
		// An AWS set read while an Update replaces it shows bindings that disagree:
		// read it again, as AWS.Load does.
		if !remote || attempt == 4 || !core.IsSetMismatch(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
}

// streamIntoTemp reads the envelopes into a new temporary sibling of dir, checking
// them; on failure the directory is removed. The caller renames it and then releases
// its lock.
func streamIntoTemp(ctx context.Context, src Store, keyID, srcDir string, roles []core.Role, dir string, popts core.ParseOptions) (tmp string, release func(), ks *core.KeySet, err error) {
	op := "store.Copy"
	sources, where, closeSources, err := openEnvelopes(ctx, src, keyID, srcDir, roles)
	if err != nil {
		return "", nil, nil, err
	}
	defer closeSources()
	t, unlock, err := makeTempDir(dir)
	if err != nil {
		return "", nil, nil, core.Wrap(core.ErrIO, op, err, "creating a temporary directory beside %s", dir)
	}
	defer func() {
		if err != nil {
			removeKeyDir(t)
			unlock()
		}
	}()
	outs := map[core.Role]*copyFile{}
	defer func() {
		for _, o := range outs {
			o.f.Close()
		}
	}()
	teed := make(map[core.Role]core.EnvelopeSource, len(sources))
	for r, s := range sources {
		path := filepath.Join(t, r.FileName())
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode(r))
		if err != nil {
			return "", nil, nil, core.Wrap(core.ErrIO, op, err, "creating %s", path)
		}
		outs[r] = &copyFile{path: filepath.Join(dir, r.FileName()), f: f}
		teed[r] = core.EnvelopeSource{R: io.TeeReader(s.R, outs[r]), Size: s.Size}
	}
	ks, err = core.ReadKeySet(keyID, teed, popts)
	for _, o := range outs {
		if o.err != nil { // a failed write stops the parser: say so, not what it made of it
			if ks != nil {
				ks.Wipe()
			}
			return "", nil, nil, core.Wrap(core.ErrIO, op, o.err, "writing %s", o.path)
		}
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	fail := func(err error) (string, func(), *core.KeySet, error) {
		ks.Wipe()
		return "", nil, nil, err
	}
	for r, o := range outs {
		// The parser reads each envelope to its end (it refuses anything after the
		// JSON value); what it read went to the file.
		var one [1]byte
		if n, _ := io.ReadFull(sources[r].R, one[:]); n > 0 || (sources[r].Size > 0 && o.n != sources[r].Size) {
			return fail(core.Errorf(core.ErrCorrupt, op, "the %s of key %q in %s changed while it was copied (%d bytes read, %d announced); nothing was written", r, keyID, where, o.n, sources[r].Size))
		}
		if err := o.f.Sync(); err != nil {
			return fail(core.Wrap(core.ErrIO, op, err, "writing %s", o.path))
		}
		if err := o.f.Close(); err != nil {
			return fail(core.Wrap(core.ErrIO, op, err, "writing %s", o.path))
		}
	}
	outs = nil
	if err := syncDir(t); err != nil {
		return fail(core.Wrap(core.ErrIO, op, err, "syncing %s", t))
	}
	if err := ctx.Err(); err != nil {
		return fail(core.Wrap(core.ErrIO, op, err, "nothing was written to %s", dir))
	}
	return t, unlock, ks, nil
}

// placeDir gives the temporary directory tmp its mode and renames it to dir, which
// must be absent or empty (rename(2) fails on a non-empty directory: never overwritten).
func placeDir(tmp, dir string, mode os.FileMode) error {
	op := "store.Copy"
	fail := func(err error) error {
		removeKeyDir(tmp)
		return err
	}
	if mode != 0o700 {
		if err := os.Chmod(tmp, mode); err != nil {
			return fail(core.Wrap(core.ErrIO, op, err, "setting the mode of %s", tmp))
		}
	}
	if err := syscall.Rename(tmp, dir); err != nil {
		if errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST) {
			return fail(core.Errorf(core.ErrExists, op, "%s is not empty; keys are never overwritten", dir))
		}
		return fail(core.Wrap(core.ErrIO, op, err, "moving the keys into %s", dir))
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return core.Wrap(core.ErrIO, op, err, "syncing %s", filepath.Dir(dir))
	}
	return nil
}

// copyFile receives what the parser reads of one envelope. A failed write is kept and
// stops the parser.
type copyFile struct {
	path string // the file's final name, for messages
	f    *os.File
	n    int64
	err  error
}

func (c *copyFile) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.f.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// mkdirParents makes directory dir and its missing parents (with mode) and returns those
// it made, outermost first.
func mkdirParents(dir string, mode os.FileMode) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append([]string{d}, missing...)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		removeEmptyDirs(missing)
		return nil, err
	}
	return missing, nil
}

// removeEmptyDirs removes the directories mkdirParents made, innermost first, if empty.
func removeEmptyDirs(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		os.Remove(made[i])
	}
}

// openEnvelopes opens the stored envelopes of roles of key set keyID (nil: every role,
// SecKey, EncKey and EvalKey required) as streams, as Load reads them; where names the
// source for messages. closeAll releases them.
func openEnvelopes(ctx context.Context, src Store, keyID, srcDir string, roles []core.Role) (sources map[core.Role]core.EnvelopeSource, where string, closeAll func(), err error) {
	switch s := src.(type) {
	case *Local:
		dir := srcDir
		if dir == "" {
			cleanStale(s.Root)
			dir = s.Dir(keyID)
		}
		sources, closeAll, err = s.openEnvelopes(dir, keyID, roles)
		return sources, dir, closeAll, err
	case *AWS:
		sources, closeAll, err = s.openEnvelopes(ctx, keyID, roles)
		return sources, s.String(), closeAll, err
	}
	return nil, "", nil, core.Errorf(core.ErrInvalidArgument, "store.Copy", "reading from a %T is not supported; accepted: the local store or the AWS store", src)
}
