package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/envector-keys/envector-keys/core"
)

// The SDK's errors nest: "operation error S3: PutObject, exceeded maximum number of
// attempts, 3, https response error StatusCode: 0, RequestID: , HostID: , request
// send failed, Put "http://...": dial tcp ...: connect: connection refused". The
// store's messages already name the call and the object or secret, so the cause they
// show is awsCause: the root of the SDK's error said once (what AWS answered, or what
// the network did), the attempts made and AWS's request id. awsCause unwraps to the
// SDK's error, so errors.As still finds smithy.APIError and the others.

// awsCause is the cause of a store error about one AWS call: text describes err.
// subject ("S3 GetObject s3://b/k") and tail (" failed (InternalError)") are the two
// halves of the store error's message, kept so that several calls that failed alike
// can be reported in one message (see joinRemote).
type awsCause struct {
	text          string
	err           error
	subject, tail string
}

func (c *awsCause) Error() string { return c.text }
func (c *awsCause) Unwrap() error { return c.err }

// maxAWSMessage bounds the part of an AWS error message that a cause quotes.
const maxAWSMessage = 300

// describeAWSError says what went wrong in err, an error of an SDK call, once: AWS's
// answer (its message; the code is in the store's message) or the network's failure,
// then the number of attempts and the request id when there are. region is the
// store's, for the advice on an endpoint that cannot be reached. brief leaves out the
// advice, for a note after the main error, which gives it.
func describeAWSError(err error, region string, brief bool) string {
	var te *timeoutError
	if errors.As(err, &te) {
		if brief {
			return te.what()
		}
		return te.Error() // a timed-out attempt is never retried
	}
	var text, hint string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := strings.TrimSpace(ae.ErrorMessage())
		if len(msg) > maxAWSMessage {
			msg = strings.ToValidUTF8(msg[:maxAWSMessage], "") + "..."
		}
		if msg != "" {
			text = fmt.Sprintf("AWS said %q", msg)
		} else {
			text = "AWS answered " + ae.ErrorCode()
		}
	} else {
		text, hint = networkCause(err, region)
	}
	var ma *retry.MaxAttemptsError
	if errors.As(err, &ma) && ma.Attempt > 1 {
		text += fmt.Sprintf(" (%d attempts)", ma.Attempt)
	}
	var rid interface{ ServiceRequestID() string }
	if errors.As(err, &rid) && rid.ServiceRequestID() != "" {
		text += "; request id " + rid.ServiceRequestID()
		var hid interface{ ServiceHostID() string }
		if errors.As(err, &hid) && hid.ServiceHostID() != "" {
			text += ", host id " + hid.ServiceHostID()
		}
	}
	if hint != "" && !brief {
		text += "; " + hint
	}
	return text
}

// networkCause describes a failure with no answer from AWS: the connection refused,
// the host not found, the connection lost, or the innermost error. When the endpoint
// could not be reached, hint says where the endpoint comes from (see endpointHint).
func networkCause(err error, region string) (text, hint string) {
	endpoint := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			endpoint = endpointOf(u)
		}
	}
	service := ""
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		service = oe.ServiceID
	}
	var dns *net.DNSError
	var op *net.OpError
	switch {
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve the host %s (%s)", dns.Name, dns.Err), endpointHint(service, endpoint, region)
	case errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &op):
		return fmt.Sprintf("connection refused by %s", opAddr(op, endpoint)), endpointHint(service, endpoint, region)
	case errors.As(err, &op) && op.Op == "dial":
		return fmt.Sprintf("cannot connect to %s (%v)", opAddr(op, endpoint), op.Err), endpointHint(service, endpoint, region)
	case errors.Is(err, syscall.ECONNRESET) && errors.As(err, &op):
		return fmt.Sprintf("connection reset by %s", opAddr(op, endpoint)), ""
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the connection to %s closed before the whole answer came", cmpOrString(endpoint, "the endpoint")), ""
	case errors.Is(err, context.Canceled):
		return "cancelled by the caller (context canceled)", ""
	case errors.Is(err, context.DeadlineExceeded):
		return "the caller's deadline passed (context deadline exceeded)", ""
	}
	return innermost(err).Error(), ""
}

func opAddr(op *net.OpError, endpoint string) string {
	if op.Addr != nil {
		return op.Addr.String()
	}
	return cmpOrString(endpoint, "the endpoint")
}

func cmpOrString(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// innermost is the last error of err's chain (a joined error ends it).
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// endpointHint says what to check when service's endpoint ("S3", "Secrets Manager")
// cannot be reached: the variable that chose it and its value, or, with none set, the
// network and the region.
func endpointHint(service, endpoint, region string) string {
	vars := []string{"AWS_ENDPOINT_URL"}
	switch service {
	case "S3":
		vars = []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}
	case "Secrets Manager":
		vars = []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"}
	}
	for _, v := range vars {
		if val := os.Getenv(v); val != "" {
			return fmt.Sprintf("check %s (it is %q), which chose this endpoint", v, redactURL(val))
		}
	}
	at := ""
	if endpoint != "" {
		at = " " + endpoint
	}
	return fmt.Sprintf("check the network connection to %s%s and the region (%s); no AWS_ENDPOINT_URL variable is set (an endpoint_url in the AWS profile would apply too)", cmpOrString(service, "AWS"), at, region)
}

// redactURL is s without user information (a password in an endpoint URL), cut short.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		s = u.String()
	}
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// joinRemote joins the errors of calls made at once (errors.Join, nils dropped). When
// they all failed alike (the same kind, the same store operation, the same message
// after the call's subject, the same cause) they are one error naming every call:
// three lines with one cause are one line.
func joinRemote(errs ...error) error {
	var list []error
	for _, err := range errs {
		if err != nil {
			list = append(list, err)
		}
	}
	if len(list) < 2 {
		return errors.Join(list...)
	}
	first, c0 := remoteParts(list[0])
	if first == nil {
		return errors.Join(list...)
	}
	subjects := []string{c0.subject}
	for _, err := range list[1:] {
		e, c := remoteParts(err)
		if e == nil || e.Kind != first.Kind || e.Op != first.Op || c.tail != c0.tail || c.text != c0.text {
			return errors.Join(list...)
		}
		subjects = append(subjects, c.subject)
	}
	all := strings.Join(subjects[:len(subjects)-1], ", ") + " and " + subjects[len(subjects)-1]
	return &core.Error{Kind: first.Kind, Op: first.Op, Msg: all + c0.tail, Err: c0}
}

// remoteParts returns err as remoteError made it (unchanged since), or nils.
func remoteParts(err error) (*core.Error, *awsCause) {
	e, ok := err.(*core.Error)
	if !ok {
		return nil, nil
	}
	c, ok := e.Err.(*awsCause)
	if !ok || e.Msg != c.subject+c.tail {
		return nil, nil
	}
	return e, c
}
