// Package cli is the envector-keygen command: flags in, core calls, a report out. The
// envector-keygen binary and pyenvector-keygen (through the C ABI) both run Main.
package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// Exit statuses.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Version is the tool's version.
const Version = "0.1.0"

var commonFlags = []flagSpec{
	{name: "key_path", help: "directory of the local store (default ./keys); keys go to <key_path>/<key_id>"},
	{name: "key_id", help: "key set id: letters, digits, '.', '_', '-' (default: the base name of --key_path, keys directly in it)"},
	{name: "key_store", help: "where keys live: local (default)"},
	{name: "help", boolean: true, help: "show this help"},
}

var kekFlags = []flagSpec{
	{name: "seal_key_path", help: "file holding the 32-byte KEK: 32 raw bytes, 64 hex or 44 base64 characters"},
	{name: "seal_key_stdin", boolean: true, help: "read the KEK from standard input (same forms)"},
}

var generateFlags = append(append([]flagSpec{
	{name: "dim", multi: true, help: "vector dimensions to support: powers of two from 32 to 4096 (default all); several values or a comma list"},
	{name: "preset", help: "CKKS parameter preset: ip0 (default) or ip1"},
	{name: "eval_mode", help: "evaluation keys: rmp (default: relinearization, rotations, conjugation) or mm (relinearization only)"},
	{name: "metadata_encryption", help: "true (default) makes a MetadataKey; false leaves it out"},
	{name: "seal_mode", help: "none (default) or aes: seal SecKey and MetadataKey with AES-256-GCM under a KEK"},
	{name: "seed", help: "128 hex characters (64 bytes): deterministic generation (testing only)"},
	{name: "seed_file", help: "file of exactly 64 bytes: deterministic generation (testing only)"},
	{name: "region_name", help: "AWS region (with --key_store aws)"},
	{name: "bucket_name", help: "S3 bucket (with --key_store aws)"},
	{name: "secret_prefix", help: "name prefix in S3 and Secrets Manager (with --key_store aws)"},
	{name: "quiet", boolean: true, help: "print nothing on success"},
}, commonFlags...), kekFlags...)

var inspectFlags = append([]flagSpec{}, commonFlags...)

var verifyFlags = append(append([]flagSpec{}, commonFlags...), kekFlags...)

var listFlags = []flagSpec{commonFlags[0], commonFlags[2], commonFlags[3]}

var deleteFlags = append([]flagSpec{}, commonFlags...)

type command struct {
	name, summary string
	flags         []flagSpec
	run           func(*env, *flagSet) error
}

var commands = []command{
	{"generate", "make a key set and store it (the default command)", generateFlags, runGenerate},
	{"inspect", "show a stored key set: roles, parameters, sizes, sealed or not (digests checked, no secrets shown)", inspectFlags, runInspect},
	{"verify", "load every key, unseal with the KEK when sealed, prove EncKey and EvalKey belong to SecKey", verifyFlags, runVerify},
	{"list", "list the key ids in the store", listFlags, runList},
	{"delete", "delete a stored key set", deleteFlags, runDelete},
}

// env is what a command may touch.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// Main runs the command line args (without the program name) and returns the exit
// status: 0 on success, 1 on failure, 2 on a usage error.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: context.Background(), stdin: stdin, stdout: stdout, stderr: stderr}
	cmd := commands[0]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		found := false
		for _, c := range commands {
			if c.name == args[0] {
				cmd, found = c, true
			}
		}
		if !found {
			fmt.Fprintf(stderr, "envector-keygen: unknown command %q; accepted: generate, inspect, verify, list, delete\n", args[0])
			return ExitUsage
		}
		args = args[1:]
	}
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintf(stdout, "envector-keygen %s\n", Version)
		return ExitOK
	}
	fs := newFlagSet(cmd.flags)
	err := fs.parse(args)
	if err == nil && fs.has("help") {
		printHelp(stdout, cmd, fs)
		return ExitOK
	}
	if err == nil {
		err = cmd.run(e, fs)
	}
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "envector-keygen %s: %s\n", cmd.name, ue.msg)
		fmt.Fprintf(stderr, "Run 'envector-keygen %s --help' for the flags.\n", cmd.name)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "envector-keygen %s: %s\n", cmd.name, err)
		return ExitFailure
	}
}

func printHelp(w io.Writer, cmd command, fs *flagSet) {
	fmt.Fprintf(w, "envector-keygen %s: %s\n\nUsage: envector-keygen %s [flags]\n\n", cmd.name, cmd.summary, cmd.name)
	if cmd.name == "generate" {
		fmt.Fprintf(w, "Commands (the first argument): ")
		for i, c := range commands {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprint(w, c.name)
		}
		fmt.Fprint(w, "\n\n")
	}
	fmt.Fprintf(w, "Flags (each also in dash form, e.g. --key-path):\n%s", fs.usage())
}

