package core

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"

	"github.com/tuneinsight/lattigo/v5/utils/sampling"
	"golang.org/x/crypto/blake2b"
)

// SeedSize is the size of a key-generation seed.
const SeedSize = 64

// streams hands out independent PRNG streams, one per key, all derived from one
// 64-byte master seed: BLAKE2b-512 keyed with the seed, over a label naming the key,
// gives a 256-bit key for an AES-256-CTR keystream (a CTR DRBG; with AES-NI it runs
// at several GB/s, where lattigo's BLAKE2b XOF spends a compression on every 64
// bytes). The same seed and labels give the same bytes however the keys are
// scheduled across goroutines; without a user seed the master seed comes from the OS.
type streams struct {
	master [SeedSize]byte
}

func newStreams(seed []byte) (*streams, error) {
	s := &streams{}
	switch len(seed) {
	case 0:
		if _, err := rand.Read(s.master[:]); err != nil {
			return nil, Wrap(ErrInternal, "keygen", err, "the OS random source failed")
		}
	case SeedSize:
		copy(s.master[:], seed)
	default:
		return nil, Errorf(ErrInvalidArgument, "keygen", "seed of %d bytes; accepted: exactly %d bytes (128 hex characters)", len(seed), SeedSize)
	}
	return s, nil
}

// prng returns the stream for label.
func (s *streams) prng(label string) sampling.PRNG {
	mac, err := blake2b.New512(s.master[:])
	if err != nil { // only for a key over 64 bytes, which master is not
		panic(err)
	}
	mac.Write([]byte("envector-keys/v1/stream/" + label))
	key := mac.Sum(nil)
	defer wipe(key)
	block, err := aes.NewCipher(key[:32])
	if err != nil { // only for a key size other than 16, 24, 32
		panic(err)
	}
	// Each stream has its own key, so a zero IV never repeats a keystream.
	return &ctrStream{ctr: cipher.NewCTR(block, make([]byte, aes.BlockSize))}
}

// ctrStream reads the AES-CTR keystream.
type ctrStream struct {
	ctr cipher.Stream
}

func (s *ctrStream) Read(p []byte) (int, error) {
	clear(p)
	s.ctr.XORKeyStream(p, p)
	return len(p), nil
}

var _ sampling.PRNG = (*ctrStream)(nil)

func (s *streams) wipe() { wipe(s.master[:]) }
