// Package faultproxy is a fault-injecting HTTP/1.1 proxy for tests: it listens on a
// loopback port, forwards each request to one upstream server (moto, in the store
// tests) and can be told to fail chosen requests the way a network or an AWS service
// fails: the answer lost after the request was carried out, the connection dropped
// before the request got anywhere, a 500 error answered in the service's own format,
// or a delay. It is test support only; nothing in the product imports it.
//
// Requests are parsed with net/http (http.ReadRequest on the client side, http.Request
// Write and http.ReadResponse on the upstream side), so kept-alive connections carry
// many requests and each is counted. Every client connection has its own upstream
// connection. A dropped request or answer closes the client connection at once, so the
// client sees the failure without waiting for a timeout.
package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what the proxy does with one request.
type Kind int

const (
	// Forward passes the request on and its answer back: no fault.
	Forward Kind = iota
	// DropResponse forwards the request, reads the upstream's whole answer (so the
	// request was carried out), then closes the client connection without answering.
	DropResponse
	// DropRequest closes the client connection as soon as the request's header is
	// read, before anything is forwarded.
	DropRequest
	// InternalError answers 500 without forwarding: S3's InternalError as XML, or
	// Secrets Manager's InternalServiceError as JSON (requests with an X-Amz-Target
	// header). The connection stays open.
	InternalError
	// Delay holds the request for Fault.Delay, then forwards it.
	Delay
)

var kindNames = map[Kind]string{
	Forward: "forward", DropResponse: "drop-response", DropRequest: "drop-request",
	InternalError: "internal-error", Delay: "delay",
}

// Kinds lists the fault kinds (every Kind but Forward).
var Kinds = []Kind{DropResponse, DropRequest, InternalError, Delay}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault says which requests to fail, and how.
type Fault struct {
	Kind Kind
	// At is the 1-based index of the first request hit, counting from when the fault
	// was injected the requests Match accepts (every request when Match is nil).
	At int
	// Count is how many such requests in a row are hit, from At: 0 means 1, a negative
	// Count means every one from At on.
	Count int
	// Delay is how long a Delay fault holds each request.
	Delay time.Duration
	// Match, when set, chooses the requests this fault counts and hits.
	Match func(*http.Request) bool

	seen int // requests counted so far
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s at request %d", f.Kind, f.At)
	switch {
	case f.Count < 0:
		s += " and every later one"
	case f.Count > 1:
		s += fmt.Sprintf(" and the %d after it", f.Count-1)
	}
	if f.Kind == Delay {
		s += fmt.Sprintf(" (%s)", f.Delay)
	}
	return s
}

// Entry records one request the proxy saw.
type Entry struct {
	N        int    // 1-based index over every request since Start or Reset
	Op       string // e.g. "S3 PutObject /bucket/key" or "secretsmanager.CreateSecret"
	Fault    Kind   // what the proxy did
	Upstream int    // the upstream's status code; 0 if not forwarded or no answer came
	Status   int    // the status code the client got; 0 if it got no answer
}

func (e Entry) String() string {
	s := fmt.Sprintf("#%d %s", e.N, e.Op)
	if e.Fault != Forward {
		s += " [" + e.Fault.String() + "]"
	}
	if e.Upstream != 0 {
		s += fmt.Sprintf(" upstream %d", e.Upstream)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(" -> %d", e.Status)
	} else {
		s += " -> no answer"
	}
	return s
}

// Proxy is one running proxy. Its methods are safe for concurrent use.
type Proxy struct {
	target string // host:port of the upstream
	ln     net.Listener
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool
	faults []*Fault
	n      int
	log    []Entry
	closed bool
}

// Start listens on a free loopback port and forwards to upstream, an http:// URL
// (only its host and port are used).
func Start(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q is not an http://host:port URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %v", err)
	}
	p := &Proxy{target: u.Host, ln: ln, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	return p, nil
}

// URL is the proxy's address, http://127.0.0.1:PORT.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Inject adds faults; each counts requests from now on.
func (p *Proxy) Inject(faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range faults {
		if f.Count == 0 {
			f.Count = 1
		}
		f.seen = 0
		p.faults = append(p.faults, &f)
	}
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Reset removes every fault, and sets the request count to 0 and the log to empty.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults, p.n, p.log = nil, 0, nil
}

// Requests returns how many requests the proxy has seen since Start or Reset.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Log returns the requests seen since Start or Reset, in the order they came.
func (p *Proxy) Log() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Entry(nil), p.log...)
}

// Faulted returns the entries of the requests a fault hit.
func (p *Proxy) Faulted() []Entry {
	var out []Entry
	for _, e := range p.Log() {
		if e.Fault != Forward {
			out = append(out, e)
		}
	}
	return out
}

// Close stops listening, closes every connection and waits for them to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c, true) {
			c.Close()
			return
		}
		p.wg.Go(func() {
			defer p.track(c, false)
			defer c.Close()
			p.serve(c)
		})
	}
}

