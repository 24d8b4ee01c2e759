package core

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"
	"sync"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// enVector's (evi's) presets and the ring arithmetic of its key data: the moduli,
// deb's NTT convention and the bit-packing of polynomials. Arithmetic is lattigo's; only
// the order of NTT slots and the packing are evi's. EVI-FORMATS.md §1-§3.

// eviSpec is one of enVector's presets as its key data needs it.
type eviSpec struct {
	name   string
	q0, q1 uint64   // the chain primes ("Q" and "P" in the envelope's metadata)
	aux    []uint64 // key-switching primes past Q1, in deb's order; IP0 has none (Q1 is its special prime)
	wq, wp int      // bit widths of Q0 and Q1, as every key header writes them
	modes  []string // eval modes evi accepts with this preset (upper case)
}

const (
	eviHammingWeight = 1024 // non-zero secret coefficients in every 1.6.3 key (not the 2730 of the sources)
	eviSigma         = 3.2
	eviErrorBound    = 6 * eviSigma
)

var eviSpecs = []eviSpec{
	{name: "IP0", q0: 2251799813554177, q1: 36028797014376449, modes: []string{"RMP", "FLAT", "SINGLE", "MM"}},
	{name: "IP1", q0: 17179754497, q1: 17179672577, aux: []uint64{274877562881}, modes: []string{"RMP", "FLAT", "MM", "MMS"}},
	{name: "IP2", q0: 4294828033, q1: 4294729729, aux: []uint64{4398046486529}, modes: []string{"RMP", "FLAT", "MM", "MMS"}},
	{name: "IP3", q0: 1073692673, q1: 1073668097, aux: []uint64{8380417, 8273921}, modes: []string{"RMP", "FLAT", "MM32", "MMS32"}},
	// QF (QF0 and QF1; qf-spec): one chain prime Q0 (58 bits) with Q1 (51 bits) as its
	// special prime, like IP0. evi builds QF1 from the same constants as QF0 and writes
	// "QF0" in its key data and envelopes; its MultiKeyGenerator makes RMP, FLAT, MM,
	// MM32, MMS and MMS32 keys with it and refuses SINGLE (checked on evi 1.6.3).
	{name: "QF0", q0: 288230376135196673, q1: 2251799810670593, modes: []string{"RMP", "FLAT", "MM", "MM32"}},
}

// eviAliases are preset names evi accepts for another preset's keys (qf-spec): evi's
// QF1 is QF0's parameter set, and its keys say QF0.
var eviAliases = map[string]string{"QF1": "QF0"}

func init() {
	for i := range eviSpecs {
		eviSpecs[i].wq = bits.Len64(eviSpecs[i].q0)
		eviSpecs[i].wp = bits.Len64(eviSpecs[i].q1)
	}
}

// lookupEVISpec returns the preset of that name (upper or lower case).
func lookupEVISpec(name string) (*eviSpec, error) {
	for alias, to := range eviAliases { // qf-spec
		if eqFoldASCII(alias, name) {
			name = to
		}
	}
	for i := range eviSpecs {
		if eqFoldASCII(eviSpecs[i].name, name) {
			return &eviSpecs[i], nil
		}
	}
	return nil, Errorf(ErrInvalidArgument, "evi", "preset %s cannot be generated in enVector's layout; accepted: IP0, IP1, IP2, IP3, QF0, QF1", quoteShort(name))
}

func eqFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// moduli returns the primes of the key-switching ring: Q0, Q1, then the aux primes.
func (s *eviSpec) moduli() []uint64 { return append([]uint64{s.q0, s.q1}, s.aux...) }

// gadget returns G = Q1·Π(aux) mod Q0: the factor of the plaintext on the Q0 limb of
// every key-switching key (EVI-FORMATS §5).
func (s *eviSpec) gadget() uint64 {
	g := new(big.Int).SetUint64(s.q1)
	for _, p := range s.aux {
		g.Mul(g, new(big.Int).SetUint64(p))
	}
	return g.Mod(g, new(big.Int).SetUint64(s.q0)).Uint64()
}

// eviRing is the ring Z[X]/(X^N+1) over a preset's moduli with the permutations between
// lattigo's NTT slot order and deb's. Polynomials handed around in this package's evi
// code are "deb-NTT" polys: NTT form, plain residues, deb's slot order on every level.
type eviRing struct {
	spec   *eviSpec
	r      *ring.Ring
	toDeb  [][]int32 // per level: lattigo slot j holds what deb keeps in slot toDeb[j]
	gadget uint64
}

var eviRingCache sync.Map // preset name -> *eviRing

func newEVIRing(spec *eviSpec) (*eviRing, error) {
	if v, ok := eviRingCache.Load(spec.name); ok {
		return v.(*eviRing), nil
	}
	r, err := ring.NewRing(ringDegree, spec.moduli())
	if err != nil {
		return nil, Wrap(ErrInternal, "evi", err, "ring of preset %s", spec.name)
	}
	er := &eviRing{spec: spec, r: r, gadget: spec.gadget()}
	// NTT of the monomial X gives, in lattigo's order, the points lattigo evaluates at;
	// deb evaluates slot i at psi^(2·bitrev(i)+1), psi the smallest primitive 2N-th root.
	x := r.NewMonomialXi(1)
	r.NTT(x, x)
	for lvl, q := range r.ModuliChain() {
		psi := minPrimitive2NthRoot(q, ringDegree)
		slot := make(map[uint64]int32, ringDegree)
		for i := 0; i < ringDegree; i++ {
			e := 2*uint64(bits.Reverse64(uint64(i))>>(64-logN)) + 1
			slot[powMod(psi, e, q)] = int32(i)
		}
		perm := make([]int32, ringDegree)
		for j, v := range x.Coeffs[lvl] {
			i, ok := slot[v]
			if !ok {
				return nil, Errorf(ErrInternal, "evi", "lattigo and deb evaluate at different points mod %d", q)
			}
			perm[j] = i
		}
		er.toDeb = append(er.toDeb, perm)
	}
	v, _ := eviRingCache.LoadOrStore(spec.name, er)
	return v.(*eviRing), nil
}

