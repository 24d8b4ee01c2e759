'use strict';
// The public API: KeyGenerator, KeyManager, init, initIndexConfig, encryptMetadata and
// decryptMetadata. Options are translated to the library's options JSON (camelCase ->
// snake_case) and checked by the library; nothing here knows what a valid preset, dim,
// KEK or token is.

const fs = require('node:fs');
const { ROLES, DELETE_IMMEDIATE } = require('./native');
const { STATUS, InvalidArgumentError, NotFoundError, AlreadyExistsError, ClosedError, CorruptDataError, shown, shownText } = require('./errors');
const { js, release, detach, runSync, runAsync, soft, call } = require('./run');
const ops = require('./ops');

// camelCase option -> the options JSON key of include/envector.h.
const OPTION_KEYS = Object.freeze({
  keyId: 'key_id',
  preset: 'preset',
  evalMode: 'eval_mode',
  dimList: 'dim_list',
  metadataEncryption: 'metadata_encryption',
  sealMode: 'seal_mode',
  sealKekPath: 'seal_kek_path',
  keyStore: 'key_store',
  keyPath: 'key_path',
  regionName: 'region_name',
  bucketName: 'bucket_name',
  secretPrefix: 'secret_prefix',
  awsTimeoutSeconds: 'aws_timeout_seconds',
  seed: 'seed',
  lifetimeDays: 'lifetime_days',
  // init
  autoKeySetup: 'auto_key_setup',
  address: 'address',
  tokenFile: 'token_file',
  tls: 'tls',
  caFile: 'ca_file',
  timeoutSeconds: 'timeout_seconds',
  registerTimeoutSeconds: 'register_timeout_seconds',
});

const GENERATOR_OPTIONS = ['keyPath', 'keyId', 'dimList', 'preset', 'evalMode', 'sealMode', 'sealKekPath', 'kek', 'metadataEncryption', 'seed', 'lifetimeDays'];
const MANAGER_OPTIONS = ['keyId', 'keyStore', 'keyPath', 'regionName', 'bucketName', 'secretPrefix', 'awsTimeoutSeconds'];
const INIT_OPTIONS = [...Object.keys(OPTION_KEYS), 'register', 'token', 'kek'];

// The options that are true or false: only a boolean is taken (a string such as 'no' or
// a number would otherwise mean true, or go to the library as something else).
const BOOLEAN_OPTIONS = new Set(['metadataEncryption', 'immediate', 'tls', 'autoKeySetup', 'asJson', 'compromised']);

// describe names what a value is, for a message, without showing it (an options
// argument may be a secret given in the wrong place).
function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return v.constructor && v.constructor !== Object ? `a ${v.constructor.name}` : 'an object';
  return `a ${typeof v}`;
}

