package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

func TestParseOptionsAcceptsEveryKey(t *testing.T) {
	seed := strings.Repeat("0f", 64)
	o, err := parseOptions([]byte(` {"key_id": "k1", "preset": "IP1", "eval_mode": "mm",
		"dim_list": [64, 32], "metadata_encryption": false, "seal_mode": "NONE",
		"key_store": "Local", "key_path": "/tmp/k", "region_name": "eu-west-1",
		"bucket_name": "b", "secret_prefix": "", "seed": "` + seed + `"} `))
	if err != nil {
		t.Fatal(err)
	}
	defer o.wipe()
	if o.keyID != "k1" || o.preset != "IP1" || o.evalMode != "mm" || len(o.dims) != 2 ||
		o.metadataEncryption || o.sealMode != "none" || o.keyStore != "local" ||
		o.keyPath != "/tmp/k" || o.regionName != "eu-west-1" || o.bucketName != "b" ||
		!o.set["secret_prefix"] || len(o.seed) != core.SeedSize || o.seed[0] != 0x0f {
		t.Fatalf("decoded %+v", o)
	}
	g, err := o.generateOptions()
	if err != nil {
		t.Fatal(err)
	}
	if g.KeyID != "k1" || g.Parameters.Preset != core.PresetIP1 || g.Parameters.EvalMode != core.EvalModeMM ||
		g.Parameters.Dims[0] != 32 || !g.NoMetadataKey || len(g.Seed) != core.SeedSize {
		t.Fatalf("generate options %+v", g)
	}
}

