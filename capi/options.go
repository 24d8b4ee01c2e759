package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// optionKeys are the keys of the options JSON (include/envector.h, "Options"): the
// same as the Python and Node options.
var optionKeys = []string{
	"key_id", "preset", "eval_mode", "dim_list", "metadata_encryption", "seal_mode",
	"seal_kek_path", "key_store", "key_path", "region_name", "bucket_name", "secret_prefix",
	"seed", "lifetime_days", "reason", "aws_timeout_seconds",
	// envector_init
	"auto_key_setup", "address", "token_file", "tls", "ca_file", "timeout_seconds",
	"register_timeout_seconds",
}

// maxOptionsSize bounds the options JSON; real options are a few hundred bytes.
const maxOptionsSize = 1 << 20

// options is a decoded options object. A key that is absent or null keeps its zero
// value and is not in set.
type options struct {
	set                map[string]bool
	keyID              string
	preset             string
	evalMode           string
	dims               []int
	metadataEncryption bool   // default true
	sealMode           string // "none" or "aes"
	sealKEKPath        string // the KEK file of seal_mode "aes"
	keyStore           string // "local" or "aws"
	keyPath            string
	regionName         string
	bucketName         string
	secretPrefix       string
	seed               []byte        // SeedSize bytes, or nil; wipe when done
	lifetime           time.Duration // lifetime_days as a duration; 0 = the default
	reason             string        // envector_store_rotate: recorded in the earlier version
	awsTimeout         time.Duration // aws_timeout_seconds (key_store "aws"); 0 = the store's default
	// envector_init
	autoKeySetup    bool // default true
	address         string
	tokenFile       string
	tls             bool
	caFile          string
	timeout         time.Duration
	registerTimeout time.Duration
}

// wipe zeroes the seed.
func (o *options) wipe() { clear(o.seed) }

func optionsError(format string, args ...any) error {
	return core.Errorf(core.ErrInvalidArgument, "", "options: "+format, args...)
}

// parseOptions decodes one JSON object of options. It checks that data is UTF-8, one
// JSON object and nothing after it, that every key is known and given once, and the
// type of every value; enumerations (seal_mode, key_store) are checked here, the
// domain values (preset, dims, ...) by core. Messages never quote the seed.
func parseOptions(data []byte) (*options, error) {
	raw, err := parseObject(data, "options", optionKeys, `{"key_id": "k1"}`)
	if err != nil {
		return nil, err
	}
	o := &options{set: map[string]bool{}, metadataEncryption: true, sealMode: "none", keyStore: "local", autoKeySetup: true}
	for _, key := range optionKeys {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			continue
		}
		o.set[key] = true
		var err error
		switch key {
		case "key_id":
			err = decodeString(key, v, &o.keyID)
		case "preset":
			err = decodeString(key, v, &o.preset)
		case "eval_mode":
			err = decodeString(key, v, &o.evalMode)
		case "dim_list":
			o.dims, err = decodeDims(v)
		case "metadata_encryption":
			if err = json.Unmarshal(v, &o.metadataEncryption); err != nil {
				err = optionsError("metadata_encryption must be true or false")
			}
		case "seal_mode":
			err = decodeChoice(key, v, &o.sealMode, "none", "aes")
		case "seal_kek_path":
			err = decodeString(key, v, &o.sealKEKPath)
		case "key_store":
			err = decodeChoice(key, v, &o.keyStore, "local", "aws")
		case "key_path":
			err = decodeString(key, v, &o.keyPath)
		case "region_name":
			err = decodeString(key, v, &o.regionName)
		case "bucket_name":
			err = decodeString(key, v, &o.bucketName)
		case "secret_prefix":
			err = decodeString(key, v, &o.secretPrefix)
		case "seed":
			o.seed, err = decodeSeed(v)
		case "lifetime_days":
			o.lifetime, err = decodeLifetimeDays(v)
		case "reason":
			err = decodeString(key, v, &o.reason)
		case "aws_timeout_seconds":
			o.awsTimeout, err = decodeAWSTimeout(v)
		case "auto_key_setup":
			if err = json.Unmarshal(v, &o.autoKeySetup); err != nil {
				err = optionsError("auto_key_setup must be true or false")
			}
		case "address":
			err = decodeString(key, v, &o.address)
		case "token_file":
			err = decodeString(key, v, &o.tokenFile)
		case "tls":
			if err = json.Unmarshal(v, &o.tls); err != nil {
				err = optionsError("tls must be true or false")
			}
		case "ca_file":
			err = decodeString(key, v, &o.caFile)
		case "timeout_seconds":
			o.timeout, err = decodeSeconds(key, v)
		case "register_timeout_seconds":
			o.registerTimeout, err = decodeSeconds(key, v)
		}
		if err != nil {
			o.wipe()
			return nil, err
		}
	}
	if o.set["aws_timeout_seconds"] && o.keyStore != "aws" {
		o.wipe()
		return nil, optionsError(`aws_timeout_seconds applies to key_store "aws" only, and key_store is %q; leave it out, or give key_store "aws"`, o.keyStore)
	}
	return o, nil
}

