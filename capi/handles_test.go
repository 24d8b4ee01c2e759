package main

import (
	"strings"
	"sync"
	"testing"

	"github.com/envector-keys/envector-keys/core/store"
)

func TestHandleTable(t *testing.T) {
	tab := &handleTable{objs: map[uint64]*object{}}
	st := tab.add(&object{kind: kindStore, st: store.NewLocal(t.TempDir())})
	if st == 0 {
		t.Fatal("id 0 is NULL")
	}
	o, err := tab.acquire(st, kindStore, "store")
	if err != nil {
		t.Fatal(err)
	}
	tab.release(o)

	for _, c := range []struct {
		id   uint64
		kind objKind
		want string
	}{
		{0, kindStore, "store is NULL"},
		{st, kindKeySet, "ks is a store handle, not a key set handle"},
		{st + 100, kindStore, "not a store handle this library returned"},
	} {
		name := map[objKind]string{kindStore: "store", kindKeySet: "ks"}[c.kind]
		if _, err := tab.acquire(c.id, c.kind, name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("acquire(%d): %v, want %q", c.id, err, c.want)
		}
	}
	if err := tab.free(st, kindStore, "store"); err != nil {
		t.Fatal(err)
	}
	if err := tab.free(st, kindStore, "store"); err == nil || !strings.Contains(err.Error(), "it was freed") {
		t.Fatalf("double free: %v", err)
	}
	if tab.live() != 0 {
		t.Fatalf("%d objects left", tab.live())
	}
}

// An object freed while in use is destroyed once, by the last release.
func TestHandleFreedWhileInUse(t *testing.T) {
	tab := &handleTable{objs: map[uint64]*object{}}
	id := tab.add(&object{kind: kindStore})
	var held []*object
	for i := 0; i < 3; i++ {
		o, err := tab.acquire(id, kindStore, "store")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, o)
	}
	if err := tab.free(id, kindStore, "store"); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.acquire(id, kindStore, "store"); err == nil {
		t.Fatal("a freed handle was acquired")
	}
	var wg sync.WaitGroup
	for _, o := range held {
		wg.Add(1)
		go func(o *object) { defer wg.Done(); tab.release(o) }(o)
	}
	wg.Wait()
	if o := held[0]; o.refs != 0 || !o.freed {
		t.Fatalf("refs %d freed %v", o.refs, o.freed)
	}
}
