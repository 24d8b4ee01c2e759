package main

// The Go side of envector_init (include/envector.h): core/setup's init flow behind one
// call. Same rules as exports.go: out-parameters written only on success, panics
// recovered, messages never hold a KEK or the token.

/*
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "capi_internal.h"
*/
import "C"

import (
	"os"
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/core/setup"
	"github.com/envector-keys/envector-keys/core/store"
)

// endpointKeys are the options that only apply with an address.
var endpointKeys = []string{"token_file", "tls", "ca_file", "timeout_seconds", "register_timeout_seconds"}

// initKEK returns the KEK of envector_init: the kek argument or the file seal_kek_path
// names (not both), in agreement with seal_mode; nil for none.
func (o *options) initKEK(kek *C.uint8_t, kekLen C.size_t) (*core.KEK, error) {
	given := kek != nil || kekLen != 0
	switch {
	case given && o.set["seal_kek_path"]:
		return nil, optionsError("give the KEK as kek or as seal_kek_path, not both")
	case given && o.set["seal_mode"] && o.sealMode == "none":
		return nil, optionsError(`seal_mode is "none" but a KEK is given: give seal_mode "aes" (or leave it out) to seal, or give no KEK`)
	case o.set["seal_kek_path"] && o.sealMode != "aes":
		return nil, optionsError(`seal_kek_path is given but seal_mode is "none": give seal_mode "aes" to seal, or leave seal_kek_path out`)
	case !given && !o.set["seal_kek_path"] && o.sealMode == "aes":
		return nil, optionsError(`seal_mode "aes" needs the KEK: give it as kek, or the file holding it as seal_kek_path`)
	case given:
		return parseKEKNamed(kek, kekLen, true, "kek")
	case o.set["seal_kek_path"]:
		return core.ReadKEKFile(o.sealKEKPath)
	}
	return nil, nil
}

// initEndpoint returns the server options of envector_init; token is the token
// argument ("" for none).
func (o *options) initEndpoint(token string, tokenGiven bool) (setup.Endpoint, error) {
	var e setup.Endpoint
	if !o.set["address"] || o.address == "" {
		if tokenGiven {
			return e, optionsError("a token is given but no address: the token is for the server the EvalKey is registered with; give address, or no token")
		}
		for _, k := range endpointKeys {
			if o.set[k] {
				return e, optionsError("%s is given but no address: it applies to the server the EvalKey is registered with; give address (host:port, grpc://host:port or grpcs://host:port), or leave %s out", k, k)
			}
		}
		return e, nil
	}
	e.Address = o.address
	e.TLS = o.tls
	e.Timeout = o.timeout
	e.RegisterTimeout = o.registerTimeout
	switch {
	case tokenGiven && o.set["token_file"]:
		return e, optionsError("give the token as token or as token_file, not both")
	case tokenGiven:
		if err := endpoint.CheckToken(token); err != nil {
			return e, err
		}
		e.Token = token
	case o.set["token_file"]:
		f, err := os.Open(o.tokenFile)
		if err != nil {
			return e, core.Wrap(kindOfOpen(err), "", err, "token_file: cannot read it")
		}
		e.Token, err = endpoint.ReadToken(f)
		f.Close()
		if err != nil {
			return e, core.Wrap(core.KindOf(err), "", err, "token_file %s", o.tokenFile)
		}
	}
	if o.set["ca_file"] {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return e, core.Wrap(kindOfOpen(err), "", err, "ca_file: cannot read it")
		}
		cfg, ok := endpoint.TrustConfig(pem)
		if !ok {
			return e, optionsError("ca_file %s holds no PEM certificate", o.caFile)
		}
		e.TLSConfig = cfg
	}
	return e, nil
}

func kindOfOpen(err error) core.Kind {
	if os.IsNotExist(err) {
		return core.ErrNotFound
	}
	return core.ErrIO
}

// initOptions turns envector_init's arguments into setup's; the caller wipes the KEK.
func (o *options) initOptions(kek *core.KEK) (setup.Options, error) {
	var s setup.Options
	if !o.set["key_id"] {
		return s, optionsError("key_id is required")
	}
	if o.set["reason"] {
		return s, optionsError("reason is not read by envector_init (it is envector_store_rotate's); leave it out")
	}
	p, err := o.parameters()
	if err != nil {
		return s, err
	}
	s.KeyID = o.keyID
	s.AutoKeySetup = o.autoKeySetup
	s.Generate = core.GenerateOptions{Parameters: p, NoMetadataKey: !o.metadataEncryption, Seed: o.seed, Lifetime: o.lifetime}
	s.KEK = kek
	return s, nil
}

// openStore opens the store the options name (as envector_store_open).
func (o *options) openStore() (store.Store, error) {
	if o.keyStore == "aws" {
		return openAWS(ctx, o)
	}
	return store.NewLocal(o.keyPath), nil
}

//export envectorgo_init
func envectorgo_init(optionsJSON *C.char, kek *C.uint8_t, kekLen C.size_t, token *C.char, outJSON **C.char, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_init", errOut: errOut}
	defer c.recover(&status)
	if outJSON == nil {
		return c.invalid("out_result_json is NULL")
	}
	opts, err := cOptions(optionsJSON)
	if err != nil {
		return c.fail(err)
	}
	defer opts.wipe()
	if kek == nil && kekLen != 0 {
		return c.invalid("kek is NULL but kek_len is %d (NULL and 0 for none)", uint64(kekLen))
	}
	var tok []byte
	if token != nil {
		tok = cView(unsafe.Pointer(token), C.strlen(token)) // not copied but into the client
	}
	ep, err := opts.initEndpoint(string(tok), token != nil)
	if err != nil {
		return c.fail(err)
	}
	k, err := opts.initKEK(kek, kekLen)
	if err != nil {
		return c.fail(err)
	}
	defer k.Wipe()
	so, err := opts.initOptions(k)
	if err != nil {
		return c.fail(err)
	}
	if so.Store, err = opts.openStore(); err != nil {
		return c.fail(err)
	}
	so.Endpoint = ep
	res, err := setup.Init(ctx, so)
	if err != nil {
		return c.fail(err)
	}
	return c.jsonOut(res, outJSON)
}
