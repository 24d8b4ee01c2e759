package core

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Raw key data: the bytes an envelope's key_data holds, unwrapped, for a search server
// that takes keys as they are (enVector's register_key takes the raw EvalKey). Public
// keys only: a secret's cleartext never leaves the key set this way.

// KeyDataDigest returns the length and SHA-256 of public role r's raw key bytes (EncKey
// or EvalKey), without holding a generated key's bytes: for a key read from a file or
// blob, the digest its envelope records and the parser checked; for a generated MM or
// MM32 EvalKey not made yet, the key is made once into a hasher. A key set loaded with
// ParseOptions.SkipKeyData has digests too.
func (ks *KeySet) KeyDataDigest(r Role) (size int64, sum [sha256.Size]byte, err error) {
	e, err := ks.publicEnvelope("KeySet.KeyDataDigest", r)
	if err != nil {
		return 0, sum, err
	}
	size = e.dataSize
	if e.src != nil && e.keyData == nil {
		size = e.src.size
	}
	h := e.hashValue()
	if h == "" && e.src != nil {
		if h, err = e.src.streamHash(); err != nil {
			return 0, sum, err
		}
	}
	raw, derr := base64.StdEncoding.DecodeString(h)
	if derr != nil || len(raw) != sha256.Size {
		return 0, sum, Errorf(ErrInternal, "KeySet.KeyDataDigest", "%s of key %q has no SHA-256 of its key data", r, ks.id)
	}
	copy(sum[:], raw)
	return size, sum, nil
}

// WriteKeyData writes public role r's raw key bytes (EncKey or EvalKey: the envelope's
// key_data, decoded) to w and returns the bytes written. A generated MM or MM32 EvalKey
// whose bytes are not in memory is made straight into w, a few MiB at a time. A key set
// loaded with ParseOptions.SkipKeyData holds no key bytes: that is an ErrInvalidArgument.
func (ks *KeySet) WriteKeyData(r Role, w io.Writer) (int64, error) {
	const op = "KeySet.WriteKeyData"
	e, err := ks.publicEnvelope(op, r)
	if err != nil {
		return 0, err
	}
	if e.keyData == nil && e.src != nil && e.streamable() {
		cw := &countingWriter{w: w}
		if err := e.src.write(cw); err != nil {
			if cw.err != nil {
				return cw.n, cw.err
			}
			return cw.n, err
		}
		if cw.n != e.src.size {
			return cw.n, Errorf(ErrInternal, op, "the EvalKey is %d bytes, not the %d announced", cw.n, e.src.size)
		}
		return cw.n, nil
	}
	data, err := e.data()
	if err != nil {
		return 0, err
	}
	if data == nil && e.dataSize > 0 {
		return 0, Errorf(ErrInvalidArgument, op, "%s of key %q was loaded without its key data (SkipKeyData); load it in full", r, ks.id)
	}
	n, err := w.Write(data)
	return int64(n), err
}

func (ks *KeySet) publicEnvelope(op string, r Role) (*envelope, error) {
	if !r.valid() {
		return nil, Errorf(ErrInvalidArgument, op, "unknown role")
	}
	if r.Secret() {
		return nil, Errorf(ErrInvalidArgument, op, "raw key data is given for the public keys only (EncKey, EvalKey), not for %s", r)
	}
	if !ks.Has(r) {
		return nil, Errorf(ErrNotFound, op, "key %q holds no %s", ks.id, r)
	}
	return ks.envs[r], nil
}

