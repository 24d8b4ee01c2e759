package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

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
		"envector-keygen": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
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
