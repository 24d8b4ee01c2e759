package core

import (
	"bytes"
	"strings"
	"testing"
)

// TestEVIMMSExtras: our extras for IP1, IP2 and IP3 have evi's size and header, pass
// verifyMMSExtras (sub-secrets recovered from our backward keys are ours), are fixed by
// the seed, and are rejected with a foreign secret or a damaged key of each section.
func TestEVIMMSExtras(t *testing.T) {
	for _, preset := range []string{"IP1", "IP2", "IP3"} {
		t.Run(preset, func(t *testing.T) {
			spec, _ := lookupEVISpec(preset)
			er, err := newEVIRing(spec)
			if err != nil {
				t.Fatal(err)
			}
			rnd := testSeed(3)
			s, err := sampleEVISecret(er, rnd.prng("evi/seckey"))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := writeMMSExtras(&buf, er, s, rnd); err != nil {
				t.Fatal(err)
			}
			tail := buf.Bytes()
			if len(tail) != er.mmsExtrasSize() || !bytes.HasPrefix(tail, []byte{4, 0, 0, 0, 0, 1}) {
				t.Fatalf("extras: %d bytes, head % x", len(tail), tail[:6])
			}
			rep, err := verifyMMSExtras(er, s, tail)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes: %+v", len(tail), rep)
			for j, w := range rep.SubWeights {
				if w != eviMMSSubWeight {
					t.Fatalf("sub-secret %d: weight %d, want %d as evi's", j, w, eviMMSSubWeight)
				}
			}
			var again bytes.Buffer
			writeMMSExtras(&again, er, s, testSeed(3))
			if !bytes.Equal(again.Bytes(), tail) {
				t.Fatal("the same seed gave different extras")
			}
			fs, _ := sampleEVISecret(er, testSeed(9).prng("evi/seckey"))
			if _, err := verifyMMSExtras(er, fs, tail); err == nil {
				t.Fatal("a foreign secret was accepted")
			}
			// Damage one value in each section: forward, off-diagonal, backward.
			sh := er.mmShape()
			limbs := 0
			for _, w := range sh.widths {
				limbs += packedSize(w)
			}
			fwdEnd := 6 + eviMMSSubSecrets*sh.chain*2*limbs
			offEnd := fwdEnd + eviMMSSubSecrets*eviMMSSubSecrets*sh.chain*limbs
			for _, c := range []struct {
				at   int
				want string
			}{{6 + packedSize(sh.widths[0]) + 100, "forward key 0"}, {fwdEnd + sh.chain*limbs + 100, "off-diagonal entry (0, 1)"}, {fwdEnd + 100, "off-diagonal entry (0, 0)"}, {fwdEnd + 5*sh.chain*limbs + 100, "off-diagonal entry (1, 1)"}, {offEnd + 100, "backward key 0"}} {
				bad := bytes.Clone(tail)
				bad[c.at] ^= 0x10
				if _, err := verifyMMSExtras(er, s, bad); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("damage at %d: %v (want %q)", c.at, err, c.want)
				}
			}
		})
	}
}

// TestEVIMMSPlan: MMS and MMS32 plans have evi's files, metadata and sizes (the sizes of
// EVIKeys32.bin in evi 1.6.3's own IP1/MMS, IP2/MMS and IP3/MMS32 sets), and the pairs
// evi refuses are refused.
func TestEVIMMSPlan(t *testing.T) {
	for _, c := range []struct {
		preset, mode string
		size         int64
	}{{"IP1", "MMS", 892231701}, {"IP2", "MMS", 892059669}, {"IP3", "MMS32", 892043286}} {
		spec, _ := lookupEVISpec(c.preset)
		pl, err := planEVIEval(spec, strings.ToLower(c.mode), []int{64, 32})
		if err != nil {
			t.Fatalf("%s/%s: %v", c.preset, c.mode, err)
		}
		if !pl.mm || !pl.mms || len(pl.ranks) != 1 || pl.ranks[0] != 32 || pl.mode != c.mode {
			t.Fatalf("%s/%s: plan %+v", c.preset, c.mode, *pl)
		}
		if got := pl.rankFileSize(32); got != c.size {
			t.Errorf("%s/%s: EVIKeys32.bin %d bytes, evi writes %d", c.preset, c.mode, got, c.size)
		}
		if want := "\"EvalMode\": \"" + c.mode + "\""; !strings.Contains(string(pl.metadataJSON()), want) {
			t.Errorf("%s/%s: metadata %s", c.preset, c.mode, pl.metadataJSON())
		}
	}
	// The streaming source announces the size of evi's whole EvalKey.bin (IP3/MMS32).
	if _, _, eval, src, err := generateEVIKeysLazy("ip3", "mms32", []int{32}, testSeed(1)); err != nil || eval != nil || src == nil || src.size != 892043447 {
		t.Errorf("IP3/MMS32 lazy source: %v, %v, size %d; evi's EvalKey.bin is 892043447 bytes", err, eval != nil, func() int64 {
			if src == nil {
				return 0
			}
			return src.size
		}())
	}
	for _, c := range [][2]string{{"IP0", "MMS"}, {"IP0", "MMS32"}, {"IP3", "MMS"}, {"IP1", "MMS32"}, {"IP2", "MMS32"}} {
		spec, _ := lookupEVISpec(c[0])
		if _, err := planEVIEval(spec, c[1], []int{32}); err == nil {
			t.Errorf("%s/%s accepted", c[0], c[1])
		}
	}
}
