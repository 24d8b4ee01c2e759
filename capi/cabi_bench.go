package main

// Support for BenchmarkKeygen (keygen_bench_test.go): test files cannot use cgo, so
// the C side of the benchmark lives here. It calls the public C functions exactly as a
// C program would. Nothing here is exported from the library.

/*
#include <stdlib.h>
#include "../include/envector.h"

// One key generation through the C ABI: keygen, every role's blob copied out and
// freed, the handle freed. Returns the status; *total gets the blob bytes.
static int envectorc_bench_keygen(const char *options_json, size_t *total) {
	envector_keyset *ks = NULL;
	int rc = envector_keygen(options_json, &ks, NULL);
	if (rc != ENVECTOR_OK) return rc;
	int roles[ENVECTOR_ROLE_COUNT];
	size_t n = 0;
	rc = envector_keyset_roles(ks, roles, &n, NULL);
	for (size_t i = 0; rc == ENVECTOR_OK && i < n; i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		rc = envector_keyset_blob(ks, roles[i], &data, &len, NULL);
		*total += len;
		envector_bytes_free(data);
	}
	envector_keyset_free(ks);
	return rc;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// benchKeygenCABI runs envectorc_bench_keygen and returns the total blob size.
func benchKeygenCABI(optionsJSON string) (int, error) {
	opts := C.CString(optionsJSON)
	defer C.free(unsafe.Pointer(opts))
	var total C.size_t
	if rc := C.envectorc_bench_keygen(opts, &total); rc != 0 {
		return 0, fmt.Errorf("envector_keygen through the C ABI: status %d", int(rc))
	}
	return int(total), nil
}
