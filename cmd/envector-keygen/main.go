// Command envector-keygen makes, inspects, verifies, lists and deletes enVector key sets.
// Run it with --help for the flags.
package main

import (
	"os"

	"github.com/envector-keys/envector-keys/internal/cli"
)

func main() {
	os.Exit(cli.MainProg(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