// track adds or removes a connection to close on Close; adding fails once closed.
func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.closed {
		return false
	}
	p.conns[c] = true
	return true
}

// next numbers a request and chooses what to do with it: the first fault that hits
// it wins (every fault whose Match accepts it counts it).
func (p *Proxy) next(req *http.Request) (int, *Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	var hit *Fault
	for _, f := range p.faults {
		if f.Match != nil && !f.Match(req) {
			continue
		}
		f.seen++
		if f.seen >= f.At && (f.Count < 0 || f.seen < f.At+f.Count) && hit == nil {
			hit = f
		}
	}
	p.log = append(p.log, Entry{N: p.n, Op: describe(req)})
	return p.n, hit
}

func (p *Proxy) record(n int, kind Kind, upstream, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := n - 1; i >= 0 && i < len(p.log) && p.log[i].N == n {
		p.log[i].Fault, p.log[i].Upstream, p.log[i].Status = kind, upstream, status
	}
}

// serve carries the requests of one client connection, one at a time.
func (p *Proxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	var up net.Conn
	var upr *bufio.Reader
	defer func() {
		if up != nil {
			p.track(up, false)
			up.Close()
		}
	}()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		n, f := p.next(req)
		kind := Forward
		if f != nil {
			kind = f.Kind
		}
		// The proxy answers "100 Continue" itself (before reading the body), and the
		// upstream gets the request without Expect.
		expect := strings.EqualFold(req.Header.Get("Expect"), "100-continue")
		req.Header.Del("Expect")
		cont := func() error {
			if !expect {
				return nil
			}
			_, err := io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
			return err
		}
		switch kind {
		case DropRequest:
			p.record(n, kind, 0, 0)
			return
		case InternalError:
			if cont() != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			if writeError(c, req, n) != nil {
				return
			}
			p.record(n, kind, 0, http.StatusInternalServerError)
			if req.Close {
				return
			}
			continue
		case Delay:
			select {
			case <-time.After(f.Delay):
			case <-p.done:
				return
			}
		}
		if cont() != nil {
			return
		}
		if up == nil {
			if up, err = net.Dial("tcp", p.target); err != nil {
				p.record(n, kind, 0, 0)
				return
			}
			if !p.track(up, true) {
				up.Close()
				up = nil
				return
			}
			upr = bufio.NewReader(up)
		}
		if err := req.Write(up); err != nil {
			p.record(n, kind, 0, 0)
			return
		}
		resp, err := http.ReadResponse(upr, req)
		if err != nil {
			p.record(n, kind, 0, 0)
			return
		}
		if kind == DropResponse {
			// The whole answer is read first: the upstream has finished the request.
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			p.record(n, kind, resp.StatusCode, 0)
			return
		}
		err = resp.Write(c)
		resp.Body.Close()
		if err != nil {
			p.record(n, kind, resp.StatusCode, 0)
			return
		}
		p.record(n, kind, resp.StatusCode, resp.StatusCode)
		if resp.Close || req.Close {
			return
		}
	}
}

// writeError answers 500 the way the service of req does: Secrets Manager (a JSON
// protocol, with X-Amz-Target) or S3 (XML; no body for HEAD).
func writeError(w io.Writer, req *http.Request, n int) error {
	id := fmt.Sprintf("faultproxy-%d", n)
	msg := "We encountered an internal error. Please try again. (injected by faultproxy)"
	h := http.Header{}
	var body string
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", id)
		h.Set("X-Amzn-Errortype", "InternalServiceError")
		body = `{"__type":"InternalServiceError","message":"` + msg + `"}`
	} else {
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", id)
		body = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
			`<Error><Code>InternalError</Code><Message>` + msg + `</Message><RequestId>` + id + `</RequestId></Error>`
	}
	resp := &http.Response{
		StatusCode:    http.StatusInternalServerError,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(len(body)),
		Body:          io.NopCloser(strings.NewReader(body)),
		Request:       req,
		Close:         req.Close,
	}
	return resp.Write(w)
}

// describe names a request for the log: the Secrets Manager operation from
// X-Amz-Target, or "S3", the operation (from the SDK's x-id parameter, or guessed from
// the method and parameters) and the path.
func describe(req *http.Request) string {
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	q := req.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	op := req.Method
	switch {
	case q.Get("x-id") != "":
		op = q.Get("x-id")
	case req.Method == http.MethodPost && has("uploads"):
		op = "CreateMultipartUpload"
	case req.Method == http.MethodPost && has("uploadId"):
		op = "CompleteMultipartUpload"
	case req.Method == http.MethodGet && has("uploads"):
		op = "ListMultipartUploads"
	case req.Method == http.MethodGet && q.Get("list-type") == "2":
		op = "ListObjectsV2"
	case req.Method == http.MethodHead:
		op = "HeadObject"
	}
	return "S3 " + op + " " + req.URL.Path
}
