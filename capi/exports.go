package main

// The Go side of every function of include/envector.h. envector.c calls these with
// handles turned into ids (uint64_t, 0 for NULL) and an error id out-parameter that is
// NULL when the caller passed err = NULL. Each function writes its out-parameters
// only on success, recovers panics into ENVECTOR_ERR_INTERNAL, and leaves nothing in
// the handle table on failure but the error it returns.

/*
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "capi_internal.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
	"github.com/envector-keys/envector-keys/internal/cli"
)

// call carries what every export needs to report a failure.
type call struct {
	op     string      // the C function, e.g. "envector_keygen"
	errOut *C.uint64_t // where the error id goes; nil when the caller passed err = NULL
}

// fail turns err into the status code and, when the caller asked for it, an error
// object. Messages start with the C function's name.
func (c *call) fail(err error) C.int {
	kind := core.KindOf(err)
	if kind < core.ErrInvalidArgument || kind > core.ErrInactive { // the ENVECTOR_ERR_* codes: 1..9
		kind = core.ErrInternal
	}
	msg := err.Error()
	var e *core.Error
	if errors.As(err, &e) && error(e) == err && e.Op == "" {
		msg = e.Msg
	}
	c.report(kind, msg)
	return C.int(kind)
}

func (c *call) invalid(format string, args ...any) C.int {
	return c.fail(core.Errorf(core.ErrInvalidArgument, "", format, args...))
}

func (c *call) report(kind core.Kind, msg string) {
	if c.errOut == nil {
		return
	}
	text := c.op + ": " + core.BoundMessage(msg)
	o := &object{kind: kindError, code: kind, msg: C.CString(text)}
	*c.errOut = C.uint64_t(handles.add(o))
}

// recover turns a panic into ENVECTOR_ERR_INTERNAL; every export defers it. The
// message names the panic, never the data the call was working on.
func (c *call) recover(status *C.int) {
	if r := recover(); r != nil {
		*status = C.int(core.ErrInternal)
		c.report(core.ErrInternal, fmt.Sprintf("internal error (a bug; please report it): panic: %v", r))
	}
}

// keySet acquires the key set under id; the caller must release it.
func (c *call) keySet(id C.uint64_t, name string) (*object, error) {
	return handles.acquire(uint64(id), kindKeySet, name)
}

func (c *call) store(id C.uint64_t, name string) (*object, error) {
	return handles.acquire(uint64(id), kindStore, name)
}

// newKeySet puts ks in the table and writes its id to out.
func newKeySet(ks *core.KeySet, out *C.uint64_t) C.int {
	*out = C.uint64_t(handles.add(&object{kind: kindKeySet, ks: ks}))
	return 0
}

// goString copies the NUL-terminated UTF-8 string p.
func goString(p *C.char, name string) (string, error) {
	if p == nil {
		return "", core.Errorf(core.ErrInvalidArgument, "", "%s is NULL", name)
	}
	s := C.GoString(p)
	if !utf8.ValidString(s) {
		return "", core.Errorf(core.ErrInvalidArgument, "", "%s is not valid UTF-8", name)
	}
	return s, nil
}

// cView returns the n bytes at p without copying them: valid during the call only.
func cView(p unsafe.Pointer, n C.size_t) []byte {
	if n == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(p), int(n))
}

// maxInput bounds a length the caller passes, so a garbage length fails cleanly.
const maxInput = 1 << 30

// role checks a role number.
func role(r C.int, name string) (core.Role, error) {
	if r < 0 || int(r) >= len(core.AllRoles) {
		return 0, core.Errorf(core.ErrInvalidArgument, "", "%s %d is not a role; accepted: 0 (SecKey), 1 (EncKey), 2 (EvalKey), 3 (MetadataKey)", name, int(r))
	}
	return core.Role(r), nil
}

// roleList checks count roles at p: each a role, none twice.
func roleList(p *C.int, count C.size_t) ([]core.Role, error) {
	if count == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "roles is NULL but count is %d", uint64(count))
	}
	if count > C.size_t(len(core.AllRoles)) {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "count is %d; a key set has at most %d roles", uint64(count), len(core.AllRoles))
	}
	var seen [4]bool
	out := make([]core.Role, 0, count)
	for i, r := range unsafe.Slice(p, int(count)) {
		role, err := role(r, fmt.Sprintf("roles[%d]", i))
		if err != nil {
			return nil, err
		}
		if seen[role] {
			return nil, core.Errorf(core.ErrInvalidArgument, "", "roles[%d]: %s is given twice", i, role)
		}
		seen[role] = true
		out = append(out, role)
	}
	return out, nil
}

// parseKEK parses the KEK parameter named kek (see parseKEKNamed).
func parseKEK(p *C.uint8_t, n C.size_t, optional bool) (*core.KEK, error) {
	return parseKEKNamed(p, n, optional, "kek")
}

// cBytes copies b into a buffer the caller frees with envector_bytes_free.
func cBytes(b []byte, secret bool) (unsafe.Pointer, error) {
	p, err := cAlloc(len(b), secret)
	if err != nil {
		return nil, err
	}
	copy(unsafe.Slice((*byte)(p), len(b)), b)
	return p, nil
}

// cAlloc allocates n bytes of C memory the caller frees with envector_bytes_free
// (which zeroes it first when secret is set).
func cAlloc(n int, secret bool) (unsafe.Pointer, error) {
	s := C.int(0)
	if secret {
		s = 1
	}
	p := C.envectorc_alloc(C.size_t(n), s)
	if p == nil {
		return nil, core.Errorf(core.ErrInternal, "", "out of memory (%d bytes)", n)
	}
	return p, nil
}

// cString copies s into a NUL-terminated string the caller frees with
// envector_string_free.
func cString(s string) (*C.char, error) {
	p, err := cBytes(append([]byte(s), 0), false)
	return (*C.char)(p), err
}

// cStringList lays out ids as one NULL-terminated char* array followed by the
// strings, in one buffer the caller frees with envector_string_list_free.
func cStringList(ids []string) (**C.char, error) {
	ptrSize := int(unsafe.Sizeof(uintptr(0)))
	size := (len(ids) + 1) * ptrSize
	for _, id := range ids {
		size += len(id) + 1
	}
	p := C.envectorc_alloc(C.size_t(size), 0)
	if p == nil {
		return nil, core.Errorf(core.ErrInternal, "", "out of memory (%d bytes)", size)
	}
	ptrs := unsafe.Slice((**C.char)(p), len(ids)+1)
	off := (len(ids) + 1) * ptrSize
	for i, id := range ids {
		dst := unsafe.Add(p, off)
		copy(unsafe.Slice((*byte)(dst), len(id)+1), id+"\x00")
		ptrs[i] = (*C.char)(dst)
		off += len(id) + 1
	}
	ptrs[len(ids)] = nil
	return (**C.char)(p), nil
}

var ctx = context.Background()

// cOptions decodes the options_json argument (see parseOptions); the caller wipes it.
func cOptions(optionsJSON *C.char) (*options, error) {
	if optionsJSON == nil {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "options_json is NULL")
	}
	return parseOptions(cView(unsafe.Pointer(optionsJSON), C.strlen(optionsJSON)))
}

//export envectorgo_keygen
func envectorgo_keygen(optionsJSON *C.char, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keygen", errOut: errOut}
	defer c.recover(&status)
	if out == nil {
		return c.invalid("out is NULL")
	}
	opts, err := cOptions(optionsJSON)
	if err != nil {
		return c.fail(err)
	}
	defer opts.wipe()
	g, err := opts.generateOptions()
	if err != nil {
		return c.fail(err)
	}
	var kek *core.KEK
	if opts.sealMode == "aes" { // read before the work of generating
		if kek, err = core.ReadKEKFile(opts.sealKEKPath); err != nil {
			return c.fail(err)
		}
		defer kek.Wipe()
	}
	ks, err := core.Generate(g)
	if err != nil {
		return c.fail(err)
	}
	if kek != nil {
		sealed, err := ks.Seal(kek)
		ks.Wipe()
		if err != nil {
			return c.fail(err)
		}
		ks = sealed
	}
	return newKeySet(ks, out)
}

//export envectorgo_keyset_free
func envectorgo_keyset_free(id C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_free"}
	defer c.recover(&status)
	if err := handles.free(uint64(id), kindKeySet, "ks"); err != nil {
		return c.fail(err)
	}
	return 0
}

//export envectorgo_keyset_blob
func envectorgo_keyset_blob(ksID C.uint64_t, r C.int, outData **C.uint8_t, outLen *C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_blob", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	rl, err := role(r, "role")
	if err != nil {
		return c.fail(err)
	}
	if outData == nil || outLen == nil {
		return c.invalid("out_data or out_len is NULL")
	}
	p, n, err := blobToC(o.ks, rl)
	if err != nil {
		return c.fail(err)
	}
	*outData, *outLen = p, n
	return 0
}

//export envectorgo_keyset_blobs
func envectorgo_keyset_blobs(ksID C.uint64_t, outData **C.uint8_t, outLens *C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_blobs", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outData == nil || outLens == nil {
		return c.invalid("out_data or out_lens is NULL")
	}
	data := make([]*C.uint8_t, len(core.AllRoles))
	lens := make([]C.size_t, len(core.AllRoles))
	// The EvalKey first: the secrets' envelopes record its digest, which a generated MM
	// EvalKey only has once made (made first, it is made once).
	for _, r := range []core.Role{core.EvalKey, core.EncKey, core.SecKey, core.MetadataKey} {
		if !o.ks.Has(r) {
			continue
		}
		p, n, err := blobToC(o.ks, r)
		if err != nil {
			for _, q := range data {
				if q != nil {
					C.envectorc_free(unsafe.Pointer(q))
				}
			}
			return c.fail(err)
		}
		data[r], lens[r] = p, n
	}
	copy(unsafe.Slice(outData, len(core.AllRoles)), data)
	copy(unsafe.Slice(outLens, len(core.AllRoles)), lens)
	return 0
}

// blobToC writes role r's envelope straight into a new C buffer (freed with
// envector_bytes_free, which zeroes it when it held a secret): no Go copy of a secret
// is left to wipe, and no second pass over megabytes of EvalKey.
func blobToC(ks *core.KeySet, r core.Role) (*C.uint8_t, C.size_t, error) {
	var p unsafe.Pointer
	blob, err := ks.BlobTo(r, func(n int) ([]byte, error) {
		buf, aerr := cAlloc(n, r.Secret())
		if aerr != nil {
			return nil, aerr
		}
		p = buf
		return unsafe.Slice((*byte)(p), n), nil
	})
	if err != nil {
		if p != nil {
			C.envectorc_free(p)
		}
		return nil, 0, err
	}
	return (*C.uint8_t)(p), C.size_t(len(blob)), nil
}

//export envectorgo_keyset_roles
func envectorgo_keyset_roles(ksID C.uint64_t, outRoles *C.int, outCount *C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_roles", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outRoles == nil || outCount == nil {
		return c.invalid("out_roles or out_count is NULL")
	}
	roles := o.ks.Roles()
	dst := unsafe.Slice(outRoles, len(core.AllRoles))
	for i, r := range roles {
		dst[i] = C.int(r)
	}
	*outCount = C.size_t(len(roles))
	return 0
}

//export envectorgo_keyset_id
func envectorgo_keyset_id(ksID C.uint64_t, outID **C.char, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_id", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outID == nil {
		return c.invalid("out_id is NULL")
	}
	p, err := cString(o.ks.ID())
	if err != nil {
		return c.fail(err)
	}
	*outID = p
	return 0
}

//export envectorgo_keyset_sealed
func envectorgo_keyset_sealed(ksID C.uint64_t, outSealed *C.int, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_sealed", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outSealed == nil {
		return c.invalid("out_sealed is NULL")
	}
	*outSealed = 0
	if o.ks.Sealed() {
		*outSealed = 1
	}
	return 0
}

//export envectorgo_keyset_from_blobs
func envectorgo_keyset_from_blobs(keyID *C.char, roles *C.int, blobs **C.uint8_t, lens *C.size_t, count C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_from_blobs", errOut: errOut}
	defer c.recover(&status)
	if out == nil {
		return c.invalid("out is NULL")
	}
	id, err := goString(keyID, "key_id")
	if err != nil {
		return c.fail(err)
	}
	if count == 0 {
		return c.invalid("count is 0; give at least one blob")
	}
	if blobs == nil || lens == nil {
		return c.invalid("blobs or lens is NULL")
	}
	rs, err := roleList(roles, count)
	if err != nil {
		return c.fail(err)
	}
	ptrs := unsafe.Slice(blobs, int(count))
	sizes := unsafe.Slice(lens, int(count))
	m := make(map[core.Role][]byte, len(rs))
	for i, r := range rs {
		if ptrs[i] == nil {
			return c.invalid("blobs[%d] is NULL", i)
		}
		if sizes[i] > maxInput {
			return c.invalid("lens[%d] = %d is not accepted; no key blob is over %d bytes", i, uint64(sizes[i]), maxInput)
		}
		m[r] = cView(unsafe.Pointer(ptrs[i]), sizes[i]) // ParseKeySet keeps no reference to its input
	}
	ks, err := core.ParseKeySet(id, m, core.ParseOptions{})
	if err != nil {
		return c.fail(err)
	}
	return newKeySet(ks, out)
}

// sealOrUnseal is envector_seal and envector_unseal.
func sealOrUnseal(c *call, ksID C.uint64_t, kek *C.uint8_t, kekLen C.size_t, out *C.uint64_t, seal bool) C.int {
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if out == nil {
		return c.invalid("out is NULL")
	}
	k, err := parseKEK(kek, kekLen, false)
	if err != nil {
		return c.fail(err)
	}
	defer k.Wipe()
	var ks *core.KeySet
	if seal {
		ks, err = o.ks.Seal(k)
	} else {
		ks, err = o.ks.Unseal(k)
	}
	if err != nil {
		return c.fail(err)
	}
	return newKeySet(ks, out)
}

//export envectorgo_seal
func envectorgo_seal(ksID C.uint64_t, kek *C.uint8_t, kekLen C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_seal", errOut: errOut}
	defer c.recover(&status)
	return sealOrUnseal(c, ksID, kek, kekLen, out, true)
}

//export envectorgo_unseal
func envectorgo_unseal(ksID C.uint64_t, kek *C.uint8_t, kekLen C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_unseal", errOut: errOut}
	defer c.recover(&status)
	return sealOrUnseal(c, ksID, kek, kekLen, out, false)
}

//export envectorgo_kek_check
func envectorgo_kek_check(kek *C.uint8_t, kekLen C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_kek_check", errOut: errOut}
	defer c.recover(&status)
	k, err := parseKEK(kek, kekLen, false) // as envector_seal parses it, with its messages
	if err != nil {
		return c.fail(err)
	}
	k.Wipe()
	return 0
}

//export envectorgo_keyset_verify
func envectorgo_keyset_verify(ksID C.uint64_t, kek *C.uint8_t, kekLen C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_verify", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	k, err := parseKEK(kek, kekLen, true)
	if err != nil {
		return c.fail(err)
	}
	defer k.Wipe() // nil: nothing to wipe
	if _, err := o.ks.Verify(k); err != nil {
		return c.fail(err)
	}
	return 0
}

//export envectorgo_store_open
func envectorgo_store_open(optionsJSON *C.char, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_open", errOut: errOut}
	defer c.recover(&status)
	if out == nil {
		return c.invalid("out is NULL")
	}
	opts, err := cOptions(optionsJSON)
	if err != nil {
		return c.fail(err)
	}
	defer opts.wipe()
	var st store.Store
	switch opts.keyStore {
	case "local":
		st = store.NewLocal(opts.keyPath)
	case "aws":
		if st, err = openAWS(ctx, opts); err != nil {
			return c.fail(err)
		}
	}
	*out = C.uint64_t(handles.add(&object{kind: kindStore, st: st}))
	return 0
}

//export envectorgo_store_free
func envectorgo_store_free(id C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_free"}
	defer c.recover(&status)
	if err := handles.free(uint64(id), kindStore, "store"); err != nil {
		return c.fail(err)
	}
	return 0
}

//export envectorgo_store_save
func envectorgo_store_save(stID C.uint64_t, ksID C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_save", errOut: errOut}
	defer c.recover(&status)
	st, err := c.store(stID, "store")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	ks, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(ks)
	if err := st.st.Save(ctx, ks.ks); err != nil {
		return c.fail(err)
	}
	return 0
}

//export envectorgo_store_load
func envectorgo_store_load(stID C.uint64_t, keyID *C.char, roles *C.int, count C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_load", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if out == nil {
		return c.invalid("out is NULL")
	}
	rs, err := roleList(roles, count)
	if err != nil {
		return c.fail(err)
	}
	ks, err := st.st.Load(ctx, id, rs...)
	if err != nil {
		return c.fail(err)
	}
	return newKeySet(ks, out)
}

//export envectorgo_store_exists
func envectorgo_store_exists(stID C.uint64_t, keyID *C.char, outExists *C.int, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_exists", errOut: errOut}
	defer c.recover(&status)
	st, err := c.store(stID, "store")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if outExists == nil {
		return c.invalid("out_exists is NULL")
	}
	id, err := goString(keyID, "key_id")
	if err != nil {
		return c.fail(err)
	}
	ok, err := st.st.Exists(ctx, id)
	if err != nil {
		return c.fail(err)
	}
	*outExists = 0
	if ok {
		*outExists = 1
	}
	return 0
}

// deleteImmediate is ENVECTOR_DELETE_IMMEDIATE.
const deleteImmediate = 1

//export envectorgo_store_delete
func envectorgo_store_delete(stID C.uint64_t, keyID *C.char, flags C.uint, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_delete", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if flags&^deleteImmediate != 0 {
		return c.invalid("unknown flags %#x; accepted: 0 or ENVECTOR_DELETE_IMMEDIATE", uint(flags))
	}
	if err := st.st.Delete(ctx, id, store.DeleteOptions{Immediate: flags&deleteImmediate != 0}); err != nil {
		return c.fail(err)
	}
	return 0
}

//export envectorgo_store_list
func envectorgo_store_list(stID C.uint64_t, outIDs ***C.char, outCount *C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_list", errOut: errOut}
	defer c.recover(&status)
	st, err := c.store(stID, "store")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if outIDs == nil || outCount == nil {
		return c.invalid("out_ids or out_count is NULL")
	}
	ids, err := st.st.List(ctx)
	if err != nil {
		return c.fail(err)
	}
	p, err := cStringList(ids)
	if err != nil {
		return c.fail(err)
	}
	*outIDs = p
	*outCount = C.size_t(len(ids))
	return 0
}

// errorMessage returns the message of the error under id, or nil if id is not a live
// error (envector.c then returns a static text).
//
//export envectorgo_error_message
func envectorgo_error_message(id C.uint64_t) (msg *C.char) {
	defer func() {
		if recover() != nil {
			msg = nil
		}
	}()
	o, err := handles.acquire(uint64(id), kindError, "err")
	if err != nil {
		return nil
	}
	defer handles.release(o)
	return o.msg
}

//export envectorgo_error_code
func envectorgo_error_code(id C.uint64_t) (code C.int) {
	defer func() {
		if recover() != nil {
			code = C.int(core.ErrInternal)
		}
	}()
	o, err := handles.acquire(uint64(id), kindError, "err")
	if err != nil {
		return C.int(core.ErrInvalidArgument)
	}
	defer handles.release(o)
	return C.int(o.code)
}

//export envectorgo_error_free
func envectorgo_error_free(id C.uint64_t) (status C.int) {
	defer func() {
		if recover() != nil {
			status = C.int(core.ErrInternal)
		}
	}()
	if err := handles.free(uint64(id), kindError, "err"); err != nil {
		return C.int(core.ErrInvalidArgument)
	}
	return 0
}

//export envectorgo_cli_main
func envectorgo_cli_main(argc C.int, argv **C.char) (status C.int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "envector-keygen: internal error (a bug; please report it): panic: %v\n", r)
			status = cli.ExitFailure
		}
	}()
	if argc < 1 || argv == nil {
		fmt.Fprintln(os.Stderr, "envector_cli_main: argc must be at least 1 and argv not NULL (argv[0] is the program name)")
		return cli.ExitUsage
	}
	ptrs := unsafe.Slice(argv, int(argc))
	args := make([]string, 0, argc-1)
	for i, p := range ptrs[1:] {
		if p == nil {
			fmt.Fprintf(os.Stderr, "envector_cli_main: argv[%d] is NULL\n", i+1)
			return cli.ExitUsage
		}
		args = append(args, C.GoString(p))
	}
	return C.int(cli.MainProg(C.GoString(ptrs[0]), args, os.Stdin, os.Stdout, os.Stderr)) // argv[0] names the program in hints
}

// storeAndKeyID resolves a store handle and a key id argument, the first two of every
// envector_store_* call on one key set; release the store when done.
func (c *call) storeAndKeyID(stID C.uint64_t, keyID *C.char) (*object, string, error) {
	st, err := c.store(stID, "store")
	if err != nil {
		return nil, "", err
	}
	id, err := goString(keyID, "key_id")
	if err != nil {
		handles.release(st)
		return nil, "", err
	}
	return st, id, nil
}
