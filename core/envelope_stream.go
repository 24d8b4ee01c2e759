package core

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"io"
)

// maxEnvelopeFields bounds the part of an envelope outside its key_data text: a few
// hundred bytes in every real envelope.
const maxEnvelopeFields = 1 << 20

// maxScanDepth bounds nesting: envelopes are 4 levels deep.
const maxScanDepth = 16

// splitResult is one envelope read from a stream: the document with its key_data text
// taken out (keyAt is where that text stood: doc[:keyAt] ends with the opening quote)
// and what the key_data decoded to.
type splitResult struct {
	doc      []byte
	keyAt    int
	keyCount int // how many key_data strings the document has (a valid one: exactly 1)
	keyData  []byte
	size     int64
	hash     string
}

// splitEnvelope reads one JSON document from r in one pass, with memory bounded by the
// key data it keeps. The contents of every "key_data" string member are diverted from
// the document as they stream by: strictly decoded from standard padded base64, hashed
// with SHA-256, and kept when keep is set (sizeHint, the stream's length if known,
// sizes the buffer so it is allocated once). The rest of the document (at most
// maxEnvelopeFields bytes) is returned for encoding/json. Errors are plain
// descriptions; they never quote the key data.
func splitEnvelope(r io.Reader, keep bool, sizeHint int64) (*splitResult, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	f := &envelopeSplitter{r: br, res: &splitResult{keyAt: -1}}
	f.sink = newBase64Sink(keep, sizeHint)
	if err := f.run(); err != nil {
		return nil, err
	}
	if f.res.keyCount == 1 {
		f.res.keyData, f.res.size, f.res.hash = f.sink.data, f.sink.n, base64.StdEncoding.EncodeToString(f.sink.h.Sum(nil))
	}
	return f.res, nil
}

type envelopeSplitter struct {
	r    *bufio.Reader
	res  *splitResult
	sink *base64Sink
	doc  bytes.Buffer

	stack      []byte // open containers: '{' or '['
	expectName bool   // inside an object, before a member name
	name       []byte // the member name being read (up to 16 bytes matter)
	lastName   string // the last member name read
	afterColon bool   // between a member's ':' and its value
}

// sourceError is a failure of the stream itself (the disk, the network), not of what
// it held.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

var errEnvelopeTooLarge = errors.New("the envelope's fields other than key_data are over 1 MiB; no key envelope is that large")

func (f *envelopeSplitter) emit(c byte) error {
	if f.doc.Len() >= maxEnvelopeFields {
		return errEnvelopeTooLarge
	}
	f.doc.WriteByte(c)
	return nil
}

