package cli

import (
	"encoding/json"
	"fmt"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/core/setup"
)

// The init command: enVector's client start-up in one command (core/setup): find the key
// set or make it, and make an enVector server hold and use its EvalKey.

var initFlags = append(append([]flagSpec{
	{name: "auto_key_setup", help: "true (default): make, seal and store the key set when the store has none; false: it must exist"},
	{name: "json", boolean: true, help: "print the result as one JSON object (as envector_init returns it) instead of text"},
	storeAndServerTimeout,
}, generateFlags...), endpointInitFlags()...)

// endpointInitFlags are the server flags, --address optional.
func endpointInitFlags() []flagSpec {
	out := append([]flagSpec(nil), endpointFlags...)
	out[0].help = "the enVector server to register the EvalKey with: host:port, grpc://host:port (plaintext) or grpcs://host:port (TLS); without it nothing is registered"
	return out
}

var initCommands = []command{
	{"init", "find the key set or make and store it (--auto_key_setup), then register its EvalKey with an enVector server (--address) if the server does not hold it, and load it there", initFlags, runInit},
}

func init() { commands = append(commands, initCommands...) }

func runInit(e *env, fs *flagSet) error {
	auto, err := parseBool("auto_key_setup", fs.str("auto_key_setup", "true"))
	if err != nil {
		return err
	}
	if fs.has("token_stdin") && fs.has("seal_key_stdin") {
		return usagef("give --token_stdin or --seal_key_stdin, not both: standard input holds one of them")
	}
	if !fs.has("address") {
		for _, f := range endpointFlags[1:] {
			if f.name == "timeout" && fs.str("key_store", "local") == "aws" {
				continue // the AWS store's
			}
			if fs.has(f.name) {
				return usagef("--%s needs --address: it applies to the server the EvalKey is registered with", f.name)
			}
		}
	}
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	g, err := generateOptions(fs)
	if err != nil {
		return err
	}
	defer clear(g.Seed)

	var ep setup.Endpoint
	if fs.has("address") {
		if ep.Options, err = endpointOptions(e, fs, "init", nil); err != nil {
			return err
		}
		ep.Address = fs.str("address", "")
		c, err := endpoint.Dial(ep.Address, ep.Options) // checks the address: no connection yet
		if err != nil {
			return usagef("--address: %s", err.(*core.Error).Msg)
		}
		c.Close()
	}
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe

	prog := newProgress(e.stderr, "generating keys")
	g.Progress = prog.update
	res, err := setup.Init(e.ctx, setup.Options{Store: loc.st, KeyID: loc.keyID, AutoKeySetup: auto, Generate: g, KEK: kek, Endpoint: ep})
	prog.done()
	if err != nil {
		return err
	}
	switch {
	case fs.has("json"):
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	case !fs.has("quiet"):
		printInit(e, loc, res)
	}
	return nil
}

func printInit(e *env, loc *location, r *setup.Result) {
	how := "found in"
	if r.Created {
		how = "created in"
	}
	sealed := "not sealed"
	if r.Sealed {
		sealed = "sealed"
	}
	p := r.Parameters
	fmt.Fprintf(e.stdout, "Key set %q %s %s: preset %s, eval mode %s, dims %s; version %d; secret keys %s\n",
		r.KeyID, how, loc.where, p.Preset, p.EvalMode, core.FormatDimList(p.Dims), r.Version, sealed)
	if r.Endpoint == nil {
		return
	}
	what := fmt.Sprintf("the EvalKey of key set %q (%s/%s, %d bytes, sha256 %s)", r.KeyID, p.Preset.Name(), string(p.EvalMode), r.EvalKeySize, r.EvalKeySHA256)
	if r.Endpoint.Registered {
		fmt.Fprintf(e.stdout, "Registered %s at %s\n", what, r.Endpoint.Address)
	} else {
		fmt.Fprintf(e.stdout, "%s holds %s already: not sent again\n", r.Endpoint.Address, what)
	}
	for _, id := range r.Endpoint.Unloaded {
		fmt.Fprintf(e.stdout, "Unloaded key %q\n", id)
	}
	if r.Endpoint.Loaded {
		fmt.Fprintf(e.stdout, "Loaded key %q\n", r.KeyID)
	} else {
		fmt.Fprintf(e.stdout, "Key %q is loaded already\n", r.KeyID)
	}
}
