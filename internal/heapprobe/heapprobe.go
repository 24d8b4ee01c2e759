// Package heapprobe measures, for tests, how much heap a piece of work holds at once.
package heapprobe

import (
	"runtime"
	"time"
)

// PeakDuring returns the largest rise of HeapInuse seen while f ran, sampled every 5 ms,
// over what was in use before: a buffer of a large key's size shows up in it whatever the
// timing; garbage the collector frees as it goes does not.
func PeakDuring(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var s runtime.MemStats
				runtime.ReadMemStats(&s)
				peak = max(peak, s.HeapInuse)
			}
		}
	}()
	f()
	close(done)
	<-sampled
	runtime.ReadMemStats(&ms)
	return max(peak, ms.HeapInuse) - base
}
