'use strict';
// Error classes, one per status code of include/envector.h. `code` is the C macro's
// name (a string, as Node's own error codes are) and `status` its number.

const STATUS = Object.freeze({
  OK: 0,
  INVALID_ARGUMENT: 1,
  NOT_FOUND: 2,
  ALREADY_EXISTS: 3,
  AUTH: 4,
  CORRUPT: 5,
  IO: 6,
  REMOTE: 7,
  INTERNAL: 8,
  KEY_INACTIVE: 9,
});

/** The base class of every error this package throws. */
class EnvectorError extends Error {
  constructor(message, status = STATUS.INTERNAL, code = 'ENVECTOR_ERR_INTERNAL', options = undefined) {
    super(message, options);
    /** The C macro name of the status, e.g. 'ENVECTOR_ERR_NOT_FOUND'. */
    this.code = code;
    /** The C status number (ENVECTOR_ERR_*). */
    this.status = status;
  }

  get name() {
    return this.constructor.name;
  }
}

function define(name, status, code) {
  const cls = {
    [name]: class extends EnvectorError {
      constructor(message, options) {
        super(message, status, code, options);
      }
    },
  }[name];
  return cls;
}

/** The caller passed something not accepted (also: use of a closed object). */
const InvalidArgumentError = define('InvalidArgumentError', STATUS.INVALID_ARGUMENT, 'ENVECTOR_ERR_INVALID_ARGUMENT');
/** A key set, role, file, object or secret is absent. */
const NotFoundError = define('NotFoundError', STATUS.NOT_FOUND, 'ENVECTOR_ERR_NOT_FOUND');
/** The target holds keys already; nothing was overwritten. */
const AlreadyExistsError = define('AlreadyExistsError', STATUS.ALREADY_EXISTS, 'ENVECTOR_ERR_ALREADY_EXISTS');
/** Unsealing failed (wrong KEK, or sealed data altered), or AWS refused the credentials. */
const AuthenticationError = define('AuthenticationError', STATUS.AUTH, 'ENVECTOR_ERR_AUTH');
/** Data does not parse or does not check out. */
const CorruptDataError = define('CorruptDataError', STATUS.CORRUPT, 'ENVECTOR_ERR_CORRUPT');
/** The local file system failed. */
const StorageIOError = define('StorageIOError', STATUS.IO, 'ENVECTOR_ERR_IO');
/** A remote store (AWS) failed. */
const RemoteStoreError = define('RemoteStoreError', STATUS.REMOTE, 'ENVECTOR_ERR_REMOTE');
/** A bug or broken invariant inside the library. */
const InternalError = define('InternalError', STATUS.INTERNAL, 'ENVECTOR_ERR_INTERNAL');
/**
 * The key set is not active (preparing, deactivated, destroyed) or has expired, so it is
 * refused for use; KeyManager.state() and loadVersion() read it whatever its state.
 */
const KeyInactiveError = define('KeyInactiveError', STATUS.KEY_INACTIVE, 'ENVECTOR_ERR_KEY_INACTIVE');

/** Use of an object after close(). */
class ClosedError extends InvalidArgumentError {}

const BY_STATUS = new Map([
  [STATUS.INVALID_ARGUMENT, InvalidArgumentError],
  [STATUS.NOT_FOUND, NotFoundError],
  [STATUS.ALREADY_EXISTS, AlreadyExistsError],
  [STATUS.AUTH, AuthenticationError],
  [STATUS.CORRUPT, CorruptDataError],
  [STATUS.IO, StorageIOError],
  [STATUS.REMOTE, RemoteStoreError],
  [STATUS.INTERNAL, InternalError],
  [STATUS.KEY_INACTIVE, KeyInactiveError],
]);

// fromStatus makes the error of a C status; an unknown status is an InternalError
// that keeps the number (the header: treat unknown codes like INTERNAL).
function fromStatus(status, message) {
  const cls = BY_STATUS.get(status);
  if (cls) return new cls(message);
  const e = new InternalError(`${message} (unknown status ${status})`);
  e.status = status;
  return e;
}

