// Command capi is the C ABI of envector-keys: built with
//
//	go build -buildmode=c-shared ./capi
//
// (CMakeLists.txt does it, with the SONAME and the symbol list), it is libenvector.so,
// whose contract is include/envector.h.
//
// The layers:
//   - envector.c implements every function of envector.h with the header's exact,
//     const-correct prototypes (the compiler checks them against the header). It turns
//     handles into table ids and back, owns the allocator of returned buffers (a
//     header in front of each records its size and whether it held secrets, so
//     envector_bytes_free can zero it), and calls the Go side.
//   - exports.go holds the Go side: one //export envectorgo_* function per operation
//     (metadata.go those of metadata encryption).
//     Each recovers panics, checks its arguments, turns JSON options into core types,
//     calls core or core/store, and copies results into C memory. Only envector_*
//     symbols leave the library (capi/envector.map); envectorgo_* stay inside.
//   - handles.go is the handle table: key sets, stores and errors live in a
//     mutex-protected map under uint64 ids; C only ever sees the ids, never a Go
//     pointer.
//   - options.go decodes the options JSON.
//
// capi holds no domain logic: everything about keys is in core.
package main

import "C"

// main is required by -buildmode=c-shared and never runs.
func main() {}
