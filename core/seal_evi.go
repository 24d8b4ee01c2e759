package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// enVector's sealed layouts (evi's AES-KEK sealing). Both are AES-256-GCM under the
// 32-byte KEK itself, with a 12-byte IV, a 16-byte tag and no associated data:
//
//	SecKey:      {"ParameterPreset": "IP0", "SealType": "AES-KEK"} pretty-printed with a
//	             4-space indent and no trailing newline, u16 0, two zero bytes, IV, tag,
//	             u32 little-endian ciphertext length, ciphertext
//	MetadataKey: "EVIS" 0x01, IV, tag, u32 little-endian ciphertext length, ciphertext

const (
	eviMagic        = "EVIS\x01"
	sealTypeAESKEK  = "AES-KEK"
	metadataKeySize = 32
)

// sealedSecKeyHeader is the JSON header of a sealed SecKey, byte for byte as evi writes it.
func sealedSecKeyHeader(preset string) []byte {
	return []byte(fmt.Sprintf("{\n    \"ParameterPreset\": %q,\n    \"SealType\": %q\n}", preset, sealTypeAESKEK))
}

func buildSealedSecKey(preset string, iv, tag, ct []byte) []byte {
	var b bytes.Buffer
	b.Write(sealedSecKeyHeader(preset))
	b.Write([]byte{0, 0, 0, 0})
	b.Write(iv)
	b.Write(tag)
	binary.Write(&b, binary.LittleEndian, uint32(len(ct)))
	b.Write(ct)
	return b.Bytes()
}

// parseSealedSecKey splits a sealed SecKey blob. The slices share b's memory.
func parseSealedSecKey(b []byte) (preset string, iv, tag, ct []byte, err error) {
	var h struct {
		ParameterPreset string
		SealType        string
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if dec.Decode(&h) != nil {
		return "", nil, nil, nil, errors.New("the sealed SecKey does not start with its JSON header (ParameterPreset, SealType)")
	}
	if h.SealType != sealTypeAESKEK {
		return "", nil, nil, nil, fmt.Errorf("the sealed SecKey has seal type %s; accepted: %s", quoteShort(h.SealType), sealTypeAESKEK)
	}
	rest := b[dec.InputOffset():]
	const fixed = 4 + gcmNonceSize + gcmTagSize + 4
	if len(rest) < fixed || !bytes.Equal(rest[:4], []byte{0, 0, 0, 0}) {
		return "", nil, nil, nil, errors.New("the sealed SecKey is truncated or its layout is not evi's AES-KEK layout")
	}
	iv, tag = rest[4:4+gcmNonceSize], rest[4+gcmNonceSize:4+gcmNonceSize+gcmTagSize]
	n := binary.LittleEndian.Uint32(rest[fixed-4 : fixed])
	ct = rest[fixed:]
	if uint64(len(ct)) != uint64(n) {
		return "", nil, nil, nil, fmt.Errorf("the sealed SecKey says %d bytes of ciphertext and holds %d", n, len(ct))
	}
	return h.ParameterPreset, iv, tag, ct, nil
}

func buildSealedMetadataKey(iv, tag, ct []byte) []byte {
	var b bytes.Buffer
	b.WriteString(eviMagic)
	b.Write(iv)
	b.Write(tag)
	binary.Write(&b, binary.LittleEndian, uint32(len(ct)))
	b.Write(ct)
	return b.Bytes()
}

// parseSealedMetadataKey splits a sealed MetadataKey blob. The slices share b's memory.
func parseSealedMetadataKey(b []byte) (iv, tag, ct []byte, err error) {
	const fixed = len(eviMagic) + gcmNonceSize + gcmTagSize + 4
	if len(b) < fixed || !bytes.HasPrefix(b, []byte(eviMagic)) {
		return nil, nil, nil, errors.New("the sealed MetadataKey is truncated or does not start with EVIS 0x01")
	}
	iv, tag = b[5:5+gcmNonceSize], b[5+gcmNonceSize:5+gcmNonceSize+gcmTagSize]
	n := binary.LittleEndian.Uint32(b[fixed-4 : fixed])
	ct = b[fixed:]
	if uint64(len(ct)) != uint64(n) {
		return nil, nil, nil, fmt.Errorf("the sealed MetadataKey says %d bytes of ciphertext and holds %d", n, len(ct))
	}
	return iv, tag, ct, nil
}
