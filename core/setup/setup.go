// Package setup is the one init flow of envector-keys, as enVector's SDK runs it when a
// client starts: find the key set of a key id in a store or, with auto key setup, make
// it (sealed under a KEK when one is given) and save it; then, when a server is named,
// make that server's key endpoint hold and use its EvalKey (register it if absent,
// unload the other keys, load it). The CLI's init command and the C ABI's envector_init,
// and through it the Python and Node init functions, all run Init.
//
// Init is safe to run from several processes at once for one key id: one saves its key
// set, the others find the store taken (core.ErrExists from Save) and use the winner's
// set; the server stores the EvalKey once.
package setup

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/endpoint"
	"github.com/envector-keys/envector-keys/core/store"
)

// Endpoint names the enVector server whose key endpoint receives the EvalKey.
type Endpoint struct {
	// Address is host:port (TLS when Options.TLS is set), grpc://host:port (plaintext)
	// or grpcs://host:port (TLS); "" registers nothing.
	Address string
	// Options are the client's: bearer token, TLS, timeouts. Warn, if set, also receives
	// the server's warnings (Result.Warnings lists them anyway).
	endpoint.Options
}

// String names the address and options, never the token.
func (e Endpoint) String() string {
	return fmt.Sprintf("setup.Endpoint{Address: %q, %s}", e.Address, e.Options)
}

// GoString is String: %#v hides the token too.
func (e Endpoint) GoString() string { return e.String() }

// Options choose what Init does.
type Options struct {
	// Store is where the key set lives (required).
	Store store.Store
	// KeyID is the key set's id (required; see core.CheckKeyID).
	KeyID string
	// AutoKeySetup makes, seals and saves the key set when the store has none under
	// KeyID. Without it a missing key set is a core.ErrNotFound.
	AutoKeySetup bool
	// Generate makes a new key set: parameters, metadata encryption, lifetime,
	// requester, seed (tests). Its KeyID must be "" or KeyID.
	Generate core.GenerateOptions
	// KEK seals a key set Init makes. A sealed key set found in the store must open
	// under it (its MACs are checked and its SecKey unsealed, then wiped); a sealed set
	// found with no KEK, or an unsealed one found with a KEK, is core.ErrInvalidArgument.
	KEK *core.KEK
	// Endpoint, when its Address is set, is the server to register the EvalKey with.
	Endpoint Endpoint
}

// Registration says what Init did at the server (endpoint.EnsureRegistered).
type Registration struct {
	Address    string   `json:"address"`    // grpc://host:port or grpcs://host:port
	Registered bool     `json:"registered"` // the EvalKey was sent now (false: the server held it, same SHA-256)
	Unloaded   []string `json:"unloaded"`   // the other keys that were loaded and have been unloaded
	Loaded     bool     `json:"loaded"`     // the key was loaded now (false: it was loaded already)
}

// Result is what Init found or made. It holds no key material.
type Result struct {
	KeyID              string
	Created            bool            // this call made and saved the key set
	Sealed             bool            // its secret keys are sealed
	Version            int             // its version under the key id (1 until rotated)
	Parameters         core.Parameters // as the key set records them
	MetadataEncryption bool            // it has a MetadataKey
	EvalKeySHA256      string          // hex SHA-256 of the raw EvalKey (what register_key sends)
	EvalKeySize        int64           // its length in bytes
	Endpoint           *Registration   // nil when no address was given
	Warnings           []string        // the server's warnings (successes with a message)
	// RegistrationInfo is what the bindings' register callbacks receive: key_id,
	// preset, eval_mode, dim_list (our names, lower case), envector_preset and
	// envector_eval_mode (enVector's, e.g. "IP3", "MM32"), created, sealed,
	// eval_key_sha256 (hex) and eval_key_size.
	RegistrationInfo map[string]any
}

// MarshalJSON writes the result as envector_init returns it (include/envector.h).
func (r *Result) MarshalJSON() ([]byte, error) {
	dims := r.Parameters.Dims
	if dims == nil {
		dims = []int{}
	}
	warnings := r.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	return json.Marshal(struct {
		KeyID              string         `json:"key_id"`
		Created            bool           `json:"created"`
		Sealed             bool           `json:"sealed"`
		Version            int            `json:"version"`
		Preset             string         `json:"preset"`
		EvalMode           string         `json:"eval_mode"`
		DimList            []int          `json:"dim_list"`
		MetadataEncryption bool           `json:"metadata_encryption"`
		EvalKeySHA256      string         `json:"eval_key_sha256"`
		EvalKeySize        int64          `json:"eval_key_size"`
		Endpoint           *Registration  `json:"endpoint"`
		Warnings           []string       `json:"warnings"`
		RegistrationInfo   map[string]any `json:"registration_info"`
	}{r.KeyID, r.Created, r.Sealed, r.Version, r.Parameters.Preset.String(), r.Parameters.EvalMode.String(), dims,
		r.MetadataEncryption, r.EvalKeySHA256, r.EvalKeySize, r.Endpoint, warnings, r.RegistrationInfo})
}