// levenshtein is the edit distance of a and b (option names: a few dozen characters).
function levenshtein(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

// didYouMean is the accepted option that name most likely meant (another case, snake_case
// for camelCase, a typo of a letter or two, the start of the name), or null.
function didYouMean(name, accepted) {
  const norm = (s) => s.toLowerCase().replace(/[_-]/g, '');
  const n = norm(name);
  if (n.length === 0 || n.length > 64) return null;
  let best = null;
  let bestDistance = Infinity;
  for (const a of accepted) {
    const an = norm(a);
    if (an === n) return a;
    const d = n.length >= 4 && an.startsWith(n) ? 1 : levenshtein(n, an);
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  return bestDistance <= (n.length <= 4 ? 1 : 2) ? best : null;
}

// checkOptions checks the options argument of `who`: an object (left out: {} unless
// required), whose every name is among `accepted` (otherwise an InvalidArgumentError
// naming the nearest accepted one and all of them), and whose true-or-false options are
// booleans. example shows an options object of `who`. Values the library checks are not
// checked here. Returns the options, or {} for none.
function checkOptions(who, opts, accepted, { required = false, example = "{keyId: 'my-index'}" } = {}) {
  if (opts === undefined && !required) return {};
  if (opts === undefined) {
    throw new InvalidArgumentError(`${who}: options are required: an object like ${example}`);
  }
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || ArrayBuffer.isView(opts) || opts instanceof ArrayBuffer) {
    const leftOut = required ? '' : ' (or left out)';
    throw new InvalidArgumentError(`${who}: options must be an object like ${example}${leftOut}, not ${describe(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!accepted.includes(k)) {
      const near = didYouMean(k, accepted);
      const hint = near ? ` (did you mean ${near}?)` : '';
      throw new InvalidArgumentError(`${who}: unknown option ${shown(k)}${hint}; accepted: ${accepted.join(', ')}`);
    }
    const v = opts[k];
    if (BOOLEAN_OPTIONS.has(k) && v !== undefined && typeof v !== 'boolean') {
      const got = typeof v === 'string' || typeof v === 'number' || v === null ? shown(v) : describe(v);
      throw new InvalidArgumentError(`${who}: ${k} must be true or false, not ${got}`);
    }
  }
  return opts;
}

// optionsJSON makes the options JSON of the options (checked by checkOptions; their
// values are checked by the library), with the keys of `extra` added as they are. A
// Buffer seed becomes hex; undefined means "the default"; options that are not the
// library's (kek, register, ...) are left out.
function optionsJSON(who, options, extra = {}) {
  const out = {};
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || !(k in OPTION_KEYS)) continue;
    out[OPTION_KEYS[k]] = k === 'seed' && v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
  }
  try {
    return JSON.stringify(out);
  } catch (e) {
    throw new InvalidArgumentError(`${who}: options cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
  }
}

function requireKeyId(who, keyId) {
  if (typeof keyId !== 'string' || keyId === '') {
    throw new InvalidArgumentError(`${who}: keyId is required (a string such as 'my-index'), got ${keyId === '' ? 'an empty string' : typeof keyId}`);
  }
  return keyId;
}

function roleNumbers(who, roles) {
  if (roles === undefined || roles === null) return null;
  if (!Array.isArray(roles) || roles.length === 0) {
    throw new InvalidArgumentError(`${who}: roles must be a non-empty array of ${ROLES.join(', ')}`);
  }
  return roles.map((r) => {
    const i = ROLES.indexOf(r);
    if (i < 0) throw new InvalidArgumentError(`${who}: unknown role ${shown(r)}; accepted: ${ROLES.join(', ')}`);
    return i;
  });
}

// ---- KEK input ---------------------------------------------------------------------

const KEK_FORMS = '32 raw bytes, 64 hex characters or 44 base64 characters';

// checkKEK: a KEK given in memory must be a non-empty Buffer, Uint8Array or string (its
// form is checked by the library). null and undefined are none.
function checkKEK(who, kek, name = 'kek') {
  if (kek === undefined || kek === null) return;
  if (!(kek instanceof Uint8Array) && typeof kek !== 'string') {
    throw new InvalidArgumentError(`${who}: ${name} must be a Buffer or a string (the KEK: ${KEK_FORMS}), not ${describe(kek)}`);
  }
  if (kek.length === 0) throw new InvalidArgumentError(`${who}: ${name} is empty; accepted: ${KEK_FORMS}`);
}

// kekStep reads the KEK of {kek, sealKekPath} (or the options `names` says) as bytes, or
// gives null for none. The library parses it (raw, hex or base64 forms); the caller's own
// Buffer is not copied and not wiped, a copy made here is wiped after use (wipeKEK).
function kekStep(who, opts, names = ['kek', 'sealKekPath']) {
  const [kekName, pathName] = names;
  const kek = opts[kekName];
  const sealKekPath = opts[pathName];
  if (kek !== undefined && kek !== null && sealKekPath !== undefined && sealKekPath !== null) {
    throw new InvalidArgumentError(`${who}: give ${kekName} or ${pathName}, not both`);
  }
  checkKEK(who, kek, kekName);
  if (kek !== undefined && kek !== null) {
    // A string's bytes in a Buffer of its own (never a pooled slab), wiped after use.
    const bytes = () => (kek instanceof Uint8Array ? { bytes: kek, owned: false } : { bytes: ownBuffer(kek), owned: true });
    return js({ sync: bytes, async: async () => bytes() });
  }
  if (sealKekPath !== undefined && sealKekPath !== null) {
    if (typeof sealKekPath !== 'string') throw new InvalidArgumentError(`${who}: ${pathName} must be a string (a file path), not ${describe(sealKekPath)}`);
    const wrap = (e) => {
      const cls = e.code === 'ENOENT' ? NotFoundError : InvalidArgumentError;
      return new cls(`${who}: cannot read the KEK file ${shownText(sealKekPath)}: ${shownText(e.message)}`, { cause: e });
    };
    return js({
      sync: () => {
        try {
          return { bytes: fs.readFileSync(sealKekPath), owned: true };
        } catch (e) {
          throw wrap(e);
        }
      },
      async: async () => {
        try {
          return { bytes: await fs.promises.readFile(sealKekPath), owned: true };
        } catch (e) {
          throw wrap(e);
        }
      },
    });
  }
  return null;
}

// checkKEKForm asks the library (envector_kek_check) whether kek, given as the option
// `name` (checked by checkKEK: a Buffer, Uint8Array or string), is a KEK in an accepted
// form, so that a malformed one is refused before work that ends in sealing under it, not
// after; the error names `name`. One synchronous call (it parses 32 to 45 bytes). Only the
// form is checked: a wrong KEK passes.
function checkKEKForm(who, kek, name = 'kek') {
  if (kek === undefined || kek === null) return;
  const bytes = kek instanceof Uint8Array ? kek : ownBuffer(kek);
  try {
    runSync(ops.kekCheck(bytes, name), who);
  } finally {
    if (bytes !== kek) bytes.fill(0);
  }
}

function wipeKEK(k) {
  if (k && k.owned) k.bytes.fill(0);
}

// ownBuffer is the UTF-8 bytes of text in a Buffer of its own: Buffer.from(string) may
// return a slice of a shared pool, which wiping would not reach alone.
function ownBuffer(text) {
  const b = Buffer.alloc(Buffer.byteLength(text, 'utf8'));
  b.write(text, 'utf8');
  return b;
}

// ---- metadata input and output -------------------------------------------------------

const METADATA_ROLE = ROLES.indexOf('MetadataKey');
const METADATA_TYPES = 'a string, a Buffer or Uint8Array of UTF-8 text, or a plain object or array (JSON-encoded)';
const METADATA_OPTIONS = ['keyId', 'aad', 'kek', 'sealKekPath'];
const DECRYPT_OPTIONS = [...METADATA_OPTIONS, 'asJson'];

function isJSONObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function utf8(who, name, text) {
  if (!text.isWellFormed()) {
    throw new InvalidArgumentError(`${who}: ${name} is not valid Unicode text (it holds a lone surrogate)`);
  }
  return Buffer.from(text, 'utf8');
}

// metadataBytes: what is encrypted. A string as UTF-8, bytes as given (the library
// refuses what is not UTF-8), a plain object or array as JSON.stringify writes it
// (compact, non-ASCII kept: what enVector's SDK writes). Messages never show the metadata.
function metadataBytes(who, metadata) {
  if (typeof metadata === 'string') return utf8(who, 'metadata', metadata);
  if (metadata instanceof Uint8Array) return metadata;
  if (Array.isArray(metadata) || isJSONObject(metadata)) {
    let text;
    try {
      text = JSON.stringify(metadata);
    } catch (e) {
      throw new InvalidArgumentError(`${who}: metadata cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
    }
    return utf8(who, 'metadata', text);
  }
  const got = metadata === null ? 'null' : typeof metadata === 'object' ? metadata.constructor?.name ?? 'object' : typeof metadata;
  throw new InvalidArgumentError(`${who}: metadata must be ${METADATA_TYPES}, not ${got}`);
}

function aadBytes(who, aad) {
  if (aad === undefined || aad === null) return null;
  if (typeof aad === 'string') return utf8(who, 'aad', aad);
  if (aad instanceof Uint8Array) return aad;
  throw new InvalidArgumentError(`${who}: aad must be a string or a Buffer, not ${typeof aad}`);
}

function tokenString(who, token) {
  let t = token;
  if (t instanceof Uint8Array) t = Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('utf8');
  if (typeof t !== 'string') {
    throw new InvalidArgumentError(`${who}: token must be a string or a Buffer (what encryptMetadata returned), not ${typeof token}`);
  }
  if (t.includes('\0')) throw new InvalidArgumentError(`${who}: token holds a NUL character; a token is base64 text`);
  return t;
}

// metadataResult: the decrypted bytes as text, or with asJson the JSON value it holds.
function metadataResult(who, buf, asJson) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new CorruptDataError(`${who}: the metadata decrypted but is not UTF-8 text`);
  }
  if (!asJson) return text;
  try {
    return JSON.parse(text);
  } catch (e) {
    // e.message may quote the text: not repeated.
    throw new CorruptDataError(`${who}: the metadata is not JSON; decrypt it without asJson to get the text`, { cause: e });
  }
}

// withMetadataKey loads only the MetadataKey of keyId from st, unseals it with kek (a
// Buffer, or null) when it is sealed, and runs use(handle), a generator of steps.
function* withMetadataKey(who, st, keyId, kek, use) {
  const out = [null];
  const r = yield soft(call('envector_store_load', st, keyId, Int32Array.of(METADATA_ROLE), 1, out));
  if (r !== 0) {
    if (r instanceof NotFoundError) {
      const found = [0];
      const x = yield soft(call('envector_store_exists', st, keyId, found));
      if (x === 0 && found[0] === 1) {
        const detail = r.message.startsWith(`${who}: `) ? r.message.slice(who.length + 2) : r.message;
        throw new NotFoundError(`${who}: key set ${shown(keyId)} has no MetadataKey (it was made with metadataEncryption: false): ${detail}`, { cause: r });
      }
    }
    throw r;
  }
  const ks = out[0];
  try {
    const sealed = [0];
    yield call('envector_keyset_sealed', ks, sealed);
    if (sealed[0] !== 1) return yield* use(ks);
    if (!kek) throw new InvalidArgumentError(`${who}: the MetadataKey of key set ${shown(keyId)} is sealed; give its KEK with sealKekPath or kek`);
    const plain = [null];
    yield call('envector_unseal', ks, kek, kek.length, plain);
    try {
      return yield* use(plain[0]);
    } finally {
      yield release('envector_keyset_free', plain[0]);
    }
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

// ---- lifecycle options -----------------------------------------------------------------

const STATE_OPTIONS = ['keyId', 'version'];
const SET_STATE_OPTIONS = ['keyId', 'compromised', 'kek', 'sealKekPath'];
const RESEAL_OPTIONS = ['keyId', 'newKek', 'newSealKekPath', 'kek', 'sealKekPath'];
const ROTATE_OPTIONS = ['keyId', 'reason', 'preset', 'evalMode', 'dimList', 'metadataEncryption', 'lifetimeDays', 'seed', 'kek', 'sealKekPath'];
const LOAD_VERSION_OPTIONS = ['keyId', 'roles'];

function versionNumber(who, v) {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new InvalidArgumentError(`${who}: version must be a version number (1, 2, ...), or 0 for the current one; got ${shown(v)}`);
  }
  return v;
}

// ---- handles -------------------------------------------------------------------------

// The fallback for handles nobody closed: freed when their owner is collected.
const finalizer = new FinalizationRegistry(({ name, handle }) => detach(name, handle));

// The KeyManager method behind encryptMetadata and decryptMetadata (not exported).
const METADATA = Symbol('metadata');

// sealModeOf is the sealMode KeyGenerator and init give the library: sealMode as given,
// or, left out, 'aes' when a KEK is given (kek or sealKekPath) and the library's default
// ('none') otherwise. A KEK with sealMode 'none', and 'aes' without a KEK, are refused
// here, naming this package's options; other values go to the library, which names what
// it accepts.
function sealModeOf(who, sealMode, kek, sealKekPath) {
  const given = (v) => v !== undefined && v !== null;
  if (given(kek) && given(sealKekPath)) throw new InvalidArgumentError(`${who}: give kek or sealKekPath, not both`);
  const hasKek = given(kek) || given(sealKekPath);
  if (!given(sealMode)) return hasKek ? 'aes' : undefined;
  const mode = typeof sealMode === 'string' ? sealMode.toLowerCase() : null;
  if (mode === 'aes' && !hasKek) {
    throw new InvalidArgumentError(`${who}: sealMode 'aes' needs the KEK: give kek (the KEK itself, a Buffer, Uint8Array or string: ${KEK_FORMS}) or sealKekPath (the file holding it)`);
  }
  if (mode === 'none' && hasKek) {
    const name = given(kek) ? 'kek' : 'sealKekPath';
    throw new InvalidArgumentError(`${who}: sealMode is 'none' but ${name} is given: give sealMode 'aes' (or leave sealMode out) to seal under that KEK, or leave ${name} out`);
  }
  return sealMode;
}

// ---- KeyGenerator --------------------------------------------------------------------

/**
 * Makes key sets: generateKeys() writes one to <keyPath>/<keyId>/ (the local store),
 * generateKeysStream() returns its envelopes as Buffers. Holds no native resource.
 *
 * preset (enVector's: 'ip3' by default, 'ip2', 'ip1', 'ip0') and evalMode (left out,
 * the preset's default: 'mm32' with ip3, 'mm' with ip1 and ip2, 'rmp' with ip0; 'rmp'
 * and 'flat' with any, 'single' and 'mm' with ip0) are checked by the library, which refuses a
 * pair that does not go together naming the modes the preset takes. The defaults (ip3,
 * mm32, dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey: generateKeys() writes
 * it in ~7 s with little memory, generateKeysStream() (and init, which returns the keys)
 * holds it in memory (~12 s, ~5 GB at peak); { preset: 'ip0', evalMode: 'rmp',
 * dimList: [32] } makes a small set in milliseconds. lifetimeDays: how long the keys are
 * usable (expiresAt), in days, fractions allowed (1/24 is an hour); accepted 1 hour to
 * 100 years; default 1825 (5 years, as enVector).
 *
 * Sealing: sealMode 'aes' seals SecKey and MetadataKey under a KEK given as kek (the KEK
 * itself: a Buffer, Uint8Array or string; 32 raw bytes, 64 hex or 44 base64 characters)
 * or as sealKekPath (a file holding it), not both. A KEK without sealMode means 'aes'; a
 * KEK with sealMode 'none', or 'aes' without one, is an InvalidArgumentError. The form
 * of kek is checked by the library when the KeyGenerator is made (a KEK file's when keys
 * are made, before any is), so a malformed KEK is refused before any key is made; a wrong
 * one is only found when the sealed keys are opened. With kek
 * the keys are made in memory, sealed by the library (envector_seal), and only then
 * returned or written. The KeyGenerator keeps a reference to kek; a string is copied
 * into a Buffer for each call and wiped after it; your Buffer is neither copied nor wiped.
 */
class KeyGenerator {
  #json;
  #kek;

  constructor(options) {
    const who = 'KeyGenerator';
    const opts = checkOptions(who, options, GENERATOR_OPTIONS, { required: true, example: "{keyId: 'my-index'}" });
    requireKeyId(who, opts.keyId);
    checkKEK(who, opts.kek);
    const sealMode = sealModeOf(who, opts.sealMode, opts.kek, opts.sealKekPath);
    // With kek the library makes the keys unsealed, then seals them (envector_seal): its
    // form is checked now, not once the keys are made (a KEK file is read before).
    checkKEKForm(who, opts.kek);
    this.#kek = opts.kek ?? null;
    // (a sealMode other than 'aes' goes to the library, which refuses it)
    const sealed = this.#kek !== null && String(sealMode).toLowerCase() === 'aes';
    this.#json = optionsJSON(who, { ...opts, sealMode: sealed ? 'none' : sealMode });
    this.keyId = opts.keyId;
    this.keyPath = opts.keyPath;
  }

  #run(sync, name, toStore) {
    const who = `KeyGenerator.${name}${sync ? 'Sync' : ''}`;
    const json = this.#json;
    const kek = this.#kek === null ? null : kekStep(who, { kek: this.#kek });
    const op = (function* generate() {
      const k = kek ? yield kek : null;
      try {
        const bytes = k ? k.bytes : null;
        return toStore ? yield* ops.generateToStore(json, bytes) : yield* ops.generateStream(json, bytes);
      } finally {
        wipeKEK(k);
      }
    })();
    return sync ? runSync(op, who) : runAsync(op, who);
  }

  /** Generates the key set and saves it in <keyPath>/<keyId>/ (never overwriting). */
  async generateKeys() {
    await this.#run(false, 'generateKeys', true);
  }

  /** generateKeys(), blocking the calling thread. */
  generateKeysSync() {
    this.#run(true, 'generateKeys', true);
  }

  /** Generates the key set in memory: {secBlob, encBlob, evalBlob, metadataBlob}. */
  async generateKeysStream() {
    return this.#run(false, 'generateKeysStream', false);
  }

  /** generateKeysStream(), blocking the calling thread. */
  generateKeysStreamSync() {
    return this.#run(true, 'generateKeysStream', false);
  }
}

// ---- KeyManager ----------------------------------------------------------------------

const SAVE_OPTIONS = ['keyId'];
const LOAD_OPTIONS = ['keyId', 'roles'];
const DELETE_OPTIONS = ['keyId', 'immediate'];
const VERIFY_OPTIONS = ['keyId', 'kek', 'sealKekPath'];

/**
 * A key store (local directory or AWS) and, optionally, the key id it works on. The
 * store is opened on first use (so AWS_* variables set before then are seen) and closed
 * by close(). keyStore 'aws' takes regionName (required), bucketName, secretPrefix and
 * awsTimeoutSeconds: the longest one AWS request may go without progress before it fails
 * with RemoteStoreError (seconds, fractions allowed, more than 0 and at most 3600;
 * default 30).
 */
class KeyManager {
  #json;
  #store = null;
  #closed = false;

  constructor(options) {
    const who = 'KeyManager';
    const opts = checkOptions(who, options, MANAGER_OPTIONS, { example: "{keyPath: './keys', keyId: 'my-index'}" });
    if (opts.keyId !== undefined && opts.keyId !== null) requireKeyId(who, opts.keyId);
    this.#json = optionsJSON(who, opts);
    this.keyId = opts.keyId ?? null;
    this.keyStore = opts.keyStore ?? 'local';
  }

  /** Whether close() was called. */
  get closed() {
    return this.#closed;
  }

  // who: the method called, e.g. 'KeyManager.load' or 'KeyManager.loadSync'.
  #check(who) {
    if (this.#closed) throw new ClosedError(`${who}: the KeyManager is closed`);
  }

  // #handle opens the store on first use; every operation starts with it.
  *#handle(who) {
    this.#check(who);
    if (this.#store !== null) return this.#store;
    const h = yield* ops.storeOpen(this.#json);
    if (this.#closed || this.#store !== null) {
      yield release('envector_store_free', h);
      this.#check(who);
      return this.#store;
    }
    this.#store = h;
    finalizer.register(this, { name: 'envector_store_free', handle: h }, this);
    return h;
  }

  #keyId(who, opts) {
    return requireKeyId(who, opts && opts.keyId !== undefined ? opts.keyId : this.keyId);
  }

  // #op runs body(store). Once close() is called, an operation under way makes no
  // further call (it gets ClosedError at its next step; its cleanup still runs).
  *#op(who, body) {
    const st = yield* this.#handle(who);
    const it = body(st);
    let input;
    let threw = false;
    for (;;) {
      const r = threw ? it.throw(input) : it.next(input);
      if (r.done) return r.value;
      if (this.#closed && !r.value.release) {
        input = new ClosedError(`${who}: the KeyManager was closed during the operation`);
        threw = true;
        continue;
      }
      try {
        input = yield r.value;
        threw = false;
      } catch (e) {
        input = e;
        threw = true;
      }
    }
  }

  #run(sync, who, body) {
    if (sync) return runSync(this.#op(who, body), who);
    return runAsync(this.#op(who, body), who);
  }

  /** Opens the store now (otherwise the first operation does). */
  async open() {
    await runAsync(this.#handle('KeyManager.open'), 'KeyManager.open');
    return this;
  }

  openSync() {
    runSync(this.#handle('KeyManager.openSync'), 'KeyManager.openSync');
    return this;
  }

  #save(sync, keys, options) {
    const who = sync ? 'KeyManager.saveSync' : 'KeyManager.save';
    const opts = checkOptions(who, options, SAVE_OPTIONS);
    const keyId = this.#keyId(who, opts);
    if (keys === null || typeof keys !== 'object' || Array.isArray(keys) || ArrayBuffer.isView(keys)) {
      throw new InvalidArgumentError(`${who}: keys must be an object {secBlob, encBlob, evalBlob, metadataBlob} of Buffers (what generateKeysStream() or load() return), not ${describe(keys)}`);
    }
    const unknown = Object.keys(keys).find((k) => !ops.BLOB_KEYS.includes(k));
    if (unknown !== undefined) {
      const near = didYouMean(unknown, ops.BLOB_KEYS);
      throw new InvalidArgumentError(`${who}: unknown key ${shown(unknown)} in keys${near ? ` (did you mean ${near}?)` : ''}; accepted: ${ops.BLOB_KEYS.join(', ')}`);
    }
    return this.#run(sync, who, (st) => ops.save(st, keyId, keys, who));
  }

  /** Saves a key set ({secBlob, encBlob, evalBlob, metadataBlob}), all or nothing, never overwriting. */
  async save(keys, options) {
    return this.#save(false, keys, options);
  }

  saveSync(keys, options) {
    return this.#save(true, keys, options);
  }

  #load(sync, options) {
    const who = sync ? 'KeyManager.loadSync' : 'KeyManager.load';
    const opts = checkOptions(who, options, LOAD_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const roles = roleNumbers(who, opts.roles);
    return this.#run(sync, who, (st) => ops.load(st, keyId, roles));
  }

  /** Loads the key set (every role present, or options.roles), each envelope checked. */
  async load(options) {
    return this.#load(false, options);
  }

  loadSync(options) {
    return this.#load(true, options);
  }

  #delete(sync, options) {
    const who = sync ? 'KeyManager.deleteSync' : 'KeyManager.delete';
    const opts = checkOptions(who, options, DELETE_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const flags = opts.immediate === true ? DELETE_IMMEDIATE : 0;
    return this.#run(sync, who, (st) => ops.remove(st, keyId, flags));
  }

  /** Deletes the key set; {immediate: true} deletes AWS secrets without a recovery window. */
  async delete(options) {
    return this.#delete(false, options);
  }

  deleteSync(options) {
    return this.#delete(true, options);
  }

  #verifyKeyId(sync, keyId) {
    const who = sync ? 'KeyManager.verifyKeyIdSync' : 'KeyManager.verifyKeyId';
    const id = requireKeyId(who, keyId === undefined ? this.keyId : keyId);
    return this.#run(sync, who, (st) => ops.exists(st, id));
  }

  /** Whether the store holds a complete key set (SecKey, EncKey and EvalKey) under keyId. */
  async verifyKeyId(keyId) {
    return this.#verifyKeyId(false, keyId);
  }

  verifyKeyIdSync(keyId) {
    return this.#verifyKeyId(true, keyId);
  }

  /** The key ids in the store, sorted. */
  async listKeys() {
    return this.#run(false, 'KeyManager.listKeys', (st) => ops.list(st));
  }

  listKeysSync() {
    return this.#run(true, 'KeyManager.listKeysSync', (st) => ops.list(st));
  }

  #verify(sync, options) {
    const who = sync ? 'KeyManager.verifySync' : 'KeyManager.verify';
    const opts = checkOptions(who, options, VERIFY_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const kek = kekStep(who, opts);
    return this.#run(sync, who, function* verifyBody(st) {
      const k = kek ? yield kek : null;
      try {
        yield* ops.verify(st, keyId, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
      return true;
    });
  }

  /**
   * Loads the key set and proves its keys belong together (EncKey encrypts what SecKey
   * decrypts, every evaluation key is a key under SecKey). A sealed key set needs its
   * KEK: {sealKekPath} or {kek}. Resolves true, or rejects (CorruptDataError,
   * AuthenticationError, ...).
   */
  async verify(options) {
    return this.#verify(false, options);
  }

  verifySync(options) {
    return this.#verify(true, options);
  }

  // ---- lifecycle ---------------------------------------------------------------------

  #state(sync, options) {
    const who = sync ? 'KeyManager.stateSync' : 'KeyManager.state';
    const opts = checkOptions(who, options, STATE_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const version = versionNumber(who, opts.version ?? 0);
    return this.#run(sync, who, (st) => ops.stateAt(st, keyId, version));
  }

  /**
   * The state of the key set (the current version, or {version}) whatever it is: also of
   * one that load() refuses (KeyInactiveError). Only its EncKey (public) is read.
   */
  async state(options) {
    return this.#state(false, options);
  }

  stateSync(options) {
    return this.#state(true, options);
  }

  #setState(sync, to, reason, options) {
    const who = sync ? 'KeyManager.setStateSync' : 'KeyManager.setState';
    const opts = checkOptions(who, options, SET_STATE_OPTIONS);
    const keyId = this.#keyId(who, opts);
    let change;
    try {
      change = JSON.stringify({ to, reason, compromised: opts.compromised ?? false });
    } catch (e) {
      throw new InvalidArgumentError(`${who}: the change cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
    }
    const kek = kekStep(who, opts);
    return this.#run(sync, who, function* setStateBody(st) {
      const k = kek ? yield kek : null;
      try {
        return yield* ops.setState(st, keyId, change, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
    });
  }

  /**
   * Moves the key set to state `to`, one step at a time: 'active' (from preparing),
   * 'deactivated' (from active: refused for use from then on) or 'destroyed' (from
   * deactivated: erases the secret keys; the public ones stay). `reason` (required, as in
   * enVector) is recorded in every envelope with the time and the OS user;
   * {compromised: true} records a compromise ('compromised: <reason>'). A sealed key set
   * needs its KEK ({kek} or {sealKekPath}); an unsealed one refuses one. All or nothing.
   * Resolves to the state as stored now.
   */
  async setState(to, reason, options) {
    return this.#setState(false, to, reason, options);
  }

  setStateSync(to, reason, options) {
    return this.#setState(true, to, reason, options);
  }

  #reseal(sync, options) {
    const who = sync ? 'KeyManager.resealSync' : 'KeyManager.reseal';
    const opts = checkOptions(who, options, RESEAL_OPTIONS, { example: '{newKek: <Buffer>}' });
    const keyId = this.#keyId(who, opts);
    const newKek = kekStep(who, opts, ['newKek', 'newSealKekPath']);
    if (!newKek) throw new InvalidArgumentError(`${who}: the new KEK is required: newKek or newSealKekPath`);
    const kek = kekStep(who, opts);
    const newName = opts.newKek !== undefined && opts.newKek !== null ? 'newKek' : 'newSealKekPath';
    return this.#run(sync, who, function* resealBody(st) {
      const n = yield newKek;
      let k = null;
      try {
        // The library calls both KEKs of reseal "kek" when it parses them: the new one is
        // checked first, so that its error names it.
        yield* ops.kekCheck(n.bytes, newName);
        k = kek ? yield kek : null;
        yield* ops.reseal(st, keyId, k ? k.bytes : null, n.bytes);
      } finally {
        wipeKEK(k);
        wipeKEK(n);
      }
    });
  }

  /**
   * Seals the secret keys under a new KEK ({newKek} or {newSealKekPath}): a sealed set is
   * unsealed with its current KEK first ({kek} or {sealKekPath}); an unsealed one is sealed
   * for the first time (give no current KEK). The keys do not change, nor do the public
   * keys. Only an active key set is resealed (KeyInactiveError). All or nothing.
   */
  async reseal(options) {
    return this.#reseal(false, options);
  }

  resealSync(options) {
    return this.#reseal(true, options);
  }

  #rotate(sync, options) {
    const who = sync ? 'KeyManager.rotateSync' : 'KeyManager.rotate';
    const opts = checkOptions(who, options, ROTATE_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const { kek: _k, sealKekPath: _p, keyId: _i, reason, ...gen } = opts;
    const json = optionsJSON(who, gen, { reason });
    const kek = kekStep(who, opts);
    return this.#run(sync, who, function* rotateBody(st) {
      const k = kek ? yield kek : null;
      try {
        return yield* ops.rotate(st, keyId, json, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
    });
  }

  /**
   * Makes a new key set under the same key id, version n+1, and makes it the current one;
   * the current one is kept as earlier version n, deactivated if it was active (with
   * {reason}, default 'superseded by version N+1'), readable with loadVersion() and
   * state({version}) until the key id is deleted. All or nothing. Resolves to the new
   * set's state. {preset, evalMode, dimList}: none given, the current set's parameters.
   */
  async rotate(options) {
    return this.#rotate(false, options);
  }

  rotateSync(options) {
    return this.#rotate(true, options);
  }

  #loadVersion(sync, version, options) {
    const who = sync ? 'KeyManager.loadVersionSync' : 'KeyManager.loadVersion';
    const opts = checkOptions(who, options, LOAD_VERSION_OPTIONS);
    const keyId = this.#keyId(who, opts);
    const v = versionNumber(who, version);
    const roles = roleNumbers(who, opts.roles);
    return this.#run(sync, who, (st) => ops.loadVersion(st, keyId, v, roles));
  }

  /**
   * Loads version `version` of the key set as load() does, whatever its state (it is asked
   * for by number): the current version or an earlier one kept by rotate(); 0 is the
   * current one. NotFoundError names the versions kept.
   */
  async loadVersion(version, options) {
    return this.#loadVersion(false, version, options);
  }

  loadVersionSync(version, options) {
    return this.#loadVersion(true, version, options);
  }

  /**
   * What the store holds under each key id, sorted: {keyId, roles, complete, versions}
   * (roles present at the current names; complete: SecKey, EncKey and EvalKey present;
   * versions: the earlier versions kept by rotate(), oldest first).
   */
  async listSets() {
    return this.#run(false, 'KeyManager.listSets', (st) => ops.listSets(st));
  }

  listSetsSync() {
    return this.#run(true, 'KeyManager.listSetsSync', (st) => ops.listSets(st));
  }

  // [METADATA] is encryptMetadata / decryptMetadata (decrypt true), for the methods and
  // the module functions; who names the caller in messages; opts are checked.
  [METADATA](sync, who, decrypt, input, opts) {
    this.#check(who);
    const keyId = requireKeyId(who, opts.keyId !== undefined ? opts.keyId : this.keyId);
    const data = decrypt ? tokenString(who, input) : metadataBytes(who, input);
    const aad = aadBytes(who, opts.aad);
    const kek = kekStep(who, opts);
    return this.#run(sync, who, function* metadataBody(st) {
      const k = kek ? yield kek : null;
      try {
        if (!decrypt) return yield* withMetadataKey(who, st, keyId, k && k.bytes, (ks) => ops.metadataEncrypt(ks, data, aad));
        const buf = yield* withMetadataKey(who, st, keyId, k && k.bytes, (ks) => ops.metadataDecrypt(ks, data, aad));
        try {
          return metadataResult(who, buf, opts.asJson === true);
        } finally {
          buf.fill(0);
        }
      } finally {
        wipeKEK(k);
      }
    });
  }

  #metadata(sync, decrypt, input, options) {
    const who = `KeyManager.${decrypt ? 'decrypt' : 'encrypt'}Metadata${sync ? 'Sync' : ''}`;
    const opts = checkOptions(who, options, decrypt ? DECRYPT_OPTIONS : METADATA_OPTIONS);
    return this[METADATA](sync, who, decrypt, input, opts);
  }

  /**
   * Encrypts one metadata value with the key set's MetadataKey and resolves to enVector's
   * token (standard base64 text). Only the MetadataKey is loaded; a sealed one needs its
   * KEK ({sealKekPath} or {kek}). See encryptMetadata().
   */
  async encryptMetadata(metadata, options) {
    return this.#metadata(false, false, metadata, options);
  }

  encryptMetadataSync(metadata, options) {
    return this.#metadata(true, false, metadata, options);
  }

  /**
   * Decrypts a metadata token with the key set's MetadataKey and resolves to the text, or
   * with {asJson: true} to the JSON value it holds. See decryptMetadata().
   */
  async decryptMetadata(token, options) {
    return this.#metadata(false, true, token, options);
  }

  decryptMetadataSync(token, options) {
    return this.#metadata(true, true, token, options);
  }

  /**
   * Frees the store handle (on a koffi worker thread, not waited for: the library lets
   * operations already under way finish). Idempotent; later calls throw ClosedError.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const h = this.#store;
    this.#store = null;
    if (h !== null) {
      finalizer.unregister(this);
      detach('envector_store_free', h);
    }
  }

  [Symbol.dispose]() {
    this.close();
  }
}

// ---- init ----------------------------------------------------------------------------

// The key settings a register callback is told about (those given, never the seed).
const KEY_SETTINGS = ['keyId', 'preset', 'evalMode', 'dimList', 'metadataEncryption', 'sealMode', 'sealKekPath', 'keyStore', 'keyPath',
  'regionName', 'bucketName', 'secretPrefix', 'awsTimeoutSeconds', 'lifetimeDays'];

function registerInfo(options) {
  const info = {};
  for (const k of KEY_SETTINGS) {
    if (options[k] !== undefined) info[k] = options[k];
  }
  return info;
}

// camel turns the snake_case keys of a result object into camelCase (eval_key_sha256 ->
// evalKeySha256).
function camel(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) out[k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())] = v;
  return out;
}

const EVAL_ROLE = ROLES.indexOf('EvalKey');

// initResult makes what init resolves to from envector_init's result JSON. `keys` reads
// the key set's envelopes from the store on first access (synchronously, then kept);
// loadKeys() does it asynchronously.
function initResult(r, registered, storeJSON) {
  const ep = r.endpoint || null;
  const out = {
    keyId: r.key_id,
    created: r.created,
    registered,
    sealed: r.sealed,
    version: r.version,
    preset: r.preset,
    evalMode: r.eval_mode,
    dimList: r.dim_list,
    metadataEncryption: r.metadata_encryption,
    evalKeySha256: r.eval_key_sha256,
    evalKeySize: r.eval_key_size,
    address: ep ? ep.address : null,
    loaded: ep ? ep.loaded : false,
    unloaded: ep ? ep.unloaded : [],
    warnings: r.warnings,
    registrationInfo: camel(r.registration_info),
  };
  let keys = null;
  const read = function* readKeys() {
    const st = yield* ops.storeOpen(storeJSON);
    try {
      return yield* ops.load(st, r.key_id, null);
    } finally {
      yield release('envector_store_free', st);
    }
  };
  Object.defineProperty(out, 'keys', {
    enumerable: false,
    get() {
      if (keys === null) keys = runSync(read());
      return keys;
    },
  });
  Object.defineProperty(out, 'loadKeys', {
    enumerable: false,
    value: async () => {
      if (keys === null) keys = await runAsync(read());
      return keys;
    },
  });
  return Object.freeze(out);
}

function* initOp(sync, who, json, storeJSON, options) {
  const { keyId, register } = options;
  const kek = kekStep(who, { kek: options.kek });
  const k = kek ? yield kek : null;
  let r;
  try {
    r = yield* ops.init(json, k ? k.bytes : null, options.token ?? null);
  } finally {
    wipeKEK(k);
  }
  let registered = Boolean(r.endpoint && r.endpoint.registered);
  if (register && r.created) {
    const st = yield* ops.storeOpen(storeJSON);
    try {
      try {
        const keys = yield* ops.load(st, keyId, [EVAL_ROLE]);
        const info = { ...registerInfo(options), ...camel(r.registration_info) };
        yield js({
          sync: () => {
            const v = register(keyId, keys.evalBlob, info);
            if (v && typeof v.then === 'function') {
              v.then(undefined, () => {});
              throw new InvalidArgumentError(`${who}: register returned a Promise; ${who} cannot wait for it: use init() for an async register`);
            }
          },
          async: async () => register(keyId, keys.evalBlob, info),
        });
      } catch (e) {
        // Undo, so that the next init makes and registers a key set again.
        const d = yield soft(call('envector_store_delete', st, keyId, DELETE_IMMEDIATE));
        if (d !== 0) {
          process.emitWarning(`envector-keys: ${who}: register failed and key set ${shown(keyId)} could not be removed: ${d.message}`, 'EnvectorWarning');
        }
        throw e;
      }
    } finally {
      yield release('envector_store_free', st);
    }
    registered = true;
  }
  return initResult(r, registered, storeJSON);
}

// initCall checks the options and runs the init flow, synchronously or not.
function initCall(sync, who, options) {
  const opts = checkOptions(who, options, INIT_OPTIONS, { required: true, example: "{keyId: 'my-index'}" });
  requireKeyId(who, opts.keyId);
  if (opts.register !== undefined && opts.register !== null && typeof opts.register !== 'function') {
    throw new InvalidArgumentError(`${who}: register must be a function (keyId, evalKey, info) => void | Promise<void>`);
  }
  if (opts.register && opts.address !== undefined && opts.address !== null) {
    throw new InvalidArgumentError(`${who}: give address (the library registers the EvalKey with that server) or register (your own callback), not both`);
  }
  const token = opts.token;
  if (token !== undefined && token !== null && (typeof token !== 'string' || token.includes('\0'))) {
    throw new InvalidArgumentError(`${who}: token must be a string (the server's bearer token: 1 to 4096 visible ASCII characters)`);
  }
  checkKEK(who, opts.kek);
  const settings = { ...opts, sealMode: sealModeOf(who, opts.sealMode, opts.kek, opts.sealKekPath) };
  const json = optionsJSON(who, settings);
  const storeOpts = {};
  for (const k of MANAGER_OPTIONS) if (k !== 'keyId' && opts[k] !== undefined) storeOpts[k] = opts[k];
  const storeJSON = optionsJSON(who, storeOpts);
  const op = initOp(sync, who, json, storeJSON, settings);
  return sync ? runSync(op, who) : runAsync(op, who);
}

/**
 * enVector's client start-up in one library call (envector_init): finds key set keyId in
 * the store or (autoKeySetup, the default) generates, seals (sealMode 'aes' with
 * sealKekPath or kek) and saves it; then, with address, makes that server's key endpoint
 * hold and use its EvalKey (registered only if the server has no key of that id; the
 * other keys unloaded, this one loaded). register(keyId, evalKey, info), instead of
 * address, is called after a new key set was saved. See index.d.ts.
 */
