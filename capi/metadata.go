package main

// The Go side of envector_metadata_encrypt and envector_metadata_decrypt: metadata
// encryption with a key set's MetadataKey (core.KeySet.EncryptMetadata). Same rules as
// exports.go: out-parameters written only on success, panics recovered.

/*
#include <stdint.h>
#include <stddef.h>
#include "capi_internal.h"
*/
import "C"

import (
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
)

// inBytes views the optional input buffer p of n bytes (name and name_len in the C
// function): NULL is accepted with n = 0 and means no bytes. Valid during the call only.
func inBytes(p *C.uint8_t, n C.size_t, name string) ([]byte, error) {
	if n > maxInput {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s_len %d is not accepted; at most %d", name, uint64(n), maxInput)
	}
	if p == nil {
		if n != 0 {
			return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is NULL but %s_len is %d", name, name, uint64(n))
		}
		return nil, nil
	}
	return cView(unsafe.Pointer(p), n), nil
}

//export envectorgo_metadata_encrypt
func envectorgo_metadata_encrypt(ksID C.uint64_t, plaintext *C.uint8_t, plaintextLen C.size_t, aad *C.uint8_t, aadLen C.size_t, outToken **C.char, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_metadata_encrypt", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outToken == nil {
		return c.invalid("out_token is NULL")
	}
	pt, err := inBytes(plaintext, plaintextLen, "plaintext")
	if err != nil {
		return c.fail(err)
	}
	ad, err := inBytes(aad, aadLen, "aad")
	if err != nil {
		return c.fail(err)
	}
	token, err := o.ks.EncryptMetadata(pt, ad) // keeps no reference to its inputs
	if err != nil {
		return c.fail(err)
	}
	p, err := cString(token)
	if err != nil {
		return c.fail(err)
	}
	*outToken = p
	return 0
}

//export envectorgo_metadata_decrypt
func envectorgo_metadata_decrypt(ksID C.uint64_t, token *C.char, aad *C.uint8_t, aadLen C.size_t, outPlaintext **C.uint8_t, outLen *C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_metadata_decrypt", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outPlaintext == nil || outLen == nil {
		return c.invalid("out_plaintext or out_len is NULL")
	}
	tok, err := goString(token, "token")
	if err != nil {
		return c.fail(err)
	}
	ad, err := inBytes(aad, aadLen, "aad")
	if err != nil {
		return c.fail(err)
	}
	plain, err := o.ks.DecryptMetadata([]byte(tok), ad)
	if err != nil {
		return c.fail(err)
	}
	defer clear(plain)
	// A secret buffer: envector_bytes_free zeroes it. Never NULL, even for no bytes.
	p, err := cBytes(plain, true)
	if err != nil {
		return c.fail(err)
	}
	*outPlaintext, *outLen = (*C.uint8_t)(p), C.size_t(len(plain))
	return 0
}
