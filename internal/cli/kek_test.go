package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/envector-keys/envector-keys/core"
)

// The KEK typed at a terminal: --seal_key_stdin prompts on standard error, reads without
// echo and restores the terminal, also when interrupted. Checked with the built binary
// on a pseudo-terminal, as a person at a terminal would run it.

// buildCLI builds cmd/envector-keygen into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "envector-keygen")
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/envector-keys/envector-keys/cmd/envector-keygen").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/envector-keygen: %v\n%s", err, out)
	}
	return bin
}

// openPTY opens a pseudo-terminal pair: the master, which plays the person typing,
// and the slave, the terminal the command sees.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	raw, err := master.SyscallConn() // ioctls without putting the master in blocking mode
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ioErr error
	if err := raw.Control(func(fd uintptr) {
		if ioErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioErr == nil { // unlockpt
			n, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN) // ptsname
		}
	}); err != nil || ioErr != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v %v", err, ioErr)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/pts/%d: %v", n, err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// terminalOutput collects what the command writes on the terminal.
type terminalOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *terminalOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func readTerminal(master *os.File) *terminalOutput {
	o := &terminalOutput{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			o.mu.Lock()
			o.buf.Write(b[:n])
			o.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return o
}

func waitForOutput(t *testing.T, o *terminalOutput, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(o.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it showed %q", want, o.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func echoOn(t *testing.T, slave *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// startOnTerminal runs bin with args, the pseudo-terminal as its standard input and
// error (and controlling terminal, so Ctrl-C typed on it interrupts it).
func startOnTerminal(t *testing.T, slave *os.File, bin string, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &stdout, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &stdout, done
}

func waitExit(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("the command did not end within a minute")
		return nil
	}
}

func TestKEKPromptOnTerminal(t *testing.T) {
	if _, err := os.Stat("/dev/ptmx"); err != nil {
		t.Fatalf("this test needs pseudo-terminals (/dev/ptmx): %v", err)
	}
	bin := buildCLI(t)
	dir := t.TempDir()
	var key [32]byte
	rand.Read(key[:])
	kekHex := hex.EncodeToString(key[:])
	kekFile := filepath.Join(dir, "kek.hex")
	if err := os.WriteFile(kekFile, []byte(kekHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(dir, "keys")
	var errOut bytes.Buffer
	if st := Main([]string{"--key_path", keys, "--key_id", "k", "--seal_mode", "aes", "--seal_key_path", kekFile, "--preset", "ip0", "--eval_mode", "single", "--dim", "32", "--quiet"}, strings.NewReader(""), &bytes.Buffer{}, &errOut); st != ExitOK {
		t.Fatalf("generate: exit status %d: %s", st, errOut.String())
	}
	verify := []string{"verify", "--key_path", keys, "--key_id", "k", "--seal_key_stdin"}

	t.Run("prompt, no echo, terminal restored", func(t *testing.T) {
		master, slave := openPTY(t)
		if !echoOn(t, slave) {
			t.Fatal("a new pseudo-terminal should echo")
		}
		out := readTerminal(master)
		_, stdout, done := startOnTerminal(t, slave, bin, verify...)
		waitForOutput(t, out, kekPrompt)
		if echoOn(t, slave) {
			t.Error("echo is on while the KEK is read")
		}
		if _, err := master.Write([]byte(kekHex + "\n")); err != nil {
			t.Fatal(err)
		}
		if err := waitExit(t, done); err != nil {
			t.Fatalf("verify with the KEK typed at the terminal: %v; terminal: %q; stdout: %q", err, out.String(), stdout.String())
		}
		if !strings.Contains(stdout.String(), "verified") || !strings.Contains(stdout.String(), "sealed keys unsealed with the KEK") {
			t.Errorf("stdout %q, want the verification", stdout.String())
		}
		time.Sleep(100 * time.Millisecond) // whatever the terminal would still echo
		if shown := out.String(); strings.Contains(shown, kekHex[:16]) {
			t.Errorf("the KEK typed was echoed: the terminal showed %q", shown)
		}
		if !echoOn(t, slave) {
			t.Error("echo is still off after the command ended: the terminal was not restored")
		}
	})

	t.Run("Ctrl-C at the prompt restores the terminal", func(t *testing.T) {
		master, slave := openPTY(t)
		out := readTerminal(master)
		_, _, done := startOnTerminal(t, slave, bin, verify...)
		waitForOutput(t, out, kekPrompt)
		if _, err := master.Write([]byte(kekHex[:10] + "\x03")); err != nil { // part of it, then Ctrl-C
			t.Fatal(err)
		}
		err := waitExit(t, done)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("after Ctrl-C: %v, want the command interrupted", err)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !(ws.Signaled() && ws.Signal() == syscall.SIGINT || ws.ExitStatus() == 130) {
			t.Errorf("after Ctrl-C: %v, want death by SIGINT", err)
		}
		if !echoOn(t, slave) {
			t.Error("echo is still off after Ctrl-C: the terminal was not restored")
		}
		if strings.Contains(out.String(), kekHex[:10]) {
			t.Errorf("what was typed was echoed: %q", out.String())
		}
	})
}

// TestWeakKEK covers the forms the scripts cannot write (32 raw bytes and no newline)
// and random keys in every form, which must not warn.
func TestWeakKEK(t *testing.T) {
	var random [32]byte
	rand.Read(random[:])
	for _, c := range []struct {
		name, data, want string
	}{
		{"password, no newline", "correct horse battery staple!!!!", "32 characters of text"},
		{"password, newline", "correct horse battery staple!!!!\n", "32 characters of text"},
		{"pattern", strings.Repeat("\x01\x02", 16), "only 2 distinct values"},
		{"random raw", string(random[:]), ""},
		{"random hex", hex.EncodeToString(random[:]) + "\n", ""},
		{"not a KEK", "short", ""},
	} {
		var errOut bytes.Buffer
		e := &env{prog: "envector-keygen", stderr: &errOut}
		fs := newFlagSet(nil)
		fs.cmd = "verify"
		if k, err := core.ParseKEK([]byte(c.data)); err == nil {
			warnWeakKEK(e, fs, "the KEK", k)
		}
		got := errOut.String()
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s: warned %q, want nothing", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s: warned %q, want %q", c.name, got, c.want)
		case c.want != "" && strings.Contains(got, strings.TrimSpace(c.data)):
			t.Errorf("%s: the warning shows the KEK: %q", c.name, got)
		}
	}
}
