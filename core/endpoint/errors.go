package endpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/endpointpb"
)

// ReturnCode is the outcome a response header reports (enVector's values).
type ReturnCode int32

// enVector's return codes. Warning is a success with a message (see Options.Warn).
const (
	CodeUnspecified           ReturnCode = 0
	CodeSuccess               ReturnCode = 1
	CodeFail                  ReturnCode = 2
	CodeInvalidKeyURL         ReturnCode = 6
	CodeInvalidKeyAuthInfo    ReturnCode = 7
	CodeFailedToUnpackKey     ReturnCode = 8
	CodeInsufficientDiskSpace ReturnCode = 9
	CodeWarning               ReturnCode = 10
)

// String returns enVector's name of the code, e.g. "FailedToUnpackKey".
func (c ReturnCode) String() string {
	if name, ok := endpointpb.ReturnCode_name[int32(c)]; ok && c != CodeUnspecified {
		return name
	}
	return fmt.Sprintf("ReturnCode(%d)", int32(c))
}

// Error is a failed call to a key endpoint: the server refused it (a return code in the
// response header, or a gRPC status) or it could not be made. Kind classifies it as the
// rest of the library does, so errors.Is(err, core.ErrNotFound) and core.KindOf work.
// No Error holds the bearer token or key bytes; Message, when it comes from the server,
// is cut to 512 bytes of printable text.
type Error struct {
	Op        string     // the method: "register_key", "get_key_list", "get_key_info", "load_key", "unload_key", "delete_key"
	KeyID     string     // the key id the call was about, if any
	Address   string     // the server
	Code      ReturnCode // the response header's return code; CodeUnspecified when the failure is a gRPC status or local
	Status    codes.Code // the gRPC status code; codes.OK when the header reported the failure or the failure is local
	Message   string     // the server's message, or what went wrong here
	RequestID string     // the request's header id, to find it in the server's logs
	Kind      core.Kind
	Err       error // the underlying cause (a context error, a reader's error), if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("endpoint." + e.Op)
	if e.KeyID != "" {
		fmt.Fprintf(&b, "(%s)", quote(e.KeyID))
	}
	if e.Address != "" {
		b.WriteString(" at " + e.Address)
	}
	b.WriteString(": ")
	switch {
	case e.Code != CodeUnspecified:
		fmt.Fprintf(&b, "server returned %s: ", e.Code)
	case e.Status == codes.Unavailable || e.Status == codes.DeadlineExceeded || e.Status == codes.Canceled:
		fmt.Fprintf(&b, "call failed (%s): ", e.Status)
	case e.Status != codes.OK:
		fmt.Fprintf(&b, "server refused (%s): ", e.Status)
	}
	if e.Message == "" {
		b.WriteString("no message")
	} else {
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind, so errors.Is(err, core.ErrAuth) works.
func (e *Error) Is(target error) bool {
	k, ok := target.(core.Kind)
	return ok && k == e.Kind
}

// As sets a *core.Kind target to e's Kind (core.KindOf relies on it).
func (e *Error) As(target any) bool {
	if k, ok := target.(*core.Kind); ok {
		*k = e.Kind
		return true
	}
	return false
}

// kindOfCode maps a return code to a kind of error.
func kindOfCode(c ReturnCode) core.Kind {
	switch c {
	case CodeInvalidKeyAuthInfo:
		return core.ErrAuth
	case CodeInvalidKeyURL:
		return core.ErrInvalidArgument
	case CodeFailedToUnpackKey:
		return core.ErrCorrupt
	}
	return core.ErrRemote // Fail, InsufficientDiskSpace, and codes we do not know
}

// kindOfStatus maps a gRPC status code to a kind of error.
func kindOfStatus(c codes.Code) core.Kind {
	switch c {
	case codes.Unauthenticated, codes.PermissionDenied:
		return core.ErrAuth
	case codes.NotFound:
		return core.ErrNotFound
	case codes.AlreadyExists:
		return core.ErrExists
	case codes.InvalidArgument, codes.OutOfRange:
		return core.ErrInvalidArgument
	case codes.DataLoss:
		return core.ErrCorrupt
	}
	return core.ErrRemote
}

// statusError turns an error of a gRPC call into an *Error.
func (c *Client) statusError(ctx context.Context, op, keyID, reqID string, err error) *Error {
	e := &Error{Op: op, KeyID: keyID, Address: c.address, RequestID: reqID}
	st, _ := status.FromError(err)
	e.Status = st.Code()
	e.Kind = kindOfStatus(e.Status)
	e.Message = cleanMessage(st.Message())
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || e.Status == codes.DeadlineExceeded:
		e.Err = context.DeadlineExceeded
		e.Message = "no answer in time (" + e.Message + ")"
	case errors.Is(ctx.Err(), context.Canceled) || e.Status == codes.Canceled:
		e.Err = context.Canceled
	case e.Status == codes.Unavailable:
		e.Message = "cannot reach the server: " + e.Message
	case e.Status == codes.Unimplemented:
		e.Message = "the server does not offer enVector's key endpoint (endpoint.v2.EndpointService): " + e.Message
	}
	return e
}

// headerError checks a response header: nil for Success and Warning (whose message goes
// to Options.Warn), an *Error otherwise.
func (c *Client) headerError(op, keyID, reqID string, h *endpointpb.ResponseHeader) error {
	if h == nil {
		return &Error{Op: op, KeyID: keyID, Address: c.address, RequestID: reqID, Kind: core.ErrRemote, Message: "the response has no header"}
	}
	code := ReturnCode(h.GetReturnCode())
	switch code {
	case CodeSuccess:
		return nil
	case CodeWarning:
		if c.opts.Warn != nil {
			what := "endpoint." + op
			if keyID != "" {
				what += "(" + quote(keyID) + ")"
			}
			c.opts.Warn(what + ": server warning: " + cleanMessage(h.GetErrorMessage()))
		}
		return nil
	}
	msg := cleanMessage(h.GetErrorMessage())
	if code == CodeUnspecified {
		msg = "the response header carries no return code; " + msg
	}
	if h.GetId() != "" {
		reqID = cleanMessage(h.GetId())
	}
	return &Error{Op: op, KeyID: keyID, Address: c.address, Code: code, Message: msg, RequestID: reqID, Kind: kindOfCode(code)}
}

const maxServerMessage = 512

// cleanMessage makes text from the server safe to show: printable, one line, at most
// maxServerMessage bytes.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return '?'
	}, s)
	if len(s) > maxServerMessage {
		s = strings.ToValidUTF8(s[:maxServerMessage], "") + "..."
	}
	return strings.TrimSpace(s)
}

// quote quotes a key id for a message, cut to 40 bytes as core does.
func quote(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...", strings.ToValidUTF8(s[:40], ""))
	}
	return fmt.Sprintf("%q", s)
}

// localError is a failure found here, before or without the server's answer.
func (c *Client) localError(op, keyID string, kind core.Kind, cause error, format string, args ...any) *Error {
	return &Error{Op: op, KeyID: keyID, Address: c.address, Kind: kind, Err: cause, Message: fmt.Sprintf(format, args...)}
}
