package keyserver

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/envector-keys/envector-keys/core/endpoint"
)

// TokenEnv is the environment variable that gives the token when --token_file does not.
const TokenEnv = "ENVECTOR_KEYSERVER_TOKEN"

// Main runs the envector-keyserver command (args without the program name) until
// SIGINT or SIGTERM, and returns the exit status: 0, 1 on a failure, 2 on a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("envector-keyserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen, dir, tokenFile, certFile, keyFile string
	var maxLoaded int
	var quiet bool
	both := func(name string, fn func(string)) { // --token_file and --token-file
		fn(name)
		if dash := strings.ReplaceAll(name, "_", "-"); dash != name {
			fn(dash)
		}
	}
	both("listen", func(n string) {
		fs.StringVar(&listen, n, "127.0.0.1:50051", "host:port to listen on (port 0: any free port)")
	})
	both("dir", func(n string) {
		fs.StringVar(&dir, n, "", "directory of the registered keys (required; made if absent)")
	})
	both("token_file", func(n string) {
		fs.StringVar(&tokenFile, n, "", "file holding the bearer token callers must present (default: $"+TokenEnv+")")
	})
	both("tls_cert", func(n string) { fs.StringVar(&certFile, n, "", "PEM certificate: serve TLS (with --tls_key)") })
	both("tls_key", func(n string) { fs.StringVar(&keyFile, n, "", "PEM private key of --tls_cert") })
	both("max_loaded", func(n string) { fs.IntVar(&maxLoaded, n, 1, "how many keys may be loaded at once") })
	fs.BoolVar(&quiet, "quiet", false, "log nothing per call")
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "envector-keyserver: "+format+"\nRun 'envector-keyserver --help' for the flags.\n", a...)
		return 2
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q (every option is a --flag)", fs.Arg(0))
	}
	if dir == "" {
		return usage("--dir is required")
	}
	if (certFile == "") != (keyFile == "") {
		return usage("--tls_cert and --tls_key go together")
	}
	var token string
	var err error
	switch {
	case tokenFile != "":
		var f *os.File
		if f, err = os.Open(tokenFile); err == nil {
			token, err = endpoint.ReadToken(f)
			f.Close()
		}
	case os.Getenv(TokenEnv) != "":
		token, err = endpoint.ReadToken(strings.NewReader(os.Getenv(TokenEnv)))
	default:
		return usage("a bearer token is required: --token_file FILE or $%s", TokenEnv)
	}
	if err != nil {
		fmt.Fprintf(stderr, "envector-keyserver: token: %v\n", err)
		return 1
	}
	cfg := Config{Dir: dir, Token: token, MaxLoaded: maxLoaded}
	if !quiet {
		cfg.Logf = func(format string, a ...any) { fmt.Fprintf(stderr, "envector-keyserver: "+format+"\n", a...) }
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "envector-keyserver: TLS certificate: %v\n", err)
			return 1
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "envector-keyserver: %v\n", err)
		return 1
	}
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "envector-keyserver: listening on %s: %v\n", listen, err)
		return 1
	}
	scheme := "grpc"
	if cfg.TLS != nil {
		scheme = "grpcs"
	}
	fmt.Fprintf(stdout, "envector-keyserver: serving %s://%s (keys in %s)\n", scheme, lis.Addr(), dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); srv.Stop() }()
	if err := srv.Serve(lis); err != nil {
		fmt.Fprintf(stderr, "envector-keyserver: %v\n", err)
		return 1
	}
	return 0
}