// location resolves where a key set lives: <key_path>/<key_id>, or <key_path> itself
// (key id = its base name) when no key id is given.
type location struct {
	local *store.Local
	keyID string
	dir   string
}

func resolveLocation(fs *flagSet) (*location, error) {
	if ks := fs.str("key_store", "local"); ks != "local" {
		if ks == "aws" {
			return nil, usagef("--key_store aws is not available in this build yet; accepted: local")
		}
		return nil, usagef("unknown --key_store %q; accepted: local", ks)
	}
	path := fs.str("key_path", "./keys")
	if path == "" {
		return nil, usagef("--key_path is empty; give a directory")
	}
	if id := fs.str("key_id", ""); fs.has("key_id") {
		if err := core.CheckKeyID(id); err != nil {
			return nil, usagef("--key_id: %s", err.(*core.Error).Msg)
		}
		l := store.NewLocal(path)
		return &location{local: l, keyID: id, dir: l.Dir(id)}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, usagef("--key_path %q: %v", path, err)
	}
	id := filepath.Base(abs)
	if core.CheckKeyID(id) != nil {
		return nil, usagef("without --key_id the key id is the base name of --key_path, and %q is not a valid key id; give --key_id", id)
	}
	return &location{local: store.NewLocal(filepath.Dir(abs)), keyID: id, dir: path}, nil
}

// readKEK reads the KEK from --seal_key_path or --seal_key_stdin; nil if neither.
func readKEK(e *env, fs *flagSet) (*core.KEK, error) {
	switch {
	case fs.has("seal_key_path") && fs.has("seal_key_stdin"):
		return nil, usagef("give either --seal_key_path or --seal_key_stdin, not both")
	case fs.has("seal_key_path"):
		return core.ReadKEKFile(fs.str("seal_key_path", ""))
	case fs.has("seal_key_stdin"):
		k, err := core.ReadKEK(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("standard input: %w", err)
		}
		return k, nil
	}
	return nil, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, usagef("--%s %q; accepted: true or false", name, v)
}

func parseSeed(fs *flagSet) ([]byte, error) {
	switch {
	case fs.has("seed") && fs.has("seed_file"):
		return nil, usagef("give either --seed or --seed_file, not both")
	case fs.has("seed"):
		s := fs.str("seed", "")
		seed, err := hex.DecodeString(s)
		if err != nil || len(s) != 2*core.SeedSize {
			return nil, usagef("--seed must be exactly %d hex characters (%d bytes); got %d characters", 2*core.SeedSize, core.SeedSize, len(s))
		}
		return seed, nil
	case fs.has("seed_file"):
		path := fs.str("seed_file", "")
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, usagef("--seed_file: cannot read %s: %v", path, err)
		}
		if len(data) != core.SeedSize {
			clear(data)
			return nil, usagef("--seed_file %s holds %d bytes; accepted: exactly %d bytes", path, len(data), core.SeedSize)
		}
		return data, nil
	}
	return nil, nil
}

func runGenerate(e *env, fs *flagSet) error {
	loc, err := resolveLocation(fs)
	if err != nil {
		return err
	}
	var p core.Parameters
	if p.Preset, err = core.ParsePreset(fs.str("preset", "")); err != nil {
		return usagef("--preset: %s", err.(*core.Error).Msg)
	}
	if p.EvalMode, err = core.ParseEvalMode(fs.str("eval_mode", "")); err != nil {
		return usagef("--eval_mode: %s", err.(*core.Error).Msg)
	}
	if fs.has("dim") {
		if p.Dims, err = core.ParseDimList(strings.Join(fs.list("dim"), ",")); err != nil {
			return usagef("--dim: %s", err.(*core.Error).Msg)
		}
	}
	metadata, err := parseBool("metadata_encryption", fs.str("metadata_encryption", "true"))
	if err != nil {
		return err
	}
	sealMode := strings.ToLower(fs.str("seal_mode", "none"))
	if sealMode != "none" && sealMode != "aes" {
		return usagef("--seal_mode %q; accepted: none or aes", sealMode)
	}
	hasKEK := fs.has("seal_key_path") || fs.has("seal_key_stdin")
	if sealMode == "aes" && !hasKEK {
		return usagef("--seal_mode aes needs a KEK: --seal_key_path FILE or --seal_key_stdin")
	}
	if sealMode == "none" && hasKEK {
		return usagef("a KEK was given but --seal_mode is none; add --seal_mode aes to seal")
	}
	for _, f := range []string{"region_name", "bucket_name", "secret_prefix"} {
		if fs.has(f) {
			return usagef("--%s applies to --key_store aws only", f)
		}
	}
	seed, err := parseSeed(fs)
	if err != nil {
		return err
	}
	defer clear(seed)
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	if kek != nil {
		defer kek.Wipe()
	}
	if err := store.CheckTarget(loc.dir); err != nil {
		return err
	}

	prog := newProgress(e.stderr, "generating keys")
	ks, err := core.Generate(core.GenerateOptions{
		KeyID: loc.keyID, Parameters: p, NoMetadataKey: !metadata, Seed: seed,
		Requester: core.DefaultRequester("cli"), Progress: prog.update,
	})
	prog.done()
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if kek != nil {
		sealed, err := ks.Seal(kek)
		if err != nil {
			return err
		}
		ks = sealed
		defer ks.Wipe()
	}
	if err := loc.local.SaveTo(e.ctx, ks, loc.dir); err != nil {
		return err
	}
	if !fs.has("quiet") {
		fmt.Fprintf(e.stdout, "Key set %q written to %s\n", ks.ID(), loc.dir)
		printInfo(e.stdout, ks)
	}
	return nil
}

