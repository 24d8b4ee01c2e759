package core

import (
	"bytes"
	"reflect"
	"strings"
	"sync"
)

// scanEnvelope walks the JSON document once, without decoding it, for two things
// encoding/json does not give:
//
//   - strict member names: every name is exactly one of the envelope's field names
//     (encoding/json matches them case-insensitively, so "KID" would pass for "kid") and
//     no name repeats within an object (encoding/json keeps the last one silently);
//   - the span of the one "key_data" string, so that the caller can hand encoding/json
//     the small document without it. encoding/json scans a string byte by byte; the
//     EvalKey's key_data is several MiB of base64, and skipping it here (with
//     bytes.IndexByte) is what makes parsing an envelope cheap.
//
// It only reports what it is sure of: for a document it cannot follow, or one without
// exactly one plain key_data string, the span is (-1, -1) and encoding/json (which
// validates everything) reads the whole document and gives the error. The span is
// [keyStart, keyEnd) of the string's contents, without the quotes. nameErr, when not
// empty, says which member name is not accepted.
func scanEnvelope(data []byte) (keyStart, keyEnd int, nameErr string) {
	s := envelopeScanner{data: data, keyStart: -1}
	s.value(0)
	if s.keyDataCount != 1 || s.failed {
		return -1, -1, s.nameErr
	}
	return s.keyStart, s.keyEnd, s.nameErr
}

type envelopeScanner struct {
	data         []byte
	pos          int
	failed       bool // the document is not JSON the scanner can follow
	nameErr      string
	keyStart     int
	keyEnd       int
	keyDataCount int
}

// maxScanDepth bounds nesting: envelopes are 4 levels deep.
const maxScanDepth = 16

func (s *envelopeScanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// str skips a string starting at the opening quote and returns its raw contents and
// whether they hold an escape.
func (s *envelopeScanner) str() (start, end int, escaped bool) {
	s.pos++ // the opening quote
	start = s.pos
	for {
		// Two byte searches (vectorised) beat one bytes.IndexAny, which goes byte by
		// byte: find the next quote, then any backslash before it.
		q := bytes.IndexByte(s.data[s.pos:], '"')
		if q < 0 {
			s.failed = true
			return start, len(s.data), escaped
		}
		bs := bytes.IndexByte(s.data[s.pos:s.pos+q], '\\')
		if bs < 0 {
			end = s.pos + q
			s.pos = end + 1
			return start, end, escaped
		}
		s.pos += bs
		escaped = true
		s.pos += 2 // the backslash and the escaped byte (\uXXXX's digits are plain)
		if s.pos > len(s.data) {
			s.failed = true
			return start, len(s.data), escaped
		}
	}
}

func (s *envelopeScanner) value(depth int) {
	if depth > maxScanDepth {
		s.failed = true
		return
	}
	s.ws()
	if s.pos >= len(s.data) {
		s.failed = true
		return
	}
	switch s.data[s.pos] {
	case '{':
		s.object(depth)
	case '[':
		s.pos++
		s.ws()
		if s.pos < len(s.data) && s.data[s.pos] == ']' {
			s.pos++
			return
		}
		for !s.failed {
			s.value(depth + 1)
			s.ws()
			if !s.expectOneOf(',', ']') {
				return
			}
		}
	case '"':
		s.str()
	default: // a number, true, false or null: up to the next delimiter
		for s.pos < len(s.data) && !strings.ContainsRune(",]} \t\r\n", rune(s.data[s.pos])) {
			s.pos++
		}
	}
}

func (s *envelopeScanner) object(depth int) {
	s.pos++ // {
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return
	}
	var seen []string
	for !s.failed {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			s.failed = true
			return
		}
		a, b, escaped := s.str()
		name := string(s.data[a:b])
		if s.nameErr == "" {
			switch {
			case escaped || !envelopeFieldNames()[name]:
				s.nameErr = "unknown field " + quoteShort(name) + " (field names are matched exactly, in lower case except Q, P, DB_SCALE_FACTOR and QUERY_SCALE_FACTOR)"
			case contains(seen, name):
				s.nameErr = "the field " + quoteShort(name) + " appears twice in one object"
			}
		}
		seen = append(seen, name)
		s.ws()
		if !s.expectOneOf(':') {
			return
		}
		s.ws()
		if name == "key_data" && s.pos < len(s.data) && s.data[s.pos] == '"' {
			s.keyDataCount++
			s.keyStart, s.keyEnd, escaped = s.str()
			if escaped { // base64 never needs an escape; let encoding/json decode it
				s.keyDataCount++
			}
		} else {
			s.value(depth + 1)
		}
		s.ws()
		if !s.expectOneOf(',', '}') {
			return
		}
	}
}

// expectOneOf consumes one of the delimiters; it reports false at the closing one or
// on anything else (marking the scan failed).
func (s *envelopeScanner) expectOneOf(next byte, closing ...byte) bool {
	if s.pos >= len(s.data) {
		s.failed = true
		return false
	}
	c := s.data[s.pos]
	s.pos++
	if c == next {
		return true
	}
	for _, cl := range closing {
		if c == cl {
			return false
		}
	}
	s.failed = true
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteShort quotes a field name for an error, cut to 40 bytes: names are not key
// material, but a crafted document should not fill a log line.
func quoteShort(name string) string {
	if len(name) > 40 {
		name = name[:40] + "..."
	}
	return strings.ToValidUTF8(`"`+name+`"`, "?")
}

// envelopeFieldNames is every JSON member name of the envelope types, read from their
// struct tags so that it cannot drift from them.
var envelopeFieldNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" && tag != "-" {
				names[tag] = true
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(wireEnvelope{}))
	return names
})
