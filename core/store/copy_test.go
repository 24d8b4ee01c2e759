package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
)

// requireSameFiles checks that the key files of two key set directories are the same
// bytes, and that dir b holds nothing else (no versions, no temporary files).
func requireSameFiles(t *testing.T, a, b string) {
	t.Helper()
	var want []string
	for _, r := range core.AllRoles {
		wa, errA := os.ReadFile(filepath.Join(a, r.FileName()))
		wb, errB := os.ReadFile(filepath.Join(b, r.FileName()))
		require.Equal(t, errA == nil, errB == nil, "%s present in one directory only", r)
		if errA != nil {
			continue
		}
		want = append(want, r.FileName())
		require.True(t, bytes.Equal(wa, wb), "%s differs between %s and %s", r, a, b)
	}
	entries, err := os.ReadDir(b)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, want, got, "what %s holds", b)
}

// sealedSet saves a sealed key set k into a new local store, rotates it once (version
// 1 is kept) and returns the store and the KEK.
func sealedSet(t *testing.T) (*Local, *core.KEK) {
	t.Helper()
	ctx := context.Background()
	kek, err := core.GenerateKEK()
	require.NoError(t, err)
	sealed, err := newKeySet(t, "k").Seal(kek)
	require.NoError(t, err)
	src := NewLocal(filepath.Join(t.TempDir(), "src"))
	require.NoError(t, src.Save(ctx, sealed))
	_, err = Rotate(ctx, src, "k", RotateOptions{KEK: kek, Generate: core.GenerateOptions{Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}}})
	require.NoError(t, err)
	return src, kek
}

func TestCopyLocal(t *testing.T) {
	ctx := context.Background()
	src, kek := sealedSet(t)
	dst := NewLocal(filepath.Join(t.TempDir(), "a", "b"))
	res, err := Copy(ctx, src, "k", dst, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, []int{1}, res.Versions, "the earlier version is named, not copied")
	require.True(t, res.KeySet.Sealed())
	require.Equal(t, 2, res.KeySet.Version())
	requireSameFiles(t, src.Dir("k"), dst.Dir("k"))
	got, err := dst.Load(ctx, "k")
	require.NoError(t, err)
	_, err = got.Verify(kek)
	require.NoError(t, err, "the copy verifies with the source's KEK")
	fi, err := os.Stat(dst.Dir("k"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	// From a directory named after the key id (SourceDir), into another store.
	dst2 := NewLocal(filepath.Join(t.TempDir(), "c"))
	_, err = Copy(ctx, NewLocal("unused"), "k", dst2, CopyOptions{SourceDir: src.Dir("k")})
	require.NoError(t, err)
	requireSameFiles(t, src.Dir("k"), dst2.Dir("k"))

	// Never overwritten: the set there stays as it was.
	before, err := os.ReadFile(filepath.Join(dst.Dir("k"), "EvalKey.json"))
	require.NoError(t, err)
	_, err = Copy(ctx, dst2, "k", dst, CopyOptions{})
	require.ErrorIs(t, err, core.ErrExists)
	after, err := os.ReadFile(filepath.Join(dst.Dir("k"), "EvalKey.json"))
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestCopySameLocation(t *testing.T) {
	ctx := context.Background()
	src, _ := sealedSet(t)
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(src.Root, link))
	for name, dst := range map[string]*Local{
		"same root":    NewLocal(src.Root),
		"another name": NewLocal(filepath.Join(src.Root, "..", filepath.Base(src.Root))),
		"a symlink":    NewLocal(link),
	} {
		same, _ := SameLocation(src, dst, "k", CopyOptions{})
		require.True(t, same, name)
		_, err := Copy(ctx, src, "k", dst, CopyOptions{})
		require.ErrorIs(t, err, core.ErrInvalidArgument, name)
	}
	same, _ := SameLocation(NewLocal("x"), NewLocal(src.Root), "k", CopyOptions{SourceDir: src.Dir("k")})
	require.True(t, same, "SourceDir names the source")
	same, _ = SameLocation(src, NewLocal(t.TempDir()), "k", CopyOptions{})
	require.False(t, same)

	a1, err := NewAWS(ctx, AWSConfig{Region: "us-east-1", Bucket: "b-one", Prefix: "p"})
	require.NoError(t, err)
	a2, err := NewAWS(ctx, AWSConfig{Region: "eu-west-1", Bucket: "b-one", Prefix: "p"})
	require.NoError(t, err)
	a3, err := NewAWS(ctx, AWSConfig{Region: "us-east-1", Bucket: "b-one", Prefix: "q"})
	require.NoError(t, err)
	same, where := SameLocation(a1, a2, "k", CopyOptions{})
	require.True(t, same, "one bucket in any region")
	require.Equal(t, "s3://b-one/p/k/", where)
	same, _ = SameLocation(a1, a3, "k", CopyOptions{})
	require.False(t, same)
	same, _ = SameLocation(src, a1, "k", CopyOptions{})
	require.False(t, same)
}

// TestCopyRefusesDamage: a damaged or incomplete source writes nothing, not even the
// directories the copy would go in, and leaves no temporary directory.
func TestCopyRefusesDamage(t *testing.T) {
	ctx := context.Background()
	src, _ := sealedSet(t)
	path := filepath.Join(src.Dir("k"), "EvalKey.json")
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	top := t.TempDir()
	dst := NewLocal(filepath.Join(top, "new", "keys"))
	for name, damage := range map[string]func(){
		"a flipped bit": func() { require.NoError(t, os.WriteFile(path, flipKeyDataBit(t, orig), 0o644)) },
		"truncated":     func() { require.NoError(t, os.WriteFile(path, orig[:len(orig)/2], 0o644)) },
		"missing":       func() { require.NoError(t, os.Remove(path)) },
	} {
		damage()
		_, err := Copy(ctx, src, "k", dst, CopyOptions{})
		require.Error(t, err, name)
		if name == "missing" {
			require.ErrorIs(t, err, core.ErrNotFound)
		} else {
			require.ErrorIs(t, err, core.ErrCorrupt, name)
		}
		_, err = ExportPublic(ctx, src, "k", filepath.Join(top, "pub", "k"), CopyOptions{})
		require.Error(t, err, name)
		entries, err := os.ReadDir(top)
		require.NoError(t, err)
		require.Empty(t, entries, "%s: something was left in %s", name, top)
		require.NoError(t, os.WriteFile(path, orig, 0o644))
	}
}

func TestExportPublic(t *testing.T) {
	ctx := context.Background()
	src, _ := sealedSet(t)
	out := filepath.Join(t.TempDir(), "pub")
	ks, err := ExportPublic(ctx, src, "k", out, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, []core.Role{core.EncKey, core.EvalKey}, ks.Roles(), "no secret is read")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	for _, r := range []core.Role{core.EncKey, core.EvalKey} {
		want, err := os.ReadFile(filepath.Join(src.Dir("k"), r.FileName()))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(out, r.FileName()))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), r.String())
	}
	fi, err := os.Stat(out)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
	_, err = ExportPublic(ctx, src, "k", out, CopyOptions{})
	require.ErrorIs(t, err, core.ErrExists)

	// Public keys are for use: a deactivated set's are refused.
	plain := NewLocal(t.TempDir())
	require.NoError(t, plain.Save(ctx, newKeySet(t, "p")))
	_, err = SetState(ctx, plain, "p", core.StateChange{To: core.StateDeactivated, Reason: "test"}, nil)
	require.NoError(t, err)
	old := filepath.Join(t.TempDir(), "old")
	_, err = ExportPublic(ctx, plain, "p", old, CopyOptions{})
	require.ErrorIs(t, err, core.ErrInactive)
	require.NoDirExists(t, old)
}

