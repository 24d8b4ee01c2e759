package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// The AWS store's request timeout (AWSConfig.Timeout) is enforced by timeoutClient,
// which wraps the HTTP client the SDK sends with: every attempt of every call gets a
// context that a watchdog cancels when the attempt has made no progress for the
// timeout. Progress is any sign of movement: the connection made, the request's header
// written, a read of the request body (the transport reads it as it sends it), the
// first byte of the answer, a read of the response body. While the caller holds a
// response body without reading it (a Load parsing one key while the other waits), the
// watchdog is paused: only a read that waits counts. The SDK's retryer is wrapped so a
// timed-out attempt is not retried: an endpoint that never answers fails a call within
// about the timeout, not the timeout times the attempts.

// timeoutError is the cause of a request the watchdog cut: it says what the request
// was doing, with which endpoint, and that the limit is configurable.
type timeoutError struct {
	d        time.Duration
	endpoint string // scheme://host
	phase    phase
}

func (e *timeoutError) Error() string {
	return e.what() + " (the AWS store's timeout, configurable: AWSConfig.Timeout in Go, aws_timeout_seconds in C and Python, awsTimeoutSeconds in Node, --timeout in the CLI)"
}

// what says what timed out.
func (e *timeoutError) what() string {
	switch e.phase {
	case phaseConnecting:
		return fmt.Sprintf("could not connect to %s within %s", e.endpoint, e.d)
	case phaseSending:
		return fmt.Sprintf("sending the request to %s made no progress within %s", e.endpoint, e.d)
	case phaseReading:
		return fmt.Sprintf("the answer from %s stopped: nothing more came within %s", e.endpoint, e.d)
	}
	return fmt.Sprintf("nothing came back from %s within %s", e.endpoint, e.d)
}

// Timeout reports true: the error is a timeout (as net.Error's).
func (e *timeoutError) Timeout() bool { return true }

// phase is where a request is.
type phase int

const (
	phaseConnecting phase = iota
	phaseSending
	phaseWaiting // for the answer
	phaseReading // the response body
)

// httpDoer is the SDK's HTTP client interface (s3.HTTPClient, secretsmanager.HTTPClient).
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// timeoutClient cuts an attempt that makes no progress for timeout.
type timeoutClient struct {
	inner   httpDoer
	timeout time.Duration
	// expectWait is how long the transport waits for "100 Continue" before it sends a
	// request body anyway (S3 asks for it on large bodies): a server that ignores
	// Expect is not cut by a timeout shorter than that.
	expectWait time.Duration
}

func (c *timeoutClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{d: c.timeout, endpoint: endpointOf(req.URL), fire: cancel}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { w.progress(phaseSending) },
		WroteHeaders:         func() { w.progress(phaseSending) },
		Wait100Continue:      func() { w.progressAt(time.Now().Add(c.expectWait), phaseWaiting) },
		Got100Continue:       func() { w.progress(phaseSending) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { w.progress(phaseWaiting) },
		GotFirstResponseByte: func() { w.progress(phaseWaiting) },
	})
	req = req.WithContext(ctx) // a shallow copy: the SDK's request is not changed
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &sendBody{ReadCloser: req.Body, w: w}
		if get := req.GetBody; get != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				if err != nil || b == nil || b == http.NoBody {
					return b, err
				}
				return &sendBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	w.start()
	resp, err := c.inner.Do(req)
	if err != nil {
		w.stop()
		cause := context.Cause(ctx)
		cancel(nil)
		var te *timeoutError
		if errors.As(cause, &te) {
			return nil, te
		}
		return nil, err
	}
	// From here the watchdog runs only while a read of the body waits.
	w.pause(phaseReading)
	resp.Body = &recvBody{ReadCloser: resp.Body, w: w, ctx: ctx, cancel: cancel}
	return resp, nil
}

// endpointOf is scheme://host of u, without user information, path or query.
func endpointOf(u *url.URL) string {
	if u == nil {
		return "the endpoint"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}

// watchdog calls fire with a *timeoutError when, while armed, d passes with no
// progress.
type watchdog struct {
	d        time.Duration
	endpoint string
	fire     context.CancelCauseFunc

	mu    sync.Mutex
	t     *time.Timer
	last  time.Time
	phase phase
	armed bool
	done  bool
}

func (w *watchdog) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.last = true, time.Now()
	w.t = time.AfterFunc(w.d, w.check)
}

// progress records movement; p is the phase the request is in now.
func (w *watchdog) progress(p phase) { w.progressAt(time.Now(), p) }

// progressAt records movement as of t (a time to come gives grace).
func (w *watchdog) progressAt(t time.Time, p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last, w.phase = t, p
}

// pause disarms the watchdog (progress is made, and nothing is waited for).
func (w *watchdog) pause(p phase) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.last, w.phase = false, time.Now(), p
}

// resume arms it again: a read waits.
func (w *watchdog) resume() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	w.armed, w.last = true, time.Now()
	w.t.Reset(w.d)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	if w.t != nil {
		w.t.Stop()
	}
}

func (w *watchdog) check() {
	w.mu.Lock()
	if w.done || !w.armed {
		w.mu.Unlock()
		return
	}
	if idle := time.Since(w.last); idle < w.d {
		w.t.Reset(w.d - idle)
		w.mu.Unlock()
		return
	}
	w.done = true
	err := &timeoutError{d: w.d, endpoint: w.endpoint, phase: w.phase}
	w.mu.Unlock()
	w.fire(err)
}

// sendBody is a request body: each read is progress (the transport reads as it sends).
type sendBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *sendBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.w.progress(phaseSending)
	return n, err
}

// recvBody is a response body: the watchdog runs while a read waits; a read cut by it
// fails with the timeoutError. Close (or the end of the body) stops the watchdog.
type recvBody struct {
	io.ReadCloser
	w      *watchdog
	ctx    context.Context
	cancel context.CancelCauseFunc
}

func (b *recvBody) Read(p []byte) (int, error) {
	b.w.resume()
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.w.stop()
	case err != nil:
		var te *timeoutError
		if errors.As(context.Cause(b.ctx), &te) {
			err = te
		}
		b.w.stop()
	default:
		b.w.pause(phaseReading)
	}
	return n, err
}

func (b *recvBody) Close() error {
	b.w.stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// timeoutRetryer is the SDK's retryer, except that an attempt the watchdog cut is not
// retried.
type timeoutRetryer struct {
	aws.RetryerV2
}

func (r timeoutRetryer) IsErrorRetryable(err error) bool {
	var te *timeoutError
	if errors.As(err, &te) {
		return false
	}
	return r.RetryerV2.IsErrorRetryable(err)
}

// retryerV1 makes an aws.Retryer without GetAttemptToken a RetryerV2.
type retryerV1 struct {
	aws.Retryer
}

func (r retryerV1) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	return r.GetInitialToken(), nil
}

// withTimeout wraps an SDK client's HTTP client and retryer for timeout d.
func withTimeout(client httpDoer, retryer aws.Retryer, d time.Duration) (httpDoer, aws.Retryer) {
	if client == nil {
		client = http.DefaultClient
	}
	if retryer != nil {
		v2, ok := retryer.(aws.RetryerV2)
		if !ok {
			v2 = retryerV1{retryer}
		}
		retryer = timeoutRetryer{v2}
	}
	tc := &timeoutClient{inner: client, timeout: d}
	if b, ok := client.(*awshttp.BuildableClient); ok {
		tc.expectWait = b.GetTransport().ExpectContinueTimeout
	}
	return tc, retryer
}