func TestParseOptionsDefaultsAndNulls(t *testing.T) {
	for _, in := range []string{`{}`, `{"preset": null, "dim_list": null, "seed": null, "metadata_encryption": null}`} {
		o, err := parseOptions([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if !o.metadataEncryption || o.sealMode != "none" || o.keyStore != "local" || o.seed != nil || len(o.set) != 0 {
			t.Fatalf("%s: %+v", in, o)
		}
	}
}

func TestParseOptionsRejects(t *testing.T) {
	seed := strings.Repeat("ab", 64)
	cases := []struct{ in, want string }{
		{``, "invalid JSON"},
		{`{"key_id": "k",}`, "invalid JSON at byte"},
		{`{"key_id": "k"} {}`, "invalid JSON"},
		{`[]`, "must be an object"},
		{`"{}"`, "must be an object"},
		{"{\"key_id\": \"\xff\"}", "not valid UTF-8"},
		{`{"keyid": "k"}`, `unknown key "keyid"; accepted: key_id, preset`},
		{`{"Key_ID": "k"}`, `unknown key "Key_ID"`},
		{`{"key_id": "a", "key_id": "b"}`, `key "key_id" is given twice`},
		{`{"key_id": 1}`, "key_id must be a string"},
		{`{"dim_list": [32, "64"]}`, "dim_list must be an array of integers"},
		{`{"dim_list": [1e2]}`, "is not an integer"},
		{`{"dim_list": {"a": 1}}`, "dim_list must be an array"},
		{`{"metadata_encryption": 1}`, "metadata_encryption must be true or false"},
		{`{"seal_mode": "gcm"}`, `seal_mode "gcm" is not accepted; accepted: none, aes`},
		{`{"key_store": "s3"}`, `key_store "s3" is not accepted; accepted: local, aws`},
		{`{"seed": "` + seed[:126] + `"}`, "got 126 characters"},
		{`{"seed": "` + seed[:127] + `x"}`, "not hexadecimal"},
		{`{"seed": ["` + seed + `"]}`, "seed must be a string"},
	}
	for _, c := range cases {
		_, err := parseOptions([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, core.ErrInvalidArgument) {
			t.Errorf("%q: got %v, want an invalid-argument error containing %q", c.in, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), seed[:20]) {
			t.Errorf("%q: the error quotes the seed: %v", c.in, err)
		}
	}
}

func TestGenerateOptionsRejects(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{}`, "key_id is required"},
		{`{"key_id": "k", "seal_mode": "aes"}`, `seal_mode "aes" needs seal_kek_path`},
		{`{"key_id": "k", "seal_kek_path": "kek"}`, `seal_kek_path is given but seal_mode is "none"`},
		{`{"key_id": "k", "preset": "ip9"}`, `unknown preset "ip9"`},
		{`{"key_id": "k", "preset": "ip1", "eval_mode": "mm32"}`, `eval mode mm32 does not go with preset ip1`},
		{`{"key_id": "k", "eval_mode": "x"}`, `unknown eval mode "x"`},
		{`{"key_id": "k", "dim_list": [48]}`, "dim 48 is not accepted"},
		{`{"key_id": "k", "dim_list": []}`, "dim_list is empty"},
	}
	for _, c := range cases {
		o, err := parseOptions([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if _, err := o.generateOptions(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
}

func TestSplitObject(t *testing.T) {
	in := ` { "a" : "x\"}]," , "b\u0041":[1,{"c":[2,"]}"]}], "d":-1.5e3,"e":true ,"f":null, "g":{} }`
	keys, values := splitObject([]byte(in))
	want := map[string]string{"a": `"x\"}],"`, "bA": `[1,{"c":[2,"]}"]}]`, "d": "-1.5e3", "e": "true", "f": "null", "g": "{}"}
	if len(keys) != len(want) {
		t.Fatalf("keys %q", keys)
	}
	for i, k := range keys {
		if string(values[i]) != want[k] {
			t.Errorf("%s = %s, want %s", k, values[i], want[k])
		}
	}
}

// FuzzParseOptions checks that any input either decodes or fails with an
// invalid-argument error, never panics, and that splitObject agrees with
// encoding/json on the keys of every valid object.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{`{}`, `{"key_id": "k", "dim_list": [32]}`, `{"a": {"b": [1, "}"]}}`, `{"seed": "00"}`, `[`, "{\"\\u00e9\": 1}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := parseOptions(data)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidArgument) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
		} else {
			o.wipe()
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil && m != nil && len(data) <= maxOptionsSize {
			keys, values := splitObject(data)
			for i, k := range keys {
				if !json.Valid(values[i]) {
					t.Fatalf("value of %q is not valid JSON: %q", k, values[i])
				}
				if _, ok := m[k]; !ok {
					t.Fatalf("key %q not in %v", k, m)
				}
			}
		}
	})
}

// TestOptionMessagesCutValues: a value of any length shows as its first 40 bytes.
func TestOptionMessagesCutValues(t *testing.T) {
	long := strings.Repeat("7", 1<<19)
	for _, in := range []string{
		`{"` + long + `": 1}`,
		`{"dim_list": [` + long + `]}`,
		`{"dim_list": [0.` + long + `]}`,
		`{"seal_mode": "` + long + `"}`,
		`{"key_store": "` + long + `"}`,
		`{"seed": "` + long + `"}`,
	} {
		_, err := parseOptions([]byte(in))
		if err == nil || len(err.Error()) > 500 || strings.Contains(err.Error(), long[:41]) {
			t.Errorf("%.30s...: %.400v", in, err)
		}
	}
	for _, in := range []string{
		`{"key_id": "k", "preset": "` + long + `"}`,
		`{"key_id": "k", "eval_mode": "` + long + `"}`,
	} {
		o, err := parseOptions([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.generateOptions(); err == nil || len(err.Error()) > 400 || strings.Contains(err.Error(), long[:41]) {
			t.Errorf("%.30s...: %.400v", in, err)
		}
	}
}

func TestLifetimeDays(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`1825`: 43800 * time.Hour, `0.5`: 12 * time.Hour, `0.041666666666666664`: time.Hour, `1e1`: 240 * time.Hour,
	} {
		o, err := parseOptions([]byte(`{"key_id": "k", "lifetime_days": ` + in + `}`))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		g, err := o.generateOptions()
		if err != nil || g.Lifetime != want {
			t.Fatalf("%s: lifetime %v, %v; want %v", in, g.Lifetime, err, want)
		}
	}
	for _, in := range []string{`0`, `-1`, `"30"`, `true`, `[1]`, `{}`} {
		_, err := parseOptions([]byte(`{"lifetime_days": ` + in + `}`))
		if core.KindOf(err) != core.ErrInvalidArgument || !strings.Contains(err.Error(), "lifetime_days must be a positive number") {
			t.Fatalf("%s: %v", in, err)
		}
	}
	// Past what a duration holds: refused here, naming core's range.
	_, err := parseOptions([]byte(`{"lifetime_days": 1e300}`))
	if err == nil || !strings.Contains(err.Error(), "accepted: 1 hour to 100 years") {
		t.Fatal(err)
	}
}

func TestRotateOptions(t *testing.T) {
	o, err := parseOptions([]byte(`{"reason": "yearly", "lifetime_days": 30, "metadata_encryption": false}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := o.rotateOptions("k", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reason != "yearly" || r.Generate.KeyID != "k" || r.Generate.Lifetime != 720*time.Hour ||
		!r.Generate.NoMetadataKey || r.Generate.Parameters.Preset != (core.Preset{}) {
		t.Fatalf("%+v", r)
	}
	o, _ = parseOptions([]byte(`{"dim_list": [64]}`))
	if r, err = o.rotateOptions("k", true); err != nil || r.Generate.Parameters.Preset != core.PresetIP3 || r.Generate.Parameters.Dims[0] != 64 {
		t.Fatalf("%+v %v", r, err)
	}
	for in, want := range map[string]string{
		`{"key_id": "j"}`:         `key_id "j" is not the key set rotated`,
		`{"seal_kek_path": "/k"}`: "seal_kek_path is not read",
		`{"seal_mode": "aes"}`:    "needs the KEK",
		`{"preset": "ip9"}`:       "unknown preset",
	} {
		o, err := parseOptions([]byte(in))
		if err == nil {
			_, err = o.rotateOptions("k", false)
		}
		if core.KindOf(err) != core.ErrInvalidArgument || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %v", in, err)
		}
	}
	o, _ = parseOptions([]byte(`{"seal_mode": "none"}`))
	if _, err := o.rotateOptions("k", true); err == nil || !strings.Contains(err.Error(), "would be sealed") {
		t.Fatal(err)
	}
}

// TestInitOptions: the keys envector_init reads, and their types.
func TestInitOptions(t *testing.T) {
	o, err := parseOptions([]byte(`{"key_id": "k", "auto_key_setup": false, "address": "grpc://a:1", "token_file": "/t",
		"tls": true, "ca_file": "/c", "timeout_seconds": 2.5, "register_timeout_seconds": 60}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.autoKeySetup || o.address != "grpc://a:1" || o.tokenFile != "/t" || !o.tls || o.caFile != "/c" ||
		o.timeout != 2500*time.Millisecond || o.registerTimeout != time.Minute {
		t.Fatalf("%+v", o)
	}
	if o, err = parseOptions([]byte(`{}`)); err != nil || !o.autoKeySetup {
		t.Fatalf("auto_key_setup defaults to true: %v %v", o, err)
	}
	for in, want := range map[string]string{
		`{"auto_key_setup": "no"}`:           "auto_key_setup must be true or false",
		`{"tls": 1}`:                         "tls must be true or false",
		`{"address": 5}`:                     "address must be a string",
		`{"timeout_seconds": 0}`:             "timeout_seconds must be a positive number of seconds",
		`{"register_timeout_seconds": "60"}`: "register_timeout_seconds must be a positive number",
		`{"timeout_seconds": 1e9}`:           "at most 604800",
		`{"token": "secret"}`:                `unknown key "token"`,
	} {
		_, err := parseOptions([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	if _, err := parseOptions([]byte(`{"token": "s3cret-value"}`)); err == nil || strings.Contains(err.Error(), "s3cret-value") {
		t.Errorf("a token given in the options is refused without being shown: %v", err)
	}
}

// TestAWSTimeoutOption: aws_timeout_seconds is a positive number of seconds up to an
// hour, given with key_store "aws" only, and reaches store.AWSConfig.Timeout.
func TestAWSTimeoutOption(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`{"key_store": "aws", "aws_timeout_seconds": 10}`:     10 * time.Second,
		`{"key_store": "aws", "aws_timeout_seconds": 0.25}`:   250 * time.Millisecond,
		`{"key_store": "aws", "aws_timeout_seconds": 3600}`:   time.Hour,
		`{"key_store": "aws", "aws_timeout_seconds": null}`:   0,
		`{"key_store": "AWS", "aws_timeout_seconds": 1e-12}`:  time.Nanosecond,
		`{"key_store": "local", "aws_timeout_seconds": null}`: 0,
	} {
		o, err := parseOptions([]byte(in))
		if err != nil || o.awsTimeout != want {
			t.Errorf("%s: %v, %v; want %v", in, o, err, want)
		}
	}
	for in, want := range map[string]string{
		`{"key_store": "aws", "aws_timeout_seconds": 0}`:     "aws_timeout_seconds must be a positive number of seconds, at most 3600 (an hour), e.g. 10 or 0.5: the longest one AWS request may go without progress (default 30); got 0",
		`{"key_store": "aws", "aws_timeout_seconds": -5}`:    "got -5",
		`{"key_store": "aws", "aws_timeout_seconds": 3601}`:  "at most 3600 (an hour)",
		`{"key_store": "aws", "aws_timeout_seconds": "10"}`:  `got "10"`,
		`{"key_store": "aws", "aws_timeout_seconds": true}`:  "aws_timeout_seconds must be a positive number",
		`{"key_store": "aws", "aws_timeout_seconds": 1e400}`: "aws_timeout_seconds must be a positive number",
		`{"aws_timeout_seconds": 10}`:                        `aws_timeout_seconds applies to key_store "aws" only, and key_store is "local"`,
		`{"key_store": "local", "aws_timeout_seconds": 10}`:  `aws_timeout_seconds applies to key_store "aws" only`,
		`{"key_store": "aws", "aws_timeout_second": 10}`:     `unknown key "aws_timeout_second"; accepted: `,
	} {
		_, err := parseOptions([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) || core.KindOf(err) != core.ErrInvalidArgument {
			t.Errorf("%s: %v, want %q (invalid argument)", in, err, want)
		}
	}

	// The option reaches the store: a silent endpoint fails a call within about the
	// timeout, saying so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn // held open, never answered
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() {
		ln.Close()
		<-accepted
		for _, c := range conns {
			c.Close()
		}
	}()
	t.Setenv("AWS_ENDPOINT_URL", "http://"+ln.Addr().String())
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	o, err := parseOptions([]byte(`{"key_store": "aws", "region_name": "us-east-1", "aws_timeout_seconds": 0.5}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := o.openStore()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = st.List(context.Background())
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "nothing came back from http://"+ln.Addr().String()+" within 500ms") || core.KindOf(err) != core.ErrRemote {
		t.Fatalf("List against a silent endpoint: %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("List against a silent endpoint with a 0.5 s timeout took %s", took)
	}
}
