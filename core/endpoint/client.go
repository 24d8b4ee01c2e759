// Package endpoint is a client of enVector's key endpoint (gRPC service
// endpoint.v2.EndpointService): it registers a key set's EvalKey with an enVector server
// and lists, describes, loads, unloads and deletes registered keys.
//
// The EvalKey goes as its raw bytes (the envelope's key_data, unwrapped), in frames of
// 1 MiB that each repeat the request header and the key's description (key id, type
// "EvalKey", preset and eval mode as enVector names them, hex SHA-256 of the whole key),
// with the frame's length and the whole key's. The bearer token goes in the gRPC metadata
// (authorization: Bearer <token>) and is never logged or shown in an error. Every call
// has a timeout (Options). Failures are *Error values carrying the server's return code
// or gRPC status and message, classified by core kind: errors.Is(err, core.ErrAuth).
//
// The wire types are generated from proto/endpoint/v2/endpoint.proto into
// internal/endpointpb (make proto); they are not part of this package's API.
package endpoint

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/endpointpb"
)

// ChunkSize is the most key bytes one register_key frame carries (1 MiB, as enVector's
// SDK sends).
const ChunkSize = 1 << 20

// Default timeouts.
const (
	DefaultTimeout         = 30 * time.Second // each unary call
	DefaultRegisterTimeout = 30 * time.Minute // one register_key upload (an MM32 EvalKey is about 0.9 GB)
)

// Options configure a Client. The zero value is plaintext without a token.
type Options struct {
	// Token is the bearer token sent with every call ("" sends none). It is never
	// logged, shown in an error or printed: Options' String hides it.
	Token string
	// TLS connects with TLS (server certificate checked against the system roots or
	// TLSConfig). An address of the form grpcs://host:port also means TLS.
	TLS bool
	// TLSConfig, if set, is the TLS configuration (e.g. RootCAs for a private CA); it
	// implies TLS.
	TLSConfig *tls.Config
	// Timeout bounds each unary call (list, info, load, unload, delete); zero means
	// DefaultTimeout. A context deadline that comes first wins.
	Timeout time.Duration
	// RegisterTimeout bounds one register_key upload; zero means DefaultRegisterTimeout.
	RegisterTimeout time.Duration
	// Warn, if set, receives the message of a Warning return code (a success with a
	// message, e.g. "already loaded").
	Warn func(msg string)
}

// String describes the options without the token.
func (o Options) String() string {
	tok := "none"
	if o.Token != "" {
		tok = "set (hidden)"
	}
	return fmt.Sprintf("endpoint.Options{TLS: %v, Token: %s, Timeout: %v, RegisterTimeout: %v}", o.TLS || o.TLSConfig != nil, tok, o.Timeout, o.RegisterTimeout)
}

// GoString is String: %#v hides the token too.
func (o Options) GoString() string { return o.String() }

// Client talks to one server. It is safe for concurrent use; Close releases it.
type Client struct {
	address string // host:port
	tls     bool
	opts    Options
	conn    *grpc.ClientConn
	rpc     endpointpb.EndpointServiceClient
}

// Dial prepares a client of the key endpoint at address: host:port (TLS when
// Options.TLS or TLSConfig is set, plaintext otherwise), grpc://host:port (plaintext) or
// grpcs://host:port (TLS). No connection is made until the first call.
func Dial(address string, opts Options) (*Client, error) {
	const op = "endpoint.Dial"
	useTLS := opts.TLS || opts.TLSConfig != nil
	hostport := address
	if scheme, rest, ok := strings.Cut(address, "://"); ok {
		switch strings.ToLower(scheme) {
		case "grpcs":
			useTLS = true
		case "grpc":
			if useTLS {
				return nil, core.Errorf(core.ErrInvalidArgument, op, "address %q says grpc:// (plaintext) but TLS was asked for; use grpcs:// or host:port", address)
			}
		default:
			return nil, core.Errorf(core.ErrInvalidArgument, op, "address %q has scheme %q; accepted: host:port, grpc://host:port (plaintext), grpcs://host:port (TLS)", address, scheme)
		}
		hostport = strings.TrimSuffix(rest, "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "address %q is not host:port (e.g. localhost:50050, grpcs://keys.example.com:443)", address)
	}
	if opts.Token != "" {
		if err := CheckToken(opts.Token); err != nil {
			return nil, err
		}
	}
	var creds credentials.TransportCredentials
	if useTLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if opts.TLSConfig != nil {
			cfg = opts.TLSConfig.Clone()
		}
		creds = credentials.NewTLS(cfg)
	} else {
		creds = insecure.NewCredentials()
	}
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if opts.Token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer{token: opts.Token, secure: useTLS}))
	}
	conn, err := grpc.NewClient("passthrough:///"+hostport, dialOpts...)
	if err != nil {
		return nil, core.Wrap(core.ErrInvalidArgument, op, err, "address %q", address)
	}
	return &Client{address: hostport, tls: useTLS, opts: opts, conn: conn, rpc: endpointpb.NewEndpointServiceClient(conn)}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Address returns the server's host:port.