// maxAWSTimeoutSeconds bounds aws_timeout_seconds: an hour.
const maxAWSTimeoutSeconds = 3600

// decodeAWSTimeout decodes aws_timeout_seconds, a positive number of seconds
// (fractions allowed) of at most an hour: the longest one AWS request may go without
// progress (store.AWSConfig.Timeout).
func decodeAWSTimeout(v []byte) (time.Duration, error) {
	var secs float64
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || json.Unmarshal(v, &secs) != nil || !(secs > 0) || secs > maxAWSTimeoutSeconds {
		return 0, optionsError("aws_timeout_seconds must be a positive number of seconds, at most %d (an hour), e.g. 10 or 0.5: the longest one AWS request may go without progress (default %g); got %s", maxAWSTimeoutSeconds, store.DefaultAWSTimeout.Seconds(), shortValue(v))
	}
	d := time.Duration(secs * float64(time.Second))
	if d <= 0 {
		d = time.Nanosecond // a positive number too small for a duration is still positive
	}
	return d, nil
}

// parseObject checks that data is one JSON object of at most maxOptionsSize bytes of
// UTF-8 with nothing after it, whose keys are all among keys and each given once, and
// returns the value of each key that is present and not null, as a slice of data
// (nothing copied). what names the argument in messages ("options", "change_json"),
// example shows an object of its kind.
func parseObject(data []byte, what string, keys []string, example string) (map[string][]byte, error) {
	fail := func(format string, args ...any) error {
		return core.Errorf(core.ErrInvalidArgument, "", what+": "+format, args...)
	}
	if len(data) > maxOptionsSize {
		return nil, fail("the JSON is over %d bytes", maxOptionsSize)
	}
	if !utf8.Valid(data) {
		return nil, fail("the JSON is not valid UTF-8")
	}
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &struct{}{}); errors.As(err, &se) {
		// Checks the whole text without copying any value out of it.
		return nil, fail("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if i := skipSpace(data, 0); i == len(data) || data[i] != '{' {
		return nil, fail("the JSON must be an object, like %s", example)
	}
	raw := map[string][]byte{}
	names, values := splitObject(data)
	for i, key := range names {
		if !contains(keys, key) {
			return nil, fail("unknown key %q; accepted: %s", key, strings.Join(keys, ", "))
		}
		if _, dup := raw[key]; dup {
			return nil, fail("key %q is given twice", key)
		}
		raw[key] = values[i]
	}
	for k, v := range raw {
		if string(v) == "null" {
			delete(raw, k)
		}
	}
	return raw, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// maxLifetimeDays bounds lifetime_days before it becomes a duration (which would
// overflow past ~292 years); core accepts 1 hour to 100 years.
const maxLifetimeDays = 100000

// decodeLifetimeDays decodes a positive number of days (fractions allowed: 1/24 is an
// hour) into a duration, rounded to the second; core checks the range.
func decodeLifetimeDays(v []byte) (time.Duration, error) {
	bad := optionsError("lifetime_days must be a positive number of days (e.g. 90, or 0.5 for 12 hours); accepted: 1 hour to 100 years (36500 days); default 1825 (5 years, as enVector)")
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return 0, bad
	}
	var days float64
	if err := json.Unmarshal(v, &days); err != nil || !(days > 0) || math.IsInf(days, 0) {
		return 0, bad
	}
	if days > maxLifetimeDays {
		return 0, optionsError("lifetime_days %s is not accepted; accepted: 1 hour to 100 years (36500 days)", shortValue(v))
	}
	d := time.Duration(math.Round(days*float64(24*time.Hour)/float64(time.Second))) * time.Second
	if d == 0 {
		d = time.Nanosecond // under half a second: still refused by core as under an hour
	}
	return d, nil
}

