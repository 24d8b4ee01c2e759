// Package cli is the envector-keygen command: flags in, core calls, a report out. The
// envector-keygen binary and the Python package's envector-keygen script (through the C
// ABI) both run Main.
package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// Exit statuses. A script can tell apart what went wrong without reading the message.
const (
	ExitOK       = 0
	ExitFailure  = 1 // any other failure (the message says what and where)
	ExitUsage    = 2 // a mistake on the command line: nothing was done
	ExitInactive = 3 // the key set is not active (deactivated, destroyed, preparing) or has expired
	ExitNotFound = 4 // a key set, key file, store directory, bucket, object, secret or server key does not exist (core.ErrNotFound)
	ExitAuth     = 5 // authentication failed: wrong KEK, altered sealed data or metadata token, credentials or token refused (core.ErrAuth)
	ExitExists   = 6 // the target exists already: keys are never overwritten (core.ErrExists)
)

// exitStatusHelp ends every command's --help.
const exitStatusHelp = `Exit status: 0 success; 1 failure; 2 usage error (nothing done); 3 key set not active
(deactivated, destroyed, preparing or expired); 4 not found; 5 authentication failed
(wrong KEK, altered sealed data, credentials or token refused); 6 already exists.
`

// defaultProg is the program's name when the caller gives none.
const defaultProg = "envector-keygen"

// Version is the tool's version: that of the library and both packages too.
const Version = core.Version

var commonFlags = []flagSpec{
	{name: "key_path", help: "directory of the local store (default ./keys); keys go to <key_path>/<key_id>"},
	{name: "key_id", help: "key set id: letters, digits, '.', '_', '-' (without it: --key_path is the key set's own directory, its base name the key id)"},
	{name: "key_store", help: "where keys live: local (default) or aws (EncKey, EvalKey in S3; SecKey, MetadataKey in Secrets Manager)"},
	{name: "help", boolean: true, help: "show this help"},
}

var kekFlags = []flagSpec{
	{name: "seal_key_path", help: "file holding the 32-byte KEK: 32 raw bytes, 64 hex or 44 base64 characters"},
	{name: "seal_key_stdin", boolean: true, help: "read the KEK from standard input (same forms)"},
}

var quietFlag = flagSpec{name: "quiet", boolean: true, help: "print nothing on success (the exit status says it worked)"}

var jsonFlag = flagSpec{name: "json", boolean: true, help: "print one JSON document on standard output instead of text (its fields: README, The CLI); errors stay text on standard error"}

var generateFlags = append(append([]flagSpec{
	{name: "dim", multi: true, help: "vector dimensions to support: powers of two from 32 to 4096 (default all); several values or a comma list"},
	{name: "preset", help: "enVector's parameter preset: ip3 (default), ip2, ip1, ip0, qf0 or qf1 (= qf0 in enVector)"},
	{name: "eval_mode", help: "evaluation keys: mm32 (default with ip3), mm (default with ip1, ip2), rmp (default with ip0, qf0; any preset), flat, single (ip0), mms (ip1, ip2), mms32 (ip3); mm, mm32, mms and mms32 EvalKeys are about 0.9 GB"},
	{name: "metadata_encryption", help: "true (default) makes a MetadataKey; false leaves it out"},
	{name: "seal_mode", help: "none (default) or aes: seal SecKey and MetadataKey with AES-256-GCM under a KEK"},
	{name: "seed", help: "128 hex characters (64 bytes): deterministic generation (testing only)"},
	{name: "seed_file", help: "file of exactly 64 bytes: deterministic generation (testing only)"},
	{name: "lifetime", help: "how long the keys are usable: hours (h), days (d) or years (y), e.g. 720h, 90d, 5y (default 5y, as enVector)"},
	quietFlag, jsonFlag,
}, commonFlags...), append(awsFlags, kekFlags...)...)

// awsTimeoutFlag is --timeout of the commands that use the AWS store and no server.
var awsTimeoutFlag = flagSpec{name: "timeout", help: "with --key_store aws: the longest one AWS request may go without progress (nothing sent or received), e.g. 10s or 2m (default 30s); a slow transfer that keeps moving is never cut"}

// awsFlags choose where --key_store aws keeps keys. Credentials and endpoints come from
// the standard AWS configuration (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...).
var awsFlags = []flagSpec{
	{name: "region_name", help: "AWS region, e.g. us-east-1 (required with --key_store aws)"},
	{name: "bucket_name", help: "S3 bucket of EncKey and EvalKey (with --key_store aws; default " + store.DefaultBucket + "); it must exist"},
	{name: "secret_prefix", help: "prefix of the S3 object keys and Secrets Manager names (with --key_store aws; default " + store.DefaultPrefix + "; \"\" for none)"},
	awsTimeoutFlag,
}

var versionFlag = flagSpec{name: "version", help: "an earlier version of the key set, kept by rotate (default: the current one)"}

var inspectFlags = append(append([]flagSpec{versionFlag, jsonFlag}, commonFlags...), awsFlags...)

var verifyFlags = append(append(append([]flagSpec{versionFlag, jsonFlag, quietFlag}, commonFlags...), awsFlags...), kekFlags...)

var listFlags = append([]flagSpec{commonFlags[0], commonFlags[2], commonFlags[3], jsonFlag}, awsFlags...)

var deleteFlags = append(append(append([]flagSpec{}, commonFlags...), awsFlags...),
	flagSpec{name: "immediate", boolean: true, help: "with --key_store aws: delete the secrets at once, not after the recovery window (7 days) during which they can be restored and their names stay taken"},
	flagSpec{name: "yes", boolean: true, help: "delete without asking (needed when standard input is not a terminal; a local delete, or an AWS one with --immediate, asks on a terminal)"},
	quietFlag)

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
	{"delete", "delete a stored key set (asks first on a terminal; --yes does not ask)", deleteFlags, runDelete},
	{"encrypt-metadata", "encrypt metadata (UTF-8 text) with the key set's MetadataKey: writes enVector's token (base64) and a newline", encryptMetadataFlags, runEncryptMetadata},
	{"decrypt-metadata", "decrypt a metadata token with the key set's MetadataKey: writes the metadata byte for byte", decryptMetadataFlags, runDecryptMetadata},
}

