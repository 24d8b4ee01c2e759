package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/envector-keys/envector-keys/core"
)

// flagSpec describes one flag. Every flag has a dash and an underscore form
// (--key-path and --key_path); multi flags take one or more values (--dim 32 64).
type flagSpec struct {
	name    string // underscore form
	boolean bool   // takes no value
	multi   bool   // takes one or more values
	help    string
}

type flagSet struct {
	cmd    string // the command's name, for messages
	prog   string // the program's name, for messages
	specs  []flagSpec
	values map[string][]string
	set    map[string]bool
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{sprintf(format, args...)} }

// errorf is a failure (exit status 1) with the message sprintf makes.
func errorf(format string, args ...any) error { return errors.New(sprintf(format, args...)) }

// sprintf is fmt.Sprintf with string arguments cut as core.Errorf cuts them (one quoted
// with %q shows at most its first 40 bytes, one shown with %s its first 4096): flag
// values, paths and key ids can be of any length, and a message never repeats one whole.
func sprintf(format string, args ...any) string {
	return core.Errorf(core.ErrInvalidArgument, "", format, args...).(*core.Error).Msg
}

// newFlagSet makes the flag set of a command; a flag listed twice (a command that
// takes both the AWS store's and a server's --timeout) keeps its first spec.
func newFlagSet(specs []flagSpec) *flagSet {
	seen := map[string]bool{}
	var uniq []flagSpec
	for _, s := range specs {
		if !seen[s.name] {
			seen[s.name] = true
			uniq = append(uniq, s)
		}
	}
	return &flagSet{prog: defaultProg, specs: uniq, values: map[string][]string{}, set: map[string]bool{}}
}

// flagName is a flag's name in the underscore form, "help" for -h.
func flagName(arg string) string {
	n := strings.ReplaceAll(arg, "-", "_")
	if n == "h" {
		return "help"
	}
	return n
}

func (fs *flagSet) lookup(name string) (flagSpec, bool) {
	n := flagName(name)
	for _, s := range fs.specs {
		if s.name == n {
			return s, true
		}
	}
	return flagSpec{}, false
}

// isFlag reports whether a command-line argument is a flag (not "-", which names
// standard input, and not a negative number).
func isFlag(a string) bool {
	return strings.HasPrefix(a, "-") && a != "-" && (len(a) < 2 || a[1] < '0' || a[1] > '9')
}

// parse reads args: --flag value, --flag=value, -flag value, -h; a multi flag takes
// every following argument up to the next flag. Positional arguments are refused.
func (fs *flagSet) parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !isFlag(a) {
			if a == "help" {
				return usagef("unexpected argument \"help\": for the flags of %s, run '%s help %s' or '%s %s --help'", fs.cmd, fs.prog, fs.cmd, fs.prog, fs.cmd)
			}
			return usagef("unexpected argument %q (every option is a --flag; the command, if any, is the one word that is not)", a)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		spec, ok := fs.lookup(name)
		if !ok {
			return fs.unknownFlag(a[:len(a)-len(name)-len(val)-boolInt(hasVal)]+name, name) // never the value
		}
		if fs.set[spec.name] && !spec.multi {
			return usagef("--%s given twice", spec.name)
		}
		fs.set[spec.name] = true
		switch {
		case spec.boolean:
			if hasVal {
				return usagef("--%s takes no value", spec.name)
			}
		case hasVal:
			fs.values[spec.name] = append(fs.values[spec.name], val)
		case spec.multi:
			n := 0
			for i+1 < len(args) && !isFlag(args[i+1]) {
				i++
				n++
				fs.values[spec.name] = append(fs.values[spec.name], args[i])
			}
			if n == 0 {
				return usagef("--%s needs at least one value", spec.name)
			}
		default:
			if i+1 >= len(args) {
				if spec.name == "version" {
					return usagef("--version needs a value here: the version of the key set (1, 2, ...); the tool's version is what '%s --version' prints, given alone", fs.prog)
				}
				return usagef("--%s needs a value", spec.name)
			}
			i++
			fs.values[spec.name] = append(fs.values[spec.name], args[i])
		}
	}
	return nil
}