// ---- values in messages (internal) ---------------------------------------------------

// How much of a value a message shows: a string its first SHOWN characters and '...', as
// the library shows a quoted value; a path or another error's message its first
// SHOWN_TEXT characters. So no value of any length (a 1 MB key id) fills a message.
const SHOWN = 40;
const SHOWN_TEXT = 256;

// shown is value for a message, quoted (JSON) and cut: a string shows at most its first
// 40 characters, then '...'; another value its JSON (or String) form, cut alike.
function shown(value) {
  if (typeof value === 'string') {
    return value.length > SHOWN ? `${JSON.stringify(value.slice(0, SHOWN))}...` : JSON.stringify(value);
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined; // a BigInt, a cycle
  }
  if (typeof text !== 'string') text = String(value);
  return text.length > 2 * SHOWN ? `${text.slice(0, 2 * SHOWN)}...` : text;
}

// shownText is text for a message (a path, another error's message), unquoted, cut to its
// first 256 characters, then '...'.
function shownText(text) {
  const t = String(text);
  return t.length > SHOWN_TEXT ? `${t.slice(0, SHOWN_TEXT)}...` : t;
}

// ---- the library's messages in the words of this package (internal) ---------------------
//
// Every message of the library starts with the C function that failed
// ("envector_store_save: ..."), names the options in snake_case as the options JSON does
// (dim_list), and a few name another C function or a C argument. A user of this package
// called a method and wrote the options in camelCase: apiMessage() says that method and
// names what the user wrote.

// The method behind each C function the binding calls, for a message that names a C
// function in its text (its start is replaced by the method called).
const C_FUNCTIONS = Object.freeze({
  envector_keygen: 'KeyGenerator.generateKeys',
  envector_seal: 'KeyGenerator (with kek or sealKekPath)',
  envector_unseal: 'KeyManager.verify',
  envector_kek_check: 'KeyGenerator (with kek)',
  envector_keyset_verify: 'KeyManager.verify',
  envector_keyset_from_blobs: 'KeyManager.save',
  envector_keyset_blob: 'KeyManager.load',
  envector_keyset_blobs: 'KeyManager.load',
  envector_keyset_roles: 'KeyManager.load',
  envector_keyset_id: 'KeyManager.load',
  envector_keyset_sealed: 'KeyManager.load',
  envector_keyset_state_json: 'KeyManager.state',
  envector_metadata_encrypt: 'encryptMetadata',
  envector_metadata_decrypt: 'decryptMetadata',
  envector_store_open: 'KeyManager',
  envector_store_save: 'KeyManager.save',
  envector_store_load: 'KeyManager.load',
  envector_store_exists: 'KeyManager.verifyKeyId',
  envector_store_delete: 'KeyManager.delete',
  envector_store_list: 'KeyManager.listKeys',
  envector_store_set_state: 'KeyManager.setState',
  envector_store_reseal: 'KeyManager.reseal',
  envector_store_rotate: 'KeyManager.rotate',
  envector_store_load_version: 'KeyManager.loadVersion',
  envector_store_list_sets: 'KeyManager.listSets',
  envector_init: 'init',
});

// Every option and argument name of the library -> the name a Node caller writes.
const C_OPTIONS = Object.freeze({
  key_id: 'keyId',
  eval_mode: 'evalMode',
  dim_list: 'dimList',
  metadata_encryption: 'metadataEncryption',
  seal_mode: 'sealMode',
  seal_kek_path: 'sealKekPath',
  key_store: 'keyStore',
  key_path: 'keyPath',
  region_name: 'regionName',
  bucket_name: 'bucketName',
  secret_prefix: 'secretPrefix',
  lifetime_days: 'lifetimeDays',
  auto_key_setup: 'autoKeySetup',
  token_file: 'tokenFile',
  ca_file: 'caFile',
  timeout_seconds: 'timeoutSeconds',
  register_timeout_seconds: 'registerTimeoutSeconds',
  aws_timeout_seconds: 'awsTimeoutSeconds',
  new_kek: 'newKek',
  old_kek: 'kek',
});

