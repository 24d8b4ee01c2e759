package core

import (
	"fmt"
	"math"
	"math/cmplx"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
	"github.com/tuneinsight/lattigo/v5/utils/sampling"
)

// This file is the only place that touches lattigo key types. Nothing here leaves core.

// Stream labels: one independent PRNG stream per key, so keys are made in parallel and
// a seed still fixes every byte.
const (
	labelSecret   = "seckey"
	labelPublic   = "enckey"
	labelRelin    = "evalkey/relin"
	labelMetadata = "metadatakey"
	labelSetID    = "set-id"
)

func labelGalois(galEl uint64) string { return fmt.Sprintf("evalkey/galois/%d", galEl) }

// secretFromTernary rebuilds lattigo's secret key from ternary coefficients: into Q,
// extended to P, NTT and Montgomery form, as lattigo's own key generator leaves it.
func secretFromTernary(params ckks.Parameters, coeffs []int8) *rlwe.SecretKey {
	sk := rlwe.NewSecretKey(params)
	q := params.Q()[0]
	row := sk.Value.Q.Coeffs[0]
	for i, c := range coeffs {
		switch c {
		case 1:
			row[i] = 1
		case -1:
			row[i] = q - 1
		}
	}
	ringQP := params.RingQP()
	ringQP.ExtendBasisSmallNormAndCenter(sk.Value.Q, params.MaxLevelP(), sk.Value.Q, sk.Value.P)
	ringQP.NTT(sk.Value, sk.Value)
	ringQP.MForm(sk.Value, sk.Value)
	return sk
}

// sampleTernary draws the secret's coefficients with lattigo's ternary sampler
// (exactly 2730 non-zero coefficients, uniform positions and signs).
func sampleTernary(params ckks.Parameters, prng sampling.PRNG) ([]int8, error) {
	sampler, err := ring.NewSampler(prng, params.RingQ(), params.Xs(), false)
	if err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "ternary sampler")
	}
	poly := params.RingQ().NewPoly()
	defer clear(poly.Coeffs[0])
	sampler.Read(poly)
	return ternaryCoeffs(poly.Coeffs[0], params.Q()[0])
}

// ternaryCoeffs reads the residues mod q of a ternary polynomial (in coefficient form)
// as -1, 0, +1.
func ternaryCoeffs(row []uint64, q uint64) ([]int8, error) {
	coeffs := make([]int8, len(row))
	for i, c := range row {
		switch c {
		case 0:
		case 1:
			coeffs[i] = 1
		case q - 1:
			coeffs[i] = -1
		default:
			wipeInt8(coeffs)
			return nil, Errorf(ErrInternal, "keygen", "ternary sampler returned a non-ternary coefficient")
		}
	}
	return coeffs, nil
}

func wipeSecretKey(sk *rlwe.SecretKey) {
	if sk == nil {
		return
	}
	for _, p := range []ring.Poly{sk.Value.Q, sk.Value.P} {
		for _, row := range p.Coeffs {
			for i := range row {
				row[i] = 0
			}
		}
	}
}

// encryptZeroQP writes a fresh encryption of zero under skOut into ct = (b, a) over QP,
// in NTT and Montgomery form: a uniform, b = -a*skOut + e. It is lattigo's own
// construction, drawing from prng alone.
func encryptZeroQP(params ckks.Parameters, prng sampling.PRNG, skOut ringqp.Poly, ct []ringqp.Poly) error {
	ringQP := params.RingQP()
	xe, err := ring.NewSampler(prng, params.RingQ(), params.Xe(), false)
	if err != nil {
		return Wrap(ErrInternal, "keygen", err, "error sampler")
	}
	b, a := ct[0], ct[1]
	ringqp.NewUniformSampler(prng, *ringQP).Read(a)
	xe.Read(b.Q)
	ringQP.ExtendBasisSmallNormAndCenter(b.Q, params.MaxLevelP(), b.Q, b.P)
	ringQP.NTT(b, b)
	ringQP.MForm(b, b)
	ringQP.MulCoeffsMontgomeryThenSub(a, skOut, b)
	return nil
}

// fillGadget makes gct a key-switching key from skIn (over Q) to skOut (over QP).
func fillGadget(params ckks.Parameters, prng sampling.PRNG, skIn ring.Poly, skOut ringqp.Poly, gct *rlwe.GadgetCiphertext) error {
	for i := range gct.Value {
		for j := range gct.Value[i] {
			if err := encryptZeroQP(params, prng, skOut, gct.Value[i][j]); err != nil {
				return err
			}
		}
	}
	buf := params.RingQ().NewPoly()
	if err := rlwe.AddPolyTimesGadgetVectorToGadgetCiphertext(skIn, []rlwe.GadgetCiphertext{*gct}, *params.RingQP(), buf); err != nil {
		return Wrap(ErrInternal, "keygen", err, "gadget ciphertext")
	}
	return nil
}