// unknownFlag is the error for flag arg (name without dashes) that fs does not take: it
// names the commands that take it, or the closest flags.
func (fs *flagSet) unknownFlag(arg, name string) error {
	n := flagName(strings.ToLower(name))
	if len(n) > maxSuggest {
		return usagef("unknown flag %s", arg)
	}
	var own []string
	for _, s := range fs.specs {
		own = append(own, s.name)
	}
	if contains(own, n) {
		return usagef("unknown flag %s; did you mean --%s? (flags are lower case)", arg, n)
	}
	// The flag of other commands.
	var others []string
	for _, c := range commands {
		for _, s := range c.flags {
			if s.name == n && c.name != fs.cmd {
				others = append(others, c.name)
				break
			}
		}
	}
	if len(others) > 0 {
		if n == "version" {
			return usagef("%s is not a flag of %s: '%s --version', given alone, prints the tool's version; --version N (a key set's version) applies to %s", arg, fs.cmd, fs.prog, listShort(others, 6))
		}
		return usagef("%s is not a flag of %s: it applies to %s", arg, fs.cmd, listShort(others, 6))
	}
	if near := closest(n, own); len(near) > 0 {
		return usagef("unknown flag %s for %s; did you mean %s?", arg, fs.cmd, orList(dashed(near)))
	}
	// Close to a flag of another command.
	for _, c := range commands {
		var names []string
		for _, s := range c.flags {
			names = append(names, s.name)
		}
		if near := closest(n, names); len(near) == 1 && c.name != fs.cmd {
			var with []string
			for _, c2 := range commands {
				for _, s := range c2.flags {
					if s.name == near[0] {
						with = append(with, c2.name)
						break
					}
				}
			}
			if near[0] == "version" {
				return usagef("unknown flag %s; did you mean --version? '%s --version', given alone, prints the tool's version; --version N (a key set's version) applies to %s", arg, fs.prog, listShort(with, 6))
			}
			return usagef("unknown flag %s; did you mean --%s? (a flag of %s, not of %s)", arg, near[0], listShort(with, 6), fs.cmd)
		}
	}
	return usagef("unknown flag %s for %s", arg, fs.cmd)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// maxSuggest bounds the length of a word for which a suggestion is looked for.
const maxSuggest = 64

// closest returns the candidates nearest to word (already normalized): within an edit
// distance that grows with the word's length, or (when none is) those it starts at
// least 3 characters of, if there are at most 3.
func closest(word string, candidates []string) []string {
	limit := 1
	switch {
	case len(word) > 8:
		limit = 3
	case len(word) > 4:
		limit = 2
	}
	best, bestD := []string(nil), limit+1
	for _, c := range candidates {
		d := editDistance(word, c)
		switch {
		case d > limit:
		case d < bestD:
			best, bestD = []string{c}, d
		case d == bestD && !contains(best, c):
			best = append(best, c)
		}
	}
	if best != nil {
		return best
	}
	if len(word) >= 3 {
		var pre []string
		for _, c := range candidates {
			if strings.HasPrefix(c, word) && !contains(pre, c) {
				pre = append(pre, c)
			}
		}
		if len(pre) <= 3 {
			return pre
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// editDistance is the optimal string alignment distance of a and b: insertions,
// deletions, substitutions and transpositions of adjacent bytes each count 1.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func dashed(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "--" + n
	}
	return out
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// listShort joins at most n words, then says how many more there are.
func listShort(words []string, n int) string {
	if len(words) <= n {
		return strings.Join(words, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(words[:n], ", "), len(words)-n)
}

func (fs *flagSet) str(name, def string) string {
	if v := fs.values[name]; len(v) > 0 {
		return v[0]
	}
	return def
}

func (fs *flagSet) has(name string) bool { return fs.set[name] }

func (fs *flagSet) list(name string) []string { return fs.values[name] }

// takes reports whether the command takes flag name.
func (fs *flagSet) takes(name string) bool {
	_, ok := fs.lookup(name)
	return ok
}

// usage writes the flag table.
func (fs *flagSet) usage() string {
	specs := append([]flagSpec(nil), fs.specs...)
	sort.Slice(specs, func(i, j int) bool { return specs[i].name < specs[j].name })
	var b strings.Builder
	for _, s := range specs {
		arg := " VALUE"
		switch {
		case s.boolean:
			arg = ""
		case s.multi:
			arg = " VALUE..."
		}
		name := "--" + s.name
		if s.name == "help" {
			name = "-h, --help"
		}
		fmt.Fprintf(&b, "  %s%s\n      %s\n", name, arg, s.help)
	}
	return b.String()
}
