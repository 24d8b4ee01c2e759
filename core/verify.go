package core

import (
	"slices"
	"sync"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// encryptionTolerance is the largest slot error accepted when what EncKey encrypts is
// decrypted with SecKey. Real keys give about 1e-3 at scale 2^24; keys that do not
// belong together give errors of the order of Q/scale.
const encryptionTolerance = 0.05

type keySizes struct {
	params    ckks.Parameters
	pk, evk   int
	galoisEls []uint64
}

var sizeCache sync.Map // string(Parameters) -> *keySizes

// sizesOf returns the exact marshalled sizes of EncKey and EvalKey for p, computed
// once, so that malformed key bytes are refused before lattigo parses them.
func sizesOf(p Parameters) (*keySizes, error) {
	if v, ok := sizeCache.Load(p.String()); ok {
		return v.(*keySizes), nil
	}
	params, err := p.Preset.ckksParameters()
	if err != nil {
		return nil, err
	}
	s := &keySizes{params: params, galoisEls: p.galoisElements(params)}
	s.pk = rlwe.NewPublicKey(params).BinarySize()
	evk := rlwe.NewMemEvaluationKeySet(rlwe.NewRelinearizationKey(params))
	if len(s.galoisEls) > 0 {
		gk := rlwe.NewGaloisKey(params) // one key, shared by every element: sizes only
		for _, g := range s.galoisEls {
			evk.GaloisKeys[g] = gk
		}
	}
	s.evk = evk.BinarySize()
	sizeCache.Store(p.String(), s)
	return s, nil
}

// checkKeyData checks the bytes of one key: sizes for every role, and for unsealed data
// that it decodes (the compact SecKey, lattigo's EncKey and EvalKey with exactly the
// Galois elements the parameters call for).
func checkKeyData(r Role, p Parameters, data []byte, sealed bool) error {
	op := "keydata"
	switch r {
	case SecKey:
		if sealed {
			if len(data) != secKeySize {
				return Errorf(ErrCorrupt, op, "sealed SecKey data is %d bytes; accepted: %d", len(data), secKeySize)
			}
			return nil
		}
		coeffs, err := decodeTernary(data)
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
	s, err := sizesOf(p)
	if err != nil {
		return nil, err
	}
	if len(data) != s.pk {
		return nil, Errorf(ErrCorrupt, "enckey", "EncKey data is %d bytes; accepted for preset %s: %d", len(data), p.Preset, s.pk)
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
	s, err := sizesOf(p)
	if err != nil {
		return nil, err
	}
	if len(data) != s.evk {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey data is %d bytes; accepted for %s: %d", len(data), p, s.evk)
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
	if !slices.Equal(got, s.galoisEls) {
		return nil, Errorf(ErrCorrupt, "evalkey", "EvalKey holds keys for Galois elements %v; eval mode %s with dims up to %d needs %v", got, p.EvalMode, p.Dims[len(p.Dims)-1], s.galoisEls)
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
	EncryptionError float64 // largest slot error of an EncKey encryption decrypted by SecKey
	PublicKeyNoise  uint64  // largest |b + a*s| of EncKey
	RelinNoise      uint64  // largest noise of the relinearization key under SecKey
	GaloisKeys      int     // number of rotation and conjugation keys checked
	GaloisNoise     uint64  // largest noise among them
	MetadataKey     bool    // a MetadataKey is present (and unsealed, its size checked)
}

// Verify proves that the keys belong together: what EncKey encrypts, SecKey decrypts;
// EncKey is an RLWE sample under SecKey; every evaluation key switches between the keys
// it claims to, under SecKey (b + a*s_out - P*s_in small over Q and over P). Sealed
// keys are unsealed with kek first (nil is fine for an unsealed set). It needs SecKey,
// EncKey and EvalKey, and fails with ErrCorrupt naming the key that does not belong.
func (ks *KeySet) Verify(kek *KEK) (*Report, error) {
	op := "verify"
	if !ks.Complete() {
		return nil, Errorf(ErrNotFound, op, "key %q needs SecKey, EncKey and EvalKey to be verified; it holds %v", ks.id, ks.Roles())
	}
	plain := ks
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
	coeffs, err := decodeTernary(plain.envs[SecKey].keyData)
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

	rep := &Report{MetadataKey: ks.Has(MetadataKey)}
	err = recoverInto(func() error {
		rep.PublicKeyNoise = publicKeyNoise(params, pk, sk)
		var err error
		if rep.EncryptionError, err = encryptionError(params, pk, sk); err != nil {
			return err
		}
		if rep.PublicKeyNoise > noiseLimit || rep.EncryptionError > encryptionTolerance {
			return Errorf(ErrCorrupt, op, "EncKey of key %q does not belong to its SecKey (decryption error %.3g, key noise %d; accepted: at most %g and %d)", ks.id, rep.EncryptionError, rep.PublicKeyNoise, encryptionTolerance, noiseLimit)
		}
		if rep.RelinNoise, err = gadgetNoise(params, &evk.RelinearizationKey.GadgetCiphertext, relinInputKey(params, sk), sk.Value); err != nil {
			return err
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