func (c *Client) Address() string { return c.address }

// String names the server and the transport, never the token.
func (c *Client) String() string {
	scheme := "grpc"
	if c.tls {
		scheme = "grpcs"
	}
	return scheme + "://" + c.address
}

// bearer sends the token as gRPC metadata "authorization: Bearer <token>".
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false on a plaintext connection, so that a token can be
// sent to a server on the loopback or inside a private network.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

func (b bearer) String() string { return "bearer token (hidden)" }

// KeyInfo describes a registered key, as get_key_info returns it.
type KeyInfo struct {
	KeyID    string
	Type     string // "EvalKey"
	Preset   string // enVector's name: IP0, IP1, IP2, IP3, QF0
	EvalMode string // enVector's name: RMP, FLAT, SINGLE, MM, MM32, MMS, MMS32
	SHA256   string // hex SHA-256 of the raw key, as the server reports it
	Loaded   bool
}

// Upload is one raw key to register.
type Upload struct {
	KeyID    string
	Type     string // "" means "EvalKey"
	Preset   string // enVector's name, e.g. "IP3"
	EvalMode string // enVector's name, e.g. "MM32"
	Size     int64  // bytes Data holds
	// SHA256 is the hex SHA-256 of the Size bytes. When empty, Data must be an
	// io.ReadSeeker: it is read once to hash it, then from where it was to send it.
	SHA256 string
	// Data gives exactly Size bytes. Register checks their length and hash before the
	// last frame goes out, and abandons the stream when either is wrong.
	Data io.Reader
}

// Register uploads u in frames of ChunkSize bytes. When the data turn out shorter or
// longer than u.Size, or their hash is not u.SHA256, the stream is abandoned before its
// last frame and nothing is registered.
func (c *Client) Register(ctx context.Context, u Upload) error {
	const op = "register_key"
	if err := core.CheckKeyID(u.KeyID); err != nil {
		return c.localError(op, u.KeyID, core.ErrInvalidArgument, nil, "%s", err.(*core.Error).Msg)
	}
	if u.Type == "" {
		u.Type = "EvalKey"
	}
	switch {
	case u.Preset == "" || u.EvalMode == "":
		return c.localError(op, u.KeyID, core.ErrInvalidArgument, nil, "the preset and eval mode are required (enVector's names, e.g. IP3 and MM32)")
	case u.Size <= 0:
		return c.localError(op, u.KeyID, core.ErrInvalidArgument, nil, "size %d; the key must have at least one byte", u.Size)
	case u.Data == nil:
		return c.localError(op, u.KeyID, core.ErrInvalidArgument, nil, "no key data")
	}
	if u.SHA256 == "" {
		sum, err := hashSeeker(u.Data, u.Size)
		if err != nil {
			return c.localError(op, u.KeyID, core.KindOf(err), err, "hashing the key data: %v", err)
		}
		u.SHA256 = sum
	}
	want := strings.ToLower(u.SHA256)
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return c.localError(op, u.KeyID, core.ErrInvalidArgument, nil, "SHA-256 %q is not 64 hex characters", u.SHA256)
	}

	timeout := c.opts.RegisterTimeout
	if timeout <= 0 {
		timeout = DefaultRegisterTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hdr := c.header(endpointpb.MessageType_RegisterKey)
	stream, err := c.rpc.RegisterKey(ctx)
	if err != nil {
		return c.statusError(ctx, op, u.KeyID, hdr.Id, err)
	}
	info := &endpointpb.KeyInfo{KeyId: u.KeyID, Type: u.Type, Preset: u.Preset, EvalMode: u.EvalMode, Sha256Sum: want}
	buf := make([]byte, ChunkSize)
	h := sha256.New()
	var sent int64
	for sent < u.Size {
		n := min(int64(ChunkSize), u.Size-sent)
		chunk := buf[:n]
		if err := c.readChunk(u.Data, chunk, sent, u.Size); err != nil {
			cancel() // abandon the stream: the server keeps nothing
			err.Op, err.KeyID = op, u.KeyID
			return err
		}
		h.Write(chunk)
		if sent+n == u.Size {
			if err := c.checkEnd(u.Data, u.Size, hex.EncodeToString(h.Sum(nil)), want); err != nil {
				cancel()
				err.Op, err.KeyID = op, u.KeyID
				return err
			}
		}
		req := &endpointpb.RegisterKeyRequest{Header: hdr, KeyInfo: info, Key: &endpointpb.Key{Size: uint64(n), Value: chunk}, TotalSize: uint64(u.Size)}
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) { // the server has answered: CloseAndRecv says what
				break
			}
			return c.statusError(ctx, op, u.KeyID, hdr.Id, err)
		}
		sent += n
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return c.statusError(ctx, op, u.KeyID, hdr.Id, err)
	}
	return c.headerError(op, u.KeyID, hdr.Id, resp.GetHeader())
}

