package core

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/ring/ringqp"
)

// encryptionTolerance is the largest slot error accepted when what EncKey encrypts is
// decrypted with SecKey. Real keys give about 1e-3 at scale 2^24; keys that do not
// belong together give errors of the order of Q/scale.
const encryptionTolerance = 0.05

// keyLayout is the exact byte layout of a marshalled EncKey or EvalKey for one set of
// parameters: its size and the structural bytes (lengths, levels, metadata, Galois
// elements) that every valid key shares, as opposed to coefficient bytes. lattigo
// allocates from the lengths it reads, so a crafted file with consistent digests could
// otherwise ask for terabytes, which kills the process (a fatal error, not a panic);
// checking the structure first means lattigo only ever reads what it would write.
type keyLayout struct {
	size       int
	structure  []byte  // the template's bytes
	structural []int32 // offsets of bytes that are structure, in runs [start, end) pairs
}

// check reports whether data has the layout's size and structure.
func (l *keyLayout) check(data []byte) bool {
	if len(data) != l.size {
		return false
	}
	for i := 0; i < len(l.structural); i += 2 {
		a, b := l.structural[i], l.structural[i+1]
		if string(data[a:b]) != string(l.structure[a:b]) {
			return false
		}
	}
	return true
}

// newKeyLayout compares two marshallings of the same key, one with every coefficient 0
// and one with every coefficient set: the bytes that agree are structure.
func newKeyLayout(zero, filled []byte) *keyLayout {
	l := &keyLayout{size: len(zero), structure: zero}
	for i := 0; i < len(zero); {
		if zero[i] != filled[i] {
			i++
			continue
		}
		j := i
		for j < len(zero) && zero[j] == filled[j] {
			j++
		}
		l.structural = append(l.structural, int32(i), int32(j))
		i = j
	}
	return l
}

type keyLayouts struct {
	pk, evk   *keyLayout
	galoisEls []uint64
}

var layoutCache sync.Map // Parameters.String() -> *keyLayouts

// layoutsOf returns the layouts of EncKey and EvalKey for p, computed once.
func layoutsOf(p Parameters) (*keyLayouts, error) {
	if v, ok := layoutCache.Load(p.String()); ok {
		return v.(*keyLayouts), nil
	}
	params, err := p.Preset.ckksParameters()
	if err != nil {
		return nil, err
	}
	l := &keyLayouts{galoisEls: p.galoisElements(params)}
	marshalTwice := func(polys func() []ringqp.Poly, m interface{ MarshalBinary() ([]byte, error) }) (*keyLayout, error) {
		zero, err := m.MarshalBinary()
		if err != nil {
			return nil, Wrap(ErrInternal, "keydata", err, "template")
		}
		for _, poly := range polys() {
			for _, rows := range [][][]uint64{poly.Q.Coeffs, poly.P.Coeffs} {
				for _, row := range rows {
					for i := range row {
						row[i] = 0x0101010101010101
					}
				}
			}
		}
		filled, err := m.MarshalBinary()
		if err != nil {
			return nil, Wrap(ErrInternal, "keydata", err, "template")
		}
		return newKeyLayout(zero, filled), nil
	}
	pk := rlwe.NewPublicKey(params)
	if l.pk, err = marshalTwice(func() []ringqp.Poly { return pk.Value }, pk); err != nil {
		return nil, err
	}
	rlk := rlwe.NewRelinearizationKey(params)
	gks := make([]*rlwe.GaloisKey, len(l.galoisEls))
	for i, g := range l.galoisEls {
		gks[i] = rlwe.NewGaloisKey(params)
		gks[i].GaloisElement = g
		gks[i].NthRoot = params.RingQ().NthRoot()
	}
	evk := rlwe.NewMemEvaluationKeySet(rlk, gks...)
	gadgetPolys := func() []ringqp.Poly {
		var out []ringqp.Poly
		for _, g := range append([]*rlwe.GadgetCiphertext{&rlk.GadgetCiphertext}, gadgetsOf(gks)...) {
			for _, row := range g.Value {
				for _, v := range row {
					out = append(out, v...)
				}
			}
		}
		return out
	}
	if l.evk, err = marshalTwice(gadgetPolys, evk); err != nil {
		return nil, err
	}
	layoutCache.Store(p.String(), l)
	return l, nil
}

