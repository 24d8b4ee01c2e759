package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
)

func newKeySet(t *testing.T, id string) *core.KeySet {
	t.Helper()
	ks, err := core.Generate(core.GenerateOptions{KeyID: id, Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}})
	require.NoError(t, err)
	return ks
}

func TestLocalSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(filepath.Join(t.TempDir(), "keys"))
	ks := newKeySet(t, "k1")
	require.NoError(t, l.Save(ctx, ks))

	ok, err := l.Exists(ctx, "k1")
	require.NoError(t, err)
	require.True(t, ok)

	got, err := l.Load(ctx, "k1")
	require.NoError(t, err)
	require.Equal(t, ks.Roles(), got.Roles())
	for _, r := range ks.Roles() {
		want, _ := ks.Blob(r)
		have, _ := got.Blob(r)
		require.Equal(t, want, have, "%s changed on the way through the store", r)
	}
	_, err = got.Verify(nil)
	require.NoError(t, err)

	for _, r := range core.AllRoles {
		fi, err := os.Stat(filepath.Join(l.Dir("k1"), r.FileName()))
		require.NoError(t, err)
		want := os.FileMode(0o644)
		if r.Secret() {
			want = 0o600
		}
		require.Equal(t, want, fi.Mode().Perm(), r.String())
	}
	fi, err := os.Stat(l.Dir("k1"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

func TestLocalLoadSubset(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	require.NoError(t, l.Save(ctx, newKeySet(t, "k")))

	pub, err := l.Load(ctx, "k", core.EncKey, core.EvalKey)
	require.NoError(t, err)
	require.Equal(t, []core.Role{core.EncKey, core.EvalKey}, pub.Roles())

	// Only the public files are needed for a public subset.
	require.NoError(t, os.Remove(filepath.Join(l.Dir("k"), "SecKey.json")))
	_, err = l.Load(ctx, "k", core.EncKey)
	require.NoError(t, err)
	_, err = l.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "SecKey.json")
	ok, err := l.Exists(ctx, "k")
	require.NoError(t, err)
	require.False(t, ok, "a key set without SecKey is not complete")
}

func TestLocalNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	first := newKeySet(t, "k")
	require.NoError(t, l.Save(ctx, first))
	before, err := os.ReadFile(filepath.Join(l.Dir("k"), "SecKey.json"))
	require.NoError(t, err)

	err = l.Save(ctx, newKeySet(t, "k"))
	require.ErrorIs(t, err, core.ErrExists)
	after, err := os.ReadFile(filepath.Join(l.Dir("k"), "SecKey.json"))
	require.NoError(t, err)
	require.Equal(t, before, after)
	requireNoTemporaries(t, l.Root)
}

// Many saves of one key id at once: exactly one wins, the others get ErrExists, and
// the winner's files are whole.
func TestLocalConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	const n = 6
	sets := make([]*core.KeySet, n)
	for i := range sets {
		sets[i] = newKeySet(t, "race")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range sets {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = l.Save(ctx, sets[i])
		}(i)
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two saves won")
			winner = i
		} else {
			require.ErrorIs(t, err, core.ErrExists)
		}
	}
	require.NotEqual(t, -1, winner, "no save won")
	got, err := l.Load(ctx, "race")
	require.NoError(t, err)
	for _, r := range core.AllRoles {
		want, _ := sets[winner].Blob(r)
		have, _ := got.Blob(r)
		require.Equal(t, want, have)
	}
	requireNoTemporaries(t, l.Root)
}

func TestLocalTargetChecks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	l := NewLocal(root)
	require.NoError(t, os.WriteFile(filepath.Join(root, "file"), []byte("x"), 0o600))
	err := l.Save(ctx, newKeySet(t, "file"))
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.Contains(t, err.Error(), "is a file")

	require.NoError(t, os.Mkdir(filepath.Join(root, "empty"), 0o755))
	require.NoError(t, l.Save(ctx, newKeySet(t, "empty")))
	requireNoTemporaries(t, root)
}

func TestLocalDeleteAndList(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(filepath.Join(t.TempDir(), "absent"))
	ids, err := l.List(ctx)
	require.NoError(t, err)
	require.Empty(t, ids)

	for _, id := range []string{"b", "a", "c"} {
		require.NoError(t, l.Save(ctx, newKeySet(t, id)))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(l.Root, "not-keys"), 0o700))
	ids, err = l.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids)

	require.NoError(t, l.Delete(ctx, "b", DeleteOptions{}))
	_, err = os.Stat(l.Dir("b"))
	require.True(t, errors.Is(err, os.ErrNotExist))
	require.ErrorIs(t, l.Delete(ctx, "b", DeleteOptions{}), core.ErrNotFound)
	_, err = l.Load(ctx, "b")
	require.ErrorIs(t, err, core.ErrNotFound)

	// A stranger's file in the directory is left alone, and so is the directory.
	require.NoError(t, os.WriteFile(filepath.Join(l.Dir("c"), "notes.txt"), []byte("mine"), 0o600))
	err = l.Delete(ctx, "c", DeleteOptions{})
	require.ErrorIs(t, err, core.ErrIO)
	data, err := os.ReadFile(filepath.Join(l.Dir("c"), "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(data))
}

func TestLocalRejectsBadKeyIDs(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	for _, id := range []string{"", "..", "../x", "a/b", ".hidden"} {
		_, err := l.Load(ctx, id)
		require.ErrorIs(t, err, core.ErrInvalidArgument, id)
		require.ErrorIs(t, l.Delete(ctx, id, DeleteOptions{}), core.ErrInvalidArgument, id)
	}
}

func requireNoTemporaries(t *testing.T, root string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(root, ".*.tmp-*"))
	require.NoError(t, err)
	require.Empty(t, matches, "temporary directories left behind")
}
