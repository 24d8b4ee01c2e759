package faultproxy

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// upstream is a server that echoes what it got: method, path, query, Host and body.
type upstream struct {
	*httptest.Server
	calls atomic.Int32
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("close") != "" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("X-Host", r.Host)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), body)
	}))
	t.Cleanup(u.Close)
	return u
}

func start(t *testing.T, u *upstream) *Proxy {
	p, err := Start(u.URL)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// conn is one raw client connection to the proxy, to send requests on one kept-alive
// connection and see exactly what comes back.
type conn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *conn {
	c, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &conn{t: t, c: c, br: bufio.NewReader(c)}
}

// do sends req and reads the answer: its status and body, or the error (the proxy
// closed the connection).
func (c *conn) do(req *http.Request) (int, string, error) {
	require.NoError(c.t, req.Write(c.c))
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, string(body), nil
}

func request(t *testing.T, method, target, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://proxy.test"+target, r)
	require.NoError(t, err)
	return req
}

func TestForwardKeepAlive(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	c := dial(t, p)
	status, body, err := c.do(request(t, "PUT", "/bucket/a%2Fb.json?x-id=PutObject", "hello"))
	require.NoError(t, err)
	require.Equal(t, 200, status)
	require.Equal(t, "PUT /bucket/a%2Fb.json?x-id=PutObject hello", body)
	// A chunked body, and a request that expects 100 Continue.
	req := request(t, "POST", "/bucket/k?uploads", "")
	req.Body = io.NopCloser(strings.NewReader("chunked body"))
	req.ContentLength = -1
	status, body, err = c.do(req)
	require.NoError(t, err)
	require.Equal(t, "POST /bucket/k?uploads chunked body", body)
	req = request(t, "PUT", "/bucket/e", "expecting")
	req.Header.Set("Expect", "100-continue")
	require.NoError(t, req.Write(c.c))
	resp, err := http.ReadResponse(c.br, req) // 100 Continue, then the answer
	require.NoError(t, err)
	if resp.StatusCode == http.StatusContinue {
		resp, err = http.ReadResponse(c.br, req)
		require.NoError(t, err)
	}
	got, _ := io.ReadAll(resp.Body)
	require.Equal(t, "PUT /bucket/e expecting", string(got))
	// HEAD has no body.
	status, body, err = c.do(request(t, "HEAD", "/bucket/h", ""))
	require.NoError(t, err)
	require.Equal(t, 200, status)
	require.Empty(t, body)

	require.Equal(t, 4, p.Requests())
	log := p.Log()
	require.Len(t, log, 4)
	require.Equal(t, Entry{N: 1, Op: "S3 PutObject /bucket/a/b.json", Upstream: 200, Status: 200}, log[0])
	require.Equal(t, "S3 CreateMultipartUpload /bucket/k", log[1].Op)
	require.Equal(t, "S3 HeadObject /bucket/h", log[3].Op)
	require.Empty(t, p.Faulted())

	// Through an ordinary client too, whose Host the upstream sees unchanged.
	resp, err = http.Post(p.URL()+"/x", "text/plain", strings.NewReader("y"))
	require.NoError(t, err)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "POST /x y", string(got))
	require.Equal(t, strings.TrimPrefix(p.URL(), "http://"), resp.Header.Get("X-Host"))
}

func TestDropResponse(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	p.Inject(Fault{Kind: DropResponse, At: 2})
	c := dial(t, p)
	_, _, err := c.do(request(t, "PUT", "/b/1", "one"))
	require.NoError(t, err)
	start := time.Now()
	_, _, err = c.do(request(t, "PUT", "/b/2", "two"))
	require.Error(t, err, "the answer was dropped")
	require.Less(t, time.Since(start), time.Second, "the client waited for the drop")
	require.Equal(t, int32(2), u.calls.Load(), "the request was carried out")
	// The next request, on a new connection, goes through.
	_, body, err := dial(t, p).do(request(t, "PUT", "/b/3", "three"))
	require.NoError(t, err)
	require.Equal(t, "PUT /b/3 three", body)
	require.Equal(t, []Entry{{N: 2, Op: "S3 PUT /b/2", Fault: DropResponse, Upstream: 200}}, p.Faulted())
	require.Equal(t, "#2 S3 PUT /b/2 [drop-response] upstream 200 -> no answer", p.Faulted()[0].String())
}

func TestDropRequest(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	p.Inject(Fault{Kind: DropRequest, At: 1, Count: 2})
	for range 2 {
		_, _, err := dial(t, p).do(request(t, "PUT", "/b/k", "body"))
		require.Error(t, err)
	}
	require.Equal(t, int32(0), u.calls.Load(), "nothing was forwarded")
	_, _, err := dial(t, p).do(request(t, "PUT", "/b/k", "body"))
	require.NoError(t, err)
	require.Len(t, p.Faulted(), 2)
}

