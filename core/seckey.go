package core

import "bytes"

// SecKey layouts. Both hold the ternary secret, 2 bits per coefficient, in coefficient
// (not NTT) order:
//
//   - enVector's (evi) layout, written by this release: 0x01, the preset name NUL-padded
//     to 4 bytes, then N/4 bytes with 4 coefficients each, the first in the top bits:
//     00 = 0, 01 = +1, 11 = -1 (10 is invalid). 1,029 bytes at N = 4096.
//   - the compact layout of envector-keys 0.1, still read: "EVSK", version 1, logN, two
//     zero bytes, then N/4 bytes with the first coefficient in the low bits: 00 = 0,
//     01 = +1, 10 = -1 (11 is invalid). 1,032 bytes.

const (
	secKeyMagic      = "EVSK"
	secKeyVersion    = 1
	secKeyHeaderSize = 8
	secKeySize       = secKeyHeaderSize + ringDegree/4
)

// encodeTernary packs ternary coefficients (-1, 0, +1) in enVector's SecKey layout.
func encodeTernary(preset string, coeffs []int8) []byte {
	out := make([]byte, 5+len(coeffs)/4)
	out[0] = 0x01
	copy(out[1:5], eviPresetTag(preset))
	for i, c := range coeffs {
		var code byte
		switch c {
		case 1:
			code = 0b01
		case -1:
			code = 0b11
		}
		out[5+i/4] |= code << (6 - 2*(i%4))
	}
	return out
}

// decodeTernary unpacks either SecKey layout. It rejects a wrong header or size, an
// invalid code, and a Hamming weight other than the parameters' 2730.
func decodeTernary(preset string, b []byte) ([]int8, error) {
	op := "seckey"
	var code func(i int) (int8, bool)
	switch {
	case len(b) == eviSecKeySize && b[0] == 0x01:
		if !bytes.Equal(b[1:5], eviPresetTag(preset)) {
			return nil, Errorf(ErrCorrupt, op, "SecKey data names another preset than %s", preset)
		}
		code = func(i int) (int8, bool) {
			switch (b[5+i/4] >> (6 - 2*(i%4))) & 0b11 {
			case 0b00:
				return 0, true
			case 0b01:
				return 1, true
			case 0b11:
				return -1, true
			}
			return 0, false
		}
	case len(b) == secKeySize && string(b[:4]) == secKeyMagic:
		if b[4] != secKeyVersion || b[5] != logN || b[6] != 0 || b[7] != 0 {
			return nil, Errorf(ErrCorrupt, op, "SecKey data header is not EVSK version 1 with logN %d", logN)
		}
		code = func(i int) (int8, bool) {
			switch (b[secKeyHeaderSize+i/4] >> (2 * (i % 4))) & 0b11 {
			case 0b00:
				return 0, true
			case 0b01:
				return 1, true
			case 0b10:
				return -1, true
			}
			return 0, false
		}
	default:
		return nil, Errorf(ErrCorrupt, op, "SecKey data is %d bytes; accepted: %d (enVector's layout) or %d (envector-keys 0.1's)", len(b), eviSecKeySize, secKeySize)
	}
	coeffs := make([]int8, ringDegree)
	weight := 0
	for i := range coeffs {
		c, ok := code(i)
		if !ok {
			wipeInt8(coeffs)
			return nil, Errorf(ErrCorrupt, op, "SecKey data holds an invalid coefficient code")
		}
		coeffs[i] = c
		if c != 0 {
			weight++
		}
	}
	if weight != hammingWeight {
		wipeInt8(coeffs)
		return nil, Errorf(ErrCorrupt, op, "SecKey has %d non-zero coefficients; the parameters fix %d", weight, hammingWeight)
	}
	return coeffs, nil
}

func wipeInt8(b []int8) {
	for i := range b {
		b[i] = 0
	}
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
