package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
)

var smallParams = core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeSINGLE}

func smallSet(t testing.TB, id string, seed []byte) *core.KeySet {
	t.Helper()
	ks, err := core.Generate(core.GenerateOptions{KeyID: id, Parameters: smallParams, Seed: seed})
	require.NoError(t, err)
	return ks
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestLocalRotateKeepsVersions(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	kek, err := core.GenerateKEK()
	require.NoError(t, err)
	v1, err := smallSet(t, "k", nil).Seal(kek)
	require.NoError(t, err)
	require.NoError(t, l.Save(ctx, v1))

	_, err = Rotate(ctx, l, "k", RotateOptions{})
	require.ErrorIs(t, err, core.ErrInvalidArgument, "a sealed set needs its KEK to rotate")
	v2, err := Rotate(ctx, l, "k", RotateOptions{KEK: kek})
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version())
	require.True(t, v2.Sealed())
	require.Equal(t, []string{"EncKey.json", "EvalKey.json", "MetadataKey.json", "SecKey.json", "versions"}, dirNames(t, l.Dir("k")))
	require.Equal(t, []string{"1"}, dirNames(t, filepath.Join(l.Dir("k"), "versions")))

	cur, err := l.Load(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, 2, cur.Version())
	require.NotEqual(t, v1.SetID(), cur.SetID())
	_, err = cur.Verify(kek)
	require.NoError(t, err)

	old, err := l.LoadVersion(ctx, "k", 1)
	require.NoError(t, err)
	require.Equal(t, v1.SetID(), old.SetID())
	state, _ := old.State()
	require.Equal(t, core.StateDeactivated, state)
	require.Equal(t, "superseded by version 2", old.Info()[0].StateReason)
	_, err = old.Verify(kek) // an earlier version stays readable: it decrypts what it encrypted
	require.NoError(t, err)
	open, err := old.Unseal(kek)
	require.NoError(t, err)
	was, _ := v1.Unseal(kek)
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		a, _ := open.Blob(r)
		b, _ := was.Blob(r)
		require.Equal(t, keyDataOfBlob(t, b), keyDataOfBlob(t, a), "version 1's %s is the one saved", r)
	}
	again, err := l.LoadVersion(ctx, "k", 2)
	require.NoError(t, err)
	require.Equal(t, cur.SetID(), again.SetID())
	_, err = l.LoadVersion(ctx, "k", 3)
	require.ErrorIs(t, err, core.ErrNotFound)

	v3, err := Rotate(ctx, l, "k", RotateOptions{KEK: kek})
	require.NoError(t, err)
	require.Equal(t, 3, v3.Version())
	sets, err := l.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, []Listing{{KeyID: "k", Roles: core.AllRoles, Complete: true, Versions: []int{1, 2}}}, sets)
	one, err := l.LoadVersion(ctx, "k", 1)
	require.NoError(t, err)
	require.Equal(t, v1.SetID(), one.SetID(), "version 1 survives a second rotation")

	require.NoError(t, l.Delete(ctx, "k", DeleteOptions{}))
	require.NoFileExists(t, l.Dir("k"))
	_, err = l.LoadVersion(ctx, "k", 1)
	require.ErrorIs(t, err, core.ErrNotFound)
}

