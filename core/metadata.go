package core

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// Metadata encryption with the MetadataKey, in enVector's format, so that what one SDK
// encrypts the other decrypts. A value is encrypted with AES-256-GCM under the 32-byte
// MetadataKey with a fresh random 12-byte IV and optional associated data, into
//
//	{"encrypted_data":"<base64 ciphertext>","iv":"<base64 IV>","tag":"<base64 tag>"}
//
// (evi's form), and the token stored beside a vector is the standard base64 of that JSON
// (pyenvector's encrypt_metadata). The plaintext is UTF-8 text: enVector keeps metadata
// as a string, and its SDK decodes it as one.

// MetadataKeySize is the size of a MetadataKey.
const MetadataKeySize = metadataKeySize

// maxMetadataSize bounds one metadata value (and so one token).
const maxMetadataSize = 64 << 20

type metadataCiphertext struct {
	EncryptedData string `json:"encrypted_data"`
	IV            string `json:"iv"`
	Tag           string `json:"tag"`
}

func metadataAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != metadataKeySize {
		return nil, Errorf(ErrInvalidArgument, "metadata", "a MetadataKey of %d bytes; accepted: 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, Wrap(ErrInternal, "metadata", err, "AES")
	}
	return cipher.NewGCM(block)
}

// EncryptMetadata encrypts one metadata value (UTF-8 text) with a raw 32-byte
// MetadataKey and returns the token enVector stores: the base64 of evi's JSON form. aad,
// if not empty, must be given again to decrypt.
func EncryptMetadata(key, plaintext, aad []byte) (string, error) {
	op := "metadata.Encrypt"
	if len(plaintext) > maxMetadataSize {
		return "", Errorf(ErrInvalidArgument, op, "a metadata value of %d bytes; accepted: at most %d", len(plaintext), maxMetadataSize)
	}
	if !utf8.Valid(plaintext) {
		return "", Errorf(ErrInvalidArgument, op, "the metadata is not UTF-8 text; enVector stores metadata as a string (encode binary data, e.g. as base64, first)")
	}
	gcm, err := metadataAEAD(key)
	if err != nil {
		return "", err
	}
	iv := make([]byte, gcmNonceSize)
	if _, err := rand.Read(iv); err != nil {
		return "", Wrap(ErrInternal, op, err, "the OS random source failed")
	}
	out := gcm.Seal(nil, iv, plaintext, aad)
	n := len(out) - gcmTagSize
	doc, err := json.Marshal(metadataCiphertext{
		EncryptedData: base64.StdEncoding.EncodeToString(out[:n]),
		IV:            base64.StdEncoding.EncodeToString(iv),
		Tag:           base64.StdEncoding.EncodeToString(out[n:]),
	})
	if err != nil {
		return "", Wrap(ErrInternal, op, err, "encoding")
	}
	return base64.StdEncoding.EncodeToString(doc), nil
}

// DecryptMetadata decrypts a token made by EncryptMetadata or by enVector's SDK: the
// base64 token, or evi's JSON form itself. A wrong key, other associated data or an
// altered token fail with ErrAuth; a token of another shape with ErrInvalidArgument.
func DecryptMetadata(key, token, aad []byte) ([]byte, error) {
	op := "metadata.Decrypt"
	gcm, err := metadataAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(token) > 2*maxMetadataSize {
		return nil, Errorf(ErrInvalidArgument, op, "a token of %d bytes; accepted: at most %d", len(token), 2*maxMetadataSize)
	}
	doc := bytes.TrimSpace(token)
	if !bytes.HasPrefix(doc, []byte("{")) {
		d, err := base64.StdEncoding.Strict().DecodeString(string(doc))
		if err != nil {
			return nil, Errorf(ErrInvalidArgument, op, "the token is neither standard base64 nor JSON; accepted: the base64 token of encrypt_metadata, or its JSON form {\"encrypted_data\", \"iv\", \"tag\"}")
		}
		doc = d
	}
	var c metadataCiphertext
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.IV == "" || c.Tag == "" {
		return nil, Errorf(ErrInvalidArgument, op, "the token is not enVector's encrypted metadata; accepted: JSON {\"encrypted_data\", \"iv\", \"tag\"}, each standard base64")
	}
	ct, err1 := base64.StdEncoding.Strict().DecodeString(c.EncryptedData)
	iv, err2 := base64.StdEncoding.Strict().DecodeString(c.IV)
	tag, err3 := base64.StdEncoding.Strict().DecodeString(c.Tag)
	if err1 != nil || err2 != nil || err3 != nil || len(iv) != gcmNonceSize || len(tag) != gcmTagSize {
		return nil, Errorf(ErrInvalidArgument, op, "the token's encrypted_data, iv or tag is not standard base64 of the right size; accepted: an iv of 12 bytes and a tag of 16")
	}
	plain, err := gcm.Open(nil, iv, append(ct, tag...), aad)
	if err != nil {
		return nil, Errorf(ErrAuth, op, "the metadata does not decrypt: another MetadataKey, other associated data, or the token was altered")
	}
	return plain, nil
}

// metadataKey returns the set's unsealed MetadataKey bytes (not a copy).
func (ks *KeySet) metadataKey(op string) ([]byte, error) {
	e := ks.envs[MetadataKey]
	switch {
	case e == nil:
		return nil, Errorf(ErrNotFound, op, "key %q holds no MetadataKey (it was made without metadata encryption, or not loaded)", ks.id)
	case e.sealed():
		return nil, Errorf(ErrInvalidArgument, op, "the MetadataKey of key %q is sealed; unseal the key set with its KEK first", ks.id)
	case e.dropped || len(e.keyData) != metadataKeySize:
		return nil, Errorf(ErrInvalidArgument, op, "the MetadataKey of key %q was loaded without its key data", ks.id)
	}
	return e.keyData, nil
}

// EncryptMetadata encrypts one metadata value with the set's MetadataKey, which must be
// present and unsealed (see the package function EncryptMetadata).
func (ks *KeySet) EncryptMetadata(plaintext, aad []byte) (string, error) {
	key, err := ks.metadataKey("metadata.Encrypt")
	if err != nil {
		return "", err
	}
	return EncryptMetadata(key, plaintext, aad)
}

// DecryptMetadata decrypts a token with the set's MetadataKey, which must be present and
// unsealed (see the package function DecryptMetadata).
func (ks *KeySet) DecryptMetadata(token, aad []byte) ([]byte, error) {
	key, err := ks.metadataKey("metadata.Decrypt")
	if err != nil {
		return nil, err
	}
	return DecryptMetadata(key, token, aad)
}