func init() { commands = append(commands, lifecycleCommands...) }

// env is what a command may touch.
type env struct {
	ctx    context.Context
	prog   string // the program's name in messages and hints (argv[0]'s base name)
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// interactive reports whether a person answers on standard input (delete asks
	// them); nil: whether standard input is a terminal.
	interactive func() bool
}

// Main runs the command line args (without the program name) as envector-keygen and
// returns the exit status (ExitOK, ExitFailure, ExitUsage, ...: see the Exit constants).
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return MainProg(defaultProg, args, stdin, stdout, stderr)
}

// MainProg is Main run under the name prog (argv[0], or its base name): messages and
// hints name it, e.g. "Run 'pyenvector-keygen generate --help'". An empty prog is
// envector-keygen.
func MainProg(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: context.Background(), prog: progName(prog), stdin: stdin, stdout: stdout, stderr: stderr}
	return e.main(args)
}

// progName is the base name of argv[0], without .exe; envector-keygen when it is empty,
// long or holds anything but letters, digits, '.', '_' and '-'.
func progName(argv0 string) string {
	p := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if p == "" || p == "." || len(p) > 64 {
		return defaultProg
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return defaultProg
		}
	}
	return p
}

func (e *env) main(args []string) int {
	cmd, rest, help, err := e.findCommand(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "%s: %s\n", e.prog, core.BoundMessage(err.Error()))
		fmt.Fprintf(e.stderr, "Run '%s --help' for the commands.\n", e.prog)
		return ExitUsage
	}
	if cmd.name == "" { // no command word: generate, or --version alone
		if len(rest) == 1 && isFlag(rest[0]) && strings.TrimLeft(rest[0], "-") == "version" {
			fmt.Fprintf(e.stdout, "envector-keygen %s\n", Version)
			return ExitOK
		}
		cmd = commands[0]
	}
	fs := newFlagSet(cmd.flags)
	fs.cmd, fs.prog = cmd.name, e.prog
	if help {
		printHelp(e, cmd, fs)
		return ExitOK
	}
	err = fs.parse(rest)
	if err == nil && fs.has("help") {
		printHelp(e, cmd, fs)
		return ExitOK
	}
	if err == nil && fs.has("json") && fs.has("quiet") {
		err = usagef("give --json or --quiet, not both: --quiet prints nothing, --json prints the result as JSON")
	}
	if err == nil {
		err = cmd.run(e, fs)
	}
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "%s %s: %s\n", e.prog, cmd.name, core.BoundMessage(ue.msg))
		fmt.Fprintf(e.stderr, "Run '%s %s --help' for the flags.\n", e.prog, cmd.name)
		return ExitUsage
	default:
		fmt.Fprintf(e.stderr, "%s %s: %s\n", e.prog, cmd.name, core.BoundMessage(err.Error()))
		return exitStatus(err)
	}
}

// exitStatus is the exit status of a failure: by the kind of error (core.KindOf).
func exitStatus(err error) int {
	if errors.Is(err, core.ErrInactive) {
		return ExitInactive
	}
	switch core.KindOf(err) {
	case core.ErrNotFound:
		return ExitNotFound
	case core.ErrAuth:
		return ExitAuth
	case core.ErrExists:
		return ExitExists
	}
	return ExitFailure
}

// kindError is a failure of the command line with a core kind (for its exit status)
// and a message of its own.
type kindError struct {
	kind core.Kind
	msg  string
}

func (e *kindError) Error() string { return e.msg }

// Is reports whether target is e's kind: errors.Is(err, core.ErrNotFound).
func (e *kindError) Is(target error) bool {
	k, ok := target.(core.Kind)
	return ok && k == e.kind
}

// As sets a *core.Kind target to e's kind (core.KindOf relies on it).
func (e *kindError) As(target any) bool {
	if k, ok := target.(*core.Kind); ok {
		*k = e.kind
		return true
	}
	return false
}

// kindf is a failure of the given kind with the message sprintf makes.
func kindf(kind core.Kind, format string, args ...any) error {
	return &kindError{kind: kind, msg: sprintf(format, args...)}
}

// findCommand finds the command word: the first argument that is neither a flag nor a
// flag's value, wherever it is (for a two-word command such as "server list", the next
// such argument too). It returns the command (name "" when there is no command word),
// the other arguments, and whether the word was "help" (then the command is the one
// named after it: "help inspect").
func (e *env) findCommand(args []string) (cmd command, rest []string, help bool, err error) {
	specs := map[string]flagSpec{}
	firsts := map[string]bool{}
	for _, c := range commands {
		for _, s := range c.flags {
			if _, ok := specs[s.name]; !ok {
				specs[s.name] = s
			}
		}
		first, _, _ := strings.Cut(c.name, " ")
		firsts[first] = true
	}
	firsts["help"] = true
	var words []int // the positions of the arguments that are not flags or their values
	var lastUnknown = -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !isFlag(a) {
			words = append(words, i)
			continue
		}
		name, _, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		s, ok := specs[flagName(name)]
		switch {
		case !ok:
			lastUnknown = i
		case s.boolean || hasVal:
		case s.multi: // values up to the next flag or command word
			for i+1 < len(args) && !isFlag(args[i+1]) && !firsts[args[i+1]] {
				i++
			}
		default:
			i++
		}
	}
	if len(words) == 0 {
		return command{}, args, false, nil
	}
	used := map[int]bool{words[0]: true}
	w := args[words[0]]
	if w == "help" {
		help = true
		if len(words) == 1 {
			return commands[0], nil, true, nil
		}
		words = words[1:]
		used[words[0]] = true
		w = args[words[0]]
	}
	for _, c := range commands {
		if c.name == w {
			cmd = c
		}
	}
	if cmd.name == "" && firsts[w] && w != "help" { // "server": the next word says which
		var names []string
		for _, c := range commands {
			if strings.HasPrefix(c.name, w+" ") {
				names = append(names, c.name)
			}
		}
		if len(words) < 2 {
			return command{}, nil, false, usagef("%q needs a second word; accepted: %s", w, strings.Join(names, ", "))
		}
		w2 := w + " " + args[words[1]]
		for _, c := range commands {
			if c.name == w2 {
				cmd = c
			}
		}
		if cmd.name == "" {
			return command{}, nil, false, unknownCommand(w2, names)
		}
		used[words[1]] = true
	}
	if cmd.name == "" {
		if !help && words[0] > 0 && lastUnknown == words[0]-1 {
			// More likely the value of a flag that is not known than a command.
			fs := newFlagSet(commands[0].flags)
			fs.cmd, fs.prog = commands[0].name, e.prog
			a := args[lastUnknown]
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			return command{}, nil, false, fs.unknownFlag(a[:len(a)-len(strings.TrimLeft(a, "-"))]+name, name)
		}
		var names []string
		for _, c := range commands {
			names = append(names, c.name)
		}
		return command{}, nil, false, unknownCommand(w, names)
	}
	for i, a := range args {
		if !used[i] {
			rest = append(rest, a)
		}
	}
	return cmd, rest, help, nil
}

