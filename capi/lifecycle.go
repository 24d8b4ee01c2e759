package main

// The Go side of the key set lifecycle functions of include/envector.h: state changes,
// reseal, rotation, loading a version, listing sets with their versions, and a key set's
// state as JSON. Same rules as exports.go: out-parameters written only on success,
// panics recovered, messages never hold a KEK or key material.

/*
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "capi_internal.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// changeKeys are the keys of envector_store_set_state's change_json.
var changeKeys = []string{"to", "reason", "compromised"}

// parseChange decodes change_json: {"to": "deactivated", "reason": "...", "compromised":
// false}; "to" and "reason" are required (core checks their values).
func parseChange(p *C.char) (core.StateChange, error) {
	var c core.StateChange
	if p == nil {
		return c, core.Errorf(core.ErrInvalidArgument, "", "change_json is NULL")
	}
	raw, err := parseObject(cView(unsafe.Pointer(p), C.strlen(p)), "change_json", changeKeys, `{"to": "deactivated", "reason": "rotated out"}`)
	if err != nil {
		return c, err
	}
	bad := func(format string, args ...any) error {
		return core.Errorf(core.ErrInvalidArgument, "", "change_json: "+format, args...)
	}
	v, ok := raw["to"]
	if !ok {
		return c, bad(`"to" is required: the new state, "active" (from preparing), "deactivated" (from active) or "destroyed" (from deactivated)`)
	}
	if json.Unmarshal(v, &c.To) != nil {
		return c, bad(`"to" must be a string such as "deactivated"`)
	}
	c.To = strings.ToLower(c.To)
	v, ok = raw["reason"]
	if !ok {
		return c, bad(`"reason" is required (as in enVector): say why the state changes`)
	}
	if json.Unmarshal(v, &c.Reason) != nil {
		return c, bad(`"reason" must be a string`)
	}
	if v, ok := raw["compromised"]; ok && json.Unmarshal(v, &c.Compromised) != nil {
		return c, bad(`"compromised" must be true or false`)
	}
	return c, nil
}

// parseKEKNamed parses the KEK at p, the parameter called name (n its name_len). With
// optional, p = NULL and n = 0 give no KEK. Errors name the parameter.
func parseKEKNamed(p *C.uint8_t, n C.size_t, optional bool, name string) (*core.KEK, error) {
	if p == nil {
		if optional && n == 0 {
			return nil, nil
		}
		if optional {
			return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is NULL but %s_len is %d (NULL and 0 for none)", name, name, uint64(n))
		}
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is NULL", name)
	}
	if n > maxInput {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s_len %d is not accepted; a KEK is 32 to 45 bytes", name, uint64(n))
	}
	k, err := core.ParseKEK(cView(unsafe.Pointer(p), n)) // ParseKEK keeps no reference to its input
	var ce *core.Error
	if err != nil && name != "kek" && errors.As(err, &ce) {
		return nil, &core.Error{Kind: ce.Kind, Op: name, Msg: ce.Msg} // "new_kek: a KEK of 31 bytes ...", not "kek: ..."
	}
	return k, err
}

//export envectorgo_store_set_state
func envectorgo_store_set_state(stID C.uint64_t, keyID *C.char, changeJSON *C.char, kek *C.uint8_t, kekLen C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_set_state", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	change, err := parseChange(changeJSON)
	if err != nil {
		return c.fail(err)
	}
	k, err := parseKEKNamed(kek, kekLen, true, "kek")
	if err != nil {
		return c.fail(err)
	}
	defer k.Wipe()
	ks, err := store.SetState(ctx, st.st, id, change, k)
	if err != nil {
		return c.fail(err)
	}
	ks.Wipe()
	return 0
}

//export envectorgo_store_reseal
func envectorgo_store_reseal(stID C.uint64_t, keyID *C.char, oldKEK *C.uint8_t, oldLen C.size_t, newKEK *C.uint8_t, newLen C.size_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_reseal", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	nk, err := parseKEKNamed(newKEK, newLen, false, "new_kek")
	if err != nil {
		return c.fail(err)
	}
	defer nk.Wipe()
	cur, err := parseKEKNamed(oldKEK, oldLen, true, "old_kek")
	if err != nil {
		return c.fail(err)
	}
	defer cur.Wipe()
	ks, err := store.Reseal(ctx, st.st, id, cur, nk)
	if err != nil {
		return c.fail(err)
	}
	ks.Wipe()
	return 0
}

//export envectorgo_store_rotate
func envectorgo_store_rotate(stID C.uint64_t, keyID *C.char, optionsJSON *C.char, kek *C.uint8_t, kekLen C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_rotate", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	opts, err := cOptions(optionsJSON)
	if err != nil {
		return c.fail(err)
	}
	defer opts.wipe()
	k, err := parseKEKNamed(kek, kekLen, true, "kek")
	if err != nil {
		return c.fail(err)
	}
	defer k.Wipe()
	ro, err := opts.rotateOptions(id, k != nil)
	if err != nil {
		return c.fail(err)
	}
	ro.KEK = k
	ks, err := store.Rotate(ctx, st.st, id, ro)
	if err != nil {
		return c.fail(err)
	}
	if out == nil {
		ks.Wipe()
		return 0
	}
	return newKeySet(ks, out)
}

// loadCurrent reads the current key set keyID whatever its state (version 0 of
// envector_store_load_version).
func loadCurrent(st store.Store, keyID string, roles []core.Role) (*core.KeySet, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	return st.LoadWithOptions(ctx, keyID, core.ParseOptions{AllowInactive: true}, roles...)
}

//export envectorgo_store_load_version
func envectorgo_store_load_version(stID C.uint64_t, keyID *C.char, version C.int, roles *C.int, count C.size_t, out *C.uint64_t, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_load_version", errOut: errOut}
	defer c.recover(&status)
	st, id, err := c.storeAndKeyID(stID, keyID)
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if out == nil {
		return c.invalid("out is NULL")
	}
	if version < 0 {
		return c.invalid("version %d is not accepted; accepted: a version number (1, 2, ...), or 0 for the current version whatever its state", int(version))
	}
	rs, err := roleList(roles, count)
	if err != nil {
		return c.fail(err)
	}
	var ks *core.KeySet
	if version == 0 {
		ks, err = loadCurrent(st.st, id, rs)
	} else {
		ks, err = st.st.LoadVersion(ctx, id, int(version), rs...)
	}
	if err != nil {
		return c.fail(err)
	}
	return newKeySet(ks, out)
}

// listingJSON is one key id of envector_store_list_sets.
type listingJSON struct {
	KeyID    string   `json:"key_id"`
	Roles    []string `json:"roles"`
	Complete bool     `json:"complete"`
	Versions []int    `json:"versions"`
}

//export envectorgo_store_list_sets
func envectorgo_store_list_sets(stID C.uint64_t, outJSON **C.char, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_store_list_sets", errOut: errOut}
	defer c.recover(&status)
	st, err := c.store(stID, "store")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(st)
	if outJSON == nil {
		return c.invalid("out_json is NULL")
	}
	sets, err := st.st.ListSets(ctx)
	if err != nil {
		return c.fail(err)
	}
	list := make([]listingJSON, 0, len(sets))
	for _, s := range sets {
		l := listingJSON{KeyID: s.KeyID, Roles: []string{}, Complete: s.Complete, Versions: []int{}}
		for _, r := range s.Roles {
			l.Roles = append(l.Roles, r.String())
		}
		l.Versions = append(l.Versions, s.Versions...)
		list = append(list, l)
	}
	return c.jsonOut(list, outJSON)
}

// jsonOut writes v as JSON into a new string the caller frees with envector_string_free.
func (c *call) jsonOut(v any, out **C.char) C.int {
	b, err := json.Marshal(v)
	if err != nil {
		return c.fail(core.Wrap(core.ErrInternal, "", err, "writing the JSON"))
	}
	p, err := cString(string(b))
	if err != nil {
		return c.fail(err)
	}
	*out = p
	return 0
}

// stateJSON is envector_keyset_state_json's object: what the set's envelopes say of its
// life, never key material.
type stateJSON struct {
	State       string          `json:"state"`
	ExpiresAt   *string         `json:"expires_at"`
	CreatedAt   *string         `json:"created_at"`
	Version     int             `json:"version"`
	SetID       *string         `json:"set_id"`
	Reason      *string         `json:"reason"`
	Compromised bool            `json:"compromised"`
	UpdatedAt   *string         `json:"updated_at"`
	ChangedBy   *core.Requester `json:"changed_by"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

//export envectorgo_keyset_state_json
func envectorgo_keyset_state_json(ksID C.uint64_t, outJSON **C.char, errOut *C.uint64_t) (status C.int) {
	c := &call{op: "envector_keyset_state_json", errOut: errOut}
	defer c.recover(&status)
	o, err := c.keySet(ksID, "ks")
	if err != nil {
		return c.fail(err)
	}
	defer handles.release(o)
	if outJSON == nil {
		return c.invalid("out_json is NULL")
	}
	state, expires := o.ks.State()
	s := stateJSON{State: state, Version: o.ks.Version(), SetID: optional(o.ks.SetID())}
	if !expires.IsZero() {
		s.ExpiresAt = optional(expires.UTC().Format(time.RFC3339))
	}
	if info := o.ks.Info(); len(info) > 0 {
		// A set changes state as a whole: its first envelope says what all say.
		i := info[0]
		s.CreatedAt, s.Reason, s.UpdatedAt, s.ChangedBy = optional(i.CreatedAt), optional(i.StateReason), optional(i.StateUpdatedAt), i.StateChangedBy
		s.Compromised = i.Compromised
	}
	return c.jsonOut(s, outJSON)
}
