package main

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/envector-keys/envector-keys/core"
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

// cStringArg returns s, NUL-terminated in Go memory, as parameter i of fn (a *C.char).
func cStringArg(fn any, i int, s string) reflect.Value {
	b := append([]byte(s), 0)
	return reflect.NewAt(reflect.TypeOf(fn).In(i).Elem(), unsafe.Pointer(&b[0]))
}

// errorMessage calls fn with args (reflect values; the error out-parameter is added
// last), expects a failure, and returns its message, freeing the error.
func errorMessage(t *testing.T, fn any, args ...reflect.Value) string {
	t.Helper()
	errOut := newPtr(fn, len(args))
	if st := reflect.ValueOf(fn).Call(append(args, errOut))[0].Int(); st == 0 {
		t.Fatal("the call succeeded")
	}
	errID := errOut.Elem().Uint()
	msg := goStringAt(callExport(envectorgo_error_message, errID)[0])
	callExport(envectorgo_error_free, errID)
	return msg
}

// TestMessagesNeverRepeatLongValues gives every string the options or a call take a
// value of ~1 MB (the options JSON is at most 1 MiB): no message is over ~1 KB.
func TestMessagesNeverRepeatLongValues(t *testing.T) {
	long := strings.Repeat("k", 1<<20-512)
	check := func(what, msg string) {
		t.Helper()
		if len(msg) > core.MaxMessage+64 || strings.Contains(msg, long[:core.MaxMessage]) {
			t.Errorf("%s: a %d-byte message: %.200q", what, len(msg), msg)
		}
	}
	keygen := func(opts string) string {
		return errorMessage(t, envectorgo_keygen, cStringArg(envectorgo_keygen, 0, opts), newPtr(envectorgo_keygen, 1))
	}
	base := `"preset": "ip0", "eval_mode": "single", "dim_list": [32]`
	for _, c := range []struct{ what, opts string }{
		{"key_id", `{"key_id": "` + long + `", ` + base + `}`},
		{"preset", `{"key_id": "k", "preset": "` + long + `"}`},
		{"eval_mode", `{"key_id": "k", "eval_mode": "` + long + `"}`},
		{"seal_mode", `{"key_id": "k", "seal_mode": "` + long + `"}`},
		{"key_store", `{"key_id": "k", "key_store": "` + long + `"}`},
		{"seed", `{"key_id": "k", "seed": "` + long + `"}`},
		{"an unknown key", `{"` + long + `": 1}`},
		{"a dim_list integer", `{"key_id": "k", "dim_list": [` + strings.Repeat("9", len(long)) + `]}`},
		{"a dim_list number", `{"key_id": "k", "dim_list": [1.` + strings.Repeat("5", len(long)) + `]}`},
		{"invalid JSON", `{"key_id": "` + long + `" x}`},
		{"seal_kek_path", `{"key_id": "k", "seal_mode": "aes", "seal_kek_path": "/` + long + `", ` + base + `}`},
	} {
		check(c.what, keygen(c.opts))
	}

	storeOpen := func(opts string) string {
		return errorMessage(t, envectorgo_store_open, cStringArg(envectorgo_store_open, 0, opts), newPtr(envectorgo_store_open, 1))
	}
	check("region_name", storeOpen(`{"key_store": "aws", "region_name": "`+long+`"}`))
	check("bucket_name", storeOpen(`{"key_store": "aws", "region_name": "us-east-1", "bucket_name": "`+long+`"}`))
	check("secret_prefix", storeOpen(`{"key_store": "aws", "region_name": "us-east-1", "secret_prefix": "`+long+`"}`))

	// A store whose key_path is ~1 MB: every operation fails with the OS's "file name
	// too long", which names the path.
	opts := cStringArg(envectorgo_store_open, 0, `{"key_path": "`+t.TempDir()+"/"+long+`"}`)
	out := newPtr(envectorgo_store_open, 1)
	if st := reflect.ValueOf(envectorgo_store_open).Call([]reflect.Value{opts, out, reflect.Zero(reflect.TypeOf(envectorgo_store_open).In(2))})[0].Int(); st != 0 {
		t.Fatalf("store_open: status %d", st)
	}
	st := reflect.ValueOf(out.Elem().Uint()).Convert(reflect.TypeOf(envectorgo_store_exists).In(0))
	defer callExport(envectorgo_store_free, out.Elem().Uint())
	check("key_path (exists)", errorMessage(t, envectorgo_store_exists, st, cStringArg(envectorgo_store_exists, 1, "k"), newPtr(envectorgo_store_exists, 2)))
	check("key_path (list)", errorMessage(t, envectorgo_store_list, st, newPtr(envectorgo_store_list, 1), newPtr(envectorgo_store_list, 2)))

	// A key id of 1 MB, given as a C string.
	check("key id", errorMessage(t, envectorgo_store_exists, st, cStringArg(envectorgo_store_exists, 1, strings.Repeat("k", 1<<20)), newPtr(envectorgo_store_exists, 2)))
}

func TestBoundMessage(t *testing.T) {
	if m := core.BoundMessage("short"); m != "short" {
		t.Fatalf("%q", m)
	}
	long := strings.Repeat("é", 4000) // two bytes each: the cuts fall inside characters
	m := core.BoundMessage("head " + long + " tail")
	if len(m) > core.MaxMessage || !strings.HasPrefix(m, "head é") || !strings.HasSuffix(m, "é tail") ||
		!strings.Contains(m, "é ... é") || !utf8.ValidString(m) {
		t.Fatalf("%d bytes: %q", len(m), m)
	}
}
