package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
)

// pointAWSAt points this test's AWS environment at endpoint (AWS_ENDPOINT_URL only),
// with dummy credentials and nothing from the user's own AWS configuration.
func pointAWSAt(t *testing.T, endpoint string) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_ENDPOINT_URL": endpoint, "AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "",
	} {
		t.Setenv(k, v)
	}
}

// silentEndpoint is a loopback TCP server that never answers. With read it reads each
// HTTP request whole and records it; without, it accepts connections and reads nothing.
type silentEndpoint struct {
	ln   net.Listener
	read bool
	wg   sync.WaitGroup

	mu       sync.Mutex
	conns    []net.Conn
	requests []string // method, URL, X-Amz-Target and a digest of the body of each
}

func startSilent(t *testing.T, read bool) *silentEndpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &silentEndpoint{ln: ln, read: read}
	s.wg.Go(s.accept)
	t.Cleanup(s.close)
	return s
}

func (s *silentEndpoint) url() string { return "http://" + s.ln.Addr().String() }

func (s *silentEndpoint) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		if s.read {
			s.wg.Go(func() {
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					h := sha256.New()
					io.Copy(h, req.Body)
					s.mu.Lock()
					s.requests = append(s.requests, fmt.Sprintf("%s %s %s body %x", req.Method, req.URL, req.Header.Get("X-Amz-Target"), h.Sum(nil)[:8]))
					s.mu.Unlock()
				}
			})
		}
	}
}

// take returns the requests read since the last call, and forgets them.
func (s *silentEndpoint) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func (s *silentEndpoint) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// An endpoint that accepts connections and never answers (reading the requests or
// not) fails each call of the store within about its timeout, once per request (a
// timed-out request is not retried), with an error that names the operation, the
// object or secret, the endpoint and the timeout, and says the timeout is
// configurable. Without the timeout these calls waited forever.
func TestAWSTimeoutSilentEndpoint(t *testing.T) {
	const timeout = time.Second
	ks := newKeySet(t, "k")
	for _, read := range []bool{false, true} {
		t.Run(fmt.Sprintf("reads requests %v", read), func(t *testing.T) {
			srv := startSilent(t, read)
			pointAWSAt(t, srv.url())
			ctx := context.Background()
			st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: "silent-bucket", Prefix: DefaultPrefix, Timeout: timeout})
			require.NoError(t, err)
			sec, meta := st.SecretName("k", core.SecKey), st.SecretName("k", core.MetadataKey)
			enc, eval := "s3://silent-bucket/"+st.ObjectKey("k", core.EncKey), "s3://silent-bucket/"+st.ObjectKey("k", core.EvalKey)
			for _, c := range []struct {
				op    string
				call  func() error
				names []string // the message names one of these
				limit time.Duration
			}{
				// CreateSecret of SecKey times out; the rollback's DescribeSecret (did
				// it create the secret?) times out too: two requests in a row.
				{"store.aws.Save", func() error { return st.Save(ctx, ks) }, []string{"secret " + sec}, 4 * timeout},
				{"store.aws.Load", func() error { _, err := st.Load(ctx, "k"); return err }, []string{sec, meta, enc, eval}, 3 * timeout},
				{"store.aws.List", func() error { _, err := st.List(ctx); return err }, []string{"s3://silent-bucket/envector/keys/"}, 3 * timeout},
				{"store.aws.Delete", func() error { return st.Delete(ctx, "k", DeleteOptions{}) }, []string{"s3://silent-bucket/envector/keys/k/versions/"}, 3 * timeout},
			} {
				start := time.Now()
				err := c.call()
				took := time.Since(start)
				t.Logf("%s failed in %s: %v", c.op, took.Round(time.Millisecond), err)
				require.Error(t, err, c.op)
				require.ErrorIs(t, err, core.ErrRemote, c.op)
				msg := err.Error()
				require.True(t, strings.HasPrefix(msg, c.op+": "), "%s: the message starts with the operation: %s", c.op, msg)
				named := false
				for _, n := range c.names {
					named = named || strings.Contains(msg, n)
				}
				require.True(t, named, "%s: the message names the object or secret (one of %v): %s", c.op, c.names, msg)
				require.Contains(t, msg, "nothing came back from "+srv.url()+" within 1s")
				require.Contains(t, msg, "the AWS store's timeout, configurable: AWSConfig.Timeout in Go, aws_timeout_seconds in C and Python, awsTimeoutSeconds in Node, --timeout in the CLI")
				require.NotContains(t, msg, "operation error", "the SDK's error chain is not repeated")
				require.GreaterOrEqual(t, took, timeout, "%s failed before its timeout", c.op)
				require.Less(t, took, c.limit, "%s against a silent endpoint", c.op)
				if read {
					reqs := srv.take()
					require.NotEmpty(t, reqs, c.op)
					seen := map[string]bool{}
					for _, r := range reqs {
						require.False(t, seen[r], "%s: request %s was sent again after it timed out: %v", c.op, r, reqs)
						seen[r] = true
					}
				}
			}
		})
	}
}