// galoisOutputKey returns pi_{galEl^-1}(s) over QP: the key a Galois key switches to.
func galoisOutputKey(params ckks.Parameters, sk *rlwe.SecretKey, galEl uint64) (ringqp.Poly, error) {
	ringQ := params.RingQ()
	index, err := ring.AutomorphismNTTIndex(ringQ.N(), ringQ.NthRoot(), params.ModInvGaloisElement(galEl))
	if err != nil {
		return ringqp.Poly{}, Wrap(ErrCorrupt, "evalkey", err, "Galois element %d", galEl)
	}
	out := params.RingQP().NewPoly()
	params.RingQP().AutomorphismNTTWithIndex(sk.Value, index, out)
	return out, nil
}

// relinInputKey returns s^2 over Q (Montgomery form): the key a relinearization key
// switches from.
func relinInputKey(params ckks.Parameters, sk *rlwe.SecretKey) ring.Poly {
	s2 := params.RingQ().NewPoly()
	params.RingQ().MulCoeffsMontgomery(sk.Value.Q, sk.Value.Q, s2)
	return s2
}

// latticeKeys are the lattigo forms of the CKKS keys of one key set.
type latticeKeys struct {
	params ckks.Parameters
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
	evk    *rlwe.MemEvaluationKeySet
}

// progressFunc is told each time one more key is done.
type progressFunc func(done, total int)

// makeLatticeKeys makes the secret key, then the public key, relinearization key and
// every Galois key in parallel, each from its own stream.
func makeLatticeKeys(p Parameters, rnd *streams, progress progressFunc) (coeffs []int8, k *latticeKeys, err error) {
	params, err := p.Preset.ckksParameters()
	if err != nil {
		return nil, nil, err
	}
	coeffs, err = sampleTernary(params, rnd.prng(labelSecret))
	if err != nil {
		return nil, nil, err
	}
	sk := secretFromTernary(params, coeffs)
	k = &latticeKeys{params: params, sk: sk, pk: rlwe.NewPublicKey(params)}

	galEls := p.galoisElements(params)
	rlk := rlwe.NewRelinearizationKey(params)
	gks := make([]*rlwe.GaloisKey, len(galEls))
	jobs := make([]func() error, 0, 2+len(galEls))
	jobs = append(jobs,
		func() error {
			return encryptZeroQP(params, rnd.prng(labelPublic), sk.Value, k.pk.Value)
		},
		func() error {
			return fillGadget(params, rnd.prng(labelRelin), relinInputKey(params, sk), sk.Value, &rlk.GadgetCiphertext)
		})
	for i, galEl := range galEls {
		i, galEl := i, galEl
		jobs = append(jobs, func() error {
			gk := rlwe.NewGaloisKey(params)
			skOut, err := galoisOutputKey(params, sk, galEl)
			if err != nil {
				return err
			}
			if err := fillGadget(params, rnd.prng(labelGalois(galEl)), sk.Value.Q, skOut, &gk.GadgetCiphertext); err != nil {
				return err
			}
			gk.GaloisElement = galEl
			gk.NthRoot = params.RingQ().NthRoot()
			gks[i] = gk
			return nil
		})
	}
	if err := runParallel(jobs, progress); err != nil {
		wipeSecretKey(sk)
		return nil, nil, err
	}
	k.evk = rlwe.NewMemEvaluationKeySet(rlk, gks...)
	return coeffs, k, nil
}

// runParallel runs jobs on up to GOMAXPROCS goroutines and returns the first error.
// A panic in a job (lattigo panics on broken invariants) becomes an ErrInternal.
func runParallel(jobs []func() error, progress progressFunc) error {
	workers := runtime.GOMAXPROCS(0)
	if workers > len(jobs) {
		workers = len(jobs)
	}
	var next, done atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				err := recoverInto(jobs[i])
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				n := int(done.Add(1))
				if progress != nil && err == nil {
					progress(n, len(jobs))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// recoverInto runs f and turns a panic into an ErrInternal.
func recoverInto(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Errorf(ErrInternal, "lattigo", "unexpected panic: %v", r)
		}
	}()
	return f()
}

// Checks that keys belong together (DESIGN.md §4). lattigo v5's NoiseGaloisKey and
// NoiseRelinearizationKey return 0 for one-prime parameters whatever the secret, so
// they are not used: the noise is computed here from the definition.

