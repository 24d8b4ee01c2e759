package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

// The completion scripts are checked by the shells themselves: each must parse (bash
// -n, zsh -n, fish --no-execute), and each completes real command lines. A shell that
// is not installed fails its test, saying how to install it.

// completionScript writes the script `envector-keygen completion SHELL` prints into a
// file and returns its path.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if st := Main([]string{"completion", shell}, strings.NewReader(""), &out, &errOut); st != ExitOK {
		t.Fatalf("completion %s: exit status %d: %s", shell, st, errOut.String())
	}
	if errOut.Len() > 0 {
		t.Fatalf("completion %s wrote on standard error: %s", shell, errOut.String())
	}
	path := filepath.Join(t.TempDir(), "completion."+shell)
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// requireShell returns the path of shell, failing the test when it is not installed.
func requireShell(t *testing.T, shell string) string {
	t.Helper()
	path, err := exec.LookPath(shell)
	if err != nil {
		t.Fatalf("%s is not installed, so its completion script cannot be checked; install it (Debian, Ubuntu: apt-get install -y %s)", shell, shell)
	}
	return path
}

func runShell(t *testing.T, shell string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a completion that never comes
	defer cancel()
	cmd := exec.CommandContext(ctx, requireShell(t, shell), args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+cmd.Dir, "XDG_CONFIG_HOME="+cmd.Dir, "XDG_DATA_HOME="+cmd.Dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", shell, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// completionCases are command lines, the last word the one being completed, and what
// must (want) and must not (not) be among the completions.
var completionCases = []struct {
	words     []string
	want, not []string
}{
	{[]string{"ins"}, []string{"inspect"}, []string{"verify"}},
	{[]string{""}, []string{"generate", "inspect", "list", "copy", "export", "completion", "server", "help"}, []string{"server list", "info"}},
	{[]string{"inspect", "--key_"}, []string{"--key_id", "--key_path", "--key_store"}, []string{"--preset"}},
	{[]string{"--preset", ""}, []string{"ip0", "ip1", "ip2", "ip3", "qf0", "qf1"}, nil},
	{[]string{"--eval_mode", ""}, []string{"mm32", "mm", "rmp", "flat", "single", "mms", "mms32"}, nil},
	{[]string{"--key-store", ""}, []string{"local", "aws"}, nil}, // the dash form of a flag
	{[]string{"--seal_mode", ""}, []string{"none", "aes"}, nil},
	{[]string{"--metadata_encryption", ""}, []string{"true", "false"}, nil},
	{[]string{"--dim", "32", "64", ""}, []string{"128", "4096"}, nil},
	{[]string{"--dim", "32", "ins"}, []string{"inspect"}, nil}, // dims end at a command word
	{[]string{"copy", "--to_key_store", ""}, []string{"local", "aws"}, nil},
	{[]string{"copy", "--to"}, []string{"--to_key_store", "--to_key_path", "--to_region_name", "--to_bucket_name", "--to_secret_prefix"}, nil},
	{[]string{"export", "--p"}, []string{"--public"}, nil},
	{[]string{"state", "--to", ""}, []string{"active", "deactivated", "destroyed"}, nil},
	{[]string{"server", ""}, []string{"list", "info", "load", "unload", "delete"}, []string{"inspect"}},
	{[]string{"server", "list", "--"}, []string{"--address", "--token_file"}, []string{"--key_path"}},
	{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}, nil},
	{[]string{"--key_path", "keys", "verify", "--seal_"}, []string{"--seal_key_path", "--seal_key_stdin"}, nil}, // the command after a flag
	{[]string{"--quiet", "--pre"}, []string{"--preset"}, nil},                                                   // generate's flags before any command
	{[]string{"init", "--auto_key_setup", ""}, []string{"true", "false"}, nil},
	{[]string{"--"}, []string{"--version", "--preset"}, nil},
}

func checkCompletions(t *testing.T, shell string, words []string, got, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: envector-keygen %s<TAB> gives %q, without %q", shell, strings.Join(words, " "), got, w)
		}
	}
	for _, w := range not {
		if slices.Contains(got, w) {
			t.Errorf("%s: envector-keygen %s<TAB> gives %q, with %q", shell, strings.Join(words, " "), got, w)
		}
	}
}

