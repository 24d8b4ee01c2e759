package main

import (
	"os"
	"runtime/debug"
)

// libraryGCPercent is the garbage collector target of the library when the host sets no
// GOGC. A key set is made of many short-lived polynomial buffers; with Go's default
// of 100 the collector runs several times per key set, and in a shared library each
// of its cycles also has to stop the host's threads that are inside Go calls. 200
// halves the collections for a few MiB more heap (measured in the README).
const libraryGCPercent = 200

// init applies libraryGCPercent unless the host chose its own with GOGC, which the Go
// runtime has already honoured by the time init runs.
func init() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(libraryGCPercent)
	}
}
