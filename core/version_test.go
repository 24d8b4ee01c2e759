package core

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The constant is the VERSION file (scripts/check-version checks every other place).
func TestVersionIsTheVersionFile(t *testing.T) {
	b, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(string(b), "\n")
	if !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(want) {
		t.Fatalf("VERSION holds %q; want MAJOR.MINOR.PATCH and one newline", b)
	}
	if Version != want {
		t.Fatalf("core.Version is %q but VERSION says %q: run scripts/set-version %s", Version, want, want)
	}
}
