package endpoint

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"time"

	"github.com/envector-keys/envector-keys/core"
)

// EvalKeyUpload describes the EvalKey of ks as register_key sends it: the key id,
// enVector's names of the preset and eval mode (e.g. "IP3", "MM32"), the raw key's
// length and hex SHA-256. Data is left nil (RegisterKeySet streams the key). A key set
// in the envector-keys 0.1 layout (lattigo), one without an EvalKey, or one that is not
// active is refused: enVector cannot use it.
func EvalKeyUpload(ks *core.KeySet) (Upload, error) {
	const op = "endpoint.EvalKeyUpload"
	if !ks.Has(core.EvalKey) {
		return Upload{}, core.Errorf(core.ErrNotFound, op, "key set %q holds no EvalKey", ks.ID())
	}
	p := ks.Parameters()
	if p.Preset.KeyFormat() != "evi" {
		return Upload{}, core.Errorf(core.ErrInvalidArgument, op, "key set %q is in the envector-keys 0.1 layout (%s): enVector takes EvalKeys in its own layout; make a new key set (rotate)", ks.ID(), p.Preset.KeyFormat())
	}
	if err := ks.CheckUsable(time.Now()); err != nil {
		return Upload{}, err
	}
	size, sum, err := ks.KeyDataDigest(core.EvalKey)
	if err != nil {
		return Upload{}, err
	}
	return Upload{KeyID: ks.ID(), Type: "EvalKey", Preset: p.Preset.Name(), EvalMode: string(p.EvalMode),
		Size: size, SHA256: hex.EncodeToString(sum[:])}, nil
}

// RegisterKeySet registers the EvalKey of ks, streamed from the key set (a generated MM
// or MM32 EvalKey not yet in memory is made twice: once to hash it, once to send it).
func (c *Client) RegisterKeySet(ctx context.Context, ks *core.KeySet) error {
	u, err := EvalKeyUpload(ks)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := ks.WriteKeyData(core.EvalKey, pw)
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	u.Data = pr
	err = c.Register(ctx, u)
	pr.CloseWithError(errRegisterDone) // stops the writer if Register stopped early
	<-done
	return err
}

var errRegisterDone = errors.New("register_key has ended")

// Ensured says what EnsureRegistered did.
type Ensured struct {
	Registered bool     // the EvalKey was sent and accepted (false: the server had it, with the same SHA-256, before this call looked)
	Unloaded   []string // the other keys that were loaded and have been unloaded
	Loaded     bool     // the key was loaded (false: it was loaded already)
}

// EnsureRegistered makes the server hold and use the EvalKey of ks, as the single-key
// init of enVector's reference client does: it lists the registered keys and registers
// the EvalKey only if its key id is absent; when present, it compares the server's
// SHA-256 with ours and fails with an ErrExists *Error on a mismatch (or when the
// server reports none) instead of sending it again. It then unloads every other loaded
// key and loads this one. Two callers at once for one key id are safe: the server
// serializes registrations of a key id, and the second finds the key there (a Warning)
// or registered with another digest (ErrExists).
func (c *Client) EnsureRegistered(ctx context.Context, ks *core.KeySet) (Ensured, error) {
	return c.EnsureRegisteredFrom(ctx, ks, nil)
}

// EnsureRegisteredFrom is EnsureRegistered for a key set that may hold only its
// EvalKey's digest (loaded with core.ParseOptions.SkipKeyData), so that an EvalKey the
// server holds already is never read into memory: when the key must be sent, load gives
// a key set holding the EvalKey's bytes, which must have the same size and SHA-256
// (ErrExists otherwise: the stored set changed meanwhile). A nil load sends ks itself.
func (c *Client) EnsureRegisteredFrom(ctx context.Context, ks *core.KeySet, load func(context.Context) (*core.KeySet, error)) (Ensured, error) {
	var out Ensured
	u, err := EvalKeyUpload(ks)
	if err != nil {
		return out, err
	}
	ids, err := c.List(ctx)
	if err != nil {
		return out, err
	}
	loaded := false
	if slices.Contains(ids, u.KeyID) {
		info, err := c.Info(ctx, u.KeyID)
		if err != nil {
			return out, err
		}
		if err := c.sameKey(u, info); err != nil {
			return out, err
		}
		loaded = info.Loaded
	} else {
		err := c.registerFrom(ctx, u, ks, load)
		if errors.Is(err, core.ErrExists) { // registered meanwhile, by another caller
			info, ierr := c.Info(ctx, u.KeyID)
			if ierr != nil {
				return out, err
			}
			if serr := c.sameKey(u, info); serr != nil {
				return out, serr
			}
			err = nil
		} else {
			out.Registered = err == nil
		}
		if err != nil {
			return out, err
		}
	}
	for _, id := range ids {
		if id == u.KeyID {
			continue
		}
		info, err := c.Info(ctx, id)
		if errors.Is(err, core.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return out, err
		}
		if !info.Loaded {
			continue
		}
		if err := c.Unload(ctx, id); err != nil && !errors.Is(err, core.ErrNotFound) {
			return out, err
		}
		out.Unloaded = append(out.Unloaded, id)
	}
	if !loaded {
		if err := c.Load(ctx, u.KeyID); err != nil {
			return out, err
		}
		out.Loaded = true
	}
	return out, nil
}

// registerFrom registers the EvalKey u describes: from ks, or from the key set load
// gives, which must hold the same EvalKey.
func (c *Client) registerFrom(ctx context.Context, u Upload, ks *core.KeySet, load func(context.Context) (*core.KeySet, error)) error {
	if load == nil {
		return c.RegisterKeySet(ctx, ks)
	}
	full, err := load(ctx)
	if err != nil {
		return err
	}
	fu, err := EvalKeyUpload(full)
	if err != nil {
		return err
	}
	if fu.SHA256 != u.SHA256 || fu.Size != u.Size {
		return c.localError("register_key", u.KeyID, core.ErrExists, nil, "the stored key set changed while this call ran (EvalKey sha256 %s, now %s); nothing was sent: run it again", u.SHA256, fu.SHA256)
	}
	return c.RegisterKeySet(ctx, full)
}

// sameKey checks that the server's key is ours.
func (c *Client) sameKey(u Upload, info KeyInfo) error {
	const op = "get_key_info"
	switch {
	case info.SHA256 == "":
		return c.localError(op, u.KeyID, core.ErrExists, nil, "key id is registered, and the server gives no sha256sum to tell whether it is this EvalKey (%s); delete it there or use another key id", u.SHA256)
	case info.SHA256 != u.SHA256:
		return c.localError(op, u.KeyID, core.ErrExists, nil, "key id is registered with another EvalKey (server sha256 %s, ours %s); delete it there or use another key id", info.SHA256, u.SHA256)
	}
	return nil
}