// TestCopyAWS copies local -> AWS (the EvalKey as a multipart upload) -> AWS (another
// prefix) -> local: the files at the end are the files at the start.
func TestCopyAWS(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	e.st.multipartThreshold = 64 << 10 // the EvalKey goes up in parts
	src, kek := sealedSet(t)
	res, err := Copy(ctx, src, "k", e.st, CopyOptions{})
	require.NoError(t, err)
	require.Equal(t, []int{1}, res.Versions)
	got, err := e.st.Load(ctx, "k")
	require.NoError(t, err)
	_, err = got.Verify(kek)
	require.NoError(t, err)

	other, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: "other"})
	require.NoError(t, err)
	_, err = Copy(ctx, e.st, "k", other, CopyOptions{})
	require.NoError(t, err)
	back := NewLocal(t.TempDir())
	res, err = Copy(ctx, other, "k", back, CopyOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Versions)
	requireSameFiles(t, src.Dir("k"), back.Dir("k"))

	// Never overwritten, in AWS either.
	_, err = Copy(ctx, back, "k", e.st, CopyOptions{})
	require.ErrorIs(t, err, core.ErrExists)
	// A damaged source sends nothing.
	path := filepath.Join(back.Dir("k"), "EncKey.json")
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, flipKeyDataBit(t, orig), 0o644))
	fresh, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: "fresh"})
	require.NoError(t, err)
	_, err = Copy(ctx, back, "k", fresh, CopyOptions{})
	require.True(t, errors.Is(err, core.ErrCorrupt), "%v", err)
	for _, r := range core.AllRoles {
		if r.Secret() {
			require.Equal(t, "absent", e.secretState(t, fresh.SecretName("k", r)), "%s sent", r)
		} else {
			require.False(t, e.objectExists(t, fresh.ObjectKey("k", r)), "%s sent", r)
		}
	}
}
