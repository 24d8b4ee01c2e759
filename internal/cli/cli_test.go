package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envector-keys/envector-keys/core/store"
	"github.com/envector-keys/envector-keys/internal/motoserver"
)

func TestMain(m *testing.M) {
	testscript.Main(stopMotoAfter{m}, map[string]func(){
		"envector-keygen": func() { os.Exit(MainProg(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		// The same command under another name, as a renamed console script runs it.
		"pyenvector-keygen": func() { os.Exit(MainProg(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// stopMotoAfter runs the tests, then stops moto if a script started it. (The
// envector-keygen command runs from the same binary and never gets here.)
type stopMotoAfter struct{ m *testing.M }

func (s stopMotoAfter) Run() int {
	defer motoserver.StopShared()
	return s.m.Run()
}

// TestScripts runs the command-line scripts in testdata/script: each states the
// commands a user types and the output, exit status and files expected.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setupAWS,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkbytes":    cmdMkbytes,
			"corrupt":    cmdCorrupt,
			"cmpkeydata": cmdCmpKeyData,
			"mode":       cmdMode,
			"awscheck":   cmdAWSCheck,
			"status":     cmdStatus,
			"keyserver":  cmdKeyserver, // server.txtar (server_test.go)
			"cmpraw":     cmdCmpRaw,
		},
	})
}

// status N CMD ARGS... runs CMD (as exec does, keeping its output for stdout and
// stderr) and requires exit status N.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N command args...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
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

// The aws*.txtar scripts run the command against moto (https://github.com/getmoto/moto)
// in server mode, a local imitation of S3 and Secrets Manager: the first such script
// starts moto_server on a free loopback port, and TestMain stops it. Without
// moto_server those scripts fail, saying how to install it.

var motoSerial sync.Mutex // one aws script at a time: each starts from an empty moto

// setupAWS gives every aws*.txtar script an empty moto, the default bucket
// (envector-key-storage) and a second one ($BUCKET), and the environment that points
// the AWS SDK at moto with dummy credentials.
func setupAWS(env *testscript.Env) error {
	named, ok := env.T().(interface{ Name() string })
	if !ok || !strings.HasPrefix(filepath.Base(named.Name()), "aws") {
		return nil
	}
	srv, err := motoserver.Shared()
	if err != nil {
		return fmt.Errorf("moto is needed for this script and is not running: %v", err)
	}
	motoSerial.Lock()
	env.Defer(motoSerial.Unlock)
	if err := srv.Reset(); err != nil {
		return err
	}
	for k, v := range srv.Env() {
		env.Setenv(k, v)
	}
	env.Setenv("BUCKET", "second-bucket")
	s3c, _, err := store.LoadAWSClients(context.Background(), "us-east-1")
	if err != nil {
		return err
	}
	for _, b := range []string{store.DefaultBucket, "second-bucket"} {
		if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return fmt.Errorf("creating bucket %s in moto: %v", b, err)
		}
	}
	return nil
}

// awscheck object BUCKET/KEY present|absent, or awscheck secret NAME live|scheduled|absent,
// looks at moto directly.
func cmdAWSCheck(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: awscheck object BUCKET/KEY present|absent, or awscheck secret NAME live|scheduled|absent")
	}
	ctx := context.Background()
	s3c, smc, err := store.LoadAWSClients(ctx, "us-east-1")
	ts.Check(err)
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}
	var got string
	switch args[0] {
	case "object":
		bucket, key, _ := strings.Cut(args[1], "/")
		_, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		switch {
		case err == nil:
			got = "present"
		case code(err) == "NotFound":
			got = "absent"
		default:
			ts.Fatalf("HeadObject %s: %v", args[1], err)
		}
	case "secret":
		d, err := smc.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(args[1])})
		switch {
		case code(err) == "ResourceNotFoundException":
			got = "absent"
		case err != nil:
			ts.Fatalf("DescribeSecret %s: %v", args[1], err)
		case d.DeletedDate != nil:
			got = "scheduled"
		default:
			got = "live"
		}
	default:
		ts.Fatalf("awscheck: unknown kind %q", args[0])
	}
	if got != args[2] {
		ts.Fatalf("%s %s is %s, want %s", args[0], args[1], got, args[2])
	}
}

// run runs the command line in the test process: its exit status, standard output and
// error. interactive, when not nil, stands in for "standard input is a terminal".
func run(t *testing.T, stdin string, interactive func() bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{ctx: context.Background(), prog: defaultProg, stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, interactive: interactive}
	return e.main(args), stdout.String(), stderr.String()
}

