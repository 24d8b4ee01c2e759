package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// evalSource makes an EvalKey's bytes on demand. enVector's MM and MM32 EvalKeys are
// about 0.9 GB: a generated key set holds such a key as its recipe (a copy of the
// ternary secret and of the key-generation seed) and makes the bytes straight into the
// file being written, 64 keys at a time, or into memory the first time a caller asks
// for them (Blob, Verify). Making is deterministic: every run writes the same bytes.
type evalSource struct {
	size  int64
	write func(w io.Writer) error

	mu   sync.Mutex
	data []byte // the bytes, once made in memory
	hash string // base64 SHA-256, once known
}

// bytes returns the key bytes, making them in memory the first time.
func (s *evalSource) bytes() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data != nil {
		return s.data, nil
	}
	var buf bytes.Buffer
	buf.Grow(int(s.size))
	if err := s.write(&buf); err != nil {
		return nil, err
	}
	if int64(buf.Len()) != s.size {
		return nil, Errorf(ErrInternal, "keygen", "the EvalKey is %d bytes, not the %d announced", buf.Len(), s.size)
	}
	s.data = buf.Bytes()
	if s.hash == "" {
		s.hash = sha256b64(s.data)
	}
	return s.data, nil
}

// knownHash returns the hash if it is known without making the bytes.
func (s *evalSource) knownHash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hash
}

// data returns the envelope's key bytes: those it holds, or those its source makes.
func (e *envelope) data() ([]byte, error) {
	if e.keyData != nil || e.src == nil {
		return e.keyData, nil
	}
	return e.src.bytes()
}

// streamable reports whether the envelope's key bytes are not in memory but can be made
// straight into a file.
func (e *envelope) streamable() bool {
	if e.src == nil || e.raw != nil {
		return false
	}
	e.src.mu.Lock()
	defer e.src.mu.Unlock()
	return e.src.data == nil
}

// writeToFile writes the envelope into f at its current offset. An EvalKey whose bytes
// are not in memory is made straight into the file: the envelope is laid out with a
// placeholder hash (digests have fixed lengths), the key is made, encoded and hashed a
// block at a time, and the head and tail (which hold the hash and our digest) are
// written again once the hash is known. Memory stays a few blocks whatever the key's
// size.
func (e *envelope) writeToFile(f *os.File) (int64, error) {
	if !e.streamable() {
		return e.writeTo(f)
	}
	start, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	placeholder := strings.Repeat("A", sha256B64Len)
	head, tail, err := e.renderWith(placeholder)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(head); err != nil {
		return 0, err
	}
	enc, err := e.src.encodeTo(f)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(tail); err != nil {
		return 0, err
	}
	e.src.mu.Lock()
	e.src.hash = base64.StdEncoding.EncodeToString(enc.h.Sum(nil))
	e.src.mu.Unlock()
	realHead, realTail, err := e.render()
	if err != nil {
		return 0, err
	}
	if len(realHead) != len(head) || len(realTail) != len(tail) {
		return 0, Errorf(ErrInternal, "envelope", "the envelope's layout changed with its hash")
	}
	if _, err := f.WriteAt(realHead, start); err != nil {
		return 0, err
	}
	if _, err := f.WriteAt(realTail, start+int64(len(head))+enc.text); err != nil {
		return 0, err
	}
	return int64(len(head)) + enc.text + int64(len(tail)), nil
}

// encodeTo makes the key into w as standard base64, a block at a time, hashing the raw
// bytes as they go; it checks the size announced.
func (s *evalSource) encodeTo(w io.Writer) (*base64Writer, error) {
	enc := &base64Writer{w: w, h: sha256.New()}
	if err := s.write(enc); err != nil {
		return nil, err
	}
	if err := enc.close(); err != nil {
		return nil, err
	}
	if enc.n != s.size {
		return nil, Errorf(ErrInternal, "keygen", "the EvalKey is %d bytes, not the %d announced", enc.n, s.size)
	}
	return enc, nil
}

// streamHash returns the key's hash, making the bytes once into a SHA-256 hasher when
// it is not known yet (nothing is buffered), and records it in the source.
func (s *evalSource) streamHash() (string, error) {
	if h := s.knownHash(); h != "" {
		return h, nil
	}
	h := sha256.New()
	cw := &countingWriter{w: h}
	if err := s.write(cw); err != nil {
		return "", err
	}
	if cw.n != s.size {
		return "", Errorf(ErrInternal, "keygen", "the EvalKey is %d bytes, not the %d announced", cw.n, s.size)
	}
	sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hash == "" {
		s.hash = sum
	}
	return s.hash, nil
}

