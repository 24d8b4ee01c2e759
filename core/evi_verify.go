package core

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tuneinsight/lattigo/v5/ring"
)

// Decoding and algebraic verification of key data in enVector's layout: EncKey is an
// RLWE sample under SecKey and every key-switching key in EvalKey satisfies its
// relation (EVI-FORMATS.md §4-§6).

// eviNoiseLimit is the largest |e| accepted in a key. Errors have σ = 3.2: keys evi
// writes measure at most about 15, ours at most 19 (lattigo's bound, 6σ); a key under
// another secret leaves residues near Q/2 (Q ≥ 2^30).
const eviNoiseLimit = 64

// eviReport is what verifyEVIKeys measured.
type eviReport struct {
	Preset, EvalMode string
	HammingWeight    int      // non-zero coefficients of the secret (1024 in evi's keys)
	EncKeyNoise      int64    // largest |e| of EncKey (the same e mod Q0 and Q1)
	Files            []string // the EVIKeys files checked
	Keys             int      // key-switching keys checked
	KeyNoise         int64    // largest |e| over every RLWE limb of those keys
	AliasedSlots     int      // P-slot values of IP1-IP3 keys reproduced by the aliasing recipe
	SubSecretWeights []int    // MMS: Hamming weights of the sub-secrets recovered from the backward keys
}

// decodeEVISecret reads a SecKey in evi's layout for spec: any ternary secret (the
// Hamming weight is for the caller to judge).
func decodeEVISecret(spec *eviSpec, b []byte) ([]int8, error) {
	op := "evi.seckey"
	if len(b) != eviSecKeySize || b[0] != 0x01 {
		return nil, Errorf(ErrCorrupt, op, "SecKey data is %d bytes; accepted: %d bytes starting with 0x01", len(b), eviSecKeySize)
	}
	if !bytes.Equal(b[1:5], eviPresetTag(spec.name)) {
		return nil, Errorf(ErrCorrupt, op, "SecKey data names another preset than %s", spec.name)
	}
	coeffs := make([]int8, ringDegree)
	for i := range coeffs {
		switch (b[5+i/4] >> (6 - 2*(i%4))) & 3 {
		case 1:
			coeffs[i] = 1
		case 3:
			coeffs[i] = -1
		case 2:
			wipeInt8(coeffs)
			return nil, Errorf(ErrCorrupt, op, "SecKey data holds an invalid coefficient code")
		}
	}
	return coeffs, nil
}

// decodeEVIEncKey reads an EncKey in evi's layout for spec.
func decodeEVIEncKey(spec *eviSpec, b []byte) (eviKSK, error) {
	op := "evi.enckey"
	if len(b) < eviEncKeyHeader || b[0] != 0x02 || !bytes.Equal(b[1:5], eviPresetTag(spec.name)) || string(b[5:10]) != eviMagic {
		return eviKSK{}, Errorf(ErrCorrupt, op, "EncKey data does not start with 0x02, %s's tag and EVIS 0x01", spec.name)
	}
	if int(b[10]) != spec.wq || int(b[11]) != spec.wp {
		return eviKSK{}, Errorf(ErrCorrupt, op, "EncKey bit widths %d, %d; preset %s has %d, %d", b[10], b[11], spec.name, spec.wq, spec.wp)
	}
	rest := b[eviEncKeyHeader:]
	if want := 2 * (packedSize(spec.wq) + packedSize(spec.wp)); len(rest) != want {
		return eviKSK{}, Errorf(ErrCorrupt, op, "EncKey data is %d bytes; %s calls for %d", len(b), spec.name, eviEncKeyHeader+want)
	}
	return readKSK(&rest, spec.wq, spec.wp)
}

func readKSK(src *[]byte, wq, wp int) (eviKSK, error) {
	var k eviKSK
	var err error
	for _, f := range []struct {
		dst *[]uint64
		w   int
	}{{&k.aQ, wq}, {&k.aP, wp}, {&k.bQ, wq}, {&k.bP, wp}} {
		if *f.dst, err = readPoly(src, f.w); err != nil {
			return eviKSK{}, err
		}
	}
	return k, nil
}

