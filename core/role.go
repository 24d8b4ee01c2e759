package core

import (
	"strings"
)

// Role names one of the four keys of a key set.
type Role int

// The roles, in the order they are generated, stored and listed.
const (
	SecKey      Role = iota // CKKS secret key: decrypts and derives the others; secret
	EncKey                  // CKKS public encryption key
	EvalKey                 // CKKS evaluation keys (relinearization, rotations, conjugation)
	MetadataKey             // AES-256 key for metadata; secret; only with metadata encryption
	numRoles
)

// AllRoles lists every role in order.
var AllRoles = []Role{SecKey, EncKey, EvalKey, MetadataKey}

// RequiredRoles are the roles every complete key set has.
var RequiredRoles = []Role{SecKey, EncKey, EvalKey}

type roleInfo struct {
	name     string // "SecKey"
	format   string // envelope format and entry name
	roleText string // envelope entry role
	usage    string // the usage envector-keys 0.1 wrote (enVector's is "vector_search" for all)
	blobName string // the AWS blob name: sec_blob, enc_blob, ...
	secret   bool
	eviShort string // the role in enVector's integrity value: sec, enc, eval, metadata
}

var roleInfos = [numRoles]roleInfo{
	SecKey:      {"SecKey", "seckey", "decryption key", "vector_search", "sec_blob", true, "sec"},
	EncKey:      {"EncKey", "enckey", "encryption key", "vector_search", "enc_blob", false, "enc"},
	EvalKey:     {"EvalKey", "evalkey", "evaluation key", "evaluation", "eval_blob", false, "eval"},
	MetadataKey: {"MetadataKey", "metadatakey", "metadata key", "metadata_encryption", "metadata_blob", true, "metadata"},
}

func (r Role) valid() bool { return r >= 0 && r < numRoles }

func (r Role) info() roleInfo {
	if !r.valid() {
		return roleInfo{name: "Role(?)"}
	}
	return roleInfos[r]
}

// String returns the role's name: SecKey, EncKey, EvalKey or MetadataKey.
func (r Role) String() string { return r.info().name }

// FileName returns the role's file name in the local store, e.g. "SecKey.json".
func (r Role) FileName() string { return r.info().name + ".json" }

// BlobName returns the role's blob name, e.g. "sec_blob" (the AWS object or secret
// name, and the key of generate_keys_stream's result).
func (r Role) BlobName() string { return r.info().blobName }

// Format returns the envelope format of the role, e.g. "seckey".
func (r Role) Format() string { return r.info().format }

// Secret reports whether the role's key is secret (SecKey, MetadataKey): only secret
// keys are sealed, and they never leave the library except through explicit export.
func (r Role) Secret() bool { return r.info().secret }

// ParseRole accepts a role name ("SecKey"), its format ("seckey"), its file name
// ("SecKey.json") or its blob name ("sec_blob"), in any case.
func ParseRole(s string) (Role, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for _, r := range AllRoles {
		i := r.info()
		if t == strings.ToLower(i.name) || t == i.format || t == strings.ToLower(r.FileName()) || t == i.blobName {
			return r, nil
		}
	}
	return 0, Errorf(ErrInvalidArgument, "role", "unknown role %q; accepted: SecKey, EncKey, EvalKey, MetadataKey (or seckey, sec_blob, ...)", s)
}