// unknownCommand is the error for a command word that names no command: the closest
// commands, and those accepted.
func unknownCommand(w string, names []string) error {
	var near []string
	if len(w) <= maxSuggest {
		norm := strings.ToLower(strings.ReplaceAll(w, "_", "-"))
		near = closest(norm, names)
		for i := range near {
			near[i] = strconv.Quote(near[i])
		}
	}
	if len(near) > 0 {
		return usagef("unknown command %q (did you mean %s?); accepted: %s", w, orList(near), strings.Join(names, ", "))
	}
	return usagef("unknown command %q; accepted: %s", w, strings.Join(names, ", "))
}

func printHelp(e *env, cmd command, fs *flagSet) {
	w, p := e.stdout, e.prog
	fmt.Fprintf(w, "%s %s: %s\n\n", p, cmd.name, cmd.summary)
	if cmd.name == commands[0].name {
		fmt.Fprintf(w, "Usage: %s [generate] [flags]\n", p)
		fmt.Fprintf(w, "       %s COMMAND [flags]    (%s help COMMAND, or COMMAND --help: its flags)\n", p, p)
		fmt.Fprintf(w, "       %s --version          (print the tool's version)\n\n", p)
		fmt.Fprintf(w, "Commands (the first word that is not a flag or a flag's value):\n")
		for _, c := range commands {
			fmt.Fprintf(w, "  %-17s %s\n", c.name, c.summary)
		}
		fmt.Fprintf(w, "\nFlags of generate (each also in dash form, e.g. --key-path):\n%s", fs.usage())
	} else {
		fmt.Fprintf(w, "Usage: %s %s [flags]\n\nFlags (each also in dash form, e.g. --key-path):\n%s", p, cmd.name, fs.usage())
	}
	fmt.Fprintf(w, "\n%s", exitStatusHelp)
}

// location resolves where a key set lives. Local: <key_path>/<key_id>, or without
// --key_id <key_path> itself (key id = its base name) when the key set's files are
// directly in it. AWS: the key id in the bucket and prefix of the flags.
type location struct {
	st    store.Store
	keyID string
	where string       // for messages: a directory, or the AWS place
	local *store.Local // set for the local store, with dir
	dir   string
	aws   *store.AWS // set for the AWS store
}

// keyStore returns the --key_store value after checking that the flags fit it.
func keyStore(fs *flagSet) (string, error) {
	switch ks := fs.str("key_store", "local"); ks {
	case "local":
		for _, f := range awsFlags {
			if f.name == "timeout" && (fs.takes("address") || fs.str("to_key_store", "local") == "aws") {
				continue // the server's timeout too, or copy's destination's
			}
			if fs.has(f.name) {
				return "", usagef("--%s applies to --key_store aws only", f.name)
			}
		}
		return ks, nil
	case "aws":
		if fs.has("key_path") {
			return "", usagef("--key_path applies to --key_store local only; with --key_store aws keys live in S3 and Secrets Manager")
		}
		return ks, nil
	default:
		return "", usagef("unknown --key_store %q; accepted: local or aws", ks)
	}
}

// parseTimeout reads --timeout: a positive duration; 0 when not given.
func parseTimeout(fs *flagSet) (time.Duration, error) {
	if !fs.has("timeout") {
		return 0, nil
	}
	d, err := time.ParseDuration(fs.str("timeout", ""))
	if err != nil || d <= 0 {
		return 0, usagef("--timeout %q; accepted: a positive duration such as 10s or 2m", fs.str("timeout", ""))
	}
	return d, nil
}

// newAWSStore builds the AWS store of the flags.
func newAWSStore(e *env, fs *flagSet) (*store.AWS, error) {
	return newAWSStoreOf(e, fs, "", "")
}

// newAWSStoreOf builds the AWS store of the flags named with prefix flagPrefix
// ("to_": --to_region_name, --to_bucket_name, --to_secret_prefix); --timeout applies to
// all. A flag value the store refuses is a usage error, its message after what.
func newAWSStoreOf(e *env, fs *flagSet, flagPrefix, what string) (*store.AWS, error) {
	region := fs.str(flagPrefix+"region_name", "")
	if region == "" {
		return nil, usagef("--%skey_store aws needs --%sregion_name (e.g. us-east-1)", flagPrefix, flagPrefix)
	}
	prefix := store.DefaultPrefix
	if fs.has(flagPrefix + "secret_prefix") {
		prefix = fs.str(flagPrefix+"secret_prefix", "")
	}
	timeout, err := parseTimeout(fs)
	if err != nil {
		return nil, err
	}
	a, err := store.NewAWS(e.ctx, store.AWSConfig{Region: region, Bucket: fs.str(flagPrefix+"bucket_name", store.DefaultBucket), Prefix: prefix, Timeout: timeout})
	var ce *core.Error
	if errors.As(err, &ce) && ce.Kind == core.ErrInvalidArgument && ce.Err == nil {
		return nil, usagef("%s%s", what, ce.Msg) // a flag value was refused
	}
	return a, err
}

