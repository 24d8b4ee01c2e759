package endpoint_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/internal/keyserver"
)

const token = "s3cret-Token_for.tests~"

// keySet generates an ip0/rmp key set for dims 32 and 64: its EvalKey (3.6 MB) goes in
// 4 frames.
func keySet(t testing.TB, id string) *core.KeySet {
	t.Helper()
	ks, err := core.Generate(core.GenerateOptions{KeyID: id, Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32, 64}}})
	require.NoError(t, err)
	return ks
}

func rawEvalKey(t testing.TB, ks *core.KeySet) []byte {
	t.Helper()
	var b bytes.Buffer
	_, err := ks.WriteKeyData(core.EvalKey, &b)
	require.NoError(t, err)
	return b.Bytes()
}

type fixture struct {
	srv  *keyserver.Server
	dir  string
	addr string
}

func startServer(t testing.TB, cfg keyserver.Config) *fixture {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Token == "" {
		cfg.Token = token
	}
	srv, err := keyserver.New(cfg)
	require.NoError(t, err)
	addr, err := srv.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return &fixture{srv: srv, dir: cfg.Dir, addr: addr}
}

func dial(t testing.TB, address string, opts endpoint.Options) *endpoint.Client {
	t.Helper()
	c, err := endpoint.Dial(address, opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// leftovers lists what in the server's directory is not a registered key.
func (f *fixture) leftovers(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(f.dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(f.dir, e.Name(), "info.json")); err != nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// settled waits until no upload is left half-done in the server's directory: the
// server cleans up after a broken stream once it notices.
func (f *fixture) settled(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool { return len(f.leftovers(t)) == 0 }, 5*time.Second, 10*time.Millisecond, "left in %s: %v", f.dir, f.leftovers(t))
}

func TestRegisterReadBack(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	c := dial(t, f.addr, endpoint.Options{Token: token})
	ctx := context.Background()
	ks := keySet(t, "big")
	raw := rawEvalKey(t, ks)
	require.Greater(t, len(raw), 3*endpoint.ChunkSize, "the EvalKey must take several frames")

	require.NoError(t, c.RegisterKeySet(ctx, ks))
	stored, err := os.ReadFile(filepath.Join(f.dir, "big", "EvalKey.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(raw, stored), "the server holds other bytes than the EvalKey's")
	require.EqualValues(t, len(raw), f.srv.Stats().BytesReceived)

	sum := sha256.Sum256(raw)
	info, err := c.Info(ctx, "big")
	require.NoError(t, err)
	require.Equal(t, endpoint.KeyInfo{KeyID: "big", Type: "EvalKey", Preset: "IP0", EvalMode: "RMP", SHA256: hex.EncodeToString(sum[:])}, info)
	f.settled(t)
}

func TestKeyLifecycle(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	var warnings []string
	c := dial(t, "grpc://"+f.addr, endpoint.Options{Token: token, Warn: func(m string) { warnings = append(warnings, m) }})
	ctx := context.Background()

	ids, err := c.List(ctx)
	require.NoError(t, err)
	require.Empty(t, ids)
	a, b := keySet(t, "a"), keySet(t, "b")
	require.NoError(t, c.RegisterKeySet(ctx, a))
	require.NoError(t, c.RegisterKeySet(ctx, b))
	ids, err = c.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, ids)

	require.NoError(t, c.Load(ctx, "a"))
	info, err := c.Info(ctx, "a")
	require.NoError(t, err)
	require.True(t, info.Loaded)

	// One key loaded at a time: b waits until a is unloaded.
	err = c.Load(ctx, "b")
	require.ErrorIs(t, err, core.ErrRemote)
	require.ErrorContains(t, err, `key(s) a loaded`)
	require.ErrorContains(t, err, "unload first")
	var ee *endpoint.Error
	require.ErrorAs(t, err, &ee)
	require.Equal(t, "load_key", ee.Op)
	require.Equal(t, "b", ee.KeyID)
	require.NotEmpty(t, ee.RequestID)

	// A loaded key is not deleted.
	err = c.Delete(ctx, "a")
	require.ErrorContains(t, err, "unload it first")

	// Loading twice, unloading what is not loaded: warnings, not errors.
	require.NoError(t, c.Load(ctx, "a"))
	require.NoError(t, c.Unload(ctx, "a"))
	require.NoError(t, c.Unload(ctx, "a"))
	require.Len(t, warnings, 2)
	require.Contains(t, warnings[0], `endpoint.load_key("a"): server warning: key "a" is loaded already`)
	require.Contains(t, warnings[1], "was not loaded")

	require.NoError(t, c.Load(ctx, "b"))
	require.NoError(t, c.Unload(ctx, "b"))
	require.NoError(t, c.Delete(ctx, "a"))
	ids, err = c.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, ids)
	require.NoDirExists(t, filepath.Join(f.dir, "a"))

	for name, call := range map[string]func() error{
		"info":   func() error { _, err := c.Info(ctx, "a"); return err },
		"load":   func() error { return c.Load(ctx, "a") },
		"unload": func() error { return c.Unload(ctx, "a") },
		"delete": func() error { return c.Delete(ctx, "a") },
	} {
		err := call()
		require.ErrorIs(t, err, core.ErrNotFound, name)
		require.ErrorContains(t, err, `no key "a" is registered`, name)
		require.Equal(t, core.ErrNotFound, core.KindOf(err), name)
	}
	f.settled(t)
}

func TestEnsureRegistered(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	c := dial(t, f.addr, endpoint.Options{Token: token})
	ctx := context.Background()
	ks := keySet(t, "mine")

	// Another key is loaded: EnsureRegistered unloads it and loads ours.
	require.NoError(t, c.RegisterKeySet(ctx, keySet(t, "other")))
	require.NoError(t, c.Load(ctx, "other"))
	got, err := c.EnsureRegistered(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, endpoint.Ensured{Registered: true, Unloaded: []string{"other"}, Loaded: true}, got)
	require.EqualValues(t, 2, f.srv.Stats().RegisterStreams)

	// Again: the key is there with our digest and loaded; nothing is sent.
	got, err = c.EnsureRegistered(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, endpoint.Ensured{}, got)
	require.EqualValues(t, 2, f.srv.Stats().RegisterStreams, "the EvalKey was sent again")

	// Unloaded, it is loaded again, still not sent.
	require.NoError(t, c.Unload(ctx, "mine"))
	got, err = c.EnsureRegistered(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, endpoint.Ensured{Loaded: true}, got)
	require.EqualValues(t, 2, f.srv.Stats().RegisterStreams)

	// Another key set under the same id: refused, nothing changes.
	_, err = c.EnsureRegistered(ctx, keySet(t, "mine"))
	require.ErrorIs(t, err, core.ErrExists)
	require.ErrorContains(t, err, "registered with another EvalKey")
	require.EqualValues(t, 2, f.srv.Stats().RegisterStreams)
	// Registering it directly is refused by the server.
	err = c.RegisterKeySet(ctx, keySet(t, "mine"))
	require.ErrorIs(t, err, core.ErrExists)
	require.ErrorContains(t, err, "a registered key is never replaced")
	stored, err := os.ReadFile(filepath.Join(f.dir, "mine", "EvalKey.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(rawEvalKey(t, ks), stored))
	f.settled(t)
}

func TestEnsureRegisteredConcurrently(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	ks := keySet(t, "shared")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		c := dial(t, f.addr, endpoint.Options{Token: token})
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.EnsureRegistered(context.Background(), ks)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, f.srv.Stats().Registered, "the key was written more than once")
	c := dial(t, f.addr, endpoint.Options{Token: token})
	info, err := c.Info(context.Background(), "shared")
	require.NoError(t, err)
	require.True(t, info.Loaded)
	f.settled(t)
}

func TestRegisterRefusals(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	c := dial(t, f.addr, endpoint.Options{Token: token})
	ctx := context.Background()
	ks := keySet(t, "k")
	raw := rawEvalKey(t, ks)
	sum := sha256.Sum256(raw)
	digest := hex.EncodeToString(sum[:])
	upload := func(data io.Reader, size int64, digest string) endpoint.Upload {
		return endpoint.Upload{KeyID: "k", Preset: "IP0", EvalMode: "RMP", Size: size, SHA256: digest, Data: data}
	}
	nothingRegistered := func(name string) {
		t.Helper()
		ids, err := c.List(ctx)
		require.NoError(t, err, name)
		require.Empty(t, ids, name)
		f.settled(t)
	}
	for _, tc := range []struct {
		name string
		u    endpoint.Upload
		kind core.Kind
		msg  string
	}{
		{"digest mismatch", upload(bytes.NewReader(raw), int64(len(raw)), strings.Repeat("ab", 32)), core.ErrInvalidArgument, "not the abab"},
		{"data short of size", upload(bytes.NewReader(raw), int64(len(raw))+5, digest), core.ErrInvalidArgument, "ended after 3582131 of the 3582136 bytes"},
		{"data past size", upload(bytes.NewReader(raw), int64(len(raw))-5, digest), core.ErrInvalidArgument, "more than the 3582126 bytes"},
		{"not an EvalKey", endpoint.Upload{KeyID: "k", Preset: "IP0", EvalMode: "RMP", Size: 3 << 20, Data: bytes.NewReader(make([]byte, 3<<20))}, core.ErrCorrupt, "FailedToUnpackKey: the bytes are not an EvalKey of IP0/RMP: EvalKey data: not an EVIS archive"},
		{"other preset", upload(bytes.NewReader(raw), int64(len(raw)), digest), core.ErrCorrupt, ""},
		{"unknown preset", upload(bytes.NewReader(raw), int64(len(raw)), digest), core.ErrInvalidArgument, "unknown preset"},
		{"bad key id", endpoint.Upload{KeyID: "../k", Preset: "IP0", EvalMode: "RMP", Size: 1, Data: bytes.NewReader([]byte{1})}, core.ErrInvalidArgument, "not accepted"},
	} {
		switch tc.name {
		case "other preset":
			tc.u.Preset, tc.msg = "IP3", "the bytes are not an EvalKey of IP3/RMP: EvalKey's metadata names preset \"IP0\""
		case "unknown preset":
			tc.u.Preset = "IP7"
		}
		err := c.Register(ctx, tc.u)
		require.ErrorIs(t, err, tc.kind, tc.name)
		require.ErrorContains(t, err, tc.msg, tc.name)
		nothingRegistered(tc.name)
	}

	// A reader that fails: its error, and nothing registered.
	err := c.Register(ctx, upload(io.MultiReader(bytes.NewReader(raw[:2<<20]), failingReader{}), int64(len(raw)), digest))
	require.ErrorIs(t, err, core.ErrIO)
	require.ErrorContains(t, err, "disk on fire")
	nothingRegistered("failing reader")

	// Without a digest the data are read twice, when they can be.
	require.NoError(t, c.Register(ctx, upload(bytes.NewReader(raw), int64(len(raw)), "")))
	err = c.Register(ctx, upload(io.MultiReader(bytes.NewReader(raw)), int64(len(raw)), ""))
	require.ErrorContains(t, err, "io.ReadSeeker")
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// cancelAfter cancels a context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		time.Sleep(50 * time.Millisecond) // let the cancellation reach the server
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func TestDroppedStream(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	c := dial(t, f.addr, endpoint.Options{Token: token})
	ks := keySet(t, "k")
	raw := rawEvalKey(t, ks)
	sum := sha256.Sum256(raw)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &cancelAfter{r: bytes.NewReader(raw), n: 2 << 20, cancel: cancel}
	err := c.Register(ctx, endpoint.Upload{KeyID: "k", Preset: "IP0", EvalMode: "RMP", Size: int64(len(raw)), SHA256: hex.EncodeToString(sum[:]), Data: r})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, core.ErrRemote)
	f.settled(t)
	ids, err := c.List(context.Background())
	require.NoError(t, err)
	require.Empty(t, ids)
	require.EqualValues(t, 0, f.srv.Stats().Registered)
}

func TestAuthentication(t *testing.T) {
	f := startServer(t, keyserver.Config{})
	ctx := context.Background()
	ks := keySet(t, "k")
	for name, opts := range map[string]endpoint.Options{
		"wrong token": {Token: "not-" + token},
		"no token":    {},
	} {
		c := dial(t, f.addr, opts)
		_, err := c.List(ctx)
		require.ErrorIs(t, err, core.ErrAuth, name)
		require.Equal(t, core.ErrAuth, core.KindOf(err), name)
		err = c.RegisterKeySet(ctx, ks)
		require.ErrorIs(t, err, core.ErrAuth, name)
		require.NotContains(t, err.Error(), token, name)
		_, err = c.EnsureRegistered(ctx, ks)
		require.ErrorIs(t, err, core.ErrAuth, name)
	}
	require.Zero(t, f.srv.Stats().RegisterStreams)
	require.Empty(t, f.leftovers(t))

	// The token never shows.
	opts := endpoint.Options{Token: token}
	for _, s := range []string{fmt.Sprint(opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", opts), fmt.Sprint(dial(t, f.addr, opts))} {
		require.NotContains(t, s, token)
	}
	_, err := endpoint.Dial(f.addr, endpoint.Options{Token: "two words"})
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.NotContains(t, err.Error(), "words")
}

func TestTimeout(t *testing.T) {
	// A listener that accepts and never answers.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	c := dial(t, lis.Addr().String(), endpoint.Options{Token: token, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err = c.List(context.Background())
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, core.ErrRemote)
	require.ErrorContains(t, err, "no answer in time")
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	f := startServer(t, keyserver.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ctx := context.Background()
	c := dial(t, "grpcs://"+f.addr, endpoint.Options{Token: token, TLSConfig: &tls.Config{RootCAs: pool}})
	require.Equal(t, "grpcs://"+f.addr, c.String())
	require.NoError(t, c.RegisterKeySet(ctx, keySet(t, "k")))
	ids, err := c.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"k"}, ids)

	// Plaintext to a TLS server, TLS without trusting its certificate: refused.
	for name, opts := range map[string]endpoint.Options{
		"plaintext":      {Token: token, Timeout: 2 * time.Second},
		"unknown issuer": {Token: token, TLS: true, Timeout: 2 * time.Second},
	} {
		_, err := dial(t, f.addr, opts).List(ctx)
		require.ErrorIs(t, err, core.ErrRemote, name)
		require.ErrorContains(t, err, "Unavailable", name)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyserver test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	parsed, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestDial(t *testing.T) {
	for _, a := range []string{"localhost:50050", "grpc://10.0.0.1:80", "grpcs://keys.example.com:443", "[::1]:9"} {
		c, err := endpoint.Dial(a, endpoint.Options{})
		require.NoError(t, err, a)
		c.Close()
	}
	for a, msg := range map[string]string{
		"localhost":              "not host:port",
		"https://x:1":            `scheme "https"`,
		"grpc://":                "not host:port",
		"keys.example.com:":      "not host:port",
		"grpc://localhost:50050": "", // with TLS asked for
	} {
		_, err := endpoint.Dial(a, endpoint.Options{TLS: msg == ""})
		require.ErrorIs(t, err, core.ErrInvalidArgument, a)
		require.ErrorContains(t, err, msg, a)
	}
}

func TestReadToken(t *testing.T) {
	tok, err := endpoint.ReadToken(strings.NewReader("  abc.DEF-123=\r\n"))
	require.NoError(t, err)
	require.Equal(t, "abc.DEF-123=", tok)
	for _, in := range []string{"", "\n", "two words\n", "tab\there", strings.Repeat("x", 5000)} {
		_, err := endpoint.ReadToken(strings.NewReader(in))
		require.ErrorIs(t, err, core.ErrInvalidArgument, "%q", in)
	}
}

func TestLegacyKeySetRefused(t *testing.T) {
	dir := "../testdata/legacy/legacy-ip1-mm"
	blobs := map[core.Role][]byte{}
	for _, r := range []core.Role{core.EncKey, core.EvalKey} {
		b, err := os.ReadFile(filepath.Join(dir, r.FileName()))
		require.NoError(t, err)
		blobs[r] = b
	}
	ks, err := core.ParseKeySet("legacy-ip1-mm", blobs, core.ParseOptions{})
	require.NoError(t, err)
	_, err = endpoint.EvalKeyUpload(ks)
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.ErrorContains(t, err, "envector-keys 0.1 layout")
}