const op = "init"

// afterGenerate, when set (tests), runs after Init has generated a key set and before
// it saves it.
var afterGenerate func(keyID string)

// Init finds key set o.KeyID in o.Store, or with o.AutoKeySetup makes, seals (under
// o.KEK, when given) and saves it; then, when o.Endpoint.Address is set, makes that
// server hold and use its EvalKey (endpoint.Client.EnsureRegistered). Only an active,
// unexpired key set is used: another is core.ErrInactive, never replaced. When the
// registration fails and this call made the key set, the set is deleted again (AWS
// secrets at once), and so is its EvalKey at the server if this call sent it, so that
// the next Init starts clean; the error says so and keeps the registration's kind
// (errors.Is(err, core.ErrAuth) for a wrong token). A key set Init found is never
// deleted.
func Init(ctx context.Context, o Options) (*Result, error) {
	if o.Store == nil {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "no store given")
	}
	if err := core.CheckKeyID(o.KeyID); err != nil {
		return nil, err
	}
	if o.Generate.KeyID != "" && o.Generate.KeyID != o.KeyID {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "the generate options name key id %q, not %q; leave it empty", o.Generate.KeyID, o.KeyID)
	}

	// The server's client first: a bad address or token fails before any work.
	var client *endpoint.Client
	var mu sync.Mutex
	var warnings []string
	if o.Endpoint.Address != "" {
		eo := o.Endpoint.Options
		userWarn := eo.Warn
		eo.Warn = func(msg string) {
			mu.Lock()
			warnings = append(warnings, msg)
			mu.Unlock()
			if userWarn != nil {
				userWarn(msg)
			}
		}
		var err error
		if client, err = endpoint.Dial(o.Endpoint.Address, eo); err != nil {
			return nil, err
		}
		defer client.Close()
	}

	ks, created, err := findOrCreate(ctx, o)
	if err != nil {
		return nil, err
	}
	defer ks.Wipe()
	res, err := describe(ks, created)
	if err != nil {
		return nil, err
	}
	if client != nil {
		// A key set found was loaded without its public keys' bytes: the EvalKey is read
		// again, whole, only when the server does not hold it yet.
		var load func(context.Context) (*core.KeySet, error)
		if !created {
			load = func(ctx context.Context) (*core.KeySet, error) { return o.Store.Load(ctx, o.KeyID, core.EvalKey) }
		}
		got, err := client.EnsureRegisteredFrom(ctx, ks, load)
		if err != nil {
			if created {
				err = undo(ctx, o, client, got, err)
			}
			return nil, err
		}
		res.Endpoint = &Registration{Address: client.String(), Registered: got.Registered, Unloaded: got.Unloaded, Loaded: got.Loaded}
		if res.Endpoint.Unloaded == nil {
			res.Endpoint.Unloaded = []string{}
		}
	}
	mu.Lock()
	res.Warnings = warnings
	mu.Unlock()
	return res, nil
}

// loadFound reads the key set for Init: active only, the public keys' digests checked
// as they stream by but their bytes not kept (an MM32 EvalKey is 1.2 GB).
func loadFound(ctx context.Context, o Options) (*core.KeySet, error) {
	return o.Store.LoadWithOptions(ctx, o.KeyID, core.ParseOptions{SkipKeyData: true})
}

// findOrCreate loads the key set, or makes and saves it; created says which.
func findOrCreate(ctx context.Context, o Options) (ks *core.KeySet, created bool, err error) {
	ks, err = loadFound(ctx, o)
	switch {
	case err == nil:
		if err := checkKEK(ks, o.KEK); err != nil {
			ks.Wipe()
			return nil, false, err
		}
		return ks, false, nil
	case !errors.Is(err, core.ErrNotFound):
		return nil, false, err // ErrInactive among others: surfaced as it is
	case !o.AutoKeySetup:
		return nil, false, core.Wrap(core.ErrNotFound, op, err, "there is no key set %q and auto key setup is off, so none is made: create it first (envector-keygen generate --key_id %s, or KeyGenerator in Python and Node), or run init with auto key setup on", o.KeyID, o.KeyID)
	}

	g := o.Generate
	g.KeyID = o.KeyID
	made, err := core.Generate(g)
	if err != nil {
		return nil, false, err
	}
	if afterGenerate != nil {
		afterGenerate(o.KeyID)
	}
	if o.KEK != nil {
		sealed, err := made.Seal(o.KEK)
		made.Wipe()
		if err != nil {
			return nil, false, err
		}
		made = sealed
	}
	err = o.Store.Save(ctx, made)
	if err == nil {
		return made, true, nil
	}
	made.Wipe()
	if !errors.Is(err, core.ErrExists) {
		return nil, false, err
	}
	// Another process saved this key id first: use its key set.
	won, lerr := loadWinner(ctx, o)
	if lerr != nil {
		if errors.Is(lerr, core.ErrNotFound) {
			return nil, false, core.Wrap(core.ErrExists, op, err, "key id %q is taken in the store, but no complete key set is there (a save under way elsewhere, or one left incomplete: list shows it, delete removes it)", o.KeyID)
		}
		return nil, false, lerr
	}
	if err := checkKEK(won, o.KEK); err != nil {
		won.Wipe()
		return nil, false, err
	}
	return won, false, nil
}

