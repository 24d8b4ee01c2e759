package core

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// Generation of key data in enVector's own layout (EVI-FORMATS.md §4-§6): SecKey, EncKey
// and EvalKey bytes as evi writes them, made with lattigo's samplers and ring arithmetic
// from streams of one seed. Every key draws from its own stream, so keys are made in
// parallel and a seed still fixes every byte.

// evi eval modes as evi's metadata names them.
const (
	eviModeRMP    = "RMP"
	eviModeFLAT   = "FLAT"
	eviModeSINGLE = "SINGLE"
	eviModeMM     = "MM"
	eviModeMM32   = "MM32"
)

// eviMMKeys is the number of automorphism keys of MM and MM32: X -> X^(2·sig+1), sig < N.
const eviMMKeys = ringDegree

// eviSecret is a secret key in the forms generation and verification use.
type eviSecret struct {
	coeffs []int8    // ternary, coefficient order
	s      ring.Poly // deb-NTT, every level
}

func (sec *eviSecret) wipe() {
	if sec == nil {
		return
	}
	wipeInt8(sec.coeffs)
	for _, row := range sec.s.Coeffs {
		clear(row)
	}
}

// eviKSK is one key-switching key (or the EncKey) as stored: deb-NTT values of the Q0
// limb and of the P slot (for IP1-IP3 key-switching keys, the aliased residue of §5).
type eviKSK struct{ aQ, aP, bQ, bP []uint64 }

// sampleEVISecret draws a ternary secret of Hamming weight 1024 with lattigo's sampler.
func sampleEVISecret(er *eviRing, prng sampling.PRNG) (*eviSecret, error) {
	return sampleEVITernary(er, prng, eviHammingWeight)
}

// sampleEVITernary draws a ternary secret of Hamming weight hw (uniform positions and
// signs) with lattigo's sampler.
func sampleEVITernary(er *eviRing, prng sampling.PRNG, hw int) (*eviSecret, error) {
	r0 := er.r.AtLevel(0)
	ts, err := ring.NewSampler(prng, r0, ring.Ternary{H: hw}, false)
	if err != nil {
		return nil, Wrap(ErrInternal, "evi", err, "ternary sampler")
	}
	p := r0.NewPoly()
	defer clear(p.Coeffs[0])
	ts.Read(p)
	coeffs, err := ternaryCoeffs(p.Coeffs[0], er.spec.q0)
	if err != nil {
		return nil, err
	}
	return secretFromEVICoeffs(er, coeffs), nil
}

// secretFromEVICoeffs builds the secret's forms from its coefficients.
func secretFromEVICoeffs(er *eviRing, coeffs []int8) *eviSecret {
	return &eviSecret{coeffs: coeffs, s: er.ternaryPoly(coeffs)}
}

// rlweDraw samples the error e (one small polynomial, the same on every level) and a
// uniform a, both in deb-NTT form on every level, from prng.
func (er *eviRing) rlweDraw(prng sampling.PRNG) (e, a ring.Poly) {
	gs := ring.NewGaussianSampler(prng, er.r, ring.DiscreteGaussian{Sigma: eviSigma, Bound: eviErrorBound}, false)
	e = gs.ReadNew()
	er.ntt(e)
	a = ring.NewUniformSampler(prng, er.r).ReadNew()
	return e, a
}

// rlweLevel sets b = e - a·s (+ f·x when x is set) on one level: deb-NTT values mod its prime.
func (er *eviRing) rlweLevel(lvl int, a, s, e, x []uint64, f uint64, b []uint64) {
	sub := er.r.SubRings[lvl]
	q, u := sub.Modulus, sub.BRedConstant
	for i := range b {
		v := e[i] + q - ring.BRed(a[i], s[i], q, u) // in [1, 2q)
		if v >= q {
			v -= q
		}
		if x != nil {
			if v += ring.BRed(f, x[i], q, u); v >= q {
				v -= q
			}
		}
		b[i] = v
	}
}

// genEncKey makes the EncKey: (a, b) with b = e - a·s mod Q0 and mod Q1, the same e.
func (er *eviRing) genEncKey(sec *eviSecret, prng sampling.PRNG) eviKSK {
	e, a := er.rlweDraw(prng)
	k := eviKSK{aQ: a.Coeffs[0], aP: a.Coeffs[1], bQ: make([]uint64, ringDegree), bP: make([]uint64, ringDegree)}
	er.rlweLevel(0, k.aQ, sec.s.Coeffs[0], e.Coeffs[0], nil, 0, k.bQ)
	er.rlweLevel(1, k.aP, sec.s.Coeffs[1], e.Coeffs[1], nil, 0, k.bP)
	return k
}

