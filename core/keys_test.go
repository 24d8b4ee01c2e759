package core

import (
	"fmt"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tuneinsight/lattigo/v5/core/rlwe"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Shared fixtures. Every shared key set has the same key id, so blobs of two sets with
// the same parameters can be mixed into one ParseKeySet call.

const testKID = "test-key"

var (
	testNow       = time.Date(2026, 11, 22, 8, 6, 30, 0, time.UTC)
	testRequester = Requester{Entity: "tester", Method: "test", Type: "user"}
)

// testParameters are the four preset/eval-mode combinations of envector-keys 0.1 (the
// lattigo layout, still read and verified), default dims. Key sets of enVector's layout
// are tested in evi_keys_test.go and generate_test.go.
var testParameters = []Parameters{
	{Preset: legacyIP0, EvalMode: EvalModeRMP},
	{Preset: legacyIP0, EvalMode: EvalModeMM},
	{Preset: legacyIP1, EvalMode: EvalModeRMP},
	{Preset: legacyIP1, EvalMode: EvalModeMM},
}

var ip0RMP = testParameters[0]

var sharedSets = struct {
	sync.Mutex
	m map[string]*KeySet
}{m: map[string]*KeySet{}}

// testKeySet returns key set number n (0, 1, ...) for parameters p, generated once per
// test binary. Sets with the same p and different n are independent key sets under the
// same key id. Nobody may modify what it returns.
func testKeySet(t testing.TB, p Parameters, n int) *KeySet {
	t.Helper()
	dims, err := CheckDims(p.Dims)
	require.NoError(t, err)
	p.Dims = dims
	name := fmt.Sprintf("%s#%d", p, n)
	sharedSets.Lock()
	defer sharedSets.Unlock()
	if ks, ok := sharedSets.m[name]; ok {
		return ks
	}
	ks, err := generateLegacy(GenerateOptions{KeyID: testKID, Parameters: p, Requester: testRequester, Now: testNow})
	require.NoError(t, err)
	sharedSets.m[name] = ks
	return ks
}

func paramName(p Parameters) string { return p.Preset.String() + "-" + p.EvalMode.String() }

// ckksKeys are a key set's keys decoded the way a user of its files would decode them.
type ckksKeys struct {
	params ckks.Parameters
	sk     *rlwe.SecretKey
	pk     *rlwe.PublicKey
	evk    *rlwe.MemEvaluationKeySet
}

func ckksKeysOf(t testing.TB, ks *KeySet) ckksKeys {
	t.Helper()
	params, err := ks.params.Preset.ckksParameters()
	require.NoError(t, err)
	coeffs, err := decodeTernary(ks.params.Preset.name, ks.envs[SecKey].keyData)
	require.NoError(t, err)
	pk, err := decodePublicKey(ks.params, ks.envs[EncKey].keyData)
	require.NoError(t, err)
	evk, err := decodeEvalKeys(ks.params, ks.envs[EvalKey].keyData)
	require.NoError(t, err)
	return ckksKeys{params: params, sk: secretFromTernary(params, coeffs), pk: pk, evk: evk}
}

// randomSlots returns n complex values with real and imaginary parts in [-1, 1].
func randomSlots(n int, seed uint64) []complex128 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	v := make([]complex128, n)
	for i := range v {
		v[i] = complex(2*r.Float64()-1, 2*r.Float64()-1)
	}
	return v
}

func maxSlotError(want, got []complex128) float64 {
	var m float64
	for i := range want {
		m = max(m, cmplx.Abs(want[i]-got[i]))
	}
	return m
}

func encryptSlots(t testing.TB, k ckksKeys, values []complex128) *rlwe.Ciphertext {
	t.Helper()
	pt := ckks.NewPlaintext(k.params, k.params.MaxLevel())
	require.NoError(t, ckks.NewEncoder(k.params).Encode(values, pt))
	ct, err := rlwe.NewEncryptor(k.params, k.pk).EncryptNew(pt)
	require.NoError(t, err)
	return ct
}

func decryptSlots(t testing.TB, params ckks.Parameters, sk *rlwe.SecretKey, ct *rlwe.Ciphertext) []complex128 {
	t.Helper()
	got := make([]complex128, params.MaxSlots())
	require.NoError(t, ckks.NewEncoder(params).Decode(rlwe.NewDecryptor(params, sk).DecryptNew(ct), got))
	return got
}

