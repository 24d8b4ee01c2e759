package cli

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/internal/keyserver"
)

// The reference key server for server.txtar, one per script, in the test process.
var keyservers sync.Map // *testscript.TestScript -> *keyserver.Server

// keyserver start DIR TOKENFILE starts the reference key server over DIR on a free
// loopback port and sets $ADDR to grpc://127.0.0.1:PORT; it stops when the script ends.
// keyserver streams N checks how many register_key streams it has received.
func cmdKeyserver(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: keyserver start DIR TOKENFILE | keyserver streams N")
	}
	switch {
	case args[0] == "start" && len(args) == 3:
		f, err := os.Open(ts.MkAbs(args[2]))
		ts.Check(err)
		tok, err := endpoint.ReadToken(f)
		f.Close()
		ts.Check(err)
		// The server logs from its goroutines; the script logs them when it ends.
		var mu sync.Mutex
		var logs []string
		logf := func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, fmt.Sprintf(format, a...))
		}
		srv, err := keyserver.New(keyserver.Config{Dir: ts.MkAbs(args[1]), Token: tok, Logf: logf})
		ts.Check(err)
		addr, err := srv.Start("127.0.0.1:0")
		ts.Check(err)
		ts.Defer(func() {
			srv.Stop()
			mu.Lock()
			defer mu.Unlock()
			ts.Logf("key server log:\n%s", strings.Join(logs, "\n"))
		})
		keyservers.Store(ts, srv)
		ts.Setenv("ADDR", "grpc://"+addr)
	case args[0] == "streams" && len(args) == 2:
		v, ok := keyservers.Load(ts)
		if !ok {
			ts.Fatalf("no keyserver started")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if got := v.(*keyserver.Server).Stats().RegisterStreams; got != int64(want) {
			ts.Fatalf("the key server received %d register_key streams, want %d", got, want)
		}
	default:
		ts.Fatalf("usage: keyserver start DIR TOKENFILE | keyserver streams N")
	}
}

// cmpraw RAW ENVELOPE checks that file RAW holds the decoded key_data of key file
// ENVELOPE.
func cmdCmpRaw(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmpraw RAW ENVELOPE")
	}
	raw, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := base64.StdEncoding.DecodeString(keyData(ts, args[1]))
	ts.Check(err)
	if bytes.Equal(raw, want) == neg {
		ts.Fatalf("%s holds %d bytes; the key data of %s are %d bytes (same: %v)", args[0], len(raw), args[1], len(want), !neg)
	}
}