// genKSK makes a key-switching key in evi's two-slot form from the plaintext x (deb-NTT
// mod Q0) to the secret: on Q0, b = e - a·s + G·x; in the P slot, for IP0 b = e - a·s
// mod Q1, for IP1-IP3 the aliasing recipe of EVI-FORMATS §5 (what evi stores there).
func (er *eviRing) genKSK(sec *eviSecret, xQ0 []uint64, prng sampling.PRNG) eviKSK {
	e, a := er.rlweDraw(prng)
	k := eviKSK{aQ: a.Coeffs[0], bQ: make([]uint64, ringDegree), bP: make([]uint64, ringDegree)}
	er.rlweLevel(0, k.aQ, sec.s.Coeffs[0], e.Coeffs[0], xQ0, er.gadget, k.bQ)
	if len(er.spec.aux) == 0 {
		k.aP = a.Coeffs[1]
		er.rlweLevel(1, k.aP, sec.s.Coeffs[1], e.Coeffs[1], nil, 0, k.bP)
		return k
	}
	last := er.r.Level()
	k.aP = a.Coeffs[last]
	er.aliasedSlot(k.aP, sec.s, e, k.bP)
	return k
}

// aliasedSlot computes evi's P slot for IP1-IP3 from A (uniform mod the last P prime),
// the secret and the error (deb-NTT on every level), slot by slot. deb's key has limbs
// Q0, Q1, aux..., but evi points every limb past Q0 at one buffer, so deb's per-limb
// loops overwrite it in turn with u64 arithmetic (EVI-FORMATS §5): reproduced exactly.
func (er *eviRing) aliasedSlot(A []uint64, s, e ring.Poly, out []uint64) {
	last := er.r.Level()
	sub := er.r.SubRings[last]
	pl, u := sub.Modulus, sub.BRedConstant
	primes := er.r.ModuliChain()[1:]
	ep := make([]uint64, len(primes))
	for i := range out {
		for j := range primes {
			ep[j] = e.Coeffs[1+j][i]
		}
		out[i] = aliasRecipe(ring.BRed(A[i], s.Coeffs[last][i], pl, u), ep, primes)
	}
}

// aliasRecipe finishes one slot of the aliased P slot from t = A·S mod p_L (the last
// limb's product, which wins), the error's NTT value mod each P prime, and the P primes.
func aliasRecipe(t uint64, ep, primes []uint64) uint64 {
	b := t
	for j, p := range primes { // subPoly: b = e - b per limb, wrapping like deb's u64 code
		b = ep[j] - b
		if b>>63 == 1 {
			b += p
		}
	}
	for _, p := range primes { // the final reduction of addPoly, per limb
		if t := b - p; t>>63 == 0 {
			b = t
		}
	}
	return b
}

// relinPlain returns s² mod Q0, deb-NTT.
func (er *eviRing) relinPlain(sec *eviSecret) []uint64 {
	sub := er.r.SubRings[0]
	x := make([]uint64, ringDegree)
	sub.MulCoeffsBarrett(sec.s.Coeffs[0], sec.s.Coeffs[0], x)
	return x
}

// modPackPlain returns the plaintext of mod-pack key k of rank r, deb-NTT mod Q0:
// coefficient r·j holds s[j·r + r-1-k], the others are 0.
func (er *eviRing) modPackPlain(sec *eviSecret, r, k int) []uint64 {
	x := make([]uint64, ringDegree)
	er.liftTernary(0, func(i int) int8 {
		if i%r != 0 {
			return 0
		}
		return sec.coeffs[(i/r)*r+r-1-k]
	}, x)
	er.nttLevel(0, x)
	return x
}

// autoPlain returns s(X^(2·sig+1)) on level lvl, deb-NTT.
func (er *eviRing) autoPlain(sec *eviSecret, sig, lvl int) []uint64 {
	g := 2*sig + 1
	perm := make([]int8, ringDegree)
	for i, c := range sec.coeffs {
		j := (i * g) % (2 * ringDegree)
		if j >= ringDegree {
			perm[j-ringDegree] = -c
		} else {
			perm[j] = c
		}
	}
	x := make([]uint64, ringDegree)
	er.liftTernary(lvl, func(i int) int8 { return perm[i] }, x)
	wipeInt8(perm)
	er.nttLevel(lvl, x)
	return x
}