// readChunk fills chunk from r.
func (c *Client) readChunk(r io.Reader, chunk []byte, sent, size int64) *Error {
	n, err := io.ReadFull(r, chunk)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return c.localError("", "", core.ErrInvalidArgument, nil, "the key data ended after %d of the %d bytes announced; nothing was registered", sent+int64(n), size)
	default:
		return c.localError("", "", readKind(err), err, "reading the key data: %v; nothing was registered", err)
	}
}

// checkEnd checks, before the last frame goes out, that the data end there and hash to
// what was announced.
func (c *Client) checkEnd(r io.Reader, size int64, got, want string) *Error {
	var one [1]byte
	switch _, err := io.ReadFull(r, one[:]); {
	case err == nil:
		return c.localError("", "", core.ErrInvalidArgument, nil, "the key data hold more than the %d bytes announced; nothing was registered", size)
	case !errors.Is(err, io.EOF):
		return c.localError("", "", readKind(err), err, "reading the key data: %v; nothing was registered", err)
	}
	if got != want {
		return c.localError("", "", core.ErrInvalidArgument, nil, "the key data have SHA-256 %s, not the %s announced; nothing was registered", got, want)
	}
	return nil
}

func readKind(err error) core.Kind {
	var ce *core.Error
	if errors.As(err, &ce) {
		return ce.Kind
	}
	return core.ErrIO
}

