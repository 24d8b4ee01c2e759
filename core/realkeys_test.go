package core

import (
	"fmt"
	"math/rand"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Shared key sets: generating is cheap (~10 ms), but every test needs a few.
var (
	keySetsMu sync.Mutex
	keySets   = map[string]*KeySet{}
)

func sharedKeySet(t testing.TB, id string, p Parameters) *KeySet {
	t.Helper()
	keySetsMu.Lock()
	defer keySetsMu.Unlock()
	name := id + "/" + p.Preset.name + "/" + string(p.EvalMode) + "/" + FormatDimList(p.Dims)
	if ks, ok := keySets[name]; ok {
		return ks
	}
	ks, err := Generate(GenerateOptions{KeyID: id, Parameters: p})
	require.NoError(t, err)
	keySets[name] = ks
	return ks
}

type lattigoKeys struct {
	params ckks.Parameters
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
	evk    *rlwe.MemEvaluationKeySet
}

// decodeAll turns the key set's stored bytes back into lattigo keys, the way a user of
// the files would.
func decodeAll(t testing.TB, ks *KeySet) lattigoKeys {
	t.Helper()
	params, err := ks.params.Preset.ckksParameters()
	require.NoError(t, err)
	coeffs, err := decodeTernary(ks.envs[SecKey].keyData)
	require.NoError(t, err)
	pk, err := decodePublicKey(ks.params, ks.envs[EncKey].keyData)
	require.NoError(t, err)
	evk, err := decodeEvalKeys(ks.params, ks.envs[EvalKey].keyData)
	require.NoError(t, err)
	return lattigoKeys{params: params, sk: secretFromTernary(params, coeffs), pk: pk, evk: evk}
}

func randomVector(n int, seed int64) []complex128 {
	r := rand.New(rand.NewSource(seed))
	v := make([]complex128, n)
	for i := range v {
		v[i] = complex(2*r.Float64()-1, 2*r.Float64()-1)
	}
	return v
}

func encryptDecrypt(t testing.TB, params ckks.Parameters, pk *rlwe.PublicKey, sk *rlwe.SecretKey, values []complex128) []complex128 {
	t.Helper()
	enc := ckks.NewEncoder(params)
	pt := ckks.NewPlaintext(params, params.MaxLevel())
	require.NoError(t, enc.Encode(values, pt))
	ct, err := rlwe.NewEncryptor(params, pk).EncryptNew(pt)
	require.NoError(t, err)
	got := make([]complex128, len(values))
	require.NoError(t, enc.Decode(rlwe.NewDecryptor(params, sk).DecryptNew(ct), got))
	return got
}

var allParameters = []Parameters{
	{Preset: PresetIP0, EvalMode: EvalModeRMP},
	{Preset: PresetIP0, EvalMode: EvalModeMM},
	{Preset: PresetIP1, EvalMode: EvalModeRMP},
	{Preset: PresetIP1, EvalMode: EvalModeMM},
}

// What EncKey encrypts, SecKey decrypts; the SecKey of another key set does not.
func TestEncKeyEncryptsForSecKey(t *testing.T) {
	for _, p := range allParameters {
		t.Run(fmt.Sprintf("%s-%s", p.Preset, p.EvalMode), func(t *testing.T) {
			k := decodeAll(t, sharedKeySet(t, "a", p))
			other := decodeAll(t, sharedKeySet(t, "b", p))
			values := randomVector(k.params.MaxSlots(), 1)

			require.Less(t, maxError(values, encryptDecrypt(t, k.params, k.pk, k.sk, values)), 1e-2)
			require.Greater(t, maxError(values, encryptDecrypt(t, k.params, k.pk, other.sk, values)), 1.0,
				"another secret key must not decrypt")
		})
	}
}

// Every relinearization and Galois key switches to SecKey: b + a*s_out - P*s_in is small
// over Q and P. With another key set's secret the same check gives noise near Q/2, so
// the check is not vacuous (lattigo's NoiseGaloisKey would say 0 either way).
func TestEvalKeysBelongToSecKey(t *testing.T) {
	for _, p := range allParameters {
		t.Run(fmt.Sprintf("%s-%s", p.Preset, p.EvalMode), func(t *testing.T) {
			k := decodeAll(t, sharedKeySet(t, "a", p))
			other := decodeAll(t, sharedKeySet(t, "b", p))

			rlk := &k.evk.RelinearizationKey.GadgetCiphertext
			n, err := gadgetNoise(k.params, rlk, relinInputKey(k.params, k.sk), k.sk.Value)
			require.NoError(t, err)
			require.LessOrEqual(t, n, noiseLimit)
			n, err = gadgetNoise(k.params, rlk, relinInputKey(k.params, other.sk), other.sk.Value)
			require.NoError(t, err)
			require.Greater(t, n, uint64(1)<<40)

			galEls := k.evk.GetGaloisKeysList()
			if p.EvalMode == EvalModeMM {
				require.Empty(t, galEls)
			} else {
				require.Len(t, galEls, 12, "rotations 1..1024 and the conjugation")
			}
			for _, g := range galEls {
				gk := &k.evk.GaloisKeys[g].GadgetCiphertext
				out, err := galoisOutputKey(k.params, k.sk, g)
				require.NoError(t, err)
				n, err := gadgetNoise(k.params, gk, k.sk.Value.Q, out)
				require.NoError(t, err)
				require.LessOrEqual(t, n, noiseLimit, "Galois key %d", g)

				out, err = galoisOutputKey(k.params, other.sk, g)
				require.NoError(t, err)
				n, err = gadgetNoise(k.params, gk, other.sk.Value.Q, out)
				require.NoError(t, err)
				require.Greater(t, n, uint64(1)<<40, "Galois key %d under another secret", g)
			}
		})
	}
}

// The rotation keys of ip0 rotate real ciphertexts.
func TestRotationKeysRotate(t *testing.T) {
	k := decodeAll(t, sharedKeySet(t, "a", allParameters[0]))
	params := k.params
	enc := ckks.NewEncoder(params)
	values := randomVector(params.MaxSlots(), 2)
	pt := ckks.NewPlaintext(params, params.MaxLevel())
	require.NoError(t, enc.Encode(values, pt))
	ct, err := rlwe.NewEncryptor(params, k.pk).EncryptNew(pt)
	require.NoError(t, err)
	eval := ckks.NewEvaluator(params, k.evk)
	dec := rlwe.NewDecryptor(params, k.sk)
	for rot := 1; rot < slotCount; rot *= 2 {
		out, err := eval.RotateNew(ct, rot)
		require.NoError(t, err, "rotation %d", rot)
		got := make([]complex128, len(values))
		require.NoError(t, enc.Decode(dec.DecryptNew(out), got))
		want := make([]complex128, len(values))
		for i := range want {
			want[i] = values[(i+rot)%len(values)]
		}
		require.Less(t, maxError(want, got), 1e-2, "rotation %d", rot)
	}
}

func TestGaloisElementsFollowDims(t *testing.T) {
	ks := sharedKeySet(t, "a", Parameters{Dims: []int{32, 64}})
	k := decodeAll(t, ks)
	require.Len(t, k.evk.GetGaloisKeysList(), 7, "rotations 1..32 and the conjugation")
	_, err := ks.Verify(nil)
	require.NoError(t, err)
}

// Verify passes for a real key set and names the key taken from another key set with
// the same key id.
func TestVerifyCatchesForeignKeys(t *testing.T) {
	for _, p := range []Parameters{allParameters[0], allParameters[3]} {
		mine := sharedKeySet(t, "same", p)
		rep, err := mine.Verify(nil)
		require.NoError(t, err)
		require.Less(t, rep.EncryptionError, 1e-2)

		theirs, err := Generate(GenerateOptions{KeyID: "same", Parameters: p})
		require.NoError(t, err)
		for _, c := range []struct {
			role Role
			says string
		}{{SecKey, "does not belong to its SecKey"}, {EncKey, "EncKey of key"}, {EvalKey, "in EvalKey of key"}} {
			blobs := map[Role][]byte{}
			for _, r := range RequiredRoles {
				from := mine
				if r == c.role {
					from = theirs
				}
				blobs[r], err = from.Blob(r)
				require.NoError(t, err)
			}
			mixed, err := ParseKeySet("same", blobs, ParseOptions{})
			require.NoError(t, err, "the digests of each envelope are fine")
			_, err = mixed.Verify(nil)
			require.ErrorIs(t, err, ErrCorrupt, "foreign %s", c.role)
			require.Contains(t, err.Error(), c.says)
		}
	}
}

func TestSeedMakesIdenticalKeyData(t *testing.T) {
	seed := make([]byte, SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	gen := func(seed []byte, id string) *KeySet {
		ks, err := Generate(GenerateOptions{KeyID: id, Seed: seed})
		require.NoError(t, err)
		return ks
	}
	a, b := gen(seed, "one"), gen(seed, "two")
	for _, r := range AllRoles {
		require.Equal(t, a.envs[r].keyData, b.envs[r].keyData, "%s with the same seed", r)
	}
	other := append([]byte(nil), seed...)
	other[63] ^= 1
	c, d := gen(other, "one"), gen(nil, "one")
	for _, r := range AllRoles {
		require.NotEqual(t, a.envs[r].keyData, c.envs[r].keyData, "%s with another seed", r)
		require.NotEqual(t, a.envs[r].keyData, d.envs[r].keyData, "%s without a seed", r)
	}
	_, err := Generate(GenerateOptions{KeyID: "x", Seed: seed[:63]})
	require.ErrorIs(t, err, ErrInvalidArgument)

	noMeta, err := Generate(GenerateOptions{KeyID: "x", NoMetadataKey: true})
	require.NoError(t, err)
	require.Equal(t, RequiredRoles, noMeta.Roles())
}

func TestCompactSecKey(t *testing.T) {
	ks := sharedKeySet(t, "a", allParameters[0])
	data := ks.envs[SecKey].keyData
	require.Len(t, data, 1032)
	coeffs, err := decodeTernary(data)
	require.NoError(t, err)
	require.Equal(t, data, encodeTernary(coeffs))

	kek, err := GenerateKEK()
	require.NoError(t, err)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	for _, k := range []*KeySet{ks, sealed} {
		blob, err := k.Blob(SecKey)
		require.NoError(t, err)
		require.Less(t, len(blob), 65536, "a SecKey blob must fit a Secrets Manager secret")
	}

	bad := func(mutate func([]byte) []byte) error {
		_, err := decodeTernary(mutate(append([]byte(nil), data...)))
		return err
	}
	for name, m := range map[string]func([]byte) []byte{
		"short":    func(b []byte) []byte { return b[:len(b)-1] },
		"magic":    func(b []byte) []byte { b[0] = 'X'; return b },
		"code 11":  func(b []byte) []byte { b[8] |= 0b11; return b },
		"weight":   func(b []byte) []byte { b[8] = 0; b[9] = 0; b[10] = 0; return b },
		"version":  func(b []byte) []byte { b[4] = 2; return b },
		"reserved": func(b []byte) []byte { b[6] = 1; return b },
	} {
		require.ErrorIs(t, bad(m), ErrCorrupt, name)
	}
}