func keyDataOfBlob(t testing.TB, blob []byte) string {
	t.Helper()
	i := bytes.Index(blob, []byte(`"key_data":"`))
	require.GreaterOrEqual(t, i, 0)
	rest := blob[i+len(`"key_data":"`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func TestLocalSetStateAndReseal(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	k1, _ := core.GenerateKEK()
	k2, _ := core.GenerateKEK()
	plain := smallSet(t, "k", nil)
	require.NoError(t, l.Save(ctx, plain))
	encBefore, err := os.ReadFile(filepath.Join(l.Dir("k"), "EncKey.json"))
	require.NoError(t, err)

	// Seal the unsealed set, then reseal it under another KEK.
	_, err = Reseal(ctx, l, "k", nil, k1)
	require.NoError(t, err)
	_, err = Reseal(ctx, l, "k", k2, k1)
	require.ErrorIs(t, err, core.ErrAuth, "the wrong current KEK changes nothing")
	_, err = Reseal(ctx, l, "k", k1, k2)
	require.NoError(t, err)
	ks, err := l.Load(ctx, "k")
	require.NoError(t, err)
	_, err = ks.Verify(k2)
	require.NoError(t, err)
	encAfter, _ := os.ReadFile(filepath.Join(l.Dir("k"), "EncKey.json"))
	require.Equal(t, encBefore, encAfter, "public files are kept as they were")
	for _, info := range ks.Info() {
		if info.Role.Secret() {
			require.Equal(t, "3", info.KeyVersion)
		}
	}
	noPlaintextUnder(t, l.Root, plain)

	_, err = SetState(ctx, l, "k", core.StateChange{To: core.StateDeactivated, Reason: "r"}, nil)
	require.ErrorIs(t, err, core.ErrInvalidArgument, "a sealed set needs its KEK")
	_, err = SetState(ctx, l, "k", core.StateChange{To: core.StateDeactivated, Reason: "incident 42", Compromised: true}, k2)
	require.NoError(t, err)
	_, err = l.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrInactive, "a deactivated set is not loaded for use")
	seen, err := l.LoadFrom(ctx, l.Dir("k"), "k", core.ParseOptions{AllowInactive: true})
	require.NoError(t, err, "inspection still reads it")
	require.Equal(t, "compromised: incident 42", seen.Info()[0].StateReason)
	_, err = Reseal(ctx, l, "k", k2, k1)
	require.ErrorIs(t, err, core.ErrInactive)

	_, err = SetState(ctx, l, "k", core.StateChange{To: core.StateDestroyed, Reason: "gone"}, k2)
	require.NoError(t, err)
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		b, _ := os.ReadFile(filepath.Join(l.Dir("k"), r.FileName()))
		require.NotContains(t, string(b), "key_data", "%s is a tombstone", r)
	}
	_, err = SetState(ctx, l, "missing", core.StateChange{To: core.StateDeactivated, Reason: "r"}, nil)
	require.ErrorIs(t, err, core.ErrNotFound)
}

// A failure at any step of an update (injected) leaves the old set whole; nothing of
// the attempt is left behind.
func TestLocalUpdateFailureKeepsOldSet(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	k1, _ := core.GenerateKEK()
	k2, _ := core.GenerateKEK()
	ks, _ := smallSet(t, "k", nil).Seal(k1)
	require.NoError(t, l.Save(ctx, ks))
	before := snapshot(t, l.Root)
	boom := errors.New("injected fault")
	err := l.Update(ctx, "k", core.ParseOptions{}, func(cur *core.KeySet) (*core.KeySet, *core.KeySet, error) {
		return nil, nil, boom
	})
	require.ErrorIs(t, err, boom)
	// A cancelled context stops it just before the swap, after everything is written.
	cctx, cancel := context.WithCancel(ctx)
	err = l.Update(cctx, "k", core.ParseOptions{}, func(cur *core.KeySet) (*core.KeySet, *core.KeySet, error) {
		next, err := cur.Reseal(k1, k2)
		cancel()
		return next, nil, err
	})
	require.Error(t, err)
	require.Equal(t, before, snapshot(t, l.Root), "the old set is intact and nothing else is left")
}

// snapshot maps every file under root to its contents.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			rel, _ := filepath.Rel(root, path)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// noPlaintextUnder fails if any file under root holds a secret of plain (unsealed) in
// the clear: its base64 text or its raw bytes.
func noPlaintextUnder(t testing.TB, root string, plain *core.KeySet) {
	t.Helper()
	var needles [][]byte
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		b, err := plain.Blob(r)
		require.NoError(t, err)
		text := keyDataOfBlob(t, b)
		raw, err := base64.StdEncoding.DecodeString(text)
		require.NoError(t, err)
		needles = append(needles, []byte(text[8:40]), raw[8:32])
	}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		for _, n := range needles {
			require.False(t, bytes.Contains(b, n), "%s holds a plaintext secret", path)
		}
		return nil
	})
}

// --- crash test ---

const crashEnv = "ENVECTOR_KEYS_CRASH_CHILD"

var crashSeed = bytes.Repeat([]byte{7}, core.SeedSize)

var crashKEK1, crashKEK2 = func() (*core.KEK, *core.KEK) {
	a, _ := core.ParseKEK(bytes.Repeat([]byte{1}, 32))
	b, _ := core.ParseKEK(bytes.Repeat([]byte{2}, 32))
	return a, b
}()

