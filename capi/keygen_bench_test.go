package main

import (
	"sort"
	"testing"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

// BenchmarkKeygen makes the ip0/rmp key set (dims 32..4096, with
// MetadataKey) and reads every role's envelope, two ways, one right after the other in
// each iteration (in alternating order), so that both see the same machine:
//   - go-api: core.Generate, then KeySet.Blob for each role;
//   - c-abi: the same through the public functions of include/envector.h, called from
//     C (cabi_bench.go): envector_keygen from JSON options, envector_keyset_blob for
//     each role (copied into C memory, then envector_bytes_free), envector_keyset_free.
//
// It reports the median time of each (go-api-ns, c-abi-ns) and the median of the
// per-iteration ratios (c-abi/go-api), which a busy machine disturbs least; ns/op is
// the time of one pair. The aim is c-abi/go-api <= 1.05.
func BenchmarkKeygen(b *testing.B) {
	const id = "bench"
	goAPI := func() {
		ks, err := core.Generate(core.GenerateOptions{KeyID: id, Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP}})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range ks.Roles() {
			if _, err := ks.Blob(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	cABI := func() {
		if _, err := benchKeygenCABI(`{"key_id": "` + id + `", "preset": "ip0", "eval_mode": "rmp"}`); err != nil {
			b.Fatal(err)
		}
	}
	goAPI() // warm both paths: parameter cache, C allocator, threads
	cABI()
	goTimes := make([]float64, b.N)
	cTimes := make([]float64, b.N)
	ratios := make([]float64, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if i%2 == 0 {
			goAPI()
		} else {
			cABI()
		}
		t1 := time.Now()
		if i%2 == 0 {
			cABI()
		} else {
			goAPI()
		}
		t2 := time.Now()
		first, second := float64(t1.Sub(t0)), float64(t2.Sub(t1))
		if i%2 == 0 {
			goTimes[i], cTimes[i] = first, second
		} else {
			goTimes[i], cTimes[i] = second, first
		}
		ratios[i] = cTimes[i] / goTimes[i]
	}
	b.StopTimer()
	b.ReportMetric(median(goTimes), "go-api-ns")
	b.ReportMetric(median(cTimes), "c-abi-ns")
	b.ReportMetric(median(ratios), "c-abi/go-api")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