// decodeSeconds decodes a positive number of seconds (fractions allowed) into a
// duration, at most a week.
func decodeSeconds(key string, v []byte) (time.Duration, error) {
	var secs float64
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) || json.Unmarshal(v, &secs) != nil || !(secs > 0) || secs > 7*24*3600 {
		return 0, optionsError("%s must be a positive number of seconds, at most 604800 (a week), e.g. 30 or 0.5", key)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// shortValue is a JSON literal from the options for a message: at most its first 40
// bytes, then "..." (core.Errorf cuts only strings, and %s ones at 4096 bytes).
func shortValue(v []byte) string {
	if len(v) <= 40 {
		return string(v)
	}
	return strings.ToValidUTF8(string(v[:40]), "") + "..."
}

func decodeString(key string, v []byte, dst *string) error {
	if err := json.Unmarshal(v, dst); err != nil {
		return optionsError("%s must be a string", key)
	}
	return nil
}

// decodeChoice decodes a string that must be one of choices, in any case.
func decodeChoice(key string, v []byte, dst *string, choices ...string) error {
	var s string
	if err := decodeString(key, v, &s); err != nil {
		return err
	}
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			*dst = c
			return nil
		}
	}
	return optionsError("%s %q is not accepted; accepted: %s", key, s, strings.Join(choices, ", "))
}

// decodeDims decodes an array of integers; core checks their values.
func decodeDims(v []byte) ([]int, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, optionsError("dim_list must be an array of integers, like [32, 64, 128]")
	}
	dims := make([]int, len(elems))
	for i, e := range elems {
		if len(e) == 0 || (e[0] != '-' && (e[0] < '0' || e[0] > '9')) {
			return nil, optionsError("dim_list must be an array of integers, like [32, 64, 128]; dim_list[%d] is not a number", i)
		}
		d, err := strconv.Atoi(string(e))
		if err != nil {
			return nil, optionsError("dim_list[%d] = %s is not an integer; accepted: powers of two from 32 to 4096", i, shortValue(e))
		}
		dims[i] = d
	}
	return dims, nil
}

// decodeSeed decodes "<128 hex characters>" straight into bytes, so the seed is never
// held in a Go string (which could not be wiped).
func decodeSeed(v []byte) ([]byte, error) {
	want := fmt.Sprintf("seed must be a string of exactly %d hexadecimal characters (%d bytes)", 2*core.SeedSize, core.SeedSize)
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, optionsError("%s", want)
	}
	text := v[1 : len(v)-1]
	if len(text) != 2*core.SeedSize {
		return nil, optionsError("%s; got %d characters", want, len(text))
	}
	seed := make([]byte, core.SeedSize)
	if _, err := hex.Decode(seed, text); err != nil {
		clear(seed)
		return nil, optionsError("%s; got characters that are not hexadecimal", want)
	}
	return seed, nil
}

