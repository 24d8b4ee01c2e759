package readmetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// section is the README section whose Go code must compile.
const section = "Usage from Go"

// The Go code of the README's "Usage from Go" section compiles as written: its first
// block is a whole program, the later ones more functions of it.
func TestREADMEGoCompiles(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, blocks, err := goProgram(readme, section)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d Go blocks, %d lines", blocks, strings.Count(src, "\n"))
	if err := vetProgram(root, src); err != nil {
		t.Fatalf("the Go code of the README's %q section does not compile as written:\n%v\n--- the program:\n%s", section, err, numbered(src))
	}
}

// The check fails on code that does not compile (the README's old snippet had unused
// variables), and on a README whose section has no program.
func TestREADMECheckFailsOnBrokenCode(t *testing.T) {
	root := repoRoot(t)
	broken := "# x\n\n## Usage from Go\n\n```go\npackage main\n\nimport \"github.com/envector-keys/envector-keys/core\"\n\nfunc main() {\n\tks, err := core.Generate(core.GenerateOptions{KeyID: \"k\"})\n\t_ = ks\n}\n```\n\n## Next\n"
	src, _, err := goProgram([]byte(broken), section)
	if err != nil {
		t.Fatal(err)
	}
	err = vetProgram(root, src)
	if err == nil || !strings.Contains(err.Error(), "declared and not used: err") {
		t.Fatalf("vet of a program with an unused variable: %v", err)
	}
	for readme, want := range map[string]string{
		"# x\n\n## Other\n\n```go\npackage main\n```\n":                        `no section "## Usage from Go"`,
		"## Usage from Go\n\nno code\n\n## Next\n\n```go\npackage main\n```\n": `no Go code block`,
		"## Usage from Go\n\n```go\nctx := 1\n```\n":                           `must be a whole program`,
		"## Usage from Go\n\n```go\npackage main\n":                            `not closed`,
	} {
		if _, _, err := goProgram([]byte(readme), section); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", readme, err, want)
		}
	}
}

// goProgram returns the ```go blocks of the README section titled name (a "## "
// heading), joined into one file, and how many there were. The first must start with
// a package clause.
func goProgram(readme []byte, name string) (string, int, error) {
	var (
		in, inCode bool
		found      bool
		blocks     []string
		cur        []string
	)
	sc := bufio.NewScanner(bytes.NewReader(readme))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case inCode && strings.TrimSpace(line) == "```":
			blocks, cur, inCode = append(blocks, strings.Join(cur, "\n")+"\n"), nil, false
		case inCode:
			cur = append(cur, line)
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == name
			found = found || in
		case in && strings.TrimSpace(line) == "```go":
			inCode = true
		}
	}
	switch {
	case inCode:
		return "", 0, fmt.Errorf("a ```go block of section %q is not closed", name)
	case !found:
		return "", 0, fmt.Errorf("the README has no section \"## %s\"", name)
	case len(blocks) == 0:
		return "", 0, fmt.Errorf("section %q has no Go code block (```go)", name)
	case !strings.HasPrefix(strings.TrimSpace(blocks[0]), "package main"):
		return "", 0, fmt.Errorf("the first Go block of section %q must be a whole program, starting with \"package main\"; it starts %q", name, firstLine(blocks[0]))
	}
	return strings.Join(blocks, "\n"), len(blocks), nil
}

// vetProgram writes src as the main package of a directory inside the module (so it
// imports the checkout's packages, offline) and runs go vet on it, which type-checks it;
// the directory is removed afterwards.
func vetProgram(root, src string) error {
	dir, err := os.MkdirTemp(filepath.Join(root, "internal", "readmetest"), "tmp_readme_")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return err
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return err
	}
	cmd := exec.Command(goTool(), "vet", "./"+filepath.ToSlash(rel))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go vet: %v\n%s", err, out)
	}
	return nil
}

// goTool is the go command of the toolchain running the test.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// repoRoot is the directory of go.mod above the test's.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

func numbered(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, line)
	}
	return b.String()
}