// loadWinner loads the key set another process saved. The local store moves a whole
// set into place at once; a store that writes a set in several steps (AWS) may show it
// incomplete for a moment: a few tries, about 3 s in all.
func loadWinner(ctx context.Context, o Options) (*core.KeySet, error) {
	_, local := o.Store.(*store.Local)
	wait := 50 * time.Millisecond
	for try := 0; ; try++ {
		ks, err := loadFound(ctx, o)
		if err == nil || !errors.Is(err, core.ErrNotFound) || local || try == 6 {
			return ks, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// checkKEK checks a key set found in the store against the KEK Init was given.
func checkKEK(ks *core.KeySet, kek *core.KEK) error {
	switch {
	case ks.Sealed() && kek == nil:
		return core.Errorf(core.ErrInvalidArgument, op, "the secret keys of key set %q are sealed: give the KEK they are sealed under (seal mode aes with its KEK), so that init can check it opens them", ks.ID())
	case !ks.Sealed() && kek != nil:
		return core.Errorf(core.ErrInvalidArgument, op, "key set %q is stored unsealed, but a KEK was given (seal mode aes): its secret keys are not under that KEK; give no KEK, or seal the stored set first (reseal)", ks.ID())
	case kek == nil:
		return nil
	}
	if err := ks.Authenticate(kek); err != nil {
		return err
	}
	if !ks.Has(core.SecKey) {
		return nil
	}
	sec, err := ks.Subset(core.SecKey)
	if err != nil {
		return err
	}
	if !sec.Sealed() {
		return nil
	}
	open, err := sec.Unseal(kek)
	if err != nil {
		return err
	}
	open.WipeUnshared(ks)
	return nil
}

// describe makes the Result of key set ks.
func describe(ks *core.KeySet, created bool) (*Result, error) {
	size, sum, err := ks.KeyDataDigest(core.EvalKey)
	if err != nil {
		return nil, err
	}
	p := ks.Parameters()
	dims := append([]int{}, p.Dims...)
	r := &Result{
		KeyID: ks.ID(), Created: created, Sealed: ks.Sealed(), Version: ks.Version(), Parameters: p,
		MetadataEncryption: ks.Has(core.MetadataKey), EvalKeySHA256: hex.EncodeToString(sum[:]), EvalKeySize: size,
	}
	r.RegistrationInfo = map[string]any{
		"key_id":             r.KeyID,
		"preset":             p.Preset.String(),
		"eval_mode":          p.EvalMode.String(),
		"dim_list":           dims,
		"envector_preset":    p.Preset.Name(),
		"envector_eval_mode": string(p.EvalMode),
		"created":            created,
		"sealed":             r.Sealed,
		"eval_key_sha256":    r.EvalKeySHA256,
		"eval_key_size":      size,
	}
	return r, nil
}

// undo deletes what Init made once its registration failed: the key set, and the
// EvalKey at the server if it was sent. The error keeps regErr's kind and says what
// was undone.
func undo(ctx context.Context, o Options, c *endpoint.Client, got endpoint.Ensured, regErr error) error {
	// Even when ctx is done (the registration was cancelled), clean up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	done := fmt.Sprintf("key set %q was made by this call and its EvalKey could not be registered with %s, so", o.KeyID, c)
	if got.Registered {
		_ = c.Unload(ctx, o.KeyID) // it may have been loaded by another caller meanwhile
		if err := c.Delete(ctx, o.KeyID); err != nil && !errors.Is(err, core.ErrNotFound) {
			done += fmt.Sprintf(" its EvalKey at the server could not be deleted there (%v: delete it with 'envector-keygen server delete') and", err)
		} else {
			done += " its EvalKey was deleted at the server and"
		}
	}
	if err := o.Store.Delete(ctx, o.KeyID, store.DeleteOptions{Immediate: true}); err != nil {
		done += fmt.Sprintf(" it was to be deleted from the store again, which failed too (%v): delete it ('envector-keygen delete --key_id %s') before the next init", err, o.KeyID)
	} else {
		done += " it was deleted from the store again; the next init starts clean"
	}
	return &core.Error{Kind: core.KindOf(regErr), Op: op, Msg: done, Err: regErr}
}