// expectedGaloisElements computes, with lattigo, the Galois elements of rotations by
// 1, 2, 4, ..., below maxRot, plus the conjugation: what an rmp EvalKey must hold.
func expectedGaloisElements(params ckks.Parameters, maxRot int) []uint64 {
	var els []uint64
	for k := 1; k <= maxRot; k *= 2 {
		els = append(els, params.GaloisElement(k))
	}
	els = append(els, params.GaloisElementForComplexConjugation())
	slices.Sort(els)
	return els
}

// What EncKey encrypts, SecKey decrypts; another key set's SecKey does not.
func TestKeysEncryptDecrypt(t *testing.T) {
	for _, p := range testParameters {
		t.Run(paramName(p), func(t *testing.T) {
			k := ckksKeysOf(t, testKeySet(t, p, 0))
			other := ckksKeysOf(t, testKeySet(t, p, 1))
			require.Equal(t, slotCount, k.params.MaxSlots())
			values := randomSlots(k.params.MaxSlots(), 1)
			ct := encryptSlots(t, k, values)

			require.Less(t, maxSlotError(values, decryptSlots(t, k.params, k.sk, ct)), 1e-2)
			require.Greater(t, maxSlotError(values, decryptSlots(t, k.params, other.sk, ct)), 1.0,
				"the SecKey of another key set must not decrypt")
		})
	}
}

// Every evaluation key switches to SecKey: b + a*s_out - P*s_in is small over Q and P.
// Under another key set's secret the same measure is near Q/2 (lattigo's own
// NoiseGaloisKey would say 0 either way, so this is the check that matters).
func TestEvalKeysBelongToSecKey(t *testing.T) {
	const foreign = uint64(1) << 40
	for _, p := range testParameters {
		t.Run(paramName(p), func(t *testing.T) {
			k := ckksKeysOf(t, testKeySet(t, p, 0))
			other := ckksKeysOf(t, testKeySet(t, p, 1))

			rlk := &k.evk.RelinearizationKey.GadgetCiphertext
			n, err := gadgetNoise(k.params, rlk, relinInputKey(k.params, k.sk), k.sk.Value)
			require.NoError(t, err)
			require.LessOrEqual(t, n, noiseLimit, "relinearization key under its SecKey")
			n, err = gadgetNoise(k.params, rlk, relinInputKey(k.params, other.sk), other.sk.Value)
			require.NoError(t, err)
			require.Greater(t, n, foreign, "relinearization key under another SecKey")

			galEls := k.evk.GetGaloisKeysList()
			if p.EvalMode == EvalModeRMP {
				require.NotEmpty(t, galEls)
			}
			for _, g := range galEls {
				gk := &k.evk.GaloisKeys[g].GadgetCiphertext
				out, err := galoisOutputKey(k.params, k.sk, g)
				require.NoError(t, err)
				n, err := gadgetNoise(k.params, gk, k.sk.Value.Q, out)
				require.NoError(t, err)
				require.LessOrEqual(t, n, noiseLimit, "Galois key %d under its SecKey", g)

				out, err = galoisOutputKey(k.params, other.sk, g)
				require.NoError(t, err)
				n, err = gadgetNoise(k.params, gk, other.sk.Value.Q, out)
				require.NoError(t, err)
				require.Greater(t, n, foreign, "Galois key %d under another SecKey", g)
			}
		})
	}
}