// writeStreamed writes the envelope to w with an EvalKey whose bytes are not in memory
// made straight into it, for a writer that cannot be written again at an earlier offset
// (a pipe, a network upload): the head holds the key's hash, so unless it is known the
// key is made twice, once into a hasher only and once into w, encoded a block at a time.
// Memory stays a few blocks whatever the key's size. The second run must give the hash
// the first did (making is deterministic); if it does not, the error comes after w has
// had all of the envelope but its tail, and the caller must discard what it wrote.
func (e *envelope) writeStreamed(w io.Writer) (int64, error) {
	if !e.streamable() {
		return e.writeTo(w)
	}
	want, err := e.src.streamHash()
	if err != nil {
		return 0, err
	}
	head, tail, err := e.render()
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: w}
	if _, err := cw.Write(head); err != nil {
		return cw.n, err
	}
	enc, err := e.src.encodeTo(cw)
	if err != nil {
		return cw.n, err
	}
	if got := base64.StdEncoding.EncodeToString(enc.h.Sum(nil)); got != want {
		return cw.n, Errorf(ErrInternal, "keygen", "the EvalKey made twice gave two different hashes; what was written is not a valid envelope")
	}
	_, err = cw.Write(tail)
	return cw.n, err
}

// blobSize is the envelope's length as written. An EvalKey whose bytes are not in
// memory and whose hash is not known yet is laid out with a placeholder hash (digests
// have fixed lengths), so its size costs neither making the key nor hashing it.
func (e *envelope) blobSize() (int64, error) {
	placeholder := ""
	if e.streamable() && e.src.knownHash() == "" {
		placeholder = strings.Repeat("A", sha256B64Len)
	}
	head, tail, err := e.renderWith(placeholder)
	if err != nil {
		return 0, err
	}
	return int64(e.size(head, tail)), nil
}

// base64Writer encodes what is written to it as standard padded base64 into w, hashing
// the raw bytes.
type base64Writer struct {
	w       io.Writer
	h       hash.Hash
	pending []byte
	buf     []byte
	n, text int64
}

func (b *base64Writer) Write(p []byte) (int, error) {
	b.h.Write(p)
	b.n += int64(len(p))
	in := p
	if len(b.pending) > 0 {
		k := min(3-len(b.pending), len(in))
		b.pending = append(b.pending, in[:k]...)
		in = in[k:]
		if len(b.pending) < 3 {
			return len(p), nil
		}
		if err := b.emit(b.pending); err != nil {
			return 0, err
		}
		b.pending = b.pending[:0]
	}
	whole := len(in) / 3 * 3
	for off := 0; off < whole; {
		end := min(off+3<<18, whole)
		if err := b.emit(in[off:end]); err != nil {
			return 0, err
		}
		off = end
	}
	b.pending = append(b.pending, in[whole:]...)
	return len(p), nil
}

func (b *base64Writer) emit(raw []byte) error {
	need := base64.StdEncoding.EncodedLen(len(raw))
	if cap(b.buf) < need {
		b.buf = make([]byte, need)
	}
	t := b.buf[:need]
	base64.StdEncoding.Encode(t, raw)
	b.text += int64(need)
	_, err := b.w.Write(t)
	return err
}

func (b *base64Writer) close() error {
	if len(b.pending) == 0 {
		return nil
	}
	err := b.emit(b.pending)
	b.pending = nil
	return err
}

// generateEVIKeysLazy makes SecKey, EncKey and EvalKey bytes in evi's layouts; an MM or
// MM32 EvalKey is left as a source (eval is then nil), which keeps a copy of the
// secret's coefficients and of the streams' seed and makes the same bytes whenever it
// runs.
func generateEVIKeysLazy(preset, evalMode string, dims []int, rnd *streams) (sec, enc, eval []byte, src *evalSource, err error) {
	spec, err := lookupEVISpec(preset)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	pl, err := planEVIEval(spec, evalMode, dims)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	er, err := newEVIRing(spec)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var coeffs []int8
	err = recoverInto(func() error {
		s, err := sampleEVISecret(er, rnd.prng("evi/seckey"))
		if err != nil {
			return err
		}
		defer s.wipe()
		sec = encodeTernary(spec.name, s.coeffs)
		enc = encodeEVIEncKey(spec, er.genEncKey(s, rnd.prng("evi/enckey")))
		if pl.mm {
			coeffs = slices.Clone(s.coeffs)
			return nil
		}
		var buf bytes.Buffer
		if err := writeEVIEvalKey(&buf, pl, er, s, rnd); err != nil {
			return err
		}
		eval = buf.Bytes()
		return nil
	})
	if err != nil || !pl.mm {
		return sec, enc, eval, nil, err
	}
	master := rnd.master
	size := int64(len(eviMagic))
	for _, rank := range pl.ranks {
		size += archiveEntrySize(fmt.Sprintf("EVIKeys%d.bin", rank), pl.rankFileSize(rank))
	}
	size += archiveEntrySize("metadata-eval.json", int64(len(pl.metadataJSON())))
	src = &evalSource{size: size, write: func(w io.Writer) error {
		r := &streams{master: master}
		s := secretFromEVICoeffs(er, slices.Clone(coeffs))
		defer s.wipe()
		return recoverInto(func() error { return writeEVIEvalKey(w, pl, er, s, r) })
	}}
	return sec, enc, nil, src, nil
}

// archiveEntrySize is the size of one file entry of an EVIS archive: 'F', the u64
// length of its name, the name, its i64 size, its bytes.
func archiveEntrySize(name string, size int64) int64 { return 1 + 8 + int64(len(name)) + 8 + size }
