package core

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"strconv"

	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// The MMS and MMS32 extras of EVIKeys<rank>.bin (EVI-FORMATS.md §6): after the 4096
// automorphism keys of MM/MM32, evi 1.6.3 writes
//
//	i32 nss (4) | u8 flags (0: no legacy sections) | u8 has_deb_fwd (1) |
//	forward keys  nss × digit × limb: a, b        (deb's primes, their widths)
//	off-diagonal  nss² × digit × limb: b only      (entry s·nss+j; s == j all zero)
//	backward keys nss × a_Q, a_P, b_Q, b_P         (widths of the backward primes)
//
// for nss sub-secrets s_j that are written nowhere else: forward key s switches the
// secret s to s_j (a deb key like the automorphism keys, plaintext s); off-diagonal entry
// (s, j) reuses forward key s's a under s_j: b = e - a_s·s_j on every limb; backward key
// j switches s_j to s on two primes (Q, P): b_Q = e - a_Q·s + (P mod Q)·s_j,
// b_P = e - a_P·s, one e. The backward primes are IP0's Q0, Q1 for IP1 and the preset's
// own Q0, Q1 for IP2 and IP3. Established on evi 1.6.3's own IP3/MMS32 (and IP1/MMS,
// IP2/MMS) files by recovering every s_j from its backward key and checking every
// relation; evi re-saves such files byte-identically. The diagonal entries (s, s) are no
// keys: evi leaves (1,1)..(nss-1,nss-1) zero and (0, 0) holding a copy of forward key
// nss-1's b polynomials (every digit and limb; seen in all three presets' files), which
// we reproduce so that our files have evi's exact shape.

const (
	eviModeMMS   = "MMS"
	eviModeMMS32 = "MMS32"

	eviMMSSubSecrets = 4 // evi's K_NUM_SHARED_SECRET
)

// eviMMSSubWeight is the Hamming weight of evi's sub-secrets: deb's SecretKeyGenerator
// draws them with its HAMMING_WEIGHT 2730 (measured: every s_j recovered from 1.6.3's
// IP1, IP2 and IP3 files has 2730 non-zero coefficients; the main secret has 1024).
const eviMMSSubWeight = 2730

// sampleMMSSubSecret draws a ternary sub-secret of weight 2730 with lattigo's sampler.
func sampleMMSSubSecret(er *eviRing, prng sampling.PRNG) (*eviSecret, error) {
	return sampleEVITernary(er, prng, eviMMSSubWeight)
}

// mmsBackwardRing returns the ring whose levels 0 and 1 are the backward keys' Q and P.
func (er *eviRing) mmsBackwardRing() (*eviRing, error) {
	if er.spec.name == "IP1" {
		ip0, err := lookupEVISpec("IP0")
		if err != nil {
			return nil, err
		}
		return newEVIRing(ip0)
	}
	return er, nil
}

// mmsExtrasSize is the size of the extras, from the i32 count to the last backward key.
func (er *eviRing) mmsExtrasSize() int {
	sh := er.mmShape()
	limbs := 0
	for _, w := range sh.widths {
		limbs += packedSize(w)
	}
	bw, err := er.mmsBackwardRing()
	if err != nil {
		return 0
	}
	n := eviMMSSubSecrets
	return 4 + 1 + 1 +
		n*sh.chain*2*limbs + // forward keys
		n*n*sh.chain*limbs + // off-diagonal b
		n*2*(packedSize(bw.spec.wq)+packedSize(bw.spec.wp)) // backward keys
}

// debKey is a key in deb's layout: a[d][l], b[d][l] for digit d and limb l (deb-NTT).
type debKey struct{ a, b [][][]uint64 }

// genMMSForward makes forward key s -> to: per digit d a fresh (e, a); on limb l,
// b = e - a·to (+ factors[d]·s on limb d).
func (er *eviRing) genMMSForward(sh mmShape, from, to *eviSecret, prng sampling.PRNG) debKey {
	var k debKey
	for d := 0; d < sh.chain; d++ {
		e, a := er.rlweDraw(prng)
		var ad, bd [][]uint64
		for l := range sh.widths {
			b := make([]uint64, ringDegree)
			if l == d {
				er.rlweLevel(l, a.Coeffs[l], to.s.Coeffs[l], e.Coeffs[l], from.s.Coeffs[l], sh.factors[d], b)
			} else {
				er.rlweLevel(l, a.Coeffs[l], to.s.Coeffs[l], e.Coeffs[l], nil, 0, b)
			}
			ad, bd = append(ad, a.Coeffs[l]), append(bd, b)
		}
		k.a, k.b = append(k.a, ad), append(k.b, bd)
	}
	return k
}

