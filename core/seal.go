package core

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// KEKSize is the size of a key-encryption key.
const KEKSize = 32

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
	// maxKEKInput bounds what is read from a KEK file or standard input: the longest
	// accepted form (64 hex characters and a newline) is far below it.
	maxKEKInput = 4096
)

// KEK is a 32-byte AES-256 key-encryption key. It seals SecKey and MetadataKey; the
// key never appears in String, in an error or in a log line.
type KEK struct {
	key [KEKSize]byte
	raw bool // given as 32 raw bytes, not hex or base64 (Weakness tells typed text apart)
}

const kekForms = "exactly 32 raw bytes, 64 hexadecimal characters, or 44 characters of standard base64 (each optionally followed by one newline)"

// ParseKEK accepts exactly 32 raw bytes, 64 hex characters or 44-character standard
// base64, each optionally followed by one newline. Anything else is an error that names
// the accepted forms; a longer KEK is never truncated.
func ParseKEK(data []byte) (*KEK, error) {
	op := "kek"
	k := &KEK{}
	body := data
	if n := len(body); n == KEKSize+1 || n == 2*KEKSize+1 || n == 45 {
		if body[n-1] == '\n' {
			body = body[:n-1]
		}
	}
	switch len(body) {
	case KEKSize:
		copy(k.key[:], body)
		k.raw = true
		return k, nil
	case 2 * KEKSize:
		if _, err := hex.Decode(k.key[:], body); err != nil {
			k.Wipe()
			return nil, Errorf(ErrInvalidArgument, op, "64 characters that are not all hexadecimal; accepted: %s", kekForms)
		}
		return k, nil
	case 44:
		// 44 characters can hold up to 33 bytes (unpadded): decode into a buffer of
		// that size, never straight into the key, and insist on exactly 32.
		buf := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
		defer wipe(buf)
		n, err := base64.StdEncoding.Strict().Decode(buf, body)
		if err != nil || n != KEKSize {
			return nil, Errorf(ErrInvalidArgument, op, "44 characters that are not the standard base64 of 32 bytes; accepted: %s", kekForms)
		}
		copy(k.key[:], buf[:n])
		return k, nil
	}
	return nil, Errorf(ErrInvalidArgument, op, "a KEK of %d bytes is not accepted; accepted: %s", len(data), kekForms)
}

// ReadKEK reads a KEK from r (standard input, say) in one of the accepted forms.
func ReadKEK(r io.Reader) (*KEK, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKEKInput+1))
	defer wipe(data)
	if err != nil {
		return nil, Wrap(ErrIO, "kek", err, "reading the KEK")
	}
	if len(data) > maxKEKInput {
		return nil, Errorf(ErrInvalidArgument, "kek", "the KEK input is over %d bytes; accepted: %s", maxKEKInput, kekForms)
	}
	return ParseKEK(data)
}

// ReadKEKFile reads a KEK from a file in one of the accepted forms.
func ReadKEKFile(path string) (*KEK, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, Errorf(ErrNotFound, "kek", "KEK file %s does not exist", path)
		}
		return nil, Wrap(ErrIO, "kek", err, "opening KEK file %s", path)
	}
	defer f.Close()
	k, err := ReadKEK(f)
	if err != nil {
		return nil, Wrap(KindOf(err), "kek", nil, "KEK file %s: %s", path, err.(*Error).Msg)
	}
	return k, nil
}

// GenerateKEK returns a new random KEK.
func GenerateKEK() (*KEK, error) {
	k := &KEK{}
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, Wrap(ErrInternal, "kek", err, "the OS random source failed")
	}
	return k, nil
}

// Wipe zeroes the key. The KEK must not be used afterwards.
// A nil KEK has nothing to wipe.
func (k *KEK) Wipe() {
	if k != nil {
		wipe(k.key[:])
	}
}

// Weakness says why the KEK does not look like 32 random bytes, or "" when it does: 32
// characters of text given as the raw key (a password or passphrase), key bytes that
// are all printable (an encoded password), or at most 16 distinct byte values (a
// pattern). 32 random bytes are all printable with probability 2^-46, and take at most
// 16 distinct values with less still. The reason never includes key bytes.
func (k *KEK) Weakness() string {
	printable := true
	var seen [256]bool
	distinct := 0
	for _, b := range k.key {
		if b < 0x20 || b > 0x7e {
			printable = false
		}
		if !seen[b] {
			seen[b], distinct = true, distinct+1
		}
	}
	clear(seen[:])
	switch {
	case printable && k.raw:
		return "it is 32 characters of text, like a password or passphrase taken as a raw key"
	case printable:
		return "its 32 bytes, decoded, are all printable text, like an encoded password"
	case distinct <= 16:
		return fmt.Sprintf("its 32 bytes take only %d distinct values, like a pattern", distinct)
	}
	return ""
}

// String never shows the key. (Value receivers, so a copied KEK is redacted too.)
func (k KEK) String() string { return "KEK(redacted)" }

