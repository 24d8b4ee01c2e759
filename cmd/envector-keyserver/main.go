// Command envector-keyserver is a small reference server of enVector's key endpoint
// (register, list, describe, load, unload and delete EvalKeys) over a directory, for
// tests and for trying envector-keygen register without an enVector server. Run it with
// --help for the flags; see internal/keyserver for what it checks.
package main

import (
	"os"

	"github.com/envector-keys/envector-keys/internal/keyserver"
)

func main() {
	os.Exit(keyserver.Main(os.Args[1:], os.Stdout, os.Stderr))
}
