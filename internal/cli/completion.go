package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/envector-keys/envector-keys/core"
)

// The completion command: a shell completion script made from the command table, so
// it knows every command (two-word ones such as "server list" too), each command's
// flags in underscore form, the values of the flags that take a fixed set, and which
// flags take a file or a directory. The scripts find the command word as the CLI does:
// the first word that is neither a flag nor a flag's value.

var completionFlags = []flagSpec{{name: "help", boolean: true, help: "show this help"}}

var completionCommands = []command{
	{name: "completion bash", summary: "print a bash completion script; install: source <(envector-keygen completion bash) in ~/.bashrc", flags: completionFlags, run: runCompletion(writeBashCompletion)},
	{name: "completion zsh", summary: "print a zsh completion script; install: source <(envector-keygen completion zsh) in ~/.zshrc, after compinit", flags: completionFlags, run: runCompletion(writeZshCompletion)},
	{name: "completion fish", summary: "print a fish completion script; install: envector-keygen completion fish > ~/.config/fish/completions/envector-keygen.fish", flags: completionFlags, run: runCompletion(writeFishCompletion)},
}

func init() { commands = append(commands, completionCommands...) }

// completionProg is the command the scripts complete.
const completionProg = "envector-keygen"

func runCompletion(write func(io.Writer, *complModel)) func(*env, *flagSet) error {
	return func(e *env, fs *flagSet) error {
		write(e.stdout, newComplModel())
		return nil
	}
}

// Value kinds of flags, as the scripts complete them.
const (
	kindNone = ""     // a boolean flag: takes no value
	kindAny  = "any"  // a value to type: nothing to complete
	kindFile = "file" // a file name
	kindDir  = "dir"  // a directory name
	kindEnum = "enum" // one of values
)

// enumValues are the values of the flags that take a fixed set (any command).
var enumValues = map[string][]string{
	"preset":              {"ip0", "ip1", "ip2", "ip3", "qf0", "qf1"},
	"eval_mode":           {"mm32", "mm", "mms", "mms32", "rmp", "flat", "single"},
	"key_store":           {"local", "aws"},
	"to_key_store":        {"local", "aws"},
	"seal_mode":           {"none", "aes"},
	"metadata_encryption": {"true", "false"},
	"auto_key_setup":      {"true", "false"},
	"dim":                 dimValues(),
}

func dimValues() []string {
	var out []string
	for _, d := range core.DefaultDims() {
		out = append(out, strconv.Itoa(d))
	}
	return out
}

// complFlag is one flag of one command, as the scripts complete it.
type complFlag struct {
	name   string // underscore form, no dashes
	help   string // a short description
	kind   string
	values []string // kindEnum
	multi  bool     // takes several values (--dim 32 64)
}

// spec is what the scripts need to know of the flag's value.
func (f complFlag) spec() string {
	if f.kind == kindEnum {
		return kindEnum + ":" + strings.Join(f.values, " ")
	}
	return f.kind
}

type complCommand struct {
	name, summary string
	flags         []complFlag
}

// complModel is the command table as the scripts see it.
type complModel struct {
	commands []complCommand
	firsts   []string            // the first words of the commands, in table order
	groups   map[string][]string // first word of two-word commands -> the second words
	summary  map[string]string   // first word -> summary (of the command, or of its group)
	bools    []string            // the flags that take no value (in every command)
	multis   []string            // the flags that take several values
}

func newComplModel() *complModel {
	m := &complModel{groups: map[string][]string{}, summary: map[string]string{}}
	bools, multis := map[string]bool{}, map[string]bool{}
	for _, c := range commands {
		cc := complCommand{name: c.name, summary: shortHelp(c.summary)}
		seen := map[string]bool{}
		for _, f := range c.flags {
			if seen[f.name] {
				continue
			}
			seen[f.name] = true
			kind, values := flagValueKind(c.name, f)
			cc.flags = append(cc.flags, complFlag{name: f.name, help: shortHelp(f.help), kind: kind, values: values, multi: f.multi})
			if f.boolean {
				bools[f.name] = true
			}
			if f.multi {
				multis[f.name] = true
			}
		}
		sort.Slice(cc.flags, func(i, j int) bool { return cc.flags[i].name < cc.flags[j].name })
		m.commands = append(m.commands, cc)
		first, second, two := strings.Cut(c.name, " ")
		if _, ok := m.summary[first]; !ok {
			m.firsts = append(m.firsts, first)
			m.summary[first] = cc.summary
		}
		if two {
			m.groups[first] = append(m.groups[first], second)
			m.summary[first] = fmt.Sprintf("%s commands: %s", first, strings.Join(m.groups[first], ", "))
		}
	}
	m.firsts = append(m.firsts, "help")
	m.summary["help"] = "show the help of a command: help COMMAND"
	m.bools, m.multis = sortedKeys(bools), sortedKeys(multis)
	return m
}

