package cli

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// The lifecycle commands: state, rotate, reseal.

var stateFlags = append(append(append([]flagSpec{
	{name: "to", help: "the new state: active (from preparing), deactivated (from active) or destroyed (from deactivated: erases the secret keys); without --to, show the state"},
	{name: "reason", help: "why the state changes (required with --to), recorded in every envelope"},
	{name: "compromised", boolean: true, help: "record that the keys are known or suspected exposed (the reason becomes \"compromised: <reason>\"); with --to deactivated or destroyed"},
	quietFlag,
}, commonFlags...), awsFlags...), kekFlags...)

var rotateFlags = append(append(append([]flagSpec{
	{name: "reason", help: "recorded in the earlier version as it is deactivated (default \"superseded by version N\")"},
	{name: "preset", help: "preset of the new key set (default: the current set's)"},
	{name: "eval_mode", help: "eval mode of the new key set (default: the current set's)"},
	{name: "dim", multi: true, help: "dims of the new key set (default: the current set's)"},
	{name: "lifetime", help: "how long the new keys are usable: a number of hours (h), days (d) or years (y), e.g. 5y (default 5y, as enVector)"},
	{name: "seed", help: "128 hex characters (64 bytes): deterministic generation (testing only)"},
	quietFlag,
}, commonFlags...), awsFlags...), kekFlags...)

var resealFlags = append(append(append([]flagSpec{
	{name: "new_seal_key_path", help: "file holding the new 32-byte KEK (same forms as --seal_key_path)"},
	{name: "new_seal_key_stdin", boolean: true, help: "read the new KEK from standard input"},
	quietFlag,
}, commonFlags...), awsFlags...), kekFlags...)

var lifecycleCommands = []command{
	{"state", "show or change the state of a key set: preparing -> active -> deactivated -> destroyed (a sealed set needs its KEK)", stateFlags, runState},
	{"rotate", "make a new key set for the key id; the current one is kept as an earlier version, deactivated", rotateFlags, runRotate},
	{"reseal", "seal the secret keys under a new KEK (or seal an unsealed set), keys unchanged, all or nothing", resealFlags, runReseal},
}

