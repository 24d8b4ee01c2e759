package cli

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
)

// The commands that talk to an enVector server's key endpoint: register (the EvalKey of
// a stored key set) and server list|info|load|unload|delete.

var endpointFlags = []flagSpec{
	{name: "address", help: "the enVector server: host:port, grpc://host:port (plaintext) or grpcs://host:port (TLS)"},
	{name: "token_file", help: "file holding the bearer token the server asks for (sent as \"authorization: Bearer <token>\")"},
	{name: "token_stdin", boolean: true, help: "read the bearer token from standard input"},
	{name: "tls", boolean: true, help: "connect with TLS (also chosen by a grpcs:// address)"},
	{name: "ca_file", help: "PEM certificates to trust for the server's certificate instead of the system's (implies --tls)"},
	{name: "timeout", help: "how long each call to the server may take, e.g. 10s or 2m (default 30s; a register upload 30m)"},
}

// storeAndServerTimeout is --timeout of the commands that use a store and a server.
var storeAndServerTimeout = flagSpec{name: "timeout", help: "how long each call to the server may take, e.g. 10s or 2m (default 30s; a register upload 30m); with --key_store aws also the longest one AWS request may go without progress (default 30s)"}

var registerFlags = append(append(append([]flagSpec{
	{name: "load", boolean: true, help: "then make it the server's loaded key, as enVector's client does on a single-key init: unload the other loaded keys, load this one; an EvalKey the server holds already (same SHA-256) is not sent again"},
	quietFlag, versionFlag, storeAndServerTimeout,
}, commonFlags...), awsFlags...), endpointFlags...)

var serverKeyIDFlag = flagSpec{name: "key_id", help: "the registered key's id"}

var serverListFlags = append([]flagSpec{{name: "help", boolean: true, help: "show this help"}}, endpointFlags...)

var serverInfoFlags = append([]flagSpec{serverKeyIDFlag, {name: "help", boolean: true, help: "show this help"}}, endpointFlags...)

var serverKeyFlags = append([]flagSpec{serverKeyIDFlag, {name: "help", boolean: true, help: "show this help"}, quietFlag}, endpointFlags...)

var serverCommands = []command{
	{"register", "send the EvalKey of a stored key set to an enVector server (register_key): raw key bytes in 1 MiB frames with their SHA-256", registerFlags, runRegister},
	{"server list", "list the keys registered on an enVector server", serverListFlags, runServerList},
	{"server info", "describe a key registered on an enVector server: type, preset, eval mode, SHA-256, loaded or not", serverInfoFlags, runServerInfo},
	{"server load", "load a registered key on an enVector server (for its indexes to use)", serverKeyFlags,
		serverKeyCommand("server load", "loaded", (*endpoint.Client).Load)},
	{"server unload", "unload a key on an enVector server; it stays registered", serverKeyFlags,
		serverKeyCommand("server unload", "unloaded", (*endpoint.Client).Unload)},
	{"server delete", "delete a registered key from an enVector server (unload it first)", serverKeyFlags,
		serverKeyCommand("server delete", "deleted", (*endpoint.Client).Delete)},
}

func init() { commands = append(commands, serverCommands...) }

// dialEndpoint connects to the server of the flags. The server's warnings go to
// standard error; warned, if not nil, is set when one came.
func dialEndpoint(e *env, fs *flagSet, cmd string, warned *bool) (*endpoint.Client, error) {
	if !fs.has("address") {
		return nil, usagef("%s needs --address (host:port, grpc://host:port or grpcs://host:port)", cmd)
	}
	opts, err := endpointOptions(e, fs, cmd, warned)
	if err != nil {
		return nil, err
	}
	c, err := endpoint.Dial(fs.str("address", ""), opts)
	if err != nil {
		return nil, usagef("--address: %s", err.(*core.Error).Msg)
	}
	return c, nil
}

// endpointOptions reads the client options of the flags (token, TLS, CA, timeout).
// The server's warnings go to standard error; warned, if not nil, is set when one came.
func endpointOptions(e *env, fs *flagSet, cmd string, warned *bool) (endpoint.Options, error) {
	warn := func(msg string) {
		fmt.Fprintf(e.stderr, "%s %s: warning: %s\n", e.prog, cmd, msg)
		if warned != nil {
			*warned = true
		}
	}
	opts := endpoint.Options{TLS: fs.has("tls"), Warn: warn}
	switch {
	case fs.has("token_file") && fs.has("token_stdin"):
		return opts, usagef("give either --token_file or --token_stdin, not both")
	case fs.has("token_file"):
		path := fs.str("token_file", "")
		f, err := os.Open(path)
		if err != nil {
			return opts, usagef("--token_file: cannot read %s: %v", path, err)
		}
		opts.Token, err = endpoint.ReadToken(f)
		f.Close()
		if err != nil {
			return opts, fmt.Errorf("--token_file %s: %w", path, err)
		}
	case fs.has("token_stdin"):
		tok, err := endpoint.ReadToken(e.stdin)
		if err != nil {
			return opts, fmt.Errorf("standard input: %w", err)
		}
		opts.Token = tok
	}
	if fs.has("ca_file") {
		path := fs.str("ca_file", "")
		pem, err := os.ReadFile(path)
		if err != nil {
			return opts, usagef("--ca_file: cannot read %s: %v", path, err)
		}
		cfg, ok := endpoint.TrustConfig(pem)
		if !ok {
			return opts, usagef("--ca_file %s holds no PEM certificate", path)
		}
		opts.TLSConfig = cfg
	}
	if fs.has("timeout") {
		d, err := parseTimeout(fs)
		if err != nil {
			return opts, err
		}
		opts.Timeout, opts.RegisterTimeout = d, d
	}
	return opts, nil
}