func (er *eviRing) liftTernary(lvl int, c func(i int) int8, row []uint64) {
	q := er.r.ModuliChain()[lvl]
	for i := range row {
		switch c(i) {
		case 1:
			row[i] = 1
		case -1:
			row[i] = q - 1
		default:
			row[i] = 0
		}
	}
}

// pack appends the key in evi's two-slot order: a_Q0, a_P, b_Q0, b_P.
func (k eviKSK) pack(dst []byte, spec *eviSpec) []byte {
	dst = packBits(dst, k.aQ, spec.wq)
	dst = packBits(dst, k.aP, spec.wp)
	dst = packBits(dst, k.bQ, spec.wq)
	return packBits(dst, k.bP, spec.wp)
}

// The MM and MM32 automorphism keys are deb's own keys: every prime a limb, one gadget
// digit per chain prime (IP0: chain Q0 with special prime Q1; IP1-IP3: chain Q0, Q1
// with the aux primes as special primes).

// mmShape is the limb structure of an MM key of a preset.
type mmShape struct {
	chain   int      // number of chain primes = gadget digits
	widths  []int    // bit width of every limb (num_p of them)
	factors []uint64 // digit i adds factors[i]·x on limb i: P·Π(chain primes but i) mod q_i
}

func (er *eviRing) mmShape() mmShape {
	mods := er.r.ModuliChain()
	chain := 2
	if len(er.spec.aux) == 0 {
		chain = 1
	}
	sh := mmShape{chain: chain}
	for _, q := range mods {
		sh.widths = append(sh.widths, bits.Len64(q))
	}
	for i := 0; i < chain; i++ {
		q := mods[i]
		f := uint64(1) % q
		for j, p := range mods {
			if j != i {
				f = mulMod(f, p%q, q)
			}
		}
		sh.factors = append(sh.factors, f)
	}
	return sh
}

// genMMKey appends automorphism key sig: for each digit, for each limb, a then b.
func (er *eviRing) genMMKey(dst []byte, sh mmShape, sec *eviSecret, sig int, prng sampling.PRNG) []byte {
	b := make([]uint64, ringDegree)
	for d := 0; d < sh.chain; d++ {
		e, a := er.rlweDraw(prng)
		x := er.autoPlain(sec, sig, d)
		for l := range sh.widths {
			if l == d {
				er.rlweLevel(l, a.Coeffs[l], sec.s.Coeffs[l], e.Coeffs[l], x, sh.factors[d], b)
			} else {
				er.rlweLevel(l, a.Coeffs[l], sec.s.Coeffs[l], e.Coeffs[l], nil, 0, b)
			}
			dst = packBits(dst, a.Coeffs[l], sh.widths[l])
			dst = packBits(dst, b, sh.widths[l])
		}
	}
	return dst
}

// eviEvalPlan is what an EvalKey of a preset, eval mode and dims holds.
type eviEvalPlan struct {
	spec  *eviSpec
	mode  string // as the metadata writes it: RMP, FLAT, NULL (SINGLE), MM, MM32
	ranks []int  // EVIKeys<rank>.bin files, ascending
	meta  []int  // the metadata's "Ranks"
	mm    bool
	mms   bool // MMS/MMS32: the MM keys plus the extras of evi_mms.go
}

// planEVIEval checks the eval mode against the preset and lists the files.
func planEVIEval(spec *eviSpec, evalMode string, dims []int) (*eviEvalPlan, error) {
	mode := strings.ToUpper(strings.TrimSpace(evalMode))
	ok := false
	for _, m := range spec.modes {
		ok = ok || m == mode
	}
	if !ok {
		return nil, Errorf(ErrInvalidArgument, "evi", "eval mode %s is not offered with preset %s; accepted: %s", quoteShort(evalMode), spec.name, strings.Join(spec.modes, ", "))
	}
	dims, err := CheckDims(dims)
	if err != nil {
		return nil, err
	}
	pl := &eviEvalPlan{spec: spec, mode: mode, meta: dims}
	switch mode {
	case eviModeRMP:
		seen := map[int]bool{}
		for _, d := range dims {
			r := max(32, 1<<(bits.TrailingZeros(uint(d))/2)) // 2^floor(log2(d)/2): 32 up to 2048, 64 at 4096
			if !seen[r] {
				seen[r] = true
				pl.ranks = append(pl.ranks, r)
			}
		}
	case eviModeFLAT:
		pl.ranks = dims
	case eviModeSINGLE: // evi writes the relinearization key alone, under rank 32, for every dim
		pl.mode, pl.ranks, pl.meta = "NULL", []int{32}, DefaultDims()
	case eviModeMM, eviModeMM32:
		pl.ranks, pl.mm = []int{dims[0]}, true // the context's rank: the first (smallest) dim
	case eviModeMMS, eviModeMMS32: // MMS hook (evi_mms.go): MM plus the shared-secret extras
		pl.ranks, pl.mm, pl.mms = []int{dims[0]}, true, true
	default:
		return nil, Errorf(ErrInvalidArgument, "evi", "eval mode %s cannot be generated yet", mode)
	}
	sort.Ints(pl.ranks)
	return pl, nil
}