// fileKeyData returns the decoded key_data of a key file.
func fileKeyData(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Entries []struct {
			KeyData string `json:"key_data"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Entries) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	kd, err := base64.StdEncoding.DecodeString(doc.Entries[0].KeyData)
	if err != nil {
		t.Fatalf("%s: key_data: %v", path, err)
	}
	return kd
}

// decodeOne decodes the one JSON document stdout must hold (nothing before or after
// it but white space), refusing fields v does not have.
func decodeOne(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the JSON document: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON document: %q", stdout)
	}
}

// keySetOut is the --json document of generate and inspect, as a script reads it.
type keySetOut struct {
	KeyID    string `json:"key_id"`
	Location struct {
		Store string `json:"store"`
		Dir   string `json:"dir"`
	} `json:"location"`
	Preset             string `json:"preset"`
	EvalMode           string `json:"eval_mode"`
	DimList            []int  `json:"dim_list"`
	MetadataEncryption bool   `json:"metadata_encryption"`
	Sealed             bool   `json:"sealed"`
	CreatedAt          string `json:"created_at"`
	CreatedBy          struct {
		Entity string `json:"entity"`
		Method string `json:"method"`
		Type   string `json:"type"`
	} `json:"created_by"`
	ExpiresAt      string `json:"expires_at"`
	State          string `json:"state"`
	StateReason    string `json:"state_reason"`
	StateUpdatedAt string `json:"state_updated_at"`
	Compromised    bool   `json:"compromised"`
	KeyVersion     string `json:"key_version"`
	Version        int    `json:"version"`
	SetID          string `json:"set_id"`
	Envelope       string `json:"envelope"`
	KeyFormat      string `json:"key_format"`
	Keys           []struct {
		Role       string `json:"role"`
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		Size       int64  `json:"size"`
		Sealed     bool   `json:"sealed"`
		SealAlg    string `json:"seal_alg"`
		SHA256     string `json:"sha256"`
		State      string `json:"state"`
		KeyVersion string `json:"key_version"`
		Destroyed  bool   `json:"destroyed"`
	} `json:"keys"`
}

// checkKeySet compares a --json key set document with the key files it names.
func checkKeySet(t *testing.T, doc keySetOut, id, dir, state string, version int, sealed bool) {
	t.Helper()
	if doc.KeyID != id || doc.Location.Store != "local" || doc.Location.Dir != dir || doc.Preset != "ip0" || doc.EvalMode != "single" ||
		!reflect.DeepEqual(doc.DimList, []int{32, 64}) || !doc.MetadataEncryption || doc.Sealed != sealed || doc.State != state ||
		doc.Version != version || doc.KeyFormat != "evi" || doc.Envelope != "envector-keys" || len(doc.SetID) != 32 || doc.CreatedBy.Method != "cli" {
		t.Errorf("key set document: %+v", doc)
	}
	created, err1 := time.Parse(time.RFC3339, doc.CreatedAt)
	expires, err2 := time.Parse(time.RFC3339, doc.ExpiresAt)
	if err1 != nil || err2 != nil || expires.Sub(created) != 5*365*24*time.Hour {
		t.Errorf("created_at %q, expires_at %q: not 5 years apart", doc.CreatedAt, doc.ExpiresAt)
	}
	roles := []string{"SecKey", "EncKey", "EvalKey", "MetadataKey"}
	if len(doc.Keys) != len(roles) {
		t.Fatalf("%d keys, want 4: %+v", len(doc.Keys), doc.Keys)
	}
	for i, k := range doc.Keys {
		secret := k.Role == "SecKey" || k.Role == "MetadataKey"
		if k.Role != roles[i] || k.Kind != "file" || k.Name != filepath.Join(dir, roles[i]+".json") || k.State != state || k.Destroyed {
			t.Errorf("key %d: %+v", i, k)
		}
		if k.Sealed != (sealed && secret) || (k.SealAlg != "") != k.Sealed {
			t.Errorf("%s: sealed %v (%q), want %v", k.Role, k.Sealed, k.SealAlg, sealed && secret)
		}
		kd := fileKeyData(t, k.Name)
		sum := sha256.Sum256(kd)
		if k.Size != int64(len(kd)) || k.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: size %d sha256 %s; the file holds %d bytes, sha256 %x", k.Role, k.Size, k.SHA256, len(kd), sum)
		}
	}
}

// TestJSON runs generate, inspect, verify and list with --json and reads the one JSON
// document each prints, comparing it with the key set on disk. No secret is in it.
func TestJSON(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	kek := filepath.Join(dir, "kek.hex")
	kekHex := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	if err := os.WriteFile(kek, []byte(kekHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong.hex")
	if err := os.WriteFile(wrong, []byte("ff"+kekHex[2:]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	small := []string{"--preset", "ip0", "--eval_mode", "single", "--dim", "32", "64"}

	st, out, errOut := run(t, "", nil, append([]string{"--key_path", keys, "--key_id", "s", "--seal_mode", "aes", "--seal_key_path", kek, "--json"}, small...)...)
	if st != ExitOK {
		t.Fatalf("generate --json: exit %d: %s", st, errOut)
	}
	var gen keySetOut
	decodeOne(t, out, &gen)
	checkKeySet(t, gen, "s", filepath.Join(keys, "s"), "active", 1, true)
	sec := base64.StdEncoding.EncodeToString(fileKeyData(t, filepath.Join(keys, "s", "SecKey.json")))
	for _, secret := range []string{kekHex, sec[:40]} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("generate --json shows a secret")
		}
	}

	st, out, errOut = run(t, "", nil, "inspect", "--key_path", keys, "--key_id", "s", "--json")
	if st != ExitOK {
		t.Fatalf("inspect --json: exit %d: %s", st, errOut)
	}
	var ins keySetOut
	decodeOne(t, out, &ins)
	if !reflect.DeepEqual(ins, gen) {
		t.Errorf("inspect --json differs from generate --json:\n%+v\n%+v", ins, gen)
	}

	st, out, errOut = run(t, "", nil, "verify", "--key_path", keys, "--key_id", "s", "--seal_key_path", kek, "--json")
	if st != ExitOK {
		t.Fatalf("verify --json: exit %d: %s", st, errOut)
	}
	var ver struct {
		keySetOut
		Verified        bool `json:"verified"`
		UnsealedWithKEK bool `json:"unsealed_with_kek"`
		Checks          []struct {
			Role  string `json:"role"`
			Check string `json:"check"`
			OK    bool   `json:"ok"`
		} `json:"checks"`
		Report struct {
			KeyFormat         string   `json:"key_format"`
			HammingWeight     int      `json:"hamming_weight"`
			PublicKeyNoise    uint64   `json:"public_key_noise"`
			EncryptionError   float64  `json:"encryption_error"`
			RelinNoise        uint64   `json:"relin_noise"`
			KeySwitchingKeys  int      `json:"key_switching_keys"`
			KeySwitchingNoise uint64   `json:"key_switching_noise"`
			EvalKeyFiles      []string `json:"eval_key_files"`
			MetadataKey       bool     `json:"metadata_key"`
		} `json:"report"`
	}
	decodeOne(t, out, &ver)
	checkKeySet(t, ver.keySetOut, "s", filepath.Join(keys, "s"), "active", 1, true)
	r := ver.Report
	if !ver.Verified || !ver.UnsealedWithKEK || r.KeyFormat != "evi" || r.HammingWeight != 1024 || r.KeySwitchingKeys < 1 ||
		r.PublicKeyNoise == 0 || !reflect.DeepEqual(r.EvalKeyFiles, []string{"EVIKeys32.bin"}) || !r.MetadataKey {
		t.Errorf("verify --json: %+v", ver)
	}
	checked := map[string]bool{}
	for _, c := range ver.Checks {
		if !c.OK || c.Check == "" {
			t.Errorf("check %+v", c)
		}
		checked[c.Role] = true
	}
	if len(checked) != 4 {
		t.Errorf("checks of %v; want every role", checked)
	}
	if strings.Contains(out, kekHex) || strings.Contains(out, sec[:40]) {
		t.Errorf("verify --json shows a secret")
	}

	// rotate keeps version 1: list shows it, inspect --version 1 names its files.
	if st, _, errOut = run(t, "", nil, "rotate", "--key_path", keys, "--key_id", "s", "--seal_key_path", kek, "--quiet"); st != ExitOK {
		t.Fatalf("rotate: exit %d: %s", st, errOut)
	}
	if st, _, errOut = run(t, "", nil, append([]string{"--key_path", keys, "--key_id", "p", "--quiet"}, small...)...); st != ExitOK {
		t.Fatalf("generate: exit %d: %s", st, errOut)
	}
	if err := os.Remove(filepath.Join(keys, "p", "EvalKey.json")); err != nil {
		t.Fatal(err)
	}
	st, out, errOut = run(t, "", nil, "list", "--key_path", keys, "--json")
	if st != ExitOK || errOut != "" {
		t.Fatalf("list --json: exit %d: %s", st, errOut)
	}
	var list struct {
		Location struct {
			Store string `json:"store"`
			Dir   string `json:"dir"`
		} `json:"location"`
		KeySets []struct {
			KeyID           string   `json:"key_id"`
			Complete        bool     `json:"complete"`
			Roles           []string `json:"roles"`
			EarlierVersions []int    `json:"earlier_versions"`
		} `json:"key_sets"`
	}
	decodeOne(t, out, &list)
	if list.Location.Store != "local" || list.Location.Dir != keys || len(list.KeySets) != 2 {
		t.Fatalf("list --json: %+v", list)
	}
	p, s := list.KeySets[0], list.KeySets[1]
	if p.KeyID != "p" || p.Complete || !reflect.DeepEqual(p.Roles, []string{"SecKey", "EncKey", "MetadataKey"}) || len(p.EarlierVersions) != 0 {
		t.Errorf("list --json: the incomplete set: %+v", p)
	}
	if s.KeyID != "s" || !s.Complete || len(s.Roles) != 4 || !reflect.DeepEqual(s.EarlierVersions, []int{1}) {
		t.Errorf("list --json: the rotated set: %+v", s)
	}

	st, out, errOut = run(t, "", nil, "inspect", "--key_path", keys, "--key_id", "s", "--version", "1", "--json")
	if st != ExitOK {
		t.Fatalf("inspect --version 1 --json: exit %d: %s", st, errOut)
	}
	var v1 keySetOut
	decodeOne(t, out, &v1)
	checkKeySet(t, v1, "s", filepath.Join(keys, "s", "versions", "1"), "deactivated", 1, true)
	if v1.SetID != gen.SetID || v1.StateReason != "superseded by version 2" {
		t.Errorf("version 1: set id %s (want %s), reason %q", v1.SetID, gen.SetID, v1.StateReason)
	}
	st, out, _ = run(t, "", nil, "inspect", "--key_path", keys, "--key_id", "s", "--json")
	var v2 keySetOut
	decodeOne(t, out, &v2)
	if st != ExitOK || v2.Version != 2 || v2.State != "active" || v2.SetID == gen.SetID {
		t.Errorf("the current set after rotate: %+v", v2)
	}

	// A failure under --json: nothing on standard output, the message on standard error,
	// the exit status of the failure.
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"inspect", "--key_path", keys, "--key_id", "none", "--json"}, ExitNotFound},
		{[]string{"verify", "--key_path", keys, "--key_id", "s", "--seal_key_path", wrong, "--json"}, ExitAuth},
		{[]string{"list", "--key_path", filepath.Join(dir, "none"), "--json"}, ExitNotFound},
		{append([]string{"--key_path", keys, "--key_id", "s", "--json"}, small...), ExitExists},
	} {
		st, out, errOut := run(t, "", nil, c.args...)
		if st != c.want || out != "" || !strings.HasPrefix(errOut, "envector-keygen ") {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q", c.args, st, c.want, out, errOut)
		}
	}
}

// TestDeleteAsks answers delete's question as a person on a terminal would (the
// terminal check is replaced; the question, the answer and the deletion are real).
func TestDeleteAsks(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if st, _, errOut := run(t, "", nil, "--key_path", keys, "--key_id", "a", "--preset", "ip0", "--eval_mode", "single", "--dim", "32", "--quiet"); st != ExitOK {
		t.Fatalf("generate: %s", errOut)
	}
	terminal := func() bool { return true }
	question := fmt.Sprintf("Delete key set \"a\" in %s (4 files; secret files are zeroed first)? This cannot be undone. [y/N] ", keys)
	for _, answer := range []string{"", "\n", "n\n", "no\n", "N\n", "yess\n", "maybe y\n"} {
		st, out, errOut := run(t, answer, terminal, "delete", "--key_path", keys, "--key_id", "a")
		if st != ExitFailure || out != "" || !strings.HasPrefix(errOut, question) || !strings.Contains(errOut, "not deleted: the answer was not y or yes") {
			t.Errorf("answer %q: exit %d, stdout %q, stderr %q", answer, st, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(keys, "a", "SecKey.json")); err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
	}
	for i, answer := range []string{"y\n", " YES \n"} {
		id := "a"
		if i == 1 {
			id = "b"
			if st, _, errOut := run(t, "", nil, "--key_path", keys, "--key_id", id, "--preset", "ip0", "--eval_mode", "single", "--dim", "32", "--quiet"); st != ExitOK {
				t.Fatalf("generate: %s", errOut)
			}
		}
		st, out, errOut := run(t, answer+"more input", terminal, "delete", "--key_path", keys, "--key_id", id)
		if st != ExitOK || out != fmt.Sprintf("Key set %q deleted from %s\n", id, keys) || !strings.HasPrefix(errOut, "Delete key set") {
			t.Errorf("answer %q: exit %d, stdout %q, stderr %q", answer, st, out, errOut)
		}
		if _, err := os.Stat(filepath.Join(keys, id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("answer %q: the key set is still there (%v)", answer, err)
		}
	}
	// --yes does not ask.
	if st, _, errOut := run(t, "", nil, "--key_path", keys, "--key_id", "c", "--preset", "ip0", "--eval_mode", "single", "--dim", "32", "--quiet"); st != ExitOK {
		t.Fatalf("generate: %s", errOut)
	}
	st, _, errOut := run(t, "n\n", terminal, "delete", "--key_path", keys, "--key_id", "c", "--yes")
	if st != ExitOK || errOut != "" {
		t.Errorf("delete --yes: exit %d, stderr %q", st, errOut)
	}
}

// TestAWSTimeout points the AWS store at an endpoint that accepts connections and never
// answers: with --timeout 1s the command fails within seconds, not after the default 30.
func TestAWSTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": "http://" + ln.Addr().String(), "AWS_ENDPOINT_URL_S3": "http://" + ln.Addr().String(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://" + ln.Addr().String(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	for _, args := range [][]string{
		{"list", "--key_store", "aws", "--region_name", "us-east-1", "--timeout", "1s"},
		{"inspect", "--key_store", "aws", "--region_name", "us-east-1", "--key_id", "k", "--timeout", "1s"},
	} {
		start := time.Now()
		st, out, errOut := run(t, "", nil, args...)
		t.Logf("%v: %s", args, errOut)
		if took := time.Since(start); st == ExitOK || took > 15*time.Second || out != "" || !strings.Contains(errOut, "within 1s") {
			t.Errorf("%v: exit %d after %v; stderr %q", args, st, took, errOut)
		}
	}
}

// TestFlagKinds checks that a flag takes a value, several or none alike in every
// command: finding the command word among the flags relies on it.
func TestFlagKinds(t *testing.T) {
	seen := map[string]flagSpec{}
	seenIn := map[string]string{}
	for _, c := range commands {
		for _, s := range c.flags {
			if o, ok := seen[s.name]; ok && (o.boolean != s.boolean || o.multi != s.multi) {
				t.Errorf("--%s takes values differently in %s and %s", s.name, seenIn[s.name], c.name)
			}
			seen[s.name], seenIn[s.name] = s, c.name
		}
	}
	for _, c := range commands {
		fs := newFlagSet(c.flags)
		if !fs.takes("help") {
			t.Errorf("%s has no --help", c.name)
		}
	}
}

func TestProgName(t *testing.T) {
	for argv0, want := range map[string]string{
		"/usr/local/bin/pyenvector-keygen": "pyenvector-keygen",
		"envector-keygen":                  "envector-keygen",
		"./bin/envector-keygen.exe":        "envector-keygen",
		"":                                 "envector-keygen",
		"/":                                "envector-keygen",
		"a b":                              "envector-keygen",
		"evil\x1b[2J":                      "envector-keygen",
		strings.Repeat("k", 100):           "envector-keygen",
	} {
		if got := progName(argv0); got != want {
			t.Errorf("progName(%q) = %q, want %q", argv0, got, want)
		}
	}
	var stderr bytes.Buffer
	st := MainProg("/opt/venv/bin/pyenvector-keygen", []string{"inspect", "--bogus"}, strings.NewReader(""), io.Discard, &stderr)
	if st != ExitUsage || !strings.Contains(stderr.String(), "Run 'pyenvector-keygen inspect --help' for the flags.") {
		t.Errorf("exit %d: %s", st, stderr.String())
	}
}
