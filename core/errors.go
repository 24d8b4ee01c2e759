package core

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Kind classifies an error so that every layer (Go, the C ABI, Python, Node) can react
// to it without parsing messages. Each Kind is itself an error, so callers test with
// errors.Is(err, core.ErrNotFound).
type Kind int

// The kinds of error. Their numeric values are the C ABI status codes (see
// include/envector.h); never renumber them.
const (
	ErrInvalidArgument Kind = 1 // the caller passed something the library does not accept
	ErrNotFound        Kind = 2 // a key set, role, file, object or secret does not exist
	ErrExists          Kind = 3 // the target already holds keys; nothing was overwritten
	ErrAuth            Kind = 4 // unsealing failed (wrong KEK, or the sealed data was altered), or AWS refused the credentials or their permissions
	ErrCorrupt         Kind = 5 // stored data does not parse or does not check out
	ErrIO              Kind = 6 // the local file system failed
	ErrRemote          Kind = 7 // a remote store (AWS) failed
	ErrInternal        Kind = 8 // a bug or broken invariant inside the library
	ErrInactive        Kind = 9 // the key set is not active (deactivated, destroyed, preparing) or has expired: not loaded for use
)

var kindNames = map[Kind]string{
	ErrInvalidArgument: "invalid argument",
	ErrNotFound:        "not found",
	ErrExists:          "already exists",
	ErrAuth:            "authentication failed",
	ErrCorrupt:         "corrupt data",
	ErrIO:              "I/O error",
	ErrRemote:          "remote store error",
	ErrInternal:        "internal error",
	ErrInactive:        "key set not active",
}

// Error returns the kind's name, e.g. "not found".
func (k Kind) Error() string {
	if name, ok := kindNames[k]; ok {
		return name
	}
	return fmt.Sprintf("error kind %d", int(k))
}

// Error is the error type of the library. Op says where the error comes from
// ("envelope.Parse", "store.Save"), Msg what was wrong and what is accepted. No Error
// ever carries secret material.
type Error struct {
	Kind Kind
	Op   string
	Msg  string
	Err  error // an underlying cause, if any; must not hold secrets either
}

func (e *Error) Error() string {
	s := e.Op + ": " + e.Msg
	if e.Err != nil && e.Err != errSetMismatch { // the message says it all
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether the error is of kind target, so errors.Is(err, ErrNotFound) works.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// Errorf builds an *Error of the given kind. String arguments are cut short: one
// quoted with %q shows at most its first 40 bytes, one shown otherwise (a path, say) at
// most its first 4096, so no value of any length (a 60 MB key id) fills a message.
func Errorf(kind Kind, op, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf(format, shortArgs(args)...)}
}

// Wrap builds an *Error of the given kind around a cause; arguments as for Errorf.
func Wrap(kind Kind, op string, err error, format string, args ...any) error {
	return &Error{Kind: kind, Op: op, Msg: fmt.Sprintf(format, shortArgs(args)...), Err: err}
}

// shortArg formats a string argument of an error message, cut to a short prefix.
type shortArg string

const maxShownValue = 4096

func (s shortArg) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		io.WriteString(f, quoteShort(string(s)))
		return
	}
	v := string(s)
	if len(v) > maxShownValue {
		v = strings.ToValidUTF8(v[:maxShownValue], "") + "..."
	}
	io.WriteString(f, v)
}

func shortArgs(args []any) []any {
	copied := false
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > 40 {
			if !copied {
				args, copied = append([]any(nil), args...), true
			}
			args[i] = shortArg(s)
		}
	}
	return args
}

// KindOf returns the kind of err: the Kind of the outermost *Error in its chain,
// ErrInternal for any other non-nil error, and 0 for nil.
func KindOf(err error) Kind {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return ErrInternal
}

// MaxMessage bounds a whole error message as an interface shows it (the C ABI, the
// CLI). Errorf already cuts the values it quotes (40 bytes) and shows (4096: paths), but
// a message can still repeat a value at length: an OS error names its path in full, a
// wrapped cause quotes what it was given.
const MaxMessage = 1024

// BoundMessage returns msg, or when it is over MaxMessage bytes its beginning and end
// around " ... " (the beginning says what failed, the end the cause), valid UTF-8.
func BoundMessage(msg string) string {
	if len(msg) <= MaxMessage {
		return msg
	}
	const keep = (MaxMessage - len(" ... ")) / 2
	head := strings.ToValidUTF8(msg[:keep], "")
	tail := strings.ToValidUTF8(msg[len(msg)-keep:], "")
	return head + " ... " + tail
}