func TestInternalError(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	p.Inject(Fault{Kind: InternalError, At: 1, Count: -1})
	c := dial(t, p)
	// S3: XML, on a connection that stays open.
	status, body, err := c.do(request(t, "PUT", "/b/k", "body"))
	require.NoError(t, err)
	require.Equal(t, 500, status)
	var x struct{ Code, Message, RequestId string }
	require.NoError(t, xml.Unmarshal([]byte(body), &x))
	require.Equal(t, "InternalError", x.Code)
	require.Equal(t, "faultproxy-1", x.RequestId)
	status, body, err = c.do(request(t, "HEAD", "/b/k", ""))
	require.NoError(t, err)
	require.Equal(t, 500, status)
	require.Empty(t, body)
	// Secrets Manager: JSON.
	req := request(t, "POST", "/", `{"Name":"x"}`)
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	status, body, err = c.do(req)
	require.NoError(t, err)
	require.Equal(t, 500, status)
	var j map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &j))
	require.Equal(t, "InternalServiceError", j["__type"])
	require.Equal(t, int32(0), u.calls.Load())
	require.Equal(t, "secretsmanager.CreateSecret", p.Log()[2].Op)

	p.Clear()
	_, body, err = c.do(request(t, "GET", "/b/k", ""))
	require.NoError(t, err)
	require.Equal(t, "GET /b/k ", body)
}

func TestDelayAndMatch(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	// The second PUT is delayed; the GETs between are neither counted nor delayed.
	p.Inject(Fault{Kind: Delay, At: 2, Delay: 300 * time.Millisecond, Match: func(r *http.Request) bool { return r.Method == "PUT" }})
	c := dial(t, p)
	took := func(req *http.Request) time.Duration {
		start := time.Now()
		_, _, err := c.do(req)
		require.NoError(t, err)
		return time.Since(start)
	}
	require.Less(t, took(request(t, "PUT", "/1", "a")), 250*time.Millisecond)
	require.Less(t, took(request(t, "GET", "/2", "")), 250*time.Millisecond)
	require.GreaterOrEqual(t, took(request(t, "PUT", "/3", "b")), 300*time.Millisecond)
	require.Less(t, took(request(t, "PUT", "/4", "c")), 250*time.Millisecond)
	require.Equal(t, []Entry{{N: 3, Op: "S3 PUT /3", Fault: Delay, Upstream: 200, Status: 200}}, p.Faulted())

	p.Reset()
	require.Equal(t, 0, p.Requests())
	require.Empty(t, p.Log())
}

// An upstream that closes its connection after answering: the proxy passes the answer
// on and closes the client's connection too; the next connection works.
func TestUpstreamCloses(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	c := dial(t, p)
	_, body, err := c.do(request(t, "GET", "/a?close=1", ""))
	require.NoError(t, err)
	require.Equal(t, "GET /a?close=1 ", body)
	_, _, err = c.do(request(t, "GET", "/b", ""))
	require.Error(t, err)
	_, _, err = dial(t, p).do(request(t, "GET", "/c", ""))
	require.NoError(t, err)
}

// Close ends open connections (a client waiting on a delay sees the failure at once)
// and refuses new ones.
func TestClose(t *testing.T) {
	u := newUpstream(t)
	p := start(t, u)
	p.Inject(Fault{Kind: Delay, At: 1, Delay: time.Minute})
	c := dial(t, p)
	done := make(chan error, 1)
	go func() {
		_, _, err := c.do(request(t, "GET", "/slow", ""))
		done <- err
	}()
	for p.Requests() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	require.NoError(t, p.Close())
	require.Error(t, <-done)
	require.Less(t, time.Since(start), 5*time.Second)
	_, err := net.Dial("tcp", strings.TrimPrefix(p.URL(), "http://"))
	require.Error(t, err)
	require.NoError(t, p.Close(), "closing twice is harmless")
}

func TestStartRejectsUpstream(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:80", "https://127.0.0.1:443", "http://"} {
		_, err := Start(bad)
		require.Error(t, err, bad)
	}
}

func TestStrings(t *testing.T) {
	require.Equal(t, "drop-response at request 3", Fault{Kind: DropResponse, At: 3, Count: 1}.String())
	require.Equal(t, "internal-error at request 2 and the 2 after it", Fault{Kind: InternalError, At: 2, Count: 3}.String())
	require.Equal(t, "drop-request at request 1 and every later one", Fault{Kind: DropRequest, At: 1, Count: -1}.String())
	require.Equal(t, "delay at request 1 (100ms)", Fault{Kind: Delay, At: 1, Delay: 100 * time.Millisecond}.String())
	require.Equal(t, "Kind(9)", Kind(9).String())
}