// The EvalKey holds exactly the Galois keys the eval mode and dims call for.
func TestEvalKeyGaloisElements(t *testing.T) {
	for _, c := range []struct {
		p      Parameters
		maxRot int // largest rotation; 0 = no Galois keys at all
		count  int
	}{
		{Parameters{Preset: legacyIP0, EvalMode: EvalModeRMP}, 1024, 12},
		{Parameters{Preset: legacyIP1, EvalMode: EvalModeRMP}, 1024, 12},
		{Parameters{Preset: legacyIP0, EvalMode: EvalModeRMP, Dims: []int{32, 64}}, 32, 7},
		{Parameters{Preset: legacyIP0, EvalMode: EvalModeRMP, Dims: []int{64, 32}}, 32, 7},
		{Parameters{Preset: legacyIP0, EvalMode: EvalModeMM}, 0, 0},
		{Parameters{Preset: legacyIP1, EvalMode: EvalModeMM, Dims: []int{4096}}, 0, 0},
	} {
		name := fmt.Sprintf("%s-%v", paramName(c.p), c.p.Dims)
		t.Run(name, func(t *testing.T) {
			ks := testKeySet(t, c.p, 0)
			k := ckksKeysOf(t, ks)
			require.NotNil(t, k.evk.RelinearizationKey, "every EvalKey has the relinearization key")
			got := k.evk.GetGaloisKeysList()
			slices.Sort(got)
			require.Len(t, got, c.count)
			rep, err := ks.Verify(nil)
			require.NoError(t, err)
			require.Equal(t, c.count, rep.GaloisKeys)
			if c.maxRot == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, expectedGaloisElements(k.params, c.maxRot), got)
			require.NotContains(t, got, k.params.GaloisElement(2*c.maxRot), "no rotation by the largest dim or beyond")
			require.Contains(t, got, k.params.GaloisElementForComplexConjugation())
		})
	}
}

// The ip0 rotation keys rotate real ciphertexts: slot i of the result is slot i+k of
// the input. (On ip1, P is 20 bits, so key switching is too noisy to be meaningful.)
func TestRotationKeysRotate(t *testing.T) {
	k := ckksKeysOf(t, testKeySet(t, ip0RMP, 0))
	values := randomSlots(k.params.MaxSlots(), 2)
	ct := encryptSlots(t, k, values)
	eval := ckks.NewEvaluator(k.params, k.evk)
	n := len(values)
	for rot := 1; rot <= 1024; rot *= 2 {
		out := ckks.NewCiphertext(k.params, ct.Degree(), ct.Level())
		require.NoError(t, eval.Rotate(ct, rot, out), "rotation %d", rot)
		got := decryptSlots(t, k.params, k.sk, out)
		want := make([]complex128, n)
		for i := range want {
			want[i] = values[(i+rot)%n]
		}
		require.Less(t, maxSlotError(want, got), 1e-2, "rotation %d", rot)
		require.Greater(t, maxSlotError(values, got), 0.5, "rotation %d changed the slots", rot)
	}

	out := ckks.NewCiphertext(k.params, ct.Degree(), ct.Level())
	require.NoError(t, eval.Conjugate(ct, out))
	got := decryptSlots(t, k.params, k.sk, out)
	want := make([]complex128, n)
	for i := range want {
		want[i] = cmplx.Conj(values[i])
	}
	require.Less(t, maxSlotError(want, got), 1e-2, "conjugation")

	// No key for rotations that are not powers of two.
	for _, rot := range []int{3, 6, 1000} {
		require.Error(t, eval.Rotate(ct, rot, out), "rotation %d has no key", rot)
	}
}

// mixedKeySet is set 0 of p with role `foreign` taken from set 1 (same key id).
func mixedKeySet(t *testing.T, p Parameters, foreign Role) *KeySet {
	t.Helper()
	mine, theirs := testKeySet(t, p, 0), testKeySet(t, p, 1)
	blobs := map[Role][]byte{}
	for _, r := range AllRoles {
		from := mine
		if r == foreign {
			from = theirs
		}
		b, err := from.Blob(r)
		require.NoError(t, err)
		blobs[r] = b
	}
	_, err := ParseKeySet(testKID, blobs, ParseOptions{})
	require.ErrorIs(t, err, ErrCorrupt, "the set binding tells the %s is foreign", foreign)
	require.Contains(t, err.Error(), "key set")
	// Files without a binding (enVector's, or older ones): each envelope is intact, and
	// only Verify can tell.
	mixed := &KeySet{id: mine.id, params: mine.params}
	for _, r := range AllRoles {
		from := mine
		if r == foreign {
			from = theirs
		}
		e := *from.envs[r]
		e.set, e.setDigests = nil, nil
		mixed.envs[r] = &e
	}
	require.NoError(t, mixed.checkBinding())
	return mixed
}

