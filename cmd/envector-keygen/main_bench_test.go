package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkCLIGenerate builds envector-keygen and runs it to make the default key set
// (ip3, mm32: a 1.2 GB EvalKey file, made straight into the file)
// into a fresh directory each time; it reports the wall time per run and the peak
// resident memory of the process (peak-MiB, from getrusage). The aim is under 256 MiB.
func BenchmarkCLIGenerate(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "envector-keygen")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var peakKiB int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "--key_path", filepath.Join(dir, "keys"), "--key_id", fmt.Sprintf("k%d", i), "--quiet")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peakKiB = max(peakKiB, ru.Maxrss)
		}
	}
	b.ReportMetric(float64(peakKiB)/1024, "peak-MiB")
}