// Format makes every fmt verb print the redacted form.
func (k KEK) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

func (k *KEK) aead() cipher.AEAD {
	block, err := aes.NewCipher(k.key[:])
	if err != nil { // only for a key size other than 16, 24, 32
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// macKey derives the key of our envelope MACs from the KEK (HKDF-SHA256 with a label of
// its own), so the KEK itself never keys anything but AES-GCM.
func (k *KEK) macKey() []byte {
	key, err := hkdf.Key(sha256.New, k.key[:], nil, "envector-keys/v1 envelope MAC", 32)
	if err != nil { // only for an output length the hash cannot give
		panic(err)
	}
	return key
}

// sealEnvelope returns a copy of e with key_data sealed in enVector's layout: AES-256-GCM
// under the KEK with a fresh 12-byte IV and no associated data (enVector's SDK opens it
// with the same KEK). The envelope gets our MAC under a key derived from the KEK, which
// binds the sealed key to its key id, role, parameters, times, state and requester.
func sealEnvelope(e *envelope, kek *KEK) (*envelope, error) {
	if !e.role.Secret() {
		return nil, Errorf(ErrInvalidArgument, "seal", "%s is public and is never sealed", e.role)
	}
	if e.sealed() {
		return nil, Errorf(ErrInvalidArgument, "seal", "%s of key %q is already sealed", e.role, e.kid)
	}
	iv := make([]byte, gcmNonceSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, Wrap(ErrInternal, "seal", err, "the OS random source failed")
	}
	out := kek.aead().Seal(nil, iv, e.keyData, nil)
	n := len(out) - gcmTagSize
	ct, tag := out[:n], out[n:]
	var blob []byte
	var alg string
	if e.role == SecKey {
		blob, alg = buildSealedSecKey(e.params.Preset.name, iv, tag, ct), sealAlgSecKey
	} else {
		blob, alg = buildSealedMetadataKey(iv, tag, ct), sealAlgMetadata
	}
	s := e.withKeyData(blob, &sealInfo{alg: alg, iv: iv, tag: bytes.Clone(tag)})
	s.macKey = kek.macKey() // the MAC is computed when the envelope is laid out
	return s, nil
}

// unsealEnvelope returns a copy of e with key_data decrypted. A wrong KEK, altered sealed
// data, or (for envelopes we wrote) an edited envelope fails with ErrAuth.
func unsealEnvelope(e *envelope, kek *KEK) (*envelope, error) {
	if !e.sealed() {
		return nil, Errorf(ErrInvalidArgument, "unseal", "%s of key %q is not sealed", e.role, e.kid)
	}
	if e.dialect == DialectLegacy {
		return unsealLegacyEnvelope(e, kek)
	}
	if e.tombstone {
		return nil, Errorf(ErrInactive, "unseal", "the %s of key %q is destroyed: its key data was erased", e.role, e.kid)
	}
	var iv, tag, ct []byte
	var err error
	if e.role == SecKey {
		_, iv, tag, ct, err = parseSealedSecKey(e.keyData)
	} else {
		iv, tag, ct, err = parseSealedMetadataKey(e.keyData)
	}
	if err != nil {
		return nil, Errorf(ErrCorrupt, "unseal", "%s of key %q: %s", e.role, e.kid, err)
	}
	sealed := make([]byte, 0, len(ct)+gcmTagSize)
	sealed = append(append(sealed, ct...), tag...)
	plain, err := kek.aead().Open(nil, iv, sealed, nil)
	if err != nil {
		return nil, Errorf(ErrAuth, "unseal", "%s of key %q does not unseal: wrong KEK, or the sealed data was altered", e.role, e.kid)
	}
	if err := e.checkMAC(kek); err != nil {
		wipe(plain)
		return nil, err
	}
	if err := checkKeyData(e.role, e.params, plain, false); err != nil {
		wipe(plain)
		return nil, err
	}
	return e.withKeyData(plain, nil), nil
}

// checkMAC checks the MAC of a sealed secret of ours under kek: it covers every field
// of the envelope, and through the set digests every field of the set's public
// envelopes. An envelope sealed in this process, or not of ours, has nothing to check.
func (e *envelope) checkMAC(kek *KEK) error {
	if e.dialect != DialectOurs || !e.sealed() {
		return nil
	}
	ok := false
	if e.macKey != nil { // sealed in this process: was it under this KEK?
		key := kek.macKey()
		ok = hmac.Equal(key, e.macKey)
		wipe(key)
	} else {
		in := e.macInput
		if in == nil {
			in = digestInput(e.document())
		}
		ok = hmac.Equal([]byte(e.mac), []byte(envelopeMAC(kek, in)))
	}
	if !ok {
		return Errorf(ErrAuth, "unseal", "the envelope of the %s of key %q does not authenticate under this KEK: wrong KEK, or the envelope or its key set was edited (state, times, requester, parameters, set) after it was sealed", e.role, e.kid)
	}
	return nil
}
