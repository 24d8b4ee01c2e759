package core

import (
	"crypto/sha256"
	"errors"
	"hash"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/internal/heapprobe"
)

// hashingWriter hashes and counts what is written to it, keeping nothing.
type hashingWriter struct {
	h hash.Hash
	n int64
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

// failingWriter accepts limit bytes, then fails.
type failingWriter struct {
	limit, n int64
}

var errWriterFull = errors.New("the writer is full (test)")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.limit {
		return 0, errWriterFull
	}
	w.n += int64(len(p))
	return len(p), nil
}

// allocatedDuring returns the bytes allocated on the heap while f ran (garbage
// included).
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A generated MM EvalKey (ip0: 444 MB of key bytes, about 593 MB of envelope) whose
// bytes are not in memory is written by WriteBlob into any writer without holding the
// key: BlobSize makes nothing, the heap in use while WriteBlob runs (both runs of the
// key's generation) stays far below the key's size, and what it writes is byte for byte
// what Blob returns once the key is made in memory. (The generator's garbage, counted
// by TotalAlloc, is over 1 GiB per WriteBlob; it is freed as it goes and is no buffer.)
func TestWriteBlobStreamsAGeneratedEvalKey(t *testing.T) {
	if testing.Short() {
		t.Skip("makes a 444 MB EvalKey three times")
	}
	const bound = 64 << 20
	ks, err := Generate(GenerateOptions{KeyID: "mm", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeMM, Dims: []int{32}}, NoMetadataKey: true})
	require.NoError(t, err)
	e := ks.envs[EvalKey]
	require.True(t, e.streamable())
	require.Greater(t, e.src.size, int64(400<<20))

	var size int64
	alloc := allocatedDuring(func() { size, err = ks.BlobSize(EvalKey) })
	require.NoError(t, err)
	require.Less(t, alloc, uint64(1<<20), "BlobSize allocated %d bytes", alloc)
	require.True(t, e.streamable(), "BlobSize made the key in memory")
	require.Empty(t, e.src.knownHash(), "BlobSize hashed the key")

	w := &hashingWriter{h: sha256.New()}
	var n int64
	peak := heapprobe.PeakDuring(func() { n, err = ks.WriteBlob(EvalKey, w) })
	require.NoError(t, err)
	t.Logf("WriteBlob: %d bytes of envelope for %d bytes of key; heap in use rose by at most %.1f MiB", n, e.src.size, float64(peak)/(1<<20))
	require.Less(t, peak, uint64(bound), "WriteBlob held %d bytes for a %d-byte key", peak, e.src.size)
	require.Equal(t, size, n)
	require.Equal(t, n, w.n)
	require.True(t, e.streamable(), "WriteBlob made the key in memory")
	require.NotEmpty(t, e.src.knownHash(), "WriteBlob recorded the key's hash")

	// The hash is known now: a writer that fails stops the (single) run with its error.
	fw := &failingWriter{limit: 8 << 20}
	_, err = ks.WriteBlob(EvalKey, fw)
	require.ErrorIs(t, err, errWriterFull)

	blob, err := ks.Blob(EvalKey) // the key made in memory, then the envelope
	require.NoError(t, err)
	require.Equal(t, int64(len(blob)), n)
	require.Equal(t, sha256.Sum256(blob), [32]byte(w.h.Sum(nil)), "WriteBlob and Blob wrote different envelopes")
	require.Equal(t, e.src.knownHash(), ks.Info()[2].Hash)
}

// A key whose bytes are in memory is written by WriteBlob as Blob returns it.
func TestWriteBlobInMemoryKeys(t *testing.T) {
	ks, err := Generate(GenerateOptions{KeyID: "rmp", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{32, 128}}})
	require.NoError(t, err)
	for _, r := range ks.Roles() {
		blob, err := ks.Blob(r)
		require.NoError(t, err)
		size, err := ks.BlobSize(r)
		require.NoError(t, err)
		w := &hashingWriter{h: sha256.New()}
		n, err := ks.WriteBlob(r, w)
		require.NoError(t, err)
		require.Equal(t, int64(len(blob)), size, r.String())
		require.Equal(t, int64(len(blob)), n, r.String())
		require.Equal(t, sha256.Sum256(blob), [32]byte(w.h.Sum(nil)), r.String())
	}
}
