// Package core makes, checks and protects the key sets of enVector, the encrypted
// vector-search system (CKKS homomorphic encryption). It is pure Go (no cgo, no network,
// no files except those a caller names); the stores (core/store), the C library, the
// Python and Node bindings and the CLI are all built on it, so every language gets the
// same keys and the same checks.
//
// # Key sets
//
// A KeySet is the keys of one key id: SecKey (the CKKS secret key), EncKey (the public
// encryption key), EvalKey (the evaluation keys the server computes with) and, with
// metadata encryption (the default), MetadataKey (an AES-256 key for metadata).
// Generate makes one from a Preset, an EvalMode and dims (enVector's parameters, number
// for number); Verify proves by algebra under the SecKey that the keys belong together
// and returns a Report. A KeySet is immutable (Seal, Unseal, ChangeState return new
// ones) and safe to share between goroutines; Wipe zeroes its secrets when done.
//
// # Envelopes
//
// Every key is stored as an envelope: the JSON document enVector's own SDK (pyenvector)
// writes and reads, byte for byte the key file <key_id>/<Role>.json of the local store
// and the blob of the AWS store, so each SDK reads the other's keys. Blob and WriteBlob
// write it; ParseKeySet and ReadKeySet read it and reject, with an error saying what was
// wrong, anything that does not check out: an unknown format, a missing field, a digest
// or binding mismatch (keys of different sets mixed), a key that is not active or has
// expired (unless ParseOptions.AllowInactive).
//
// # Sealing
//
// Seal encrypts SecKey and MetadataKey with AES-256-GCM under a KEK (a 32-byte
// key-encryption key: ReadKEKFile, ParseKEK, GenerateKEK), bound to the key id, role and
// parameters; EncKey and EvalKey are public and never sealed. Unseal with the wrong KEK
// fails with ErrAuth and changes nothing.
//
// # Errors
//
// Every error is an *Error with a Kind (ErrInvalidArgument, ErrNotFound, ErrExists,
// ErrAuth, ErrCorrupt, ErrIO, ErrRemote, ErrInternal, ErrInactive), tested with
// errors.Is(err, core.ErrNotFound); the Kind is also the C library's status code. A
// message starts with where it comes from ("envelope.Parse(SecKey): ...") and says what
// was wrong and what is accepted. No error, String or fmt verb of a KeySet or KEK ever
// shows key material.
package core