// generateOptions turns the options envector_keygen reads into core's.
func (o *options) generateOptions() (core.GenerateOptions, error) {
	var g core.GenerateOptions
	if !o.set["key_id"] {
		return g, optionsError("key_id is required")
	}
	if o.sealMode == "aes" && o.sealKEKPath == "" {
		return g, optionsError(`seal_mode "aes" needs seal_kek_path, the file of the 32-byte KEK (or generate with seal_mode "none" and seal the key set with envector_seal)`)
	}
	if o.sealMode == "none" && o.set["seal_kek_path"] {
		return g, optionsError(`seal_kek_path is given but seal_mode is "none": give seal_mode "aes" to seal, or leave seal_kek_path out`)
	}
	var err error
	if g.Parameters, err = o.parameters(); err != nil {
		return g, err
	}
	g.KeyID = o.keyID
	g.NoMetadataKey = !o.metadataEncryption
	g.Seed = o.seed
	g.Lifetime = o.lifetime
	return g, nil
}

// parameters are the key parameters of preset, eval_mode and dim_list, each absent one
// its default (as envector_keygen takes them).
func (o *options) parameters() (core.Parameters, error) {
	var p core.Parameters
	var err error
	if p.Preset, err = core.ParsePreset(o.preset); err != nil {
		return p, err
	}
	if p.EvalMode, err = core.ParseEvalMode(o.evalMode); err != nil {
		return p, err
	}
	if o.set["dim_list"] {
		if len(o.dims) == 0 {
			return p, optionsError("dim_list is empty; leave it out (or null) for the default, or give powers of two from 32 to 4096")
		}
		p.Dims = o.dims
	}
	return p.Check()
}

// rotateOptions turns the options envector_store_rotate reads (preset, eval_mode,
// dim_list, metadata_encryption, seed, lifetime_days, reason) into the store's, for key
// set keyID; kek says whether a KEK was given. No key parameter given: the current
// set's. The KEK comes as an argument, never from seal_kek_path.
func (o *options) rotateOptions(keyID string, kek bool) (store.RotateOptions, error) {
	var r store.RotateOptions
	if o.set["key_id"] && o.keyID != keyID {
		return r, optionsError("key_id %q is not the key set rotated (%q); leave key_id out", o.keyID, keyID)
	}
	if o.set["seal_kek_path"] {
		return r, optionsError("seal_kek_path is not read by envector_store_rotate: give the KEK itself as kek (the new set is sealed under it; a sealed set needs it)")
	}
	if o.set["seal_mode"] && (o.sealMode == "aes") != kek {
		if kek {
			return r, optionsError(`seal_mode is "none" but a KEK is given: the new set would be sealed under it; leave seal_mode out, or give no KEK`)
		}
		return r, optionsError(`seal_mode "aes" needs the KEK, given as kek`)
	}
	g := core.GenerateOptions{KeyID: keyID, NoMetadataKey: !o.metadataEncryption, Seed: o.seed, Lifetime: o.lifetime}
	if o.set["preset"] || o.set["eval_mode"] || o.set["dim_list"] {
		var err error
		if g.Parameters, err = o.parameters(); err != nil {
			return r, err
		}
	}
	r.Generate = g
	r.Reason = o.reason
	return r, nil
}

// splitObject returns the keys of the JSON object data, in order, and their values as
// slices of data (nothing is copied, so a seed's text exists only in the caller's
// buffer). data must be one valid JSON object, surrounding spaces allowed.
func splitObject(data []byte) (keys []string, values [][]byte) {
	i := skipSpace(data, 0) + 1 // past '{'
	for {
		i = skipSpace(data, i)
		if data[i] == '}' {
			return keys, values
		}
		end := stringEnd(data, i)
		var key string
		if err := json.Unmarshal(data[i:end], &key); err != nil { // valid JSON: cannot fail
			panic(err)
		}
		i = skipSpace(data, end) + 1 // past ':'
		i = skipSpace(data, i)
		vend := valueEnd(data, i)
		keys, values = append(keys, key), append(values, data[i:vend])
		if i = skipSpace(data, vend); data[i] == ',' {
			i++
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at data[i] == '"'.
func stringEnd(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// valueEnd returns the index just past the JSON value starting at data[i].
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch data[j] {
			case '"':
				j = stringEnd(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i // a number, true, false or null
	for j < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[j])) {
		j++
	}
	return j
}