func sortedKeys(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// flagValueKind says how the value of flag f of command cmd completes.
func flagValueKind(cmd string, f flagSpec) (string, []string) {
	if f.boolean {
		return kindNone, nil
	}
	if v, ok := enumValues[f.name]; ok {
		return kindEnum, v
	}
	switch {
	case f.name == "to" && cmd == "state":
		return kindEnum, []string{core.StateActive, core.StateDeactivated, core.StateDestroyed}
	case f.name == "key_path" || f.name == "to_key_path" || (f.name == "out" && cmd == "export"):
		return kindDir, nil
	case f.name == "in" || f.name == "out" || strings.HasSuffix(f.name, "_path") || strings.HasSuffix(f.name, "_file"):
		return kindFile, nil
	}
	return kindAny, nil
}

// shortHelp is the first clause of a help text (up to a ';' outside parentheses), at
// most about 80 characters.
func shortHelp(s string) string {
	depth := 0
scan:
	for i, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ';' && depth == 0:
			s = s[:i]
			break scan
		}
	}
	if len(s) > 80 {
		cut := strings.LastIndex(s[:77], " ")
		if cut < 40 {
			cut = 77
		}
		s = s[:cut] + "..."
	}
	return s
}

// cmd returns the command of that name.
func (m *complModel) cmd(name string) complCommand {
	for _, c := range m.commands {
		if c.name == name {
			return c
		}
	}
	return complCommand{}
}

// specCases groups the (command, flag) pairs by the spec of the flag's value, for a
// shell case statement on "command/flag": a flag whose spec is the same in every
// command that has it is one pattern, "*/flag". Flags that take no value are left out.
func (m *complModel) specCases() (specs []string, patterns map[string][]string) {
	perFlag := map[string]map[string]bool{} // flag -> its specs
	for _, c := range m.commands {
		for _, f := range c.flags {
			if perFlag[f.name] == nil {
				perFlag[f.name] = map[string]bool{}
			}
			perFlag[f.name][f.spec()] = true
		}
	}
	patterns = map[string][]string{}
	done := map[string]bool{}
	for _, c := range m.commands {
		for _, f := range c.flags {
			s := f.spec()
			if s == kindNone {
				continue
			}
			p := c.name + "/" + f.name
			if len(perFlag[f.name]) == 1 {
				p = "*/" + f.name
			}
			if done[p] {
				continue
			}
			done[p] = true
			if _, ok := patterns[s]; !ok {
				specs = append(specs, s)
			}
			patterns[s] = append(patterns[s], p)
		}
	}
	return specs, patterns
}

// flagNames lists the flags of command c as --name.
func (c complCommand) flagNames() string {
	var out []string
	for _, f := range c.flags {
		out = append(out, "--"+f.name)
	}
	return strings.Join(out, " ")
}

// shQuote quotes s for bash and zsh: '...'.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fishQuote quotes s for fish: '...' with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// writeShellData writes the shell functions the bash and zsh scripts share (both
// shells read the same syntax for them): the flags of each command, the spec of each
// flag's value, and the lists the command-word scan needs.
func writeShellData(w io.Writer, m *complModel) {
	fmt.Fprintf(w, "# The flags of each command.\n_envector_keygen_flags() {\n    case $1 in\n")
	for _, c := range m.commands {
		fmt.Fprintf(w, "    %s) echo %s ;;\n", shQuote(c.name), shQuote(c.flagNames()))
	}
	fmt.Fprintf(w, "    esac\n}\n\n")
	fmt.Fprintf(w, "# How the value of flag $2 (no dashes) of command $1 completes: enum:VALUES, file,\n# dir or any; nothing for a flag that takes no value.\n_envector_keygen_kind() {\n    case \"$1/$2\" in\n")
	specs, patterns := m.specCases()
	for _, s := range specs {
		var quoted []string
		for _, p := range patterns[s] {
			if strings.HasPrefix(p, "*/") {
				quoted = append(quoted, "*/"+shQuote(p[2:]))
			} else {
				quoted = append(quoted, shQuote(p))
			}
		}
		fmt.Fprintf(w, "    %s) echo %s ;;\n", strings.Join(quoted, "|"), shQuote(s))
	}
	fmt.Fprintf(w, "    esac\n}\n\n")
	var groups []string
	for _, g := range m.firsts {
		if subs := m.groups[g]; len(subs) > 0 {
			groups = append(groups, g)
		}
	}
	fmt.Fprintf(w, "_envector_keygen_firsts=%s\n", shQuote(" "+strings.Join(m.firsts, " ")+" "))
	fmt.Fprintf(w, "_envector_keygen_groups=%s\n", shQuote(" "+strings.Join(groups, " ")+" "))
	fmt.Fprintf(w, "_envector_keygen_bools=%s\n", shQuote(" "+strings.Join(m.bools, " ")+" "))
	fmt.Fprintf(w, "_envector_keygen_multis=%s\n\n", shQuote(" "+strings.Join(m.multis, " ")+" "))
	fmt.Fprintf(w, "# The second words of the two-word commands of group $1.\n_envector_keygen_subs() {\n    case $1 in\n")
	for _, g := range groups {
		fmt.Fprintf(w, "    %s) echo %s ;;\n", shQuote(g), shQuote(strings.Join(m.groups[g], " ")))
	}
	fmt.Fprintf(w, "    esac\n}\n\n")
}

