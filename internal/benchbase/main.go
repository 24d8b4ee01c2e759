// Command benchbase is the Go-API baseline of the binding benchmarks: it makes the
// default key set (or the one -dims/-preset/-eval_mode/-no_metadata describe) with
// core.Generate and reads every role's envelope with KeySet.Blob, -n times, and prints
// one JSON object: {"ns": [time of each iteration in nanoseconds]}. The Python and
// Node benchmarks run it in blocks between blocks of their own calls, so both sides
// see the same machine, and report the ratio of the medians.
//
//	go run ./internal/benchbase -n 10
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

func main() {
	n := flag.Int("n", 10, "iterations")
	warm := flag.Int("warmup", 1, "iterations run first and not reported")
	preset := flag.String("preset", "ip0", "preset")
	evalMode := flag.String("eval_mode", "rmp", "eval mode")
	dims := flag.String("dims", "", "comma-separated dims (default 32..4096)")
	noMeta := flag.Bool("no_metadata", false, "no MetadataKey")
	flag.Parse()

	var opts core.GenerateOptions
	opts.KeyID = "bench"
	opts.NoMetadataKey = *noMeta
	var err error
	if opts.Parameters.Preset, err = core.ParsePreset(*preset); err == nil {
		opts.Parameters.EvalMode, err = core.ParseEvalMode(*evalMode)
	}
	if err == nil && *dims != "" {
		opts.Parameters.Dims, err = core.ParseDimList(*dims)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchbase:", err)
		os.Exit(2)
	}
	once := func() {
		ks, err := core.Generate(opts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchbase:", err)
			os.Exit(1)
		}
		for _, r := range ks.Roles() {
			if _, err := ks.Blob(r); err != nil {
				fmt.Fprintln(os.Stderr, "benchbase:", err)
				os.Exit(1)
			}
		}
		ks.Wipe()
	}
	for i := 0; i < *warm; i++ {
		once()
	}
	times := make([]int64, *n)
	for i := range times {
		t0 := time.Now()
		once()
		times[i] = time.Since(t0).Nanoseconds()
	}
	json.NewEncoder(os.Stdout).Encode(map[string][]int64{"ns": times})
}