// bashComplete sources the script in bash and calls its completion function as bash
// would (COMP_WORDS, COMP_CWORD), returning COMPREPLY.
func bashComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	const driver = `source "$1" || exit 1; shift
COMP_WORDS=(envector-keygen "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
complete -p envector-keygen >/dev/null || { echo 'no completion registered for envector-keygen'; exit 1; }
_envector_keygen
printf '%s\n' "${COMPREPLY[@]}"`
	out := runShell(t, "bash", append([]string{"--norc", "--noprofile", "-c", driver, "bash", script}, words...)...)
	return strings.Fields(out)
}

func TestCompletionBash(t *testing.T) {
	script := completionScript(t, "bash")
	runShell(t, "bash", "-n", script)
	for _, c := range completionCases {
		checkCompletions(t, "bash", c.words, bashComplete(t, script, c.words...), c.want, c.not)
	}
	// bash splits --flag=value at '=': "--preset=q<TAB>" is --preset, =, q.
	checkCompletions(t, "bash", []string{"--preset", "=", "q"}, bashComplete(t, script, "--preset", "=", "q"), []string{"qf0", "qf1"}, []string{"ip0"})
	checkCompletions(t, "bash", []string{"--preset", "="}, bashComplete(t, script, "--preset", "="), []string{"ip0", "qf1"}, nil)
	// Path flags complete file and directory names.
	dir := t.TempDir()
	for _, name := range []string{"kek.hex", "keys/"} {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := bashComplete(t, script, "verify", "--seal_key_path", dir+"/k")
	checkCompletions(t, "bash", []string{"verify", "--seal_key_path", dir + "/k"}, got, []string{dir + "/kek.hex", dir + "/keys"}, nil)
	got = bashComplete(t, script, "--key_path", dir+"/k")
	checkCompletions(t, "bash", []string{"--key_path", dir + "/k"}, got, []string{dir + "/keys"}, []string{dir + "/kek.hex"})
	got = bashComplete(t, script, "export", "--out", dir+"/k")
	checkCompletions(t, "bash", []string{"export", "--out", dir + "/k"}, got, []string{dir + "/keys"}, []string{dir + "/kek.hex"})
	// A flag that takes a free value completes to nothing (not to flags).
	if got := bashComplete(t, script, "--key_id", ""); len(got) != 0 {
		t.Errorf("bash: envector-keygen --key_id <TAB> gives %q, want nothing", got)
	}
}

// zshComplete sources the script in zsh with the completion system's builtins
// replaced by functions that print what they are given (compadd's words, _describe's
// entries, _files' options), and calls the completion function with words and CURRENT
// set as zsh sets them. It returns the words offered; "files" or "files -/" for
// file or directory completion.
func zshComplete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	const driver = `compdef() { :; }
compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_describe() { print -rl -- ${(@)${(P)4}%%:*}; }
_files() { print -r -- "files $*"; }
_message() { :; }
compset() { :; }
source "$1" || exit 1; shift
words=(envector-keygen "$@"); CURRENT=$#words
_envector_keygen`
	out := runShell(t, "zsh", append([]string{"-f", "-c", driver, "zsh", script}, words...)...)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			got = append(got, strings.TrimSpace(l))
		}
	}
	return got
}

