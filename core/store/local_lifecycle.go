package store

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/envector-keys/envector-keys/core"
)

// Local keeps earlier versions of a key set in <Root>/<key_id>/versions/<n>/, with the
// same four file names; `ls <Root>/<key_id>` shows the current files (and versions/).
//
// Every change of a stored set (Update: state, reseal, rotate) is made the same way:
// under an exclusive flock on <Root>/<key_id>, the whole new directory (new files,
// the unchanged ones hard-linked, the kept versions hard-linked) is written into a
// temporary sibling, synced, and swapped with the current directory in one
// renameat2(RENAME_EXCHANGE); the old directory is then removed. Readers open the
// files through one handle on the directory, so they see the old set or the new one.
//
// Temporary directories (.<key_id>.tmp-*) are locked (flock) by the process writing
// them. A process killed mid-write leaves its directory unlocked: the next operation
// on the key path removes it, overwriting its secret files with zeros first.

const (
	tmpInfix  = ".tmp-"
	newInfix  = ".new-" // a temporary directory not locked yet: empty
	versionsD = "versions"
)

// lockKeyDir takes an exclusive flock on the key directory dir and returns the function
// that releases it. Update swaps directories, so a lock taken on a directory that is no
// longer the one at dir (it was swapped out while we waited) is dropped and taken
// again on the current one. No lock file is left anywhere.
func lockKeyDir(dir string) (func(), error) {
	for {
		f, err := os.Open(dir)
		if err != nil {
			return nil, err
		}
		if err := flockRetry(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(dir)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() { f.Close() }, nil // closing releases the lock
		}
		f.Close()
		if err2 != nil {
			return nil, err2
		}
	}
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// makeTempDir creates a locked temporary sibling of dir (0700) and returns it with the
// function that releases the lock (keep it until the directory has been renamed). The
// directory is made as .<name>.new-*, locked, and only then renamed to .<name>.tmp-*,
// so cleanStale never takes a live writer's directory for a dead one's (an empty
// .new-* directory it may remove; the writer then tries again).
func makeTempDir(dir string) (string, func(), error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		fresh, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+newInfix)
		if err != nil {
			return "", nil, err
		}
		d, err := os.Open(fresh)
		if err != nil {
			lastErr = err // removed by a cleaner before we locked it
			continue
		}
		if err := flockRetry(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			d.Close()
			lastErr = err // a cleaner holds it and is removing it
			continue
		}
		tmp := filepath.Join(parent, strings.Replace(filepath.Base(fresh), newInfix, tmpInfix, 1))
		if err := os.Rename(fresh, tmp); err != nil {
			d.Close()
			lastErr = err
			continue
		}
		if err := os.Chmod(tmp, 0o700); err != nil {
			d.Close()
			os.RemoveAll(tmp)
			return "", nil, err
		}
		return tmp, func() { d.Close() }, nil
	}
	return "", nil, lastErr
}

// cleanStale removes the temporary directories under root left by writers that died
// (those no live process holds locked), wiping their secret files first. It is best
// effort: what it cannot remove is left for the next call.
func cleanStale(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		tmp, fresh := strings.Contains(name, tmpInfix), strings.Contains(name, newInfix)
		if !e.IsDir() || !strings.HasPrefix(name, ".") || (!tmp && !fresh) {
			continue
		}
		path := filepath.Join(root, name)
		d, err := os.Open(path)
		if err != nil {
			continue
		}
		if unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil { // nobody writes it
			if tmp {
				removeKeyDir(path)
			} else {
				os.Remove(path) // only if empty: nothing was written into it
			}
		}
		d.Close()
	}
}