// genMMSOffDiag makes off-diagonal entry (s, j): per digit a fresh e, b = e - a_s·s_j.
func (er *eviRing) genMMSOffDiag(sh mmShape, fwd debKey, to *eviSecret, prng sampling.PRNG) [][][]uint64 {
	gs := ring.NewGaussianSampler(prng, er.r, ring.DiscreteGaussian{Sigma: eviSigma, Bound: eviErrorBound}, false)
	var out [][][]uint64
	for d := 0; d < sh.chain; d++ {
		e := gs.ReadNew()
		er.ntt(e)
		var bd [][]uint64
		for l := range sh.widths {
			b := make([]uint64, ringDegree)
			er.rlweLevel(l, fwd.a[d][l], to.s.Coeffs[l], e.Coeffs[l], nil, 0, b)
			bd = append(bd, b)
		}
		out = append(out, bd)
	}
	return out
}

// genMMSBackward makes backward key s_j -> s on the backward ring's levels 0 (Q), 1 (P).
func (bw *eviRing) genMMSBackward(s, sj *eviSecret, prng sampling.PRNG) eviKSK {
	e, a := bw.rlweDraw(prng)
	k := eviKSK{aQ: a.Coeffs[0], aP: a.Coeffs[1], bQ: make([]uint64, ringDegree), bP: make([]uint64, ringDegree)}
	bw.rlweLevel(0, k.aQ, s.s.Coeffs[0], e.Coeffs[0], sj.s.Coeffs[0], bw.spec.q1%bw.spec.q0, k.bQ)
	bw.rlweLevel(1, k.aP, s.s.Coeffs[1], e.Coeffs[1], nil, 0, k.bP)
	return k
}

// writeMMSExtras writes the extras after the automorphism keys, every random choice
// (the sub-secrets included) drawn from rnd's "evi/mms/..." streams.
func writeMMSExtras(w io.Writer, er *eviRing, s *eviSecret, rnd *streams) error {
	bw, err := er.mmsBackwardRing()
	if err != nil {
		return err
	}
	sh := er.mmShape()
	n := eviMMSSubSecrets
	subs := make([]*eviSecret, n)
	for j := range subs {
		if subs[j], err = sampleMMSSubSecret(er, rnd.prng("evi/mms/sub/"+strconv.Itoa(j))); err != nil {
			return err
		}
		defer subs[j].wipe()
	}
	fwd := make([]debKey, n)
	jobs := make([]func() error, n)
	for i := range jobs {
		jobs[i] = func() error {
			fwd[i] = er.genMMSForward(sh, s, subs[i], rnd.prng("evi/mms/fwd/"+strconv.Itoa(i)))
			return nil
		}
	}
	if err := runParallel(jobs, nil); err != nil {
		return err
	}
	off := make([][][][]uint64, n*n)
	jobs = jobs[:0]
	for i := 0; i < n*n; i++ {
		if i/n == i%n {
			continue
		}
		jobs = append(jobs, func() error {
			off[i] = er.genMMSOffDiag(sh, fwd[i/n], subs[i%n], rnd.prng(fmt.Sprintf("evi/mms/off/%d/%d", i/n, i%n)))
			return nil
		})
	}
	if err := runParallel(jobs, nil); err != nil {
		return err
	}
	sBw, subsBw := s, subs
	if bw != er { // the secrets on the backward ring's primes
		sBw = secretFromEVICoeffs(bw, s.coeffs)
		defer func() { // s.coeffs is the caller's: wipe only the NTT form
			for _, row := range sBw.s.Coeffs {
				clear(row)
			}
		}()
		subsBw = make([]*eviSecret, n)
		for j := range subs {
			subsBw[j] = &eviSecret{s: bw.ternaryPoly(subs[j].coeffs)}
			defer subsBw[j].wipe()
		}
	}
	out := []byte{byte(n), 0, 0, 0, 0, 1}
	for i := range fwd {
		for d := range fwd[i].a {
			for l, wd := range sh.widths {
				out = packBits(out, fwd[i].a[d][l], wd)
				out = packBits(out, fwd[i].b[d][l], wd)
			}
		}
	}
	zero := make([]uint64, ringDegree)
	for i := range off {
		for d := 0; d < sh.chain; d++ {
			for l, wd := range sh.widths {
				switch {
				case i == 0: // evi's entry (0, 0) holds forward key nss-1's b (see the top)
					out = packBits(out, fwd[n-1].b[d][l], wd)
				case off[i] == nil:
					out = packBits(out, zero, wd)
				default:
					out = packBits(out, off[i][d][l], wd)
				}
			}
		}
	}
	for j := 0; j < n; j++ {
		out = bw.genMMSBackward(sBw, subsBw[j], rnd.prng("evi/mms/bwd/"+strconv.Itoa(j))).pack(out, bw.spec)
	}
	if len(out) != er.mmsExtrasSize() {
		return Errorf(ErrInternal, "evi", "MMS extras: made %d bytes, announced %d", len(out), er.mmsExtrasSize())
	}
	_, err = w.Write(out)
	return err
}

