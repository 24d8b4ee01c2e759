package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"envector-keygen": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the command-line scripts in testdata/script: each states the
// commands a user types and the output, exit status and files expected.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkbytes":    cmdMkbytes,
			"corrupt":    cmdCorrupt,
			"cmpkeydata": cmdCmpKeyData,
			"mode":       cmdMode,
		},
	})
}

// mkbytes N FILE writes N bytes that are not newlines (binary KEK files).
func cmdMkbytes(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mkbytes N FILE")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0x80 + i%100)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o600))
}

// corrupt flipbit|truncate FILE damages a key file: flipbit flips one bit of the
// decoded key_data (digests left as they were); truncate cuts the file in half.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: corrupt flipbit|truncate FILE")
	}
	path := ts.MkAbs(args[1])
	data, err := os.ReadFile(path)
	ts.Check(err)
	switch args[0] {
	case "truncate":
		data = data[:len(data)/2]
	case "flipbit":
		var doc map[string]any
		ts.Check(json.Unmarshal(data, &doc))
		entry := doc["entries"].([]any)[0].(map[string]any)
		kd, err := base64.StdEncoding.DecodeString(entry["key_data"].(string))
		ts.Check(err)
		kd[len(kd)/2] ^= 0x10
		old := []byte(entry["key_data"].(string))
		data = bytes.Replace(data, old, []byte(base64.StdEncoding.EncodeToString(kd)), 1)
	default:
		ts.Fatalf("unknown corruption %q", args[0])
	}
	ts.Check(os.WriteFile(path, data, 0o600))
}

// cmpkeydata DIR1 DIR2 compares the decoded key_data of every key file of two key sets.
func cmdCmpKeyData(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmpkeydata DIR1 DIR2")
	}
	same := true
	for _, f := range []string{"SecKey.json", "EncKey.json", "EvalKey.json", "MetadataKey.json"} {
		a, b := keyData(ts, filepath.Join(args[0], f)), keyData(ts, filepath.Join(args[1], f))
		if a != b {
			same = false
			ts.Logf("%s differs", f)
		}
	}
	if same == neg {
		ts.Fatalf("key data same = %v", same)
	}
}

func keyData(ts *testscript.TestScript, path string) string {
	data, err := os.ReadFile(ts.MkAbs(path))
	ts.Check(err)
	var doc struct {
		Entries []struct {
			KeyData string `json:"key_data"`
		} `json:"entries"`
	}
	ts.Check(json.Unmarshal(data, &doc))
	return doc.Entries[0].KeyData
}

// mode FILE PERM checks a file's permission bits, e.g. mode keys/a/SecKey.json 0600.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := fmt.Sprintf("%04o", fi.Mode().Perm())
	if (got == args[1]) == neg {
		ts.Fatalf("%s has mode %s, want %s%s", args[0], got, map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}
