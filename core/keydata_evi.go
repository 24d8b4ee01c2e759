package core

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Structural checks of key data in enVector's own layout (evi), as enVector's SDK
// writes it. This release reads such keys (to load, seal, unseal, store and move them)
// but does not generate them or prove their algebra yet.

const (
	eviSecKeySize   = 1 + 4 + ringDegree/4 // 0x01, preset tag, 2-bit codes
	eviEncKeyHeader = 1 + 4 + len(eviMagic) + 2
)

// eviPresetTag is the preset name NUL-padded to 4 bytes, as evi's key headers hold it.
func eviPresetTag(name string) []byte {
	t := make([]byte, 4)
	copy(t, name)
	return t
}

func checkEVIKeyData(r Role, p Parameters, data []byte) error {
	op := "keydata"
	tagOK := func(tag []byte) bool { return p.Preset.name == "" || bytes.Equal(tag, eviPresetTag(p.Preset.name)) }
	switch r {
	case SecKey:
		if len(data) != eviSecKeySize || data[0] != 0x01 {
			return Errorf(ErrCorrupt, op, "SecKey data is %d bytes; accepted: %d bytes starting with 0x01 (evi layout)", len(data), eviSecKeySize)
		}
		if !tagOK(data[1:5]) {
			return Errorf(ErrCorrupt, op, "SecKey data names another preset than %s", p.Preset.name)
		}
		for _, b := range data[5:] {
			for k := 0; k < 8; k += 2 {
				if (b>>k)&3 == 2 {
					return Errorf(ErrCorrupt, op, "SecKey data holds an invalid coefficient code")
				}
			}
		}
	case EncKey:
		if len(data) < eviEncKeyHeader || data[0] != 0x02 || string(data[5:10]) != eviMagic {
			return Errorf(ErrCorrupt, op, "EncKey data does not start with 0x02, a preset tag and EVIS 0x01 (evi layout)")
		}
		if !tagOK(data[1:5]) {
			return Errorf(ErrCorrupt, op, "EncKey data names another preset than %s", p.Preset.name)
		}
		wq, wp := int(data[10]), int(data[11])
		if want := eviEncKeyHeader + 2*ringDegree*(wq+wp)/8; len(data) != want {
			return Errorf(ErrCorrupt, op, "EncKey data is %d bytes; its header (bit widths %d and %d) calls for %d", len(data), wq, wp, want)
		}
	case EvalKey:
		if err := walkEVIArchive(data, nil); err != nil {
			return Errorf(ErrCorrupt, op, "EvalKey data: %s", err)
		}
	case MetadataKey:
		if len(data) != metadataKeySize {
			return Errorf(ErrCorrupt, op, "MetadataKey data is %d bytes; accepted: 32 (AES-256)", len(data))
		}
	}
	return nil
}

// walkEVIArchive checks an "EVIS" archive: "EVIS" 0x01, then entries 'D' (u64 path
// length, path) and 'F' (u64 path length, path, i64 size, bytes) to the end. file, if
// set, is called for each file entry.
func walkEVIArchive(data []byte, file func(path string, body []byte)) error {
	if !bytes.HasPrefix(data, []byte(eviMagic)) {
		return fmt.Errorf("not an EVIS archive (it does not start with EVIS 0x01)")
	}
	rest := data[len(eviMagic):]
	files := 0
	for len(rest) > 0 {
		kind := rest[0]
		if (kind != 'D' && kind != 'F') || len(rest) < 9 {
			return fmt.Errorf("archive entry of kind %#x; accepted: 'D' or 'F'", kind)
		}
		n := binary.LittleEndian.Uint64(rest[1:9])
		rest = rest[9:]
		if n > uint64(len(rest)) || n > 4096 {
			return fmt.Errorf("archive path of %d bytes runs past the end", n)
		}
		path := string(rest[:n])
		rest = rest[n:]
		if kind == 'D' {
			continue
		}
		if len(rest) < 8 {
			return fmt.Errorf("archive file %q is truncated", quoteShort(path))
		}
		size := int64(binary.LittleEndian.Uint64(rest[:8]))
		rest = rest[8:]
		if size < 0 || size > int64(len(rest)) {
			return fmt.Errorf("archive file %s of %d bytes runs past the end", quoteShort(path), size)
		}
		if file != nil {
			file(path, rest[:size])
		}
		rest = rest[size:]
		files++
	}
	if files == 0 {
		return fmt.Errorf("the archive holds no files")
	}
	return nil
}
