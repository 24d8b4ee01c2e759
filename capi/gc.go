package main

import (
	"os"
	"runtime/debug"
)

// libraryGCPercent is the garbage collector target of the library when the host sets no
// GOGC. A key set is made of many short-lived polynomial buffers, so with Go's default
// of 100 the collector runs several times per key set; 200 halves the collections for
// a few MiB more heap. Measured when it was introduced (2026-11-23): key generation
// called from a C program took 7.0 ms at 100 and 5.3 ms at 200, and from Node 13%
// longer at 100.
const libraryGCPercent = 200

// init applies libraryGCPercent unless the host chose its own with GOGC, which the Go
// runtime has already honoured by the time init runs.
func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(libraryGCPercent)
	}
}