// The timeout is not a bound on a whole transfer: a save and a load of a key set of
// several MB through a proxy that passes the bytes in bursts, with pauses shorter than
// the timeout, take several times the timeout and succeed; the EvalKey goes up as a
// multipart upload. The same proxy with pauses longer than the timeout fails the save,
// saying the request made no progress.
func TestAWSTimeoutSlowTransferNotCut(t *testing.T) {
	e := newAWSEnv(t)
	const timeout = time.Second
	p := startTrickle(t, needMoto(t), 64<<10, 50*time.Millisecond)
	pointAWSAt(t, p.url())
	ctx := context.Background()
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: DefaultPrefix, Timeout: timeout})
	require.NoError(t, err)
	st.multipartThreshold = 1 << 20 // the 4.8 MB EvalKey goes up as a multipart upload
	// The client's socket gets a small send buffer: with loopback's (autotuned up to 4
	// MiB) the transport would hand the whole part to the kernel at once and then see
	// nothing move while the proxy trickled it out, which no real link of that speed
	// does. The timeout machinery is the store's own.
	so := st.s3.(*s3.Client).Options()
	tc := so.HTTPClient.(*timeoutClient)
	so.HTTPClient = &timeoutClient{timeout: tc.timeout, expectWait: tc.expectWait,
		inner: awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) { d.Control = smallBuffers(syscall.SO_SNDBUF, 64<<10) })}
	st.s3 = s3.New(so)
	m := &multipartS3{S3API: st.s3}
	st.s3 = m
	ks := newKeySet(t, "slow")
	size, err := ks.BlobSize(core.EvalKey)
	require.NoError(t, err)
	require.Greater(t, size, int64(4<<20))

	start := time.Now()
	require.NoError(t, st.Save(ctx, ks))
	took := time.Since(start)
	t.Logf("saved %d bytes in %s through the slow proxy", size, took.Round(time.Millisecond))
	require.Greater(t, took, 3*timeout, "the transfer must outlast the timeout for this test to mean anything")
	require.Equal(t, int32(1), m.parts.Load(), "EvalKey went up as a multipart upload")

	start = time.Now()
	got, err := st.Load(ctx, "slow")
	require.NoError(t, err)
	took = time.Since(start)
	t.Logf("loaded in %s through the slow proxy", took.Round(time.Millisecond))
	require.Greater(t, took, 3*timeout)
	requireSameBlobs(t, ks, got)

	// Pauses longer than the timeout: the save fails (and, the proxy stalling its
	// rollback too, says what it may have left, removed here).
	p.setPause(2 * timeout)
	err = st.Save(ctx, newKeySet(t, "stalled"))
	t.Log(err)
	require.ErrorIs(t, err, core.ErrRemote)
	require.Contains(t, err.Error(), "within 1s (the AWS store's timeout")
	p.setPause(0)
	if err := e.st.Delete(ctx, "stalled", DeleteOptions{Immediate: true}); err != nil {
		require.ErrorIs(t, err, core.ErrNotFound)
	}
	e.requireNothingStored(t, "stalled")
}