// CheckEvalKeyData reads a raw EvalKey from r to its end and checks that it is an
// EvalKey of preset and evalMode in enVector's layout (an "EVIS" archive as evi writes
// it): metadata-eval.json names that preset and eval mode, and the key files are the
// ones its dims call for, each of the size and header they call for. This is the check
// a server can make without the secret key (Verify proves, with it, that every key
// belongs to SecKey). Memory stays small whatever the key's size.
//
// preset is enVector's name (IP0, IP1, IP2, IP3, QF0, QF1; any case), evalMode its eval
// mode name (RMP, FLAT, SINGLE or NULL, MM, MM32, MMS, MMS32; any case). A preset or eval
// mode that is not enVector's, or a pair that does not go together, is an
// ErrInvalidArgument before anything is read; bytes that are not such a key are
// ErrCorrupt; a failure of r is returned wrapped as ErrIO.
func CheckEvalKeyData(r io.Reader, preset, evalMode string) error {
	const op = "CheckEvalKeyData"
	spec, err := lookupEVISpec(preset)
	if err != nil {
		return Errorf(ErrInvalidArgument, op, "unknown preset %q; accepted: enVector's IP0, IP1, IP2, IP3, QF0, QF1", preset)
	}
	mode := strings.ToUpper(strings.TrimSpace(evalMode))
	if mode == "NULL" { // evi's metadata name of SINGLE
		mode = eviModeSINGLE
	}
	if _, err := planEVIEval(spec, mode, []int{32}); err != nil {
		return Errorf(ErrInvalidArgument, op, "%s", err.(*Error).Msg)
	}
	files, err := scanEVIArchive(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return err
		}
		return Errorf(ErrCorrupt, op, "EvalKey data: %s", err)
	}
	bad := func(format string, args ...any) error { return Errorf(ErrCorrupt, op, format, args...) }
	byName := map[string]*archiveFile{}
	var order []string
	for i := range files {
		f := &files[i]
		if byName[f.path] != nil {
			return bad("EvalKey holds %s twice", quoteShort(f.path))
		}
		byName[f.path] = f
		order = append(order, f.path)
	}
	meta := byName["metadata-eval.json"]
	if meta == nil {
		return bad("EvalKey holds no metadata-eval.json (it holds %v)", order)
	}
	var m struct {
		EvalMode, ParameterPreset string
		Ranks                     []int
	}
	if err := json.Unmarshal(meta.body, &m); err != nil {
		return bad("EvalKey's metadata-eval.json does not parse")
	}
	if m.ParameterPreset != spec.name || (m.EvalMode != mode && !(mode == eviModeSINGLE && m.EvalMode == "NULL")) {
		return bad("EvalKey's metadata names preset %s and eval mode %s; expected %s and %s", quoteShort(m.ParameterPreset), quoteShort(m.EvalMode), spec.name, mode)
	}
	pl, err := planEVIEval(spec, mode, m.Ranks)
	if err != nil {
		return bad("EvalKey's metadata-eval.json: %s", err.(*Error).Msg)
	}
	if len(files) != len(pl.ranks)+1 {
		return bad("EvalKey holds files %v; %s/%s with dims %v calls for ranks %v and metadata-eval.json", order, spec.name, mode, m.Ranks, pl.ranks)
	}
	for _, rank := range pl.ranks {
		name := fmt.Sprintf("EVIKeys%d.bin", rank)
		f := byName[name]
		if f == nil {
			return bad("EvalKey lacks %s (it holds %v)", name, order)
		}
		if f.size != pl.rankFileSize(rank) {
			return bad("EvalKey's %s is %d bytes; %s/%s calls for %d", name, f.size, spec.name, mode, pl.rankFileSize(rank))
		}
		if hdr := eviHeader(spec); !bytes.HasPrefix(f.head, hdr) {
			return bad("EvalKey's %s does not start with 0x03 EVIS 0x01 and %s's bit widths", name, spec.name)
		}
		if !pl.mm {
			continue
		}
		er, err := newEVIRing(spec)
		if err != nil {
			return err
		}
		widths := er.mmShape().widths
		rest := f.head[8:]
		if binary.LittleEndian.Uint32(rest) != uint32(len(widths)) {
			return bad("EvalKey's %s has %d primes; %s's MM keys have %d", name, binary.LittleEndian.Uint32(rest), spec.name, len(widths))
		}
		for i, w := range widths {
			if int(rest[4+i]) != w {
				return bad("EvalKey's %s gives prime %d a width of %d bits; %s's is %d", name, i, rest[4+i], spec.name, w)
			}
		}
		if !pl.mms && !bytes.Equal(f.tail, []byte{0, 0, 0, 0}) {
			return bad("EvalKey's %s does not end with a count of 0 shared secrets", name)
		}
	}
	return nil
}