// shellScan is the part of the bash and zsh functions that finds the command: it scans
// the words before the cursor, words[first..cursor-1] (bash: COMP_WORDS from 1; zsh:
// words from 2), skipping flags and their values, and sets cmd to the command ("" for
// none yet, "group:G" when only the first word of a two-word command is typed, "help:"
// after help, "help:done" after help COMMAND), and multi to the multi-value flag whose
// values are being typed, if any. bash splits --flag=value into three words at '=', zsh
// does not.
const shellScan = `    local w f i=$first cmd= multi=
    local -a cw
    while (( i < cursor )); do
        w=${words[i]}
        if [[ $w == - || $w == -[0-9]* ]]; then
            cw+=("$w")
        elif [[ $w == -*=* ]]; then
            :
        elif [[ $w == -* ]]; then
            f=${w#-}; f=${f#-}; f=${f//-/_}
            if [[ ${words[i+1]} == = ]]; then
                (( i += 2 ))
            elif [[ $_envector_keygen_bools == *" $f "* ]]; then
                :
            elif [[ $_envector_keygen_multis == *" $f "* ]]; then
                while (( i + 1 < cursor )) && [[ ${words[i+1]} != -* && $_envector_keygen_firsts != *" ${words[i+1]} "* ]]; do
                    (( i++ ))
                done
            else
                (( i++ ))
            fi
        else
            cw+=("$w")
        fi
        (( i++ ))
    done
    local n=${#cw[@]} w1=${cw[@]:0:1} w2=${cw[@]:1:1}
    if (( n > 0 )); then
        if [[ $w1 == help ]]; then
            cmd=help:
            (( n > 1 )) && cmd=help:done
        elif [[ $_envector_keygen_groups == *" $w1 "* ]]; then
            if (( n == 1 )); then cmd=group:$w1; else cmd="$w1 $w2"; fi
        else
            cmd=$w1
        fi
    fi
    # The multi-value flag (--dim 32 64) whose values are being typed, if any.
    i=$((cursor - 1))
    while (( i > first )) && [[ ${words[i]} == [0-9]* ]]; do (( i-- )); done
    if (( i < cursor - 1 )) && [[ ${words[i]} == -* && ( -z $cur || $cur == [0-9]* ) ]]; then
        f=${words[i]#-}; f=${f#-}; f=${f//-/_}
        [[ $_envector_keygen_multis == *" $f "* ]] && multi=$f
    fi
`

