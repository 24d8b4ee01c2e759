package keyserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/endpointpb"
)

// upload is one key arriving: written into a temporary directory of Dir, hashed, and fed
// to core.CheckEvalKeyData as it comes, then renamed into place by commit, or removed by
// abort.
type upload struct {
	tmp   string
	f     *os.File
	h     hash.Hash
	pw    *io.PipeWriter
	done  chan error // the check's result
	check error
	ended bool // the check's result is in check
	n     uint64
	info  info
	kept  bool
}

var errAborted = errors.New("upload abandoned")

func (s *Server) newUpload(keyID string, ki *endpointpb.KeyInfo) (*upload, error) {
	tmp, err := os.MkdirTemp(s.cfg.Dir, incomingPref+keyID+"-")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(tmp, keyFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	pr, pw := io.Pipe()
	u := &upload{tmp: tmp, f: f, h: sha256.New(), pw: pw, done: make(chan error, 1),
		info: info{KeyID: keyID, Type: ki.GetType(), Preset: ki.GetPreset(), EvalMode: ki.GetEvalMode(), SHA256: ki.GetSha256Sum()}}
	go func() {
		err := core.CheckEvalKeyData(pr, ki.GetPreset(), ki.GetEvalMode())
		if err == nil {
			err = errAborted // a check that ends before the bytes do has nothing more to say
		}
		pr.CloseWithError(err) // later writes fail instead of blocking
		u.done <- err
	}()
	return u, nil
}

// write takes the next bytes of the key.
func (u *upload) write(p []byte) error {
	if _, err := u.f.Write(p); err != nil {
		return err
	}
	u.h.Write(p)
	u.n += uint64(len(p))
	_, err := u.pw.Write(p)
	return err
}

// checkErr waits for the check when it has ended early and returns its error.
func (u *upload) checkErr() error {
	if !u.ended {
		u.check, u.ended = <-u.done, true
	}
	if errors.Is(u.check, errAborted) {
		return nil
	}
	return u.check
}

// finish ends the key: the check's result, and the SHA-256 of what came.
func (u *upload) finish() (string, error) {
	u.pw.Close()
	sum := hex.EncodeToString(u.h.Sum(nil))
	if err := u.checkErr(); err != nil {
		return sum, err
	}
	if err := u.f.Sync(); err != nil {
		return sum, err
	}
	return sum, u.f.Close()
}

// commit writes the key's description and renames the directory to dst.
func (u *upload) commit(dst string) error {
	u.info.Size = int64(u.n)
	u.info.RegisteredAt = time.Now().UTC().Format(time.RFC3339)
	b, _ := json.MarshalIndent(u.info, "", "  ")
	f, err := os.OpenFile(filepath.Join(u.tmp, infoFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	syncDir(u.tmp)
	if err := os.Rename(u.tmp, dst); err != nil {
		return err
	}
	u.kept = true
	syncDir(filepath.Dir(dst))
	return nil
}

// abort removes what an upload that was not committed left.
func (u *upload) abort() {
	if u.kept {
		return
	}
	u.pw.CloseWithError(errAborted)
	if !u.ended {
		u.check, u.ended = <-u.done, true
	}
	u.f.Close()
	os.RemoveAll(u.tmp)
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