// awsWhere names the objects and secrets of key set keyID, for messages.
func awsWhere(a *store.AWS, keyID string) string {
	return fmt.Sprintf("AWS %s (s3://%s/%s, %s; secrets %s, %s)", a.Region(), a.Bucket(),
		a.ObjectKey(keyID, core.EncKey), path.Base(a.ObjectKey(keyID, core.EvalKey)),
		a.SecretName(keyID, core.SecKey), path.Base(a.SecretName(keyID, core.MetadataKey)))
}

func resolveLocation(e *env, fs *flagSet) (*location, error) {
	ks, err := keyStore(fs)
	if err != nil {
		return nil, err
	}
	if ks == "aws" {
		a, err := newAWSStore(e, fs)
		if err != nil {
			return nil, err
		}
		if !fs.has("key_id") {
			return nil, usagef("--key_store aws needs --key_id")
		}
		id := fs.str("key_id", "")
		if err := core.CheckKeyID(id); err != nil {
			return nil, usagef("--key_id: %s", err.(*core.Error).Msg)
		}
		return &location{st: a, aws: a, keyID: id, where: awsWhere(a, id)}, nil
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
		return &location{st: l, local: l, keyID: id, dir: l.Dir(id), where: l.Dir(id)}, nil
	}
	if err := keySetDirectlyIn(fs, path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, usagef("--key_path %q: %v", path, err)
	}
	id := filepath.Base(abs)
	if core.CheckKeyID(id) != nil {
		return nil, usagef("without --key_id the key id is the base name of --key_path, and %q is not a valid key id; give --key_id", id)
	}
	l := store.NewLocal(filepath.Dir(abs))
	return &location{st: l, local: l, keyID: id, dir: path, where: path}, nil
}

// keySetDirectlyIn checks that, without --key_id, dir (--key_path) can be the key set's
// own directory: for generate, always (the keys go straight into it, which must be empty
// or absent); for init, when it holds a key set's files or is absent or holds no key
// sets; for the other commands, when it holds a key set's files. A store of key sets
// is refused, naming them: --key_id says which.
func keySetDirectlyIn(fs *flagSet, dir string) error {
	if fs.cmd == "generate" || len(keyFilesIn(dir)) > 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if fs.cmd == "init" {
			return nil // made there
		}
		return kindf(core.ErrNotFound, "no key set in %s: it does not exist (give --key_path DIR --key_id ID for the key set DIR/ID)", dir)
	case err != nil:
		return core.Wrap(core.ErrIO, "key_path", err, "checking %s", dir)
	case !fi.IsDir():
		return usagef("--key_path %s is a file; accepted: a directory (a store of key sets, with --key_id, or a key set's own)", dir)
	}
	if sets := keySetsIn(dir); len(sets) > 0 {
		return usagef("--key_id is required: %s holds key sets %s", dir, listShort(sets, 10))
	}
	if fs.cmd == "init" {
		return nil
	}
	return usagef("--key_id is required: %s holds no key set", dir)
}

// keyFilesIn lists the key files (SecKey.json, ...) directly in dir.
func keyFilesIn(dir string) []string {
	var out []string
	for _, r := range core.AllRoles {
		if _, err := os.Lstat(filepath.Join(dir, r.FileName())); err == nil {
			out = append(out, r.FileName())
		}
	}
	return out
}