// Whole phrases of the library's messages that say how to do something in C.
const C_PHRASES = Object.freeze([
  [
    'seal_mode "aes" needs seal_kek_path, the file of the 32-byte KEK (or generate with seal_mode "none" and seal the key set with envector_seal)',
    'sealMode "aes" needs the KEK: give kek (the KEK itself, a Buffer, Uint8Array or string: 32 raw bytes, 64 hex characters or 44 base64 characters) or sealKekPath (the file holding it)',
  ],
]);

// A setting named in every language the library serves ("AWSConfig.Timeout in Go,
// aws_timeout_seconds in C and Python, awsTimeoutSeconds in Node, --timeout in the CLI"):
// a Node caller has one name for it.
const C_LANGUAGES = /\S+ in Go, \S+ in C and Python, (\S+) in Node, \S+ in the CLI/g;

const C_PREFIX = /^envector_[a-z]+(?:_[a-z]+)*: /;
const QUOTED = /"(?:[^"\\]|\\.)*"/g;
const C_FUNCTION = /\benvector_(?!keys\b)[a-z]+(?:_[a-z]+)*\b/g;
// A C length argument with its value: "kek_len 99 is not accepted".
const C_LENGTH = /\b((?:new_|old_)?kek)_len (\d+)/g;
// A field of envector_store_set_state's change_json: 'change_json: "to" must be ...'.
const C_CHANGE = /\bchange_json: "(to|reason|compromised)"/g;
// An option name as a word of the message: not part of a path, a dotted field
// (entries[0].metadata.eval_mode), a longer name or a command-line flag (--key_id).
const optionPattern = (names) => new RegExp(`(?<![\\w./\\\\-])(${Object.keys(names).sort((a, b) => b.length - a.length).join('|')})(?![\\w/\\\\-])`, 'g');
const C_OPTION = optionPattern(C_OPTIONS);

// apiMessage is message, a message of the library, as the caller of `who` reads it: `who`
// instead of the C function it starts with, the camelCase names of the options and
// arguments the library names (outside quoted values; not in messages about data that
// does not check out, whose field names are the files'), and no other C function. A
// message that does not start with a C function (this package's own) is left as it is.
// names (optional) maps more C names to the caller's, for one call: {kek: 'newKek'}
// when the KEK a C function calls kek is the one the caller gave as newKek.
function apiMessage(message, who, status, names = null) {
  const m = C_PREFIX.exec(message);
  if (!m) return message;
  const options = names ? { ...C_OPTIONS, ...names } : C_OPTIONS;
  const optionRe = names ? optionPattern(options) : C_OPTION;
  let text = message.slice(m[0].length);
  for (const [c, ours] of C_PHRASES) text = text.split(c).join(ours);
  text = text.replace(C_LANGUAGES, (_, node) => node);
  const rename = status !== STATUS.CORRUPT;
  if (rename) text = text.replace(C_CHANGE, (_, f) => f);
  const words = (part) => {
    let out = part.replace(C_FUNCTION, (f) => C_FUNCTIONS[f] || 'this package');
    if (!rename) return out;
    out = out.replace(C_LENGTH, (_, name, n) => `${options[name] || name} of ${n} bytes`);
    return out.replace(optionRe, (o) => options[o]);
  };
  let out = '';
  let last = 0;
  for (const q of text.matchAll(QUOTED)) {
    out += words(text.slice(last, q.index)) + q[0];
    last = q.index + q[0].length;
  }
  out += words(text.slice(last));
  return `${who}: ${out}`;
}

// stripCPrefix is message without the C function it starts with (to quote it in another).
function stripCPrefix(message) {
  return message.replace(C_PREFIX, '');
}

module.exports = {
  STATUS,
  EnvectorError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  AuthenticationError,
  CorruptDataError,
  StorageIOError,
  RemoteStoreError,
  InternalError,
  KeyInactiveError,
  ClosedError,
  fromStatus,
  shown,
  shownText,
  apiMessage,
  stripCPrefix,
  C_OPTIONS,
};
