package main

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// Test files cannot import "C", so these tests call the exports through reflect,
// converting plain Go values to the C types of their parameters.

// callExport calls fn with args converted to its parameter types; a nil arg is the
// parameter's zero value (NULL).
func callExport(fn any, args ...any) []reflect.Value {
	f := reflect.ValueOf(fn)
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		pt := f.Type().In(i)
		if a == nil {
			in[i] = reflect.Zero(pt)
		} else {
			in[i] = reflect.ValueOf(a).Convert(pt)
		}
	}
	return f.Call(in)
}

// newPtr returns a new zero value for a pointer parameter i of fn (e.g. a C.uint64_t
// out-parameter), in Go memory.
func newPtr(fn any, i int) reflect.Value {
	return reflect.New(reflect.TypeOf(fn).In(i).Elem())
}

// goStringAt reads the NUL-terminated string at p (a *C.char).
func goStringAt(p reflect.Value) string {
	b := (*byte)(unsafe.Pointer(p.Pointer()))
	var s []byte
	for ; *b != 0; b = (*byte)(unsafe.Add(unsafe.Pointer(b), 1)) {
		s = append(s, *b)
	}
	return string(s)
}

func TestPanicInAnExportIsAnInternalError(t *testing.T) {
	// A key set handle without a key set: a broken invariant that makes the Go side
	// panic (nil dereference) in the middle of envector_keyset_sealed.
	id := handles.add(&object{kind: kindKeySet})
	defer func() { // not through free: destroying it would panic too
		handles.mu.Lock()
		delete(handles.objs, id)
		handles.mu.Unlock()
	}()
	sealed := newPtr(envectorgo_keyset_sealed, 1)
	errOut := newPtr(envectorgo_keyset_sealed, 2)
	out := reflect.ValueOf(envectorgo_keyset_sealed).Call([]reflect.Value{
		reflect.ValueOf(id).Convert(reflect.TypeOf(envectorgo_keyset_sealed).In(0)), sealed, errOut})
	if status := out[0].Int(); status != 8 {
		t.Fatalf("status %d, want 8 (ENVECTOR_ERR_INTERNAL)", status)
	}
	if sealed.Elem().Int() != 0 {
		t.Fatal("out_sealed was written on failure")
	}
	errID := errOut.Elem().Uint()
	if code := callExport(envectorgo_error_code, errID)[0].Int(); code != 8 {
		t.Fatalf("error code %d", code)
	}
	msg := goStringAt(callExport(envectorgo_error_message, errID)[0])
	if !strings.HasPrefix(msg, "envector_keyset_sealed: internal error (a bug; please report it): panic: ") {
		t.Fatalf("message %q", msg)
	}
	if st := callExport(envectorgo_error_free, errID)[0].Int(); st != 0 {
		t.Fatalf("error_free: %d", st)
	}
	if st := callExport(envectorgo_error_free, errID)[0].Int(); st != 1 {
		t.Fatalf("double error_free: %d", st)
	}
}

func TestNoErrorObjectWithoutErrOut(t *testing.T) {
	before := handles.live()
	st := callExport(envectorgo_keygen, nil, nil, nil)[0].Int()
	if st != 1 {
		t.Fatalf("status %d", st)
	}
	if handles.live() != before {
		t.Fatal("an error object was made though errOut is NULL")
	}
}

// TestConcurrentCalls runs key generation, reads and frees of shared and own handles
// from many goroutines; under -race it checks the handle table and the exports.
func TestConcurrentCalls(t *testing.T) {
	opts := []byte(`{"key_id": "race", "preset": "ip0", "eval_mode": "single"}` + "\x00")
	keygen := func() uint64 {
		out := newPtr(envectorgo_keygen, 1)
		st := reflect.ValueOf(envectorgo_keygen).Call([]reflect.Value{
			reflect.NewAt(reflect.TypeOf(envectorgo_keygen).In(0).Elem(), unsafe.Pointer(&opts[0])),
			out, reflect.Zero(reflect.TypeOf(envectorgo_keygen).In(2))})[0].Int()
		if st != 0 {
			t.Errorf("keygen: status %d", st)
			return 0
		}
		return out.Elem().Uint()
	}
	sealed := func(id uint64) int64 {
		out := newPtr(envectorgo_keyset_sealed, 1)
		return reflect.ValueOf(envectorgo_keyset_sealed).Call([]reflect.Value{
			reflect.ValueOf(id).Convert(reflect.TypeOf(envectorgo_keyset_sealed).In(0)), out,
			reflect.Zero(reflect.TypeOf(envectorgo_keyset_sealed).In(2))})[0].Int()
	}
	free := func(id uint64) int64 { return callExport(envectorgo_keyset_free, id)[0].Int() }

	shared := keygen()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := keygen()
			for i := 0; i < 50; i++ {
				if st := sealed(own); st != 0 {
					t.Errorf("own handle: status %d", st)
				}
				if st := sealed(shared); st != 0 && st != 1 { // 1 once shared is freed
					t.Errorf("shared handle: status %d", st)
				}
			}
			if st := free(own); st != 0 {
				t.Errorf("free: %d", st)
			}
		}()
	}
	if st := free(shared); st != 0 {
		t.Errorf("free shared: %d", st)
	}
	wg.Wait()
	if st := free(shared); st != 1 {
		t.Errorf("double free: %d", st)
	}
}
