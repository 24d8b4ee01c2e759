// Package keyserver is a small reference server of enVector's key endpoint
// (endpoint.v2.EndpointService) over a directory of registered EvalKeys, for tests and
// for trying the client without an enVector server. cmd/envector-keyserver runs it.
//
// What it does, and the choices it makes where the protocol leaves them open:
//
//   - Every call must carry gRPC metadata "authorization: Bearer <token>" with the
//     configured token (compared in constant time); otherwise the call is refused with
//     status Unauthenticated. The token is never logged.
//   - register_key takes the key in frames; every frame must repeat the first frame's
//     header type (RegisterKey), key_info and total_size, and key.size must be the
//     frame's length. The key is written to a temporary directory as it arrives, hashed,
//     and checked with core.CheckEvalKeyData against the preset and eval mode it is
//     registered under; only when all of it has come, its length is total_size, its
//     SHA-256 is key_info.sha256sum and it parses, is it renamed into place
//     (<dir>/<key_id>/EvalKey.bin beside info.json): a key id is registered whole or not
//     at all. A stream that carries more than total_size, ends short of it, breaks off
//     (the client cancels) or differs between frames leaves nothing behind.
//   - Registrations of one key id are serialized. A key id registered already with the
//     same SHA-256 answers Warning ("nothing written") at once, without reading the
//     rest of the stream; with another SHA-256, AlreadyExists: a registered key is never
//     replaced (delete it first).
//   - Failures of the request itself are gRPC statuses (Unauthenticated, NotFound,
//     AlreadyExists, InvalidArgument for a malformed or inconsistent stream,
//     FailedPrecondition, ResourceExhausted for a key over the size limit); outcomes of a
//     well-formed request are return codes: FailedToUnpackKey (the bytes do not hash to
//     sha256sum or are not such an EvalKey), InsufficientDiskSpace, Fail, Warning.
//   - At most MaxLoaded keys (default 1) are loaded at once: loading another fails with
//     FailedPrecondition naming the loaded key, and the client unloads it first, as
//     endpoint.EnsureRegistered does (the single-key init of enVector's client;
//     pyenvector 1.6.3's multi-key init leaves other keys loaded: serve it with
//     MaxLoaded > 1). Loading a loaded key, or unloading one that is not loaded, is a
//     Warning.
//     Loading re-reads the key and checks its SHA-256. Which keys are loaded is kept in
//     memory only: a restarted server has none loaded.
//   - header.type is checked on register_key frames only (the other message types'
//     numbers are ours, not enVector's); the response header echoes the request id.
//   - delete_key refuses a loaded key (FailedPrecondition: unload it first) and removes
//     a registered one whole (renamed away, then removed).
package keyserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/endpointpb"
)

// Config configures a Server.
type Config struct {
	Dir   string // where registered keys live; made (0700) if absent
	Token string // the bearer token every call must carry; required
	// MaxLoaded is how many keys may be loaded at once; zero means 1.
	MaxLoaded int
	// MaxKeySize is the largest total_size accepted; zero means DefaultMaxKeySize.
	MaxKeySize int64
	// TLS, if set, serves TLS with it; otherwise plaintext.
	TLS *tls.Config
	// Logf, if set, receives one line per call (method, key id, outcome): never the
	// token or key bytes.
	Logf func(format string, args ...any)
}

// DefaultMaxKeySize bounds a registered key: 4 GiB (an MM32 or MMS32 EvalKey is about
// 0.9 GB).
const DefaultMaxKeySize = 4 << 30

const (
	keyFile      = "EvalKey.bin"
	infoFile     = "info.json"
	incomingPref = ".incoming-"
	deletingPref = ".deleting-"
)

// Server serves the key endpoint over Config.Dir. It is safe for concurrent use.
type Server struct {
	endpointpb.UnimplementedEndpointServiceServer
	cfg   Config
	token [sha256.Size]byte
	gs    *grpc.Server

	locks sync.Map // key id -> chan struct{} (capacity 1): one register, load, unload or delete at a time

	mu     sync.Mutex
	loaded []string

	stats struct{ streams, registered, bytes atomic.Int64 }
}

// Stats counts what a server has done since it started.
type Stats struct {
	RegisterStreams int64 // register_key calls that passed authentication
	Registered      int64 // keys written into place
	BytesReceived   int64 // key bytes received by register_key
}