func writeBashCompletion(w io.Writer, m *complModel) {
	fmt.Fprintf(w, `# bash completion for %[1]s, generated by '%[1]s completion bash' from its
# command table. Install: add  source <(%[1]s completion bash)  to ~/.bashrc, or save
# the output as ~/.local/share/bash-completion/completions/%[1]s.

`, completionProg)
	writeShellData(w, m)
	fmt.Fprintf(w, `# _envector_keygen_reply ARGS...: COMPREPLY from compgen ARGS, one word per line.
_envector_keygen_reply() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        COMPREPLY+=("$line")
    done < <(compgen "$@")
}

_envector_keygen() {
    local -a words=("${COMP_WORDS[@]}")
    local first=1 cursor=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev= flag= kind
    COMPREPLY=()
%[2]s
    # The value of a flag: after --flag, --flag= (bash makes '=' a word), or --dim 32.
    (( cursor > 0 )) && prev=${words[cursor-1]}
    if [[ $cur == = ]]; then
        flag=$prev; cur=
    elif [[ $prev == = ]] && (( cursor > 1 )); then
        flag=${words[cursor-2]}
    elif [[ $prev == -* && $prev != -[0-9]* && $prev != *=* ]]; then
        flag=$prev
    elif [[ -n $multi ]]; then
        flag=$multi
    fi
    if [[ -n $flag && $cmd != group:* && $cmd != help:* ]]; then
        flag=${flag#-}; flag=${flag#-}; flag=${flag//-/_}
        kind=$(_envector_keygen_kind "${cmd:-generate}" "$flag")
        case $kind in
        enum:*) _envector_keygen_reply -W "${kind#enum:}" -- "$cur"; return 0 ;;
        file) compopt -o filenames 2>/dev/null; _envector_keygen_reply -f -- "$cur"; return 0 ;;
        dir) compopt -o filenames 2>/dev/null; _envector_keygen_reply -d -- "$cur"; return 0 ;;
        any) return 0 ;;
        esac
    fi
    if [[ $cur == -* ]]; then
        case $cmd in
        group:*|help:*) ;;
        '') _envector_keygen_reply -W "$(_envector_keygen_flags generate) --version" -- "$cur" ;;
        *) _envector_keygen_reply -W "$(_envector_keygen_flags "$cmd")" -- "$cur" ;;
        esac
        return 0
    fi
    case $cmd in
    ''|help:) _envector_keygen_reply -W "$_envector_keygen_firsts" -- "$cur" ;;
    group:*) _envector_keygen_reply -W "$(_envector_keygen_subs "${cmd#group:}")" -- "$cur" ;;
    esac
    return 0
}

complete -F _envector_keygen %[1]s
`, completionProg, shellScan)
}

func writeZshCompletion(w io.Writer, m *complModel) {
	fmt.Fprintf(w, `#compdef %[1]s
# zsh completion for %[1]s, generated by '%[1]s completion zsh' from its
# command table. Install: add  source <(%[1]s completion zsh)  to ~/.zshrc after
# compinit, or save the output as _%[1]s in a directory of $fpath.

`, completionProg)
	writeShellData(w, m)
	fmt.Fprintf(w, "# The flags of command $1 with their descriptions, into the array _envector_keygen_described.\n_envector_keygen_describe_flags() {\n    case $1 in\n")
	for _, c := range m.commands {
		var items []string
		for _, f := range c.flags {
			items = append(items, shQuote("--"+f.name+":"+f.help))
		}
		fmt.Fprintf(w, "    %s) _envector_keygen_described=(%s) ;;\n", shQuote(c.name), strings.Join(items, " "))
	}
	fmt.Fprintf(w, "    esac\n}\n\n")
	var top []string
	for _, f := range m.firsts {
		top = append(top, shQuote(f+":"+m.summary[f]))
	}
	fmt.Fprintf(w, "_envector_keygen_top=(%s)\n\n", strings.Join(top, " "))
	fmt.Fprintf(w, `_envector_keygen() {
    local first=2 cursor=$CURRENT cur=${words[CURRENT]} prev=${words[CURRENT-1]} flag= kind
    local -a _envector_keygen_described subs
%[1]s
    # The value of a flag: after --flag, in --flag=, or --dim 32.
    if [[ $cur == -*=* ]]; then
        flag=${cur%%%%=*}
        compset -P '*='
        cur=${cur#*=}
    elif [[ $prev == -* && $prev != -[0-9]* && $prev != *=* ]]; then
        flag=$prev
    elif [[ -n $multi ]]; then
        flag=$multi
    fi
    if [[ -n $flag && $cmd != group:* && $cmd != help:* ]]; then
        flag=${flag#-}; flag=${flag#-}; flag=${flag//-/_}
        kind=$(_envector_keygen_kind "${cmd:-generate}" "$flag")
        case $kind in
        enum:*) compadd -- ${=kind#enum:}; return ;;
        file) _files; return ;;
        dir) _files -/; return ;;
        any) _message "the value of --$flag"; return ;;
        esac
    fi
    if [[ $cur == -* ]]; then
        case $cmd in
        group:*|help:*) return 1 ;;
        '') _envector_keygen_describe_flags generate
            _envector_keygen_described+=('--version:print the version of the tool') ;;
        *) _envector_keygen_describe_flags "$cmd" ;;
        esac
        _describe -t options 'flag' _envector_keygen_described
        return
    fi
    case $cmd in
    ''|help:) _describe -t commands 'command' _envector_keygen_top ;;
    group:*) subs=(${=$(_envector_keygen_subs "${cmd#group:}")}); compadd -- "${subs[@]}" ;;
    *) return 1 ;;
    esac
}

if [[ $funcstack[1] == _%[2]s ]]; then
    _envector_keygen "$@"
else
    compdef _envector_keygen %[2]s
fi
`, shellScan, completionProg)
}

