package cli

// encrypt-metadata and decrypt-metadata: the metadata stored beside each vector,
// encrypted with a stored key set's MetadataKey in enVector's token format (see
// core.EncryptMetadata). Only the MetadataKey is loaded; a sealed one is unsealed with
// the KEK of --seal_key_path or --seal_key_stdin.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/envector-keys/envector-keys/core"
)

// maxMetadataInput bounds what --in reads; core refuses, with the exact limits, a
// metadata value over 64 MiB or a token over 128 MiB.
const maxMetadataInput = 256 << 20

func metadataFlags(in, out string) []flagSpec {
	f := append(append(append([]flagSpec{}, commonFlags...), awsFlags...), kekFlags...)
	return append(f,
		flagSpec{name: "aad", help: "associated data: text bound to the token but not encrypted (e.g. the vector's id); decrypting needs the same text"},
		flagSpec{name: "in", help: in},
		flagSpec{name: "out", help: out},
	)
}

var encryptMetadataFlags = metadataFlags(
	"file holding the metadata: UTF-8 text, encrypted byte for byte (a final newline included); default (or -): standard input",
	"file the token is written to (created 0644, or truncated); default (or -): standard output")

var decryptMetadataFlags = metadataFlags(
	"file holding the token (base64, or its JSON form; white space around it is ignored); default (or -): standard input",
	"file the metadata is written to, byte for byte (created 0600, or truncated); default (or -): standard output")

func runEncryptMetadata(e *env, fs *flagSet) error {
	return runMetadata(e, fs, "metadata", func(ks *core.KeySet, in, aad []byte) ([]byte, error) {
		token, err := ks.EncryptMetadata(in, aad)
		if err != nil {
			return nil, err
		}
		return []byte(token + "\n"), nil
	}, 0o644)
}

func runDecryptMetadata(e *env, fs *flagSet) error {
	return runMetadata(e, fs, "token", func(ks *core.KeySet, in, aad []byte) ([]byte, error) {
		return ks.DecryptMetadata(in, aad)
	}, 0o600)
}

// runMetadata reads the input (what names it in messages), loads and unseals the
// MetadataKey, applies op and writes its result: nothing is written unless op succeeds.
// The input and the result are wiped afterwards.
func runMetadata(e *env, fs *flagSet, what string, op func(ks *core.KeySet, in, aad []byte) ([]byte, error), mode os.FileMode) error {
	inPath := fs.str("in", "-")
	if fs.has("seal_key_stdin") && inPath == "-" {
		return usagef("--seal_key_stdin reads the KEK from standard input, so the %s cannot come from there too; give it with --in FILE", what)
	}
	if fs.has("seal_key_path") && fs.has("seal_key_stdin") {
		return usagef("give either --seal_key_path or --seal_key_stdin, not both")
	}
	if fs.has("in") && inPath == "" {
		return usagef("--in is empty; give a file, or - for standard input")
	}
	if fs.has("out") && fs.str("out", "") == "" {
		return usagef("--out is empty; give a file, or - for standard output")
	}
	loc, err := resolveLocation(e, fs)
	if err != nil {
		return err
	}
	in, err := readInput(e, inPath)
	if err != nil {
		return err
	}
	defer clear(in)
	kek, err := readKEK(e, fs)
	if err != nil {
		return err
	}
	defer kek.Wipe() // nil: nothing to wipe
	ks, err := loadMetadataKey(e, loc)
	if err != nil {
		return err
	}
	defer ks.Wipe()
	if ks.Sealed() {
		if kek == nil {
			return usagef("the MetadataKey of %q is sealed; give the KEK with --seal_key_path or --seal_key_stdin (with --in)", ks.ID())
		}
		plain, err := ks.Unseal(kek)
		if err != nil {
			return err
		}
		defer plain.Wipe()
		ks = plain
	}
	out, err := op(ks, in, []byte(fs.str("aad", "")))
	if err != nil {
		return err
	}
	defer clear(out)
	return writeOutput(e, fs.str("out", "-"), out, mode)
}

// loadMetadataKey loads only the MetadataKey of the key set at loc. A key set without
// one is named as such.
func loadMetadataKey(e *env, loc *location) (*core.KeySet, error) {
	var ks *core.KeySet
	var err error
	if loc.local != nil {
		ks, err = loc.local.LoadFrom(e.ctx, loc.dir, loc.keyID, core.ParseOptions{}, core.MetadataKey)
	} else {
		ks, err = loc.aws.LoadWithOptions(e.ctx, loc.keyID, core.ParseOptions{}, core.MetadataKey)
	}
	if errors.Is(err, core.ErrNotFound) {
		if ok, xerr := loc.st.Exists(e.ctx, loc.keyID); xerr == nil && ok {
			where := loc.where
			if loc.aws != nil {
				where = fmt.Sprintf("AWS %s (no secret %s)", loc.aws.Region(), loc.aws.SecretName(loc.keyID, core.MetadataKey))
			}
			return nil, errorf("key set %q in %s has no MetadataKey (it was made with --metadata_encryption false)", loc.keyID, where)
		}
	}
	return ks, err
}

// readInput reads path ("-": standard input), up to maxMetadataInput bytes.
func readInput(e *env, path string) ([]byte, error) {
	r := e.stdin
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("--in: cannot read %s: %v", path, pathErr(err))
		}
		defer f.Close()
		r, name = f, path
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMetadataInput+1))
	if err != nil {
		clear(data)
		return nil, errorf("reading %s: %v", name, pathErr(err))
	}
	if len(data) > maxMetadataInput {
		clear(data)
		return nil, errorf("%s holds over %d MiB; no metadata value or token is that large", name, maxMetadataInput>>20)
	}
	return data, nil
}

// writeOutput writes data to path ("-": standard output), creating the file with mode
// or truncating it.
func writeOutput(e *env, path string, data []byte, mode os.FileMode) error {
	if path == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return errorf("--out: cannot write %s: %v", path, pathErr(err))
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return errorf("--out: writing %s: %v", path, pathErr(err))
	}
	if err := f.Close(); err != nil {
		return errorf("--out: writing %s: %v", path, pathErr(err))
	}
	return nil
}

// pathErr drops the operation and path an *fs.PathError repeats.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
