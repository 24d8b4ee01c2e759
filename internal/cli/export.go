package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// The export command: the public keys of a key set, for the search server's side
// (store.ExportPublic). Secret keys are never exported: copy moves a whole key set.

var exportFlags = append(append([]flagSpec{
	{name: "public", boolean: true, help: "required: export the public keys, EncKey.json and EvalKey.json (export never writes a secret key; copy moves a whole key set)"},
	{name: "out", help: "the directory they go to: created, and it must be empty or absent (never overwritten)"},
	quietFlag,
}, commonFlags...), awsFlags...)

var exportCommands = []command{
	{name: "export", summary: "write the public keys of a key set (EncKey.json, EvalKey.json, byte for byte) into --out DIR, e.g. for the search server; never a secret key", flags: exportFlags, run: runExport},
}

func init() { commands = append(commands, exportCommands...) }

func runExport(e *env, fs *flagSet) error {
	if !fs.has("public") {
		return usagef("export writes public keys only: add --public to write EncKey.json and EvalKey.json into --out DIR; to copy a whole key set, secret keys included, use '%s copy'", e.prog)
	}
	out := fs.str("out", "")
	if out == "" {
		return usagef("export needs --out DIR: a directory that is empty or absent, for EncKey.json and EvalKey.json")
	}
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	ks, err := store.ExportPublic(e.ctx, loc.st, loc.keyID, out, store.CopyOptions{SourceDir: loc.dir})
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if fs.has("quiet") {
		return nil
	}
	fmt.Fprintf(e.stdout, "Public keys of key set %q exported from %s to %s, byte for byte (no secret key was read or written):\n", ks.ID(), loc.where, out)
	for _, r := range []core.Role{core.EncKey, core.EvalKey} {
		path := filepath.Join(out, r.FileName())
		if fi, err := os.Stat(path); err == nil {
			fmt.Fprintf(e.stdout, "  %-17s %10d bytes\n", path, fi.Size())
		}
	}
	return nil
}