func gadgetsOf(gks []*rlwe.GaloisKey) []*rlwe.GadgetCiphertext {
	out := make([]*rlwe.GadgetCiphertext, len(gks))
	for i, gk := range gks {
		out[i] = &gk.GadgetCiphertext
	}
	return out
}

// checkKeyData checks the bytes of one key: sizes for every role, and for unsealed data
// that it decodes (the compact SecKey, lattigo's EncKey and EvalKey with exactly the
// Galois elements the parameters call for).
func checkKeyData(r Role, p Parameters, data []byte, sealed bool) error {
	op := "keydata"
	if p.Preset.keyFormat == keyFormatEVI {
		return checkEVIKeyData(r, p, data)
	}
	switch r {
	case SecKey:
		if sealed { // only legacy envelopes reach here sealed: AES-GCM of the EVSK layout
			if len(data) != secKeySize {
				return Errorf(ErrCorrupt, op, "sealed SecKey data is %d bytes; accepted: %d", len(data), secKeySize)
			}
			return nil
		}
		coeffs, err := decodeTernary(p.Preset.name, data)
		wipeInt8(coeffs)
		return err
	case MetadataKey:
		if len(data) != 32 {
			return Errorf(ErrCorrupt, op, "MetadataKey data is %d bytes; accepted: 32 (AES-256)", len(data))
		}
		return nil
	case EncKey:
		_, err := decodePublicKey(p, data)
		return err
	case EvalKey:
		_, err := decodeEvalKeys(p, data)
		return err
	}
	return Errorf(ErrInvalidArgument, op, "unknown role")
}

func decodePublicKey(p Parameters, data []byte) (*rlwe.PublicKey, error) {
	l, err := layoutsOf(p)
	if err != nil {
		return nil, err
	}
	if len(data) != l.pk.size {
		return nil, Errorf(ErrCorrupt, "enckey", "EncKey data is %d bytes; accepted for preset %s: %d", len(data), p.Preset, l.pk.size)
	}
	if !l.pk.check(data) {
		return nil, Errorf(ErrCorrupt, "enckey", "EncKey data does not have the structure of a lattigo public key for preset %s", p.Preset)
	}
	pk := new(rlwe.PublicKey)
	if err := recoverInto(func() error { return pk.UnmarshalBinary(data) }); err != nil {
		return nil, Errorf(ErrCorrupt, "enckey", "EncKey data does not decode as a lattigo public key")
	}
	if pk.LevelQ() != 0 || pk.LevelP() != 0 || pk.Value[0].Q.N() != ringDegree {
		return nil, Errorf(ErrCorrupt, "enckey", "EncKey does not have the preset's ring degree and moduli")
	}
	return pk, nil
}

func decodeEvalKeys(p Parameters, data []byte) (*rlwe.MemEvaluationKeySet, error) {
	l, err := layoutsOf(p)
	if err != nil {
		return nil, err
	}
	if len(data) != l.evk.size {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey data is %d bytes; accepted for %s: %d", len(data), p, l.evk.size)
	}
	if !l.evk.check(data) {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey data does not have the structure of lattigo evaluation keys for %s (relinearization key and Galois elements %v)", p, l.galoisEls)
	}
	evk := new(rlwe.MemEvaluationKeySet)
	if err := recoverInto(func() error { return evk.UnmarshalBinary(data) }); err != nil {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey data does not decode as a lattigo evaluation key set")
	}
	if evk.RelinearizationKey == nil {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey holds no relinearization key")
	}
	got := evk.GetGaloisKeysList()
	slices.Sort(got)
	if !slices.Equal(got, l.galoisEls) {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey holds keys for Galois elements %v; eval mode %s with dims up to %d needs %v", got, p.EvalMode, p.Dims[len(p.Dims)-1], l.galoisEls)
	}
	for _, g := range got {
		if evk.GaloisKeys[g].GaloisElement != g {
			return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey stores a key for Galois element %d under %d", evk.GaloisKeys[g].GaloisElement, g)
		}
	}
	return evk, nil
}