func runRegister(e *env, fs *flagSet) error {
	var warned bool
	c, err := dialEndpoint(e, fs, "register", &warned)
	if err != nil {
		return err
	}
	defer c.Close()
	ks, err := loadEvalKey(e, fs)
	if err != nil {
		return err
	}
	u, err := endpoint.EvalKeyUpload(ks)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("the EvalKey of key set %q (%s/%s, %d bytes, sha256 %s)", ks.ID(), u.Preset, u.EvalMode, u.Size, u.SHA256)
	if !fs.has("load") {
		if err := c.RegisterKeySet(e.ctx, ks); err != nil {
			return err
		}
		switch {
		case fs.has("quiet"):
		case warned: // e.g. the server holds this key already
			fmt.Fprintf(e.stdout, "%s accepted %s with a warning (above)\n", c, what)
		default:
			fmt.Fprintf(e.stdout, "Registered %s at %s\n", what, c)
		}
		return nil
	}
	got, err := c.EnsureRegistered(e.ctx, ks)
	if err != nil {
		return err
	}
	if fs.has("quiet") {
		return nil
	}
	if got.Registered {
		fmt.Fprintf(e.stdout, "Registered %s at %s\n", what, c)
	} else {
		fmt.Fprintf(e.stdout, "%s holds %s already: not sent again\n", c, what)
	}
	for _, id := range got.Unloaded {
		fmt.Fprintf(e.stdout, "Unloaded key %q\n", id)
	}
	if got.Loaded {
		fmt.Fprintf(e.stdout, "Loaded key %q\n", ks.ID())
	} else {
		fmt.Fprintf(e.stdout, "Key %q is loaded already\n", ks.ID())
	}
	return nil
}

// loadEvalKey loads the EvalKey of the key set the location flags name.
func loadEvalKey(e *env, fs *flagSet) (*core.KeySet, error) {
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return nil, err
	}
	switch {
	case fs.has("version"):
		n, perr := strconv.Atoi(fs.str("version", ""))
		if perr != nil || n < 1 {
			return nil, usagef("--version %q; accepted: a version number (1, 2, ...)", fs.str("version", ""))
		}
		return loc.st.LoadVersion(e.ctx, loc.keyID, n, core.EvalKey)
	case loc.local != nil:
		return loc.local.LoadFrom(e.ctx, loc.dir, loc.keyID, core.ParseOptions{}, core.EvalKey)
	default:
		return loc.aws.LoadWithOptions(e.ctx, loc.keyID, core.ParseOptions{}, core.EvalKey)
	}
}

func runServerList(e *env, fs *flagSet) error {
	c, err := dialEndpoint(e, fs, "server list", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	ids, err := c.List(e.ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		fmt.Fprintln(e.stdout, id)
	}
	return nil
}

// serverKeyID returns the --key_id of a server command.
func serverKeyID(fs *flagSet, cmd string) (string, error) {
	if !fs.has("key_id") {
		return "", usagef("%s needs --key_id", cmd)
	}
	id := fs.str("key_id", "")
	if err := core.CheckKeyID(id); err != nil {
		return "", usagef("--key_id: %s", err.(*core.Error).Msg)
	}
	return id, nil
}

func runServerInfo(e *env, fs *flagSet) error {
	id, err := serverKeyID(fs, "server info")
	if err != nil {
		return err
	}
	c, err := dialEndpoint(e, fs, "server info", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.Info(e.ctx, id)
	if err != nil {
		return err
	}
	loaded := "no"
	if info.Loaded {
		loaded = "yes"
	}
	sum := info.SHA256
	if _, err := hex.DecodeString(sum); err != nil || sum == "" {
		sum = "(not given)"
	}
	fmt.Fprintf(e.stdout, "Key %q on %s\n  type %s, preset %s, eval mode %s\n  sha256 %s\n  loaded: %s\n",
		info.KeyID, c, info.Type, info.Preset, info.EvalMode, sum, loaded)
	return nil
}

// serverKeyCommand makes the run of server load, unload or delete.
func serverKeyCommand(cmd, done string, call func(*endpoint.Client, context.Context, string) error) func(*env, *flagSet) error {
	return func(e *env, fs *flagSet) error {
		id, err := serverKeyID(fs, cmd)
		if err != nil {
			return err
		}
		c, err := dialEndpoint(e, fs, cmd, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := call(c, e.ctx, id); err != nil {
			return err
		}
		if !fs.has("quiet") {
			fmt.Fprintf(e.stdout, "Key %q %s on %s\n", id, done, c)
		}
		return nil
	}
}
