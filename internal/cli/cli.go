// Package cli is the envector-keygen command: flags in, core calls, a report out. The
// envector-keygen binary and the Python package's envector-keygen script (through the C
// ABI) both run Main.
package cli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// Exit statuses.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitInactive = 3 // the key set is not active (deactivated, destroyed, preparing) or has expired
)

// Version is the tool's version.
const Version = "0.1.0"

var commonFlags = []flagSpec{
	{name: "key_path", help: "directory of the local store (default ./keys); keys go to <key_path>/<key_id>"},
	{name: "key_id", help: "key set id: letters, digits, '.', '_', '-' (default: the base name of --key_path, keys directly in it)"},
	{name: "key_store", help: "where keys live: local (default) or aws (EncKey, EvalKey in S3; SecKey, MetadataKey in Secrets Manager)"},
	{name: "help", boolean: true, help: "show this help"},
}

var kekFlags = []flagSpec{
	{name: "seal_key_path", help: "file holding the 32-byte KEK: 32 raw bytes, 64 hex or 44 base64 characters"},
	{name: "seal_key_stdin", boolean: true, help: "read the KEK from standard input (same forms)"},
}

var generateFlags = append(append([]flagSpec{
	{name: "dim", multi: true, help: "vector dimensions to support: powers of two from 32 to 4096 (default all); several values or a comma list"},
	{name: "preset", help: "enVector's parameter preset: ip3 (default), ip2, ip1, ip0, qf0 or qf1 (= qf0 in enVector)"},
	{name: "eval_mode", help: "evaluation keys: mm32 (default with ip3), mm (default with ip1, ip2), rmp (default with ip0, qf0; any preset), flat, single (ip0), mms (ip1, ip2), mms32 (ip3); mm, mm32, mms and mms32 EvalKeys are about 0.9 GB"},
	{name: "metadata_encryption", help: "true (default) makes a MetadataKey; false leaves it out"},
	{name: "seal_mode", help: "none (default) or aes: seal SecKey and MetadataKey with AES-256-GCM under a KEK"},
	{name: "seed", help: "128 hex characters (64 bytes): deterministic generation (testing only)"},
	{name: "seed_file", help: "file of exactly 64 bytes: deterministic generation (testing only)"},
	{name: "lifetime", help: "how long the keys are usable: hours (h), days (d) or years (y), e.g. 720h, 90d, 5y (default 5y, as enVector)"},
	{name: "quiet", boolean: true, help: "print nothing on success"},
}, commonFlags...), append(awsFlags, kekFlags...)...)

// awsFlags choose where --key_store aws keeps keys. Credentials and endpoints come from
// the standard AWS configuration (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...).
var awsFlags = []flagSpec{
	{name: "region_name", help: "AWS region, e.g. us-east-1 (required with --key_store aws)"},
	{name: "bucket_name", help: "S3 bucket of EncKey and EvalKey (with --key_store aws; default " + store.DefaultBucket + "); it must exist"},
	{name: "secret_prefix", help: "prefix of the S3 object keys and Secrets Manager names (with --key_store aws; default " + store.DefaultPrefix + "; \"\" for none)"},
}

var versionFlag = flagSpec{name: "version", help: "an earlier version of the key set, kept by rotate (default: the current one)"}

var inspectFlags = append(append([]flagSpec{versionFlag}, commonFlags...), awsFlags...)

var verifyFlags = append(append(append([]flagSpec{versionFlag}, commonFlags...), awsFlags...), kekFlags...)

var listFlags = append([]flagSpec{commonFlags[0], commonFlags[2], commonFlags[3]}, awsFlags...)

var deleteFlags = append(append(append([]flagSpec{}, commonFlags...), awsFlags...),
	flagSpec{name: "immediate", boolean: true, help: "with --key_store aws: delete the secrets at once, not after the recovery window (7 days) during which they can be restored and their names stay taken"})

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
	{"encrypt-metadata", "encrypt metadata (UTF-8 text) with the key set's MetadataKey: writes enVector's token (base64) and a newline", encryptMetadataFlags, runEncryptMetadata},
	{"decrypt-metadata", "decrypt a metadata token with the key set's MetadataKey: writes the metadata byte for byte", decryptMetadataFlags, runDecryptMetadata},
}

func init() { commands = append(commands, lifecycleCommands...) }

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
		found, words := false, 1
		for _, c := range commands {
			if c.name == args[0] {
				cmd, found = c, true
			} else if len(args) > 1 && c.name == args[0]+" "+args[1] { // "server list"
				cmd, found, words = c, true, 2
			}
		}
		if !found {
			names := make([]string, len(commands))
			for i, c := range commands {
				names[i] = c.name
			}
			fmt.Fprintf(stderr, "envector-keygen: %s\n", sprintf("unknown command %q; accepted: %s", args[0], strings.Join(names, ", ")))
			return ExitUsage
		}
		args = args[words:]
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
		fmt.Fprintf(stderr, "envector-keygen %s: %s\n", cmd.name, core.BoundMessage(ue.msg))
		fmt.Fprintf(stderr, "Run 'envector-keygen %s --help' for the flags.\n", cmd.name)
		return ExitUsage
	case errors.Is(err, core.ErrInactive):
		fmt.Fprintf(stderr, "envector-keygen %s: %s\n", cmd.name, core.BoundMessage(err.Error()))
		return ExitInactive
	default:
		fmt.Fprintf(stderr, "envector-keygen %s: %s\n", cmd.name, core.BoundMessage(err.Error()))
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

// location resolves where a key set lives. Local: <key_path>/<key_id>, or <key_path>
// itself (key id = its base name) when no key id is given. AWS: the key id in the
// bucket and prefix of the flags.
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

// newAWSStore builds the AWS store of the flags.
func newAWSStore(e *env, fs *flagSet) (*store.AWS, error) {
	region := fs.str("region_name", "")
	if region == "" {
		return nil, usagef("--key_store aws needs --region_name (e.g. us-east-1)")
	}
	prefix := store.DefaultPrefix
	if fs.has("secret_prefix") {
		prefix = fs.str("secret_prefix", "")
	}
	a, err := store.NewAWS(e.ctx, store.AWSConfig{Region: region, Bucket: fs.str("bucket_name", store.DefaultBucket), Prefix: prefix})
	var ce *core.Error
	if errors.As(err, &ce) && ce.Kind == core.ErrInvalidArgument && ce.Err == nil {
		return nil, usagef("%s", ce.Msg) // a flag value was refused
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
	if kek != nil {
		defer kek.Wipe()
	}
	// Fail before the work of generating if the target is taken. In AWS the key set is
	// generated and sealed in memory only; nothing touches the local disk.
	if loc.local != nil {
		err = store.CheckTarget(loc.dir)
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
	if !fs.has("quiet") {
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
	fmt.Fprintf(e.stdout, "Key set %q in %s (every digest checked)\n", ks.ID(), loc.where)
	printInfo(e.stdout, ks)
	return nil
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
	st, err := resolveListStore(e, fs)
	if err != nil {
		return err
	}
	sets, err := st.ListSets(e.ctx)
	if err != nil {
		return err
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

func resolveListStore(e *env, fs *flagSet) (store.Store, error) {
	ks, err := keyStore(fs)
	if err != nil {
		return nil, err
	}
	if ks == "aws" {
		return newAWSStore(e, fs)
	}
	return store.NewLocal(fs.str("key_path", "./keys")), nil
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
	if err := loc.st.Delete(e.ctx, loc.keyID, store.DeleteOptions{Immediate: immediate}); err != nil {
		return err
	}
	switch {
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