// Report is what Verify measured.
type Report struct {
	KeyFormat       string   // "evi" (enVector's layout) or "lattigo-v5" (envector-keys 0.1's)
	EncryptionError float64  // lattigo-v5 only: largest slot error of an EncKey encryption decrypted by SecKey
	PublicKeyNoise  uint64   // largest |b + a*s| of EncKey (evi: the same e mod both primes)
	RelinNoise      uint64   // lattigo-v5 only: largest noise of the relinearization key under SecKey
	GaloisKeys      int      // key-switching keys checked (lattigo-v5: rotation and conjugation keys; evi: every key of every file)
	GaloisNoise     uint64   // largest noise among them
	HammingWeight   int      // non-zero coefficients of the secret
	EvalKeyFiles    []string // evi: the EVIKeys files of the EvalKey archive
	MetadataKey     bool     // a MetadataKey is present (and unsealed, its size checked)
}

// String describes the report in a line, e.g. "keys belong together (evi layout):
// EncKey noise 13; 12 key-switching keys, largest noise 9; secret Hamming weight 2048;
// EvalKey files EVIKeys4096.bin; MetadataKey present". It holds measurements only, never
// key material.
func (r Report) String() string {
	var parts []string
	if r.KeyFormat == keyFormatLattigo {
		parts = append(parts, fmt.Sprintf("encryption error %.3g", r.EncryptionError))
	}
	parts = append(parts, fmt.Sprintf("EncKey noise %d", r.PublicKeyNoise))
	if r.KeyFormat == keyFormatLattigo {
		parts = append(parts, fmt.Sprintf("relinearization key noise %d", r.RelinNoise))
	}
	parts = append(parts, fmt.Sprintf("%d key-switching keys, largest noise %d", r.GaloisKeys, r.GaloisNoise))
	if r.HammingWeight > 0 {
		parts = append(parts, fmt.Sprintf("secret Hamming weight %d", r.HammingWeight))
	}
	if len(r.EvalKeyFiles) > 0 {
		parts = append(parts, "EvalKey files "+strings.Join(r.EvalKeyFiles, ", "))
	}
	if r.MetadataKey {
		parts = append(parts, "MetadataKey present")
	} else {
		parts = append(parts, "no MetadataKey")
	}
	format := r.KeyFormat
	if format == "" {
		format = "unknown"
	}
	return fmt.Sprintf("keys belong together (%s layout): %s", format, strings.Join(parts, "; "))
}

