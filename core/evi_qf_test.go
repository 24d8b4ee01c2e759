package core

import (
	"bytes"
	"strings"
	"testing"
)

// QF0 and QF1 in enVector's layout (qf-spec). What evi 1.6.3 (pyenvector 1.6.3's native
// module) writes, measured on its own key sets (/tmp/qf/raw, made by its MultiKeyGenerator):
//
//   - QF1 is QF0: evi builds both from one parameter set and writes "QF0" in the key data
//     (SecKey, EncKey, metadata-eval.json) and in the envelopes it wraps (preset "QF0").
//   - Q0 = 288230376135196673 (58 bits), Q1 = 2251799810670593 (51 bits), no aux prime: Q1
//     is the special prime of the single chain prime, as with IP0; the Q0 limb of a
//     key-switching key carries G·x with G = Q1 mod Q0 = Q1, the P slot is a plain RLWE
//     sample mod Q1 with the same error.
//   - Hamming weight 1024; EncKey 111,628 bytes; an RMP or FLAT EVIKeys32.bin 3,683,336;
//     MM and MM32 one EVIKeys32.bin of 457,179,154 (num_p 2, widths 58 and 51, one digit).
//   - Envelope metadata: Q 288230376135196673, P 2251799810670593, DB_SCALE_FACTOR 25 and
//     QUERY_SCALE_FACTOR 25 (JSON integers); ITEM ciphertexts decrypt at scale 2^25.
//   - Eval modes evi's generator makes with QF: RMP, FLAT, MM, MM32, MMS, MMS32; it
//     refuses SINGLE ("only defined for ParameterPreset::IP0"). We generate RMP, FLAT, MM
//     and MM32 (MMS with QF is not established: which backward primes evi uses).

// qfSizes are the sizes evi's own generator writes for QF0 (and QF1).
const (
	qfEncKeySize   = 111628
	qfRankFileSize = 3683336   // EVIKeys32.bin of RMP/FLAT, dims 32
	qfMMFileSize   = 457179154 // EVIKeys32.bin of MM/MM32
)