// New checks cfg and prepares Dir: removes what a crash left of registrations and
// deletions in progress.
func New(cfg Config) (*Server, error) {
	const op = "keyserver.New"
	if cfg.Dir == "" {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "no directory given")
	}
	if cfg.Token == "" {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "no bearer token given: the server accepts only callers that present it")
	}
	if cfg.MaxLoaded <= 0 {
		cfg.MaxLoaded = 1
	}
	if cfg.MaxKeySize <= 0 {
		cfg.MaxKeySize = DefaultMaxKeySize
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, core.Wrap(core.ErrIO, op, err, "making %s", cfg.Dir)
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, core.Wrap(core.ErrIO, op, err, "reading %s", cfg.Dir)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), incomingPref) || strings.HasPrefix(e.Name(), deletingPref) {
			os.RemoveAll(filepath.Join(cfg.Dir, e.Name()))
		}
	}
	s := &Server{cfg: cfg, token: sha256.Sum256([]byte(cfg.Token))}
	s.cfg.Token = ""
	opts := []grpc.ServerOption{
		grpc.UnaryInterceptor(s.authUnary),
		grpc.StreamInterceptor(s.authStream),
		grpc.MaxRecvMsgSize(4 << 20), // a 1 MiB frame and its header
	}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	s.gs = grpc.NewServer(opts...)
	endpointpb.RegisterEndpointServiceServer(s.gs, s)
	return s, nil
}

// Serve accepts connections on lis until Stop; it returns nil after Stop.
func (s *Server) Serve(lis net.Listener) error {
	err := s.gs.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Start listens on addr (host:port; port 0 picks a free one), serves in the background
// and returns the address it listens on. Stop ends it.
func (s *Server) Start(addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", core.Wrap(core.ErrIO, "keyserver.Start", err, "listening on %s", addr)
	}
	go s.Serve(lis)
	return lis.Addr().String(), nil
}

// Stop stops serving: calls in progress are cancelled (an upload leaves nothing behind).
func (s *Server) Stop() { s.gs.Stop() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{RegisterStreams: s.stats.streams.Load(), Registered: s.stats.registered.Load(), BytesReceived: s.stats.bytes.Load()}
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// authenticate checks the bearer token of a call.
func (s *Server) authenticate(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing authorization metadata: send \"authorization: Bearer <token>\"")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return status.Error(codes.Unauthenticated, "authorization metadata is not of the form \"Bearer <token>\"")
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	if subtle.ConstantTimeCompare(got[:], s.token[:]) != 1 {
		return status.Error(codes.Unauthenticated, "the bearer token is not accepted")
	}
	return nil
}

func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := s.authenticate(ctx); err != nil {
		s.logf("%s: refused: %v", methodName(info.FullMethod), status.Convert(err).Message())
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := s.authenticate(ss.Context()); err != nil {
		s.logf("%s: refused: %v", methodName(info.FullMethod), status.Convert(err).Message())
		return err
	}
	return handler(srv, ss)
}

func methodName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// lock takes the lock of a key id, or gives up when ctx ends.
func (s *Server) lock(ctx context.Context, keyID string) (unlock func(), err error) {
	v, _ := s.locks.LoadOrStore(keyID, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func header(t endpointpb.MessageType, reqID string, code endpointpb.ReturnCode, msg string) *endpointpb.ResponseHeader {
	return &endpointpb.ResponseHeader{Type: t, Id: reqID, Timestamp: uint64(time.Now().UnixMilli()), ReturnCode: code, ErrorMessage: msg}
}

// info is what info.json holds beside a registered key.
type info struct {
	KeyID        string `json:"key_id"`
	Type         string `json:"type"`
	Preset       string `json:"preset"`
	EvalMode     string `json:"eval_mode"`
	SHA256       string `json:"sha256sum"`
	Size         int64  `json:"size"`
	RegisteredAt string `json:"registered_at"`
}

func (s *Server) keyDir(keyID string) string { return filepath.Join(s.cfg.Dir, keyID) }

// readInfo returns the info of a registered key, or a NotFound status.
func (s *Server) readInfo(keyID string) (*info, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.(*core.Error).Msg)
	}
	b, err := os.ReadFile(filepath.Join(s.keyDir(keyID), infoFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, status.Errorf(codes.NotFound, "no key %q is registered", keyID)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "reading the key's description: %v", err)
	}
	var in info
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, status.Errorf(codes.DataLoss, "the stored description of key %q does not parse", keyID)
	}
	return &in, nil
}

func (s *Server) isLoaded(keyID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.loaded, keyID)
}