// Verify proves that the keys belong together, by algebra under the SecKey: EncKey is
// an RLWE sample (b + a·s small, in enVector's layout with the same error modulo both
// primes, so what EncKey encrypts SecKey decrypts); every key-switching key of the
// EvalKey (relinearization, mod-pack, automorphism keys) switches to SecKey from the key
// it claims to, with small error on every limb. Key sets of envector-keys 0.1 (lattigo
// layout) are checked the same way, and by an encryption decrypted. Sealed keys are
// unsealed with kek first (nil is fine for an unsealed set). It needs SecKey, EncKey and
// EvalKey, and fails with ErrCorrupt naming the key that does not belong.
func (ks *KeySet) Verify(kek *KEK) (*Report, error) {
	op := "verify"
	if !ks.Complete() {
		return nil, Errorf(ErrNotFound, op, "key %q needs SecKey, EncKey and EvalKey to be verified; it holds %v", ks.id, ks.Roles())
	}
	plain := ks
	if kek != nil && !ks.Sealed() {
		return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are not sealed, so a KEK proves nothing about them; verify it without a KEK", ks.id)
	}
	if ks.Sealed() {
		if kek == nil {
			return nil, Errorf(ErrInvalidArgument, op, "the secret keys of key %q are sealed; a KEK is needed to verify them", ks.id)
		}
		var err error
		if plain, err = ks.Unseal(kek); err != nil {
			return nil, err
		}
		defer plain.wipeNew(ks)
	}
	if ks.params.Preset.keyFormat == keyFormatEVI {
		evalData, err := plain.envs[EvalKey].data()
		if err != nil {
			return nil, err
		}
		er, err := verifyEVIKeys(ks.params.Preset.name, string(ks.params.EvalMode), plain.envs[SecKey].keyData, plain.envs[EncKey].keyData, evalData)
		if err != nil {
			return nil, Wrap(ErrCorrupt, op, nil, "key %q: %s", ks.id, err.(*Error).Msg)
		}
		return &Report{
			KeyFormat: keyFormatEVI, PublicKeyNoise: uint64(er.EncKeyNoise), GaloisKeys: er.Keys,
			GaloisNoise: uint64(er.KeyNoise), HammingWeight: er.HammingWeight, EvalKeyFiles: er.Files,
			MetadataKey: ks.Has(MetadataKey),
		}, nil
	}
	coeffs, err := decodeTernary(ks.params.Preset.name, plain.envs[SecKey].keyData)
	if err != nil {
		return nil, err
	}
	params, err := ks.params.Preset.ckksParameters()
	if err != nil {
		return nil, err
	}
	sk := secretFromTernary(params, coeffs)
	wipeInt8(coeffs)
	defer wipeSecretKey(sk)
	pk, err := decodePublicKey(ks.params, plain.envs[EncKey].keyData)
	if err != nil {
		return nil, err
	}
	evk, err := decodeEvalKeys(ks.params, plain.envs[EvalKey].keyData)
	if err != nil {
		return nil, err
	}

	rep := &Report{KeyFormat: keyFormatLattigo, HammingWeight: hammingWeight, MetadataKey: ks.Has(MetadataKey)}
	err = recoverInto(func() error {
		rep.PublicKeyNoise = publicKeyNoise(params, pk, sk)
		var err error
		if rep.EncryptionError, err = encryptionError(params, pk, sk); err != nil {
			return err
		}
		encKeyFails := rep.PublicKeyNoise > noiseLimit || rep.EncryptionError > encryptionTolerance
		if rep.RelinNoise, err = gadgetNoise(params, &evk.RelinearizationKey.GadgetCiphertext, relinInputKey(params, sk), sk.Value); err != nil {
			return err
		}
		// EncKey and EvalKey are public and checked independently; when neither belongs
		// to SecKey, the odd one out is SecKey itself.
		if encKeyFails && rep.RelinNoise > noiseLimit {
			return Errorf(ErrCorrupt, op, "the SecKey of key %q does not belong to its EncKey nor to its EvalKey (decryption error %.3g, relinearization key noise %d; accepted: at most %g and %d): the SecKey is from another key set or damaged", ks.id, rep.EncryptionError, rep.RelinNoise, encryptionTolerance, noiseLimit)
		}
		if encKeyFails {
			return Errorf(ErrCorrupt, op, "EncKey of key %q does not belong to its SecKey (decryption error %.3g, key noise %d; accepted: at most %g and %d)", ks.id, rep.EncryptionError, rep.PublicKeyNoise, encryptionTolerance, noiseLimit)
		}
		if rep.RelinNoise > noiseLimit {
			return Errorf(ErrCorrupt, op, "the relinearization key in EvalKey of key %q does not belong to its SecKey (noise %d; accepted: at most %d)", ks.id, rep.RelinNoise, noiseLimit)
		}
		for _, g := range evk.GetGaloisKeysList() {
			skOut, err := galoisOutputKey(params, sk, g)
			if err != nil {
				return err
			}
			n, err := gadgetNoise(params, &evk.GaloisKeys[g].GadgetCiphertext, sk.Value.Q, skOut)
			if err != nil {
				return err
			}
			if n > noiseLimit {
				return Errorf(ErrCorrupt, op, "the Galois key %d in EvalKey of key %q does not belong to its SecKey (noise %d; accepted: at most %d)", g, ks.id, n, noiseLimit)
			}
			rep.GaloisKeys++
			rep.GaloisNoise = max(rep.GaloisNoise, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}