func powMod(b, e, m uint64) uint64 {
	r := uint64(1)
	b %= m
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = mulMod(r, b, m)
		}
		b = mulMod(b, b, m)
	}
	return r
}

func mulMod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, r := bits.Div64(hi%m, lo, m)
	return r
}

// minPrimitive2NthRoot returns the numerically smallest primitive 2n-th root of unity
// mod the prime q (q ≡ 1 mod 2n, n a power of two): deb's NTTRootType::MIN.
func minPrimitive2NthRoot(q uint64, n int) uint64 {
	m := uint64(2 * n)
	var psi uint64
	for g := uint64(2); ; g++ {
		psi = powMod(g, (q-1)/m, q)
		if powMod(psi, uint64(n), q) == q-1 { // order exactly 2n
			break
		}
	}
	// Every primitive 2n-th root is psi^k for an odd k.
	best, p, psi2 := psi, psi, mulMod(psi, psi, q)
	for k := 3; k < int(m); k += 2 {
		p = mulMod(p, psi2, q)
		best = min(best, p)
	}
	return best
}

// newPoly returns a zero poly over every modulus of the ring.
func (er *eviRing) newPoly() ring.Poly { return er.r.NewPoly() }

// permute reorders one level in place: to deb's order (toDebOrder) or back to lattigo's.
func (er *eviRing) permute(lvl int, row []uint64, toDebOrder bool, tmp []uint64) {
	perm := er.toDeb[lvl]
	if toDebOrder {
		for j, i := range perm {
			tmp[i] = row[j]
		}
	} else {
		for j, i := range perm {
			tmp[j] = row[i]
		}
	}
	copy(row, tmp)
}

// ntt takes a coefficient-form poly (all levels) to deb-NTT form, in place.
func (er *eviRing) ntt(p ring.Poly) {
	er.r.NTT(p, p)
	tmp := make([]uint64, ringDegree)
	for lvl := range p.Coeffs {
		er.permute(lvl, p.Coeffs[lvl], true, tmp)
	}
}

// nttLevel takes one level of a coefficient-form poly to deb-NTT form, in place.
func (er *eviRing) nttLevel(lvl int, row []uint64) {
	sub := er.r.SubRings[lvl]
	sub.NTT(row, row)
	er.permute(lvl, row, true, make([]uint64, ringDegree))
}

// inttLevel takes one level from deb-NTT form back to coefficients, in place.
func (er *eviRing) inttLevel(lvl int, row []uint64) {
	er.permute(lvl, row, false, make([]uint64, ringDegree))
	er.r.SubRings[lvl].INTT(row, row)
}

// ternaryPoly lifts ternary coefficients onto every level and takes them to deb-NTT form.
func (er *eviRing) ternaryPoly(coeffs []int8) ring.Poly {
	p := er.newPoly()
	for lvl, q := range er.r.ModuliChain() {
		row := p.Coeffs[lvl]
		for i, c := range coeffs {
			switch c {
			case 1:
				row[i] = 1
			case -1:
				row[i] = q - 1
			}
		}
	}
	er.ntt(p)
	return p
}

// centered returns the residue c mod q as a signed value in (-q/2, q/2].
func centered(c, q uint64) int64 {
	if c > q/2 {
		return -int64(q - c)
	}
	return int64(c)
}

// Bit-packing (EVI-FORMATS §3): a poly's N values at width w form one LSB-first bit
// stream, value j in bits [j·w, (j+1)·w). Values are reduced mod 2^w.

// packedSize is the size of one poly packed at width w.
func packedSize(w int) int { return ringDegree * w / 8 }

// packBits appends the values packed at width w (1..64) to dst, 64 bits at a time.
func packBits(dst []byte, vals []uint64, w int) []byte {
	var acc uint64 // pending bits, LSB first
	n := 0         // number of pending bits, < 64
	mask := ^uint64(0) >> (64 - w)
	for _, v := range vals {
		v &= mask
		acc |= v << n // bits past 64 are dropped here and carried below
		if n+w >= 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			acc = v >> (64 - n) // 0 when n == 0 (a Go shift by 64)
			n = n + w - 64
		} else {
			n += w
		}
	}
	for ; n > 0; n -= 8 {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// unpackBits reads len(vals) values of width w from src (which must hold them).
func unpackBits(src []byte, vals []uint64, w int) {
	for j := range vals {
		vals[j] = readBitsLE(src, j*w, w)
	}
}

// readBitsLE reads w ≤ 64 bits of src starting at bit offset bit, LSB first.
func readBitsLE(src []byte, bit, w int) uint64 {
	var v uint64
	got := 0
	for got < w {
		b := src[(bit+got)>>3]
		off := (bit + got) & 7
		take := min(8-off, w-got)
		v |= uint64(b>>off&(1<<take-1)) << got
		got += take
	}
	return v
}

// readPoly unpacks one poly at width w from the front of *src and advances it.
func readPoly(src *[]byte, w int) ([]uint64, error) {
	n := packedSize(w)
	if len(*src) < n {
		return nil, fmt.Errorf("truncated: a polynomial at %d bits needs %d bytes, %d left", w, n, len(*src))
	}
	vals := make([]uint64, ringDegree)
	unpackBits((*src)[:n], vals, w)
	*src = (*src)[n:]
	return vals, nil
}