func writeFishCompletion(w io.Writer, m *complModel) {
	fmt.Fprintf(w, `# fish completion for %[1]s, generated by '%[1]s completion fish' from its
# command table. Install: %[1]s completion fish > ~/.config/fish/completions/%[1]s.fish

# The command being typed: the first word that is not a flag or a flag's value (two
# words for a two-word command); "-" when there is none yet, the first word alone when
# only it is typed of a two-word command, "help:" after help.
function __envector_keygen_cmd
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l words
    set -l skip 0
    set -l multi 0
    for t in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test $multi -eq 1
            if not string match -q -- '-*' $t; and not contains -- $t %[2]s
                continue
            end
            set multi 0
        end
        if test "$t" = -; or string match -qr -- '^-[0-9]' $t
            set -a words $t
        else if string match -q -- '-*=*' $t
            continue
        else if string match -q -- '-*' $t
            set -l f (string replace -r -- '^--?' '' $t | string replace -a -- - _)
            if contains -- $f %[3]s
                continue
            else if contains -- $f %[4]s
                set multi 1
            else
                set skip 1
            end
        else
            set -a words $t
        end
    end
    if not set -q words[1]
        echo -
    else if test "$words[1]" = help
        if set -q words[2]
            echo help:done
        else
            echo help:
        end
    else if contains -- $words[1] %[5]s
        if set -q words[2]
            echo "$words[1] $words[2]"
        else
            echo $words[1]
        end
    else
        echo $words[1]
    end
end

# True when the command being typed is one of the arguments.
function __envector_keygen_is
    contains -- (__envector_keygen_cmd) $argv
end

complete -c %[1]s -f
complete -c %[1]s -n '__envector_keygen_is -' -l version -d 'print the version of the tool'
`, completionProg, strings.Join(m.firsts, " "), strings.Join(m.bools, " "), strings.Join(m.multis, " "), strings.Join(groupNames(m), " "))
	for _, f := range m.firsts {
		fmt.Fprintf(w, "complete -c %s -n '__envector_keygen_is - help:' -a %s -d %s\n", completionProg, fishQuote(f), fishQuote(m.summary[f]))
	}
	for _, g := range groupNames(m) {
		for _, s := range m.groups[g] {
			c := m.cmd(g + " " + s)
			fmt.Fprintf(w, "complete -c %s -n %s -a %s -d %s\n", completionProg, fishQuote("__envector_keygen_is "+g), fishQuote(s), fishQuote(c.summary))
		}
	}
	// One line per flag and what it completes to, naming every command that has it so.
	var order []string
	cmdsOf := map[string][]string{}
	flagOf := map[string]complFlag{}
	for _, c := range m.commands {
		names := []string{c.name}
		if c.name == commands[0].name {
			names = append(names, "-") // flags before any command word are generate's
		}
		for _, f := range c.flags {
			key := f.name + "\x00" + f.spec() + "\x00" + f.help
			if _, ok := flagOf[key]; !ok {
				order = append(order, key)
				flagOf[key] = f
			}
			cmdsOf[key] = append(cmdsOf[key], names...)
		}
	}
	for _, key := range order {
		f := flagOf[key]
		var cond []string
		for _, c := range cmdsOf[key] {
			cond = append(cond, shQuote(c))
		}
		var arg string
		switch f.kind {
		case kindEnum:
			arg = " -x -a " + fishQuote(strings.Join(f.values, " "))
		case kindFile:
			arg = " -r -F"
		case kindDir:
			arg = " -x -a '(__fish_complete_directories)'"
		case kindAny:
			arg = " -x"
		}
		fmt.Fprintf(w, "complete -c %s -n %s -l %s%s -d %s\n", completionProg, fishQuote("__envector_keygen_is "+strings.Join(cond, " ")), f.name, arg, fishQuote(f.help))
	}
}

func groupNames(m *complModel) []string {
	var out []string
	for _, g := range m.firsts {
		if len(m.groups[g]) > 0 {
			out = append(out, g)
		}
	}
	return out
}
