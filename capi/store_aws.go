package main

/*
#include <stdlib.h>
extern char **environ;
*/
import "C"

import (
	"context"
	"os"
	"strings"
	"unsafe"

	"github.com/envector-keys/envector-keys/core/store"
)

// openAWS opens the AWS store (key_store "aws") from region_name, bucket_name and
// secret_prefix; an absent (or null) bucket_name or secret_prefix means the store's
// default (envector-key-storage, envector/keys), and secret_prefix "" means no prefix.
// store.NewAWS checks the values and loads the standard AWS configuration; it makes
// no network call.
func openAWS(ctx context.Context, o *options) (store.Store, error) {
	syncAWSEnvironment()
	cfg := store.AWSConfig{Region: o.regionName, Bucket: store.DefaultBucket, Prefix: store.DefaultPrefix, Timeout: o.awsTimeout}
	if o.set["bucket_name"] {
		cfg.Bucket = o.bucketName
	}
	if o.set["secret_prefix"] {
		cfg.Prefix = o.secretPrefix
	}
	return store.NewAWS(ctx, cfg)
}

// syncAWSEnvironment makes the Go runtime's copy of the environment agree with the
// process's for every AWS_* variable. The Go runtime of a shared library copies the
// environment once, when the library is loaded; a program that sets AWS_REGION or
// AWS_ENDPOINT_URL later (setenv(3), Python's os.environ, Node's process.env) changes
// only the process's, which the AWS configuration would otherwise not see.
func syncAWSEnvironment() {
	const prefix = "AWS_"
	inC := map[string]string{}
	if C.environ != nil {
		for p := C.environ; *p != nil; p = (**C.char)(unsafe.Add(unsafe.Pointer(p), unsafe.Sizeof(*p))) {
			kv := C.GoString(*p)
			if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, prefix) {
				inC[k] = v
			}
		}
	}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, prefix) {
			if cv, ok := inC[k]; !ok {
				os.Unsetenv(k)
			} else if cv == v {
				delete(inC, k)
			}
		}
	}
	for k, v := range inC {
		os.Setenv(k, v)
	}
}