// GetKeyList lists the registered key ids, sorted.
func (s *Server) GetKeyList(ctx context.Context, req *endpointpb.GetKeyListRequest) (*endpointpb.GetKeyListResponse, error) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return &endpointpb.GetKeyListResponse{Header: header(endpointpb.MessageType_GetKeyList, req.GetHeader().GetId(), endpointpb.ReturnCode_Fail, "reading the key directory failed")}, nil
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && core.CheckKeyID(e.Name()) == nil {
			if _, err := os.Stat(filepath.Join(s.cfg.Dir, e.Name(), infoFile)); err == nil {
				ids = append(ids, e.Name())
			}
		}
	}
	s.logf("get_key_list: %d keys", len(ids))
	return &endpointpb.GetKeyListResponse{Header: header(endpointpb.MessageType_GetKeyList, req.GetHeader().GetId(), endpointpb.ReturnCode_Success, ""), KeyId: ids}, nil
}

// GetKeyInfo describes a registered key.
func (s *Server) GetKeyInfo(ctx context.Context, req *endpointpb.GetKeyInfoRequest) (*endpointpb.GetKeyInfoResponse, error) {
	in, err := s.readInfo(req.GetKeyId())
	if err != nil {
		s.logf("get_key_info %q: %v", req.GetKeyId(), status.Convert(err).Message())
		return nil, err
	}
	ki := &endpointpb.KeyInfo{KeyId: in.KeyID, Type: in.Type, Preset: in.Preset, EvalMode: in.EvalMode, Sha256Sum: in.SHA256, IsLoaded: s.isLoaded(in.KeyID)}
	return &endpointpb.GetKeyInfoResponse{Header: header(endpointpb.MessageType_GetKeyInfo, req.GetHeader().GetId(), endpointpb.ReturnCode_Success, ""), KeyInfo: ki}, nil
}

// LoadKey loads a registered key: re-reads it, checks its SHA-256, marks it loaded.
func (s *Server) LoadKey(ctx context.Context, req *endpointpb.LoadKeyRequest) (*endpointpb.LoadKeyResponse, error) {
	const t = endpointpb.MessageType_LoadKey
	keyID, reqID := req.GetKeyId(), req.GetHeader().GetId()
	reply := func(code endpointpb.ReturnCode, msg string) (*endpointpb.LoadKeyResponse, error) {
		s.logf("load_key %q: %s %s", keyID, code, msg)
		return &endpointpb.LoadKeyResponse{Header: header(t, reqID, code, msg)}, nil
	}
	in, err := s.readInfo(keyID)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, keyID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.isLoaded(keyID) {
		return reply(endpointpb.ReturnCode_Warning, fmt.Sprintf("key %q is loaded already", keyID))
	}
	s.mu.Lock()
	if len(s.loaded) >= s.cfg.MaxLoaded {
		others := strings.Join(s.loaded, ", ")
		s.mu.Unlock()
		s.logf("load_key %q: refused: %s loaded", keyID, others)
		return nil, status.Errorf(codes.FailedPrecondition, "key(s) %s loaded; this server keeps at most %d loaded: unload first", others, s.cfg.MaxLoaded)
	}
	s.mu.Unlock()
	sum, n, err := hashFile(filepath.Join(s.keyDir(keyID), keyFile))
	if err != nil {
		return reply(endpointpb.ReturnCode_Fail, "reading the registered key failed")
	}
	if sum != in.SHA256 || n != in.Size {
		return reply(endpointpb.ReturnCode_FailedToUnpackKey, fmt.Sprintf("the stored key no longer has its registered SHA-256 (%s); delete and register it again", in.SHA256))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.loaded) >= s.cfg.MaxLoaded { // another key was loaded meanwhile
		return nil, status.Errorf(codes.FailedPrecondition, "key(s) %s loaded; this server keeps at most %d loaded: unload first", strings.Join(s.loaded, ", "), s.cfg.MaxLoaded)
	}
	s.loaded = append(s.loaded, keyID)
	s.logf("load_key %q: loaded", keyID)
	return &endpointpb.LoadKeyResponse{Header: header(t, reqID, endpointpb.ReturnCode_Success, "")}, nil
}

// UnloadKey unloads a key; it stays registered.
func (s *Server) UnloadKey(ctx context.Context, req *endpointpb.UnloadKeyRequest) (*endpointpb.UnloadKeyResponse, error) {
	const t = endpointpb.MessageType_UnloadKey
	keyID, reqID := req.GetKeyId(), req.GetHeader().GetId()
	if _, err := s.readInfo(keyID); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, keyID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.loaded, keyID)
	if i < 0 {
		s.logf("unload_key %q: was not loaded", keyID)
		return &endpointpb.UnloadKeyResponse{Header: header(t, reqID, endpointpb.ReturnCode_Warning, fmt.Sprintf("key %q was not loaded", keyID))}, nil
	}
	s.loaded = slices.Delete(s.loaded, i, i+1)
	s.logf("unload_key %q: unloaded", keyID)
	return &endpointpb.UnloadKeyResponse{Header: header(t, reqID, endpointpb.ReturnCode_Success, "")}, nil
}

