package keyserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/endpointpb"
)

// These tests speak the wire protocol directly, to send what the client never sends.

const testToken = "tok-123"

var evalKey = func() []byte {
	ks, err := core.Generate(core.GenerateOptions{KeyID: "k", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32, 64}}})
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	if _, err := ks.WriteKeyData(core.EvalKey, &b); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func start(t *testing.T, cfg Config) (*Server, endpointpb.EndpointServiceClient, string) {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Token = testToken
	cfg.Logf = t.Logf
	s, err := New(cfg)
	require.NoError(t, err)
	addr, err := s.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return s, endpointpb.NewEndpointServiceClient(conn), cfg.Dir
}

func authed() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testToken)
}

// frames cuts key into register_key frames of n bytes.
func frames(keyID string, key []byte, n int, total uint64, sum string) []*endpointpb.RegisterKeyRequest {
	var out []*endpointpb.RegisterKeyRequest
	for off := 0; off < len(key); off += n {
		chunk := key[off:min(off+n, len(key))]
		out = append(out, &endpointpb.RegisterKeyRequest{
			Header:    &endpointpb.RequestHeader{Type: endpointpb.MessageType_RegisterKey, Id: "req"},
			KeyInfo:   &endpointpb.KeyInfo{KeyId: keyID, Type: "EvalKey", Preset: "IP0", EvalMode: "RMP", Sha256Sum: sum},
			Key:       &endpointpb.Key{Size: uint64(len(chunk)), Value: chunk},
			TotalSize: total,
		})
	}
	return out
}

