package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/core/store"
	"github.com/envector-keys/envector-keys/internal/keyserver"
)

const token = "s3cret-Token_for.tests~"

// small is a key set of enVector's preset ip0 with eval mode rmp and dim 32: a 4.7 MB
// EvalKey, ~50 ms to make.
var small = core.GenerateOptions{Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}}

func startServer(t testing.TB) (*keyserver.Server, string) {
	t.Helper()
	srv, err := keyserver.New(keyserver.Config{Dir: t.TempDir(), Token: token, Logf: t.Logf})
	require.NoError(t, err)
	addr, err := srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv, addr
}

func client(t testing.TB, addr string) *endpoint.Client {
	t.Helper()
	c, err := endpoint.Dial(addr, endpoint.Options{Token: token})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func opts(st store.Store, keyID, addr string) Options {
	return Options{Store: st, KeyID: keyID, AutoKeySetup: true, Generate: small, Endpoint: Endpoint{Address: addr, Options: endpoint.Options{Token: token}}}
}

func TestInitCreatesRegistersOnce(t *testing.T) {
	srv, addr := startServer(t)
	st := store.NewLocal(t.TempDir())
	ctx := context.Background()

	first, err := Init(ctx, opts(st, "idx", addr))
	require.NoError(t, err)
	require.True(t, first.Created)
	require.False(t, first.Sealed)
	require.Equal(t, &Registration{Address: "grpc://" + addr, Registered: true, Unloaded: []string{}, Loaded: true}, first.Endpoint)
	require.Equal(t, "ip0/rmp/32", fmt.Sprintf("%s/%s/%s", first.Parameters.Preset, first.Parameters.EvalMode, core.FormatDimList(first.Parameters.Dims)))
	require.True(t, first.MetadataEncryption)
	require.Equal(t, 1, first.Version)
	require.EqualValues(t, 1, srv.Stats().RegisterStreams)

	// The store holds the set, the server its EvalKey, by the same digest.
	ks, err := st.Load(ctx, "idx")
	require.NoError(t, err)
	size, sum, err := ks.KeyDataDigest(core.EvalKey)
	require.NoError(t, err)
	require.EqualValues(t, size, first.EvalKeySize)
	require.Equal(t, fmt.Sprintf("%x", sum), first.EvalKeySHA256)
	info, err := client(t, addr).Info(ctx, "idx")
	require.NoError(t, err)
	require.Equal(t, first.EvalKeySHA256, info.SHA256)
	require.True(t, info.Loaded)
	require.Equal(t, map[string]any{
		"key_id": "idx", "preset": "ip0", "eval_mode": "rmp", "dim_list": []int{32},
		"envector_preset": "IP0", "envector_eval_mode": "RMP", "created": true, "sealed": false,
		"eval_key_sha256": first.EvalKeySHA256, "eval_key_size": first.EvalKeySize,
	}, first.RegistrationInfo)

	// Again: found, not sent again, loaded already.
	again, err := Init(ctx, opts(st, "idx", addr))
	require.NoError(t, err)
	require.False(t, again.Created)
	require.Equal(t, &Registration{Address: "grpc://" + addr, Unloaded: []string{}}, again.Endpoint)
	require.Equal(t, first.EvalKeySHA256, again.EvalKeySHA256)
	require.Equal(t, false, again.RegistrationInfo["created"])
	require.EqualValues(t, 1, srv.Stats().RegisterStreams, "the EvalKey was sent again")

	// Another key loaded meanwhile: it is unloaded, ours loaded, nothing sent.
	c := client(t, addr)
	other, err := Init(ctx, opts(st, "other", addr))
	require.NoError(t, err)
	require.True(t, other.Endpoint.Registered)
	require.Equal(t, []string{"idx"}, other.Endpoint.Unloaded)
	require.EqualValues(t, 2, srv.Stats().RegisterStreams)
	back, err := Init(ctx, opts(st, "idx", addr))
	require.NoError(t, err)
	require.Equal(t, &Registration{Address: "grpc://" + addr, Unloaded: []string{"other"}, Loaded: true}, back.Endpoint)
	require.EqualValues(t, 2, srv.Stats().RegisterStreams)

	// A key set found whose EvalKey the server lost: read whole and sent.
	require.NoError(t, c.Unload(ctx, "idx"))
	require.NoError(t, c.Delete(ctx, "idx"))
	lost, err := Init(ctx, opts(st, "idx", addr))
	require.NoError(t, err)
	require.False(t, lost.Created)
	require.True(t, lost.Endpoint.Registered)
	require.EqualValues(t, 3, srv.Stats().RegisterStreams)

	// The result as JSON (envector_init): no key material, the fields named.
	b, err := json.Marshal(lost)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	require.Equal(t, "idx", m["key_id"])
	require.Equal(t, "ip0", m["preset"])
	require.Equal(t, "rmp", m["eval_mode"])
	require.Equal(t, []any{32.0}, m["dim_list"])
	require.Equal(t, map[string]any{"address": "grpc://" + addr, "registered": true, "unloaded": []any{}, "loaded": true}, m["endpoint"])
	require.Equal(t, []any{}, m["warnings"])
	require.Equal(t, first.EvalKeySHA256, m["registration_info"].(map[string]any)["eval_key_sha256"])
	require.NotContains(t, string(b), token)
}

func TestInitWithoutAddress(t *testing.T) {
	st := store.NewLocal(t.TempDir())
	o := opts(st, "plain", "")
	o.Generate.NoMetadataKey = true
	r, err := Init(context.Background(), o)
	require.NoError(t, err)
	require.True(t, r.Created)
	require.Nil(t, r.Endpoint)
	require.False(t, r.MetadataEncryption)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"endpoint":null`)
	ok, err := st.Exists(context.Background(), "plain")
	require.NoError(t, err)
	require.True(t, ok)
}

func TestInitNoAutoKeySetup(t *testing.T) {
	srv, addr := startServer(t)
	root := t.TempDir()
	st := store.NewLocal(root)
	o := opts(st, "missing", addr)
	o.AutoKeySetup = false
	_, err := Init(context.Background(), o)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Equal(t, core.ErrNotFound, core.KindOf(err))
	require.ErrorContains(t, err, `there is no key set "missing" and auto key setup is off, so none is made: create it first (envector-keygen generate --key_id missing`)
	require.ErrorContains(t, err, filepath.Join(root, "missing", "SecKey.json"))
	entries, _ := os.ReadDir(root)
	require.Empty(t, entries)
	require.Zero(t, srv.Stats().RegisterStreams)

	// Once made, it is found.
	_, err = Init(context.Background(), opts(st, "missing", ""))
	require.NoError(t, err)
	r, err := Init(context.Background(), o)
	require.NoError(t, err)
	require.False(t, r.Created)
	require.True(t, r.Endpoint.Registered)
}

func TestInitSealed(t *testing.T) {
	st := store.NewLocal(t.TempDir())
	ctx := context.Background()
	kek, err := core.GenerateKEK()
	require.NoError(t, err)
	wrong, err := core.GenerateKEK()
	require.NoError(t, err)
	o := opts(st, "s", "")
	o.KEK = kek
	r, err := Init(ctx, o)
	require.NoError(t, err)
	require.True(t, r.Created)
	require.True(t, r.Sealed)
	ks, err := st.Load(ctx, "s")
	require.NoError(t, err)
	require.True(t, ks.Sealed())
	require.NoError(t, ks.Authenticate(kek))

	o.KEK = wrong
	_, err = Init(ctx, o)
	require.ErrorIs(t, err, core.ErrAuth)
	o.KEK = nil
	_, err = Init(ctx, o)
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.ErrorContains(t, err, `the secret keys of key set "s" are sealed: give the KEK`)
	o.KEK = kek
	r, err = Init(ctx, o)
	require.NoError(t, err)
	require.False(t, r.Created)
	require.True(t, r.Sealed)

	// An unsealed set found with a KEK given: refused, not silently used.
	_, err = Init(ctx, opts(st, "u", ""))
	require.NoError(t, err)
	o = opts(st, "u", "")
	o.KEK = kek
	_, err = Init(ctx, o)
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.ErrorContains(t, err, `key set "u" is stored unsealed, but a KEK was given`)
}

func TestInitInactive(t *testing.T) {
	st := store.NewLocal(t.TempDir())
	ctx := context.Background()
	_, err := Init(ctx, opts(st, "old", ""))
	require.NoError(t, err)
	_, err = store.SetState(ctx, st, "old", core.StateChange{To: core.StateDeactivated, Reason: "test"}, nil)
	require.NoError(t, err)
	_, err = Init(ctx, opts(st, "old", ""))
	require.ErrorIs(t, err, core.ErrInactive)
	require.Equal(t, core.ErrInactive, core.KindOf(err))
	ks, err := st.LoadWithOptions(ctx, "old", core.ParseOptions{AllowInactive: true})
	require.NoError(t, err)
	state, _ := ks.State()
	require.Equal(t, core.StateDeactivated, state, "init replaced an inactive key set")
}

func TestInitRegistrationFailureUndoesWhatItMade(t *testing.T) {
	srv, addr := startServer(t)
	st := store.NewLocal(t.TempDir())
	ctx := context.Background()

	// A wrong token: the set this call made is deleted again.
	o := opts(st, "k", addr)
	o.Endpoint.Token = "not-" + token
	_, err := Init(ctx, o)
	require.ErrorIs(t, err, core.ErrAuth)
	require.Equal(t, core.ErrAuth, core.KindOf(err))
	var ee *endpoint.Error
	require.ErrorAs(t, err, &ee)
	require.ErrorContains(t, err, `key set "k" was made by this call and its EvalKey could not be registered with grpc://`+addr+`, so it was deleted from the store again; the next init starts clean`)
	require.ErrorContains(t, err, "the bearer token is not accepted")
	require.NotContains(t, err.Error(), token)
	ids, err := st.List(ctx)
	require.NoError(t, err)
	require.Empty(t, ids)

	// A set found is never deleted.
	_, err = Init(ctx, opts(st, "k", ""))
	require.NoError(t, err)
	_, err = Init(ctx, o)
	require.ErrorIs(t, err, core.ErrAuth)
	require.NotContains(t, err.Error(), "deleted")
	ids, err = st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"k"}, ids)
	require.Zero(t, srv.Stats().RegisterStreams)

	// The server holds another EvalKey under the key id: the new set is deleted, the
	// server's key left alone.
	other := store.NewLocal(t.TempDir())
	r, err := Init(ctx, opts(other, "taken", addr))
	require.NoError(t, err)
	_, err = Init(ctx, opts(st, "taken", addr))
	require.ErrorIs(t, err, core.ErrExists)
	require.ErrorContains(t, err, "registered with another EvalKey")
	require.ErrorContains(t, err, "deleted from the store again")
	ok, err := st.Exists(ctx, "taken")
	require.NoError(t, err)
	require.False(t, ok)
	info, err := client(t, addr).Info(ctx, "taken")
	require.NoError(t, err)
	require.Equal(t, r.EvalKeySHA256, info.SHA256)

	// A bad address fails before any key is made.
	_, err = Init(ctx, opts(st, "never", "https://x:1"))
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	ok, err = st.Exists(ctx, "never")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestInitRefusals(t *testing.T) {
	st := store.NewLocal(t.TempDir())
	ctx := context.Background()
	for name, o := range map[string]Options{
		"no store":     {KeyID: "k"},
		"bad key id":   {Store: st, KeyID: "../k"},
		"other key id": {Store: st, KeyID: "k", Generate: core.GenerateOptions{KeyID: "j"}},
		"bad params":   {Store: st, KeyID: "k", AutoKeySetup: true, Generate: core.GenerateOptions{Parameters: core.Parameters{Preset: core.PresetIP3, EvalMode: core.EvalModeSINGLE}}},
	} {
		_, err := Init(ctx, o)
		require.ErrorIs(t, err, core.ErrInvalidArgument, name)
	}
	require.NotContains(t, fmt.Sprint(Endpoint{Address: "a:1", Options: endpoint.Options{Token: token}}), token)
	require.NotContains(t, fmt.Sprintf("%#v", Endpoint{Address: "a:1", Options: endpoint.Options{Token: token}}), token)
}

// The child of TestInitTwoProcesses: runs Init once and prints its result as JSON.
// Before saving, it waits (up to 20 s) until every child has generated its key set, so
// that the children race to save.
const childEnv = "ENVECTOR_SETUP_CHILD" // key path|address|key id|children

func TestInitChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("run by TestInitTwoProcesses only")
	}
	parts := strings.Split(spec, "|")
	root, addr, keyID := parts[0], parts[1], parts[2]
	var children int
	fmt.Sscan(parts[3], &children)
	afterGenerate = func(string) {
		barrier := root + ".barrier"
		os.WriteFile(filepath.Join(barrier, fmt.Sprintf("generated-%d", os.Getpid())), nil, 0o600)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(barrier, "generated-*"))
			if len(m) >= children {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	r, err := Init(context.Background(), opts(store.NewLocal(root), keyID, addr))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}

