package core

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// eviSet is one key set's raw key data in evi's layout.
type eviSet struct {
	name, preset, mode string
	sec, enc, eval     []byte
}

// loadEVISet reads SecKey/EncKey/EvalKey from dir: raw key data (*.bin, as evi's own
// key generator writes it) or pyenvector's JSON envelopes (key_data of the first entry).
func loadEVISet(t *testing.T, dir string) eviSet {
	t.Helper()
	read := func(role string) []byte {
		if b, err := os.ReadFile(filepath.Join(dir, role+".bin")); err == nil {
			return b
		}
		j, err := os.ReadFile(filepath.Join(dir, role+".json"))
		if err != nil {
			t.Fatalf("%s: no %s.bin or %s.json", dir, role, role)
		}
		var env struct {
			Entries []struct {
				KeyData string `json:"key_data"`
			}
		}
		if err := json.Unmarshal(j, &env); err != nil || len(env.Entries) == 0 {
			t.Fatalf("%s/%s.json: %v", dir, role, err)
		}
		b, err := base64.StdEncoding.DecodeString(env.Entries[0].KeyData)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s := eviSet{name: filepath.Base(dir), sec: read("SecKey"), enc: read("EncKey"), eval: read("EvalKey")}
	s.preset = strings.TrimRight(string(s.sec[1:5]), "\x00")
	if err := walkEVIArchive(s.eval, func(path string, body []byte) {
		if path == "metadata-eval.json" {
			var m struct{ EvalMode string }
			json.Unmarshal(body, &m)
			s.mode = m.EvalMode
		}
	}); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	if s.mode == "NULL" {
		s.mode = eviModeSINGLE
	}
	return s
}

// foreignSecret returns another valid SecKey of the same preset.
func foreignSecret(t *testing.T, preset string, seed byte) []byte {
	t.Helper()
	spec, _ := lookupEVISpec(preset)
	er, err := newEVIRing(spec)
	if err != nil {
		t.Fatal(err)
	}
	rnd, _ := newStreams(bytes.Repeat([]byte{seed}, SeedSize))
	s, err := sampleEVISecret(er, rnd.prng("evi/seckey"))
	if err != nil {
		t.Fatal(err)
	}
	return encodeTernary(spec.name, s.coeffs)
}

// checkRealSet: our decoder reads the set, verifyEVIKeys accepts it, and rejects it with a
// foreign SecKey.
func checkRealSet(t *testing.T, s eviSet) {
	t.Helper()
	rep, err := verifyEVIKeys(s.preset, s.mode, s.sec, s.enc, s.eval)
	if err != nil {
		t.Fatalf("%s (%s/%s): real keys rejected: %v", s.name, s.preset, s.mode, err)
	}
	if rep.HammingWeight != eviHammingWeight {
		t.Errorf("%s: Hamming weight %d, want %d", s.name, rep.HammingWeight, eviHammingWeight)
	}
	t.Logf("%s: %+v", s.name, rep)
	if _, err := verifyEVIKeys(s.preset, s.mode, foreignSecret(t, s.preset, 7), s.enc, s.eval); err == nil || !strings.Contains(err.Error(), "EncKey") {
		t.Errorf("%s: a foreign SecKey was accepted or not blamed on EncKey: %v", s.name, err)
	}
}

// TestEVIRealFixtures checks key sets evi 1.6.3 wrote (core/testdata/evi-keys: pyenvector's
// IP3/RMP dim 32 and evi's IP0/SINGLE): decoding, the NTT convention, EncKey's and every
// key-switching key's relation, the IP3 P-slot recipe; a foreign SecKey is rejected.
func TestEVIRealFixtures(t *testing.T) {
	for _, d := range []string{"ip3-rmp-32", "ip0-single"} {
		checkRealSet(t, loadEVISet(t, filepath.Join("testdata", "evi-keys", d)))
	}
}

// TestEVIPacking: LSB-first packing round-trips at every width the presets use, and a
// width-w stream of N values is N·w/8 bytes.
func TestEVIPacking(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, w := range []int{23, 30, 32, 34, 51, 55, 58, 64} {
		vals := make([]uint64, ringDegree)
		for i := range vals {
			vals[i] = rng.Uint64()
			if w < 64 {
				vals[i] &= 1<<w - 1
			}
		}
		b := packBits(nil, vals, w)
		if len(b) != packedSize(w) {
			t.Fatalf("width %d: %d bytes, want %d", w, len(b), packedSize(w))
		}
		got := make([]uint64, ringDegree)
		unpackBits(b, got, w)
		for i := range vals {
			if got[i] != vals[i] {
				t.Fatalf("width %d: value %d: %#x, want %#x", w, i, got[i], vals[i])
			}
		}
	}
	// bit k of the stream is bit k%8 of byte k/8: value 1 at width 3 sets byte 0 bit 3.
	if b := packBits(nil, []uint64{0, 1, 0, 0, 0, 0, 0, 0}, 3); b[0] != 0x08 || len(b) != 3 {
		t.Fatalf("LSB-first order: % x", b)
	}
}

// TestEVIRootConvention: deb's psi for IP0's Q0 is the smallest primitive 8192-th root.
func TestEVIRootConvention(t *testing.T) {
	for _, spec := range eviSpecs {
		for _, q := range spec.moduli() {
			psi := minPrimitive2NthRoot(q, ringDegree)
			if powMod(psi, ringDegree, q) != q-1 {
				t.Fatalf("%d: psi^N != -1", q)
			}
		}
	}
	if g := eviSpecs[3].gadget(); g != 1034047817 {
		t.Fatalf("IP3 gadget %d, want 1034047817", g)
	}
}

func testSeed(b byte) *streams {
	rnd, _ := newStreams(bytes.Repeat([]byte{b}, SeedSize))
	return rnd
}

// TestEVIGenerate: our keys pass verifyEVIKeys for every preset and eval mode (small dims),
// have evi's sizes and metadata, are fixed by the seed, and fail with a foreign secret.
func TestEVIGenerate(t *testing.T) {
	cases := []struct {
		preset, mode string
		dims         []int
		files        []string
	}{
		{"IP0", "RMP", []int{32, 4096}, []string{"EVIKeys32.bin", "EVIKeys64.bin"}},
		{"IP0", "FLAT", []int{32, 64}, []string{"EVIKeys32.bin", "EVIKeys64.bin"}},
		{"IP0", "SINGLE", []int{128}, []string{"EVIKeys32.bin"}},
		{"IP1", "RMP", []int{32}, []string{"EVIKeys32.bin"}},
		{"IP1", "FLAT", []int{32}, []string{"EVIKeys32.bin"}},
		{"IP2", "RMP", []int{128, 256}, []string{"EVIKeys32.bin"}},
		{"IP2", "FLAT", []int{32}, []string{"EVIKeys32.bin"}},
		{"IP3", "RMP", []int{32}, []string{"EVIKeys32.bin"}},
		{"IP3", "FLAT", []int{32}, []string{"EVIKeys32.bin"}},
	}
	for _, c := range cases {
		t.Run(c.preset+"-"+c.mode, func(t *testing.T) {
			sec, enc, eval, err := generateEVIKeys(c.preset, c.mode, c.dims, testSeed(1))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkEVIKeyData(SecKey, Parameters{}, sec); err != nil {
				t.Fatal(err)
			}
			if err := checkEVIKeyData(EncKey, Parameters{}, enc); err != nil {
				t.Fatal(err)
			}
			rep, err := verifyEVIKeys(c.preset, c.mode, sec, enc, eval)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rep.Files, ",") != strings.Join(c.files, ",") || rep.HammingWeight != eviHammingWeight {
				t.Fatalf("report %+v", rep)
			}
			t.Logf("%+v", rep)
			sec2, enc2, eval2, err := generateEVIKeys(c.preset, c.mode, c.dims, testSeed(1))
			if err != nil || !bytes.Equal(sec, sec2) || !bytes.Equal(enc, enc2) || !bytes.Equal(eval, eval2) {
				t.Fatal("the same seed gave different keys")
			}
			// A foreign secret: EncKey is blamed first; with a foreign EncKey too, the EvalKey.
			fs := foreignSecret(t, c.preset, 9)
			if _, err := verifyEVIKeys(c.preset, c.mode, fs, enc, eval); err == nil || !strings.Contains(err.Error(), "EncKey") {
				t.Fatalf("foreign secret: %v", err)
			}
			fsec, fenc, _, err := generateEVIKeys(c.preset, "RMP", []int{32}, testSeed(2))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verifyEVIKeys(c.preset, c.mode, fsec, fenc, eval); err == nil || !strings.Contains(err.Error(), "relinearization key") {
				t.Fatalf("foreign EvalKey: %v", err)
			}
		})
	}
}