func loadForCommand(e *env, fs *flagSet, opts core.ParseOptions) (*core.KeySet, *location, error) {
	loc, err := resolveLocation(fs)
	if err != nil {
		return nil, nil, err
	}
	ks, err := loc.local.LoadFrom(e.ctx, loc.dir, loc.keyID, opts)
	return ks, loc, err
}

func runInspect(e *env, fs *flagSet) error {
	ks, loc, err := loadForCommand(e, fs, core.ParseOptions{AllowInactive: true})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Key set %q in %s (every digest checked)\n", ks.ID(), loc.dir)
	printInfo(e.stdout, ks)
	return nil
}

func printInfo(w io.Writer, ks *core.KeySet) {
	p := ks.Parameters()
	fmt.Fprintf(w, "  preset %s (Q %d, P %d, log N 12), eval mode %s, dims %s\n",
		p.Preset, p.Preset.Q(), p.Preset.P(), p.EvalMode, core.FormatDimList(p.Dims))
	for i, info := range ks.Info() {
		if i == 0 {
			fmt.Fprintf(w, "  created %s by %s (%s), expires %s, state %s\n",
				info.CreatedAt, info.Requester.Entity, info.Requester.Method, info.ExpiresAt, info.State)
		}
		state := "plain"
		if info.Sealed {
			state = "sealed AES-256-GCM"
		} else if info.Role.Secret() {
			state = "plain (not sealed)"
		}
		fmt.Fprintf(w, "  %-12s %-17s %9s bytes  %s  sha256 %s\n", info.Role, info.Role.FileName(), strconv.Itoa(info.DataSize), state, info.Hash)
	}
}

func runVerify(e *env, fs *flagSet) error {
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	if kek != nil {
		defer kek.Wipe()
	}
	ks, loc, err := loadForCommand(e, fs, core.ParseOptions{})
	if err != nil {
		return err
	}
	if ks.Sealed() && kek == nil {
		return usagef("the secret keys of %q are sealed; give the KEK with --seal_key_path or --seal_key_stdin", ks.ID())
	}
	rep, err := ks.Verify(kek)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Key set %q in %s verified:\n", ks.ID(), loc.dir)
	if ks.Sealed() {
		fmt.Fprintf(e.stdout, "  sealed keys unsealed with the KEK\n")
	}
	fmt.Fprintf(e.stdout, "  EncKey: encrypts what SecKey decrypts (largest slot error %.2g); key noise %d\n", rep.EncryptionError, rep.PublicKeyNoise)
	fmt.Fprintf(e.stdout, "  EvalKey: relinearization key (noise %d) and %d rotation/conjugation keys (largest noise %d) are keys under SecKey\n", rep.RelinNoise, rep.GaloisKeys, rep.GaloisNoise)
	if rep.MetadataKey {
		fmt.Fprintf(e.stdout, "  MetadataKey: present, 32 bytes\n")
	}
	return nil
}

func runList(e *env, fs *flagSet) error {
	loc, err := resolveListStore(fs)
	if err != nil {
		return err
	}
	ids, err := loc.List(e.ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		fmt.Fprintln(e.stdout, id)
	}
	return nil
}

func resolveListStore(fs *flagSet) (*store.Local, error) {
	if ks := fs.str("key_store", "local"); ks != "local" {
		return nil, usagef("unknown or unavailable --key_store %q; accepted: local", ks)
	}
	return store.NewLocal(fs.str("key_path", "./keys")), nil
}

func runDelete(e *env, fs *flagSet) error {
	if !fs.has("key_id") {
		return usagef("delete needs --key_id")
	}
	loc, err := resolveLocation(fs)
	if err != nil {
		return err
	}
	if err := loc.local.Delete(e.ctx, loc.keyID, store.DeleteOptions{}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Key set %q deleted from %s\n", loc.keyID, loc.local.Root)
	return nil
}

// progress shows "generating keys: 5/14" on a terminal, and nothing elsewhere.
type progress struct {
	w     io.Writer
	label string
	shown bool
}

func newProgress(w io.Writer, label string) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{w: w, label: label}
}

func (p *progress) update(done, total int) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s: %d/%d", p.label, done, total)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}
