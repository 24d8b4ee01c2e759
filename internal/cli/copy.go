package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// The copy command: a key set from one store to another (local or AWS, either way),
// byte for byte (store.Copy).

// copyToFlags name the destination as the usual flags name the source.
var copyToFlags = []flagSpec{
	{name: "to_key_store", help: "where the copy goes: local (default) or aws"},
	{name: "to_key_path", help: "with --to_key_store local: the destination store's directory (default ./keys); the copy goes to <to_key_path>/<key_id>, which must be empty or absent"},
	{name: "to_region_name", help: "with --to_key_store aws: AWS region, e.g. us-east-1 (required)"},
	{name: "to_bucket_name", help: "with --to_key_store aws: S3 bucket for EncKey and EvalKey (default " + store.DefaultBucket + "); it must exist"},
	{name: "to_secret_prefix", help: "with --to_key_store aws: prefix of the S3 object keys and Secrets Manager names (default " + store.DefaultPrefix + "; \"\" for none)"},
}

var copyFlags = append(append(append([]flagSpec{quietFlag}, commonFlags...), awsFlags...), copyToFlags...)

var copyCommands = []command{
	{name: "copy", summary: "copy a key set to another store (--to_key_store, --to_key_path, ...) byte for byte: sealed keys stay sealed (no KEK needed), key id and state unchanged; the destination is never overwritten", flags: copyFlags, run: runCopy},
}

func init() { commands = append(commands, copyCommands...) }

func runCopy(e *env, fs *flagSet) error {
	src, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	dst, err := copyDestination(e, fs, src.keyID)
	if err != nil {
		return err
	}
	opts := store.CopyOptions{SourceDir: src.dir}
	if same, where := store.SameLocation(src.st, dst.st, src.keyID, opts); same {
		other := "--to_key_path"
		if dst.aws != nil {
			other = "--to_bucket_name or --to_secret_prefix"
		}
		return usagef("the destination is the source (%s); name another place with %s", where, other)
	}
	defer holdsKeySet()() // into AWS the whole set is in memory
	res, err := store.Copy(e.ctx, src.st, src.keyID, dst.st, opts)
	if err != nil {
		return err
	}
	ks := res.KeySet
	defer ks.Wipe()
	if fs.has("quiet") {
		return nil
	}
	fmt.Fprintf(e.stdout, "Key set %q copied from %s to %s, byte for byte\n", ks.ID(), src.where, dst.where)
	printInfo(e.stdout, ks)
	if ks.Sealed() {
		fmt.Fprintf(e.stdout, "  sealed: the copy is sealed under the same KEK (none was needed to copy it)\n")
	}
	state, expires := ks.State()
	switch {
	case state != core.StateActive:
		fmt.Fprintf(e.stdout, "  state %s: the copy is %s too\n", state, state)
	case time.Now().After(expires):
		fmt.Fprintf(e.stdout, "  expired %s: the copy is expired too\n", expires.UTC().Format(time.RFC3339))
	}
	if len(res.Versions) > 0 {
		vs := make([]string, len(res.Versions))
		for i, n := range res.Versions {
			vs[i] = strconv.Itoa(n)
		}
		what := "earlier versions " + strings.Join(vs, ", ") + " were"
		if len(vs) == 1 {
			what = "earlier version " + vs[0] + " was"
		}
		fmt.Fprintf(e.stdout, "  %s not copied: copy copies the current key set; they stay in %s (inspect --version N there)\n", what, src.where)
	}
	return nil
}

// copyDestination resolves the --to_* flags: where the copy of key set keyID goes.
func copyDestination(e *env, fs *flagSet, keyID string) (*location, error) {
	switch ks := fs.str("to_key_store", "local"); ks {
	case "local":
		for _, f := range copyToFlags[2:] {
			if fs.has(f.name) {
				return nil, usagef("--%s applies to --to_key_store aws only", f.name)
			}
		}
		root := fs.str("to_key_path", "./keys")
		if root == "" {
			return nil, usagef("--to_key_path is empty; give a directory")
		}
		l := store.NewLocal(root)
		return &location{st: l, local: l, keyID: keyID, dir: l.Dir(keyID), where: l.Dir(keyID)}, nil
	case "aws":
		if fs.has("to_key_path") {
			return nil, usagef("--to_key_path applies to --to_key_store local only; with --to_key_store aws the copy goes to S3 and Secrets Manager")
		}
		a, err := newAWSStoreOf(e, fs, "to_", "destination: ")
		if err != nil {
			return nil, err
		}
		return &location{st: a, aws: a, keyID: keyID, where: awsWhere(a, keyID)}, nil
	default:
		return nil, usagef("unknown --to_key_store %q; accepted: local or aws", ks)
	}
}