// metadataJSON is metadata-eval.json byte for byte as evi writes it (4-space indent).
func (pl *eviEvalPlan) metadataJSON() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n    \"EvalMode\": %q,\n    \"ParameterPreset\": %q,\n    \"Ranks\": [\n", pl.mode, pl.spec.name)
	for i, r := range pl.meta {
		b.WriteString("        " + strconv.Itoa(r))
		if i < len(pl.meta)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("    ]\n}\n")
	return []byte(b.String())
}

// rankFileSize is the size of EVIKeys<rank>.bin.
func (pl *eviEvalPlan) rankFileSize(rank int) int64 {
	spec := pl.spec
	if pl.mm {
		if pl.mms { // MMS hook (evi_mms.go): the extras replace the i32 count 0
			er, _ := newEVIRing(spec)
			return int64(eviMMFileHeader(pl) + eviMMKeys*pl.mmKeySize() + er.mmsExtrasSize())
		}
		return int64(eviMMFileHeader(pl) + eviMMKeys*pl.mmKeySize() + 4)
	}
	keys := 1 + rank
	if pl.mode == "NULL" {
		keys = 1
	}
	return int64(8 + keys*2*(packedSize(spec.wq)+packedSize(spec.wp)))
}

func (pl *eviEvalPlan) mmKeySize() int {
	er, _ := newEVIRing(pl.spec)
	sh := er.mmShape()
	n := 0
	for _, w := range sh.widths {
		n += 2 * packedSize(w)
	}
	return sh.chain * n
}

func eviMMFileHeader(pl *eviEvalPlan) int { return 8 + 4 + len(pl.spec.moduli()) }

// eviHeader is the 8-byte header of EVIKeys<rank>.bin.
func eviHeader(spec *eviSpec) []byte {
	return []byte{0x03, 'E', 'V', 'I', 'S', 0x01, byte(spec.wq), byte(spec.wp)}
}

// generateEVIKeys makes SecKey, EncKey and EvalKey bytes in evi's layouts for a preset
// (IP0-IP3) and eval mode (RMP, FLAT, SINGLE with IP0, MM with IP0-IP2, MM32 with IP3),
// every random choice drawn from rnd.
func generateEVIKeys(preset, evalMode string, dims []int, rnd *streams) (sec, enc, eval []byte, err error) {
	sec, enc, eval, src, err := generateEVIKeysLazy(preset, evalMode, dims, rnd)
	if err == nil && src != nil {
		eval, err = src.bytes()
	}
	return sec, enc, eval, err
}

// encodeEVIEncKey lays out an EncKey: 0x02, tag, "EVIS" 0x01, wq, wp, a_Q0 a_Q1 b_Q0 b_Q1.
func encodeEVIEncKey(spec *eviSpec, k eviKSK) []byte {
	out := make([]byte, 0, eviEncKeyHeader+2*(packedSize(spec.wq)+packedSize(spec.wp)))
	out = append(out, 0x02)
	out = append(out, eviPresetTag(spec.name)...)
	out = append(out, eviMagic...)
	out = append(out, byte(spec.wq), byte(spec.wp))
	return k.pack(out, spec)
}