func TestVerify(t *testing.T) {
	for _, p := range testParameters {
		t.Run(paramName(p), func(t *testing.T) {
			ks := testKeySet(t, p, 0)
			rep, err := ks.Verify(nil)
			require.NoError(t, err)
			require.Less(t, rep.EncryptionError, 1e-2)
			require.LessOrEqual(t, rep.PublicKeyNoise, noiseLimit)
			require.LessOrEqual(t, rep.RelinNoise, noiseLimit)
			require.Equal(t, len(ckksKeysOf(t, ks).evk.GetGaloisKeysList()), rep.GaloisKeys)
			if p.EvalMode == EvalModeRMP {
				require.Equal(t, 12, rep.GaloisKeys)
			} else {
				require.Zero(t, rep.GaloisKeys)
			}
			require.True(t, rep.MetadataKey)

			for _, c := range []struct {
				foreign Role
				names   string
				notName string // a role the message must not blame
			}{
				{SecKey, "the SecKey is from another key set", ""},
				{EncKey, "EncKey of key", "EvalKey"},
				{EvalKey, "EvalKey of key", "EncKey"},
			} {
				_, err := mixedKeySet(t, p, c.foreign).Verify(nil)
				require.ErrorIs(t, err, ErrCorrupt, "foreign %s", c.foreign)
				require.Contains(t, err.Error(), c.names, "foreign %s", c.foreign)
				require.Contains(t, err.Error(), testKID, "foreign %s", c.foreign)
				if c.notName != "" {
					require.NotContains(t, err.Error(), c.notName, "foreign %s", c.foreign)
				}
			}
			// A foreign MetadataKey is not a CKKS key: nothing ties it to the others.
			_, err = mixedKeySet(t, p, MetadataKey).Verify(nil)
			require.NoError(t, err)
		})
	}

	// Verify needs SecKey, EncKey and EvalKey.
	pub, err := testKeySet(t, ip0RMP, 0).Subset(EncKey, EvalKey)
	require.NoError(t, err)
	_, err = pub.Verify(nil)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSeedDeterminism(t *testing.T) {
	small := Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{32}}
	seed := make([]byte, SeedSize)
	for i := range seed {
		seed[i] = byte(3*i + 1)
	}
	gen := func(seed []byte, now time.Time, noMeta bool) *KeySet {
		t.Helper()
		ks, err := Generate(GenerateOptions{KeyID: "seeded", Seed: seed, Now: now, NoMetadataKey: noMeta, Parameters: small})
		require.NoError(t, err)
		return ks
	}
	a := gen(seed, testNow, false)
	b := gen(slices.Clone(seed), testNow.Add(36*time.Hour), false)
	require.Equal(t, AllRoles, a.Roles())
	for _, r := range AllRoles {
		require.Equal(t, a.envs[r].keyData, b.envs[r].keyData, "%s with the same seed", r)
	}
	require.NotEqual(t, a.envs[SecKey].createdAt, b.envs[SecKey].createdAt, "Now is honoured")

	other := slices.Clone(seed)
	other[SeedSize-1] ^= 1
	c := gen(other, testNow, false)
	d1, d2 := gen(nil, testNow, false), gen(nil, testNow, false)
	for _, r := range AllRoles {
		require.NotEqual(t, a.envs[r].keyData, c.envs[r].keyData, "%s with another seed", r)
		require.NotEqual(t, d1.envs[r].keyData, d2.envs[r].keyData, "%s without a seed, twice", r)
		require.NotEqual(t, a.envs[r].keyData, d1.envs[r].keyData, "%s without a seed", r)
	}

	noMeta := gen(seed, testNow, true)
	require.Equal(t, RequiredRoles, noMeta.Roles())
	require.False(t, noMeta.Has(MetadataKey))
	_, err := noMeta.Blob(MetadataKey)
	require.ErrorIs(t, err, ErrNotFound)
	rep, err := noMeta.Verify(nil)
	require.NoError(t, err)
	require.False(t, rep.MetadataKey)

	for _, n := range []int{1, 32, SeedSize - 1, SeedSize + 1} {
		_, err := Generate(GenerateOptions{KeyID: "seeded", Seed: make([]byte, n)})
		require.ErrorIs(t, err, ErrInvalidArgument, "seed of %d bytes", n)
		require.Contains(t, err.Error(), "64 bytes")
	}
}