func send(ctx context.Context, c endpointpb.EndpointServiceClient, fs []*endpointpb.RegisterKeyRequest) (*endpointpb.RegisterKeyResponse, error) {
	st, err := c.RegisterKey(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if err := st.Send(f); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return st.CloseAndRecv()
}

// clean checks that dir holds exactly the registered keys want, nothing half-done.
func clean(t *testing.T, dir string, want ...string) {
	t.Helper()
	require.Eventually(t, func() bool {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		return strings.Join(got, ",") == strings.Join(want, ",")
	}, 5*time.Second, 10*time.Millisecond)
}

func TestRegisterStreamChecks(t *testing.T) {
	s, c, dir := start(t, Config{MaxKeySize: 8 << 20})
	total := uint64(len(evalKey))
	sum := digest(evalKey)
	edit := func(f func(fs []*endpointpb.RegisterKeyRequest)) []*endpointpb.RegisterKeyRequest {
		fs := frames("k", evalKey, 1<<20, total, sum)
		f(fs)
		return fs
	}
	for _, tc := range []struct {
		name   string
		frames []*endpointpb.RegisterKeyRequest
		code   codes.Code
		rc     endpointpb.ReturnCode
		msg    string
	}{
		{"no frame", nil, codes.InvalidArgument, 0, "carries no frame"},
		{"oversized", append(frames("k", evalKey, 1<<20, total, sum), frames("k", []byte{1, 2, 3}, 1<<20, total, sum)...), codes.InvalidArgument, 0, "more than total_size (3582131) bytes"},
		{"truncated", frames("k", evalKey[:3<<20], 1<<20, total, sum), codes.InvalidArgument, 0, "ended after 3145728 of the 3582131 bytes"},
		{"key_info differs", edit(func(fs []*endpointpb.RegisterKeyRequest) { fs[2].KeyInfo.EvalMode = "FLAT" }), codes.InvalidArgument, 0, "key_info differs from the first frame's"},
		{"key_info of another key", edit(func(fs []*endpointpb.RegisterKeyRequest) { fs[3].KeyInfo.KeyId = "other" }), codes.InvalidArgument, 0, "key_info differs"},
		{"total_size differs", edit(func(fs []*endpointpb.RegisterKeyRequest) { fs[1].TotalSize++ }), codes.InvalidArgument, 0, "total_size 3582132 differs"},
		{"key.size wrong", edit(func(fs []*endpointpb.RegisterKeyRequest) { fs[1].Key.Size-- }), codes.InvalidArgument, 0, "key.size is 1048575 but it carries 1048576 bytes"},
		{"header type", edit(func(fs []*endpointpb.RegisterKeyRequest) { fs[0].Header.Type = endpointpb.MessageType_LoadKey }), codes.InvalidArgument, 0, "header.type is 9003"},
		{"type", edit(func(fs []*endpointpb.RegisterKeyRequest) {
			for _, f := range fs {
				f.KeyInfo.Type = "EncKey"
			}
		}), codes.InvalidArgument, 0, `key_info.type "EncKey"; accepted: EvalKey`},
		{"sha256sum not hex", frames("k", evalKey, 1<<20, total, strings.ToUpper(sum)), codes.InvalidArgument, 0, "not 64 lowercase hex"},
		{"over the size limit", frames("k", evalKey, 1<<20, 9<<20, sum), codes.ResourceExhausted, 0, "over this server's limit of 8388608 bytes"},
		{"mode not of the preset", edit(func(fs []*endpointpb.RegisterKeyRequest) {
			for _, f := range fs {
				f.KeyInfo.EvalMode = "MM32"
			}
		}), codes.InvalidArgument, 0, "eval mode \"MM32\" is not offered with preset IP0"},
		{"digest mismatch", frames("k", evalKey, 1<<20, total, digest([]byte("other"))), codes.OK, endpointpb.ReturnCode_FailedToUnpackKey, "not the sha256sum"},
		{"damaged key", frames("k", append([]byte("EVIS\x01Z"), evalKey[6:]...), 1<<20, total, digest(append([]byte("EVIS\x01Z"), evalKey[6:]...))), codes.OK, endpointpb.ReturnCode_FailedToUnpackKey, "archive entry of kind 0x5a"},
	} {
		resp, err := send(authed(), c, tc.frames)
		if tc.code != codes.OK {
			require.Equal(t, tc.code, status.Code(err), "%s: %v", tc.name, err)
			require.Contains(t, status.Convert(err).Message(), tc.msg, tc.name)
		} else {
			require.NoError(t, err, tc.name)
			require.Equal(t, tc.rc, resp.GetHeader().GetReturnCode(), tc.name)
			require.Contains(t, resp.GetHeader().GetErrorMessage(), tc.msg, tc.name)
			require.Equal(t, "req", resp.GetHeader().GetId())
		}
		clean(t, dir)
	}
	require.Zero(t, s.Stats().Registered)

	// Frames of any size are put together; the key is described beside it.
	resp, err := send(authed(), c, frames("k", evalKey, 300_001, total, sum))
	require.NoError(t, err)
	require.Equal(t, endpointpb.ReturnCode_Success, resp.GetHeader().GetReturnCode())
	clean(t, dir, "k")
	stored, err := os.ReadFile(filepath.Join(dir, "k", "EvalKey.bin"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(evalKey, stored))
	var in info
	b, err := os.ReadFile(filepath.Join(dir, "k", "info.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &in))
	require.Equal(t, info{KeyID: "k", Type: "EvalKey", Preset: "IP0", EvalMode: "RMP", SHA256: sum, Size: int64(total), RegisteredAt: in.RegisteredAt}, in)

	// The same key again: a Warning at once, without reading the rest of the stream.
	before := s.Stats().BytesReceived
	resp, err = send(authed(), c, frames("k", evalKey, 1<<20, total, sum))
	require.NoError(t, err)
	require.Equal(t, endpointpb.ReturnCode_Warning, resp.GetHeader().GetReturnCode())
	require.Contains(t, resp.GetHeader().GetErrorMessage(), "nothing was written")
	require.Equal(t, before, s.Stats().BytesReceived)
}

func TestAuthMetadata(t *testing.T) {
	s, c, _ := start(t, Config{})
	for name, ctx := range map[string]context.Context{
		"none":         context.Background(),
		"wrong token":  metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok-124"),
		"not a bearer": metadata.AppendToOutgoingContext(context.Background(), "authorization", "Basic "+testToken),
		"prefix":       metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok-12"),
	} {
		_, err := c.GetKeyList(ctx, &endpointpb.GetKeyListRequest{})
		require.Equal(t, codes.Unauthenticated, status.Code(err), name)
		require.NotContains(t, err.Error(), testToken, name)
		_, err = send(ctx, c, frames("k", evalKey, 1<<20, uint64(len(evalKey)), digest(evalKey)))
		require.Equal(t, codes.Unauthenticated, status.Code(err), name)
	}
	require.Zero(t, s.Stats().RegisterStreams)
	resp, err := c.GetKeyList(metadata.AppendToOutgoingContext(context.Background(), "authorization", "bearer "+testToken), &endpointpb.GetKeyListRequest{})
	require.NoError(t, err)
	require.Equal(t, endpointpb.ReturnCode_Success, resp.GetHeader().GetReturnCode())
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s, c, _ := start(t, Config{Dir: dir})
	_, err := send(authed(), c, frames("k", evalKey, 1<<20, uint64(len(evalKey)), digest(evalKey)))
	require.NoError(t, err)
	load, err := c.LoadKey(authed(), &endpointpb.LoadKeyRequest{KeyId: "k"})
	require.NoError(t, err)
	require.Equal(t, endpointpb.ReturnCode_Success, load.GetHeader().GetReturnCode())
	s.Stop()
	// What a crash leaves of an upload and of a deletion.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".incoming-x-123"), 0o700))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".deleting-y-456"), 0o700))

	_, c, _ = start(t, Config{Dir: dir})
	clean(t, dir, "k")
	info, err := c.GetKeyInfo(authed(), &endpointpb.GetKeyInfoRequest{KeyId: "k"})
	require.NoError(t, err)
	want := &endpointpb.KeyInfo{KeyId: "k", Type: "EvalKey", Preset: "IP0", EvalMode: "RMP", Sha256Sum: digest(evalKey)}
	require.True(t, proto.Equal(want, info.GetKeyInfo()), "%v", info.GetKeyInfo())

	// A stored key that changed on disk is not loaded.
	path := filepath.Join(dir, "k", "EvalKey.bin")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[100] ^= 1
	require.NoError(t, os.WriteFile(path, b, 0o644))
	load, err = c.LoadKey(authed(), &endpointpb.LoadKeyRequest{KeyId: "k"})
	require.NoError(t, err)
	require.Equal(t, endpointpb.ReturnCode_FailedToUnpackKey, load.GetHeader().GetReturnCode())
}

func TestCommand(t *testing.T) {
	run := func(env string, args ...string) (int, string) {
		t.Setenv(TokenEnv, env)
		var out, errb bytes.Buffer
		code := Main(args, &out, &errb)
		return code, out.String() + errb.String()
	}
	code, out := run("", "--dir", t.TempDir())
	require.Equal(t, 2, code)
	require.Contains(t, out, "a bearer token is required: --token_file FILE or $ENVECTOR_KEYSERVER_TOKEN")
	code, out = run(testToken)
	require.Equal(t, 2, code)
	require.Contains(t, out, "--dir is required")
	code, out = run(testToken, "--dir", t.TempDir(), "--tls-cert", "x.pem")
	require.Equal(t, 2, code)
	require.Contains(t, out, "--tls_cert and --tls_key go together")
	code, out = run("two words", "--dir", t.TempDir())
	require.Equal(t, 1, code)
	require.Contains(t, out, "not visible ASCII")
	require.NotContains(t, out, "words")
	code, out = run(testToken, "--dir", t.TempDir(), "--listen", "256.0.0.1:1")
	require.Equal(t, 1, code)
	require.Contains(t, out, "listening on 256.0.0.1:1")
}
