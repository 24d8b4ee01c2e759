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

func newFlagSet(specs []flagSpec) *flagSet {
	return &flagSet{specs: specs, values: map[string][]string{}, set: map[string]bool{}}
}

func (fs *flagSet) lookup(name string) (flagSpec, bool) {
	n := strings.ReplaceAll(name, "-", "_")
	for _, s := range fs.specs {
		if s.name == n {
			return s, true
		}
	}
	return flagSpec{}, false
}

// parse reads args: --flag value, --flag=value, -flag value; a multi flag takes every
// following argument up to the next flag. Positional arguments are refused.
func (fs *flagSet) parse(args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return usagef("unexpected argument %q (every option is a --flag)", a)
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		spec, ok := fs.lookup(name)
		if !ok {
			return usagef("unknown flag %s; see --help", a)
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
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				n++
				fs.values[spec.name] = append(fs.values[spec.name], args[i])
			}
			if n == 0 {
				return usagef("--%s needs at least one value", spec.name)
			}
		default:
			if i+1 >= len(args) {
				return usagef("--%s needs a value", spec.name)
			}
			i++
			fs.values[spec.name] = append(fs.values[spec.name], args[i])
		}
	}
	return nil
}

func (fs *flagSet) str(name, def string) string {
	if v := fs.values[name]; len(v) > 0 {
		return v[0]
	}
	return def
}

func (fs *flagSet) has(name string) bool { return fs.set[name] }

func (fs *flagSet) list(name string) []string { return fs.values[name] }

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
		fmt.Fprintf(&b, "  --%s%s\n      %s\n", s.name, arg, s.help)
	}
	return b.String()
}