// gadgetNoise returns the largest |b + a*skOut - P*skIn| over Q and over P of every
// element of a key-switching key: small (under the error bound) exactly when the key
// switches from skIn to skOut.
func gadgetNoise(params ckks.Parameters, gct *rlwe.GadgetCiphertext, skIn ring.Poly, skOut ringqp.Poly) (uint64, error) {
	if len(gct.Value) != 1 || len(gct.Value[0]) != 1 || len(gct.Value[0][0]) != 2 {
		return 0, Errorf(ErrCorrupt, "evalkey", "unexpected key-switching key shape; expected one RNS and one base-two element")
	}
	ringQP := params.RingQP()
	ringQ := params.RingQ()
	pInQ := params.RingQ().NewPoly()
	ringQ.MulScalarBigint(skIn, ringQP.RingP.Modulus(), pInQ)

	e := ringQP.NewPoly()
	b, a := gct.Value[0][0][0], gct.Value[0][0][1]
	ringQP.MulCoeffsMontgomery(a, skOut, e)
	ringQP.Add(e, b, e)
	ringQ.Sub(e.Q, pInQ, e.Q)
	ringQP.IMForm(e, e)
	ringQP.INTT(e, e)
	return max(centeredMax(e.Q.Coeffs[0], params.Q()[0]), centeredMax(e.P.Coeffs[0], params.P()[0])), nil
}

func centeredMax(row []uint64, q uint64) uint64 {
	var m uint64
	for _, c := range row {
		if c > q/2 {
			c = q - c
		}
		m = max(m, c)
	}
	return m
}

// publicKeyNoise returns the largest |b + a*s| of a public key over Q and over P.
func publicKeyNoise(params ckks.Parameters, pk *rlwe.PublicKey, sk *rlwe.SecretKey) uint64 {
	ringQP := params.RingQP()
	e := ringQP.NewPoly()
	ringQP.MulCoeffsMontgomery(pk.Value[1], sk.Value, e)
	ringQP.Add(e, pk.Value[0], e)
	ringQP.IMForm(e, e)
	ringQP.INTT(e, e)
	return max(centeredMax(e.Q.Coeffs[0], params.Q()[0]), centeredMax(e.P.Coeffs[0], params.P()[0]))
}

// noiseLimit is the largest key noise accepted: the error sampler's bound (6 sigma = 19.2),
// rounded up. A key under another secret gives noise near Q/2.
const noiseLimit uint64 = 20

// encryptionError encrypts a fixed test vector with pk, decrypts it with sk and
// returns the largest slot error.
func encryptionError(params ckks.Parameters, pk *rlwe.PublicKey, sk *rlwe.SecretKey) (float64, error) {
	values := testVector(params.MaxSlots())
	enc := ckks.NewEncoder(params)
	pt := ckks.NewPlaintext(params, params.MaxLevel())
	if err := enc.Encode(values, pt); err != nil {
		return 0, Wrap(ErrInternal, "verify", err, "encode")
	}
	ct, err := rlwe.NewEncryptor(params, pk).EncryptNew(pt)
	if err != nil {
		return 0, Wrap(ErrInternal, "verify", err, "encrypt")
	}
	got := make([]complex128, params.MaxSlots())
	if err := enc.Decode(rlwe.NewDecryptor(params, sk).DecryptNew(ct), got); err != nil {
		return 0, Wrap(ErrInternal, "verify", err, "decode")
	}
	return maxError(values, got), nil
}

// testVector is a fixed vector of slots with values in the unit disc.
func testVector(n int) []complex128 {
	v := make([]complex128, n)
	for i := range v {
		x := float64(i)
		v[i] = complex(math.Sin(x*0.37), math.Cos(x*0.11)) * 0.5
	}
	return v
}

func maxError(want, got []complex128) float64 {
	var m float64
	for i := range want {
		m = math.Max(m, cmplx.Abs(want[i]-got[i]))
	}
	return m
}

// generateLegacy makes a key set the way envector-keys 0.1 did (lattigo's key layout,
// presets legacyIP0 and legacyIP1, eval modes RMP with rotations and MM with the
// relinearization key only), in the current envelope. The library no longer offers it:
// it keeps the verification of such key sets tested.
func generateLegacy(opts GenerateOptions) (*KeySet, error) {
	params := opts.Parameters
	if params.Preset != legacyIP0 && params.Preset != legacyIP1 {
		return nil, Errorf(ErrInvalidArgument, "keygen", "legacy preset expected")
	}
	if params.EvalMode != EvalModeRMP && params.EvalMode != EvalModeMM {
		return nil, Errorf(ErrInvalidArgument, "keygen", "legacy eval mode expected")
	}
	dims, err := CheckDims(params.Dims)
	if err != nil {
		return nil, err
	}
	params.Dims = dims
	rnd, err := newStreams(opts.Seed)
	if err != nil {
		return nil, err
	}
	defer rnd.wipe()
	coeffs, lk, err := makeLatticeKeys(params, rnd, opts.Progress)
	if err != nil {
		return nil, err
	}
	defer wipeSecretKey(lk.sk)
	secData := encodeTernary(params.Preset.name, coeffs)
	wipeInt8(coeffs)
	encData, err := lk.pk.MarshalBinary()
	if err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "marshalling EncKey")
	}
	evalData, err := lk.evk.MarshalBinary()
	if err != nil {
		return nil, Wrap(ErrInternal, "keygen", err, "marshalling EvalKey")
	}
	return newKeySet(opts, params, secData, encData, evalData, rnd)
}
