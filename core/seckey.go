package core

// The compact SecKey format (DESIGN.md §4): "EVSK", version 1, logN, two zero bytes,
// then N/4 bytes holding 2 bits per coefficient: 00 = 0, 01 = +1, 10 = -1 (11 is
// invalid). It is 1,032 bytes at N = 4096, where lattigo's own marshalling is 65,568
// and would not fit a Secrets Manager secret.

const (
	secKeyMagic      = "EVSK"
	secKeyVersion    = 1
	secKeyHeaderSize = 8
	secKeySize       = secKeyHeaderSize + ringDegree/4
)

// encodeTernary packs ternary coefficients (-1, 0, +1) into the compact format.
func encodeTernary(coeffs []int8) []byte {
	out := make([]byte, secKeyHeaderSize+len(coeffs)/4)
	copy(out, secKeyMagic)
	out[4] = secKeyVersion
	out[5] = logN
	for i, c := range coeffs {
		var bits byte
		switch c {
		case 1:
			bits = 0b01
		case -1:
			bits = 0b10
		}
		out[secKeyHeaderSize+i/4] |= bits << (2 * (i % 4))
	}
	return out
}

// decodeTernary unpacks the compact format. It rejects a wrong header, size, an invalid
// 11 code and a Hamming weight other than the parameters' 2730.
func decodeTernary(b []byte) ([]int8, error) {
	op := "seckey"
	if len(b) != secKeySize {
		return nil, Errorf(ErrCorrupt, op, "SecKey data is %d bytes; accepted: %d (compact ternary, N = %d)", len(b), secKeySize, ringDegree)
	}
	if string(b[:4]) != secKeyMagic || b[4] != secKeyVersion || b[5] != logN || b[6] != 0 || b[7] != 0 {
		return nil, Errorf(ErrCorrupt, op, "SecKey data header is not EVSK version 1 with logN %d", logN)
	}
	coeffs := make([]int8, ringDegree)
	weight := 0
	for i := range coeffs {
		switch (b[secKeyHeaderSize+i/4] >> (2 * (i % 4))) & 0b11 {
		case 0b01:
			coeffs[i] = 1
		case 0b10:
			coeffs[i] = -1
		case 0b11:
			wipeInt8(coeffs)
			return nil, Errorf(ErrCorrupt, op, "SecKey data holds an invalid coefficient code")
		default:
			continue
		}
		weight++
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
