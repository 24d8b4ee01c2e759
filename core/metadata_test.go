package core

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// Metadata encrypted with a key set's MetadataKey decrypts with it (also from evi's bare
// JSON form), and with nothing else.
func TestMetadataEncryption(t *testing.T) {
	ks := testKeySet(t, ip0RMP, 0)
	other := testKeySet(t, ip0RMP, 1)
	for _, aad := range [][]byte{nil, []byte("index=products")} {
		token, err := ks.EncryptMetadata([]byte(`{"title":"ünïcode","n":1}`), aad)
		require.NoError(t, err)
		// The token is base64 of {"encrypted_data","iv","tag"}, as enVector stores it.
		raw, err := base64.StdEncoding.DecodeString(token)
		require.NoError(t, err)
		var doc map[string]string
		require.NoError(t, json.Unmarshal(raw, &doc))
		require.Len(t, doc, 3)
		iv, err := base64.StdEncoding.DecodeString(doc["iv"])
		require.NoError(t, err)
		require.Len(t, iv, 12)
		tag, err := base64.StdEncoding.DecodeString(doc["tag"])
		require.NoError(t, err)
		require.Len(t, tag, 16)

		for _, form := range [][]byte{[]byte(token), raw, append([]byte(token), '\n')} {
			plain, err := ks.DecryptMetadata(form, aad)
			require.NoError(t, err)
			require.Equal(t, `{"title":"ünïcode","n":1}`, string(plain))
		}
		_, err = other.DecryptMetadata([]byte(token), aad)
		require.ErrorIs(t, err, ErrAuth, "another key set's MetadataKey")
		_, err = ks.DecryptMetadata([]byte(token), []byte("other"))
		require.ErrorIs(t, err, ErrAuth, "other associated data")
		altered := bytes.Replace(raw, []byte(doc["tag"]), []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 1)
		_, err = ks.DecryptMetadata(altered, aad)
		require.ErrorIs(t, err, ErrAuth, "altered tag")
	}
	// Two encryptions of one value differ (fresh IV).
	a, err := ks.EncryptMetadata([]byte("x"), nil)
	require.NoError(t, err)
	b, err := ks.EncryptMetadata([]byte("x"), nil)
	require.NoError(t, err)
	require.NotEqual(t, a, b)

	for name, token := range map[string]string{
		"not base64":     "!!!",
		"not JSON":       base64.StdEncoding.EncodeToString([]byte("hello")),
		"missing tag":    `{"encrypted_data":"AA==","iv":"AAAAAAAAAAAAAAAA"}`,
		"short iv":       `{"encrypted_data":"AA==","iv":"AAAA","tag":"AAAAAAAAAAAAAAAAAAAAAA=="}`,
		"unknown member": `{"encrypted_data":"AA==","iv":"AAAAAAAAAAAAAAAA","tag":"AAAAAAAAAAAAAAAAAAAAAA==","x":1}`,
	} {
		_, err := ks.DecryptMetadata([]byte(token), nil)
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.Contains(t, err.Error(), "accepted", name)
	}
	_, err = ks.EncryptMetadata([]byte{0xff, 0xfe}, nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), "UTF-8")

	// A sealed MetadataKey must be unsealed first; a set without one says so.
	kek := newKEK(t)
	sealed, err := ks.Seal(kek)
	require.NoError(t, err)
	_, err = sealed.EncryptMetadata([]byte("x"), nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.Contains(t, err.Error(), "sealed")
	pub, err := ks.Subset(EncKey)
	require.NoError(t, err)
	_, err = pub.EncryptMetadata([]byte("x"), nil)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = EncryptMetadata(make([]byte, 16), []byte("x"), nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
}