// Two processes run Init at once for one key id: both generate, one saves, the other
// finds the store taken and uses the winner's set; one key set, registered once.
func TestInitTwoProcesses(t *testing.T) {
	srv, addr := startServer(t)
	for round := 0; round < 3; round++ {
		root := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.Mkdir(root+".barrier", 0o700))
		keyID := fmt.Sprintf("race%d", round)
		const children = 2
		cmds := make([]*exec.Cmd, children)
		outs := make([]*bytes.Buffer, children)
		errs := make([]*bytes.Buffer, children)
		start := time.Now()
		for i := range cmds {
			cmd := exec.Command(os.Args[0], "-test.run=^TestInitChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%s|%d", childEnv, root, addr, keyID, children))
			outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
			cmd.Stdout, cmd.Stderr = outs[i], errs[i]
			require.NoError(t, cmd.Start())
			cmds[i] = cmd
		}
		var results []map[string]any
		for i, cmd := range cmds {
			require.NoError(t, cmd.Wait(), "child %d: %s", i, errs[i])
			_, js, ok := strings.Cut(outs[i].String(), "RESULT ")
			require.True(t, ok, "child %d printed no result: %s %s", i, outs[i], errs[i])
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(strings.SplitN(js, "\n", 2)[0]), &m))
			results = append(results, m)
		}
		t.Logf("round %d: two processes ran init in %v", round, time.Since(start).Round(time.Millisecond))

		created := 0
		for _, r := range results {
			if r["created"] == true {
				created++
			}
			require.Equal(t, results[0]["eval_key_sha256"], r["eval_key_sha256"])
		}
		require.Equal(t, 1, created, "results: %v", results)
		st := store.NewLocal(root)
		ids, err := st.List(context.Background())
		require.NoError(t, err)
		require.Equal(t, []string{keyID}, ids)
		ks, err := st.Load(context.Background(), keyID)
		require.NoError(t, err)
		_, sum, err := ks.KeyDataDigest(core.EvalKey)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("%x", sum), results[0]["eval_key_sha256"])
		info, err := client(t, addr).Info(context.Background(), keyID)
		require.NoError(t, err)
		require.Equal(t, results[0]["eval_key_sha256"], info.SHA256)
		require.True(t, info.Loaded)
		require.EqualValues(t, round+1, srv.Stats().Registered, "round %d: the EvalKey was stored more than once", round)
	}
}