async function init(options) {
  return initCall(false, 'init', options);
}

/** init(), blocking the calling thread (register, if given, must not return a Promise). */
function initSync(options) {
  return initCall(true, 'initSync', options);
}

/** init() under the enVector SDK's other name: the same options and behaviour. */
async function initIndexConfig(options) {
  return initCall(false, 'initIndexConfig', options);
}

/** initSync() under the enVector SDK's other name. */
function initIndexConfigSync(options) {
  return initCall(true, 'initIndexConfigSync', options);
}

// ---- metadata encryption -------------------------------------------------------------

// metadataCall runs a KeyManager's [METADATA] for a module function: the store options
// make a KeyManager used for this one call.
function metadataCall(sync, who, decrypt, input, options) {
  const accepted = [...new Set([...MANAGER_OPTIONS, ...(decrypt ? DECRYPT_OPTIONS : METADATA_OPTIONS)])];
  const opts = checkOptions(who, options, accepted, { required: true, example: "{keyPath: './keys', keyId: 'my-index'}" });
  const storeOpts = {};
  const own = {};
  for (const [k, v] of Object.entries(opts)) {
    if (MANAGER_OPTIONS.includes(k) && k !== 'keyId') storeOpts[k] = v;
    else own[k] = v;
  }
  requireKeyId(who, own.keyId);
  const km = new KeyManager(storeOpts);
  if (sync) {
    try {
      return km[METADATA](true, who, decrypt, input, own);
    } finally {
      km.close();
    }
  }
  let p;
  try {
    p = km[METADATA](false, who, decrypt, input, own);
  } catch (e) {
    km.close();
    throw e;
  }
  return p.finally(() => km.close());
}

