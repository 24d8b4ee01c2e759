package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/envector-keys/envector-keys/core"
)

// optionKeys are the keys of the options JSON (include/envector.h, "Options"): the
// same as the Python and Node options.
var optionKeys = []string{
	"key_id", "preset", "eval_mode", "dim_list", "metadata_encryption", "seal_mode",
	"seal_kek_path", "key_store", "key_path", "region_name", "bucket_name", "secret_prefix",
	"seed",
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
	seed               []byte // SeedSize bytes, or nil; wipe when done
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
	if len(data) > maxOptionsSize {
		return nil, optionsError("the JSON is over %d bytes", maxOptionsSize)
	}
	if !utf8.Valid(data) {
		return nil, optionsError("the JSON is not valid UTF-8")
	}
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &struct{}{}); errors.As(err, &se) {
		// Checks the whole text without copying any value out of it.
		return nil, optionsError("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if i := skipSpace(data, 0); i == len(data) || data[i] != '{' {
		return nil, optionsError("the JSON must be an object, like {\"key_id\": \"k1\"}")
	}
	o := &options{set: map[string]bool{}, metadataEncryption: true, sealMode: "none", keyStore: "local"}
	raw := map[string][]byte{}
	keys, values := splitObject(data)
	for i, key := range keys {
		if !knownOption(key) {
			return nil, optionsError("unknown key %q; accepted: %s", key, strings.Join(optionKeys, ", "))
		}
		if _, dup := raw[key]; dup {
			return nil, optionsError("key %q is given twice", key)
		}
		raw[key] = values[i]
	}

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
		}
		if err != nil {
			o.wipe()
			return nil, err
		}
	}
	return o, nil
}

// shortValue is a JSON literal from the options for a message: at most its first 40
// bytes, then "..." (core.Errorf cuts only strings, and %s ones at 4096 bytes).
func shortValue(v []byte) string {
	if len(v) <= 40 {
		return string(v)
	}
	return strings.ToValidUTF8(string(v[:40]), "") + "..."
}

func knownOption(key string) bool {
	for _, k := range optionKeys {
		if k == key {
			return true
		}
	}
	return false
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
	if g.Parameters.Preset, err = core.ParsePreset(o.preset); err != nil {
		return g, err
	}
	if g.Parameters.EvalMode, err = core.ParseEvalMode(o.evalMode); err != nil {
		return g, err
	}
	if o.set["dim_list"] {
		if len(o.dims) == 0 {
			return g, optionsError("dim_list is empty; leave it out (or null) for the default, or give powers of two from 32 to 4096")
		}
		g.Parameters.Dims = o.dims
	}
	if g.Parameters, err = g.Parameters.Check(); err != nil {
		return g, err
	}
	g.KeyID = o.keyID
	g.NoMetadataKey = !o.metadataEncryption
	g.Seed = o.seed
	return g, nil
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