// removeKeyDir removes a key directory (with its versions): every secret key file that
// is not also linked from elsewhere (a hard link kept by a newer directory) is
// overwritten with zeros and synced before it is unlinked.
func removeKeyDir(dir string) error {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if d.Name() == core.SecKey.FileName() || d.Name() == core.MetadataKey.FileName() {
			zeroFile(path)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// zeroFile overwrites a file's bytes with zeros (when it has no other link).
func zeroFile(path string) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	zeros := make([]byte, 64<<10)
	for left := fi.Size(); left > 0; {
		n := min(left, int64(len(zeros)))
		if _, err := f.Write(zeros[:n]); err != nil {
			return
		}
		left -= n
	}
	f.Sync()
}

// Update replaces key set keyID (see Store.Update and Local), holding an exclusive flock
// on its directory.
func (l *Local) Update(ctx context.Context, keyID string, opts core.ParseOptions, change ChangeFunc) (err error) {
	op := "store.local.Update"
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	cleanStale(l.Root)
	dir := l.Dir(keyID)
	unlock, err := lockKeyDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return core.Errorf(core.ErrNotFound, op, "no key set %q in %s", keyID, l.Root)
	}
	if err != nil {
		return core.Wrap(core.ErrIO, op, err, "locking key set %q in %s", keyID, l.Root)
	}
	defer unlock()

	cur, err := l.LoadFrom(ctx, dir, keyID, opts)
	if err != nil {
		return err
	}
	next, archive, err := applyChange(op, cur, change)
	defer cur.WipeUnshared(next, archive) // what they share is the caller's now
	if err != nil {
		return err
	}
	kept := l.versions(keyID)
	if archive != nil {
		if err := checkKept(op, keyID, kept, archive, next); err != nil {
			return err
		}
	}

	tmp, release, err := makeTempDir(dir)
	if err != nil {
		return core.Wrap(core.ErrIO, op, err, "creating a temporary directory beside %s", dir)
	}
	defer release()
	swapped := false
	defer func() {
		if !swapped {
			removeKeyDir(tmp)
		}
	}()
	if err := writeKeySet(tmp, next, cur, dir); err != nil {
		return err
	}
	if len(kept) > 0 || archive != nil {
		vdir := filepath.Join(tmp, versionsD)
		if err := os.Mkdir(vdir, 0o700); err != nil {
			return core.Wrap(core.ErrIO, op, err, "creating %s", vdir)
		}
		for _, n := range kept {
			from := filepath.Join(l.versionsDir(keyID), strconv.Itoa(n))
			to := filepath.Join(vdir, strconv.Itoa(n))
			if err := linkDir(from, to); err != nil {
				return core.Wrap(core.ErrIO, op, err, "keeping version %d of key set %q", n, keyID)
			}
		}
		if archive != nil {
			to := filepath.Join(vdir, strconv.Itoa(archive.Version()))
			if err := os.Mkdir(to, 0o700); err != nil {
				return core.Wrap(core.ErrIO, op, err, "creating %s", to)
			}
			if err := writeKeySet(to, archive, cur, dir); err != nil {
				return err
			}
		}
		if err := syncDir(vdir); err != nil {
			return core.Wrap(core.ErrIO, op, err, "syncing %s", vdir)
		}
	}
	if err := syncDir(tmp); err != nil {
		return core.Wrap(core.ErrIO, op, err, "syncing %s", tmp)
	}
	if err := ctx.Err(); err != nil {
		return core.Wrap(core.ErrIO, op, err, "key set %q was not changed", keyID)
	}
	// One atomic swap: the new directory takes the key id's name, the old one the
	// temporary name.
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return core.Wrap(core.ErrIO, op, err, "swapping the new key set %q into place (this file system must support renameat2 RENAME_EXCHANGE)", keyID)
	}
	swapped = true
	if err := syncDir(l.Root); err != nil {
		return core.Wrap(core.ErrIO, op, err, "syncing %s", l.Root)
	}
	removeKeyDir(tmp) // the old set: a crash before this leaves it to cleanStale
	return nil
}

// writeKeySet writes the roles of ks into dir: an envelope ks shares with cur (whose
// files are in curDir) is hard-linked, the others written and synced. The EvalKey goes
// first, as the secrets record its digest.
func writeKeySet(dir string, ks, cur *core.KeySet, curDir string) error {
	op := "store.local.Update"
	for _, r := range []core.Role{core.EvalKey, core.EncKey, core.SecKey, core.MetadataKey} {
		if !ks.Has(r) {
			continue
		}
		path := filepath.Join(dir, r.FileName())
		if ks.SameEnvelope(cur, r) {
			if err := os.Link(filepath.Join(curDir, r.FileName()), path); err == nil {
				continue
			}
		}
		if err := writeFileSync(path, fileMode(r), func(f *os.File, w *bufio.Writer) error {
			if r == core.EvalKey {
				if err := w.Flush(); err != nil {
					return err
				}
				_, err := ks.WriteBlobFile(r, f)
				return err
			}
			_, err := ks.WriteBlob(r, w)
			return err
		}); err != nil {
			var ce *core.Error
			if errors.As(err, &ce) {
				return err
			}
			return core.Wrap(core.ErrIO, op, err, "writing %s", path)
		}
	}
	return syncDir(dir)
}

// linkDir makes directory to with hard links to the regular files of from.
func linkDir(from, to string) error {
	if err := os.Mkdir(to, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.Link(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				return err
			}
		}
	}
	return syncDir(to)
}

// LoadVersion reads version n of key set keyID (see Store.LoadVersion).
func (l *Local) LoadVersion(ctx context.Context, keyID string, n int, roles ...core.Role) (*core.KeySet, error) {
	op := "store.local.LoadVersion"
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "version %d; accepted: a positive number", n)
	}
	cleanStale(l.Root)
	opts := core.ParseOptions{AllowInactive: true}
	dir := filepath.Join(l.versionsDir(keyID), strconv.Itoa(n))
	if _, err := os.Stat(dir); err == nil {
		return l.LoadFrom(ctx, dir, keyID, opts, roles...)
	}
	cur, err := l.LoadFrom(ctx, l.Dir(keyID), keyID, opts, roles...)
	if err != nil {
		return nil, err
	}
	if cur.Version() != n {
		cur.Wipe()
		return nil, core.Errorf(core.ErrNotFound, op, "key set %q has no version %d: the current one is %d, earlier ones kept: %v", keyID, n, cur.Version(), l.versions(keyID))
	}
	return cur, nil
}