// archiveFile is what scanEVIArchive keeps of one file of an archive: its size, its
// first bytes and last 4 bytes, and the whole body of metadata-eval.json.
type archiveFile struct {
	path       string
	size       int64
	head, tail []byte
	body       []byte
}

const (
	archiveHeadKeep     = 64      // the EVIKeys header: 8 bytes, u32 prime count, widths
	maxEvalMetadataSize = 1 << 16 // metadata-eval.json is a few hundred bytes
)

// scanEVIArchive reads an "EVIS" archive to its end (the layout walkEVIArchive checks
// in memory) and returns its files.
func scanEVIArchive(r *bufio.Reader) ([]archiveFile, error) {
	readErr := func(err error, what string) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s is truncated", what)
		}
		return Wrap(ErrIO, "CheckEvalKeyData", err, "reading the EvalKey")
	}
	magic := make([]byte, len(eviMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != eviMagic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, readErr(err, "")
		}
		return nil, fmt.Errorf("not an EVIS archive (it does not start with EVIS 0x01)")
	}
	var files []archiveFile
	var u64 [8]byte
	for {
		kind, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readErr(err, "")
		}
		if kind != 'D' && kind != 'F' {
			return nil, fmt.Errorf("archive entry of kind %#x; accepted: 'D' or 'F'", kind)
		}
		if _, err := io.ReadFull(r, u64[:]); err != nil {
			return nil, readErr(err, "an archive entry")
		}
		n := binary.LittleEndian.Uint64(u64[:])
		if n > 4096 {
			return nil, fmt.Errorf("archive path of %d bytes; accepted: up to 4096", n)
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, readErr(err, "an archive path")
		}
		if kind == 'D' {
			continue
		}
		path := string(name)
		if _, err := io.ReadFull(r, u64[:]); err != nil {
			return nil, readErr(err, fmt.Sprintf("archive file %s", quoteShort(path)))
		}
		size := int64(binary.LittleEndian.Uint64(u64[:]))
		if size < 0 {
			return nil, fmt.Errorf("archive file %s has a negative size", quoteShort(path))
		}
		f := archiveFile{path: path, size: size}
		if path == "metadata-eval.json" {
			if size > maxEvalMetadataSize {
				return nil, fmt.Errorf("archive file metadata-eval.json of %d bytes; accepted: up to %d", size, maxEvalMetadataSize)
			}
			f.body = make([]byte, size)
			if _, err := io.ReadFull(r, f.body); err != nil {
				return nil, readErr(err, "archive file metadata-eval.json")
			}
		} else if err := skimFile(r, &f); err != nil {
			return nil, readErr(err, fmt.Sprintf("archive file %s of %d bytes", quoteShort(path), size))
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("the archive holds no files")
	}
	return files, nil
}

// skimFile reads f.size bytes of a file's body, keeping its head and its last 4 bytes.
func skimFile(r *bufio.Reader, f *archiveFile) error {
	head := min(f.size, archiveHeadKeep)
	f.head = make([]byte, head)
	if _, err := io.ReadFull(r, f.head); err != nil {
		return err
	}
	left := f.size - head
	if left > 4 {
		if n, err := r.Discard(int(min(left-4, 1<<30))); err != nil {
			return err
		} else if int64(n) < left-4 { // over 1 GiB: discard the rest
			if _, err := io.CopyN(io.Discard, r, left-4-int64(n)); err != nil {
				return err
			}
		}
		left = 4
	}
	f.tail = make([]byte, left)
	if _, err := io.ReadFull(r, f.tail); err != nil {
		return err
	}
	if head+left >= 4 { // the last 4 bytes, which may reach into the head
		all := append(append([]byte(nil), f.head...), f.tail...)
		f.tail = all[len(all)-4:]
	}
	return nil
}
