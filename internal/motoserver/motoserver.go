// Package motoserver starts moto (https://github.com/getmoto/moto) in server mode for
// tests: a local imitation of S3 and Secrets Manager that the real AWS SDK talks to over
// loopback HTTP. It is test support only; nothing in the product imports it.
package motoserver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Install says how to get moto_server, for messages.
const Install = "install it at the module root with: python3 -m venv build/venv && build/venv/bin/pip install 'moto[server]>=5.1.14' (make deps does this; or set MOTO_SERVER to the path of moto_server)"

// Region is the region tests use with moto.
const Region = "us-east-1"

// Server is one running moto_server process.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	exited chan error
}

// Find returns $MOTO_SERVER, else build/venv/bin/moto_server under the module root
// (found from the working directory upwards), else moto_server on PATH.
func Find() (string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("MOTO_SERVER=%s is not an executable file; %s", p, Install)
		}
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				p := filepath.Join(dir, "build", "venv", "bin", "moto_server")
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if dir == filepath.Dir(dir) {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", errors.New("moto_server not found (not in $MOTO_SERVER, build/venv/bin or PATH); " + Install)
}

// Start finds moto_server and starts it on a free loopback port, waiting until it
// answers. A port found free may be taken before moto binds it, so it tries three.
func Start() (*Server, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s, err := launch(path)
		if err == nil || attempt == 2 {
			return s, err
		}
	}
}

func launch(path string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	out := &boundedBuffer{}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop ends the whole group
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v; %s", path, err, Install)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("%s exited (%v) before answering on port %d:\n%s", path, err, port, out.String())
		default:
		}
		if resp, err := client.Get(s.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return s, nil
		}
	}
	s.kill(syscall.SIGKILL)
	return nil, fmt.Errorf("%s did not answer on %s within 60 s", path, s.URL)
}

func (s *Server) kill(sig syscall.Signal) {
	syscall.Kill(-s.cmd.Process.Pid, sig)
}

// Stop ends the server (and waits for it). It is safe to call on a nil Server.
func (s *Server) Stop() {
	if s == nil || s.cmd == nil {
		return
	}
	s.kill(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.kill(syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

// Reset empties the server: no bucket, no secret.
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("resetting moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s", resp.Status)
	}
	return nil
}

// Env is the environment that points the AWS SDK at the server with dummy
// credentials and nothing from the user's own AWS configuration. An empty value means
// the variable is to be unset.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
		"AWS_REGION":                       Region,
		"AWS_ENDPOINT_URL":                 s.URL,
		"AWS_ENDPOINT_URL_S3":              s.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": s.URL,
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":      os.DevNull,
		"AWS_SESSION_TOKEN":                "",
		"AWS_PROFILE":                      "",
	}
}

// SetEnv applies Env to this process.
func (s *Server) SetEnv() {
	for k, v := range s.Env() {
		if v == "" {
			os.Unsetenv(k)
		} else {
			os.Setenv(k, v)
		}
	}
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared starts one server per process, on first use, with SetEnv applied; later calls
// return the same server (or the same error). StopShared ends it.
func Shared() (*Server, error) {
	shared.once.Do(func() {
		if shared.srv, shared.err = Start(); shared.err == nil {
			shared.srv.SetEnv()
		}
	})
	return shared.srv, shared.err
}

// StopShared stops the server Shared started, if any; call it from TestMain.
func StopShared() { shared.srv.Stop() }

// boundedBuffer keeps the first 64 KiB of moto's output, shown only if it fails to
// start.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<16 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
