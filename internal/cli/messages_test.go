package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/envector-keys/envector-keys/core"
)

// TestMessagesNeverRepeatLongValues gives every flag (and a command, an argument, a
// flag name) a value of 1 MB: whatever fails, the message is about 1 KB at most.
func TestMessagesNeverRepeatLongValues(t *testing.T) {
	long := strings.Repeat("k", 1<<20)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	small := []string{"--preset", "ip0", "--eval_mode", "single", "--dim", "32", "--quiet"}
	meta := filepath.Join(dir, "meta") // a key set with a MetadataKey, for --out
	if st := Main(append([]string{"--key_path", meta, "--key_id", "m"}, small...), strings.NewReader(""), &bytes.Buffer{}, os.Stderr); st != ExitOK {
		t.Fatalf("generate: exit status %d", st)
	}
	cases := map[string][]string{
		"command":                {long},
		"argument":               {"--key_path", dir, long},
		"flag":                   {"--" + long},
		"flag=value":             {"--key_id=" + long},
		"key_id":                 {"--key_path", dir, "--key_id", long},
		"key_id, aws":            {"--key_store", "aws", "--region_name", "us-east-1", "--key_id", long},
		"key_path base name":     {"verify", "--key_path", filepath.Join(dir, long)},
		"key_path":               append([]string{"--key_path", filepath.Join(dir, long), "--key_id", "k"}, small...),
		"key_store":              {"--key_store", long},
		"region_name":            {"--key_store", "aws", "--region_name", long, "--key_id", "k"},
		"bucket_name":            {"--key_store", "aws", "--region_name", "us-east-1", "--bucket_name", long, "--key_id", "k"},
		"secret_prefix":          {"--key_store", "aws", "--region_name", "us-east-1", "--secret_prefix", long, "--key_id", "k"},
		"preset":                 {"--key_path", dir, "--key_id", "k", "--preset", long},
		"eval_mode":              {"--key_path", dir, "--key_id", "k", "--preset", "ip0", "--eval_mode", long},
		"dim":                    {"--key_path", dir, "--key_id", "k", "--preset", "ip0", "--dim", long},
		"seal_mode":              {"--key_path", dir, "--key_id", "k", "--seal_mode", long},
		"metadata_encryption":    {"--key_path", dir, "--key_id", "k", "--metadata_encryption", long},
		"seed":                   {"--key_path", dir, "--key_id", "k", "--seed", long},
		"seed_file":              {"--key_path", dir, "--key_id", "k", "--seed_file", filepath.Join(dir, long)},
		"seal_key_path":          append([]string{"--key_path", dir, "--key_id", "k", "--seal_mode", "aes", "--seal_key_path", filepath.Join(dir, long)}, small...),
		"encrypt-metadata --in":  {"encrypt-metadata", "--key_path", dir, "--key_id", "k", "--in", filepath.Join(dir, long)},
		"encrypt-metadata --out": {"encrypt-metadata", "--key_path", meta, "--key_id", "m", "--in", in, "--out", filepath.Join(dir, long)},
		"delete key_id":          {"delete", "--key_path", dir, "--key_id", long},
		"delete key_path":        {"delete", "--key_path", filepath.Join(dir, long), "--key_id", "k"},
		"help command":           {"help", long},
		"second word":            {"server", long},
		"flag before a word":     {"--" + long, "value"},
		"flag=value of inspect":  {"inspect", "--" + long + "=v"},
		"list key_path":          {"list", "--key_path", filepath.Join(dir, long)},
		"timeout":                {"list", "--key_store", "aws", "--region_name", "us-east-1", "--timeout", long},
	}
	for name, args := range cases {
		var stdout, stderr bytes.Buffer
		status := Main(args, strings.NewReader(""), &stdout, &stderr)
		msg := stderr.String()
		if status == ExitOK {
			t.Errorf("%s: exit status 0", name)
		}
		if len(msg) > core.MaxMessage+200 || strings.Contains(msg, long[:core.MaxMessage]) || !utf8.ValidString(msg) {
			t.Errorf("%s: a %d-byte message: %.300q", name, len(msg), msg)
		}
		if msg == "" {
			t.Errorf("%s: no message", name)
		}
	}
}