// TestEVIGenerateRefuses: pairs evi refuses are refused.
func TestEVIGenerateRefuses(t *testing.T) {
	for _, c := range [][2]string{{"IP1", "SINGLE"}, {"IP3", "MM"}, {"IP0", "MM32"}, {"IP4", "RMP"}, {"IP3", "bogus"}} {
		if _, _, _, err := generateEVIKeys(c[0], c[1], []int{32}, testSeed(1)); err == nil {
			t.Errorf("%s/%s accepted", c[0], c[1])
		}
	}
}

// decryptEVIQuery decrypts a query evi serialized (evi.Query.serializeTo) with a SecKey
// in evi's layout: for each of its ciphertexts, b + a·s as the centered integer
// coefficients m·Δ + e (CRT over Q0·Q1 at level 1). The layout was read off real 1.6.3
// queries, not from a specification: "EVIS" 0x01, 2 bytes, u32 count; then per
// ciphertext a 60-byte header ("EVIS" 0x06, its level at byte 5) and, per prime, a then
// b packed like keys. Used by the cross-check with evi; not a supported format.
func decryptEVIQuery(spec *eviSpec, sec, ct []byte) ([][]*big.Int, error) {
	er, err := newEVIRing(spec)
	if err != nil {
		return nil, err
	}
	coeffs, err := decodeEVISecret(spec, sec)
	if err != nil {
		return nil, err
	}
	s := secretFromEVICoeffs(er, coeffs)
	if len(ct) < 11 || !bytes.HasPrefix(ct, []byte(eviMagic)) {
		return nil, fmt.Errorf("not an EVIS query")
	}
	count := int(binary.LittleEndian.Uint32(ct[7:11]))
	rest := ct[11:]
	var all [][]*big.Int
	widths := []int{spec.wq, spec.wp}
	for k := 0; k < count; k++ {
		if len(rest) < 60 || string(rest[:5]) != "EVIS\x06" || rest[5] > 1 {
			return nil, fmt.Errorf("ciphertext %d: unexpected header", k)
		}
		levels := int(rest[5]) + 1
		rest = rest[60:]
		res := make([][]int64, levels)
		for l := 0; l < levels; l++ {
			a, err := readPoly(&rest, widths[l])
			if err != nil {
				return nil, err
			}
			b, err := readPoly(&rest, widths[l])
			if err != nil {
				return nil, err
			}
			var ok bool
			if res[l], _, ok = er.residual(l, a, b, s.s.Coeffs[l], nil, 0); !ok {
				return nil, fmt.Errorf("ciphertext values are not reduced")
			}
		}
		out := make([]*big.Int, ringDegree)
		q0, q1 := new(big.Int).SetUint64(spec.q0), new(big.Int).SetUint64(spec.q1)
		Q := new(big.Int).Mul(q0, q1)
		q0inv := new(big.Int).ModInverse(q0, q1)
		for i := range out {
			out[i] = big.NewInt(res[0][i])
			if levels == 2 { // x ≡ r0 mod Q0, x ≡ r1 mod Q1: x = r0 + Q0·((r1 - r0)·Q0^-1 mod Q1)
				t := new(big.Int).Sub(big.NewInt(res[1][i]), out[i])
				t.Mul(t, q0inv).Mod(t, q1)
				x := t.Mul(t, q0).Add(t, out[i])
				x.Mod(x, Q)
				if x.Cmp(new(big.Int).Rsh(Q, 1)) > 0 {
					x.Sub(x, Q)
				}
				out[i] = x
			}
		}
		all = append(all, out)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last ciphertext", len(rest))
	}
	return all, nil
}