// trickle is a TCP proxy to a server that passes the bytes of each direction in
// chunks of at most chunk bytes, pausing after each. Its sockets' receive buffers are
// chunk bytes, so what it has not passed on stays with the sender, as on a slow link
// (with loopback's buffers of megabytes, a client would hand over a whole request at
// once and then wait, with nothing moving, while the proxy drained its buffer).
type trickle struct {
	ln     net.Listener
	dialer net.Dialer
	target string
	chunk  int
	wg     sync.WaitGroup

	mu    sync.Mutex
	pause time.Duration
	conns []net.Conn
}

func startTrickle(t *testing.T, upstream string, chunk int, pause time.Duration) *trickle {
	t.Helper()
	small := smallBuffers(syscall.SO_RCVBUF, chunk)
	ln, err := (&net.ListenConfig{Control: small}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &trickle{dialer: net.Dialer{Control: small}, ln: ln, target: strings.TrimPrefix(upstream, "http://"), chunk: chunk, pause: pause}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *trickle) url() string { return "http://" + p.ln.Addr().String() }

func (p *trickle) setPause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pause = d
}

func (p *trickle) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := p.dialer.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Go(func() { p.copy(up, c) })
		p.wg.Go(func() { p.copy(c, up) })
	}
}

// copy passes src to dst in chunks, pausing after each; at the end it closes both.
func (p *trickle) copy(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, p.chunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			p.mu.Lock()
			pause := p.pause
			p.mu.Unlock()
			time.Sleep(pause)
		}
		if err != nil {
			return
		}
	}
}

// smallBuffers is a socket Control function that sets the socket option opt
// (SO_RCVBUF, SO_SNDBUF) to size bytes.
func smallBuffers(opt, size int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, size) }); err != nil {
			return err
		}
		return serr
	}
}

func (p *trickle) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// timeoutClient on its own, against an HTTP server whose answers come slowly: a body
// that keeps coming is read whole however long it takes; one that stops fails the read
// within about the timeout, saying the answer stopped; a caller that waits between
// reads longer than the timeout is not cut (only a read that waits counts).
func TestAWSTimeoutClientBodies(t *testing.T) {
	const timeout = 500 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		switch r.URL.Path {
		case "/slow": // 8 bursts, 200 ms apart: 1.6 s in all
			for range 8 {
				w.Write([]byte(strings.Repeat("x", 1000)))
				fl.Flush()
				time.Sleep(200 * time.Millisecond)
			}
		case "/stalls": // a burst, then nothing for 3 s
			w.Write([]byte("first part"))
			fl.Flush()
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		case "/quick":
			w.Write([]byte("all of it"))
		}
	}))
	defer srv.Close()
	c := &timeoutClient{inner: srv.Client(), timeout: timeout}
	get := func(path string) *http.Response {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		return resp
	}

	resp := get("/slow")
	start := time.Now()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "a body that keeps coming is not cut")
	require.Len(t, body, 8000)
	require.Greater(t, time.Since(start), 2*timeout)
	resp.Body.Close()

	resp = get("/stalls")
	start = time.Now()
	_, err = io.ReadAll(resp.Body)
	took := time.Since(start)
	resp.Body.Close()
	var te *timeoutError
	require.ErrorAs(t, err, &te)
	require.Contains(t, err.Error(), "the answer from "+srv.URL+" stopped: nothing more came within 500ms")
	require.Less(t, took, 3*timeout)

	resp = get("/quick")
	time.Sleep(3 * timeout) // the caller is busy elsewhere
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err, "time between reads is the caller's, not the endpoint's")
	require.Equal(t, "all of it", string(body))
	resp.Body.Close()
}

// A request that times out is not retried by the SDK's retryer; other failures still
// are.
func TestAWSTimeoutRetryer(t *testing.T) {
	_, smc, err := LoadAWSClients(context.Background(), testRegion, WithAWSTimeout(time.Second))
	require.NoError(t, err)
	r := smc.Options().Retryer
	require.False(t, r.IsErrorRetryable(fmt.Errorf("send: %w", &timeoutError{d: time.Second, endpoint: "http://x"})))
	require.True(t, r.IsErrorRetryable(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection reset")}))
}

// A negative timeout is refused, naming what is accepted; 0 is the default.
func TestAWSTimeoutConfig(t *testing.T) {
	ctx := context.Background()
	_, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: DefaultBucket, Timeout: -time.Second})
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.EqualError(t, err, "store.aws: AWS request timeout -1s is not accepted; accepted: a positive duration, the longest one AWS request may go without progress (0 = the default, 30s)")
	_, _, err = LoadAWSClients(ctx, testRegion, WithAWSTimeout(-1))
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.Equal(t, 30*time.Second, DefaultAWSTimeout)
}