// residual returns e = b + a·s - f·x on one level (x nil: no plaintext) in coefficient
// form, centered, and its largest |e|. Values of a and b must be residues (< q).
func (er *eviRing) residual(lvl int, a, b, s, x []uint64, f uint64) ([]int64, int64, bool) {
	sub := er.r.SubRings[lvl]
	q, u := sub.Modulus, sub.BRedConstant
	v := make([]uint64, ringDegree)
	for i := range v {
		if a[i] >= q || b[i] >= q {
			return nil, 0, false
		}
		t := b[i] + ring.BRed(a[i], s[i], q, u)
		if x != nil {
			t += q - ring.BRed(f, x[i], q, u)
		}
		v[i] = t % q
	}
	er.inttLevel(lvl, v)
	e := make([]int64, ringDegree)
	var m int64
	for i, c := range v {
		e[i] = centered(c, q)
		m = max(m, abs64(e[i]))
	}
	return e, m, true
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// signedNTT lifts a small signed polynomial onto level lvl in deb-NTT form.
func (er *eviRing) signedNTT(lvl int, e []int64) []uint64 {
	q := er.r.ModuliChain()[lvl]
	row := make([]uint64, ringDegree)
	for i, c := range e {
		if c < 0 {
			row[i] = q - uint64(-c)%q
			if row[i] == q {
				row[i] = 0
			}
		} else {
			row[i] = uint64(c) % q
		}
	}
	er.nttLevel(lvl, row)
	return row
}

// checkAliased counts the slots of an IP1-IP3 P slot that the aliasing recipe
// reproduces from the secret and the error e of the Q0 limb. The stored a_P holds A
// mod 2^wp; when the last P prime is wider, A's high bits are searched (IP1: 16
// candidates, IP2: 1024; a wrong secret matches a slot with probability ≤ 2^-22).
func (er *eviRing) checkAliased(k eviKSK, s ring.Poly, e []int64) int {
	last := er.r.Level()
	primes := er.r.ModuliChain()[1:]
	eps := make([][]uint64, len(primes))
	for j := range primes {
		eps[j] = er.signedNTT(1+j, e)
	}
	sub := er.r.SubRings[last]
	pl, u := sub.Modulus, sub.BRedConstant
	wp := er.spec.wp
	mask := uint64(1)<<wp - 1
	step := uint64(0)
	if wp < 64 {
		step = (uint64(1) << wp) % pl
	}
	ep := make([]uint64, len(primes))
	good := 0
	for i := range k.bP {
		for j := range primes {
			ep[j] = eps[j][i]
		}
		S := s.Coeffs[last][i]
		stepS := ring.BRed(step, S, pl, u)
		t := ring.BRed(k.aP[i]%pl, S, pl, u)
		for A := k.aP[i]; A < pl; A += uint64(1) << wp {
			if aliasRecipe(t, ep, primes)&mask == k.bP[i] {
				good++
				break
			}
			t += stepS
			if t >= pl {
				t -= pl
			}
		}
	}
	return good
}

// kskResult is the measure of one key-switching key.
type kskResult struct {
	noise   int64
	aliased int
	err     string // why the key does not satisfy its relation; empty if it does
}

// limb judges the residual of limb l of digit d (from eviRing.residual) for a key whose
// limbs carry one error per digit: it records the noise, and an error when a value is
// not reduced, the noise is over the limit, or the error differs from the digit's first
// limb's (kept in *e0). It reports whether the key still checks out.
func (out *kskResult) limb(d, l int, e []int64, n int64, ok bool, e0 *[]int64) bool {
	out.noise = max(out.noise, n)
	switch {
	case !ok:
		out.err = fmt.Sprintf("digit %d, limb %d holds values that are not reduced", d, l)
	case n > eviNoiseLimit:
		out.err = fmt.Sprintf("digit %d, limb %d: b + a·s - (gadget)·x has coefficients up to %d (accepted: %d)", d, l, n, eviNoiseLimit)
	case *e0 != nil && !equalInt64(*e0, e):
		out.err = fmt.Sprintf("digit %d: limbs 0 and %d carry different errors", d, l)
	case *e0 == nil:
		*e0 = e
	}
	return out.err == ""
}

// checkKSK checks a key of evi's two-slot form against the plaintext x (deb-NTT mod Q0).
func (er *eviRing) checkKSK(k eviKSK, sec *eviSecret, x []uint64) kskResult {
	e, n, ok := er.residual(0, k.aQ, k.bQ, sec.s.Coeffs[0], x, er.gadget)
	if !ok {
		return kskResult{err: "a value of its Q0 limb is not reduced mod Q0"}
	}
	if n > eviNoiseLimit {
		return kskResult{noise: n, err: fmt.Sprintf("b + a·s - G·x mod Q0 has coefficients up to %d (accepted: %d)", n, eviNoiseLimit)}
	}
	if len(er.spec.aux) == 0 {
		e1, n1, ok := er.residual(1, k.aP, k.bP, sec.s.Coeffs[1], nil, 0)
		if !ok {
			return kskResult{err: "a value of its P slot is not reduced mod Q1"}
		}
		if n1 > eviNoiseLimit {
			return kskResult{noise: n1, err: fmt.Sprintf("b + a·s mod Q1 has coefficients up to %d (accepted: %d)", n1, eviNoiseLimit)}
		}
		if !equalInt64(e, e1) {
			return kskResult{noise: max(n, n1), err: "its Q0 and Q1 limbs carry different errors"}
		}
		return kskResult{noise: max(n, n1)}
	}
	good := er.checkAliased(k, sec.s, e)
	if good != ringDegree {
		return kskResult{noise: n, aliased: good, err: fmt.Sprintf("its P slot matches evi's construction in %d of %d slots", good, ringDegree)}
	}
	return kskResult{noise: n, aliased: good}
}

func equalInt64(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// verifyEVIKeys proves that SecKey, EncKey and EvalKey in evi's layout belong together:
// EncKey is an RLWE sample under SecKey with the same small error mod Q0 and Q1, and
// every key in EvalKey satisfies its relation. It fails naming the first key that does
// not, and returns the measured figures.
func verifyEVIKeys(preset, evalMode string, sec, enc, eval []byte) (eviReport, error) {
	op := "evi.verify"
	var rep eviReport
	spec, err := lookupEVISpec(preset)
	if err != nil {
		return rep, err
	}
	er, err := newEVIRing(spec)
	if err != nil {
		return rep, err
	}
	rep.Preset = spec.name
	coeffs, err := decodeEVISecret(spec, sec)
	if err != nil {
		return rep, err
	}
	s := secretFromEVICoeffs(er, coeffs)
	defer s.wipe()
	for _, c := range coeffs {
		if c != 0 {
			rep.HammingWeight++
		}
	}
	ek, err := decodeEVIEncKey(spec, enc)
	if err != nil {
		return rep, err
	}
	e0, n0, ok0 := er.residual(0, ek.aQ, ek.bQ, s.s.Coeffs[0], nil, 0)
	e1, n1, ok1 := er.residual(1, ek.aP, ek.bP, s.s.Coeffs[1], nil, 0)
	rep.EncKeyNoise = max(n0, n1)
	switch {
	case !ok0 || !ok1:
		return rep, Errorf(ErrCorrupt, op, "EncKey holds values that are not reduced mod Q0 or Q1")
	case rep.EncKeyNoise > eviNoiseLimit:
		encErr := Errorf(ErrCorrupt, op, "EncKey is not an encryption of zero under SecKey: b + a·s has coefficients up to %d (accepted: %d); the keys are from different key sets or damaged", rep.EncKeyNoise, eviNoiseLimit)
		// EncKey and EvalKey are public and checked independently: when neither belongs
		// to SecKey, the odd one out is SecKey itself.
		if _, evalErr := verifyEVIEvalKey(op, spec, er, s, evalMode, eval, &eviReport{}); evalErr != nil && KindOf(evalErr) == ErrCorrupt {
			return rep, Errorf(ErrCorrupt, op, "the SecKey belongs neither to its EncKey (b + a·s up to %d) nor to its EvalKey: the SecKey is from another key set or damaged", rep.EncKeyNoise)
		}
		return rep, encErr
	case !equalInt64(e0, e1):
		return rep, Errorf(ErrCorrupt, op, "EncKey carries different errors mod Q0 and mod Q1")
	}

	return verifyEVIEvalKey(op, spec, er, s, evalMode, eval, &rep)
}

// verifyEVIEvalKey checks every key of an EvalKey archive under s, adding to rep.
func verifyEVIEvalKey(op string, spec *eviSpec, er *eviRing, s *eviSecret, evalMode string, eval []byte, repp *eviReport) (eviReport, error) {
	rep := *repp
	var err error
	files := map[string][]byte{}
	var order []string
	if err := walkEVIArchive(eval, func(path string, body []byte) {
		files[path] = body
		order = append(order, path)
	}); err != nil {
		return rep, Errorf(ErrCorrupt, op, "EvalKey: %s", err)
	}
	meta, ok := files["metadata-eval.json"]
	if !ok {
		return rep, Errorf(ErrCorrupt, op, "EvalKey holds no metadata-eval.json")
	}
	var m struct {
		EvalMode, ParameterPreset string
		Ranks                     []int
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return rep, Errorf(ErrCorrupt, op, "EvalKey's metadata-eval.json does not parse")
	}
	mode := strings.ToUpper(evalMode)
	if m.ParameterPreset != spec.name || (m.EvalMode != mode && !(mode == eviModeSINGLE && m.EvalMode == "NULL")) {
		return rep, Errorf(ErrCorrupt, op, "EvalKey's metadata names preset %s and eval mode %s; expected %s and %s", quoteShort(m.ParameterPreset), quoteShort(m.EvalMode), spec.name, mode)
	}
	rep.EvalMode = mode
	pl, err := planEVIEval(spec, mode, m.Ranks)
	if err != nil {
		return rep, err
	}
	if len(files) != len(pl.ranks)+1 {
		return rep, Errorf(ErrCorrupt, op, "EvalKey holds files %v; %s/%s with dims %v calls for ranks %v and metadata-eval.json", order, spec.name, mode, m.Ranks, pl.ranks)
	}
	for _, rank := range pl.ranks {
		name := fmt.Sprintf("EVIKeys%d.bin", rank)
		body, ok := files[name]
		if !ok {
			return rep, Errorf(ErrCorrupt, op, "EvalKey lacks %s (it holds %v)", name, order)
		}
		if int64(len(body)) != pl.rankFileSize(rank) {
			return rep, Errorf(ErrCorrupt, op, "EvalKey's %s is %d bytes; %s/%s calls for %d", name, len(body), spec.name, mode, pl.rankFileSize(rank))
		}
		hdr := eviHeader(spec)
		if !bytes.Equal(body[:len(hdr)], hdr) {
			return rep, Errorf(ErrCorrupt, op, "EvalKey's %s does not start with 0x03 EVIS 0x01 and %s's bit widths", name, spec.name)
		}
		if pl.mm {
			err = verifyEVIMMFile(er, pl, s, name, body, &rep)
		} else {
			err = verifyEVIRankFile(er, pl, s, name, rank, body, &rep)
		}
		if err != nil {
			return rep, err
		}
		rep.Files = append(rep.Files, name)
	}
	*repp = rep
	return rep, nil
}

// runChecks runs n checks on all cores and returns their results in order.
func runChecks(n int, check func(i int) kskResult) ([]kskResult, error) {
	res := make([]kskResult, n)
	jobs := make([]func() error, n)
	for i := range jobs {
		jobs[i] = func() error { res[i] = check(i); return nil }
	}
	return res, runParallel(jobs, nil)
}

func verifyEVIRankFile(er *eviRing, pl *eviEvalPlan, s *eviSecret, name string, rank int, body []byte, rep *eviReport) error {
	spec := pl.spec
	rest := body[8:]
	relin, err := readKSK(&rest, spec.wq, spec.wp)
	if err != nil {
		return Errorf(ErrCorrupt, "evi.verify", "EvalKey's %s: %s", name, err)
	}
	n := rank
	if pl.mode == "NULL" {
		n = 0
	}
	keys := make([]eviKSK, n)
	for part, w := range []int{spec.wq, spec.wp, spec.wq, spec.wp} {
		for k := range keys {
			v, err := readPoly(&rest, w)
			if err != nil {
				return Errorf(ErrCorrupt, "evi.verify", "EvalKey's %s: %s", name, err)
			}
			*[]*[]uint64{&keys[k].aQ, &keys[k].aP, &keys[k].bQ, &keys[k].bP}[part] = v
		}
	}
	res, err := runChecks(1+n, func(i int) kskResult {
		if i == 0 {
			return er.checkKSK(relin, s, er.relinPlain(s))
		}
		return er.checkKSK(keys[i-1], s, er.modPackPlain(s, rank, i-1))
	})
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.err != "" {
			what := "the relinearization key"
			if i > 0 {
				what = fmt.Sprintf("mod-pack key %d", i-1)
			}
			return Errorf(ErrCorrupt, "evi.verify", "%s in EvalKey's %s does not belong to SecKey: %s", what, name, r.err)
		}
		rep.Keys++
		rep.KeyNoise = max(rep.KeyNoise, r.noise)
		rep.AliasedSlots += r.aliased
	}
	return nil
}

func verifyEVIMMFile(er *eviRing, pl *eviEvalPlan, s *eviSecret, name string, body []byte, rep *eviReport) error {
	op := "evi.verify"
	sh := er.mmShape()
	rest := body[8:]
	if binary.LittleEndian.Uint32(rest) != uint32(len(sh.widths)) {
		return Errorf(ErrCorrupt, op, "EvalKey's %s has %d primes; %s's MM keys have %d", name, binary.LittleEndian.Uint32(rest), pl.spec.name, len(sh.widths))
	}
	rest = rest[4:]
	for i, w := range sh.widths {
		if int(rest[i]) != w {
			return Errorf(ErrCorrupt, op, "EvalKey's %s gives prime %d a width of %d bits; %s's is %d", name, i, rest[i], pl.spec.name, w)
		}
	}
	rest = rest[len(sh.widths):]
	keySize := pl.mmKeySize()
	if tail := rest[eviMMKeys*keySize:]; pl.mms { // MMS hook (evi_mms.go): check the extras
		mr, err := verifyMMSExtras(er, s, tail)
		if err != nil {
			return Errorf(ErrCorrupt, op, "EvalKey's %s: %s", name, err)
		}
		rep.Keys += mr.Keys
		rep.KeyNoise = max(rep.KeyNoise, mr.Noise)
		rep.SubSecretWeights = mr.SubWeights
	} else if !bytes.Equal(tail, []byte{0, 0, 0, 0}) {
		return Errorf(ErrCorrupt, op, "EvalKey's %s does not end with a count of 0 shared secrets", name)
	}
	res, err := runChecks(eviMMKeys, func(sig int) kskResult {
		src := rest[sig*keySize : (sig+1)*keySize]
		var out kskResult
		for d := 0; d < sh.chain; d++ {
			x := er.autoPlain(s, sig, d)
			var e0 []int64
			for l, w := range sh.widths {
				a, err := readPoly(&src, w)
				if err != nil {
					return kskResult{err: err.Error()}
				}
				b, _ := readPoly(&src, w)
				var e []int64
				var n int64
				var ok bool
				if l == d {
					e, n, ok = er.residual(l, a, b, s.s.Coeffs[l], x, sh.factors[d])
				} else {
					e, n, ok = er.residual(l, a, b, s.s.Coeffs[l], nil, 0)
				}
				if !out.limb(d, l, e, n, ok, &e0) {
					return out
				}
			}
		}
		return out
	})
	if err != nil {
		return err
	}
	for sig, r := range res {
		if r.err != "" {
			return Errorf(ErrCorrupt, op, "automorphism key %d (X -> X^%d) in EvalKey's %s does not belong to SecKey: %s", sig, 2*sig+1, name, r.err)
		}
		rep.Keys++
		rep.KeyNoise = max(rep.KeyNoise, r.noise)
	}
	return nil
}