// mmsReport is what verifyMMSExtras measured.
type mmsReport struct {
	SubSecrets    int   // sub-secrets recovered from the backward keys
	SubWeights    []int // their Hamming weights
	Keys          int   // forward, off-diagonal and backward keys checked
	Noise         int64 // largest |e| over them
	DiagonalAsEvi bool  // entries (s, s): (0, 0) holds forward key nss-1's b, the others zero
}

// verifyMMSExtras checks the extras under s: it recovers each sub-secret s_j from its
// backward key (e from the P limb, then s_j = (b_Q + a_Q·s - e)·(P mod Q)^-1, which must
// be ternary), then checks every forward and off-diagonal key against s and the s_j.
func verifyMMSExtras(er *eviRing, s *eviSecret, tail []byte) (mmsReport, error) {
	var rep mmsReport
	bad := func(f string, args ...any) (mmsReport, error) {
		return rep, fmt.Errorf("MMS extras: "+f, args...)
	}
	if len(tail) != er.mmsExtrasSize() {
		return bad("%d bytes after the automorphism keys; %s's MMS calls for %d", len(tail), er.spec.name, er.mmsExtrasSize())
	}
	n := int(int32(binary.LittleEndian.Uint32(tail)))
	if n != eviMMSSubSecrets || tail[4] != 0 || tail[5] != 1 {
		return bad("count %d, flags %d, forward-key flag %d; evi writes 4, 0, 1", n, tail[4], tail[5])
	}
	bw, err := er.mmsBackwardRing()
	if err != nil {
		return rep, err
	}
	sh := er.mmShape()
	rest := tail[6:]
	read := func(w int) []uint64 { v, _ := readPoly(&rest, w); return v } // sizes checked above
	fwd := make([]debKey, n)
	for i := range fwd {
		for d := 0; d < sh.chain; d++ {
			var ad, bd [][]uint64
			for _, wd := range sh.widths {
				ad, bd = append(ad, read(wd)), append(bd, read(wd))
			}
			fwd[i].a, fwd[i].b = append(fwd[i].a, ad), append(fwd[i].b, bd)
		}
	}
	off := make([][][][]uint64, n*n)
	for i := range off {
		for d := 0; d < sh.chain; d++ {
			var bd [][]uint64
			for _, wd := range sh.widths {
				bd = append(bd, read(wd))
			}
			off[i] = append(off[i], bd)
		}
	}
	bwk := make([]eviKSK, n)
	for j := range bwk {
		if bwk[j], err = readKSK(&rest, bw.spec.wq, bw.spec.wp); err != nil {
			return bad("%s", err)
		}
	}

	// Sub-secrets from the backward keys.
	sBw := s
	if bw != er {
		sBw = &eviSecret{s: bw.ternaryPoly(s.coeffs)}
		defer sBw.wipe()
	}
	qB, pB := bw.spec.q0, bw.spec.q1
	pInv := new(big.Int).ModInverse(new(big.Int).SetUint64(pB%qB), new(big.Int).SetUint64(qB)).Uint64()
	subs := make([]*eviSecret, n)
	defer func() {
		for _, x := range subs {
			x.wipe()
		}
	}()
	for j, k := range bwk {
		eP, nP, ok := bw.residual(1, k.aP, k.bP, sBw.s.Coeffs[1], nil, 0)
		if !ok || nP > eviNoiseLimit {
			return bad("backward key %d: b_P + a_P·s mod P is not small (up to %d): not a key to SecKey", j, nP)
		}
		// t = (b_Q + a_Q·s - e)·(P mod Q)^-1 mod Q, in coefficients: s_j.
		sub := bw.r.SubRings[0]
		eQ := bw.signedNTT(0, eP)
		t := make([]uint64, ringDegree)
		for i := range t {
			if k.aQ[i] >= qB || k.bQ[i] >= qB {
				return bad("backward key %d holds values not reduced mod Q", j)
			}
			v := (k.bQ[i] + ring.BRed(k.aQ[i], sBw.s.Coeffs[0][i], qB, sub.BRedConstant)) % qB
			v = (v + qB - eQ[i]) % qB
			t[i] = ring.BRed(v, pInv, qB, sub.BRedConstant)
		}
		bw.inttLevel(0, t)
		coeffs := make([]int8, ringDegree)
		hw := 0
		for i, c := range t {
			switch c {
			case 0:
			case 1:
				coeffs[i], hw = 1, hw+1
			case qB - 1:
				coeffs[i], hw = -1, hw+1
			default:
				wipeInt8(coeffs)
				return bad("backward key %d does not hide a ternary sub-secret under SecKey (coefficient %d is %d)", j, i, centered(c, qB))
			}
		}
		subs[j] = secretFromEVICoeffs(er, coeffs)
		rep.SubWeights = append(rep.SubWeights, hw)
		rep.Noise = max(rep.Noise, nP)
		rep.Keys++
	}
	rep.SubSecrets = n

	// Forward and off-diagonal keys: one error per digit, the same on every limb.
	type job struct{ s, j int } // j < 0: forward key s
	var list []job
	for i := 0; i < n; i++ {
		list = append(list, job{i, -1})
		for j := 0; j < n; j++ {
			if j != i {
				list = append(list, job{i, j})
			}
		}
	}
	res, err := runChecks(len(list), func(x int) kskResult {
		jb := list[x]
		var out kskResult
		for d := 0; d < sh.chain; d++ {
			var e0 []int64
			for l := range sh.widths {
				var e []int64
				var nn int64
				var ok bool
				switch {
				case jb.j >= 0:
					e, nn, ok = er.residual(l, fwd[jb.s].a[d][l], off[jb.s*n+jb.j][d][l], subs[jb.j].s.Coeffs[l], nil, 0)
				case l == d:
					e, nn, ok = er.residual(l, fwd[jb.s].a[d][l], fwd[jb.s].b[d][l], subs[jb.s].s.Coeffs[l], s.s.Coeffs[l], sh.factors[d])
				default:
					e, nn, ok = er.residual(l, fwd[jb.s].a[d][l], fwd[jb.s].b[d][l], subs[jb.s].s.Coeffs[l], nil, 0)
				}
				if !out.limb(d, l, e, nn, ok, &e0) {
					return out
				}
			}
		}
		return out
	})
	if err != nil {
		return rep, err
	}
	for x, r := range res {
		if r.err != "" {
			if list[x].j < 0 {
				return bad("forward key %d (s -> s_%d) does not belong to SecKey and the backward keys: %s", list[x].s, list[x].s, r.err)
			}
			return bad("off-diagonal entry (%d, %d) does not belong to forward key %d and s_%d: %s", list[x].s, list[x].j, list[x].s, list[x].j, r.err)
		}
		rep.Keys++
		rep.Noise = max(rep.Noise, r.noise)
	}
	for i := 0; i < n; i++ {
		for d, bd := range off[i*n+i] {
			for l, row := range bd {
				for x, v := range row {
					if (i == 0 && v != fwd[n-1].b[d][l][x]) || (i > 0 && v != 0) {
						return bad("off-diagonal entry (%d, %d) is not what evi writes there (entry (0, 0): forward key %d's b; the others: zero)", i, i, n-1)
					}
				}
			}
		}
	}
	rep.DiagonalAsEvi = true
	return rep, nil
}