// DeleteKey removes a registered key that is not loaded.
func (s *Server) DeleteKey(ctx context.Context, req *endpointpb.DeleteKeyRequest) (*endpointpb.DeleteKeyResponse, error) {
	const t = endpointpb.MessageType_DeleteKey
	keyID, reqID := req.GetKeyId(), req.GetHeader().GetId()
	if _, err := s.readInfo(keyID); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, keyID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if s.isLoaded(keyID) {
		return nil, status.Errorf(codes.FailedPrecondition, "key %q is loaded: unload it first", keyID)
	}
	gone := filepath.Join(s.cfg.Dir, deletingPref+keyID+"-"+randomSuffix())
	if err := os.Rename(s.keyDir(keyID), gone); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, status.Errorf(codes.NotFound, "no key %q is registered", keyID)
		}
		return &endpointpb.DeleteKeyResponse{Header: header(t, reqID, endpointpb.ReturnCode_Fail, "removing the key failed")}, nil
	}
	syncDir(s.cfg.Dir)
	os.RemoveAll(gone)
	s.logf("delete_key %q: deleted", keyID)
	return &endpointpb.DeleteKeyResponse{Header: header(t, reqID, endpointpb.ReturnCode_Success, "")}, nil
}

// RegisterKey receives one key; see the package comment for what is checked.
func (s *Server) RegisterKey(stream endpointpb.EndpointService_RegisterKeyServer) error {
	s.stats.streams.Add(1)
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "register_key: the stream carries no frame")
	}
	if err != nil {
		return err
	}
	reqID := first.GetHeader().GetId()
	keyID := first.GetKeyInfo().GetKeyId()
	reply := func(code endpointpb.ReturnCode, msg string) error {
		s.logf("register_key %q: %s %s", keyID, code, msg)
		return stream.SendAndClose(&endpointpb.RegisterKeyResponse{Header: header(endpointpb.MessageType_RegisterKey, reqID, code, msg)})
	}
	refuse := func(c codes.Code, format string, args ...any) error {
		err := status.Errorf(c, format, args...)
		s.logf("register_key %q: refused: %v", keyID, status.Convert(err).Message())
		return err
	}
	ki := first.GetKeyInfo()
	total := first.GetTotalSize()
	switch {
	case first.GetHeader().GetType() != endpointpb.MessageType_RegisterKey:
		return refuse(codes.InvalidArgument, "header.type is %d; register_key frames carry RegisterKey (%d)", first.GetHeader().GetType(), endpointpb.MessageType_RegisterKey)
	case ki == nil:
		return refuse(codes.InvalidArgument, "the frame carries no key_info")
	case core.CheckKeyID(keyID) != nil:
		return refuse(codes.InvalidArgument, "%s", core.CheckKeyID(keyID).(*core.Error).Msg)
	case ki.GetType() != "EvalKey":
		return refuse(codes.InvalidArgument, "key_info.type %q; accepted: EvalKey", cut(ki.GetType()))
	case !isSHA256Hex(ki.GetSha256Sum()):
		return refuse(codes.InvalidArgument, "key_info.sha256sum is not 64 lowercase hex characters")
	case total == 0:
		return refuse(codes.InvalidArgument, "total_size is 0")
	case total > uint64(s.cfg.MaxKeySize):
		return refuse(codes.ResourceExhausted, "total_size %d is over this server's limit of %d bytes", total, s.cfg.MaxKeySize)
	}
	// The preset and eval mode, before anything is written: CheckEvalKeyData checks the
	// names before it reads (here nothing: that ErrCorrupt is ignored). The bytes are
	// checked as they arrive.
	if err := core.CheckEvalKeyData(strings.NewReader(""), ki.GetPreset(), ki.GetEvalMode()); errors.Is(err, core.ErrInvalidArgument) {
		return refuse(codes.InvalidArgument, "%s", err.(*core.Error).Msg)
	}

	unlock, err := s.lock(ctx, keyID)
	if err != nil {
		return err
	}
	defer unlock()
	if in, err := s.readInfo(keyID); err == nil {
		if in.SHA256 == ki.GetSha256Sum() {
			return reply(endpointpb.ReturnCode_Warning, fmt.Sprintf("key %q is registered already with this sha256sum; nothing was written", keyID))
		}
		return refuse(codes.AlreadyExists, "key %q is registered already with another sha256sum (%s); a registered key is never replaced: delete it first or use another key id", keyID, in.SHA256)
	} else if status.Code(err) != codes.NotFound {
		return err
	}
	if free, ok := freeSpace(s.cfg.Dir); ok && free < total+1<<20 {
		return reply(endpointpb.ReturnCode_InsufficientDiskSpace, fmt.Sprintf("the key is %d bytes; %d are free", total, free))
	}

	up, err := s.newUpload(keyID, ki)
	if err != nil {
		return reply(endpointpb.ReturnCode_Fail, "preparing the key's directory failed")
	}
	defer up.abort()
	for frame := first; ; {
		if err := checkFrame(first, frame); err != nil {
			return refuse(codes.InvalidArgument, "%s", err)
		}
		if up.n+uint64(len(frame.GetKey().GetValue())) > total {
			return refuse(codes.InvalidArgument, "the stream carries more than total_size (%d) bytes", total)
		}
		if err := up.write(frame.GetKey().GetValue()); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return reply(endpointpb.ReturnCode_InsufficientDiskSpace, "the disk filled up while the key was written")
			}
			if ce := up.checkErr(); ce != nil {
				return reply(endpointpb.ReturnCode_FailedToUnpackKey, notEvalKey(ki, ce))
			}
			return reply(endpointpb.ReturnCode_Fail, "writing the key failed")
		}
		s.stats.bytes.Add(int64(len(frame.GetKey().GetValue())))
		frame, err = stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.logf("register_key %q: stream broken after %d of %d bytes: %v; nothing kept", keyID, up.n, total, status.Convert(err).Message())
			return err
		}
	}
	if up.n < total {
		return refuse(codes.InvalidArgument, "the stream ended after %d of the %d bytes of total_size (truncated)", up.n, total)
	}
	sum, err := up.finish()
	switch {
	case sum != "" && sum != ki.GetSha256Sum():
		return reply(endpointpb.ReturnCode_FailedToUnpackKey, fmt.Sprintf("the bytes received have SHA-256 %s, not the sha256sum %s announced", sum, ki.GetSha256Sum()))
	case errors.Is(err, core.ErrCorrupt):
		return reply(endpointpb.ReturnCode_FailedToUnpackKey, notEvalKey(ki, err))
	case errors.Is(err, syscall.ENOSPC):
		return reply(endpointpb.ReturnCode_InsufficientDiskSpace, "the disk filled up while the key was written")
	case err != nil:
		return reply(endpointpb.ReturnCode_Fail, "storing the key failed")
	}
	if err := up.commit(s.keyDir(keyID)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return refuse(codes.AlreadyExists, "key %q appeared while it was being registered", keyID)
		}
		return reply(endpointpb.ReturnCode_Fail, "storing the key failed")
	}
	s.stats.registered.Add(1)
	s.logf("register_key %q: registered (%d bytes)", keyID, total)
	return stream.SendAndClose(&endpointpb.RegisterKeyResponse{Header: header(endpointpb.MessageType_RegisterKey, reqID, endpointpb.ReturnCode_Success, "")})
}