// keySetsIn lists, sorted, the key ids of the key sets in store directory dir: the
// subdirectories named as key ids that hold a key file or earlier versions. It changes
// nothing (list's store also clears stale temporary directories).
func keySetsIn(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var ids []string
	for _, e := range entries {
		if !e.IsDir() || core.CheckKeyID(e.Name()) != nil {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if len(keyFilesIn(sub)) > 0 {
			ids = append(ids, e.Name())
		} else if fi, err := os.Stat(filepath.Join(sub, "versions")); err == nil && fi.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids // os.ReadDir sorts by name
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

// generateOptions reads the flags that shape a new key set (generate, init): preset,
// eval mode, dims, metadata encryption, seed, lifetime, and checks that --seal_mode and
// the KEK flags agree. The caller clears g.Seed.
func generateOptions(fs *flagSet) (g core.GenerateOptions, err error) {
	p := &g.Parameters
	if p.Preset, err = core.ParsePreset(fs.str("preset", "")); err != nil {
		return g, usagef("--preset: %s", err.(*core.Error).Msg)
	}
	if p.EvalMode, err = core.ParseEvalMode(fs.str("eval_mode", "")); err != nil {
		return g, usagef("--eval_mode: %s", err.(*core.Error).Msg)
	}
	if fs.has("dim") {
		if p.Dims, err = core.ParseDimList(strings.Join(fs.list("dim"), ",")); err != nil {
			return g, usagef("--dim: %s", err.(*core.Error).Msg)
		}
	}
	metadata, err := parseBool("metadata_encryption", fs.str("metadata_encryption", "true"))
	if err != nil {
		return g, err
	}
	g.NoMetadataKey = !metadata
	sealMode := strings.ToLower(fs.str("seal_mode", "none"))
	if sealMode != "none" && sealMode != "aes" {
		return g, usagef("--seal_mode %q; accepted: none or aes", sealMode)
	}
	hasKEK := fs.has("seal_key_path") || fs.has("seal_key_stdin")
	if sealMode == "aes" && !hasKEK {
		return g, usagef("--seal_mode aes needs a KEK: --seal_key_path FILE or --seal_key_stdin")
	}
	if sealMode == "none" && hasKEK {
		return g, usagef("a KEK was given but --seal_mode is none; add --seal_mode aes to seal")
	}
	if fs.has("lifetime") {
		if g.Lifetime, err = parseLifetime(fs.str("lifetime", "")); err != nil {
			return g, err
		}
	}
	if g.Seed, err = parseSeed(fs); err != nil {
		return g, err
	}
	g.Requester = core.DefaultRequester("cli")
	return g, nil
}

func runGenerate(e *env, fs *flagSet) error {
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	g, err := generateOptions(fs)
	if err != nil {
		return err
	}
	defer clear(g.Seed)
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe
	// Fail before the work of generating if the target is taken. In AWS the key set is
	// generated and sealed in memory only; nothing touches the local disk.
	if loc.local != nil {
		err = store.CheckTarget(loc.dir)
		if sets := keySetsIn(loc.dir); errors.Is(err, core.ErrExists) && !fs.has("key_id") && len(sets) > 0 {
			return kindf(core.ErrExists, "%s holds key sets (%s): without --key_id the keys go straight into --key_path, which must be empty or absent; give --key_id to add a key set to it", loc.dir, listShort(sets, 10))
		}
	} else {
		err = loc.aws.CheckAbsent(e.ctx, loc.keyID)
	}
	if err != nil {
		return err
	}

	prog := newProgress(e.stderr, "generating keys")
	g.KeyID, g.Progress = loc.keyID, prog.update
	ks, err := core.Generate(g)
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
	if loc.local != nil {
		err = loc.local.SaveTo(e.ctx, ks, loc.dir)
	} else {
		err = loc.st.Save(e.ctx, ks)
	}
	if err != nil {
		return err
	}
	switch {
	case fs.has("json"):
		return writeJSON(e, keySetDoc(e, loc, ks, 0))
	case !fs.has("quiet"):
		fmt.Fprintf(e.stdout, "Key set %q written to %s\n", ks.ID(), loc.where)
		printInfo(e.stdout, ks)
	}
	return nil
}

func loadForCommand(e *env, fs *flagSet, opts core.ParseOptions) (*core.KeySet, *location, error) {
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return nil, nil, err
	}
	var ks *core.KeySet
	switch {
	case fs.has("version"):
		n, perr := strconv.Atoi(fs.str("version", ""))
		if perr != nil || n < 1 {
			return nil, nil, usagef("--version %q; accepted: a version number (1, 2, ...)", fs.str("version", ""))
		}
		ks, err = loc.st.LoadVersion(e.ctx, loc.keyID, n)
	case loc.local != nil:
		ks, err = loc.local.LoadFrom(e.ctx, loc.dir, loc.keyID, opts)
	default:
		ks, err = loc.aws.LoadWithOptions(e.ctx, loc.keyID, opts)
	}
	return ks, loc, err
}

func runInspect(e *env, fs *flagSet) error {
	ks, loc, err := loadForCommand(e, fs, core.ParseOptions{AllowInactive: true, SkipKeyData: true})
	if err != nil {
		return err
	}
	if fs.has("json") {
		return writeJSON(e, keySetDoc(e, loc, ks, versionAsked(fs)))
	}
	fmt.Fprintf(e.stdout, "Key set %q in %s (every digest checked)\n", ks.ID(), loc.where)
	printInfo(e.stdout, ks)
	return nil
}

// versionAsked is the --version number (checked by loadForCommand), 0 when not given.
func versionAsked(fs *flagSet) int {
	n, _ := strconv.Atoi(fs.str("version", "0"))
	return n
}

func printInfo(w io.Writer, ks *core.KeySet) {
	p := ks.Parameters()
	dims := core.FormatDimList(p.Dims)
	if dims == "" {
		dims = "not recorded"
	}
	mode := p.EvalMode.String()
	if mode == "" {
		mode = "not recorded"
	}
	fmt.Fprintf(w, "  preset %s (Q %d, P %d, log N 12, scales 2^%g / 2^%g), eval mode %s, dims %s\n",
		p.Preset, p.Preset.Q(), p.Preset.P(), p.Preset.LogDBScale(), p.Preset.LogQueryScale(), mode, dims)
	for i, info := range ks.Info() {
		if i == 0 {
			fmt.Fprintf(w, "  created %s by %s (%s), expires %s, state %s, key version %s\n",
				info.CreatedAt, info.Requester.Entity, info.Requester.Method, info.ExpiresAt, info.State, info.KeyVersion)
			if info.StateReason != "" {
				by := ""
				if info.StateChangedBy != nil {
					by = fmt.Sprintf(" by %s (%s)", info.StateChangedBy.Entity, info.StateChangedBy.Method)
				}
				fmt.Fprintf(w, "  state changed %s%s: %s\n", info.StateUpdatedAt, by, info.StateReason)
			}
			if info.SetID != "" {
				fmt.Fprintf(w, "  version %d of the key id; set id %s (binds the four envelopes)\n", info.SetVersion, info.SetID)
			}
			fmt.Fprintf(w, "  envelope: %s; key data: %s\n", info.Dialect, keyFormatText(info.KeyFormat))
		}
		state := "plain"
		switch {
		case info.Tombstone:
			state = "destroyed: key data erased"
		case info.Sealed:
			state = "sealed " + info.SealAlg
		case info.Role.Secret():
			state = "plain (not sealed)"
		}
		if info.KeyVersion != ks.Info()[0].KeyVersion || info.State != ks.Info()[0].State {
			state += fmt.Sprintf(" (key version %s, %s)", info.KeyVersion, info.State)
		}
		fmt.Fprintf(w, "  %-12s %-17s %10s bytes  %s  sha256 %s\n", info.Role, info.Role.FileName(), strconv.FormatInt(info.DataSize, 10), state, info.Hash)
	}
}

func keyFormatText(f string) string {
	switch f {
	case "lattigo-v5":
		return "lattigo v5 layout (made by envector-keys 0.1; enVector cannot compute with them)"
	case "evi":
		return "enVector's own (evi) layout"
	}
	return f
}

func runVerify(e *env, fs *flagSet) error {
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe
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
	switch {
	case fs.has("json"):
		return writeJSON(e, verifyDoc{keySetDoc(e, loc, ks, versionAsked(fs)), true, ks.Sealed(), verifyChecks(ks, rep), reportDoc(rep)})
	case fs.has("quiet"):
		return nil
	}
	fmt.Fprintf(e.stdout, "Key set %q in %s verified:\n", ks.ID(), loc.where)
	if ks.Sealed() {
		fmt.Fprintf(e.stdout, "  sealed keys unsealed with the KEK\n")
	}
	if rep.KeyFormat == "evi" {
		fmt.Fprintf(e.stdout, "  SecKey: ternary secret of Hamming weight %d\n", rep.HammingWeight)
		fmt.Fprintf(e.stdout, "  EncKey: an RLWE sample under SecKey (b + a*s = e mod both primes, largest |e| %d): what it encrypts, SecKey decrypts\n", rep.PublicKeyNoise)
		fmt.Fprintf(e.stdout, "  EvalKey: %d key-switching keys in %s are keys under SecKey (largest noise %d)\n", rep.GaloisKeys, strings.Join(rep.EvalKeyFiles, ", "), rep.GaloisNoise)
	} else {
		fmt.Fprintf(e.stdout, "  EncKey: encrypts what SecKey decrypts (largest slot error %.2g); key noise %d\n", rep.EncryptionError, rep.PublicKeyNoise)
		fmt.Fprintf(e.stdout, "  EvalKey: relinearization key (noise %d) and %d rotation/conjugation keys (largest noise %d) are keys under SecKey\n", rep.RelinNoise, rep.GaloisKeys, rep.GaloisNoise)
	}
	if rep.MetadataKey {
		fmt.Fprintf(e.stdout, "  MetadataKey: present, 32 bytes\n")
	}
	return nil
}

func runList(e *env, fs *flagSet) error {
	st, where, err := resolveListStore(e, fs)
	if err != nil {
		return err
	}
	sets, err := st.ListSets(e.ctx)
	if err != nil {
		return err
	}
	if len(sets) == 0 {
		note := ""
		if dir := fs.str("key_path", "./keys"); fs.str("key_store", "local") == "local" && len(keyFilesIn(dir)) > 0 {
			note = sprintf(" (%s is a key set's own directory: inspect --key_path %s shows it)", dir, dir)
		}
		fmt.Fprintf(e.stderr, "%s list: no key sets in %s%s\n", e.prog, where, note)
	}
	if fs.has("json") {
		doc := listDoc{Location: listLocation(fs, st), KeySets: []listEntry{}}
		for _, li := range sets {
			roles := []string{}
			for _, r := range li.Roles {
				roles = append(roles, r.String())
			}
			versions := li.Versions
			if versions == nil {
				versions = []int{}
			}
			doc.KeySets = append(doc.KeySets, listEntry{KeyID: li.KeyID, Complete: li.Complete, Roles: roles, EarlierVersions: versions})
		}
		return writeJSON(e, doc)
	}
	for _, li := range sets {
		line := li.KeyID
		if !li.Complete {
			var have []string
			for _, r := range li.Roles {
				have = append(have, r.String())
			}
			if len(have) == 0 {
				have = []string{"no current keys"}
			}
			line += fmt.Sprintf("  (incomplete: %s only; delete removes it)", strings.Join(have, ", "))
		}
		if len(li.Versions) > 0 {
			var vs []string
			for _, n := range li.Versions {
				vs = append(vs, strconv.Itoa(n))
			}
			line += fmt.Sprintf("  (earlier versions: %s)", strings.Join(vs, ", "))
		}
		fmt.Fprintln(e.stdout, line)
	}
	return nil
}

// resolveListStore returns the store list reads and its name for messages. A local
// store directory that does not exist is not found (exit status 4).
func resolveListStore(e *env, fs *flagSet) (store.Store, string, error) {
	ks, err := keyStore(fs)
	if err != nil {
		return nil, "", err
	}
	if ks == "aws" {
		a, err := newAWSStore(e, fs)
		if err != nil {
			return nil, "", err
		}
		prefix := a.Prefix()
		if prefix != "" {
			prefix += "/"
		}
		return a, fmt.Sprintf("AWS %s (s3://%s/%s, secrets %s*)", a.Region(), a.Bucket(), prefix, prefix), nil
	}
	dir := fs.str("key_path", "./keys")
	if dir == "" {
		return nil, "", usagef("--key_path is empty; give a directory")
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", kindf(core.ErrNotFound, "%s does not exist: no local store there (--key_path names the directory that holds the key sets)", dir)
	case err != nil:
		return nil, "", core.Wrap(core.ErrIO, "list", err, "checking %s", dir)
	case !fi.IsDir():
		return nil, "", usagef("--key_path %s is a file; accepted: a directory that holds key sets", dir)
	}
	return store.NewLocal(dir), dir, nil
}

func runDelete(e *env, fs *flagSet) error {
	if !fs.has("key_id") {
		return usagef("delete needs --key_id")
	}
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	immediate := fs.has("immediate")
	if err := confirmDelete(e, fs, loc, immediate); err != nil {
		return err
	}
	if err := loc.st.Delete(e.ctx, loc.keyID, store.DeleteOptions{Immediate: immediate}); err != nil {
		return err
	}
	switch {
	case fs.has("quiet"):
	case loc.local != nil:
		fmt.Fprintf(e.stdout, "Key set %q deleted from %s\n", loc.keyID, loc.local.Root)
	case immediate:
		fmt.Fprintf(e.stdout, "Key set %q deleted from %s; its secrets are deleted at once\n", loc.keyID, loc.where)
	default:
		fmt.Fprintf(e.stdout, "Key set %q deleted from %s; its secrets are scheduled for deletion after %d days: until then they can be restored (RestoreSecret) and key id %q cannot be saved again (delete with --immediate to free it now)\n",
			loc.keyID, loc.where, loc.aws.RecoveryWindowDays(), loc.keyID)
	}
	return nil
}

// confirmDelete asks before a delete that cannot be undone (local, or AWS with
// --immediate; a plain AWS delete keeps the secrets for the recovery window and does not
// ask), unless --yes is given. Standard input must be a terminal to ask; otherwise the
// delete is refused, saying to pass --yes. Anything but y or yes keeps the key set.
func confirmDelete(e *env, fs *flagSet, loc *location, immediate bool) error {
	if fs.has("yes") || (loc.local == nil && !immediate) {
		return nil
	}
	var what, question string
	if loc.local != nil {
		n := countKeyFiles(loc.local.Dir(loc.keyID))
		if n == 0 {
			return nil // nothing to delete: Delete says so
		}
		what = sprintf("key set %q in %s (%d files)", loc.keyID, loc.local.Root, n)
		question = sprintf("Delete key set %q in %s (%d files; secret files are zeroed first)? This cannot be undone. [y/N] ", loc.keyID, loc.local.Root, n)
	} else {
		what = sprintf("key set %q at once from %s", loc.keyID, loc.where)
		question = sprintf("Delete key set %q from %s at once, its secrets without the %d-day recovery window? This cannot be undone. [y/N] ", loc.keyID, loc.where, loc.aws.RecoveryWindowDays())
	}
	if !e.isInteractive() {
		return usagef("delete asks before deleting %s, and standard input is not a terminal to answer on: pass --yes to delete without asking", what)
	}
	fmt.Fprint(e.stderr, question)
	switch answer := strings.ToLower(strings.TrimSpace(readLine(e.stdin, 64))); answer {
	case "y", "yes":
		return nil
	default:
		return errorf("%s not deleted: the answer was not y or yes", what)
	}
}

// isInteractive reports whether a person answers on standard input: it is a terminal.
func (e *env) isInteractive() bool {
	if e.interactive != nil {
		return e.interactive()
	}
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readLine reads one line of at most max bytes (the rest of a longer one is left),
// a byte at a time so that nothing after it is consumed.
func readLine(r io.Reader, max int) string {
	var b [1]byte
	var line []byte
	for len(line) < max {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err != nil {
			break
		}
	}
	return string(line)
}

// countKeyFiles counts the key files of the key set in dir, its earlier versions' too.
func countKeyFiles(dir string) int {
	n := len(keyFilesIn(dir))
	entries, _ := os.ReadDir(filepath.Join(dir, "versions"))
	for _, v := range entries {
		if v.IsDir() {
			n += len(keyFilesIn(filepath.Join(dir, "versions", v.Name())))
		}
	}
	return n
}

// The --json documents. Their fields are listed in README.md (The CLI): keep them
// stable; add fields, never rename or remove one.

// keySetJSON describes a key set: generate and inspect print it, verify adds its checks.
type keySetJSON struct {
	KeyID              string         `json:"key_id"`
	Location           any            `json:"location"` // localLocation or awsLocation
	Preset             string         `json:"preset"`
	EvalMode           string         `json:"eval_mode"`
	DimList            []int          `json:"dim_list"`
	MetadataEncryption bool           `json:"metadata_encryption"`
	Sealed             bool           `json:"sealed"`
	CreatedAt          string         `json:"created_at"`
	CreatedBy          core.Requester `json:"created_by"`
	ExpiresAt          string         `json:"expires_at"`
	State              string         `json:"state"`
	StateReason        string         `json:"state_reason"`
	StateUpdatedAt     string         `json:"state_updated_at"`
	Compromised        bool           `json:"compromised"`
	KeyVersion         string         `json:"key_version"`
	Version            int            `json:"version"`
	SetID              string         `json:"set_id"`
	Envelope           string         `json:"envelope"`
	KeyFormat          string         `json:"key_format"`
	Keys               []keyJSON      `json:"keys"`
}

type localLocation struct {
	Store string `json:"store"` // "local"
	Dir   string `json:"dir"`
}

type awsLocation struct {
	Store  string `json:"store"` // "aws"
	Region string `json:"region"`
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
}

// keyJSON describes one key of a set. No key material: sizes and digests only.
type keyJSON struct {
	Role       string `json:"role"`
	Kind       string `json:"kind"` // "file", "s3_object" or "secret"
	Name       string `json:"name"` // the file's path, s3://bucket/key, or the secret's name
	Size       int64  `json:"size"`
	Sealed     bool   `json:"sealed"`
	SealAlg    string `json:"seal_alg"`
	SHA256     string `json:"sha256"` // hex SHA-256 of the key data as stored
	State      string `json:"state"`
	KeyVersion string `json:"key_version"`
	Destroyed  bool   `json:"destroyed"`
}

type verifyDoc struct {
	keySetJSON
	Verified        bool        `json:"verified"`
	UnsealedWithKEK bool        `json:"unsealed_with_kek"`
	Checks          []checkJSON `json:"checks"`
	Report          reportJSON  `json:"report"`
}

type checkJSON struct {
	Role  string `json:"role"`
	Check string `json:"check"`
	OK    bool   `json:"ok"`
}

type reportJSON struct {
	KeyFormat         string   `json:"key_format"`
	HammingWeight     int      `json:"hamming_weight"`
	PublicKeyNoise    uint64   `json:"public_key_noise"`
	EncryptionError   float64  `json:"encryption_error"`
	RelinNoise        uint64   `json:"relin_noise"`
	KeySwitchingKeys  int      `json:"key_switching_keys"`
	KeySwitchingNoise uint64   `json:"key_switching_noise"`
	EvalKeyFiles      []string `json:"eval_key_files"`
	MetadataKey       bool     `json:"metadata_key"`
}

type listDoc struct {
	Location any         `json:"location"`
	KeySets  []listEntry `json:"key_sets"`
}

type listEntry struct {
	KeyID           string   `json:"key_id"`
	Complete        bool     `json:"complete"`
	Roles           []string `json:"roles"`
	EarlierVersions []int    `json:"earlier_versions"`
}

// writeJSON prints doc as one line of JSON.
func writeJSON(e *env, doc any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}

func dialectName(d core.Dialect) string {
	switch d {
	case core.DialectOurs:
		return "envector-keys"
	case core.DialectEVI:
		return "envector-sdk"
	case core.DialectLegacy:
		return "envector-keys-0.1"
	}
	return "unknown"
}

// keySetDoc describes ks, read from loc (version n when n > 0: an earlier version has
// names of its own).
func keySetDoc(e *env, loc *location, ks *core.KeySet, n int) keySetJSON {
	p := ks.Parameters()
	infos := ks.Info()
	doc := keySetJSON{
		KeyID: ks.ID(), Preset: p.Preset.String(), EvalMode: p.EvalMode.String(), DimList: p.Dims,
		MetadataEncryption: ks.Has(core.MetadataKey), Sealed: ks.Sealed(), Version: ks.Version(), SetID: ks.SetID(),
		Keys: []keyJSON{},
	}
	if doc.DimList == nil {
		doc.DimList = []int{}
	}
	if len(infos) > 0 {
		i := infos[0]
		doc.CreatedAt, doc.CreatedBy, doc.ExpiresAt, doc.State = i.CreatedAt, i.Requester, i.ExpiresAt, i.State
		doc.StateReason, doc.StateUpdatedAt, doc.Compromised, doc.KeyVersion = i.StateReason, i.StateUpdatedAt, i.Compromised, i.KeyVersion
		doc.Envelope, doc.KeyFormat = dialectName(i.Dialect), i.KeyFormat
	}
	name := keyNames(e, loc, ks.ID(), n, &doc)
	for _, i := range infos {
		kind, where := name(i.Role)
		sum := ""
		if raw, err := base64.StdEncoding.DecodeString(i.Hash); err == nil && len(raw) == 32 {
			sum = hex.EncodeToString(raw)
		}
		doc.Keys = append(doc.Keys, keyJSON{Role: i.Role.String(), Kind: kind, Name: where, Size: i.DataSize, Sealed: i.Sealed,
			SealAlg: i.SealAlg, SHA256: sum, State: i.State, KeyVersion: i.KeyVersion, Destroyed: i.Tombstone})
	}
	return doc
}

// keyNames sets doc's location and returns where each role of key set id lives: its
// file, S3 object or secret (version n's when n > 0 and it is an earlier version).
func keyNames(e *env, loc *location, id string, n int, doc *keySetJSON) func(core.Role) (kind, name string) {
	if loc.local != nil {
		dir := loc.dir
		if v := filepath.Join(loc.local.Dir(id), "versions", strconv.Itoa(n)); n > 0 {
			if fi, err := os.Stat(v); err == nil && fi.IsDir() {
				dir = v
			}
		}
		doc.Location = localLocation{Store: "local", Dir: dir}
		return func(r core.Role) (string, string) { return "file", filepath.Join(dir, r.FileName()) }
	}
	a := loc.aws
	if n > 0 { // an earlier version is a key set of its own under <prefix>/<id>/versions/<n>
		prefix := id
		if a.Prefix() != "" {
			prefix = a.Prefix() + "/" + id
		}
		prefix += "/versions/" + strconv.Itoa(n)
		if v, err := store.NewAWS(e.ctx, store.AWSConfig{Region: a.Region(), Bucket: a.Bucket(), Prefix: prefix}); err == nil {
			if ok, _ := v.Exists(e.ctx, id); ok {
				a = v
			}
		}
	}
	doc.Location = awsLocation{Store: "aws", Region: a.Region(), Bucket: a.Bucket(), Prefix: a.Prefix()}
	return func(r core.Role) (string, string) {
		if r.Secret() {
			return "secret", a.SecretName(id, r)
		}
		return "s3_object", "s3://" + a.Bucket() + "/" + a.ObjectKey(id, r)
	}
}

// listLocation is the location of list's JSON.
func listLocation(fs *flagSet, st store.Store) any {
	if a, ok := st.(*store.AWS); ok {
		return awsLocation{Store: "aws", Region: a.Region(), Bucket: a.Bucket(), Prefix: a.Prefix()}
	}
	return localLocation{Store: "local", Dir: fs.str("key_path", "./keys")}
}

// verifyChecks lists what verify proved of ks.
func verifyChecks(ks *core.KeySet, rep *core.Report) []checkJSON {
	var out []checkJSON
	if ks.Sealed() {
		out = append(out, checkJSON{"SecKey", "unsealed with the KEK", true})
	}
	if rep.KeyFormat == "evi" {
		out = append(out,
			checkJSON{"SecKey", "a ternary secret", true},
			checkJSON{"EncKey", "an RLWE sample under SecKey: what it encrypts, SecKey decrypts", true},
			checkJSON{"EvalKey", "every key-switching key is a key under SecKey", true})
	} else {
		out = append(out,
			checkJSON{"EncKey", "encrypts what SecKey decrypts", true},
			checkJSON{"EvalKey", "the relinearization and rotation keys are keys under SecKey", true})
	}
	if rep.MetadataKey {
		out = append(out, checkJSON{"MetadataKey", "present, 32 bytes", true})
	}
	return out
}

func reportDoc(rep *core.Report) reportJSON {
	files := rep.EvalKeyFiles
	if files == nil {
		files = []string{}
	}
	return reportJSON{KeyFormat: rep.KeyFormat, HammingWeight: rep.HammingWeight, PublicKeyNoise: rep.PublicKeyNoise,
		EncryptionError: rep.EncryptionError, RelinNoise: rep.RelinNoise, KeySwitchingKeys: rep.GaloisKeys,
		KeySwitchingNoise: rep.GaloisNoise, EvalKeyFiles: files, MetadataKey: rep.MetadataKey}
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