// TestCrashChild is the process the crash test kills: it runs one operation on the key
// path named in the environment, over and over.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("run by TestLocalCrashLeavesNothing only")
	}
	op, root, _ := strings.Cut(spec, ":")
	ctx := context.Background()
	l := NewLocal(root)
	for i := 0; ; i++ {
		var err error
		switch op {
		case "keygen":
			id := fmt.Sprintf("g%d_%d", i, os.Getpid())
			ks, _ := core.Generate(core.GenerateOptions{KeyID: id, Parameters: smallParams, Seed: crashSeed})
			if i%2 == 0 { // half the sets are sealed: then no plaintext may reach the disk
				ks, _ = ks.Seal(crashKEK1)
			}
			err = l.Save(ctx, ks)
		case "reseal":
			from, to := crashKEK1, crashKEK2
			if cur, lerr := l.Load(ctx, "k"); lerr == nil && cur.Authenticate(from) != nil {
				from, to = to, from
			}
			_, err = Reseal(ctx, l, "k", from, to)
		case "rotate":
			_, err = Rotate(ctx, l, "k", RotateOptions{Generate: core.GenerateOptions{Seed: crashSeed}, KEK: crashKEK1})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
	}
}

// SIGKILL at random points of local keygen, reseal and rotate, then one ordinary
// command: no partial set under a final name, no temporary directory, and no plaintext
// secret anywhere under the key path (where the sets are sealed).
func TestLocalCrashLeavesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs about 40 s")
	}
	plain := smallSet(t, "k", crashSeed)
	runs := 0
	for _, op := range []string{"keygen", "reseal", "rotate"} {
		root := filepath.Join(t.TempDir(), "keys")
		l := NewLocal(root)
		ctx := context.Background()
		if op != "keygen" {
			sealed, err := plain.Seal(crashKEK1)
			require.NoError(t, err)
			require.NoError(t, l.Save(ctx, sealed))
		}
		verified := map[string]bool{}
		for i := 0; i < 40; i++ {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+op+":"+root)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			time.Sleep(time.Duration(30+rand.IntN(170)) * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			err := cmd.Wait()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled(), "%s run %d: the child failed by itself: %v %s", op, i, err, stderr.String())
			runs++

			// One ordinary command.
			sets, err := l.ListSets(ctx)
			require.NoError(t, err)
			for _, name := range dirNames(t, root) {
				require.False(t, strings.Contains(name, tmpInfix), "%s run %d: %s left behind", op, i, name)
			}
			for _, s := range sets {
				require.True(t, s.Complete, "%s run %d: %s is partial", op, i, s.KeyID)
				ks, err := l.LoadVersion(ctx, s.KeyID, mustCurrentVersion(t, l, s.KeyID))
				require.NoError(t, err, "%s run %d: %s", op, i, s.KeyID)
				if verified[ks.SetID()] {
					continue
				}
				verified[ks.SetID()] = true
				if ks.Sealed() {
					kek := crashKEK1
					if ks.Authenticate(kek) != nil {
						kek = crashKEK2
					}
					_, err = ks.Verify(kek)
					require.NoError(t, err, "%s run %d: %s", op, i, s.KeyID)
				}
			}
			if op != "keygen" {
				noPlaintextUnder(t, root, plain)
			}
		}
		if op == "keygen" {
			// Sealed sets (even ids) must have left no plaintext: check those dirs only.
			for _, name := range dirNames(t, root) {
				n, _, _ := strings.Cut(strings.TrimPrefix(name, "g"), "_")
				if strings.HasPrefix(name, "g") && atoiOr(n)%2 == 0 {
					noPlaintextUnder(t, filepath.Join(root, name), plain)
				}
			}
		}
	}
	t.Logf("%d runs killed", runs)
	require.GreaterOrEqual(t, runs, 100)
}

func mustCurrentVersion(t testing.TB, l *Local, id string) int {
	t.Helper()
	ks, err := l.LoadFrom(context.Background(), l.Dir(id), id, core.ParseOptions{AllowInactive: true})
	require.NoError(t, err)
	return ks.Version()
}

func atoiOr(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Concurrent saves into one key path never take each other's temporary directory for a
// dead writer's (each save's cleanup runs while the others write).
func TestLocalConcurrentSavesAndCleanup(t *testing.T) {
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	ks := smallSet(t, "x", crashSeed)
	blobs := map[core.Role][]byte{}
	for _, r := range ks.Roles() {
		b, err := ks.Blob(r)
		require.NoError(t, err)
		blobs[r] = b
	}
	for round := 0; round < 15; round++ {
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() {
				id := fmt.Sprintf("r%d-%d", round, i)
				set, err := core.ParseKeySet("x", blobs, core.ParseOptions{})
				if err == nil {
					err = l.SaveTo(ctx, set, filepath.Join(l.Root, id))
				}
				errs <- err
			}()
		}
		for i := 0; i < 8; i++ {
			require.NoError(t, <-errs, "round %d", round)
		}
	}
	for _, name := range dirNames(t, l.Root) {
		require.False(t, strings.HasPrefix(name, "."), "%s left behind", name)
	}
}