// An endpoint that refuses connections, or whose host does not resolve, fails with one
// line per failure (not the SDK's nested chain) that says so and names the variable
// that chose the endpoint, and its value.
func TestAWSUnreachableEndpoint(t *testing.T) {
	ctx := context.Background()
	closed := func() string { // a loopback port nobody listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	list := func() error {
		st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: "b-unreachable", Prefix: DefaultPrefix, Timeout: 5 * time.Second})
		require.NoError(t, err)
		_, err = st.List(ctx)
		require.ErrorIs(t, err, core.ErrRemote)
		var oe *smithy.OperationError
		require.ErrorAs(t, err, &oe, "the SDK's error is still in the chain")
		msg := err.Error()
		t.Log(msg)
		for _, chain := range []string{"operation error", "https response error", "RequestID:", "exceeded maximum number of attempts", "dial tcp"} {
			require.NotContains(t, msg, chain)
		}
		return err
	}

	addr := closed()
	pointAWSAt(t, "http://"+addr)
	err := list()
	require.Equal(t, fmt.Sprintf(`store.aws.List: S3 ListObjectsV2 s3://b-unreachable/envector/keys/ and Secrets Manager ListSecrets secrets named envector/keys/* failed (no AWS error code: the request did not complete): connection refused by %s (3 attempts); check AWS_ENDPOINT_URL (it is "http://%s"), which chose this endpoint`, addr, addr), err.Error())

	// A service's own variable is named for that service's calls.
	s3Addr, smAddr := closed(), closed()
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://"+s3Addr)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://user:pa55word@"+smAddr)
	err = list()
	require.Contains(t, err.Error(), fmt.Sprintf(`S3 ListObjectsV2 s3://b-unreachable/envector/keys/ failed (no AWS error code: the request did not complete): connection refused by %s (3 attempts); check AWS_ENDPOINT_URL_S3 (it is "http://%s")`, s3Addr, s3Addr))
	require.Contains(t, err.Error(), fmt.Sprintf(`connection refused by %s (3 attempts); check AWS_ENDPOINT_URL_SECRETS_MANAGER (it is "http://%s")`, smAddr, smAddr))
	require.NotContains(t, err.Error(), "pa55word", "a password in an endpoint URL is not shown")

	// A host that does not resolve.
	pointAWSAt(t, "http://no-such-host.invalid:4566")
	err = list()
	require.Contains(t, err.Error(), `cannot resolve the host no-such-host.invalid`)
	require.Contains(t, err.Error(), `check AWS_ENDPOINT_URL (it is "http://no-such-host.invalid:4566")`)

	// No variable set: the network and the region.
	pointAWSAt(t, "")
	require.Equal(t, "check the network connection to S3 https://s3.us-east-1.amazonaws.com and the region (us-east-1); no AWS_ENDPOINT_URL variable is set (an endpoint_url in the AWS profile would apply too)",
		endpointHint("S3", "https://s3.us-east-1.amazonaws.com", "us-east-1"))
}

// An error AWS answered says once what AWS said, and its request id.
func TestAWSErrorSaidOnce(t *testing.T) {
	e := newAWSEnv(t)
	ctx := context.Background()
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket + "-missing", Prefix: DefaultPrefix})
	require.NoError(t, err)
	_, err = st.List(ctx)
	require.ErrorIs(t, err, core.ErrNotFound)
	msg := err.Error()
	t.Log(msg)
	require.True(t, strings.HasPrefix(msg, fmt.Sprintf(`store.aws.List: S3 ListObjectsV2 s3://%s-missing/envector/keys/: bucket "%s-missing" does not exist in region us-east-1 (NoSuchBucket); the store never creates buckets: AWS said "The specified bucket does not exist"`, e.bucket, e.bucket)), msg)
	require.Equal(t, 1, strings.Count(msg, "request id "), "the request id, once")
	require.NotContains(t, msg, "operation error")
	require.NotContains(t, msg, "RequestID:")
}