func TestEVIQFSpec(t *testing.T) {
	for _, name := range []string{"QF0", "qf0", "QF1", "qf1"} {
		spec, err := lookupEVISpec(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if spec.name != "QF0" || spec.q0 != 288230376135196673 || spec.q1 != 2251799810670593 || len(spec.aux) != 0 || spec.wq != 58 || spec.wp != 51 {
			t.Fatalf("%s: %+v", name, *spec)
		}
	}
	spec, _ := lookupEVISpec("QF0")
	if g := spec.gadget(); g != spec.q1 {
		t.Fatalf("QF gadget %d, want Q1 = %d", g, spec.q1)
	}
	// evi's QFBase carries its NTT roots (PSI_Q, PSI_P): deb's smallest primitive 2N-th roots.
	if psi := minPrimitive2NthRoot(spec.q0, ringDegree); psi != 60193018759093 {
		t.Errorf("psi mod Q0 = %d, evi's PSI_Q is 60193018759093", psi)
	}
	if psi := minPrimitive2NthRoot(spec.q1, ringDegree); psi != 254746317487 {
		t.Errorf("psi mod Q1 = %d, evi's PSI_P is 254746317487", psi)
	}
	for _, m := range []string{"SINGLE", "MMS", "MMS32"} {
		if _, err := planEVIEval(spec, m, []int{32}); err == nil {
			t.Errorf("QF0/%s accepted", m)
		}
	}
	if _, err := lookupEVISpec("QF2"); err == nil {
		t.Error("QF2 accepted (evi 1.6.3: not supported preset type)")
	}
}

// TestEVIQFGenerate: our QF keys pass verifyEVIKeys, have evi's sizes and metadata, QF1
// gives QF0's bytes, and a foreign secret is caught.
func TestEVIQFGenerate(t *testing.T) {
	cases := []struct {
		preset, mode string
		dims         []int
		files        []string
		evalSize     int
	}{
		{"QF0", "RMP", []int{32}, []string{"EVIKeys32.bin"}, 3683495},
		{"QF0", "FLAT", []int{32}, []string{"EVIKeys32.bin"}, 3683496},
		{"QF0", "RMP", []int{32, 1024, 4096}, []string{"EVIKeys32.bin", "EVIKeys64.bin"}, 10938601},
		{"QF1", "FLAT", []int{32, 64}, []string{"EVIKeys32.bin", "EVIKeys64.bin"}, 10938586},
	}
	for _, c := range cases {
		t.Run(c.preset+"-"+c.mode+"-"+FormatDimList(c.dims), func(t *testing.T) {
			sec, enc, eval, err := generateEVIKeys(c.preset, c.mode, c.dims, testSeed(1))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(sec, []byte("\x01QF0\x00")) || !bytes.HasPrefix(enc, []byte("\x02QF0\x00EVIS\x01\x3a\x33")) {
				t.Fatalf("headers % x / % x", sec[:5], enc[:12])
			}
			if len(sec) != eviSecKeySize || len(enc) != qfEncKeySize || len(eval) != c.evalSize {
				t.Fatalf("sizes %d, %d, %d; evi writes %d, %d, %d", len(sec), len(enc), len(eval), eviSecKeySize, qfEncKeySize, c.evalSize)
			}
			files := map[string]int{}
			if err := walkEVIArchive(eval, func(path string, body []byte) {
				files[path] = len(body)
				if path == "metadata-eval.json" && !strings.Contains(string(body), `"ParameterPreset": "QF0"`) {
					t.Errorf("metadata: %s", body)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if files["EVIKeys32.bin"] != qfRankFileSize {
				t.Fatalf("files %v", files)
			}
			rep, err := verifyEVIKeys(c.preset, c.mode, sec, enc, eval)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rep.Files, ",") != strings.Join(c.files, ",") || rep.HammingWeight != eviHammingWeight || rep.Preset != "QF0" {
				t.Fatalf("report %+v", rep)
			}
			t.Logf("%+v", rep)
			other := map[string]string{"QF0": "QF1", "QF1": "QF0"}[c.preset]
			sec2, enc2, eval2, err := generateEVIKeys(other, c.mode, c.dims, testSeed(1))
			if err != nil || !bytes.Equal(sec, sec2) || !bytes.Equal(enc, enc2) || !bytes.Equal(eval, eval2) {
				t.Fatalf("%s and %s with one seed gave different keys (%v)", c.preset, other, err)
			}
			if _, err := verifyEVIKeys(c.preset, c.mode, foreignSecret(t, c.preset, 9), enc, eval); err == nil || !strings.Contains(err.Error(), "EncKey") {
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

// TestEVIQFMM: QF0 MM and MM32 (4,096 automorphism keys, 457 MB each; skipped with -short).
func TestEVIQFMM(t *testing.T) {
	if testing.Short() {
		t.Skip("457 MB key files")
	}
	for _, mode := range []string{"MM", "MM32"} {
		sec, enc, eval, err := generateEVIKeys("QF1", mode, []int{32}, testSeed(3))
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		walkEVIArchive(eval, func(path string, b []byte) {
			if path == "EVIKeys32.bin" {
				body = b
			}
		})
		if len(body) != qfMMFileSize || !bytes.HasPrefix(body, []byte("\x03EVIS\x01\x3a\x33\x02\x00\x00\x00\x3a\x33")) {
			t.Fatalf("%s: EVIKeys32.bin is %d bytes (evi: %d), starts % x", mode, len(body), qfMMFileSize, body[:min(14, len(body))])
		}
		rep, err := verifyEVIKeys("QF0", mode, sec, enc, eval)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Keys != eviMMKeys {
			t.Fatalf("%s: %+v", mode, rep)
		}
		t.Logf("%+v", rep)
		// Another set's SecKey and EncKey (they belong together): the MM keys are what fails.
		fsec, fenc, _, err := generateEVIKeys("QF0", "RMP", []int{32}, testSeed(4))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifyEVIKeys("QF0", mode, fsec, fenc, eval); err == nil || !strings.Contains(err.Error(), "automorphism key 0") {
			t.Fatalf("%s with a foreign SecKey: %v", mode, err)
		}
	}
}