// writeEVIEvalKey writes the EvalKey archive to w front to back: each file's header
// (its size is known beforehand), then its bytes as they are made. The MM key file is
// made in windows of keys generated in parallel and written in order.
func writeEVIEvalKey(w io.Writer, pl *eviEvalPlan, er *eviRing, s *eviSecret, rnd *streams) error {
	cw := &countingWriter{w: w}
	if _, err := cw.Write([]byte(eviMagic)); err != nil {
		return err
	}
	for _, rank := range pl.ranks {
		name := fmt.Sprintf("EVIKeys%d.bin", rank)
		size := pl.rankFileSize(rank)
		writeArchiveEntry(cw, name, size)
		start := cw.n
		var err error
		if pl.mm {
			err = writeEVIMMFile(cw, pl, er, s, rnd)
		} else {
			err = writeEVIRankFile(cw, pl, er, s, rank, rnd)
		}
		if err != nil {
			return err
		}
		if cw.err != nil {
			return Wrap(ErrIO, "evi", cw.err, "writing EvalKey")
		}
		if cw.n-start != size {
			return Errorf(ErrInternal, "evi", "%s: wrote %d bytes, announced %d", name, cw.n-start, size)
		}
	}
	meta := pl.metadataJSON()
	writeArchiveEntry(cw, "metadata-eval.json", int64(len(meta)))
	cw.Write(meta)
	if cw.err != nil {
		return Wrap(ErrIO, "evi", cw.err, "writing EvalKey")
	}
	return nil
}

func writeArchiveEntry(w io.Writer, name string, size int64) {
	var hdr []byte
	hdr = append(hdr, 'F')
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(name)))
	hdr = append(hdr, name...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(size))
	w.Write(hdr)
}

// countingWriter counts what it wrote and keeps the first error (later writes are dropped).
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// writeEVIRankFile writes EVIKeys<rank>.bin of RMP, FLAT or SINGLE: header, the
// relinearization key, then rank mod-pack keys section by section (all a_Q0, all a_P,
// all b_Q0, all b_P). The sections interleave keys, so the file's keys are held packed.
func writeEVIRankFile(w io.Writer, pl *eviEvalPlan, er *eviRing, s *eviSecret, rank int, rnd *streams) error {
	spec := pl.spec
	n := rank
	if pl.mode == "NULL" {
		n = 0
	}
	relin := make([]byte, 0, 2*(packedSize(spec.wq)+packedSize(spec.wp)))
	sections := make([][4][]byte, n)
	jobs := make([]func() error, 0, 1+n)
	jobs = append(jobs, func() error {
		relin = er.genKSK(s, er.relinPlain(s), rnd.prng(fmt.Sprintf("evi/%d/relin", rank))).pack(relin, spec)
		return nil
	})
	for k := 0; k < n; k++ {
		jobs = append(jobs, func() error {
			key := er.genKSK(s, er.modPackPlain(s, rank, k), rnd.prng(fmt.Sprintf("evi/%d/modpack/%d", rank, k)))
			sections[k] = [4][]byte{
				packBits(nil, key.aQ, spec.wq), packBits(nil, key.aP, spec.wp),
				packBits(nil, key.bQ, spec.wq), packBits(nil, key.bP, spec.wp),
			}
			return nil
		})
	}
	if err := runParallel(jobs, nil); err != nil {
		return err
	}
	w.Write(eviHeader(spec))
	w.Write(relin)
	for part := 0; part < 4; part++ {
		for k := range sections {
			w.Write(sections[k][part])
		}
	}
	return nil
}

// eviMMWindow is how many automorphism keys are made in parallel before being written.
const eviMMWindow = 64

// writeEVIMMFile writes EVIKeys<rank>.bin of MM/MM32: header (u32 num_p, the limb
// widths), the 4096 automorphism keys in order, and an i32 count of shared secrets (0).
func writeEVIMMFile(w io.Writer, pl *eviEvalPlan, er *eviRing, s *eviSecret, rnd *streams) error {
	sh := er.mmShape()
	hdr := eviHeader(pl.spec)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(sh.widths)))
	for _, wd := range sh.widths {
		hdr = append(hdr, byte(wd))
	}
	w.Write(hdr)
	keySize := pl.mmKeySize()
	bufs := make([][]byte, eviMMWindow)
	for i := range bufs {
		bufs[i] = make([]byte, 0, keySize)
	}
	for start := 0; start < eviMMKeys; start += eviMMWindow {
		jobs := make([]func() error, 0, eviMMWindow)
		for i := 0; i < eviMMWindow && start+i < eviMMKeys; i++ {
			sig := start + i
			jobs = append(jobs, func() error {
				bufs[i] = er.genMMKey(bufs[i][:0], sh, s, sig, rnd.prng("evi/mm/"+strconv.Itoa(sig)))
				return nil
			})
		}
		if err := runParallel(jobs, nil); err != nil {
			return err
		}
		for i := range jobs {
			w.Write(bufs[i])
		}
	}
	if pl.mms { // MMS hook (evi_mms.go): the shared-secret extras instead of a count of 0
		return writeMMSExtras(w, er, s, rnd)
	}
	w.Write([]byte{0, 0, 0, 0})
	return nil
}
