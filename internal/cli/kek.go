package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/envector-keys/envector-keys/core"
)

// Reading a KEK: from a file (--seal_key_path, --new_seal_key_path) or standard input
// (--seal_key_stdin), where a terminal gets a prompt and no echo. A file others can
// read, or a KEK that looks typed rather than random, gets a warning on standard error;
// the command still runs. No warning or error ever shows the KEK.

// kekPrompt is shown on standard error when the KEK is read from a terminal.
const kekPrompt = "KEK (64 hex characters, 44 base64 characters or 32 raw bytes): "

// maxKEKInput bounds what is read of a KEK (core.ReadKEK's bound: one byte over it
// makes its "over 4096 bytes" error).
const maxKEKInput = 4096

// makeKEKHint says how to make a random KEK.
const makeKEKHint = "head -c 32 /dev/urandom | xxd -p -c 64 > kek.hex"

// readKEK reads the KEK from --seal_key_path or --seal_key_stdin; nil if neither.
func readKEK(e *env, fs *flagSet) (*core.KEK, error) {
	return readKEKFlags(e, fs, "seal_key_path", "seal_key_stdin")
}

// readKEKFlags reads a KEK from the file of flag pathFlag or, with flag stdinFlag, from
// standard input (e.g. new_seal_key_path, new_seal_key_stdin); nil if neither is given.
func readKEKFlags(e *env, fs *flagSet, pathFlag, stdinFlag string) (*core.KEK, error) {
	switch {
	case fs.has(pathFlag) && fs.has(stdinFlag):
		return nil, usagef("give either --%s or --%s, not both", pathFlag, stdinFlag)
	case fs.has(pathFlag):
		return readKEKFile(e, fs, fs.str(pathFlag, ""))
	case fs.has(stdinFlag):
		prompt := kekPrompt
		if strings.HasPrefix(stdinFlag, "new_") {
			prompt = "New " + prompt
		}
		return readKEKStdin(e, fs, prompt)
	}
	return nil, nil
}

// readKEKFile reads a KEK file (the errors are core.ReadKEKFile's), warning when others
// may read or write it or when the KEK looks typed.
func readKEKFile(e *env, fs *flagSet, path string) (*core.KEK, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, core.Errorf(core.ErrNotFound, "kek", "KEK file %s does not exist", path)
		}
		return nil, core.Wrap(core.ErrIO, "kek", err, "opening KEK file %s", path)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		warnKEKFileMode(e, fs, path, fi.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKEKInput+1))
	defer clear(data)
	if err != nil {
		return nil, core.Wrap(core.ErrIO, "kek", err, "reading KEK file %s", path)
	}
	k, err := core.ReadKEK(bytes.NewReader(data))
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			return nil, core.Wrap(ce.Kind, "kek", nil, "KEK file %s: %s", path, ce.Msg)
		}
		return nil, core.Wrap(core.KindOf(err), "kek", err, "KEK file %s", path)
	}
	warnWeakKEK(e, fs, "KEK file "+shellQuote(path), k)
	return k, nil
}

// readKEKStdin reads the KEK from standard input: from a terminal after a prompt, with
// no echo; from anything else as it comes, with no prompt.
func readKEKStdin(e *env, fs *flagSet, prompt string) (*core.KEK, error) {
	var data []byte
	var err error
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		data, err = readNoEcho(int(f.Fd()), e.stderr, prompt)
	} else {
		data, err = io.ReadAll(io.LimitReader(e.stdin, maxKEKInput+1))
	}
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("standard input: %w", core.Wrap(core.ErrIO, "kek", err, "reading the KEK"))
	}
	k, err := core.ReadKEK(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("standard input: %w", err)
	}
	warnWeakKEK(e, fs, "the KEK on standard input", k)
	return k, nil
}

// readNoEcho prints prompt on w and reads a line from terminal fd without echoing it
// (term.ReadPassword). Echo is turned off before the prompt shows, so nothing typed
// after it appears. The terminal is restored afterwards, and also when the process is
// interrupted (Ctrl-C, SIGTERM, SIGHUP, Ctrl-\): it then dies of the signal as usual.
func readNoEcho(fd int, w io.Writer, prompt string) ([]byte, error) {
	old, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	stop := restoreOnSignal(fd, old, w)
	defer stop()
	defer term.Restore(fd, old)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return nil, err
	}
	fmt.Fprint(w, prompt)
	line, err := term.ReadPassword(fd)
	fmt.Fprintln(w) // the newline typed was not echoed either
	if errors.Is(err, io.EOF) {
		err = nil // Ctrl-D: what was typed, if anything, is the answer
	}
	return line, err
}

// restoreOnSignal restores terminal fd to old when an interrupting signal comes, then
// lets the signal end the process as it would have; stop ends the watch.
func restoreOnSignal(fd int, old *term.State, w io.Writer) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case s := <-sigs:
			term.Restore(fd, old)
			fmt.Fprintln(w)
			sig := s.(syscall.Signal)
			signal.Reset(sig)
			syscall.Kill(syscall.Getpid(), sig)
			// Should the signal be handled elsewhere (a host process), end anyway.
			time.Sleep(time.Second)
			os.Exit(128 + int(sig))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}

// warnKEKFileMode warns when the group or others may read or write KEK file path.
func warnKEKFileMode(e *env, fs *flagSet, path string, perm os.FileMode) {
	if perm&0o066 == 0 {
		return
	}
	var who, what []string
	if perm&0o060 != 0 {
		who = append(who, "its group")
	}
	if perm&0o006 != 0 {
		who = append(who, "other users")
	}
	if perm&0o044 != 0 {
		what = append(what, "read")
	}
	if perm&0o022 != 0 {
		what = append(what, "change")
	}
	warnf(e, fs, "KEK file %s has mode %04o: %s can %s it; a KEK file must be open to its owner only: chmod 600 %s",
		shellQuote(path), perm, strings.Join(who, " and "), strings.Join(what, " and "), shellQuote(path))
}

// warnWeakKEK warns when the KEK k does not look random (core.KEK.Weakness says why);
// what names where it came from.
func warnWeakKEK(e *env, fs *flagSet, what string, k *core.KEK) {
	if why := k.Weakness(); why != "" {
		warnf(e, fs, "%s does not look like a random key: %s. A KEK should be 32 random bytes; make one with: %s (and move sealed keys to it with reseal --new_seal_key_path kek.hex)",
			what, why, makeKEKHint)
	}
}

// warnf writes a warning on standard error: "envector-keygen verify: warning: ...".
func warnf(e *env, fs *flagSet, format string, args ...any) {
	who := e.prog
	if who == "" {
		who = defaultProg
	}
	if fs.cmd != "" {
		who += " " + fs.cmd
	}
	fmt.Fprintf(e.stderr, "%s: warning: %s\n", who, sprintf(format, args...))
}

// shellQuote returns path as it can be pasted into a shell command.
func shellQuote(path string) string {
	safe := path != ""
	for _, r := range path {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