// hashSeeker hashes the next size bytes of r, an io.ReadSeeker, and seeks back.
func hashSeeker(r io.Reader, size int64) (string, error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return "", core.Errorf(core.ErrInvalidArgument, "endpoint", "without Upload.SHA256 the data must be an io.ReadSeeker (read once to hash)")
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", core.Wrap(core.ErrIO, "endpoint", err, "seeking the key data")
	}
	h := sha256.New()
	if _, err := io.CopyN(h, rs, size); err != nil {
		return "", core.Wrap(core.ErrInvalidArgument, "endpoint", err, "the key data are shorter than %d bytes", size)
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return "", core.Wrap(core.ErrIO, "endpoint", err, "seeking the key data")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RegisterBytes registers key, the raw bytes of an EvalKey.
func (c *Client) RegisterBytes(ctx context.Context, keyID, preset, evalMode string, key []byte) error {
	sum := sha256.Sum256(key)
	return c.Register(ctx, Upload{KeyID: keyID, Preset: preset, EvalMode: evalMode, Size: int64(len(key)), SHA256: hex.EncodeToString(sum[:]), Data: bytes.NewReader(key)})
}

// List returns the ids of the registered keys.
func (c *Client) List(ctx context.Context) ([]string, error) {
	const op = "get_key_list"
	ctx, cancel := c.unaryContext(ctx)
	defer cancel()
	hdr := c.header(endpointpb.MessageType_GetKeyList)
	resp, err := c.rpc.GetKeyList(ctx, &endpointpb.GetKeyListRequest{Header: hdr})
	if err != nil {
		return nil, c.statusError(ctx, op, "", hdr.Id, err)
	}
	if err := c.headerError(op, "", hdr.Id, resp.GetHeader()); err != nil {
		return nil, err
	}
	return resp.GetKeyId(), nil
}

// Info describes a registered key.
func (c *Client) Info(ctx context.Context, keyID string) (KeyInfo, error) {
	const op = "get_key_info"
	ctx, cancel := c.unaryContext(ctx)
	defer cancel()
	hdr := c.header(endpointpb.MessageType_GetKeyInfo)
	resp, err := c.rpc.GetKeyInfo(ctx, &endpointpb.GetKeyInfoRequest{Header: hdr, KeyId: keyID})
	if err != nil {
		return KeyInfo{}, c.statusError(ctx, op, keyID, hdr.Id, err)
	}
	if err := c.headerError(op, keyID, hdr.Id, resp.GetHeader()); err != nil {
		return KeyInfo{}, err
	}
	ki := resp.GetKeyInfo()
	if ki == nil {
		return KeyInfo{}, &Error{Op: op, KeyID: keyID, Address: c.address, RequestID: hdr.Id, Kind: core.ErrRemote, Message: "the response carries no key_info"}
	}
	id := ki.GetKeyId()
	if id == "" {
		id = keyID
	}
	return KeyInfo{KeyID: id, Type: ki.GetType(), Preset: ki.GetPreset(), EvalMode: ki.GetEvalMode(),
		SHA256: strings.ToLower(ki.GetSha256Sum()), Loaded: ki.GetIsLoaded()}, nil
}

// Load loads a registered key into the server's memory, for its indexes to use.
func (c *Client) Load(ctx context.Context, keyID string) error {
	return c.keyCall(ctx, "load_key", endpointpb.MessageType_LoadKey, keyID, func(ctx context.Context, h *endpointpb.RequestHeader) (*endpointpb.ResponseHeader, error) {
		resp, err := c.rpc.LoadKey(ctx, &endpointpb.LoadKeyRequest{Header: h, KeyId: keyID})
		return resp.GetHeader(), err
	})
}

// Unload unloads a key from the server's memory; it stays registered.
func (c *Client) Unload(ctx context.Context, keyID string) error {
	return c.keyCall(ctx, "unload_key", endpointpb.MessageType_UnloadKey, keyID, func(ctx context.Context, h *endpointpb.RequestHeader) (*endpointpb.ResponseHeader, error) {
		resp, err := c.rpc.UnloadKey(ctx, &endpointpb.UnloadKeyRequest{Header: h, KeyId: keyID})
		return resp.GetHeader(), err
	})
}

// Delete removes a registered key from the server.
func (c *Client) Delete(ctx context.Context, keyID string) error {
	return c.keyCall(ctx, "delete_key", endpointpb.MessageType_DeleteKey, keyID, func(ctx context.Context, h *endpointpb.RequestHeader) (*endpointpb.ResponseHeader, error) {
		resp, err := c.rpc.DeleteKey(ctx, &endpointpb.DeleteKeyRequest{Header: h, KeyId: keyID})
		return resp.GetHeader(), err
	})
}

func (c *Client) keyCall(ctx context.Context, op string, t endpointpb.MessageType, keyID string, call func(context.Context, *endpointpb.RequestHeader) (*endpointpb.ResponseHeader, error)) error {
	ctx, cancel := c.unaryContext(ctx)
	defer cancel()
	hdr := c.header(t)
	rh, err := call(ctx, hdr)
	if err != nil {
		return c.statusError(ctx, op, keyID, hdr.Id, err)
	}
	return c.headerError(op, keyID, hdr.Id, rh)
}

func (c *Client) unaryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	t := c.opts.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

// header makes a request header: the message type, a random request id (20 hex
// characters, as enVector's SDK makes them) and the time in Unix milliseconds.
func (c *Client) header(t endpointpb.MessageType) *endpointpb.RequestHeader {
	var id [10]byte
	rand.Read(id[:])
	return &endpointpb.RequestHeader{Type: t, Id: hex.EncodeToString(id[:]), Timestamp: uint64(time.Now().UnixMilli())}
}

// CheckToken accepts a bearer token of 1 to 4096 visible ASCII characters (no spaces:
// the characters an HTTP header value and RFC 6750's b64token allow). The error never
// shows the token.
func CheckToken(token string) error {
	if token == "" || len(token) > 4096 {
		return core.Errorf(core.ErrInvalidArgument, "endpoint token", "the bearer token is %d bytes; accepted: 1 to 4096 visible ASCII characters", len(token))
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return core.Errorf(core.ErrInvalidArgument, "endpoint token", "the bearer token holds a character that is not visible ASCII (byte %d of %d); accepted: visible ASCII, no spaces", i+1, len(token))
		}
	}
	return nil
}

// ReadToken reads a bearer token: the text of r (at most 4096 characters) without the
// surrounding white space (a trailing newline, say). The error never shows the token.
func ReadToken(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 4096+64))
	if err != nil {
		return "", core.Wrap(core.ErrIO, "endpoint token", err, "reading the bearer token")
	}
	if len(b) > 4096+63 {
		return "", core.Errorf(core.ErrInvalidArgument, "endpoint token", "the bearer token is longer than 4096 characters")
	}
	tok := strings.TrimSpace(string(b))
	clear(b)
	if err := CheckToken(tok); err != nil {
		return "", err
	}
	return tok, nil
}

// TrustConfig returns the TLS configuration (TLS 1.2 or later) that trusts the
// certificates in pem (a CA file's contents) instead of the system's, for
// Options.TLSConfig; ok is false when pem holds no certificate.
func TrustConfig(pem []byte) (cfg *tls.Config, ok bool) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, false
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, true
}