func TestCompletionZsh(t *testing.T) {
	script := completionScript(t, "zsh")
	runShell(t, "zsh", "-n", script)
	for _, c := range completionCases {
		got := zshComplete(t, script, c.words...)
		// zsh filters by the typed prefix itself: keep what fits, as it would.
		prefix := c.words[len(c.words)-1]
		var shown []string
		for _, g := range got {
			if strings.HasPrefix(g, prefix) {
				shown = append(shown, g)
			}
		}
		checkCompletions(t, "zsh", c.words, shown, c.want, c.not)
	}
	checkCompletions(t, "zsh", []string{"verify", "--seal_key_path", ""}, zshComplete(t, script, "verify", "--seal_key_path", ""), []string{"files"}, nil)
	checkCompletions(t, "zsh", []string{"--key_path", ""}, zshComplete(t, script, "--key_path", ""), []string{"files -/"}, nil)

	// In zsh's own completion system (compinit), on a terminal (zpty): a line and TAB
	// become the line completed. The script is installed as _envector-keygen in $fpath.
	fpath := t.TempDir()
	text, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fpath, "_envector-keygen"), text, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kek.hex"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	lines := [][2]string{
		{"ins", "inspect"},
		{"copy --to_key_s", "copy --to_key_store"},
		{"inspect --key_i", "inspect --key_id"},
		{"server unl", "server unload"},
		{"completion fi", "completion fish"},
		{"--preset=qf1 --eval_mode=sin", "--preset=qf1 --eval_mode=single"},
		{"--key-store a", "--key-store aws"},
		{"--dim 32 6", "--dim 32 64"},
		{"--key_path " + dir + "/k", "--key_path " + dir + "/keys"},
		{"verify --seal_key_path " + dir + "/kek", "verify --seal_key_path " + dir + "/kek.hex"},
	}
	const driver = `zmodload zsh/zpty || exit 1
fpath_dir=$1; shift
zpty z zsh -f -i
zpty -w z "PS1='> '; fpath=(${(q)fpath_dir} \$fpath); autoload -U compinit; compinit -u -D; envector-keygen() { print -r -- \"ARGS:[\$*]\" }; print RE''ADY"
zpty -r z out '*READY*' || exit 1
for line in "$@"; do
    zpty -w -n z "envector-keygen $line"$'\t\r'
    zpty -r z out '*ARGS:\[*\]*' || exit 1
    out=${out##*ARGS:\[}
    print -r -- "${out%%\]*}"
done
zpty -d z`
	args := []string{"-f", "-c", driver, "zsh", fpath}
	for _, l := range lines {
		args = append(args, l[0])
	}
	got := strings.Split(strings.TrimRight(runShell(t, "zsh", args...), "\n"), "\n")
	for i, l := range lines {
		if i >= len(got) || strings.TrimSpace(got[i]) != l[1] {
			t.Errorf("zsh: envector-keygen %s<TAB> gives %q, want %q (all: %q)", l[0], at(got, i), l[1], got)
		}
	}
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// fishComplete asks fish for the completions of a command line (complete -C).
func fishComplete(t *testing.T, script string, line string) []string {
	t.Helper()
	out := runShell(t, "fish", "--no-config", "-c", "source $argv[1]; and complete -C $argv[2]", script, line)
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if w, _, _ := strings.Cut(l, "\t"); w != "" {
			got = append(got, w)
		}
	}
	return got
}

func TestCompletionFish(t *testing.T) {
	script := completionScript(t, "fish")
	runShell(t, "fish", "--no-execute", script)
	for _, c := range completionCases {
		// fish completes one value per flag, and knows the flags in underscore form only.
		if c.words[0] == "--dim" && len(c.words) > 2 || c.words[0] == "--key-store" {
			continue
		}
		line := "envector-keygen " + strings.Join(c.words, " ")
		checkCompletions(t, "fish", c.words, fishComplete(t, script, line), c.want, c.not)
	}
}

// TestCompletionModel checks what the scripts assume of the command table: every
// command and flag is there, a flag takes no value in every command or in none, and the
// fixed values are the ones the CLI accepts.
func TestCompletionModel(t *testing.T) {
	m := newComplModel()
	if len(m.commands) != len(commands) {
		t.Fatalf("the model has %d commands, the table %d", len(m.commands), len(commands))
	}
	boolean := map[string]bool{}
	for _, c := range commands {
		for _, f := range c.flags {
			if b, ok := boolean[f.name]; ok && b != f.boolean {
				t.Errorf("--%s takes a value in some commands and none in others: the scripts' scan for the command word would misread it", f.name)
			}
			boolean[f.name] = f.boolean
		}
	}
	script := completionScript(t, "bash")
	text, _ := os.ReadFile(script)
	for _, c := range commands {
		if !strings.Contains(string(text), "'"+c.name+"') echo") {
			t.Errorf("the bash script has no flags for command %q", c.name)
		}
	}
	for _, v := range enumValues["preset"] {
		if _, err := core.ParsePreset(v); err != nil {
			t.Errorf("--preset %s is offered and refused: %v", v, err)
		}
	}
	for _, v := range enumValues["eval_mode"] {
		if _, err := core.ParseEvalMode(v); err != nil {
			t.Errorf("--eval_mode %s is offered and refused: %v", v, err)
		}
	}
	if _, err := core.ParseDimList(strings.Join(enumValues["dim"], ",")); err != nil {
		t.Errorf("the --dim values offered are refused: %v", err)
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		var out, errOut bytes.Buffer
		st := Main([]string{"completion", shell}, strings.NewReader(""), &out, &errOut)
		if want := map[bool]int{true: ExitOK, false: ExitUsage}[shell != "powershell"]; st != want {
			t.Errorf("completion %s: exit status %d, want %d (%s)", shell, st, want, errOut.String())
		}
		if shell == "powershell" && (!strings.Contains(errOut.String(), "completion bash") || out.Len() > 0) {
			t.Errorf("completion powershell: want a usage error naming the shells accepted; stdout %q, stderr %q", out.String(), errOut.String())
		}
	}
}