// TestEVICrossHelper is the Go side of /tmp/evi12/crosscheck.py (the cross-check with
// evi itself), driven by environment variables; skipped without EVI_CROSS.
//
//	EVI_CROSS=gen      EVI_CROSS_DIR, EVI_CROSS_PRESET, EVI_CROSS_MODE, EVI_CROSS_DIMS (comma-separated),
//	                   EVI_CROSS_SEED (one byte value): writes SecKey.bin, EncKey.bin, EvalKey.bin
//	EVI_CROSS=decrypt  EVI_CROSS_PRESET, EVI_CROSS_SECKEY, EVI_CROSS_CT, EVI_CROSS_OUT: writes the
//	                   decrypted coefficients as a JSON array of integers
//	EVI_CROSS=verify   EVI_CROSS_DIR, EVI_CROSS_PRESET, EVI_CROSS_MODE: verifyEVIKeys on the set
func TestEVICrossHelper(t *testing.T) {
	env := os.Getenv
	switch env("EVI_CROSS") {
	case "": // a helper process for tests/compat (go test -c), not a test of its own
		return
	case "gen":
		dims, err := ParseDimList(env("EVI_CROSS_DIMS"))
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := strconv.Atoi(env("EVI_CROSS_SEED"))
		sec, enc, eval, err := generateEVIKeys(env("EVI_CROSS_PRESET"), env("EVI_CROSS_MODE"), dims, testSeed(byte(seed)))
		if err != nil {
			t.Fatal(err)
		}
		dir := env("EVI_CROSS_DIR")
		os.MkdirAll(dir, 0o755)
		for name, b := range map[string][]byte{"SecKey.bin": sec, "EncKey.bin": enc, "EvalKey.bin": eval} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	case "decrypt":
		spec, err := lookupEVISpec(env("EVI_CROSS_PRESET"))
		if err != nil {
			t.Fatal(err)
		}
		sec, err := os.ReadFile(env("EVI_CROSS_SECKEY"))
		if err != nil {
			t.Fatal(err)
		}
		ct, err := os.ReadFile(env("EVI_CROSS_CT"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := decryptEVIQuery(spec, sec, ct)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(m)
		if err := os.WriteFile(env("EVI_CROSS_OUT"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	case "verify":
		s := loadEVISet(t, env("EVI_CROSS_DIR"))
		rep, err := verifyEVIKeys(env("EVI_CROSS_PRESET"), env("EVI_CROSS_MODE"), s.sec, s.enc, s.eval)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", rep)
	default:
		t.Fatalf("EVI_CROSS=%s; accepted: gen, decrypt, verify", env("EVI_CROSS"))
	}
}
