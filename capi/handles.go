package main

/*
#include <stdlib.h>
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// objKind is what a handle refers to.
type objKind uint8

const (
	kindKeySet objKind = iota + 1
	kindStore
	kindError
)

func (k objKind) String() string {
	switch k {
	case kindKeySet:
		return "key set"
	case kindStore:
		return "store"
	case kindError:
		return "error"
	}
	return "unknown"
}

// object is what one handle refers to. Exactly one of ks, st, msg is set, by kind.
type object struct {
	kind objKind
	ks   *core.KeySet
	st   store.Store
	code core.Kind
	msg  *C.char // the error message, in C memory (C.malloc)

	// refs counts the calls using the object; freed says its handle was freed. The
	// object is destroyed when both say it is unused, so a free racing another call
	// on the same handle never pulls the key set from under that call.
	refs  int
	freed bool
}

// destroy wipes what the object holds. It runs once, outside the table lock.
func (o *object) destroy() {
	switch o.kind {
	case kindKeySet:
		o.ks.Wipe()
	case kindError:
		C.free(unsafe.Pointer(o.msg))
	}
}

// handleTable maps ids to objects. Ids start at 1 (0 is NULL) and are never reused,
// so a freed id stays invalid. It is the only mutable state of the library.
type handleTable struct {
	mu   sync.Mutex
	last uint64
	objs map[uint64]*object
}

var handles = &handleTable{objs: map[uint64]*object{}}

// add stores o and returns its new id.
func (t *handleTable) add(o *object) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last++
	t.objs[t.last] = o
	return t.last
}

// acquire returns the live object of the given kind under id, to be given back
// with release. name is the parameter's name in the C function, for the message.
func (t *handleTable) acquire(id uint64, kind objKind, name string) (*object, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, err := t.lookup(id, kind, name)
	if err != nil {
		return nil, err
	}
	o.refs++
	return o, nil
}

// release gives back an object acquire returned.
func (t *handleTable) release(o *object) {
	t.mu.Lock()
	o.refs--
	last := o.freed && o.refs == 0
	t.mu.Unlock()
	if last {
		o.destroy()
	}
}

// free removes the handle: later calls with id fail. The object is destroyed now,
// or when the last call using it returns.
func (t *handleTable) free(id uint64, kind objKind, name string) error {
	t.mu.Lock()
	o, err := t.lookup(id, kind, name)
	if err != nil {
		t.mu.Unlock()
		return err
	}
	delete(t.objs, id)
	o.freed = true
	last := o.refs == 0
	t.mu.Unlock()
	if last {
		o.destroy()
	}
	return nil
}

// lookup finds id; the caller holds t.mu.
func (t *handleTable) lookup(id uint64, kind objKind, name string) (*object, error) {
	if id == 0 {
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is NULL", name)
	}
	o, ok := t.objs[id]
	switch {
	case ok && o.kind == kind:
		return o, nil
	case ok:
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is %s handle, not %s handle", name, article(o.kind), article(kind))
	case id <= t.last:
		return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is not a live %s handle: it was freed", name, kind)
	}
	return nil, core.Errorf(core.ErrInvalidArgument, "", "%s is not a %s handle this library returned", name, kind)
}

func article(k objKind) string {
	if k == kindError {
		return "an error"
	}
	return "a " + k.String()
}

// live counts the objects in the table (for tests).
func (t *handleTable) live() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.objs)
}