// The SecKey is written in enVector's layout: 0x01, the preset tag, 2 bits per
// coefficient with the first coefficient in the top bits (00 = 0, 01 = +1, 11 = -1).
func TestSecKeyLayout(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	data := ks.envs[SecKey].keyData
	require.Len(t, data, 5+ringDegree/4)
	require.Equal(t, []byte{0x01, 'I', 'P', '0', 0}, data[:5])

	// Why a compact form: lattigo's own marshalling would not fit a 64 KiB secret.
	k := ckksKeysOf(t, ks)
	lattigoBytes, err := k.sk.MarshalBinary()
	require.NoError(t, err)
	require.Greater(t, len(lattigoBytes), 65536)

	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	for name, set := range map[string]*KeySet{"unsealed": ks, "sealed": sealed} {
		blob, err := set.Blob(SecKey)
		require.NoError(t, err)
		require.Less(t, len(blob), 4096, "%s SecKey blob must fit a Secrets Manager secret easily", name)
	}

	coeffs, err := decodeTernary("IP0", data)
	require.NoError(t, err)
	require.Equal(t, data, encodeTernary("IP0", coeffs))
	for i, c := range coeffs {
		code := (data[5+i/4] >> (6 - 2*(i%4))) & 3
		require.Equal(t, map[int8]byte{0: 0, 1: 1, -1: 3}[c], code, "coefficient %d", i)
	}
	// The layout of envector-keys 0.1 (EVSK, first coefficient in the low bits, 10 for
	// -1) decodes to the same secret.
	legacy := make([]byte, 8+ringDegree/4)
	copy(legacy, "EVSK\x01\x0c")
	for i, c := range coeffs {
		legacy[8+i/4] |= map[int8]byte{0: 0, 1: 1, -1: 2}[c] << (2 * (i % 4))
	}
	back, err := decodeTernary("IP0", legacy)
	require.NoError(t, err)
	require.Equal(t, coeffs, back)

	// Any ternary vector of the right weight round-trips.
	r := rand.New(rand.NewPCG(7, 7))
	random := make([]int8, ringDegree)
	for _, i := range r.Perm(ringDegree)[:hammingWeight] {
		random[i] = int8(2*r.IntN(2) - 1)
	}
	back, err = decodeTernary("IP0", encodeTernary("IP0", random))
	require.NoError(t, err)
	require.Equal(t, random, back)

	// A zero coefficient and a non-zero one, to tune the weight.
	zeroAt, nonZeroAt := slices.Index(coeffs, 0), slices.IndexFunc(coeffs, func(c int8) bool { return c != 0 })
	require.GreaterOrEqual(t, zeroAt, 0)
	require.GreaterOrEqual(t, nonZeroAt, 0)
	shift := func(i int) uint { return uint(6 - 2*(i%4)) }
	setCode := func(b []byte, i int, code byte) {
		b[5+i/4] = b[5+i/4]&^(3<<shift(i)) | code<<shift(i)
	}
	for _, c := range []struct {
		name   string
		mutate func([]byte) []byte
		says   string
	}{
		{"short", func(b []byte) []byte { return b[:len(b)-1] }, "1028 bytes"},
		{"long", func(b []byte) []byte { return append(b, 0) }, "1030 bytes"},
		{"empty", func(b []byte) []byte { return nil }, "0 bytes"},
		{"other preset", func(b []byte) []byte { b[3] = '1'; return b }, "another preset"},
		{"bad legacy header", func(b []byte) []byte { return append([]byte("EVSK\x02\x0c\x00\x00"), b[5:]...) }, "header"},
		{"code 10 (was zero)", func(b []byte) []byte { setCode(b, zeroAt, 2); return b }, "invalid coefficient code"},
		{"code 10 (was non-zero)", func(b []byte) []byte { setCode(b, nonZeroAt, 2); return b }, "invalid coefficient code"},
		{"weight 2729", func(b []byte) []byte { setCode(b, nonZeroAt, 0); return b }, "2729 non-zero"},
		{"weight 2731", func(b []byte) []byte { setCode(b, zeroAt, 1); return b }, "2731 non-zero"},
	} {
		_, err := decodeTernary("IP0", c.mutate(slices.Clone(data)))
		require.ErrorIs(t, err, ErrCorrupt, c.name)
		require.Contains(t, err.Error(), c.says, c.name)
	}
	// The same data with a sign flipped is still a valid secret (weight unchanged).
	flipped := slices.Clone(data)
	setCode(flipped, nonZeroAt, 1^((flipped[5+nonZeroAt/4]>>shift(nonZeroAt))&3)^3)
	_, err = decodeTernary("IP0", flipped)
	require.NoError(t, err)
}