func (f *envelopeSplitter) run() error {
	started, done := false, false
	for {
		c, err := f.r.ReadByte()
		if err == io.EOF {
			if !done {
				return errors.New("the document is empty or truncated; expected one JSON key envelope")
			}
			f.res.doc = f.doc.Bytes()
			return nil
		}
		if err != nil {
			return &sourceError{err}
		}
		if done {
			if !isJSONSpace(c) {
				return errors.New("unexpected data after the JSON value; a key file holds exactly one envelope")
			}
			continue
		}
		switch {
		case isJSONSpace(c):
			// Whitespace is dropped: encoding/json does not need it.
			continue
		case c == '"':
			if f.afterColon && len(f.stack) > 0 && f.stack[len(f.stack)-1] == '{' && f.lastName == "key_data" {
				f.afterColon = false
				if err := f.divertKeyData(); err != nil {
					return err
				}
				continue
			}
			isName := f.expectName
			f.afterColon = false
			if err := f.copyString(isName); err != nil {
				return err
			}
			if isName {
				f.expectName = false
			}
			continue
		}
		if err := f.emit(c); err != nil {
			return err
		}
		switch c {
		case '{':
			f.stack = append(f.stack, '{')
			f.expectName, f.afterColon, started = true, false, true
		case '[':
			f.stack = append(f.stack, '[')
			f.afterColon, started = false, true
		case '}', ']':
			if len(f.stack) == 0 {
				return errors.New("not a valid key envelope (unbalanced brackets)")
			}
			f.stack = f.stack[:len(f.stack)-1]
			f.expectName, f.afterColon = false, false
			if len(f.stack) == 0 {
				done = true
			}
		case ',':
			f.expectName = len(f.stack) > 0 && f.stack[len(f.stack)-1] == '{'
			f.afterColon = false
		case ':':
			f.afterColon = true
		default:
			f.afterColon = false
			if !started {
				return errors.New("not a key envelope: a key file holds one JSON object")
			}
		}
		if len(f.stack) > maxScanDepth {
			return errors.New("not a valid key envelope (nested too deeply)")
		}
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// copyString copies a string (the opening quote is read) into the document, escapes
// and all; a member name is remembered.
func (f *envelopeSplitter) copyString(isName bool) error {
	if err := f.emit('"'); err != nil {
		return err
	}
	f.name = f.name[:0]
	escaped := false
	for {
		c, err := f.r.ReadByte()
		if err == io.EOF {
			return errors.New("the document is truncated inside a string")
		}
		if err != nil {
			return &sourceError{err}
		}
		if err := f.emit(c); err != nil {
			return err
		}
		if escaped {
			escaped = false
			continue
		}
		if c == '\\' {
			escaped = true
			f.name = append(f.name, 0) // an escaped name never equals "key_data"
			continue
		}
		if c == '"' {
			break
		}
		if isName && len(f.name) <= 16 {
			f.name = append(f.name, c)
		}
	}
	if isName {
		f.lastName = string(f.name)
	}
	return nil
}

// divertKeyData streams the contents of a key_data string (its opening quote is read)
// into the sink; the document gets an empty string in its place.
func (f *envelopeSplitter) divertKeyData() error {
	f.res.keyCount++
	if err := f.emit('"'); err != nil {
		return err
	}
	if f.res.keyCount == 1 {
		f.res.keyAt = f.doc.Len()
	}
	for {
		buf, err := f.r.Peek(1)
		if err == io.EOF {
			return errors.New("the document is truncated inside key_data")
		}
		if err != nil {
			return &sourceError{err}
		}
		n := f.r.Buffered()
		buf, _ = f.r.Peek(n)
		q := bytes.IndexByte(buf, '"')
		chunk := buf
		if q >= 0 {
			chunk = buf[:q]
		}
		if bytes.IndexByte(chunk, '\\') >= 0 {
			return errors.New("key_data is not standard padded base64 (it holds an escape)")
		}
		if f.res.keyCount == 1 {
			if err := f.sink.write(chunk); err != nil {
				return err
			}
		}
		if q >= 0 {
			f.r.Discard(q + 1)
			if f.res.keyCount == 1 {
				if err := f.sink.finish(); err != nil {
					return err
				}
			}
			return f.emit('"')
		}
		f.r.Discard(len(chunk))
	}
}

// base64Sink decodes standard padded base64 as it arrives: no whitespace, padding only
// at the very end.
type base64Sink struct {
	pending  [4]byte
	npending int
	padded   bool // padding was seen: nothing may follow
	h        hash.Hash
	keep     bool
	data     []byte
	n        int64
	out      []byte
}

var errNotBase64 = errors.New("key_data is not standard padded base64")

func newBase64Sink(keep bool, sizeHint int64) *base64Sink {
	s := &base64Sink{h: sha256.New(), keep: keep, out: make([]byte, 3<<16)}
	if keep {
		c := int64(0)
		if sizeHint > 0 && sizeHint < 1<<40 {
			c = sizeHint / 4 * 3
		}
		s.data = make([]byte, 0, c)
	}
	return s
}

func (s *base64Sink) write(text []byte) error {
	for len(text) > 0 {
		if s.padded {
			return errNotBase64
		}
		if s.npending > 0 || len(text) < 4 {
			k := copy(s.pending[s.npending:], text)
			s.npending += k
			text = text[k:]
			if s.npending == 4 {
				s.npending = 0
				if err := s.decode(s.pending[:]); err != nil {
					return err
				}
			}
			continue
		}
		whole := min(len(text)/4*4, len(s.out)/3*4)
		if err := s.decode(text[:whole]); err != nil {
			return err
		}
		text = text[whole:]
	}
	return nil
}

func (s *base64Sink) decode(text []byte) error {
	want := len(text) / 4 * 3
	pad := 0
	if text[len(text)-1] == '=' {
		pad++
		if text[len(text)-2] == '=' {
			pad++
		}
	}
	n, err := base64.StdEncoding.Strict().Decode(s.out, text)
	// A skipped byte (Go's decoder ignores '\r' and '\n') or inner padding shows as
	// fewer bytes out.
	if err != nil || n != want-pad {
		return errNotBase64
	}
	if pad > 0 {
		s.padded = true
	}
	s.h.Write(s.out[:n])
	s.n += int64(n)
	if s.keep {
		s.data = append(s.data, s.out[:n]...)
	}
	return nil
}

func (s *base64Sink) finish() error {
	if s.npending != 0 {
		return errNotBase64
	}
	return nil
}