// checkFrame checks that a frame agrees with the first one.
func checkFrame(first, f *endpointpb.RegisterKeyRequest) error {
	switch {
	case f.GetHeader().GetType() != endpointpb.MessageType_RegisterKey:
		return fmt.Errorf("a frame's header.type is %d, not RegisterKey (%d)", f.GetHeader().GetType(), endpointpb.MessageType_RegisterKey)
	case !proto.Equal(f.GetKeyInfo(), first.GetKeyInfo()):
		return fmt.Errorf("a frame's key_info differs from the first frame's")
	case f.GetTotalSize() != first.GetTotalSize():
		return fmt.Errorf("a frame's total_size %d differs from the first frame's %d", f.GetTotalSize(), first.GetTotalSize())
	case f.GetKey().GetSize() != uint64(len(f.GetKey().GetValue())):
		return fmt.Errorf("a frame's key.size is %d but it carries %d bytes", f.GetKey().GetSize(), len(f.GetKey().GetValue()))
	}
	return nil
}

// notEvalKey says why the bytes were refused (core's message, without its origin).
func notEvalKey(ki *endpointpb.KeyInfo, err error) string {
	msg := err.Error()
	var ce *core.Error
	if errors.As(err, &ce) {
		msg = ce.Msg
	}
	return fmt.Sprintf("the bytes are not an EvalKey of %s/%s: %s", cut(ki.GetPreset()), cut(ki.GetEvalMode()), msg)
}

func isSHA256Hex(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func cut(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "..."
	}
	return s
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