// parseLifetime accepts a positive number followed by h, d or y (365 days), or a Go
// duration such as 36h30m.
func parseLifetime(s string) (time.Duration, error) {
	bad := usagef("--lifetime %q; accepted: a positive number of hours, days or years such as 720h, 30d or 5y, from 1 hour to 100 years", s)
	if s == "" {
		return 0, bad
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit != 0 {
		n, err := strconv.ParseFloat(s[:len(s)-1], 64)
		if err != nil || n <= 0 {
			return 0, bad
		}
		return time.Duration(n * float64(unit)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

func runState(e *env, fs *flagSet) error {
	defer holdsKeySet()()
	kek, loc, err := kekAndLocation(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe
	if !fs.has("to") {
		for _, f := range []string{"reason", "compromised"} {
			if fs.has(f) {
				return usagef("--%s needs --to", f)
			}
		}
		ks, err := loadAnyState(e, loc)
		if err != nil {
			return err
		}
		if !fs.has("quiet") {
			printState(e, ks, loc)
		}
		return nil
	}
	if !fs.has("reason") {
		return usagef("--to needs --reason: say why the state changes")
	}
	c := core.StateChange{To: strings.ToLower(fs.str("to", "")), Reason: fs.str("reason", ""), Compromised: fs.has("compromised"), Actor: core.DefaultRequester("cli")}
	ks, err := store.SetState(e.ctx, loc.st, loc.keyID, c, kek)
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if !fs.has("quiet") {
		printState(e, ks, loc)
	}
	return nil
}

// loadAnyState loads the current key set whatever its state, with its key data.
func loadAnyState(e *env, loc *location) (*core.KeySet, error) {
	if loc.local != nil {
		return loc.local.LoadFrom(e.ctx, loc.dir, loc.keyID, core.ParseOptions{AllowInactive: true, SkipKeyData: true})
	}
	return loc.aws.LoadWithOptions(e.ctx, loc.keyID, core.ParseOptions{AllowInactive: true, SkipKeyData: true})
}

func printState(e *env, ks *core.KeySet, loc *location) {
	state, exp := ks.State()
	fmt.Fprintf(e.stdout, "Key set %q in %s: %s, version %d, expires %s\n", ks.ID(), loc.where, state, ks.Version(), exp.UTC().Format(time.RFC3339))
	info := ks.Info()[0]
	if info.StateReason != "" {
		by := ""
		if info.StateChangedBy != nil {
			by = fmt.Sprintf(" by %s (%s)", info.StateChangedBy.Entity, info.StateChangedBy.Method)
		}
		fmt.Fprintf(e.stdout, "  changed %s%s: %s\n", info.StateUpdatedAt, by, info.StateReason)
	}
}

// holdsKeySet keeps the garbage collector close to the live heap while a command holds a
// whole key set (the current one, 0.9 GB with an MM EvalKey) and makes or writes another:
// by default the heap may grow to twice what is live before a collection.
func holdsKeySet() (restore func()) {
	old := debug.SetGCPercent(20)
	return func() { debug.SetGCPercent(old) }
}

func runRotate(e *env, fs *flagSet) error {
	defer holdsKeySet()()
	kek, loc, err := kekAndLocation(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe
	g := core.GenerateOptions{Requester: core.DefaultRequester("cli")}
	if fs.has("preset") || fs.has("eval_mode") || fs.has("dim") {
		if g.Parameters.Preset, err = core.ParsePreset(fs.str("preset", "")); err != nil {
			return usagef("--preset: %s", err.(*core.Error).Msg)
		}
		if g.Parameters.EvalMode, err = core.ParseEvalMode(fs.str("eval_mode", "")); err != nil {
			return usagef("--eval_mode: %s", err.(*core.Error).Msg)
		}
		if fs.has("dim") {
			if g.Parameters.Dims, err = core.ParseDimList(strings.Join(fs.list("dim"), ",")); err != nil {
				return usagef("--dim: %s", err.(*core.Error).Msg)
			}
		}
	}
	if fs.has("lifetime") {
		if g.Lifetime, err = parseLifetime(fs.str("lifetime", "")); err != nil {
			return err
		}
	}
	if g.Seed, err = parseSeed(fs); err != nil {
		return err
	}
	defer clear(g.Seed)
	ks, err := store.Rotate(e.ctx, loc.st, loc.keyID, store.RotateOptions{Generate: g, KEK: kek, Reason: fs.str("reason", ""), Actor: core.DefaultRequester("cli")})
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if !fs.has("quiet") {
		fmt.Fprintf(e.stdout, "Key set %q rotated in %s: version %d is current; version %d is kept, deactivated (inspect --version %d)\n", ks.ID(), loc.where, ks.Version(), ks.Version()-1, ks.Version()-1)
		printInfo(e.stdout, ks)
	}
	return nil
}

func runReseal(e *env, fs *flagSet) error {
	if fs.has("seal_key_stdin") && fs.has("new_seal_key_stdin") {
		return usagef("only one KEK can come from standard input; give the other with a --*seal_key_path file")
	}
	newKEK, err := readKEKFlags(e, fs, "new_seal_key_path", "new_seal_key_stdin")
	if err != nil {
		return err
	}
	if newKEK == nil {
		return usagef("reseal needs the new KEK: --new_seal_key_path FILE or --new_seal_key_stdin (and the current one with --seal_key_path or --seal_key_stdin when the set is sealed)")
	}
	defer newKEK.Wipe()
	oldKEK, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	defer oldKEK.Wipe() // nil: nothing to wipe
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	ks, err := store.Reseal(e.ctx, loc.st, loc.keyID, oldKEK, newKEK)
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if !fs.has("quiet") {
		fmt.Fprintf(e.stdout, "Key set %q in %s resealed under the new KEK (the keys are unchanged)\n", ks.ID(), loc.where)
		printInfo(e.stdout, ks)
	}
	return nil
}

// kekAndLocation reads the KEK flags (nil when none is given) and resolves the key set.
func kekAndLocation(e *env, fs *flagSet) (*core.KEK, *location, error) {
	kek, err := readKEK(e, fs)
	if err != nil {
		return nil, nil, err
	}
	loc, err := resolveLocation(e, fs)
	if err != nil {
		kek.Wipe()
		return nil, nil, err
	}
	return kek, loc, nil
}