/**
 * Encrypts one metadata value with the MetadataKey of key set options.keyId (in the store
 * the StoreOptions name) and resolves to the token enVector stores beside the vector:
 * standard base64 of the JSON {"encrypted_data", "iv", "tag"} (AES-256-GCM, a fresh
 * random 12-byte IV), which enVector's SDK decrypts, as it does the other way round.
 * metadata: a string (encrypted as UTF-8), a Buffer of UTF-8 text, or a plain object or
 * array (JSON.stringify). options.aad (string or Buffer) is bound to the token without
 * being encrypted; decrypting needs the same. A sealed MetadataKey needs its KEK
 * ({sealKekPath} or {kek}).
 */
async function encryptMetadata(metadata, options) {
  return metadataCall(false, 'encryptMetadata', false, metadata, options);
}

function encryptMetadataSync(metadata, options) {
  return metadataCall(true, 'encryptMetadataSync', false, metadata, options);
}

/**
 * Decrypts a metadata token (of encryptMetadata or enVector's SDK: the base64 token or
 * its JSON form) with the MetadataKey of key set options.keyId and the aad it was made
 * with; resolves to the text, or with {asJson: true} to the JSON value it holds.
 */
async function decryptMetadata(token, options) {
  return metadataCall(false, 'decryptMetadata', true, token, options);
}

function decryptMetadataSync(token, options) {
  return metadataCall(true, 'decryptMetadataSync', true, token, options);
}

module.exports = {
  KeyGenerator,
  KeyManager,
  init,
  initSync,
  initIndexConfig,
  initIndexConfigSync,
  encryptMetadata,
  encryptMetadataSync,
  decryptMetadata,
  decryptMetadataSync,
  OPTION_KEYS,
};
